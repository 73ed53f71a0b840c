"""Bearer-token authentication and role checks for ``/api/...`` and the VC API.

No token, a malformed header, or an unknown, revoked or expired token: 401 with
``WWW-Authenticate: Bearer`` (RFC 6750, with ``error="invalid_token"`` when a token was sent).
A valid token without a required role: 403. Both are decided at every request from the staff
table as it is now (``issuer.tokens.authenticate``): a deactivated staff member's tokens get
401 with the reason, a role taken away gets 403 naming it. The secret itself is never logged or
echoed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from certreg.issuer.http.state import state_of
from certreg.issuer.tokens import AuthError, Principal, authenticate

__all__ = ["ADMIN", "ANY_ROLE", "DECIDER", "OFFICER", "require"]

OFFICER = frozenset({"officer"})
DECIDER = frozenset({"decision_maker"})
ADMIN = frozenset({"admin"})
ANY_ROLE = OFFICER | DECIDER | ADMIN

_bearer = HTTPBearer(
    auto_error=False,
    description="An API token: made by its owner (POST /api/tokens), redeemed from a claim "
    "(POST /api/token-claims/redeem), or the bootstrap admin's (`certreg tokens create`).",
)


def _unauthorized(detail: str, error: str | None) -> HTTPException:
    challenge = 'Bearer realm="certreg"'
    if error:
        challenge += f', error="{error}", error_description="{detail}"'
    return HTTPException(401, detail, headers={"WWW-Authenticate": challenge})


def require(roles: frozenset[str]) -> Callable[..., Principal]:
    """A dependency: the authenticated principal, who must hold one of ``roles``."""

    def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None:
            has_header = "authorization" in request.headers
            raise _unauthorized(
                "a bearer token is required (Authorization: Bearer <token>)"
                if not has_header
                else "the Authorization header must be 'Bearer <token>'",
                "invalid_request" if has_header else None,
            )
        state = state_of(request)
        try:
            with state.lock:
                principal = authenticate(state.body, credentials.credentials)
        except AuthError as exc:
            raise _unauthorized(str(exc), "invalid_token") from None
        if not principal.has_any(roles):
            taken = sorted(principal.withdrawn & roles)
            raise HTTPException(
                403,
                f"this needs the role {' or '.join(sorted(roles))}; the token carries "
                f"{', '.join(sorted(principal.roles)) or 'no role'}"
                + (f" ({', '.join(taken)} was taken from {principal.name})" if taken else ""),
            )
        return principal

    return dependency

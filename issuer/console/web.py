"""The console's door: who is signed in (:func:`require_staff`), cookies, CSRF, Origin checks,
the per-address slow-down, and rendering.

- The session cookie (:data:`COOKIE`) is ``HttpOnly``, ``SameSite=Strict``, ``Path=/console``
  and ``Secure``; it may go without ``Secure`` only over plain http to 127.0.0.1, localhost or
  ::1, or to a host the app was given in ``unsafe_allow_http_hosts`` (tests). Over plain http
  from anywhere else the console refuses to sign anybody in, rather than set a cookie the
  browser would never send back.
- Every state-changing request (POST, PUT, PATCH, DELETE) must come from the console's own
  origin (``Origin``, or ``Referer`` when a browser sends no Origin; neither: refused), and
  carry the session's synchronizer token in the form field ``csrf_token``, compared in
  constant time. :func:`require_staff` checks both for every such request before the handler
  runs: a page built on it cannot forget. The sign-in and enrolment forms, which have no
  session yet, use a double-submit token instead (:func:`check_form_token`).
- Failed sign-ins spend the client address's budget (:data:`SIGN_IN_RATE`, the token buckets
  of :mod:`register.web.ratelimit`): past it, 429 with ``Retry-After`` before the password is
  even looked at. Lockout by login name is :mod:`issuer.console.accounts`'.
- Pages are answered with ``Cache-Control: no-store`` (a token's secret or recovery codes must
  not stay in a cache), a CSP that allows no script and no framing, and ``Referrer-Policy:
  same-origin`` (the enrolment link's token must not leak to another site).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from certreg.issuer.console import sessions
from certreg.issuer.console.accounts import end_sessions_of
from certreg.issuer.http.ratelimit import Rate, RateLimiter, client_key
from certreg.issuer.http.state import state_of
from certreg.issuer.service import ROLES
from certreg.keys.errors import CertregError

__all__ = [
    "COOKIE",
    "FORM_COOKIE",
    "SIGN_IN_RATE",
    "ConsoleRefusal",
    "ConsoleUser",
    "SignInNeeded",
    "check_form_token",
    "check_origin",
    "client_of",
    "cookie_secure",
    "form_token",
    "render",
    "require_staff",
    "sign_in_limiter",
    "signed_in_as",
]

COOKIE = "certreg_console"
#: The double-submit token of the forms used before a session exists (sign-in, enrolment).
FORM_COOKIE = "certreg_console_form"
PATH = "/console"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Failed sign-ins per client address: 10 at once, then one every 10 seconds.
SIGN_IN_RATE = Rate(per_minute=6, burst=10)
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))

_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; script-src 'none'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True)
class ConsoleUser:
    """The signed-in staff member, as :func:`require_staff` gives them to a page."""

    id: str
    name: str
    email: str | None
    roles: frozenset[str]
    #: The session's synchronizer token: put it in every form as ``csrf_token``.
    csrf_token: str
    session: str  # the session's id hash (never the cookie's value)

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


class SignInNeeded(Exception):
    """Nobody is signed in (or the session lapsed): answered with a redirect to the sign-in."""


class ConsoleRefusal(CertregError):
    """A refused console request: ``status`` and the reason shown to the person."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    user: ConsoleUser | None = None,
    **context: Any,
) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, template, {"user": user, **context}, status_code=status
    )
    response.headers.update(_HEADERS)
    return response


def secure_headers(response: Response) -> Response:
    response.headers.update(_HEADERS)
    return response


def client_of(request: Request) -> str:
    return client_key(request)


def cookie_secure(request: Request) -> bool | None:
    """Whether the session cookie is ``Secure``; None: plain http from a host where the
    console must not be used."""
    if request.url.scheme == "https":
        return True
    host = request.url.hostname or ""
    allowed = set(state_of(request).unsafe_allow_http_hosts)
    if host in LOCAL_HOSTS or host in allowed:
        return False
    return None


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        path=PATH,
        secure=bool(cookie_secure(request)),
        httponly=True,
        samesite="strict",
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(
        name, path=PATH, secure=bool(cookie_secure(request)), httponly=True, samesite="strict"
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_origin(request: Request) -> None:
    """Refuse (403) a state-changing request that does not come from the console's origin."""
    own = {_origin(str(request.base_url))}
    public_url = state_of(request).body.info.get("public_url")
    if public_url:
        own.add(_origin(public_url))
    sent = request.headers.get("origin")
    if sent is None:
        referer = request.headers.get("referer")
        if referer is None:
            raise ConsoleRefusal(
                403, "this form was sent without an Origin or Referer header: nothing was changed"
            )
        sent = _origin(referer)
    if sent.lower() not in own:
        raise ConsoleRefusal(
            403, f"this form was sent from another site ({sent}): nothing was changed"
        )


def _equal(sent: Any, expected: str) -> bool:
    return isinstance(sent, str) and hmac.compare_digest(sent.encode(), expected.encode())


def form_token(request: Request) -> str:
    """The double-submit token for a form shown before sign-in (set with :func:`set_cookie`
    under :data:`FORM_COOKIE` by the page that shows it)."""
    current = request.cookies.get(FORM_COOKIE)
    return current if current and len(current) <= 100 else secrets.token_urlsafe(32)


def check_form_token(request: Request, sent: Any) -> None:
    """Origin, then the double-submit token of a form sent before sign-in."""
    check_origin(request)
    expected = request.cookies.get(FORM_COOKIE)
    if not expected or not _equal(sent, expected):
        raise ConsoleRefusal(
            403,
            "the form's CSRF token is missing or wrong (cookies must be allowed for this "
            "site): nothing was changed. Reload the page and try again",
        )


def sign_in_limiter(request: Request) -> RateLimiter:
    state = request.app.state
    limiter = getattr(state, "certreg_console_sign_in", None)
    if limiter is None:
        limiter = state.certreg_console_sign_in = RateLimiter(SIGN_IN_RATE)
    return limiter


def _user_of(request: Request, session_id: str | None) -> ConsoleUser | None:
    state = state_of(request)
    with state.lock:
        session = sessions.find(state.body, session_id)
        if session is None:
            return None
        row = state.body.db.execute(
            "SELECT id, name, email, roles, active FROM staff WHERE id = ?", [session.staff_id]
        ).fetchone()
        if row is None or not row[4]:
            # Deactivated: every session of theirs ends here too (issuer.staff.deactivate
            # already deleted them; this catches a change made behind its back).
            end_sessions_of(state.body, session.staff_id)
            return None
    roles = frozenset(r for r in row[3].split(",") if r)
    return ConsoleUser(row[0], row[1], row[2], roles, session.csrf_token, session.id_hash)


def signed_in_as(*roles: str) -> Callable[[Scope], Awaitable[bool]]:
    """For the request guard (``BodyRule.admit``): whether the request carries the session of
    an active staff member holding one of ``roles``, asked before its body is read, so that a
    large upload is read only for a person allowed to make it (an anonymous one gets the
    console forms' small limit)."""
    wanted = frozenset(roles)

    async def admit(scope: Scope) -> bool:
        request = Request(scope)
        user = await run_in_threadpool(_user_of, request, request.cookies.get(COOKIE))
        return user is not None and (not wanted or bool(user.roles & wanted))

    return admit


def require_staff(*roles: str) -> Callable[[Request], Awaitable[ConsoleUser]]:
    """A FastAPI dependency: the signed-in staff member, who must hold one of ``roles`` (any
    role if none is named). Signed out: a redirect to ``/console/login``. Missing role: 403
    with the reason. For a state-changing request it checks the Origin and the form's
    ``csrf_token`` first (403, nothing changed). Usage in :mod:`issuer.console`'s text."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    wanted = frozenset(roles)

    async def dependency(request: Request) -> ConsoleUser:
        unsafe = request.method in UNSAFE
        if unsafe:
            check_origin(request)
        user = await run_in_threadpool(_user_of, request, request.cookies.get(COOKIE))
        if user is None:
            raise SignInNeeded()
        if unsafe:
            form = await request.form()
            if not _equal(form.get("csrf_token"), user.csrf_token):
                raise ConsoleRefusal(
                    403,
                    "the form's CSRF token is missing or wrong: nothing was changed. Reload "
                    "the page and try again",
                )
        if wanted and not user.roles & wanted:
            raise ConsoleRefusal(
                403,
                f"this needs the role {' or '.join(sorted(wanted))}; {user.name} holds "
                f"{', '.join(sorted(user.roles)) or 'no role'}",
            )
        return user

    return dependency


def _safe_next(target: str | None) -> str:
    if target and target.startswith(PATH + "/") and not target.startswith("//"):
        if "\\" not in target and "\n" not in target and "\r" not in target:
            return target
    return PATH + "/"


def redirect(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303, headers=dict(_HEADERS))


async def sign_in_needed(request: Request, exc: Exception) -> Response:
    target = request.url.path if request.method == "GET" else PATH + "/"
    response = redirect(f"{PATH}/login?next={_safe_next(target)}")
    if request.cookies.get(COOKIE):
        clear_cookie(request, response, COOKIE)
    return response


#: The largest console form the request guard lets through (issuer.http.app).
MAX_FORM_BYTES = 64 * 1024


def form_refusal(status: int, detail: str) -> Response:
    """How the request guard refuses a console form (too large, unreadable): a page a person
    reads, as the console's other refusals are."""
    html = templates.get_template("message.html").render(
        user=None, title="The form could not be sent", reason=detail
    )
    return HTMLResponse(html, status_code=status, headers=dict(_HEADERS))


async def refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsoleRefusal)
    return render(request, "message.html", status=exc.status, title="Refused", reason=exc.reason)

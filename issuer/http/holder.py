"""The holder's routes: the share page, wallet delivery (OpenID4VCI, VC API), share-link admin.

Public, reached with a share token (see :mod:`issuer.sharing`):

- ``GET /share/{token}``: the certificate in plain words, the credential to download, the
  page's QR, "Add to LinkedIn", the wallet offer (link and QR), the VC API interaction URL,
  and "stop sharing";
- ``GET /share/{token}/credential.json``, ``/qr.png``, ``/wallet-qr.png``, ``/interact``;
  ``GET|POST /share/{token}/revoke`` (confirm, then revoke);
- ``POST /workflows/holder-share/exchanges/{id}``: the VC API exchange.

OpenID4VCI 1.0 (pre-authorized code flow): ``/.well-known/openid-credential-issuer``,
``/.well-known/oauth-authorization-server``, ``GET /oid4vci/offers/{id}``,
``POST /oid4vci/token``, ``POST /oid4vci/credential``. Their errors are OAuth-style
``{"error": …, "error_description": …}``, never a 500.

Admin (bearer token, officer or admin): ``POST|GET /api/certifications/{number}/share-links``,
``DELETE /api/share-links/{id}``.

Pages carry ``Referrer-Policy: no-referrer`` (the token is in the URL), ``Cache-Control:
no-store``, ``X-Robots-Tag: noindex`` and a Content-Security-Policy without scripts; every
value written into HTML is escaped.

The share page, its download and its messages are rendered by the keyless public site's code
(:mod:`register.web.share`), so that both show a certificate in the same words; only this
server adds what needs the issuer's state: the wallet offer and "Revoke this link".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from html import escape
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Receive, Scope, Send

from certreg.issuer import sharing
from certreg.issuer.http.auth import ADMIN, ANY_ROLE, OFFICER, require
from certreg.issuer.http.errors import (
    MAX_BODY_BYTES,
    BodyTooLarge,
    RequestGuard,
    read_bounded_body,
    replaying,
)
from certreg.issuer.http.ratelimit import LimitExceeded, guards_of
from certreg.issuer.http.state import state_of
from certreg.issuer.service import CertificationBody
from certreg.issuer.sharing import OAuthError, SharedCertificate, ShareUnavailable
from certreg.issuer.tokens import Principal
from certreg.register.web.share import (
    credential_download,
    html_page,
    qr_png_response,
    render_share_page,
    status_words,
    too_many_page,
    unavailable_page,
)
from certreg.verifier.verify import InputError, load_document

__all__ = ["OAUTH_PATHS", "OAuthAwareGuard", "router", "status_words"]

router = APIRouter()

TOKEN_PATH = "/oid4vci/token"
CREDENTIAL_PATH = "/oid4vci/credential"
#: Paths whose request bodies OAuth fixes (a form for the token endpoint) and whose errors must
#: be OAuth-shaped: :class:`OAuthAwareGuard` hands them to their handlers with the size limit
#: only; every other path goes through :class:`issuer.http.errors.RequestGuard`.
OAUTH_PATHS = frozenset({TOKEN_PATH, CREDENTIAL_PATH})

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthAwareGuard:
    """:class:`RequestGuard` for every path but :data:`OAUTH_PATHS`.

    RFC 6749 fixes the token request as ``application/x-www-form-urlencoded``, which the
    JSON-only guard would refuse with 415; and OpenID4VCI wants ``{"error": …}`` bodies where
    the guard answers ``{"detail": …}``. On those two paths this guard enforces the size limit
    itself (413, OAuth-style) and the handlers check media type and syntax."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.guarded = RequestGuard(app, max_bytes=max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in OAUTH_PATHS:
            await self.guarded(scope, receive, send)
            return
        too_big = OAuthError(
            "invalid_request", f"the request body is larger than {self.max_bytes} bytes", 413
        )
        try:
            body = await read_bounded_body(scope, receive, self.max_bytes)
        except BodyTooLarge:
            await _oauth_error(too_big)(scope, receive, send)
            return
        if body is not None:
            await self.app(scope, replaying(body, receive), send)


def _oauth_error(exc: OAuthError, extra: dict[str, str] | None = None) -> JSONResponse:
    headers = dict(_NO_STORE) | (extra or {})
    if exc.status == 401:
        headers["WWW-Authenticate"] = (
            f'Bearer realm="certreg", error="{exc.error}", '
            f'error_description="{exc.to_json()["error_description"]}"'
        )
    return JSONResponse(exc.to_json(), status_code=exc.status, headers=headers)


async def _raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


# --- HTML: the share page and its messages are the public site's (register.web.share) -------


# --- attempts at the secrets in these URLs and forms -----------------------------------------
#
# Share tokens, offer and exchange ids, codes and access tokens are long random secrets, so
# guessing one is hopeless; still, nobody may try them at will. A client's *failed* attempts
# (an unknown token: 404, a refused code or access token) are counted per address
# (issuer.http.ratelimit, ``attempt_rate``); past the limit it gets 429 with Retry-After
# before its next attempt is even looked up. A holder using a good link never spends any.


def _attempts_left(request: Request) -> LimitExceeded | None:
    try:
        guards_of(request).check_attempts(request)
    except LimitExceeded as exc:
        return exc
    return None


def _failed(request: Request, exc: Exception) -> None:
    # A revoked or expired link (410) was a good token: not a guess.
    if not isinstance(exc, ShareUnavailable) or exc.status == 404:
        guards_of(request).failed_attempt(request)


def _too_many_json(exc: LimitExceeded) -> JSONResponse:
    return JSONResponse(
        {"detail": exc.reason}, status_code=exc.status, headers=_NO_STORE | exc.headers
    )


def _too_many_oauth(exc: LimitExceeded) -> JSONResponse:
    return _oauth_error(OAuthError("invalid_request", exc.reason, exc.status), exc.headers)


def _with_share(
    request: Request, token: str, render: Callable[[CertificationBody, SharedCertificate], Any]
) -> Any:
    refused = _attempts_left(request)
    if refused is not None:
        return too_many_page(refused)
    state = state_of(request)
    try:
        with state.lock:
            shared = sharing.open_share(state.body, token)
            return render(state.body, shared)
    except ShareUnavailable as exc:
        _failed(request, exc)
        return unavailable_page(exc.status, str(exc))


# --- share pages --------------------------------------------------------------------------


@router.get(
    "/share/{token}",
    tags=["holder"],
    summary="The holder's share page",
    response_class=HTMLResponse,
)
def share_page(request: Request, token: str) -> Response:
    def render(body: CertificationBody, shared: SharedCertificate) -> Response:
        return render_share_page(
            shared,
            token,
            now=body.clock(),
            wallet_offer_uri=sharing.current_offer(body, token).uri,
        )

    return _with_share(request, token, render)


@router.get(
    "/share/{token}/credential.json",
    tags=["holder"],
    summary="The signed credential, as the certification body issued it",
)
def share_credential(request: Request, token: str) -> Response:
    return _with_share(request, token, lambda body, shared: credential_download(shared))


@router.get("/share/{token}/qr.png", tags=["holder"], summary="QR code of the share page")
def share_qr(request: Request, token: str) -> Response:
    return _with_share(
        request, token, lambda body, _: qr_png_response(sharing.share_url(body, token))
    )


@router.get(
    "/share/{token}/wallet-qr.png",
    tags=["holder"],
    summary="QR code of the current OpenID4VCI credential offer",
)
def share_wallet_qr(request: Request, token: str) -> Response:
    return _with_share(
        request, token, lambda body, _: qr_png_response(sharing.current_offer(body, token).uri)
    )


@router.get(
    "/share/{token}/revoke",
    tags=["holder"],
    summary="Ask the holder to confirm revoking the link",
    response_class=HTMLResponse,
)
def share_revoke_confirm(request: Request, token: str) -> Response:
    def render(body: CertificationBody, shared: SharedCertificate) -> Response:
        return html_page(
            "Revoke this link?",
            "<h1>Revoke this link?</h1><p>The page, its download and its wallet offers stop "
            "working at once, for everyone. This cannot be undone; you can ask the "
            "certification body for a new link.</p>"
            f'<form method="post" action="/share/{escape(token)}/revoke">'
            '<button class="button danger" type="submit">Revoke the link</button> '
            f'<a href="/share/{escape(token)}">Keep sharing</a></form>',
        )

    return _with_share(request, token, render)


@router.post(
    "/share/{token}/revoke",
    tags=["holder"],
    summary="The holder revokes the link (holding the token is the authority)",
    response_class=HTMLResponse,
)
def share_revoke(request: Request, token: str) -> Response:
    refused = _attempts_left(request)
    if refused is not None:
        return too_many_page(refused)
    state = state_of(request)
    try:
        with state.lock:
            share = sharing.revoke_share_by_token(state.body, token)
    except ShareUnavailable as exc:
        _failed(request, exc)
        return unavailable_page(exc.status, str(exc))
    return html_page(
        "Link revoked",
        f"<h1>Link revoked</h1><p>The link stopped working on {escape(str(share.revoked_at))}."
        "</p><p>Ask the certification body if you need a new one.</p>",
    )


@router.get(
    "/share/{token}/interact",
    tags=["holder"],
    summary="VC API interaction URL: the protocols a wallet may use",
)
def share_interact(request: Request, token: str) -> Response:
    accept = request.headers.get("accept", "")
    if "text/html" in accept and "application/json" not in accept:
        return RedirectResponse(f"/share/{token}", status_code=303)

    refused = _attempts_left(request)
    if refused is not None:
        return _too_many_json(refused)
    state = state_of(request)
    try:
        with state.lock:
            sharing.open_share(state.body, token)
            protocols = sharing.interaction_protocols(state.body, token)
    except ShareUnavailable as exc:
        _failed(request, exc)
        return JSONResponse({"detail": str(exc)}, status_code=exc.status, headers=_NO_STORE)
    return JSONResponse(protocols, headers=_NO_STORE)


@router.post(
    f"/workflows/{sharing.EXCHANGE_WORKFLOW}/exchanges/{{exchange_id}}",
    tags=["holder"],
    summary="VC API exchange: returns a presentation carrying the shared credential",
)
def vcapi_exchange(request: Request, exchange_id: str) -> Response:
    refused = _attempts_left(request)
    if refused is not None:
        return _too_many_json(refused)
    state = state_of(request)
    try:
        with state.lock:
            shared = sharing.open_share_by_exchange(state.body, exchange_id)
    except ShareUnavailable as exc:
        _failed(request, exc)
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)
    credential = shared.certification.credential or {}
    return JSONResponse(
        {"verifiablePresentation": sharing.presentation(credential)}, headers=_NO_STORE
    )


# --- OpenID4VCI -----------------------------------------------------------------------------


@router.get(
    "/.well-known/openid-credential-issuer",
    tags=["OpenID4VCI"],
    summary="Credential Issuer metadata (OpenID4VCI 1.0)",
)
def oid4vci_metadata(request: Request) -> JSONResponse:
    state = state_of(request)
    with state.lock:
        data = sharing.issuer_metadata(state.body)
    return JSONResponse(data, headers={"Cache-Control": "public, max-age=300"})


@router.get(
    "/.well-known/oauth-authorization-server",
    tags=["OpenID4VCI"],
    summary="OAuth 2.0 Authorization Server metadata (RFC 8414)",
)
def oauth_metadata(request: Request) -> JSONResponse:
    state = state_of(request)
    with state.lock:
        data = sharing.authorization_server_metadata(state.body)
    return JSONResponse(data, headers={"Cache-Control": "public, max-age=300"})


@router.get(
    "/oid4vci/offers/{offer_id}",
    tags=["OpenID4VCI"],
    summary="A Credential Offer (credential_offer_uri), pre-authorized code grant",
)
def oid4vci_offer(request: Request, offer_id: str) -> JSONResponse:
    refused = _attempts_left(request)
    if refused is not None:
        return _too_many_json(refused)
    state = state_of(request)
    try:
        with state.lock:
            offer = sharing.credential_offer(state.body, offer_id)
    except ShareUnavailable as exc:
        _failed(request, exc)
        return JSONResponse({"detail": str(exc)}, status_code=exc.status, headers=_NO_STORE)
    return JSONResponse(offer, headers=_NO_STORE)


@router.post(
    TOKEN_PATH,
    tags=["OpenID4VCI"],
    summary="Token endpoint: pre-authorized code -> access token (form-encoded)",
)
def oid4vci_token(request: Request, raw: RawBody) -> JSONResponse:
    try:
        form = _form(request, raw)
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError("invalid_request", "grant_type is missing")
        if grant_type != sharing.PRE_AUTHORIZED_GRANT:
            raise OAuthError(
                "unsupported_grant_type",
                f"only the grant type {sharing.PRE_AUTHORIZED_GRANT} is supported",
            )
        code = form.get("pre-authorized_code")
        if not code:
            raise OAuthError("invalid_request", "pre-authorized_code is missing")
        refused = _attempts_left(request)
        if refused is not None:
            return _too_many_oauth(refused)
        state = state_of(request)
        try:
            with state.lock:
                answer = sharing.exchange_code(state.body, code, tx_code=form.get("tx_code"))
        except OAuthError as exc:  # a wrong, used or expired code, or a tx_code
            _failed(request, exc)
            raise
    except OAuthError as exc:
        return _oauth_error(exc)
    return JSONResponse(answer, headers=_NO_STORE)


def _form(request: Request, raw: bytes) -> dict[str, str]:
    if _media_type(request) != "application/x-www-form-urlencoded":
        raise OAuthError(
            "invalid_request",
            "the token request must be application/x-www-form-urlencoded (RFC 6749)",
        )
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(raw), max_num_fields=50
        )
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the form is malformed") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            raise OAuthError("invalid_request", f"the parameter {key} is repeated")
        form[key] = value
    return form


@router.post(
    CREDENTIAL_PATH,
    tags=["OpenID4VCI"],
    summary="Credential endpoint: the signed credential for a (single-use) access token",
)
def oid4vci_credential(request: Request, raw: RawBody) -> JSONResponse:
    state = state_of(request)
    try:
        access_token = _bearer(request)
        refused = _attempts_left(request)
        if refused is not None:
            return _too_many_oauth(refused)
        try:
            with state.lock:
                sharing.check_access_token(state.body, access_token)
        except OAuthError as exc:
            _failed(request, exc)
            raise
        draft = _credential_request(request, raw)
        with state.lock:
            credential = sharing.credential_for_token(state.body, access_token)
    except OAuthError as exc:
        return _oauth_error(exc)
    answer: dict[str, Any] = {"credentials": [{"credential": credential}]}
    if draft:  # a request in the drafts' shape gets the drafts' answer too
        answer["credential"] = credential
    return JSONResponse(answer, headers=_NO_STORE)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization")
    if header is None:
        raise OAuthError(
            "invalid_token", "an access token is required (Authorization: Bearer)", 401
        )
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise OAuthError("invalid_request", "the Authorization header must be 'Bearer <token>'")
    return value.strip()


def _credential_request(request: Request, raw: bytes) -> bool:
    """Check the Credential Request; True when it has the drafts' shape (format, no id)."""
    if _media_type(request) != "application/json":
        raise OAuthError(
            "invalid_credential_request", "the credential request must be application/json"
        )
    try:
        payload = load_document(raw, "the credential request")
    except InputError as exc:
        raise OAuthError("invalid_credential_request", str(exc)) from None
    if not isinstance(payload, dict):
        raise OAuthError("invalid_credential_request", "the credential request is not an object")
    if "credential_identifier" in payload:
        raise OAuthError(
            "unknown_credential_identifier",
            "this issuer returns no credential identifiers: send credential_configuration_id",
        )
    config = payload.get("credential_configuration_id")
    if config is None:
        if payload.get("format") == "ldp_vc":  # OpenID4VCI drafts up to 14
            return True
        raise OAuthError("invalid_credential_request", "credential_configuration_id is missing")
    if config != sharing.CONFIGURATION_ID:
        raise OAuthError(
            "unknown_credential_configuration",
            f"this issuer offers only the configuration {sharing.CONFIGURATION_ID}",
        )
    return False


# --- admin ----------------------------------------------------------------------------------


class ShareLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expires_days: int | None = Field(
        default=None,
        ge=1,
        le=sharing.MAX_SHARE_DAYS,
        description="Days until the link expires; omit for a link that lives until revoked.",
    )


OfficerOrAdmin = Annotated[Principal, Depends(require(OFFICER | ADMIN))]
AnyStaff = Annotated[Principal, Depends(require(ANY_ROLE))]


@router.post(
    "/api/certifications/{number}/share-links",
    tags=["admin"],
    status_code=201,
    summary="Make a share link for the holder (its URL is shown this once)",
)
def create_share_link(
    request: Request, number: str, principal: OfficerOrAdmin, payload: ShareLinkIn | None = None
) -> dict[str, Any]:
    state = state_of(request)
    days = payload.expires_days if payload is not None else None
    with state.lock:
        share, token = sharing.create_share(
            state.body,
            number,
            expires_in=timedelta(days=days) if days is not None else None,
            actor=principal.staff_id,
        )
        url = sharing.share_url(state.body, token)
        now = state.body.clock()
    return {"share_link": share.to_json(now), "url": url}


@router.get(
    "/api/certifications/{number}/share-links",
    tags=["admin"],
    summary="The share links of a certification (never their tokens)",
)
def list_share_links(request: Request, number: str, principal: AnyStaff) -> list[dict[str, Any]]:
    state = state_of(request)
    with state.lock:
        now = state.body.clock()
        return [s.to_json(now) for s in sharing.list_shares(state.body, number)]


@router.delete(
    "/api/share-links/{share_id}",
    tags=["admin"],
    summary="Revoke a share link (its page, offers and exchange stop at once)",
)
def revoke_share_link(request: Request, share_id: str, principal: OfficerOrAdmin) -> dict[str, Any]:
    state = state_of(request)
    with state.lock:
        share = sharing.revoke_share(state.body, share_id, actor=principal.staff_id)
        return share.to_json(state.body.clock())

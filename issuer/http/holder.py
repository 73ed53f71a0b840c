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
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from html import escape
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote

import qrcode
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
from certreg.verifier.standing import Standing, headline
from certreg.verifier.verify import InputError, load_document

__all__ = ["OAUTH_PATHS", "OAuthAwareGuard", "router"]

router = APIRouter()

TOKEN_PATH = "/oid4vci/token"
CREDENTIAL_PATH = "/oid4vci/credential"
#: Paths whose request bodies OAuth fixes (a form for the token endpoint) and whose errors must
#: be OAuth-shaped: :class:`OAuthAwareGuard` hands them to their handlers with the size limit
#: only; every other path goes through :class:`issuer.http.errors.RequestGuard`.
OAUTH_PATHS = frozenset({TOKEN_PATH, CREDENTIAL_PATH})

_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}
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


# --- HTML ---------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:46rem;margin:1.5rem auto;
padding:0 1rem;color:#1b1b1b;line-height:1.45}
h1{font-size:1.5rem;margin:.2rem 0}.muted{color:#555}
.status{font-size:2rem;font-weight:700;padding:.6rem 1rem;border-radius:.4rem;color:#fff}
.ok{background:#1a7f37}.warn{background:#b35900}.bad{background:#b42318}.grey{background:#57606a}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.35rem .5rem;
border-bottom:1px solid #ddd;vertical-align:top}th{width:11rem;font-weight:600}
section{margin:1.6rem 0}.qr{width:220px;height:220px;image-rendering:pixelated}
.button{display:inline-block;padding:.5rem .9rem;border-radius:.3rem;background:#0a66c2;
color:#fff;text-decoration:none;font-weight:600;border:0;font-size:1rem;cursor:pointer}
.danger{background:#b42318}code{word-break:break-all;background:#f3f3f3;padding:.1rem .25rem}
"""


def _html(title: str, body_html: str, status: int = 200) -> HTMLResponse:
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body_html}</body></html>"
    )
    return HTMLResponse(page, status_code=status, headers=_PAGE_HEADERS)


def _day(value: str | None) -> str:
    return escape((value or "")[:10])


#: The page's colour for each standing (the headline's words come from verifier.standing).
_HOLDER_CSS = {
    Standing.VALID: "ok",
    Standing.NOT_YET_VALID: "ok",
    Standing.SUSPENDED: "warn",
    Standing.WITHDRAWN: "bad",
    Standing.EXPIRED: "grey",
}


def status_words(shared: SharedCertificate, now: datetime) -> tuple[str, str, str]:
    """(headline, sentence, css class) for the certification's status, in plain words; the
    headline is the one the public page, the PDF and the verifier give."""
    cert = shared.certification
    line = headline(cert, now)
    if line.standing is Standing.WITHDRAWN:
        sentence = "The certification body has withdrawn this certification: it is no longer valid."
    elif line.standing is Standing.EXPIRED:
        sentence = "This certification has passed its expiry date and is no longer valid."
    elif line.standing is Standing.SUSPENDED:
        until = (
            f" The suspension ends at the latest on {_day(cert.suspended_until)}."
            if cert.suspended_until
            else ""
        )
        sentence = (
            "The certification body has suspended this certification: while suspended it is "
            f"not valid.{until}"
        )
    elif line.standing is Standing.NOT_YET_VALID:
        sentence = "This certification has been granted and takes effect on that date."
    else:
        sentence = f"This certification is in force until {_day(cert.valid_until)}."
    css = _HOLDER_CSS[line.standing] if line.standing is not None else "grey"
    return escape(line.text), sentence, css


def _scope_rows(shared: SharedCertificate) -> str:
    rows = []
    for item in shared.certification.scope:
        conditions = item.get("conditions") or "No conditions or limitations"
        if item.get("status") == "active":
            state = "included"
        else:
            state = f"removed on {_day(item.get('since'))}"
        rows.append(
            f"<tr><td>{escape(str(item.get('label') or item.get('code')))}"
            f' <span class="muted">({escape(str(item.get("code")))})</span></td>'
            f"<td>{escape(str(conditions))}</td><td>{state}</td></tr>"
        )
    return "".join(rows)


def _share_page(
    request: Request, shared: SharedCertificate, token: str, offer: sharing.Offer
) -> HTMLResponse:
    state = state_of(request)
    body = state.body
    cert = shared.certification
    now = body.clock()
    today = now.date().isoformat()
    status_line, sentence, css = status_words(shared, now)
    base = str(shared.body["public_url"]).rstrip("/")
    page_url = sharing.share_url(body, token)
    interact = f"{page_url}/interact"
    linkedin = sharing.linkedin_for(shared, token, base)
    scheme = shared.scheme
    accreditation = ""
    if shared.body.get("accreditation_body"):
        number = shared.body.get("accreditation_number")
        accredited_by = escape(str(shared.body["accreditation_body"]))
        accreditation = (
            f"<br><span class='muted'>Accredited by {accredited_by}"
            + (f", accreditation {escape(str(number))}" if number else "")
            + "</span>"
        )
    expiry = ""
    if shared.share.expires_at:
        expiry = f" This link works until {_day(shared.share.expires_at)}."
    public_page = ""
    if scheme["publication_policy"] != "on_request":
        public_url = f"{base}/c/{quote(cert.number, safe='')}"
        public_page = (
            f"<p>The certification body's public page for this certificate: <a href=\""
            f'{escape(public_url)}">{escape(public_url)}</a></p>'
        )
    html = f"""
<p class="muted">Certificate shared by its holder</p>
<h1>{escape(cert.holder_name)}</h1>
<p>holds the certification <strong>{escape(str(scheme["name"]))}</strong>
{f"({escape(str(scheme['normative_reference']))})" if scheme.get("normative_reference") else ""}
issued by <strong>{escape(str(shared.body["legal_name"]))}</strong>.{accreditation}</p>
<p class="status {css}">{status_line}</p>
<p>{sentence} Status as recorded by the certification body on {escape(today)}.</p>
<section><table>
<tr><th>Certificate number</th><td>{escape(cert.number)}</td></tr>
<tr><th>Valid from</th><td>{_day(cert.valid_from)}</td></tr>
<tr><th>Valid until</th><td>{_day(cert.valid_until)}</td></tr>
<tr><th>Issued by</th><td>{escape(str(shared.body["legal_name"]))}<br>
<code>{escape(str(shared.body["did"]))}</code></td></tr>
</table></section>
<section><h2>Scope</h2><table><tr><th>Item</th><th>Conditions or limitations</th>
<th>Status</th></tr>{_scope_rows(shared)}</table></section>
{public_page}
<section><h2>The signed certificate</h2>
<p><a class="button" href="/share/{escape(token)}/credential.json" download>Download the
credential (JSON)</a></p>
<p class="muted">A W3C Verifiable Credential signed by the certification body. Anyone can check
it, including its current status, at the body's verify page or with any VC verifier.</p></section>
<section><h2>Show this page</h2>
<img class="qr" src="/share/{escape(token)}/qr.png" alt="QR code of this page">
<p>Address of this page: <code>{escape(page_url)}</code></p></section>
<section><h2>Add to LinkedIn</h2>
<p><a class="button" href="{escape(linkedin)}" target="_blank"
rel="noopener noreferrer">Add to LinkedIn profile</a></p></section>
<section><h2>Put it in a wallet</h2>
<p>OpenID4VCI wallets: scan the code or open the link on the phone that holds the wallet.
The offer can be used once and for 15 minutes; reload this page for a new one.</p>
<img class="qr" src="/share/{escape(token)}/wallet-qr.png" alt="QR code of the wallet offer">
<p><a class="button" href="{escape(offer.uri)}">Open in wallet</a></p>
<p>Wallets that speak the W3C VC API: interaction URL <code>{escape(interact)}</code></p>
</section>
<section><h2>Stop sharing</h2>
<p>Anyone with this link sees this page.{expiry} If you no longer want that, revoke the link:
this page, its download and its wallet offers stop working at once.</p>
<p><a class="button danger" href="/share/{escape(token)}/revoke">Revoke this link</a></p>
</section>
"""
    return _html(f"{cert.holder_name}: {scheme['name']}", html)


def _unavailable(exc: ShareUnavailable) -> HTMLResponse:
    title = "Link revoked or expired" if exc.status == 410 else "Link not found"
    return _html(
        title,
        f"<h1>{escape(title)}</h1><p>{escape(str(exc).capitalize())}.</p>"
        "<p>Ask the certificate holder for a new link.</p>",
        exc.status,
    )


def _png(data: str) -> Response:
    image = qrcode.make(data, box_size=8, border=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return Response(
        out.getvalue(),
        media_type="image/png",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


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


def _too_many_page(exc: LimitExceeded) -> HTMLResponse:
    page = _html(
        "Too many attempts",
        f"<h1>Too many attempts</h1><p>{escape(exc.reason.capitalize())}.</p>",
        exc.status,
    )
    page.headers.update(exc.headers)
    return page


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
        return _too_many_page(refused)
    state = state_of(request)
    try:
        with state.lock:
            shared = sharing.open_share(state.body, token)
            return render(state.body, shared)
    except ShareUnavailable as exc:
        _failed(request, exc)
        return _unavailable(exc)


# --- share pages --------------------------------------------------------------------------


@router.get(
    "/share/{token}",
    tags=["holder"],
    summary="The holder's share page",
    response_class=HTMLResponse,
)
def share_page(request: Request, token: str) -> Response:
    def render(body: CertificationBody, shared: SharedCertificate) -> Response:
        return _share_page(request, shared, token, sharing.current_offer(body, token))

    return _with_share(request, token, render)


@router.get(
    "/share/{token}/credential.json",
    tags=["holder"],
    summary="The signed credential, as the certification body issued it",
)
def share_credential(request: Request, token: str) -> Response:
    def render(body: CertificationBody, shared: SharedCertificate) -> Response:
        number = shared.certification.number
        data = json.dumps(shared.certification.credential, ensure_ascii=False, indent=2)
        return Response(
            data.encode("utf-8"),
            media_type="application/json",
            headers={
                "Content-Disposition": f'attachment; filename="certificate-{quote(number)}.json"',
                "Cache-Control": "no-store",
                "Referrer-Policy": "no-referrer",
            },
        )

    return _with_share(request, token, render)


@router.get("/share/{token}/qr.png", tags=["holder"], summary="QR code of the share page")
def share_qr(request: Request, token: str) -> Response:
    return _with_share(request, token, lambda body, _: _png(sharing.share_url(body, token)))


@router.get(
    "/share/{token}/wallet-qr.png",
    tags=["holder"],
    summary="QR code of the current OpenID4VCI credential offer",
)
def share_wallet_qr(request: Request, token: str) -> Response:
    return _with_share(request, token, lambda body, _: _png(sharing.current_offer(body, token).uri))


@router.get(
    "/share/{token}/revoke",
    tags=["holder"],
    summary="Ask the holder to confirm revoking the link",
    response_class=HTMLResponse,
)
def share_revoke_confirm(request: Request, token: str) -> Response:
    def render(body: CertificationBody, shared: SharedCertificate) -> Response:
        return _html(
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
        return _too_many_page(refused)
    state = state_of(request)
    try:
        with state.lock:
            share = sharing.revoke_share_by_token(state.body, token)
    except ShareUnavailable as exc:
        _failed(request, exc)
        return _unavailable(exc)
    return _html(
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

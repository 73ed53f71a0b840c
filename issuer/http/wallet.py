"""What a wallet calls, on the body's server: the protocols that hand a shared credential
to a holder's wallet (the holder's share page, :mod:`issuer.http.holder`, offers them).

- ``GET /share/{token}/interact``: the VC API interaction URL (which protocols a wallet may
  use); ``POST /workflows/holder-share/exchanges/{id}``: the VC API exchange (its answer
  carries the credential's transparency-log proof as ``logProof``, beside the presentation).
- OpenID4VCI 1.0, pre-authorized code flow: ``/.well-known/openid-credential-issuer``,
  ``/.well-known/oauth-authorization-server``, ``GET /oid4vci/offers/{id}``,
  ``POST /oid4vci/token``, ``POST /oid4vci/credential``. Their errors are OAuth-style
  ``{"error": …, "error_description": …}``, never a 500.

RFC 6749 fixes the token request as ``application/x-www-form-urlencoded``, and OpenID4VCI wants
``{"error": …}`` bodies: the app's request guard (``issuer/http/app.py``) bounds the size of
:data:`OAUTH_PATHS`' bodies only, refusing in OAuth's words (:func:`oauth_refusal`); their
handlers check the media type and syntax themselves.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from certreg.issuer import sharing
from certreg.issuer.http.attempts import attempts_left, failed_attempt
from certreg.issuer.http.errors import status_of
from certreg.issuer.http.log import log_files
from certreg.issuer.http.ratelimit import LimitExceeded
from certreg.issuer.http.state import state_of
from certreg.issuer.logfiles import LogError, NotYetSigned
from certreg.issuer.sharing import OAuthError, ShareUnavailable
from certreg.verifier.tlog.entry import credential_hash
from certreg.verifier.verify import InputError, load_document

__all__ = ["CREDENTIAL_PATH", "OAUTH_PATHS", "TOKEN_PATH", "oauth_refusal", "router"]

router = APIRouter()

TOKEN_PATH = "/oid4vci/token"
CREDENTIAL_PATH = "/oid4vci/credential"
#: Paths whose request bodies OAuth fixes (a form for the token endpoint) and whose errors must
#: be OAuth-shaped: the request guard bounds their size only (:func:`oauth_refusal`).
OAUTH_PATHS = frozenset({TOKEN_PATH, CREDENTIAL_PATH})

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oauth_refusal(status: int, detail: str) -> JSONResponse:
    """How the request guard refuses a body on :data:`OAUTH_PATHS`: an OAuth error object."""
    return _oauth_error(OAuthError("invalid_request", detail, status))


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


def _too_many_json(exc: LimitExceeded) -> JSONResponse:
    return JSONResponse(
        {"detail": exc.reason}, status_code=exc.status, headers=_NO_STORE | exc.headers
    )


def _too_many_oauth(exc: LimitExceeded) -> JSONResponse:
    return _oauth_error(OAuthError("invalid_request", exc.reason, exc.status), exc.headers)


@router.get(
    "/share/{token}/interact",
    tags=["holder"],
    summary="VC API interaction URL: the protocols a wallet may use",
)
def share_interact(request: Request, token: str) -> Response:
    accept = request.headers.get("accept", "")
    if "text/html" in accept and "application/json" not in accept:
        return RedirectResponse(f"/share/{token}", status_code=303)

    refused = attempts_left(request)
    if refused is not None:
        return _too_many_json(refused)
    state = state_of(request)
    try:
        with state.lock:
            sharing.open_share(state.body, token)
            protocols = sharing.interaction_protocols(state.body, token)
    except ShareUnavailable as exc:
        failed_attempt(request, exc)
        return JSONResponse({"detail": str(exc)}, status_code=status_of(exc), headers=_NO_STORE)
    return JSONResponse(protocols, headers=_NO_STORE)


@router.post(
    f"/workflows/{sharing.EXCHANGE_WORKFLOW}/exchanges/{{exchange_id}}",
    tags=["holder"],
    summary="VC API exchange: returns a presentation carrying the shared credential",
)
def vcapi_exchange(request: Request, exchange_id: str) -> Response:
    refused = attempts_left(request)
    if refused is not None:
        return _too_many_json(refused)
    state = state_of(request)
    try:
        with state.lock:
            shared = sharing.open_share_by_exchange(state.body, exchange_id)
    except ShareUnavailable as exc:
        failed_attempt(request, exc)
        return JSONResponse({"detail": str(exc)}, status_code=status_of(exc))
    credential = shared.certification.credential or {}
    answer: dict[str, Any] = {"verifiablePresentation": sharing.presentation(credential)}
    # The credential's proof of inclusion in the body's transparency log (C2SP tlog-proof@v1
    # text), beside the presentation: never inside the signed credential, which stays as issued.
    try:
        with state.lock:
            answer["logProof"] = log_files(request).proof(credential_hash(credential))
    except NotYetSigned as exc:  # logged, not yet signed: say when to ask /log/proof again
        answer["logProofPending"] = str(exc)
        answer["logProofRetryAfter"] = exc.retry_after
    except LogError:
        pass  # not logged: the exchange still hands over the credential
    return JSONResponse(answer, headers=_NO_STORE)


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
    refused = attempts_left(request)
    if refused is not None:
        return _too_many_json(refused)
    state = state_of(request)
    try:
        with state.lock:
            offer = sharing.credential_offer(state.body, offer_id)
    except ShareUnavailable as exc:
        failed_attempt(request, exc)
        return JSONResponse({"detail": str(exc)}, status_code=status_of(exc), headers=_NO_STORE)
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
        refused = attempts_left(request)
        if refused is not None:
            return _too_many_oauth(refused)
        state = state_of(request)
        try:
            with state.lock:
                answer = sharing.exchange_code(state.body, code, tx_code=form.get("tx_code"))
        except OAuthError as exc:  # a wrong, used or expired code, or a tx_code
            failed_attempt(request, exc)
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
        refused = attempts_left(request)
        if refused is not None:
            return _too_many_oauth(refused)
        try:
            with state.lock:
                sharing.check_access_token(state.body, access_token)
        except OAuthError as exc:
            failed_attempt(request, exc)
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

"""The holder's share pages on the body's server, reached with a share token (see
:mod:`issuer.sharing`):

- ``GET /share/{token}``: the certificate in plain words, the credential to download, the
  page's QR, "Add to LinkedIn", the wallet offer (link and QR), the VC API interaction URL,
  and "stop sharing";
- ``GET /share/{token}/credential.json``, ``/qr.png``, ``/wallet-qr.png``, ``/log-proof``
  (the certificate's tlog-proof from the body's transparency log);
  ``GET|POST /share/{token}/revoke`` (confirm, then revoke).

Pages carry ``Referrer-Policy: no-referrer`` (the token is in the URL), ``Cache-Control:
no-store``, ``X-Robots-Tag: noindex`` and a Content-Security-Policy without scripts; every
value written into HTML is escaped. They speak the reader's language (``?lang=``, else
Accept-Language, else English), as the keyless site's do.

The share page, its download and its messages are rendered by the keyless public site's code
(:mod:`register.web.share`), so that both show a certificate in the same words; only this
server adds what needs the issuer's state: the wallet offer and "Revoke this link". What a
wallet then does with the offer is :mod:`issuer.http.wallet`'s; the staff make and revoke
links through :mod:`issuer.http.share_links`.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from certreg.i18n import translator
from certreg.issuer import sharing
from certreg.issuer.http.attempts import attempts_left, failed_attempt
from certreg.issuer.http.errors import status_of
from certreg.issuer.http.log import TEXT, log_files, not_yet_signed_headers
from certreg.issuer.http.state import state_of
from certreg.issuer.logfiles import LogError, NotYetSigned
from certreg.issuer.service import CertificationBody
from certreg.issuer.sharing import SharedCertificate, ShareUnavailable
from certreg.register.web.share import (
    credential_download,
    html_page,
    lang_query,
    language_of,
    qr_png_response,
    render_share_page,
    status_words,
    too_many_page,
    unavailable_page,
)
from certreg.verifier.tlog.entry import credential_hash

__all__ = ["router", "status_words"]

router = APIRouter()

#: The proof is fetched with the token in the URL: not cached, no referrer (as the page).
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _with_share(
    request: Request, token: str, render: Callable[[CertificationBody, SharedCertificate], Any]
) -> Any:
    lang = language_of(request)
    refused = attempts_left(request)
    if refused is not None:
        return too_many_page(refused, lang)
    state = state_of(request)
    try:
        with state.lock:
            shared = sharing.open_share(state.body, token)
            return render(state.body, shared)
    except ShareUnavailable as exc:
        failed_attempt(request, exc)
        return unavailable_page(status_of(exc), str(exc), lang)


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
            lang=language_of(request),
            log_proof=True,
        )

    return _with_share(request, token, render)


@router.get(
    "/share/{token}/credential.json",
    tags=["holder"],
    summary="The signed credential, as the certification body issued it",
)
def share_credential(request: Request, token: str) -> Response:
    return _with_share(request, token, lambda body, shared: credential_download(shared))


@router.get(
    "/share/{token}/log-proof",
    tags=["holder"],
    summary="The certificate's proof of inclusion in the body's transparency log "
    "(C2SP tlog-proof@v1)",
    responses={200: {"content": {"text/plain": {}}}},
)
def share_log_proof(request: Request, token: str) -> Response:
    """The tlog-proof of the shared certificate's current credential, against the latest
    checkpoint: one indexed look-up of the credential's hash, then the tiles of one path."""

    def render(body: CertificationBody, shared: SharedCertificate) -> Response:
        credential = shared.certification.credential
        try:
            if not credential:
                raise LogError("this certificate has no signed credential")
            text = log_files(request).proof(credential_hash(credential))
        except NotYetSigned as exc:  # written, not yet signed: ask again, as /log/proof says
            headers = {**_NO_STORE, **not_yet_signed_headers(exc)}
            return Response(str(exc), status_code=503, media_type=TEXT, headers=headers)
        except LogError as exc:
            return Response(str(exc), status_code=404, media_type=TEXT, headers=_NO_STORE)
        filename = f"certificate-{quote(shared.certification.number)}.tlog-proof"
        headers = {**_NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'}
        return Response(text, media_type=TEXT, headers=headers)

    return _with_share(request, token, render)


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
    lang = language_of(request)
    _ = translator("pages", lang)

    def render(body: CertificationBody, shared: SharedCertificate) -> Response:
        title = _("Revoke this link?")
        explained = _(
            "The page, its download and its wallet offers stop working at once, for everyone. "
            "This cannot be undone; you can ask the certification body for a new link."
        )
        q = lang_query(lang)
        button, keep = _("Revoke the link"), _("Keep sharing")
        return html_page(
            title,
            f"<h1>{escape(title)}</h1><p>{escape(explained)}</p>"
            f'<form method="post" action="/share/{escape(token)}/revoke{q}">'
            f'<button class="button danger" type="submit">{escape(button)}'
            "</button> "
            f'<a href="/share/{escape(token)}{q}">{escape(keep)}</a></form>',
            lang=lang,
        )

    return _with_share(request, token, render)


@router.post(
    "/share/{token}/revoke",
    tags=["holder"],
    summary="The holder revokes the link (holding the token is the authority)",
    response_class=HTMLResponse,
)
def share_revoke(request: Request, token: str) -> Response:
    lang = language_of(request)
    _ = translator("pages", lang)
    refused = attempts_left(request)
    if refused is not None:
        return too_many_page(refused, lang)
    state = state_of(request)
    try:
        with state.lock:
            share = sharing.revoke_share_by_token(state.body, token)
    except ShareUnavailable as exc:
        failed_attempt(request, exc)
        return unavailable_page(status_of(exc), str(exc), lang)
    title = _("Link revoked")
    again = _("Ask the certification body if you need a new one.")
    stopped = _("The link stopped working on %(time)s.", time=str(share.revoked_at))
    return html_page(
        title,
        f"<h1>{escape(title)}</h1><p>{escape(stopped)}</p><p>{escape(again)}</p>",
        lang=lang,
    )

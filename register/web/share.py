"""The holder's share page, as anyone with the link sees it: ``GET /share/{token}``, its
``credential.json`` and its ``qr.png``.

:func:`render_share_page` is the one renderer of the page: the body's own server
(``issuer.http.holder``, with the issuer's state at hand) and the keyless public site (here, from
register.db alone) show the same certificate in the same words. What they differ in is what only
the issuer can do: the wallet offer (OpenID4VCI, VC API) and revoking the link. The keyless site
offers neither, and says that the certification body does both; its routes for them
(``wallet-qr.png``, ``interact``, ``revoke``, ``/oid4vci/...``, the VC API exchange) do not exist
there (404).

On the keyless site a link is found in register.db's ``share_pages`` by the SHA-256 of its token
and opened with a key derived from the token (:mod:`register.shares`): the issuer pushes it, with
its expiry and revocation as plain columns, at every change. A link made before its body pushed
share pages (or never pushed) is "not found" there while the body's server still serves it.

Pages carry ``Referrer-Policy: no-referrer`` (the token is in the URL), ``Cache-Control:
no-store``, ``X-Robots-Tag: noindex`` and a Content-Security-Policy without scripts; every
value written into HTML is escaped. Failed attempts at tokens spend the client's attempt rate
(:mod:`register.web.ratelimit`), as on the body's server.
"""

from __future__ import annotations

import hmac
import io
import json
import sqlite3
from collections.abc import Callable
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from certreg.register.shares import (
    SharePage,
    linkedin_for,
    open_page,
    plausible_token,
    share_id,
    unavailable,
)
from certreg.register.web.ratelimit import LimitExceeded, guards_of
from certreg.register.web.state import site_of
from certreg.verifier.standing import Standing, headline

__all__ = [
    "PAGE_HEADERS",
    "qr_png_response",
    "render_share_page",
    "router",
    "status_words",
    "too_many_page",
    "unavailable_page",
]

router = APIRouter(tags=["holder"])

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}

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


def html_page(title: str, body_html: str, status: int = 200) -> HTMLResponse:
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body_html}</body></html>"
    )
    return HTMLResponse(page, status_code=status, headers=PAGE_HEADERS)


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


def status_words(shared: Any, now: datetime) -> tuple[str, str, str]:
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


def _scope_rows(shared: Any) -> str:
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


def render_share_page(
    shared: Any, token: str, *, now: datetime, wallet_offer_uri: str | None = None
) -> HTMLResponse:
    """The share page of ``shared`` (a :class:`register.shares.SharePage`, or the issuer's
    ``SharedCertificate``: the same attributes), its status worded as of ``now``.

    With ``wallet_offer_uri`` (the body's own server, which holds the issuer's state) the page
    offers the wallet delivery and "Revoke this link"; without it (the keyless public site,
    which can change nothing) it says that the certification body does both, and offers no
    button that would fail."""
    cert = shared.certification
    today = now.date().isoformat()
    status_line, sentence, css = status_words(shared, now)
    base = str(shared.body["public_url"]).rstrip("/")
    page_url = f"{base}/share/{token}"
    linkedin = linkedin_for(shared, token, base)
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
{_holder_actions(token, page_url, expiry, wallet_offer_uri, shared)}
"""
    return html_page(f"{cert.holder_name}: {scheme['name']}", html)


def _holder_actions(
    token: str, page_url: str, expiry: str, wallet_offer_uri: str | None, shared: Any
) -> str:
    """The sections that act on the issuer's state: the wallet offer (OpenID4VCI, VC API) and
    revoking the link. Only the body's own server can do either."""
    if wallet_offer_uri is None:
        return f"""
<section><h2>Wallets and stopping sharing</h2>
<p>Anyone with this link sees this page.{expiry} This is the public copy of the certification
body's register, which can change nothing: to put this certificate in a wallet, or to revoke this
link, ask {escape(str(shared.body["legal_name"]))}.</p>
</section>
"""
    interact = f"{page_url}/interact"
    offer_uri = wallet_offer_uri
    return f"""
<section><h2>Put it in a wallet</h2>
<p>OpenID4VCI wallets: scan the code or open the link on the phone that holds the wallet.
The offer can be used once and for 15 minutes; reload this page for a new one.</p>
<img class="qr" src="/share/{escape(token)}/wallet-qr.png" alt="QR code of the wallet offer">
<p><a class="button" href="{escape(offer_uri)}">Open in wallet</a></p>
<p>Wallets that speak the W3C VC API: interaction URL <code>{escape(interact)}</code></p>
</section>
<section><h2>Stop sharing</h2>
<p>Anyone with this link sees this page.{expiry} If you no longer want that, revoke the link:
this page, its download and its wallet offers stop working at once.</p>
<p><a class="button danger" href="/share/{escape(token)}/revoke">Revoke this link</a></p>
</section>
"""


def unavailable_page(status: int, reason: str) -> HTMLResponse:
    """A link that is unknown (404), or was revoked or has expired (410)."""
    title = "Link revoked or expired" if status == 410 else "Link not found"
    return html_page(
        title,
        f"<h1>{escape(title)}</h1><p>{escape(reason.capitalize())}.</p>"
        "<p>Ask the certificate holder for a new link.</p>",
        status,
    )


def qr_png_response(data: str) -> Response:
    import qrcode  # and Pillow: only when a QR code is asked for

    image = qrcode.make(data, box_size=8, border=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return Response(
        out.getvalue(),
        media_type="image/png",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def too_many_page(exc: LimitExceeded) -> HTMLResponse:
    page = html_page(
        "Too many attempts",
        f"<h1>Too many attempts</h1><p>{escape(exc.reason.capitalize())}.</p>",
        exc.status,
    )
    page.headers.update(exc.headers)
    return page


# --- the keyless site's routes ------------------------------------------------------------


def _find(request: Request, token: str) -> SharePage | tuple[int, str]:
    """The page of a live link, or (status, reason) why there is none."""
    missing = (404, "there is no share link at this address")
    if not plausible_token(token):
        return missing
    site = site_of(request)
    wanted = share_id(token)
    try:
        with site.connect() as conn:
            row = conn.execute(
                "SELECT id, sealed, expires_at, revoked_at, revoked_by FROM share_pages "
                "WHERE id = ?",
                [wanted],
            ).fetchone()
    except sqlite3.OperationalError:  # a register pushed by an older certreg: no such table
        row = None
    if row is None or not hmac.compare_digest(row[0], wanted):
        return missing
    problem = unavailable(row[3], row[4], row[2], site.clock())
    if problem is not None:
        return problem
    page = open_page(token, row[1]) if row[1] is not None else None
    return page if page is not None else missing


def _with_share(request: Request, token: str, render: Callable[[SharePage], Response]) -> Response:
    try:
        guards_of(request).check_attempts(request)
    except LimitExceeded as exc:
        return too_many_page(exc)
    found = _find(request, token)
    if isinstance(found, SharePage):
        return render(found)
    status, reason = found
    if status == 404:  # a revoked or expired link (410) was a good token: not a guess
        guards_of(request).failed_attempt(request)
    return unavailable_page(status, reason)


@router.get("/share/{token}", summary="The holder's share page", response_class=HTMLResponse)
def share_page(request: Request, token: str) -> Response:
    now = site_of(request).clock()
    return _with_share(request, token, lambda page: render_share_page(page, token, now=now))


def credential_download(page: Any) -> Response:
    """The signed credential as the certification body issued it, to download."""
    number = page.certification.number
    data = json.dumps(page.certification.credential, ensure_ascii=False, indent=2)
    return Response(
        data.encode("utf-8"),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="certificate-{quote(number)}.json"',
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.get(
    "/share/{token}/credential.json",
    summary="The signed credential, as the certification body issued it",
)
def share_credential(request: Request, token: str) -> Response:
    return _with_share(request, token, credential_download)


@router.get("/share/{token}/qr.png", summary="QR code of the share page")
def share_qr(request: Request, token: str) -> Response:
    def render(page: SharePage) -> Response:
        return qr_png_response(f"{str(page.body['public_url']).rstrip('/')}/share/{token}")

    return _with_share(request, token, render)

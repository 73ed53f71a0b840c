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

The pages speak the reader's language (en, de, fr, es: ``?lang=``, else Accept-Language, else
English; :func:`language_of`), say which in ``<html lang>`` and ``Content-Language`` (with
``Vary: Accept-Language``), and offer a small language switch (links ``?lang=xx``). The
certificate itself keeps the one language it was signed in: names, scheme and scope are shown
as the body wrote them.

Pages carry ``Referrer-Policy: no-referrer`` (the token is in the URL), ``Cache-Control:
no-store``, ``X-Robots-Tag: noindex`` and a Content-Security-Policy without scripts; every
value written into HTML is escaped. Failed attempts at tokens spend the client's attempt rate
(:mod:`register.web.ratelimit`), as on the body's server.
"""

from __future__ import annotations

import base64
import hmac
import io
import json
import re
import sqlite3
from collections.abc import Callable
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from certreg.i18n import DEFAULT, LANGUAGES, N_, language_name, translator
from certreg.register.offline import offline_qr_of
from certreg.register.shares import (
    SharePage,
    linkedin_for,
    open_page,
    plausible_token,
    share_id,
    unavailable,
)
from certreg.register.web.language import language_of
from certreg.register.web.ratelimit import LimitExceeded, guards_of
from certreg.register.web.state import site_of
from certreg.verifier.standing import Standing, headline, plain_date

__all__ = [
    "PAGE_HEADERS",
    "lang_query",
    "language_of",
    "language_switch",
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
        "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
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
.offline-qr{width:300px;height:300px;image-rendering:pixelated}
.button{display:inline-block;padding:.5rem .9rem;border-radius:.3rem;background:#0a66c2;
color:#fff;text-decoration:none;font-weight:600;border:0;font-size:1rem;cursor:pointer}
.danger{background:#b42318}code{word-break:break-all;background:#f3f3f3;padding:.1rem .25rem}
.langs{text-align:right;font-size:.9rem}.langs a{color:#0a58a8}
"""


def language_switch(lang: str) -> str:
    """Links to this page in each other language (``?lang=xx``, each language named in
    itself); the current one is said, not linked."""
    _ = translator("pages", lang)
    items = []
    for other in LANGUAGES:
        name = escape(language_name(other))
        if other == lang:
            items.append(f'<strong aria-current="true" lang="{other}">{name}</strong>')
        else:
            items.append(f'<a href="?lang={other}" hreflang="{other}" lang="{other}">{name}</a>')
    label = escape(_("Language"))
    return f'<nav class="langs" aria-label="{label}">{" · ".join(items)}</nav>'


def html_page(
    title: str, body_html: str, status: int = 200, lang: str | None = None
) -> HTMLResponse:
    """A page in ``lang``, with the language switch; without ``lang`` an English page with no
    switch (pages whose words are English only)."""
    headers = dict(PAGE_HEADERS)
    switch = ""
    if lang is not None:
        headers["Content-Language"] = lang
        headers["Vary"] = "Accept-Language"
        switch = language_switch(lang)
    page = (
        f'<!doctype html><html lang="{lang or DEFAULT}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{switch}{body_html}</body></html>"
    )
    return HTMLResponse(page, status_code=status, headers=headers)


def _day(value: str | None, lang: str = DEFAULT) -> str:
    """A date as the page shows it: ``2029-01-14`` in English (as the page always has), the
    reader's way in the other languages (``14. Januar 2029``)."""
    if lang == DEFAULT or not value:
        return escape((value or "")[:10])
    return escape(plain_date(value, lang))


def lang_query(lang: str, first: bool = True) -> str:
    """``?lang=de`` to keep a chosen language on the page's own links; nothing for English,
    whose links stay as they were."""
    if lang == DEFAULT:
        return ""
    return f"{'?' if first else '&'}lang={lang}"


#: The page's colour for each standing (the headline's words come from verifier.standing).
_HOLDER_CSS = {
    Standing.VALID: "ok",
    Standing.NOT_YET_VALID: "ok",
    Standing.SUSPENDED: "warn",
    Standing.WITHDRAWN: "bad",
    Standing.EXPIRED: "grey",
}


def status_words(shared: Any, now: datetime, lang: str = DEFAULT) -> tuple[str, str, str]:
    """(headline, sentence, css class) for the certification's status, in plain words in
    ``lang``, escaped for HTML; the headline is the one the public page, the PDF and the
    verifier give."""
    _ = translator("pages", lang)
    cert = shared.certification
    line = headline(cert, now, lang=lang)
    if line.standing is Standing.WITHDRAWN:
        sentence = _(
            "The certification body has withdrawn this certification: it is no longer valid."
        )
    elif line.standing is Standing.EXPIRED:
        sentence = _("This certification has passed its expiry date and is no longer valid.")
    elif line.standing is Standing.SUSPENDED:
        sentence = _(
            "The certification body has suspended this certification: while suspended it is "
            "not valid."
        )
        if cert.suspended_until:
            ends = _(
                "The suspension ends at the latest on %(date)s.",
                date=_day(cert.suspended_until, lang),
            )
            sentence = f"{sentence} {ends}"
    elif line.standing is Standing.NOT_YET_VALID:
        sentence = _("This certification has been granted and takes effect on that date.")
    else:
        sentence = _(
            "This certification is in force until %(date)s.", date=_day(cert.valid_until, lang)
        )
    css = _HOLDER_CSS[line.standing] if line.standing is not None else "grey"
    return escape(line.text), sentence, css


def _scope_rows(shared: Any, lang: str) -> str:
    _ = translator("pages", lang)
    rows = []
    for item in shared.certification.scope:
        conditions = item.get("conditions") or _("No conditions or limitations")
        if item.get("status") == "active":
            state = escape(_("included"))
        else:
            state = escape(_("removed on %(date)s", date=_day(item.get("since"), lang)))
        rows.append(
            f"<tr><td>{escape(str(item.get('label') or item.get('code')))}"
            f' <span class="muted">({escape(str(item.get("code")))})</span></td>'
            f"<td>{escape(str(conditions))}</td><td>{state}</td></tr>"
        )
    return "".join(rows)


def render_share_page(
    shared: Any,
    token: str,
    *,
    now: datetime,
    wallet_offer_uri: str | None = None,
    lang: str = DEFAULT,
    log_proof: bool = False,
) -> HTMLResponse:
    """The share page of ``shared`` (a :class:`register.shares.SharePage`, or the issuer's
    ``SharedCertificate``: the same attributes), its status worded as of ``now``.

    With ``wallet_offer_uri`` (the body's own server, which holds the issuer's state) the page
    offers the wallet delivery and "Revoke this link"; without it (the keyless public site,
    which can change nothing) it says that the certification body does both, and offers no
    button that would fail. Its words are in ``lang``.

    With ``log_proof`` (the body's own server, which has the transparency log) the page links
    to the certificate's tlog-proof (``/share/{token}/log-proof``); without it the page says
    where that proof comes from instead."""
    _ = translator("pages", lang)
    cert = shared.certification
    today = _day(now.date().isoformat(), lang)
    status_line, sentence, css = status_words(shared, now, lang)
    base = str(shared.body["public_url"]).rstrip("/")
    page_url = f"{base}/share/{token}"
    linkedin = linkedin_for(shared, token, base)
    scheme = shared.scheme
    accreditation = ""
    if shared.body.get("accreditation_body"):
        number = shared.body.get("accreditation_number")
        accredited_by = escape(str(shared.body["accreditation_body"]))
        if number:
            accredited = _(
                "Accredited by %(body)s, accreditation %(number)s",
                body=accredited_by,
                number=escape(str(number)),
            )
        else:
            accredited = _("Accredited by %(body)s", body=accredited_by)
        accreditation = f"<br><span class='muted'>{accredited}</span>"
    expiry = ""
    if shared.share.expires_at:
        expiry = " " + _(
            "This link works until %(date)s.", date=_day(shared.share.expires_at, lang)
        )
    public_page = ""
    if scheme["publication_policy"] != "on_request":
        public_url = f"{base}/c/{quote(cert.number, safe='')}"
        link = f'<a href="{escape(public_url)}{lang_query(lang)}">{escape(public_url)}</a>'
        public_page = "<p>" + _(
            "The certification body's public page for this certificate: %(link)s", link=link
        )
        public_page += "</p>"
    reference = (
        f"({escape(str(scheme['normative_reference']))})"
        if scheme.get("normative_reference")
        else ""
    )
    scheme_name = f"<strong>{escape(str(scheme['name']))}</strong>"
    body_name = f"<strong>{escape(str(shared.body['legal_name']))}</strong>"
    holds = _(
        "holds the certification %(scheme)s\n%(reference)s\nissued by %(body)s.",
        scheme=scheme_name,
        reference=reference,
        body=body_name,
    )
    recorded = _("Status as recorded by the certification body on %(date)s.", date=today)
    q = lang_query(lang)
    credential_help = _(
        "A W3C Verifiable Credential signed by the certification body. Anyone can check\n"
        "it, including its current status, at the body's verify page or with any VC verifier."
    )
    conditions = _("Conditions or limitations")
    download = _("Download the credential (JSON)")
    page_code = f"<code>{escape(page_url)}</code>"
    address = _("Address of this page: %(address)s", address=page_code)
    # Plain calls, not inside the f-string below: message extraction does not read f-strings.
    w = {
        "shared_by": escape(_("Certificate shared by its holder")),
        "number": escape(_("Certificate number")),
        "valid_from": escape(_("Valid from")),
        "valid_until": escape(_("Valid until")),
        "issued_by": escape(_("Issued by")),
        "scope": escape(_("Scope")),
        "item": escape(_("Item")),
        "status": escape(_("Status")),
        "signed": escape(_("The signed certificate")),
        "show": escape(_("Show this page")),
        "linkedin": escape(_("Add to LinkedIn")),
        "linkedin_button": escape(_("Add to LinkedIn profile")),
        "qr_alt": escape(_("QR code of this page")),
    }
    html = f"""
<p class="muted">{w["shared_by"]}</p>
<h1>{escape(cert.holder_name)}</h1>
<p>{holds}{accreditation}</p>
<p class="status {css}">{status_line}</p>
<p>{sentence} {recorded}</p>
<section><table>
<tr><th>{w["number"]}</th><td>{escape(cert.number)}</td></tr>
<tr><th>{w["valid_from"]}</th><td>{_day(cert.valid_from, lang)}</td></tr>
<tr><th>{w["valid_until"]}</th><td>{_day(cert.valid_until, lang)}</td></tr>
<tr><th>{w["issued_by"]}</th><td>{escape(str(shared.body["legal_name"]))}<br>
<code>{escape(str(shared.body["did"]))}</code></td></tr>
</table></section>
<section><h2>{w["scope"]}</h2><table><tr><th>{w["item"]}</th><th>{conditions}</th>
<th>{w["status"]}</th></tr>{_scope_rows(shared, lang)}</table></section>
{public_page}
<section><h2>{w["signed"]}</h2>
<p><a class="button" href="/share/{escape(token)}/credential.json" download>{download}</a></p>
<p class="muted">{credential_help}</p>
{_log_proof_section(token, log_proof, shared, lang)}</section>
<section><h2>{w["show"]}</h2>
<img class="qr" src="/share/{escape(token)}/qr.png" alt="{w["qr_alt"]}">
<p>{address}</p></section>
{_offline_section(cert, lang)}
<section><h2>{w["linkedin"]}</h2>
<p><a class="button" href="{escape(linkedin)}" target="_blank"
rel="noopener noreferrer">{w["linkedin_button"]}</a></p></section>
{_holder_actions(token, page_url, expiry, wallet_offer_uri, shared, lang, q)}
"""
    return html_page(f"{cert.holder_name}: {scheme['name']}", html, lang=lang)


def _offline_section(cert: Any, lang: str) -> str:
    """The certificate's offline QR code (its signed payload, :mod:`register.offline`), when
    the share page's data holds one. Inline (a ``data:`` PNG): one renderer serves both
    sites, and neither needs a route for it; a share page is seen rarely, so the code is
    drawn each time."""
    text = offline_qr_of(cert)
    if text is None:
        return ""
    from certreg.register.qr import offline_qr_png  # qrcode and Pillow: only when needed

    _ = translator("pages", lang)
    image = base64.b64encode(offline_qr_png(text, box_size=4)).decode("ascii")
    heading = escape(_("Scan to check offline"))
    alt = escape(_("Offline QR code: the certificate itself, signed by the certification body"))
    help_text = escape(
        _(
            "This code holds the certificate itself, signed by the certification body. A "
            "verifier that has synced this body's keys and status lists checks it with no "
            "network, and says how recent its status data is."
        )
    )
    return (
        f"<section><h2>{heading}</h2>"
        f'<img class="offline-qr" src="data:image/png;base64,{image}" alt="{alt}">'
        f'<p class="muted">{help_text}</p></section>'
    )


def _log_proof_section(token: str, log_proof: bool, shared: Any, lang: str) -> str:
    """The link to the certificate's proof of inclusion in the body's transparency log, or,
    on the keyless site (which has the log's files but no index from a credential to its
    entry), where to get it."""
    _ = translator("pages", lang)
    if log_proof:
        link = escape(_("Proof that the body's log holds this certificate"))
        help_text = _(
            "A C2SP tlog-proof: it shows that this certificate was signed by a decision the\n"
            "certification body recorded in its public transparency log. Verifiers check it "
            "with the log's key in the body's DID document (certreg verify --log-proof)."
        )
        return (
            f'<div class="log-proof"><p><a href="/share/{escape(token)}/log-proof" download>'
            f'{link}</a></p><p class="muted">{escape(help_text)}</p></div>'
        )
    absent = _(
        "The proof that the body's transparency log holds this certificate is not available\n"
        "on this public copy of the register: %(body)s gives it, and certreg verify "
        "--require-log fetches it from the body.",
        body=escape(str(shared.body["legal_name"])),
    )
    return f'<div class="log-proof"><p class="muted">{absent}</p></div>'


def _holder_actions(
    token: str,
    page_url: str,
    expiry: str,
    wallet_offer_uri: str | None,
    shared: Any,
    lang: str = DEFAULT,
    q: str = "",
) -> str:
    """The sections that act on the issuer's state: the wallet offer (OpenID4VCI, VC API) and
    revoking the link. Only the body's own server can do either."""
    _ = translator("pages", lang)
    anyone = _("Anyone with this link sees this page.")
    # Plain calls, not inside the f-string below: message extraction does not read f-strings.
    w = {
        "wallets_stop": escape(_("Wallets and stopping sharing")),
        "wallet": escape(_("Put it in a wallet")),
        "open_wallet": escape(_("Open in wallet")),
        "stop": escape(_("Stop sharing")),
        "revoke": escape(_("Revoke this link")),
    }
    if wallet_offer_uri is None:
        ask = _(
            "This is the public copy of the certification\nbody's register, which can change "
            "nothing: to put this certificate in a wallet, or to revoke this\nlink, ask "
            "%(body)s.",
            body=escape(str(shared.body["legal_name"])),
        )
        return f"""
<section><h2>{w["wallets_stop"]}</h2>
<p>{anyone}{expiry} {ask}</p>
</section>
"""
    interact = f"{page_url}/interact"
    offer_uri = wallet_offer_uri
    wallets = _(
        "OpenID4VCI wallets: scan the code or open the link on the phone that holds the wallet.\n"
        "The offer can be used once and for 15 minutes; reload this page for a new one."
    )
    interact_code = f"<code>{escape(interact)}</code>"
    vc_api = _("Wallets that speak the W3C VC API: interaction URL %(url)s", url=interact_code)
    revoke_text = _(
        "If you no longer want that, revoke the link:\nthis page, its download and its wallet "
        "offers stop working at once."
    )
    offer_alt = escape(_("QR code of the wallet offer"))
    return f"""
<section><h2>{w["wallet"]}</h2>
<p>{wallets}</p>
<img class="qr" src="/share/{escape(token)}/wallet-qr.png" alt="{offer_alt}">
<p><a class="button" href="{escape(offer_uri)}">{w["open_wallet"]}</a></p>
<p>{vc_api}</p>
</section>
<section><h2>{w["stop"]}</h2>
<p>{anyone}{expiry} {revoke_text}</p>
<p><a class="button danger" href="/share/{escape(token)}/revoke{q}">{w["revoke"]}</a></p>
</section>
"""


#: The reasons a link cannot be used (register.shares.unavailable, issuer.sharing), as
#: patterns of their English words and the message that says them in the reader's language.
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"there is no share link at this address$"),
        N_("there is no share link at this address"),
    ),
    (
        re.compile(r"this share link was revoked by the holder on (?P<date>.+)$"),
        N_("this share link was revoked by the holder on %(date)s"),
    ),
    (
        re.compile(r"this share link was revoked by the certification body on (?P<date>.+)$"),
        N_("this share link was revoked by the certification body on %(date)s"),
    ),
    (
        re.compile(r"this share link expired on (?P<date>.+)$"),
        N_("this share link expired on %(date)s"),
    ),
)


def _reason_in(reason: str, lang: str) -> str:
    """``reason`` in ``lang`` when it is one of :data:`_REASONS`, else as it was given."""
    if lang == DEFAULT:
        return reason
    _ = translator("pages", lang)
    for pattern, message in _REASONS:
        found = pattern.match(reason)
        if found:
            return _(message, **{k: plain_date(v, lang) for k, v in found.groupdict().items()})
    return reason


def unavailable_page(status: int, reason: str, lang: str = DEFAULT) -> HTMLResponse:
    """A link that is unknown (404), or was revoked or has expired (410)."""
    _ = translator("pages", lang)
    title = _("Link revoked or expired") if status == 410 else _("Link not found")
    reason = _reason_in(reason, lang)
    ask = _("Ask the certificate holder for a new link.")
    return html_page(
        title,
        f"<h1>{escape(title)}</h1><p>{escape(reason[:1].upper() + reason[1:])}.</p>"
        f"<p>{escape(ask)}</p>",
        status,
        lang=lang,
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


def too_many_page(exc: LimitExceeded, lang: str | None = None) -> HTMLResponse:
    """A client over its attempt rate. The reason (the limiter's) stays in English; the title
    is in ``lang`` when given."""
    _ = translator("pages", lang or DEFAULT)
    title = _("Too many attempts")
    page = html_page(
        title,
        f"<h1>{escape(title)}</h1><p>{escape(exc.reason.capitalize())}.</p>",
        exc.status,
        lang=lang,
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
    lang = language_of(request)
    try:
        guards_of(request).check_attempts(request)
    except LimitExceeded as exc:
        return too_many_page(exc, lang)
    found = _find(request, token)
    if isinstance(found, SharePage):
        return render(found)
    status, reason = found
    if status == 404:  # a revoked or expired link (410) was a good token: not a guess
        guards_of(request).failed_attempt(request)
    return unavailable_page(status, reason, lang)


@router.get("/share/{token}", summary="The holder's share page", response_class=HTMLResponse)
def share_page(request: Request, token: str) -> Response:
    now = site_of(request).clock()
    lang = language_of(request)
    return _with_share(
        request, token, lambda page: render_share_page(page, token, now=now, lang=lang)
    )


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

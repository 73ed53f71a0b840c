"""``/mail/unsubscribe/{token}``: a holder stops the expiry reminders (issuer.mail.unsubscribe).

- ``GET`` shows a page saying what unsubscribing does, with one button. It changes nothing:
  mail scanners and link previews follow every link in a mail, and must not unsubscribe
  anyone.
- ``POST`` (that button, or a mail client's one-click unsubscribe, RFC 8058, whose body is
  ``List-Unsubscribe=One-Click``) records the opt-out and says so in words. Holding the token
  is the authority; the body of the request is not needed and not read.

An unknown token is a 404 in words, and counts as a failed attempt against the client's
address (issuer.http.attempts: the same bound as the share links' guesses). The token is in
the path: the access log redacts it (register.web.redact), and the pages carry the share
pages' headers (no referrer, no store, no index).

The pages speak the holder's language: the reminder's link carries ``?lang=`` (the language its
mail was written in), else the browser's ``Accept-Language`` decides (certreg.i18n.negotiate).
Their words are messages of the ``mail`` catalog, with the mails they belong to.
"""

from __future__ import annotations

from datetime import date
from html import escape

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from certreg.i18n import DEFAULT, format_date, translator
from certreg.issuer.http.attempts import attempts_left, failed_attempt
from certreg.issuer.http.state import state_of
from certreg.issuer.mail.unsubscribe import UNSUBSCRIBE_PATH, opt_out, opted_out, person_of
from certreg.register.web.language import language_of
from certreg.register.web.share import PAGE_HEADERS, html_page, too_many_page

__all__ = ["MAX_FORM_BYTES", "router", "unsubscribe_refusal"]

router = APIRouter(tags=["holder"])

#: The one-click body is 26 bytes; a browser's form with its button, a little more.
MAX_FORM_BYTES = 4 * 1024


def _page(title: str, body_html: str, lang: str, status: int = 200) -> HTMLResponse:
    """The share pages' page (register.web.share.html_page), marked as written in ``lang``."""
    page = html_page(title, body_html, status)
    if lang == DEFAULT:
        return page
    text = bytes(page.body).decode("utf-8").replace('<html lang="en">', f'<html lang="{lang}">', 1)
    return HTMLResponse(text, status_code=status, headers=PAGE_HEADERS)


def _unknown(request: Request, lang: str) -> HTMLResponse:
    failed_attempt(request, LookupError("unknown unsubscribe token"))
    _ = translator("mail", lang)
    title = _("Link not found")
    words = _(
        "This unsubscribe link is not one this certification body sent. Check that the whole "
        "address from the mail was copied."
    )
    return _page(title, f"<main><h1>{escape(title)}</h1><p>{escape(words)}</p></main>", lang, 404)


def unsubscribe_refusal(status: int, detail: str) -> Response:
    """How the request guard refuses an oversized POST here: in words, as a page."""
    return html_page(
        "The request could not be read",
        f"<main><h1>The request could not be read</h1><p>{escape(detail)}</p></main>",
        status,
    )


@router.get(
    UNSUBSCRIBE_PATH + "{token}",
    summary="Ask the holder to confirm unsubscribing from expiry reminders (changes nothing)",
    response_class=HTMLResponse,
)
def unsubscribe_confirm(request: Request, token: str) -> Response:
    refused = attempts_left(request)
    if refused is not None:
        return too_many_page(refused)
    lang = language_of(request)
    _ = translator("mail", lang)
    state = state_of(request)
    with state.lock:
        person = person_of(state.body.db, token)
        done = person is not None and opted_out(state.body.db, person)
        body_name = str(state.body.info["legal_name"])
    if person is None:
        return _unknown(request, lang)
    if done:
        title = _("Already unsubscribed")
        words = _(
            "You receive no more expiry reminders from %(body_name)s. You are still told of any "
            "decision about your certificates.",
            body_name=body_name,
        )
        return _page(title, f"<main><h1>{escape(title)}</h1><p>{escape(words)}</p></main>", lang)
    title = _("Stop expiry reminders?")
    intro = _(
        "%(body_name)s reminds you by e-mail before your certificates expire. Unsubscribe, and "
        "you receive no more of these reminders.",
        body_name=body_name,
    )
    still = _(
        "You are still told of any decision about your certificates (a suspension, a "
        "withdrawal, a renewal): those mails cannot be turned off."
    )
    button = _("Unsubscribe from reminders")
    # The answer to the button is in the same language as this page.
    action = f"{UNSUBSCRIBE_PATH}{token}" + ("" if lang == DEFAULT else f"?lang={lang}")
    return _page(
        title,
        f"<main><h1>{escape(title)}</h1><p>{escape(intro)}</p><p>{escape(still)}</p>"
        f'<form method="post" action="{escape(action)}">'
        f'<button class="button" type="submit">{escape(button)}</button></form></main>',
        lang,
    )


@router.post(
    UNSUBSCRIBE_PATH + "{token}",
    summary="Unsubscribe from expiry reminders (the page's button, or RFC 8058 one-click)",
    response_class=HTMLResponse,
)
def unsubscribe(request: Request, token: str) -> Response:
    refused = attempts_left(request)
    if refused is not None:
        return too_many_page(refused)
    lang = language_of(request)
    _ = translator("mail", lang)
    state = state_of(request)
    with state.lock:
        recorded = opt_out(state.body.db, token, state.body._now())
        body_name = str(state.body.info["legal_name"])
    if recorded is None:
        return _unknown(request, lang)
    title = _("Unsubscribed")
    done = _(
        "You receive no more expiry reminders from %(body_name)s (since %(date)s). You are still "
        "told of any decision about your certificates.",
        body_name=body_name,
        date=_since(recorded.opted_out_at, lang),
    )
    again = _("To receive reminders again, write to %(body_name)s.", body_name=body_name)
    return _page(
        title,
        f"<main><h1>{escape(title)}</h1><p>{escape(done)}</p><p>{escape(again)}</p></main>",
        lang,
    )


def _since(opted_out_at: str, lang: str) -> str:
    """The day of the opt-out: 2026-03-02 in English, as before; 2. März 2026 in German."""
    if lang == DEFAULT:
        return opted_out_at[:10]
    return format_date(date.fromisoformat(opted_out_at[:10]), lang)

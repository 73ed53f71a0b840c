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
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from certreg.issuer.http.attempts import attempts_left, failed_attempt
from certreg.issuer.http.state import state_of
from certreg.issuer.mail.unsubscribe import UNSUBSCRIBE_PATH, opt_out, opted_out, person_of
from certreg.register.web.share import html_page, too_many_page

__all__ = ["MAX_FORM_BYTES", "router", "unsubscribe_refusal"]

router = APIRouter(tags=["holder"])

#: The one-click body is 26 bytes; a browser's form with its button, a little more.
MAX_FORM_BYTES = 4 * 1024

_UNKNOWN = (
    "<main><h1>Link not found</h1><p>This unsubscribe link is not one this certification body "
    "sent. Check that the whole address from the mail was copied.</p></main>"
)


def _unknown(request: Request) -> HTMLResponse:
    failed_attempt(request, LookupError("unknown unsubscribe token"))
    return html_page("Link not found", _UNKNOWN, 404)


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
    state = state_of(request)
    with state.lock:
        person = person_of(state.body.db, token)
        done = person is not None and opted_out(state.body.db, person)
        body_name = str(state.body.info["legal_name"])
    if person is None:
        return _unknown(request)
    if done:
        return html_page(
            "Already unsubscribed",
            "<main><h1>Already unsubscribed</h1><p>You receive no more expiry reminders from "
            f"{escape(body_name)}. You are still told of any decision about your "
            "certificates.</p></main>",
        )
    return html_page(
        "Stop expiry reminders?",
        "<main><h1>Stop expiry reminders?</h1>"
        f"<p>{escape(body_name)} reminds you by e-mail before your certificates expire. "
        "Unsubscribe, and you receive no more of these reminders.</p>"
        "<p>You are still told of any decision about your certificates (a suspension, a "
        "withdrawal, a renewal): those mails cannot be turned off.</p>"
        f'<form method="post" action="{UNSUBSCRIBE_PATH}{escape(token)}">'
        '<button class="button" type="submit">Unsubscribe from reminders</button></form></main>',
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
    state = state_of(request)
    with state.lock:
        recorded = opt_out(state.body.db, token, state.body._now())
        body_name = str(state.body.info["legal_name"])
    if recorded is None:
        return _unknown(request)
    return html_page(
        "Unsubscribed",
        "<main><h1>Unsubscribed</h1>"
        f"<p>You receive no more expiry reminders from {escape(body_name)} (since "
        f"{escape(recorded.opted_out_at[:10])}). You are still told of any decision about "
        "your certificates.</p><p>To receive reminders again, write to "
        f"{escape(body_name)}.</p></main>",
    )

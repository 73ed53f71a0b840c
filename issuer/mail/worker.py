"""The worker: sends the outbox's due mails, with retries and exponential backoff.

One pass (:func:`send_due`) takes each due row in turn:

1. **claim** it, in its own short transaction: ``attempts + 1`` and ``next_attempt_at`` moved
   a lease ahead (:data:`LEASE`). A second worker skips a claimed row; a worker killed while
   sending leaves the row to be tried again once the lease is over. Nothing is lost.
2. **send** it (no database lock held while the network is slow);
   The grant's mail gets its share link here, made just before sending
   (:data:`.outbox.SHARE_LINK`), and a reminder its unsubscribe link with the RFC 8058
   one-click headers (:mod:`.unsubscribe`);
3. **mark** it: ``sent`` only after the server has accepted the message (250 after DATA);
   else ``queued`` again with the next attempt after a backoff (1, 2, 4, ... minutes, at most
   6 hours), or ``failed`` once :data:`MAX_ATTEMPTS` are spent; ``bounced`` at once when the
   server refuses the recipient permanently (5xx to RCPT TO).

At most one duplicate: SMTP has no idempotency key, so a crash between 2 and 3 (the server
accepted, the row is not yet marked) sends the mail again after the lease. The Message-ID is
the same in both (it is derived from the row), so the receiving server or the holder's mail
client can recognise the second as a duplicate.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime as mail_date
from email.utils import formataddr
from typing import Any
from urllib.parse import urlsplit

from sqlite_utils import Database

from certreg.issuer.db import transaction
from certreg.issuer.logo import Logo, body_logo
from certreg.issuer.mail.outbox import LOGO_CID, SHARE_LINK
from certreg.issuer.mail.smtp import SmtpSettings, deliver
from certreg.issuer.mail.unsubscribe import UNSUBSCRIBE_LINK, make_token, unsubscribe_url
from certreg.issuer.service import CertificationBody
from certreg.issuer.sharing import create_share, share_url
from certreg.verifier.issuing import format_datetime, parse_datetime

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)
#: How long a claimed row is left to its worker before another may try it.
LEASE = timedelta(minutes=10)
_ERROR_CHARS = 500


@dataclass
class PassReport:
    """What one pass did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    bounced: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 1, 2, 4, ... minutes, at most 6 h."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def message_for(
    row: dict[str, Any], body: dict[str, Any], settings: SmtpSettings, logo: Logo | None = None
) -> EmailMessage:
    """The MIME message of an outbox row: text and HTML alternatives, a stable Message-ID, and
    the body's ``logo`` inside the HTML part when the mail shows it."""
    domain = urlsplit(str(body["public_url"])).hostname or "localhost"
    sender = settings.sender or f"no-reply@{domain}"
    message = EmailMessage()
    message["From"] = formataddr((str(body["legal_name"]), sender))
    message["To"] = row["recipient"]
    message["Subject"] = row["subject"]
    message["Date"] = mail_date(parse_datetime(row["created_at"]))
    # Stable per row: a resend after a crash carries the same id (see the module's docstring).
    message["Message-ID"] = f"<certreg-mail-{row['id']}-{row['event_seq']}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    if row.get("unsubscribe_url"):
        # RFC 2369 and RFC 8058: the mail client's own "unsubscribe" button, which POSTs
        # "List-Unsubscribe=One-Click" to the link (issuer.http.unsubscribe).
        message["List-Unsubscribe"] = f"<{row['unsubscribe_url']}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(row["text"])
    message.add_alternative(row["html"], subtype="html")
    if logo is not None and f"cid:{LOGO_CID}" in row["html"]:
        html_part = message.get_body(("html",))
        maintype, _, subtype = logo.media_type.partition("/")
        if html_part is not None:
            html_part.add_related(
                logo.data, maintype, subtype, cid=f"<{LOGO_CID}>", disposition="inline"
            )
    return message


def send_due(
    body: CertificationBody,
    settings: SmtpSettings,
    *,
    now: Callable[[], datetime],
    max_attempts: int = MAX_ATTEMPTS,
    limit: int = 100,
    lease: timedelta = LEASE,
    send: Callable[[SmtpSettings, EmailMessage], None] = deliver,
) -> PassReport:
    """Send the mails due at ``now()`` (at most ``limit``), one at a time."""
    report = PassReport()
    db = body.db
    sender = _body(db)
    logo = body_logo(body)
    due = db.execute(
        "SELECT id FROM mail_outbox WHERE state = 'queued' AND next_attempt_at <= ? "
        "ORDER BY next_attempt_at, id LIMIT ?",
        [format_datetime(now()), limit],
    ).fetchall()
    for (row_id,) in due:
        row = _claim(db, row_id, now(), lease)
        if row is None:
            continue  # another worker took it
        try:
            send(settings, message_for(_with_links(body, row), sender, settings, logo))
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(500 <= code < 600 for code in codes):
                _mark(db, row_id, "bounced", error=_words(exc), at=now())
                report.bounced += 1
            else:
                _retry(db, row, exc, now(), max_attempts, report)
        except (smtplib.SMTPException, OSError) as exc:
            _retry(db, row, exc, now(), max_attempts, report)
        else:
            _mark(db, row_id, "sent", error=None, at=now())
            report.sent += 1
    return report


def _with_links(body: CertificationBody, row: dict[str, Any]) -> dict[str, Any]:
    """The row with the links made now that its mail needs (see the module's docstring)."""
    return _with_unsubscribe_link(body, _with_share_link(body, row))


def _with_unsubscribe_link(body: CertificationBody, row: dict[str, Any]) -> dict[str, Any]:
    """The row with a new unsubscribe link of its person, if its mail has one (a reminder's);
    ``unsubscribe_url`` set for the headers. As for the share link, each attempt makes a new
    token, and issuer.db keeps only its SHA-256."""
    if UNSUBSCRIBE_LINK not in row["text"] and UNSUBSCRIBE_LINK not in row["html"]:
        return row
    person = body.db.execute(
        "SELECT person_id FROM certifications WHERE id = ?", [row["certification_id"]]
    ).fetchone()[0]
    url = unsubscribe_url(str(body.info["public_url"]), make_token(body.db, person, body._now()))
    return {
        **row,
        "text": row["text"].replace(UNSUBSCRIBE_LINK, url),
        "html": row["html"].replace(UNSUBSCRIBE_LINK, url),
        "unsubscribe_url": url,
    }


def _with_share_link(body: CertificationBody, row: dict[str, Any]) -> dict[str, Any]:
    """The row with its share link, made now, if its mail has one (the grant's). Each attempt
    makes a new link: the token of an earlier attempt is known to nobody (or, if that attempt
    did arrive, to the holder), and issuer.db never held it. ``share_id`` records the last."""
    if SHARE_LINK not in row["text"] and SHARE_LINK not in row["html"]:
        return row
    number = _number(body.db, row["certification_id"])
    share, token = create_share(body, number, actor=None)
    url = share_url(body, token)  # URL-safe base64: nothing to escape in the HTML part
    with transaction(body.db):
        body.db.execute("UPDATE mail_outbox SET share_id = ? WHERE id = ?", [share.id, row["id"]])
    return {
        **row,
        "text": row["text"].replace(SHARE_LINK, url),
        "html": row["html"].replace(SHARE_LINK, url),
    }


def _number(db: Database, certification_id: str) -> str:
    return str(
        db.execute("SELECT number FROM certifications WHERE id = ?", [certification_id]).fetchone()[
            0
        ]
    )


def _body(db: Database) -> dict[str, Any]:
    cursor = db.execute("SELECT legal_name, public_url FROM body WHERE id = 1")
    legal_name, public_url = cursor.fetchone()
    return {"legal_name": legal_name, "public_url": public_url}


def _claim(db: Database, row_id: int, at: datetime, lease: timedelta) -> dict[str, Any] | None:
    with transaction(db):
        claimed = db.execute(
            "UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = ? "
            "WHERE id = ? AND state = 'queued' AND next_attempt_at <= ?",
            [format_datetime(at + lease), row_id, format_datetime(at)],
        ).rowcount
        if not claimed:
            return None
        cursor = db.execute("SELECT * FROM mail_outbox WHERE id = ?", [row_id])
        columns = [d[0] for d in cursor.description]
        return dict(zip(columns, cursor.fetchone(), strict=True))


def _words(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        words = f"{exc.smtp_code} {_text(exc.smtp_error)}"
    elif isinstance(exc, smtplib.SMTPRecipientsRefused):
        words = "; ".join(f"{code} {_text(msg)}" for code, msg in exc.recipients.values())
    else:
        words = f"{type(exc).__name__}: {exc}"
    return words[:_ERROR_CHARS]


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _retry(
    db: Database,
    row: dict[str, Any],
    exc: BaseException,
    at: datetime,
    max_attempts: int,
    report: PassReport,
) -> None:
    report.errors.append(f"mail {row['id']} to {row['recipient']}: {_words(exc)}")
    if row["attempts"] >= max_attempts:
        _mark(db, row["id"], "failed", error=_words(exc), at=at)
        report.failed += 1
        return
    with transaction(db):
        db.execute(
            "UPDATE mail_outbox SET next_attempt_at = ?, last_error = ? WHERE id = ?",
            [format_datetime(at + backoff(row["attempts"])), _words(exc), row["id"]],
        )
    report.retried += 1


def _mark(db: Database, row_id: int, state: str, *, error: str | None, at: datetime) -> None:
    with transaction(db):
        db.execute(
            "UPDATE mail_outbox SET state = ?, last_error = COALESCE(?, last_error), "
            "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?",
            [state, error, state, format_datetime(at), row_id],
        )

"""Holders unsubscribe from expiry reminders (never from the mails of decisions about them).

Every reminder carries a link ``{public_url}/mail/unsubscribe/{token}`` and the RFC 8058
one-click headers. The token:

* is per person and unguessable (``secrets.token_urlsafe(32)``);
* is made by the worker when it sends the reminder (:func:`make_token`), as the grant's share
  link is: the queued mail holds a placeholder (:data:`UNSUBSCRIBE_LINK`), and issuer.db keeps
  only the token's SHA-256 (:func:`hash_secret`, the rule of staff tokens and share links),
  never the token;
* stays good: a holder may click an old reminder's link, and unsubscribing twice does no harm.

Opting out (:func:`opt_out`) records the person and the time in ``mail_opt_outs`` and the
audit event ``mail_unsubscribed`` (actor None: the holder, known only by the link; subject the
person), in one transaction. ``certreg mail remind`` then queues no reminder for that person;
decisions (suspension, withdrawal, ...) still mail them: the body must tell a holder about
decisions on their certification.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlite_utils import Database

from certreg.issuer import audit
from certreg.issuer.db import transaction
from certreg.register.shares import plausible_token

__all__ = [
    "UNSUBSCRIBE_LINK",
    "UNSUBSCRIBE_PATH",
    "OptOut",
    "make_token",
    "opt_out",
    "opted_out",
    "person_of",
    "unsubscribe_url",
]

#: Where a reminder says its unsubscribe link; the worker puts the URL there when it sends.
UNSUBSCRIBE_LINK = "@@certreg-unsubscribe-link@@"
#: The public route (issuer.http.unsubscribe), followed by the token.
UNSUBSCRIBE_PATH = "/mail/unsubscribe/"


def hash_secret(token: str) -> str:
    """SHA-256, hex: what issuer.db keeps of every secret in a URL (as
    :func:`certreg.issuer.tokens.hash_secret`, not imported: that module needs the lifecycle,
    which imports the outbox, which imports this)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class OptOut:
    """A person's opt-out from reminders; ``new`` is False when it was recorded before."""

    person_id: str
    opted_out_at: str
    new: bool


def make_token(db: Database, person_id: str, at: str) -> str:
    """A new unsubscribe token for ``person_id``; only its SHA-256 is stored."""
    token = secrets.token_urlsafe(32)
    with transaction(db):
        db.execute(
            "INSERT INTO mail_unsubscribe_tokens (token_hash, person_id, created_at) "
            "VALUES (?, ?, ?)",
            [hash_secret(token), person_id, at],
        )
    return token


def unsubscribe_url(public_url: str, token: str) -> str:
    """The link in the mail (URL-safe base64: nothing to escape in the HTML part)."""
    return f"{public_url.rstrip('/')}{UNSUBSCRIBE_PATH}{token}"


def person_of(db: Database, token: str) -> str | None:
    """The person a token was made for, or None for a token nobody was sent."""
    if not plausible_token(token):
        return None  # not even shaped like one: no database work for it
    digest = hash_secret(token)
    row = db.execute(
        "SELECT token_hash, person_id FROM mail_unsubscribe_tokens WHERE token_hash = ?",
        [digest],
    ).fetchone()
    if row is None or not hmac.compare_digest(row[0], digest):
        return None
    return str(row[1])


def opted_out(db: Database, person_id: str) -> bool:
    return (
        db.execute("SELECT 1 FROM mail_opt_outs WHERE person_id = ?", [person_id]).fetchone()
        is not None
    )


def opt_out(db: Database, token: str, at: str) -> OptOut | None:
    """Record that the token's person wants no more reminders; None for an unknown token.
    Idempotent: a second opt-out answers the first one's time and writes nothing."""
    with transaction(db):
        person_id = person_of(db, token)
        if person_id is None:
            return None
        row = db.execute(
            "SELECT opted_out_at FROM mail_opt_outs WHERE person_id = ?", [person_id]
        ).fetchone()
        if row is not None:
            return OptOut(person_id, str(row[0]), new=False)
        db.execute(
            "INSERT INTO mail_opt_outs (person_id, opted_out_at) VALUES (?, ?)", [person_id, at]
        )
        audit.append(
            db,
            "mail_unsubscribed",
            actor=None,
            subject=person_id,
            payload={"from": "reminders"},
            at=at,
        )
    return OptOut(person_id, at, new=True)

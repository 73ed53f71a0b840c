"""Which language a holder's mail is written in: the person's own (``persons.language``,
``certreg person language``), else the body's default (the ``default_language`` setting,
``certreg mail language``), else English."""

from __future__ import annotations

from typing import Any

from certreg.i18n import DEFAULT, LANGUAGES
from certreg.issuer.db import transaction

__all__ = ["SETTING", "default_language", "language_of", "set_default_language"]

#: The key of the body's default language in the ``settings`` table.
SETTING = "default_language"


def default_language(db: Any) -> str:
    """The body's default language: the setting when it names a language spoken here, else
    English."""
    row = db.execute("SELECT value FROM settings WHERE key = ?", [SETTING]).fetchone()
    return row[0] if row and row[0] in LANGUAGES else DEFAULT


def set_default_language(db: Any, language: str, at: str) -> str:
    """Keep ``language`` as the body's default; ValueError for one certreg does not speak."""
    chosen = language.strip().lower()
    if chosen not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}: one of {', '.join(LANGUAGES)}")
    with transaction(db):
        db.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            [SETTING, chosen, at],
        )
    return chosen


def language_of(db: Any, person: dict[str, Any] | None, *, default: str | None = None) -> str:
    """The language of the mails to ``person`` (a ``persons`` row); ``default``: the body's
    default language when the caller has read it already (:func:`default_language`)."""
    chosen = (person or {}).get("language")
    if chosen in LANGUAGES:
        return str(chosen)
    return default if default is not None else default_language(db)

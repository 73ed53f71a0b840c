"""Full-text search of the public directory: ``enable_search(db)``.

Only ``certifications`` (the ``directory`` schemes) is indexed, on ``holder_name`` and
``number``: a ``number_lookup`` certificate is never in that table (its record is sealed in
``lookup``), so no search can find it, by name or otherwise. Holders who did not consent have
``holder_name`` NULL and are found by number only.

Idempotent: call it after creating the tables (``certreg register rebuild``) or at any start.
Triggers keep the index in step with every later push.
"""

from __future__ import annotations

from sqlite_utils import Database

__all__ = ["FTS_COLUMNS", "FTS_TABLE", "enable_search"]

FTS_TABLE = "certifications_fts"
FTS_COLUMNS = ("holder_name", "number")


def enable_search(db: Database) -> bool:
    """Create the FTS5 index of ``certifications`` (with its triggers) unless it exists.
    Returns True when it was created now."""
    table = db.table("certifications")
    if not table.exists():
        raise ValueError("register.db has no certifications table yet (open it with its schema)")
    if table.detect_fts() == FTS_TABLE:
        return False
    table.enable_fts(list(FTS_COLUMNS), fts_version="FTS5", create_triggers=True)
    return True

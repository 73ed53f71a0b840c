"""The public register as a Datasette instance: ``make_datasette(path)``.

Datasette is given register.db only (never issuer.db), with certreg's metadata
(``register/metadata.json``), templates and plugin (``register/datasette/``) and settings
that keep it fast and public-safe at a million rows:

- arbitrary SQL is off (``default_allow_sql`` and ``allow_sql: false``); the canned query
  "verify a certificate number" is the only query;
- Datasette's live facets are off (``allow_facet``, ``suggest_facets``): the directory page
  shows the precomputed ``facet_counts`` instead;
- pages hold 50 rows by default and never more than :data:`MAX_ROWS`;
- JSON and CSV of every table, page by page (``?_size=`` up to :data:`MAX_ROWS`, ``_next``),
  and CSV of a whole table streamed (``?_stream=on``).

Served inside ``certreg serve`` at ``/register/`` (``base_url``), or on its own over an
immutable copy (``certreg publish``).
"""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path
from typing import Any

from datasette.app import Datasette
from datasette.database import Database

#: register.db as Datasette names it (URLs: /register/public/certifications when mounted).
DATABASE = "public"

__all__ = ["MAX_ROWS", "METADATA", "PLUGINS", "TEMPLATES", "load_metadata", "make_datasette"]

HERE = Path(__file__).parent
METADATA = HERE / "metadata.json"
TEMPLATES = HERE / "datasette" / "templates"
PLUGINS = HERE / "datasette" / "plugins"
MAX_ROWS = 500

SETTINGS: dict[str, Any] = {
    "default_page_size": 50,
    "max_returned_rows": MAX_ROWS,
    "default_allow_sql": False,
    "allow_facet": False,
    "suggest_facets": False,
    "default_facet_size": 10,
    "sql_time_limit_ms": 1000,
    "allow_download": False,
    "allow_csv_stream": True,
    "max_csv_mb": 200,
    "truncate_cells_html": 500,
    "template_debug": False,
    "trace_debug": False,
}


def load_metadata(
    register_path: str | Path | None = None, *, certificate_url_prefix: str | None = None
) -> dict[str, Any]:
    """certreg's metadata, with the body's name and address (from register.db) as title and
    source, and the database named :data:`DATABASE`."""
    metadata = json.loads(METADATA.read_text(encoding="utf-8"))
    metadata = copy.deepcopy(metadata)
    if certificate_url_prefix is not None:
        metadata["plugins"]["certreg"]["certificate_url_prefix"] = certificate_url_prefix
    if register_path is not None:
        body = _body(Path(register_path))
        if body is not None:
            legal_name, public_url = body
            metadata["title"] = f"{legal_name}: public register of certified persons"
            metadata["source"] = legal_name
            metadata["source_url"] = public_url
    return metadata


def _body(path: Path) -> tuple[str, str] | None:
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT legal_name, public_url FROM body WHERE id = 1").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return (row[0], row[1]) if row else None


def make_datasette(
    register_path: str | Path,
    *,
    base_url: str = "/",
    immutable: bool = False,
    certificate_url_prefix: str | None = None,
    settings: dict[str, Any] | None = None,
) -> Datasette:
    """A Datasette over register.db. ``immutable``: for a published snapshot (table counts
    computed once, the file never re-read for changes). ``certificate_url_prefix`` (e.g.
    ``/c/``): where certificate numbers link to; None leaves them as Datasette's row links.
    """
    path = Path(register_path)
    if not base_url.endswith("/"):
        base_url += "/"
    merged = {**SETTINGS, "base_url": base_url, **(settings or {})}
    datasette = Datasette(
        metadata=load_metadata(path, certificate_url_prefix=certificate_url_prefix),
        template_dir=str(TEMPLATES),
        plugins_dir=str(PLUGINS),
        settings=merged,
    )
    # Named, not after the file: mounted at /register/, a database also called "register"
    # makes Datasette strip its base_url twice (see issuer/http/register_routes.py).
    datasette.add_database(
        Database(datasette, path=str(path), is_mutable=not immutable), name=DATABASE
    )
    if "_memory" in datasette.databases:  # created when no file is given; nothing to show
        datasette.remove_database("_memory")
    return datasette

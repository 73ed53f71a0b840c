"""certreg's Datasette plugin for the public register.

- ``prepare_connection``: SQL functions for the canned query "verify a certificate number":
  ``certreg_normalise(number)``, ``certreg_number_hash(number)`` and
  ``certreg_unseal(sealed, number)`` (the sealed ``lookup`` record as JSON text, or NULL when
  the number does not open it). Arbitrary SQL is off for the public, so these are reachable
  only through that query.
- ``extra_template_vars``: the precomputed facet counts (table ``facet_counts``) beside the
  directory, and a scheme's scope items on its page. Datasette's own facets are off: counted
  live over a large register they time out.
- ``render_cell``: certificate numbers link to the certificate's stable page ``/c/NUMBER``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from datasette import hookimpl
from datasette.utils import tilde_decode
from markupsafe import Markup, escape

from register.push import SealError, normalise, number_hash, unseal
from register.site import DATABASE

FACET_ORDER = ("status", "scheme", "scope", "country")
FACET_TITLES = {
    "status": "Status",
    "scheme": "Scheme",
    "scope": "Scope item",
    "country": "Country",
}
FACET_FILTERS = {"status": "status", "scheme": "scheme_id", "country": "country"}


def _normalise(number: Any) -> str | None:
    return normalise(number) if isinstance(number, str) else None


def _number_hash(number: Any) -> str | None:
    return number_hash(number) if isinstance(number, str) else None


def _unseal(sealed: Any, number: Any) -> str | None:
    if not isinstance(sealed, str) or not isinstance(number, str) or not number.strip():
        return None
    try:
        return json.dumps(unseal(sealed, number), ensure_ascii=False)
    except (SealError, ValueError, TypeError):
        return None


@hookimpl
def prepare_connection(conn: Any) -> None:
    conn.create_function("certreg_normalise", 1, _normalise, deterministic=True)
    conn.create_function("certreg_number_hash", 1, _number_hash, deterministic=True)
    conn.create_function("certreg_unseal", 2, _unseal, deterministic=True)


def _certificate_prefix(datasette: Any) -> str | None:
    config = datasette.plugin_config("certreg") or {}
    prefix = config.get("certificate_url_prefix")
    return prefix if isinstance(prefix, str) and prefix else None


@hookimpl
def render_cell(value: Any, column: str, table: str | None, database: str, datasette: Any) -> Any:
    if database != DATABASE or column != "number" or not isinstance(value, str):
        return None
    if table not in ("certifications", "certification_scope", "status_history", None):
        return None
    prefix = _certificate_prefix(datasette)
    if prefix is None:
        return None
    href = prefix + quote(value, safe="")
    return Markup(f'<a href="{escape(href)}">{escape(value)}</a>')


async def _facets(datasette: Any, table_url: str) -> list[dict[str, Any]]:
    db = datasette.get_database(DATABASE)
    result = await db.execute(
        "SELECT facet, value, label, count FROM facet_counts ORDER BY facet, count DESC, label"
    )
    grouped: dict[str, list[dict[str, Any]]] = {}
    for facet, value, label, count in result.rows:
        if facet not in FACET_TITLES:
            continue
        item = {"value": value, "label": label or value, "count": count, "href": None}
        if facet in FACET_FILTERS:
            item["href"] = f"{table_url}?{FACET_FILTERS[facet]}={quote(str(value), safe='')}"
        elif facet == "scope" and "/" in str(value):
            code = str(value).split("/", 1)[1]
            scope_url = datasette.urls.table(DATABASE, "certification_scope")
            item["href"] = f"{scope_url}?scope_code={quote(code, safe='')}&status=active"
        grouped.setdefault(facet, []).append(item)
    return [
        {"name": f, "title": FACET_TITLES[f], "values": grouped[f][:50], "more": len(grouped[f])}
        for f in FACET_ORDER
        if f in grouped
    ]


@hookimpl
def extra_template_vars(
    template: str,
    database: str | None,
    table: str | None,
    view_name: str,
    request: Any,
    datasette: Any,
) -> Any:
    async def inner() -> dict[str, Any]:
        out: dict[str, Any] = {"certificate_url_prefix": _certificate_prefix(datasette)}
        if database != DATABASE:
            return out
        if view_name == "table" and table == "certifications":
            table_url = datasette.urls.table(DATABASE, "certifications")
            out["certreg_facets"] = await _facets(datasette, table_url)
        if view_name == "row" and table == "schemes" and request is not None:
            scheme_id = tilde_decode(request.url_vars.get("pks", ""))
            db = datasette.get_database(DATABASE)
            result = await db.execute(
                "SELECT code, label, level, description FROM scope_items "
                "WHERE scheme_id = ? ORDER BY code",
                [scheme_id],
            )
            out["certreg_scope_items"] = [dict(r) for r in result.rows]
        return out

    return inner

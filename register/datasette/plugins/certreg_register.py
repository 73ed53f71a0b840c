"""certreg's Datasette plugin for the public register.

- ``prepare_connection``: SQL functions for the canned query "verify a certificate number":
  ``certreg_normalise(number)`` and ``certreg_lookup(number)`` (the number's sealed ``lookup``
  record, opened, as JSON text, or NULL: see ``register.push.find_sealed``; it needs the
  register's lookup secret, from ``$CERTREG_LOOKUP_SECRET_FILE`` on a replica). Arbitrary SQL
  is off for the public, so these are reachable only through that query.
- ``extra_template_vars``: the precomputed facet counts (table ``facet_counts``) beside the
  directory, and a scheme's scope items on its page. Datasette's own facets are off: counted
  live over a large register they time out.
- ``render_cell``: certificate numbers link to the certificate's stable page ``/c/NUMBER``.
- ``asgi_wrapper``: of Datasette's ``/-/`` pages only the static files and ``/-/metadata`` are
  served (``/-/databases.json`` showed the data folder's path on the server; ``versions``,
  ``plugins``, ``settings``, ``threads`` and the debug pages serve no reader).
- ``handle_exception``: a request the register cannot answer (``_sort`` on a missing column,
  a ``_timelimit`` that is not a number, ``_through`` that is not JSON...) is a 400 with a
  reason, not Datasette's 500; a real fault is a 500 that does not repeat the exception.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from typing import Any
from urllib.parse import quote

from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.handle_exception import handle_exception as _default_handle_exception
from datasette.utils import tilde_decode
from datasette.utils.asgi import Base400
from datasette.views.base import DatasetteError
from markupsafe import Markup, escape

from certreg.register.push import find_sealed, normalise
from certreg.register.site import DATABASE

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


def _lookup(conn: sqlite3.Connection) -> Any:
    def lookup(number: Any) -> str | None:
        if not isinstance(number, str) or not number.strip() or len(number) > 64:
            return None
        try:
            record = find_sealed(conn, number)
        except (sqlite3.Error, ValueError):
            return None
        return None if record is None else json.dumps(record, ensure_ascii=False)

    return lookup


@hookimpl
def prepare_connection(conn: Any) -> None:
    conn.create_function("certreg_normalise", 1, _normalise, deterministic=True)
    # Not deterministic for SQLite: it reads the register (and the secret this process holds).
    conn.create_function("certreg_lookup", 1, _lookup(conn))


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


# --- what the public is shown when something goes wrong, and what it is not shown ----------

#: ``/-/…`` pages the public register serves: Datasette's own static files and the register's
#: description and licence. The rest are debugging and introspection pages: ``databases``
#: shows the data folder's path on the server, ``versions`` and ``plugins`` the software an
#: attacker would look up, ``threads`` the server's tasks; nobody reading the register needs
#: them.
PUBLIC_SPECIAL_PAGES = frozenset({"static", "static-plugins", "metadata"})

_log = logging.getLogger("certreg.register")


def _route_path(scope: dict[str, Any], base_url: str) -> str:
    # As Datasette routes (datasette/app.py DatasetteRouter): the raw path, without the query
    # and the base_url, so that no spelling reaches a page this check did not see.
    raw = scope.get("raw_path")
    path = raw.decode("ascii", "replace") if raw else scope.get("path", "")
    path = path.partition("?")[0]
    if base_url != "/" and path.startswith(base_url):
        path = "/" + path[len(base_url) :]
    return path


@hookimpl
def asgi_wrapper(datasette: Any) -> Any:
    def wrap(app: Any) -> Any:
        async def without_introspection(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope.get("type") == "http":
                path = _route_path(scope, datasette.setting("base_url"))
                if path.startswith("/-/"):
                    page = path[3:].split("/", 1)[0].split(".", 1)[0]
                    if page not in PUBLIC_SPECIAL_PAGES:
                        await _send_text(
                            send, 404, "Not found: the register does not publish this page."
                        )
                        return
            await app(scope, receive, send)

        return without_introspection

    return wrap


async def _send_text(send: Any, status: int, text: str) -> None:
    body = text.encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _public_error(request: Any, exception: Exception) -> DatasetteError | None:
    """The error a reader sees instead of Datasette's: a 400 with a reason for a request the
    register cannot answer (Datasette says 500 for several), and for a real fault a 500 that
    does not repeat the exception's text. None keeps Datasette's own answer (404, 403, 400)."""
    if isinstance(exception, Base400):
        return None
    if isinstance(exception, QueryInterrupted):
        # Datasette says 400 for this on a table page, and 500 when a CSV stream is cut.
        return DatasetteError(
            "The query took longer than the register allows. Ask for fewer rows, a simpler "
            "filter, or leave out _timelimit.",
            title="Query interrupted",
            status=400,
        )
    if isinstance(exception, DatasetteError):
        if exception.status != 500:
            return None
        message = str(exception.message)
        sort = re.fullmatch(r"Cannot sort table by (.*)", message, re.DOTALL)
        if sort:
            column = sort.group(1)[:100]
            return DatasetteError(
                f"This table cannot be sorted by {column!r}: it has no column of that name "
                "that can be sorted. Choose a column heading to sort by.",
                title="Cannot sort",
                status=400,
            )
        if message.startswith("Cannot use _sort and _sort_desc"):
            return DatasetteError(
                "Sort by one column, ascending (_sort) or descending (_sort_desc), not both.",
                title="Cannot sort",
                status=400,
            )
        if message.startswith("Invalid _through"):
            return DatasetteError(_THROUGH_HELP, title="Bad request", status=400)
        # Datasette's other 500-status errors are about the request too; keep the words.
        return DatasetteError(message, title=exception.title, status=400)
    args = getattr(request, "args", None)
    names = sorted(args.keys()) if args is not None else []
    if names and isinstance(exception, ValueError | TypeError | LookupError | ArithmeticError):
        # Over a read-only register these come from the query string: a _timelimit that is
        # not a number, an __in filter that is not JSON, a number too large for SQLite...
        if "_through" in names:
            return DatasetteError(_THROUGH_HELP, title="Bad request", status=400)
        shown = ", ".join(name[:40] for name in names[:8])
        return DatasetteError(
            f"This request could not be answered: one of its parameters ({shown}) has a value "
            "the register cannot use. Check the values, or start again from the table's page.",
            title="Bad request",
            status=400,
        )
    _log.error(
        "register: unexpected error on %s", getattr(request, "path", "?"), exc_info=exception
    )
    return DatasetteError(
        "The register could not answer this request. Please try again later.",
        title="Error",
        status=500,
    )


_THROUGH_HELP = (
    "_through must be JSON naming a table linked to this one, its column and a value, like "
    '{"table": "certification_scope", "column": "scope_code", "value": "UT2"}.'
)


@hookimpl
def handle_exception(datasette: Any, request: Any, exception: Exception) -> Any:
    replacement = _public_error(request, exception)
    if replacement is None:
        return None
    # Datasette's own handler renders it (its error template for pages, JSON for .json).
    return _default_handle_exception(datasette, request, replacement)

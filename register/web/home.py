"""The register's home page for people: ``/`` with one search box, filters and result cards.

An HR clerk checking a printed certificate types its number; someone looking for a certified
welder types a name. One box takes both (:func:`parse_query`):

- a **certificate number**, typed with any spacing or case, with or without its dashes
  (``cwi 7k3m 9qx2 m``, ``CWI7K3M9QX2M``): one exact look-up, in the directory and then, rate
  limited as on ``/c/{number}``, among the sealed ``number_lookup`` records;
- otherwise a **name**, searched in the full-text index of ``certifications``
  (:mod:`register.fts`: FTS5 with ``unicode61``, which folds accents, so ``Jose`` finds
  ``José``), on the ``holder_name`` column only. That table holds the ``directory`` schemes
  alone, and a holder who did not consent has ``holder_name`` NULL: a ``number_lookup`` or
  ``on_request`` holder, or one who did not consent, is never found by name.

The filters (scheme, scope item, status) narrow a name search, or with an empty box list the
directory's *named* holders; the select boxes offer the directory schemes, their scope items
and the four statuses, read from register.db (memoised until it changes).

Every anonymous request costs a bounded amount: the box takes at most
:data:`MAX_QUERY_CHARS` characters and :data:`MAX_NAME_WORDS` words (more is refused with a 400
page that says why), a page holds :data:`PAGE_SIZE` cards and looks through at most
:data:`SCAN_LIMIT` candidates (the name's matches, or the listed holders, in rowid order) for
them, and "Next" is a keyset link (``after=`` the last rowid shown or looked through), so a
later page costs what the first does and each result is shown once. A rare filter over many
candidates may so give a page that is not full, with "Next: continue searching". Filters are
checked through indexes (``certifications`` by rowid, ``certification_scope`` by its primary
key). A number costs one indexed read, or one rate-limited Argon2id run for a sealed record.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from stdnum.iso7064 import mod_37_36

from certreg.i18n import N_, translator
from certreg.keys.errors import CertregError
from certreg.register.pages import environment
from certreg.register.records import (
    CertificateRecord,
    ScopeLine,
    find_certificate,
    read_scheme_names,
    scheme_name,
)
from certreg.register.web.language import PageLanguage, localised, page_language
from certreg.register.web.ratelimit import LimitExceeded, guards_of
from certreg.register.web.state import site_of
from certreg.verifier.asof import InstantError, parse_instant
from certreg.verifier.standing import Standing, headline, plain_date

__all__ = [
    "MAX_NAME_WORDS",
    "MAX_QUERY_CHARS",
    "PAGE_SIZE",
    "SCAN_LIMIT",
    "parse_query",
    "router",
]

router = APIRouter(tags=["register"])

#: The longest text the box takes: a long name, or a number with spaces between characters.
MAX_QUERY_CHARS = 100
#: Words of a name: each is one term of the full-text query.
MAX_NAME_WORDS = 6
#: Cards on a page.
PAGE_SIZE = 20
#: Candidates one page may look through (:func:`_search`): about 15 ms at 1,000,000 rows.
SCAN_LIMIT = 5_000

#: A certreg number once spaces are gone and letters upper-cased (``issuer.numbers``):
#: scheme code, four, four, one check character.
_NUMBER = re.compile(r"^[A-Z0-9]{1,12}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]$")
#: The same typed without its dashes: at least one letter or digit of scheme code, nine more.
_BARE_NUMBER = re.compile(r"^[A-Z0-9]{10,21}$")
#: A name's words, as FTS5's unicode61 tokenizer splits them (letters and digits).
_WORD = re.compile(r"\w+", re.UNICODE)

STATUSES = (
    ("ACTIVE", N_("Valid")),
    ("SUSPENDED", N_("Suspended")),
    ("WITHDRAWN", N_("Withdrawn")),
    ("EXPIRED", N_("Expired")),
)
#: The shape shown beside the status words, so that colour is never the only sign (WCAG 1.4.1).
#: Characters every common font has (DejaVu included): the pause and hourglass emoji (U+23F8,
#: U+231B) were drawn as empty boxes in Debian's Chromium, which has no emoji font.
ICONS = {
    Standing.VALID: "✓",
    Standing.NOT_YET_VALID: "◷",
    Standing.SUSPENDED: "‖",
    Standing.WITHDRAWN: "✕",
    Standing.EXPIRED: "◔",
}


class QueryRefused(CertregError, ValueError):
    """The search cannot be run as asked: the message says why, for the page."""


@dataclass(frozen=True)
class Query:
    """What the box asked for: a certificate number (``numbers``: its dashed form), a name's
    ``words``, or both (typed without dashes: the number first, then the name)."""

    text: str
    numbers: tuple[str, ...] = ()
    words: tuple[str, ...] = ()


def parse_query(text: str, lang: str = "en") -> Query:
    """Read the box. A number is recognised by its shape after removing spaces and
    upper-casing (the register's :func:`register.records.normalise_number` rule); typed without
    dashes, by its length and its ISO/IEC 7064 check character (``issuer.numbers``), and the
    dashes are put back where every certreg number has them. Anything else is a name.
    Raises :class:`QueryRefused` past the bounds, saying why in ``lang``."""
    _ = translator("pages", lang)
    text = text.strip()
    if len(text) > MAX_QUERY_CHARS:
        raise QueryRefused(
            _(
                "The search text is %(length)s characters long; at most %(limit)s are "
                "accepted. Type the certificate number as printed, or a holder's name.",
                length=len(text),
                limit=MAX_QUERY_CHARS,
            )
        )
    compact = re.sub(r"\s+", "", text).upper()
    if _NUMBER.match(compact):
        return Query(text, numbers=(compact,))
    words = tuple(w.casefold() for w in _WORD.findall(text))
    bare = compact.replace("-", "")
    numbers: tuple[str, ...] = ()
    if _BARE_NUMBER.match(bare) and mod_37_36.is_valid(bare):
        # Typed without its dashes, and its check character matches: a number. Letters only
        # may also be a long name that happens to pass (1 in 36): the name is searched next.
        numbers = (f"{bare[:-9]}-{bare[-9:-5]}-{bare[-5:-1]}-{bare[-1]}",)
        if any(c.isdigit() for c in bare):  # a name has no digits: the number alone
            words = ()
    if len(words) > MAX_NAME_WORDS:
        raise QueryRefused(
            _(
                "The name has %(count)s words; at most %(limit)s are searched. "
                "Type the holder's given name and family name.",
                count=len(words),
                limit=MAX_NAME_WORDS,
            )
        )
    return Query(text, numbers=numbers, words=words)


def _fts_match(words: tuple[str, ...]) -> str:
    """An FTS5 query matching every word in ``holder_name`` (quoted: never FTS syntax)."""
    return " AND ".join(f'holder_name : "{w}"' for w in words)


@dataclass(frozen=True)
class Card:
    number: str
    holder_name: str | None
    scheme: str
    scope: tuple[str, ...]
    standing: str  # css class
    words: str  # "VALID until 12 March 2029"
    icon: str
    valid_until: str


def _card(record: CertificateRecord, lang: str = "en") -> Card:
    """A result card; the scheme named in the reader's language where the body gave a name in
    it (a card points to the certificate page, which quotes the signed name too)."""
    line = headline(record, lang=lang)
    shown = scheme_name(record.scheme_names, record.scheme_name, lang)
    return Card(
        number=record.number,
        holder_name=record.holder_name,
        scheme=f"{shown} ({record.scheme_code})",
        scope=tuple(s.label for s in record.active_scope),
        standing=line.css,
        words=line.text,
        icon=ICONS.get(line.standing, "?") if line.standing is not None else "?",
        valid_until=plain_date(record.valid_until, lang),
    )


@dataclass(frozen=True)
class Filters:
    scheme: str = ""
    scope: str = ""
    status: str = ""

    @property
    def any(self) -> bool:
        return bool(self.scheme or self.scope or self.status)


def _scheme_names(conn: sqlite3.Connection, memo: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Every scheme's names in other languages (memoised until register.db changes)."""
    if "scheme_names" not in memo:
        memo["scheme_names"] = read_scheme_names(conn)
    return memo["scheme_names"]


def _choices(conn: sqlite3.Connection, memo: dict[str, Any], lang: str) -> dict[str, Any]:
    """The select boxes' options: directory schemes (named in ``lang`` where they have a name
    in it), their scope items, the statuses."""
    key = f"home_choices:{lang}"
    if key not in memo:
        names = _scheme_names(conn, memo)
        schemes = conn.execute(
            "SELECT id, code, name FROM schemes WHERE publication_policy = 'directory' "
            "ORDER BY name"
        ).fetchall()
        ids = [s[0] for s in schemes]
        scope = conn.execute(
            "SELECT DISTINCT code, label FROM scope_items WHERE scheme_id IN "
            f"({','.join('?' * len(ids))}) ORDER BY code",
            ids,
        ).fetchall()
        seen: dict[str, str] = {}
        for code, label in scope:
            seen.setdefault(code, label)
        # By the name shown, as SQLite's ORDER BY name sorts (code points; stable on ties).
        shown = sorted(
            ((s[0], s[1], scheme_name(names.get(s[0], {}), s[2], lang)) for s in schemes),
            key=lambda scheme: scheme[2],
        )
        memo[key] = {
            "schemes": [(sid, f"{name} ({code})") for sid, code, name in shown],
            "scope": list(seen.items()),
            "statuses": list(STATUSES),
        }
    return memo[key]


@dataclass(frozen=True)
class Found:
    """One page of directory rows (with their rowid as ``rid``); ``after``: the rowid to go
    on from, None at the end; ``partial``: the page stopped at :data:`SCAN_LIMIT` candidates
    before it was full (more may match further on)."""

    rows: list[sqlite3.Row]
    after: int | None
    partial: bool = False


def _search(
    conn: sqlite3.Connection,
    words: tuple[str, ...],
    filters: Filters,
    after: int,
    *,
    scan_limit: int = SCAN_LIMIT,
) -> Found:
    """Candidates in rowid order (the name's full-text matches, or every named holder), at
    most :data:`SCAN_LIMIT` of them after ``after``, narrowed by the filters to a page. The
    window bounds the cost: without it a rare filter over a common name (or an empty box)
    read the whole register, 2.6 to 3.9 s at 1,000,000 rows (EXPLAIN QUERY PLAN: every step
    already uses an index; the cost was the number of rows, not a missing index)."""
    if words:
        window = (
            "SELECT rowid FROM certifications_fts WHERE certifications_fts MATCH ? "
            "AND rowid > ? ORDER BY rowid LIMIT ?"
        )
        window_params: list[Any] = [_fts_match(words), after, scan_limit]
    else:
        # Browsing by filters lists named holders only: a holder who did not consent is found
        # by number, never in a list.
        window = (
            "SELECT rowid FROM certifications WHERE rowid > ? AND holder_name IS NOT NULL "
            "ORDER BY rowid LIMIT ?"
        )
        window_params = [after, scan_limit]
    where = ["1"]
    params: list[Any] = []
    if filters.scheme:
        where.append("c.scheme_id = ?")
        params.append(filters.scheme)
    if filters.status:
        where.append("c.status = ?")
        params.append(filters.status)
    if filters.scope:
        where.append(
            "EXISTS (SELECT 1 FROM certification_scope s WHERE s.number = c.number "
            "AND s.scope_code = ? AND s.status = 'active')"
        )
        params.append(filters.scope)
    sql = (
        f"SELECT c.rowid AS rid, c.* FROM ({window}) w "
        "JOIN certifications c ON c.rowid = w.rowid WHERE "
        + " AND ".join(where)
        + " ORDER BY c.rowid LIMIT ?"
    )
    rows = conn.execute(sql, [*window_params, *params, PAGE_SIZE + 1]).fetchall()
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        return Found(rows, rows[-1]["rid"])
    # Fewer than a page: the end, unless the window was full (then go on after it).
    count, last = conn.execute(
        f"SELECT count(*), max(rowid) FROM ({window})", window_params
    ).fetchone()
    if count < scan_limit:
        return Found(rows, None)
    return Found(rows, last, partial=True)


def _records(
    conn: sqlite3.Connection,
    rows: list[sqlite3.Row],
    names: dict[str, dict[str, str]] | None = None,
) -> list[CertificateRecord]:
    """Records for a page of rows, their active scope read in one query; ``names``: the
    schemes' names in other languages (:func:`register.records.read_scheme_names`)."""
    names = names or {}
    numbers = [r["number"] for r in rows]
    scope: dict[str, list[ScopeLine]] = {n: [] for n in numbers}
    if numbers:
        for s in conn.execute(
            "SELECT number, scope_code, label, conditions, status, since FROM "
            f"certification_scope WHERE number IN ({','.join('?' * len(numbers))}) "
            "AND status = 'active' ORDER BY number, scope_code",
            numbers,
        ):
            scope[s["number"]].append(ScopeLine(s[1], s[2], s[3], s[4], s[5]))
    return [
        CertificateRecord(
            number=r["number"],
            holder_name=r["holder_name"],
            scheme_id=r["scheme_id"],
            scheme_code=r["scheme_code"],
            scheme_name=r["scheme_name"],
            status=r["status"],
            status_since=r["status_since"],
            valid_from=r["valid_from"],
            valid_until=r["valid_until"],
            scope=tuple(scope[r["number"]]),
            scheme_names=names.get(r["scheme_id"], {}),
        )
        for r in rows
    ]


def _find_number(request: Request, number: str) -> CertificateRecord | None:
    """The certificate numbered ``number``: the directory first, then the sealed records (an
    Argon2id run, spent from the client's rate as on ``/c/{number}``: run off the event
    loop)."""
    site = site_of(request)
    with site.connect() as conn:
        record = find_certificate(conn, number, sealed=False)
        if record is not None:
            return record
        guards_of(request).admit_sealed_lookup(request)
        return find_certificate(conn, number)


#: "No listed holder matches …": one whole sentence for each case (quoted search text, filters,
#: a later page), since word order differs between languages.
_NO_MATCH = {
    (False, False, False): N_("No listed holder matches."),
    (True, False, False): N_("No listed holder matches “%(q)s”."),
    (False, True, False): N_("No listed holder matches with these filters."),
    (True, True, False): N_("No listed holder matches “%(q)s” with these filters."),
    (False, False, True): N_("No listed holder matches on this page."),
    (True, False, True): N_("No listed holder matches “%(q)s” on this page."),
    (False, True, True): N_("No listed holder matches with these filters on this page."),
    (True, True, True): N_("No listed holder matches “%(q)s” with these filters on this page."),
}


def _page(
    request: Request, language: PageLanguage, status_code: int = 200, **context: Any
) -> HTMLResponse:
    site = site_of(request)
    body = site.body()
    _ = translator("pages", language.lang)
    filters: Filters = context["filters"]
    q = context["q"]
    case = (bool(q), filters.any, bool(context.get("later_page")))
    choices = context["choices"]
    html = (
        environment(language.lang)
        .get_template("certreg_home.html")
        .render(
            root="/",
            body_name=body.legal_name if body else None,
            link=lambda path: language.keep("/" + path),
            languages=language.links,
            chosen_lang=language.chosen,
            no_match=_(_NO_MATCH[case], q=q) if case[0] else _(_NO_MATCH[case]),
            **{
                **context,
                "choices": {
                    **choices,
                    "statuses": [(value, _(label)) for value, label in choices["statuses"]],
                },
            },
        )
    )
    response = HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-cache"})
    return localised(response, language.lang)


def _text(request: Request, name: str, limit: int = 200) -> str:
    value = request.query_params.get(name, "")
    return value[:limit].strip()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def home(request: Request) -> Response:
    site = site_of(request)
    raw = request.query_params.get("q", "")
    filters = Filters(_text(request, "scheme"), _text(request, "scope"), _text(request, "status"))
    after_text = _text(request, "after", 20)
    # The switch's links repeat the search as read (bounded), never the request's whole query.
    at = _text(request, "at", 40)  # a number looked up as of a date (verifier.asof)
    asked = {"q": raw[: MAX_QUERY_CHARS + 1], **vars(filters), "after": after_text, "at": at}
    language = page_language(request, params=[(k, v) for k, v in asked.items() if v])
    lang = language.lang
    _ = translator("pages", lang)
    with site.connect() as conn:
        choices = _choices(conn, site.memo(), lang)
    context: dict[str, Any] = {
        "q": raw[: MAX_QUERY_CHARS + 1],
        "filters": filters,
        "choices": choices,
        "max_chars": MAX_QUERY_CHARS,
        "scan_limit": SCAN_LIMIT,
        "partial": False,
        "searched": bool(raw.strip()) or filters.any,
        "cards": [],
        "next_url": None,
        "problem": None,
        "kind": None,
        "at": at,
    }
    try:
        after = int(after_text) if after_text else 0
        if after < 0:
            raise ValueError
    except ValueError:
        context["problem"] = _("The page link is damaged: start the search again.")
        return _page(request, language, 400, **context)
    try:
        query = parse_query(raw, language.lang)
    except QueryRefused as exc:
        context["problem"] = str(exc)
        return _page(request, language, 400, **context)
    if at:
        try:
            parse_instant(at)
        except InstantError as exc:
            context["problem"] = _("The date could not be read: %(reason)s.", reason=str(exc))
            return _page(request, language, 400, **context)
        if not query.numbers:
            context["problem"] = _("A date goes with a certificate number: type the number.")
            return _page(request, language, 400, **context)
    if query.numbers:
        context["kind"] = "number"
        try:
            record = await run_in_threadpool(_find_number, request, query.numbers[0])
        except LimitExceeded as exc:
            context["problem"] = exc.reason[:1].upper() + exc.reason[1:] + "."
            response = _page(request, language, exc.status, **context)
            response.headers.update(exc.headers)
            return response
        if record is not None and at:  # its page as of that date
            target = f"/c/{quote(record.number, safe='')}?" + urlencode({"at": at})
            return RedirectResponse(language.keep(target), 303)
        context["number"] = query.numbers[0]
        context["cards"] = [_card(record, lang)] if record is not None else []
        if record is not None or not query.words:
            return _page(request, language, **context)
    if not query.words and not filters.any:
        return _page(request, language, **context)  # the empty form
    context["kind"] = "name" if query.words else "filters"
    with site.connect() as conn:
        try:
            found = _search(conn, query.words, filters, after)
        except sqlite3.OperationalError:
            # The register has no full-text index (a bundle from before it): say so, not 500.
            context["problem"] = _("This register cannot be searched by name yet.")
            return _page(request, language, 503, **context)
        names = _scheme_names(conn, site.memo())
        context["cards"] = [_card(r, lang) for r in _records(conn, found.rows, names)]
    context["partial"] = found.partial
    if found.after is not None:
        params = {"q": query.text, **{k: v for k, v in vars(filters).items() if v}}
        context["next_url"] = language.keep("/?" + urlencode({**params, "after": found.after}))
    context["later_page"] = after > 0
    return _page(request, language, **context)

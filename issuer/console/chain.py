"""“Verify the chain” (issue 11, item 2): ``certreg audit verify``, started from the console.

The verification reads every event (75 s at 3.4 million), so a request never runs it: the
button (``POST /console/audit/verify``) starts it in a background thread and answers at once
with a redirect to ``/console/audit/verify``, which shows its progress (the page reloads
itself every few seconds while it runs, no script) and then its answer. At most one runs at a
time per body (per issuer.db file); a second press while one runs is refused with who started
it and when.

**The same verification, the same words.** The thread calls :func:`issuer.audit.verify` with
the key lookup ``certreg audit verify`` builds from the same key store (the body's ``keys/``,
which is the command's default), and shows its answer in the command's words, line for
line: :meth:`issuer.audit.AuditReport.lines`, which the command prints too (a test compares
the two on a tampered chain).

**Its own connection.** The thread opens issuer.db read-only on a connection of its own: the
body's connection stays free for the console's other pages (it is held under the body's lock,
which this thread takes only at the end, to record the answer), and ``verify`` reads in one
read transaction, so events appended meanwhile are not half-seen. Progress is the number of
events the walk has read so far, counted as the rows go by (:class:`_Counting`).

**The answer is kept.** The last answer (when, who asked, the events read, the head hash
checked, ok or not, the lines) is kept in the ``settings`` table under :data:`SETTING`, so it
survives a restart, and the finish is an audit event (:data:`EVENT`) naming who asked.
``/console/audit`` shows both (its template calls :func:`chain_check`, which :func:`install
<issuer.console.install>` makes a template global through this module's import).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlite_utils import Database

from certreg.issuer import audit
from certreg.issuer.console.web import (
    ConsoleRefusal,
    ConsoleUser,
    redirect,
    render,
    require_staff,
    templates,
)
from certreg.issuer.db import transaction
from certreg.issuer.http.state import AppState, state_of
from certreg.verifier.issuing import KeyLookup, format_datetime

__all__ = ["EVENT", "SETTING", "Check", "chain_check", "router", "start"]

router = APIRouter(prefix="/console", include_in_schema=False)

Signed = Annotated[ConsoleUser, Depends(require_staff())]

#: The settings key holding the last answer (JSON of :class:`Check`).
SETTING = "console_chain_check"
#: The audit event recorded when a verification started from the console finishes.
EVENT = "audit_chain_verified"
#: Seconds between reloads of the progress page while the verification runs.
REFRESH = 3


@dataclass
class Check:
    """One verification started from the console: running, or its answer."""

    started_at: str
    started_by: str  # staff id
    started_by_name: str
    total: int  # events in the chain when it started (for the progress)
    finished_at: str | None = None
    ok: bool | None = None  # None: running, or it could not finish
    events: int = 0  # events read, once finished
    problems: int = 0
    head_hash: str | None = None
    lines: list[str] = field(default_factory=list)
    #: Events read so far, while it runs (the counting connection's).
    _conn: _Counting | None = field(default=None, repr=False, compare=False)

    @property
    def running(self) -> bool:
        return self.finished_at is None

    @property
    def read(self) -> int:
        return self._conn.rows_read if self._conn is not None else self.events

    @property
    def percent(self) -> int:
        return min(100, self.read * 100 // self.total) if self.total else 100

    def saved(self) -> str:
        kept = asdict(self)
        kept.pop("_conn")
        return json.dumps(kept)


class _Counting(sqlite3.Connection):
    """A connection that counts the rows of the chain's walk (``SELECT ... FROM events ORDER
    BY seq`` in :func:`issuer.audit._walk`) as they are read: the progress."""

    rows_read = 0

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        cursor = super().execute(sql, parameters)
        if "FROM events ORDER BY seq" in sql:
            return self._counted(cursor)
        return cursor

    def _counted(self, cursor: sqlite3.Cursor) -> Iterator[Any]:
        for row in cursor:
            self.rows_read += 1
            yield row


#: The verifications running, by issuer.db file: at most one each.
_running: dict[str, Check] = {}
_guard = threading.Lock()


def _db_file(state: AppState) -> str:
    row = state.body.db.execute("PRAGMA database_list").fetchone()
    if not row or not row[2]:
        raise ConsoleRefusal(409, "this body's database is not a file: nothing to verify apart")
    return str(Path(row[2]).resolve())


def _key_lookup(state: AppState, db_file: str) -> tuple[KeyLookup | None, list[str]]:
    """The key lookup ``certreg audit verify`` uses: the key store's history, the body's
    ``keys/`` by default; with none, the command's note."""
    store = state.key_store.path if state.key_store is not None else Path(db_file).parent / "keys"
    if store.exists():
        from certreg.keys.store import KeyStore  # only a verification needs the key store

        return audit.key_history_lookup(KeyStore(store).keys()), []
    return None, [f"no key store at {store}: give --store to check signatures"]


def last_check(state: AppState) -> Check | None:
    """The last finished verification recorded, if any (call under the body's lock)."""
    row = state.body.db.execute("SELECT value FROM settings WHERE key = ?", [SETTING]).fetchone()
    if row is None:
        return None
    return Check(**json.loads(row[0]))


def chain_check(request: Request) -> dict[str, Check | None]:
    """For the audit page: the verification running now and the last answer kept."""
    state = state_of(request)
    try:
        db_file = _db_file(state)
    except ConsoleRefusal:  # a database in memory: nothing runs apart from it
        db_file = ""
    with _guard:
        running = _running.get(db_file)
    with state.lock:
        last = last_check(state)
    return {"running": running, "last": last}


templates.env.globals["chain_check"] = chain_check


def start(state: AppState, user: ConsoleUser) -> Check:
    """Start a verification in a background thread; refused (409) while one runs."""
    db_file = _db_file(state)
    with state.lock:
        (total,) = state.body.db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
        now = format_datetime(state.body.clock())
    with _guard:
        running = _running.get(db_file)
        if running is not None:
            raise ConsoleRefusal(
                409,
                f"a verification of the chain is already running, started by "
                f"{running.started_by_name} at {running.started_at}: wait for its answer",
            )
        check = Check(now, user.id, user.name, total)
        _running[db_file] = check
    thread = threading.Thread(
        target=_run, args=(state, db_file, check), name="certreg-chain-check", daemon=True
    )
    thread.start()
    return check


def _run(state: AppState, db_file: str, check: Check) -> None:
    """The verification itself, on its own read-only connection; then the answer kept and
    the audit event, under the body's lock."""
    try:
        key_lookup, notes = _key_lookup(state, db_file)
        conn = sqlite3.connect(
            f"file:{db_file}?mode=ro",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
            factory=_Counting,
        )
        check._conn = conn
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            report = audit.verify(Database(conn), key_lookup=key_lookup)
        finally:
            conn.close()
        if key_lookup is None and report.checkpoints_checked:
            report.notes.extend(notes)
        check.ok, check.events, check.head_hash = report.ok, report.count, report.head_hash
        check.problems = len(report.problems)
        check.lines = report.lines()
    except Exception as exc:  # the page must say it failed, not spin for ever
        check.ok, check.lines = None, [f"The verification could not finish: {exc}"]
    check._conn = None
    try:
        with state.lock:
            check.finished_at = format_datetime(state.body.clock())
            _record(state, check)
    finally:
        check.finished_at = check.finished_at or check.started_at
        with _guard:
            _running.pop(db_file, None)


def _record(state: AppState, check: Check) -> None:
    """Keep the answer (settings) and record who asked for it (the audit chain)."""
    db = state.body.db
    with transaction(db):
        db.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            [SETTING, check.saved(), check.finished_at],
        )
        audit.append(
            db,
            EVENT,
            actor=check.started_by,
            subject=None,
            payload={
                "ok": check.ok,
                "events": check.events,
                "head_hash": check.head_hash,
                "problems": check.problems,
            },
            at=check.finished_at or check.started_at,
        )


@router.post("/audit/verify", response_class=HTMLResponse)
def verify_chain(request: Request, user: Signed) -> Response:
    """Start the verification (any staff member may: it changes nothing but the record of
    who asked) and show its progress."""
    start(state_of(request), user)
    return redirect("/console/audit/verify")


@router.get("/audit/verify", response_class=HTMLResponse)
def progress(request: Request, user: Signed) -> Response:
    """The verification running (reloading itself), or the last answer."""
    found = chain_check(request)
    return render(
        request,
        "chain_check.html",
        user=user,
        running=found["running"],
        last=found["last"],
        refresh=REFRESH,
    )

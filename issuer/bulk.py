"""Bulk issuance: grant decisions from a CSV file (``certreg issue --csv FILE``).

One row of the file is one grant: the person (found by ``person_external_id`` or created),
the passed assessment the grant rests on, and the decision with its signed credential. See
docs/bulk-issuance.md for the columns.

How a run goes, batch by batch (``batch`` rows each)::

    main thread:   read, plan 1, 2 ... | reserve k+1 | wait k+1 | write k+1 | reserve k+2 ...
    unlock thread: Argon2id ..........|
    push thread:                            push k ........|          | push k+1 ...
    workers:                              sign k+1 ..........|  sign k+2 ...

- **unlock**: the key store's Argon2id runs in a thread while the file is read and the first
  batches are planned (reads only); nothing is reserved or written before it succeeded.
- **plan**: every row is checked against the rules ``CertificationBody.plan_grant`` checks, using
  reference data read once (schemes, scope catalogues, staff) and a few queries per batch;
  a row that breaks one is reported with its row number and nothing of it is written.
- **reserve**: the status indices of every planned row (``StatusListManager.entries_for_many``,
  one INSERT per purpose), in one short transaction of their own. A run killed after this
  leaves indices that nobody holds: they are never used, and never handed out again (the
  service's rule), which costs nothing but a few free bits.
- **sign**: in worker processes (``ProcessPoolExecutor``), which receive the seed through their
  initializer, in memory only; the main process plans the next batch meanwhile.
- **write**: the persons, assessments, decisions, certifications, credentials and their audit
  events of the whole batch in **one** transaction, so a row is either all there or not at all.
  The external ids are checked again inside that transaction: it is the write lock, not the
  plan, that makes "issued once" true when two runs of the same file overlap.
- **push**: each committed batch goes to register.db from a thread with its own connections
  (:class:`_Pusher`); batch k+1 commits only once batch k is pushed.

Idempotent and resumable: ``certifications.external_id`` is UNIQUE and a row whose
external id is already issued is skipped, so running the same file again after a crash (or
twice) issues each row exactly once.

The rules are the service's own (``issuer.lifecycle.rules``), given facts read once per run
or per batch; the grants are written by the service's writer
(``issuer.lifecycle.grants.write_grants``, one ``executemany`` per table for the whole batch)
and the events by ``audit.append_many`` (one chain read per batch), so a single grant and a
bulk grant cannot drift apart. What is bulk's own: reading the CSV, creating the persons and
recording the assessments the rows name, and signing in worker processes.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import json
import multiprocessing
import os
import queue
import re
import sqlite3
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date
from pathlib import Path
from typing import Any

from certreg.i18n import LANGUAGES
from certreg.issuer import audit
from certreg.issuer.credential import (
    Body,
    Scheme,
    ScopeItem,
    certification_credential,
    issued_form,
)
from certreg.issuer.db import connect, transaction
from certreg.issuer.lifecycle import rules
from certreg.issuer.lifecycle.credentials import credential_scheme
from certreg.issuer.lifecycle.errors import enforce
from certreg.issuer.lifecycle.grants import grant_events, write_grants
from certreg.issuer.logwriter import LoggedFacts, log_for_events, logged_facts
from certreg.issuer.numbers import new_number
from certreg.issuer.offline_qr import payload_for
from certreg.issuer.register_push import RegisterBehind, RegisterSync
from certreg.issuer.service import CertificationBody, GrantPlan, Invalid, NotFound, ScopeGrant
from certreg.keys.keypair import KeyPair
from certreg.verifier.issuing import add_proof, format_datetime

__all__ = [
    "COLUMNS",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "BulkPreview",
    "BulkReport",
    "issue_csv",
    "preview_csv",
]

REQUIRED_COLUMNS = (
    "external_id",
    "full_name",
    "scheme",
    "scope",
    "assessed_on",
    "examiner",
    "evidence",
)
OPTIONAL_COLUMNS = (
    "person_external_id",
    "email",
    "effective_date",
    "consent_publish",
    "reason",
    "language",
)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

Progress = Callable[[int, int], None]  # (rows done, rows in the file)

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRUE = {"1", "yes", "y", "true"}
_FALSE = {"", "0", "no", "n", "false"}
_YES_OR_NO = _TRUE | _FALSE
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# SQLite's limit on host parameters is 32,766 since 3.32 but 999 before; stay under both.
_IN_CHUNK = 500
_AUTOCHECKPOINT = 1000  # SQLite's default, restored after a run (pages of write-ahead log)
_GC_YOUNG = 10_000  # allocations between young collections during a run (see issue_csv)
_WIDTH = "\0width"  # marks a row with the wrong number of cells (not a column name)
# Control characters would be signed into a certificate nobody can read (and some
# canonicalisers refuse them): a name or text with one is a typo in the file.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class BulkReport:
    """What a run did. ``errors`` holds (row number, reason); the header is row 1."""

    issued: int = 0
    skipped_already_issued: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    rows: int = 0
    #: Seconds: read (the CSV), plan, reserve, sign (time the main process waited for the
    #: workers), write, total; ``sign_cpu`` is the workers' CPU time, summed, and
    #: ``main_cpu`` the main process's CPU time.
    timings: dict[str, float] = field(default_factory=dict)
    #: Per row, for a result a person reads (the console's result page and result.csv):
    #: (row, external_id, certificate number) of each row issued by this run, and (row,
    #: external_id) of each row skipped because it had been issued before.
    issued_numbers: list[tuple[int, str, str]] = field(default_factory=list)
    skipped_rows: list[tuple[int, str]] = field(default_factory=list)
    #: The column a row error is about, by row number, where one column is ("" or absent:
    #: the row as a whole, e.g. a cell too many, or a failure to sign or write).
    error_columns: dict[int, str] = field(default_factory=dict)
    #: The external_id of each row in ``errors`` (as the file gives it; "" if none).
    error_external_ids: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def problems(self) -> list[tuple[int, str, str]]:
        """The row errors as (row, column, reason), in row order."""
        return sorted((row, self.error_columns.get(row, ""), why) for row, why in self.errors)


@dataclass
class BulkPreview:
    """What a run of the file would do now (:func:`preview_csv`): nothing is written."""

    rows: int
    would_issue: int
    already_issued: int
    #: (row, column, reason) of every row that would be refused.
    problems: list[tuple[int, str, str]]

    @property
    def refused(self) -> int:
        return len(self.problems)


class _RowError(Exception):
    """A row that cannot be issued; the message names the column and the value, and
    ``column`` says which column it is about ("" for the row as a whole)."""

    def __init__(self, message: str, column: str = "") -> None:
        super().__init__(message)
        self.column = column


def _check(refusal: rules.Refusal | None, column: str = "") -> None:
    """A broken rule makes the row's error, worded as the service words it (a refusal of
    ISO/IEC 17024 says so: ``refused: ...``)."""
    if refusal is not None:
        prefix = "refused: " if refusal.kind == "refused" else ""
        raise _RowError(prefix + refusal.reason, column)


@dataclass
class _SchemeInfo:
    scheme_id: str
    version: dict[str, Any]
    catalogue: dict[str, dict[str, Any]]
    credential_scheme: Scheme


@dataclass
class _Row:
    """One planned grant: the service's GrantPlan, and what bulk records besides (the person
    it may create, the assessment it rests on), decided before signing."""

    row: int
    plan: GrantPlan
    new_person: bool  # this row creates the person
    person_external_id: str | None
    email: str | None
    consent: bool
    language: str | None  # of the holder's mails (certreg.i18n.LANGUAGES); None: the body's
    scheme: _SchemeInfo
    assessed_on: str
    examiners: list[str]
    assessment_id: str
    document: str = ""  # the signed credential, JSON
    logged: LoggedFacts | None = None  # what the transparency log says of it (logwriter)


@dataclass
class _Batch:
    rows: list[_Row]
    refusals: list[tuple[str | None, dict[str, Any]]]  # decision_refused events to log
    futures: list[Future[Any] | _InlineFuture] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Reading the file


def _read(path: Path) -> list[tuple[int, dict[str, str]]]:
    """Rows as (line where the record starts, cells). Run-level problems raise Invalid."""
    try:
        handle = open(path, newline="", encoding="utf-8-sig")  # closed by the with below
    except OSError as exc:
        raise NotFound(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        try:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise Invalid(f"{path} is empty: it needs a header row naming the columns")
            names = [h.strip().lower() for h in header]
            missing = [c for c in REQUIRED_COLUMNS if c not in names]
            unknown = [h for h in names if h not in COLUMNS]
            repeated = sorted({h for h in names if names.count(h) > 1})
            if missing or unknown or repeated:
                problems = []
                if missing:
                    problems.append(f"missing columns {missing}")
                if unknown:
                    problems.append(f"unknown columns {unknown}")
                if repeated:
                    problems.append(f"columns named twice {repeated}")
                raise Invalid(
                    f"{path}, header row: {'; '.join(problems)} (the columns are "
                    f"{', '.join(COLUMNS)}; see docs/bulk-issuance.md)"
                )
            rows: list[tuple[int, dict[str, str]]] = []
            start = reader.line_num + 1
            for cells in reader:
                line, start = start, reader.line_num + 1
                if not any(c.strip() for c in cells):
                    continue  # a blank line (spreadsheets leave them at the end)
                if len(cells) != len(names):
                    rows.append((line, {_WIDTH: f"{len(cells)} cells, not {len(names)}"}))
                else:
                    rows.append((line, dict(zip(names, cells, strict=True))))
        except UnicodeDecodeError as exc:
            raise Invalid(
                f"{path} is not UTF-8 text (byte {exc.start}): save it as CSV UTF-8"
            ) from None
        except csv.Error as exc:
            raise Invalid(f"{path}, line {reader.line_num}: not valid CSV ({exc})") from None
    return rows


def _text(cells: dict[str, str], column: str, *, required: bool) -> str:
    value = (cells.get(column) or "").strip()
    if required and not value:
        raise _RowError(f"{column} is empty", column)
    if _CONTROL.search(value):
        raise _RowError(f"{column} holds a control character ({value!r})", column)
    return value


def _day(value: str, column: str) -> date:
    if _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _RowError(f"{column} must be a date written YYYY-MM-DD, not {value!r}", column)


def _scope(value: str) -> list[ScopeGrant]:
    """``CODE[:conditions];CODE...`` -> scope grants (conditions may hold ':' and ',')."""
    grants = []
    for part in value.split(";"):
        if not part.strip():
            continue  # a trailing ';'
        code, _, conditions = part.partition(":")
        code = code.strip()
        if not code:
            raise _RowError(f"scope item {part.strip()!r} has no code before ':'", "scope")
        grants.append(ScopeGrant(code, conditions.strip() or None))
    if not grants:
        raise _RowError("scope is empty: name at least one scope item", "scope")
    return grants


# --------------------------------------------------------------------------------------------
# Planning


class _Planner:
    """The rules of ``CertificationBody.plan_grant``, checked for a whole run: reference data
    is read once, the state a run builds up (persons it creates, grants it makes) is kept in
    memory, because batch k+1 is planned before batch k is written."""

    def __init__(self, body: CertificationBody, decided_by: str) -> None:
        self.body = body
        self.db = body.db
        self.decided_by = decided_by
        info = body.info
        self.public_url = info["public_url"]
        self.staff = {
            r["id"]: r for r in self.db.query("SELECT id, name, roles, active FROM staff")
        }
        decider = self.staff.get(decided_by)
        if decider is None:
            raise NotFound(f"no staff member {decided_by!r} (give --decided-by a staff id)")
        # An inactive decider, or one without the role, may decide nothing: the whole run
        # stops. Whether they examined or trained a candidate is checked row by row.
        enforce(rules.impartial_decider(decider, None))
        self.decider = decider
        self.schemes: dict[str, _SchemeInfo | None] = {}
        self.row_of_external_id: dict[str, int] = {}
        self.persons: dict[str, tuple[str, str]] = {}  # person_external_id -> (id, name)
        self.granted: dict[tuple[str, str], str] = {}  # (person id, scheme) -> number, this run
        self.examined: dict[str, set[str]] = {}  # person id -> examiners recorded this run
        self.numbers: set[str] = set()

    def scheme(self, scheme_id: str) -> _SchemeInfo:
        if scheme_id not in self.schemes:
            try:
                version = self.body._scheme_version(scheme_id)
            except NotFound:
                self.schemes[scheme_id] = None
            else:
                catalogue = self.body._scope_catalogue(scheme_id)
                self.schemes[scheme_id] = _SchemeInfo(
                    scheme_id, version, catalogue, credential_scheme(self.public_url, version)
                )
        found = self.schemes[scheme_id]
        if found is None:
            raise _RowError(f"scheme {scheme_id!r} does not exist", "scheme")
        return found

    def plan(self, lines: Sequence[tuple[int, dict[str, str]]], report: BulkReport) -> _Batch:
        batch = _Batch([], [])
        ids = [(cells.get("external_id") or "").strip() for _, cells in lines]
        issued = _existing(self.db, "certifications", "external_id", ids)
        known = {(cells.get("person_external_id") or "").strip() for _, cells in lines} - {""}
        persons = {
            ext: (pid, name)
            for ext, pid, name in _rows_in(
                self.db, "SELECT external_id, id, full_name FROM persons", "external_id", known
            )
        }
        today = self.body.clock().astimezone(UTC).date()
        for line, cells in lines:
            try:
                row = self._plan_row(line, cells, issued, persons, today, batch)
            except _RowError as exc:
                report.errors.append((line, str(exc)))
                if exc.column:
                    report.error_columns[line] = exc.column
                report.error_external_ids[line] = (cells.get("external_id") or "").strip()
                continue
            if row is None:
                report.skipped_already_issued += 1
                report.skipped_rows.append((line, (cells.get("external_id") or "").strip()))
                continue
            batch.rows.append(row)
        self._unique_numbers(batch.rows)
        return batch

    def _unique_numbers(self, rows: list[_Row]) -> None:
        """Numbers already in issuer.db are drawn again: one query per batch, not per row (a
        40-bit draw almost never meets one; the UNIQUE column would refuse it anyway)."""
        while True:
            taken = _existing(self.db, "certifications", "number", [r.plan.number for r in rows])
            if not taken:
                return
            for r in rows:
                if r.plan.number in taken:
                    r.plan.number = self._number(r.plan.version["code"])
                    self.granted[(r.plan.person_id, r.plan.scheme_id)] = r.plan.number

    def _plan_row(
        self,
        line: int,
        cells: dict[str, str],
        issued: set[str],
        persons: dict[str, tuple[str, str]],
        today: date,
        batch: _Batch,
    ) -> _Row | None:
        if _WIDTH in cells:
            raise _RowError(f"the row has {cells[_WIDTH]} (a comma too many or too few?)")
        external_id = _text(cells, "external_id", required=True)
        earlier = self.row_of_external_id.get(external_id)
        if earlier is not None:
            raise _RowError(
                f"external_id {external_id!r} is already used by row {earlier}", "external_id"
            )
        if external_id in issued:
            self.row_of_external_id[external_id] = line
            return None  # issued by an earlier run: idempotent
        full_name = " ".join(_text(cells, "full_name", required=True).split())
        email = _text(cells, "email", required=False) or None
        if email is not None and not _EMAIL.fullmatch(email):
            raise _RowError(f"email {email!r} is not an e-mail address", "email")
        consent_text = _text(cells, "consent_publish", required=False).lower()
        if consent_text not in _YES_OR_NO:
            raise _RowError(
                f"consent_publish must be yes or no, not {consent_text!r}", "consent_publish"
            )
        language = _text(cells, "language", required=False).lower() or None
        if language is not None and language not in LANGUAGES:
            raise _RowError(
                f"language must be one of {', '.join(LANGUAGES)}, not {language!r}", "language"
            )
        scheme = self.scheme(_text(cells, "scheme", required=True))
        grants = _scope(_text(cells, "scope", required=True))
        codes = [g.code for g in grants]
        refusal = rules.scope_in_catalogue(scheme.scheme_id, codes, scheme.catalogue)
        if refusal is not None:
            held = sorted(c for c, i in scheme.catalogue.items() if not i["retired"])
            raise _RowError(f"{refusal.reason} (it holds {', '.join(held)})", "scope")
        effective_text = _text(cells, "effective_date", required=False)
        effective = _day(effective_text, "effective_date") if effective_text else today
        _check(rules.effective_date(effective, today), "effective_date")
        assessed = _day(_text(cells, "assessed_on", required=True), "assessed_on")
        _check(rules.assessed_before_grant(assessed, today), "assessed_on")
        examiners = [e.strip() for e in _text(cells, "examiner", required=True).split(";")]
        examiners = [e for e in examiners if e]
        if not examiners:
            raise _RowError("examiner is empty", "examiner")
        for staff_id in examiners:
            if staff_id not in self.staff:
                raise _RowError(f"examiner {staff_id!r} is not a staff member", "examiner")
        evidence = _text(cells, "evidence", required=False)
        _check(rules.evidence_cited("grant", evidence), "evidence")
        # ISO/IEC 17024 9.3: the grant rests on the passed assessment this row records.
        _check(rules.scope_assessed(codes, [set(codes)]), "scope")
        reason = _text(cells, "reason", required=False)

        person_ext = _text(cells, "person_external_id", required=False) or None
        new_person = False
        if person_ext is not None and person_ext in self.persons:
            person_id, registered = self.persons[person_ext]
        elif person_ext is not None and person_ext in persons:
            person_id, registered = persons[person_ext]
        else:
            person_id, registered, new_person = str(uuid.uuid4()), full_name, True
        if " ".join(registered.split()) != full_name:
            raise _RowError(
                f"person {person_ext!r} is registered as {registered!r}, not {full_name!r}",
                "full_name",
            )

        # ISO/IEC 17024 9.4: who examined or trained the candidate does not decide.
        involvement = None
        if self.decided_by in examiners or self.decided_by in self.examined.get(person_id, ()):
            involvement = "examiner"
        elif not new_person:
            found = self.db.execute(
                "SELECT role FROM involvements WHERE person_id = ? AND staff_id = ? LIMIT 1",
                [person_id, self.decided_by],
            ).fetchone()
            involvement = None if found is None else str(found[0])
        refusal = rules.impartial_decider(self.decider, involvement)
        if refusal is not None:
            # Logged like the service's refusals: a refused attempt is part of the record.
            batch.refusals.append(
                (
                    None if new_person else person_id,
                    {"decision": "grant", "reason": refusal.reason, "external_id": external_id},
                )
            )
            # The decider named as this row's examiner, or recorded as involved with the person.
            _check(refusal, "examiner" if self.decided_by in examiners else "person_external_id")

        open_number = self.granted.get((person_id, scheme.scheme_id))
        if open_number is None and not new_person:
            found = self.db.execute(
                "SELECT number FROM certifications WHERE person_id = ? AND scheme_id = ? "
                "AND status IN ('ACTIVE', 'SUSPENDED')",
                [person_id, scheme.scheme_id],
            ).fetchone()
            open_number = None if found is None else str(found[0])
        _check(rules.one_open_certification(full_name, open_number), "scheme")

        number = self._number(scheme.version["code"])
        plan = GrantPlan(
            person_id=person_id,
            holder_name=full_name,
            scheme_id=scheme.scheme_id,
            version=scheme.version,
            effective=effective,
            until=rules.last_valid_day(effective, scheme.version["validity_months"]),
            grants=grants,
            decided_by=self.decided_by,
            evidence=evidence,
            reason=reason,
            external_id=external_id,
            appeal_of=None,
            certification_id=str(uuid.uuid4()),
            number=number,
            credential_id=f"urn:uuid:{uuid.uuid4()}",
        )
        row = _Row(
            row=line,
            plan=plan,
            new_person=new_person,
            person_external_id=person_ext,
            email=email,
            consent=consent_text in _TRUE,
            language=language,
            scheme=scheme,
            assessed_on=assessed.isoformat(),
            examiners=examiners,
            assessment_id=str(uuid.uuid4()),
        )
        # Only a planned row changes the run's state: a refused row creates nobody.
        self.row_of_external_id[external_id] = line
        if person_ext is not None:
            self.persons[person_ext] = (person_id, full_name)
        self.granted[(person_id, scheme.scheme_id)] = number
        self.examined.setdefault(person_id, set()).update(examiners)
        return row

    def _number(self, code: str) -> str:
        """A number new to this run (issuer.db is asked per batch: :meth:`_unique_numbers`)."""
        while True:
            number = new_number(code)
            if number not in self.numbers:
                self.numbers.add(number)
                return number


def _rows_in(db: Any, sql: str, column: str, values: Iterable[str]) -> Iterator[tuple]:
    values = list(values)
    for i in range(0, len(values), _IN_CHUNK):
        chunk = values[i : i + _IN_CHUNK]
        marks = ",".join("?" * len(chunk))
        yield from db.execute(f"{sql} WHERE {column} IN ({marks})", chunk)


def _existing(db: Any, table: str, column: str, values: Iterable[str]) -> set[str]:
    wanted = {v for v in values if v}
    return {r[0] for r in _rows_in(db, f"SELECT {column} FROM {table}", column, wanted)}


# --------------------------------------------------------------------------------------------
# Signing, in worker processes

_worker_signer: KeyPair | None = None
_worker_body: Body | None = None
_worker_suite = "eddsa-rdfc-2022"


def _init_worker(seed: bytes, method: str, suite: str, body: Body, parent: int) -> None:
    """Runs once in each worker: the key arrives here, in memory, and is never written."""
    global _worker_signer, _worker_body, _worker_suite
    # A forked worker inherits the parent's whole heap; left in the collector's view, every
    # full collection rescans it. Freezing it keeps the worker's GC to its own objects.
    gc.freeze()
    _worker_signer = KeyPair(seed, method)
    _worker_body = body
    _worker_suite = suite
    if parent:
        # A worker blocked on its queue outlives a parent killed with SIGKILL; it notices the
        # parent is gone (it is re-parented) and leaves, instead of lingering for ever.
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, daemon=True).start()


_SignTask = tuple[str, str, str, str, list[tuple[str, str, str | None]], str, str, list[dict]]


#: What a worker returns for each row: (credential JSON, what its log entry says of it, its
#: offline QR payload, None), or ("", None, None, the reason it could not be signed).
_Signed = tuple[str, LoggedFacts | None, str | None, str | None]


def _sign_chunk(schemes: dict[str, Scheme], tasks: list[_SignTask]) -> tuple[list[_Signed], float]:
    """Build and sign each credential and its offline QR payload (issuer.offline_qr, by the
    same key); return a :data:`_Signed` for each, and the CPU seconds it took. One credential
    that cannot be signed must not sink its neighbours. What the transparency log's entry says of
    the credential (logwriter.logged_facts: its hash, its scope and expiry) is made here on the
    workers' cores rather than in the main process's write transaction."""
    assert _worker_signer is not None and _worker_body is not None
    start = time.process_time()  # CPU, not wall: on a shared machine wall time lies
    out: list[_Signed] = []
    for credential_id, holder, number, scheme_key, scope, valid_from, valid_until, entries in tasks:
        try:
            unsigned = certification_credential(
                body=_worker_body,
                scheme=schemes[scheme_key],
                holder_name=holder,
                certificate_number=number,
                scope=[ScopeItem(code, label, conditions) for code, label, conditions in scope],
                valid_from=valid_from,
                valid_until=valid_until,
                status_entries=entries,
                credential_id=credential_id,
            )
            signed = issued_form(add_proof(unsigned, _worker_signer, cryptosuite=_worker_suite))
            compact = payload_for(signed, _worker_signer, _worker_body.url or "")
            logged = logged_facts(signed)  # as the log names it
        except Exception as exc:  # ProofError, CanonicalizationError, PayloadError: the row's
            out.append(("", None, None, f"cannot be signed: {exc}"))
            continue
        out.append((json.dumps(signed, ensure_ascii=False), logged, compact, None))  # as stored
    return out, time.process_time() - start


def _task(row: _Row) -> _SignTask:
    catalogue, plan = row.scheme.catalogue, row.plan
    assert plan.entries is not None
    return (
        plan.credential_id,
        plan.holder_name,
        plan.number,
        plan.scheme_id,
        [
            (g.code, catalogue[g.code]["label"], g.conditions)
            for g in sorted(plan.grants, key=_code)
        ],
        f"{plan.effective.isoformat()}T00:00:00Z",
        f"{plan.until.isoformat()}T23:59:59Z",
        plan.entries,
    )


def _code(grant: ScopeGrant) -> str:
    return grant.code


class _InlineFuture:
    """Signing in the main process (workers=0): the same code path, no pool."""

    def __init__(self, value: tuple[list[_Signed], float]) -> None:
        self._value = value

    def result(self) -> tuple[list[_Signed], float]:
        return self._value


# --------------------------------------------------------------------------------------------
# Writing


# Rows pushed between two checkpoints of issuer.db's write-ahead log by the push thread.
_CHECKPOINT_ROWS = 800


class _Pusher(threading.Thread):
    """The register push of each committed batch, in a thread of its own with its own
    connections to issuer.db and register.db: while batch k is pushed, the main thread plans
    and reserves batch k+2 and waits for k+1's signatures (SQLite reads and writes without
    holding the GIL). Batch k+1 is committed only after k's push (:meth:`wait`), so the
    order is the synchronous one: the register is at most one batch behind, and a run killed
    in or before a push has committed nothing after that batch. The same hook
    (``RegisterSync``), the same guarantee: the watermark stays before whatever was not
    pushed, and ``issue_csv`` reports success only after its own final catch-up."""

    def __init__(self, body: CertificationBody, register: Path) -> None:
        super().__init__(name="certreg-register-push", daemon=True)
        self.issuer_db = Path(body.db.execute("PRAGMA database_list").fetchone()[2])
        self.register = register
        self.clock = body.clock
        self.batches: queue.SimpleQueue[tuple[list[str], threading.Event] | None]
        self.batches = queue.SimpleQueue()
        self.pushed = threading.Event()  # the last batch handed over is pushed
        self.pushed.set()
        self.seconds = 0.0  # spent pushing, in this thread
        self.cpu = 0.0  # CPU time of this thread (time.thread_time), all of its run

    def push(self, numbers: Iterable[str]) -> None:
        self.pushed = threading.Event()
        self.batches.put((list(numbers), self.pushed))

    def wait(self) -> bool:
        """Until the last batch handed over is pushed (or its push failed, logged). False
        when the thread has died (it could not open the databases): the final catch-up says
        why."""
        while not self.pushed.wait(0.5):
            if not self.is_alive():
                return False
        return True

    def stop(self) -> None:
        self.batches.put(None)
        self.join()

    def run(self) -> None:
        cpu = time.thread_time()
        try:
            self._run()
        finally:
            self.cpu = time.thread_time() - cpu

    def _run(self) -> None:
        body = CertificationBody(connect(self.issuer_db), clock=self.clock)
        hook = RegisterSync(body, self.register)
        unchecked = 0  # rows committed since this thread's last checkpoint
        try:
            while (item := self.batches.get()) is not None:
                numbers, pushed = item
                tick = time.perf_counter()
                try:
                    hook("certification", *numbers)  # logs a failure; the final flush raises
                finally:
                    pushed.set()
                    # The write-ahead log's checkpoint (copying the committed pages into
                    # issuer.db), here rather than in the main thread's commits (``start``
                    # turns those off): on a large body it is a quarter of the write.
                    # PASSIVE never blocks the writer; one that cannot finish now is
                    # completed by the next. Every _CHECKPOINT_ROWS rows, not every batch:
                    # a page that several batches change (an index's, a table's last) is
                    # then copied once, not once per batch (bench/bench_bulk_push.py: the
                    # checkpoints' CPU ~0.05 -> ~0.03 ms per certificate), for a log of
                    # ~4,000-6,000 pages (~20 MB) between checkpoints on a fresh body.
                    unchecked += len(numbers)
                    if unchecked >= _CHECKPOINT_ROWS:
                        unchecked = 0
                        self._checkpoint(body)
                    self.seconds += time.perf_counter() - tick
            if unchecked:
                tick = time.perf_counter()
                self._checkpoint(body)  # the run's last rows: the log does not wait for them
                self.seconds += time.perf_counter() - tick
        finally:
            hook._close()
            body.db.conn.close()

    @staticmethod
    def _checkpoint(body: CertificationBody) -> None:
        with contextlib.suppress(sqlite3.Error):
            body.db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")


class _Writer:
    def __init__(
        self,
        body: CertificationBody,
        decided_by: str,
        cryptosuite: str,
        pusher: _Pusher | None = None,
    ) -> None:
        self.body = body
        self.conn: sqlite3.Connection = body.db.conn
        self.decided_by = decided_by
        self.cryptosuite = cryptosuite
        self.pusher = pusher

    def write(self, batch: _Batch, report: BulkReport) -> None:
        """The whole batch in one transaction; a row that fails inside it (a conflict with a
        concurrent writer) is retried alone, so it cannot take the others down with it."""
        if self.pusher is not None:
            tick = time.perf_counter()
            # The previous batch is in the register before this one commits.
            if not self.pusher.wait():
                self.conn.execute(f"PRAGMA wal_autocheckpoint = {_AUTOCHECKPOINT}")
            report.timings["push"] = report.timings.get("push", 0.0) + time.perf_counter() - tick
        try:
            # Inside a caller's transaction, a failed row could not be undone by rolling back
            # the batch's: row by row from the start then.
            one_by_one = self.conn.in_transaction
            written, skipped, failed = self._transaction(batch, one_by_one=one_by_one)
        except _Conflict:
            # A row failed inside the batch's transaction (a conflict with a concurrent
            # writer), which rolled back whole: again, each row in a savepoint of its own, so
            # that one row cannot take the others down with it.
            written, skipped, failed = self._transaction(batch, one_by_one=True)
        report.issued += len(written)
        report.skipped_already_issued += len(skipped)
        report.skipped_rows += [(r.row, r.plan.external_id or "") for r in skipped]
        for row, exc in failed:
            report.errors.append((row.row, f"not written: {_plain(exc)}"))
            report.error_external_ids[row.row] = row.plan.external_id or ""
        report.issued_numbers += [(r.row, r.plan.external_id or "", r.plan.number) for r in written]
        # Committed: the public register follows, the whole batch in one push. A crash before
        # or during this push loses nothing: register.db's watermark still stands before
        # these rows' events, and the next push or certreg command applies them
        # (issuer.register_push.catch_up).
        if written and self.pusher is not None:
            self.pusher.push(r.plan.number for r in written)
        elif written:
            tick = time.perf_counter()
            self.body._changed("certification", *(r.plan.number for r in written))
            report.timings["push"] = report.timings.get("push", 0.0) + time.perf_counter() - tick

    def _transaction(
        self, batch: _Batch, *, one_by_one: bool
    ) -> tuple[list[_Row], list[_Row], list[tuple[_Row, sqlite3.IntegrityError]]]:
        """The batch in one transaction: (rows written, rows skipped because issued
        meanwhile, rows that failed). All rows at once, without a savepoint (under which
        SQLite copies each existing page the batch changes into a sub-journal first): a row
        that fails raises :class:`_Conflict`, and the transaction rolls back whole.
        ``one_by_one``: each row in a savepoint of its own; a row that fails is returned, the
        others written."""
        failed: list[tuple[_Row, sqlite3.IntegrityError]] = []
        with transaction(self.body.db):
            now = format_datetime(self.body.clock())
            if batch.refusals:
                audit.append_many(
                    self.body.db,
                    [("decision_refused", self.decided_by, s, p) for s, p in batch.refusals],
                    at=now,
                )
            # Checked again under the write lock: another run of the same file may have
            # issued some of these rows since they were planned.
            issued = _existing(
                self.body.db,
                "certifications",
                "external_id",
                [r.plan.external_id for r in batch.rows if r.plan.external_id is not None],
            )
            rows = [r for r in batch.rows if r.plan.external_id not in issued]
            skipped = [r for r in batch.rows if r.plan.external_id in issued]
            if not one_by_one:
                try:
                    self._insert(rows, now)
                except sqlite3.IntegrityError as exc:
                    raise _Conflict from exc  # rolls the transaction back
                return rows, skipped, failed
            written = []
            for row in rows:
                try:
                    self._savepoint([row], now)
                    written.append(row)
                except sqlite3.IntegrityError as exc:
                    failed.append((row, exc))
        return written, skipped, failed

    def _savepoint(self, rows: list[_Row], now: str) -> None:
        self.conn.execute("SAVEPOINT bulk_rows")
        try:
            self._insert(rows, now)
        except BaseException:
            self.conn.execute("ROLLBACK TO bulk_rows")
            self.conn.execute("RELEASE bulk_rows")
            raise
        self.conn.execute("RELEASE bulk_rows")

    def _insert(self, rows: list[_Row], now: str) -> None:
        """The persons and assessments the rows record, then their grants through the
        service's writer, and every event in one append, in the order a row happens."""
        conn = self.conn
        actor = self.decided_by
        events: list[audit.NewEvent] = []
        persons, assessments, involvements = [], [], []
        for r in rows:
            plan = r.plan
            if r.new_person:
                persons.append(
                    (
                        plan.person_id,
                        r.person_external_id,
                        plan.holder_name,
                        r.email,
                        int(r.consent),
                        r.language,
                        now,
                    )
                )
                # The audit log names the person by id only: it holds no private data.
                events.append(("person_added", actor, plan.person_id, {}))
            assessments.append(
                (
                    r.assessment_id,
                    plan.person_id,
                    plan.scheme_id,
                    plan.version["version"],
                    r.assessed_on,
                    ",".join(g.code for g in plan.grants),
                    now,
                )
            )
            involvements += [(plan.person_id, e, r.assessment_id, now) for e in r.examiners]
            events.append(
                (
                    "assessment_recorded",
                    actor,
                    plan.person_id,
                    {"assessment": r.assessment_id, "scheme": plan.scheme_id, "result": "pass"},
                )
            )
            events += grant_events(plan)
        # Parents before children, as the foreign keys want.
        conn.executemany(
            "INSERT INTO persons (id, external_id, full_name, email, consent_publish, "
            "language, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            persons,
        )
        conn.executemany(
            "INSERT INTO assessments (id, person_id, scheme_id, scheme_version, kind, result, "
            "assessed_on, scope_codes, created_at) "
            "VALUES (?, ?, ?, ?, 'examination', 'pass', ?, ?, ?)",
            assessments,
        )
        conn.executemany(
            "INSERT INTO involvements (person_id, staff_id, role, assessment_id, recorded_at) "
            "VALUES (?, ?, 'examiner', ?, ?)",
            involvements,
        )
        write_grants(conn, [(r.plan, r.document, self.cryptosuite) for r in rows], now)
        appended = audit.append_many(self.body.db, events, at=now)
        # The holders' grant mails, in the batch's transaction as a single grant's are
        # (issuer.mail: queued only for a person with an e-mail address).
        from certreg.issuer.mail.outbox import queue_for_events

        queue_for_events(self.body, appended)
        # The batch's grants in the transparency log, in the same transaction (issue 13),
        # with the hashes the workers made.
        log_for_events(
            conn, appended, {r.plan.credential_id: r.logged for r in rows if r.logged is not None}
        )


class _Conflict(Exception):
    """A row of a batch could not be written (an IntegrityError): the batch is written again,
    row by row (:meth:`_Writer._transaction`)."""


def _plain(exc: sqlite3.IntegrityError) -> str:
    text = str(exc)
    if "persons.external_id" in text:
        return "another process registered this person_external_id meanwhile; run again"
    if "FOREIGN KEY" in text:
        return "the row names a person whose own row was not written; fix that row, run again"
    return text


# --------------------------------------------------------------------------------------------
# The run


class _Unlock(threading.Thread):
    """``body.signer`` (the key store's unlock) in a thread of its own; :meth:`result` waits
    for it and raises what it raised (a wrong passphrase). A daemon, so that Ctrl-C does not
    wait for the Argon2id; ``issue_csv`` joins it on every other way out."""

    def __init__(self, body: CertificationBody) -> None:
        super().__init__(name="certreg-unlock", daemon=True)
        self.body = body
        self.signer: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.signer = self.body.signer
        except BaseException as exc:  # handed to the main thread by result()
            self.error = exc

    def result(self) -> Any:
        self.join()
        if self.error is not None:
            raise self.error
        return self.signer


def preview_csv(
    body: CertificationBody, path: str | Path, *, decided_by: str, batch: int = 200
) -> BulkPreview:
    """What :func:`issue_csv` would do with the file now, by the same checks (the same
    :class:`_Planner`), writing nothing: no status index is reserved, nothing is signed, and
    the ``decision_refused`` events a run logs are not logged. Raises what the run raises
    before it writes (a bad header, a decision-maker who may not decide). Rows that would
    fail only when signed or written (a conflict with a concurrent writer) are not foreseen."""
    report = BulkReport()
    lines = _read(Path(path))
    planner = _Planner(body, decided_by)
    would_issue = 0
    for start in range(0, len(lines), batch):
        would_issue += len(planner.plan(lines[start : start + batch], report).rows)
    return BulkPreview(
        rows=len(lines),
        would_issue=would_issue,
        already_issued=report.skipped_already_issued,
        problems=report.problems(),
    )


#: The default batch: a 25th of the file, at least 200 rows and at most 1,000 (see
#: :func:`default_batch`).
_BATCH_SHARE, MIN_BATCH, MAX_BATCH = 25, 200, 1000


def default_batch(rows: int) -> int:
    """Rows per write transaction for a file of ``rows`` rows. Each grant adds a key to
    indexes keyed by random values (ids, hashes): on a body that has grown, nearly every key
    lands on a page of its own, which the batch's commit writes once however many of its rows
    it holds. So a bigger batch writes fewer pages per row (50,000 rows on a fresh body: 1,000
    rows a batch ran 1.36x faster than 200, with half the kernel time; docs/bulk-issuance.md).
    But the first batch's signing and the last one's write are not overlapped with anything,
    so a small file wants small batches; and a batch holds the write lock while it is written
    (about 0.4 s for 1,000 rows), which other writers wait for."""
    return min(MAX_BATCH, max(MIN_BATCH, rows // _BATCH_SHARE))


def default_workers() -> int:
    """Signing processes: every core but the one this process plans and writes on."""
    return max(1, (os.cpu_count() or 2) - 1)


def issue_csv(
    body: CertificationBody,
    path: str | Path,
    *,
    decided_by: str,
    workers: int | None = None,
    batch: int | None = None,
    progress: Progress | None = None,
    freeze_gc: bool = True,
) -> BulkReport:
    """Grant one certification per row of the CSV at ``path``, decided by ``decided_by``.

    Rows that break a rule are reported in ``errors`` (row number, reason) and nothing of them
    is written; rows whose ``external_id`` is already issued are skipped. Problems with the
    run itself (no such file, a bad header, a decision-maker who may not decide) raise a
    :class:`~issuer.service.LifecycleError` before anything is written. ``workers`` sign in
    that many processes (0: in this one); by default one core is left to this process, which
    plans and writes (docs/bulk-issuance.md, "Measured": on 2 cores the two settings are
    within the machine's noise of each other). ``batch``: rows per write transaction (by
    default :func:`default_batch` of the file's rows). ``freeze_gc=False`` leaves the cyclic
    collector alone (a run inside a server, which froze its own long-lived objects at start:
    the run's ``gc.unfreeze`` would undo that).
    """
    if workers is None:
        workers = default_workers()
    if batch is not None and batch < 1:
        raise Invalid("batch must be at least 1")
    if workers < 0:
        raise Invalid("workers must be 0 or more")
    started, cpu_started = time.perf_counter(), time.process_time()
    report = BulkReport()
    timings = dict.fromkeys(
        ("read", "plan", "unlock", "reserve", "sign", "write", "push", "sign_cpu"), 0.0
    )
    report.timings = timings
    # The key store's Argon2id (~0.5-1 s at the default cost, in C, without the GIL) runs on
    # the other core while this thread reads the file and plans ahead, which only reads: a
    # wrong passphrase still stops the run before anything is written.
    unlocking = _Unlock(body)
    unlocking.start()
    try:
        lines = _read(Path(path))
        report.rows = len(lines)
        timings["read"] = time.perf_counter() - started
        planner = _Planner(body, decided_by)
        rows_per_batch = batch or default_batch(len(lines))
        starts = iter(range(0, len(lines), rows_per_batch))
        ahead: deque[tuple[_Batch, int]] = deque()  # planned, not yet reserved: (batch, its rows)

        def plan_next() -> bool:
            """Plan the next batch of the file onto ``ahead``; False at the end of the file."""
            start = next(starts, None)
            if start is None:
                return False
            chunk = lines[start : start + rows_per_batch]
            tick = time.perf_counter()
            ahead.append((planner.plan(chunk, report), len(chunk)))
            timings["plan"] += time.perf_counter() - tick
            return True

        while unlocking.is_alive() and plan_next():
            pass
        tick = time.perf_counter()
        signer = unlocking.result()
        timings["unlock"] = time.perf_counter() - tick  # the part planning did not cover
    finally:
        unlocking.join()  # never left running past the run (a bad header raises above)
    info = body.info
    credential_body = Body(info["did"], info["legal_name"], info["public_url"])
    # The register push goes to a thread of its own when the body pushes to a register.db
    # (``certreg issue`` does: issuer.register_push.attach).
    hook = body.on_change
    pusher = _Pusher(body, hook.path) if isinstance(hook, RegisterSync) else None
    writer = _Writer(body, decided_by, body.cryptosuite, pusher)
    lists = body.status_lists

    seed = getattr(signer, "seed", None)
    pool: ProcessPoolExecutor | None = None
    if workers and isinstance(seed, bytes):
        # fork: workers start in milliseconds (spawn would re-import pyld and the contexts,
        # ~1 s each). They never touch the inherited database handle, and leave with
        # os._exit, which closes nothing of the parent's.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        pool = ProcessPoolExecutor(
            workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(
                seed,
                signer.verification_method,
                body.cryptosuite,
                credential_body,
                os.getpid(),
            ),
        )
    else:
        _init_worker(
            seed or b"\0" * 32, signer.verification_method, body.cryptosuite, credential_body, 0
        )
        if seed is None:  # a signer that is not a key pair (tests): sign with it directly
            globals()["_worker_signer"] = signer

    def submit(planned: _Batch) -> None:
        if not planned.rows:
            return
        schemes = {r.scheme.scheme_id: r.scheme.credential_scheme for r in planned.rows}
        tasks = [_task(r) for r in planned.rows]
        if pool is None:
            planned.futures = [_InlineFuture(_sign_chunk(schemes, tasks))]
            return
        # Two chunks per worker: a slow chunk does not leave the other core idle at the end.
        size = max(1, -(-len(tasks) // (2 * workers)))
        planned.futures = [
            pool.submit(_sign_chunk, schemes, tasks[i : i + size])
            for i in range(0, len(tasks), size)
        ]

    def finish(planned: _Batch) -> None:
        tick = time.perf_counter()
        documents: list[_Signed] = []
        for future in planned.futures:
            signed, cpu = future.result()
            documents += signed
            timings["sign_cpu"] += cpu
        kept = []
        for row, (document, logged, compact, problem) in zip(planned.rows, documents, strict=True):
            if problem is not None:
                report.errors.append((row.row, problem))
                report.error_external_ids[row.row] = row.plan.external_id or ""
            else:
                row.document, row.logged = document, logged
                row.plan.compact = compact
                kept.append(row)
        planned.rows = kept
        tock = time.perf_counter()
        timings["sign"] += tock - tick
        pushed = timings["push"]
        writer.write(planned, report)
        # The register push after each commit is timed on its own (``push``).
        timings["write"] += time.perf_counter() - tock - (timings["push"] - pushed)

    done = 0
    pending: tuple[_Batch, int] | None = None
    # The file's rows stay alive for the whole run: out of the cyclic collector's sight, its
    # full collections do not rescan them (tens of thousands of dicts). Undone below.
    # And the young generation is collected every 10,000 allocations rather than 700: a
    # batch allocates tens of thousands of objects (rows, events, mails) that live until it
    # is written, and each young collection of them promoted them to be scanned again.
    thresholds = gc.get_threshold()
    if freeze_gc:
        gc.freeze()
        gc.set_threshold(max(thresholds[0], _GC_YOUNG), *thresholds[1:])
    try:
        if pusher is not None:
            if pool is not None:
                # The workers are forked now, before the push thread exists: a child forked
                # while another thread holds a lock would inherit it held.
                pool.submit(int).result()
            pusher.start()
            body.db.conn.execute("PRAGMA wal_autocheckpoint = 0")  # the push thread's job
        while ahead or plan_next():
            planned, size = ahead.popleft()
            tick = time.perf_counter()
            if planned.rows:
                # Committed on its own, before signing: see the module text.
                ids = [row.plan.credential_id for row in planned.rows]
                with transaction(body.db):
                    for row, entries in zip(planned.rows, lists.entries_for_many(ids), strict=True):
                        row.plan.entries = entries
            timings["reserve"] += time.perf_counter() - tick
            submit(planned)
            if pending is not None:
                finish(pending[0])
                done += pending[1]
                if progress is not None:
                    progress(done, len(lines))
            pending = (planned, size)
        if pending is not None:
            finish(pending[0])
            done += pending[1]
            if progress is not None:
                progress(done, len(lines))
    finally:
        if freeze_gc:
            gc.unfreeze()
            gc.set_threshold(*thresholds)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if pusher is not None:
            tick = time.perf_counter()
            if pusher.is_alive():
                pusher.stop()  # its last push, waited for
            body.db.conn.execute(f"PRAGMA wal_autocheckpoint = {_AUTOCHECKPOINT}")
            timings["push"] += time.perf_counter() - tick
            timings["push_thread"] = pusher.seconds
            timings["push_thread_cpu"] = pusher.cpu
    # Success is reported only with the public register caught up: every batch was pushed as
    # it committed, but a push may have failed (logged), and a run killed earlier between a
    # commit and its push left rows this run skips as issued (the push applies them too).
    flush = getattr(body.on_change, "flush", None)
    if callable(flush):
        try:
            tick = time.perf_counter()
            flush()
            timings["push"] += time.perf_counter() - tick
        except RegisterBehind as exc:
            raise RegisterBehind(
                f"{report.issued} rows issued, {report.skipped_already_issued} issued before; "
                f"but {exc}"
            ) from None
    timings["total"] = time.perf_counter() - started
    timings["main_cpu"] = time.process_time() - cpu_started
    report.errors.sort()
    report.issued_numbers.sort()
    report.skipped_rows.sort()
    report.timings = timings
    return report

"""Bulk issuance in the console (issue 11, item 2): upload a CSV, see every row's problems
before anything is signed, confirm, watch the run, read and download the result.

The run is :func:`issuer.bulk.issue_csv`, the same resumable, idempotent job ``certreg issue
--csv`` runs, and the preview is :func:`issuer.bulk.preview_csv`, the same checks without
writing. The decision-maker of every grant is the signed-in person who confirms.

- **Upload** (``POST /console/bulk``, multipart, field ``file``): at most
  :data:`MAX_UPLOAD_BYTES`; an empty file, one that is not UTF-8 or whose header is wrong is
  refused with the reason, and nothing is kept. Otherwise the file is kept in issuer.db
  (``console_bulk_jobs``, with its SHA-256) as a job, with the preview made at upload.
- **Confirm** (``POST /console/bulk/{job}/run``) starts the run in a thread of this process
  and answers at once (303 to the job's page). The run has its own connection to issuer.db
  and its own :class:`CertificationBody` (SQLite WAL and a 30 s busy timeout let it and the
  server's connection take turns), so it never holds the server's lock: the server stays
  usable while it signs. It signs in this process (``workers=0``): forking worker processes
  out of a threaded server could copy a lock another thread holds. One run at a time per
  process; a second confirmed job waits for the first. When the server pushes to a register,
  the run's body is attached to the same register.db, as ``certreg issue`` attaches its own.
- **Progress** is written to the job's row after each batch; the job's page reloads itself
  every second while it runs (a ``Refresh`` header and ``<meta http-equiv="refresh">``: the
  console's CSP allows no script, and a reload needs none).
- A job left ``running`` by another process (the server was restarted mid-run) is shown as
  interrupted, with a button that runs the same file again: rows already issued are skipped.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from certreg.issuer import audit
from certreg.issuer.bulk import BulkPreview, BulkReport, issue_csv, preview_csv
from certreg.issuer.console.web import (
    ConsoleRefusal,
    ConsoleUser,
    form_refusal,
    redirect,
    render,
    require_staff,
)
from certreg.issuer.db import connect, transaction
from certreg.issuer.http.errors import status_of
from certreg.issuer.http.state import AppState, state_of
from certreg.issuer.register_push import RegisterSync, attach
from certreg.issuer.service import CertificationBody, LifecycleError
from certreg.verifier.issuing import format_datetime

__all__ = ["MAX_UPLOAD_BYTES", "UPLOAD_PATH", "router", "upload_refusal"]

router = APIRouter(prefix="/console", include_in_schema=False)

Decider = Annotated[ConsoleUser, Depends(require_staff("decision_maker"))]

UPLOAD_PATH = "/console/bulk"
#: The largest CSV accepted: about 150,000 rows of the usual width.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: Rows of a list shown on a page; the full lists are in result.csv.
SHOWN = 1000
#: Jobs listed on /console/bulk.
RECENT = 20
#: A job's phase, in the list's words.
PHASES = {
    "uploaded": "checked, not confirmed",
    "running": "issuing",
    "interrupted": "interrupted: resume it",
    "failed": "stopped: see why",
    "done": "done",
}

#: This process, as the runner of the jobs it starts: a job whose row says ``running`` with
#: another runner was left by a process that is gone (a restart), and is interrupted.
_RUNNER = uuid.uuid4().hex
_live: dict[str, threading.Thread] = {}
_one_run = threading.Lock()  # one bulk run at a time in this process
_current: list[str] = []  # the job whose run holds _one_run, if any


_TOO_LARGE = (
    f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB: split it into smaller "
    "files and upload each (rows already issued are skipped)"
)


def upload_refusal(status: int, detail: str) -> Response:
    """How the request guard refuses an upload it will not pass on (issuer.http.app)."""
    return form_refusal(status, _TOO_LARGE if status == 413 else detail)


# -- reading jobs ---------------------------------------------------------------------------

_LIST_COLUMNS = (
    "id, file_name, sha256, size, uploaded_by, uploaded_at, preview, state, runner, "
    "confirmed_by, started_at, started_wall, finished_at, rows_done, rows_total, issued, "
    "skipped, refused, error"
)


def _job(state: AppState, job_id: str, *, result: bool = False) -> dict[str, Any]:
    columns = _LIST_COLUMNS + (", result" if result else "")
    with state.lock:
        rows = list(
            state.body.db.query(f"SELECT {columns} FROM console_bulk_jobs WHERE id = ?", [job_id])
        )
    if not rows:
        raise ConsoleRefusal(404, f"no bulk-issuance job {job_id!r}")
    return _shown(rows[0])


def _shown(job: dict[str, Any]) -> dict[str, Any]:
    """The job with what its pages say: its phase (``interrupted`` for a run whose process is
    gone), the preview decoded, rate and time left while it runs."""
    job["preview"] = json.loads(job["preview"])
    phase = job["state"]
    if phase == "running":
        alive = job["runner"] == _RUNNER and job["id"] in _live and _live[job["id"]].is_alive()
        if not alive:
            phase = "interrupted"
    job["phase"] = phase
    # Confirmed, but another job's run goes first (one at a time).
    job["waiting"] = phase == "running" and job["id"] not in _current
    job["rate"] = job["left"] = None
    if phase == "running" and job["started_wall"]:
        elapsed = max(time.time() - job["started_wall"], 1e-6)
        if job["rows_done"]:
            job["rate"] = job["rows_done"] / elapsed
            job["left"] = (job["rows_total"] - job["rows_done"]) / job["rate"]
    if job.get("result"):
        job["result"] = json.loads(job["result"])
    return job


def _seconds_words(seconds: float | None) -> str:
    if seconds is None:
        return "being estimated"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60} min {seconds % 60} s"


# -- the pages ------------------------------------------------------------------------------


@router.get("/bulk", response_class=HTMLResponse)
def bulk_page(request: Request, user: Decider) -> Response:
    """The upload form and the recent jobs."""
    return _bulk_page(request, user)


def _bulk_page(
    request: Request, user: ConsoleUser, *, status: int = 200, error: str | None = None
) -> Response:
    state = state_of(request)
    with state.lock:
        jobs = [
            _shown(j)
            for j in state.body.db.query(
                f"SELECT {_LIST_COLUMNS} FROM console_bulk_jobs "
                "ORDER BY uploaded_at DESC, rowid DESC LIMIT ?",
                [RECENT],
            )
        ]
    return render(
        request,
        "bulk.html",
        status=status,
        user=user,
        jobs=jobs,
        error=error,
        max_mb=MAX_UPLOAD_BYTES // (1024 * 1024),
        phases=PHASES,
    )


@router.post("/bulk", response_class=HTMLResponse)
def upload(
    request: Request, user: Decider, file: Annotated[UploadFile | None, File()] = None
) -> Response:
    """Keep the file as a job, with its preview; then show the preview (303)."""
    if file is None or isinstance(file, str):  # a form without a file in it
        return _bulk_page(request, user, status=422, error="choose a CSV file to upload")
    content = file.file.read(MAX_UPLOAD_BYTES + 1)
    name = Path(file.filename or "upload.csv").name[:200] or "upload.csv"
    if len(content) > MAX_UPLOAD_BYTES:
        return _bulk_page(request, user, status=413, error=f"{name}: {_TOO_LARGE}")
    if not content.strip():
        return _bulk_page(
            request, user, status=422, error=f"{name} is empty: it needs a header row and rows"
        )
    state = state_of(request)
    try:
        preview = _preview(state, content, name, user.id)
    except LifecycleError as exc:
        return _bulk_page(request, user, status=status_of(exc), error=str(exc))
    job_id = uuid.uuid4().hex[:16]
    sha256 = hashlib.sha256(content).hexdigest()
    with state.lock, transaction(state.body.db):
        now = format_datetime(state.body.clock())
        state.body.db.execute(
            "INSERT INTO console_bulk_jobs (id, file_name, content, sha256, size, uploaded_by, "
            "uploaded_at, preview, state, rows_total) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                job_id,
                name,
                content,
                sha256,
                len(content),
                user.id,
                now,
                json.dumps(asdict(preview)),
                "uploaded",
                preview.rows,
            ],
        )
        audit.append(
            state.body.db,
            "console_bulk_uploaded",
            actor=user.id,
            subject=job_id,
            payload={
                "job": job_id,
                "sha256": sha256,
                "rows": preview.rows,
                "would_issue": preview.would_issue,
                "already_issued": preview.already_issued,
                "refused": preview.refused,
            },
            at=now,
        )
    return redirect(f"/console/bulk/{job_id}")


def _data_file(state: AppState) -> Path:
    row = state.body.db.execute("PRAGMA database_list").fetchone()
    if not row or not row[2]:
        raise ConsoleRefusal(409, "bulk issuance needs issuer.db on disk")
    return Path(row[2])


def _with_file(
    content: bytes, folder: Path, work: Callable[[Path], Any], job: str | None = None
) -> Any:
    """``work`` on the bytes as a file (0600, in the body's own folder: it holds private
    data), removed afterwards. A run's file is named after its job, so that the file a killed
    run left behind is overwritten and removed by its resumption."""
    if job is None:
        handle, name = tempfile.mkstemp(prefix=".bulk-", suffix=".csv", dir=folder)
    else:
        name = str(folder / f".bulk-{job}.csv")
        handle = os.open(name, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        return work(Path(name))
    finally:
        Path(name).unlink(missing_ok=True)


def _preview(state: AppState, content: bytes, name: str, decided_by: str) -> BulkPreview:
    """:func:`preview_csv` on its own read connection, outside the server's lock (a large
    file takes seconds to check); the temporary file's path is replaced by the file's name
    in what it says."""
    with state.lock:
        db_path = _data_file(state)
        clock = state.body.clock
    db = connect(db_path)
    try:
        body = CertificationBody(db, clock=clock)

        def check(path: Path) -> BulkPreview:
            try:
                return preview_csv(body, path, decided_by=decided_by)
            except LifecycleError as exc:
                exc.args = (str(exc).replace(str(path), name),)
                raise

        result: BulkPreview = _with_file(content, db_path.parent, check)
        return result
    finally:
        db.conn.close()


@router.get("/bulk/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str, user: Decider) -> Response:
    """The job as it stands: its preview, its progress (reloading), or its result."""
    job = _job(state_of(request), job_id, result=True)
    response = render(
        request,
        "bulk_job.html",
        user=user,
        job=job,
        shown=SHOWN,
        seconds_words=_seconds_words,
    )
    if job["phase"] == "running":
        response.headers["Refresh"] = "1"
    return response


@router.post("/bulk/{job_id}/run", response_class=HTMLResponse)
def run(request: Request, job_id: str, user: Decider) -> Response:
    """Confirm (or resume) the job: its run starts in a thread; the answer comes at once."""
    state = state_of(request)
    job = _job(state, job_id)
    if job["phase"] in ("running", "done"):
        raise ConsoleRefusal(409, f"this job is {job['phase']}: it cannot be started again")
    # The preview was checked for the uploader as the decision-maker: only they confirm it.
    owner = job["confirmed_by"] or job["uploaded_by"]
    if owner != user.id:
        raise ConsoleRefusal(
            403,
            "only the decision-maker who uploaded this file may confirm it (its preview was "
            "checked with them deciding): upload it yourself to issue it as you",
        )
    resume = job["phase"] in ("interrupted", "failed")
    with state.lock:
        try:
            signer = state.body.signer  # unlocked at start by certreg serve
        except LifecycleError as exc:  # a server that cannot sign (no passphrase)
            raise ConsoleRefusal(status_of(exc), str(exc)) from None
        hook = state.body.on_change
        register = hook.path if isinstance(hook, RegisterSync) else None
        db_path = _data_file(state)
        with transaction(state.body.db):
            now = format_datetime(state.body.clock())
            changed = state.body.db.execute(
                "UPDATE console_bulk_jobs SET state = 'running', runner = ?, confirmed_by = ?, "
                "started_at = ?, started_wall = ?, finished_at = NULL, rows_done = 0, "
                "error = NULL WHERE id = ? AND (state != 'running' OR runner != ?) "
                "AND state != 'done'",
                [_RUNNER, user.id, now, time.time(), job_id, _RUNNER],
            ).rowcount
            if not changed:
                raise ConsoleRefusal(409, "this job was started meanwhile")
            audit.append(
                state.body.db,
                "console_bulk_resumed" if resume else "console_bulk_confirmed",
                actor=user.id,
                subject=job_id,
                payload={"job": job_id, "sha256": job["sha256"], "rows": job["rows_total"]},
                at=now,
            )
        # Started under the lock the job's page reads under: no page sees the job running
        # without its thread (which it would show as interrupted).
        thread = threading.Thread(
            target=_run,
            args=(job_id, db_path, user.id, signer, state.body.clock, state.body.cryptosuite),
            kwargs={"register": register},
            name=f"certreg-bulk-{job_id}",
            daemon=True,
        )
        _live[job_id] = thread
        thread.start()
    return redirect(f"/console/bulk/{job_id}")


def _run(
    job_id: str,
    db_path: Path,
    decided_by: str,
    signer: Any,
    clock: Callable[[], Any],
    cryptosuite: str,
    *,
    register: Path | None,
) -> None:
    """The run, in its own thread, on its own connection; its outcome goes to the job's row."""
    with _one_run:
        _current.append(job_id)
        db = connect(db_path)
        # Rows per second count from here: the job may have waited for another's run.
        db.execute(
            "UPDATE console_bulk_jobs SET started_wall = ? WHERE id = ?", [time.time(), job_id]
        )
        body = CertificationBody(
            db, signer_factory=lambda: signer, clock=clock, cryptosuite=cryptosuite
        )
        try:
            if register is not None:
                attach(body, register)  # as certreg issue: the grants reach the register

            def progress(done: int, total: int) -> None:
                db.execute(
                    "UPDATE console_bulk_jobs SET rows_done = ?, rows_total = ? WHERE id = ?",
                    [done, total, job_id],
                )

            content = db.execute(
                "SELECT content FROM console_bulk_jobs WHERE id = ?", [job_id]
            ).fetchone()[0]

            def issue(path: Path) -> BulkReport:
                return issue_csv(
                    body,
                    path,
                    decided_by=decided_by,
                    workers=0,
                    progress=progress,
                    freeze_gc=False,
                )

            report: BulkReport = _with_file(content, db_path.parent, issue, job_id)
            result = _result(db, report)
            db.execute(
                "UPDATE console_bulk_jobs SET state = 'done', finished_at = ?, issued = ?, "
                "skipped = ?, refused = ?, result = ? WHERE id = ?",
                [
                    format_datetime(clock()),
                    report.issued,
                    report.skipped_already_issued,
                    len(report.errors),
                    json.dumps(result),
                    job_id,
                ],
            )
        except Exception as exc:  # the run's own failure: shown on the job's page
            db.execute(
                "UPDATE console_bulk_jobs SET state = 'failed', finished_at = ?, error = ? "
                "WHERE id = ?",
                [format_datetime(clock()), str(exc) or type(exc).__name__, job_id],
            )
        finally:
            hook = body.on_change
            if isinstance(hook, RegisterSync):
                hook._close()
            db.conn.close()
            _current.remove(job_id)


def _result(db: Any, report: BulkReport) -> dict[str, Any]:
    """Per row: issued (number), skipped (the number it was issued under before), refused."""
    skipped_ids = [ext for _, ext in report.skipped_rows]
    numbers: dict[str, str] = {}
    for i in range(0, len(skipped_ids), 500):
        chunk = skipped_ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        numbers.update(
            db.execute(
                f"SELECT external_id, number FROM certifications WHERE external_id IN ({marks})",
                chunk,
            ).fetchall()
        )
    return {
        "issued": report.issued_numbers,
        "skipped": [(row, ext, numbers.get(ext, "")) for row, ext in report.skipped_rows],
        "refused": [
            (row, report.error_external_ids.get(row, ""), column, reason)
            for row, column, reason in report.problems()
        ],
    }


def _cell(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula (OWASP's CSV injection advice)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@router.get("/bulk/{job_id}/result.csv")
def result_csv(request: Request, job_id: str, user: Decider) -> Response:
    """Every row's outcome: row, external_id, outcome, number, reason."""
    job = _job(state_of(request), job_id, result=True)
    if job["phase"] != "done":
        raise ConsoleRefusal(409, f"this job is {job['phase']}: it has no result yet")
    outcome = job["result"]
    lines: list[tuple[int, str, str, str, str]] = []
    lines += [(row, ext, "issued", number, "") for row, ext, number in outcome["issued"]]
    lines += [
        (row, ext, "skipped", number, "already issued") for row, ext, number in outcome["skipped"]
    ]
    lines += [
        (row, ext, "refused", "", f"{column}: {reason}" if column else reason)
        for row, ext, column, reason in outcome["refused"]
    ]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "external_id", "outcome", "number", "reason"])
    writer.writerows([_cell(c) for c in line] for line in sorted(lines))
    stem = Path(job["file_name"]).stem or "bulk"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{_safe(stem)}-result.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:100]

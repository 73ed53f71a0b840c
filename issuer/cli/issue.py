"""``certreg issue --csv FILE``: grant decisions in bulk (issuer.bulk, docs/bulk-issuance.md).

Exit status: 0 when every row was issued or had been issued before; 1 when some rows were
refused (they are listed with their row numbers; fix them and run the same file again: what
was issued is skipped) or the run itself could not start.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from pathlib import Path

import click

from certreg.issuer.bulk import BulkReport, issue_csv
from certreg.issuer.cli.common import (
    PASSPHRASE_ENV,
    data_option,
    open_body,
    passphrase_file_option,
    plain_errors,
    unlock,
)
from certreg.verifier.issuing import CRYPTOSUITES

__all__ = ["issue_command"]

#: Row errors printed before "... and N more" (the full list is in --errors-file).
MAX_SHOWN = 50


@click.command("issue")
@click.option(
    "--csv",
    "csv_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The grants, one per row (columns: docs/bulk-issuance.md).",
)
@data_option
@click.option(
    "--decided-by",
    required=True,
    metavar="STAFF_ID",
    help="The decision-maker who takes every grant of the file (must not have examined "
    "or trained any of the candidates).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="Signing processes (0: sign in this process). Default: one per core but one, which "
    "this process needs to plan and write.",
)
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=None,
    help="Rows written per transaction. Default: a 25th of the file, at least 200 and at "
    "most 1,000 (bigger batches write fewer pages per row; smaller ones start sooner).",
)
@click.option(
    "--cryptosuite",
    type=click.Choice(CRYPTOSUITES),
    default="eddsa-rdfc-2022",
    show_default=True,
    help="Data Integrity cryptosuite of the credentials.",
)
@click.option(
    "--errors-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write every row error to this CSV file (row, error).",
)
@passphrase_file_option
@click.option(
    "--timings-file",
    type=click.Path(dir_okay=False, path_type=Path),
    hidden=True,
    help="Write where the run's time went, as JSON (bench/bench_issue.py reads it).",
)
def issue_command(
    csv_path: Path,
    data: Path,
    decided_by: str,
    workers: int | None,
    batch: int | None,
    cryptosuite: str,
    errors_file: Path | None,
    passphrase_file: Path | None,
    timings_file: Path | None = None,
) -> None:
    """Issue certifications from a CSV file: one grant decision per row.

    Idempotent and resumable: a row whose external_id was issued before is skipped, so after
    an interruption (even kill -9) run the same command again.
    """
    entered = time.time()  # wall clock: the bench compares it with when it started us
    tick = time.perf_counter()
    body = open_body(data, passphrase_file, sign="lazy")  # and the register caught up
    if passphrase_file is None and not os.environ.get(PASSPHRASE_ENV):
        unlock(body)  # the prompt, here; otherwise issue_csv unlocks while it plans
    opened = time.perf_counter()
    body.cryptosuite = cryptosuite
    started = time.perf_counter()
    with (
        plain_errors(),
        click.progressbar(
            length=1,
            label="issuing",
            file=sys.stderr,
            item_show_func=lambda rate: rate,
            show_pos=True,
        ) as bar,
    ):

        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            elapsed = time.perf_counter() - started
            bar.update(done - bar.pos, f"{done / elapsed:,.0f} rows/s" if elapsed else None)

        report = issue_csv(
            body, csv_path, decided_by=decided_by, workers=workers, batch=batch, progress=progress
        )
    _summary(report, errors_file)
    if timings_file is not None:
        phases = {"entered": entered, "open": opened - tick}
        timings_file.write_text(json.dumps({**phases, **report.timings}), encoding="utf-8")
    if report.errors:
        raise SystemExit(1)


def _summary(report: BulkReport, errors_file: Path | None) -> None:
    total = report.timings.get("total", 0.0)
    rate = f" in {total:.1f} s ({report.issued / total:,.0f} certificates/s)" if total else ""
    click.echo(
        f"issued {report.issued}{rate}; already issued (skipped) "
        f"{report.skipped_already_issued}; errors {len(report.errors)}"
    )
    for row, message in report.errors[:MAX_SHOWN]:
        click.echo(f"row {row}: {message}", err=True)
    if len(report.errors) > MAX_SHOWN:
        click.echo(f"... and {len(report.errors) - MAX_SHOWN} more", err=True)
    if errors_file is not None:
        with open(errors_file, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["row", "error"])
            writer.writerows(report.errors)

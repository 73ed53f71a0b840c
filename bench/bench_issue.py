"""Bulk issuance end to end: CSV in, signed certificates in issuer.db, per second.

    .venv/bin/python bench/bench_issue.py [--rows N] [--batch N] [--cryptosuite S]

For workers=1 and workers=2, creates a fresh certification body in a temporary folder
(did:key, one scheme, a decision-maker, an examiner), writes a CSV of N rows (default 5,000;
each a new person) and runs ``issuer.bulk.issue_csv`` on it, as ``certreg issue`` does. Prints
certificates per second end to end (reading the CSV to the last commit, pool start-up
included) and where the main process's time went: plan (checking the rows), reserve (status
indices), sign (waiting for the workers), write (the batch transactions); plus the workers'
own signing time, summed over the workers.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from certreg.issuer.bulk import BulkReport, issue_csv
from certreg.issuer.service import CertificationBody

PASSPHRASE = "bench passphrase, not a secret"
COLUMNS = ("external_id", "full_name", "email", "scheme", "scope", "assessed_on", "examiner")
COLUMNS += ("evidence",)


def make_body(folder: Path, cryptosuite: str) -> tuple[CertificationBody, str, str]:
    """A body with one scheme; returns it, the decision-maker's id and the examiner's id."""
    body = CertificationBody.init(
        folder / "cb",
        legal_name="Bench Certification Body",
        public_url="https://cb.example",
        passphrase=PASSPHRASE,
        did_method="key",
        kdf="interactive",
    )
    body.add_scheme(
        "cwi",
        code="CWI",
        name="Certified Welding Inspector",
        description="Inspection of fusion welds in steel structures.",
        normative_reference="ISO 9712:2021",
        normative_reference_url="https://www.iso.org/standard/74629.html",
        validity_months=36,
        max_suspension_days=180,
        publication_policy="directory",
        scope=[("UT2", "Ultrasonic testing, level 2"), ("VT2", "Visual testing, level 2")],
    )
    decider = body.add_staff("Dana Decider", roles=["decision_maker"])
    examiner = body.add_staff("Erik Examiner", roles=["officer"])
    body = CertificationBody.open(folder / "cb", passphrase=PASSPHRASE, cryptosuite=cryptosuite)
    return body, decider, examiner


def write_csv(path: Path, rows: int, examiner: str) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(COLUMNS)
        for i in range(rows):
            out.writerow(
                [
                    f"bench-{i:07d}",
                    f"Candidate Number {i}",
                    f"candidate{i}@example.org",
                    "cwi",
                    "UT2:welds in steel, 6-40 mm;VT2" if i % 2 else "VT2",
                    "2020-01-15",
                    examiner,
                    f"examination record {i}",
                ]
            )


def run(rows: int, workers: int, batch: int, cryptosuite: str) -> BulkReport:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        body, decider, examiner = make_body(folder, cryptosuite)
        write_csv(folder / "grants.csv", rows, examiner)
        body.signer  # noqa: B018 -- the key store's KDF is not bulk issuance
        report = issue_csv(
            body, folder / "grants.csv", decided_by=decider, workers=workers, batch=batch
        )
        body.db.conn.close()
    if report.errors or report.issued != rows:
        raise SystemExit(f"bench run failed: {report.issued} issued, errors {report.errors[:3]}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--trials", type=int, default=1, help="best of this many runs")
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    parser.add_argument(
        "--cryptosuite", default="eddsa-rdfc-2022", choices=["eddsa-rdfc-2022", "eddsa-jcs-2022"]
    )
    args = parser.parse_args()
    print(
        f"certreg bulk issuance bench — {args.rows} rows, batch {args.batch}, "
        f"{args.cryptosuite}, best of {args.trials}\n"
    )
    print(
        f"{'workers':>7} {'certs/s':>9} {'total s':>8} {'read':>6} {'plan':>6} {'reserve':>8}"
        f" {'sign':>6} {'write':>6} {'sign cpu':>9} {'main cpu':>9}   (ms per certificate)"
    )
    ceilings = []
    for workers in args.workers:
        best: BulkReport | None = None
        for _ in range(args.trials):
            report = run(args.rows, workers, args.batch, args.cryptosuite)
            if best is None or report.timings["total"] < best.timings["total"]:
                best = report
        assert best is not None
        t = best.timings
        per = {k: 1000 * v / args.rows for k, v in t.items()}
        ceilings.append((workers, per["sign_cpu"] + per["main_cpu"]))
        print(
            f"{workers:>7} {args.rows / t['total']:>9,.0f} {t['total']:>8.2f} {per['read']:>6.3f}"
            f" {per['plan']:>6.3f} {per['reserve']:>8.3f} {per['sign']:>6.3f}"
            f" {per['write']:>6.3f} {per['sign_cpu']:>9.3f} {per['main_cpu']:>9.3f}"
        )
    print(
        "\nsign = time the main process waited for the workers; sign cpu = the workers' CPU "
        "time, summed;\nmain cpu = the main process's CPU time. On a machine shared with other "
        "work, wall-clock\nfigures fall; (sign cpu + main cpu) is what one certificate costs, and "
        "2 cores / that\ncost is the ceiling on 2 cores:"
    )
    for workers, cost in ceilings:
        print(f"  workers={workers}: {cost:.3f} ms of CPU per certificate -> {2000 / cost:,.0f}/s")


if __name__ == "__main__":
    main()

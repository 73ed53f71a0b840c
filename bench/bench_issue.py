"""Bulk issuance end to end: the officer's `certreg issue --csv` command, per second.

    .venv/bin/python bench/bench_issue.py [--rows 5000 50000] [--existing 0 100000]
                                          [--workers 1 2] [--trials N]

(defaults: 5,000 rows, a fresh body, 1 and 2 workers, one trial)

Each run copies a certification body (a fresh one, and one already holding ``--existing``
certificates, built once with the CLI itself and cached under bench/.cache/), writes a CSV of
``--rows`` new grants (each a new person, one or two scope items, a directory scheme) and runs
``certreg issue --csv`` as a subprocess: the wall time counts everything the officer waits for,
from process start (imports) through the key store's unlock (Argon2id, the body's default
cost), reading and checking the rows, reserving status indices, signing, the issuer.db commits
and the register push (register.db, what makes the certificates public), to process exit.

Where the time went comes from the same run (the command's hidden ``--timings-file``), in
seconds: imports (process start until the command runs), open (issuer.db, the register's
catch-up), unlock, read (the CSV), plan, reserve, sign (time the main process waited for the
workers), write (the batch transactions), push (register.db), exit (summary and process exit);
and, per certificate, the main process's CPU and the workers' signing CPU.

Side by side, in the same trial: certreg's signing-only rate (bench_proofs.py's, 1 and 2
processes), the ceiling for a command that does everything else too.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

PASSPHRASE = "bench passphrase, not a secret"
COLUMNS = ("external_id", "full_name", "email", "scheme", "scope", "assessed_on", "examiner")
COLUMNS += ("evidence",)
CACHE = Path(__file__).resolve().parent / ".cache"
PHASES = ("imports", "open", "read", "plan", "unlock", "reserve", "sign", "write", "push", "exit")


def make_body(folder: Path) -> dict[str, str]:
    """A body with one directory scheme in ``folder``; returns the decision-maker's and the
    examiner's staff ids (also kept in ``folder/ids.json``)."""
    from certreg.issuer.service import CertificationBody

    body = CertificationBody.init(
        folder / "cb",
        legal_name="Bench Certification Body",
        public_url="https://cb.example",
        passphrase=PASSPHRASE,
        did_method="key",
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
    ids = {
        "decider": body.add_staff("Dana Decider", roles=["decision_maker"]),
        "examiner": body.add_staff("Erik Examiner", roles=["officer"]),
    }
    body.db.conn.close()
    (folder / "ids.json").write_text(json.dumps(ids), encoding="utf-8")
    return ids


def write_csv(path: Path, rows: int, examiner: str, prefix: str) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(COLUMNS)
        for i in range(rows):
            out.writerow(
                [
                    f"{prefix}-{i:07d}",
                    f"Candidate {prefix} {i}",
                    f"candidate{i}@example.org",
                    "cwi",
                    "UT2:welds in steel, 6-40 mm;VT2" if i % 2 else "VT2",
                    "2020-01-15",
                    examiner,
                    f"examination record {i}",
                ]
            )


def certreg_command() -> list[str]:
    """The installed ``certreg`` script beside this interpreter (what an officer runs)."""
    script = Path(sys.executable).parent / "certreg"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from certreg.issuer.cli import main; main()"]


def run_cli(
    folder: Path,
    rows: int,
    workers: int,
    batch: int | None,
    prefix: str,
    certreg: list[str] | None = None,
) -> tuple[float, dict[str, Any]]:
    """``certreg issue --csv`` on ``rows`` new grants in ``folder`` (a body's copy): wall
    seconds from process start to exit, and the command's own timings (none from another
    checkout's ``certreg``, which may not have ``--timings-file``)."""
    ids = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
    grants = folder / f"{prefix}.csv"
    write_csv(grants, rows, ids["examiner"], prefix)
    timings_file = folder / f"{prefix}.timings.json"
    command = [
        *(certreg or certreg_command()),
        "issue",
        "--csv",
        str(grants),
        "--data",
        str(folder / "cb"),
        "--decided-by",
        ids["decider"],
        "--workers",
        str(workers),
    ]
    if batch is not None:
        command += ["--batch", str(batch)]
    if certreg is None:
        command += ["--timings-file", str(timings_file)]
    env = {**os.environ, "CERTREG_PASSPHRASE": PASSPHRASE}
    started = time.time()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.time() - started
    if done.returncode != 0 or f"issued {rows} " not in done.stdout:
        raise SystemExit(f"bench run failed ({done.returncode}): {done.stdout} {done.stderr}")
    if certreg is not None:
        return wall, {}
    timings = json.loads(timings_file.read_text(encoding="utf-8"))
    timings["imports"] = timings["entered"] - started
    inner = ("open", "total")
    timings["exit"] = wall - timings["imports"] - sum(timings[k] for k in inner)
    return wall, timings


def cached_body(existing: int, batch: int | None) -> Path:
    """A body holding ``existing`` certificates, built once (with the CLI) and cached."""
    from certreg.issuer.db import SCHEMA_VERSION

    folder = CACHE / f"body-{existing}-schema{SCHEMA_VERSION}"
    if (folder / "ready").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    make_body(folder)
    if existing:
        print(f"building a body with {existing:,} certificates in {folder} (once) ...")
        wall, _ = run_cli(folder, existing, 1, batch, "existing")
        print(f"  built in {wall:.0f} s")
    (folder / "ready").write_text("", encoding="utf-8")
    return folder


def signing_ceiling(count: int) -> dict[str, float]:
    """certreg's signing-only rate, 1 and 2 processes (bench_proofs.py's measure)."""
    import bench_proofs

    return bench_proofs.throughput(bench_proofs._sign_batch, "eddsa-rdfc-2022", count, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[5000])
    parser.add_argument(
        "--existing", type=int, nargs="+", default=[0], help="certificates the body holds"
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--batch", type=int, help="rows per transaction (default: the command's own choice)"
    )
    parser.add_argument("--trials", type=int, default=1, help="rounds, alternated (best shown)")
    parser.add_argument("--sign-count", type=int, default=2000, help="credentials per process")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (e.g. /work/main): its .venv/bin/certreg runs each configuration "
        "too, alternated with this one (wall time only)",
    )
    args = parser.parse_args()
    print(
        f"certreg bulk issuance, end to end (`certreg issue --csv` as a subprocess) — "
        f"{os.cpu_count()} cores, batch {args.batch or 'the default'}, eddsa-rdfc-2022, "
        f"best of {args.trials}; "
        f"load average before: {os.getloadavg()[0]:.2f}\n"
    )
    bodies = {existing: cached_body(existing, args.batch) for existing in args.existing}
    configs = [(e, r, w) for e in args.existing for r in args.rows for w in args.workers]
    results: dict[tuple[int, int, int], list[tuple[float, dict[str, Any]]]] = {}
    ceilings: list[dict[str, float]] = []
    baselines: dict[tuple[int, int, int], list[float]] = {}
    for trial in range(args.trials):
        ceilings.append(signing_ceiling(args.sign_count))
        for existing, rows, workers in configs:
            with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
                folder = Path(tmp) / "body"
                shutil.copytree(bodies[existing], folder)
                result = run_cli(folder, rows, workers, args.batch, f"t{trial}w{workers}")
            results.setdefault((existing, rows, workers), []).append(result)
            if args.baseline is not None:
                baseline_cli = [str(args.baseline / ".venv" / "bin" / "certreg")]
                with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
                    folder = Path(tmp) / "body"
                    shutil.copytree(bodies[existing], folder)
                    wall, _ = run_cli(
                        folder, rows, workers, args.batch, f"b{trial}w{workers}", baseline_cli
                    )
                baselines.setdefault((existing, rows, workers), []).append(wall)

    one = max(c["one"] for c in ceilings)
    two = max(c["two"] for c in ceilings)
    print(f"signing only (the ceiling): 1 process {one:,.0f}/s, 2 processes {two:,.0f}/s\n")
    head = (
        f"{'existing':>9} {'rows':>6} {'workers':>7} {'certs/s':>8} {'vs sign2':>8} {'wall s':>7}"
    )
    print(f"{head}  " + " ".join(f"{p:>7}" for p in PHASES) + f" {'main cpu':>8} {'sign cpu':>8}")
    for (existing, rows, workers), runs in results.items():
        wall, t = min(runs, key=lambda r: r[0])
        rate = rows / wall
        phases = " ".join(f"{t[p]:>7.3f}" for p in PHASES)
        median = statistics.median(rows / w for w, _ in runs)
        print(
            f"{existing:>9,} {rows:>6} {workers:>7} {rate:>8,.0f} {rate / two:>8.2f} {wall:>7.2f}"
            f"  {phases} {1000 * t['main_cpu'] / rows:>8.3f} {1000 * t['sign_cpu'] / rows:>8.3f}"
            + (f"   (median {median:,.0f}/s)" if len(runs) > 1 else "")
        )
    if baselines:
        print(f"\nthe same runs with {args.baseline}'s certreg, alternated with the above:")
        print(f"{'existing':>9} {'rows':>6} {'workers':>7} {'certs/s':>8} {'speed-up':>9}")
        for (existing, rows, workers), walls in baselines.items():
            ours = min(w for w, _ in results[(existing, rows, workers)])
            print(
                f"{existing:>9,} {rows:>6} {workers:>7} {rows / min(walls):>8,.0f}"
                f" {min(walls) / ours:>9.2f}"
            )
    print(
        "\nphases in seconds (sign = the main process waiting for the workers); main cpu and "
        "sign cpu\nin ms per certificate (sign cpu: the workers' CPU, summed). vs sign2: the "
        "end-to-end rate over\nthe 2-process signing-only rate. load average after: "
        f"{os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()

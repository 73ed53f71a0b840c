"""How long a ``certreg`` command takes to start, and how many modules it loads.

    .venv/bin/python bench/bench_cli_startup.py [--runs N] [--compare OTHER_PYTHON ...]

Each command runs ``--runs`` times in a fresh process (what a user waits for at a prompt); the
table gives the median wall and CPU time and the number of modules in ``sys.modules`` when the
command exits (``-X importtime`` would miss those the lazy group loads with ``import_module``).
The first rows are baselines: ``python -c pass`` is the interpreter alone, ``certreg --version``
the click entry point with no subcommand loaded.

``--compare`` adds a column per interpreter of another installation, e.g. the main checkout's
``/work/main/.venv/bin/python`` (an editable install of the code before a change): the same
commands, side by side. The credential ``verify FILE`` reads is a certificate signed by a
did:key issuer with no status entries, so that no network is involved.

The last row is the anchor: Digital Bazaar's Node stack verifying the same file in one fresh
``node`` process (bench_node_verify_file.mjs: @digitalbazaar/vc, pinned contexts, did:key),
measured in each column's turn so that it sees the same machine load. It is left out, with a
word, when ``node`` or tests/interop/node_modules is missing.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from certreg.issuer.credential import (
    Body,
    NormativeReference,
    Scheme,
    ScopeItem,
    certification_credential,
)
from certreg.keys.did import did_key_from_public, did_key_verification_method
from certreg.keys.keypair import KeyPair
from certreg.verifier.issuing import add_proof


def offline_certificate(folder: Path) -> Path:
    """A signed certificate that verifies without the network (did:key, no status list)."""
    pair = KeyPair(bytes(range(32)))
    signer = pair.with_verification_method(did_key_verification_method(pair.public_multibase))
    credential = certification_credential(
        body=Body(did_key_from_public(pair.public_multibase), "Example Certification Body"),
        scheme=Scheme(
            id="https://cb.example/schemes/cwi/3",
            code="CWI",
            name="Certified Welding Inspector",
            version="3",
            description="Inspection of fusion welds in steel structures.",
            criteria="Written and practical examination under ISO 9712.",
            normative_reference=NormativeReference(
                "ISO 9712:2021", "https://www.iso.org/standard/74629.html"
            ),
        ),
        holder_name="Jane Doe",
        certificate_number="CB-00000001",
        scope=[ScopeItem("UT2", "Ultrasonic testing, level 2")],
        valid_from="2026-01-15T00:00:00Z",
        valid_until="2099-01-14T23:59:59Z",
    )
    path = folder / "certificate.json"
    path.write_text(json.dumps(add_proof(credential, signer)), encoding="utf-8")
    return path


BENCH = Path(__file__).resolve().parent
NODE_VERIFY = BENCH / "bench_node_verify_file.mjs"
NODE_LABEL = "node verify FILE (DB)"


def node_missing() -> str | None:
    """Why the Node anchor cannot run, or None."""
    if shutil.which("node") is None:
        return "node is not on PATH"
    if not (BENCH.parent / "tests" / "interop" / "node_modules" / "@digitalbazaar" / "vc").is_dir():
        return "tests/interop/node_modules is missing (npm ci --prefix tests/interop)"
    return None


def commands(python: Path, certificate: Path) -> list[tuple[str, list[str]]]:
    """(label, argv) of each measured command, run by ``python``'s installation, and the Node
    anchor when it can run."""
    script = str(python.parent / "certreg")  # the console script pip wrote, as a user runs it
    node = [] if node_missing() else [(NODE_LABEL, ["node", str(NODE_VERIFY), str(certificate)])]
    return [
        ("python -c pass", [str(python), "-c", "pass"]),
        ("certreg --version", [str(python), script, "--version"]),
        ("certreg --help", [str(python), script, "--help"]),
        ("certreg verify --help", [str(python), script, "verify", "--help"]),
        ("certreg verify FILE", [str(python), script, "verify", str(certificate)]),
        ("certreg keys --help", [str(python), script, "keys", "--help"]),
        ("certreg sign --help", [str(python), script, "sign", "--help"]),
        *node,
    ]


def median_times(argv: list[str], runs: int) -> tuple[float, float]:
    """Median wall-clock seconds and median CPU seconds (user + system) of one run.

    CPU time is the steadier figure on a busy machine: waiting for a core counts in the wall
    time, not in the CPU time."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, check=False, capture_output=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


#: Runs ``python ARGS`` (a script or ``-c CODE``) and prints len(sys.modules) to stderr at exit.
PROBE = """
import atexit, runpy, sys
atexit.register(lambda: print("modules:", len(sys.modules), file=sys.stderr))
sys.argv = sys.argv[1:]
if sys.argv[0] == "-c":
    sys.argv = sys.argv[1:]
    exec(sys.argv[0] if sys.argv else "")
else:
    runpy.run_path(sys.argv[0], run_name="__main__")
"""


def module_count(argv: list[str]) -> int | str:
    """How many modules are loaded when the command exits (``sys.modules``); "-" for node."""
    if argv[0] == "node":
        return "-"
    done = subprocess.run(
        [argv[0], "-c", PROBE, *argv[1:]], check=False, capture_output=True, text=True
    )
    counts = [line for line in done.stderr.splitlines() if line.startswith("modules:")]
    return int(counts[-1].split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (median)")
    parser.add_argument(
        "--compare",
        type=Path,
        action="append",
        default=[],
        metavar="PYTHON",
        help="another installation's python, measured side by side (repeatable)",
    )
    args = parser.parse_args()
    pythons = [Path(sys.executable), *args.compare]
    with tempfile.TemporaryDirectory() as tmp:
        certificate = offline_certificate(Path(tmp))
        table = {
            python: [
                (label, *median_times(argv, args.runs), module_count(argv))
                for label, argv in commands(python, certificate)
            ]
            for python in pythons
        }
    labels = [label for label, _ in commands(pythons[0], Path("x"))]
    if node_missing():
        print(f"(no Node row: {node_missing()})")
    names = "ABCDEFGH"
    print(f"median of {args.runs} runs: wall and CPU (user + system) ms; len(sys.modules) at exit")
    for name, python in zip(names, pythons, strict=False):
        print(f"  {name}: {python}")
    print(
        f"{'command':<24}"
        + "".join(
            f"{n + ' wall':>8}{n + ' cpu':>7}{n + ' modules':>11}" for n in names[: len(pythons)]
        )
    )
    for row, label in enumerate(labels):
        cells = "".join(
            f"{table[p][row][1] * 1000:>8.0f}{table[p][row][2] * 1000:>7.0f}{table[p][row][3]:>11}"
            for p in pythons
        )
        print(f"{label:<24}{cells}")


if __name__ == "__main__":
    main()

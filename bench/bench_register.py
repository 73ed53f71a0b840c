"""The public register under load, served the way users run it, at 1,000,000 certificates.

    .venv/bin/python bench/bench_register.py [--rows 1000000] [--seconds 20] [--clients 8]
    .venv/bin/python bench/bench_register.py --home [--rows 1000000] [--requests 200]

Builds (once, cached in bench/.cache/) a register.db of ``--rows`` certificates in the
register's own schema (register/db.py). Then each server runs as its own process on
127.0.0.1, started by its real command line, and ``--clients`` keep-alive connections ask it
for random existing numbers for ``--seconds``; printed: requests/s, p50 and p99 latency, and
the server's memory (VmRSS from /proc/PID/status once started, again after the load: its
steady size; and VmHWM, its peak):

- plain Datasette: ``datasette serve --immutable register.db``, row JSON and row page;
- ``certreg serve``: a body made by ``certreg init`` (default key store costs, the passphrase
  in $CERTREG_PASSPHRASE) whose ``DATA/register.db`` is the big register (a link to it; its
  watermark and lookup-key rows set to the new body's, so the server finds it up to date and
  does not rebuild it from the body's empty issuer.db): ``/c/{number}`` and row JSON under
  ``/register/``;
- ``certreg register serve BUNDLE``: a bundle written by ``certreg publish`` for that body,
  whose ``public.db`` is then the big register (a link).

Load comes from ``wrk`` (Debian's package, C) when installed, else from a minimal Python
keep-alive HTTP/1.1 client on raw asyncio streams (which needs a good part of a core itself at
these rates and adds its scheduling to the latencies it reports). Clients and servers share
the machine's cores, so absolute figures are lower than on a dedicated server; the servers
are measured one after another with the same load (each after a few seconds of warm-up), so
the ratios are fair. Also timed once
each: a directory page (plain Datasette's live facets against certreg's precomputed
``facet_counts``) and a full-text search.

``--home`` times the home page's searches instead (register/web/home.py), one request at a
time over a keep-alive connection to each real server: a number typed in lower case with
spaces, a name (about 1,000 holders share each ``NameN``), a rare name, a name with scheme and
status filters, the page after a name's first, filters alone, and the worst bounded case (a
common word and a scope nobody holds: a full window of 5,000 candidates, no result); the
certificate page ``/c/{number}`` is timed in the same rotation as a reference. Printed: p50 and
p95 per kind.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from certreg.issuer.numbers import new_number  # noqa: E402
from certreg.register.db import open_register  # noqa: E402
from certreg.register.fts import enable_search  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
SCHEMES = [
    ("cwi", "CWI", "Certified Welding Inspector"),
    ("isa", "ISA", "Information Security Auditor"),
]
STATUSES = ["ACTIVE"] * 90 + ["SUSPENDED"] * 3 + ["WITHDRAWN"] * 2 + ["EXPIRED"] * 5


def build(path: Path, rows: int) -> list[str]:
    """A register.db with ``rows`` certificates; returns a sample of numbers to ask for."""
    numbers_file = path.with_suffix(".numbers")
    if path.exists() and numbers_file.exists():
        return numbers_file.read_text().split()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    db = open_register(tmp, create=True)
    conn = db.conn
    rng = random.Random(1)
    now = "2026-11-21T00:00:00Z"
    conn.execute("BEGIN")
    sample: list[str] = []

    conn.execute(
        "INSERT INTO body VALUES (1, 'Bench Certification Body', 'https://cb.example', "
        "'did:web:cb.example', 'Bench Accreditation', 'D-00', 'DE', ?)",
        [now],
    )
    for scheme_id, code, name in SCHEMES:
        conn.execute(
            "INSERT INTO schemes VALUES (?, ?, ?, 1, 'A scheme.', '', '', '', 'ISO 9712:2021', "
            "NULL, 36, '', 'directory', 1, ?)",
            [scheme_id, code, name, now],
        )
    seen: set[str] = set()

    def certifications():
        for i in range(rows):
            scheme = SCHEMES[i % 2]
            number = new_number(scheme[1])
            while number in seen:
                number = new_number(scheme[1])
            seen.add(number)
            if i % (rows // 2000 or 1) == 0:
                sample.append(number)
            yield (
                number, f"Holder {rng.randrange(10**6):06d} Name{i % 997}", scheme[0], scheme[1],
                scheme[2], rng.choice(STATUSES), now, "2026-01-01", "2029-01-01", "DE", now,
            )  # fmt: skip

    conn.executemany(
        "INSERT INTO certifications (number, holder_name, scheme_id, scheme_code, scheme_name, "
        "status, "
        "status_since, valid_from, valid_until, country, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        certifications(),
    )
    conn.execute(
        "INSERT INTO certification_scope SELECT number, 'UT2', 'Ultrasonic testing, level 2', "
        "NULL, 'active', valid_from FROM certifications"
    )
    for facet, column in (("scheme", "scheme_id"), ("status", "status"), ("country", "country")):
        conn.execute(
            f"INSERT INTO facet_counts SELECT '{facet}', {column}, {column}, COUNT(*) "
            f"FROM certifications GROUP BY {column}"
        )
    conn.execute("COMMIT")
    enable_search(db)  # the register's own full-text index (register/fts.py)
    conn.close()
    os.replace(tmp, path)
    numbers_file.write_text("\n".join(sample))
    return sample


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(base: str, path: str, timeout: float = 60) -> tuple[int, bytes]:
    """One GET on a fresh connection: (status, body)."""
    return asyncio.run(_get(base, path, timeout))


async def _get(base: str, path: str, timeout: float) -> tuple[int, bytes]:
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), timeout)
    try:
        return await asyncio.wait_for(_exchange(reader, writer, path.encode()), timeout)
    finally:
        writer.close()


def start(command: list[str], port: int, probe: str, env: dict[str, str] | None = None) -> Server:
    """Start ``command`` and wait until it answers ``probe`` on ``port`` (stderr to a file:
    a pipe nobody reads would block a server that logs)."""
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, **(env or {})}
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise SystemExit(f"server exited: {log.read().decode()[-2000:]}")
        try:
            if get(base, probe, timeout=5)[0] < 500:
                return Server(proc, base, log)
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server did not start: {command}")


class Server:
    def __init__(self, proc: subprocess.Popen, base: str, log: object) -> None:
        self.proc = proc
        self.base = base
        self.log = log

    def memory(self) -> dict[str, float]:
        """VmRSS (now) and VmHWM (peak) of the server process, MiB."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        found = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M))
        return {key: int(value) / 1024 for key, value in found.items()}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def running(
    label: str, command: list[str], port: int, probe: str, env: dict[str, str] | None = None
) -> Iterator[Server]:
    print(f"\n{label}")
    print(f"  $ {' '.join(Path(c).name if c == sys.executable else c for c in command)}")
    server = start(command, port, probe, env)
    try:
        memory = server.memory()
        print(f"  {'memory once started':52} RSS {memory['VmRSS']:6.0f} MiB")
        yield server
        memory = server.memory()
        print(
            f"  {'memory after the load':52} RSS {memory['VmRSS']:6.0f} MiB   "
            f"peak {memory['VmHWM']:6.0f} MiB"
        )
    finally:
        server.stop()


# --- the load ---------------------------------------------------------------------------------


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: bytes):
    """One request on a keep-alive connection: (status, body). Reads Content-Length or
    chunked bodies, which is all these servers send."""
    writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
    if length is not None:
        return status, await reader.readexactly(int(length[1]))
    if re.search(rb"\r\ntransfer-encoding:\s*chunked", head, re.I):
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return status, bytes(body)
            body += chunk[:-2]
    return status, await reader.read()


async def load(base: str, paths: list[str], clients: int, seconds: float) -> dict[str, float]:
    """The fallback load: ``clients`` keep-alive connections, one request at a time each."""
    host, port = base.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors = 0
    encoded = [p.encode() for p in paths]
    stop = time.monotonic() + seconds

    async def client(seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.monotonic() < stop:
                began = time.perf_counter()
                status, _ = await _exchange(reader, writer, rng.choice(encoded))
                latencies.append((time.perf_counter() - began) * 1000)
                errors += status >= 400
        finally:
            writer.close()

    await asyncio.gather(*(client(i) for i in range(clients)))
    latencies.sort()
    return {
        "rps": len(latencies) / seconds,
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
        "errors": errors,
    }


WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("PATHS_FILE")) do paths[#paths + 1] = line end
math.randomseed(42)
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
"""


#: Load before each measurement, not counted: templates compiled, SQLite's and the OS's caches
#: warm, and ``certreg serve``'s start-up work (it re-signs due status lists at once) done.
WARM_UP_SECONDS = 3


def measure(base: str, paths: list[str], clients: int, seconds: float) -> dict[str, float]:
    """wrk (C, Debian's package) when installed; otherwise the Python client. Each after
    :data:`WARM_UP_SECONDS` of the same load."""
    wrk = shutil.which("wrk")
    if wrk is None:
        asyncio.run(load(base, paths, clients, WARM_UP_SECONDS))
        return asyncio.run(load(base, paths, clients, seconds))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "paths.txt").write_text("\n".join(paths) + "\n")
        (Path(tmp) / "paths.lua").write_text(WRK_SCRIPT)

        def run(duration: float) -> str:
            return subprocess.run(
                [wrk, "-t2", f"-c{clients}", f"-d{int(duration)}s", "--latency",
                 "-s", str(Path(tmp) / "paths.lua"), base],
                env={**os.environ, "PATHS_FILE": str(Path(tmp) / "paths.txt")},
                capture_output=True, text=True, timeout=duration + 60, check=True,
            ).stdout  # fmt: skip

        run(WARM_UP_SECONDS)
        out = run(seconds)

    def ms(label: str) -> float:
        m = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
        if not m:
            return float("nan")
        return float(m[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m[2]]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
        "p50": ms("50%"),
        "p99": ms("99%"),
        "errors": float(errors[1]) if errors else 0.0,
    }


def once(base: str, path: str) -> float:
    began = time.perf_counter()
    status, _ = get(base, path)
    took = (time.perf_counter() - began) * 1000
    return took if status < 400 else float("nan")


def report(label: str, figures: dict[str, float]) -> float:
    print(
        f"  {label:52} {figures['rps']:8.0f}/s   p50 {figures['p50']:6.1f} ms   "
        f"p99 {figures['p99']:6.1f} ms   errors {figures['errors']:.0f}"
    )
    return figures["rps"]


# --- the body and its bundle --------------------------------------------------------------------

PASSPHRASE = "bench register passphrase"
CERTREG = str(Path(sys.executable).with_name("certreg"))


def make_body(folder: Path, db: Path) -> tuple[Path, Path]:
    """A body made by ``certreg init`` whose register.db is ``db`` (linked), and a bundle
    made by ``certreg publish`` whose public.db is ``db`` (linked): (data folder, bundle)."""
    data, bundle = folder / "data", folder / "bundle"
    env = {**os.environ, "CERTREG_PASSPHRASE": PASSPHRASE}
    subprocess.run(
        [CERTREG, "init", "--data", str(data), "--name", "Bench Certification Body",
         "--public-url", "https://cb.example", "--country", "DE"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        [CERTREG, "publish", "--data", str(data), str(bundle)],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    # The new body's watermark and lookup key: with them the server finds the big register up
    # to date with its issuer.db and serves it, instead of rebuilding it from issuer.db.
    own = sqlite3.connect(data / "register.db")
    meta = own.execute("SELECT key, value FROM register_meta").fetchall()
    own.close()
    big = sqlite3.connect(db)
    with big:
        big.executemany(
            "INSERT INTO register_meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            meta,
        )
    big.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    big.close()
    for name in ("register.db", "register.db-wal", "register.db-shm"):
        (data / name).unlink(missing_ok=True)
    (data / "register.db").symlink_to(db)
    (bundle / "public.db").unlink()
    (bundle / "public.db").symlink_to(db)
    return data, bundle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--only", choices=["plain", "serve", "keyless"], action="append", help="(repeatable)"
    )
    parser.add_argument("--home", action="store_true", help="time the home page's searches")
    parser.add_argument("--requests", type=int, default=200, help="(--home) per kind")
    args = parser.parse_args()
    db = CACHE / f"register-v2-{args.rows}.db"
    began = time.perf_counter()
    numbers = build(db, args.rows)
    took = time.perf_counter() - began
    print(f"register.db: {args.rows:,} certificates ({took:.0f} s to build or load)")
    client = "wrk" if shutil.which("wrk") else "the Python client"
    print(
        f"load: {client}, {args.clients} keep-alive connections, {args.seconds:.0f} s each, "
        "random existing numbers"
    )
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    if args.home:
        home_searches(db, numbers, args)
        return
    only = set(args.only or ["plain", "serve", "keyless"])
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        data, bundle = make_body(Path(folder), db)
        if "plain" in only:
            figures["plain"] = plain(db, numbers, args)
        if "serve" in only:
            figures["serve"] = served(data, numbers, args)
        if "keyless" in only:
            figures["keyless"] = keyless(bundle, numbers, args)
    if "plain" in figures:
        print(f"\n/c/{{number}} against plain Datasette's row JSON "
              f"({figures['plain']:.0f}/s):")  # fmt: skip
        for name, label in (("serve", "certreg serve"), ("keyless", "certreg register serve")):
            if name in figures:
                print(f"  {label:28} {figures[name] / figures['plain']:5.2f}x")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


def plain(db: Path, numbers: list[str], args: argparse.Namespace) -> float:
    port = free_port()
    command = [sys.executable, "-m", "datasette", "serve", "--immutable", str(db),
               "--port", str(port), "--setting", "sql_time_limit_ms", "3000"]  # fmt: skip
    name = db.stem
    with running("plain Datasette (datasette serve --immutable)", command, port,
                 "/-/versions.json") as server:  # fmt: skip
        base = server.base
        rps = report("row JSON  /db/certifications/{number}.json",
                     measure(base, [f"/{name}/certifications/{n}.json" for n in numbers],
                             args.clients, args.seconds))  # fmt: skip
        report("row page  /db/certifications/{number}",
               measure(base, [f"/{name}/certifications/{n}" for n in numbers],
                       args.clients, args.seconds))  # fmt: skip
        facets = once(base, f"/{name}/certifications?_facet=scheme_id&_facet=status&_facet=country")
        search = once(base, f"/{name}/certifications?_search=Name42")
        print(f"  {'faceted table page (live facets)':52} {facets:8.0f} ms")
        print(f"  {'full-text search':52} {search:8.0f} ms")
    return rps


def served(data: Path, numbers: list[str], args: argparse.Namespace) -> float:
    """``certreg serve`` as an operator runs it (its default log level, the access log on)."""
    port = free_port()
    command = [CERTREG, "serve", "--data", str(data), "--port", str(port)]
    env = {"CERTREG_PASSPHRASE": PASSPHRASE}
    with running("certreg serve (the body's whole service)", command, port, "/register/",
                 env) as server:  # fmt: skip
        rps = _certreg_pages(server.base, numbers, args)
        directory = once(server.base, "/register/public/certifications")
        search = once(server.base, "/register/public/certifications?_search=Name42")
        print(f"  {'directory page (precomputed facet counts)':52} {directory:8.0f} ms")
        print(f"  {'full-text search':52} {search:8.0f} ms")
    return rps


def keyless(bundle: Path, numbers: list[str], args: argparse.Namespace) -> float:
    """``certreg register serve BUNDLE``: the keyless public site."""
    port = free_port()
    command = [CERTREG, "register", "serve", str(bundle), "--port", str(port)]
    with running("certreg register serve BUNDLE (the keyless public site)", command, port,
                 "/register/") as server:  # fmt: skip
        return _certreg_pages(server.base, numbers, args)


def _certreg_pages(base: str, numbers: list[str], args: argparse.Namespace) -> float:
    status, page = get(base, f"/c/{numbers[0]}")
    if status != 200 or numbers[0].encode() not in page:
        raise SystemExit(f"/c/{numbers[0]} answered {status}: not the big register?")
    rps = report("certificate page  /c/{number}",
                 measure(base, [f"/c/{n}" for n in numbers],
                         args.clients, args.seconds))  # fmt: skip
    report("row JSON  /register/public/certifications/{number}.json",
           measure(base, [f"/register/public/certifications/{n}.json" for n in numbers],
                   args.clients, args.seconds))  # fmt: skip
    return rps


# --- the home page (--home) ----------------------------------------------------------------


def home_searches(db: Path, numbers: list[str], args: argparse.Namespace) -> None:
    print(f"home page searches: {args.requests} of each kind, one at a time, kinds in rotation")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    only = set(args.only or ["serve", "keyless"])
    with tempfile.TemporaryDirectory() as folder:
        data, bundle = make_body(Path(folder), db)
        servers = []
        if "serve" in only:
            servers.append(("certreg serve", [CERTREG, "serve", "--data", str(data)],
                            {"CERTREG_PASSPHRASE": PASSPHRASE}))  # fmt: skip
        if "keyless" in only:
            servers.append(("certreg register serve BUNDLE",
                            [CERTREG, "register", "serve", str(bundle)], None))  # fmt: skip
        for label, command, env in servers:
            port = free_port()
            with running(label, [*command, "--port", str(port)], port, "/verify", env) as server:
                _time_home(server.base, numbers, args.requests)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


def _home_paths(rng: random.Random, numbers: list[str], base: str) -> dict[str, str]:
    """One path of each kind, drawn at random."""
    from urllib.parse import urlencode

    number = rng.choice(numbers)
    prefix, a, b, check = number.split("-")
    typed = f"{prefix.lower()} {a} {b.lower()} {check}"
    name = f"Name{rng.randrange(997)}"
    first = get(base, "/?" + urlencode({"q": name}))[1].decode()
    later = re.search(r'<a href="([^"]+)" rel="next">', first)
    if later is None:
        raise SystemExit(f"no second page for {name}: not the big register?")
    return {
        "number (lower case, spaces)": "/?" + urlencode({"q": typed}),
        "name (~1,000 matches)": "/?" + urlencode({"q": name}),
        "rare name (1 match)": "/?" + urlencode({"q": f"Holder {rng.randrange(10**6):06d}"}),
        "name + scheme + status": "/?"
        + urlencode({"q": name, "scheme": "cwi", "status": "SUSPENDED"}),
        "name, next page": later[1].replace("&amp;", "&"),
        "filters only (scheme + status)": "/?" + urlencode({"scheme": "isa", "status": "EXPIRED"}),
        "worst: common word + absent scope": "/?" + urlencode({"q": "Holder", "scope": "VT2"}),
        "reference: /c/{number}": f"/c/{number}",
    }


def _time_home(base: str, numbers: list[str], requests: int) -> None:
    import http.client

    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    rng = random.Random(7)
    timings: dict[str, list[float]] = {}
    found = get(base, "/?q=" + numbers[0].replace("-", "+").lower())[1]
    if numbers[0].encode() not in found:
        raise SystemExit("the home page did not find a number: not the big register?")
    for _ in range(3):  # warm-up: templates compiled, caches warm
        for path in _home_paths(rng, numbers, base).values():
            get(base, path)
    for _ in range(requests):
        for kind, path in _home_paths(rng, numbers, base).items():
            began = time.perf_counter()
            conn.request("GET", path)
            answer = conn.getresponse()
            answer.read()
            took = (time.perf_counter() - began) * 1000
            if answer.status != 200:
                raise SystemExit(f"{path} answered {answer.status}")
            timings.setdefault(kind, []).append(took)
    conn.close()
    for kind, values in timings.items():
        values.sort()
        p95 = values[max(0, int(len(values) * 0.95) - 1)]
        print(f"  {kind:52} p50 {statistics.median(values):6.1f} ms   p95 {p95:6.1f} ms")


if __name__ == "__main__":
    main()

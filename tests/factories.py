"""Test factories shared by many test files (no tests here): a clock the test moves by hand, a
certification body with the welding-inspector scheme and its staff, the rows of a bulk-issuance
CSV, a free port on 127.0.0.1, a loopback listener that records what reaches it (the `listener`
fixture, in conftest.py), and the readers of the official test vectors in tests/vectors/.

Everything here is the real thing: bodies are real files with real keys (the fast "interactive"
key derivation), ports are real sockets. Where test files needed different starting points
(a fixed date or today, one scheme field or not), that difference is a parameter, so that each
test keeps exactly what it had."""

from __future__ import annotations

import csv
import json
import socket
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from certreg.issuer import db as issuer_db
from certreg.issuer.service import CertificationBody

PASSPHRASE = "correct horse battery staple"

#: Where a `Clock()` starts unless told otherwise: a fixed morning, so that dates in tests
#: (expiry, recertification windows) do not depend on the day the tests run.
MARCH_2026 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test sets (``clock.now = ...``) and moves by hand (``clock.advance(days=3)``),
    given where certreg takes a ``clock`` (the body, the verifier, the CLI)."""

    def __init__(self, now: datetime = MARCH_2026) -> None:
        self.now = now

    @classmethod
    def real(cls, *, behind: timedelta = timedelta()) -> Clock:
        """Today's time to the second, ``behind`` in the past: for what is also read by code
        that looks at the real time (a verifier in another process, a browser)."""
        return cls(datetime.now(UTC).replace(microsecond=0) - behind)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def day(self, days: int = 0) -> str:
        """The date ``days`` from now, as a CLI takes it (YYYY-MM-DD)."""
        return (self.now.date() + timedelta(days=days)).isoformat()


# -- a certification body -----------------------------------------------------------------------

#: The welding-inspector scheme most tests certify against.
CWI_SCHEME: dict[str, Any] = {
    "code": "CWI",
    "name": "Certified Welding Inspector",
    "description": "Inspection of fusion welds.",
    "normative_reference": "ISO 9712:2021",
    "validity_months": 36,
    "max_suspension_days": 180,
    "publication_policy": "directory",
    "scope": [("UT2", "Ultrasonic testing, level 2"), ("VT2", "Visual testing, level 2")],
}

#: The scheme's normative document online (some tests check that credentials name it).
ISO_9712_URL = "https://www.iso.org/standard/74629.html"

#: The staff members tests ask for, by the name tests call them.
STAFF_NAMES = {
    "admin": "Ada Admin",
    "officer": "Olga Officer",
    "decider": "Dana Decider",
    "decider2": "Dirk Decider",
    "examiner": "Erik Examiner",
}


def make_body(
    path: Path,
    *,
    clock: Clock | None = None,
    did_method: str = "key",
    scheme: dict[str, Any] | None = None,
    **options: Any,
) -> CertificationBody:
    """A new body at ``path`` (https://cb.example) with the scheme "cwi": `CWI_SCHEME`, with
    ``scheme``'s fields added or replaced. ``options`` go to `CertificationBody.init`."""
    if clock is not None:
        options["clock"] = clock
    body = CertificationBody.init(
        path,
        legal_name="Example Certification Body",
        public_url="https://cb.example",
        passphrase=PASSPHRASE,
        did_method=did_method,
        kdf="interactive",
        **options,
    )
    body.add_scheme("cwi", **(CWI_SCHEME | (scheme or {})))
    return body


def add_staff(body: CertificationBody, **roles: list[str]) -> dict[str, str]:
    """Staff members, in the order given: ``add_staff(body, decider=["decision_maker"])`` adds
    Dana Decider with that role. Returns their ids by the same keys."""
    return {who: body.add_staff(STAFF_NAMES[who], roles=granted) for who, granted in roles.items()}


# -- bulk issuance (``certreg issue --csv``) ---------------------------------------------------

#: The columns of a bulk-issuance CSV, in order.
HEADER = ["external_id", "full_name", "email", "scheme", "scope", "assessed_on", "examiner"]
HEADER += ["evidence"]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    """A bulk-issuance CSV at ``path``: ``header``, then ``rows``."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        out.writerows(rows)
    return path


def row(i: int, examiner: str, **changes: str) -> list[str]:
    """Row ``i`` of a bulk CSV (a passed CWI candidate examined by ``examiner``), with
    ``changes`` to its cells by column name."""
    cells = {
        "external_id": f"grant-{i:05d}",
        "full_name": f"Candidate {i}",
        "email": f"c{i}@example.org",
        "scheme": "cwi",
        "scope": "UT2:steel, 6-40 mm;VT2" if i % 2 else "VT2",
        "assessed_on": "2025-11-20",
        "examiner": examiner,
        "evidence": f"examination record {i}",
    } | changes
    return [cells[c] for c in HEADER]


# -- the network, on 127.0.0.1 only ---------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def loopback_listener(
    reply: bytes = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
) -> Iterator[tuple[int, list[bytes]]]:
    """A plain TCP listener on 127.0.0.1: yields its port and the list of what each connection
    sent (its first 4 KiB), answering ``reply``. It gives up after 5 s without a connection,
    so that a test never hangs on it."""
    seen: list[bytes] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(5)

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:  # closed by the test, or 5 s without a connection
                return
            with conn:
                conn.settimeout(1)
                try:
                    seen.append(conn.recv(4096))
                    conn.sendall(reply)
                except OSError:
                    seen.append(b"")

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield server.getsockname()[1], seen
    finally:
        server.close()


# -- the official test vectors (tests/vectors/, sources in tests/vectors/SOURCES.tsv) -----------

VECTORS = Path(__file__).parent / "vectors"

#: The W3C example contexts the official vectors use (tests/vectors/contexts/); certreg's
#: production loader never sees them.
EXAMPLE_CONTEXTS = {
    "https://www.w3.org/ns/credentials/examples/v2": "credentials-examples-v2.jsonld",
    "https://www.w3.org/ns/credentials/undefined-terms/v2": "credentials-undefined-terms-v2.jsonld",
}


def read_json(path: str | Path) -> Any:
    """A JSON file under tests/vectors/."""
    return json.loads((VECTORS / path).read_text(encoding="utf-8"))


def read_text(path: str | Path) -> str:
    """A text file under tests/vectors/."""
    return (VECTORS / path).read_text(encoding="utf-8")


def undo_migrations_after(conn: sqlite3.Connection, version: int) -> None:
    """Take ``conn``'s database back to schema ``version``: drop what later migrations made
    (tables, indexes, triggers, columns), found by comparing with a schema built up to it."""
    reference = sqlite3.connect(":memory:")
    for step in issuer_db.MIGRATIONS[:version]:
        if callable(step):
            step(reference)
        else:
            for statement in issuer_db._statements(step):
                reference.execute(statement)

    def objects(c: sqlite3.Connection) -> dict[str, str]:
        return dict(c.execute("SELECT name, type FROM sqlite_master WHERE sql IS NOT NULL"))

    kept = objects(reference)
    for name, kind in objects(conn).items():
        if name not in kept and name != "schema_migrations" and kind in ("trigger", "index"):
            conn.execute(f'DROP {kind.upper()} IF EXISTS "{name}"')
    for name, kind in objects(conn).items():
        if name not in kept and name != "schema_migrations" and kind == "table":
            conn.execute(f'DROP TABLE IF EXISTS "{name}"')
    for name, kind in kept.items():
        if kind == "table":
            columns = {row[1] for row in reference.execute(f'PRAGMA table_info("{name}")')}
            for row in conn.execute(f'PRAGMA table_info("{name}")').fetchall():
                if row[1] not in columns:
                    conn.execute(f'ALTER TABLE "{name}" DROP COLUMN "{row[1]}"')
    conn.execute("DELETE FROM schema_migrations WHERE version > ?", (version,))
    conn.commit()

"""The staff console's reads (issuer.console_data) at 1,000,000 certifications, against 200 ms.

    .venv/bin/python bench/bench_console.py [--certs 1000000] [--runs 200] [--verify]
    .venv/bin/python bench/bench_console.py --pages [--certs 1000000] [--runs 40]

Builds (once, cached in bench/.cache/console-<certs>/) a certification body whose issuer.db
holds ``--certs`` certifications of about 0.8 people each, in the real schema (issuer/db.py,
all migrations, V8 included), then times each console query over ``--runs`` random inputs and
prints p50 and p95 next to the 200 ms budget the issue sets for the console's pages.

**How the body is built.** Fast, not faithfully: signing a million credentials would take
hours, so the rows are written with bulk SQL inserts (persons, assessments, involvements,
certifications, their scope, decisions), the audit chain through ``audit.append_many`` (the
one writer: a real, verifiable chain of about three events a certification), and every
certification has its status-list entry (``status_entries``, values set for the suspended and
withdrawn). Only a sample of 20,000 certifications has ``credentials`` rows, and their
documents are *unsigned* JSON that carries the real ``credentialStatus`` entries (what the
certificate view reads); 1,000 of them have share links (random hashes, no tokens). The status
lists are signed and published with the body's real key.

**The baseline** is the same database without migration V8 (a copy with its tables, triggers
and indexes dropped) and the queries a console would have had to run on that schema: COUNT
... GROUP BY for the dashboard, ``LIKE`` for names (which cannot even fold accents), scans for
e-mail and a person's assessments and decisions, the audit log by ``seq``. Each input is timed
on both, one after the other, so both see the same load. ``--verify`` also times the full
chain verification (O(n), the "verify the chain" button), once.

**--pages** times the console's *pages* instead, as a browser gets them: the same body served
by the real ``certreg serve`` (uvicorn on 127.0.0.1, a free port), a console account made in
the body with the service's own functions (``add_staff``, an enrolment link completed with a
TOTP secret the bench keeps in the body's folder), signed in through ``/console/login`` with
password and TOTP code, then each page fetched over HTTP with that session (keep-alive, one
request at a time) and timed from request to the last byte of the HTML. A "page 2" or
"later page" follows the page's own "Next page" link (untimed) and times the page it leads to.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from certreg.issuer import audit  # noqa: E402
from certreg.issuer.console_data import ConsoleData  # noqa: E402
from certreg.issuer.db import connect  # noqa: E402
from certreg.issuer.lifecycle.rules import last_valid_day  # noqa: E402
from certreg.issuer.numbers import new_number  # noqa: E402
from certreg.issuer.service import CertificationBody  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
BUDGET_MS = 200.0
PASSPHRASE = "bench console passphrase"
SAMPLE_CREDENTIALS = 20_000
SAMPLE_SHARES = 1_000
#: (id, code, validity months, recertification window months)
SCHEMES = [
    ("cwi", "CWI", 36, 6),
    ("nde", "NDE", 60, 12),
    ("isa", "ISA", 36, 3),
    ("pmp", "PMP", 36, 6),
    ("hse", "HSE", 24, 6),
    ("eng", "ENG", 60, 12),
]
FIRST = (
    "Jörg José Zoë Åsa Ana Anaïs Björn Chloé Dmitri Élodie François Grete Hélène Ingrid Jan "
    "Jane John Jürgen Karin Laszlo Léa Lucía Marek Maria Mário Noémie Olga Paulo Renée Sören "
    "Stefan Tomás Ulla Vera Wojciech Xavier Yannick Zdeněk Ahmed Fatima"
).split()
LAST = (
    "Müller Álvarez Ødegård Öberg Nuñez Dupont Durand Lefèvre Smith Jones Brown García Martín "
    "Rossi Bianchi Schäfer Weiß Nowak Kowalski Novák Dvořák Horváth Nagy Papadopoulos Jensen "
    "Hansen Johansson Lindqvist Virtanen Korhonen Silva Santos Pereira Costa Murphy O'Brien "
    "Kelly Walsh Byrne Ryan Doyle Janssen de-Vries van-Dijk Bakker Visser Smit Meijer Mulder "
    "Bos Vos Peters Hendriks Leclerc Girard Bonnet Fournier Rousseau Faure André"
).split()


# --------------------------------------------------------------------------------------------
# Building the body (once)


def build(folder: Path, certs: int) -> None:
    started = time.perf_counter()
    if folder.exists():
        shutil.rmtree(folder)
    rng = random.Random(17)
    today = datetime.now(UTC).date()
    body = CertificationBody.init(
        folder,
        legal_name="Bench Certification Body",
        public_url="https://cb.example",
        passphrase=PASSPHRASE,
        did_method="key",
        kdf="interactive",
    )
    for scheme_id, code, validity, window in SCHEMES:
        body.add_scheme(
            scheme_id,
            code=code,
            name=f"Scheme {code}",
            description="bench",
            normative_reference="ISO 9712:2021",
            validity_months=validity,
            max_suspension_days=180,
            publication_policy="directory",
            scope=[("A1", "Item A1"), ("B2", "Item B2")],
        )
        body.db.execute(  # add_scheme takes the default window (6 months); vary it
            "UPDATE scheme_versions SET recertification_window_months = ? WHERE scheme_id = ?",
            [window, scheme_id],
        )
    examiners = [body.add_staff(f"Examiner {i}", roles=["officer"]) for i in range(20)]
    deciders = [body.add_staff(f"Decider {i}", roles=["decision_maker"]) for i in range(10)]
    db = body.db
    conn = db.conn
    print(f"building {certs:,} certifications in {folder} ...", flush=True)

    # Who holds what: about 0.8 people a certification, oldest first (the audit log's order).
    people = int(certs * 0.8)
    days = 6 * 365
    grants = sorted(
        (today - timedelta(days=rng.randrange(days)), i % people if i >= people else i, i)
        for i in range(certs)
    )
    person_ids = [f"p-{i:08d}" for i in range(people)]
    person_rows = []
    seen_person: set[int] = set()
    rows: dict[str, list[tuple[Any, ...]]] = {
        k: [] for k in ("certs", "scope", "assess", "inv", "dec", "entries")
    }
    events_by_day: dict[date, list[audit.NewEvent]] = {}
    statuses: list[tuple[str, str, str, str]] = []  # (cert id, number, status, person)
    numbers: list[str] = []
    list_no, idx_in_list = 1, 0
    for start, person, i in grants:
        scheme_id, code, validity, _ = SCHEMES[(person + i) % len(SCHEMES)]
        at = f"{start.isoformat()}T09:00:00Z"
        pid = person_ids[person]
        day_events = events_by_day.setdefault(start, [])
        if person not in seen_person:
            seen_person.add(person)
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            person_rows.append((pid, f"EXT-{person:07d}", name, f"person{person}@example.org", at))
            day_events.append(("person_added", None, pid, {}))
        until = last_valid_day(start, validity)
        status = "ACTIVE"
        suspended_until = None
        roll = rng.random()
        if until < today:
            status = "EXPIRED" if roll > 0.01 else "ACTIVE"  # 1%: the expiry job is behind
        elif roll < 0.03:
            status = "SUSPENDED"
            suspended_until = (today + timedelta(days=rng.randrange(-60, 120))).isoformat()
        elif roll < 0.05:
            status = "WITHDRAWN"
        cid = f"c-{i:08d}"
        number = new_number(code)
        numbers.append(number)
        aid = f"a-{i:08d}"
        examiner = examiners[i % len(examiners)]
        decider = deciders[i % len(deciders)]
        rows["assess"].append((aid, pid, scheme_id, "pass", start.isoformat(), "A1", at))
        rows["inv"].append((pid, examiner, aid, at))
        rows["certs"].append(
            (
                cid,
                number,
                pid,
                scheme_id,
                status,
                start.isoformat(),
                until.isoformat(),
                at,
                suspended_until,
                f"ext-{i:08d}",
                at,
            )
        )
        rows["scope"].append((cid, "A1", at))
        rows["dec"].append(
            (
                f"d-{i:08d}",
                "grant",
                cid,
                pid,
                scheme_id,
                decider,
                at,
                start.isoformat(),
                "exam",
                "",
                "{}",
            )
        )
        day_events.append(("assessment_recorded", None, pid, {"assessment": aid}))
        day_events.append(("decision_grant", decider, cid, {"decision": f"d-{i:08d}"}))
        value = {"SUSPENDED": 1, "WITHDRAWN": 2}.get(status, 0)
        if idx_in_list >= 65_536:
            list_no, idx_in_list = list_no + 1, 0
        rows["entries"].append((f"message-{list_no}", 131_072 + idx_in_list, f"urn:c:{cid}", value))
        idx_in_list += 1
        if status != "ACTIVE":
            statuses.append((cid, number, status, pid))

    def insert(sql: str, data: list[tuple[Any, ...]]) -> None:
        with_started = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany(sql, data)
        conn.execute("COMMIT")
        print(
            f"  {len(data):>9,} rows  {time.perf_counter() - with_started:6.1f} s  {sql[:50]}",
            flush=True,
        )

    insert(
        "INSERT INTO persons (id, external_id, full_name, email, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        person_rows,
    )
    insert(
        "INSERT INTO assessments (id, person_id, scheme_id, scheme_version, result, assessed_on, "
        "scope_codes, created_at) VALUES (?, ?, ?, 1, ?, ?, ?, ?)",
        rows["assess"],
    )
    insert(
        "INSERT INTO involvements (person_id, staff_id, role, assessment_id, recorded_at) "
        "VALUES (?, ?, 'examiner', ?, ?)",
        rows["inv"],
    )
    insert(
        "INSERT INTO certifications (id, number, person_id, scheme_id, scheme_version, status, "
        "valid_from, valid_until, status_since, suspended_until, external_id, updated_at) "
        "VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)",
        rows["certs"],
    )
    insert(
        "INSERT INTO certification_scope (certification_id, scope_code, status, since) "
        "VALUES (?, ?, 'active', ?)",
        rows["scope"],
    )
    insert(
        "INSERT INTO decisions (id, type, certification_id, person_id, scheme_id, decided_by, "
        "decided_at, effective_date, evidence, reason, details) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows["dec"],
    )
    later = []
    for n, (cid, _number, status, pid) in enumerate(statuses):
        kind = {"SUSPENDED": "suspend", "WITHDRAWN": "withdraw", "EXPIRED": "expire"}[status]
        at = f"{(today - timedelta(days=n % 30)).isoformat()}T10:00:00Z"
        decider = None if kind == "expire" else deciders[n % len(deciders)]
        later.append((f"s-{n:08d}", kind, cid, pid, "cwi", decider, at, at[:10], "", "r", "{}"))
        events_by_day.setdefault(today - timedelta(days=n % 30), []).append(
            (f"decision_{kind}", decider, cid, {"decision": f"s-{n:08d}"})
        )
    insert(
        "INSERT INTO decisions (id, type, certification_id, person_id, scheme_id, decided_by, "
        "decided_at, effective_date, evidence, reason, details) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        later,
    )

    # Status lists: one message list per 65,536 certifications, every entry recorded.
    lists = sorted({e[0] for e in rows["entries"]})
    conn.execute("BEGIN")
    for list_id in lists:
        conn.execute(
            "INSERT OR IGNORE INTO status_lists (id, purpose, entries, allocated, created_at) "
            "VALUES (?, 'message', 262144, 0, ?)",
            (list_id, f"{today.isoformat()}T00:00:00Z"),
        )
    conn.execute("COMMIT")
    insert(
        "INSERT INTO status_entries (list_id, idx, credential_id, value) VALUES (?, ?, ?, ?)",
        rows["entries"],
    )
    conn.execute(
        "UPDATE status_lists SET allocated = (SELECT COUNT(*) FROM status_entries e "
        "WHERE e.list_id = status_lists.id)"
    )

    # A sample of credentials (unsigned documents with the real status entries), share links.
    sample = rng.sample(range(certs), min(certs, SAMPLE_CREDENTIALS))
    cred_rows, share_rows = [], []
    by_id = {r[0]: r for r in rows["certs"]}
    entry_of = {e[2][len("urn:c:") :]: e for e in rows["entries"]}
    for n, i in enumerate(sample):
        cid = f"c-{i:08d}"
        list_id, index, _, _ = entry_of[cid]
        status = {
            "id": f"https://cb.example/status/{list_id}#{index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "message",
            "statusListIndex": str(index),
            "statusSize": 2,
            "statusListCredential": f"https://cb.example/status/{list_id}",
        }
        document = json.dumps({"id": f"urn:uuid:{cid}", "credentialStatus": status})
        issued = by_id[cid][7]
        cred_rows.append(
            (f"urn:uuid:{cid}", cid, document, list_id, index, list_id, index, issued, issued)
        )
        if n < SAMPLE_SHARES:
            share_rows.append((f"s-{n}", cid, os.urandom(16).hex(), os.urandom(16).hex(), issued))
    insert(
        "INSERT INTO credentials (id, certification_id, revision, document, cryptosuite, state, "
        "revocation_list, revocation_index, suspension_list, suspension_index, issued_at, "
        "state_changed_at) VALUES (?, ?, 1, ?, 'eddsa-rdfc-2022', 'current', ?, ?, ?, ?, ?, ?)",
        cred_rows,
    )
    insert(
        "INSERT INTO share_links (id, certification_id, token_hash, exchange_hash, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        share_rows,
    )

    # The audit chain, day by day, through its one writer.
    chain_started = time.perf_counter()
    total = 0
    for day in sorted(events_by_day):
        batch = events_by_day[day]
        audit.append_many(db, batch, at=f"{day.isoformat()}T09:00:00Z")
        total += len(batch)
    print(f"  {total:>9,} events {time.perf_counter() - chain_started:6.1f} s  audit.append_many")
    store_body = CertificationBody.open(folder, passphrase=PASSPHRASE)
    store_body.status_lists.publish_changed()
    audit.checkpoint(
        store_body.db, store_body.signer, issuer=store_body.info["did"], at=store_body._now()
    )
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (folder / "numbers.json").write_text(json.dumps(rng.sample(numbers, 5_000)))
    (folder / "complete").write_text(f"{certs}\n")
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)


def baseline_copy(folder: Path) -> Path:
    """issuer.db without migration V8: its tables, triggers and indexes dropped."""
    target = folder / "baseline.db"
    if target.exists():
        return target
    source = sqlite3.connect(folder / "issuer.db")
    source.execute("VACUUM INTO ?", (str(target),))
    source.close()
    conn = sqlite3.connect(target)
    for kind, name in conn.execute(
        "SELECT type, name FROM sqlite_master WHERE type IN ('trigger', 'index') AND name IN "
        "('persons_console_insert', 'persons_console_rename', 'persons_console_delete', "
        "'certifications_count_insert', 'certifications_count_update', "
        "'certifications_count_delete', 'persons_by_email', 'assessments_by_person', "
        "'decisions_by_person', 'certifications_suspended', 'certifications_by_scheme_expiry', "
        "'events_by_at', 'events_by_kind_at')"
    ).fetchall():
        conn.execute(f"DROP {kind.upper()} {name}")
    for table in ("person_search", "person_keys", "certification_counts"):
        conn.execute(f"DROP TABLE {table}")
    conn.commit()
    conn.execute("VACUUM")
    conn.close()
    return target


# --------------------------------------------------------------------------------------------
# Timing


def baseline_queries(conn: sqlite3.Connection, today: date) -> dict[str, Callable[[Any], Any]]:
    """What the console would run on the schema before V8 (the same answers, where the old
    schema can give them; the name search cannot fold accents)."""
    iso = today.isoformat()

    def rows(sql: str, *params: Any) -> list[Any]:
        return conn.execute(sql, params).fetchall()

    return {
        "dashboard counts": lambda _: rows(
            "SELECT scheme_id, status, COUNT(*) FROM certifications GROUP BY 1, 2"
        ),
        "due: suspensions overdue": lambda _: (
            rows(
                "SELECT COUNT(*) FROM certifications WHERE status = 'SUSPENDED' "
                "AND suspended_until < ?",
                iso,
            )
            + rows(
                "SELECT number FROM certifications WHERE status = 'SUSPENDED' "
                "AND suspended_until < ? ORDER BY suspended_until LIMIT 10",
                iso,
            )
        ),
        "due: recertification open": lambda _: rows(
            "SELECT scheme_id, COUNT(*) FROM certifications WHERE status = 'ACTIVE' "
            "AND valid_until BETWEEN ? AND ? GROUP BY 1",
            iso,
            (today + timedelta(days=183)).isoformat(),
        ),
        "search: name words": lambda q: rows(
            "SELECT id FROM persons WHERE full_name LIKE ? ORDER BY rowid DESC LIMIT 26",
            f"%{q}%",
        ),
        "search: number": lambda q: rows(
            "SELECT person_id FROM certifications WHERE number = ?", q.upper()
        ),
        "search: e-mail": lambda q: rows(
            "SELECT id FROM persons WHERE email = ? COLLATE NOCASE LIMIT 26", q
        ),
        "person page": lambda pid: (
            rows("SELECT * FROM assessments WHERE person_id = ?", pid),
            rows("SELECT * FROM decisions WHERE person_id = ? ORDER BY decided_at", pid),
            rows("SELECT * FROM certifications WHERE person_id = ?", pid),
        ),
        "audit log: kind + month": lambda m: rows(
            "SELECT * FROM events WHERE kind = 'decision_grant' AND at >= ? AND at < ? "
            "ORDER BY seq DESC LIMIT 51",
            *m,
        ),
        "audit log: a person": lambda pid: rows(
            "SELECT * FROM events WHERE subject IN (SELECT ?1 UNION SELECT id FROM "
            "certifications WHERE person_id = ?1 UNION SELECT number FROM certifications "
            "WHERE person_id = ?1) ORDER BY seq DESC LIMIT 51",
            pid,
        ),
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--certs", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--baseline-runs", type=int, default=20)
    parser.add_argument("--verify", action="store_true", help="also time the full chain check")
    parser.add_argument(
        "--pages", action="store_true", help="time the console's pages over HTTP instead"
    )
    parser.add_argument(
        "--only", default="", help="--pages: only the pages whose name contains this"
    )
    args = parser.parse_args()
    folder = CACHE / f"console-{args.certs}"
    if not (folder / "complete").exists():
        build(folder, args.certs)
    if args.pages:
        from bench_console_pages import run_pages

        run_pages(folder, certs=args.certs, runs=args.runs, only=args.only)
        return
    base_conn = sqlite3.connect(baseline_copy(folder))
    db = connect(folder / "issuer.db")
    data = ConsoleData(db)
    today = data.today()
    rng = random.Random(5)
    numbers = json.loads((folder / "numbers.json").read_text())
    people = int(args.certs * 0.8)

    def person() -> str:
        return f"p-{rng.randrange(people):08d}"

    def month() -> tuple[str, str]:
        start = today.replace(day=1) - timedelta(days=30 * rng.randrange(1, 60))
        start = start.replace(day=1)
        return start.isoformat(), (start + timedelta(days=31)).replace(day=1).isoformat()

    def words() -> str:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        return rng.choice([last[:3], f"{first[:2]} {last[:4]}", f"{first} {last}", last.lower()])

    def page_two(q: str) -> Any:
        first = data.search(q, by="name")
        return data.search(q, by="name", after=first.next) if first.next else first

    base = baseline_queries(base_conn, today)
    cases: list[tuple[str, Callable[[], Any], Callable[[Any], Any], str | None]] = [
        ("dashboard (whole)", lambda: None, lambda _: data.dashboard(), None),
        ("dashboard counts", lambda: None, lambda _: data.counts(), "dashboard counts"),
        (
            "due: suspensions overdue",
            lambda: None,
            lambda _: data.due("suspension_overdue", limit=10),
            "due: suspensions overdue",
        ),
        (
            "due: recertification open",
            lambda: None,
            lambda _: data.due("recertification_open", limit=10),
            "due: recertification open",
        ),
        ("due: a later page", lambda: None, lambda _: later_page(data), None),
        ("status list health", lambda: None, lambda _: data.list_health(), None),
        ("chain state", lambda: None, lambda _: data.chain(), None),
        ("search: name words", words, lambda q: data.search(q, by="name"), "search: name words"),
        ("search: name, page 2", words, page_two, None),
        (
            "search: name nobody has",
            lambda: rng.choice(["Zzyzx", "Qwerty Uiop", "Xylo"]),
            lambda q: data.search(q, by="name"),
            "search: name words",
        ),
        (
            "search: number (any)",
            lambda: rng.choice(numbers).lower(),
            data.search,
            "search: number",
        ),
        (
            "search: e-mail (any)",
            lambda: f"PERSON{rng.randrange(people)}@example.org",
            data.search,
            "search: e-mail",
        ),
        ("search: external id", lambda: f"EXT-{rng.randrange(people):07d}", data.search, None),
        ("person page", person, data.person, "person page"),
        ("audit log: newest", lambda: None, lambda _: data.audit_log(), None),
        (
            "audit log: kind + month",
            month,
            lambda m: data.audit_log(kind="decision_grant", since=m[0], until=m[1]),
            "audit log: kind + month",
        ),
        ("audit log: a person", person, lambda p: data.audit_log(person=p), "audit log: a person"),
        (
            "audit log: a certificate",
            lambda: rng.choice(numbers),
            lambda n: data.audit_log(certificate=n),
            None,
        ),
        ("certificate view", lambda: rng.choice(numbers), data.certificate, None),
    ]
    sampled = [
        n
        for (n,) in db.execute(
            "SELECT c.number FROM credentials d JOIN certifications c ON c.id = d.certification_id "
            "LIMIT 500"
        )
    ]
    cases.append(
        ("certificate view (credential)", lambda: rng.choice(sampled), data.certificate, None)
    )

    load = os.getloadavg()
    print(
        f"\n{args.certs:,} certifications; load average {load[0]:.2f} {load[1]:.2f} "
        f"(2 cores shared); {args.runs} inputs per query, baseline on {args.baseline_runs}"
    )
    header = f"{'query':32} {'p50 ms':>8} {'p95 ms':>8} {'budget':>7}   {'baseline p50':>13} "
    print(header + f"{'p95':>8} {'p95 ratio':>10}")
    for name, make_input, run, base_name in cases:
        mine: list[float] = []
        theirs: list[float] = []
        for n in range(args.runs):
            value = make_input()
            t0 = time.perf_counter()
            run(value)
            mine.append((time.perf_counter() - t0) * 1000)
            if base_name is not None and n < args.baseline_runs:
                t0 = time.perf_counter()
                base[base_name](baseline_input(base_name, value))
                theirs.append((time.perf_counter() - t0) * 1000)
        p50, p95 = statistics.median(mine), percentile(mine, 95)
        verdict = "ok" if p95 < BUDGET_MS else "OVER"
        line = f"{name:32} {p50:8.2f} {p95:8.2f} {verdict:>7}"
        if theirs:
            b50, b95 = statistics.median(theirs), percentile(theirs, 95)
            line += f"   {b50:13.1f} {b95:8.1f} {b95 / p95:9.1f}x"
        print(line, flush=True)
    if args.verify:
        t0 = time.perf_counter()
        report = data.verify_chain(folder / "keys")
        print(
            f"\nverify the chain: {report.count:,} events, ok={report.ok}, "
            f"{time.perf_counter() - t0:.1f} s (O(n): a separate action, not a page)"
        )


def baseline_input(name: str, value: Any) -> Any:
    if name == "search: name words":
        return value.split()[-1]  # LIKE can look for one piece of the name at most
    return value


def later_page(data: ConsoleData) -> Any:
    """The third page of the recertification list (keyset: as cheap as the first)."""
    page = data.due("recertification_open", limit=25)
    for _ in range(2):
        if page.next is None:
            break
        page = data.due("recertification_open", limit=25, after=page.next)
    return page


if __name__ == "__main__":
    main()

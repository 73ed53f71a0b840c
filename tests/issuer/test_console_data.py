"""The staff console's data (issuer.console_data): what an officer finds, and in what order.

A real body on disk (issuer.db, key store, signed credentials, status lists), its clock driven
by hand so that deadlines, expiries and recertification windows fall on chosen days.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner
from factories import Clock, make_body

from certreg.issuer import audit
from certreg.issuer import db as issuer_db
from certreg.issuer.cli.audit import audit_group
from certreg.issuer.console_data import ConsoleData, last_expiry_in_window
from certreg.issuer.db import connect
from certreg.issuer.lifecycle import rules
from certreg.issuer.lifecycle.errors import Invalid, NotFound
from certreg.issuer.service import CertificationBody, ScopeGrant
from certreg.issuer.sharing import create_share
from certreg.verifier.standing import Status


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def body(tmp_path, clock) -> CertificationBody:
    return make_body(tmp_path / "cb", clock=clock)


@pytest.fixture
def staff(body):
    return {
        "examiner": body.add_staff("Erik Examiner", roles=["officer"]),
        "decider": body.add_staff("Dana Decider", roles=["decision_maker"]),
    }


@pytest.fixture
def data(body) -> ConsoleData:
    return ConsoleData.of(body)


def candidate(body, staff, name: str, **person) -> str:
    """A person who passed the CWI examination, examined by Erik."""
    person_id = body.add_person(name, **person)
    body.record_assessment(
        person_id,
        "cwi",
        result="pass",
        assessed_on="2026-02-20",
        examiners=[staff["examiner"]],
        scope_codes=["UT2", "VT2"],
    )
    return person_id


def grant(body, staff, person_id: str, **options):
    return body.grant(
        person_id,
        "cwi",
        [ScopeGrant("VT2")],
        decided_by=staff["decider"],
        evidence="examination 2026-02-20",
        **options,
    )


def every_page(fetch) -> list:
    """All hits of a paged query, following ``next`` to the end."""
    hits, after, pages = [], None, 0
    while True:
        page = fetch(after)
        pages += 1
        hits += list(page.hits if hasattr(page, "hits") else page.events)
        after = page.next
        if after is None:
            return hits
        assert pages < 100


# -- search ---------------------------------------------------------------------------------


def test_search_finds_a_person_by_each_key(body, staff, data):
    jorg = candidate(
        body,
        staff,
        "Jörg Müller-Lüdenscheidt",
        email="Joerg.Mueller@Example.org",
        external_id="HR-0042",
    )
    other = candidate(body, staff, "Jane Doe", email="jane@example.org")
    cert = grant(body, staff, jorg, external_id="batch-7-row-3")
    grant(body, staff, other)

    spaced = " ".join(cert.number.lower().replace("-", " - ").split())
    for query, by, key in [
        ("müller", "name", "name"),
        ("MULLER jo", "any", "name"),
        ("lüdensch", "any", "name"),
        (spaced, "any", "number"),
        (cert.number.lower(), "number", "number"),
        ("HR-0042", "any", "external_id"),
        ("batch-7-row-3", "any", "external_id"),
        ("joerg.mueller@example.ORG", "any", "email"),
    ]:
        page = data.search(query, by=by)
        assert page.key == key, query
        assert [h.person_id for h in page.hits] == [jorg], query
        (hit,) = page.hits
        assert hit.full_name == "Jörg Müller-Lüdenscheidt"
        assert [(c.number, c.status) for c in hit.certifications] == [(cert.number, "ACTIVE")]

    assert data.search("Nobody Here").hits == ()
    assert data.search("ller").hits == ()  # names match by the beginnings of their words
    assert data.search("HR-0042", by="email").hits == ()
    assert data.search('"; DROP TABLE persons; --').hits == ()
    assert data.search("  ").hits == ()
    with pytest.raises(Invalid, match="unknown search key"):
        data.search("", by="phone")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        data.person("no-such-person")
    with pytest.raises(NotFound):
        data.certificate("CWI-0000-0000-0")


def test_names_are_found_whatever_their_case_and_accents(body, data):
    ids = {
        name: body.add_person(name)
        for name in ["José Álvarez", "JOSE ALVAREZ", "Zoë Ødegård", "Ana Ñúñez", "Jo Smith"]
    }

    def found(query: str) -> set[str]:
        return {h.full_name for h in data.search(query, by="name").hits}

    assert found("jose alvarez") == {"José Álvarez", "JOSE ALVAREZ"}
    assert found("ÁLVAR") == {"José Álvarez", "JOSE ALVAREZ"}
    assert found("zoe ødegard") == {"Zoë Ødegård"}
    # Ø, Ł, Æ, ß are letters of their own in Unicode, not accented letters: not folded.
    assert found("ØDEG") == {"Zoë Ødegård"} and found("odegard") == set()
    assert found("nunez") == {"Ana Ñúñez"}
    assert found("jo") == {"José Álvarez", "JOSE ALVAREZ", "Jo Smith"}
    assert len(ids) == 5


def test_a_corrected_name_is_found_by_its_new_spelling_only(body, staff, data):
    person = candidate(body, staff, "Jane Dough")
    cert = grant(body, staff, person)
    body.correct(cert.number, decided_by=staff["decider"], reason="typo", holder_name="Jane Doe")
    assert [h.person_id for h in data.search("doe").hits] == [person]
    assert data.search("dough").hits == ()


def test_paging_returns_every_hit_exactly_once_newest_first(body, data):
    people = [body.add_person(f"Candidate Number {i}") for i in range(57)]
    body.add_person("Someone Else")
    for limit in (1, 10, 25, 57, 200):
        hits = every_page(lambda after, n=limit: data.search("cand num", after=after, limit=n))
        assert [h.person_id for h in hits] == people[::-1], limit
    first = data.search("cand", limit=10)
    body.add_person("Candidate Late")  # a person added between two pages
    second = data.search("cand", limit=10, after=first.next)
    assert [h.full_name for h in second.hits] == [
        f"Candidate Number {i}" for i in range(46, 36, -1)
    ]
    with pytest.raises(Invalid):
        data.search("cand", after="not-a-cursor")
    with pytest.raises(Invalid):
        data.search("cand", limit=0)


# -- decisions due on a driven clock ---------------------------------------------------------


def test_decisions_due_follow_the_clock(body, staff, data, clock):
    a = grant(body, staff, candidate(body, staff, "Ann Early"))  # valid until 2029-03-01
    b = grant(body, staff, candidate(body, staff, "Bob Later"), effective_date="2026-03-22")
    c = grant(body, staff, candidate(body, staff, "Cid Suspended"))
    body.suspend(c.number, decided_by=staff["decider"], reason="complaint", until="2026-04-01")
    assert (a.valid_until, b.valid_until) == ("2029-03-01", "2029-03-21")

    def due(kind: str) -> list[str]:
        listed = data.due(kind, limit=200)
        assert listed.count == len(listed.items)
        return [item.number for item in listed.items]

    assert due("suspension_overdue") == []
    clock.now = datetime(2026, 4, 1, 23, 0, tzinfo=UTC)
    assert due("suspension_overdue") == []  # the deadline day itself is not past
    clock.now = datetime(2026, 4, 2, 0, 1, tzinfo=UTC)
    assert due("suspension_overdue") == [c.number]
    body.reinstate(c.number, decided_by=staff["decider"], reason="complaint unfounded")
    assert due("suspension_overdue") == []

    clock.now = datetime(2028, 8, 31, 12, tzinfo=UTC)
    assert due("recertification_open") == []
    clock.now = datetime(2028, 9, 1, 12, tzinfo=UTC)  # six months before 2029-03-01
    assert due("recertification_open") == [a.number, c.number]
    clock.now = datetime(2028, 9, 21, 12, tzinfo=UTC)
    assert due("recertification_open") == [a.number, c.number, b.number]
    assert due("expiring_this_month") == []

    clock.now = datetime(2029, 3, 1, 12, tzinfo=UTC)
    assert due("expiring_this_month") == [a.number, c.number, b.number]
    assert due("expiry_overdue") == []
    clock.now = datetime(2029, 3, 2, 12, tzinfo=UTC)
    assert due("expiry_overdue") == [a.number, c.number]
    assert due("recertification_open") == [b.number]  # the expired ones cannot be recertified
    assert body.expire_due() == [a.number, c.number]
    assert due("expiry_overdue") == []
    assert due("expiring_this_month") == [b.number]  # the recorded EXPIRED are no longer due

    dashboard = data.dashboard()
    assert [(d.kind, d.count) for d in dashboard.due] == [
        ("suspension_overdue", 0),
        ("expiring_this_month", 1),
        ("recertification_open", 1),
        ("expiry_overdue", 0),
    ]
    item = dashboard.due[1].items[0]
    assert (item.holder_name, item.day, item.status) == ("Bob Later", "2029-03-21", "ACTIVE")


def test_the_recertification_list_is_exactly_what_the_rule_allows(body, staff, data, clock):
    """Every certificate is listed as open for recertification on the days, and only on the
    days, that recertify() would accept it (rules.recertification_window), month ends
    included."""
    certs = [
        grant(body, staff, candidate(body, staff, f"Holder {i}"), effective_date=day)
        for i, day in enumerate(["2026-03-02", "2026-03-31", "2026-04-01", "2026-08-31"])
    ]
    day = date(2028, 8, 25)
    while day <= date(2029, 3, 5):
        clock.now = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        listed = {i.number for i in data.due("recertification_open", limit=200).items}
        allowed = {
            c.number
            for c in certs
            if date.fromisoformat(c.valid_until) >= day
            and rules.recertification_window(day, date.fromisoformat(c.valid_until), 6) is None
        }
        assert listed == allowed, day
        day += timedelta(days=3)


@pytest.mark.parametrize("months", [1, 3, 6, 12])
def test_the_last_expiry_in_a_window_is_where_the_rule_changes_its_mind(months):
    today = date(2027, 1, 1)
    while today < date(2028, 1, 10):
        last = last_expiry_in_window(today, months)
        assert rules.recertification_window(today, last, months) is None
        assert rules.recertification_window(today, last + timedelta(days=1), months) is not None
        today += timedelta(days=1)


def test_due_lists_page_through_every_item_once(body, staff, data, clock):
    numbers = [
        grant(body, staff, candidate(body, staff, f"Holder {i}"), effective_date=day).number
        for i, day in enumerate(["2026-03-02"] * 4 + ["2026-03-10"] * 3 + ["2026-03-20"] * 2)
    ]
    clock.now = datetime(2029, 3, 1, tzinfo=UTC)
    seen, after = [], None
    while True:
        page = data.due("expiring_this_month", limit=2, after=after)
        assert page.count == 9
        seen += [i.number for i in page.items]
        if page.next is None:
            break
        after = page.next
    assert sorted(seen) == sorted(numbers) and len(seen) == 9
    days = [data.certificate(n).valid_until for n in seen]
    assert days == sorted(days)


# -- the dashboard -----------------------------------------------------------------------------


def test_counts_by_scheme_and_status_follow_every_decision(body, staff, data):
    body.add_scheme(
        "nde",
        code="NDE",
        name="NDE Operator",
        description="d",
        normative_reference="ISO 9712:2021",
        validity_months=60,
        max_suspension_days=90,
        publication_policy="directory",
        scope=[("RT1", "Radiography, level 1")],
    )
    certs = [grant(body, staff, candidate(body, staff, f"Holder {i}")) for i in range(4)]
    body.suspend(certs[0].number, decided_by=staff["decider"], reason="r", until="2026-05-01")
    body.withdraw(certs[1].number, decided_by=staff["decider"], reason="fraud")
    counts = {c.scheme_id: c for c in data.dashboard().schemes}
    assert counts["cwi"].counts == {"ACTIVE": 2, "SUSPENDED": 1, "WITHDRAWN": 1, "EXPIRED": 0}
    assert counts["cwi"].total == 4 and counts["cwi"].code == "CWI"
    assert counts["nde"].counts == dict.fromkeys(Status, 0)
    by_sql = dict(
        ((s, st), n)
        for s, st, n in body.db.execute(
            "SELECT scheme_id, status, COUNT(*) FROM certifications GROUP BY 1, 2"
        )
    )
    assert {(s, st): n for s, c in counts.items() for st, n in c.counts.items() if n} == by_sql
    assert data.dashboard().totals["ACTIVE"] == 2


def test_status_list_health_says_how_long_each_list_stays_valid(body, staff, data, clock):
    grant(body, staff, candidate(body, staff, "Ann"))
    health = {h.id: h for h in data.dashboard().status_lists}
    assert health, "a body publishes its lists from its first day"
    for h in health.values():
        assert not h.lapsed and timedelta(hours=47) < h.time_left <= timedelta(days=2)
    message = [h for h in health.values() if h.purpose == "message"]
    assert sum(h.allocated for h in message) == 1
    clock.advance(days=3)
    assert all(h.lapsed for h in data.list_health())
    body.status_lists.refresh_due()
    assert not any(h.lapsed for h in data.list_health())


def test_chain_state_is_cheap_and_the_full_check_answers_as_the_command(
    body, staff, data, tmp_path
):
    grant(body, staff, candidate(body, staff, "Ann"))
    state = data.chain()
    head = body.db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    assert (state.head_seq, state.head_hash, state.events) == (head[0], head[1], head[0])
    assert state.checkpoint_seq is None and state.checkpoint_matches is None

    audit.checkpoint(body.db, body.signer, issuer=body.info["did"], at=body._now())
    body.add_person("After The Checkpoint")
    state = data.chain()
    assert state.checkpoint_seq == head[0] and state.checkpoint_matches is True
    assert state.since_checkpoint == 1

    data_dir = tmp_path / "cb"
    report = data.verify_chain(data_dir / "keys")
    result = CliRunner().invoke(audit_group, ["verify", "--data", str(data_dir)])
    assert result.exit_code == 0 and report.ok
    assert f"intact: {report.count:,} events, 1 checkpoints (signatures verified)" in result.output
    assert f"Head hash: {report.head_hash}" in result.output
    assert report.signatures_checked

    # An event edited behind SQLite's back: both find the same problems.
    conn = sqlite3.connect(data_dir / "issuer.db")
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE events SET payload = '{}' WHERE seq = 3")
    conn.commit()
    conn.close()
    report = data.verify_chain(data_dir / "keys")
    result = CliRunner().invoke(audit_group, ["verify", "--data", str(data_dir)])
    assert result.exit_code == 1 and not report.ok and report.problems
    assert [f"  ✗ {p}" for p in report.problems] == [
        line for line in result.output.splitlines() if line.startswith("  ✗")
    ]
    assert data.chain().checkpoint_matches is True  # the cheap state cannot see this edit


# -- a person's page -----------------------------------------------------------------------------


def test_a_persons_page_holds_their_whole_record_in_time_order(body, staff, data, clock):
    trainer = body.add_staff("Tess Trainer", roles=["officer"])
    person = candidate(body, staff, "Jane Doe", email="jane@example.org", external_id="E-1")
    body.record_training(person, trainer)
    clock.advance(hours=1)
    cert = grant(body, staff, person)
    clock.advance(days=2)
    body.suspend(cert.number, decided_by=staff["decider"], reason="complaint", until="2026-05-01")
    clock.advance(days=1)
    body.reinstate(cert.number, decided_by=staff["decider"], reason="unfounded")
    candidate(body, staff, "Someone Else")

    page = data.person(person)
    assert (page.full_name, page.email, page.external_id) == ("Jane Doe", "jane@example.org", "E-1")
    assert [(a.result, a.scope_codes) for a in page.assessments] == [("pass", ("UT2", "VT2"))]
    assert [(i.staff_name, i.role) for i in page.involvements] == [
        ("Erik Examiner", "examiner"),
        ("Tess Trainer", "trainer"),
    ]
    assert [t.staff_name for t in page.trainings] == ["Tess Trainer"]
    assert [(d.type, d.number, d.decided_by_name) for d in page.decisions] == [
        ("grant", cert.number, "Dana Decider"),
        ("suspend", cert.number, "Dana Decider"),
        ("reinstate", cert.number, "Dana Decider"),
    ]
    (line,) = page.certifications
    assert (line.number, line.status, line.headline.text) == (
        cert.number,
        "ACTIVE",
        "VALID until 1 March 2029",
    )


# -- the audit log -------------------------------------------------------------------------------


def test_the_audit_log_filters_by_person_certificate_kind_and_day(body, staff, data, clock):
    jane = candidate(body, staff, "Jane Doe")
    john = candidate(body, staff, "John Roe")
    clock.advance(days=1)
    cert = grant(body, staff, jane)
    other = grant(body, staff, john)
    clock.advance(days=1)  # 2026-03-04
    body.suspend(cert.number, decided_by=staff["decider"], reason="r", until="2026-05-01")
    create_share(body, cert.number)

    by_cert = data.audit_log(certificate=" " + cert.number.lower())
    kinds = {e.kind for e in by_cert.events}
    assert {"decision_grant", "decision_suspend", "share_link_created"} <= kinds
    assert all(e.subject in (cert.id, cert.number) for e in by_cert.events)
    seqs = [e.seq for e in by_cert.events]
    assert seqs == sorted(seqs, reverse=True)

    by_person = data.audit_log(person=jane)
    assert {"person_added", "assessment_recorded"} <= {e.kind for e in by_person.events}
    assert {e.seq for e in by_cert.events} < {e.seq for e in by_person.events}
    assert not {e.subject for e in by_person.events} & {john, other.id, other.number}
    assert data.audit_log(person=jane, certificate=other.number).events == ()

    grants = data.audit_log(kind="decision_grant")
    assert [e.subject for e in grants.events] == [other.id, cert.id]
    day3 = data.audit_log(since="2026-03-03", until=date(2026, 3, 3))
    assert {e.kind for e in day3.events} == {"decision_grant", "credential_issued"}
    assert data.audit_log(since="2026-03-04", kind="decision_grant").events == ()
    rows = body.db.execute("SELECT seq, hash FROM events WHERE kind = 'decision_grant'").fetchall()
    assert {(e.seq, e.hash) for e in grants.events} == set(rows)  # each with its chain position


def test_the_audit_log_pages_through_every_event_once(body, data, clock):
    for i in range(23):
        body.add_person(f"Person {i}")
        if i % 5 == 0:
            clock.advance(minutes=1)  # several events share a second: the page key is (at, seq)
    (total,) = body.db.execute("SELECT COUNT(*) FROM events").fetchone()
    for limit in (1, 4, 50):
        events = every_page(lambda after, n=limit: data.audit_log(after=after, limit=n))
        assert [e.seq for e in events] == list(range(total, 0, -1))
    added = every_page(lambda after: data.audit_log(kind="person_added", after=after, limit=3))
    assert len(added) == 23
    with pytest.raises(Invalid):
        data.audit_log(since="yesterday")


def test_event_kinds_lists_each_kind_once(body, staff, data):
    grant(body, staff, candidate(body, staff, "Ann"))
    kinds = {k for (k,) in body.db.execute("SELECT DISTINCT kind FROM events")}
    assert set(data.event_kinds()) == kinds and len(data.event_kinds()) == len(kinds)


# -- a certificate's staff view ----------------------------------------------------------------


def test_a_certificates_staff_view_shows_versions_bits_and_links_but_no_secret(
    body, staff, data, clock
):
    cert = grant(body, staff, candidate(body, staff, "Jane Dough"))
    body.correct(cert.number, decided_by=staff["decider"], reason="typo", holder_name="Jane Doe")
    body.suspend(cert.number, decided_by=staff["decider"], reason="r", until="2026-05-01")
    link, token = create_share(body, cert.number, expires_in=timedelta(days=1))
    revoked, _ = create_share(body, cert.number)
    from certreg.issuer.sharing import revoke_share

    revoke_share(body, revoked.id)
    clock.advance(days=2)

    view = data.certificate(cert.number.lower())
    assert view.public_url == f"https://cb.example/c/{cert.number}"
    assert view.holder_name == "Jane Doe"
    assert view.headline.text == "SUSPENDED since 2 March 2026"
    assert [(c.revision, c.state) for c in view.credentials] == [
        (1, "superseded"),
        (2, "current"),
    ]
    for version in view.credentials:
        (place,) = version.status  # the default form: one 2-bit "message" entry
        assert place.purpose == "message"
        assert (place.recorded, place.published) == (1, 1)  # 1: suspended, signed as such
        assert place.list_url == f"https://cb.example/status/{place.list_id}"
    assert {(s.id, s.state) for s in view.share_links} == {
        (link.id, "expired"),
        (revoked.id, "revoked"),
    }
    assert token not in repr(view)
    hashes = {h for (h,) in body.db.execute("SELECT token_hash FROM share_links")}
    assert not any(h in repr(view) for h in hashes)
    assert [d.type for d in view.decisions] == ["grant", "correct", "suspend"]
    assert [s["code"] for s in view.scope] == ["VT2"]

    body.reinstate(cert.number, decided_by=staff["decider"], reason="r")
    places = [p for c in data.certificate(cert.number).credentials for p in c.status]
    assert {(p.recorded, p.published) for p in places} == {(0, 0)}


# -- the migration ------------------------------------------------------------------------------


def _undo_migrations_after(conn: sqlite3.Connection, version: int) -> None:
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


def test_the_migration_indexes_a_database_that_already_holds_people(body, staff, tmp_path):
    """A body created before V8: its people become searchable and its counts right."""
    person = candidate(body, staff, "Åsa Öberg")
    grant(body, staff, person)
    path = tmp_path / "cb" / "issuer.db"
    body.db.conn.close()
    conn = sqlite3.connect(path)
    v8 = issuer_db.MIGRATIONS.index(issuer_db._V8) + 1
    _undo_migrations_after(conn, v8)
    for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND "
        "(name LIKE 'persons_console_%' OR name LIKE 'certifications_count_%')"
    ).fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    for name in ["person_search", "person_keys", "certification_counts"]:
        conn.execute(f"DROP TABLE {name}")
    for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ('persons_by_email', "
        "'assessments_by_person', 'decisions_by_person', 'certifications_suspended', "
        "'certifications_by_scheme_expiry', 'events_by_at', 'events_by_kind_at')"
    ).fetchall():
        conn.execute(f"DROP INDEX {name}")
    conn.execute("DELETE FROM schema_migrations WHERE version = ?", (v8,))
    conn.commit()
    conn.close()

    data = ConsoleData(connect(path))
    assert [h.person_id for h in data.search("asa oberg").hits] == [person]
    assert {c.scheme_id: c.counts["ACTIVE"] for c in data.counts()} == {"cwi": 1}
    assert re.fullmatch(r"\d+", str(data.chain().events))

"""ISO/IEC 17024 lifecycle rules, each enforced and visible to a verifier.

A real certification body on disk (issuer.db + encrypted key store, did:key so that the
verifier can check signatures offline); the verifier reads the body's own published status
lists through its status-fetcher injection point.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest
from factories import ISO_9712_URL, Clock, make_body

from certreg.issuer import audit
from certreg.issuer.service import (
    CertificationBody,
    Conflict,
    Invalid,
    NotFound,
    Refused,
    ScopeGrant,
    add_months,
)
from certreg.verifier import Verdict, Verifier


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def body(tmp_path, clock) -> CertificationBody:
    return make_body(tmp_path / "cb", clock=clock, scheme={"normative_reference_url": ISO_9712_URL})


@pytest.fixture
def people(body):
    """A candidate who passed, the examiner, and two independent decision-makers."""
    examiner = body.add_staff("Erik Examiner", roles=["officer", "decision_maker"])
    decider = body.add_staff("Dana Decider", roles=["decision_maker"])
    officer = body.add_staff("Olga Officer", roles=["officer"])
    jane = body.add_person("Jane Doe", email="jane@example.org", birth_date="1990-04-01")
    body.record_assessment(
        jane,
        "cwi",
        result="pass",
        assessed_on="2026-02-20",
        examiners=[examiner],
        scope_codes=["UT2", "VT2"],
    )
    return {"examiner": examiner, "decider": decider, "officer": officer, "jane": jane}


def verify(body: CertificationBody, document: dict, clock: Clock) -> Verdict:
    lists = {
        body.status_lists.url(list_id): body.status_lists.latest(list_id)
        for (list_id,) in body.db.execute("SELECT id FROM status_lists")
    }
    verifier = Verifier(trusted_issuers={body.info["did"]}, status_fetcher=lists, clock=clock)
    return verifier.verify_credential(document).verdict


def grant(body, people, **options):
    options.setdefault("evidence", "examination 2026-02-20, passed")
    return body.grant(
        people["jane"],
        "cwi",
        [ScopeGrant("UT2", "steel, 6-40 mm"), ScopeGrant("VT2")],
        decided_by=people["decider"],
        **options,
    )


def test_grant_issues_a_signed_credential_with_every_certificate_item(body, people, clock):
    cert = grant(body, people)
    assert cert.status == "ACTIVE"
    assert cert.valid_from == "2026-03-02"
    assert cert.valid_until == "2029-03-01"  # 36 months, less a day
    doc = cert.credential
    subject = doc["credentialSubject"]
    assert subject["licenseNumber"] == cert.number
    assert subject["identifier"][0]["identityHash"] == "Jane Doe"
    assert subject["achievement"]["alignment"][0]["targetName"] == "ISO 9712:2021"
    assert [r["name"] for r in subject["achievement"]["resultDescription"]] == [
        "Ultrasonic testing, level 2",
        "Visual testing, level 2",
    ]
    # The default status form: one 2-bit message entry (suspension and withdrawal), one object.
    assert doc["credentialStatus"]["statusPurpose"] == "message"
    assert doc["credentialStatus"]["statusSize"] == 2
    assert doc["validUntil"] == "2029-03-01T23:59:59Z"
    assert verify(body, doc, clock) is Verdict.VALID


def test_the_examiner_cannot_decide_and_the_attempt_is_logged(body, people):
    with pytest.raises(Refused, match="examined this candidate"):
        grant(body, {**people, "decider": people["examiner"]})
    refused = audit.events(body.db, kind="decision_refused")
    assert refused and refused[-1].actor == people["examiner"]
    assert body.db.execute("SELECT COUNT(*) FROM certifications").fetchone()[0] == 0


def test_a_trainer_cannot_decide_either(body, people):
    body.record_training(people["jane"], people["decider"])
    with pytest.raises(Refused, match="trained this candidate"):
        grant(body, people)


def test_only_decision_makers_decide(body, people):
    with pytest.raises(Refused, match="not a decision-maker"):
        grant(body, {**people, "decider": people["officer"]})


def test_no_grant_without_a_passed_assessment(body, people):
    someone = body.add_person("John Roe")
    with pytest.raises(Refused, match="no passed assessment"):
        body.grant(someone, "cwi", [ScopeGrant("UT2")], decided_by=people["decider"], evidence="x")


def test_effective_date_never_before_the_decision(body, people):
    with pytest.raises(Invalid, match="cannot take effect in the past"):
        grant(body, people, effective_date="2026-03-01")
    cert = grant(body, people, effective_date="2026-04-01")
    assert cert.valid_until == "2029-03-31"


def test_suspend_then_reinstate_flips_what_verifiers_see(body, people, clock):
    cert = grant(body, people)
    suspended = body.suspend(
        cert.number,
        decided_by=people["decider"],
        reason="surveillance audit missed",
        until="2026-06-01",
    )
    assert suspended.status == "SUSPENDED"
    assert suspended.valid_until == cert.valid_until  # never extends validity
    assert verify(body, cert.credential, clock) is Verdict.SUSPENDED
    body.reinstate(cert.number, decided_by=people["decider"], reason="audit passed")
    assert verify(body, cert.credential, clock) is Verdict.VALID


def test_suspension_deadline_is_capped_by_the_scheme(body, people):
    cert = grant(body, people)
    with pytest.raises(Refused, match="at most 180 days"):
        body.suspend(cert.number, decided_by=people["decider"], reason="r", until="2026-12-31")


def test_a_passed_suspension_deadline_is_due_never_withdrawn_automatically(body, people, clock):
    cert = grant(body, people)
    body.suspend(cert.number, decided_by=people["decider"], reason="r", until="2026-04-01")
    clock.advance(days=45)
    assert body.expire_due() == []
    assert body.certification(cert.number).status == "SUSPENDED"
    assert [d["number"] for d in body.due()] == [cert.number]


def test_withdrawal_is_terminal_and_revokes_every_credential(body, people, clock):
    cert = grant(body, people)
    body.correct(
        cert.number, decided_by=people["decider"], reason="typo", holder_name="Jane Q. Doe"
    )
    old = cert.credential
    new = body.certification(cert.number).credential
    body.withdraw(cert.number, decided_by=people["decider"], reason="fraud in examination")
    assert verify(body, old, clock) is Verdict.WITHDRAWN
    assert verify(body, new, clock) is Verdict.WITHDRAWN
    with pytest.raises(Conflict, match="WITHDRAWN"):
        body.reinstate(cert.number, decided_by=people["decider"], reason="no")
    states = {c["state"] for c in body.credentials(cert.number)}
    assert states == {"revoked"}


def test_reduce_scope_revokes_the_broader_credential(body, people, clock):
    cert = grant(body, people)
    reduced = body.reduce_scope(
        cert.number, decided_by=people["decider"], remove=["UT2"], reason="no UT work in 2 years"
    )
    assert [s["code"] for s in reduced.scope if s["status"] == "active"] == ["VT2"]
    assert verify(body, cert.credential, clock) is Verdict.WITHDRAWN
    assert verify(body, reduced.credential, clock) is Verdict.VALID
    names = [
        r["name"]
        for r in reduced.credential["credentialSubject"]["achievement"]["resultDescription"]
    ]
    assert names == ["Visual testing, level 2"]
    with pytest.raises(Invalid, match="withdrawal"):
        body.reduce_scope(cert.number, decided_by=people["decider"], remove=["VT2"], reason="r")


def test_extend_scope_supersedes_the_old_credential(body, people, clock):
    jane = people["jane"]
    cert = body.grant(
        jane, "cwi", [ScopeGrant("VT2")], decided_by=people["decider"], evidence="exam"
    )
    extended = body.extend_scope(
        cert.number, decided_by=people["decider"], add=[ScopeGrant("UT2")], evidence="exam"
    )
    assert {s["code"] for s in extended.scope} == {"UT2", "VT2"}
    assert verify(body, cert.credential, clock) is Verdict.VALID  # superseded, still true
    assert [c["state"] for c in body.credentials(cert.number)] == ["superseded", "current"]


def test_recertify_keeps_the_number_and_the_time_left(body, people, clock):
    cert = grant(body, people)
    with pytest.raises(Refused, match="recertification opens"):
        body.recertify(cert.number, decided_by=people["decider"], evidence="renewal exam")
    clock.now = datetime(2028, 11, 1, 9, 0, tzinfo=UTC)  # four months before expiry
    renewed = body.recertify(cert.number, decided_by=people["decider"], evidence="renewal exam")
    assert renewed.number == cert.number
    assert renewed.cycle == 2
    assert renewed.valid_until == "2032-03-01"  # from the old expiry, not from today
    assert renewed.credential["validUntil"] == "2032-03-01T23:59:59Z"


def test_expiry_is_the_only_automatic_transition(body, people, clock):
    cert = grant(body, people)
    clock.now = datetime(2029, 3, 2, 0, 1, tzinfo=UTC)
    assert body.expire_due() == [cert.number]
    assert body.certification(cert.number).status == "EXPIRED"
    [*_, last] = body.history(cert.number)
    assert last.type == "expire" and last.decided_by is None
    assert verify(body, cert.credential, clock) is Verdict.EXPIRED


def test_decisions_are_immutable_in_the_database(body, people):
    cert = grant(body, people)
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        body.db.execute("UPDATE decisions SET reason = 'edited'")
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        body.db.execute("DELETE FROM decisions")
    assert [d.type for d in body.history(cert.number)] == ["grant"]


def test_an_appeal_is_a_new_decision_naming_the_old_one(body, people, clock):
    cert = grant(body, people)
    body.suspend(cert.number, decided_by=people["decider"], reason="complaint", until="2026-05-01")
    [_, suspension] = body.history(cert.number)
    body.reinstate(
        cert.number, decided_by=people["decider"], reason="appeal upheld", appeal_of=suspension.id
    )
    [*_, appeal] = body.history(cert.number)
    assert appeal.appeal_of == suspension.id
    assert verify(body, cert.credential, clock) is Verdict.VALID


def test_one_open_certification_per_person_and_scheme(body, people):
    grant(body, people)
    with pytest.raises(Conflict, match="already holds"):
        grant(body, people)


def test_bulk_key_makes_grant_idempotent(body, people):
    first = grant(body, people, external_id="row-17")
    again = grant(body, people, external_id="row-17")
    assert again.number == first.number
    assert body.db.execute("SELECT COUNT(*) FROM credentials").fetchone()[0] == 1


def test_unknown_things_are_clear_errors(body, people):
    with pytest.raises(NotFound, match="no certification numbered"):
        body.suspend(
            "CWI-0000-0000-0", decided_by=people["decider"], reason="r", until="2026-05-01"
        )
    with pytest.raises(Invalid, match="not in the catalogue"):
        body.grant(
            people["jane"], "cwi", [ScopeGrant("XX9")], decided_by=people["decider"], evidence="e"
        )
    with pytest.raises(Invalid, match="YYYY-MM-DD"):
        grant(body, people, effective_date="next week")


def test_the_audit_chain_covers_every_decision(body, people):
    cert = grant(body, people)
    body.suspend(cert.number, decided_by=people["decider"], reason="r", until="2026-05-01")
    report = audit.verify(body.db)
    assert report.ok, report.problems
    kinds = [e.kind for e in audit.events(body.db, limit=1000)]
    assert "decision_grant" in kinds and "decision_suspend" in kinds
    # The audit log holds no private data: no e-mail, no birth date, no name.
    text = json.dumps([e.payload for e in audit.events(body.db, limit=1000)])
    # The full name: payloads hold hashes and signatures, whose random text can spell "Jane".
    assert "jane@example.org" not in text and "1990-04-01" not in text and "Jane Doe" not in text


def test_add_months_clamps_to_the_end_of_the_month():
    from datetime import date

    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)


def test_the_data_folder_is_private(body):
    data = body.db.conn.execute("PRAGMA database_list").fetchone()[2]
    import os
    import stat

    assert stat.S_IMODE(os.stat(data).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(data)).st_mode) == 0o700

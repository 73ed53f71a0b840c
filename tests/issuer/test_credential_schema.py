"""Every certificate certreg issues against 1EdTech's Open Badges 3.0 AchievementCredential JSON
Schema, *unmodified* (tests/vectors/ob3-official/, source and sha256 in tests/vectors/), in
every state and after every lifecycle path; and the ISO/IEC 17024 §9.4.7 items it carries.

The schema wants ``credentialStatus`` as one object and ``proof`` as an array. certreg's default
status form (one 2-bit ``message`` entry, see docs/credential.md) and its issued form (``proof``
as a one-element array) pass it; the two-entry VC 2.0 form, still available to a body that
chooses it, does not, and the test says so rather than hide it.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import PASSPHRASE, Clock
from interop_support import PROFILE_SCHEMA, SCHEMA, candidate, errors, grant, make_body
from jsonschema import Draft201909Validator

from certreg.issuer.credential import (
    Body,
    NormativeReference,
    Scheme,
    ScopeItem,
    certification_credential,
    issued_form,
)
from certreg.issuer.demo_body import build_demo
from certreg.issuer.service import CertificationBody
from certreg.verifier import Verdict, Verifier
from certreg.verifier.statuslist import CERTIFICATE_STATUS_MESSAGES, status_list_entry


def test_the_schema_is_1edtechs_unmodified_build() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2019-09/schema#"
    assert SCHEMA["$id"] == (
        "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
        "ob_v3p0_achievementcredential-jsonschema1.json"
    )
    # The two rules certreg's certificates used to break, as the schema states them.
    assert SCHEMA["properties"]["credentialStatus"] == {"$ref": "#/$defs/CredentialStatus"}
    assert SCHEMA["$defs"]["CredentialStatus"]["type"] == "object"
    assert SCHEMA["properties"]["proof"]["type"] == "array"
    Draft201909Validator.check_schema(SCHEMA)
    Draft201909Validator.check_schema(PROFILE_SCHEMA)


# --------------------------------------------------------------------------------------------
# The credential builder


def message_entry(index: int = 131_079) -> dict[str, Any]:
    return status_list_entry(
        list_credential_url="https://cb.example/status/message-1",
        index=index,
        purpose="message",
        status_size=2,
        status_messages=list(CERTIFICATE_STATUS_MESSAGES),
    )


def credential(url: str | None = "https://www.iso.org/standard/74629.html", **overrides):
    scheme = Scheme(
        id="https://cb.example/schemes/cwi/3",
        code="CWI",
        name="Certified Welding Inspector",
        version="3",
        description="Inspection of fusion welds.",
        criteria="Written and practical examination.",
        normative_reference=NormativeReference("ISO 9712:2021", url),
    )
    args = {
        "body": Body("did:web:cb.example", "Example Certification Body", "https://cb.example"),
        "scheme": scheme,
        "holder_name": "Jane Doe",
        "certificate_number": "CWI-7K3M-9QX2-M",
        "scope": [ScopeItem("UT2", "Ultrasonic testing, level 2", "steel, 6-40 mm")],
        "valid_from": "2026-03-02T00:00:00Z",
        "valid_until": "2029-03-01T23:59:59Z",
        "status_entries": [message_entry()],
    }
    args.update(overrides)
    return certification_credential(**args)


def test_the_certification_credential_is_valid_open_badges_3() -> None:
    doc = credential()
    assert isinstance(doc["credentialStatus"], dict)  # one object, as the schema wants
    assert errors(doc) == []


def test_a_scheme_without_a_reference_url_still_gives_the_required_target_url() -> None:
    doc = credential(url=None)
    assert errors(doc) == []
    assert doc["credentialSubject"]["achievement"]["alignment"][0]["targetUrl"] == (
        "https://cb.example/schemes/cwi/3"
    )


def test_the_schema_catches_what_it_should() -> None:
    # A test that could not fail would prove nothing: break the credential the ways a careless
    # change would (or the old forms did), and see each refused.
    doc = credential()
    doc["credentialSubject"]["identifier"][0]["identityType"] = "fullName"
    assert any("identityType" in e for e in errors(doc))
    doc = credential()
    del doc["credentialSubject"]["achievement"]["criteria"]
    assert any("criteria" in e for e in errors(doc))
    doc = credential()
    doc["credentialSubject"]["result"][0]["status"] = "Certified"
    assert any("status" in e for e in errors(doc))
    doc = credential()
    doc["credentialStatus"] = [doc["credentialStatus"]]  # the two-entry form's shape
    assert errors(doc) == [f"credentialStatus: {doc['credentialStatus']!r} is not of type 'object'"]
    doc = credential()
    doc["proof"] = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022"}
    assert errors(doc) == [f"proof: {doc['proof']!r} is not of type 'array'"]
    assert errors(issued_form(doc)) == []
    doc = credential()
    del doc["validFrom"]
    assert errors(doc) == [": 'validFrom' is a required property"]


def test_every_iso_17024_certificate_item_is_present() -> None:
    doc = credential()
    subject = doc["credentialSubject"]
    achievement = subject["achievement"]
    assert subject["identifier"][0] == {
        "type": "IdentityObject",
        "identityType": "name",
        "hashed": False,
        "identityHash": "Jane Doe",
    }
    assert subject["licenseNumber"] == "CWI-7K3M-9QX2-M"
    assert doc["issuer"]["name"] == "Example Certification Body"
    assert achievement["achievementType"] == "Certification"
    assert (achievement["name"], achievement["humanCode"], achievement["version"]) == (
        "Certified Welding Inspector",
        "CWI",
        "3",
    )
    assert achievement["alignment"][0]["targetName"] == "ISO 9712:2021"
    assert achievement["resultDescription"][0]["name"] == "Ultrasonic testing, level 2"
    assert subject["result"][0]["value"] == "steel, 6-40 mm"
    assert (doc["validFrom"], doc["validUntil"]) == ("2026-03-02T00:00:00Z", "2029-03-01T23:59:59Z")


def test_a_certification_without_scope_is_refused() -> None:
    with pytest.raises(ValueError, match="scope"):
        credential(scope=[])


# --------------------------------------------------------------------------------------------
# A body's certificates, through every lifecycle path


def documents(body: CertificationBody) -> dict[str, dict[str, Any]]:
    """Every credential the body ever signed (every revision), by id."""
    return {
        row[0]: json.loads(row[1])
        for row in body.db.execute("SELECT id, document FROM credentials")
    }


def verdict(body: CertificationBody, document: dict[str, Any], clock: Clock) -> Verdict:
    body.status_lists.refresh_due()  # as certreg serve does hourly: no list lapses
    lists = {
        body.status_lists.url(list_id): body.status_lists.latest(list_id)
        for (list_id,) in body.db.execute("SELECT id FROM status_lists")
    }
    verifier = Verifier(trusted_issuers={body.info["did"]}, status_fetcher=lists, clock=clock)
    return verifier.verify_credential(document).verdict


def current(body: CertificationBody, number: str) -> dict[str, Any]:
    return body.certification(number).credential


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory) -> dict[str, Any]:
    """One body, one certificate per lifecycle path, each left in its final state."""
    clock = Clock()
    body, staff = make_body(tmp_path_factory.mktemp("cb") / "cb", clock)
    numbers = {
        state: grant(body, staff, candidate(body, staff, f"Holder {state}"))
        for state in ("active", "suspended", "reinstated", "withdrawn", "reduced", "recertified")
    }
    first = {state: current(body, n) for state, n in numbers.items()}
    clock.now += timedelta(days=30)
    decider = staff["decider"]
    body.suspend(numbers["suspended"], decided_by=decider, reason="complaint", until="2026-05-01")
    body.suspend(numbers["reinstated"], decided_by=decider, reason="complaint", until="2026-05-01")
    body.reinstate(numbers["reinstated"], decided_by=decider, reason="complaint unfounded")
    body.withdraw(numbers["withdrawn"], decided_by=decider, reason="misuse")
    body.reduce_scope(numbers["reduced"], decided_by=decider, remove=["VT2"], reason="no practice")
    clock.now = datetime(2028, 12, 1, 9, 0, tzinfo=UTC)  # inside the recertification window
    body.recertify(numbers["recertified"], decided_by=decider, evidence="recertification exam")
    return {"body": body, "clock": clock, "numbers": numbers, "first": first}


def test_every_certificate_in_every_state_passes_the_official_schema(lifecycle) -> None:
    body = lifecycle["body"]
    docs = documents(body)
    assert len(docs) == 8  # six grants, a reduced scope and a recertification
    for credential_id, doc in docs.items():
        assert errors(doc) == [], credential_id
        # The default form: one 2-bit message entry and proof as an array.
        assert doc["credentialStatus"]["statusPurpose"] == "message"
        assert doc["credentialStatus"]["statusSize"] == 2
        assert isinstance(doc["proof"], list) and len(doc["proof"]) == 1


def test_the_verifier_still_tells_suspended_from_withdrawn(lifecycle) -> None:
    """The one entry carries both: each certificate reads as its decisions say, and the
    credentials a reduction or a recertification replaced no longer read as valid."""
    body, clock, numbers, first = (lifecycle[k] for k in ("body", "clock", "numbers", "first"))
    clock.now = datetime(2028, 12, 2, 9, 0, tzinfo=UTC)
    expected = {
        "active": Verdict.VALID,
        "suspended": Verdict.SUSPENDED,
        "reinstated": Verdict.VALID,
        "withdrawn": Verdict.WITHDRAWN,
        "reduced": Verdict.VALID,
        "recertified": Verdict.VALID,
    }
    for state, number in numbers.items():
        assert verdict(body, current(body, number), clock) is expected[state], state
    # The replaced credentials: revoked (scope reduced) or superseded (recertified; the old
    # cycle's validUntil has not passed yet, and it says what it said).
    assert verdict(body, first["reduced"], clock) is Verdict.WITHDRAWN
    assert verdict(body, first["recertified"], clock) is Verdict.VALID


# --------------------------------------------------------------------------------------------
# The two-entry form, for bodies that choose it, and certificates issued before the change


def test_the_two_entry_form_is_available_and_the_schema_refuses_it(tmp_path) -> None:
    clock = Clock()
    body, staff = make_body(tmp_path / "cb", clock, status_form="two-entries")
    assert body.status_form == "two-entries"
    number = grant(body, staff, candidate(body, staff, "Jane Doe"))
    doc = current(body, number)
    assert [e["statusPurpose"] for e in doc["credentialStatus"]] == ["revocation", "suspension"]
    # Honest about the cost: only the credentialStatus array breaks the schema.
    assert errors(doc) == [f"credentialStatus: {doc['credentialStatus']!r} is not of type 'object'"]
    assert verdict(body, doc, clock) is Verdict.VALID
    body.suspend(number, decided_by=staff["decider"], reason="complaint", until="2026-05-01")
    assert verdict(body, doc, clock) is Verdict.SUSPENDED
    body.withdraw(number, decided_by=staff["decider"], reason="misuse")
    assert verdict(body, doc, clock) is Verdict.WITHDRAWN


def test_an_unknown_status_form_is_refused(tmp_path) -> None:
    with pytest.raises(Exception, match="status_form must be one of message, two-entries"):
        make_body(tmp_path / "cb", Clock(), status_form="three-entries")


def test_certificates_issued_in_the_old_form_keep_verifying_after_the_change(tmp_path) -> None:
    """A body from before the message form (no status_form setting, two-entry certificates)
    issues its next certificates in the default form; the old ones keep their lists, and
    decisions on them still reach them."""
    clock = Clock()
    body, staff = make_body(tmp_path / "cb", clock, status_form="two-entries")
    old = grant(body, staff, candidate(body, staff, "Olaf Old"))
    with body.db.conn:
        body.db.execute("DELETE FROM settings WHERE key = 'status_form'")  # as before v5
    body = CertificationBody.open(tmp_path / "cb", passphrase=PASSPHRASE, clock=clock)
    assert body.status_form == "message"
    new = grant(body, staff, candidate(body, staff, "Nina New"))
    old_doc, new_doc = current(body, old), current(body, new)
    assert isinstance(old_doc["credentialStatus"], list)
    assert new_doc["credentialStatus"]["statusPurpose"] == "message"
    assert errors(new_doc) == []
    assert verdict(body, old_doc, clock) is verdict(body, new_doc, clock) is Verdict.VALID
    for number in (old, new):
        body.suspend(number, decided_by=staff["decider"], reason="complaint", until="2026-05-01")
    assert verdict(body, old_doc, clock) is verdict(body, new_doc, clock) is Verdict.SUSPENDED
    for number in (old, new):
        body.withdraw(number, decided_by=staff["decider"], reason="misuse")
    assert verdict(body, old_doc, clock) is verdict(body, new_doc, clock) is Verdict.WITHDRAWN


# --------------------------------------------------------------------------------------------
# The demo body: bulk issuance, a year of decisions, expiry


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data = tmp_path_factory.mktemp("demo") / "body"
    built = build_demo(data, public_url="http://127.0.0.1:8000", passphrase=PASSPHRASE, holders=60)
    body = CertificationBody.open(data)
    yield built, body
    body.db.conn.close()


def test_every_demo_certificate_passes_the_official_schema(demo) -> None:
    built, body = demo
    docs = documents(body)
    assert len(docs) >= 60
    # Each decision the demo takes happened at least once, so each kind of credential is here.
    for kind in ("withdrawn", "suspended", "suspended then reinstated", "reduced in scope"):
        assert built.numbers.get(kind), kind
    failing = {cid: errors(doc) for cid, doc in docs.items() if errors(doc)}
    assert failing == {}


def test_demo_certificates_read_as_their_state(demo) -> None:
    built, body = demo
    now = datetime.now(UTC)
    expected = {"withdrawn": Verdict.WITHDRAWN, "suspended": Verdict.SUSPENDED}
    expected["valid"] = Verdict.VALID

    class Now:
        def __call__(self) -> datetime:
            return now

    for kind, want in expected.items():
        for number in built.numbers[kind][:3]:
            doc = body.certification(number).credential
            got = verdict(body, doc, Now())  # type: ignore[arg-type]
            assert got is want, (kind, number, got)


def test_a_tampered_certificate_is_not_made_valid_by_the_schema(demo) -> None:
    """Passing the schema says nothing about the signature: the verifier still refuses."""
    _, body = demo
    doc = copy.deepcopy(next(iter(documents(body).values())))
    doc["credentialSubject"]["licenseNumber"] = "CWI-FAKE-0000-0"
    assert errors(doc) == []
    assert verdict(body, doc, Clock()) is Verdict.INVALID


@pytest.mark.parametrize("form", ["two-entries", "message", None])
def test_certreg_init_records_the_status_form(tmp_path, monkeypatch, form) -> None:
    """`certreg init --status-form`: the body's choice, recorded; message when not given."""
    from click.testing import CliRunner

    from certreg.issuer.cli import main

    monkeypatch.setenv("CERTREG_DATA", str(tmp_path / "cb"))
    monkeypatch.setenv("CERTREG_PASSPHRASE", PASSPHRASE)
    args = ["init", "--name", "Example CB", "--public-url", "https://cb.example"]
    args += ["--did-method", "key", "--kdf", "interactive"]
    result = CliRunner().invoke(main, args + (["--status-form", form] if form else []))
    assert result.exit_code == 0, result.output
    body = CertificationBody.open(tmp_path / "cb")
    assert body.status_form == (form or "message")
    assert body.status_lists.status_form == (form or "message")
    body.db.conn.close()


def test_certreg_init_refuses_an_unknown_status_form(tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from certreg.issuer.cli import main

    monkeypatch.setenv("CERTREG_DATA", str(tmp_path / "cb"))
    monkeypatch.setenv("CERTREG_PASSPHRASE", PASSPHRASE)
    result = CliRunner().invoke(
        main,
        ["init", "--name", "CB", "--public-url", "https://cb.example", "--status-form", "one"],
    )
    assert result.exit_code == 2
    assert "'one' is not one of 'message', 'two-entries'" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "cb" / "issuer.db").exists()

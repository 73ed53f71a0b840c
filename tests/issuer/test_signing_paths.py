"""Nothing that verifies as one of the body's certificates is signed without a decision (issue 7,
item 2 and Deliver 3). One test, or a few, per signing path; docs/security.md ("Signing paths")
names them.

The attack: an officer's bearer token, ``POST /credentials/issue``, a certificate-shaped
credential (Open Badges 3.0, ``achievementType: "Certification"``) reusing a withdrawn
certificate number, with a new holder and an expiry in 2036. It used to be signed with the
body's own key, and every verifier, the body's own ``/verify`` page included, said VALID.
"""

from __future__ import annotations

import copy
import json
import os
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from factories import HEADER, row, write_csv
from http_support import PASSPHRASE, V2, Env, make_env, plain_credential

from certreg.issuer import audit, sharing
from certreg.issuer.bulk import issue_csv
from certreg.issuer.cli import main
from certreg.issuer.credential import (
    Body,
    NormativeReference,
    Scheme,
    ScopeItem,
    certification_credential,
)
from certreg.issuer.http import create_app
from certreg.issuer.service import Refused
from certreg.keys.did import did_key_verification_method
from certreg.keys.keypair import KeyPair
from certreg.verifier import Verifier
from certreg.verifier.dataintegrity import add_proof
from certreg.verifier.facts import is_certification
from certreg.verifier.result import Verdict

BODY_DID = "did:web:cb.example"
ACHIEVEMENT_TYPE_IRI = "https://purl.imsglobal.org/spec/vc/ob/vocab.html#achievementType"


def _withdrawn_certificate(env: Env) -> dict[str, Any]:
    cert = env.grant()
    r = env.post(
        f"/api/certifications/{cert['number']}/withdraw", "decider2", {"reason": "misconduct"}
    )
    assert r.status_code == 200, r.text
    return cert


def _attack_credential(cert: dict[str, Any], issuer: Any = None) -> dict[str, Any]:
    """The withdrawn certificate's number, a new holder, an expiry in 2036; unsigned."""
    doc = copy.deepcopy(cert["credential"])
    for key in ("proof", "credentialStatus"):  # the VC API allocates status itself
        doc.pop(key)
    doc["id"] = f"urn:uuid:{uuid.uuid4()}"
    doc["validUntil"] = "2036-12-31T23:59:59Z"
    doc["credentialSubject"]["identifier"][0]["identityHash"] = "Mallory Forger"
    if issuer is None:
        doc.pop("issuer")
    else:
        doc["issuer"] = issuer
    assert is_certification(doc)
    assert doc["credentialSubject"]["licenseNumber"] == cert["number"]
    return doc


def _issue(env: Env, credential: dict[str, Any], who: str | None = "officer") -> Any:
    return env.post(
        "/credentials/issue",
        who,
        {
            "credential": credential,
            "options": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022"},
        },
    )


def _verify_page(env: Env, credential: dict[str, Any], html: bool = False) -> Any:
    accept = "text/html" if html else "application/json"
    return env.client.post(
        "/verify", data={"credential": json.dumps(credential)}, headers={"Accept": accept}
    )


def _vc_api_verify(env: Env, credential: dict[str, Any]) -> Any:
    return env.post("/credentials/verify", None, {"verifiableCredential": credential})


def _holder_presents(credential: dict[str, Any]) -> dict[str, Any]:
    holder = KeyPair.generate()
    holder = holder.with_verification_method(did_key_verification_method(holder.public_multibase))
    vp = {
        "@context": [V2],
        "type": ["VerifiablePresentation"],
        "holder": holder.verification_method.split("#")[0],
        "verifiableCredential": [credential],
    }
    return add_proof(vp, holder, proof_purpose="authentication", challenge="c-1")


def _body_credentials(env: Env) -> int:
    return env.body.db.execute("SELECT COUNT(*) FROM credentials").fetchone()[0]


# --- the VC API: off by default ------------------------------------------------------------


def test_the_attack_is_refused_when_generic_issuing_is_off(tmp_path):
    env = make_env(tmp_path, did_method="web")  # as `certreg serve` without the flag
    cert = _withdrawn_certificate(env)
    before = _body_credentials(env)
    attack = _attack_credential(cert, issuer=cert["credential"]["issuer"])
    for who in ("officer", "admin"):
        r = _issue(env, attack, who)
        assert r.status_code == 403, r.text
        assert "--enable-vc-api-issuer" in r.json()["detail"]
        # Without the issuer too, and with a body the route would have refused: off is off.
        assert _issue(env, _attack_credential(cert), who).status_code == 403
        assert env.post("/credentials/issue", who, {"nonsense": 1}).status_code == 403
    assert _issue(env, attack, None).status_code == 401
    # Nothing was signed, stored or made: no credential, no event, no VC API key or database.
    assert _body_credentials(env) == before
    assert not audit.events(env.body.db, kind="vcapi_credential_issued")
    data = tmp_path / "cb"
    assert not (data / "keys" / "vc-api").exists() and not (data / "vc-api.db").exists()


# --- the VC API, turned on: its own identity, never the body's certificate ------------------


@pytest.fixture
def on(tmp_path) -> Env:
    return make_env(tmp_path, did_method="web", vc_api_issuer=True)


def test_with_issuing_on_the_attack_is_signed_by_the_vc_api_did_key_and_untrusted(on):
    env = on
    cert = _withdrawn_certificate(env)
    vc_api_did = env.client.app.state.certreg.vc_api_issuer().did
    assert vc_api_did.startswith("did:key:") and vc_api_did != BODY_DID
    # The strongest form: the body's own issuer profile (its name, its URL) under the
    # VC API's DID, so that only the DID tells them apart.
    profile = {**cert["credential"]["issuer"], "id": vc_api_did}
    r = _issue(env, _attack_credential(cert, issuer=profile))
    assert r.status_code == 201, r.text
    forged = r.json()["verifiableCredential"]
    assert forged["issuer"]["id"] == vc_api_did
    assert forged["proof"]["verificationMethod"].split("#")[0] == vc_api_did
    # It is not in issuer.db: only decisions' credentials are.
    assert not env.body.db.execute(
        "SELECT 1 FROM credentials WHERE id = ?", [forged["id"]]
    ).fetchone()

    # The VC API's verify route.
    r = _vc_api_verify(env, forged)
    assert r.status_code == 400 and r.json()["verified"] is False
    assert r.json()["verdict"] == "UNTRUSTED_ISSUER", r.json()["summary"]
    assert "may not issue certificates" in r.json()["summary"]
    assert "holds certification" not in r.json()["summary"]
    # The body's /verify page, as a program and as a person reads it.
    r = _verify_page(env, forged)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["verdict"] == "UNTRUSTED_ISSUER" and answer["headline"] == "UNTRUSTED ISSUER"
    assert answer["issued_by_this_body"] is False
    page = _verify_page(env, forged, html=True).text
    assert "UNTRUSTED ISSUER" in page  # (the pasted credential is echoed back in the form)
    assert "holds certification" not in page
    # Inside a presentation its holder signed.
    r = env.post(
        "/presentations/verify",
        None,
        {"verifiablePresentation": _holder_presents(forged), "options": {"challenge": "c-1"}},
    )
    assert r.status_code == 400 and r.json()["verdict"] == "UNTRUSTED_ISSUER"
    assert [c["verdict"] for c in r.json()["credentialResults"]] == ["UNTRUSTED_ISSUER"]

    # What the rule stops: a verifier that trusts any issuer and has no certificate rule
    # (the library's default) believes it. Remove the rule and the checks above fail.
    lax = Verifier(status_fetcher={}, check_status=False)
    assert lax.verify_credential(forged).verdict is Verdict.VALID


def test_naming_the_body_as_issuer_is_refused_with_a_reason(on):
    env = on
    cert = _withdrawn_certificate(env)
    before = _body_credentials(env)
    for issuer in (BODY_DID, cert["credential"]["issuer"], {"id": BODY_DID}):
        r = _issue(env, _attack_credential(cert, issuer=issuer))
        assert r.status_code == 400, r.text
        assert "does not issue as the certification body" in r.json()["detail"]
    r = _issue(env, plain_credential(issuer=BODY_DID))  # not a certificate: refused as well
    assert r.status_code == 400
    assert _body_credentials(env) == before
    assert not audit.events(env.body.db, kind="vcapi_credential_issued")


def test_the_bodys_certificates_and_generic_did_key_credentials_still_verify(on):
    env = on
    cert = env.grant()
    for answer in (
        _vc_api_verify(env, cert["credential"]).json(),
        _verify_page(env, cert["credential"]).json(),
    ):
        assert answer["verdict"] == "VALID", answer["summary"]
        assert f"holds certification CWI (certificate {cert['number']})" in answer["summary"]
    # A credential that is not a certificate, from the VC API's did:key (the W3C suites).
    r = _issue(env, plain_credential())
    assert r.status_code == 201, r.text
    generic = r.json()["verifiableCredential"]
    assert _vc_api_verify(env, generic).json()["verdict"] == "VALID"


def test_any_did_key_certificate_is_untrusted_on_the_bodys_pages(on):
    """Not only the VC API's key: a certificate made and signed anywhere else (a key on a
    laptop, another product) with a did:key, naming this body's number and name."""
    env = on
    cert = _withdrawn_certificate(env)
    key = KeyPair.generate()
    did = did_key_verification_method(key.public_multibase).split("#")[0]
    unsigned = certification_credential(
        body=Body(did, "Example Certification Body", "https://cb.example"),
        scheme=Scheme("https://cb.example/schemes/cwi/1", "CWI", "Certified Welding Inspector",
                      "1", "Inspection of fusion welds.", "Inspection of fusion welds.",
                      NormativeReference("ISO 9712:2021")),
        holder_name="Mallory Forger",
        certificate_number=cert["number"],
        scope=[ScopeItem("UT2", "Ultrasonic testing, level 2")],
        valid_from="2026-01-15T00:00:00Z",
        valid_until="2036-12-31T23:59:59Z",
        status_entries=[],
    )  # fmt: skip
    forged = add_proof(unsigned, key.with_verification_method(f"{did}#{did[8:]}"))
    assert _vc_api_verify(env, forged).json()["verdict"] == "UNTRUSTED_ISSUER"
    assert _verify_page(env, forged).json()["verdict"] == "UNTRUSTED_ISSUER"
    # Tampered as well as foreign: the forgery is reported, not merely the issuer.
    forged["credentialSubject"]["licenseNumber"] = "CWI-0000-0000-0"
    assert _vc_api_verify(env, forged).json()["verdict"] == "INVALID"


def test_a_certificate_signed_with_the_bodys_key_but_without_a_decision_is_invalid_here(on):
    """What the old oracle produced (or anyone who holds the body's key and writes their own
    signing code): the body's signature, but no decision. The body's own verify routes check
    its records: such a certificate is INVALID there, with the reason."""
    env = on
    cert = _withdrawn_certificate(env)
    body_key = env.body.signer
    forged = add_proof(_attack_credential(cert, issuer=cert["credential"]["issuer"]), body_key)
    # A real certificate's id, re-signed with other contents, is not that certificate either.
    resigned = copy.deepcopy(cert["credential"])
    resigned.pop("proof")
    resigned["credentialSubject"]["identifier"][0]["identityHash"] = "Mallory Forger"
    resigned = add_proof(resigned, body_key)
    for document in (forged, resigned):
        for answer in (_vc_api_verify(env, document).json(), _verify_page(env, document).json()):
            assert answer["verdict"] == "INVALID", answer["summary"]
            assert "has no record of issuing this certificate" in answer["summary"]
    # The certificate the decision signed is recognised (and is WITHDRAWN, as decided).
    assert _vc_api_verify(env, cert["credential"]).json()["verdict"] == "WITHDRAWN"
    # Also when its proof is written as the object instead of a one-element array: the same
    # signed document (JSON-LD reads both alike), so not "unrecorded".
    [proof] = cert["credential"]["proof"]
    as_object = {**cert["credential"], "proof": proof}
    for answer in (_vc_api_verify(env, as_object).json(), _verify_page(env, as_object).json()):
        assert answer["verdict"] == "WITHDRAWN", answer["summary"]


def test_the_vc_api_key_is_its_own_encrypted_and_kept_across_restarts(on, tmp_path):
    env = on
    state = env.client.app.state.certreg
    issuer = state.vc_api_issuer()
    store = tmp_path / "cb" / "keys" / "vc-api"
    meta = json.loads((store / "keys.json").read_text())
    assert meta["controller"] == "did:key" and meta["kdf"] == "interactive"
    (record,) = meta["keys"]
    assert record["id"].split("#")[0] == issuer.did
    assert record["public_multibase"] != env.body.signer.public_multibase
    for path in store.iterdir():
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
            # Encrypted at rest: the seed appears in no form.
            assert issuer.signer.seed.hex() not in path.read_text()
    assert stat.S_IMODE((tmp_path / "cb" / "vc-api.db").stat().st_mode) == 0o600
    # A restarted service signs as the same DID (the W3C suites' configuration names it).
    again = create_app(env.body, passphrase=PASSPHRASE, enable_vc_api_issuer=True)
    assert again.state.certreg.vc_api_issuer().did == issuer.did
    # Without the passphrase there is no signing, and the reason says why (not a 500).
    locked = create_app(env.body, enable_vc_api_issuer=True)
    assert locked.state.certreg.passphrase is None
    with pytest.raises(Refused, match="passphrase"):
        locked.state.certreg.vc_api_issuer()


# --- certreg sign ----------------------------------------------------------------------------


def _sign(tmp_path: Path, document: dict[str, Any], *extra: str) -> Any:
    source = tmp_path / f"doc-{uuid.uuid4().hex}.json"
    source.write_text(json.dumps(document))
    secret = tmp_path / "pass.txt"
    secret.write_text(PASSPHRASE + "\n")
    os.chmod(secret, 0o600)
    return CliRunner().invoke(
        main,
        ["sign", str(source), "--store", str(tmp_path / "cb" / "keys"),
         "--passphrase-file", str(secret), *extra],
    )  # fmt: skip


def test_certreg_sign_refuses_a_certificate_with_the_bodys_key(tmp_path):
    env = make_env(tmp_path, did_method="web")
    cert = _withdrawn_certificate(env)
    attack = _attack_credential(cert, issuer=cert["credential"]["issuer"])
    out = _sign(tmp_path, attack)
    assert out.exit_code == 1 and "certreg decide grant" in out.output, out.output
    assert "proof" not in out.output and "Traceback" not in out.output
    # Spelled so that the JSON no longer says achievementType: the signed RDF still does, and
    # rewriting it in compact form after signing would keep the proof. Refused as well.
    achievement = attack["credentialSubject"]["achievement"]
    achievement[ACHIEVEMENT_TYPE_IRI] = achievement.pop("achievementType")
    assert not is_certification(attack)
    out = _sign(tmp_path, attack)
    assert out.exit_code == 1 and "certificate" in out.output, out.output
    for suite in ("eddsa-rdfc-2022", "eddsa-jcs-2022"):
        out = _sign(tmp_path, _attack_credential(cert, BODY_DID), "--cryptosuite", suite)
        assert out.exit_code == 1, out.output
    # What it is for still works: a credential that is not a certificate, and a presentation
    # (its holder's proof) of a real certificate.
    out = _sign(tmp_path, plain_credential(issuer=BODY_DID))
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["proof"]["proofPurpose"] == "assertionMethod"
    vp = {"@context": [V2], "type": ["VerifiablePresentation"], "holder": BODY_DID,
          "verifiableCredential": [cert["credential"]]}  # fmt: skip
    out = _sign(tmp_path, vp, "--proof-purpose", "authentication", "--challenge", "c")
    assert out.exit_code == 0, out.output


# --- bulk issuance ---------------------------------------------------------------------------


def test_bulk_issuance_signs_only_as_a_decision_by_an_impartial_decision_maker(tmp_path):
    env = make_env(tmp_path)
    path = write_csv(tmp_path / "grants.csv", [row(1, env.staff["examiner"])])
    assert HEADER[0] == "external_id"
    before = _body_credentials(env)
    with pytest.raises(Refused, match="not a decision-maker"):
        issue_csv(env.body, path, decided_by=env.staff["officer"], workers=0)
    # The examiner of the row's assessment may not decide on it (ISO/IEC 17024 §9.2.5).
    report = issue_csv(env.body, path, decided_by=env.staff["examiner"], workers=0)
    assert report.issued == 0 and report.errors, report
    assert _body_credentials(env) == before
    report = issue_csv(env.body, path, decided_by=env.staff["decider"], workers=0)
    assert report.issued == 1
    (decided_by,) = env.body.db.execute(
        "SELECT d.decided_by FROM credentials c JOIN decisions d ON d.id = c.decision_id "
        "WHERE c.certification_id IS NOT NULL ORDER BY c.issued_at DESC LIMIT 1"
    ).fetchone()
    assert decided_by == env.staff["decider"]


# --- sharing, OID4VCI, VC API exchanges: they hand out what a decision signed -----------------


def test_holder_channels_hand_out_the_decisions_credential_and_sign_nothing(tmp_path):
    env = make_env(tmp_path)
    cert = env.grant()
    stored = env.body.certification(cert["number"]).credential
    _, token = sharing.create_share(env.body, cert["number"])
    before = _body_credentials(env)
    downloaded = env.client.get(f"/share/{token}/credential.json")
    assert downloaded.status_code == 200 and downloaded.json() == stored
    exchange = sharing.exchange_url(env.body, token).removeprefix("https://cb.example")
    (given,) = env.client.post(exchange, json={}).json()["verifiablePresentation"][
        "verifiableCredential"
    ]
    assert given == stored
    assert _body_credentials(env) == before  # nothing new was signed
    # Every certificate issuer.db holds was signed at a decision by a decision-maker.
    rows = env.body.db.execute(
        "SELECT c.document, d.decided_by, s.roles FROM credentials c "
        "JOIN decisions d ON d.id = c.decision_id JOIN staff s ON s.id = d.decided_by"
    ).fetchall()
    assert rows and all("decision_maker" in roles for _, _, roles in rows)
    assert len(rows) == _body_credentials(env)


# --- status lists ----------------------------------------------------------------------------


def test_status_lists_are_never_certificates(on):
    env = on
    env.grant()
    assert _issue(env, plain_credential()).status_code == 201
    state = env.client.app.state.certreg
    lists = [state.body.status_lists.latest(i) for (i,) in env.body.db.execute(
        "SELECT id FROM status_lists")]  # fmt: skip
    vc_api = state.vc_api_issuer()
    lists += [vc_api.status_lists.latest(i) for (i,) in vc_api.db.execute(
        "SELECT id FROM status_lists")]  # fmt: skip
    assert len(lists) >= 4  # at least revocation and suspension, of each issuer
    for listed in lists:
        assert "BitstringStatusListCredential" in listed["type"] and not is_certification(listed)
        answer = _vc_api_verify(env, listed).json()
        assert answer["verdict"] == "VALID" and "holds certification" not in answer["summary"]
    # The VC API's lists are signed by its did:key, not the body's key.
    assert {entry["issuer"] for entry in lists} == {BODY_DID, vc_api.did}

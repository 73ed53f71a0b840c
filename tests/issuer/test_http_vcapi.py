"""The W3C CCG VC API: issue (any VC 1.1/2.0 credential, as the VC API's own did:key, when the
operator turned it on), verify, presentations, status. The issue-route policy itself (off by
default, never as the body) is tested in tests/issuer/test_signing_paths.py."""

from __future__ import annotations

import pytest
from http_support import V2, Env, make_env, plain_credential

from certreg.keys.did import did_key_verification_method
from certreg.keys.keypair import KeyPair
from certreg.verifier.dataintegrity import add_proof

STATUS = [
    {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"},
    {"type": "BitstringStatusListEntry", "statusPurpose": "suspension"},
]


@pytest.fixture
def env(tmp_path) -> Env:
    return make_env(tmp_path, vc_api_issuer=True)


@pytest.fixture
def web_env(tmp_path) -> Env:
    return make_env(tmp_path, did_method="web", vc_api_issuer=True)


def vc_api_did(env) -> str:
    """The VC API's own issuer: a did:key that is not the body's DID."""
    did = env.client.app.state.certreg.vc_api_issuer().did
    assert did.startswith("did:key:") and did != env.body.info["did"]
    return did


def issue(env, credential, who="officer", **options):
    return env.post("/credentials/issue", who, {"credential": credential, "options": options})


def vc_api_db(env):
    """vc-api.db: the VC API issuer's credentials and status lists."""
    return env.client.app.state.certreg.vc_api_issuer().db


def verify(env, vc):
    return env.post("/credentials/verify", None, {"verifiableCredential": vc})


def set_status(env, credential_id, purpose, value, who="officer"):
    return env.post(
        "/credentials/status",
        who,
        {
            "credentialId": credential_id,
            "credentialStatus": [
                {"type": "BitstringStatusListEntry", "status": value, "statusPurpose": purpose}
            ],
        },
    )


@pytest.mark.parametrize("cryptosuite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_plain_vc2_issue_verify_suspend_revoke(env, cryptosuite):
    r = issue(env, plain_credential(), cryptosuite=cryptosuite, credentialStatus=STATUS)
    assert r.status_code == 201, r.text
    vc = r.json()["verifiableCredential"]
    did = vc_api_did(env)
    assert vc["issuer"] == did and vc["proof"]["cryptosuite"] == cryptosuite
    assert vc["proof"]["verificationMethod"].startswith(did + "#")
    assert {e["statusPurpose"] for e in vc["credentialStatus"]} == {"revocation", "suspension"}
    # Its status lists are its own (signed by its did:key), never the body's.
    for entry in vc["credentialStatus"]:
        assert entry["statusListCredential"].startswith("https://cb.example/vc-api/status/")
        listed = env.get(entry["statusListCredential"].removeprefix("https://cb.example"))
        assert listed.status_code == 200 and listed.json()["issuer"] == did
    row = (
        vc_api_db(env)
        .execute("SELECT certification_id, state FROM credentials WHERE id = ?", [vc["id"]])
        .fetchone()
    )
    assert row == (None, "current")
    assert (
        env.body.db.execute("SELECT 1 FROM credentials WHERE id = ?", [vc["id"]]).fetchone() is None
    )

    r = verify(env, vc)
    assert r.status_code == 200 and r.json()["verified"] is True, r.json()
    assert r.json()["verdict"] == "VALID" and "signature" in r.json()["checks"]

    assert set_status(env, vc["id"], "suspension", True).status_code == 200
    r = verify(env, vc)
    assert r.status_code == 400 and r.json()["verdict"] == "SUSPENDED"
    assert any(e["title"] == "status (suspension)" for e in r.json()["errors"])
    assert set_status(env, vc["id"], "suspension", False).status_code == 200
    assert verify(env, vc).json()["verdict"] == "VALID"

    assert set_status(env, vc["id"], "revocation", True).status_code == 200
    assert verify(env, vc).json()["verdict"] == "WITHDRAWN"
    r = set_status(env, vc["id"], "revocation", False)
    assert r.status_code == 409 and "cannot be undone" in r.json()["detail"]
    state = vc_api_db(env).execute("SELECT state FROM credentials WHERE id = ?", [vc["id"]])
    assert state.fetchone() == ("revoked",)


def test_issuer_object_kept_and_other_issuers_refused(env):
    did = vc_api_did(env)
    r = issue(env, plain_credential(issuer={"id": did, "name": "Course desk"}))
    assert (
        r.status_code == 201 and r.json()["verifiableCredential"]["issuer"]["name"] == "Course desk"
    )
    r = issue(env, plain_credential(issuer="did:example:someone-else"))
    assert r.status_code == 400 and "issues as" in r.json()["detail"]


def test_the_w3c_suites_options_are_accepted(env):
    # What the W3C VC API suites send on every issue request.
    r = issue(env, plain_credential(), type="DataIntegrityProof", cryptosuite="eddsa-rdfc-2022")
    assert r.status_code == 201, r.text
    assert r.json()["verifiableCredential"]["proof"]["type"] == "DataIntegrityProof"
    r = issue(env, plain_credential(), type="Ed25519Signature2020")
    assert r.status_code == 422


def test_vc11_credential(env):
    credential = {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": "did:example:123"},
    }
    r = issue(env, credential, credentialStatus={"type": "BitstringStatusListEntry"})
    assert r.status_code == 201, r.text
    vc = r.json()["verifiableCredential"]
    assert "issuanceDate" in vc and vc["credentialStatus"]["statusPurpose"] == "revocation"
    assert verify(env, vc).json()["verdict"] == "VALID"


def test_undefined_terms_are_refused_with_the_signers_reason(env):
    credential = {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": "did:example:1", "favouriteColour": "green"},
    }
    r = issue(env, credential, credentialStatus=STATUS[:1])
    # The signer's own reason (it names the term, or says the document is not in the compact
    # form its contexts produce, which is how an undefined term shows since issue 7).
    assert r.status_code == 422 and "cannot be signed" in r.json()["detail"]
    # Nothing was stored, and the status index it would have used was never taken.
    for db in (env.body.db, vc_api_db(env)):
        assert db.execute(
            "SELECT COUNT(*) FROM credentials WHERE certification_id IS NULL"
        ).fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM status_entries").fetchone() == (0,)


@pytest.mark.parametrize(
    ("credential", "options", "status"),
    [
        ({"type": ["VerifiableCredential"], "credentialSubject": {}}, {}, 400),
        ({"@context": ["https://example.com/ctx"], "type": ["VerifiableCredential"],
          "credentialSubject": {}}, {}, 400),
        ({"@context": [V2], "type": ["Thing"], "credentialSubject": {}}, {}, 400),
        ({"@context": [V2], "type": ["VerifiableCredential"]}, {}, 400),
        ({"@context": [V2], "type": ["VerifiableCredential"], "credentialSubject": {},
          "proof": {}}, {}, 400),
        ({"@context": [V2], "type": ["VerifiableCredential"], "credentialSubject": {},
          "validFrom": "yesterday"}, {}, 400),
        ({"@context": [V2], "type": ["VerifiableCredential"], "credentialSubject": {},
          "issuanceDate": "2026-01-01T00:00:00Z"}, {}, 400),
        ({"@context": [V2], "type": ["VerifiableCredential"], "credentialSubject": {},
          "credentialStatus": {"type": "BitstringStatusListEntry"}}, {}, 400),
        (plain_credential(), {"cryptosuite": "ed25519-2020"}, 422),
        (plain_credential(), {"credentialStatus": [{"type": "StatusList2021Entry"}]}, 422),
        (plain_credential(), {"credentialStatus": [STATUS[0], STATUS[0]]}, 422),
    ],
)  # fmt: skip
def test_bad_issue_requests(env, credential, options, status):
    r = issue(env, credential, **options)
    assert r.status_code == status, r.text
    assert r.json()["detail"]


def test_duplicate_credential_id(env):
    first = issue(env, plain_credential(id="urn:uuid:11111111-2222-3333-4444-555555555555"))
    assert first.status_code == 201
    again = issue(env, plain_credential(id="urn:uuid:11111111-2222-3333-4444-555555555555"))
    assert again.status_code == 409


def test_our_certificate_verifies_and_its_status_is_not_changed_through_the_vc_api(env):
    cert = env.grant()
    vc = cert["credential"]
    r = verify(env, vc)
    assert r.json()["verified"] is True and cert["number"] in r.json()["summary"]
    r = set_status(env, vc["id"], "suspension", True)
    assert r.status_code == 409 and "decision" in r.json()["detail"]
    env.post(f"/api/certifications/{cert['number']}/withdraw", "decider", {"reason": "misconduct"})
    r = verify(env, vc)
    assert r.status_code == 400 and r.json()["verdict"] == "WITHDRAWN"


def test_status_of_unknown_or_entryless_credentials(env):
    assert set_status(env, "urn:uuid:nope", "revocation", True).status_code == 404
    vc = issue(env, plain_credential()).json()["verifiableCredential"]
    r = set_status(env, vc["id"], "suspension", True)
    assert r.status_code == 422 and "without a suspension" in r.json()["detail"]


def test_tampered_and_foreign_credentials_do_not_verify(env):
    vc = issue(env, plain_credential()).json()["verifiableCredential"]
    vc["credentialSubject"]["name"] = "Doctor of Everything"
    r = verify(env, vc)
    assert r.status_code == 400 and r.json()["verified"] is False and r.json()["errors"]
    r = verify(env, plain_credential(issuer="did:example:x"))
    assert r.status_code == 400 and r.json()["verdict"] == "INVALID"


def test_presentation_verify_with_challenge_and_domain(env):
    vc = issue(env, plain_credential(), credentialStatus=STATUS).json()["verifiableCredential"]
    holder = KeyPair.generate()
    holder = holder.with_verification_method(did_key_verification_method(holder.public_multibase))
    vp = {
        "@context": [V2],
        "type": ["VerifiablePresentation"],
        "holder": holder.verification_method.split("#")[0],
        "verifiableCredential": [vc],
    }
    signed = add_proof(
        vp, holder, proof_purpose="authentication", challenge="c-123", domain="verifier.example"
    )
    body = {
        "verifiablePresentation": signed,
        "options": {"challenge": "c-123", "domain": "verifier.example"},
    }
    r = env.post("/presentations/verify", None, body)
    assert r.status_code == 200 and r.json()["verified"] is True, r.json()
    assert len(r.json()["credentialResults"]) == 1
    body["options"]["challenge"] = "another"
    r = env.post("/presentations/verify", None, body)
    assert r.status_code == 400 and r.json()["verified"] is False


def test_verify_warns_about_ignored_options(env):
    vc = issue(env, plain_credential()).json()["verifiableCredential"]
    r = env.post(
        "/credentials/verify", None, {"verifiableCredential": vc, "options": {"checks": ["proof"]}}
    )
    assert r.status_code == 200
    assert any("checks" in w["detail"] for w in r.json()["warnings"])


def test_did_web_body_issue_and_verify(web_env):
    # A did:web body's VC API still issues as its own did:key (what the W3C suites resolve).
    r = issue(web_env, plain_credential(), credentialStatus=STATUS)
    vc = r.json()["verifiableCredential"]
    assert vc["issuer"] == vc_api_did(web_env) != "did:web:cb.example"
    assert verify(web_env, vc).json()["verdict"] == "VALID"


# --- VC API options and requests as the W3C suites send them --------------------------------

SUITE_OPTIONS = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022"}


def test_issue_options_created_challenge_domain_and_mandatory_pointers(env):
    r = issue(
        env,
        plain_credential(),
        **SUITE_OPTIONS,
        created="2024-05-06T07:08:09Z",
        challenge="c-1",
        domain="example.org",
        mandatoryPointers=["/issuer", "/credentialSubject/name"],
    )
    assert r.status_code == 201, r.text
    proof = r.json()["verifiableCredential"]["proof"]
    assert (proof["created"], proof["challenge"], proof["domain"]) == (
        "2024-05-06T07:08:09Z",
        "c-1",
        "example.org",
    )
    # The proof verifies as signed: created, challenge and domain are part of what was signed.
    vc = r.json()["verifiableCredential"]
    answer = env.post(
        "/credentials/verify",
        None,
        {"verifiableCredential": vc, "options": {"challenge": "c-1", "domain": "example.org"}},
    )
    assert answer.status_code == 200, answer.json()


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"frobnicate": True}, "options.frobnicate is not an issue option"),
        ({"created": "yesterday"}, "options.created must be a date-time"),
        ({"created": "2024-05-06T07:08:09"}, "options.created must be a date-time"),
        ({"mandatoryPointers": ["/nothing/here"]}, "'/nothing/here' does not point"),
        ({"mandatoryPointers": ["issuer"]}, "'issuer' does not point"),
    ],
)
def test_an_unknown_or_bad_option_is_refused_with_a_reason_that_names_it(env, options, words):
    r = issue(env, plain_credential(), **SUITE_OPTIONS, **options)
    assert r.status_code == 422, r.text
    assert words in r.json()["detail"]


def test_the_suites_vc11_input_is_issued_with_issuance_date_and_the_di_context(env):
    # validVc.json of the W3C VC 2.0 and DI suites: a bare VC 1.1 credential.
    vc11 = {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": "did:key:z6MkhTNL7i2etLerDK8Acz5t528giE5KA4p75T6ka1E1D74r"},
        "issuer": vc_api_did(env),
        "id": "urn:uuid:2f0b6c43-3a41-4ac0-9d0b-3e2e5f1c9a77",
    }
    r = issue(env, vc11, **SUITE_OPTIONS)
    assert r.status_code == 201, r.text
    vc = r.json()["verifiableCredential"]
    assert vc["@context"] == [
        "https://www.w3.org/2018/credentials/v1",
        "https://w3id.org/security/data-integrity/v2",
    ]
    assert "issuanceDate" in vc and vc["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert verify(env, vc).json()["verified"] is True


def test_verify_options_challenge_domain_and_expected_proof_purpose_are_enforced(env):
    vc = issue(env, plain_credential(), **SUITE_OPTIONS).json()["verifiableCredential"]

    def answer(**options):
        return env.post(
            "/credentials/verify",
            None,
            {"verifiableCredential": vc, "options": {"checks": ["proof"], **options}},
        )

    assert answer().status_code == 200
    assert answer(expectedProofPurpose="assertionMethod").status_code == 200
    for options in (
        {"expectedProofPurpose": "authentication"},
        {"challenge": "1235abcd6789"},
        {"domain": "domain.example"},
    ):
        r = answer(**options)
        assert r.status_code == 400 and r.json()["verified"] is False, options
        assert r.json()["errors"], options


def test_verify_answer_for_a_valid_credential_has_no_errors(env):
    # The W3C suites throw on the first entry of "errors": a VALID answer must have none.
    vc = issue(env, plain_credential(), **SUITE_OPTIONS).json()["verifiableCredential"]
    r = env.post(
        "/credentials/verify", None, {"verifiableCredential": vc, "options": {"checks": ["proof"]}}
    )
    assert r.status_code == 200 and r.json()["errors"] == []


def holder_key() -> KeyPair:
    holder = KeyPair.generate()
    return holder.with_verification_method(did_key_verification_method(holder.public_multibase))


def vp_body(key: KeyPair, credentials: list, *, challenge="c-9", domain="v.example", **vp):
    presentation = {
        "@context": [V2],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": credentials,
        **vp,
    }
    signed = add_proof(
        presentation, key, proof_purpose="authentication", challenge=challenge, domain=domain
    )
    return {
        "verifiablePresentation": signed,
        "options": {"challenge": "c-9", "domain": "v.example"},
    }


def test_presentations_with_or_without_id_extra_types_and_zero_or_more_credentials(env):
    holder = holder_key()
    did = holder.verification_method.split("#")[0]
    vc = issue(env, plain_credential(), **SUITE_OPTIONS).json()["verifiableCredential"]
    for credentials, extra in [
        ([], {}),
        ([vc], {"holder": did}),
        ([vc, vc], {"id": "urn:uuid:3c1e8d4e-2c3b-4d55-9d1e-1f7d2d6a0b21"}),
        ([vc], {"type": ["VerifiablePresentation", "ExamplePresentation"]}),
    ]:
        if "type" in extra:  # a type the VC 2.0 context does not define needs a context
            extra["@context"] = [V2, {"ExamplePresentation": "https://example.org/#EP"}]
        r = env.post("/presentations/verify", None, vp_body(holder, credentials, **extra))
        assert r.status_code == 200, (extra, r.json())
        assert r.json()["holder"] == did
        assert len(r.json()["credentialResults"]) == len(credentials)


def test_presentations_refused_without_context_or_type_with_wrong_binding_or_non_objects(env):
    holder = holder_key()
    vc = issue(env, plain_credential(), **SUITE_OPTIONS).json()["verifiableCredential"]
    good = vp_body(holder, [vc])
    cases = []
    for key in ("@context", "type"):
        body = vp_body(holder, [vc])
        del body["verifiablePresentation"][key]
        cases.append(body)
    cases.append(vp_body(holder, [vc], challenge="old"))
    cases.append(vp_body(holder, [vc], domain="phisher.example"))
    cases.append(vp_body(holder, [vc, "a string"]))
    cases.append(vp_body(holder, [vc, 7]))
    for body in cases:
        r = env.post("/presentations/verify", None, body)
        assert r.status_code == 400 and r.json()["verified"] is False, r.json()
        assert r.json()["errors"]
    assert env.post("/presentations/verify", None, good).status_code == 200

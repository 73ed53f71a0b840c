"""The VC API's ``certregRequireLog`` verify option (issue 13, item 3): a certificate granted by
a decision is verified with it; a credential signed with the body's key outside a decision, or by
the VC API's generic issuer, is NOT_IN_LOG with it and verified without it; a witness quorum not
met is refused with the reason; malformed options are a 422 in words. The body served in process
(``make_env``), its log's proofs read from its own ``/log/proof``."""

from __future__ import annotations

from typing import Any

import pytest
from http_support import V2, Env, make_env, plain_credential

from certreg.keys.did import did_key_verification_method
from certreg.keys.keypair import KeyPair
from certreg.verifier.dataintegrity import add_proof
from certreg.verifier.tlog.entry import credential_hash
from certreg.verifier.tlog.note import COSIGNATURE_V1, Signer


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    env = make_env(tmp_path_factory.mktemp("vcapi-log"), did_method="web", vc_api_issuer=True)
    env.client.app.state.certreg_log_interval = 0  # type: ignore[attr-defined]
    return env


@pytest.fixture(scope="module")
def certificate(env: Env) -> dict[str, Any]:
    credential = env.grant()["credential"]
    r = env.client.get("/log/proof", params={"credential": credential_hash(credential)})
    assert r.status_code == 200, r.text  # the log has signed a checkpoint holding it
    return dict(credential)


def off_the_books(env: Env) -> dict[str, Any]:
    """Signed with the body's own key, as `certreg sign` does: no decision, no log entry."""
    return add_proof(plain_credential(issuer=env.body.info["did"]), env.body.signer)


def witness_key(name: str = "witness.test/w1") -> str:
    return Signer.generate(name, signature_type=COSIGNATURE_V1).verifier.key_string


def verify(env: Env, vc: dict[str, Any], **options: Any) -> Any:
    return env.post("/credentials/verify", None, {"verifiableCredential": vc, "options": options})


def test_a_granted_certificate_is_verified_under_the_log_policy(env: Env, certificate) -> None:
    r = verify(env, certificate, certregRequireLog={})
    assert r.status_code == 200, r.json()
    answer = r.json()
    assert answer["verdict"] == "VALID" and "transparency log" in answer["checks"], answer
    assert not [w for w in answer["warnings"] if "certregRequireLog" in w["detail"]]
    proof = env.client.get("/log/proof", params={"credential": credential_hash(certificate)})
    given = verify(env, certificate, certregRequireLog={"proof": proof.text})
    assert given.status_code == 200, given.json()


def test_signed_off_the_books_is_not_in_the_log(env: Env) -> None:
    forged = off_the_books(env)
    assert verify(env, forged).json()["verdict"] == "VALID"  # the signature is the body's
    r = verify(env, forged, certregRequireLog={})
    assert r.status_code == 400 and r.json()["verdict"] == "NOT_IN_LOG", r.json()
    (error,) = [e for e in r.json()["errors"] if e["title"] == "transparency log"]
    assert error["type"] == "urn:certreg:check:transparency-log"
    assert "holds no entry for this credential" in error["detail"], error


def test_the_vc_api_generic_issuers_credential_is_not_in_the_log(env: Env) -> None:
    issued = env.post("/credentials/issue", "officer", {"credential": plain_credential()})
    vc = issued.json()["verifiableCredential"]
    assert verify(env, vc).json()["verdict"] == "VALID"
    r = verify(env, vc, certregRequireLog={})
    assert r.json()["verdict"] == "NOT_IN_LOG", r.json()
    assert "names no transparency log" in str(r.json()["errors"])


def test_a_witness_quorum_not_met_is_refused_with_the_reason(env: Env, certificate) -> None:
    r = verify(env, certificate, certregRequireLog={"witnesses": [witness_key()], "quorum": 1})
    assert r.status_code == 400 and r.json()["verdict"] == "NOT_IN_LOG", r.json()
    (error,) = [e for e in r.json()["errors"] if e["title"] == "transparency log"]
    assert "does not verify" in error["detail"] and "witness" in error["detail"], error


def test_presentation_under_the_log_policy(env: Env, certificate) -> None:
    holder = KeyPair.generate()
    holder = holder.with_verification_method(did_key_verification_method(holder.public_multibase))

    def presented(*credentials: dict[str, Any]) -> dict[str, Any]:
        vp = {
            "@context": [V2],
            "type": ["VerifiablePresentation"],
            "holder": holder.verification_method.split("#")[0],
            "verifiableCredential": list(credentials),
        }
        return add_proof(vp, holder, proof_purpose="authentication", challenge="c-1")

    def post(vp: dict[str, Any], **options: Any) -> Any:
        body = {"verifiablePresentation": vp, "options": {"challenge": "c-1", **options}}
        return env.post("/presentations/verify", None, body)

    ok = post(presented(certificate), certregRequireLog={})
    assert ok.status_code == 200, ok.json()
    mixed = presented(certificate, off_the_books(env))
    assert post(mixed).status_code == 200
    refused = post(mixed, certregRequireLog={})
    assert refused.status_code == 400, refused.json()
    verdicts = [c["verdict"] for c in refused.json()["credentialResults"]]
    assert verdicts == ["VALID", "NOT_IN_LOG"], verdicts


@pytest.mark.parametrize(
    ("option", "words"),
    [
        ({"witnesses": ["not a key"]}, "witness key 1 is not a note verifier key"),
        ({"quorum": 1}, "a witness quorum needs witness keys"),
        ({"witnesses": ["{key}"], "quorum": 0}, "at least 1"),
        ({"witnesses": ["{key}"], "quorum": 2}, "a quorum of 2 cannot be met by 1 witness key"),
        ({"witnesses": ["{key}"] * 17}, "16"),
        ({"witness": []}, "witness"),  # a misspelt field: the model refuses it
        ({"quorum": "one"}, "quorum"),
    ],
)
def test_bad_options_are_a_422_in_words(env: Env, option: dict[str, Any], words: str) -> None:
    key = witness_key("witness.test/w2")
    option = {k: [key if x == "{key}" else x for x in v] if isinstance(v, list) else v
              for k, v in option.items()}  # fmt: skip
    r = verify(env, off_the_books(env), certregRequireLog=option)
    assert r.status_code == 422, r.text
    assert words in r.text, r.text


def test_openapi_shows_the_option(env: Env) -> None:
    schemas = env.client.get("/openapi.json").json()["components"]["schemas"]
    options = schemas["VerifyOptions"]["properties"]
    assert "certregRequireLog" in options
    assert set(schemas["RequireLog"]["properties"]) == {"witnesses", "quorum", "proof"}

"""The verify page's and the VC API's transparency-log option (issue 13, item 3): a granted
certificate is VALID with it; a credential signed with the body's key outside a decision is
NOT_IN_LOG with it and VALID without it; a witness quorum that is not met is refused with the
reason; malformed options are a 400/422 in words, never a 500. Served in process
(``make_env``: the issuer's app, its log, the register's pages), the log proof read from the
app's own ``/log/proof``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from http_support import Env, make_env

from certreg.verifier.dataintegrity import add_proof
from certreg.verifier.tlog.entry import credential_hash
from certreg.verifier.tlog.note import COSIGNATURE_V1 as COSIGNATURE
from certreg.verifier.tlog.note import Signer

HTML = {"accept": "text/html"}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    env = make_env(tmp_path_factory.mktemp("verify-log"), did_method="web")
    env.client.app.state.certreg_log_interval = 0  # type: ignore[attr-defined]
    return env


_granted: dict[int, dict[str, Any]] = {}


def granted(env: Env) -> dict[str, Any]:
    """A certificate granted by a decision (once per body), once the log has signed a
    checkpoint holding it."""
    if id(env) not in _granted:
        _granted[id(env)] = env.grant()["credential"]
    credential = _granted[id(env)]
    sha = credential_hash(credential)
    r = env.client.get("/log/proof", params={"credential": sha})
    assert r.status_code == 200, r.text
    return dict(credential)


def off_the_books(env: Env) -> dict[str, Any]:
    """A plain credential signed with the body's own key, as `certreg sign` does: no decision,
    so no log entry."""
    unsigned = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": env.body.info["did"],
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:holder", "name": "Signed off the books"},
    }
    return add_proof(unsigned, env.body.signer)


def page(env: Env, credential: dict[str, Any], *, html: bool = False, **fields: str) -> Any:
    return env.client.post(
        "/verify",
        data={"credential": json.dumps(credential), **fields},
        headers=HTML if html else {},
    )


def test_page_granted_certificate_is_valid_with_the_log_check(env: Env) -> None:
    credential = granted(env)
    r = page(env, credential, log_check="on")
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["verdict"] == "VALID", answer
    (check,) = [c for c in answer["checks"] if c["name"] == "transparency log"]
    assert check["ok"] and "in the log" in check["reason"], check
    html = page(env, credential, html=True, log_check="on").text
    assert "transparency log" in html and "passed: in the log" in html


def test_page_off_the_books_credential_is_not_in_the_log(env: Env) -> None:
    credential = off_the_books(env)
    plain = page(env, credential).json()
    assert plain["verdict"] == "VALID", plain  # the signature is the body's
    answer = page(env, credential, log_check="on").json()
    assert answer["verdict"] == "NOT_IN_LOG", answer
    (check,) = [c for c in answer["checks"] if c["name"] == "transparency log"]
    assert "holds no entry for this credential" in check["reason"], check
    html = page(env, credential, html=True, log_check="on").text
    assert "NOT IN THE LOG" in html and "FAILED: the issuer" in html
    french = env.client.post(
        "/verify",
        data={"credential": json.dumps(credential), "log_check": "on"},
        headers={"accept": "text/html", "accept-language": "fr"},
    ).text
    assert "Absent du journal" in french  # the verifier's summary, in the reader's language
    assert "ABSENT DU JOURNAL" in french  # the page's headline, in the reader's language
    assert "Vérifier aussi que le journal de transparence" in french  # the form's option


def test_page_witness_quorum_not_met_is_refused_with_the_reason(env: Env) -> None:
    credential = granted(env)
    witness = Signer.generate("witness.test/w1", signature_type=COSIGNATURE).verifier.key_string
    answer = page(env, credential, witnesses=witness, quorum="1").json()  # the keys tick the box
    assert answer["verdict"] == "NOT_IN_LOG", answer
    (check,) = [c for c in answer["checks"] if c["name"] == "transparency log"]
    assert "witness" in check["reason"] and "does not verify" in check["reason"], check


def test_page_given_proof_file_is_used(env: Env) -> None:
    credential = granted(env)
    proof = env.client.get("/log/proof", params={"credential": credential_hash(credential)}).text
    r = env.client.post(
        "/verify",
        data={"credential": json.dumps(credential), "log_check": "on"},
        files={"log_proof": ("cert.tlog-proof", proof.encode(), "text/plain")},
    )
    assert r.json()["verdict"] == "VALID", r.json()
    other = off_the_books(env)  # the same proof does not name another credential
    r = env.client.post(
        "/verify",
        data={"credential": json.dumps(other), "log_check": "on"},
        files={"log_proof": ("cert.tlog-proof", proof.encode(), "text/plain")},
    )
    assert r.json()["verdict"] == "NOT_IN_LOG"
    assert "another credential" in json.dumps(r.json()["checks"])


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"witnesses": "not a key"}, "witness key 1 is not a note verifier key"),
        ({"log_check": "on", "quorum": "1"}, "a witness quorum needs witness keys"),
        ({"witnesses": "{key}", "quorum": "0"}, "at least 1"),
        ({"witnesses": "{key}", "quorum": "2"}, "a quorum of 2 cannot be met by 1 witness key"),
        ({"witnesses": "{key}", "quorum": "one"}, "whole number"),
    ],
)
def test_page_bad_log_options_are_refused_in_words(
    env: Env, fields: dict[str, str], words: str
) -> None:
    key = Signer.generate("witness.test/w2", signature_type=COSIGNATURE).verifier.key_string
    fields = {k: v.replace("{key}", key) for k, v in fields.items()}
    r = page(env, off_the_books(env), **fields)
    assert r.status_code == 422, r.text
    assert words in r.json()["detail"], r.json()
    html = page(env, off_the_books(env), html=True, **fields)
    assert html.status_code == 422 and words in html.text

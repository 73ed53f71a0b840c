"""A certificate's log proof wherever the certificate is (issue 13 item 3): the share page's
``/share/{token}/log-proof``, the VC API exchange's ``logProof``, and the proofs of one
certification's entries (issuer.logfiles). Each proof is checked with ``verify_proof`` against
the log key the body's DID document lists, and must name the certificate's credential hash.
"""

from __future__ import annotations

import pytest
from http_support import Env, make_env

from certreg.issuer import sharing
from certreg.issuer.logfiles import LogError, LogFiles, NotYetSigned
from certreg.issuer.service import ScopeGrant
from certreg.verifier.tlog import merkle, note
from certreg.verifier.tlog.entry import credential_hash, parse_entry
from certreg.verifier.tlog.proof import ProofVerdict, parse_proof, verify_proof


@pytest.fixture
def env(tmp_path) -> Env:
    env = make_env(tmp_path, did_method="web")
    # A checkpoint is signed whenever one is asked for and the tree grew (not at most every
    # 5 s): each test sees its latest decisions in the log at once.
    env.client.app.state.certreg_log_interval = 0
    env.number = env.grant()["number"]  # type: ignore[attr-defined]
    return env


def log_key(env: Env) -> note.Verifier:
    document = env.get("/.well-known/did.json").json()
    [service] = [s for s in document["service"] if s["type"] == "CertregTransparencyLog"]
    return note.parse_verifier_key(service["verifierKey"])


def check(env: Env, text: str) -> tuple[ProofVerdict, dict]:
    """The proof's verdict under the DID document's log key, and its entry (from the extra)."""
    proof = parse_proof(text)
    assert proof.extra is not None
    verdict = verify_proof(text, merkle.leaf_hash(proof.extra), log_key(env))
    return verdict, parse_entry(proof.extra).to_json()


def current_hash(env: Env) -> str:
    return credential_hash(env.body.certification(env.number).credential)


def suspend_and_reinstate(env: Env, number: str) -> None:
    until = env.clock.day(30)
    r = env.post(
        f"/api/certifications/{number}/suspend", "decider", {"reason": "audit", "until": until}
    )
    assert r.status_code == 200, r.text
    r = env.post(f"/api/certifications/{number}/reinstate", "decider", {"reason": "cleared"})
    assert r.status_code == 200, r.text


def grant_another(env: Env) -> str:
    """A certificate of another holder; its number."""
    joan = env.body.add_person("Joan Roe", email="joan@example.org")
    env.body.record_assessment(
        joan,
        "cwi",
        result="pass",
        assessed_on=env.clock.day(-3),
        examiners=[env.staff["examiner"]],
        scope_codes=["VT2"],
    )
    cert = env.body.grant(
        joan, "cwi", [ScopeGrant("VT2")], decided_by=env.staff["decider"], evidence="x"
    )
    return cert.number


def test_the_share_page_gives_the_certificates_log_proof(env):
    _, token = sharing.create_share(env.body, env.number)
    page = env.client.get(f"/share/{token}").text
    assert f'href="/share/{token}/log-proof"' in page
    assert "Proof that the body&#x27;s log holds this certificate" in page
    r = env.client.get(f"/share/{token}/log-proof")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    assert r.headers["content-disposition"] == (
        f'attachment; filename="certificate-{env.number}.tlog-proof"'
    )
    assert r.headers["cache-control"] == "no-store"
    verdict, entry = check(env, r.text)
    assert verdict, verdict.reason
    assert entry["kind"] == "grant" and entry["credential"] == current_hash(env)
    # The German page words it in German and links the same proof.
    german = env.client.get(f"/share/{token}?lang=de").text
    assert f'href="/share/{token}/log-proof"' in german
    assert "Nachweis, dass das Protokoll der Stelle dieses Zertifikat enthält" in german


def test_after_a_correction_the_proof_is_of_the_current_credential(env):
    _, token = sharing.create_share(env.body, env.number)
    r = env.post(
        f"/api/certifications/{env.number}/correct",
        "decider",
        {"reason": "misspelt", "holder_name": "Jane Dough"},
    )
    assert r.status_code == 200, r.text
    verdict, entry = check(env, env.client.get(f"/share/{token}/log-proof").text)
    assert verdict, verdict.reason
    assert entry["kind"] == "correct" and entry["credential"] == current_hash(env)


def test_a_revoked_or_unknown_link_gives_no_proof(env):
    _, token = sharing.create_share(env.body, env.number)
    assert env.client.get(f"/share/{token}/log-proof").status_code == 200
    sharing.revoke_share_by_token(env.body, token)
    r = env.client.get(f"/share/{token}/log-proof")
    assert r.status_code == 410 and "c2sp.org/tlog-proof" not in r.text  # as its page: gone
    r = env.client.get("/share/" + "A" * 43 + "/log-proof")
    assert r.status_code == 404 and "c2sp.org/tlog-proof" not in r.text


def test_the_proof_endpoint_costs_one_lookup(env):
    """The credential's entry is found by one indexed look-up, whatever the log's size: the
    statements the request runs are the same for a log of 3 entries and of 33 (at most a
    tile's 256 leaf hashes are read per level), and none of them
    scans tlog_entries."""
    _, token = sharing.create_share(env.body, env.number)

    def statements() -> list[str]:
        env.client.get("/log/checkpoint")  # sign first, outside the measure
        seen: list[str] = []
        conn = env.body.db.conn
        conn.set_trace_callback(seen.append)
        try:
            assert env.client.get(f"/share/{token}/log-proof").status_code == 200
        finally:
            conn.set_trace_callback(None)
        return [s for s in seen if "tlog_entries" in s]

    suspend_and_reinstate(env, env.number)
    small = statements()  # 3 entries
    for _ in range(15):  # 30 more entries
        suspend_and_reinstate(env, env.number)
    large = statements()
    assert len(large) == len(small)
    assert sum("WHERE credential = " in s for s in large) == 1
    for sql in large:
        plan = " ".join(str(r[-1]) for r in env.body.db.execute("EXPLAIN QUERY PLAN " + sql))
        assert "SCAN tlog_entries" not in plan, (sql, plan)


def test_the_vc_api_exchange_carries_the_proof_beside_the_credential(env):
    _, token = sharing.create_share(env.body, env.number)
    protocols = env.client.get(
        f"/share/{token}/interact", headers={"Accept": "application/json"}
    ).json()["protocols"]
    answer = env.client.post(protocols["vcapi"].removeprefix("https://cb.example"), json={})
    assert answer.status_code == 200, answer.text
    data = answer.json()
    (credential,) = data["verifiablePresentation"]["verifiableCredential"]
    # The credential is exactly as issued: the proof is a separate field, never inside it.
    assert credential == env.body.certification(env.number).credential
    assert "logProof" not in credential and "logProof" not in data["verifiablePresentation"]
    verdict, entry = check(env, data["logProof"])
    assert verdict, verdict.reason
    assert entry["credential"] == credential_hash(credential)


def test_proofs_by_index_and_by_certification(env):
    number = env.number
    r = env.post(
        f"/api/certifications/{number}/suspend",
        "decider",
        {"reason": "audit", "until": env.clock.day(30)},
    )
    assert r.status_code == 200, r.text
    other = grant_another(env)
    files = LogFiles(env.body.db)  # no signer: the latest stored checkpoint, as it is
    with pytest.raises(NotYetSigned, match="has not yet signed entry 0"):
        files.proof_of(0)  # no checkpoint signed yet
    env.client.get("/log/checkpoint")
    key = log_key(env)
    for index in range(3):
        text = files.proof_of(index)
        proof = parse_proof(text)
        assert proof.index == index and proof.extra is not None
        assert verify_proof(text, merkle.leaf_hash(proof.extra), key)
    with pytest.raises(LogError, match="no entry 3"):
        files.proof_of(3)
    by_number = files.certification_proofs(number=number)
    kinds = [parse_entry(parse_proof(t).extra or b"").kind for t in by_number]
    assert kinds == ["grant", "suspend"]
    cert = parse_entry(parse_proof(by_number[0]).extra or b"").cert
    assert files.certification_proofs(cert=cert) == by_number
    assert [i for i, _ in files.certification_entries(number=other)] == [2]
    assert files.certification_proofs(number="CWI-0000-0000-0") == []
    assert files.certification_proofs(cert="ab" * 32) == []

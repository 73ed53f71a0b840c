"""Bounded work per anonymous request (issue 7, item 4): what an attacker posting heavy
credentials, flooding the verify endpoints or guessing share tokens and wallet codes meets.

Every assertion is on behaviour or on work counted (pyld comparisons, toRdf calls), never on
wall-clock time: the rate limits run on an injected clock, the verification slots are held
by the test itself.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from http_support import V2, Env, make_env
from pyld import jsonld

import certreg.verifier.canonicalize as canonicalize
from certreg.issuer import sharing
from certreg.issuer.http.ratelimit import (
    PublicGuards,
    PublicLimits,
    Rate,
    RateLimiter,
    bounded_fetcher,
    client_key,
    fetch_budget,
)
from certreg.issuer.register_push import attach
from certreg.keys.did import did_key_from_public, did_key_verification_method
from certreg.keys.keypair import KeyPair
from certreg.verifier import Verdict, Verifier
from certreg.verifier.dataintegrity import add_proof
from certreg.verifier.statuslist import Bitstring, status_list_credential, status_list_entry

GRANT = sharing.PRE_AUTHORIZED_GRANT


class FakeClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _signer() -> tuple[str, KeyPair]:
    kp = KeyPair.generate()
    vm = did_key_verification_method(kp.public_multibase)
    return did_key_from_public(kp.public_multibase), kp.with_verification_method(vm)


def many_values(count: int, *, sign: bool = True) -> dict[str, Any]:
    """The issue's attack shape: a VC 2.0 credential whose subject has ``count`` distinct
    values of one property, signed by a did:key anyone can make."""
    did, kp = _signer()
    credential = {
        "@context": [V2],
        "type": ["VerifiableCredential"],
        "issuer": did,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {
            "id": "did:example:holder",
            "name": [f"value number {i}" for i in range(count)],
        },
    }
    return add_proof(credential, kp) if sign else credential


def type_chain(levels: int) -> dict[str, Any]:
    """A credential whose types each bring a context that turns the next key into a type:
    shape discovery found one more type per round, one full toRdf each (before the bound)."""
    ctx: dict[str, Any] = {"@vocab": "https://example.org/vocab#"}
    for i in range(levels):
        ctx[f"T{i}"] = {
            "@id": f"https://example.org/vocab#T{i}",
            "@context": {"@propagate": True, f"k{i + 1}": "@type"},
        }
    node: dict[str, Any] = {"name": "end"}
    for i in range(levels - 1, 0, -1):
        node = {f"k{i}": f"T{i}", "name": f"level {i}", "next": node}
    return {
        "@context": [V2, ctx],
        "type": ["VerifiableCredential"],
        "issuer": "did:example:issuer",
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:x", "type": "T0", "next": node},
    }


@pytest.fixture
def comparisons(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts pyld's value comparisons (its duplicate check calls one per value compared)."""
    counter = [0]
    compare = jsonld.JsonLdProcessor.compare_values

    def counting(v1: Any, v2: Any) -> bool:
        counter[0] += 1
        return compare(v1, v2)

    monkeypatch.setattr(jsonld.JsonLdProcessor, "compare_values", staticmethod(counting))
    return counter


@pytest.fixture
def to_rdf_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    counter = [0]
    original = jsonld.to_rdf

    def counting(*args: Any, **kwargs: Any) -> Any:
        counter[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(jsonld, "to_rdf", counting)
    return counter


# --- the quadratic path, fixed ----------------------------------------------------------------


def test_many_values_of_one_property_cost_linear_work(comparisons):
    # 3,000 values of one property: pyld's duplicate check compared each new value with all
    # before it, ~4.5 million comparisons (~10 s here); now a set lookup each.
    credential = many_values(3000)
    canonicalize._SHAPES.clear()  # a shape never seen: the attacker's case
    comparisons[0] = 0
    result = Verifier(check_status=False).verify_credential(credential)
    assert result.verdict is Verdict.VALID, result.summary
    assert comparisons[0] < 3000  # linear (in fact only short arrays are scanned)


def test_a_type_chain_costs_a_bounded_number_of_rounds(to_rdf_calls):
    document = type_chain(25)
    canonicalize._SHAPES.clear()
    fast = canonicalize.rdfc(document)
    # Five rounds of shape discovery at most, and the template: was 27 calls (one per type).
    assert to_rdf_calls[0] <= canonicalize._MAX_SHAPE_ROUNDS + 1
    assert fast == canonicalize.rdfc_reference(document)  # and still the same answer


def test_a_short_chain_still_gets_a_reusable_template(to_rdf_calls):
    canonicalize._SHAPES.clear()
    first = type_chain(3)
    canonicalize.rdfc(first)
    calls = to_rdf_calls[0]
    second = json.loads(json.dumps(first).replace('"level 1"', '"another level"'))
    assert canonicalize.rdfc(second) == canonicalize.rdfc_reference(second)
    assert to_rdf_calls[0] == calls + 1  # the reference only: the fast engine reused the shape


PAIRS = [
    ("a", "a", True),
    ("a", "b", False),
    (1, 1.0, True),
    (True, 1, False),
    (False, 0, False),
    (True, True, True),
    ({"@value": "x"}, {"@value": "x"}, True),
    ({"@value": "x", "@language": "en"}, {"@value": "x", "@language": "fr"}, False),
    ({"@value": "x", "@type": "ex:T"}, {"@value": "x"}, False),
    ({"@value": "x", "@index": "i"}, {"@value": "x", "@index": "j"}, False),
    ({"@value": True}, {"@value": 1}, False),
    ({"@value": 1}, {"@value": 1.0}, True),
    (
        {"@value": {"a": [1, 2]}, "@type": "@json"},
        {"@value": {"a": [1, 2]}, "@type": "@json"},
        True,
    ),
    (
        {"@value": {"a": [1, 2]}, "@type": "@json"},
        {"@value": {"a": [2, 1]}, "@type": "@json"},
        False,
    ),
    ({"@id": "ex:a"}, {"@id": "ex:a", "ex:p": "more"}, True),
    ({"@id": "ex:a"}, {"@id": "ex:b"}, False),
    ({"@id": "ex:a"}, {"@value": "ex:a"}, False),
    ("ex:a", {"@id": "ex:a"}, False),
    ("x", {"@value": "x"}, False),
]


@pytest.mark.parametrize("first,second,equal", PAIRS)
def test_the_set_key_is_pyld_equality(first, second, equal):
    # The set lookup must find a duplicate exactly when pyld's own comparison would.
    assert jsonld.JsonLdProcessor.compare_values(first, second) is equal
    assert jsonld.JsonLdProcessor.compare_values(second, first) is equal
    assert (canonicalize._dedup_key(first) == canonicalize._dedup_key(second)) is equal


def test_duplicates_in_long_arrays_are_still_merged():
    # 40 values, 20 of them repeated (as a value object, as a plain string): JSON-LD keeps
    # one of each; the indexed check must drop exactly the same ones as pyld's scan.
    doc = many_values(20, sign=False)
    names = doc["credentialSubject"]["name"]
    doc["credentialSubject"]["name"] = names + [{"@value": n} for n in names[::2]] + names[1::2]
    assert canonicalize.rdfc(doc) == canonicalize.rdfc_reference(doc)
    assert canonicalize.rdfc(doc).count("value number") == 20


# --- the HTTP service -------------------------------------------------------------------------


def _env(tmp_path, **limits: Any) -> tuple[Env, PublicGuards, FakeClock]:
    env = make_env(tmp_path)
    clock = FakeClock()
    guards = PublicGuards(PublicLimits(**limits), clock=clock)
    env.client.app.state.certreg_limits = guards
    return env, guards, clock


def _client(env: Env, address: str) -> TestClient:
    return TestClient(env.client.app, raise_server_exceptions=False, client=(address, 40000))


def test_a_too_large_credential_gets_413_with_a_reason(tmp_path, to_rdf_calls):
    env, _, _ = _env(tmp_path)
    big = many_values(10, sign=False)
    big["description"] = "x" * (70 * 1024)
    r = env.client.post("/credentials/verify", json={"verifiableCredential": big})
    assert r.status_code == 413
    assert "at most 65,536 bytes" in r.json()["detail"]
    heavy = many_values(3000, sign=False)  # 60 KB, but 3,000 values
    to_rdf_calls[0] = 0
    r = env.client.post("/credentials/verify", json={"verifiableCredential": heavy})
    assert r.status_code == 413
    assert "more than 1,000 values" in r.json()["detail"]
    assert to_rdf_calls[0] == 0  # refused before any JSON-LD work
    r = env.client.post(
        "/presentations/verify",
        json={"verifiablePresentation": {"@context": [V2], "verifiableCredential": [heavy]}},
    )
    assert r.status_code == 413 and "the presentation has more than" in r.json()["detail"]
    r = env.client.post(
        "/verify", data={"credential": json.dumps(heavy)}, headers={"Accept": "application/json"}
    )
    assert r.status_code == 413 and "values" in r.json()["detail"]
    r = env.client.post(
        "/verify", data={"credential": json.dumps(big)}, headers={"Accept": "text/html"}
    )
    assert r.status_code == 413 and "65,536 bytes" in r.text and "<html" in r.text


def test_the_limits_are_what_refuses(tmp_path):
    # The same heavy input with the limits raised is verified (and fails on its signature):
    # the 413 above came from the limits, not from somewhere else.
    env, _, _ = _env(tmp_path, verify_max_values=10_000)
    heavy = many_values(3000, sign=False)
    r = env.client.post("/credentials/verify", json={"verifiableCredential": heavy})
    assert r.status_code == 400 and r.json()["verdict"] == "INVALID"


def test_too_many_proofs_or_status_entries_are_refused(tmp_path):
    env, _, _ = _env(tmp_path)
    doc = many_values(3, sign=False)
    doc["credentialStatus"] = [{"type": "BitstringStatusListEntry"}] * 5
    r = env.client.post("/credentials/verify", json={"verifiableCredential": doc})
    assert r.status_code == 413 and "5 status entries" in r.json()["detail"]
    doc = many_values(3, sign=False)
    doc["proof"] = [{"type": "DataIntegrityProof"}] * 5
    r = env.client.post("/credentials/verify", json={"verifiableCredential": doc})
    assert r.status_code == 413 and "5 proofs" in r.json()["detail"]


def test_the_rate_limit_answers_429_after_the_burst_and_only_to_that_client(tmp_path):
    env, _, clock = _env(tmp_path, verify_rate=Rate(per_minute=6, burst=3))
    attacker, employer = _client(env, "198.51.100.7"), _client(env, "203.0.113.9")
    doc = {"verifiableCredential": many_values(3, sign=False)}
    for _ in range(3):
        assert attacker.post("/credentials/verify", json=doc).status_code == 400
    r = attacker.post("/credentials/verify", json=doc)
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "10"  # 6 a minute: one every 10 s
    assert "too many verification requests from your address" in r.json()["detail"]
    # The same bucket covers the verify page and presentations.
    r = attacker.post("/verify", data={"credential": "{}"}, headers={"Accept": "text/html"})
    assert r.status_code == 429 and "Too many verification requests" in r.text
    presentation = {"verifiablePresentation": {"@context": [V2], "type": "VerifiablePresentation"}}
    assert attacker.post("/presentations/verify", json=presentation).status_code == 429
    # Another client is not affected.
    assert employer.post("/credentials/verify", json=doc).status_code == 400
    # Ten seconds later the attacker may try once more, and only once.
    clock.now += 10
    assert attacker.post("/credentials/verify", json=doc).status_code == 400
    assert attacker.post("/credentials/verify", json=doc).status_code == 429


def test_saturated_verification_slots_answer_503_and_the_register_still_answers(tmp_path):
    env, guards, _ = _env(tmp_path, verify_slots=2, verify_wait_seconds=0)
    attach(env.body)  # every decision reaches register.db, as under certreg serve
    number = env.grant()["number"]
    doc = {"verifiableCredential": many_values(3, sign=False)}
    with guards.slots.held(), guards.slots.held():  # two verifications in progress
        r = env.client.post("/credentials/verify", json=doc)
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "1"
        assert "busy" in r.json()["detail"]
        r = env.client.post(
            "/verify", data={"credential": json.dumps(doc)}, headers={"Accept": "text/html"}
        )
        assert r.status_code == 503 and "busy" in r.text and r.headers["Retry-After"] == "1"
        # The register and the certificate pages do not wait for verification slots.
        assert env.client.get(f"/c/{number}").status_code == 200
        assert env.client.get("/register/").status_code == 200
    assert env.client.post("/credentials/verify", json=doc).status_code == 400  # free again
    assert guards.slots.busy_refusals == 2


def test_a_waiting_request_is_served_when_a_slot_frees(tmp_path):
    # One slot, held; the request waits (up to its limit) and is served once it is released.
    env, guards, _ = _env(tmp_path, verify_slots=1, verify_wait_seconds=30)
    doc = {"verifiableCredential": many_values(3, sign=False)}
    assert guards.slots.try_acquire()
    answers: list[int] = []
    worker = threading.Thread(
        target=lambda: answers.append(env.client.post("/credentials/verify", json=doc).status_code)
    )
    worker.start()
    worker.join(timeout=0.3)  # not a timing assertion: it must still be waiting either way
    assert answers == []
    guards.slots.release()
    worker.join()
    assert answers == [400]


def test_wrong_share_tokens_are_limited_per_client(tmp_path):
    env, _, clock = _env(tmp_path, attempt_rate=Rate(per_minute=2, burst=4))
    number = env.grant()["number"]
    _, token = sharing.create_share(env.body, number)
    guesser, holder = _client(env, "198.51.100.7"), _client(env, "2001:db8:1:2::5")
    for i in range(4):
        assert guesser.get(f"/share/guess{i:040d}").status_code == 404
    r = guesser.get("/share/guess-five-00000000000000000000000000")
    assert r.status_code == 429 and r.headers["Retry-After"] == "30"
    assert "Too many attempts" in r.text
    # Past the limit even a right token is not looked up for this client...
    assert guesser.get(f"/share/{token}").status_code == 429
    for path in ("/interact", "/revoke"):
        assert guesser.get(f"/share/{token}{path}").status_code == 429
    assert guesser.post("/workflows/holder-share/exchanges/x", json={}).status_code == 429
    assert guesser.get("/oid4vci/offers/unknown").status_code == 429
    # ...while the holder, elsewhere, is served, and a right token costs no attempt.
    for _ in range(10):
        assert holder.get(f"/share/{token}").status_code == 200
    clock.now += 30
    assert guesser.get(f"/share/{token}").status_code == 200


def test_wrong_pre_authorized_codes_and_access_tokens_are_limited(tmp_path):
    env, _, _ = _env(tmp_path, attempt_rate=Rate(per_minute=1, burst=3))
    wallet = _client(env, "198.51.100.7")
    for i in range(3):
        r = wallet.post(
            "/oid4vci/token", data={"grant_type": GRANT, "pre-authorized_code": f"wrong{i:030d}"}
        )
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = wallet.post("/oid4vci/token", data={"grant_type": GRANT, "pre-authorized_code": "x" * 40})
    assert r.status_code == 429 and r.headers["Retry-After"] == "60"
    assert (
        r.json()["error"] == "invalid_request" and "too many failed attempts" in r.json()["detail"]
    )
    r = wallet.post(
        "/oid4vci/credential",
        json={"credential_configuration_id": sharing.CONFIGURATION_ID},
        headers={"Authorization": "Bearer " + "y" * 43},
    )
    assert r.status_code == 429 and r.json()["error"] == "invalid_request"
    other = _client(env, "203.0.113.9")
    r = other.post("/oid4vci/token", data={"grant_type": GRANT, "pre-authorized_code": "x" * 40})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


# --- the limiter itself -----------------------------------------------------------------------


def test_the_limiter_forgets_the_least_recent_clients_beyond_its_bound():
    clock = FakeClock()
    limiter = RateLimiter(Rate(per_minute=1, burst=1), max_clients=100, clock=clock)
    for i in range(10_000):
        limiter.take(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter) == 100
    assert limiter.take("10.0.39.15") > 0  # the most recent are remembered (9,999th)
    assert limiter.take("10.0.0.0") == 0  # the first was forgotten: a fresh bucket


def test_ipv6_clients_share_a_bucket_per_64():
    class Req:
        def __init__(self, host: str) -> None:
            self.client = type("C", (), {"host": host})()

    assert client_key(Req("2001:db8:1:2::5")) == client_key(Req("2001:db8:1:2:ffff::1"))  # type: ignore[arg-type]
    assert client_key(Req("2001:db8:1:3::5")) != client_key(Req("2001:db8:1:2::5"))  # type: ignore[arg-type]
    assert client_key(Req("::ffff:192.0.2.1")) == "192.0.2.1"  # type: ignore[arg-type]
    assert client_key(Req("192.0.2.1")) == "192.0.2.1"  # type: ignore[arg-type]


# --- what a verification fetches from other issuers' servers ---------------------------------


def _credential_with_lists(lists: dict[str, dict[str, Any]], did: str, kp: KeyPair) -> dict:
    entries = [
        status_list_entry(list_credential_url=url, index=5, purpose="revocation") for url in lists
    ]
    unsigned = {
        "@context": [V2],
        "type": ["VerifiableCredential"],
        "issuer": did,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:holder", "name": "Jane"},
        "credentialStatus": entries[0] if len(entries) == 1 else entries,
    }
    return add_proof(unsigned, kp)


def _status_list(url: str, did: str, kp: KeyPair, padding: int = 0) -> dict[str, Any]:
    unsigned = status_list_credential(
        id=url,
        issuer=did,
        purpose="revocation",
        bitstring=Bitstring(),
        valid_from="2025-01-01T00:00:00Z",
        valid_until="2099-01-01T00:00:00Z",
    )
    if padding:
        unsigned["credentialSubject"]["name"] = [f"padding {i}" for i in range(padding)]
    return add_proof(unsigned, kp)


def test_a_heavy_status_list_from_the_attackers_server_is_not_processed(to_rdf_calls):
    # The heavy input moved from the request into a status list the attacker serves: a small
    # credential, a 5,000-value list (1.8 s of CPU at 15,000). Refused before any JSON-LD work.
    did, kp = _signer()
    url = "https://attacker.example/status/1"
    served = {url: json.dumps(_status_list(url, did, kp, padding=5000)).encode()}
    credential = _credential_with_lists(served, did, kp)
    canonicalize._SHAPES.clear()
    to_rdf_calls[0] = 0
    assert Verifier(check_status=False).verify_credential(credential).verdict is Verdict.VALID
    credential_only, to_rdf_calls[0] = to_rdf_calls[0], 0
    bounded = Verifier(status_fetcher=bounded_fetcher(lambda u: served[u]))
    canonicalize._SHAPES.clear()
    result = bounded.verify_credential(credential)
    assert result.verdict is Verdict.STATUS_UNKNOWN
    assert "more than 1,000 values" in result.summary
    assert to_rdf_calls[0] == credential_only  # the 5,000-value list was never expanded
    # A list of the usual size is read as before.
    served[url] = json.dumps(_status_list(url, did, kp)).encode()
    assert bounded.verify_credential(credential).verdict is Verdict.VALID


def test_one_verification_fetches_a_bounded_number_of_documents():
    did, kp = _signer()
    lists = {f"https://slow.example/status/{i}": {} for i in range(4)}
    served = {url: _status_list(url, did, kp) for url in lists}
    fetched: list[str] = []

    def fetch(url: str) -> Any:
        fetched.append(url)
        return served[url]

    credential = _credential_with_lists(served, did, kp)
    verifier = Verifier(status_fetcher=bounded_fetcher(fetch), status_cache=None)
    with fetch_budget(2, 60.0):
        result = verifier.verify_credential(credential)
    assert len(fetched) == 2
    assert result.verdict is Verdict.STATUS_UNKNOWN
    assert "fetches at most 2 documents" in result.summary
    fetched.clear()
    assert verifier.verify_credential(credential).verdict is Verdict.VALID  # no budget: all four
    assert len(fetched) <= 4


def test_a_declared_oversized_body_is_refused_before_it_is_read(tmp_path):
    # 200 KiB of garbage, under the service's 1 MiB body limit: refused for its declared size
    # (413), not parsed (which would answer 400 for the garbage).
    env, _, _ = _env(tmp_path)
    garbage = b"{" * (200 * 1024)
    for path in ("/credentials/verify", "/presentations/verify"):
        r = env.client.post(path, content=garbage, headers={"Content-Type": "application/json"})
        assert r.status_code == 413, path
        assert "the request is 204,800 bytes" in r.json()["detail"]
    r = env.client.post(
        "/verify",
        content=garbage,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
    )
    assert r.status_code == 413 and "<html" in r.text and "204,800 bytes" in r.text
    # The same garbage, small: parsed, and refused for what it is.
    r = env.client.post(
        "/credentials/verify", content=b"{" * 100, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400


def test_a_slow_status_server_does_not_hold_the_verification_slot():
    # The attacker's credential points at a status list on a server that takes its time. While
    # the verification waits on it, the slot is free for others; it is taken back to read it.
    did, kp = _signer()
    url = "https://slow.example/status/1"
    served = {url: _status_list(url, did, kp)}
    credential = _credential_with_lists(served, did, kp)
    asked, answer = threading.Event(), threading.Event()

    def slow(u: str) -> Any:
        asked.set()
        answer.wait(30)
        return served[u]

    guards = PublicGuards(PublicLimits(verify_slots=1, verify_wait_seconds=30))
    verifier = Verifier(status_fetcher=bounded_fetcher(slow))
    results: list[Any] = []
    worker = threading.Thread(
        target=lambda: results.append(
            asyncio.run(guards.verify(lambda: verifier.verify_credential(credential)))
        )
    )
    worker.start()
    assert asked.wait(30)
    assert guards.slots.try_acquire()  # free while the verification waits on the server
    guards.slots.release()
    answer.set()
    worker.join(30)
    assert results and results[0].verdict is Verdict.VALID
    assert guards.slots.try_acquire()  # and given back at the end
    guards.slots.release()


def test_credentials_fetched_by_url_are_bounded_in_number_at_once(tmp_path):
    env, guards, _ = _env(tmp_path, verify_max_fetching=1)
    assert guards.slots.start_fetch()  # one fetch for a URL given to /verify is under way
    try:
        r = env.client.post(
            "/verify",
            data={"url": "https://slow.example/credential.json"},
            headers={"Accept": "application/json"},
        )
        assert r.status_code == 503 and r.headers["Retry-After"] == "1"
    finally:
        guards.slots.end_fetch()
    r = env.client.post(
        "/verify", data={"url": "http://127.0.0.1/x"}, headers={"Accept": "application/json"}
    )
    assert r.status_code == 422  # fetched (and refused: a private address), not "busy"


def test_looking_up_unknown_numbers_is_rate_limited_and_directory_pages_are_not(tmp_path):
    """A number not in the directory may be a sealed (number_lookup) record, and finding out
    costs an Argon2id run: those look-ups spend the client's public-work budget (off the event
    loop); pages of listed certificates never do."""
    env, _, clock = _env(tmp_path, verify_rate=Rate(per_minute=6, burst=3))
    attach(env.body)
    number = env.grant()["number"]
    attacker, employer = _client(env, "198.51.100.7"), _client(env, "203.0.113.9")
    for guess in ("CWI-AAAA-AAAA-A", "CWI-BBBB-BBBB-B", "CWI-CCCC-CCCC-C"):
        assert attacker.get(f"/c/{guess}").status_code == 404
    r = attacker.get("/c/CWI-DDDD-DDDD-D")
    assert r.status_code == 429 and "too many look-ups" in r.json()["detail"]
    assert r.headers["Retry-After"] == "10"
    assert attacker.get(f"/c/{number}/qr.svg").status_code == 200  # listed: no budget spent
    for _ in range(5):
        assert attacker.get(f"/c/{number}").status_code == 200
    assert employer.get("/c/CWI-DDDD-DDDD-D").status_code == 404
    clock.now += 10
    assert attacker.get("/c/CWI-DDDD-DDDD-D").status_code == 404

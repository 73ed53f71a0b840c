"""Public endpoints: DID document, status lists with cache headers, contexts, OpenAPI."""

from __future__ import annotations

import hashlib
import json

import pytest
from http_support import Env, make_env

from certreg.contexts import context_file_bytes, pinned_contexts


@pytest.fixture
def env(tmp_path) -> Env:
    return make_env(tmp_path)


@pytest.fixture
def web_env(tmp_path) -> Env:
    return make_env(tmp_path, did_method="web")


def test_did_web_document_is_the_key_stores(web_env):
    r = web_env.get("/.well-known/did.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["id"] == "did:web:cb.example" == web_env.body.info["did"]
    assert doc["assertionMethod"]
    assert "Cache-Control" in r.headers and "ETag" in r.headers


def test_did_key_body_has_no_document(env):
    r = env.get("/.well-known/did.json")
    assert r.status_code == 404
    assert "did:key" in r.json()["detail"]


def test_status_list_cache_headers_and_304(env):
    r = env.get("/status/message-1")
    assert r.status_code == 200
    listed = r.json()
    assert listed["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert listed == env.body.status_lists.latest("message-1")
    ttl = listed["credentialSubject"]["ttl"] // 1000
    assert r.headers["Cache-Control"] == f"public, max-age={ttl}"
    etag = r.headers["ETag"]
    again = env.get("/status/message-1", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    # A decision re-publishes the list (a certificate's one status entry is in message-1): the
    # ETag changes, the old one no longer matches.
    cert = env.grant()
    env.post(f"/api/certifications/{cert['number']}/withdraw", "decider", {"reason": "fraud found"})
    changed = env.get("/status/message-1", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_status_list_versions_are_immutable(env):
    latest = env.get("/status/suspension-1").json()
    r = env.get("/status/suspension-1/versions/1")
    assert r.status_code == 200
    assert "immutable" in r.headers["Cache-Control"]
    assert r.json()["id"] == latest["id"]
    assert env.get("/status/suspension-1/versions/999").status_code == 404
    assert env.get("/status/suspension-1/versions/0").status_code == 422


def test_unknown_status_lists(env):
    assert env.get("/status/revocation-99").status_code == 404
    assert env.get("/status/..%2Fissuer.db").status_code in (404, 422)
    assert env.get("/status/REVOCATION-1").status_code == 422


def test_contexts_by_file_name_and_by_url_path(env):
    index = env.get("/contexts").json()
    assert {e["url"] for e in index} == set(pinned_contexts())
    v2 = "https://www.w3.org/ns/credentials/v2"
    by_name = env.get("/contexts/credentials-v2.jsonld")
    by_path = env.get("/contexts/www.w3.org/ns/credentials/v2")
    assert by_name.status_code == by_path.status_code == 200
    assert by_name.content == by_path.content == context_file_bytes(v2)
    assert hashlib.sha256(by_name.content).hexdigest() == pinned_contexts()[v2].sha256
    assert "immutable" in by_name.headers["Cache-Control"]
    assert env.get("/contexts/nope.jsonld").status_code == 404
    assert env.get("/contexts/../issuer.db").status_code == 404


def test_openapi_document_is_served(env):
    r = env.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    for path in (
        "/credentials/issue",
        "/credentials/verify",
        "/presentations/verify",
        "/credentials/status",
        "/api/certifications",
        "/api/certifications/{number}/suspend",
        "/status/{list_id}",
    ):
        assert path in spec["paths"], path
    grant = spec["components"]["schemas"]["GrantIn"]
    assert "decided_by" not in grant["properties"]
    assert env.get("/docs").status_code == 200


def test_public_endpoints_carry_no_private_data(env):
    env.grant()
    for path in ("/status/revocation-1", "/status/suspension-1", "/contexts", "/openapi.json"):
        text = env.get(path).text
        # "Jane Doe", not "Jane": a status list holds random base64, which can spell "Jane".
        assert "Jane Doe" not in text and "jane@example.org" not in text
        assert "1990-04-01" not in text
    assert json.dumps(env.get("/status/revocation-1/versions/1").json())

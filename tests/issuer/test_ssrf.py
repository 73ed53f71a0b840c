"""The public verify endpoints fetch what a submitted credential names (its status lists, its
issuer's did:web document). They must never be a way to make the server request its own
machine or private network: the connection itself is refused for non-public addresses.

A listener on 127.0.0.1 (the `listener` fixture, tests/conftest.py) counts what reaches it:
nothing may."""

from __future__ import annotations

import pytest
from http_support import make_env, signed_with_status

from certreg.keys.keypair import KeyPair
from certreg.verifier.dataintegrity import add_proof
from certreg.verifier.did import FetchError, HttpFetcher

V2 = "https://www.w3.org/ns/credentials/v2"


def test_a_status_list_url_on_this_machine_is_never_requested(tmp_path, listener):
    port, seen = listener
    env = make_env(tmp_path)
    credential = signed_with_status(f"https://127.0.0.1:{port}/status/1")
    r = env.client.post("/credentials/verify", json={"verifiableCredential": credential})
    assert r.status_code < 500
    body = r.json()
    assert body["verdict"] == "STATUS_UNKNOWN"
    assert "private or local address" in r.text
    assert seen == []


def test_a_did_web_issuer_on_this_machine_is_never_requested(tmp_path, listener):
    port, seen = listener
    env = make_env(tmp_path)
    did = f"did:web:127.0.0.1%3A{port}"
    # A well-formed proof, so that the verifier does go looking for the issuer's key.
    credential = add_proof(
        {
            "@context": [V2],
            "type": ["VerifiableCredential"],
            "issuer": did,
            "credentialSubject": {"id": "did:example:someone", "name": "Someone"},
        },
        KeyPair.generate(f"{did}#key-1"),
    )
    r = env.client.post("/credentials/verify", json={"verifiableCredential": credential})
    assert r.status_code < 500 and r.json()["verdict"] != "VALID"
    assert seen == []


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1/x", "https://localhost/x", "https://[::1]/x", "https://10.1.2.3/x"]
)
def test_the_fetcher_refuses_private_addresses_by_connection(url):
    with pytest.raises(FetchError, match=r"private or local address|could not be found"):
        HttpFetcher(public_addresses_only=True, timeout=2)(url)


def test_the_cli_fetcher_is_not_restricted():
    # A person running `certreg verify URL` on their own machine may fetch their own network.
    assert HttpFetcher().public_addresses_only is False

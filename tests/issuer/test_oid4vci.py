"""OpenID4VCI 1.0, pre-authorized code flow, driven over HTTP (httpx, through FastAPI's
TestClient at the body's public address) the way a wallet does: metadata -> offer -> token ->
credential; then replays, expiry, revocation and malformed requests (OAuth-style 4xx, never 500).
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from http_support import Env, make_env

from certreg.issuer import sharing
from certreg.issuer.http import MAX_BODY_BYTES
from certreg.verifier import Verifier
from certreg.verifier.result import Verdict

BASE = "https://cb.example"
GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def env(tmp_path) -> Env:
    env = make_env(tmp_path)
    env.number = env.grant()["number"]  # type: ignore[attr-defined]
    # A wallet follows absolute URLs from the metadata and the offer: serve the app there.
    env.wallet = TestClient(env.client.app, base_url=BASE, raise_server_exceptions=False)  # type: ignore[attr-defined]
    return env


def _verify(env: Env, document: dict) -> Verdict:
    lists = {
        env.body.status_lists.url(list_id): env.body.status_lists.latest(list_id)
        for (list_id,) in env.body.db.execute("SELECT id FROM status_lists")
    }
    verifier = Verifier(
        trusted_issuers={env.body.info["did"]}, status_fetcher=lists, clock=env.clock
    )
    return verifier.verify_credential(document).verdict


def _offer_uri_from_page(env: Env, token: str) -> str:
    page = env.wallet.get(f"/share/{token}").text
    found = re.search(r'href="(openid-credential-offer://[^"]+)"', page)
    assert found is not None
    return html.unescape(found.group(1))


def _code(env: Env, token: str) -> str:
    return sharing.current_offer(env.body, token).pre_authorized_code


def _token(env: Env, code: str) -> str:
    r = env.wallet.post("/oid4vci/token", data={"grant_type": GRANT, "pre-authorized_code": code})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def _credential(env: Env, access_token: str, body: dict | None = None):
    return env.wallet.post(
        "/oid4vci/credential",
        json=body
        if body is not None
        else {"credential_configuration_id": sharing.CONFIGURATION_ID},
        headers={"Authorization": f"Bearer {access_token}"},
    )


def test_full_pre_authorized_flow(env):
    _, token = sharing.create_share(env.body, env.number)

    # 1. The holder scans the offer on the share page.
    uri = _offer_uri_from_page(env, token)
    parts = urlsplit(uri)
    assert parts.scheme == "openid-credential-offer"
    (offer_url,) = parse_qs(parts.query)["credential_offer_uri"]
    assert offer_url.startswith(f"{BASE}/oid4vci/offers/")

    # 2. The wallet fetches the offer, then the issuer's and the server's metadata.
    offer = env.wallet.get(offer_url)
    assert offer.status_code == 200 and offer.headers["Cache-Control"] == "no-store"
    offer = offer.json()
    assert offer["credential_issuer"] == BASE
    assert offer["credential_configuration_ids"] == [sharing.CONFIGURATION_ID]
    code = offer["grants"][GRANT]["pre-authorized_code"]
    assert "tx_code" not in offer["grants"][GRANT]

    meta = env.wallet.get(f"{offer['credential_issuer']}/.well-known/openid-credential-issuer")
    assert meta.status_code == 200
    meta = meta.json()
    assert meta["credential_issuer"] == offer["credential_issuer"]  # identical, per §12.2.4
    config = meta["credential_configurations_supported"][sharing.CONFIGURATION_ID]
    assert config["format"] == "ldp_vc"
    assert config["credential_definition"] == {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
    }
    assert "cryptographic_binding_methods_supported" not in config  # no key binding
    assert "proof_types_supported" not in config
    assert "authorization_servers" not in meta  # the issuer is its own server
    auth = env.wallet.get(f"{meta['credential_issuer']}/.well-known/oauth-authorization-server")
    auth = auth.json()
    assert auth["issuer"] == BASE
    assert auth["pre-authorized_grant_anonymous_access_supported"] is True
    assert GRANT in auth["grant_types_supported"]

    # 3. Token request, form-encoded, no client authentication.
    r = env.wallet.post(
        auth["token_endpoint"], data={"grant_type": GRANT, "pre-authorized_code": code}
    )
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    granted = r.json()
    assert granted["token_type"] == "Bearer"
    assert granted["expires_in"] == 300
    access_token = granted["access_token"]

    # 4. Credential request: the signed credential, exactly as the body issued it.
    r = env.wallet.post(
        meta["credential_endpoint"],
        json={"credential_configuration_id": sharing.CONFIGURATION_ID},
        headers={"Authorization": f"Bearer {access_token}"},
    )
    assert r.status_code == 200, r.text
    (item,) = r.json()["credentials"]
    credential = item["credential"]
    assert "credential" not in r.json()  # 1.0 shape only, for a 1.0 request
    assert credential == env.body.certification(env.number).credential
    assert _verify(env, credential) is Verdict.VALID


def test_replayed_code_and_token_are_refused(env):
    _, token = sharing.create_share(env.body, env.number)
    code = _code(env, token)
    access_token = _token(env, code)
    again = env.wallet.post(
        "/oid4vci/token", data={"grant_type": GRANT, "pre-authorized_code": code}
    )
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert "used already" in again.json()["error_description"]
    # The replay spent the token the code had been exchanged for (it may have been stolen).
    stolen = _credential(env, access_token)
    assert stolen.status_code == 401 and stolen.json()["error"] == "invalid_token"

    # A fresh code from a reloaded page, used properly: the token works once.
    new_code = _code(env, token)
    assert new_code != code
    access_token = _token(env, new_code)
    assert _credential(env, access_token).status_code == 200
    replay = _credential(env, access_token)
    assert replay.status_code == 401
    assert replay.json()["error"] == "invalid_token"
    assert replay.headers["WWW-Authenticate"].startswith(
        'Bearer realm="certreg", error="invalid_token"'
    )


def test_used_offer_is_gone_and_the_page_shows_a_fresh_one(env):
    _, token = sharing.create_share(env.body, env.number)
    first = sharing.current_offer(env.body, token)
    assert sharing.current_offer(env.body, token).id == first.id  # stable while fresh
    _token(env, first.pre_authorized_code)
    assert env.wallet.get(f"/oid4vci/offers/{first.id}").status_code == 410
    second = _offer_uri_from_page(env, token)
    assert first.id not in second


def test_codes_and_tokens_expire(env):
    _, token = sharing.create_share(env.body, env.number)
    code = _code(env, token)
    env.clock.advance(minutes=15)
    r = env.wallet.post("/oid4vci/token", data={"grant_type": GRANT, "pre-authorized_code": code})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert "expired" in r.json()["error_description"]
    access_token = _token(env, _code(env, token))  # the page made a new offer
    env.clock.advance(minutes=5)
    r = _credential(env, access_token)
    assert r.status_code == 401 and "expired" in r.json()["error_description"]


def test_revoked_or_expired_share_link_stops_the_flow(env):
    share, token = sharing.create_share(env.body, env.number)
    offer = sharing.current_offer(env.body, token)
    code_for_token = offer.pre_authorized_code
    access_token = _token(env, code_for_token)
    later = sharing.current_offer(env.body, token)
    sharing.revoke_share(env.body, share.id)
    assert env.wallet.get(f"/oid4vci/offers/{later.id}").status_code == 410
    r = env.wallet.post(
        "/oid4vci/token",
        data={"grant_type": GRANT, "pre-authorized_code": later.pre_authorized_code},
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert "revoked" in r.json()["error_description"]
    r = _credential(env, access_token)
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"


def test_withdrawn_certification_is_still_delivered_as_issued(env):
    _, token = sharing.create_share(env.body, env.number)
    env.body.withdraw(env.number, decided_by=env.staff["decider"], reason="misconduct")
    r = _credential(env, _token(env, _code(env, token)))
    assert r.status_code == 200
    credential = r.json()["credentials"][0]["credential"]
    assert _verify(env, credential) is Verdict.WITHDRAWN  # its status list tells verifiers


def test_draft_shaped_credential_request_is_answered_in_both_shapes(env):
    _, token = sharing.create_share(env.body, env.number)
    r = _credential(env, _token(env, _code(env, token)), {"format": "ldp_vc", "proof": {"x": 1}})
    assert r.status_code == 200, r.text
    assert r.json()["credential"] == r.json()["credentials"][0]["credential"]


# --- malformed requests: 400 with an OAuth error, never 500 -----------------------------------


@pytest.mark.parametrize(
    ("content", "headers", "error"),
    [
        ("grant_type=authorization_code&code=abc", FORM, "unsupported_grant_type"),
        ("grant_type=password&username=a&password=b", FORM, "unsupported_grant_type"),
        ("pre-authorized_code=abc", FORM, "invalid_request"),
        (f"grant_type={GRANT}", FORM, "invalid_request"),
        (f"grant_type={GRANT}&pre-authorized_code=", FORM, "invalid_request"),
        (f"grant_type={GRANT}&pre-authorized_code=unknown-code-0123456789", FORM, "invalid_grant"),
        (
            f"grant_type={GRANT}&pre-authorized_code=a&pre-authorized_code=b",
            FORM,
            "invalid_request",
        ),
        (f"grant_type={GRANT}&pre-authorized_code=%ZZ%%", FORM, "invalid_grant"),
        ("", FORM, "invalid_request"),
        ("&&&===", FORM, "invalid_request"),
        (b"\xff\xfe\x00garbage", FORM, "invalid_request"),
        ('{"grant_type": "x"}', {"Content-Type": "application/json"}, "invalid_request"),
        ("grant_type=x", {"Content-Type": "text/plain"}, "invalid_request"),
        ("grant_type=x", {}, "invalid_request"),
    ],
)
def test_bad_token_requests(env, content, headers, error):
    r = env.wallet.post("/oid4vci/token", content=content, headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == error
    assert r.json()["error_description"]
    assert r.headers["Cache-Control"] == "no-store"


def test_tx_code_is_refused_when_none_was_offered(env):
    _, token = sharing.create_share(env.body, env.number)
    data = {"grant_type": GRANT, "pre-authorized_code": _code(env, token), "tx_code": "1234"}
    r = env.wallet.post("/oid4vci/token", data=data)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_huge_requests_are_413_oauth_style(env):
    huge = "grant_type=" + "x" * (MAX_BODY_BYTES + 1)
    for path in ("/oid4vci/token", "/oid4vci/credential"):
        r = env.wallet.post(path, content=huge, headers=FORM)
        assert r.status_code == 413 and r.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("content", "content_type", "error"),
    [
        (b"{", "application/json", "invalid_credential_request"),
        (b"[]", "application/json", "invalid_credential_request"),
        (b"null", "application/json", "invalid_credential_request"),
        (b'{"a": 1, "a": 2}', "application/json", "invalid_credential_request"),
        (b'{"a": NaN}', "application/json", "invalid_credential_request"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", "invalid_credential_request"),
        (b"\xff\xfe", "application/json", "invalid_credential_request"),
        (b"{}", "application/json", "invalid_credential_request"),
        (
            b'{"credential_configuration_id": "other"}',
            "application/json",
            "unknown_credential_configuration",
        ),
        (
            b'{"credential_configuration_id": 5}',
            "application/json",
            "unknown_credential_configuration",
        ),
        (b'{"credential_identifier": "x"}', "application/json", "unknown_credential_identifier"),
        (b'{"format": "jwt_vc_json"}', "application/json", "invalid_credential_request"),
        (
            b"credential_configuration_id=x",
            "application/x-www-form-urlencoded",
            "invalid_credential_request",
        ),
    ],
)
def test_bad_credential_requests_do_not_spend_the_token(env, content, content_type, error):
    _, token = sharing.create_share(env.body, env.number)
    access_token = _token(env, _code(env, token))
    auth = {"Authorization": f"Bearer {access_token}", "Content-Type": content_type}
    r = env.wallet.post("/oid4vci/credential", content=content, headers=auth)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == error
    assert _credential(env, access_token).status_code == 200  # the wallet may correct itself


@pytest.mark.parametrize(
    ("headers", "status", "error"),
    [
        ({}, 401, "invalid_token"),
        ({"Authorization": "Bearer"}, 400, "invalid_request"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 400, "invalid_request"),
        ({"Authorization": "Bearer not-a-token"}, 401, "invalid_token"),
        ({"Authorization": "Bearer " + "A" * 43}, 401, "invalid_token"),
        ({"Authorization": "Bearer ü".encode("latin-1")}, 401, "invalid_token"),
    ],
)
def test_credential_endpoint_needs_a_valid_bearer_token(env, headers, status, error):
    r = env.wallet.post(
        "/oid4vci/credential",
        json={"credential_configuration_id": sharing.CONFIGURATION_ID},
        headers=headers,
    )
    assert r.status_code == status, r.text
    assert r.json()["error"] == error
    if status == 401:
        assert r.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("offer_id", ["x", "A" * 43, "..%2F", "a" * 500])
def test_unknown_offers_are_404(env, offer_id):
    r = env.wallet.get(f"/oid4vci/offers/{offer_id}")
    assert r.status_code == 404 and r.json()["detail"]


def test_metadata_follows_the_public_url(tmp_path):
    env = make_env(tmp_path)
    meta = env.client.get("/.well-known/openid-credential-issuer").json()
    assert meta["credential_issuer"] == BASE
    assert meta["credential_endpoint"] == f"{BASE}/oid4vci/credential"
    auth = env.client.get("/.well-known/oauth-authorization-server").json()
    assert auth["token_endpoint"] == f"{BASE}/oid4vci/token"
    assert auth["token_endpoint_auth_methods_supported"] == ["none"]

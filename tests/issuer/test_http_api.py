"""The admin API: authentication (401), roles (403), each lifecycle operation once, and the
decision-maker binding (the decider is always the token's staff member)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from http_support import PASSPHRASE, Env, make_env

from certreg.issuer.tokens import create_token, hash_secret, revoke_token


@pytest.fixture
def env(tmp_path) -> Env:
    return make_env(tmp_path)


@pytest.fixture
def web_env(tmp_path) -> Env:
    return make_env(tmp_path, did_method="web")


def _decisions(env) -> list[tuple[str, str]]:
    return env.body.db.execute("SELECT type, decided_by FROM decisions ORDER BY rowid").fetchall()


# --- authentication -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer certreg_not-a-real-token"},
        {"Authorization": "Bearer something-else"},
    ],
)
def test_no_or_unknown_token_is_401(env, headers):
    r = env.client.get("/api/due", headers=headers)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert "certreg_not-a-real-token" not in r.text  # the secret is never echoed


def test_revoked_and_expired_tokens_are_401(env):
    _, secret = create_token(
        env.body, env.staff["officer"], name="short", lifetime=timedelta(days=1)
    )
    headers = {"Authorization": f"Bearer {secret}"}
    assert env.client.get("/api/due", headers=headers).status_code == 200
    env.clock.advance(days=1, seconds=1)
    r = env.client.get("/api/due", headers=headers)
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    info2, secret2 = create_token(env.body, env.staff["officer"], name="other")
    revoke_token(env.body, info2.id)
    r = env.client.get("/api/due", headers={"Authorization": f"Bearer {secret2}"})
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_only_the_hash_of_a_secret_is_stored(env):
    stored = [r[0] for r in env.body.db.execute("SELECT token_hash FROM api_tokens")]
    for secret in env.tokens.values():
        assert secret not in stored and hash_secret(secret) in stored
    dump = "\n".join(env.body.db.conn.iterdump())
    assert not any(secret in dump for secret in env.tokens.values())


def test_last_used_is_recorded(env):
    env.get("/api/due", "officer")
    (used,) = env.body.db.execute(
        "SELECT last_used_at FROM api_tokens WHERE staff_id = ?", [env.staff["officer"]]
    ).fetchone()
    assert used is not None


ROUTES = [
    # (method, path, allowed roles)
    ("POST", "/api/schemes", {"officer", "examiner"}),
    ("POST", "/api/schemes/cwi/versions", {"officer", "examiner"}),
    ("POST", "/api/persons", {"officer", "examiner"}),
    ("PUT", "/api/persons/x/language", {"officer", "examiner"}),
    ("POST", "/api/assessments", {"officer", "examiner"}),
    ("POST", "/api/trainings", {"officer", "examiner"}),
    ("POST", "/api/certifications", {"decider", "decider2", "examiner"}),
    ("POST", "/api/certifications/X/suspend", {"decider", "decider2", "examiner"}),
    ("POST", "/api/certifications/X/reinstate", {"decider", "decider2", "examiner"}),
    ("POST", "/api/certifications/X/withdraw", {"decider", "decider2", "examiner"}),
    ("POST", "/api/certifications/X/reduce-scope", {"decider", "decider2", "examiner"}),
    ("POST", "/api/certifications/X/extend-scope", {"decider", "decider2", "examiner"}),
    ("POST", "/api/certifications/X/recertify", {"decider", "decider2", "examiner"}),
    ("POST", "/api/certifications/X/correct", {"decider", "decider2", "examiner"}),
    ("POST", "/api/staff", {"admin"}),
    ("GET", "/api/staff", {"admin"}),
    ("POST", "/api/staff/x/roles", {"admin"}),
    ("DELETE", "/api/staff/x/roles/officer", {"admin"}),
    ("POST", "/api/staff/x/deactivate", {"admin"}),
    ("POST", "/api/staff/x/reactivate", {"admin"}),
    ("GET", "/api/role-requests", {"admin"}),
    ("POST", "/api/role-requests/x/approve", {"admin"}),
    ("POST", "/api/role-requests/x/reject", {"admin"}),
    ("POST", "/api/staff/x/token-claims", {"admin"}),
    ("GET", "/api/token-claims", {"admin"}),
    ("POST", "/api/token-claims/x/approve", {"admin"}),
    # Each person makes, lists and revokes their own tokens; only admins list everyone's.
    ("POST", "/api/tokens", {"admin", "officer", "decider", "decider2", "examiner"}),
    ("GET", "/api/tokens/mine", {"admin", "officer", "decider", "decider2", "examiner"}),
    ("GET", "/api/tokens", {"admin"}),
    ("DELETE", "/api/tokens/x", {"admin", "officer", "decider", "decider2", "examiner"}),
    ("POST", "/api/keys/rotate", {"admin"}),
    ("POST", "/api/expire-due", {"admin"}),
    ("GET", "/api/certifications/X", {"admin", "officer", "decider", "decider2", "examiner"}),
    ("GET", "/api/due", {"admin", "officer", "decider", "decider2", "examiner"}),
    ("POST", "/credentials/issue", {"admin", "officer", "examiner"}),
    ("POST", "/credentials/status", {"admin", "officer", "examiner"}),
]


@pytest.mark.parametrize(("method", "path", "allowed"), ROUTES)
def test_roles(env, method, path, allowed):
    assert env.client.request(method, path).status_code == 401
    for who in env.tokens:
        r = env.client.request(method, path, headers=env.auth(who))
        if who in allowed:
            assert r.status_code != 403 or "17024" in r.text or "role" not in r.text, (who, r.text)
        else:
            assert r.status_code == 403, (who, r.status_code, r.text)
            assert "role" in r.json()["detail"]


def test_a_token_narrowed_to_one_role(env):
    _, secret = create_token(env.body, env.staff["examiner"], name="x", roles=["officer"])
    r = env.client.post(
        "/api/certifications", json={}, headers={"Authorization": f"Bearer {secret}"}
    )
    assert r.status_code == 403


# --- the lifecycle, once each -------------------------------------------------------------


def test_officer_prepares(env):
    r = env.post(
        "/api/schemes",
        "officer",
        {
            "id": "ndt",
            "code": "NDT",
            "name": "NDT operator",
            "description": "Non-destructive testing.",
            "normative_reference": "ISO 9712:2021",
            "validity_months": 60,
            "max_suspension_days": 90,
            "publication_policy": "number_lookup",
            "scope": [{"code": "MT1", "label": "Magnetic testing, level 1", "level": "1"}],
        },
    )
    assert r.status_code == 201, r.text
    assert r.json() == {"scheme_id": "ndt", "version": 1}
    r = env.post("/api/schemes/ndt/versions", "officer", {"validity_months": 48})
    assert r.status_code == 201 and r.json()["version"] == 2
    assert env.post("/api/schemes/ndt/versions", "officer", {}).status_code == 422
    assert env.post("/api/schemes/nope/versions", "officer", {"name": "x"}).status_code == 404
    r = env.post("/api/persons", "officer", {"full_name": "John Roe", "email": "j@example.org"})
    assert r.status_code == 201
    john = r.json()["id"]
    r = env.post(
        "/api/assessments",
        "officer",
        {
            "person_id": john,
            "scheme_id": "ndt",
            "result": "pass",
            "assessed_on": "2026-01-10",
            "examiners": [env.staff["examiner"]],
            "scope_codes": ["MT1"],
            "score": 88.5,
        },
    )
    assert r.status_code == 201, r.text
    r = env.post(
        "/api/trainings", "officer", {"person_id": john, "trainer_id": env.staff["decider"]}
    )
    assert r.status_code == 201
    # Dana trained John: she may not decide on him (ISO/IEC 17024 9.4), in plain words.
    r = env.post(
        "/api/certifications",
        "decider",
        {"person_id": john, "scheme_id": "ndt", "scope": [{"code": "MT1"}], "evidence": "exam"},
    )
    assert r.status_code == 403 and "trained this candidate" in r.json()["detail"]
    events = env.body.db.execute(
        "SELECT actor FROM events WHERE kind = 'person_added' ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    assert events[0] == env.staff["officer"]


def test_a_scheme_version_adds_and_retires_scope_items_and_grants_follow(env):
    r = env.post(
        "/api/schemes/cwi/versions",
        "officer",
        {
            "add_scope": [{"code": "PT2", "label": "Penetrant testing", "level": "2"}],
            "retire_scope": ["UT2"],
        },
    )
    assert r.status_code == 201, r.text
    assert r.json() == {"scheme_id": "cwi", "version": 2}
    assert env.body.db.execute(
        "SELECT code, added_in_version, retired_in_version FROM scope_items ORDER BY code"
    ).fetchall() == [("PT2", 2, None), ("UT2", 1, 2), ("VT2", 1, None)]
    (actor,) = env.body.db.execute(
        "SELECT actor FROM events WHERE kind = 'scheme_versioned'"
    ).fetchone()
    assert actor == env.staff["officer"]
    again = env.post(
        "/api/schemes/cwi/versions", "officer", {"add_scope": [{"code": "UT2", "label": "x"}]}
    )
    assert again.status_code == 409
    assert "scope item UT2 was retired in version 2 of scheme cwi" in again.json()["detail"]
    unknown = env.post("/api/schemes/cwi/versions", "officer", {"retire_scope": ["XX1"]})
    assert unknown.status_code == 422 and "XX1 is not in the catalogue" in unknown.json()["detail"]
    r = env.post(
        "/api/certifications",
        "decider",
        {"person_id": env.jane, "scheme_id": "cwi", "scope": [{"code": "UT2"}], "evidence": "e"},
    )
    assert r.status_code == 422
    assert r.json()["detail"] == "scope item UT2 was retired in version 2 of scheme cwi"


def test_every_decision_through_http(env):
    cert = env.grant()
    number = cert["number"]
    assert cert["status"] == "ACTIVE" and cert["credential"]["proof"]
    base = f"/api/certifications/{number}"
    today = env.clock.now.date()
    r = env.post(
        f"{base}/suspend",
        "decider",
        {"reason": "complaint under review", "until": (today + timedelta(days=30)).isoformat()},
    )
    assert r.status_code == 200 and r.json()["status"] == "SUSPENDED", r.text
    r = env.post(f"{base}/reinstate", "decider", {"reason": "complaint unfounded"})
    assert r.json()["status"] == "ACTIVE"
    r = env.post(f"{base}/reduce-scope", "decider", {"remove": ["VT2"], "reason": "no practice"})
    assert [s["status"] for s in r.json()["scope"]] == ["active", "removed"]
    r = env.post(
        f"{base}/extend-scope", "decider", {"add": [{"code": "VT2"}], "evidence": "re-examined"}
    )
    assert r.status_code == 200, r.text
    r = env.post(
        f"{base}/correct", "decider", {"reason": "typo", "conditions": {"UT2": "steel 6-50 mm"}}
    )
    assert r.status_code == 200, r.text
    env.clock.advance(days=365 * 3 - 60)  # within the recertification window
    env.renew_tokens()
    r = env.post(f"{base}/recertify", "decider", {"evidence": "CPD record"})
    assert r.status_code == 200 and r.json()["cycle"] == 2, r.text
    r = env.post(f"{base}/withdraw", "decider", {"reason": "misconduct"})
    assert r.json()["status"] == "WITHDRAWN"
    r = env.post(f"{base}/reinstate", "decider", {"reason": "appeal"})
    assert r.status_code == 409 and "WITHDRAWN" in r.json()["detail"]

    detail = env.get(base, "officer").json()
    types = [d["type"] for d in detail["history"]]
    assert types == [
        "grant", "suspend", "reinstate", "reduce_scope", "extend_scope", "correct",
        "recertify", "withdraw",
    ]  # fmt: skip
    assert {d["decided_by"] for d in detail["history"]} == {env.staff["decider"]}
    assert len(detail["credentials"]) == 5
    assert env.get("/api/certifications/CWI-0000-0000-0", "officer").status_code == 404


def test_expire_due_and_due(env):
    cert = env.grant()
    env.clock.advance(days=365 * 3 - 30)
    env.renew_tokens()
    due = env.get("/api/due", "decider").json()
    assert [d["number"] for d in due] == [cert["number"]]
    env.clock.advance(days=60)
    env.renew_tokens()
    r = env.post("/api/expire-due", "admin")
    assert r.status_code == 200 and r.json() == {"expired": [cert["number"]]}
    assert (
        env.get(f"/api/certifications/{cert['number']}", "admin").json()["certification"]["status"]
        == "EXPIRED"
    )


# --- decided_by binding -------------------------------------------------------------------


def test_a_decision_maker_cannot_decide_for_another(env):
    payload = {
        "person_id": env.jane,
        "scheme_id": "cwi",
        "scope": [{"code": "UT2"}],
        "evidence": "exam",
        "decided_by": env.staff["decider2"],
    }
    r = env.post("/api/certifications", "decider", payload)
    assert r.status_code == 422 and "decided_by" in r.text
    assert _decisions(env) == []
    number = env.grant("decider2")["number"]
    r = env.post(
        f"/api/certifications/{number}/withdraw",
        "decider",
        {"reason": "x", "decided_by": env.staff["decider2"]},
    )
    assert r.status_code == 422
    assert _decisions(env) == [("grant", env.staff["decider2"])]


def test_the_examiner_token_is_refused_on_its_own_candidate(env):
    r = env.post(
        "/api/certifications",
        "examiner",
        {"person_id": env.jane, "scheme_id": "cwi", "scope": [{"code": "UT2"}], "evidence": "e"},
    )
    assert r.status_code == 403 and "examined this candidate" in r.json()["detail"]
    refused = env.body.db.execute(
        "SELECT actor FROM events WHERE kind = 'decision_refused'"
    ).fetchall()
    assert refused == [(env.staff["examiner"],)]


def test_a_role_taken_away_is_taken_from_tokens(env):
    env.body.db.execute("UPDATE staff SET roles = 'officer' WHERE id = ?", [env.staff["decider"]])
    assert env.post("/api/certifications", "decider", {}).status_code == 403
    env.body.db.execute("UPDATE staff SET active = 0 WHERE id = ?", [env.staff["decider"]])
    assert env.post("/api/certifications", "decider", {}).status_code == 401


# --- admin ---------------------------------------------------------------------------------


def test_admin_manages_staff_and_tokens(env):
    """An admin adds a staff member and hands them a claim code; the staff member redeems it
    and receives the secret (the admin never does), uses it, and the admin can revoke it."""
    r = env.post("/api/staff", "admin", {"name": "Nina New", "roles": ["officer"]})
    assert r.status_code == 201 and r.json()["roles"] == ["officer"]
    nina = r.json()["id"]
    assert any(s["id"] == nina for s in env.get("/api/staff", "admin").json())
    r = env.post(f"/api/staff/{nina}/token-claims", "admin", {"name": "laptop", "lifetime_days": 7})
    assert r.status_code == 201 and "secret" not in r.json()
    code = r.json()["code"]
    r = env.post("/api/token-claims/redeem", None, {"code": code})
    assert r.status_code == 201, r.text
    secret, token_id = r.json()["secret"], r.json()["token"]["id"]
    assert secret.startswith("certreg_") and r.json()["token"]["staff_id"] == nina
    bearer = {"Authorization": f"Bearer {secret}"}
    assert env.client.get("/api/due", headers=bearer).status_code == 200
    listed = env.get("/api/tokens", "admin")
    assert secret not in listed.text and "token_hash" not in listed.text
    r = env.post(f"/api/staff/{nina}/token-claims", "admin", {"name": "x", "roles": ["admin"]})
    assert r.status_code == 422 and "can only carry roles" in r.json()["detail"]
    assert (
        env.client.delete(f"/api/tokens/{token_id}", headers=env.auth("admin")).status_code == 200
    )
    assert env.client.get("/api/due", headers=bearer).status_code == 401
    assert env.client.delete("/api/tokens/nope", headers=env.auth("admin")).status_code == 404


def test_key_rotation_did_web(web_env):
    env = web_env
    granted = env.grant()
    old, number = granted["credential"], granted["number"]
    before = env.get("/.well-known/did.json").json()
    r = env.post("/api/keys/rotate", "admin")
    assert r.status_code == 200, r.text
    new_key = r.json()["key_id"]
    after = env.get("/.well-known/did.json").json()
    assert len(after["verificationMethod"]) == len(before["verificationMethod"]) + 1
    assert env.body.status_lists.latest("revocation-1")["proof"]["verificationMethod"] == new_key
    # The new key signs from now on: the next decision's credential (a correction here); the
    # old credential still verifies (key retired, not revoked).
    r = env.post(
        f"/api/certifications/{number}/correct",
        "decider",
        {"reason": "name misspelt", "holder_name": "Jane Q. Doe"},
    )
    assert r.status_code == 200, r.text
    vc = r.json()["credential"]
    proofs = vc["proof"] if isinstance(vc["proof"], list) else [vc["proof"]]
    assert [p["verificationMethod"] for p in proofs] == [new_key]
    for doc in (old, vc):
        r = env.post("/credentials/verify", None, {"verifiableCredential": doc})
        assert r.json()["verified"] is True, r.json()["summary"]


def test_key_rotation_refused_for_did_key(env):
    r = env.post("/api/keys/rotate", "admin")
    assert r.status_code == 409 and "did:key" in r.json()["detail"]


def test_concurrent_requests_share_one_connection_safely(env):
    from concurrent.futures import ThreadPoolExecutor

    def person(i: int) -> int:
        return env.post("/api/persons", "officer", {"full_name": f"P{i}"}).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(person, range(40)))
    assert codes == [201] * 40
    assert env.body.db.execute("SELECT COUNT(*) FROM persons").fetchone()[0] == 41
    assert isinstance(PASSPHRASE, str) and sqlite3  # fixtures module imported as intended


def test_a_schemes_names_in_other_languages_are_checked_and_kept(env):
    scheme = {
        "id": "ndt",
        "code": "NDT",
        "name": "NDT operator",
        "description": "Non-destructive testing.",
        "normative_reference": "ISO 9712:2021",
        "validity_months": 60,
        "max_suspension_days": 90,
        "publication_policy": "directory",
        "scope": [{"code": "MT1", "label": "Magnetic testing, level 1"}],
    }
    unknown = env.post("/api/schemes", "officer", scheme | {"names": {"pl": "Operator NDT"}})
    assert unknown.status_code == 422
    assert "'en', 'de', 'fr' or 'es'" in unknown.text and "pl" in unknown.text
    empty = env.post("/api/schemes", "officer", scheme | {"names": {"de": ""}})
    assert empty.status_code == 422 and "at least 1 character" in empty.text
    blank = env.post("/api/schemes", "officer", scheme | {"names": {"de": "  "}})
    assert blank.status_code == 422 and "name in 'de' is empty" in blank.text
    r = env.post(
        "/api/schemes",
        "officer",
        scheme
        | {
            "names": {"de": "ZfP-Prüfer", "es": "Operador END"},
            "descriptions": {"de": "Zerstörungsfreie Prüfung."},
        },
    )
    assert r.status_code == 201, r.text
    r = env.post("/api/schemes/ndt/versions", "officer", {"names": {"es": None, "fr": "Agent CND"}})
    assert r.status_code == 201 and r.json()["version"] == 2
    assert env.body.scheme_names("ndt") == {
        "de": {"name": "ZfP-Prüfer", "description": "Zerstörungsfreie Prüfung."},
        "fr": {"name": "Agent CND", "description": ""},
    }


def test_the_apis_languages_are_certregs():
    from typing import get_args

    from certreg.i18n import LANGUAGES
    from certreg.issuer.http.models import Language

    assert get_args(Language) == LANGUAGES


def test_a_person_s_mail_language_is_recorded_and_an_unknown_one_refused_with_the_reason(env):
    r = env.post("/api/persons", "officer", {"full_name": "Hans Meier", "language": "de"})
    assert r.status_code == 201, r.text
    hans = r.json()["id"]
    r = env.post("/api/persons", "officer", {"full_name": "Jan Kowalski", "language": "pl"})
    assert r.status_code == 422
    assert "unknown language 'pl': one of en, de, fr, es" in r.text
    language = "SELECT language FROM persons WHERE id = ?"
    assert env.body.db.execute(language, [hans]).fetchone() == ("de",)

    path = f"/api/persons/{hans}/language"
    r = env.client.put(path, json={"language": "es"}, headers=env.auth("officer"))
    assert r.status_code == 200 and r.json() == {"recorded": True}
    assert env.body.db.execute(language, [hans]).fetchone() == ("es",)
    r = env.client.put(path, json={"language": None}, headers=env.auth("officer"))
    assert r.status_code == 200 and env.body.db.execute(language, [hans]).fetchone() == (None,)
    r = env.client.put(path, json={"language": "xx"}, headers=env.auth("officer"))
    assert r.status_code == 422 and "unknown language 'xx'" in r.text
    r = env.client.put(
        "/api/persons/nobody/language", json={"language": "fr"}, headers=env.auth("officer")
    )
    assert r.status_code == 404


def test_a_granted_certification_carries_its_offline_qr_payload(env):
    from certreg.verifier.offline import payload

    granted = env.grant("decider2")
    text = granted["offline_qr"]
    assert text.startswith("CR1:")
    assert payload.decode(text).certificate.number == granted["number"]

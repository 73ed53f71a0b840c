"""Staff identities cannot be borrowed (issue 7, item 3).

The attack: an admin made a token for a decision-maker, received its secret, and granted a
certificate "as" that decision-maker to a candidate the admin had examined; an admin made a
new decision-maker and decided through it; nobody could be deactivated or lose a role.

Each test replays one path of that attack against the real app (FastAPI's TestClient over a
real issuer.db) or the real command line, and checks what the attacker would see.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from http_support import PASSPHRASE, Env, make_env

from certreg.issuer import audit, staff
from certreg.issuer.cli import main as certreg
from certreg.issuer.service import Invalid
from certreg.issuer.tokens import create_token

GRANT = {
    "scope": [{"code": "UT2"}],
    "evidence": "examination passed",
}


@pytest.fixture
def env(tmp_path: Path) -> Env:
    """One admin (Ada): four eyes does not apply yet."""
    return make_env(tmp_path)


@pytest.fixture
def env2(env: Env) -> Env:
    """Two active admins (Ada, and Bob added while Ada was the only one): four eyes applies."""
    r = env.post("/api/staff", "admin", {"name": "Bob Admin", "roles": ["admin"]})
    assert r.status_code == 201 and r.json()["roles"] == ["admin"], r.text
    env.staff["admin2"] = r.json()["id"]
    # Bob's own token (as if he had redeemed the claim Ada gave him).
    env.tokens["admin2"] = create_token(env.body, env.staff["admin2"], name="bob")[1]
    assert staff.four_eyes_applies(env.body)
    return env


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def grant_as(env: Env, secret: str) -> Any:
    return env.client.post(
        "/api/certifications",
        json={"person_id": env.jane, "scheme_id": "cwi", **GRANT},
        headers=bearer(secret),
    )


def kinds(env: Env, subject: str) -> list[str]:
    return [e.kind for e in audit.events(env.body.db, subject=subject, limit=1000)]


def run_cli(data: Path, command: str) -> Result:
    result = CliRunner().invoke(
        certreg, ["--help"] if not command else shlex.split(command),
        env={"CERTREG_DATA": str(data), "CERTREG_PASSPHRASE": PASSPHRASE},
    )  # fmt: skip
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


# --- an admin never receives a usable secret for somebody else ------------------------------


def test_admin_asking_for_a_decision_makers_token_gets_no_secret(env):
    dana = env.staff["decider"]
    before = env.body.db.execute("SELECT COUNT(*) FROM api_tokens").fetchone()[0]
    r = env.post("/api/tokens", "admin", {"staff_id": dana, "name": "borrowed"})
    assert r.status_code == 403 and "only to the person it belongs to" in r.json()["detail"]
    assert "certreg_" not in r.text
    assert env.body.db.execute("SELECT COUNT(*) FROM api_tokens").fetchone()[0] == before
    # What the admin may do instead: a claim. Its answer holds a code, no secret, and the
    # code is not a bearer token.
    r = env.post(f"/api/staff/{dana}/token-claims", "admin", {"name": "Dana laptop"})
    assert r.status_code == 201 and set(r.json()) == {"claim", "code"}
    code = r.json()["code"]
    assert code.startswith("certreg-claim_")
    assert env.client.get("/api/due", headers=bearer(code)).status_code == 401
    assert env.body.db.execute("SELECT COUNT(*) FROM api_tokens").fetchone()[0] == before
    # Dana redeems it and is the one who sees the secret; it decides in her name.
    r = env.post("/api/token-claims/redeem", None, {"code": code})
    assert r.status_code == 201 and r.json()["token"]["staff_id"] == dana
    assert grant_as(env, r.json()["secret"]).status_code == 201
    assert {"token_claim_created", "token_claimed", "token_created"} <= set(kinds(env, dana))


def test_a_claim_the_admin_redeemed_is_revealed_and_revoked_at_first_use(env):
    """With one admin (no second pair of eyes), an admin who keeps the code can redeem it
    first; the decision-maker learns it the moment they try, and the admin's token, and the
    tokens it made for itself, stop working at once."""
    dana = env.staff["decider"]
    code = env.post(f"/api/staff/{dana}/token-claims", "admin", {"name": "x"}).json()["code"]
    stolen = env.post("/api/token-claims/redeem", None, {"code": code}).json()["secret"]
    r = env.client.post(
        "/api/tokens", json={"name": "spare"}, headers=bearer(stolen)
    )  # self-service with the stolen token
    assert r.status_code == 201
    spare = r.json()["secret"]
    assert env.client.get("/api/due", headers=bearer(spare)).status_code == 200
    # Dana's first use of the code.
    r = env.post("/api/token-claims/redeem", None, {"code": code})
    assert r.status_code == 409
    assert "already redeemed" in r.json()["detail"] and "revoked" in r.json()["detail"]
    for secret in (stolen, spare):
        r = env.client.get("/api/due", headers=bearer(secret))
        assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert "token_claim_reused" in kinds(env, dana)


def test_four_eyes_claim_needs_the_second_admins_code(env2):
    env = env2
    dana = env.staff["decider"]
    r = env.post(f"/api/staff/{dana}/token-claims", "admin", {"name": "Dana laptop"})
    claim, code = r.json()["claim"], r.json()["code"]
    assert claim["needs_second"] is True
    # Ada alone cannot redeem it, nor approve it herself.
    r = env.post("/api/token-claims/redeem", None, {"code": code})
    assert r.status_code == 409 and "second admin" in r.json()["detail"]
    r = env.post(f"/api/token-claims/{claim['id']}/approve", "admin")
    assert r.status_code == 403 and "cannot approve" in r.json()["detail"]
    # Bob approves and receives the second code; Ada's code alone still does nothing.
    r = env.post(f"/api/token-claims/{claim['id']}/approve", "admin2")
    assert r.status_code == 200, r.text
    second = r.json()["code"]
    assert second != code
    r = env.post("/api/token-claims/redeem", None, {"code": code})
    assert r.status_code == 403 and "second code" in r.json()["detail"]
    r = env.post("/api/token-claims/redeem", None, {"code": code, "second_code": code})
    assert r.status_code == 403
    r = env.post("/api/token-claims/redeem", None, {"code": code, "second_code": second})
    assert r.status_code == 201
    assert grant_as(env, r.json()["secret"]).status_code == 201
    events = kinds(env, dana)
    assert {"token_claim_refused", "token_claim_approved", "token_claimed"} <= set(events)


def test_under_four_eyes_an_officers_claim_needs_a_second_admin_too(env2):
    """An officer's token records the assessments decisions rest on: an admin alone must not
    be able to redeem it either."""
    env = env2
    r = env.post(f"/api/staff/{env.staff['officer']}/token-claims", "admin", {"name": "o"})
    assert r.json()["claim"]["needs_second"] is True
    r = env.post("/api/token-claims/redeem", None, {"code": r.json()["code"]})
    assert r.status_code == 409 and "second admin" in r.json()["detail"]


def test_self_service_tokens_never_widen(env):
    # A token narrowed to officer cannot make one that decides.
    narrow = create_token(env.body, env.staff["examiner"], name="import", roles=["officer"])[1]
    r = env.client.post(
        "/api/tokens", json={"name": "x", "roles": ["decision_maker"]}, headers=bearer(narrow)
    )
    assert r.status_code == 403 and "at most the roles" in r.json()["detail"]
    r = env.client.post("/api/tokens", json={"name": "x"}, headers=bearer(narrow))
    assert r.status_code == 201 and r.json()["token"]["roles"] == ["officer"]
    assert grant_as(env, r.json()["secret"]).status_code == 403


# --- a new decision-maker waits for a second admin ----------------------------------------


def test_new_decision_maker_is_not_usable_until_a_second_admin_approves(env2):
    env = env2
    r = env.post("/api/staff", "admin", {"name": "Sock Puppet", "roles": ["decision_maker"]})
    assert r.status_code == 201
    puppet = r.json()
    assert puppet["roles"] == [] and [p["role"] for p in puppet["pending"]] == ["decision_maker"]
    request_id = puppet["pending"][0]["id"]
    # It holds no role yet, so no token can be made for it at all (not even by the operator),
    # nor a claim.
    with pytest.raises(Invalid, match="holds no role"):
        create_token(env.body, puppet["id"], name="p")
    r = env.post(f"/api/staff/{puppet['id']}/token-claims", "admin", {"name": "p"})
    assert r.status_code == 422
    # The requesting admin cannot approve it; the refusal is in the audit log.
    r = env.post(f"/api/role-requests/{request_id}/approve", "admin")
    assert r.status_code == 403 and "admin who made it" in r.json()["detail"]
    assert staff.staff_info(env.body, puppet["id"]).roles == []
    assert "role_request_refused" in kinds(env, puppet["id"])
    # A second admin approves: now the role is in force.
    r = env.post(f"/api/role-requests/{request_id}/approve", "admin2")
    assert r.status_code == 200 and r.json()["state"] == "approved"
    secret = create_token(env.body, puppet["id"], name="p")[1]
    assert grant_as(env, secret).status_code == 201
    expected = {
        "staff_added",
        "staff_role_requested",
        "role_request_approved",
        "staff_role_granted",
    }
    assert expected <= set(kinds(env, puppet["id"]))


def test_giving_the_role_later_also_waits_and_nobody_approves_their_own(env2):
    env = env2
    officer = env.staff["officer"]
    r = env.post(f"/api/staff/{officer}/roles", "admin", {"role": "decision_maker"})
    assert r.status_code == 202 and r.json()["request"]["state"] == "pending"
    assert r.json()["staff"]["roles"] == ["officer"]
    assert grant_as(env, env.tokens["officer"]).status_code == 403
    # Bob asks to make himself a decision-maker: Ada may approve, Bob may not.
    bob = env.staff["admin2"]
    r = env.post(f"/api/staff/{bob}/roles", "admin", {"role": "decision_maker"})
    r = env.post(f"/api/role-requests/{r.json()['request']['id']}/approve", "admin2")
    assert r.status_code == 403 and "their own promotion" in r.json()["detail"]
    # An admin too waits (a second admin would be a second pair of eyes to fake).
    r = env.post("/api/staff", "admin", {"name": "Another Ada", "roles": ["admin"]})
    assert r.json()["roles"] == [] and r.json()["pending"][0]["role"] == "admin"


def test_with_one_admin_or_four_eyes_off_grants_take_effect_at_once(env2, tmp_path):
    env = env2
    data = tmp_path / "cb"
    result = run_cli(data, "staff four-eyes off")
    assert result.exit_code == 0 and "Four eyes is off" in result.output
    r = env.post(f"/api/staff/{env.staff['officer']}/roles", "admin", {"role": "decision_maker"})
    assert r.status_code == 200 and "decision_maker" in r.json()["staff"]["roles"]
    events = audit.events(env.body.db, kind="four_eyes_changed")
    assert events and events[-1].payload == {"four_eyes": False} and events[-1].actor is None
    assert "staff_role_granted" in kinds(env, env.staff["officer"])


def test_the_api_cannot_turn_four_eyes_off_nor_drop_below_two_admins(env2):
    env = env2
    bob = env.staff["admin2"]
    r = env.post(f"/api/staff/{bob}/deactivate", "admin")
    assert r.status_code == 403 and "single active admin" in r.json()["detail"]
    r = env.client.delete(f"/api/staff/{bob}/roles/admin", headers=env.auth("admin"))
    assert r.status_code == 403
    assert staff.staff_info(env.body, bob).active
    # Revoking Bob's tokens still stops him at once.
    token_id = env.body.db.execute(
        "SELECT id FROM api_tokens WHERE staff_id = ?", [bob]
    ).fetchone()[0]
    assert (
        env.client.delete(f"/api/tokens/{token_id}", headers=env.auth("admin")).status_code == 200
    )
    assert env.get("/api/due", "admin2").status_code == 401
    # No route changes the setting.
    paths = env.get("/openapi.json").json()["paths"]
    assert "/api/staff/{staff_id}/deactivate" in paths
    assert not any("four" in p or "setting" in p for p in paths)


# --- deactivation and role removal take effect at once ------------------------------------


def test_deactivated_staff_token_is_refused_at_once(env, tmp_path):
    dana = env.staff["decider"]
    assert env.get("/api/due", "decider").status_code == 200
    r = env.post(f"/api/staff/{dana}/deactivate", "admin", {"reason": "left the body"})
    assert r.status_code == 200 and r.json()["staff"]["active"] is False
    r = env.get("/api/due", "decider")
    assert r.status_code == 401 and "deactivated" in r.json()["detail"]
    assert grant_as(env, env.tokens["decider"]).status_code == 401
    # The command line refuses her as decision-maker too.
    result = run_cli(
        tmp_path / "cb",
        f"decide grant {env.jane} cwi --scope UT2 --as {dana} --evidence exam",
    )
    assert result.exit_code == 1 and "no longer active" in result.output
    assert env.body.db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 0
    # Her claims are cancelled; none can be made.
    r = env.post(f"/api/staff/{dana}/token-claims", "admin", {"name": "x"})
    assert r.status_code == 422 and "no longer active" in r.json()["detail"]
    assert {"staff_deactivated", "decision_refused"} <= set(kinds(env, dana) + kinds(env, env.jane))
    # Re-activation (one admin: at once) brings the same token back.
    r = env.post(f"/api/staff/{dana}/reactivate", "admin")
    assert r.status_code == 200 and env.get("/api/due", "decider").status_code == 200
    assert "staff_reactivated" in kinds(env, dana)


def test_deactivation_from_the_cli_refuses_every_token(env, tmp_path):
    dana = env.staff["decider"]
    extra = create_token(env.body, dana, name="second laptop")[1]
    result = run_cli(tmp_path / "cb", "staff deactivate 'Dana Decider' --reason 'left'")
    assert result.exit_code == 0, result.output
    for secret in (env.tokens["decider"], extra):
        r = env.client.get("/api/due", headers=bearer(secret))
        assert r.status_code == 401 and "deactivated" in r.json()["detail"]


def test_reactivating_a_decision_maker_waits_for_a_second_admin(env2):
    env = env2
    dana = env.staff["decider"]
    assert env.post(f"/api/staff/{dana}/deactivate", "admin").status_code == 200
    r = env.post(f"/api/staff/{dana}/reactivate", "admin")
    assert r.status_code == 202 and r.json()["request"]["action"] == "reactivate"
    assert env.get("/api/due", "decider").status_code == 401
    r = env.post(f"/api/role-requests/{r.json()['request']['id']}/approve", "admin2")
    assert r.status_code == 200 and env.get("/api/due", "decider").status_code == 200


def test_removed_role_is_refused_with_the_reason(env, tmp_path):
    examiner = env.staff["examiner"]  # officer and decision_maker
    r = env.client.delete(f"/api/staff/{examiner}/roles/decision_maker", headers=env.auth("admin"))
    assert r.status_code == 200 and r.json()["staff"]["roles"] == ["officer"]
    r = grant_as(env, env.tokens["examiner"])
    assert r.status_code == 403
    assert "decision_maker was taken from Erik Examiner" in r.json()["detail"]
    # Still an officer: the rest of the token works.
    assert env.get("/api/due", "examiner").status_code == 200
    assert "staff_role_removed" in kinds(env, examiner)
    # From the command line too, for another person.
    result = run_cli(tmp_path / "cb", "staff role remove 'Dana Decider' decision_maker")
    assert result.exit_code == 0, result.output
    r = grant_as(env, env.tokens["decider"])
    assert r.status_code == 403 and "was taken from Dana Decider" in r.json()["detail"]


# --- the command line prints a secret only to bootstrap ------------------------------------


def test_cli_tokens_create_is_only_the_bootstrap(env, tmp_path):
    data = tmp_path / "cb"
    result = run_cli(data, "tokens create --staff 'Dana Decider' --name borrowed")
    assert result.exit_code == 1 and "not an active admin" in result.output
    assert "certreg_" not in result.output
    # Ada already holds a usable admin token: no second one from here.
    result = run_cli(data, "tokens create --staff 'Ada Admin' --name again")
    assert result.exit_code == 1 and "already holds a usable admin token" in result.output
    # Locked out (every admin token revoked): the operator may print one, admin role alone.
    for (token_id,) in env.body.db.execute(
        "SELECT id FROM api_tokens WHERE staff_id = ?", [env.staff["admin"]]
    ).fetchall():
        assert run_cli(data, f"tokens revoke {token_id}").exit_code == 0
    result = run_cli(data, "tokens create --staff 'Ada Admin' --name recovery")
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert env.client.get("/api/staff", headers=bearer(secret)).status_code == 200
    assert grant_as(env, secret).status_code == 403


def test_the_operator_is_the_second_pair_of_eyes_when_no_admin_can_be(env2, tmp_path):
    """Two admins: a claim for Bob's token, made by Ada, has no other admin to approve it."""
    env = env2
    bob = env.staff["admin2"]
    r = env.post(f"/api/staff/{bob}/token-claims", "admin", {"name": "Bob new laptop"})
    claim, code = r.json()["claim"], r.json()["code"]
    assert claim["needs_second"] is True
    r = env.post(f"/api/token-claims/{claim['id']}/approve", "admin2")
    assert r.status_code == 403 and "their own token" in r.json()["detail"]
    result = run_cli(tmp_path / "cb", f"tokens approve-claim {claim['id']}")
    assert result.exit_code == 0, result.output
    second = result.stdout.strip()
    r = env.post("/api/token-claims/redeem", None, {"code": code, "second_code": second})
    assert r.status_code == 201 and r.json()["token"]["staff_id"] == bob

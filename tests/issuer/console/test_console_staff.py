"""Admins manage staff in the console through issuer.staff's rules, and everybody makes their
own API tokens: a deactivated person's sessions and tokens die at once, roles follow four
eyes, a token's secret is shown once and to its owner only."""

from __future__ import annotations

import re

from console_support import Env
from fastapi.testclient import TestClient

from certreg.issuer import staff, tokens
from certreg.issuer.http.app import create_app


def _api(env: Env, secret: str) -> int:
    client = TestClient(create_app(env.body), raise_server_exceptions=False)
    return client.get("/api/tokens/mine", headers={"Authorization": f"Bearer {secret}"}).status_code


def test_deactivation_kills_the_session_and_the_tokens_at_once(env: Env) -> None:
    ada = env.signed_in("admin", "Ada Admin")
    olga = env.signed_in("officer", "Olga Officer")
    _, secret = tokens.create_token(env.body, env.staff["officer"], name="olga's script")
    assert olga.client.get("/console/").status_code == 200 and _api(env, secret) == 200
    answer = ada.post(f"/console/staff/{env.staff['officer']}/deactivate", {"reason": "left"})
    assert answer.status_code == 303
    assert olga.client.get("/console/", follow_redirects=False).status_code == 303
    assert _api(env, secret) == 401
    assert olga.sign_in().status_code == 403  # and she cannot sign in again
    (event,) = env.events("staff_deactivated")
    assert event["actor"] == env.staff["admin"] and '"reason":"left"' in event["payload"]


def test_a_session_dies_even_when_deactivation_bypasses_issuer_staff(env: Env) -> None:
    olga = env.signed_in("officer", "Olga Officer")
    env.body.db.execute("UPDATE staff SET active = 0 WHERE id = ?", [env.staff["officer"]])
    assert olga.client.get("/console/", follow_redirects=False).status_code == 303


def test_pages_refuse_a_missing_role_with_the_reason(env: Env) -> None:
    olga = env.signed_in("officer", "Olga Officer")
    answer = olga.client.get("/console/staff")
    assert answer.status_code == 403
    assert "this needs the role admin; Olga Officer holds officer" in answer.text
    forged = olga.post(f"/console/staff/{env.staff['admin']}/deactivate")
    assert forged.status_code == 403
    assert staff.staff_info(env.body, env.staff["admin"]).active


def test_roles_change_through_the_staff_rules_with_the_admin_as_actor(env: Env) -> None:
    ada = env.signed_in("admin", "Ada Admin")
    olga = env.signed_in("officer", "Olga Officer")
    officer = env.staff["officer"]
    assert ada.post(f"/console/staff/{officer}/roles",
                    {"role": "decision_maker", "action": "grant"}).status_code == 303  # fmt: skip
    assert "decision_maker" in olga.client.get("/console/").text  # read at every request
    assert ada.post(f"/console/staff/{officer}/roles",
                    {"role": "officer", "action": "remove"}).status_code == 303  # fmt: skip
    assert staff.staff_info(env.body, officer).roles == ["decision_maker"]
    # The service's own refusal, in its words: the last admin stays.
    last = ada.post(f"/console/staff/{env.staff['admin']}/roles",
                    {"role": "admin", "action": "remove"})  # fmt: skip
    assert last.status_code == 403 and "the last active admin" in last.text
    granted = env.events("staff_role_granted")
    assert granted[-1]["actor"] == env.staff["admin"]


def test_four_eyes_holds_in_the_console(env: Env) -> None:
    ada = env.signed_in("admin", "Ada Admin")
    staff.grant_role(env.body, env.staff["decider"], "admin")  # a second admin: four eyes on
    dana = env.signed_in("decider", "Dana Decider")
    officer = env.staff["officer"]
    ada.post(f"/console/staff/{officer}/roles", {"role": "decision_maker", "action": "grant"})
    assert staff.staff_info(env.body, officer).roles == ["officer"]  # waiting
    page = ada.client.get("/console/staff").text
    (request_id,) = re.findall(r"/console/requests/([0-9a-f-]+)/approve", page)
    own = ada.post(f"/console/requests/{request_id}/approve")
    assert own.status_code == 403  # the requester does not approve their own request
    assert dana.post(f"/console/requests/{request_id}/approve").status_code == 303
    assert staff.staff_info(env.body, officer).roles == ["decision_maker", "officer"]


def test_my_tokens_secret_is_shown_once_to_me(env: Env) -> None:
    olga = env.signed_in("officer", "Olga Officer")
    made = olga.post("/console/tokens", {"name": "nightly export", "days": "30"})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    secret = re.search(r'id="token-secret">([^<]+)<', made.text).group(1)
    assert secret.startswith("certreg_") and _api(env, secret) == 200
    listing = olga.client.get("/console/tokens").text
    assert "nightly export" in listing and secret not in listing
    ada = env.signed_in("admin", "Ada Admin")
    assert "nightly export" not in ada.client.get("/console/tokens").text
    assert secret not in ada.client.get("/console/staff").text
    (info,) = tokens.list_tokens(env.body, env.staff["officer"])
    assert info.roles == ["officer"] and info.expires_at.startswith("2026-04-01")
    (event,) = env.events("token_created")
    assert event["actor"] == env.staff["officer"] and '"via":"console"' in event["payload"]
    assert olga.post(f"/console/tokens/{info.id}/revoke").status_code == 303
    assert _api(env, secret) == 401
    assert env.events("token_revoked")[0]["actor"] == env.staff["officer"]


def test_a_token_cannot_carry_a_role_its_owner_lacks(env: Env) -> None:
    olga = env.signed_in("officer", "Olga Officer")
    answer = olga.post("/console/tokens", {"name": "wider", "roles": ["admin"]})
    assert answer.status_code == 422
    assert "a token can only carry roles its staff member holds" in answer.text
    assert tokens.list_tokens(env.body, env.staff["officer"]) == []

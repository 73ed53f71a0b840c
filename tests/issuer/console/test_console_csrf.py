"""Every state-changing console form needs the session's CSRF token and the console's own
Origin: without either, 403 with the reason, and nothing changed."""

from __future__ import annotations

import pytest
from console_support import ORIGIN, Env, csrf_of

from certreg.issuer import tokens


def _token_count(env: Env) -> int:
    return env.body.db.execute("SELECT COUNT(*) FROM api_tokens").fetchone()[0]


@pytest.mark.parametrize("sent", [None, "", "not-the-token"])
def test_a_form_without_the_right_csrf_token_changes_nothing(env: Env, sent: str | None) -> None:
    ada = env.signed_in("admin", "Ada Admin")
    data = {"name": "script"} if sent is None else {"name": "script", "csrf_token": sent}
    before = _token_count(env)
    answer = ada.client.post("/console/tokens", data=data, headers={"Origin": ORIGIN})
    assert answer.status_code == 403
    assert "CSRF token is missing or wrong: nothing was changed" in answer.text
    assert _token_count(env) == before
    assert ada.post("/console/tokens", {"name": "script"}).status_code == 200
    assert _token_count(env) == before + 1


def test_another_session_s_token_is_wrong_too(env: Env) -> None:
    ada = env.signed_in("admin", "Ada Admin")
    olga = env.signed_in("officer", "Olga Officer")
    answer = ada.client.post(
        f"/console/staff/{env.staff['officer']}/deactivate",
        data={"csrf_token": olga.csrf(), "reason": "forged"},
        headers={"Origin": ORIGIN},
    )
    assert answer.status_code == 403
    assert env.body.db.execute(
        "SELECT active FROM staff WHERE id = ?", [env.staff["officer"]]
    ).fetchone() == (1,)


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://evil.example"}, {"Referer": "https://evil.example/page"}, {}],
    ids=["foreign-origin", "foreign-referer", "neither"],
)
def test_a_form_from_another_site_changes_nothing(env: Env, headers: dict[str, str]) -> None:
    ada = env.signed_in("admin", "Ada Admin")
    answer = ada.client.post(
        "/console/logout-everywhere", data={"csrf_token": ada.csrf()}, headers=headers
    )
    assert answer.status_code == 403
    assert "nothing was changed" in answer.text
    assert ada.client.get("/console/").status_code == 200  # still signed in


def test_a_referer_from_the_console_is_accepted_without_origin(env: Env) -> None:
    ada = env.signed_in("admin", "Ada Admin")
    answer = ada.client.post(
        "/console/tokens",
        data={"csrf_token": ada.csrf(), "name": "from a form"},
        headers={"Referer": f"{ORIGIN}/console/tokens"},
    )
    assert answer.status_code == 200


def test_the_sign_in_form_needs_its_own_token(env: Env) -> None:
    ada = env.enrolled("admin", "Ada Admin")
    ada.client.get("/console/login")
    answer = ada.client.post(
        "/console/login",
        data={"login": "Ada Admin", "password": "x" * 12, "code": ada.next_code()},
        headers={"Origin": ORIGIN},
    )
    assert answer.status_code == 403 and "CSRF token is missing or wrong" in answer.text
    assert env.events("console_sign_in_failed") == []  # refused before anything was tried


def test_revoking_needs_the_token_and_only_ones_own(env: Env) -> None:
    ada = env.signed_in("admin", "Ada Admin")
    olga = env.signed_in("officer", "Olga Officer")
    info, _ = tokens.create_token(env.body, env.staff["officer"], name="olga's script")
    forged = ada.client.post(f"/console/tokens/{info.id}/revoke", headers={"Origin": ORIGIN})
    assert forged.status_code == 403
    not_hers = ada.post(f"/console/tokens/{info.id}/revoke")
    assert not_hers.status_code == 404 and "of yours" in not_hers.text
    assert tokens.list_tokens(env.body, env.staff["officer"])[0].revoked_at is None
    assert olga.post(f"/console/tokens/{info.id}/revoke").status_code == 303
    assert tokens.list_tokens(env.body, env.staff["officer"])[0].revoked_at is not None
    assert csrf_of(olga.client.get("/console/tokens").text)

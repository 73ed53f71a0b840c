"""Enrolment: one-time links (from the command line or an admin's invitation) with which each
person chooses their own password and authenticator; the admin never learns either."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from console_support import ORIGIN, PASSWORD, SECRET, Env, Person, csrf_of
from factories import PASSPHRASE, Clock

from certreg.issuer.cli import main
from certreg.issuer.console import accounts
from certreg.issuer.http.app import create_app
from certreg.issuer.service import CertificationBody


def _enrol_post(env: Env, token: str, password: str, code: str | None = None) -> tuple:
    person = env.person("officer", "Olga Officer")
    page = person.client.get(f"/console/enrol/{token}")
    secret = SECRET.search(page.text).group(1)
    person.secret = secret
    answer = person.client.post(
        f"/console/enrol/{token}",
        data={"password": password, "password_again": password, "totp_secret": secret,
              "code": person.code() if code is None else code, "csrf_token": csrf_of(page.text)},
        headers={"Origin": ORIGIN},
    )  # fmt: skip
    return person, answer


def test_an_admin_invites_and_never_sees_the_password_or_the_secret(env: Env) -> None:
    ada = env.signed_in("admin", "Ada Admin")
    invited = ada.post(
        "/console/staff/invite",
        {"name": "Ivo Invitee", "email": "ivo@cb.example", "roles": ["officer"]},
    )
    assert invited.status_code == 200
    link = re.search(r'id="enrolment-link">([^<]+)<', invited.text).group(1)
    assert link.startswith(f"{ORIGIN}/console/enrol/")
    ivo_id = env.body.db.execute("SELECT id FROM staff WHERE name = 'Ivo Invitee'").fetchone()[0]
    ivo = env.person("officer", "ivo@cb.example")
    ivo.staff_id = ivo_id
    assert ivo.enrol(link.rsplit("/", 1)[1]).status_code == 200
    assert len(ivo.recovery) == 10
    assert ivo.sign_in().status_code == 303
    assert "Signed in as Ivo Invitee" in ivo.client.get("/console/").text
    # Nothing the admin was shown, nor the audit log, holds Ivo's password or secret.
    seen_by_admin = invited.text + ada.client.get("/console/staff").text
    log = "\n".join(r["payload"] for r in env.body.db.query("SELECT payload FROM events"))
    for secret in (PASSWORD, ivo.secret, *ivo.recovery):
        assert secret not in seen_by_admin and secret not in log
    kinds = [e["kind"] for e in env.body.db.query("SELECT kind FROM events ORDER BY seq")]
    assert kinds.index("console_invited") < kinds.index("console_enrolled")
    (event,) = [e for e in env.events("console_invited") if e["subject"] == ivo_id]
    assert event["actor"] == env.staff["admin"]


def test_an_enrolment_link_works_once(env: Env) -> None:
    link = accounts.create_enrolment(env.body, env.staff["officer"], actor=None)
    olga, answer = _enrol_post(env, link.token, PASSWORD)
    assert answer.status_code == 200 and "You are enrolled" in answer.text
    again = env.browser().get(f"/console/enrol/{link.token}")
    assert again.status_code == 409 and "already used" in again.text
    assert olga.sign_in().status_code == 303  # opening the used link changed nothing
    # Sending its form again (the rightful owner finding it used) resets that account.
    reset = env.browser()
    page = reset.get(f"/console/enrol/{link.token}")
    answer = reset.post(
        f"/console/enrol/{link.token}",
        data={"csrf_token": csrf_of(page.text)},
        headers={"Origin": ORIGIN},
    )
    assert answer.status_code == 409 and "is now reset" in answer.text
    assert olga.client.get("/console/", follow_redirects=False).status_code == 303
    assert olga.sign_in().status_code == 403
    assert len(env.events("console_enrolment_reused")) == 1


def test_an_enrolment_link_expires(env: Env) -> None:
    link = accounts.create_enrolment(env.body, env.staff["officer"], actor=None)
    env.clock.advance(hours=72)
    answer = env.browser().get(f"/console/enrol/{link.token}")
    assert answer.status_code == 409 and "expired" in answer.text
    _, posted = _enrol_post_expired(env, link.token)
    assert posted.status_code == 409
    assert env.events("console_enrolled") == []


def _enrol_post_expired(env: Env, token: str) -> tuple:
    client = env.browser()
    client.get("/console/login")  # a form token, as from any console page
    answer = client.post(
        f"/console/enrol/{token}",
        data={"password": PASSWORD, "password_again": PASSWORD, "totp_secret": "A" * 32,
              "code": "123456", "csrf_token": client.cookies["certreg_console_form"]},
        headers={"Origin": ORIGIN},
    )  # fmt: skip
    return client, answer


def test_a_newer_link_replaces_the_older(env: Env) -> None:
    old = accounts.create_enrolment(env.body, env.staff["officer"], actor=None)
    accounts.create_enrolment(env.body, env.staff["officer"], actor=None)
    answer = env.browser().get(f"/console/enrol/{old.token}")
    assert answer.status_code == 409 and "replaced by a newer one" in answer.text


def test_weak_passwords_and_wrong_codes_are_refused_with_the_reason(env: Env) -> None:
    link = accounts.create_enrolment(env.body, env.staff["officer"], actor=None)
    for password, reason in [
        ("short pass", "at least 12 characters"),
        ("password1234!", "list of common passwords"),
        ("qwertyqwerty", "list of common passwords"),
        ("olga officer rules", "your own name"),
    ]:
        _, answer = _enrol_post(env, link.token, password)
        assert answer.status_code == 422 and reason in answer.text, password
    _, answer = _enrol_post(env, link.token, PASSWORD, code="000000")
    assert answer.status_code == 422 and "the code does not match" in answer.text
    assert env.events("console_enrolled") == []
    _, answer = _enrol_post(env, link.token, PASSWORD)  # the link still works
    assert answer.status_code == 200


def test_a_reset_gives_a_new_link_and_ends_the_old_factors(env: Env) -> None:
    ada = env.signed_in("admin", "Ada Admin")
    olga = env.signed_in("officer", "Olga Officer")
    answer = ada.post(f"/console/staff/{env.staff['officer']}/reset")
    assert answer.status_code == 200
    token = re.search(r'id="enrolment-link">[^<]+/([^/<]+)<', answer.text).group(1)
    assert olga.client.get("/console/", follow_redirects=False).status_code == 303
    assert olga.sign_in().status_code == 403
    (event,) = env.events("console_sign_in_reset")
    assert event["actor"] == env.staff["admin"]
    assert olga.enrol(token).status_code == 200 and olga.sign_in().status_code == 303


def test_the_first_admin_enrols_with_the_link_certreg_staff_add_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CERTREG_PASSPHRASE", PASSPHRASE)
    runner = CliRunner()
    data = str(tmp_path / "data")
    init = ["init", "--data", data, "--name", "CB", "--public-url", "https://cb.example",
            "--kdf", "interactive"]  # fmt: skip
    assert runner.invoke(main, init).exit_code == 0
    added = runner.invoke(
        main,
        ["staff", "add", "Ana First", "--role", "admin", "--email", "ana@cb.example",
         "--console", "--data", data],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    link = re.search(r"https://cb.example/console/enrol/(\S+)", added.output)
    assert link and "one use" in added.output
    clock = Clock.real()
    body = CertificationBody.open(data, clock=clock)
    env = Env(body, clock, create_app(body), {})
    ana = Person(env, "", "ana@cb.example", env.browser())
    assert ana.enrol(link.group(1)).status_code == 200
    assert ana.sign_in().status_code == 303
    assert "Signed in as Ana First" in ana.client.get("/console/").text

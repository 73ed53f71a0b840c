"""Signing in to the console: password + TOTP, answers that tell an attacker nothing, lockout
and slow-down, sessions that end and lapse, and the cookie's attributes."""

from __future__ import annotations

from datetime import timedelta

from console_support import ORIGIN, PASSWORD, Env, csrf_of
from fastapi.testclient import TestClient

from certreg.issuer.console.accounts import LOCK_AFTER
from certreg.issuer.console.web import SIGN_IN_RATE
from certreg.issuer.http.app import create_app


def test_sign_in_with_password_and_totp_shows_who_you_are(env: Env) -> None:
    ada = env.enrolled("admin", "Ada Admin")
    answer = ada.sign_in()
    assert answer.status_code == 303 and answer.headers["location"] == "/console/"
    cookie = next(v for k, v in answer.headers.multi_items() if v.startswith("certreg_console="))
    assert "HttpOnly" in cookie and "Path=/console" in cookie and "SameSite=strict" in cookie
    home = ada.client.get("/console/")
    assert home.status_code == 200
    assert "Signed in as Ada Admin" in home.text and 'id="roles">admin<' in home.text
    assert "Sign out everywhere" in home.text and 'href="/console/staff"' in home.text
    assert home.headers["cache-control"] == "no-store"
    (event,) = env.events("console_signed_in")
    assert event["actor"] == env.staff["admin"] and '"factor":"totp"' in event["payload"]


def test_the_database_keeps_no_password_and_no_session_id(env: Env) -> None:
    ada = env.signed_in("admin", "Ada Admin")
    dump = "\n".join(env.body.db.conn.iterdump())
    assert PASSWORD not in dump
    assert ada.client.cookies["certreg_console"] not in dump
    stored = env.body.db.execute("SELECT password_hash FROM console_accounts").fetchone()[0]
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_signed_out_visitors_are_sent_to_the_sign_in_page(env: Env) -> None:
    answer = env.browser().get("/console/tokens", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?next=/console/tokens"


def test_wrong_password_unknown_name_and_wrong_code_are_answered_alike(env: Env) -> None:
    ada = env.enrolled("admin", "Ada Admin")
    answers = [
        ada.sign_in(password="not the password at all"),
        ada.sign_in(login="Nobody Here"),
        ada.sign_in(code="000000"),
    ]
    assert {a.status_code for a in answers} == {403}
    errors = {a.text.split('id="login-error">')[1].split("<")[0] for a in answers}
    assert errors == {"the name, password or code is wrong"}
    assert "certreg_console=" not in str([a.headers for a in answers])
    failed = env.events("console_sign_in_failed")
    assert len(failed) == 3
    assert all("not the password" not in e["payload"] for e in failed)
    assert all("Nobody Here" not in e["payload"] for e in failed)  # a typo'd secret stays out


def test_a_code_is_accepted_once(env: Env) -> None:
    ada = env.enrolled("admin", "Ada Admin")
    code = ada.next_code()
    assert ada.sign_in(code=code).status_code == 303
    other = env.person("admin", "Ada Admin")
    other.secret = ada.secret
    assert other.sign_in(code=code).status_code == 403  # replayed within its window
    # The code used at enrolment is spent too.
    later = env.enrolled("officer", "Olga Officer")
    assert later.sign_in(code=later.code()).status_code == 403


def test_a_recovery_code_signs_in_once(env: Env) -> None:
    ada = env.enrolled("admin", "Ada Admin")
    assert len(ada.recovery) == 10 and len(set(ada.recovery)) == 10
    first = ada.recovery[0]
    assert ada.sign_in(code=first.upper()).status_code == 303
    again = env.person("admin", "Ada Admin")
    assert again.sign_in(code=first).status_code == 403
    (event,) = env.events("console_signed_in")
    assert '"factor":"recovery"' in event["payload"]
    assert '"recovery_codes_left":9' in event["payload"]


def test_lockout_after_failures_answers_alike_for_unknown_names(env: Env) -> None:
    ada = env.enrolled("admin", "Ada Admin")
    for _ in range(LOCK_AFTER):
        assert ada.sign_in(password="wrong wrong wrong").status_code == 403
    locked = ada.sign_in()  # the right password and code, while locked
    assert locked.status_code == 403 and "locked for 15 more minute(s)" in locked.text
    nobody = env.person("admin", "nobody@cb.example")
    # From another address (its own app: its own per-address budget); the lock is issuer.db's.
    nobody.client = TestClient(create_app(env.body), base_url=ORIGIN)
    for _ in range(LOCK_AFTER):
        nobody.sign_in(password="wrong wrong wrong")
    assert "locked for 15 more minute(s)" in nobody.sign_in().text
    assert len(env.events("console_locked_out")) == 2
    env.clock.advance(minutes=15)
    assert ada.sign_in().status_code == 303


def test_failed_sign_ins_from_one_address_are_slowed_down(env: Env) -> None:
    people = [env.person("admin", f"guess{i}@cb.example") for i in range(SIGN_IN_RATE.burst + 1)]
    answers = [p.sign_in(password="wrong wrong wrong") for p in people]
    assert [a.status_code for a in answers[:-1]] == [403] * SIGN_IN_RATE.burst
    assert answers[-1].status_code == 429 and int(answers[-1].headers["retry-after"]) >= 1
    assert "too many failed sign-ins from your address" in answers[-1].text


def test_sign_out_ends_the_session_and_its_cookie_is_refused_after(env: Env) -> None:
    ada = env.signed_in("admin", "Ada Admin")
    cookie = ada.client.cookies["certreg_console"]
    assert ada.post("/console/logout").status_code == 303
    replay = env.browser()
    replay.cookies.set("certreg_console", cookie, path="/console")
    answer = replay.get("/console/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login")
    assert len(env.events("console_signed_out")) == 1


def test_sign_out_everywhere_ends_every_session_of_that_person_only(env: Env) -> None:
    laptop = env.signed_in("admin", "Ada Admin")
    phone = env.person("admin", "Ada Admin")
    phone.secret = laptop.secret
    assert phone.sign_in().status_code == 303
    olga = env.signed_in("officer", "Olga Officer")
    assert laptop.client.cookies["certreg_console"] != phone.client.cookies["certreg_console"]
    assert laptop.post("/console/logout-everywhere").status_code == 303
    for person in (laptop, phone):
        assert person.client.get("/console/", follow_redirects=False).status_code == 303
    assert olga.client.get("/console/").status_code == 200
    (event,) = env.events("console_signed_out")
    assert '"everywhere":true' in event["payload"] and '"sessions":2' in event["payload"]


def test_a_sign_in_makes_a_new_session_id(env: Env) -> None:
    ada = env.enrolled("admin", "Ada Admin")
    ada.client.cookies.set(
        "certreg_console", "chosen-by-an-attacker", domain="127.0.0.1", path="/console"
    )
    ada.sign_in()
    assert ada.client.cookies["certreg_console"] != "chosen-by-an-attacker"
    assert ada.client.get("/console/").status_code == 200


def test_sessions_lapse_when_idle_and_after_their_absolute_lifetime(env: Env) -> None:
    ada = env.signed_in("admin", "Ada Admin")
    env.clock.advance(minutes=29)
    assert ada.client.get("/console/").status_code == 200
    env.clock.advance(minutes=29)  # active: the idle clock restarted
    assert ada.client.get("/console/").status_code == 200
    env.clock.advance(minutes=30)
    assert ada.client.get("/console/", follow_redirects=False).status_code == 303

    ada.sign_in()
    signed_in_at = env.clock.now
    while ada.client.get("/console/", follow_redirects=False).status_code == 200:
        env.clock.advance(minutes=15)  # busy all day, never idle for long
    lasted = env.clock.now - signed_in_at
    assert timedelta(hours=12) <= lasted < timedelta(hours=12, minutes=15)


def test_the_timeouts_are_the_bodys_settings(env: Env) -> None:
    env.body.db.execute(
        "INSERT INTO settings VALUES ('console_idle_minutes', '5', '2026-03-02T09:00:00Z')"
    )
    ada = env.signed_in("admin", "Ada Admin")
    env.clock.advance(minutes=5)
    assert ada.client.get("/console/", follow_redirects=False).status_code == 303


def test_plain_http_from_another_host_signs_nobody_in(env: Env) -> None:
    ada = env.enrolled("admin", "Ada Admin")
    remote = TestClient(env.app, base_url="http://cb.example")
    page = remote.get("/console/login")
    assert "signs in over https only" in page.text
    answer = remote.post(
        "/console/login",
        data={"login": "Ada Admin", "password": PASSWORD, "code": ada.next_code(),
              "csrf_token": csrf_of(page.text)},
        headers={"Origin": "http://cb.example"},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 403 and "https only" in answer.text
    secure = TestClient(env.app, base_url="https://cb.example")
    page = secure.get("/console/login")
    answer = secure.post(
        "/console/login",
        data={"login": "Ada Admin", "password": PASSWORD, "code": ada.next_code(),
              "csrf_token": csrf_of(page.text)},
        headers={"Origin": "https://cb.example"},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303
    cookie = next(v for k, v in answer.headers.multi_items() if v.startswith("certreg_console="))
    assert "Secure" in cookie


def test_unsafe_allow_http_hosts_lets_a_test_host_sign_in_over_http(env: Env) -> None:
    ada = env.enrolled("admin", "Ada Admin")
    app = create_app(env.body, unsafe_allow_http_hosts=["testserver"])
    client = TestClient(app)
    page = client.get("/console/login")
    answer = client.post(
        "/console/login",
        data={"login": "Ada Admin", "password": PASSWORD, "code": ada.next_code(),
              "csrf_token": csrf_of(page.text)},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303
    assert client.get("/console/").status_code == 200
    assert ORIGIN != "http://testserver"


def test_a_real_body_s_sign_in_page_says_nothing_of_demo_accounts(env: Env) -> None:
    """The demo notice is for a body `certreg demo` built (tests/product/test_demo.py): on
    any other body's sign-in page it would tell staff their accounts are not to be trusted."""
    page = env.browser().get("/console/login")
    assert page.status_code == 200 and "Sign in" in page.text
    assert "demo" not in page.text.lower()

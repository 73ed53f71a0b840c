"""What the console tests (tests/issuer/console/) share: a body with staff, served in
process (FastAPI's TestClient at http://127.0.0.1, where the console allows a cookie without
Secure), and a browser-like
:class:`Person` per staff member: their own cookies, the forms' CSRF tokens read from the pages
as a browser would, and an authenticator (pyotp) fed from the body's clock."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyotp
from factories import Clock, add_staff, make_body
from fastapi.testclient import TestClient

from certreg.issuer.console import accounts
from certreg.issuer.http.app import create_app
from certreg.issuer.service import CertificationBody

ORIGIN = "http://127.0.0.1"
PASSWORD = "staple battery horse correct"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SECRET = re.compile(r'name="totp_secret" value="([A-Z2-7]+)"')
CODES = re.compile(r"<li><code>([a-z0-9-]+)</code></li>")


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


@dataclass
class Person:
    """One staff member's browser."""

    env: Env
    staff_id: str
    login: str
    client: TestClient
    secret: str = ""
    recovery: list[str] = field(default_factory=list)

    def code(self) -> str:
        if not self.secret:  # not enrolled (an unknown name): any code
            return "123456"
        return pyotp.TOTP(self.secret).at(self.env.clock.now)

    def next_code(self) -> str:
        """A code of a later time step (a code is accepted once per step)."""
        self.env.clock.advance(seconds=30)
        return self.code()

    def enrol(self, token: str, password: str = PASSWORD) -> httpx.Response:
        page = self.client.get(f"/console/enrol/{token}")
        assert page.status_code == 200, page.text
        self.secret = SECRET.search(page.text).group(1)
        answer = self.client.post(
            f"/console/enrol/{token}",
            data={
                "password": password,
                "password_again": password,
                "totp_secret": self.secret,
                "code": self.code(),
                "csrf_token": csrf_of(page.text),
            },
            headers={"Origin": ORIGIN},
        )
        self.recovery = CODES.findall(answer.text)
        return answer

    def sign_in(self, password: str = PASSWORD, code: str | None = None, login: str | None = None):
        page = self.client.get("/console/login")
        return self.client.post(
            "/console/login",
            data={
                "login": self.login if login is None else login,
                "password": password,
                "code": self.next_code() if code is None else code,
                "csrf_token": csrf_of(page.text),
            },
            headers={"Origin": ORIGIN},
            follow_redirects=False,
        )

    def csrf(self) -> str:
        return csrf_of(self.client.get("/console/").text)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        """A console form as the browser sends it: the session's CSRF token, our Origin."""
        data = {"csrf_token": self.csrf(), **(data or {})}
        headers = {"Origin": ORIGIN, **kwargs.pop("headers", {})}
        return self.client.post(path, data=data, headers=headers, follow_redirects=False, **kwargs)


@dataclass
class Env:
    body: CertificationBody
    clock: Clock
    app: Any
    staff: dict[str, str]

    def browser(self) -> TestClient:
        return TestClient(self.app, base_url=ORIGIN, raise_server_exceptions=False)

    def person(self, who: str, login: str) -> Person:
        return Person(self, self.staff[who], login, self.browser())

    def enrolled(self, who: str, login: str) -> Person:
        """``who`` enrolled through a link the operator made, not yet signed in."""
        person = self.person(who, login)
        link = accounts.create_enrolment(self.body, self.staff[who], actor=None)
        assert person.enrol(link.token).status_code == 200
        return person

    def signed_in(self, who: str, login: str) -> Person:
        person = self.enrolled(who, login)
        answer = person.sign_in()
        assert answer.status_code == 303, answer.text
        return person

    def events(self, kind: str) -> list[dict[str, Any]]:
        return list(self.body.db.query("SELECT * FROM events WHERE kind = ? ORDER BY seq", [kind]))


def make_env(tmp_path: Path) -> Env:
    clock = Clock()
    body = make_body(tmp_path / "cb", clock=clock)
    staff = add_staff(body, admin=["admin"], officer=["officer"], decider=["decision_maker"])
    return Env(body, clock, create_app(body), staff)

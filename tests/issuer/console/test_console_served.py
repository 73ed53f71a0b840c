"""The console under `certreg serve` (uvicorn on 127.0.0.1, a real HTTP client): the cookie
works without Secure on the loopback address, and a full enrol / sign in / sign out round."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pyotp
from console_support import CODES, PASSWORD, SECRET, csrf_of
from factories import add_staff, free_port, make_body
from http_support import serve_subprocess, stop_subprocess, wait_serving

from certreg.issuer.console import accounts


def test_enrol_sign_in_and_out_against_certreg_serve(tmp_path: Path) -> None:
    body = make_body(tmp_path / "cb")
    ada = add_staff(body, admin=["admin"])["admin"]
    link = accounts.create_enrolment(body, ada, actor=None)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve_subprocess(tmp_path / "cb", port)
    try:
        wait_serving(base, server)
        origin = {"Origin": base}
        with httpx.Client(base_url=base, follow_redirects=True) as browser:
            page = browser.get(f"/console/enrol/{link.token}")
            secret = SECRET.search(page.text).group(1)
            totp = pyotp.TOTP(secret)
            enrolled = browser.post(
                f"/console/enrol/{link.token}",
                data={"password": PASSWORD, "password_again": PASSWORD, "totp_secret": secret,
                      "code": totp.now(), "csrf_token": csrf_of(page.text)},
                headers=origin,
            )  # fmt: skip
            assert enrolled.status_code == 200 and len(CODES.findall(enrolled.text)) == 10
            page = browser.get("/console/login")
            signed_in = browser.post(
                "/console/login",
                data={"login": "Ada Admin", "password": PASSWORD,
                      "code": CODES.findall(enrolled.text)[0], "csrf_token": csrf_of(page.text)},
                headers=origin,
            )  # fmt: skip
            assert signed_in.status_code == 200 and "Signed in as Ada Admin" in signed_in.text
            cookie = signed_in.history[0].headers["set-cookie"]
            assert re.search(r"certreg_console=[\w-]{43};", cookie)
            assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
            out = browser.post(
                "/console/logout", data={"csrf_token": csrf_of(signed_in.text)}, headers=origin
            )
            assert out.status_code == 200 and "Sign in" in out.text
            assert browser.get("/console/", follow_redirects=False).status_code == 303
    finally:
        stop_subprocess(server)

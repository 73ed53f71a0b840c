"""The request guard's table, path by path, through both apps: ``certreg serve``
(issuer/http/app.py) and the keyless public site ``certreg register serve`` (register/web/app.py).

Each guarded path gets an oversized body, a body of the wrong content type and a malformed
body; the answer must have the expected status and be worded in that path's format: a JSON
problem (``{"detail": …}``), an OAuth error object (``{"error": …, "error_description": …}``,
no-store), or the verify page's HTML. The public verification limits are lifted here (the
outer gate, tests/issuer/test_bounded_work.py, would otherwise refuse large verification bodies
first), so that each answer is the guard's or its handler's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from http_support import Env, make_env

from certreg.issuer import sharing
from certreg.issuer.cli.publish import publish_command
from certreg.issuer.console.bulk import MAX_UPLOAD_BYTES
from certreg.issuer.http import MAX_BODY_BYTES
from certreg.issuer.http.ratelimit import PublicGuards, PublicLimits, Rate
from certreg.register.web.app import create_public_app
from certreg.register.web.certificates import MAX_FORM_BYTES
from certreg.register.web.errors import RequestGuard

UNLIMITED = Rate(per_minute=10**9, burst=10**9)
#: The outer gate's limits lifted: the guard's own limits are under test.
LIMITS = PublicLimits(
    verify_max_bytes=4 * MAX_FORM_BYTES, verify_rate=UNLIMITED, attempt_rate=UNLIMITED
)

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


@dataclass
class Apps:
    serve: TestClient
    keyless: TestClient
    env: Env

    def access_token(self) -> str:
        """A fresh OpenID4VCI access token (to reach the credential request's own checks)."""
        _, token = sharing.create_share(self.env.body, self.env.number)  # type: ignore[attr-defined]
        code = sharing.current_offer(self.env.body, token).pre_authorized_code
        r = self.serve.post(
            "/oid4vci/token", data={"grant_type": GRANT, "pre-authorized_code": code}
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Apps:
    tmp = tmp_path_factory.mktemp("guard")
    env = make_env(tmp)
    env.number = env.grant()["number"]  # type: ignore[attr-defined]
    env.client.app.state.certreg_limits = PublicGuards(LIMITS)  # type: ignore[attr-defined]
    bundle = tmp / "bundle"
    result = CliRunner().invoke(publish_command, [str(bundle), "--data", str(tmp / "cb")])
    assert result.exit_code == 0, result.output
    keyless = TestClient(create_public_app(bundle, public_limits=LIMITS))
    return Apps(env.client, keyless, env)


# --- how an answer is worded ------------------------------------------------------------------


def problem(r: httpx.Response) -> None:
    assert r.headers["content-type"] == JSON, r.text
    data = r.json()
    assert isinstance(data["detail"], str | list) and data["detail"] and "error" not in data


def oauth(r: httpx.Response) -> None:
    assert r.headers["content-type"] == JSON, r.text
    data = r.json()
    assert data["error"] and data["error_description"], data
    assert r.headers["cache-control"] == "no-store"


def html(r: httpx.Response) -> None:
    assert r.headers["content-type"].startswith("text/html"), r.text[:200]
    assert "<html" in r.text and "Traceback" not in r.text


# --- the table --------------------------------------------------------------------------------

BIG_JSON = b'{"a": "' + b"x" * MAX_BODY_BYTES + b'"}'
BIG_FORM = b"credential=" + b"x" * MAX_FORM_BYTES
HTML = {"Accept": "text/html"}


@dataclass(frozen=True)
class Case:
    app: str  # "serve", "keyless"
    path: str
    what: str  # "oversized", "wrong type", "malformed"
    content: bytes
    content_type: str
    status: int
    worded: Callable[[httpx.Response], None]
    headers: dict[str, str] | None = None
    bearer: bool = False  # a valid OpenID4VCI access token


def _cases() -> list[Case]:
    cases: list[Case] = []
    for app in ("serve", "keyless"):
        # The verify page's HTML form: bounded by MAX_FORM_BYTES, refused in HTML; a body that
        # is no form goes on to the JSON rule, and is refused as a JSON problem.
        cases += [
            Case(app, "/verify", "oversized", BIG_FORM, FORM, 413, html, HTML),
            Case(app, "/verify", "wrong type", b"x", "text/plain", 415, problem, HTML),
            Case(app, "/verify", "malformed", b"--x\r\n", "multipart/form-data", 400, html, HTML),
            Case(app, "/verify", "oversized", BIG_JSON, JSON, 413, problem),
            Case(app, "/verify", "malformed", b'{"a": NaN}', JSON, 400, problem),
        ]
        # Every other path: JSON of at most MAX_BODY_BYTES, refused as a JSON problem, before
        # routing (a path with no route is guarded too, mounted Datasette included).
        for path in ("/register/", "/nowhere"):
            cases += [
                Case(app, path, "oversized", BIG_JSON, JSON, 413, problem),
                Case(app, path, "wrong type", b"{}", "text/plain", 415, problem),
                Case(app, path, "malformed", b'{"a": 1, "a": 2}', JSON, 400, problem),
            ]
    # certreg serve only: the JSON API, and OpenID4VCI's token and credential requests (a form
    # and JSON, size-bounded by the guard, refused in OAuth's words by the guard or handler).
    for path in ("/credentials/verify", "/api/schemes"):
        cases += [
            Case("serve", path, "oversized", BIG_JSON, JSON, 413, problem),
            Case("serve", path, "wrong type", b"{}", "text/plain", 415, problem),
            Case("serve", path, "malformed", b"[" * 100 + b"]" * 100, JSON, 400, problem),
        ]
    # The staff console's forms (issuer.console): small forms, refused in HTML; a body that is
    # no form goes on to the JSON rule.
    big_console_form = b"name=" + b"x" * (64 * 1024)
    cases += [
        Case("serve", "/console/*", "oversized", big_console_form, FORM, 413, html, HTML),
        Case("serve", "/console/*", "wrong type", b"x", "text/plain", 415, problem, HTML),
    ]
    # The console's bulk-issuance upload (issuer.console.bulk): a CSV file of up to 20 MB.
    boundary = "b0undary"
    big_upload = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\n"
    ).encode() + b"x" * (MAX_UPLOAD_BYTES + 64 * 1024)
    multipart = f"multipart/form-data; boundary={boundary}"
    cases += [
        Case("serve", "/console/bulk", "oversized", big_upload, multipart, 413, html, HTML),
        Case("serve", "/console/bulk", "wrong type", b"x", "text/plain", 415, problem, HTML),
    ]
    # A holder's unsubscribe button and mail clients' one-click POST (RFC 8058): any small
    # body (the handler never reads it), refused as a page a person reads.
    cases += [
        Case("serve", "/mail/unsubscribe/*", "oversized", b"x" * 5000, FORM, 413, html, HTML),
    ]
    token, credential = "/oid4vci/token", "/oid4vci/credential"
    cases += [
        Case("serve", token, "oversized", b"grant_type=" + BIG_JSON, FORM, 413, oauth),
        Case("serve", token, "wrong type", b'{"grant_type": "x"}', JSON, 400, oauth),
        Case("serve", token, "malformed", b"grant_type=a&&=b", FORM, 400, oauth),
        Case("serve", credential, "oversized", BIG_JSON, JSON, 413, oauth, bearer=True),
        Case("serve", credential, "wrong type", b"{}", "text/plain", 400, oauth, bearer=True),
        Case("serve", credential, "malformed", b'{"a": NaN}', JSON, 400, oauth, bearer=True),
    ]
    return cases


CASES = _cases()


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c.app} {c.path} {c.what} {c.content_type}" for c in CASES]
)
def test_each_guarded_path_refuses_in_its_own_words(apps: Apps, case: Case) -> None:
    client = apps.serve if case.app == "serve" else apps.keyless
    headers: dict[str, Any] = {"Content-Type": case.content_type, **(case.headers or {})}
    if case.bearer:
        headers["Authorization"] = f"Bearer {apps.access_token()}"
    r = client.post(case.path, content=case.content, headers=headers)
    assert r.status_code == case.status, (case, r.text[:300])
    case.worded(r)


def test_the_table_covers_every_rule_of_both_apps(apps: Apps) -> None:
    # A rule added to an app's table without a case here fails this test.
    for name, client in (("serve", apps.serve), ("keyless", apps.keyless)):
        guard = _guard_of(client.app)
        tested = {c.path for c in CASES if c.app == name}
        for rule in guard.rules:
            assert rule.path == "*" or rule.path in tested, (name, rule.path)


def _guard_of(app: Any) -> RequestGuard:
    if app.middleware_stack is None:  # built on the first request
        app.middleware_stack = app.build_middleware_stack()
    layer = app.middleware_stack
    while layer is not None and not isinstance(layer, RequestGuard):
        layer = getattr(layer, "app", None)
    assert layer is not None, "no RequestGuard in the app"
    return layer

"""The README's first command runs `certreg demo`: it must show every verdict in order, and the
`certreg verify` commands it prints must answer as printed while the demo is served.

The demo serves plain HTTP on 127.0.0.1, so its certificates' status lists are plain-HTTP
loopback URLs: `certreg verify` fetches those without any option (the loopback rule, below),
while the public verify service keeps refusing loopback altogether."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from factories import free_port
from http_support import make_env

from certreg.issuer.cli import main
from certreg.keys.did import did_key_verification_method
from certreg.keys.keypair import KeyPair
from certreg.verifier.dataintegrity import add_proof
from certreg.verifier.did import DidResolver, FetchError, HttpFetcher

ROOT = Path(__file__).parents[2]
V2 = "https://www.w3.org/ns/credentials/v2"


def test_demo_walks_a_certificate_through_every_status(tmp_path):
    result = CliRunner().invoke(main, ["demo", "--walkthrough", "--data", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    verdicts = re.findall(r"^\s+[a-z ]+:\s+([A-Z_]+)\s", result.output, flags=re.M)
    assert verdicts == ["VALID", "SUSPENDED", "VALID", "INVALID", "WITHDRAWN"]
    assert "Jane Doe holds certification CWI" in result.output
    saved = json.loads((tmp_path / "demo" / "credential.json").read_text())
    assert saved["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert saved["credentialSubject"]["licenseNumber"] == "CWI-7K3M-9QX2-4"


def test_demo_builds_a_body_and_prints_the_tour(tmp_path):
    result = CliRunner().invoke(
        main, ["demo", "--no-serve", "--holders", "40", "--data", str(tmp_path / "demo")]
    )
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8000/register" in result.output
    assert re.search(
        r"a suspended certificate\s+http://127\.0\.0\.1:8000/c/[A-Z]{3}-", result.output
    )
    assert (tmp_path / "demo" / "issuer.db").exists()
    for state in ("valid", "suspended", "withdrawn"):
        path = tmp_path / "demo" / "certificates" / f"{state}.json"
        assert f"certreg verify {path}" in result.output
        assert json.loads(path.read_text())["proof"]


# -- the printed commands, followed while the demo is served -----------------------------------


@pytest.fixture(scope="module")
def served_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`certreg demo` exactly as a newcomer runs it (another port, 10 holders): its output up to
    the point where it serves, while it serves."""
    data = tmp_path_factory.mktemp("demo") / "demo"
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("CERTREG_DATA", None)
    demo = subprocess.Popen(
        [sys.executable, "-c", "from certreg.issuer.cli import main; main()", "demo",
         "--holders", "10", "--port", str(port), "--data", str(data)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        lines: list[str] = []
        assert demo.stdout is not None
        for line in demo.stdout:  # ends when the demo stops; it is killed below otherwise
            lines.append(line)
            if line.startswith("Serving"):
                break
        output = "".join(lines)
        assert demo.poll() is None, output
        deadline = time.monotonic() + 60
        while True:  # serving: the port answers (uvicorn starts after the line is printed)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert demo.poll() is None, output
                assert time.monotonic() < deadline, "the demo did not start serving"
                time.sleep(0.2)
        yield output
    finally:
        demo.terminate()
        demo.wait(timeout=30)


def test_the_printed_verify_commands_answer_as_printed(served_demo: str) -> None:
    printed = re.findall(r"^\s+(certreg verify .+?)\s+#\s+([A-Z_]+)$", served_demo, flags=re.M)
    assert [verdict for _, verdict in printed] == ["VALID", "SUSPENDED", "WITHDRAWN"]
    for command, verdict in printed:
        args = shlex.split(command)[1:]
        result = CliRunner().invoke(main, [*args, "--json"])
        answer = json.loads(result.output)
        assert answer["verdict"] == verdict, (command, answer["summary"])
        assert result.exit_code == (0 if verdict == "VALID" else 1)
        # The status was read from the served lists, not skipped or guessed.
        status = [c for c in answer["checks"] if c["name"].startswith("status")]
        assert status and not any(c.get("skipped") for c in status), answer["checks"]


# -- the loopback rule, attacked ---------------------------------------------------------------
# (`listener`: a TCP listener on 127.0.0.1 that records what reaches it, tests/conftest.py)


def signed_with_status(status_url: str) -> dict:
    """A credential whose author (an attacker, say) chose its status list URL."""
    pair = KeyPair.generate()
    pair = pair.with_verification_method(did_key_verification_method(pair.public_multibase))
    return add_proof(
        {
            "@context": [V2],
            "type": ["VerifiableCredential"],
            "issuer": pair.verification_method.split("#")[0],
            "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:example:someone", "name": "Someone"},
            "credentialStatus": {
                "id": f"{status_url}#7",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": "7",
                "statusListCredential": status_url,
            },
        },
        pair,
    )


def test_plain_http_is_fetched_from_loopback_only_with_the_rule(listener) -> None:
    port, seen = listener
    url = f"http://127.0.0.1:{port}/status/1"
    with pytest.raises(FetchError, match="plain HTTP"):
        HttpFetcher(timeout=2)(url)  # the library's default: HTTPS only
    assert seen == []
    with pytest.raises(FetchError, match="HTTP 404"):
        HttpFetcher(timeout=2, allow_loopback_http=True)(url)
    assert len(seen) == 1 and seen[0].startswith(b"GET /status/1 HTTP/1.1")
    assert b"cookie" not in seen[0].lower() and b"authorization" not in seen[0].lower()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every name lookup and connection attempt, recorded and refused: were a protection to
    fail, the test fails without a packet leaving the machine."""
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args[0])
        raise OSError("no network in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


@pytest.mark.parametrize(
    "url",
    [
        "http://192.0.2.10/status/1",  # another machine
        "http://10.0.0.1/status/1",
        "http://cb.example/status/1",
        "http://127.0.0.1.cb.example/status/1",  # a name that only looks like loopback
        "http://0177.0.0.1/status/1",  # octal spelling of 127.0.0.1
        "http://2130706433/status/1",  # 127.0.0.1 as one number
        "http://[::ffff:192.0.2.10]/status/1",
    ],
)
def test_the_loopback_rule_sends_nothing_off_the_machine(url: str, no_network) -> None:
    with pytest.raises(FetchError, match=r"plain HTTP|unusual form"):
        HttpFetcher(timeout=2, allow_loopback_http=True)(url)
    assert no_network == []


def test_localhost_that_resolves_elsewhere_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hosts file (or a resolver) that maps localhost to another machine would carry plain
    HTTP off it: the address is checked, and the connection is never made."""
    connected: list[object] = []

    def elsewhere(host: str, port: int, *args: object, **kwargs: object) -> list[tuple]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.10", port))]

    def record(address: object, *args: object, **kwargs: object) -> None:
        connected.append(address)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket, "getaddrinfo", elsewhere)
    monkeypatch.setattr(socket, "create_connection", record)
    with pytest.raises(FetchError, match="not to this machine"):
        HttpFetcher(timeout=2, allow_loopback_http=True)("http://localhost:8000/status/1")
    assert connected == []


def test_the_public_service_never_gets_the_loopback_rule(tmp_path, listener) -> None:
    with pytest.raises(ValueError, match="exclude each other"):
        HttpFetcher(public_addresses_only=True, allow_loopback_http=True)
    port, seen = listener
    env = make_env(tmp_path)
    credential = signed_with_status(f"http://127.0.0.1:{port}/status/1")
    r = env.client.post("/credentials/verify", json={"verifiableCredential": credential})
    assert r.status_code < 500 and r.json()["verdict"] == "STATUS_UNKNOWN"
    assert seen == []


def test_the_cli_reads_loopback_status_lists_but_not_did_web_over_http(tmp_path, listener):
    port, seen = listener
    path = tmp_path / "attacker.json"
    path.write_text(json.dumps(signed_with_status(f"http://127.0.0.1:{port}/status/1")))
    result = CliRunner().invoke(main, ["verify", str(path), "--json"])
    # The list is requested (a blind GET; the answer, a 404, decides nothing)...
    assert json.loads(result.output)["verdict"] == "STATUS_UNKNOWN", result.output
    assert [r.split(b"\r\n")[0] for r in seen] == [b"GET /status/1 HTTP/1.1"]
    # A did:web key (which no signature vouches for) is still looked up over HTTPS only.
    assert DidResolver().url_for(f"did:web:127.0.0.1%3A{port}").startswith("https://")


def test_the_cli_refuses_plain_http_to_another_machine(tmp_path, no_network) -> None:
    path = tmp_path / "attacker.json"
    path.write_text(json.dumps(signed_with_status("http://192.0.2.10/status/1")))
    result = CliRunner().invoke(main, ["verify", str(path), "--json"])
    assert json.loads(result.output)["verdict"] == "STATUS_UNKNOWN"
    assert "plain HTTP" in result.output
    assert no_network == []


# -- the console, as the tour prints it ---------------------------------------------------------

#: One printed demo person: name, roles, then their password and TOTP secret lines.
PRINTED_ACCOUNT = re.compile(
    r"^  (\S.*?)\s{2,}(\S.*)\n    password: (.+)\n    TOTP secret: ([A-Z2-7]+)$", re.M
)


def test_the_demo_staff_sign_in_to_the_console_with_what_the_tour_prints(served_demo: str):
    """A reader follows the tour: the console's address, then each demo person's printed
    password and a code made from their printed secret, the way the tour says, over HTTP to
    the served demo."""
    found = re.search(r"the staff console .*?\s(http://127\.0\.0\.1:(\d+)/console/login)$",
                      served_demo, flags=re.M)  # fmt: skip
    assert found, served_demo
    login_url, port = found.group(1), found.group(2)
    assert "DEMO ONLY" in served_demo
    assert "python -c \"import pyotp; print(pyotp.TOTP('SECRET').now())\"" in served_demo
    printed = PRINTED_ACCOUNT.findall(served_demo)
    assert [(name, roles) for name, roles, _, _ in printed] == [
        ("Erik Examiner", "officer"),
        ("Dana Decider", "decision_maker"),
        ("Sam Second", "decision_maker, admin"),
    ]
    origin = f"http://127.0.0.1:{port}"
    for name, roles, password, secret in printed:
        code = subprocess.run(  # the printed command, with the person's secret
            [sys.executable, "-c", f"import pyotp; print(pyotp.TOTP('{secret}').now())"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        with httpx.Client(base_url=origin, timeout=30) as browser:
            page = browser.get(login_url)
            assert page.status_code == 200
            # The sign-in page says these are demo accounts, and never shows a password.
            assert 'id="demo-notice"' in page.text and "certreg demo" in page.text
            assert password not in page.text and secret not in page.text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            answer = browser.post(
                "/console/login",
                data={"login": name, "password": password, "code": code, "csrf_token": csrf},
                headers={"Origin": origin},
            )
            assert answer.status_code == 303, answer.text
            assert answer.headers["location"] == "/console/"
            home = browser.get("/console/")
            assert home.status_code == 200 and f"Signed in as {name}" in home.text
            shown = re.search(r'id="roles">([^<]*)<', home.text).group(1)
            assert set(shown.split(", ")) == set(roles.split(", "))

"""``certreg verify`` and ``certreg sign`` as a user runs them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from verify_support import Body, certificate, did_key_signer

from certreg.issuer.cli import main

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def issued(tmp_path: Path) -> Path:
    """A certificate signed by a did:key issuer (no status entries: fully offline)."""
    kp = did_key_signer()
    doc = Body().sign(certificate(kp.verification_method.split("#")[0], status=False), signer=kp)
    path = tmp_path / "cert.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_verify_valid_file(runner: CliRunner, issued: Path) -> None:
    out = runner.invoke(main, ["verify", str(issued)])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("Valid: Jane Doe holds certification CWI")
    assert "• Ultrasonic testing, level 2 — Limited to welds in steel, 6-40 mm" in out.output
    assert "✓ signature:" in out.output


def test_verify_tampered_file_exits_1(runner: CliRunner, issued: Path) -> None:
    doc = json.loads(issued.read_text())
    doc["credentialSubject"]["licenseNumber"] = "CB-FAKE"
    issued.write_text(json.dumps(doc))
    out = runner.invoke(main, ["verify", str(issued)])
    assert out.exit_code == 1
    assert out.output.startswith("Invalid: the signature does not match")
    assert "✗ signature:" in out.output
    assert "Holder:" not in out.output  # nothing unverified is shown as a fact


def test_verify_json(runner: CliRunner, issued: Path) -> None:
    out = runner.invoke(main, ["verify", "--json", str(issued)])
    assert out.exit_code == 0
    data = json.loads(out.output)
    assert data["verdict"] == "VALID"
    assert data["facts"]["certificate_number"] == "CB-7K3M-9QX2-4"


def test_verify_stdin(runner: CliRunner, issued: Path) -> None:
    out = runner.invoke(main, ["verify", "-"], input=issued.read_bytes())
    assert out.exit_code == 0


def test_verify_now_for_audits(runner: CliRunner, issued: Path) -> None:
    out = runner.invoke(main, ["verify", "--now", "2030-01-01T00:00:00Z", str(issued)])
    assert out.exit_code == 1
    assert out.output.startswith("Expired:")


def test_untrusted_issuer(runner: CliRunner, issued: Path) -> None:
    out = runner.invoke(main, ["verify", "--trusted-issuer", "did:web:cb.example", str(issued)])
    assert out.exit_code == 1
    assert out.output.startswith("Untrusted issuer:")


def test_no_status_is_said_prominently(runner: CliRunner, tmp_path: Path) -> None:
    kp = did_key_signer()
    doc = Body().sign(certificate(kp.verification_method.split("#")[0]), signer=kp)
    path = tmp_path / "with-status.json"
    path.write_text(json.dumps(doc))
    out = runner.invoke(main, ["verify", "--no-status", str(path)])
    assert out.exit_code == 0
    assert "NOT checked" in out.output.splitlines()[0]
    assert "! status: NOT CHECKED" in out.output


@pytest.mark.parametrize(
    "args",
    [
        ["verify"],
        ["verify", "/no/such/file.json"],
        ["verify", "--now", "yesterday", "x.json"],
        ["verify", "https://127.0.0.1:9/nothing.json"],
    ],
)
def test_usage_errors_exit_2(runner: CliRunner, args: list[str]) -> None:
    assert runner.invoke(main, args).exit_code == 2


def test_garbage_is_invalid_exit_1(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "junk.json"
    path.write_bytes(b"\x00\x01 not a credential")
    out = runner.invoke(main, ["verify", str(path)])
    assert out.exit_code == 1
    assert out.output.startswith("Invalid:")


@pytest.fixture
def served(issued: Path) -> Iterator[str]:
    handler = partial(SimpleHTTPRequestHandler, directory=str(issued.parent))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_verify_url(runner: CliRunner, served: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://{served}/cert.json"
    # Plain HTTP to this machine's loopback interface needs no option (the demo's case;
    # tests/product/test_demo.py attacks that rule)...
    out = runner.invoke(main, ["verify", url])
    assert out.exit_code == 0, out.output
    out = runner.invoke(main, ["verify", "--unsafe-allow-http-host", served, url])
    assert out.exit_code == 0, out.output
    # ...to any other host it is refused, before any connection is tried.
    monkeypatch.setattr("socket.create_connection", lambda *a, **k: pytest.fail("connected"))
    refused = runner.invoke(main, ["verify", "http://192.0.2.10/cert.json"])
    assert refused.exit_code == 2 and "only HTTPS" in refused.output


def test_sign_then_verify(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from certreg.keys.store import KeyStore

    store = KeyStore.create(tmp_path / "keys", "did:key", PASSPHRASE, kdf="interactive")
    issuer = store.current().controller
    unsigned = tmp_path / "unsigned.json"
    # Not a certificate: `certreg sign` refuses those (tests/issuer/test_signing_paths.py).
    unsigned.write_text(
        json.dumps(
            {
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiableCredential"],
                "issuer": issuer,
                "validFrom": "2026-01-01T00:00:00Z",
                "credentialSubject": {"id": "did:example:holder", "name": "Course attended"},
            }
        )
    )
    secret = tmp_path / "pass.txt"
    secret.write_text(PASSPHRASE + "\n")
    secret.chmod(0o600)  # a passphrase file others can read is refused
    signed = runner.invoke(
        main,
        [
            "sign",
            str(unsigned),
            "--store",
            str(tmp_path / "keys"),
            "--cryptosuite",
            "eddsa-jcs-2022",
            "--passphrase-file",
            str(secret),
        ],
    )
    assert signed.exit_code == 0, signed.output
    doc = json.loads(signed.stdout)
    assert doc["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    # On stderr, not in the JSON: which known verifiers cannot read eddsa-jcs-2022.
    for verifier in ("DCC verifier-core", "Blockcerts", "openbadgeslib"):
        assert verifier in signed.stderr
    path = tmp_path / "signed.json"
    path.write_text(signed.stdout)
    assert runner.invoke(main, ["verify", str(path)]).exit_code == 0

    monkeypatch.setenv("CERTREG_PASSPHRASE", "wrong passphrase!")
    wrong = runner.invoke(main, ["sign", str(unsigned), "--store", str(tmp_path / "keys")])
    assert wrong.exit_code == 1
    assert "Traceback" not in wrong.output

"""`certreg serve` for real: uvicorn on 127.0.0.1 (a free port), in a subprocess started
through the click command, stopped at the end. Plain HTTP, and HTTPS with a self-signed
certificate made by openssl (skipped when openssl is missing)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from factories import free_port as _free_port
from http_support import SERVE, make_env, plain_credential
from http_support import serve_subprocess as _serve
from http_support import stop_subprocess as _stop
from http_support import wait_serving as _wait


def _round_trip(base: str, env, *, issuing: bool, **client: object) -> None:
    with httpx.Client(base_url=base, timeout=10, **client) as http:
        did = http.get("/.well-known/did.json")
        assert did.status_code == 200 and did.json()["id"] == "did:web:cb.example"
        listed = http.get("/status/revocation-1")
        assert listed.status_code == 200 and listed.headers["cache-control"].startswith("public")
        again = http.get("/status/revocation-1", headers={"If-None-Match": listed.headers["etag"]})
        assert again.status_code == 304
        r = http.post(
            "/credentials/issue",
            json={
                "credential": plain_credential(),
                "options": {"credentialStatus": [{"type": "BitstringStatusListEntry"}]},
            },
            headers=env.auth("officer"),
        )
        if not issuing:  # the default: generic issuing is off, and the answer says how to
            assert r.status_code == 403 and "--enable-vc-api-issuer" in r.json()["detail"]
        else:  # on: signed as the VC API's own did:key, never as the body
            assert r.status_code == 201, r.text
            vc = r.json()["verifiableCredential"]
            assert vc["issuer"].startswith("did:key:") and vc["issuer"] != "did:web:cb.example"
            r = http.post("/credentials/verify", json={"verifiableCredential": vc})
            assert r.status_code == 200 and r.json()["verified"] is True, r.text
        assert http.post("/credentials/issue", json={"credential": {}}).status_code == 401
        assert http.get("/docs").status_code == 200


def test_serve_over_http(tmp_path):
    env = make_env(tmp_path, did_method="web")
    env.body.db.conn.close()  # the server process is the one user of issuer.db now
    port = _free_port()
    proc = _serve(tmp_path / "cb", port)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(base, proc)
        _round_trip(base, env, issuing=False)
    finally:
        _stop(proc)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_serve_over_https(tmp_path):
    env = make_env(tmp_path, did_method="web")
    env.body.db.conn.close()
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ed25519", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    port = _free_port()
    proc = _serve(
        tmp_path / "cb", port, "--tls-cert", str(cert), "--tls-key", str(key),
        "--enable-vc-api-issuer",
    )  # fmt: skip
    try:
        base = f"https://127.0.0.1:{port}"
        _wait(base, proc, verify=str(cert))
        _round_trip(base, env, issuing=True, verify=str(cert))
        with pytest.raises(httpx.HTTPError):  # it really is TLS: plain HTTP gets nowhere
            httpx.get(f"http://127.0.0.1:{port}/contexts", timeout=2)
    finally:
        _stop(proc)


def test_serve_refuses_a_wrong_passphrase(tmp_path):
    make_env(tmp_path, did_method="key").body.db.conn.close()
    env = {**os.environ, "CERTREG_PASSPHRASE": "wrong passphrase entirely"}
    proc = subprocess.run(
        [sys.executable, "-c", SERVE, "--data", str(tmp_path / "cb"), "--port", "1"],
        env=env, capture_output=True, timeout=60, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    assert proc.returncode == 1
    assert b"wrong passphrase" in proc.stderr and b"Traceback" not in proc.stderr

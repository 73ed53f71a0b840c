"""Shared fixtures of the HTTP tests (imported by tests/issuer/ and a few others; no tests
here).

A real certification body on disk (issuer.db, encrypted key store), served in process through
FastAPI's TestClient: nothing is mocked. Staff: an admin, an officer, two decision-makers
(Dana, Dirk) and an examiner; Jane passed her examination, examined by the examiner.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from factories import PASSPHRASE, Clock, add_staff, make_body
from fastapi.testclient import TestClient

from certreg.issuer.http import create_app
from certreg.issuer.service import CertificationBody
from certreg.issuer.tokens import create_token
from certreg.keys.did import did_key_verification_method
from certreg.keys.keypair import KeyPair
from certreg.verifier.dataintegrity import add_proof

V2 = "https://www.w3.org/ns/credentials/v2"


@dataclass
class Env:
    body: CertificationBody
    client: TestClient
    clock: Clock
    staff: dict[str, str]  # role name -> staff id
    tokens: dict[str, str]  # role name -> bearer secret
    jane: str

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def post(self, path: str, who: str | None, json: Any = None, **kw: Any) -> Any:
        headers = {**(self.auth(who) if who else {}), **kw.pop("headers", {})}
        return self.client.post(path, json=json, headers=headers, **kw)

    def get(self, path: str, who: str | None = None, **kw: Any) -> Any:
        headers = {**(self.auth(who) if who else {}), **kw.pop("headers", {})}
        return self.client.get(path, headers=headers, **kw)

    def renew_tokens(self) -> None:
        """Fresh tokens, after the test moved the clock past their expiry."""
        for role, sid in self.staff.items():
            self.tokens[role] = create_token(self.body, sid, name=f"{role} renewed")[1]

    def grant(self, who: str = "decider") -> dict[str, Any]:
        r = self.post(
            "/api/certifications",
            who,
            {
                "person_id": self.jane,
                "scheme_id": "cwi",
                "scope": [{"code": "UT2", "conditions": "steel, 6-40 mm"}, {"code": "VT2"}],
                "evidence": "examination passed",
            },
        )
        assert r.status_code == 201, r.text
        return r.json()


def make_env(tmp_path, did_method: str = "key", *, vc_api_issuer: bool = False) -> Env:
    """``vc_api_issuer``: generic issuing through the VC API turned on (it is off by default,
    as in ``certreg serve`` without ``--enable-vc-api-issuer``)."""
    clock = Clock.real()
    body = make_body(tmp_path / "cb", clock=clock, did_method=did_method)
    staff = add_staff(
        body,
        admin=["admin"],
        officer=["officer"],
        decider=["decision_maker"],
        decider2=["decision_maker"],
        examiner=["officer", "decision_maker"],
    )
    tokens = {role: create_token(body, sid, name=f"{role} test")[1] for role, sid in staff.items()}
    jane = body.add_person("Jane Doe", email="jane@example.org", birth_date="1990-04-01")
    body.record_assessment(
        jane,
        "cwi",
        result="pass",
        assessed_on=(clock.now.date() - timedelta(days=3)).isoformat(),
        examiners=[staff["examiner"]],
        scope_codes=["UT2", "VT2"],
    )
    app = create_app(body, passphrase=PASSPHRASE, enable_vc_api_issuer=vc_api_issuer)
    client = TestClient(app, raise_server_exceptions=False)
    return Env(body, client, clock, staff, tokens, jane)


def plain_credential(**extra: Any) -> dict[str, Any]:
    """A plain VC 2.0 credential, nothing certreg-specific. Only terms the VC 2.0 context
    defines: the signer refuses terms it would map through the context's @vocab (they would
    not mean the same to every reader), and the W3C examples context is not pinned."""
    return {
        "@context": [V2],
        "type": ["VerifiableCredential"],
        "name": "Example credential",
        "description": "A credential that is not a certificate.",
        "credentialSubject": {
            "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
            "name": "Bachelor of Science and Arts",
        },
        "validFrom": "2026-01-01T00:00:00Z",
        **extra,
    }


# --------------------------------------------------------------------------------------------
# `certreg serve` in a subprocess (tests/issuer/test_http_server.py, test_small_holes.py)

SERVE = "from certreg.issuer.cli.serve import serve_command; serve_command()"


def serve_subprocess(data: Path, port: int, *extra: str) -> subprocess.Popen:
    """`certreg serve` for the body in ``data`` on 127.0.0.1:``port``, started from the
    repository root; stop it with ``stop_subprocess``."""
    env = {**os.environ, "CERTREG_PASSPHRASE": PASSPHRASE}
    return subprocess.Popen(
        [sys.executable, "-c", SERVE, "--data", str(data), "--port", str(port),
         "--log-level", "warning", *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).parent.parent,
    )  # fmt: skip


def wait_serving(base: str, proc: subprocess.Popen, **client: object) -> None:
    """Return once ``base`` answers; fail with the server's stderr if it exited."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"certreg serve exited: {proc.stderr.read().decode()}")
        try:
            httpx.get(f"{base}/contexts", timeout=1, **client)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("certreg serve did not start within 30 s")


def stop_subprocess(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def signed_with_status(status_url: str) -> dict:
    """A credential signed by a fresh did:key whose revocation entry points at ``status_url``:
    what makes a verify endpoint fetch that URL (tests/issuer/test_ssrf.py, test_small_holes.py)."""
    pair = KeyPair.generate()
    pair = pair.with_verification_method(did_key_verification_method(pair.public_multibase))
    issuer = pair.verification_method.split("#")[0]
    credential = {
        "@context": [V2],
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:someone", "name": "Someone"},
        "credentialStatus": {
            "id": f"{status_url}#7",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "7",
            "statusListCredential": status_url,
        },
    }
    return add_proof(credential, pair)

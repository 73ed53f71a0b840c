"""The attack of issue 7 through every door a verifier opens: a withdrawn certificate with
``credentialStatus`` renamed to the IRI it stands for (the signature still holds) must not
verify VALID through ``POST /credentials/verify``, the body's own ``/verify`` page, or
``certreg verify``. A real body, served by ``certreg serve`` on 127.0.0.1."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browser_support import ROOT, ServedBody, build_body, free_port, serve

STATUS_IRI = "https://www.w3.org/2018/credentials#credentialStatus"


@pytest.fixture(scope="module")
def withdrawn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServedBody, dict]]:
    port = free_port()
    body = build_body(tmp_path_factory.mktemp("rewrite") / "cb", f"http://127.0.0.1:{port}")
    number = body.numbers["Jane Doe"]
    proc = serve(body.data, port)
    try:
        body.certreg("decide", "withdraw", number, "--as", body.decider, "--reason", "fraud found")
        with sqlite3.connect(body.data / "issuer.db") as db:
            (document,) = db.execute(
                "SELECT c.document FROM credentials c JOIN certifications k "
                "ON k.id = c.certification_id WHERE k.number = ? ORDER BY c.revision DESC",
                [number],
            ).fetchone()
        credential = json.loads(document)
        attack = {STATUS_IRI if k == "credentialStatus" else k: v for k, v in credential.items()}
        yield body, {"original": credential, "attack": attack}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_untouched_certificate_is_withdrawn_everywhere(withdrawn) -> None:
    body, docs = withdrawn
    answer = httpx.post(
        f"{body.base}/credentials/verify", json={"verifiableCredential": docs["original"]}
    )
    # The VC API answers a failed verification with 400 and the result.
    assert answer.status_code == 400
    assert answer.json()["verdict"] == "WITHDRAWN"


def test_vc_api_verify_refuses_the_rewrite(withdrawn) -> None:
    body, docs = withdrawn
    answer = httpx.post(
        f"{body.base}/credentials/verify", json={"verifiableCredential": docs["attack"]}
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["verified"] is False
    assert answer.json()["verdict"] == "INVALID"


def test_verify_page_refuses_the_rewrite(withdrawn) -> None:
    body, docs = withdrawn
    page = httpx.post(
        f"{body.base}/verify",
        data={"credential": json.dumps(docs["attack"])},
        headers={"accept": "text/html"},
    )
    assert page.status_code == 200
    assert "INVALID" in page.text.upper() and "compact form" in page.text
    assert ">VALID<" not in page.text.upper().replace(" ", "")


def test_cli_verify_refuses_the_rewrite(withdrawn, tmp_path: Path) -> None:
    body, docs = withdrawn
    path = tmp_path / "attack.json"
    path.write_text(json.dumps(docs["attack"]), encoding="utf-8")
    port = body.base.rsplit(":", 1)[1]
    run = subprocess.run(
        [sys.executable, "-c", "from certreg.issuer.cli import main; main()", "verify", str(path),
         "--json", "--unsafe-allow-http-host", f"127.0.0.1:{port}"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert run.returncode != 0
    assert json.loads(run.stdout)["verdict"] == "INVALID"
    assert "Traceback" not in run.stderr

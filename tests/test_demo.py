"""The README's first command runs `certreg demo`: it must show every verdict in order."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from issuer.cli import main


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

"""The README's first command runs `certreg demo`: it must show every verdict in order."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from issuer.cli import main


def test_demo_walks_a_certificate_through_every_status(tmp_path):
    result = CliRunner().invoke(main, ["demo", "--data", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    verdicts = re.findall(r"^\s+[a-z ]+:\s+([A-Z_]+)\s", result.output, flags=re.M)
    assert verdicts == ["VALID", "SUSPENDED", "VALID", "INVALID", "WITHDRAWN"]
    assert "Jane Doe holds certification CWI" in result.output
    saved = json.loads((tmp_path / "demo" / "credential.json").read_text())
    assert saved["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert saved["credentialSubject"]["licenseNumber"] == "CWI-7K3M-9QX2-4"

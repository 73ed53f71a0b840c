"""`certreg status list|refresh`: a cron job keeps the published lists signed and in date."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from certreg.issuer.cli import common as cli_common
from certreg.issuer.cli import main

PASSPHRASE = "correct horse battery staple"


def invoke(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_refresh_resigns_lists_only_when_they_near_expiry(tmp_path: Path, monkeypatch):
    data = tmp_path / "cb"
    monkeypatch.setenv("CERTREG_DATA", str(data))
    monkeypatch.setenv("CERTREG_PASSPHRASE", PASSPHRASE)
    invoke(
        "init", "--name", "Example CB", "--public-url", "https://cb.example",
        "--did-method", "key", "--kdf", "interactive",
    )  # fmt: skip
    assert "every list is in date" in invoke("status", "refresh")
    listed = invoke("status", "list")
    assert "revocation-1" in listed and "suspension-1" in listed

    later = cli_common.clock() + timedelta(days=1, hours=13)  # within 12 h of the 2-day lapse
    monkeypatch.setattr(cli_common, "clock", lambda: later)
    out = invoke("status", "refresh")
    assert "revocation-1" in out and "suspension-1" in out
    assert "every list is in date" in invoke("status", "refresh")
    assert "re-signed: message-1, revocation-1, suspension-1" in invoke(
        "status", "refresh", "--all"
    )

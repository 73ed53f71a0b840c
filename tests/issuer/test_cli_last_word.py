"""The ``certreg`` program never ends on a Python traceback: a damaged database is a sentence,
and an error certreg did not foresee is one line naming it a bug (exit 70)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from certreg.issuer import cli

CERTREG = Path(sys.executable).with_name("certreg")


def test_a_file_that_is_not_a_database_is_refused_in_words(tmp_path: Path) -> None:
    (tmp_path / "issuer.db").write_bytes(b"this is a text file, not a database\n" * 4)
    before = (tmp_path / "issuer.db").read_bytes()
    env = {**os.environ, "CERTREG_DATA": str(tmp_path)}
    env.pop("CERTREG_DEBUG", None)
    done = subprocess.run(
        [str(CERTREG), "status", "list"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "is not a readable SQLite database" in done.stderr
    assert "Traceback" not in done.stderr
    assert (tmp_path / "issuer.db").read_bytes() == before  # nothing was written to it


def _broken_main(**_: object) -> None:
    raise KeyError("urn:uuid:a-credential-id-the-reader-should-not-see")


def test_an_unforeseen_error_is_one_line_and_exit_70(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "main", _broken_main)
    monkeypatch.delenv("CERTREG_DEBUG", raising=False)
    with pytest.raises(SystemExit) as stopped:
        cli.run()
    assert stopped.value.code == cli.EXIT_UNFORESEEN == 70
    err = capsys.readouterr().err
    assert "did not foresee (KeyError)" in err and "CERTREG_DEBUG=1" in err
    assert "Traceback" not in err and "a-credential-id" not in err


def test_certreg_debug_shows_the_error_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "main", _broken_main)
    monkeypatch.setenv("CERTREG_DEBUG", "1")
    with pytest.raises(KeyError):
        cli.run()


def test_click_s_own_refusals_keep_their_exit_status(monkeypatch: pytest.MonkeyPatch) -> None:
    def refusing(**_: object) -> None:
        raise SystemExit(click.UsageError("no such option").exit_code)

    monkeypatch.setattr(cli, "main", refusing)
    with pytest.raises(SystemExit) as stopped:
        cli.run()
    assert stopped.value.code == 2

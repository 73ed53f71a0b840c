"""Naming staff at the command line, as docs/operator.md's walk-through does: an e-mail names one
staff member, a name two people share is refused with the reason (not "no staff member"), and
`certreg audit verify` finds the body through $CERTREG_DATA as every other command does.

Each was found by following docs/operator.md (tests/product/test_docs_commands.py): a repeated
`staff add` made two "Dana Decider" with one e-mail, after which every `--as dana@cb.example`
answered "no staff member 'dana@cb.example'"; and `certreg audit verify` after `export
CERTREG_DATA=…` looked in ./data.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from http_support import make_env

from certreg.issuer.cli import main

PASSPHRASE = "naming staff, not a secret"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CERTREG_DATA", str(tmp_path / "cb"))
    monkeypatch.setenv("CERTREG_PASSPHRASE", PASSPHRASE)

    def run(*args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(main, list(args))
        assert result.exit_code == code, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        return result

    run(
        "init", "--name", "Example CB", "--public-url", "https://cb.example",
        "--did-method", "key", "--kdf", "interactive",
    )  # fmt: skip
    return run


def test_a_second_staff_member_with_the_same_email_is_refused(run) -> None:
    run("staff", "add", "Dana Decider", "--role", "decision_maker", "--email", "dana@cb.example")
    again = run(
        "staff", "add", "Dana Decider", "--role", "decision_maker", "--email", "DANA@cb.example",
        code=1,
    )  # fmt: skip
    assert "e-mail 'DANA@cb.example' exists already" in again.output
    assert len(json.loads(run("staff", "list", "--json").output)) == 1
    # and the address still names her
    assert "Deactivated Dana Decider" in run("staff", "deactivate", "dana@cb.example").output


def test_a_name_two_staff_members_share_is_refused_with_the_reason(run) -> None:
    for email in ("anna.1@cb.example", "anna.2@cb.example"):
        run("staff", "add", "Anna Müller", "--role", "officer", "--email", email)
    both = run("staff", "deactivate", "Anna Müller", code=1)
    assert "'Anna Müller' names 2 staff members" in both.output
    assert "give the id" in both.output and "no staff member" not in both.output
    assert "Deactivated Anna Müller" in run("staff", "deactivate", "anna.2@cb.example").output


def test_audit_verify_finds_the_body_through_certreg_data(run) -> None:
    checked = run("audit", "verify")  # no --data: $CERTREG_DATA, as after `export`
    assert "The audit chain is intact" in checked.output


def test_the_api_refuses_a_second_staff_member_with_an_email_in_use(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    first = env.post("/api/staff", "admin", {"name": "Kim Officer", "roles": ["officer"],
                                             "email": "kim@cb.example"})  # fmt: skip
    assert first.status_code == 201, first.text
    again = env.post("/api/staff", "admin", {"name": "Kim Other", "roles": ["officer"],
                                             "email": "kim@cb.example"})  # fmt: skip
    assert again.status_code == 409
    assert again.json() == {
        "detail": "a staff member with the e-mail 'kim@cb.example' exists already"
    }

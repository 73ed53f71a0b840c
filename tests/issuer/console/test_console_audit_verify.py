"""“Verify the chain” on ``/console/audit``: the button starts the verification ``certreg audit
verify`` runs, in a background thread; the page shows its progress and then its answer, in the
command's own words, line for line (intact, and after an event is tampered with in the
database); one at a time; the answer is kept, and is an audit event naming who asked."""

from __future__ import annotations

import html
import json
import re
import sqlite3
import time
from pathlib import Path

from click.testing import CliRunner
from console_support import Env, Person

from certreg.issuer.cli.audit import audit_group
from certreg.issuer.console import chain

REPORT = re.compile(r'<pre class="chain-report">(.*?)</pre>', re.S)


def data_dir(env: Env) -> Path:
    row = env.body.db.execute("PRAGMA database_list").fetchone()
    return Path(row[2]).parent


def cli_verify(env: Env) -> tuple[int, list[str]]:
    """``certreg audit verify --data <the body's folder>``: exit code and lines."""
    result = CliRunner().invoke(audit_group, ["verify", "--data", str(data_dir(env))])
    return result.exit_code, result.output.splitlines()


def verify_in_console(person: Person) -> str:
    """Press the button, follow to the progress page, and wait for the answer."""
    answer = person.post("/console/audit/verify")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/audit/verify"
    deadline = time.monotonic() + 60
    while True:
        page = person.client.get("/console/audit/verify").text
        if 'id="chain-running"' not in page:
            return html.unescape(page)
        assert time.monotonic() < deadline, "the verification did not finish in 60 s"
        time.sleep(0.05)


def console_lines(page: str) -> list[str]:
    found = REPORT.search(page)
    assert found, "no answer on the page"
    return found.group(1).rstrip("\n").split("\n")


def test_an_intact_chain_gets_the_commands_answer_kept_and_audited(env: Env) -> None:
    sam = env.signed_in("decider", "Dana Decider")  # any staff member may ask
    audit_page = sam.client.get("/console/audit").text
    assert "Never verified from the console." in audit_page
    assert '<button type="submit">Verify the chain now</button>' in audit_page

    # The command first: the console's answer is itself an event, appended after it checks.
    code, expected = cli_verify(env)
    page = verify_in_console(sam)
    assert code == 0 and expected[0].startswith("The audit chain is intact")
    assert console_lines(page) == expected
    assert "intact" in page and "at the request of Dana Decider" in page

    (event,) = env.events(chain.EVENT)
    assert event["actor"] == env.staff["decider"]
    payload = json.loads(event["payload"])
    assert payload["ok"] is True and payload["problems"] == 0
    kept = json.loads(
        env.body.db.execute("SELECT value FROM settings WHERE key = ?", [chain.SETTING]).fetchone()[
            0
        ]
    )
    assert kept["head_hash"] == payload["head_hash"] and kept["events"] == payload["events"]
    # The audit log shows the last answer too.
    assert "at the request of Dana Decider" in html.unescape(sam.client.get("/console/audit").text)


def test_a_tampered_event_is_found_at_the_same_position_as_the_command_finds_it(
    env: Env,
) -> None:
    olga = env.signed_in("officer", "Olga Officer")
    conn = sqlite3.connect(data_dir(env) / "issuer.db")
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("""UPDATE events SET payload = '{"forged":true}' WHERE seq = 3""")
    conn.commit()
    conn.close()

    code, expected = cli_verify(env)
    page = verify_in_console(olga)
    assert code == 1
    assert "  ✗ event 3 was edited (its hash does not match its content)" in expected
    assert console_lines(page) == expected
    assert "BROKEN" in page
    payload = json.loads(env.events(chain.EVENT)[-1]["payload"])
    assert payload["ok"] is False and payload["problems"] >= 1


def test_one_verification_at_a_time_and_its_progress_is_shown(env: Env) -> None:
    olga = env.signed_in("officer", "Olga Officer")
    db_file = str((data_dir(env) / "issuer.db").resolve())
    running = chain.Check("2026-03-01T10:00:00Z", env.staff["admin"], "Ada Admin", total=200)
    running.events = 50  # read so far (a running check counts on its connection)
    chain._running[db_file] = running
    try:
        progress = olga.client.get("/console/audit/verify").text
        assert '<meta http-equiv="refresh"' in progress  # reloads itself while it runs
        assert "started by Ada Admin" in progress and "50 of about 200 events read" in progress
        assert '<progress max="100" value="25"' in progress
        assert "Verify the chain now" not in progress
        refused = olga.post("/console/audit/verify")
        assert refused.status_code == 409
        assert "already running, started by Ada Admin" in refused.text
    finally:
        del chain._running[db_file]
    assert env.events(chain.EVENT) == []


def test_the_button_needs_the_forms_csrf_token(env: Env) -> None:
    olga = env.signed_in("officer", "Olga Officer")
    refused = olga.post("/console/audit/verify", {"csrf_token": "forged"})
    assert refused.status_code == 403
    assert chain._running == {}
    assert env.events(chain.EVENT) == []


def test_the_progress_counts_every_event_the_walk_reads(env: Env) -> None:
    """The counting connection sees the same walk ``audit.verify`` makes, row by row."""
    from sqlite_utils import Database

    from certreg.issuer import audit

    conn = sqlite3.connect(data_dir(env) / "issuer.db", factory=chain._Counting)
    report = audit.verify(Database(conn))
    conn.close()
    assert report.ok and conn.rows_read == report.count > 0

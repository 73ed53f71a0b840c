"""``certreg status ...``: keep the published status lists signed and in date.

A status list credential is valid for two days (``issuer.statuslists``); ``certreg serve``
re-signs lists before they lapse, and so does ``certreg status refresh``, for bodies that
publish the static bundle or want a cron job as a second line (run it hourly).
"""

from __future__ import annotations

from pathlib import Path

import click

from certreg.issuer.cli.common import (
    data_option,
    echo_json,
    echo_table,
    json_option,
    open_body,
    passphrase_file_option,
    plain_errors,
)
from certreg.issuer.db import transaction


@click.group("status")
def status_group() -> None:
    """Show and re-sign the body's Bitstring Status Lists."""


@status_group.command("list")
@data_option
@json_option
def list_command(data: Path, as_json: bool) -> None:
    """Each list: purpose, entries allocated, latest version and when it lapses."""
    body = open_body(data)
    rows = []
    for list_id, purpose, entries, allocated, version in body.db.execute(
        "SELECT id, purpose, entries, allocated, version FROM status_lists ORDER BY id"
    ):
        latest = body.status_lists.latest(list_id) or {}
        rows.append(
            {
                "list": list_id,
                "purpose": purpose,
                "allocated": f"{allocated}/{entries}",
                "version": version,
                "valid_until": latest.get("validUntil", ""),
                "url": body.status_lists.url(list_id),
            }
        )
    if as_json:
        echo_json(rows)
        return
    echo_table(
        rows,
        [
            ("list", "list"),
            ("purpose", "purpose"),
            ("allocated", "allocated"),
            ("version", "version"),
            ("valid_until", "valid until"),
        ],
    )


@status_group.command("refresh")
@data_option
@passphrase_file_option
@click.option(
    "--all", "everything", is_flag=True, help="Re-sign every list, not only those near expiry."
)
def refresh_command(data: Path, passphrase_file: Path | None, everything: bool) -> None:
    """Re-sign the lists that lapse within 12 hours (or all of them), and publish any list
    whose bits changed since its last version. Safe to run as often as you like."""
    body = open_body(data, passphrase_file, sign="now")
    with plain_errors(), transaction(body.db):
        manager = body.status_lists
        changed = manager.publish_changed()
        if everything:
            renewed = [r[0] for r in body.db.execute("SELECT id FROM status_lists ORDER BY id")]
            for list_id in renewed:
                manager.publish(list_id)
        else:
            renewed = manager.refresh_due()
    done = sorted(set(changed) | set(renewed))
    click.echo(f"re-signed: {', '.join(done)}" if done else "every list is in date")

"""``certreg share create|list|revoke``: share links for holders (see docs/holder.md).

``create`` prints the share URL once, alone on standard output (so ``$(certreg share create …)``
captures it): its token is the secret, and issuer.db keeps only its SHA-256. Everything else
goes to standard error.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from certreg.issuer.cli import common as cli_common
from certreg.issuer.cli.common import data_option, echo_json, echo_table, json_option, open_body
from certreg.issuer.sharing import (
    MAX_SHARE_DAYS,
    create_share,
    list_shares,
    revoke_share,
    share_url,
)


@click.group("share")
def share_group() -> None:
    """Share links: the holder's page, credential download, wallet offers, LinkedIn."""


@share_group.command("create")
@data_option
@click.argument("number")
@click.option(
    "--expires",
    "days",
    type=click.IntRange(1, MAX_SHARE_DAYS),
    help="Days until the link expires (default: it lives until revoked).",
)
def create_command(data: Path, number: str, days: int | None) -> None:
    """Make a share link for certification NUMBER; print its URL once (give it to the holder:
    it cannot be shown again)."""
    body = open_body(data)
    with cli_common.plain_errors():
        share, token = create_share(
            body, number, expires_in=timedelta(days=days) if days is not None else None
        )
        url = share_url(body, token)
    until = f"until {share.expires_at}" if share.expires_at else "until revoked"
    click.echo(
        f"Share link {share.id} for {share.certificate_number}, valid {until}. "
        "The URL below is shown this once:",
        err=True,
    )
    click.echo(url)


@share_group.command("list")
@data_option
@click.argument("number")
@json_option
def list_command(data: Path, number: str, as_json: bool) -> None:
    """List the share links of certification NUMBER (never their URLs)."""
    body = open_body(data)
    with cli_common.plain_errors():
        now = body.clock()
        rows = [s.to_json(now) for s in list_shares(body, number)]
    if as_json:
        echo_json(rows)
        return
    echo_table(
        rows,
        [
            ("id", "ID"),
            ("state", "STATE"),
            ("created_at", "CREATED"),
            ("expires_at", "EXPIRES"),
            ("revoked_at", "REVOKED"),
            ("revoked_by", "BY"),
        ],
    )


@share_group.command("revoke")
@data_option
@click.argument("share_id")
def revoke_command(data: Path, share_id: str) -> None:
    """Revoke share link SHARE_ID at once: its page, download, wallet offers and VC API
    exchange stop working."""
    body = open_body(data)
    with cli_common.plain_errors():
        share = revoke_share(body, share_id)
    click.echo(f"Share link {share.id} revoked at {share.revoked_at}.")

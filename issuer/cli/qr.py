"""``certreg qr ...``: the certificates' offline QR payloads (issue 14, issuer.offline_qr).

Every certificate signed by this certreg carries its payload from the start. ``certreg qr
backfill`` signs the payload of the certificates signed before that, once, after the upgrade.
"""

from __future__ import annotations

from pathlib import Path

import click

from certreg.issuer.cli.common import (
    data_option,
    echo_json,
    json_option,
    open_body,
    passphrase_file_option,
    plain_errors,
)

__all__ = ["qr_group"]


@click.group("qr")
def qr_group() -> None:
    """The certificates' offline QR codes: sign the payload of those issued before them."""


@qr_group.command("backfill")
@data_option
@passphrase_file_option
@json_option
def backfill_command(data: Path, passphrase_file: Path | None, as_json: bool) -> None:
    """Sign the offline QR payload of every current certificate that has none (signed before
    certreg made them), and push it to the public register.

    This is not signing without a decision: the payload restates a certificate already
    decided and signed, fact for fact (holder, number, scheme, scope, dates, status entry),
    in the compact form a phone verifies offline. Nothing is decided, no credential changes,
    no audit event or log entry is written; each payload is signed with the body's current
    key. Running it again signs only what is still missing.
    """
    from certreg.issuer.offline_qr import backfill, missing

    body = open_body(data, passphrase_file, sign="lazy")
    todo = len(missing(body))
    if todo:
        with plain_errors():
            body.signer  # noqa: B018 -- unlock now: a wrong passphrase changes nothing
    with plain_errors():
        filled = backfill(body)
    if as_json:
        echo_json({"filled": len(filled), "numbers": filled})
        return
    if not filled:
        click.echo("Every current certificate already has its offline QR payload.")
        return
    click.echo(
        f"Signed the offline QR payload of {len(filled):,} certificate(s) and pushed them to "
        "the public register."
    )

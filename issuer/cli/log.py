"""``certreg log ...``: the body's transparency log, issuer side (issue 13;
docs/transparency.md, "The log").

``certreg log checkpoint`` signs a checkpoint of the log as it stands (for bodies that publish
the static bundle from cron rather than run ``certreg serve``); ``certreg log proof NUMBER``
prints the C2SP tlog-proof@v1 of the entry that signed the certificate's current credential,
the text a verifier checks offline with the log key of the body's DID document. (Auditing and
following a published log are the verifier's: ``certreg log verify`` / ``monitor``.)
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from certreg.issuer.cli.common import (
    data_option,
    echo_fields,
    open_body,
    passphrase_file_option,
    plain_errors,
    read_passphrase,
)
from certreg.issuer.logfiles import LogError, LogFiles, ensure_log_key
from certreg.issuer.logwitnesses import add_witness, remove_witness, witness_latest, witnesses
from certreg.issuer.numbers import normalise
from certreg.verifier.tlog.entry import credential_hash
from certreg.verifier.tlog.submit import SubmitError


@click.group("log")
def log_group() -> None:
    """Transparency logs: audit one, follow it, sign the body's checkpoint, print a proof."""


def _files(data: Path, passphrase_file: Path | None, *, sign: bool) -> LogFiles:
    body = open_body(data)
    if not sign:
        return LogFiles(body.db)
    passphrase = read_passphrase(passphrase_file)
    with plain_errors():
        try:
            signer = ensure_log_key(body.db, data / "keys", passphrase)
        except LogError as exc:
            raise click.ClickException(str(exc)) from None
    return LogFiles(body.db, lambda: signer, interval=0)


@log_group.command("checkpoint")
@data_option
@passphrase_file_option
def checkpoint_command(data: Path, passphrase_file: Path | None) -> None:
    """Sign a checkpoint of the log now (if it grew), submit it to the body's witnesses (those
    that have not cosigned it) and print it with their cosignatures; what each witness
    answered goes to standard error."""
    files = _files(data, passphrase_file, sign=True)
    if files.checkpoint() is None:
        raise click.ClickException("the log is empty and has no checkpoint")
    for name, result in witness_latest(files).items():
        said = "cosigned" if result.ok else f"refused: {result.reason}"
        click.echo(f"witness {name}: {said}", err=True)
    point = files.latest()
    assert point is not None  # signed just above
    click.echo(point.note, nl=False)


@log_group.command("proof")
@click.argument("number")
@data_option
@passphrase_file_option
@click.option(
    "--no-sign",
    is_flag=True,
    help="Do not sign a new checkpoint (no passphrase): prove against the latest one signed.",
)
def proof_command(number: str, data: Path, passphrase_file: Path | None, no_sign: bool) -> None:
    """Print the tlog-proof of certificate NUMBER's current credential."""
    files = _files(data, passphrase_file, sign=not no_sign)
    row = files.db.execute(
        "SELECT cr.document FROM credentials cr JOIN certifications c "
        "ON c.id = cr.certification_id WHERE c.number = ? "
        "ORDER BY cr.revision DESC LIMIT 1",
        [normalise(number)],
    ).fetchone()
    if row is None:
        raise click.ClickException(f"no certificate numbered {number!r}")
    try:
        text = files.proof(credential_hash(json.loads(row[0])))
    except LogError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(text, nl=False)


@log_group.command("status")
@data_option
def status_command(data: Path) -> None:
    """How many entries the log holds and its latest checkpoint."""
    files = _files(data, None, sign=False)
    point = files.latest()
    echo_fields(
        [
            ("entries", files.size()),
            ("checkpoint size", point.size if point else "none yet"),
            ("signed at", point.signed_at if point else ""),
        ]
    )
    for state in witnesses(files.db):
        if state.tried_at is None:
            last = "not asked yet"
        elif state.ok:
            last = f"cosigned size {state.tried_size} at {state.tried_at}"
        else:
            last = f"refused size {state.tried_size} at {state.tried_at}: {state.reason}"
        click.echo(f"witness {state.name}: cosigned up to size {state.cosigned_size}; last: {last}")


@log_group.group("witness")
def witness_group() -> None:
    """The witnesses the body's log submits each new checkpoint to (C2SP tlog-witness)."""


@witness_group.command("add")
@click.argument("url")
@click.option("--key", "vkey", required=True, metavar="VKEY", help="The witness's verifier key.")
@click.option(
    "--allow-private",
    is_flag=True,
    help="The URL may be a private or loopback address (a witness on the same network).",
)
@data_option
def witness_add_command(url: str, vkey: str, allow_private: bool, data: Path) -> None:
    """Submit the log's checkpoints to the witness at URL (its submission prefix: requests go
    to URL/add-checkpoint), whose cosignatures verify with VKEY."""
    body = open_body(data)
    try:
        config = add_witness(body.db, url, vkey, allow_private=allow_private)
    except SubmitError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Witness {config.name} added: the next checkpoint goes to {config.url}.")


@witness_group.command("list")
@data_option
def witness_list_command(data: Path) -> None:
    """List the configured witnesses."""
    states = witnesses(open_body(data).db)
    if not states:
        click.echo("No witness (add one with `certreg log witness add URL --key VKEY`).")
    for state in states:
        private = " (private address allowed)" if state.config.allow_private else ""
        click.echo(f"{state.name} {state.config.url}{private}")
        click.echo(f"  {state.config.verifier_key}")


@witness_group.command("remove")
@click.argument("name")
@data_option
def witness_remove_command(name: str, data: Path) -> None:
    """Stop submitting checkpoints to witness NAME (its cosignatures already given stay)."""
    if not remove_witness(open_body(data).db, name):
        raise click.ClickException(f"no witness named {name!r}")
    click.echo(f"Witness {name} removed.")


# Auditing and following any body's published log are the verifier's (it imports nothing of the
# issuer): one `certreg log` group holds both sides.
def _verifier_commands() -> None:
    from certreg.verifier.log_cli import log_group as verifier_log_group

    for name, command in verifier_log_group.commands.items():
        log_group.add_command(command, name)


_verifier_commands()

"""``certreg witness``: run a C2SP tlog-witness for other bodies' transparency logs.

An accreditation body, or a peer certification body, runs one so that a body's log cannot show
one history to some and another history to others: the witness cosigns a checkpoint only if it
is consistent with the last one it cosigned for that log.

    certreg witness init --name witness.example/w1     # its key, sealed with a passphrase
    certreg witness add-log cb.example/log 'cb.example/log+1a2b3c4d+AX...'
    certreg witness key                                  # give this to the log's operator
    certreg witness serve --host 0.0.0.0 --port 7380

The passphrase comes from ``--passphrase-file``, ``$CERTREG_PASSPHRASE`` or a hidden prompt.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click

from certreg.keys.passphrase import passphrase_file_option, read_passphrase, warn_if_short
from certreg.witness.store import DB_FILE, KDF_PROFILES, WitnessError, WitnessStore

DATA_ENV = "CERTREG_WITNESS_DATA"

data_option = click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("witness"),
    envvar=DATA_ENV,
    show_default=True,
    show_envvar=True,
    help=f"The witness's folder (its {DB_FILE}).",
)


@contextmanager
def _plain_errors() -> Iterator[None]:
    try:
        yield
    except WitnessError as error:
        raise click.ClickException(str(error)) from None


@click.group("witness")
def witness_group() -> None:
    """Run a C2SP tlog-witness. It cosigns other logs' checkpoints, refusing a forked or
    rewritten log."""


@witness_group.command("init")
@data_option
@click.option("--name", required=True, help="The witness's key name, e.g. witness.example/w1.")
@click.option(
    "--kdf",
    type=click.Choice(list(KDF_PROFILES)),
    default="moderate",
    show_default=True,
    help="How hard the passphrase is to guess by brute force (Argon2id memory and time).",
)
@passphrase_file_option
def init_command(data: Path, name: str, kdf: str, passphrase_file: Path | None) -> None:
    """Create a witness in the data folder: its cosigning key, sealed with a passphrase."""
    passphrase = read_passphrase(passphrase_file, confirm=True)
    warn_if_short(passphrase)
    with _plain_errors():
        store = WitnessStore.create(data, name, passphrase, kdf=kdf)
    click.echo(f"Witness {name} created in {data / DB_FILE}.")
    click.echo(f"Its verifier key (give it to the logs it witnesses):\n{store.verifier.key_string}")


@witness_group.command("add-log")
@data_option
@click.argument("origin")
@click.argument("vkey")
def add_log_command(data: Path, origin: str, vkey: str) -> None:
    """Witness the log ORIGIN, whose checkpoints are signed by the note verifier key VKEY."""
    with _plain_errors():
        key = WitnessStore(data).add_log(origin, vkey)
    click.echo(f"Witnessing {origin} (log key {key.name}, id {key.key_id.hex()}).")
    if key.name != origin:
        click.echo(
            f"warning: the key's name {key.name!r} is not the origin {origin!r} "
            "(tlog-checkpoint says it should be)",
            err=True,
        )


@witness_group.command("key")
@data_option
def key_command(data: Path) -> None:
    """Print the witness's verifier key (cosignature/v1), for the logs and their verifiers."""
    with _plain_errors():
        click.echo(WitnessStore(data).verifier.key_string)


@witness_group.command("logs")
@data_option
def logs_command(data: Path) -> None:
    """List the logs this witness witnesses and the last checkpoint it cosigned for each."""
    with _plain_errors():
        states = WitnessStore(data).logs()
    if not states:
        click.echo("No log yet (add one with `certreg witness add-log ORIGIN VKEY`).")
    for state in states:
        if state.latest is None or state.cosigned_at is None:
            click.echo(f"{state.origin}: nothing cosigned yet")
        else:
            when = datetime.fromtimestamp(state.cosigned_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            click.echo(f"{state.origin}: size {state.latest.size}, cosigned {when}")


@witness_group.command("serve")
@data_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=7380, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
@passphrase_file_option
def serve_command(
    data: Path, host: str, port: int, log_level: str, passphrase_file: Path | None
) -> None:
    """Serve the witness over HTTP: POST /add-checkpoint (C2SP tlog-witness)."""
    import uvicorn

    from certreg.witness.http import create_app

    passphrase = read_passphrase(passphrase_file)
    with _plain_errors():
        store = WitnessStore(data)
        signer = store.load_signer(passphrase)  # a wrong passphrase stops us before listening
    try:
        local = ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = host == "localhost"
    if not local:
        click.echo(
            "note: plain HTTP; the protocol needs no secrecy (every answer is signed), but a "
            "TLS proxy in front hides which logs talk to this witness",
            err=True,
        )
    click.echo(f"certreg witness: {signer.name} on http://{host}:{port}", err=True)
    uvicorn.run(
        create_app(store, signer),
        host=host,
        port=port,
        log_level=log_level,
        server_header=False,
        timeout_keep_alive=30,  # the specification asks logs to keep connections alive
        limit_concurrency=64,
    )

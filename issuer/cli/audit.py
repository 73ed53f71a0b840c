"""``certreg audit verify`` and ``certreg audit checkpoint``: check the audit chain, sign its head.

Exit codes: 0 the chain is intact (and, for ``checkpoint``, the checkpoint is signed); 1 problems
were found, each printed; 2 nothing could be checked (no database, unreadable key store, wrong
passphrase).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click
from sqlite_utils import Database

from certreg.issuer.audit import AuditError, AuditReport, checkpoint, key_history_lookup, verify
from certreg.issuer.cli.common import DATA_ENV
from certreg.issuer.db import IssuerDbError, connect
from certreg.keys import KeyStore, KeyStoreError
from certreg.keys.passphrase import passphrase_file_option, read_passphrase
from certreg.verifier.issuing import KeyLookup, format_datetime

DB_FILE = "issuer.db"

data_option = click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data"),
    envvar=DATA_ENV,  # as every other command: `export CERTREG_DATA=…` must reach the audit too
    show_default=True,
    show_envvar=True,
    help=f"The body's data directory (holds {DB_FILE}).",
)
store_option = click.option(
    "--store",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Key store directory [default: DATA/keys].",
)


class _CannotCheck(click.ClickException):
    """Nothing could be checked: exit 2, so that scripts tell it apart from problems found."""

    exit_code = 2


def _open_db(data: Path) -> Database:
    try:
        return connect(data / DB_FILE)
    except IssuerDbError as exc:
        raise _CannotCheck(str(exc)) from None


def _print_report(report: AuditReport) -> None:
    for line in report.lines():
        click.echo(line)


@click.group("audit")
def audit_group() -> None:
    """Check the hash-chained audit log and sign checkpoints of it."""


@audit_group.command("verify")
@data_option
@store_option
def verify_command(data: Path, store: Path | None) -> None:
    """Find any edited, deleted, inserted or reordered event, and check the checkpoints.

    Checkpoint signatures are checked against the key store's public key history (no
    passphrase needed); without a key store they are not, and the output says so.
    """
    key_lookup: KeyLookup | None = None
    store_path = store if store is not None else data / "keys"
    if store is not None or store_path.exists():
        try:
            key_lookup = key_history_lookup(KeyStore(store_path).keys())
        except KeyStoreError as exc:
            raise _CannotCheck(str(exc)) from None
    db = _open_db(data)
    try:
        report = verify(db, key_lookup=key_lookup)
    finally:
        db.conn.close()
    if key_lookup is None and report.checkpoints_checked:
        report.notes.append(f"no key store at {store_path}: give --store to check signatures")
    _print_report(report)
    raise SystemExit(0 if report.ok else 1)


@audit_group.command("checkpoint")
@data_option
@store_option
@passphrase_file_option
def checkpoint_command(data: Path, store: Path | None, passphrase_file: Path | None) -> None:
    """Sign the chain's head (count, head hash, time) with the body's current key.

    The chain is verified first: a checkpoint over a tampered chain would vouch for the
    tampering. Prints the signed checkpoint (JSON) on standard output; publish it where the
    issuer's database cannot reach it (the public register).
    """
    store_path = store if store is not None else data / "keys"
    try:
        key_store = KeyStore(store_path)
        key_lookup = key_history_lookup(key_store.keys())
    except KeyStoreError as exc:
        raise _CannotCheck(str(exc)) from None
    db = _open_db(data)
    try:
        report = verify(db, key_lookup=key_lookup)
        if not report.ok:
            _print_report(report)
            click.echo("Refusing to sign a checkpoint over a chain with problems.", err=True)
            raise SystemExit(1)
        try:
            signer = key_store.load_signer(read_passphrase(passphrase_file))
        except KeyStoreError as exc:
            raise _CannotCheck(str(exc)) from None
        # The DID is the key's own controller: for a did:key store the store's controller
        # is the literal "did:key", the key's DID is did:key:z6Mk….
        issuer = signer.verification_method.partition("#")[0]
        try:
            signed = checkpoint(db, signer, issuer=issuer, at=format_datetime(datetime.now(UTC)))
        except AuditError as exc:
            raise _CannotCheck(str(exc)) from None
    finally:
        db.conn.close()
    click.echo(json.dumps(signed, indent=2, ensure_ascii=False))
    click.echo(
        f"Checkpoint signed at event {signed['seq']} (head hash {signed['headHash']}).",
        err=True,
    )

"""``certreg keys ...``: create the body's key store, list and rotate keys, print the DID document.

The passphrase comes from ``--passphrase-file``, else ``$CERTREG_PASSPHRASE``, else a hidden
prompt; it is never accepted as a command-line value, which would land in shell history and
``ps`` output (:mod:`certreg.keys.passphrase`).

``certreg sign`` signs with these keys but lives in :mod:`certreg.verifier.cli`: it needs the
verifier's ``add_proof``, and the keys package imports nothing of the verifier.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from certreg.keys import (
    DidError,
    KeyRecord,
    KeyStore,
    KeyStoreError,
    did_web_from_url,
    did_web_to_url,
)
from certreg.keys.passphrase import passphrase_file_option, read_passphrase, warn_if_short

__all__ = ["keys_group", "store_option"]

store_option = click.option(
    "--store",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/keys"),
    show_default=True,
    help="Key store directory.",
)


@contextmanager
def _plain_errors() -> Iterator[None]:
    try:
        yield
    except (KeyStoreError, DidError) as exc:
        raise click.ClickException(str(exc)) from None


def _open(store: Path) -> KeyStore:
    with _plain_errors():
        return KeyStore(store)


@click.group("keys")
def keys_group() -> None:
    """Manage the body's Ed25519 signing keys."""


@keys_group.command("new")
@store_option
@click.option(
    "--did",
    "did",
    metavar="DID",
    help="The body's did:web DID (or the https URL where its did.json will live).",
)
@click.option(
    "--did-method",
    type=click.Choice(["web", "key"]),
    help="'key' for a store whose keys are their own did:key (tests, offline use).",
)
@click.option(
    "--kdf",
    type=click.Choice(["moderate", "interactive", "sensitive"]),
    default="moderate",
    show_default=True,
    help="Argon2id cost: moderate 256 MiB, interactive 64 MiB, sensitive 1 GiB.",
)
@passphrase_file_option
def new_command(
    store: Path, did: str | None, did_method: str | None, kdf: str, passphrase_file: Path | None
) -> None:
    """Create a key store with its first signing key."""
    if did is not None and did_method == "key":
        raise click.UsageError("give either --did or --did-method key, not both")
    if did is None and did_method != "key":
        raise click.UsageError(
            "give --did did:web:<your domain> (or --did-method key for tests and offline use)"
        )
    controller = "did:key"
    if did is not None:
        try:
            controller = did_web_from_url(did) if "://" in did else did
            if not controller.startswith("did:web:") or "#" in controller:
                raise DidError(f"{did!r} is not a did:web DID such as did:web:cb.example")
            did_web_to_url(controller)
        except DidError as exc:
            raise click.BadParameter(str(exc), param_hint="--did") from None
    passphrase = read_passphrase(passphrase_file, confirm=True)
    warn_if_short(passphrase)
    with _plain_errors():
        ks = KeyStore.create(store, controller, passphrase, kdf=kdf)
        current = ks.current()
    click.echo(f"Created key store {store}")
    click.echo(f"Current key: {current.id}")
    if controller != "did:key":
        click.echo(f"Publish `certreg keys did` at {did_web_to_url(controller)}")


@keys_group.command("list")
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print the key records as JSON.")
def list_command(store: Path, as_json: bool) -> None:
    """List every key the store has held, oldest first."""
    with _plain_errors():
        records = _open(store).keys()
    if as_json:
        click.echo(json.dumps([r.to_dict() | {"status": r.status} for r in records], indent=2))
        return
    rows = [("ID", "STATUS", "CREATED", "EXPIRES/REVOKED")]
    rows += [(r.id, r.status, r.created, _ended(r)) for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _ended(record: KeyRecord) -> str:
    parts = []
    if record.expires is not None:
        parts.append(f"expires {record.expires}")
    if record.revoked is not None:
        parts.append(f"revoked {record.revoked}")
    return "; ".join(parts) or "-"


@keys_group.command("rotate")
@store_option
@click.option(
    "--compromised-at",
    metavar="ISO",
    help="The current key leaked: refuse its signatures from this instant "
    "(e.g. 2026-03-01T08:00:00Z). Without it the key simply retires now.",
)
@passphrase_file_option
def rotate_command(store: Path, compromised_at: str | None, passphrase_file: Path | None) -> None:
    """Replace the current signing key with a new one."""
    ks = _open(store)
    passphrase = read_passphrase(passphrase_file)
    with _plain_errors():
        previous = ks.current()
        record = ks.rotate(passphrase, compromised_at=compromised_at)
        old = ks.find(previous.id)
    click.echo(f"New current key: {record.id}")
    click.echo(f"Previous key {old.id} is {old.status} ({_ended(old)})")
    if old.status == "compromised":
        click.echo(
            "Credentials signed by the compromised key must be reissued: a proof's "
            "'created' time is chosen by whoever holds the key."
        )
    if ks.controller != "did:key":
        click.echo(f"Republish `certreg keys did` at {did_web_to_url(ks.controller)}")


@keys_group.command("declare-compromised")
@store_option
@click.argument("key_id")
@click.option(
    "--at",
    "at",
    required=True,
    metavar="ISO",
    help="Earliest instant the key may have been exposed, e.g. 2026-03-01T08:00:00Z.",
)
def declare_compromised_command(store: Path, key_id: str, at: str) -> None:
    """Mark an older (retired) key as compromised from --at on."""
    ks = _open(store)
    with _plain_errors():
        record = ks.declare_compromised(key_id, at)
    click.echo(f"Key {record.id} is compromised since {record.revoked}")
    if ks.controller != "did:key":
        click.echo(f"Republish `certreg keys did` at {did_web_to_url(ks.controller)}")


@keys_group.command("did")
@store_option
def did_command(store: Path) -> None:
    """Print the DID document to publish."""
    with _plain_errors():
        doc = _open(store).did_document()
    click.echo(json.dumps(doc, indent=2))

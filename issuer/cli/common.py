"""What every ``certreg`` command of the body shares: the data folder, the passphrase, opening
the body, plain-words errors, and output as a table or as JSON.

The passphrase helpers live in :mod:`certreg.keys.passphrase` (``certreg keys`` and ``certreg
sign`` use them without loading the body's code) and are re-exported here.

Errors: a request the body refuses or cannot carry out (:class:`issuer.service.LifecycleError`,
a missing database, a wrong passphrase) exits 1 with the reason in plain words; a malformed
command line exits 2 (click's usage errors). No traceback for either.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from certreg.issuer.db import IssuerDbError, connect
from certreg.issuer.register_push import attach
from certreg.issuer.service import CertificationBody, LifecycleError, Refused, utc_now
from certreg.keys import DidError, KeyStore, KeyStoreError
from certreg.keys.passphrase import (
    PASSPHRASE_ENV,
    passphrase_file_option,
    read_passphrase,
    warn_if_short,
)
from certreg.verifier.issuing import Signer

__all__ = [
    "DATA_ENV",
    "PASSPHRASE_ENV",
    "data_option",
    "echo_json",
    "echo_table",
    "json_option",
    "open_body",
    "passphrase_file_option",
    "plain_errors",
    "read_passphrase",
    "unlock",
    "warn_if_short",
]

DATA_ENV = "CERTREG_DATA"

#: The body's clock. Commands read it when they open the body; tests replace it to move time.
clock: Callable[[], datetime] = utc_now

data_option = click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data"),
    envvar=DATA_ENV,
    show_default=True,
    show_envvar=True,
    help="The body's data folder (issuer.db and the key store keys/).",
)

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON instead of a table (for scripts)."
)


@contextmanager
def plain_errors() -> Iterator[None]:
    """Turn the body's refusals and the key store's errors into ``Error: <reason>``, exit 1."""
    try:
        yield
    except Refused as exc:
        raise click.ClickException(f"refused: {exc}") from None
    except (LifecycleError, IssuerDbError, KeyStoreError, DidError) as exc:
        raise click.ClickException(str(exc)) from None


def open_body(
    data: Path, passphrase_file: Path | None = None, *, sign: str = "no"
) -> CertificationBody:
    """Open the body in ``data``.

    ``sign``: ``"no"`` reads and records without signing (no passphrase asked); ``"now"``
    asks for the passphrase and unlocks the key at once, so that a wrong passphrase stops the
    command before anything is decided; ``"lazy"`` asks only if signing turns out to be needed.
    """
    with plain_errors():
        if not (data / "issuer.db").exists():
            raise IssuerDbError(
                f"no certification body in {data} (run `certreg init`, or give --data DIR "
                f"or ${DATA_ENV})"
            )
        factory: Callable[[], Signer] | None = None
        if sign != "no":
            factory = functools.partial(_unlock, data / "keys", passphrase_file)
        body = CertificationBody(connect(data / "issuer.db"), signer_factory=factory, clock=clock)
        body.info  # noqa: B018 -- fails early, in plain words, on a database without a body
        attach(body)  # every committed change reaches the public register at once
        if sign == "now":
            body.signer  # noqa: B018 -- unlock now: a wrong passphrase changes nothing
        return body


def unlock(body: CertificationBody) -> None:
    """Unlock the signing key now (asking for the passphrase if needed), before a decision
    takes the database's write lock: a wrong passphrase then changes nothing, and nobody
    types a passphrase while other writers wait."""
    with plain_errors():
        body.signer  # noqa: B018


def _unlock(store: Path, passphrase_file: Path | None) -> Signer:
    return KeyStore(store).load_signer(read_passphrase(passphrase_file))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value) or "-"
    return str(value)


def echo_table(rows: Iterable[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> None:
    """Print ``rows`` as aligned columns; ``columns`` are (key, header) pairs."""
    rows = list(rows)
    if not rows:
        click.echo("(none)")
        return
    table = [[header for _, header in columns]]
    table += [[_cell(row.get(key)) for key, _ in columns] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    for line in table:
        click.echo("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


def echo_fields(pairs: Iterable[tuple[str, Any]], indent: str = "") -> None:
    """Print ``label: value`` lines, labels aligned; ``None`` values are left out."""
    pairs = [(label, value) for label, value in pairs if value not in (None, "")]
    width = max((len(label) for label, _ in pairs), default=0) + 1
    for label, value in pairs:
        click.echo(f"{indent}{label + ':':<{width}} {_cell(value)}")


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))

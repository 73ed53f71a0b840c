"""What every ``certreg`` command shares: the data folder, the passphrase, opening the body,
plain-words errors, and output as a table or as JSON.

The passphrase comes from ``--passphrase-file FILE`` (which only its owner may read: a file
of mode 0644 is refused, as ssh refuses a readable private key), else ``$CERTREG_PASSPHRASE``,
else a hidden prompt. It is never accepted as a command-line value: that would land in shell
history and in ``ps`` output.

Errors: a request the body refuses or cannot carry out (:class:`issuer.service.LifecycleError`,
a missing database, a wrong passphrase) exits 1 with the reason in plain words; a malformed
command line exits 2 (click's usage errors). No traceback for either.
"""

from __future__ import annotations

import functools
import json
import os
import stat
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
from certreg.verifier.dataintegrity import Signer

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
]

PASSPHRASE_ENV = "CERTREG_PASSPHRASE"
DATA_ENV = "CERTREG_DATA"
MIN_SENSIBLE_PASSPHRASE = 12
#: A passphrase file is one line; anything much longer is the wrong file.
MAX_PASSPHRASE_FILE_BYTES = 64 * 1024

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

passphrase_file_option = click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"Read the key store passphrase from this file (else ${PASSPHRASE_ENV}, else a prompt).",
)

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON instead of a table (for scripts)."
)


def read_passphrase(
    passphrase_file: Path | None, *, confirm: bool = False, prompt: str = "Key store passphrase"
) -> str:
    """The passphrase from the file, else the environment, else a hidden prompt (asked twice
    when ``confirm``). A final newline in the file is not part of it."""
    if passphrase_file is not None:
        text = _read_private_file(passphrase_file)
        # Editors add a final newline; the passphrase is everything before it.
        text = text.removesuffix("\n").removesuffix("\r")
        if not text:
            raise click.ClickException(f"passphrase file {passphrase_file} is empty")
        return text
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env:
        return from_env
    return click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)


def _read_private_file(path: Path) -> str:
    """The text of a passphrase file that only its owner can read, as ssh insists for a
    private key: a file others can read has already shared the passphrase with them, and one
    others can write lets them choose it. Checked on the open file, so a swap between the
    check and the read changes nothing."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise click.ClickException(
            f"cannot read passphrase file {path}: {exc.strerror or exc}"
        ) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        # Only regular files: a pipe (--passphrase-file <(pass show certreg)) has no
        # readers but this process.
        if os.name == "posix" and stat.S_ISREG(info.st_mode):
            loose = stat.S_IMODE(info.st_mode) & 0o077
            if loose:
                raise click.ClickException(
                    f"passphrase file {path} can be read or changed by other users (mode "
                    f"{stat.S_IMODE(info.st_mode):04o}); refusing to use it. Make it private "
                    f"with `chmod 600 {path}` (or 400), or give the passphrase in "
                    f"${PASSPHRASE_ENV}"
                )
            if info.st_uid not in (os.getuid(), 0):
                raise click.ClickException(
                    f"passphrase file {path} belongs to another user (uid {info.st_uid}); "
                    "refusing to use it: its owner can change it at any time"
                )
        try:
            data = handle.read(MAX_PASSPHRASE_FILE_BYTES + 1)
            if len(data) > MAX_PASSPHRASE_FILE_BYTES:
                raise click.ClickException(
                    f"passphrase file {path} is larger than {MAX_PASSPHRASE_FILE_BYTES} bytes; "
                    "is it the right file?"
                )
            return data.decode("utf-8")
        except OSError as exc:
            raise click.ClickException(
                f"cannot read passphrase file {path}: {exc.strerror or exc}"
            ) from None
        except UnicodeDecodeError:
            raise click.ClickException(f"passphrase file {path} is not UTF-8 text") from None


def warn_if_short(passphrase: str) -> None:
    if len(passphrase) < MIN_SENSIBLE_PASSPHRASE:
        click.echo(
            f"warning: a passphrase under {MIN_SENSIBLE_PASSPHRASE} characters is "
            "easy to guess for anyone who copies the key store",
            err=True,
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

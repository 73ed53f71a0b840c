"""How a ``certreg`` command gets the key store passphrase.

From ``--passphrase-file FILE`` (which only its owner may read: a file of mode 0644 is refused,
as ssh refuses a readable private key), else ``$CERTREG_PASSPHRASE``, else a hidden prompt. It
is never accepted as a command-line value: that would land in shell history and in ``ps``
output.

Shared by every command that unlocks a key store: ``certreg keys``, ``certreg sign`` (in the
verifier package) and the body's commands (``certreg.issuer.cli.common`` re-exports these
names). Imports nothing of certreg but click, so that loading a command stays cheap.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import click

__all__ = [
    "MAX_PASSPHRASE_FILE_BYTES",
    "MIN_SENSIBLE_PASSPHRASE",
    "PASSPHRASE_ENV",
    "passphrase_file_option",
    "read_passphrase",
    "warn_if_short",
]

PASSPHRASE_ENV = "CERTREG_PASSPHRASE"
MIN_SENSIBLE_PASSPHRASE = 12
#: A passphrase file is one line; anything much longer is the wrong file.
MAX_PASSPHRASE_FILE_BYTES = 64 * 1024

passphrase_file_option = click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"Read the key store passphrase from this file (else ${PASSPHRASE_ENV}, else a prompt).",
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

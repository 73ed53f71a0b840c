"""``certreg body logo FILE``: the body's logo, printed at the top of every certificate PDF.

The file is checked before anything is stored (``issuer.logo.check_logo``: PNG or JPEG, at
most 256 KiB, decoded whole); a file that fails is refused with the reason and nothing
changes. The logo is pushed to register.db at once, so that the keyless public site prints it
too and serves it at ``/logo.png``.
"""

from __future__ import annotations

from pathlib import Path

import click

from certreg.issuer.cli.common import data_option, open_body

__all__ = ["body_group"]


@click.group("body")
def body_group() -> None:
    """The body's own settings: its logo on the printed certificates."""


@body_group.command("logo")
@data_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
def logo_command(data: Path, file: Path) -> None:
    """Set the body's logo from FILE (PNG or JPEG, at most 256 KiB)."""
    from certreg.issuer.logo import MAX_LOGO_BYTES, LogoRefused, set_logo

    with file.open("rb") as handle:
        content = handle.read(MAX_LOGO_BYTES + 1)  # one byte more tells "too large"
    if len(content) > MAX_LOGO_BYTES:
        size = file.stat().st_size
        raise click.ClickException(
            f"{file} was not set as the logo: it has {size:,} bytes, and a logo may have at "
            f"most {MAX_LOGO_BYTES:,} (256 KiB); save it smaller, e.g. 1000 pixels wide"
        )
    body = open_body(data)
    try:
        logo = set_logo(body, content)
    except LogoRefused as exc:
        raise click.ClickException(f"{file} was not set as the logo: {exc}") from None
    click.echo(
        f"The body's logo is now {file.name} ({logo.media_type}, {len(logo.data):,} bytes); "
        "it is printed on every certificate PDF and pushed to the public register."
    )

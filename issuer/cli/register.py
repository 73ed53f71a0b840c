"""``certreg register ...``: the public register (register.db).

Every change the issuer commits is pushed to register.db at once (``issuer.register_push``);
``rebuild`` makes the whole file again from issuer.db: after restoring a backup, after a push
failed (the log says so), or to move the register elsewhere. ``serve`` (defined in
``register.web.cli``) runs the keyless public site over a bundle written by ``certreg publish``.
"""

from __future__ import annotations

from pathlib import Path

import click

from certreg.issuer.cli.common import data_option, open_body, plain_errors
from certreg.issuer.register_push import rebuild, without_start_catch_up
from certreg.register.web.cli import serve_command


@click.group("register")
def register_group() -> None:
    """The public register: register.db, the file Datasette serves."""


@register_group.command("rebuild")
@data_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write register.db (default: DATA/register.db).",
)
def rebuild_command(data: Path, out: Path | None) -> None:
    """Rebuild register.db from issuer.db and put it in place in one transaction.

    Readers see the old register or the new one, never half of one; servers reading the file
    go on without a restart.
    """
    with without_start_catch_up():  # it is rebuilt below: not caught up (or rebuilt) first
        body = open_body(data)
    target = out or data / "register.db"
    with plain_errors():
        counts = rebuild(body, target)
    click.echo(
        f"register rebuilt: {target} -- {counts['directory']} in the directory, "
        f"{counts['number_lookup']} found by number only, {counts['on_request']} not published "
        f"(on request), {counts['schemes']} schemes"
    )


register_group.add_command(serve_command)

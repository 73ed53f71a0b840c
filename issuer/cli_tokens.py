"""``certreg tokens create|list|revoke``: API tokens for the admin API and the VC API.

The secret is printed once, alone on standard output (so ``$(certreg tokens create ...)``
captures it), and never again: issuer.db keeps only its SHA-256. Everything else goes to
standard error.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from issuer.cli_common import (
    data_option,
    echo_json,
    echo_table,
    json_option,
    open_body,
    plain_errors,
)
from issuer.service import ROLES, CertificationBody, Invalid, NotFound
from issuer.tokens import MAX_LIFETIME, create_token, list_tokens, revoke_token


def _staff_id(body: CertificationBody, who: str) -> str:
    """A staff member by id, or by exact name when that name is unique."""
    rows = body.db.execute("SELECT id FROM staff WHERE id = ? OR name = ?", [who, who]).fetchall()
    if not rows:
        raise NotFound(f"no staff member {who!r} (see `certreg staff list`)")
    if len(rows) > 1:
        raise Invalid(f"several staff members are called {who!r}: give the id")
    return rows[0][0]


@click.group("tokens")
def tokens_group() -> None:
    """API tokens (bearer secrets) for `certreg serve`'s /api and VC API."""


@tokens_group.command("create")
@data_option
@click.option("--staff", "who", required=True, help="Staff member (id, or unique name).")
@click.option("--name", required=True, help="What the token is for, e.g. 'import script'.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice(ROLES),
    help="Narrow the token to these roles (repeatable; default: all the staff member's roles).",
)
@click.option(
    "--days",
    type=click.IntRange(1, MAX_LIFETIME.days),
    default=90,
    show_default=True,
    help="Days until the token expires.",
)
def create_command(data: Path, who: str, name: str, roles: tuple[str, ...], days: int) -> None:
    """Make a token; print its secret once (store it now: it cannot be shown again)."""
    body = open_body(data)
    with plain_errors():
        info, secret = create_token(
            body,
            _staff_id(body, who),
            name=name,
            roles=list(roles) or None,
            lifetime=timedelta(days=days),
        )
    click.echo(
        f"Token {info.id} ({', '.join(info.roles)}), expires {info.expires_at}. "
        "The secret below is shown this once:",
        err=True,
    )
    click.echo(secret)


@tokens_group.command("list")
@data_option
@click.option("--staff", "who", help="Only this staff member's tokens (id or unique name).")
@json_option
def list_command(data: Path, who: str | None, as_json: bool) -> None:
    """List tokens (never their secrets)."""
    body = open_body(data)
    with plain_errors():
        rows = [t.to_json() for t in list_tokens(body, _staff_id(body, who) if who else None)]
    if as_json:
        echo_json(rows)
        return
    echo_table(
        rows,
        [
            ("id", "ID"),
            ("name", "NAME"),
            ("staff_id", "STAFF"),
            ("roles", "ROLES"),
            ("expires_at", "EXPIRES"),
            ("revoked_at", "REVOKED"),
            ("last_used_at", "LAST USED"),
        ],
    )


@tokens_group.command("revoke")
@data_option
@click.argument("token_id")
def revoke_command(data: Path, token_id: str) -> None:
    """Revoke a token at once (every later request with it gets 401)."""
    body = open_body(data)
    with plain_errors():
        info = revoke_token(body, token_id)
    click.echo(f"Token {info.id} revoked at {info.revoked_at}.")

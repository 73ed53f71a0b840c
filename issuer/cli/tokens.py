"""``certreg tokens ...``: API tokens for the admin API and the VC API, and their claims.

A token's secret is shown only to the person it belongs to: staff make their own tokens over
the API (``POST /api/tokens``) or redeem a claim an admin made for them. ``tokens create`` is
the bootstrap: the operator on the server prints a token for an admin (carrying the admin role
alone) while no active admin holds a usable admin token, to start the API or to regain it.

The secret is printed once, alone on standard output (so ``$(certreg tokens create ...)``
captures it), and never again: issuer.db keeps only its SHA-256. Everything else goes to
standard error.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from certreg.issuer.cli.common import (
    data_option,
    echo_json,
    echo_table,
    json_option,
    open_body,
    plain_errors,
)
from certreg.issuer.service import ROLES, CertificationBody, Invalid, NotFound, Refused
from certreg.issuer.tokens import (
    MAX_LIFETIME,
    approve_claim,
    bootstrap_allowed,
    create_token,
    list_claims,
    list_tokens,
    revoke_token,
)


def _staff_name(body: CertificationBody, staff_id: str) -> str:
    row = body.db.execute("SELECT name FROM staff WHERE id = ?", [staff_id]).fetchone()
    return str(row[0]) if row else staff_id


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
    help="Only 'admin' is accepted: the bootstrap token carries the admin role alone.",
)
@click.option(
    "--days",
    type=click.IntRange(1, MAX_LIFETIME.days),
    default=90,
    show_default=True,
    help="Days until the token expires.",
)
def create_command(data: Path, who: str, name: str, roles: tuple[str, ...], days: int) -> None:
    """Bootstrap: a token for an admin while no admin holds a usable one; print its secret
    once (store it now: it cannot be shown again). Other staff get tokens by a claim."""
    body = open_body(data)
    with plain_errors():
        staff_id = _staff_id(body, who)
        refused = bootstrap_allowed(body, staff_id)
        if refused:
            raise Refused(refused)
        if set(roles) - {"admin"}:
            raise Invalid(
                "the bootstrap token carries the admin role alone: other roles come by a "
                "claim (POST /api/staff/{id}/token-claims)"
            )
        info, secret = create_token(
            body,
            staff_id,
            name=name,
            roles=["admin"],
            lifetime=timedelta(days=days),
            via="cli-bootstrap",
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
    """Revoke a token, and every token made with it, at once (later requests get 401)."""
    body = open_body(data)
    with plain_errors():
        info = revoke_token(body, token_id)
    click.echo(f"Token {info.id} revoked at {info.revoked_at}.")


@tokens_group.command("approve-claim")
@data_option
@click.argument("claim_id", metavar="CLAIM")
def approve_claim_command(data: Path, claim_id: str) -> None:
    """Four eyes, as the operator: approve a decision-maker's or admin's token claim that no
    other admin can approve (e.g. an admin's claim when the body has two admins). Prints the
    second code, alone on standard output: give it to the staff member yourself, never to the
    admin who made the claim."""
    body = open_body(data)
    with plain_errors():
        made = approve_claim(body, claim_id, actor=None)
    click.echo(
        f"Claim {made.claim.id} approved. Second code for {_staff_name(body, made.claim.staff_id)}"
        f" (shown this once; redeem before {made.claim.expires_at}):",
        err=True,
    )
    click.echo(made.code)


@tokens_group.command("claims")
@data_option
@json_option
def claims_command(data: Path, as_json: bool) -> None:
    """Token claims (never their codes)."""
    body = open_body(data)
    rows = [c.to_json() for c in list_claims(body)]
    if as_json:
        echo_json(rows)
        return
    echo_table(
        rows,
        [
            ("id", "ID"),
            ("staff_id", "STAFF"),
            ("roles", "ROLES"),
            ("created_by", "MADE BY"),
            ("needs_second", "FOUR EYES"),
            ("approved_at", "APPROVED"),
            ("claimed_at", "REDEEMED"),
            ("expires_at", "EXPIRES"),
        ],
    )

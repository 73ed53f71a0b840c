"""``certreg verify`` and ``certreg sign`` (placeholder until the verifier lands)."""

import click


@click.command("verify")
def verify_command() -> None:
    """Verify a credential."""


@click.command("sign")
def sign_command() -> None:
    """Sign a JSON document."""

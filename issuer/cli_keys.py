"""``certreg keys ...`` (placeholder until the key store lands)."""

import click


@click.group("keys")
def keys_group() -> None:
    """Manage the body's Ed25519 signing keys."""

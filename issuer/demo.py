"""``certreg demo``: the main job (placeholder)."""

import click


@click.command("demo")
def demo_command() -> None:
    """Make a key, sign a sample certificate, verify it and print the verdict."""

"""The ``certreg`` command line. Each command group lives in its own module."""

from __future__ import annotations

import click

from issuer.cli_audit import audit_group
from issuer.cli_keys import keys_group
from issuer.cli_verify import sign_command, verify_command
from issuer.demo import demo_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="certreg")
def main() -> None:
    """certreg: signed ISO/IEC 17024 certificates as W3C Verifiable Credentials."""


main.add_command(audit_group)
main.add_command(keys_group)
main.add_command(sign_command)
main.add_command(verify_command)
main.add_command(demo_command)

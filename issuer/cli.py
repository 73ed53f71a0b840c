"""The ``certreg`` command line. Each command group lives in its own module."""

from __future__ import annotations

import click

from certreg.issuer.cli_audit import audit_group
from certreg.issuer.cli_body import (
    assess_command,
    cert_command,
    decide_group,
    due_command,
    expire_due_command,
    init_command,
    person_group,
    scheme_group,
    staff_group,
    train_command,
)
from certreg.issuer.cli_issue import issue_command
from certreg.issuer.cli_keys import keys_group
from certreg.issuer.cli_publish import publish_command
from certreg.issuer.cli_register import register_group
from certreg.issuer.cli_serve import serve_command
from certreg.issuer.cli_share import share_group
from certreg.issuer.cli_status import status_group
from certreg.issuer.cli_tokens import tokens_group
from certreg.issuer.cli_verify import sign_command, verify_command
from certreg.issuer.demo import demo_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="certreg")
def main() -> None:
    """certreg: signed ISO/IEC 17024 certificates as W3C Verifiable Credentials."""


for command in (
    # setting up and running a body
    init_command,
    scheme_group,
    staff_group,
    person_group,
    assess_command,
    train_command,
    decide_group,
    issue_command,
    cert_command,
    due_command,
    expire_due_command,
    status_group,
    serve_command,
    register_group,
    publish_command,
    share_group,
    tokens_group,
    keys_group,
    audit_group,
    # anyone
    sign_command,
    verify_command,
    demo_command,
):
    main.add_command(command)

"""The ``certreg`` command line: a table of subcommands, each loaded only when it runs.

Every subcommand lives in its own module, and some of those modules import a lot (``serve``
and ``demo`` load FastAPI, uvicorn, Datasette, fpdf and Pillow). Importing them all at start
made ``certreg verify --help`` take over a second. So the group below knows each subcommand by
its name, the module that defines it and its one-line help, and imports the module only when
that subcommand is asked for (click's "lazily loading subcommands" pattern). The help line is
kept in the table so that ``certreg --help`` lists every command without importing any of them;
tests/product/test_cli_startup.py checks that each line still matches the command's own docstring.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

import click


@dataclass(frozen=True)
class Subcommand:
    """A ``certreg`` subcommand, known without importing it."""

    name: str
    #: "module:attribute" of the click command.
    target: str
    #: What ``certreg --help`` prints for it: the first sentence of the command's docstring.
    help: str

    def load(self) -> click.Command:
        module, _, attribute = self.target.partition(":")
        command = getattr(import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is not a click command")
        return command


_BODY = "certreg.issuer.cli.body"

#: Every subcommand, in the order of the work: setting up and running a body, then anyone's.
SUBCOMMANDS = (
    Subcommand(
        "init",
        f"{_BODY}:init_command",
        "Create a new certification body in the data folder: its signing key (encrypted key "
        "store), its DID, issuer.db, and its first status lists.",
    ),
    Subcommand(
        "scheme",
        f"{_BODY}:scheme_group",
        "Certification schemes: their public description, rules and scope catalogue.",
    ),
    Subcommand(
        "body",
        "certreg.issuer.cli.logo:body_group",
        "The body's own settings: its logo on the printed certificates.",
    ),
    Subcommand(
        "staff",
        f"{_BODY}:staff_group",
        "Staff: officers, decision-makers, admins; their roles, deactivation and four eyes.",
    ),
    Subcommand(
        "person",
        f"{_BODY}:person_group",
        "Candidates and certificate holders (private data: stays in issuer.db).",
    ),
    Subcommand("assess", f"{_BODY}:assess_command", "Record an assessment of PERSON in SCHEME."),
    Subcommand(
        "train",
        f"{_BODY}:train_command",
        "Record that a staff member trained PERSON: that staff member can then never decide "
        "this person's certification (ISO/IEC 17024 9.4).",
    ),
    Subcommand(
        "decide", f"{_BODY}:decide_group", "Certification decisions (ISO/IEC 17024 clause 9)."
    ),
    Subcommand(
        "issue",
        "certreg.issuer.cli.issue:issue_command",
        "Issue certifications from a CSV file: one grant decision per row.",
    ),
    Subcommand(
        "show",
        f"{_BODY}:cert_command",
        "Show certification NUMBER: status, scope, dates, its decisions and credentials.",
    ),
    Subcommand(
        "due",
        f"{_BODY}:due_command",
        "List the decisions due: suspensions past their deadline (reinstate or withdraw: a "
        "person decides, never the software) and certifications expiring within 60 days.",
    ),
    Subcommand(
        "expire-due",
        f"{_BODY}:expire_due_command",
        "Expire every certification past its last valid day: the one automatic transition.",
    ),
    Subcommand(
        "status",
        "certreg.issuer.cli.status:status_group",
        "Show and re-sign the body's Bitstring Status Lists.",
    ),
    Subcommand(
        "qr",
        "certreg.issuer.cli.qr:qr_group",
        "The certificates' offline QR codes: sign the payload of those issued before them.",
    ),
    Subcommand(
        "serve",
        "certreg.issuer.cli.serve:serve_command",
        "Serve the body over HTTP(S): /.well-known/did.json, /status/..., /contexts/..., /api/...",
    ),
    Subcommand(
        "register",
        "certreg.issuer.cli.register:register_group",
        "The public register: register.db, the file Datasette serves.",
    ),
    Subcommand(
        "publish",
        "certreg.issuer.cli.publish:publish_command",
        "Write the static bundle (DID document, status lists, contexts, an immutable "
        "register.db with its Datasette metadata) into DIRECTORY, replacing what was there.",
    ),
    Subcommand(
        "share",
        "certreg.issuer.cli.share:share_group",
        "Share links: the holder's page, credential download, wallet offers, LinkedIn.",
    ),
    Subcommand(
        "mail",
        "certreg.issuer.cli.mail:mail_group",
        "Mail to holders: send the outbox over SMTP, and show the queue and its failures.",
    ),
    Subcommand(
        "tokens",
        "certreg.issuer.cli.tokens:tokens_group",
        "API tokens (bearer secrets) for `certreg serve`'s /api and VC API.",
    ),
    Subcommand(
        "log",
        "certreg.issuer.cli.log:log_group",
        "Transparency logs: audit one, follow it, sign the body's checkpoint, print a proof.",
    ),
    Subcommand("keys", "certreg.keys.cli:keys_group", "Manage the body's Ed25519 signing keys."),
    Subcommand("witness", "certreg.witness.cli:witness_group", "Run a C2SP tlog-witness."),
    Subcommand(
        "audit",
        "certreg.issuer.cli.audit:audit_group",
        "Check the hash-chained audit log and sign checkpoints of it.",
    ),
    # anyone
    Subcommand(
        "sign",
        "certreg.verifier.cli:sign_command",
        "Sign the JSON document in FILE (or - for standard input) and print the signed JSON.",
    ),
    Subcommand(
        "verify",
        "certreg.verifier.cli:verify_command",
        "Verify a certificate (or a presentation) from FILE, a URL, or - for standard input.",
    ),
    Subcommand(
        "sync",
        "certreg.verifier.sync_cli:sync_command",
        "Fetch the keys and status lists of bodies into DIR, to verify their QR codes offline.",
    ),
    Subcommand(
        "demo",
        "certreg.issuer.demo:demo_command",
        "Build a demo certification body (two schemes, ~1,000 certificates in every state) "
        "and serve it on http://127.0.0.1:8000: the register, certificate pages, the verify "
        "page, the APIs.",
    ),
)


class LazyGroup(click.Group):
    """A click group whose subcommands are imported when they run, not when it starts."""

    def __init__(self, *args: Any, subcommands: tuple[Subcommand, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subcommands = {sub.name: sub for sub in subcommands}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.subcommands)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        sub = self.subcommands.get(cmd_name)
        return sub.load() if sub is not None else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The "Commands:" section of ``certreg --help``, from the table alone: click's own
        version would import every subcommand to read its docstring."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        # A bare Command cuts the table's help to the width exactly as click cuts a loaded
        # command's docstring, so the listing reads the same.
        rows = [
            (name, click.Command(name, help=self.subcommands[name].help).get_short_help_str(limit))
            for name in names
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    subcommands=SUBCOMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="certreg")
def main() -> None:
    """certreg: signed ISO/IEC 17024 certificates as W3C Verifiable Credentials."""


#: The exit status of a command stopped by an error certreg did not foresee (sysexits.h's
#: EX_SOFTWARE), distinct from click's 1 (a refusal in words) and 2 (a usage error).
EXIT_UNFORESEEN = 70


def run() -> None:
    """The ``certreg`` program: :func:`main`, with a last word instead of a traceback.

    Every refusal certreg foresees is a sentence (click's ``Error: …``, exit 1). Anything else
    is a bug: the reader gets one line saying so, the exception's kind (not its text, which may
    quote a credential or a path) and how to see the details, rather than forty lines of Python.
    Tests call :func:`main` through click's runner, which keeps the exception for them."""
    import os
    import sys

    try:
        main(standalone_mode=True)
    except Exception as error:
        if os.environ.get("CERTREG_DEBUG"):
            raise
        click.echo(
            f"Error: certreg stopped on an error it did not foresee ({type(error).__name__}); "
            "nothing after that point was done. This is a bug: please report it, with the "
            "output of the same command run with CERTREG_DEBUG=1.",
            err=True,
        )
        sys.exit(EXIT_UNFORESEEN)

"""``certreg mail send|list|configure|language``: the holders' mail (docs/mail.md).

``remind`` queues the expiry reminders (run it daily, beside ``certreg expire-due``).
``send`` is the worker: it sends the outbox's due mails, then (without ``--once``) waits and
looks again, until stopped. Run it beside ``certreg serve`` (a systemd unit, a container), or
``send --once`` from cron. ``list`` shows staff the queue and what did not go.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import click
from sqlite_utils import Database

from certreg.i18n import LANGUAGES, language_name
from certreg.issuer.cli import common as cli_common
from certreg.issuer.cli.common import data_option, echo_json, echo_table, json_option, open_body
from certreg.issuer.db import transaction
from certreg.issuer.mail import (
    LEASE,
    MAX_ATTEMPTS,
    REMINDER_DAYS,
    SMTP_URL_ENV,
    SmtpSettings,
    SmtpSettingsError,
    list_outbox,
    queue_reminders,
    send_due,
    settings_from,
)
from certreg.issuer.mail.language import default_language, set_default_language

_SETTING = "smtp_url"


@click.group("mail")
def mail_group() -> None:
    """Mail to holders: send the outbox over SMTP, and show the queue and its failures."""


def _settings(db: Database) -> SmtpSettings:
    row = db.execute("SELECT value FROM settings WHERE key = ?", [_SETTING]).fetchone()
    try:
        settings = settings_from(row[0] if row else None)
    except SmtpSettingsError as exc:
        raise click.ClickException(str(exc)) from None
    if settings is None:
        raise click.ClickException(
            f"no SMTP server: set ${SMTP_URL_ENV} or run `certreg mail configure URL`"
        )
    return settings


@mail_group.command("send")
@data_option
@click.option("--once", is_flag=True, help="One pass over the due mails, then exit (for cron).")
@click.option(
    "--interval",
    type=click.FloatRange(0.1),
    default=30.0,
    show_default=True,
    help="Seconds between passes.",
)
@click.option(
    "--max-attempts",
    type=click.IntRange(1),
    default=MAX_ATTEMPTS,
    show_default=True,
    help="Attempts before a mail is marked failed.",
)
@click.option(
    "--lease",
    type=click.FloatRange(1),
    default=LEASE.total_seconds(),
    show_default=True,
    help="Seconds a mail being sent is left to this worker: after a crash, it is sent "
    "again once they are over.",
)
def send_command(data: Path, once: bool, interval: float, max_attempts: int, lease: float) -> None:
    """Send the due mails of the outbox, with retries and backoff (until stopped, or --once)."""
    body = open_body(data)
    settings = _settings(body.db)
    click.echo(f"Sending through {settings.redacted()}", err=True)
    while True:
        with cli_common.plain_errors():
            report = send_due(
                body,
                settings,
                now=cli_common.clock,
                max_attempts=max_attempts,
                lease=timedelta(seconds=lease),
            )
        for line in report.errors:
            click.echo(f"  ! {line}", err=True)
        if report.sent or report.retried or report.failed or report.bounced:
            click.echo(
                f"{report.sent} sent, {report.retried} to retry, {report.failed} failed, "
                f"{report.bounced} bounced",
                err=True,
            )
        if once:
            return
        time.sleep(interval)


def _days(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        days = tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter("days as whole numbers, e.g. 90,30,7") from None
    if not days or any(d < 1 for d in days):
        raise click.BadParameter("at least one number of days, each 1 or more")
    return days


@mail_group.command("remind")
@data_option
@click.option(
    "--days",
    default=",".join(str(d) for d in REMINDER_DAYS),
    show_default=True,
    callback=_days,
    help="Days before the end of validity when holders are reminded, comma-separated.",
)
def remind_command(data: Path, days: tuple[int, ...]) -> None:
    """Queue expiry reminders for holders whose certificates end soon (run it daily)."""
    body = open_body(data)
    with cli_common.plain_errors():
        queued = queue_reminders(body, days)
    click.echo(f"{queued} reminders queued")


@mail_group.command("list")
@data_option
@click.option("--failed", is_flag=True, help="Only the mails that did not go (failed, bounced).")
@click.option("--limit", type=click.IntRange(1), default=200, show_default=True)
@json_option
def list_command(data: Path, failed: bool, limit: int, as_json: bool) -> None:
    """The outbox, newest first: to whom, about what, its state, attempts and last error."""
    body = open_body(data)
    rows = [row.to_json() for row in list_outbox(body.db, failed_only=failed, limit=limit)]
    if as_json:
        echo_json(rows)
        return
    echo_table(
        rows,
        [
            ("id", "id"),
            ("created_at", "queued"),
            ("kind", "about"),
            ("number", "certificate"),
            ("recipient", "to"),
            ("state", "state"),
            ("attempts", "attempts"),
            ("next_attempt_at", "next attempt"),
            ("last_error", "last error"),
        ],
    )


@mail_group.command("configure")
@data_option
@click.argument("url")
def configure_command(data: Path, url: str) -> None:
    """Keep the SMTP URL in the body's settings (CERTREG_SMTP_URL, when set, wins)."""
    try:
        settings = SmtpSettings.parse(url)
    except SmtpSettingsError as exc:
        raise click.ClickException(str(exc)) from None
    body = open_body(data)
    with transaction(body.db):
        body.db.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            [_SETTING, url, body._now()],
        )
    click.echo(f"Mail goes through {settings.redacted()}")


@mail_group.command("language")
@data_option
@click.argument(
    "language",
    metavar="[LANGUAGE]",
    required=False,
    type=click.Choice(LANGUAGES, case_sensitive=False),
)
def language_command(data: Path, language: str | None) -> None:
    """Show, or set, the body's default language (en, de, fr, es): the mails to a person who
    chose none are written in it. A person's own language wins (`certreg person language`)."""
    body = open_body(data)
    if language is not None:
        set_default_language(body.db, language, body._now())
    chosen = default_language(body.db)
    click.echo(f"Mails to holders are written in {language_name(chosen)} ({chosen}) by default.")

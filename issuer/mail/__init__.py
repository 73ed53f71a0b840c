"""Mail to holders (docs/mail.md): an outbox in issuer.db, filled in the transaction of each
decision (:mod:`.outbox`), emptied by a worker over SMTP (:mod:`.worker`, :mod:`.smtp`), in
words from templates (:mod:`.render`); holders unsubscribe from reminders
(:mod:`.unsubscribe`)."""

from certreg.issuer.mail.outbox import (
    MAILED,
    REMINDER_DAYS,
    OutboxRow,
    list_outbox,
    queue_for_events,
    queue_reminders,
)
from certreg.issuer.mail.smtp import SMTP_URL_ENV, SmtpSettings, SmtpSettingsError, settings_from
from certreg.issuer.mail.unsubscribe import opt_out, opted_out
from certreg.issuer.mail.worker import LEASE, MAX_ATTEMPTS, PassReport, backoff, send_due

__all__ = [
    "LEASE",
    "MAILED",
    "MAX_ATTEMPTS",
    "REMINDER_DAYS",
    "SMTP_URL_ENV",
    "OutboxRow",
    "PassReport",
    "SmtpSettings",
    "SmtpSettingsError",
    "backoff",
    "list_outbox",
    "opt_out",
    "opted_out",
    "queue_for_events",
    "queue_reminders",
    "send_due",
    "settings_from",
]

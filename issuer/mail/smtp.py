"""Where mail goes: the SMTP server's settings, and one message handed to it.

The settings are one URL, from ``CERTREG_SMTP_URL`` or else the body's ``smtp_url`` setting
(``certreg mail configure``)::

    smtp://user:pass@host:587?starttls=1     plain connection upgraded with STARTTLS
    smtps://user:pass@host:465               TLS from the first byte
    smtp://127.0.0.1:1025                    no TLS, no login (a local relay)

Query parameters: ``starttls=1``; ``from=certificates@body.example`` (the sender address;
default ``no-reply@`` the host of the body's public URL); ``timeout=30`` (seconds, for every
network step); ``cafile=/path/ca.pem`` (trust this CA besides the system's, e.g. a relay with a
private certificate). The user and password are percent-decoded. The password is never
printed: :meth:`SmtpSettings.redacted` is what logs and ``certreg mail`` show.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from certreg.keys.errors import CertregError

SMTP_URL_ENV = "CERTREG_SMTP_URL"
DEFAULT_TIMEOUT = 30.0


class SmtpSettingsError(CertregError):
    """The SMTP URL cannot be used."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: str  # "none", "starttls" or "smtps"
    username: str | None
    password: str | None
    sender: str | None
    timeout: float
    cafile: str | None

    @classmethod
    def parse(cls, url: str) -> SmtpSettings:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("smtp", "smtps"):
            raise SmtpSettingsError("the SMTP URL starts with smtp:// or smtps://")
        if not parts.hostname:
            raise SmtpSettingsError("the SMTP URL names no host")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        starttls = query.get("starttls", "0").lower() in ("1", "true", "yes")
        if parts.scheme == "smtps" and starttls:
            raise SmtpSettingsError("smtps:// is TLS already: starttls=1 does not apply")
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 587 if starttls else 25)
            timeout = float(query.get("timeout", DEFAULT_TIMEOUT))
        except ValueError as exc:
            raise SmtpSettingsError(f"the SMTP URL: {exc}") from None
        return cls(
            host=parts.hostname,
            port=port,
            tls="smtps" if parts.scheme == "smtps" else "starttls" if starttls else "none",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            sender=query.get("from"),
            timeout=timeout,
            cafile=query.get("cafile"),
        )

    def redacted(self) -> str:
        """The settings in words, without the password."""
        who = f"{self.username}:***@" if self.username else ""
        scheme = "smtps" if self.tls == "smtps" else "smtp"
        tls = "?starttls=1" if self.tls == "starttls" else ""
        return f"{scheme}://{who}{self.host}:{self.port}{tls}"

    def __repr__(self) -> str:  # a traceback or a debug print must not show the password
        return f"SmtpSettings({self.redacted()!r})"


def settings_from(url: str | None) -> SmtpSettings | None:
    """``CERTREG_SMTP_URL`` if set, else ``url`` (the body's setting), else None."""
    chosen = os.environ.get(SMTP_URL_ENV) or url
    return SmtpSettings.parse(chosen) if chosen else None


def _context(settings: SmtpSettings) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if settings.cafile:
        context.load_verify_locations(cafile=settings.cafile)
    return context


def deliver(settings: SmtpSettings, message: EmailMessage) -> None:
    """Hand ``message`` to the server; return only once it has accepted it (250 after DATA).
    Raises ``smtplib.SMTPException`` or ``OSError`` otherwise."""
    client: smtplib.SMTP
    if settings.tls == "smtps":
        client = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=_context(settings)
        )
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with client:
        client.ehlo()
        if settings.tls == "starttls":
            client.starttls(context=_context(settings))
            client.ehlo()
        if settings.username:
            client.login(settings.username, settings.password or "")
        client.send_message(message)

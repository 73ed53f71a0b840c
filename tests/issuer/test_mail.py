"""Holders' mail: queued in the decision's transaction, sent by the worker to a real SMTP
server on 127.0.0.1 (aiosmtpd), retried with backoff, never queued twice (docs/mail.md)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import io
import ipaddress
import os
import re
import ssl
import subprocess
import sys
import threading
import time as time_module
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from factories import Clock, add_staff, free_port, make_body, undo_migrations_after
from PIL import Image

from certreg.i18n import format_date
from certreg.issuer import audit, sharing
from certreg.issuer import db as issuer_db
from certreg.issuer.cli import common as cli_common
from certreg.issuer.cli import main
from certreg.issuer.db import transaction
from certreg.issuer.logo import set_logo
from certreg.issuer.mail import (
    SmtpSettings,
    list_outbox,
    queue_for_events,
    queue_reminders,
    send_due,
)
from certreg.issuer.mail.language import set_default_language
from certreg.issuer.service import ScopeGrant

# --- a real SMTP server on 127.0.0.1 ----------------------------------------------------------


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps what it accepts, and can misbehave on purpose."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse_data: bool = False  # answer 554 to DATA
    refuse_rcpt: bool = False  # answer 550 to RCPT TO
    drops: int = 0  # drop the connection at DATA this many times

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, _: Any):
        if self.refuse_rcpt:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.drops:
            self.drops -= 1
            server.transport.abort()  # the connection drops before any reply
            return "250 never seen"
        if self.refuse_data:
            return "554 5.7.1 message refused"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


@pytest.fixture
def smtp():
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.url = f"smtp://127.0.0.1:{controller.port}?timeout=5"  # type: ignore[attr-defined]
    yield handler
    controller.stop()


# --- a body with a holder -----------------------------------------------------------------------


@dataclass
class Env:
    body: Any
    data: Path
    clock: Clock
    staff: dict[str, str]

    def holder(self, email_address: str | None = "welder@example.org") -> str:
        person = self.body.add_person("Zofia Kowalska <b>", email=email_address)
        self.body.record_assessment(
            person,
            "cwi",
            result="pass",
            assessed_on=self.clock.day(-1),
            examiners=[self.staff["examiner"]],
            scope_codes=["UT2", "VT2"],
        )
        return person

    def grant(self, person: str) -> str:
        cert = self.body.grant(
            person,
            "cwi",
            [ScopeGrant("UT2", "steel"), ScopeGrant("VT2")],
            decided_by=self.staff["decider"],
            evidence="exam 42",
        )
        return cert.number

    def settings(self, smtp: Recorder) -> SmtpSettings:
        return SmtpSettings.parse(smtp.url)  # type: ignore[attr-defined]

    def send(self, smtp: Recorder, **options: Any):
        return send_due(self.body, self.settings(smtp), now=self.clock, **options)


@pytest.fixture
def env(tmp_path: Path) -> Env:
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    data = tmp_path / "data"
    body = make_body(data, clock=clock)
    staff = add_staff(body, examiner=["officer"], decider=["decision_maker"])
    return Env(body, data, clock, staff)


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def _outbox(env: Env) -> list[dict[str, Any]]:
    return [row.to_json() for row in list_outbox(env.body.db)]


# --- the tests ------------------------------------------------------------------------------


def test_a_grant_mail_arrives_with_both_parts_and_the_share_link(env, smtp):
    number = env.grant(env.holder())
    (row,) = _outbox(env)
    assert (row["kind"], row["state"], row["number"]) == ("grant", "queued", number)
    assert smtp.messages == []  # queued, not sent: the worker sends
    # The share link is made when the mail goes: issuer.db never holds a share token in clear.
    stored = env.body.db.execute("SELECT text || html FROM mail_outbox").fetchone()[0]
    assert "/share/" not in stored
    assert env.body.db.execute("SELECT COUNT(*) FROM share_links").fetchone()[0] == 0

    report = env.send(smtp)
    assert report.sent == 1
    (message,) = smtp.messages
    assert message["To"] == "welder@example.org"
    assert message["Subject"] == f"Your certificate {number} from Example Certification Body"
    assert "Example Certification Body" in message["From"]
    text, html = _parts(message)
    share = next(w for w in text.split() if w.startswith("https://cb.example/share/"))
    assert f'<a href="{share}">' in html
    assert number in text and "Certified Welding Inspector" in text
    assert f"https://cb.example/c/{number}" in text
    # The holder's name is text, not markup; nothing remote in the HTML part.
    assert "Zofia Kowalska &lt;b&gt;" in html and "<img" not in html.lower()
    # The link is a real share link of this certificate: its page opens.
    assert sharing.open_share(env.body, share.rsplit("/", 1)[1]).certification.number == number
    assert _outbox(env)[0]["state"] == "sent"
    assert env.send(smtp).sent == 0  # sent once, never again
    assert len(smtp.messages) == 1


def test_the_body_s_logo_travels_inside_the_mail_not_fetched_from_a_server(env, smtp):
    """The HTML part shows the body's logo from a part of the mail itself (cid:), so opening
    the mail fetches nothing: no image a server could count opens with."""
    picture = io.BytesIO()
    Image.new("RGB", (300, 100), "navy").save(picture, format="PNG")
    set_logo(env.body, picture.getvalue())
    number = env.grant(env.holder())
    assert env.send(smtp).sent == 1
    (message,) = smtp.messages
    _, html = _parts(message)
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert sources == ["cid:body-logo@certreg"], sources
    (logo,) = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert logo["Content-ID"] == "<body-logo@certreg>"
    assert logo.get_content() == picture.getvalue()
    assert number in html


def test_a_suspension_mail_has_the_reason_and_the_deadline(env, smtp):
    number = env.grant(env.holder())
    deadline = env.clock.now.date() + timedelta(days=30)
    env.body.suspend(
        number,
        decided_by=env.staff["decider"],
        reason="complaint about a weld report under review",
        until=deadline.isoformat(),
    )
    env.send(smtp)
    assert [m["Subject"] for m in smtp.messages][1] == f"Your certificate {number} is suspended"
    text, html = _parts(smtp.messages[1])
    written = f"{deadline.day} {deadline:%B %Y}"
    for part in (text, html):
        assert "complaint about a weld report under review" in part and written in part


def test_each_decision_mails_the_holder_once(env, smtp):
    number = env.grant(env.holder())
    decider = env.staff["decider"]
    env.body.suspend(number, decided_by=decider, reason="r", until=env.clock.day(10))
    env.body.reinstate(number, decided_by=decider, reason="cleared")
    env.body.reduce_scope(number, decided_by=decider, remove=["VT2"], reason="no practice")
    env.body.extend_scope(number, decided_by=decider, add=[ScopeGrant("VT2")], evidence="e")
    env.body.withdraw(number, decided_by=decider, reason="misconduct")
    env.send(smtp)
    kinds = [row["kind"] for row in reversed(_outbox(env))]
    assert kinds == ["grant", "suspend", "reinstate", "reduce_scope", "extend_scope", "withdraw"]
    assert [m["Subject"] for m in smtp.messages] == [
        f"Your certificate {number} from Example Certification Body",
        f"Your certificate {number} is suspended",
        f"Your certificate {number} is valid again",
        f"The scope of your certificate {number} has been reduced",
        f"The scope of your certificate {number} has been extended",
        f"Your certificate {number} has been withdrawn",
    ]
    assert "Visual testing, level 2 (VT2)" in _parts(smtp.messages[3])[0]
    assert len({m["Message-ID"] for m in smtp.messages}) == 6


def test_the_same_event_never_queues_twice(env):
    env.grant(env.holder())
    (event,) = [e for e in audit.events(env.body.db) if e.kind == "decision_grant"]
    with transaction(env.body.db):
        assert queue_for_events(env.body, [event]) == 0
    assert len(_outbox(env)) == 1


def test_nothing_is_queued_for_a_person_without_email(env):
    env.grant(env.holder(email_address=None))
    assert _outbox(env) == []


def test_a_decision_that_rolls_back_queues_nothing(env):
    number = env.grant(env.holder())
    before = _outbox(env)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction(env.body.db):
        env.body.withdraw(number, decided_by=env.staff["decider"], reason="misconduct")
        assert len(_outbox(env)) == 2  # queued inside the transaction...
        raise Boom
    assert _outbox(env) == before  # ...and gone with it
    assert env.body.certification(number).status == "ACTIVE"


def test_a_refusing_server_fails_the_mail_after_the_attempts(env, smtp, monkeypatch):
    smtp.refuse_data = True
    env.grant(env.holder())
    first = env.send(smtp, max_attempts=3)
    assert (first.sent, first.retried) == (0, 1)
    assert env.send(smtp, max_attempts=3).retried == 0  # not due yet: backoff
    for minutes in (1, 2):
        env.clock.advance(minutes=minutes)
        env.send(smtp, max_attempts=3)
    (row,) = _outbox(env)
    assert (row["state"], row["attempts"]) == ("failed", 3)
    assert row["last_error"].startswith("554 5.7.1 message refused")
    env.clock.advance(days=1)
    assert env.send(smtp).sent == 0 and smtp.messages == []  # a failed mail stays failed

    monkeypatch.setattr(cli_common, "clock", env.clock)
    listed = CliRunner().invoke(main, ["mail", "list", "--failed", "--data", str(env.data)])
    assert listed.exit_code == 0, listed.output
    assert "failed" in listed.output and "554 5.7.1 message refused" in listed.output
    assert "welder@example.org" in listed.output


def test_a_refused_recipient_is_bounced_at_once(env, smtp):
    smtp.refuse_rcpt = True
    env.grant(env.holder())
    assert env.send(smtp).bounced == 1
    (row,) = _outbox(env)
    assert (row["state"], row["attempts"]) == ("bounced", 1)
    assert "550 5.1.1 no such mailbox" in row["last_error"]


def test_a_dropped_connection_is_retried_later_and_delivered(env, smtp):
    smtp.drops = 1
    env.grant(env.holder())
    assert env.send(smtp).retried == 1
    assert smtp.messages == []
    (row,) = _outbox(env)
    assert row["state"] == "queued" and row["last_error"]
    env.clock.advance(minutes=1)
    assert env.send(smtp).sent == 1
    assert len(smtp.messages) == 1
    assert _outbox(env)[0]["attempts"] == 2


def test_a_worker_killed_after_claiming_leaves_the_mail_to_the_next(env, smtp):
    env.grant(env.holder())

    def crash(settings: SmtpSettings, message: EmailMessage) -> None:
        raise KeyboardInterrupt  # the process dies mid-send (not an SMTP error)

    with pytest.raises(KeyboardInterrupt):
        env.send(smtp, send=crash)
    assert env.send(smtp).sent == 0  # claimed: another worker leaves it alone for the lease
    env.clock.advance(minutes=11)
    assert env.send(smtp).sent == 1
    assert len(smtp.messages) == 1


def test_the_cli_worker_sends_once_through_the_env_url(env, smtp, monkeypatch):
    env.grant(env.holder())
    monkeypatch.setenv("CERTREG_SMTP_URL", smtp.url.replace("smtp://", "smtp://u:s3cret@"))
    monkeypatch.setattr(cli_common, "clock", env.clock)
    # aiosmtpd offers no AUTH on a plain connection: a login attempt fails, and is retried.
    result = CliRunner().invoke(main, ["mail", "send", "--once", "--data", str(env.data)])
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output and "u:***@127.0.0.1" in result.output
    monkeypatch.setenv("CERTREG_SMTP_URL", smtp.url)
    env.clock.advance(minutes=2)
    result = CliRunner().invoke(main, ["mail", "send", "--once", "--data", str(env.data)])
    assert result.exit_code == 0, result.output
    assert "1 sent" in result.output and len(smtp.messages) == 1


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_starttls_with_a_self_signed_certificate(env, tmp_path):
    cert_path, key_path = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    handler = Recorder()
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True
    )
    controller.start()
    try:
        env.grant(env.holder())
        base = f"smtp://127.0.0.1:{controller.port}?starttls=1&timeout=5"
        # Without trusting the certificate, the worker refuses to talk (and retries later).
        untrusted = send_due(env.body, SmtpSettings.parse(base), now=env.clock)
        assert untrusted.retried == 1 and "CERTIFICATE_VERIFY_FAILED" in untrusted.errors[0]
        env.clock.advance(minutes=1)
        trusted = SmtpSettings.parse(f"{base}&cafile={cert_path}")
        assert send_due(env.body, trusted, now=env.clock).sent == 1
        assert len(handler.messages) == 1
    finally:
        controller.stop()


def test_smtp_settings_never_show_the_password():
    settings = SmtpSettings.parse("smtp://mailer:p%40ss@mail.example:587?starttls=1")
    assert (settings.username, settings.password, settings.tls) == ("mailer", "p@ss", "starttls")
    assert "p@ss" not in repr(settings) and "p@ss" not in settings.redacted()
    assert SmtpSettings.parse("smtps://mail.example").port == 465


def test_expiry_reminders_at_90_30_and_7_days_each_once(env, smtp, monkeypatch):
    number = env.grant(env.holder())
    until = date.fromisoformat(env.body.certification(number).valid_until)
    monkeypatch.setattr(cli_common, "clock", env.clock)

    def remind(*options: str) -> str:
        out = CliRunner().invoke(main, ["mail", "remind", "--data", str(env.data), *options])
        assert out.exit_code == 0, out.output
        return out.output

    assert "0 reminders queued" in remind()  # three years left
    for days_before, expected in ((100, 0), (90, 1), (89, 0), (30, 1), (7, 1), (3, 0)):
        env.clock.now = datetime.combine(until - timedelta(days=days_before), time(9), UTC)
        assert f"{expected} reminders queued" in remind(), days_before
        assert f"{expected} reminders queued" not in remind() or expected == 0  # once only
    env.send(smtp)
    reminders = [m for m in smtp.messages if "expires on" in m["Subject"]]
    assert len(reminders) == 3
    written = f"{until.day} {until:%B %Y}"
    assert reminders[0]["Subject"] == f"Your certificate {number} expires on {written}"
    assert "expires in 90 days" in _parts(reminders[0])[0]
    assert "expires in 7 days" in " ".join(_parts(reminders[2])[1].split())
    assert [e.kind for e in audit.events(env.body.db)].count("expiry_reminder") == 3


def test_a_recertification_mails_the_new_validity_and_restarts_the_reminders(env, smtp):
    number = env.grant(env.holder())
    until = date.fromisoformat(env.body.certification(number).valid_until)
    env.clock.now = datetime.combine(until - timedelta(days=20), time(9), UTC)
    assert queue_reminders(env.body) == 1
    env.body.recertify(number, decided_by=env.staff["decider"], evidence="surveillance 2029")
    renewed = date.fromisoformat(env.body.certification(number).valid_until)
    env.send(smtp)
    assert smtp.messages[-1]["Subject"] == f"Your certificate {number} has been renewed"
    assert f"{renewed.day} {renewed:%B %Y}" in _parts(smtp.messages[-1])[0]
    assert queue_reminders(env.body) == 0  # the new cycle is years away
    env.clock.now = datetime.combine(renewed - timedelta(days=20), time(9), UTC)
    assert queue_reminders(env.body) == 1  # the new cycle is reminded again


def test_a_worker_process_killed_mid_send_leaves_the_mail_to_the_next_and_it_arrives_once(
    env, smtp
):
    """`certreg mail send` in its own process, SIGKILLed while the server holds its DATA
    unanswered: the mail was never accepted; the next worker sends it after the lease."""
    started, release = threading.Event(), threading.Event()
    original = smtp.handle_DATA

    async def hold(server: Any, session: Any, envelope: Any) -> str:
        if not release.is_set():
            started.set()
            while not release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 the client went away"
        return await original(server, session, envelope)

    smtp.handle_DATA = hold  # type: ignore[method-assign]
    number = env.grant(env.holder())
    certreg = str(Path(sys.executable).parent / "certreg")
    command = [certreg, "mail", "send", "--once", "--lease", "1", "--data", str(env.data)]
    worker_env = {**os.environ, "CERTREG_SMTP_URL": smtp.url}
    worker = subprocess.Popen(command, env=worker_env, stderr=subprocess.PIPE)
    try:
        assert started.wait(30), "the worker never reached DATA"
        worker.kill()
        worker.wait(10)
    finally:
        release.set()
    (row,) = _outbox(env)
    assert (row["state"], row["attempts"]) == ("queued", 1)
    assert smtp.messages == []

    time_module.sleep(1.2)  # the lease of the killed worker is over
    again = subprocess.run(command, env=worker_env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    assert "1 sent" in again.stderr
    assert [m["Subject"] for m in smtp.messages] == [
        f"Your certificate {number} from Example Certification Body"
    ]
    assert _outbox(env)[0]["state"] == "sent"


def test_a_bulk_run_queues_each_holder_s_grant_mail_once(tmp_path: Path) -> None:
    """Bulk grants (the CLI's and the console's) mail like single ones: one grant mail per
    issued row with an e-mail address, none for a row without one, none again on a re-run."""
    from factories import HEADER, row, write_csv

    from certreg.issuer.bulk import issue_csv

    body = make_body(tmp_path / "cb")
    staff = add_staff(body, examiner=["officer"], decider=["decision_maker"])
    rows = [row(i, staff["examiner"]) for i in range(5)]
    rows[4] = row(4, staff["examiner"], email="")
    path = write_csv(tmp_path / "g.csv", rows, HEADER)
    for _ in range(2):  # the second run issues nothing, and queues nothing
        issue_csv(body, path, decided_by=staff["decider"], workers=0)
    queued = body.db.execute(
        "SELECT recipient, kind FROM mail_outbox ORDER BY recipient"
    ).fetchall()
    assert queued == [(f"c{i}@example.org", "grant") for i in range(4)]


# --- languages (issue 12 item 2) ----------------------------------------------------------------


def _language_holder(env: Env, language: str | None, address: str) -> str:
    person = env.body.add_person("Zofia Kowalska", email=address, language=language)
    env.body.record_assessment(
        person,
        "cwi",
        result="pass",
        assessed_on=env.clock.day(-1),
        examiners=[env.staff["examiner"]],
        scope_codes=["UT2", "VT2"],
    )
    return person


def _cli(env: Env, *args: str) -> str:
    out = CliRunner().invoke(main, [*args, "--data", str(env.data)])
    assert out.exit_code == 0, out.output
    return out.output


def test_a_german_holder_s_grant_and_reminder_arrive_in_german(env, smtp, monkeypatch):
    number = env.grant(_language_holder(env, "de", "schweisser@example.de"))
    until = date.fromisoformat(env.body.certification(number).valid_until)
    german_until = format_date(until, "de")  # e.g. "14. Januar 2029"
    assert german_until.split()[1] not in ("January", "February", "March")  # a German month
    env.send(smtp)
    (grant,) = smtp.messages
    assert grant["Subject"] == f"Ihr Zertifikat {number} von Example Certification Body"
    text, html = _parts(grant)
    for part in (text, html):
        assert "Guten Tag Zofia Kowalska," in part
        assert "hat Ihnen die Zertifizierung" in part and "erteilt" in part
        assert f"gültig bis {german_until}" in part
        assert "Dear" not in part and "granted" not in part
    assert '<html lang="de">' in html
    # The links open the holder's pages in German; the share link is a working one.
    share = next(w for w in text.split() if w.startswith("https://cb.example/share/"))
    assert share.endswith("?lang=de") and f'<a href="{share}">' in html
    token = share.removeprefix("https://cb.example/share/").removesuffix("?lang=de")
    assert sharing.open_share(env.body, token).certification.number == number
    assert f"https://cb.example/c/{number}?lang=de" in text

    monkeypatch.setattr(cli_common, "clock", env.clock)
    env.clock.now = datetime.combine(until - timedelta(days=30), time(9), UTC)
    assert "1 reminders queued" in _cli(env, "mail", "remind")
    env.send(smtp)
    reminder = smtp.messages[-1]
    assert reminder["Subject"] == f"Ihr Zertifikat {number} läuft am {german_until} ab"
    text, html = _parts(reminder)
    words = " ".join(text.split())  # the text part's lines end in CRLF on the wire
    assert f"läuft in 30 Tagen ab, am {german_until}. Nach diesem Tag" in words
    assert f"läuft in 30 Tagen ab, am <strong>{german_until}</strong>" in " ".join(html.split())
    unsubscribe = next(w for w in text.split() if "/mail/unsubscribe/" in w)
    assert unsubscribe.endswith("?lang=de")
    assert "Erinnerungen abbestellen</a>" in html
    # The one-click header is the link itself (a client POSTs to it; no language needed).
    assert reminder["List-Unsubscribe"] == f"<{unsubscribe.removesuffix('?lang=de')}>"


def test_a_spanish_holder_s_suspension_arrives_in_spanish(env, smtp):
    number = env.grant(_language_holder(env, "es", "soldador@example.es"))
    deadline = env.clock.now.date() + timedelta(days=30)
    env.body.suspend(
        number,
        decided_by=env.staff["decider"],
        reason="queja sobre un informe de soldadura",
        until=deadline.isoformat(),
    )
    env.send(smtp)
    suspension = smtp.messages[1]
    assert suspension["Subject"] == f"Su certificado {number} está suspendido"
    text, html = _parts(suspension)
    spanish_deadline = format_date(deadline, "es")  # "27 de diciembre de 2026"
    assert " de " in spanish_deadline
    for part in (text, html):
        assert "Estimado/a Zofia Kowalska:" in part
        assert "ha suspendido su certificado" in part
        assert "queja sobre un informe de soldadura" in part
        assert spanish_deadline in part
    assert "Motivo: queja" in text and "<strong>Motivo:</strong> queja" in html
    assert '<html lang="es">' in html


def test_a_person_without_a_language_gets_the_body_s_default(env, smtp, monkeypatch):
    monkeypatch.setattr(cli_common, "clock", env.clock)
    assert "English (en)" in _cli(env, "mail", "language")  # the default default
    assert "Français (fr)" in _cli(env, "mail", "language", "FR")
    number = env.grant(_language_holder(env, None, "soudeur@example.fr"))
    env.send(smtp)
    assert smtp.messages[0]["Subject"] == (
        f"Votre certificat {number} délivré par Example Certification Body"
    )
    # The person's own language wins from the next mail on; a queued mail keeps its own.
    decider = env.staff["decider"]
    env.body.suspend(number, decided_by=decider, reason="r", until=env.clock.day(10))
    person = env.body.certification(number).person_id
    assert "in de" in _cli(env, "person", "language", person, "de")
    env.body.reinstate(number, decided_by=decider, reason="cleared")
    env.send(smtp)
    assert [m["Subject"] for m in smtp.messages[1:]] == [
        f"Votre certificat {number} est suspendu",
        f"Ihr Zertifikat {number} ist wieder gültig",
    ]
    # Back to the body's default, and refusals in words.
    assert "default language" in _cli(env, "person", "language", person, "default")
    assert env.body.db.execute("SELECT language FROM persons").fetchone() == (None,)
    bad = CliRunner().invoke(main, ["mail", "language", "pl", "--data", str(env.data)])
    assert bad.exit_code != 0 and "pl" in bad.output


def test_english_mail_is_written_as_before_for_an_english_holder(env, smtp):
    """A holder who chose English gets the English mail, links without ?lang= (as before)."""
    number = env.grant(_language_holder(env, "en", "welder@example.org"))
    env.send(smtp)
    (grant,) = smtp.messages
    assert grant["Subject"] == f"Your certificate {number} from Example Certification Body"
    text, html = _parts(grant)
    assert "?lang=" not in text and '<html lang="en">' in html


def test_the_v13_migration_gives_existing_persons_no_language_so_the_body_s_default(env, smtp):
    """An issuer.db made before holders' languages (the column dropped again): its persons
    come through with none, and their mail is written in the body's default language."""
    person = env.holder()
    conn = env.body.db.conn
    before = issuer_db.MIGRATIONS.index(issuer_db._V13)  # the version just before V13
    undo_migrations_after(conn, before)
    assert "language" not in {c[1] for c in conn.execute("PRAGMA table_info(persons)")}
    assert issuer_db.migrate(env.body.db) == before
    assert conn.execute("SELECT language FROM persons WHERE id = ?", [person]).fetchone() == (None,)
    set_default_language(env.body.db, "es", env.body._now())
    number = env.grant(person)
    env.send(smtp)
    assert smtp.messages[0]["Subject"].startswith(f"Su certificado {number} de ")

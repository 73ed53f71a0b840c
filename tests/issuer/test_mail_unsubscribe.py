"""Holders unsubscribe from expiry reminders, never from decisions (docs/mail.md): the link
and the RFC 8058 headers in a reminder delivered by a real SMTP server on 127.0.0.1 (aiosmtpd),
the page behind the link on ``certreg serve``'s app, and ``certreg mail remind`` after."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from factories import Clock, add_staff, free_port, make_body
from fastapi.testclient import TestClient

from certreg.issuer import audit
from certreg.issuer.cli import common as cli_common
from certreg.issuer.cli import main
from certreg.issuer.http import create_app
from certreg.issuer.mail import SmtpSettings, send_due
from certreg.issuer.service import ScopeGrant
from certreg.register.web.redact import redact_path


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps what it accepts."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


@dataclass
class World:
    body: Any
    data: Path
    clock: Clock
    staff: dict[str, str]
    smtp: Recorder
    settings: SmtpSettings
    number: str = ""

    def send(self) -> None:
        send_due(self.body, self.settings, now=self.clock)

    def remind(self) -> str:
        out = CliRunner().invoke(main, ["mail", "remind", "--data", str(self.data)])
        assert out.exit_code == 0, out.output
        return out.output

    def client(self) -> TestClient:
        return TestClient(create_app(self.body), raise_server_exceptions=False)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    monkeypatch.setattr(cli_common, "clock", clock)
    data = tmp_path / "data"
    body = make_body(data, clock=clock)
    staff = add_staff(body, examiner=["officer"], decider=["decision_maker"])
    settings = SmtpSettings.parse(f"smtp://127.0.0.1:{controller.port}?timeout=5")
    w = World(body, data, clock, staff, handler, settings)
    person = body.add_person("Zofia Kowalska", email="welder@example.org")
    body.record_assessment(
        person,
        "cwi",
        result="pass",
        assessed_on=clock.day(-1),
        examiners=[staff["examiner"]],
        scope_codes=["UT2", "VT2"],
    )
    w.number = body.grant(
        person, "cwi", [ScopeGrant("UT2", "steel")], decided_by=staff["decider"], evidence="e"
    ).number
    yield w
    controller.stop()


def _a_reminder(world: World, days_before: int = 30) -> EmailMessage:
    """Move the clock to ``days_before`` the end of validity, remind, send: the reminder."""
    until = date.fromisoformat(world.body.certification(world.number).valid_until)
    world.clock.now = datetime.combine(until - timedelta(days=days_before), time(9), UTC)
    assert "1 reminders queued" in world.remind()
    world.send()
    message = world.smtp.messages[-1]
    assert message["List-Unsubscribe"]  # a reminder, in whatever language
    return message


def _link(message: EmailMessage) -> tuple[str, str, str]:
    """(URL, text part, HTML part) of a reminder's unsubscribe link."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    text_part, html_part = text.get_content(), html.get_content()
    url = next(w for w in text_part.split() if "/mail/unsubscribe/" in w)
    return url, text_part, html_part


def _opt_outs(world: World) -> list[tuple[str, str]]:
    return world.body.db.execute("SELECT person_id, opted_out_at FROM mail_opt_outs").fetchall()


def test_a_reminder_carries_the_unsubscribe_link_and_the_one_click_headers(world):
    message = _a_reminder(world)
    url, _text, html = _link(message)
    assert url.startswith("https://cb.example/mail/unsubscribe/")
    assert f'<a href="{url}">' in html
    assert message["List-Unsubscribe"] == f"<{url}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The grant's mail (a decision) has neither: decisions cannot be unsubscribed from.
    grant = world.smtp.messages[0]
    assert "expires on" not in grant["Subject"] and grant["List-Unsubscribe"] is None
    assert "/mail/unsubscribe/" not in grant.get_body(preferencelist=("plain",)).get_content()


def test_the_token_is_stored_only_as_its_sha256_and_never_logged(world):
    url, _, _ = _link(_a_reminder(world))
    token = url.rsplit("/", 1)[1]
    db = world.body.db
    for table in ("mail_outbox", "mail_unsubscribe_tokens", "events"):
        rows = db.execute(f"SELECT * FROM {table}").fetchall()
        assert rows and token not in repr(rows), table
    # Everything issuer.db holds, as bytes on disk, does not hold it either.
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert token.encode() not in (world.data / "issuer.db").read_bytes()
    (stored,) = db.execute("SELECT token_hash FROM mail_unsubscribe_tokens").fetchone()
    assert len(stored) == 64 and stored != token
    assert token not in redact_path(f"/mail/unsubscribe/{token}")
    assert token not in redact_path(f"/login?next=/mail/unsubscribe/{token}")


def test_get_changes_nothing_and_post_opts_out_then_remind_skips_but_decisions_still_mail(world):
    url, _, _ = _link(_a_reminder(world, days_before=90))
    path = url.removeprefix("https://cb.example")
    client = world.client()
    events = len(list(audit.events(world.body.db)))

    page = client.get(path)  # what a mail scanner following the link does
    assert page.status_code == 200
    assert "Stop expiry reminders?" in page.text and 'method="post"' in page.text
    assert "still told of any decision" in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert _opt_outs(world) == [] and len(list(audit.events(world.body.db))) == events

    done = client.post(path)  # the page's button
    assert done.status_code == 200 and "Unsubscribed" in done.text
    ((person, at),) = _opt_outs(world)
    assert at == world.body._now()
    event = list(audit.events(world.body.db))[-1]
    assert (event.kind, event.actor, event.subject) == ("mail_unsubscribed", None, person)
    # Twice is harmless: one opt-out, one event; the GET now says it is done.
    assert client.post(path).status_code == 200
    assert [e.kind for e in audit.events(world.body.db)].count("mail_unsubscribed") == 1
    assert "Already unsubscribed" in client.get(path).text

    # The next threshold (30 days) would remind: nothing is queued for this person.
    until = date.fromisoformat(world.body.certification(world.number).valid_until)
    world.clock.now = datetime.combine(until - timedelta(days=30), time(9), UTC)
    assert "0 reminders queued" in world.remind()
    # A decision still mails them.
    world.body.suspend(
        world.number,
        decided_by=world.staff["decider"],
        reason="complaint",
        until=world.clock.day(9),
    )
    sent = len(world.smtp.messages)
    world.send()
    assert [m["Subject"] for m in world.smtp.messages[sent:]] == [
        f"Your certificate {world.number} is suspended"
    ]


def test_a_one_click_post_from_a_mail_client_opts_out(world):
    message = _a_reminder(world)
    url = message["List-Unsubscribe"].strip("<>")
    # RFC 8058 §3.1: the client POSTs this body, as a form, without cookies or a Referer.
    done = world.client().post(
        url.removeprefix("https://cb.example"),
        content=message["List-Unsubscribe-Post"].encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200, done.text
    assert "no more expiry reminders" in done.text
    assert len(_opt_outs(world)) == 1
    # As multipart/form-data, as RFC 8058 also allows: the same, already done.
    again = world.client().post(
        url.removeprefix("https://cb.example"), files={"List-Unsubscribe": (None, "One-Click")}
    )
    assert again.status_code == 200 and len(_opt_outs(world)) == 1


def test_an_unknown_token_is_a_404_in_words_and_opts_nobody_out(world):
    _a_reminder(world)
    client = world.client()
    for path in ("/mail/unsubscribe/" + "A" * 43, "/mail/unsubscribe/not-a-token!"):
        page = client.get(path)
        assert page.status_code == 404 and "Link not found" in page.text
        assert client.post(path).status_code == 404
    assert _opt_outs(world) == []


def test_guessing_tokens_is_rate_limited(world):
    client = world.client()
    answers = [client.post("/mail/unsubscribe/" + f"{i:043d}").status_code for i in range(40)]
    assert answers[0] == 404 and answers[-1] == 429


def test_the_pages_speak_the_reminder_s_language_or_the_browser_s(world):
    """A German holder's reminder links to the German page (?lang=de), whose button answers in
    German; without ?lang= the browser's Accept-Language decides; English stays the default."""
    person = world.body.certification(world.number).person_id
    world.body.set_language(person, "de")
    url, _, _ = _link(_a_reminder(world))
    assert url.endswith("?lang=de")
    path = url.removeprefix("https://cb.example")
    client = world.client()

    page = client.get(path)
    assert page.status_code == 200 and '<html lang="de">' in page.text
    assert "Keine Ablauferinnerungen mehr?" in page.text
    assert "Erinnerungen abbestellen</button>" in page.text
    assert 'action="/mail/unsubscribe/' in page.text and '?lang=de"' in page.text
    action = page.text.split('action="', 1)[1].split('"', 1)[0]
    done = client.post(action)
    assert done.status_code == 200 and "<h1>Abgemeldet</h1>" in done.text
    since = world.clock.now.date()
    assert f"(seit {since.day}." in done.text  # "seit 2. März 2026": a German date

    bare = path.removesuffix("?lang=de")
    spanish = client.get(bare, headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"})
    assert '<html lang="es">' in spanish.text and "Ya se ha dado de baja" in spanish.text
    english = client.get(bare)
    assert '<html lang="en">' in english.text and "Already unsubscribed" in english.text
    unknown = client.get("/mail/unsubscribe/" + "x" * 43 + "?lang=fr")
    assert unknown.status_code == 404 and "Lien introuvable" in unknown.text

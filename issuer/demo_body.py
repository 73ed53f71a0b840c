"""A demonstration certification body with certificates in every state.

Two schemes (one listed in a public directory, one found by certificate number only), staff who
examine and staff who decide, and about a thousand holders whose certificates went through the
whole ISO/IEC 17024 lifecycle: granted at different times, some suspended, reinstated,
withdrawn, reduced in scope, recertified, and expired. Time is real for the decisions: the
body's clock starts years back and moves forward, so that expiry happens the one way it may,
automatically, when validity ends. Every decision goes through the same service and rules as
a real body's.

The staff can sign in to the console (``/console/login``) at once: each is enrolled through the
console's own functions (:mod:`issuer.console.accounts`, as an enrolment link would) with a
password and TOTP secret known in advance (:data:`DEMO_ACCOUNTS`), which ``certreg demo``
prints. The body is marked as a demo (the :data:`DEMO_SETTING` setting), so that the console's
sign-in page says these are demo accounts. Never do this with a real body: a real person's
password and second factor are theirs alone.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp

from certreg.issuer.bulk import issue_csv
from certreg.issuer.console import accounts
from certreg.issuer.db import transaction
from certreg.issuer.register_push import attach
from certreg.issuer.service import CertificationBody
from certreg.verifier.issuing import format_datetime

FIRST_NAMES = (
    "Ana Ben Chloé Dmitri Eva Farid Greta Hiro Ines Jonas Kofi Lena Mateo Nora Olu Priya "
    "Quentin Rosa Sven Tariq Uma Viktor Wen Ximena Yusuf Zofia"
).split()
LAST_NAMES = (
    "Almeida Berger Costa Dubois Eriksen Fischer García Haddad Ivanova Jansen Kowalski "
    "Laurent Müller Nakamura Okafor Petrov Quispe Rossi Schmidt Takahashi Ueda Virtanen "
    "Weber Xu Yilmaz Zhang"
).split()


#: The body setting that marks a demo body (the console's sign-in page reads it).
DEMO_SETTING = "demo_body"


@dataclass(frozen=True)
class DemoAccount:
    """A demo staff member's console sign-in, printed by ``certreg demo``: demo only."""

    login: str  # the staff member's name, which the sign-in form takes
    roles: tuple[str, ...]
    password: str  # passes the console's password policy (length, common, not the name)
    totp_secret: str  # base32, 160 bits, as an authenticator app reads it


#: The examiner (an officer), a decision-maker, and a decision-maker who is also the admin.
DEMO_ACCOUNTS = (
    DemoAccount(
        "Erik Examiner", ("officer",), "ultrasonic probe demo 7", "DEMOERIKEXAMINERTOTPSECRETONLY22"
    ),
    DemoAccount(
        "Dana Decider",
        ("decision_maker",),
        "granted with reasons 17024",
        "DEMODANADECIDERTOTPSECRETONLY222",
    ),
    DemoAccount(
        "Sam Second",
        ("decision_maker", "admin"),
        "impartial by design demo",
        "DEMOSAMSECONDTOTPSECRETONLY22222",
    ),
)


@dataclass
class DemoBody:
    data: Path
    passphrase: str
    numbers: dict[str, list[str]]  # state -> certificate numbers, for the printed tour
    accounts: tuple[DemoAccount, ...] = ()  # the console sign-ins, for the printed tour


class _Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def build_demo(
    data: Path,
    *,
    public_url: str,
    passphrase: str,
    holders: int = 1000,
    progress: Callable[[str], None] = lambda _: None,
    seed: int = 17024,
) -> DemoBody:
    """Create the demo body in ``data`` (which must not hold a body yet)."""
    real_now = datetime.now(UTC).replace(microsecond=0)
    clock = _Clock(real_now - timedelta(days=4 * 365 + 30))
    rng = random.Random(seed)
    body = CertificationBody.init(
        data,
        legal_name="Demo Certification Body",
        public_url=public_url,
        passphrase=passphrase,
        did_method="key",  # verifiable offline: a did:web body needs its HTTPS address
        accreditation_body="Demo Accreditation Service",
        accreditation_number="D-ZE-00000-00-00",
        country="DE",
        kdf="interactive",
        clock=clock,
    )
    # The demo's register.db is fed as a real body's is, change by change.
    attach(body)("body")
    progress("body created")
    body.add_scheme(
        "cwi",
        code="CWI",
        name="Certified Welding Inspector",
        description="Inspection of fusion welds in steel structures before, during and "
        "after welding.",
        prerequisites="Two years of welding practice; vision test.",
        process="Written examination (60 questions) and practical examination on test pieces.",
        appeals="Appeals within 30 days to the appeals committee; complaints at any time.",
        normative_reference="ISO 9712:2021",
        normative_reference_url="https://www.iso.org/standard/74629.html",
        validity_months=36,
        max_suspension_days=180,
        publication_policy="directory",
        scope=[
            ("UT2", "Ultrasonic testing, level 2", "2"),
            ("VT2", "Visual testing, level 2", "2"),
            ("MT2", "Magnetic particle testing, level 2", "2"),
        ],
        accredited=True,
        # Shown to readers of the register in their language; certificates keep the name above.
        names={
            "de": "Zertifizierte Schweißaufsichtsperson",
            "fr": "Inspecteur en soudage certifié",
            "es": "Inspector de soldadura certificado",
        },
        descriptions={
            "de": "Prüfung von Schmelzschweißungen an Stahlkonstruktionen vor, während und "
            "nach dem Schweißen.",
            "fr": "Contrôle des soudures par fusion des structures en acier avant, pendant et "
            "après le soudage.",
            "es": "Inspección de soldaduras por fusión en estructuras de acero antes, durante y "
            "después del soldeo.",
        },
    )
    body.add_scheme(
        "isa",
        code="ISA",
        name="Information Security Auditor",
        description="Audits of information security management systems.",
        prerequisites="Four years of professional experience, two in information security.",
        process="Written examination and a witnessed audit.",
        appeals="Appeals within 30 days to the appeals committee.",
        normative_reference="ISO/IEC 27006-1:2024",
        validity_months=24,
        max_suspension_days=90,
        publication_policy="number_lookup",
        scope=[("ISMS", "ISMS audits"), ("LEAD", "Lead auditor")],
        names={
            "de": "Auditor für Informationssicherheit",
            "es": "Auditor de seguridad de la información",
        },
    )
    examiner, decider, second = (
        body.add_staff(account.login, roles=list(account.roles)) for account in DEMO_ACCOUNTS
    )
    progress("schemes and staff added")

    # Three cohorts: four years ago (their 24- and 36-month certificates have expired), a
    # year and a half ago, and this month.
    cohorts = [
        (clock.now, holders // 4),
        (real_now - timedelta(days=620), holders // 3),  # 24-month ones: renewable now
        (real_now - timedelta(days=20), holders - holders // 4 - holders // 3),
    ]
    numbers: dict[str, list[str]] = {}
    row = 0
    for start, size in cohorts:
        clock.now = start
        path = data / f"cohort-{row}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                ["external_id", "full_name", "email", "consent_publish", "scheme", "scope",
                 "assessed_on", "examiner", "evidence"]
            )  # fmt: skip
            for _ in range(size):
                row += 1
                scheme = "cwi" if rng.random() < 0.7 else "isa"
                codes = ["UT2", "VT2", "MT2"] if scheme == "cwi" else ["ISMS", "LEAD"]
                scope = ";".join(rng.sample(codes, rng.randint(1, len(codes))))
                name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
                writer.writerow(
                    [f"demo-{row}", name, f"holder{row}@example.org",
                     "1" if rng.random() < 0.8 else "0", scheme, scope,
                     (start - timedelta(days=7)).date().isoformat(), examiner,
                     "written and practical examination"]
                )  # fmt: skip
        report = issue_csv(body, path, decided_by=decider, workers=0)
        path.unlink()
        if report.errors:
            raise RuntimeError(f"demo data refused: {report.errors[:3]}")
        progress(f"{report.issued} certificates granted on {start.date().isoformat()}")

    # A year of decisions on the middle cohort, then on the recent one.
    active = [
        n
        for (n,) in body.db.execute(
            "SELECT number FROM certifications WHERE status = 'ACTIVE' ORDER BY number"
        )
    ]
    rng.shuffle(active)
    clock.now = real_now - timedelta(days=200)
    # As the body's daily cron job would have, all along.
    numbers.setdefault("expired", []).extend(body.expire_due())
    live = {
        n for (n,) in body.db.execute("SELECT number FROM certifications WHERE status = 'ACTIVE'")
    }
    pool = [n for n in active if n in live]

    def take(count: int, fits: Callable[[str], bool] = lambda n: True) -> list[str]:
        """Up to ``count`` certifications of the pool that ``fits`` allows, taken out of it:
        each decision below needs one in a given state, and a small demo must still get one of
        each (taking the next ones blindly left a 10-holder demo without a suspension now and
        then)."""
        chosen: list[str] = []
        for number in pool:
            if len(chosen) == count:
                break
            if fits(number):
                chosen.append(number)
        for number in chosen:
            pool.remove(number)
        return chosen

    for number in take(max(1, holders // 50)):
        body.withdraw(number, decided_by=second, reason="misuse of the certificate")
        numbers.setdefault("withdrawn", []).append(number)
    for number in take(max(1, holders // 40)):
        body.suspend(
            number, decided_by=decider, reason="surveillance overdue", until=_day(clock.now, 60)
        )
        numbers.setdefault("suspended then reinstated", []).append(number)
    clock.now += timedelta(days=30)
    for number in numbers["suspended then reinstated"]:
        body.reinstate(number, decided_by=second, reason="surveillance passed")

    def held(number: str) -> list[str]:
        return [s["code"] for s in body.certification(number).scope if s["status"] == "active"]

    # Only a certification holding two or more scope items can lose one.
    for number in take(max(1, holders // 60), lambda n: len(held(n)) > 1):
        body.reduce_scope(number, decided_by=decider, remove=held(number)[:1], reason="no practice")
        numbers.setdefault("reduced in scope", []).append(number)
    clock.now = real_now - timedelta(days=10)
    numbers["expired"].extend(body.expire_due())
    live = {
        n for (n,) in body.db.execute("SELECT number FROM certifications WHERE status = 'ACTIVE'")
    }
    decided = {n for kind in numbers.values() for n in kind}
    # A demo without a suspended certificate would show one verdict less: should the pool be
    # used up (a very small demo), any certification still in force will do.
    suspend = take(max(1, holders // 25), lambda n: n in live) or sorted(live - decided)[:1]
    for number in suspend:
        body.suspend(
            number, decided_by=decider, reason="complaint under review", until=_day(clock.now, 60)
        )
        numbers.setdefault("suspended", []).append(number)
    clock.now = real_now
    renewable = [
        n
        for (n,) in body.db.execute(
            "SELECT number FROM certifications WHERE status = 'ACTIVE' AND valid_until < ? "
            "ORDER BY valid_until LIMIT ?",
            [_day(real_now, 150), max(1, holders // 50)],
        )
    ]
    for number in renewable:
        body.recertify(number, decided_by=decider, evidence="recertification examination")
        numbers.setdefault("recertified", []).append(number)
    numbers["expired"].extend(body.expire_due())
    numbers["valid"] = [
        n
        for (n,) in body.db.execute(
            "SELECT number FROM certifications WHERE status = 'ACTIVE' LIMIT 5"
        )
    ]
    progress("decisions taken: " + ", ".join(f"{len(v)} {k}" for k, v in numbers.items()))
    # Lists signed on the way are dated in the past and have lapsed: sign them all now, as the
    # hourly refresh of `certreg serve` would.
    with transaction(body.db):
        for (list_id,) in body.db.execute("SELECT id FROM status_lists").fetchall():
            body.status_lists.publish(list_id)
    _enrol_demo_staff(body, [examiner, decider, second])
    progress("console accounts enrolled for " + ", ".join(a.login for a in DEMO_ACCOUNTS))
    body.db.conn.close()
    return DemoBody(data, passphrase, numbers, DEMO_ACCOUNTS)


def _enrol_demo_staff(body: CertificationBody, staff_ids: list[str]) -> None:
    """Mark the body as a demo and enrol each demo staff member in the console, as their
    enrolment link would (an audit event each), with the known password and TOTP secret.

    The code that confirms the secret is the previous time step's: a code is accepted once
    per step, so one of the current step would refuse the first sign-in made within the same
    30 seconds (as a test, or a quick reader, does)."""
    now = body.clock()
    with transaction(body.db):
        body.db.table("settings").upsert(
            {"key": DEMO_SETTING, "value": "1", "updated_at": format_datetime(now)}, pk="key"
        )
    for staff_id, account in zip(staff_ids, DEMO_ACCOUNTS, strict=True):
        link = accounts.create_enrolment(body, staff_id, actor=None)
        earlier = pyotp.TOTP(account.totp_secret).at(now - timedelta(seconds=30))
        accounts.complete_enrolment(
            body, link.token, password=account.password, totp_secret=account.totp_secret,
            code=earlier,
        )  # fmt: skip


def _day(moment: datetime, days: int) -> str:
    return (moment + timedelta(days=days)).date().isoformat()

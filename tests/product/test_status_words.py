"""One status vocabulary: a certificate's status reads the same on its public page, its PDF,
its holder's share page and in the verifier's answer (verifier/standing.py).

The table pins the words for every state, the first and last second of validity included; the
journey test follows three real certifications (a future-dated grant that later loses a scope
item and expires, a suspension, a withdrawal) through every surface and checks they agree.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pypdf
import pytest
from fastapi.testclient import TestClient
from register_support import PASSPHRASE, Body, add_holder, grant, make_body

from certreg.issuer import sharing
from certreg.issuer.http import create_app
from certreg.register.pages import outcome_of, render_certificate
from certreg.register.pdf import certificate_pdf
from certreg.register.records import connect_readonly, find_certificate, read_body
from certreg.verifier import Verifier
from certreg.verifier.standing import (
    CertificateRecord,
    Policy,
    ScopeLine,
    Standing,
    Status,
    headline,
    plain_date,
    standing_of,
    words,
)

# --- the table --------------------------------------------------------------------------------

FROM, UNTIL = "2026-03-10", "2029-03-09"  # first and last valid day, as issuer.db keeps them


def _record(
    status: str, since: str = "2027-05-04", scope: tuple[ScopeLine, ...] = ()
) -> CertificateRecord:
    return CertificateRecord(
        number="CWI-0000-0000-0", holder_name="Jane Doe", scheme_id="cwi", scheme_code="CWI",
        scheme_name="Certified Welding Inspector", status=status, status_since=since,
        valid_from=FROM, valid_until=UNTIL, scope=scope,
    )  # fmt: skip


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


REDUCED = (
    ScopeLine("UT2", "Ultrasonic testing, level 2", "steel", "active", "2026-03-10"),
    ScopeLine("VT2", "Visual testing, level 2", None, "removed", "2027-01-05"),
)

TABLE = [
    # (recorded status, status since, now, headline, css)
    ("ACTIVE", FROM, "2026-03-02T09:00:00Z", "NOT YET VALID: from 10 March 2026", "not_yet_valid"),
    ("ACTIVE", FROM, "2026-03-09T23:59:59Z", "NOT YET VALID: from 10 March 2026", "not_yet_valid"),
    ("ACTIVE", FROM, "2026-03-10T00:00:00Z", "VALID until 9 March 2029", "valid"),
    ("ACTIVE", FROM, "2027-07-01T12:00:00Z", "VALID until 9 March 2029", "valid"),
    # The last valid day, to its last second; then the first day after it.
    ("ACTIVE", FROM, "2029-03-09T23:59:59Z", "VALID until 9 March 2029", "valid"),
    ("ACTIVE", FROM, "2029-03-10T00:00:00Z", "EXPIRED on 9 March 2029", "expired"),
    # Recorded as expired by the expiry job (status since the first day after): same date.
    ("EXPIRED", "2029-03-10", "2029-04-01T08:00:00Z", "EXPIRED on 9 March 2029", "expired"),
    ("SUSPENDED", "2027-05-04", "2027-06-01T08:00:00Z", "SUSPENDED since 4 May 2027", "suspended"),
    # A suspension outranks an effective date still ahead; expiry outranks a suspension.
    ("SUSPENDED", "2026-03-05", "2026-03-06T08:00Z", "SUSPENDED since 5 March 2026", "suspended"),
    ("SUSPENDED", "2027-05-04", "2029-03-10T00:00:00Z", "EXPIRED on 9 March 2029", "expired"),
    ("WITHDRAWN", "2027-05-04T10:00Z", "2027-06-01T08:00Z", "WITHDRAWN on 4 May 2027", "withdrawn"),
    # Withdrawal is final: it is not turned into an expiry later, nor undone by a future start.
    ("WITHDRAWN", "2027-05-04", "2030-01-01T00:00:00Z", "WITHDRAWN on 4 May 2027", "withdrawn"),
    ("WITHDRAWN", "2026-03-05", "2026-03-06T00:00:00Z", "WITHDRAWN on 5 March 2026", "withdrawn"),
]  # fmt: skip


@pytest.mark.parametrize("status,since,now,expected,css", TABLE)
def test_headline_words_for_every_state(
    status: str, since: str, now: str, expected: str, css: str
) -> None:
    line = headline(_record(status, since), _at(now))
    assert (line.text, line.css) == (expected, css)


def test_reduced_scope_is_still_valid_with_its_expiry_date() -> None:
    # Reducing the scope changes what is certified, not the status: the page shows the removed
    # item in its scope table, the headline stays the same.
    line = headline(_record("ACTIVE", scope=REDUCED), _at("2027-02-01T08:00:00Z"))
    assert (line.text, line.standing) == ("VALID until 9 March 2029", Standing.VALID)


def test_a_day_means_the_whole_day_and_a_date_means_its_first_second() -> None:
    # The PDF prints "as of a day": valid on its last valid day, expired the day after.
    assert headline(_record("ACTIVE"), date(2029, 3, 9)).text == "VALID until 9 March 2029"
    assert headline(_record("ACTIVE"), date(2029, 3, 10)).text == "EXPIRED on 9 March 2029"
    assert headline(_record("ACTIVE"), date(2026, 3, 10)).text == "VALID until 9 March 2029"
    assert headline(_record("ACTIVE"), date(2026, 3, 9)).standing is Standing.NOT_YET_VALID


def test_signed_instants_read_as_the_stored_days() -> None:
    # What the credential says (instants) and what the databases keep (days) give one date;
    # an instant in another offset is dated in UTC, as it was signed.
    signed = {"valid_from": "2026-03-10T00:00:00Z", "valid_until": "2029-03-09T23:59:59Z"}
    assert words(Standing.VALID, **signed) == "VALID until 9 March 2029"
    assert words(Standing.EXPIRED, **signed) == "EXPIRED on 9 March 2029"
    assert words(Standing.NOT_YET_VALID, **signed) == "NOT YET VALID: from 10 March 2026"
    assert words("VALID", valid_until="2029-03-10T01:00:00+02:00") == "VALID until 9 March 2029"
    assert standing_of("ACTIVE", **signed, now=_at("2029-03-09T23:59:59Z")) is Standing.VALID
    assert standing_of("ACTIVE", **signed, now=_at("2029-03-10T00:00:00Z")) is Standing.EXPIRED


def test_dates_a_verifier_cannot_know_are_left_out_not_guessed() -> None:
    assert words(Standing.SUSPENDED) == "SUSPENDED"
    assert words(Standing.WITHDRAWN) == "WITHDRAWN"
    assert words(Standing.VALID) == "VALID"
    assert words(Standing.EXPIRED) == "EXPIRED"


def test_an_unknown_status_is_shown_as_it_is() -> None:
    line = headline(_record("PENDING"), _at("2027-01-01T00:00:00Z"))
    assert (line.text, line.css, line.standing) == ("STATUS PENDING", "unknown", None)


def test_the_names_match_what_the_databases_and_the_verifier_use() -> None:
    from certreg.issuer.service import POLICIES as ISSUER_POLICIES
    from certreg.register.push import POLICIES as REGISTER_POLICIES
    from certreg.verifier.result import Verdict

    assert [p.value for p in Policy] == list(REGISTER_POLICIES) == list(ISSUER_POLICIES)
    assert {s.value for s in Standing} <= {v.value for v in Verdict}
    assert {s.value for s in Status} == {"ACTIVE", "SUSPENDED", "WITHDRAWN", "EXPIRED"}


# --- one certification, every surface -------------------------------------------------------

STATUS_LINE = re.compile(r'<p class="status [a-z_]+"[^>]*>([^<]*)</p>')


def _pdf_status(data: bytes) -> str:
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)
    found = re.search(r"Status when printed\s*(.*?) \(printed", text, re.S)
    assert found, text
    return " ".join(found.group(1).split())


class Surfaces:
    """The four readings of one certificate at the body's clock."""

    def __init__(self, b: Body) -> None:
        self.b = b
        self.client = TestClient(create_app(b.body, passphrase=PASSPHRASE))
        self.tokens: dict[str, str] = {}

    def read(self, number: str) -> dict[str, str]:
        b, now = self.b, self.b.clock.now
        conn = connect_readonly(b.register)
        try:
            record, info = find_certificate(conn, number), read_body(conn)
        finally:
            conn.close()
        assert record is not None and info is not None
        page = render_certificate(record, info, now=now)
        if number not in self.tokens:
            self.tokens[number] = sharing.create_share(b.body, number)[1]
        holder = self.client.get(f"/share/{self.tokens[number]}")
        assert holder.status_code == 200, holder.text
        cert = b.body.certification(number)
        b.body.status_lists.refresh_due()  # as the body's scheduler does: lists stay fresh
        lists = {
            b.body.status_lists.url(list_id): b.body.status_lists.latest(list_id)
            for (list_id,) in b.body.db.execute("SELECT id FROM status_lists")
        }
        did = b.body.info["did"]
        verifier = Verifier(trusted_issuers={did}, status_fetcher=lists, clock=b.clock)
        result = verifier.verify_credential(cert.credential)
        verify_page = outcome_of(
            result, own_did=did, status_of=lambda n: (record.status, record.status_since)
        )
        return {
            "public page": STATUS_LINE.findall(page)[0],
            "date of expiry": re.search(r"<dt>Date of expiry</dt><dd>([^<]*)</dd>", page)[1],  # type: ignore[index]
            "PDF": _pdf_status(certificate_pdf(record, info, printed_on=now.date())),
            "holder page": STATUS_LINE.findall(holder.text)[0],
            "verify page": verify_page.headline,
            "verifier": result.headline,
            "summary": result.summary,
            "page": page,
        }

    def agree(self, number: str, expected: str) -> dict[str, str]:
        seen = self.read(number)
        for surface in ("public page", "PDF", "holder page", "verify page"):
            assert seen[surface] == expected, (surface, seen)
        # The verifier says everything a status list and the signed dates tell it: the same
        # words, without a suspension's or withdrawal's date (a status list does not know it).
        assert expected.startswith(seen["verifier"]), seen
        assert seen["verifier"] in ("SUSPENDED", "WITHDRAWN") or seen["verifier"] == expected
        return seen


@pytest.fixture
def surfaces(tmp_path) -> Surfaces:
    b = make_body(tmp_path, did_method="key")
    for key, name in (("jane", "Jane Doe"), ("sam", "Sam Suspended"), ("wim", "Wim Withdrawn")):
        add_holder(b, key, name, consent=True)
    return Surfaces(b)


def test_one_certification_reads_the_same_everywhere(surfaces: Surfaces) -> None:
    b = surfaces.b
    b.clock.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    # A grant that takes effect in eight days: not yet valid anywhere, from the same day.
    number = grant(b, b.people["jane"], effective_date="2026-03-10")
    until = b.body.certification(number).valid_until
    assert until == "2029-03-09"
    seen = surfaces.agree(number, "NOT YET VALID: from 10 March 2026")
    assert seen["summary"].endswith("is valid from 10 March 2026.")

    b.clock.now = datetime(2026, 3, 10, 0, 0, tzinfo=UTC)
    seen = surfaces.agree(number, "VALID until 9 March 2029")
    assert seen["date of expiry"] == "9 March 2029"  # ISO/IEC 17024 §9.4.7 f), the same day
    assert seen["summary"].endswith("until 9 March 2029.")

    b.clock.advance(days=300)
    b.body.reduce_scope(number, decided_by=b.decider, remove=["VT2"], reason="no longer practised")
    surfaces.agree(number, "VALID until 9 March 2029")

    # The last valid day, to its last second; the first second of the day after.
    b.clock.now = datetime(2029, 3, 9, 23, 59, 59, tzinfo=UTC)
    surfaces.agree(number, "VALID until 9 March 2029")
    b.clock.now = datetime(2029, 3, 10, 0, 0, 0, tzinfo=UTC)
    seen = surfaces.agree(number, "EXPIRED on 9 March 2029")
    assert seen["summary"].endswith("expired on 9 March 2029.")
    # Once the expiry job has recorded it, nothing changes in the words.
    assert b.body.expire_due() == [number]
    b.clock.advance(days=20)
    seen = surfaces.agree(number, "EXPIRED on 9 March 2029")
    # The history dates the status change by its first day; it says so rather than "Expired".
    assert "<td>10 March 2029</td><td>Past its date of expiry</td>" in seen["page"]


def test_suspended_and_withdrawn_read_the_same_everywhere(surfaces: Surfaces) -> None:
    b = surfaces.b
    suspended = grant(b, b.people["sam"])
    withdrawn = grant(b, b.people["wim"])
    b.clock.advance(days=30)
    today = b.clock.now.date()
    b.body.suspend(
        suspended, decided_by=b.decider, reason="complaint under review",
        until=(today + timedelta(days=60)).isoformat(),
    )  # fmt: skip
    b.body.withdraw(withdrawn, decided_by=b.decider, reason="misconduct")
    day = plain_date(today)
    seen = surfaces.agree(suspended, f"SUSPENDED since {day}")
    assert seen["summary"].startswith("Suspended: ")
    seen = surfaces.agree(withdrawn, f"WITHDRAWN on {day}")
    assert seen["summary"].startswith("Withdrawn: ")

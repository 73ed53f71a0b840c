"""The staff console in a real headless Chromium (Debian's, through Selenium) against a body
served by `certreg serve`: enrolment through a one-time link, sign-in with password and TOTP
(and with the keyboard only), a wrong code refused in words, the dashboard, a person found and
opened, a certificate's staff view, the audit log filtered, sign-out everywhere, and a grant
through the form (refused to the candidate's examiner) then a suspension the public page shows,
and a bulk CSV upload: the bad rows listed before anything is signed, confirmed, run to its end.

The harness is tests/console_browser_support.py. ``CERTREG_SCREENSHOTS=<dir>`` saves a
screenshot of each page shown here."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import zxingcpp
from browser_support import browser  # noqa: F401 - pytest fixture
from console_browser_support import (  # noqa: F401 - console, console_body: fixtures
    Account,
    Console,
    Keys,
    console,
    console_body,
)
from factories import HEADER, row, write_csv
from PIL import Image
from selenium.webdriver.common.by import By

from certreg.issuer.console.accounts import WRONG


def test_enrol_through_a_one_time_link_sign_out_and_sign_in_again(console: Console) -> None:  # noqa: F811
    link = console.invite("Nora Newcomer", ["officer"])
    console.driver.get(link)
    assert console.heading() == "Welcome, Nora Newcomer"
    console.shot("enrol")
    secret = console.find("#totp-secret").text
    # The QR code, read off the screen as an authenticator app's camera would, holds the
    # same secret as the text beside it.
    qr = console.find("main img")
    shot = Image.open(io.BytesIO(qr.screenshot_as_png))
    [code] = zxingcpp.read_barcodes(shot)
    assert code.text.startswith("otpauth://totp/") and f"secret={secret}" in code.text

    nora = Account("Nora Newcomer", "she keeps the lighthouse log by hand", secret)
    heading = console.submit(password=nora.password, password_again=nora.password, code=nora.code())
    assert heading == "You are enrolled", console.message()
    codes = [c.text for c in console.driver.find_elements(By.CSS_SELECTOR, "#recovery-codes code")]
    assert len(codes) == 10 and all(codes)
    console.shot("enrolled")

    console.leave(lambda: console.driver.find_element(By.LINK_TEXT, "Sign in").click())
    assert console.heading() == "Sign in"
    console.shot("login")
    # One recovery code in place of a TOTP code (the enrolment spent this step's code, and
    # the console takes a step's code once).
    assert console.sign_in(nora, code=codes[0]) == "Dashboard"
    assert "Signed in as Nora Newcomer" in console.text()
    assert console.sign_out() == "Sign in"
    console.go("/console/")  # signed out: the console sends the browser to sign in
    assert console.path().startswith("/console/login")

    assert console.sign_in(nora) == "Dashboard"  # password and a new code: in again
    assert console.find("#roles").text == "officer"


def test_a_wrong_code_is_refused_in_words(console: Console) -> None:  # noqa: F811
    officer = console.account("officer")
    assert console.sign_in(officer, code=officer.wrong_code()) == "Sign in"
    assert console.message() == WRONG
    assert "wrong" in WRONG or "not" in WRONG  # words, not a code number
    console.shot("login-refused")
    console.go("/console/")
    assert console.path().startswith("/console/login")  # still signed out
    assert console.sign_in(officer) == "Dashboard"


def test_the_sign_in_form_works_with_tab_and_enter_only(console: Console) -> None:  # noqa: F811
    kim = console.new_account("Kim Keyboard", ["officer"])
    console.go("/console/login")
    assert console.driver.switch_to.active_element.get_attribute("id") == "login"  # autofocus
    console.keys(kim.login, Keys.TAB, kim.password, Keys.TAB, kim.code())
    console.leave(lambda: console.keys(Keys.ENTER))
    assert console.heading() == "Dashboard"
    assert "Signed in as Kim Keyboard" in console.text()


def test_dashboard_search_a_person_and_open_a_certificate(console: Console) -> None:  # noqa: F811
    served = console.served
    assert console.sign_in("decider") == "Dashboard"
    assert console.find("#counts-table tfoot td[data-status=ACTIVE]").text == "2"
    console.shot("dashboard")

    console.leave(
        lambda: console.driver.find_element(By.LINK_TEXT, "Candidates and holders").click()
    )
    assert console.submit(q="doe") == "Candidates and holders"
    found = console.find("#people-table").text
    assert "Jane Doe" in found and served.numbers["Jane Doe"] in found
    assert "John Roe" not in found
    console.shot("people")
    # By number, whatever its case and spacing; by e-mail, whatever its case.
    number = served.numbers["John Roe"]
    console.submit(q=f" {number.lower()} ", by="number")
    assert "John Roe" in console.find("#people-table").text
    console.submit(q="JOHN@EXAMPLE.ORG", by="email")
    assert "John Roe" in console.find("#people-table").text

    console.submit(q="doe", by="any")
    console.leave(lambda: console.driver.find_element(By.LINK_TEXT, "Jane Doe").click())
    assert console.heading() == "Jane Doe"
    assert served.numbers["Jane Doe"] in console.find("#certifications-table").text
    assert "Erik Examiner" in console.find("#involvements-table").text
    console.shot("person")

    console.go(f"/console/certificates/{served.numbers['Jane Doe']}")
    assert console.heading() == f"Certificate {served.numbers['Jane Doe']}"
    assert console.find("#headline").text.startswith("VALID")
    public = console.find("#public-page").get_attribute("href")
    assert public == f"{served.base}/c/{served.numbers['Jane Doe']}"
    assert console.find("#credentials-table").text
    console.shot("certificate")

    console.go("/console/audit")
    assert console.heading() == "Audit log"
    console.shot("audit")
    console.go("/console/due/recertification_open")
    assert console.heading().startswith("Decisions due")
    console.shot("due")


def test_sign_out_everywhere_ends_the_other_computers_session(console: Console) -> None:  # noqa: F811
    sam = console.new_account("Sam Elsewhere", ["officer"])
    elsewhere = console.http_session(sam)  # signed in on another computer
    try:
        assert "Signed in as Sam Elsewhere" in elsewhere.get("/console/").text
        assert console.sign_in(sam) == "Dashboard"
        button = console.driver.find_element(
            By.CSS_SELECTOR, "form[action='/console/logout-everywhere'] button"
        )
        console.leave(button.click)
        assert console.heading() == "Sign in"
        console.go("/console/")
        assert console.path().startswith("/console/login")
        other = elsewhere.get("/console/", follow_redirects=False)
        assert other.status_code == 303 and "/console/login" in other.headers["location"]
    finally:
        elsewhere.close()


def test_a_page_asked_for_signed_out_opens_after_sign_in_and_the_audit_log_filters(
    console: Console,  # noqa: F811
) -> None:
    console.go("/console/audit")
    assert console.heading() == "Sign in"  # signed out: the sign-in form first...
    assert console.sign_in("admin", here=True) == "Audit log"  # ...then the page asked for
    console.fill({"f-kind": "console_signed_in"})
    assert console.press("Filter") == "Audit log"
    kinds = {e.text for e in console.driver.find_elements(By.CSS_SELECTOR, "#audit-table .kind")}
    assert kinds == {"console_signed_in"}
    assert "kind=console_signed_in" in console.path()
    console.shot("audit-filtered")


def test_grant_refused_to_the_examiner_then_granted_suspended_and_reinstated(
    console: Console,  # noqa: F811
) -> None:
    served = console.served
    mary = served.people["Mary Major"]
    grant = {"scope-UT2": "yes", "evidence": "examination of 2026-01-10"}
    # Erik examined Mary Major: as a decision-maker he is refused, in the rule's words.
    assert console.sign_in("examiner") == "Dashboard"
    console.go(f"/console/people/{mary}/grant?scheme=cwi")
    assert console.find("#rules").text  # the rules, in words, before anything is submitted
    console.shot("grant-form")
    console.fill(grant)
    console.press("Grant")
    assert "9.4" in console.message(), console.message()
    console.shot("grant-refused")

    console.forget()
    assert console.sign_in(console.new_account("Dora Deciding", ["decision_maker"])) == "Dashboard"
    console.go(f"/console/people/{mary}/grant?scheme=cwi")
    console.fill(grant)
    heading = console.press("Grant")
    assert heading.startswith("Certificate "), console.message()
    number = heading.removeprefix("Certificate ")
    assert "Mary Major is certified" in console.message()
    console.shot("granted")

    until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    console.go(f"/console/certificates/{number}/decide/suspend")
    console.fill({"reason": "surveillance audit missed", "until": until})
    assert console.press("Suspend") == f"Certificate {number}", console.message()
    assert console.message().startswith("Done. Suspended")
    console.go(f"/c/{number}")  # the public page, as an employer sees it
    assert console.find(".status").text.startswith("SUSPENDED")
    console.shot("public-suspended")

    # Reinstated from the certificate's staff view: the public page is valid again.
    console.go(f"/console/certificates/{number}")
    console.find("#decide").find_element(By.LINK_TEXT, "Reinstate").click()
    console.fill({"reason": "surveillance audit passed on a second date"})
    console.shot("reinstate-form")
    assert console.press("Reinstate") == f"Certificate {number}", console.message()
    assert console.message().startswith("Done. Reinstated")
    console.go(f"/c/{number}")
    assert console.find(".status").text.startswith("VALID")


def test_upload_a_csv_see_the_bad_rows_confirm_and_watch_it_finish(
    console: Console,  # noqa: F811
    tmp_path: Path,
) -> None:
    bea = console.new_account("Bea Bulk", ["decision_maker"])
    examiner = console.account("examiner").staff_id
    # What the issue judges: 2,000 rows, 5 of them bad, each for another reason.
    rows = [row(i, examiner) for i in range(2000)]
    rows[5] = row(5, examiner, scope="XX9")  # not in the catalogue
    rows[10] = row(10, bea.staff_id)  # Bea examined this candidate: she may not decide
    rows[500] = row(500, examiner, assessed_on="2025-13-40")  # no such date
    rows[1000] = row(1000, examiner, scheme="nosuch")  # no such scheme
    rows[1500] = row(1500, examiner, full_name="")  # a name is required
    path = write_csv(tmp_path / "grants.csv", rows, HEADER)
    assert console.sign_in(bea) == "Dashboard"
    console.go("/console/bulk")
    console.find("#file").send_keys(str(path))
    assert console.press("Upload and check").startswith("Bulk issuance: grants.csv")
    problems = [
        r.find_element(By.TAG_NAME, "th").text
        for r in console.driver.find_elements(By.CSS_SELECTOR, "#problems tbody tr")
    ]
    assert problems == ["7", "12", "502", "1002", "1502"]  # the file's rows (header: row 1)
    assert "17024" in console.find("#problems").text  # the service's own reason, in words
    console.shot("bulk-preview")
    console.press("Confirm: issue 1995")
    # The page reloads itself each second while the job runs: its progress, then the result.
    console.wait_until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#bulk-progress, #result-counts"),
        timeout=60,
        what="the job's progress",
    )
    if console.driver.find_elements(By.ID, "bulk-progress"):
        assert re.search(r"\d+ of 2000 rows done", console.find("#bulk-status").text)
        console.shot("bulk-progress")
    console.wait_until(
        lambda d: d.find_elements(By.ID, "result-counts"), timeout=180, what="the result"
    )
    counts = console.find("#result-counts").text.split("\n")
    assert counts == ["Issued", "1995", "Already issued (skipped)", "0", "Refused", "5"]
    console.shot("bulk-result")

"""The staff console in a real browser: a body served by `certreg serve` on 127.0.0.1 (a free
port) with console accounts enrolled, and a :class:`Console` that drives the headless Chromium
of :mod:`browser_support` the way a member of staff would: sign in (name, password, the code
their authenticator shows), go to a page, fill a form, read the message the page shows.

The cast (:func:`build_console_body`), each enrolled with a known password and TOTP secret:

- ``admin``: Ada Admin, an admin;
- ``decider``: Dana Decider, a decision-maker who examined nobody;
- ``examiner``: Erik Examiner, an officer *and* a decision-maker who examined every candidate
  below (ISO/IEC 17024 §9.4: he must not decide about them);
- ``officer``: Olive Officer, an officer (no decisions; bulk issuance needs a decision-maker).

Holders: Jane Doe (CWI, granted, in the public directory), John Roe (NDE, granted) and Mary
Major (CWI, passed her examination, no decision yet: the candidate for "grant through the
form" and "examiner refused").

Bounded and without sleeps: one server and one Chromium per test module; every wait is an
explicit ``WebDriverWait`` with a timeout. TOTP codes come from pyotp on the real clock: the
console accepts each 30-second step once per account and one step either side of now, so an
:class:`Account` remembers the last step it used and gives the next unused one (now, then the
next step); a test that needs more sign-ins of one account within 30 s takes a fresh account
(:meth:`Console.new_account`).

``CERTREG_SCREENSHOTS=<dir>``: :meth:`Console.shot` saves a PNG of the page there (nothing is
written when it is unset), so that the pages can be looked at by eye.

Adding a test (in tests/issuer/console/test_console_browser.py, or a new file importing
``browser`` from browser_support and ``console, console_body`` from here). Field names are the
form's element ids; ``submit(**fields)`` fills them and presses their form's submit button
(``press("Confirm")`` presses a button by its words) and returns the next page's h1;
``message()`` is what the page says in an alert, its status line ("Done. ...") or a note.
The worked examples are ``test_grant_through_the_form_refused_to_the_examiner_then_suspend``
(the examiner refused in §9.4's words, a grant through the form, a suspension, the public page
saying SUSPENDED) and ``test_upload_a_csv_see_the_bad_rows_confirm_and_watch_it_finish`` (a
file typed into the file field, the preview's problems, confirm, and ``wait_until`` on the page
that reloads itself until the result). A new scenario follows the same steps: sign in (a cast
key, or ``new_account`` for a fresh person), ``go`` to the page, ``fill``/``submit`` or
``press``, then assert on ``heading()``, ``message()`` or an element, and ``shot`` it.

Each account signs in at most twice a 30-second window (TOTP): a test that signs in the same
cast member again, or several tests that all use one, take ``console.new_account(name,
roles)`` for the later sign-ins. Staff or data the test needs beyond the cast: open the body
beside the server with ``console.served.open()`` (close ``body.db.conn`` after), or run the CLI.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from browser_support import PASSPHRASE, body_with_two_schemes, leave_page, serve
from factories import free_port
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from certreg.issuer.console import accounts
from certreg.issuer.service import CertificationBody, Invalid, ScopeGrant

#: How long any wait for the browser lasts before the test fails (generous: 2 shared cores).
WAIT = 20
STEP = 30  # seconds: RFC 6238's time step, as the console uses it


@dataclass
class Account:
    """A console account whose password and authenticator secret the test knows."""

    login: str  # the staff member's name (the sign-in form takes a name or an e-mail)
    password: str
    secret: str  # base32 TOTP secret, as the enrolment page showed it
    staff_id: str = ""
    last_step: int = 0  # the last time step whose code the console has seen
    recovery: list[str] = field(default_factory=list)

    def code(self) -> str:
        """The 6-digit code of the next step the console has not seen yet: now, or else
        the next step (accepted for clock drift). Three sign-ins of one account within one
        30-second window would need a code the console refuses: take a fresh account."""
        now = int(time.time()) // STEP
        for step in (now, now + 1):
            if step > self.last_step:
                self.last_step = step
                return pyotp.TOTP(self.secret).generate_otp(step)
        raise AssertionError(
            f"{self.login} used the codes of this 30-second window already: give the test a "
            "fresh account (Console.new_account) rather than waiting"
        )

    def wrong_code(self) -> str:
        """A code of no step near now (so the console must refuse it)."""
        totp = pyotp.TOTP(self.secret)
        now = int(time.time()) // STEP
        near = {totp.generate_otp(s) for s in range(now - 2, now + 3)}
        return next(c for c in ("000000", "111111", "222222", "333333") if c not in near)


def _xpath_text(text: str) -> str:
    """``text`` as an XPath string literal (XPath 1.0 has no escapes: concat() if needed)."""
    if "'" not in text:
        return f"'{text}'"
    return "concat(" + ', "\'", '.join(f"'{part}'" for part in text.split("'")) + ")"


def _password(name: str) -> str:
    """A password the console's policy accepts (long, not common, not the person's name)."""
    return f"harbour lights at dawn, number {len(name) * 7919 % 1000}"


@dataclass
class ConsoleBody:
    """The served body: its data folder, address, and the cast's accounts by role key."""

    data: Path
    base: str
    accounts: dict[str, Account]
    numbers: dict[str, str]  # holder name -> certificate number
    people: dict[str, str]  # holder name -> person id
    proc: subprocess.Popen | None = None

    def open(self) -> CertificationBody:
        """The body in this process, beside the server (as the CLI would be); close
        ``body.db.conn`` when done."""
        return CertificationBody.open(self.data, passphrase=PASSPHRASE)


def enrol(body: CertificationBody, staff_id: str, login: str) -> Account:
    """Enrol ``staff_id`` through the console's own functions, as their link would."""
    account = Account(login, _password(login), pyotp.random_base32(32), staff_id)
    link = accounts.create_enrolment(body, staff_id, actor=None)
    for _ in range(2):  # a step boundary between the code and its check: once more
        step = int(time.time()) // STEP - 1  # the step before now: now and next stay free
        try:
            _, account.recovery = accounts.complete_enrolment(
                body,
                link.token,
                password=account.password,
                totp_secret=account.secret,
                code=pyotp.TOTP(account.secret).generate_otp(step),
            )
        except Invalid:
            continue
        account.last_step = step
        return account
    raise AssertionError(f"could not enrol {login}")


def build_console_body(data: Path, base: str) -> ConsoleBody:
    body = body_with_two_schemes(data, base)
    cast = {
        "admin": ("Ada Admin", ["admin"]),
        "decider": ("Dana Decider", ["decision_maker"]),
        "examiner": ("Erik Examiner", ["officer", "decision_maker"]),
        "officer": ("Olive Officer", ["officer"]),
    }
    ids = {key: body.add_staff(name, roles=roles) for key, (name, roles) in cast.items()}
    numbers, people = {}, {}
    for name, scheme, granted in (
        ("Jane Doe", "cwi", True),
        ("John Roe", "nde", True),
        ("Mary Major", "cwi", False),
    ):
        person = body.add_person(name, consent_publish=True, email=f"{name[:4]}@example.org")
        people[name] = person
        body.record_assessment(
            person, scheme, result="pass", assessed_on="2026-01-10", examiners=[ids["examiner"]],
            scope_codes=["UT2", "VT2"],
        )  # fmt: skip
        if granted:
            cert = body.grant(
                person, scheme, [ScopeGrant("UT2", "steel, 6-40 mm"), ScopeGrant("VT2")],
                decided_by=ids["decider"], evidence="examination of 2026-01-10",
            )  # fmt: skip
            numbers[name] = cert.number
    enrolled = {key: enrol(body, ids[key], cast[key][0]) for key in cast}
    body.db.conn.close()
    return ConsoleBody(data, base, enrolled, numbers, people)


@pytest.fixture(scope="module")
def console_body(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleBody]:
    """The cast's body, served by `certreg serve` for the test module."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    served = build_console_body(tmp_path_factory.mktemp("console-browser") / "cb", base)
    served.proc = serve(served.data, port)
    try:
        yield served
    finally:
        served.proc.terminate()
        try:
            served.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            served.proc.kill()


@pytest.fixture
def console(console_body: ConsoleBody, browser: Any) -> Iterator[Console]:
    """The module's Chromium on the served console, signed out at the start of each test."""
    driver = Console(console_body, browser)
    driver.forget()
    yield driver


class Console:
    """What a member of staff does in the browser, one method a gesture."""

    def __init__(self, served: ConsoleBody, driver: Any) -> None:
        self.served = served
        self.driver = driver
        self.shots = os.environ.get("CERTREG_SCREENSHOTS")

    # -- the browser ------------------------------------------------------------------------

    def forget(self) -> None:
        """A browser with no cookies of the console (a new visitor)."""
        self.driver.get(f"{self.served.base}/console/login")
        self.driver.delete_all_cookies()

    def go(self, path: str) -> None:
        """Open ``path`` of the served body (``/console/people?q=doe``) and wait for it."""
        self.driver.get(self.served.base + path)
        self.heading()

    def heading(self) -> str:
        """The page's h1, once it is there."""
        return self.wait_for("h1").text

    def wait_for(self, css: str, timeout: float = WAIT) -> WebElement:
        return WebDriverWait(self.driver, timeout).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
        )

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def path(self) -> str:
        """Where the browser is, without the server's address."""
        return self.driver.current_url.removeprefix(self.served.base)

    def text(self) -> str:
        return self.find("main").text

    def message(self) -> str:
        """The message the page shows (a refusal, an error, a confirmation): the text of its
        alerts (``role=alert``), else its status (``role=status``: "Done. ..."), else its
        notes; empty if none."""
        for css in ("[role=alert]", "[role=status]", ".note"):
            found = self.driver.find_elements(By.CSS_SELECTOR, css)
            if found:
                return " ".join(e.text for e in found)
        return ""

    def fill(self, fields: dict[str, str]) -> None:
        """Type into the fields named (by id), replacing what they held."""
        for name, value in fields.items():
            element = self.find(f"#{name}")
            kind = element.get_attribute("type")
            if element.tag_name == "select":
                element.find_element(By.CSS_SELECTOR, f"option[value='{value}']").click()
            elif kind == "checkbox":  # "" or "off": unticked; anything else: ticked
                if element.is_selected() != (value not in ("", "off")):
                    element.click()
            elif kind == "date":  # what a date picker would set (typing depends on locale)
                self.driver.execute_script("arguments[0].value = arguments[1]", element, value)
            else:
                element.clear()
                element.send_keys(value)

    def submit(self, button: str | None = None, **fields: str) -> str:
        """Fill ``fields`` (by id), press the submit button of the form they are in (or
        ``button``, a CSS selector; with neither, the first submit button in ``main``) and
        wait until the next page is shown; returns its h1."""
        self.fill(fields)
        if button is not None:
            target = self.find(button)
        elif fields:
            form = self.find(f"#{next(iter(fields))}").find_element(By.XPATH, "./ancestor::form")
            target = form.find_element(By.CSS_SELECTOR, "button:not([type]), [type=submit]")
        else:
            target = self.find("main button[type=submit]")
        self.leave(target.click)
        return self.heading()

    def press(self, words: str) -> str:
        """Press the button in ``main`` that says ``words`` (``Filter``, ``Grant``), wait for
        the next page; returns its h1."""
        target = self.driver.find_element(
            By.XPATH, f"//main//button[normalize-space()={_xpath_text(words)}]"
        )
        self.leave(target.click)
        return self.heading()

    def leave(self, action: Any) -> None:
        """Do ``action`` (a click, a key) and wait until the browser shows the next page,
        fully loaded (:func:`browser_support.leave_page`)."""
        leave_page(self.driver, action, WAIT)

    def wait_until(self, condition: Any, timeout: float = WAIT, what: str = "") -> Any:
        """Wait for ``condition(driver)`` to be true (live parts: progress bars). A page that
        reloads itself is mid-navigation now and then: the browser's errors then mean "not
        yet", and the condition is asked again."""
        try:
            return WebDriverWait(
                self.driver, timeout, ignored_exceptions=(WebDriverException,)
            ).until(condition)
        except TimeoutException:
            raise AssertionError(f"waited {timeout} s for {what or condition}") from None

    def shot(self, name: str) -> None:
        """A screenshot of the page to $CERTREG_SCREENSHOTS/<name>.png, if that is set."""
        if not self.shots:
            return
        folder = Path(self.shots)
        folder.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(folder / f"{name}.png"))

    # -- staff --------------------------------------------------------------------------------

    def account(self, key: str) -> Account:
        return self.served.accounts[key]

    def new_account(self, name: str, roles: list[str]) -> Account:
        """A new staff member, enrolled (through the console's functions), not signed in."""
        body = self.served.open()
        try:
            staff_id = body.add_staff(name, roles=roles)
            account = enrol(body, staff_id, name)
        finally:
            body.db.conn.close()
        return account

    def invite(self, name: str, roles: list[str]) -> str:
        """A new staff member and their one-time enrolment link, as ``certreg staff add
        --console`` prints it (not enrolled: the link is for the browser)."""
        body = self.served.open()
        try:
            staff_id = body.add_staff(name, roles=roles)
            link = accounts.create_enrolment(body, staff_id, actor=None)
        finally:
            body.db.conn.close()
        return link.link(self.served.base + "/")

    def sign_in(self, who: str | Account, *, code: str | None = None, here: bool = False) -> str:
        """Sign in through the form as ``who`` (a cast key or an account); returns the h1 of
        the page it leads to (``Dashboard``, or ``Sign in`` again when refused). ``here``:
        use the sign-in form the browser shows now (the one a console page sent it to)."""
        account = self.account(who) if isinstance(who, str) else who
        if not here:
            self.go("/console/login")
        return self.submit(
            login=account.login,
            password=account.password,
            code=account.code() if code is None else code,
        )

    def sign_out(self) -> str:
        self.leave(lambda: self.find("header form button").click())
        return self.heading()

    def http_session(self, account: Account) -> httpx.Client:
        """A second, plain HTTP client signed in as ``account`` (another computer)."""
        import re

        client = httpx.Client(base_url=self.served.base, follow_redirects=True, timeout=WAIT)
        page = client.get("/console/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, "the sign-in page has no CSRF token"
        answer = client.post(
            "/console/login",
            data={
                "login": account.login,
                "password": account.password,
                "code": account.code(),
                "csrf_token": token.group(1),
            },
            headers={"Origin": self.served.base},
        )
        assert "Signed in as" in answer.text, answer.text
        return client

    def keys(self, *keys: str) -> None:
        """Type into whatever has the focus (keyboard use: Tab, Enter)."""
        self.driver.switch_to.active_element.send_keys(*keys)


__all__ = [
    "WAIT",
    "Account",
    "Console",
    "ConsoleBody",
    "Keys",
    "build_console_body",
    "console",
    "console_body",
    "enrol",
]

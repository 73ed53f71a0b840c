"""A certification body served for real (`certreg serve` on 127.0.0.1, a free port) and a headless
Chromium driven by Selenium: Debian's chromium and chromedriver (installed by `make test`),
nothing downloaded.

The body's public URL is the served address, so that what a page links to (a QR code, a
certificate URL) leads back to the same server, as it would for an employer."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import free_port

from certreg.issuer.register_push import attach
from certreg.issuer.service import CertificationBody, ScopeGrant

PASSPHRASE = "browser tests, not a secret"
ROOT = Path(__file__).parent.parent


@dataclass
class ServedBody:
    data: Path
    base: str
    decider: str
    numbers: dict[str, str]  # holder name -> certificate number

    def env(self) -> dict[str, str]:
        return {**os.environ, "CERTREG_PASSPHRASE": PASSPHRASE, "CERTREG_DATA": str(self.data)}

    def certreg(self, *args: str) -> subprocess.CompletedProcess:
        """The CLI on the served body's data, as an operator would run it."""
        return subprocess.run(
            [sys.executable, "-c", "from certreg.issuer.cli import main; main()", *args],
            env=self.env(), capture_output=True, text=True, timeout=120, cwd=ROOT, check=True,
        )  # fmt: skip


def body_with_two_schemes(data: Path, base: str) -> CertificationBody:
    """A new body served at ``base``, pushing to its register, with the schemes cwi
    (directory) and nde (number_lookup), both with the scope items UT2 and VT2."""
    body = CertificationBody.init(
        data,
        legal_name="Example Certification Body",
        public_url=base,
        passphrase=PASSPHRASE,
        did_method="key",
        kdf="interactive",
    )
    attach(body)("body")  # the body's changes feed its public register, as in production
    common = {
        "description": "Inspection of fusion welds in steel structures.",
        "normative_reference": "ISO 9712:2021",
        "validity_months": 36,
        "max_suspension_days": 180,
        "scope": [("UT2", "Ultrasonic testing, level 2"), ("VT2", "Visual testing, level 2")],
    }
    body.add_scheme(
        "cwi", code="CWI", name="Certified Welding Inspector",
        publication_policy="directory", **common,
    )  # fmt: skip
    body.add_scheme(
        "nde", code="NDE", name="Non-Destructive Examiner",
        publication_policy="number_lookup", **common,
    )  # fmt: skip
    return body


def build_body(data: Path, base: str) -> ServedBody:
    body = body_with_two_schemes(data, base)
    examiner = body.add_staff("Erik Examiner", roles=["officer"])
    decider = body.add_staff("Dana Decider", roles=["decision_maker"])
    numbers = {}
    for name, scheme, consent in (("Jane Doe", "cwi", True), ("John Roe", "nde", True)):
        person = body.add_person(name, consent_publish=consent, email=f"{name[:4]}@example.org")
        body.record_assessment(
            person, scheme, result="pass", assessed_on="2026-01-10", examiners=[examiner],
            scope_codes=["UT2", "VT2"],
        )  # fmt: skip
        cert = body.grant(
            person, scheme, [ScopeGrant("UT2", "steel, 6-40 mm"), ScopeGrant("VT2")],
            decided_by=decider, evidence="examination of 2026-01-10",
        )  # fmt: skip
        numbers[name] = cert.number
    body.db.conn.close()
    return ServedBody(data, base, decider, numbers)


def serve(data: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", "from certreg.issuer.cli import main; main()", "serve",
         "--data", str(data), "--port", str(port), "--log-level", "warning"],
        env={**os.environ, "CERTREG_PASSPHRASE": PASSPHRASE},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"certreg serve exited: {proc.stderr.read().decode()}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/contexts", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("certreg serve did not start within 30 s")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedBody]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    body = build_body(tmp_path_factory.mktemp("browser") / "cb", base)
    proc = serve(body.data, port)
    try:
        yield body
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as driver:
        yield driver


@contextmanager
def chromium(*extra_flags: str) -> Iterator[object]:
    """A headless Chromium driven by Selenium, started with ``extra_flags`` besides this
    machine's (e.g. a fake camera); skips the test when Debian's chromium is missing."""
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("Debian's chromium and chromium-driver are not installed (make test does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile = tempfile.mkdtemp(prefix="certreg-chromium-")
    # As this machine requires: headless, no sandbox (root), and no background traffic to hosts
    # a closed network refuses.
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1200,1600",
        *extra_flags,
    ):  # fmt: skip
        options.add_argument(flag)
    # Start on about:blank. chromedriver launches Chromium without a start URL, so it opens its
    # New Tab Page, which Debian's default search engine turns into a chain of navigations:
    # chrome://newtab, https://start.duckduckgo.com (a request to the outside, refused here),
    # then the fallback chrome://new-tab-page-third-party. The first test of a run navigated
    # while that chain ran (chromedriver waits for it: 4.5 s when the outside request hangs
    # for 2 s); every later test starts from a settled page.
    options.add_experimental_option(
        "prefs", {"session.restore_on_startup": 4, "session.startup_urls": ["about:blank"]}
    )
    # CERTREG_CHROMEDRIVER_LOG=/some/file: chromedriver's verbose log (every DevTools command
    # and answer), to see what the browser was doing when a test failed.
    log = os.environ.get("CERTREG_CHROMEDRIVER_LOG")
    service = Service(
        executable_path=driver_path, service_args=["--verbose"] if log else None, log_output=log
    )
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.set_page_load_timeout(30)
        if driver.current_url != "about:blank":  # a Chromium that ignores the preference
            raise AssertionError(f"Chromium started on {driver.current_url}, not about:blank")
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def leave_page(driver: Any, action: Callable[[], object], timeout: float = 20) -> None:
    """Do ``action`` (a click, a submit, a refresh) and wait until the browser shows the next
    page, fully loaded.

    The page is marked with a variable of its window that no other page has; the wait ends when
    the window's document lacks it. (Selenium's ``staleness_of`` asks the old element, and
    chromedriver may answer "Node with given id does not belong to the document" mid-navigation:
    an error, not "stale", once in a few runs.)"""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    mark = secrets.token_hex(8)
    driver.execute_script("window.certregPage = arguments[0]", mark)
    action()

    def arrived(driver: Any) -> bool:
        try:
            return bool(
                driver.execute_script(
                    "return window.certregPage !== arguments[0] "
                    "&& document.readyState === 'complete'",
                    mark,
                )
            )
        except WebDriverException:  # the document is being replaced: ask again
            return False

    WebDriverWait(driver, timeout).until(arrived, "the next page did not load")

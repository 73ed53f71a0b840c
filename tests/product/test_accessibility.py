"""Every public page passes axe-core's WCAG 2.2 A/AA rules in a real headless Chromium, from a
body served by `certreg serve` (issue 12, item 5). axe-core is an npm test dependency
(tests/interop/package.json, installed by `make test` with `npm ci`); the test skips, saying why,
when npm's modules are missing, as the interop tests do.

The pages a reader may ask for in German, French or Spanish (the home page, a valid and a
suspended certificate, the verify page, empty and with a verdict) are checked in each language
too, on the same server and browser.

Also checked here: the certificate page says its status in words and a shape, not colour alone,
and the keyboard alone (Tab) reaches the home page's search box and the verify page's upload."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from browser_support import (  # noqa: F401 - browser is a fixture
    PASSPHRASE,
    ROOT,
    ServedBody,
    browser,
    build_body,
    leave_page,
    serve,
)
from factories import free_port
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from certreg.issuer import sharing
from certreg.issuer.register_push import attach
from certreg.issuer.service import CertificationBody, ScopeGrant

AXE = ROOT / "tests" / "interop" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@dataclass
class Site:
    served: ServedBody
    valid: str
    suspended: str
    withdrawn: str
    share_token: str
    credential: Path  # a valid certificate's credential, as a file an employer uploads


def _grant(body: CertificationBody, name: str, examiner, decider) -> str:
    person = body.add_person(name, consent_publish=True, email=f"{name[:3]}@example.org")
    body.record_assessment(
        person, "cwi", result="pass", assessed_on="2026-01-10", examiners=[examiner],
        scope_codes=["UT2", "VT2"],
    )  # fmt: skip
    cert = body.grant(
        person, "cwi", [ScopeGrant("UT2", "steel, 6-40 mm"), ScopeGrant("VT2")],
        decided_by=decider, evidence="examination of 2026-01-10",
    )  # fmt: skip
    return cert.number


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not AXE.exists():
        pytest.skip(f"npm's test modules are missing ({AXE}): run `npm ci` in tests/interop")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tmp = tmp_path_factory.mktemp("a11y")
    served = build_body(tmp / "cb", base)
    body = CertificationBody.open(served.data, passphrase=PASSPHRASE)
    attach(body)("body")  # its decisions reach the public register, as in production
    examiner, decider = body.add_staff("Ed Examiner", roles=["officer"]), served.decider
    suspended = _grant(body, "Sam Suspended", examiner, decider)
    withdrawn = _grant(body, "Wim Withdrawn", examiner, decider)
    until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    body.suspend(suspended, decided_by=decider, reason="complaint under review", until=until)
    body.withdraw(withdrawn, decided_by=decider, reason="misconduct")
    valid = served.numbers["Jane Doe"]
    token = sharing.create_share(body, valid)[1]
    credential = tmp / "certificate.json"
    credential.write_text(json.dumps(body.certification(valid).credential), encoding="utf-8")
    body.db.conn.close()
    proc = serve(served.data, port)
    try:
        yield Site(served, valid, suspended, withdrawn, token, credential)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait_loaded(driver) -> None:
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def _violations(driver) -> list[dict]:
    """axe-core's WCAG 2.2 A/AA violations on the page the browser shows now."""
    _wait_loaded(driver)
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    driver.set_script_timeout(60)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
        ".then(r => done(r.violations), e => done([{id: 'axe-error', impact: 'critical',"
        " help: String(e), nodes: []}]));",
        TAGS,
    )
    return list(result)


def _describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = [n["target"] for n in v["nodes"][:3]]
        lines.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {v['help']} {targets}")
    return "\n".join(lines)


def _assert_clean(driver) -> None:
    violations = _violations(driver)
    assert not violations, f"{driver.current_url}\n{_describe(violations)}"


def _shot(driver, name: str) -> None:
    """With CERTREG_SCREENSHOTS=folder (`make screenshots`), save the page as the reader sees
    it, whole, for docs/holder.md and docs/register.md."""
    folder = os.environ.get("CERTREG_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1000, min(max(int(height), 600), 2400))
    driver.save_screenshot(str(Path(folder) / f"{name.replace(' ', '-')}.png"))
    driver.set_window_size(1200, 1600)


PAGES = {
    "home": lambda s: "/",
    "home with results": lambda s: "/?q=jane+doe",
    "home with no result": lambda s: "/?q=nobody+at+all",
    "valid certificate": lambda s: f"/c/{s.valid}",
    "suspended certificate": lambda s: f"/c/{s.suspended}",
    "withdrawn certificate": lambda s: f"/c/{s.withdrawn}",
    "verify": lambda s: "/verify",
    "share page": lambda s: f"/share/{s.share_token}",
    "unknown certificate (404)": lambda s: "/c/CWI-0000-0000-00",
    "unknown share link": lambda s: "/share/not-a-token",
    # The register's data pages (Datasette), linked from every page's header.
    "register": lambda s: "/register/",
    "register database": lambda s: "/register/public",
    "certifications table": lambda s: "/register/public/certifications",
    "certifications searched": lambda s: "/register/public/certifications?_search=jane",
    "certification row": lambda s: f"/register/public/certifications/{s.valid}",
    "schemes table": lambda s: "/register/public/schemes",
    "scheme row": lambda s: "/register/public/schemes/cwi",
    "number lookup": lambda s: f"/register/public/verify?number={s.valid}",
    "register 404": lambda s: "/register/public/no_such_table",
}


def test_the_check_reports_a_page_that_breaks_the_rules(site, browser):  # noqa: F811
    # So that a harness which silently checks nothing cannot pass the tests above.
    browser.get("data:text/html,<html><body><img src=x><a href=/></a></body></html>")
    found = {v["id"] for v in _violations(browser)}
    assert {"html-has-lang", "document-title", "image-alt", "link-name"} <= found, found


@pytest.mark.parametrize("page", list(PAGES))
def test_each_public_page_has_no_wcag_violation(site, browser, page):  # noqa: F811
    browser.get(site.served.base + PAGES[page](site))
    _assert_clean(browser)
    _shot(browser, f"{page}-en")


#: The pages a reader may ask for in another language (issue 12, items 2 and 5), with ?lang=.
LANGUAGE_PAGES = {
    "home": lambda s: "/?",
    "home with results": lambda s: "/?q=jane+doe&",
    "valid certificate": lambda s: f"/c/{s.valid}?",
    "suspended certificate": lambda s: f"/c/{s.suspended}?",
    "withdrawn certificate": lambda s: f"/c/{s.withdrawn}?",
    "verify": lambda s: "/verify?",
    "share page": lambda s: f"/share/{s.share_token}?",
    "unknown certificate (404)": lambda s: "/c/CWI-0000-0000-00?",
}
#: The first word of a valid certificate's headline in each language.
VALID = {"en": "VALID", "de": "GÜLTIG", "fr": "VALIDE", "es": "VÁLIDO"}


@pytest.mark.parametrize("lang", ["de", "fr", "es"])
@pytest.mark.parametrize("page", list(LANGUAGE_PAGES))
def test_each_page_in_each_language_has_no_wcag_violation(site, browser, page, lang):  # noqa: F811
    browser.get(f"{site.served.base}{LANGUAGE_PAGES[page](site)}lang={lang}")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
    _assert_clean(browser)
    _shot(browser, f"{page}-{lang}")


@pytest.mark.parametrize("lang", ["en", "de", "fr", "es"])
def test_the_verify_page_with_a_verdict_has_no_wcag_violation(site, browser, lang):  # noqa: F811
    browser.get(f"{site.served.base}/verify" + ("" if lang == "en" else f"?lang={lang}"))
    browser.find_element(By.ID, "file").send_keys(str(site.credential))
    leave_page(browser, browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click)
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
    assert browser.find_element(By.CSS_SELECTOR, ".status").text.startswith(VALID[lang])
    _assert_clean(browser)
    _shot(browser, f"verify-result-{lang}")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_verify_page_with_the_log_check_has_no_wcag_violation(site, browser, lang):  # noqa: F811
    """The transparency-log option (issue 13): ticked, with a credential, its answer in words
    (VALID, or NOT IN THE LOG with the check's line); and a quorum the keys cannot meet,
    refused in words beside the form as it was sent."""
    query = "" if lang == "en" else f"?lang={lang}"
    browser.get(f"{site.served.base}/verify{query}")
    browser.find_element(By.ID, "file").send_keys(str(site.credential))
    browser.find_element(By.ID, "log_check").click()
    leave_page(browser, browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click)
    assert browser.find_element(By.CSS_SELECTOR, ".status").text
    checks = browser.find_element(By.CSS_SELECTOR, "section table").text
    assert "transparency log" in checks, checks
    assert browser.find_element(By.ID, "log_check").is_selected()  # the form as it was sent
    _assert_clean(browser)
    _shot(browser, f"verify-log-{lang}")
    browser.get(f"{site.served.base}/verify{query}")
    browser.find_element(By.ID, "file").send_keys(str(site.credential))
    browser.find_element(By.ID, "log_check").click()
    browser.find_element(By.ID, "quorum").send_keys("3")
    leave_page(browser, browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click)
    alert = browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    assert "quorum" in alert, alert
    _assert_clean(browser)


@pytest.mark.parametrize(
    "which, word, shape",
    [("valid", "VALID", "✓"), ("suspended", "SUSPENDED", "‖"), ("withdrawn", "WITHDRAWN", "✕")],
)
def test_status_is_told_in_words_and_a_shape_not_colour_alone(site, browser, which, word, shape):  # noqa: F811
    browser.get(f"{site.served.base}/c/{getattr(site, which)}")
    status = browser.find_element(By.CSS_SELECTOR, ".status")
    assert status.text.startswith(word)
    # The shape is drawn before the words (CSS ::before), one per standing, the same as on the
    # home page's result cards; its alternative text is empty, as screen readers read the words.
    mark = browser.execute_script(
        "return getComputedStyle(arguments[0], '::before').content", status
    )
    assert mark == f'"{shape}" / ""', mark


def _tab_until(driver, element_id: str, limit: int = 40) -> bool:
    """Press Tab from the top of the page until ``element_id`` has the focus."""
    driver.find_element(By.TAG_NAME, "body").click()
    for _ in range(limit):
        driver.switch_to.active_element.send_keys(Keys.TAB)
        if driver.switch_to.active_element.get_attribute("id") == element_id:
            return True
    return False


def test_the_keyboard_alone_reaches_the_search_and_the_upload(site, browser):  # noqa: F811
    browser.get(f"{site.served.base}/")
    assert _tab_until(browser, "q")
    browser.get(f"{site.served.base}/verify")
    assert _tab_until(browser, "file")

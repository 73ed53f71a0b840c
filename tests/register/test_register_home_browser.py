"""The register's home page in a real headless Chromium, from a body served by `certreg serve`
(tests/browser_support.py: Jane Doe in a directory scheme, John Roe in a number_lookup one):
an employer types a certificate number with spaces and in lower case, using the keyboard only,
and reaches the certificate page from the result card."""

from __future__ import annotations

from browser_support import browser, served  # noqa: F401 - pytest fixtures
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait


def _search(driver, base: str, typed: str) -> str:
    """Type ``typed`` into the home page's box and press Enter; the results' text."""
    driver.get(f"{base}/")
    box = driver.find_element(By.ID, "q")
    before = driver.find_element(By.TAG_NAME, "html")
    box.send_keys(typed, Keys.ENTER)
    WebDriverWait(driver, 20).until(expected_conditions.staleness_of(before))
    return driver.find_element(By.ID, "results").text


def test_a_number_typed_with_spaces_and_lower_case_leads_to_its_page(served, browser):  # noqa: F811
    number = served.numbers["John Roe"]  # number_lookup: found by its number only
    prefix, a, b, check = number.split("-")
    results = _search(browser, served.base, f"{prefix.lower()} {a.lower()} {b} {check}")
    assert number in results and "VALID until" in results
    link = browser.find_element(By.LINK_TEXT, f"Certificate page of {number}")
    before = browser.find_element(By.TAG_NAME, "html")
    link.send_keys(Keys.ENTER)  # the keyboard, not the mouse
    WebDriverWait(browser, 20).until(expected_conditions.staleness_of(before))
    assert browser.current_url.endswith(f"/c/{number}")
    assert "VALID" in browser.find_element(By.CSS_SELECTOR, ".status").text


def test_a_name_finds_the_listed_holder_only(served, browser):  # noqa: F811
    assert served.numbers["Jane Doe"] in _search(browser, served.base, "jane doe")
    results = _search(browser, served.base, "John Roe")
    assert "No certificate found" in results and served.numbers["John Roe"] not in results

"""The register's home page in a real headless Chromium, from a body served by `certreg serve`
(tests/browser_support.py: Jane Doe in a directory scheme, John Roe in a number_lookup one):
an employer types a certificate number with spaces and in lower case, using the keyboard only,
and reaches the certificate page from the result card."""

from __future__ import annotations

from browser_support import browser, leave_page, served  # noqa: F401 - pytest fixtures
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys


def _search(driver, base: str, typed: str) -> str:
    """Type ``typed`` into the home page's box and press Enter; the results' text."""
    driver.get(f"{base}/")
    box = driver.find_element(By.ID, "q")
    leave_page(driver, lambda: box.send_keys(typed, Keys.ENTER))
    return driver.find_element(By.ID, "results").text


def test_a_number_typed_with_spaces_and_lower_case_leads_to_its_page(served, browser):  # noqa: F811
    number = served.numbers["John Roe"]  # number_lookup: found by its number only
    prefix, a, b, check = number.split("-")
    results = _search(browser, served.base, f"{prefix.lower()} {a.lower()} {b} {check}")
    assert number in results and "VALID until" in results
    link = browser.find_element(By.LINK_TEXT, f"Certificate page of {number}")
    leave_page(browser, lambda: link.send_keys(Keys.ENTER))  # the keyboard, not the mouse
    assert browser.current_url.endswith(f"/c/{number}")
    assert "VALID" in browser.find_element(By.CSS_SELECTOR, ".status").text


def test_a_name_finds_the_listed_holder_only(served, browser):  # noqa: F811
    assert served.numbers["Jane Doe"] in _search(browser, served.base, "jane doe")
    results = _search(browser, served.base, "John Roe")
    assert "No certificate found" in results and served.numbers["John Roe"] not in results

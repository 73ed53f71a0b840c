"""What an employer sees, in a real headless Chromium, from a body served by `certreg serve`:
the QR code on a certificate page leads to that page, a suspension decision shows on it, the
verify page checks an uploaded file, and the register's search lists only the holders whose
scheme publishes a directory."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import zxingcpp
from browser_support import browser, leave_page, served  # noqa: F401 - pytest fixtures
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from certreg.issuer.service import CertificationBody


def in_days(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def status_text(driver) -> str:
    """The status block of the page now shown (waiting for a navigation to finish)."""
    block = WebDriverWait(driver, 20).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".status"))
    )
    return block.text


def submit_and_wait(driver, element) -> None:
    """Submit a form and wait until the browser has left the page it was on."""
    leave_page(driver, element.submit if element.tag_name == "input" else element.click)


def test_chromium_reads_the_published_status_list(served, browser):  # noqa: F811
    browser.get(f"{served.base}/status/revocation-1")
    assert "BitstringStatusListCredential" in browser.page_source


def test_the_qr_code_leads_to_the_page_and_a_suspension_shows_on_it(served, browser):  # noqa: F811
    number = served.numbers["Jane Doe"]
    browser.get(f"{served.base}/c/{number}")
    assert status_text(browser).startswith("VALID")
    # Decode the QR code from what the screen shows, as a phone camera would.
    shot = Image.open(io.BytesIO(browser.get_screenshot_as_png()))
    [code] = zxingcpp.read_barcodes(shot)
    assert code.text == f"{served.base}/c/{number}"
    browser.get(code.text)
    assert status_text(browser).startswith("VALID")
    assert "Jane Doe" in browser.page_source

    served.certreg(
        "decide", "suspend", number, "--as", served.decider,
        "--reason", "surveillance audit missed", "--until", in_days(30),
    )  # fmt: skip
    leave_page(browser, browser.refresh)
    assert status_text(browser).startswith("SUSPENDED")


def test_the_verify_page_checks_an_uploaded_file(served, browser, tmp_path):  # noqa: F811
    body = CertificationBody.open(served.data)
    credential = body.certification(served.numbers["John Roe"]).credential
    body.db.conn.close()
    path = tmp_path / "certificate.json"
    path.write_text(json.dumps(credential), encoding="utf-8")
    browser.get(f"{served.base}/verify")
    browser.find_element(By.ID, "file").send_keys(str(path))
    submit_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert status_text(browser).startswith("VALID")
    assert "John Roe" in browser.page_source


def test_register_search_lists_directory_holders_only(served, browser):  # noqa: F811
    browser.get(f"{served.base}/register/public/certifications")
    box = browser.find_element(By.NAME, "_search")
    box.send_keys("Jane Doe")
    submit_and_wait(browser, box)
    assert served.numbers["Jane Doe"] in browser.page_source
    browser.get(f"{served.base}/register/public/certifications")
    box = browser.find_element(By.NAME, "_search")
    box.send_keys("John Roe")  # holds a number_lookup certification: not browsable
    submit_and_wait(browser, box)
    assert served.numbers["John Roe"] not in browser.page_source
    assert (
        "John Roe" not in browser.find_element(By.TAG_NAME, "table").text
        if browser.find_elements(By.TAG_NAME, "table")
        else True
    )


def test_the_api_documentation_renders_offline(served, browser):  # noqa: F811
    # Swagger UI's files come from the server itself, not a CDN (this machine has none).
    browser.get(f"{served.base}/docs")
    title = WebDriverWait(browser, 20).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".swagger-ui .title"))
    )
    assert "certreg" in title.text
    assert "cdn" not in browser.page_source.lower()

"""What an employer sees, in a real headless Chromium, from a body served by `certreg serve`."""

from __future__ import annotations

from browser_support import browser, served  # noqa: F401 - pytest fixtures


def test_chromium_reads_the_published_status_list(served, browser):  # noqa: F811
    browser.get(f"{served.base}/status/revocation-1")
    assert "BitstringStatusListCredential" in browser.page_source

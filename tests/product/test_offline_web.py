"""The verify page as an installable web app that checks a certificate's signed QR code with no
network (issue 14, item 3), in a real headless Chromium against `certreg serve`.

The page is opened online: it syncs the body's keys and status lists from ``/offline.json``
(served here by the test, in the format of docs/offline.md, until the register serves it
itself) and its service worker keeps the page. Then the network is cut twice over (DevTools'
offline emulation AND the server stopped), the page is reloaded from the service worker, and
CR1 payloads are checked in the browser: the body's certificate is VALID "as of" the sync, one
character changed is refused, another key's payload is "Cannot tell: no data from this body",
and a suspension made after the sync is still VALID as of the sync, then SUSPENDED once the
page is online and synced again. The payload is signed here with the body's key
(``payload.sign_compact``), as the issuer does when it stores it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from browser_support import PASSPHRASE, ROOT, build_body, chromium, serve
from factories import free_port
from http_support import stop_subprocess
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from certreg.issuer.service import CertificationBody
from certreg.keys.keypair import KeyPair
from certreg.verifier.offline import payload

AXE = ROOT / "tests" / "interop" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@dataclass
class Site:
    data: Path
    base: str
    port: int
    decider: str
    number: str
    compact: str  # the certificate's CR1 text, signed with the body's key
    stranger: str  # a payload of the same certificate signed by a key no body synced


def _serve(site: Site) -> subprocess.Popen:
    return serve(site.data, site.port)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not AXE.exists():
        pytest.skip(f"npm's test modules are missing ({AXE}): run `npm ci` in tests/interop")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tmp = tmp_path_factory.mktemp("offline-web")
    served = build_body(tmp / "cb", base)
    body = CertificationBody.open(served.data, passphrase=PASSPHRASE)
    number = served.numbers["Jane Doe"]
    credential = body.certification(number).credential
    now = datetime.now(UTC)
    compact = payload.sign_compact(
        credential, body.signer.sign, body.signer.public_key.raw, issued_at=now, public_url=base
    )
    other = KeyPair.generate()
    stranger = payload.sign_compact(
        credential, other.sign, other.public_key.raw, issued_at=now, public_url=base
    )
    body.db.conn.close()
    yield Site(served.data, base, port, served.decider, number, compact, stranger)


def _box(driver, name: str) -> str:
    return driver.execute_script(
        "const b = document.getElementById('offline-controls');"
        "return b && !b.hidden ? (b.dataset[arguments[0]] || '') : '';",
        name,
    )


def _wait_sync(driver, states: tuple[str, ...]) -> str:
    WebDriverWait(driver, 30, poll_frequency=0.1).until(lambda d: _box(d, "syncState") in states)
    return driver.find_element(By.ID, "offline-sync").text


def _check(driver, text: str) -> str:
    """Paste ``text`` in the offline check, submit, and return the verdict shown."""
    driver.execute_script(
        "document.getElementById('offline-controls').dataset.checkState = '';"
        "document.getElementById('offline-text').value = arguments[0];",
        text,
    )
    driver.find_element(By.ID, "offline-check").click()
    WebDriverWait(driver, 20, poll_frequency=0.1).until(lambda d: _box(d, "checkState") == "done")
    return driver.find_element(By.ID, "offline-result").text


def _set_offline(driver, offline: bool) -> None:
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )


def _violations(driver) -> list[dict]:
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    driver.set_script_timeout(60)
    return list(
        driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
            ".then(r => done(r.violations), e => done([{id: 'axe-error', help: String(e)}]));",
            TAGS,
        )
    )


def test_the_verify_page_checks_a_signed_qr_code_with_the_network_cut(
    site: Site, tmp_path: Path
) -> None:
    import qrcode

    picture = tmp_path / "qr.png"
    qrcode.make(site.compact, error_correction=qrcode.constants.ERROR_CORRECT_M).save(picture)
    proc = _serve(site)
    try:
        with chromium() as driver:
            driver.get(f"{site.base}/verify")
            first = _wait_sync(driver, ("done",))
            assert first.startswith("Offline data from ")
            # The app is installable: its manifest is linked, and the worker is active.
            manifest = driver.find_element(By.CSS_SELECTOR, "link[rel=manifest]")
            assert manifest.get_attribute("href") == f"{site.base}/manifest.webmanifest"
            driver.set_script_timeout(30)
            scope = driver.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "navigator.serviceWorker.ready.then(r => done(r.scope), e => done(String(e)));"
            )
            assert scope == f"{site.base}/"
            # base45 (RFC 9285's examples) in the page's own module.
            decoded = driver.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "import('/static/offline.js').then(m => done(['BB8', '%69 VD92EX0', 'UJCLQE7W581']"
                ".map(t => new TextDecoder().decode(m.base45Decode(t)))), e => done(String(e)));"
            )
            assert decoded == ["AB", "Hello!!", "base-45"]

            # The network cut twice over: DevTools offline, and no server at all.
            _set_offline(driver, True)
            stop_subprocess(proc)
            driver.refresh()
            assert _wait_sync(driver, ("failed",)) == first  # the page, from the worker
            synced_at = first.removeprefix("Offline data from ")

            verdict = _check(driver, site.compact)
            assert verdict.startswith(f"VALID as of {synced_at}"), verdict
            assert "Jane Doe" in verdict and site.number in verdict
            assert "Certified Welding Inspector (CWI), version 1" in verdict
            assert "Ultrasonic testing, level 2" in verdict
            assert "conditions and limitations: steel, 6-40 mm" in verdict
            violations = _violations(driver)
            assert violations == [], [v.get("help") for v in violations]

            # One character changed anywhere is refused.
            i = len(site.compact) // 2
            other = "A" if site.compact[i] != "A" else "B"
            altered = site.compact[:i] + other + site.compact[i + 1 :]
            assert _check(driver, altered).startswith("INVALID")
            assert _check(driver, site.stranger) == "Cannot tell: no data from this body."
            assert _check(driver, "https://example.org/not-a-payload").startswith("INVALID")

            # The QR code's picture, through the scanner's file input.
            driver.execute_script(
                "document.getElementById('offline-controls').dataset.checkState = '';"
            )
            driver.find_element(By.ID, "scan-photo").send_keys(str(picture))
            WebDriverWait(driver, 30, poll_frequency=0.1).until(
                lambda d: _box(d, "checkState") == "done"
            )
            text = driver.find_element(By.ID, "offline-result").text
            assert text.startswith(f"VALID as of {synced_at}"), text

            # Suspended after the sync: still valid as of the sync, until the page syncs again.
            body = CertificationBody.open(site.data, passphrase=PASSPHRASE)
            until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
            body.suspend(site.number, decided_by=site.decider, reason="complaint", until=until)
            body.db.conn.close()
            assert _check(driver, site.compact).startswith(f"VALID as of {synced_at}")

            proc = _serve(site)
            _set_offline(driver, False)
            driver.refresh()
            second = _wait_sync(driver, ("done",))
            assert second.startswith("Offline data from ") and second != first
            resynced_at = second.removeprefix("Offline data from ")
            assert _check(driver, site.compact).startswith(f"SUSPENDED as of {resynced_at}")
    finally:
        stop_subprocess(proc)


def test_both_servers_serve_the_manifest_and_the_worker(site: Site) -> None:
    """`certreg serve` here; the keyless register site shares the same router
    (register.web.certificates), which tests/register/test_scan.py's site shows too."""
    proc = _serve(site)
    try:
        manifest = httpx.get(f"{site.base}/manifest.webmanifest").json()
        assert manifest["start_url"] == "/verify" and manifest["display"] == "standalone"
        for icon in manifest["icons"]:
            got = httpx.get(site.base + icon["src"])
            assert got.headers["content-type"] == "image/png" and got.content[:4] == b"\x89PNG"
        worker = httpx.get(f"{site.base}/sw.js")
        assert worker.headers["content-type"].startswith("text/javascript")
        assert '"/verify"' in worker.text and "/static/offline.js" in worker.text
        page = httpx.get(f"{site.base}/verify")
        policy = page.headers["content-security-policy"]
        assert "manifest-src 'self'" in policy and "worker-src 'self'" in policy
    finally:
        stop_subprocess(proc)


def test_the_keyless_register_site_serves_the_app_too(tmp_path: Path) -> None:
    """`certreg register serve` (the published bundle, no key) has the same manifest, worker
    and icons, and the verify page links the manifest under the same policy."""
    from click.testing import CliRunner
    from fastapi.testclient import TestClient
    from register_support import make_body

    from certreg.issuer.cli.publish import publish_command
    from certreg.register.web.app import create_public_app

    made = make_body(tmp_path)
    out = tmp_path / "published"
    result = CliRunner().invoke(publish_command, [str(out), "--data", str(made.data)])
    assert result.exit_code == 0, result.output
    made.body.db.conn.close()
    with TestClient(create_public_app(out)) as client:
        page = client.get("/verify")
        assert '<link rel="manifest" href="/manifest.webmanifest">' in page.text
        assert 'id="offline-controls"' in page.text and "/static/offline.js" in page.text
        assert "manifest-src 'self'" in page.headers["content-security-policy"]
        assert client.get("/manifest.webmanifest").json()["start_url"] == "/verify"
        worker = client.get("/sw.js")
        assert worker.status_code == 200 and "/static/vendor/cborg-6.1.5/cborg.js" in worker.text
        for path in json.loads(worker.text.split("const PRECACHE = ", 1)[1].split(";\n", 1)[0]):
            assert client.get(path).status_code == 200, path

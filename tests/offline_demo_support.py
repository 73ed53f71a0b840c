"""The acceptance check of issue 14 over a demo body, as its judges will run it (no tests here):
``bench/check_offline_demo.py`` runs it over the demo's 1,000 certificates, and
``tests/product/test_offline_demo.py`` over a small demo.

Every step is what a user does: ``certreg demo --no-serve`` builds the body, ``certreg serve``
serves it on 127.0.0.1, each certificate's printable PDF is fetched (the staff print with a
staff token, and the public one where the register names the holder), its QR codes are read
back from the PDF's images (pypdf, zxing-cpp), and every offline QR text (``CR1:``) is checked
three ways, each against the certificate's real status in issuer.db:

- **node**: an implementation that is not certreg's (tests/interop/verify_cr1.mjs: npm
  ``base45``, Node's zlib, ``cose-kit``, Digital Bazaar's status list reader), in one process;
- **python**: ``certreg sync`` then ``certreg.verifier.offline.verify_offline``;
- **browser**: the verify page in headless Chromium, opened online, then with the network cut
  (DevTools offline AND the server stopped), every text pasted in "Text of the QR code" and
  checked by the page's own button, in a loop run inside the page.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
INTEROP = ROOT / "tests" / "interop"
CLI = [sys.executable, "-c", "from certreg.issuer.cli import main; main()"]

#: What a verifier must say for a certificate of each status in issuer.db.
EXPECTED = {"ACTIVE": "VALID", "SUSPENDED": "SUSPENDED", "WITHDRAWN": "WITHDRAWN",
            "EXPIRED": "EXPIRED"}  # fmt: skip

#: The verify page's verdict, by the class of its headline (offline.js, show()).
PAGE_VERDICTS = {
    "valid": "VALID", "suspended": "SUSPENDED", "withdrawn": "WITHDRAWN", "expired": "EXPIRED",
    "not_yet_valid": "NOT_YET_VALID", "invalid": "INVALID", "unknown": "UNKNOWN_BODY",
    "status_unknown": "UNKNOWN_STATUS",
}  # fmt: skip


def certreg(*args: str, timeout: float = 600) -> str:
    """The CLI, as a user runs it; its output (fails loudly on a non-zero exit)."""
    done = subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"certreg {' '.join(args)}: {done.returncode}\n{done.stderr}")
    return done.stdout


@dataclass
class Demo:
    data: Path
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def passphrase_file(self) -> Path:
        return self.data / "demo-passphrase.txt"


def build_demo(data: Path, holders: int, port: int) -> Demo:
    """``certreg demo --no-serve``: the demo body, its public address on ``port``."""
    certreg("demo", "--no-serve", "--data", str(data), "--holders", str(holders),
            "--port", str(port))  # fmt: skip
    return Demo(data, port)


def serve(demo: Demo) -> subprocess.Popen:
    """``certreg serve`` on the demo, once it answers."""
    proc = subprocess.Popen(
        [*CLI, "serve", "--data", str(demo.data), "--port", str(demo.port),
         "--passphrase-file", str(demo.passphrase_file), "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"certreg serve exited: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
        try:
            httpx.get(f"{demo.base}/offline.json", timeout=2).raise_for_status()
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("certreg serve did not start within 60 s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


@contextmanager
def served(demo: Demo) -> Iterator[subprocess.Popen]:
    proc = serve(demo)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            stop(proc)


def statuses(demo: Demo) -> dict[str, str]:
    """Every certification's number and status, as issuer.db holds them."""
    from certreg.issuer.service import CertificationBody

    body = CertificationBody.open(demo.data)
    try:
        rows = body.db.execute("SELECT number, status FROM certifications ORDER BY number")
        return {number: status for number, status in rows}
    finally:
        body.db.conn.close()


def staff_token(demo: Demo) -> str:
    """A bearer token of the demo's decision-maker, for the staff print of the PDF."""
    from certreg.issuer.service import CertificationBody
    from certreg.issuer.tokens import create_token

    body = CertificationBody.open(demo.data)
    try:
        (staff_id,) = body.db.execute("SELECT id FROM staff WHERE name = 'Dana Decider'").fetchone()
        return create_token(body, staff_id, name="offline acceptance check")[1]
    finally:
        body.db.conn.close()


# --- the QR codes of a PDF ---------------------------------------------------------------------


@dataclass(frozen=True)
class Code:
    text: str
    version: int  # the QR version, counted from the image's modules
    ec_level: str


def qr_codes(pdf: bytes) -> list[Code]:
    """Every QR code among the PDF's images, read with zxing-cpp. The images are the PNGs the
    register drew (a whole number of pixels a module, a 4-module margin), so the version is
    counted from the code's width in modules."""
    import zxingcpp
    from PIL import Image
    from pypdf import PdfReader

    codes = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for picture in page.images:
            image = Image.open(io.BytesIO(picture.data)).convert("L")
            for found in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
                codes.append(Code(found.text, _version(found, image.width), found.ec_level))
    return codes


def _version(found: Any, image_width: int) -> int:
    extra = getattr(found, "extra", None)
    if extra:  # zxing-cpp 2.3+: {"Version": "13", ...}
        try:
            return int(json.loads(extra)["Version"])
        except (ValueError, KeyError, TypeError):
            pass
    pos = found.position
    width = max(abs(pos.top_right.x - pos.top_left.x), abs(pos.bottom_left.y - pos.top_left.y))
    # the finder pattern corners: width spans (modules - 1) module steps; estimate modules
    for version in range(1, 41):
        modules = 17 + 4 * version
        if abs(image_width / (modules + 8) * (modules - 1) - width) <= image_width / (modules + 8):
            return version
    return 0


@dataclass
class Fetched:
    """What the PDFs of one certificate carry."""

    number: str
    status: str
    staff: list[Code] = field(default_factory=list)  # every QR code of the staff print
    public: list[Code] | None = None  # None: no public PDF (the holder is not named)

    @property
    def offline(self) -> list[str]:
        """The CR1 texts of both PDFs (each PDF's once)."""
        texts = [c.text for c in self.staff if c.text.startswith("CR1:")]
        if self.public is not None:
            texts += [c.text for c in self.public if c.text.startswith("CR1:")]
        return texts


def fetch_pdfs(demo: Demo, numbers: dict[str, str], token: str) -> list[Fetched]:
    """Both printable PDFs of every certificate in ``numbers`` (number -> status)."""
    out = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=demo.base, timeout=60) as client:
        for number, status in numbers.items():
            got = Fetched(number, status)
            staff = client.get(f"/api/certifications/{number}/certificate.pdf", headers=headers)
            staff.raise_for_status()
            got.staff = qr_codes(staff.content)
            public = client.get(f"/c/{number}/certificate.pdf", follow_redirects=True)
            if public.status_code == 200 and public.headers["content-type"] == "application/pdf":
                got.public = qr_codes(public.content)
            out.append(got)
    return out


# --- the longest payloads ---------------------------------------------------------------------

#: An 84-character name (bench/bench_offline_qr.py's "long name (84)").
LONG_NAME = ("María de los Ángeles Fernández-Villaverde y Rodríguez de la Concepción "
             "Iglesias-Olmo")  # fmt: skip

#: (case, scope items, label characters, condition characters, scheme name): the stress cases
#: of bench/bench_offline_qr.py past 483 characters, version 13 at M.
STRESS = (
    ("long name (84), 10 items, labels 40, conditions 40", 10, 40, 40, None),
    ("long name (84), 20 items, labels 60, conditions 80, scheme name 90", 20, 60, 80,
     "Certified Non-Destructive Testing Inspector for Pressure Equipment and Offshore "
     "Structures"),
)  # fmt: skip


def stress_payloads(demo: Demo, number: str) -> dict[str, str]:
    """CR1 texts past the version-13 budget, signed with the demo body's key as the issuer
    signs its certificates' (``sign_compact``), with the status entries of certificate
    ``number`` (so that their status is that certificate's): case -> text."""
    from certreg.issuer.credential import (
        Body,
        NormativeReference,
        Scheme,
        ScopeItem,
        certification_credential,
    )
    from certreg.issuer.service import CertificationBody
    from certreg.verifier.issuing import add_proof
    from certreg.verifier.offline.payload import sign_compact

    body = CertificationBody.open(demo.data, passphrase=demo.passphrase_file.read_text())
    try:
        real = body.certification(number).credential
        assert real is not None
        status = real["credentialStatus"]
        out = {}
        for case, items, label_chars, condition_chars, scheme_name in STRESS:
            credential = certification_credential(
                body=Body(real["issuer"]["id"], real["issuer"]["name"], demo.base),
                scheme=Scheme(
                    id=f"{demo.base}/schemes/cwi/9", code="CWI",
                    name=scheme_name or "Certified Welding Inspector", version="9",
                    description="Inspection of fusion welds.",
                    criteria="Written and practical examination.",
                    normative_reference=NormativeReference("ISO 9712:2021", None),
                ),
                holder_name=LONG_NAME,
                certificate_number=number,
                scope=[
                    ScopeItem(
                        f"S{i:02d}",
                        (f"Scope item {i}: ultrasonic phased-array testing of welds ")[
                            :label_chars],
                        ("steel and nickel alloys, wall 6-40 mm, " * 4)[:condition_chars],
                    )
                    for i in range(items)
                ],
                valid_from=real["validFrom"],
                valid_until=real["validUntil"],
                status_entries=status if isinstance(status, list) else [status],
            )  # fmt: skip
            signed = add_proof(credential, body.signer)
            out[case] = sign_compact(
                signed, body.signer.sign, body.signer.public_key.raw,
                issued_at=datetime.now(UTC), public_url=demo.base,
            )  # fmt: skip
        return out
    finally:
        body.db.conn.close()


# --- the three verifiers -----------------------------------------------------------------------


def node_verdicts(
    demo: Demo, texts: list[str], now: datetime | None = None
) -> list[tuple[str, str | None]]:
    """Each text's (verdict, certificate number read) by tests/interop/verify_cr1.mjs, with the
    body's keys and lists as the register serves them now (fetched here: what a sync would
    fetch)."""
    from certreg.keys.multikey import decode_public_key
    from certreg.verifier.statuslist import CERTIFICATE_STATUS_MESSAGES

    offline = httpx.get(f"{demo.base}/offline.json", timeout=30).json()
    lists = {url: httpx.get(url, timeout=30).json() for url in offline["status_lists"]}
    body = {
        "keys": [decode_public_key(k["publicKeyMultibase"]).hex() for k in offline["keys"]],
        "public_url": offline["body"]["public_url"],
        "lists": lists,
        "status_messages": list(CERTIFICATE_STATUS_MESSAGES),
        "now": (now or datetime.now(UTC)).isoformat(),
    }
    done = subprocess.run(
        ["node", str(INTEROP / "verify_cr1.mjs")],
        input=json.dumps({"items": [{"qr": t} for t in texts], "body": body}),
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise AssertionError(f"verify_cr1.mjs failed:\n{done.stderr[-4000:]}")
    return [(r["verdict"], r.get("number")) for r in json.loads(done.stdout)["results"]]


def sync(demo: Demo, cache: Path) -> str:
    """``certreg sync`` of the demo body into ``cache``; its line."""
    return certreg(
        "sync", str(cache), demo.base, "--unsafe-allow-http-host", f"127.0.0.1:{demo.port}"
    ).strip()


def python_verdicts(
    cache: Path, texts: Iterable[str], now: datetime | None = None
) -> list[tuple[str, str]]:
    """Each text's (verdict, summary) by ``certreg verify --offline``'s library call."""
    from certreg.verifier.offline.cache import Cache
    from certreg.verifier.offline.verify import verify_offline

    synced = Cache.open(cache)
    return [
        (result.verdict.value, result.summary)
        for result in (verify_offline(t, synced, now=now) for t in texts)
    ]


def open_verify_page(driver: Any, demo: Demo) -> str:
    """Open the verify page online and wait for its sync and for its service worker to be
    active (it has kept the page's files then: the page opens with no network); the page's
    "Offline data from" line."""
    driver.get(f"{demo.base}/verify")
    synced = wait_sync(driver, ("done",))
    driver.set_script_timeout(120)
    scope = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "navigator.serviceWorker.ready.then((r) => done(r.scope), (e) => done(String(e)));"
    )
    if scope != f"{demo.base}/":
        raise AssertionError(f"the verify page's worker is not active: {scope}")
    return synced


def wait_sync(driver: Any, states: tuple[str, ...]) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def state(d: Any) -> str:
        return d.execute_script(
            "const b = document.getElementById('offline-controls');"
            "return b && !b.hidden ? (b.dataset.syncState || '') : '';"
        )

    WebDriverWait(driver, 60, poll_frequency=0.1).until(lambda d: state(d) in states)
    return driver.find_element(By.ID, "offline-sync").text


def set_offline(driver: Any, offline: bool) -> None:
    """DevTools' network emulation: ``offline`` cuts every request of the page and its worker."""
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )


#: In the page: each text pasted in "Text of the QR code" and checked with "Check offline", the
#: page's own button and code (offline.js's click handler), one after the other; the headline
#: shown for each (its class says the verdict) and the text of the whole result.
_CHECK_ALL = """
const [texts, done] = [arguments[0], arguments[arguments.length - 1]];
const box = document.getElementById('offline-controls');
const input = document.getElementById('offline-text');
const button = document.getElementById('offline-check');
const result = document.getElementById('offline-result');
(async () => {
  const out = [];
  for (const text of texts) {
    box.dataset.checkState = '';
    input.value = text;
    button.click();
    while (box.dataset.checkState !== 'done') {
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    const headline = result.querySelector('p.status');
    out.push([headline ? headline.className : '', result.innerText]);
  }
  return out;
})().then(done, (error) => done({error: String(error)}));
"""


def browser_verdicts(driver: Any, texts: list[str], chunk: int = 200) -> list[tuple[str, str]]:
    """Each text's (verdict, text shown) by the verify page, as it stands (online or not)."""
    driver.set_script_timeout(600)
    out: list[tuple[str, str]] = []
    for start in range(0, len(texts), chunk):
        got = driver.execute_async_script(_CHECK_ALL, texts[start : start + chunk])
        if isinstance(got, dict):
            raise AssertionError(f"the page's check failed: {got['error']}")
        for css, shown in got:
            kind = css.removeprefix("status ").strip()
            out.append((PAGE_VERDICTS.get(kind, f"?{kind}"), shown))
    return out


#: In the page: the page's own module's verdict on each text at another instant (``now``),
#: against the data the page kept at its last sync (Cache Storage, read as the page reads it).
_CHECK_AT = """
const [texts, at, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const box = document.getElementById('offline-controls');
const offlineUrl = new URL(box.dataset.offlineUrl, location.href).href;
Promise.all([
  import(new URL('static/offline.js', new URL(box.dataset.root || '/', location.href)).href),
  caches.open('certreg-offline-data').then((c) => c.match(offlineUrl)).then((r) => r.json()),
]).then(async ([module, site]) => {
  const out = [];
  for (const text of texts) {
    out.push((await module.verifyPayload(text, {sites: [site]}, new Date(at))).verdict);
  }
  return out;
}).then(done, (error) => done({error: String(error)}));
"""


def browser_verdicts_at(driver: Any, texts: list[str], now: datetime) -> list[str]:
    """Each text's verdict by the verify page's module at ``now`` (a date past expiry, say)."""
    driver.set_script_timeout(600)
    got = driver.execute_async_script(_CHECK_AT, texts, now.isoformat())
    if isinstance(got, dict):
        raise AssertionError(f"the page's module failed: {got['error']}")
    return list(got)


# --- the figures -------------------------------------------------------------------------------


def agreement(
    expected: list[str], verdicts: dict[str, list[str]], numbers: list[str]
) -> tuple[dict[str, Counter[str]], list[str]]:
    """Counts per verdict for each verifier, and a line for every text where one of them does
    not say what the register says."""
    counts = {name: Counter(got) for name, got in verdicts.items()}
    failures = []
    for i, (number, want) in enumerate(zip(numbers, expected, strict=True)):
        wrong = {name: got[i] for name, got in verdicts.items() if got[i] != want}
        if wrong:
            failures.append(f"{number}: register {want}, " + ", ".join(
                f"{name} {verdict}" for name, verdict in wrong.items()))  # fmt: skip
    return counts, failures


def environment() -> dict[str, str]:
    return {"node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout,
            "load": os.getloadavg().__repr__()}  # fmt: skip

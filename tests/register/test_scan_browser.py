"""Scanning a certificate's QR code on the verify page (issue 12, item 4), in a real headless
Chromium, from a body served by `certreg serve` (tests/browser_support.py).

The camera is Chromium's fake one, playing a Y4M video made here from the certificate's own QR
code (``/c/NUMBER/qr.png``, as printed); the photos are made here with Pillow: the QR code
rotated, scaled and JPEG-compressed on a noisy background, another site's QR code, and a photo
with no QR code at all. What is checked is what a person sees: the certificate page opening, or
the words in the scanner's status line and no navigation. axe-core checks the page with the
scanner shown and a message in its status line."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browser_support import ROOT, chromium, served  # noqa: F401 - pytest fixture
from PIL import Image, ImageFilter
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from certreg.register.qr import qr_png

AXE = ROOT / "tests" / "interop" / "node_modules" / "axe-core" / "axe.min.js"
WAIT = 30  # seconds at most for the page to react (the first scan compiles the WebAssembly)


def y4m_of(picture: Image.Image, path: Path, frames: int = 3) -> None:
    """``picture`` as a still Y4M video (4:2:0), which Chromium's fake camera plays in a loop."""
    width, height = picture.size
    y, cb, cr = picture.convert("YCbCr").split()
    half = (width // 2, height // 2)
    frame = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + frame)


def noisy_background(size: tuple[int, int], seed: int) -> Image.Image:
    """A grey, grainy picture, like a desk photographed in poor light."""
    rng = random.Random(seed)
    noise = bytes(rng.randrange(90, 200) for _ in range(size[0] * size[1]))
    return Image.frombytes("L", size, noise).filter(ImageFilter.GaussianBlur(1)).convert("RGB")


def photo_of(qr: bytes | None, path: Path, *, seed: int = 1) -> Path:
    """A JPEG photo: the QR code ``qr`` (PNG, its white margin the paper) scaled, turned 7
    degrees and laid on a noisy background, dimmed, blurred and grainy as a phone's photo in poor
    light; ``None``: the background alone."""
    background = noisy_background((1280, 960), seed)
    if qr is not None:
        paper = Image.open(io.BytesIO(qr)).convert("RGBA")
        paper = paper.resize((int(paper.width * 1.3), int(paper.height * 1.3)), Image.BILINEAR)
        paper = paper.rotate(7, resample=Image.BICUBIC, expand=True)  # transparent corners
        background.paste(paper, (300, 180), paper)
        grain = noisy_background(background.size, seed + 1)
        background = Image.blend(background, grain, 0.25).filter(ImageFilter.GaussianBlur(1.2))
    background.save(path, "JPEG", quality=55)
    return path


@pytest.fixture(scope="module")
def browser(served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:  # noqa: F811
    """Chromium whose camera films Jane Doe's printed QR code; the camera is granted without
    asking, as a person would allow it."""
    number = served.numbers["Jane Doe"]
    printed = httpx.get(f"{served.base}/c/{number}/qr.png", timeout=10)
    assert printed.status_code == 200
    scene = Image.new("RGB", (640, 480), "white")
    code = Image.open(io.BytesIO(printed.content)).convert("RGB").resize((400, 400))
    scene.paste(code, (120, 40))
    video = tmp_path_factory.mktemp("camera") / "qr.y4m"
    y4m_of(scene, video)
    with chromium(
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ) as driver:
        yield driver


def _open_verify(driver, served, query: str = "") -> None:  # noqa: F811
    driver.get(f"{served.base}/verify{query}")
    WebDriverWait(driver, WAIT).until(
        lambda d: d.find_element(By.ID, "scan-controls").is_displayed()
    )


def _message(driver, words: str) -> str:
    """Wait for the scanner's status line to say ``words``; its whole text."""
    WebDriverWait(driver, WAIT).until(lambda d: words in d.find_element(By.ID, "scan-message").text)
    return driver.find_element(By.ID, "scan-message").text


def test_the_camera_reads_the_printed_qr_code_and_opens_the_certificate(served, browser):  # noqa: F811
    number = served.numbers["Jane Doe"]
    _open_verify(browser, served)
    browser.find_element(By.ID, "scan-camera").send_keys(Keys.ENTER)  # the keyboard is enough
    WebDriverWait(browser, WAIT).until(lambda d: d.current_url == f"{served.base}/c/{number}")
    assert "VALID" in browser.find_element(By.CSS_SELECTOR, ".status").text
    assert "Jane Doe" in browser.page_source


def test_a_photo_of_the_qr_code_opens_the_certificate(served, browser, tmp_path):  # noqa: F811
    number = served.numbers["John Roe"]
    printed = httpx.get(f"{served.base}/c/{number}/qr.png", timeout=10).content
    _open_verify(browser, served)
    photo = photo_of(printed, tmp_path / "photo.jpg")
    browser.find_element(By.ID, "scan-photo").send_keys(str(photo))
    WebDriverWait(browser, WAIT).until(lambda d: d.current_url == f"{served.base}/c/{number}")
    assert "VALID" in browser.find_element(By.CSS_SELECTOR, ".status").text


@pytest.mark.parametrize(
    "content",
    [
        "https://attacker.example/c/{number}",  # another site, a real certificate's number
        "{base}/register/",  # this site, but not a certificate page
        "WIFI:S:Site office;T:WPA;P:not-a-secret;;",  # not an address at all
    ],
)
def test_a_qr_code_that_is_not_this_registers_certificate_opens_nothing(
    served,  # noqa: F811
    browser,
    tmp_path,
    content,
):
    text = content.format(base=served.base, number=served.numbers["Jane Doe"])
    _open_verify(browser, served)
    browser.find_element(By.ID, "scan-photo").send_keys(
        str(photo_of(qr_png(text), tmp_path / "other.jpg"))
    )
    said = _message(browser, "is not the address of a certificate in this register")
    assert f"It reads: {text}" in said
    assert browser.current_url == f"{served.base}/verify"


def test_a_photo_without_a_qr_code_says_so(served, browser, tmp_path):  # noqa: F811
    _open_verify(browser, served)
    browser.find_element(By.ID, "scan-photo").send_keys(str(photo_of(None, tmp_path / "desk.jpg")))
    _message(browser, "No QR code was found in this photo")
    assert browser.current_url == f"{served.base}/verify"


def test_a_file_that_is_not_a_picture_says_so(served, browser, tmp_path):  # noqa: F811
    notes = tmp_path / "notes.png"
    notes.write_text("not a picture", encoding="utf-8")
    _open_verify(browser, served)
    browser.find_element(By.ID, "scan-photo").send_keys(str(notes))
    _message(browser, "could not be read as a picture")


def test_no_camera_says_so_and_the_photo_still_works(served, tmp_path):  # noqa: F811
    # A Chromium with no camera and no one to grant it: headless, it refuses the request.
    with chromium() as driver:
        _open_verify(driver, served, "?lang=en")
        driver.find_element(By.ID, "scan-camera").click()
        _message(driver, "The camera could not be used")
        assert driver.current_url == f"{served.base}/verify?lang=en"
        number = served.numbers["John Roe"]
        printed = httpx.get(f"{served.base}/c/{number}/qr.png", timeout=10).content
        photo = photo_of(printed, tmp_path / "photo.jpg", seed=2)
        driver.find_element(By.ID, "scan-photo").send_keys(str(photo))
        # The language chosen with ?lang= goes along (a printed ?lang= link stays in it).
        opened = f"{served.base}/c/{number}?lang=en"
        WebDriverWait(driver, WAIT).until(lambda d: d.current_url == opened)


def test_the_scanner_with_a_message_has_no_wcag_violation(served, browser, tmp_path):  # noqa: F811
    if not AXE.exists():
        pytest.skip(f"npm's test modules are missing ({AXE}): run `npm ci` in tests/interop")
    _open_verify(browser, served)
    browser.find_element(By.ID, "scan-photo").send_keys(str(photo_of(None, tmp_path / "d.jpg")))
    _message(browser, "No QR code was found in this photo")
    browser.execute_script(AXE.read_text(encoding="utf-8"))
    browser.set_script_timeout(60)
    violations = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
        ".then(r => done(r.violations), e => done([{id: 'axe-error', help: String(e)}]));",
        ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"],
    )
    assert not violations, violations

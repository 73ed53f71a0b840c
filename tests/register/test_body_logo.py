"""The body's logo (issue 12 item 6): ``certreg body logo FILE`` checks the file, keeps it in
issuer.db and pushes it to register.db; the keyless public site prints it at the top of the
certificate PDF (in its reserved box, aspect kept, nothing written over it) and serves it at
``/logo.png``. A file that is not a small PNG or JPEG is refused in words and nothing changes.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pypdf
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from PIL import Image, ImageChops
from register_support import Body, add_holder, grant, make_body

from certreg.issuer.cli.logo import body_group
from certreg.issuer.cli.publish import publish_command
from certreg.register.pdf import LOGO_BOX, MARGIN
from certreg.register.web.app import create_public_app

pytestmark = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
    reason="poppler-utils (pdftoppm, pdftotext) not installed: `make browser` installs it",
)

DPI = 150
MM = 72 / 25.4
NAVY = (0, 0, 128)


def _png(size: tuple[int, int] = (600, 200), colour: object = NAVY) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")  # type: ignore[arg-type]
    return out.getvalue()


def _set(b: Body, path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(body_group, ["logo", str(path), "--data", str(b.data)])
    return result.exit_code, result.output


def _register_logo(b: Body) -> bytes | None:
    with sqlite3.connect(b.register) as conn:
        row = conn.execute("SELECT data FROM body_logo").fetchone()
    return bytes(row[0]) if row else None


def _state(b: Body) -> tuple[object, ...]:
    """What a refused logo must leave as it was: the setting, the log and the register."""
    setting = b.body.db.execute("SELECT value FROM settings WHERE key = 'logo'").fetchone()
    events = b.body.db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    return setting, events, _register_logo(b)


@pytest.fixture(scope="module")
def body(tmp_path_factory: pytest.TempPathFactory) -> Body:
    b = make_body(tmp_path_factory.mktemp("logo"))
    add_holder(b, "jane", "Jane Listed", consent=True)
    b.numbers = {"jane": grant(b, b.people["jane"])}  # type: ignore[attr-defined]
    b.sync.flush()
    return b


def test_a_logo_is_stored_pushed_printed_in_its_box_and_served(body, tmp_path):
    logo = _png()
    (tmp_path / "logo.png").write_bytes(logo)
    code, output = _set(body, tmp_path / "logo.png")
    assert code == 0, output
    assert "image/png" in output and "pushed to the public register" in output
    assert _register_logo(body) == logo  # issuer -> register, at once

    bundle = tmp_path / "bundle"
    published = CliRunner().invoke(publish_command, [str(bundle), "--data", str(body.data)])
    assert published.exit_code == 0, published.output
    site = TestClient(create_public_app(bundle))
    served = site.get("/logo.png")
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert served.content == logo

    number = body.numbers["jane"]  # type: ignore[attr-defined]
    pdf = site.get(f"/c/{number}/certificate.pdf?lang=de")
    assert pdf.status_code == 200
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf.content)

    # Where the logo landed: the navy pixels of the first page rendered at 150 dpi.
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            str(DPI),
            "-f",
            "1",
            "-l",
            "1",
            "-png",
            str(path),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    [page_png] = tmp_path.glob("page*.png")
    red, green, blue = Image.open(page_png).convert("RGB").split()
    dark_red = red.point(lambda v: 255 if v < 40 else 0)
    dark_green = green.point(lambda v: 255 if v < 40 else 0)
    mid_blue = blue.point(lambda v: 255 if 100 <= v <= 160 else 0)
    navy = ImageChops.multiply(ImageChops.multiply(dark_red, dark_green), mid_blue)
    box = navy.getbbox()
    assert box is not None, "no logo on the page"
    x0, y0, x1, y1 = (v * 72 / DPI for v in box)  # points
    width_mm, height_mm = (x1 - x0) / MM, (y1 - y0) / MM
    # In the reserved box at the top, centred, its height bounded and its 3:1 shape kept.
    assert height_mm <= LOGO_BOX[1] + 0.5 and width_mm <= LOGO_BOX[0] + 0.5
    assert abs(width_mm / height_mm - 3) < 0.1
    assert abs(y0 / MM - MARGIN) < 1
    assert abs((x0 + x1) / 2 / MM - 105) < 1

    # No word of the text layer on it.
    words = subprocess.run(
        ["pdftotext", "-bbox", "-f", "1", "-l", "1", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    on_logo = [
        text
        for a, b, c, d, text in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<',
            words,
        )
        if float(a) < x1 and x0 < float(c) and float(b) < y1 and y0 < float(d)
    ]
    assert on_logo == []
    assert "Zertifikatsnummer" in words  # and the page is the German one asked for


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 20), NAVY).save(out, format="GIF")
    return out.getvalue()


def _noise_png() -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (400, 400), os.urandom(400 * 400 * 3)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (lambda: b"", "the file is empty"),
        (lambda: b"%PDF-1.7 not a logo", "not an image (PNG or JPEG expected)"),
        (_gif, "a GIF image; a logo must be PNG or JPEG"),
        (lambda: _png()[:200], "the image cannot be read"),
        (_noise_png, "a logo may have at most 262,144 (256 KiB)"),
    ],
    ids=["empty", "not an image", "gif", "truncated png", "over 256 KiB"],
)
def test_a_bad_file_is_refused_in_words_and_nothing_changes(body, tmp_path, content, reason):
    before = _state(body)
    path = tmp_path / "logo.png"
    path.write_bytes(content())
    code, output = _set(body, path)
    assert code == 1 and "was not set as the logo" in output and reason in output, output
    assert _state(body) == before


def test_without_a_logo_the_site_answers_404_and_prints_the_word_mark(tmp_path):
    b = make_body(tmp_path)
    add_holder(b, "jane", "Jane Listed", consent=True)
    number = grant(b, b.people["jane"])
    b.sync.flush()
    bundle = tmp_path / "bundle"
    assert CliRunner().invoke(publish_command, [str(bundle), "--data", str(b.data)]).exit_code == 0
    site = TestClient(create_public_app(bundle))
    assert site.get("/logo.png").status_code == 404
    pdf = site.get(f"/c/{number}/certificate.pdf")
    assert pdf.status_code == 200
    # The images are the two QR codes (the link, the offline check); the body's name is set as
    # a word mark instead of a logo.
    assert len(pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].images) == 2
    assert (
        "Example Certification Body"
        in pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    )

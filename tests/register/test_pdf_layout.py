"""The printed certificate as a reader sees it: each variant (short name, 200-character name with
and without spaces, 30 scope items with long conditions, a long scheme name, a logo and a named
decision-maker) is rendered in each language (German and French labels are longer than English
ones) to an image with poppler's ``pdftoppm``, the QR code is decoded from that image and must
give the certificate's URL, and the word boxes of the text layer (poppler's ``pdftotext -bbox``)
must not touch each other, the QR code or the page's margins.

Each (variant, language) is rendered once per module (24 PDFs), and every check reads that one
rendering.

poppler-utils comes from Debian (``make browser`` installs it); without it these tests skip and
say so.
"""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pypdf
import pytest
import zxingcpp
from PIL import Image

from certreg.i18n import LANGUAGES, translator
from certreg.register.pdf import Signatory, certificate_pdf
from certreg.register.records import BodyInfo
from certreg.verifier.standing import CertificateRecord, ScopeLine

pytestmark = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
    reason="poppler-utils (pdftoppm, pdftotext) not installed: `make browser` installs it",
)

DPI = 150
MM = 72 / 25.4  # points per millimetre
BODY = BodyInfo(
    legal_name="Demo Certification Body for Welding and Non-Destructive Testing Personnel GmbH",
    public_url="https://register.example.org",
    did="did:web:register.example.org",
    accreditation_body="DAkkS",
    accreditation_number="D-ZP-12345-01-00",
)
UT2 = ScopeLine("UT2", "Ultrasonic testing, level 2", "steel only", "active", "2026-03-10")
LONG_SCHEME = (
    "International Welding Inspector and Quality Coordinator for Structural Steel Fabrication "
    "under EN 1090-2 Execution Class 3 and ISO 3834-2 Comprehensive Quality Requirements, "
    "including Supervision of Non-Destructive Testing Personnel on Site"
)
NAME_200 = ("Maria Anna-Lena Josefina von Habsburg-Lothringen und Hohenzollern-Sigmaringen " * 3)[
    :200
].strip()


def _record(
    name: str = "Jane Doe",
    scope: tuple[ScopeLine, ...] = (UT2,),
    scheme: str = "Certified Welding Inspector",
) -> CertificateRecord:
    return CertificateRecord(
        number="CWI-2026-0001-7",
        holder_name=name,
        scheme_id="cwi",
        scheme_code="CWI",
        scheme_name=scheme,
        status="ACTIVE",  # as issuer.db and register.db record it
        status_since="2026-01-10",
        valid_from="2026-01-10",
        valid_until="2031-01-09",
        scheme_version="3",
        normative_reference="ISO 9712:2021",
        normative_reference_url="https://www.iso.org/standard/74013.html",
        scope=scope,
    )


SCOPE_30 = tuple(
    ScopeLine(
        f"S{i:02}",
        f"Ultrasonic testing of welded joints in pressure equipment, sector {i}, level 2",
        "Only ferritic steel, wall thickness 8 to 60 mm, manual contact technique, "
        "supervised by a level 3 for the first six months; not valid for austenitic welds",
        "active",
        None,
    )
    for i in range(1, 31)
)


def _logo() -> bytes:
    image = Image.new("RGB", (600, 200), "navy")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


VARIANTS = {
    "short name": (_record("Jo"), {}),
    "200-character name": (_record(NAME_200), {}),
    "200-character unbroken name": (_record("W" * 200), {}),
    "30 scope items with conditions": (_record(scope=SCOPE_30), {}),
    "long scheme name": (_record(scheme=LONG_SCHEME), {}),
    "logo and decision-maker": (
        _record(),
        {"logo": _logo(), "signatory": Signatory("Dana Decider", "Decision-maker")},
    ),
}


@dataclass(frozen=True)
class Box:
    page: int
    x0: float
    y0: float
    x1: float
    y1: float
    text: str = ""

    def grown(self, by: float) -> Box:
        return Box(self.page, self.x0 - by, self.y0 - by, self.x1 + by, self.y1 + by, self.text)

    def meets(self, other: Box) -> bool:
        return (
            self.page == other.page
            and self.x0 < other.x1
            and other.x0 < self.x1
            and self.y0 < other.y1
            and other.y0 < self.y1
        )


_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">')
_WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
)


def _words(path: Path) -> tuple[list[Box], tuple[float, float]]:
    """Every word of the text layer with its box in points, and the page size."""
    html = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    words: list[Box] = []
    size = (0.0, 0.0)
    for page, chunk in enumerate(html.split("<page ")[1:], start=1):
        width, height = _PAGE.match("<page " + chunk).groups()  # type: ignore[union-attr]
        size = (float(width), float(height))
        for x0, y0, x1, y1, text in _WORD.findall(chunk):
            words.append(Box(page, float(x0), float(y0), float(x1), float(y1), text))
    return words, size


def _qr_codes(path: Path, tmp: Path) -> list[tuple[str, Box]]:
    """The QR codes found on the pages rendered at 150 dpi, with their boxes in points."""
    subprocess.run(["pdftoppm", "-r", str(DPI), "-png", str(path), str(tmp / "page")], check=True)
    found = []
    for image_path in sorted(tmp.glob("page-*.png")):
        page = int(image_path.stem.rsplit("-", 1)[1])
        for code in zxingcpp.read_barcodes(Image.open(image_path)):
            p = code.position
            xs = [c.x * 72 / DPI for c in (p.top_left, p.top_right, p.bottom_left, p.bottom_right)]
            ys = [c.y * 72 / DPI for c in (p.top_left, p.top_right, p.bottom_left, p.bottom_right)]
            found.append((code.text, Box(page, min(xs), min(ys), max(xs), max(ys))))
    return found


@dataclass(frozen=True)
class Rendered:
    record: CertificateRecord
    lang: str
    data: bytes
    words: list[Box]
    size: tuple[float, float]
    codes: list[tuple[str, Box]]


CASES = [(variant, lang) for variant in VARIANTS for lang in LANGUAGES]


@pytest.fixture(scope="module")
def renderings() -> dict[tuple[str, str], Rendered]:
    return {}


def _render(variant: str, lang: str, folder: Path) -> Rendered:
    record, options = VARIANTS[variant]
    data = certificate_pdf(record, BODY, printed_on=date(2026, 11, 28), lang=lang, **options)
    path = folder / "certificate.pdf"
    path.write_bytes(data)
    words, size = _words(path)
    return Rendered(record, lang, data, words, size, _qr_codes(path, folder))


@pytest.fixture(params=CASES, ids=[f"{variant}-{lang}" for variant, lang in CASES])
def rendered(request, renderings, tmp_path_factory) -> Rendered:
    """The rendering of one (variant, language), made the first time a test asks for it."""
    if request.param not in renderings:
        renderings[request.param] = _render(*request.param, tmp_path_factory.mktemp("pdf"))
    return renderings[request.param]


def test_the_qr_code_reads_as_the_certificates_address_and_no_text_is_on_it(rendered):
    record, words, codes = rendered.record, rendered.words, rendered.codes
    assert [text for text, _ in codes] == [BODY.certificate_url(record.number)]
    # The finder patterns' box, grown by 3 mm: the quiet zone around the code stays clear too.
    qr = codes[0][1].grown(3 * MM)
    assert [w.text for w in words if w.meets(qr)] == []


def test_no_two_words_overlap_and_all_stay_inside_the_margins(rendered):
    words, (width, height) = rendered.words, rendered.size
    # Boxes shrunk by half a point: neighbours may touch, never overlap.
    shrunk = [w.grown(-0.5) for w in words]
    overlapping = [
        (a.text, b.text)
        for i, a in enumerate(shrunk)
        for b in shrunk[i + 1 :]
        if b.y0 < a.y1 + 50 and a.meets(b)  # words are in reading order: near ones only
    ]
    assert overlapping == []
    margin = 20 * MM - 1
    outside = [
        w.text
        for w in words
        if w.x0 < margin or w.x1 > width - margin or w.y0 < margin or w.y1 > height - margin
    ]
    assert outside == []


def _text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_every_9_4_7_item_is_selectable_text_in_the_order_it_is_printed(rendered):
    record, data = rendered.record, rendered.data
    text = _text(data)
    flat = re.sub(r"\s+", "", text)
    # The holder's name and the scheme's name whole, however they were wrapped.
    assert re.sub(r"\s+", "", record.holder_name or "") in flat
    assert re.sub(r"\s+", "", record.scheme_name) in flat
    for item in record.active_scope:
        assert re.sub(r"\s+", "", item.conditions or "") in flat
    # Reading order is the visual order, top to bottom, in the language printed (compared
    # without white space: a longer label may wrap).
    _ = translator("pages", rendered.lang)
    marks = [
        _("This is to certify that"),
        _("holds the certification"),
        _("Certificate number"),
        _("Normative document"),
        _("Date of expiry"),
        _("Scope of certification"),
        _("Status when printed"),
        _("Check the current status at any time:"),
    ]
    where = [flat.find(re.sub(r"\s+", "", mark)) for mark in marks]
    assert -1 not in where and where == sorted(where), dict(zip(marks, where, strict=True))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_document_language_and_title_are_set(lang):
    reader = pypdf.PdfReader(io.BytesIO(certificate_pdf(_record(), BODY, lang=lang)))
    assert reader.trailer["/Root"]["/Lang"] == lang
    assert reader.metadata is not None
    title = {"en": "Certificate", "de": "Zertifikat", "fr": "Certificat", "es": "Certificado"}
    separator = " : " if lang == "fr" else ": "
    assert reader.metadata.title == f"{title[lang]} CWI-2026-0001-7{separator}Jane Doe"
    assert bool(reader.trailer["/Root"]["/ViewerPreferences"]["/DisplayDocTitle"])


def _pdftotext(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return re.sub(r"\s+", " ", out.stdout)  # as read, wherever a line was wrapped


def test_the_german_certificate_reads_german(tmp_path):
    record = dataclasses.replace(_record(), valid_until="2029-01-14T23:59:59Z")
    data = certificate_pdf(record, BODY, printed_on=date(2026, 11, 28), lang="de")
    text = _pdftotext(data, tmp_path)
    for words in (
        "ZERTIFIKAT",
        "Hiermit wird bescheinigt, dass",
        "Zertifikatsnummer",
        "Gültig ab 10. Januar 2026",
        "Ablaufdatum 14. Januar 2029",
        "Geltungsbereich der Zertifizierung",
        "Bedingungen und Einschränkungen: steel only",
        "GÜLTIG bis 14. Januar 2029 (gedruckt am 28. November 2026)",
        "Akkreditiert durch DAkkS, Akkreditierungsnummer D-ZP-12345-01-00",
        "Den aktuellen Status jederzeit prüfen:",
        "Zertifikat CWI-2026-0001-7 · Seite 1 von 1",
    ):
        assert words in text, words
    for english in ("CERTIFICATE", "This is to certify", "Date of expiry", "VALID", "January"):
        assert english not in text, english


def test_french_and_spanish_print_their_own_words_and_dates(tmp_path):
    record = dataclasses.replace(_record(), valid_until="2029-01-14T23:59:59Z")
    french = _pdftotext(certificate_pdf(record, BODY, lang="fr"), tmp_path)
    assert "Nous certifions que" in french and "14 janvier 2029" in french
    spanish = _pdftotext(certificate_pdf(record, BODY, lang="es"), tmp_path)
    assert "Por la presente se certifica que" in spanish and "14 de enero de 2029" in spanish


def test_the_decision_maker_is_named_with_the_role_when_known():
    named = _text(
        certificate_pdf(_record(), BODY, signatory=Signatory("Dana Decider", "Decision-maker"))
    )
    assert "Dana Decider, Decision-maker" in named
    unnamed = re.sub(r"\s+", " ", _text(certificate_pdf(_record(), BODY)))
    assert f"a decision-maker of {BODY.legal_name}" in unnamed
    # The role is printed in the certificate's language.
    german = re.sub(
        r"\s+",
        " ",
        _text(certificate_pdf(_record(), BODY, signatory=Signatory("Dana Decider"), lang="de")),
    )
    assert "Zertifizierungsentscheidung" in german  # the label, which may wrap
    assert "Dana Decider, Entscheidungsträger/in" in german


def test_a_long_certificate_numbers_every_page():
    data = certificate_pdf(_record(scope=SCOPE_30), BODY)
    pages = pypdf.PdfReader(io.BytesIO(data)).pages
    assert len(pages) > 1
    for i, page in enumerate(pages, start=1):
        assert f"Certificate CWI-2026-0001-7 · page {i} of {len(pages)}" in page.extract_text()


def test_without_dejavu_a_name_outside_latin_1_prints_with_question_marks(monkeypatch):
    # Systems without fonts-dejavu-core fall back to Helvetica (Latin-1 only): the PDF is
    # still made, and says where a character could not be printed.
    monkeypatch.setattr("certreg.register.pdf._unicode_font", lambda: None)
    text = _text(certificate_pdf(_record("Łukasz Żółć " + "Ż" * 120), BODY))
    assert "?ukasz ?ó?? " in text


def test_a_logo_starts_no_structure_tree_that_would_leave_the_text_untagged():
    # docs/register.md: a tree holding one /Figure while the text sits outside every tag tells
    # assistive technology the document is tagged when it is not.
    reader = pypdf.PdfReader(io.BytesIO(certificate_pdf(_record(), BODY, logo=_logo())))
    assert "/StructTreeRoot" not in reader.trailer["/Root"]
    assert "/MarkInfo" not in reader.trailer["/Root"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_ordinary_certificate_is_one_page_in_every_language(lang):
    # With the logo, a named decision-maker and the long body name above: the longer German,
    # French and Spanish labels must not push the QR code onto a second page.
    data = certificate_pdf(
        _record(), BODY, logo=_logo(), signatory=Signatory("Dana Decider"), lang=lang
    )
    assert len(pypdf.PdfReader(io.BytesIO(data)).pages) == 1

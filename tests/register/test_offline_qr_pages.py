"""The offline QR code on every certificate (issue 14 item 2) and ``/offline.json`` (item 3).

A body is built on disk (tests/register_support.py) with a certificate in the directory whose
holder is named, one whose holder is not named, and one published by number only; each gets
its CR1 payload signed with the body's key (``payload.sign_compact``) and put in register.db
where the page reads it: the ``certifications.offline_qr`` column, and the ``"offline_qr"`` key
of the sealed record. (Until the issuer side signs and pushes it itself, this test does; see
``_put_offline_qr``.) Then ``certreg serve`` (the body's app) and the keyless site of a
``certreg publish`` bundle answer, in process (TestClient, real SQLite).

The QR images are decoded with zxing-cpp, an independent reader: the page's, the share page's
and the PDF's (its image taken out with pypdf) all hold exactly the signed text, in a code of
version 13 or less.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import zxingcpp
from click.testing import CliRunner
from fastapi.testclient import TestClient
from PIL import Image
from pypdf import PdfReader
from register_support import Body, add_holder, grant, make_body

from certreg.issuer.cli.publish import publish_command
from certreg.issuer.http.app import create_app
from certreg.keys.keypair import KeyPair
from certreg.keys.multikey import decode_public_key
from certreg.keys.store import KeyStore
from certreg.register import push
from certreg.register.db import open_register
from certreg.register.offline import FORMAT, offline_document
from certreg.register.pdf import certificate_pdf
from certreg.register.records import BodyInfo
from certreg.register.shares import ShareCertification, SharePage
from certreg.register.web.app import create_public_app
from certreg.register.web.share import render_share_page
from certreg.verifier.offline import payload
from certreg.verifier.standing import CertificateRecord, ScopeLine


@dataclass
class Offline:
    b: Body
    texts: dict[str, str]  # kind -> the CR1 text put in the register
    numbers: dict[str, str]
    bundle: Path
    body_server: TestClient
    keyless: TestClient


def _pushed_offline_qr(b: Body, number: str, *, sealed: bool) -> str | None:
    """The offline payload register.db holds for ``number``: the public row's column, or the
    sealed number-lookup record's key."""
    conn = sqlite3.connect(b.register)
    try:
        if sealed:
            record = push.find_sealed(conn, number)
            return None if record is None else record.get("offline_qr")
        row = conn.execute(
            "SELECT offline_qr FROM certifications WHERE number = ?", [number]
        ).fetchone()
        return None if row is None else row[0]
    finally:
        conn.close()


def _as_pushed_before_payloads(b: Body, number: str) -> None:
    """A certificate pushed by a certreg that did not sign offline payloads yet."""
    conn = sqlite3.connect(b.register)
    try:
        conn.execute("UPDATE certifications SET offline_qr = NULL WHERE number = ?", [number])
        conn.commit()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Offline:
    tmp = tmp_path_factory.mktemp("offline-qr")
    b = make_body(tmp)
    numbers = {
        "named": grant(b, add_holder(b, "jane", "Jane Doe", consent=True)),
        "nameless": grant(b, add_holder(b, "nora", "Nora Private", consent=False)),
        "sealed": grant(
            b, add_holder(b, "nina", "Nina Number", consent=True, schemes=("ndt",)), "ndt"
        ),
        "without": grant(b, add_holder(b, "walt", "Walt Without", consent=True)),
    }
    # The issuer signed each certificate's payload with its credential and pushed it where
    # the register holds the holder's name, and nowhere else.
    texts = {}
    for kind in ("named", "nameless", "sealed"):
        text = b.body.certification(numbers[kind]).offline_qr
        assert text is not None and text.startswith("CR1:")
        texts[kind] = text
    assert _pushed_offline_qr(b, numbers["named"], sealed=False) == texts["named"]
    assert _pushed_offline_qr(b, numbers["sealed"], sealed=True) == texts["sealed"]
    assert _pushed_offline_qr(b, numbers["nameless"], sealed=False) is None
    _as_pushed_before_payloads(b, numbers["without"])
    bundle = tmp / "bundle"
    result = CliRunner().invoke(publish_command, [str(bundle), "--data", str(b.data)])
    assert result.exit_code == 0, result.output
    body_server = TestClient(create_app(b.body, key_store=KeyStore(b.data / "keys")))
    keyless = TestClient(create_public_app(bundle))
    return Offline(b, texts, numbers, bundle, body_server, keyless)


def _decode(image: bytes | Image.Image) -> tuple[str, int]:
    """The text and QR version zxing-cpp reads in ``image`` (exactly one code, at level M)."""
    if isinstance(image, bytes):
        image = Image.open(io.BytesIO(image))
    found = zxingcpp.read_barcodes(image.convert("L"))
    assert len(found) == 1, found
    assert found[0].ec_level == "M"
    return found[0].text, int(found[0].extra["Version"])


def _servers(offline: Offline) -> list[TestClient]:
    return [offline.body_server, offline.keyless]


# --- the certificate page ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["named", "sealed"])
def test_the_page_shows_an_offline_qr_that_decodes_to_the_signed_text(offline, kind):
    number, text = offline.numbers[kind], offline.texts[kind]
    for client in _servers(offline):
        page = client.get(f"/c/{number}")
        assert page.status_code == 200
        assert "Scan to check offline" in page.text
        src = re.search(r'<img src="([^"]*offline-qr\.png)"', page.text)
        assert src is not None
        image = client.get(src.group(1))
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        decoded, version = _decode(image.content)
        assert decoded == text
        assert 1 <= version <= 13
        assert payload.decode(decoded).certificate.number == number
        svg = client.get(f"/c/{number}/offline-qr.svg")
        assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
        # Revalidated each time (a revision signs a new payload), cheaply.
        again = client.get(src.group(1), headers={"If-None-Match": image.headers["etag"]})
        assert again.status_code == 304


@pytest.mark.parametrize("kind", ["nameless", "without"])
def test_no_offline_qr_without_a_payload_or_without_the_holder_s_public_name(offline, kind):
    number = offline.numbers[kind]
    for client in _servers(offline):
        page = client.get(f"/c/{number}")
        assert page.status_code == 200
        assert "offline-qr" not in page.text and "Scan to check offline" not in page.text
        assert client.get(f"/c/{number}/offline-qr.png").status_code == 404
    if kind == "nameless":  # the payload holds the name: the register holds it, unshown
        assert offline.texts[kind].startswith("CR1:")


def test_the_page_says_it_in_the_reader_s_language(offline):
    number = offline.numbers["named"]
    for client in _servers(offline):
        page = client.get(f"/c/{number}?lang=de")
        assert "offline-qr.png" in page.text and "Zum Prüfen ohne Netz scannen" in page.text
        pdf = client.get(f"/c/{number}/certificate.pdf", headers={"Accept-Language": "fr"})
        words = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
        assert "Scanner pour vérifier hors ligne" in " ".join(words.split())  # may wrap


# --- the PDF -------------------------------------------------------------------------------------


def _pdf_codes(data: bytes) -> list[str]:
    texts = []
    for image in PdfReader(io.BytesIO(data)).pages[0].images:
        found = zxingcpp.read_barcodes(image.image.convert("L"))
        texts += [f.text for f in found]
    pages = PdfReader(io.BytesIO(data)).pages
    for page in pages[1:]:
        for image in page.images:
            texts += [f.text for f in zxingcpp.read_barcodes(image.image.convert("L"))]
    return texts


@pytest.mark.parametrize("kind", ["named", "sealed"])
def test_the_pdf_carries_the_offline_qr_beside_the_link(offline, kind):
    number, text = offline.numbers[kind], offline.texts[kind]
    for client in _servers(offline):
        pdf = client.get(f"/c/{number}/certificate.pdf")
        assert pdf.status_code == 200
        codes = _pdf_codes(pdf.content)
        assert text in codes
        assert f"https://cb.example/c/{number}" in codes
        words = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
        assert "Scan to check offline" in " ".join(words.split())  # the caption may wrap
        assert len(PdfReader(io.BytesIO(pdf.content)).pages) == 1  # side by side: one page


def test_the_pdf_s_offline_qr_is_printed_big_enough_to_scan(offline):
    """Printed size over modules: 0.5 mm a module or more, and the quiet zone in the image."""
    from certreg.register.pdf import OFFLINE_QR_SIZE_MM
    from certreg.register.qr import offline_qr_version

    version = offline_qr_version(offline.texts["named"])
    modules = 17 + 4 * version + 2 * 4
    assert version <= 13 and OFFLINE_QR_SIZE_MM / modules >= 0.5


def test_a_pdf_without_a_payload_has_only_the_link_qr(offline):
    number = offline.numbers["without"]
    pdf = offline.keyless.get(f"/c/{number}/certificate.pdf")
    assert _pdf_codes(pdf.content) == [f"https://cb.example/c/{number}"]


# --- the share page ------------------------------------------------------------------------------


def _share_page(offline: Offline, kind: str, text: str | None) -> str:
    number = offline.numbers[kind]
    cert = offline.b.body.certification(number)
    base = SharePage.from_json(
        {
            "share": {"expires_at": None},
            "certification": {
                "number": number,
                "holder_name": cert.holder_name,
                "status": cert.status,
                "status_since": cert.status_since,
                "valid_from": cert.valid_from,
                "valid_until": cert.valid_until,
                "scope": [],
                "credential": cert.credential,
            },
            "scheme": {"name": "Scheme CWI", "publication_policy": "directory"},
            "body": {"legal_name": "Example", "public_url": "https://cb.example", "did": "d"},
        }
    )
    values = {f.name: getattr(base.certification, f.name) for f in fields(ShareCertification)}
    values["offline_qr"] = text
    page = SharePage(base.share, ShareCertification(**values), base.scheme, base.body)
    response = render_share_page(page, "t" * 32, now=offline.b.clock())
    assert "img-src 'self' data:" in response.headers["content-security-policy"]
    return bytes(response.body).decode("utf-8")


def test_the_share_page_shows_the_offline_qr(offline):
    text = offline.texts["named"]
    html = _share_page(offline, "named", text)
    assert "Scan to check offline" in html
    found = re.search(r'class="offline-qr" src="data:image/png;base64,([^"]+)"', html)
    assert found is not None
    decoded, version = _decode(base64.b64decode(found.group(1)))
    assert decoded == text and version <= 13


def test_a_share_page_without_a_payload_shows_none(offline):
    html = _share_page(offline, "without", None)
    assert "data:image/png" not in html and "Scan to check offline" not in html


# --- /offline.json -------------------------------------------------------------------------------


def _expected_lists(offline: Offline) -> list[str]:
    ids = [
        row[0]
        for row in offline.b.body.db.execute(
            "SELECT l.id FROM status_lists l JOIN status_list_versions v "
            "ON v.list_id = l.id AND v.version = l.version ORDER BY l.id"
        )
    ]
    assert ids
    return [f"https://cb.example/status/{i}" for i in ids]


def _check_document(offline: Offline, document: dict, client: TestClient) -> None:
    assert document["format"] == FORMAT
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", document["generated"])
    info = offline.b.body.info
    assert document["body"] == {
        "did": info["did"],
        "name": "Example Certification Body",
        "public_url": "https://cb.example",
    }
    did_document = client.get("/.well-known/did.json").json()
    methods = {m["id"]: m["publicKeyMultibase"] for m in did_document["verificationMethod"]}
    assert {k["id"] for k in document["keys"]} == set(methods)
    for key in document["keys"]:
        raw = decode_public_key(key["publicKeyMultibase"])
        assert key["kid"] == payload.key_id(raw).hex()
        assert key["publicKeyMultibase"] == methods[key["id"]]
        assert key["revoked"] is None
    # The signed payloads name a key the document lists.
    kid = payload.decode(offline.texts["named"]).kid.hex()
    assert kid in {k["kid"] for k in document["keys"]}
    assert document["status_lists"] == _expected_lists(offline)
    for url in document["status_lists"]:
        served = client.get(url.removeprefix("https://cb.example"))
        assert served.status_code == 200
        assert "BitstringStatusListCredential" in served.json()["type"]
    schemes = {s["code"]: s for s in document["schemes"]}
    assert set(schemes) == {"CWI", "NDT", "SEC"}
    assert schemes["CWI"]["version"] == "1" and schemes["CWI"]["name"] == "Scheme CWI"
    assert schemes["CWI"]["scope"] == {
        "UT2": "Ultrasonic testing, level 2",
        "VT2": "Visual testing, level 2",
    }
    assert set(document) == {"format", "generated", "body", "keys", "status_lists", "schemes"}


def test_offline_json_on_both_servers_and_in_the_bundle(offline):
    documents = []
    for client in _servers(offline):
        response = client.get("/offline.json")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers["cache-control"] == "public, max-age=300"
        again = client.get("/offline.json", headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304
        _check_document(offline, response.json(), client)
        documents.append(response.json())
    published = json.loads((offline.bundle / "offline.json").read_text())
    _check_document(offline, published, offline.keyless)
    for document in documents:
        assert {**document, "generated": ""} == {**published, "generated": ""}
    assert "offline.json" in (offline.bundle / "SHA256SUMS").read_text()


def test_offline_json_marks_a_revoked_key_and_names_only_the_lists_served(tmp_path):
    """register.offline alone, over a register.db holding a rotated key history: the revoked
    key stays listed (certificates it signed before still name it), marked with its instant;
    a status list id that is not one ``/status/<id>`` answers is left out."""
    db = open_register(tmp_path / "register.db", create=True)
    db.execute(
        "INSERT INTO body (id, legal_name, public_url, did, updated_at) VALUES (1, ?, ?, ?, ?)",
        ["Body", "https://cb.example/", "did:web:cb.example", "2026-01-01T00:00:00Z"],
    )
    old, new = KeyPair.generate(), KeyPair.generate()
    for key_id_, pair, created, revoked in (
        ("did:web:cb.example#key-1", old, "2025-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
        ("did:web:cb.example#key-2", new, "2026-02-01T00:00:00Z", None),
    ):
        db.execute(
            "INSERT INTO issuer_keys (id, public_key_multibase, created, revoked) "
            "VALUES (?, ?, ?, ?)",
            [key_id_, pair.public_multibase, created, revoked],
        )
    conn = sqlite3.connect(tmp_path / "register.db")
    document = offline_document(
        conn, ["revocation-1", "../etc", "message-1"], now=datetime(2026, 3, 1, tzinfo=UTC)
    )
    assert document["generated"] == "2026-03-01T00:00:00Z"
    assert document["keys"] == [
        {
            "id": "did:web:cb.example#key-1",
            "kid": payload.key_id(old.public_key.raw).hex(),
            "publicKeyMultibase": old.public_multibase,
            "revoked": "2026-02-01T00:00:00Z",
        },
        {
            "id": "did:web:cb.example#key-2",
            "kid": payload.key_id(new.public_key.raw).hex(),
            "publicKeyMultibase": new.public_multibase,
            "revoked": None,
        },
    ]
    assert document["status_lists"] == [
        "https://cb.example/status/message-1",
        "https://cb.example/status/revocation-1",
    ]
    assert document["schemes"] == []


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
    reason="poppler-utils (pdftoppm, pdftotext) not installed: `make browser` installs it",
)
@pytest.mark.parametrize("scope_items", [1, 30])
@pytest.mark.parametrize("lang", ["en", "de"])
def test_the_printed_offline_qr_reads_from_the_page_at_150_dpi_with_no_word_on_it(
    offline, tmp_path, scope_items, lang
):
    """The page as a printer or a screen draws it (pdftoppm, 150 dpi: 3.5 pixels a module of
    the offline code): both codes read from the picture, and no word of the text layer lies on
    the offline code (30 scope items push it to a later page, whole)."""
    text = offline.texts["named"]
    scope = tuple(
        ScopeLine(
            f"S{i:02}", f"Scope item {i} with a long label", "Conditions " * 8, "active", None
        )
        for i in range(scope_items)
    )
    record = CertificateRecord(
        number="CWI-2026-0001-7",
        holder_name="Jane Doe",
        scheme_id="cwi",
        scheme_code="CWI",
        scheme_name="Certified Welding Inspector",
        status="ACTIVE",
        status_since="2026-01-10",
        valid_from="2026-01-10",
        valid_until="2031-01-09",
        scope=scope,
        extra={"offline_qr": text},
    )
    body = BodyInfo("Example Certification Body", "https://cb.example", "did:web:cb.example")
    path = tmp_path / "certificate.pdf"
    path.write_bytes(certificate_pdf(record, body, printed_on=date(2026, 11, 28), lang=lang))
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(path), str(tmp_path / "p")], check=True)
    codes: dict[str, tuple[int, float, float, float, float]] = {}
    for image_path in sorted(tmp_path.glob("p-*.png")):
        page = int(image_path.stem.rsplit("-", 1)[1])
        for code in zxingcpp.read_barcodes(Image.open(image_path)):
            at = code.position
            points = (at.top_left, at.top_right, at.bottom_left, at.bottom_right)
            xs, ys = [c.x * 72 / 150 for c in points], [c.y * 72 / 150 for c in points]
            codes[code.text] = (page, min(xs), min(ys), max(xs), max(ys))
    assert set(codes) == {text, "https://cb.example/c/CWI-2026-0001-7"}
    page, x0, y0, x1, y1 = codes[text]
    assert (x1 - x0) / 72 * 25.4 >= 35  # the symbol (quiet zone aside) is over 35 mm wide
    words = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    for number, chunk in enumerate(words.split("<page ")[1:], start=1):
        if number != page:
            continue
        for wx0, wy0, wx1, wy1 in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">', chunk
        ):
            on_code = float(wx0) < x1 and x0 < float(wx1) and float(wy0) < y1 and y0 < float(wy1)
            assert not on_code


def test_the_staff_print_carries_the_offline_qr_even_of_an_unlisted_holder(offline):
    """The staff PDF is the holder's own certificate, printed for them: it carries the
    offline QR though the register does not list the holder's name."""
    from certreg.issuer.tokens import create_token

    staff = offline.b.body.db.execute("SELECT id FROM staff LIMIT 1").fetchone()[0]
    token = create_token(offline.b.body, staff, name="offline qr test")[1]
    number = offline.numbers["nameless"]
    pdf = offline.body_server.get(
        f"/api/certifications/{number}/certificate.pdf",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert pdf.status_code == 200
    assert offline.texts["nameless"] in _pdf_codes(pdf.content)
    public = offline.keyless.get(f"/c/{number}/certificate.pdf")
    assert public.status_code != 200 or offline.texts["nameless"] not in _pdf_codes(public.content)

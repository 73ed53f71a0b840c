"""A scheme's name in the reader's language (issue 12 item 2): the body gives a scheme names in
other languages; the push carries them into register.db, ``certreg publish`` into the bundle,
and the keyless site shows them on the certificate page, the home page's cards and filters and
the PDF, with the name the credential is signed with still on the certificate page and the PDF
(they quote the certificate). A reader whose language has no name gets the signed name.

A real body on disk, pushed to its register; the bundle served by the keyless app in process.
"""

from __future__ import annotations

import html
import io
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from pypdf import PdfReader
from register_support import Body, add_holder, grant, make_body

from certreg.issuer.cli.publish import publish_command
from certreg.issuer.register_push import rebuild_reason
from certreg.register import push
from certreg.register.db import open_register
from certreg.register.records import read_scheme_names, scheme_name
from certreg.register.web.app import create_public_app

GERMAN = "Schweißaufsichtsperson"
SPANISH = "Inspector de soldadura"
SIGNED = "Scheme CWI"  # register_support names every scheme "Scheme CODE"


@pytest.fixture
def body(tmp_path: Path) -> tuple[Body, str]:
    b = make_body(tmp_path)
    number = grant(b, add_holder(b, "jane", "Jane Doe", consent=True))
    b.body.add_scheme_version("cwi", names={"de": GERMAN, "es": SPANISH})
    return b, number


def keyless_site(b: Body, tmp_path: Path) -> tuple[TestClient, Path]:
    """``certreg publish``, the bundle copied to a fresh folder, the keyless app on it."""
    out = tmp_path / "out"
    result = CliRunner().invoke(publish_command, [str(out), "--data", str(b.data)])
    assert result.exit_code == 0, result.output
    copy = tmp_path / f"copy-{time.monotonic_ns()}"
    shutil.copytree(out, copy)
    return TestClient(create_public_app(copy)), copy


def text(response) -> str:
    assert response.status_code == 200, response.text
    return html.unescape(response.text)


def test_the_push_carries_the_names_and_a_new_version_replaces_them(body, tmp_path):
    b, _ = body
    reg = open_register(b.register)
    assert read_scheme_names(reg.conn) == {"cwi": {"de": GERMAN, "es": SPANISH}}
    b.body.add_scheme_version("cwi", names={"es": None, "fr": "Inspecteur en soudage"})
    assert read_scheme_names(reg.conn, "cwi") == {
        "cwi": {"de": GERMAN, "fr": "Inspecteur en soudage"}
    }
    # The scheme's own row keeps the signed name.
    assert reg.conn.execute("SELECT name FROM schemes WHERE id = 'cwi'").fetchone()[0] == SIGNED
    _, bundle = keyless_site(b, tmp_path)
    with sqlite3.connect(bundle / "public.db") as conn:
        assert sorted(conn.execute("SELECT lang, name FROM scheme_names")) == [
            ("de", GERMAN),
            ("fr", "Inspecteur en soudage"),
        ]


def test_the_certificate_page_names_the_scheme_in_the_readers_language(body, tmp_path):
    b, number = body
    site, _ = keyless_site(b, tmp_path)
    german = text(site.get(f"/c/{number}?lang=de"))
    assert f"{GERMAN} (CWI); im signierten Zertifikat: {SIGNED}" in german
    by_header = text(site.get(f"/c/{number}", headers={"Accept-Language": "de-DE,de;q=0.9"}))
    assert f"{GERMAN} (CWI)" in by_header
    spanish = text(site.get(f"/c/{number}?lang=es"))
    assert f"{SPANISH} (CWI); en el certificado firmado: {SIGNED}" in spanish
    # English and French have no name of their own: the signed name, alone, as before.
    for lang, version in (("en", "scheme version 2"), ("fr", "version du programme 2")):
        page = text(site.get(f"/c/{number}?lang={lang}"))
        assert f"<dd>{SIGNED} (CWI), {version}" in page, lang
        assert GERMAN not in page
        assert "dans le certificat signé" not in page and "in the signed certificate" not in page


def test_the_home_pages_cards_and_filters_name_the_scheme_in_the_readers_language(body, tmp_path):
    b, number = body
    site, _ = keyless_site(b, tmp_path)
    german = text(site.get("/?q=Jane+Doe&lang=de"))
    assert f"<dt>Programm</dt><dd>{GERMAN} (CWI)</dd>" in german
    assert f'<option value="cwi">{GERMAN} (CWI)</option>' in german
    by_number = text(site.get(f"/?q={number.lower()}&lang=de"))
    assert f"<dd>{GERMAN} (CWI)</dd>" in by_number
    for lang, label in (("en", "Scheme"), ("fr", "Programme")):
        page = text(site.get(f"/?q=Jane+Doe&lang={lang}"))
        assert f"<dt>{label}</dt><dd>{SIGNED} (CWI)</dd>" in page
        assert f'<option value="cwi">{SIGNED} (CWI)</option>' in page and GERMAN not in page


def test_the_pdf_names_the_scheme_in_the_readers_language_and_quotes_the_signed_name(
    body, tmp_path
):
    b, number = body
    site, _ = keyless_site(b, tmp_path)

    def pdf_text(lang: str) -> str:
        response = site.get(f"/c/{number}/certificate.pdf?lang={lang}")
        assert response.status_code == 200
        reader = PdfReader(io.BytesIO(response.content))
        return " ".join(" ".join(p.extract_text().split()) for p in reader.pages)

    german = pdf_text("de")
    assert f"{GERMAN} (CWI)" in german
    assert f"{SIGNED} (CWI), Version 2" in german  # the "Certification scheme" line, in German
    french = pdf_text("fr")
    assert GERMAN not in french and f"{SIGNED} (CWI)" in french


def test_a_register_without_names_shows_the_signed_names(body, tmp_path):
    """A bundle written before names were pushed (no ``scheme_names`` table) still answers,
    with the signed names; the issuer rebuilds a register of the older format."""
    b, number = body
    site, bundle = keyless_site(b, tmp_path)
    with sqlite3.connect(bundle / "public.db") as conn:
        conn.execute("DROP TABLE scheme_names")
    site = TestClient(create_public_app(bundle))
    page = text(site.get(f"/c/{number}?lang=de"))
    assert f"{SIGNED} (CWI)" in page and GERMAN not in page
    assert GERMAN not in text(site.get("/?q=Jane&lang=de"))

    reg = open_register(b.register)
    assert rebuild_reason(b.body, reg) is None
    reg.conn.execute("UPDATE register_meta SET value = '2' WHERE key = ?", [push.FORMAT_META])
    reason = rebuild_reason(b.body, reg)
    writes = f"format 2; this certreg writes format {push.REGISTER_FORMAT}"
    assert reason is not None and writes in reason


def test_scheme_name_falls_back_to_the_signed_name():
    names = {"de": GERMAN}
    assert scheme_name(names, SIGNED, "de") == GERMAN
    assert scheme_name(names, SIGNED, "fr") == SIGNED
    assert scheme_name({}, SIGNED, "en") == SIGNED


def test_a_sealed_number_lookup_record_names_its_scheme_in_the_readers_language(
    tmp_path, monkeypatch
):
    b = make_body(tmp_path)
    number = grant(b, add_holder(b, "otto", "Otto Lookup", consent=True, schemes=("ndt",)), "ndt")
    b.body.add_scheme_version("ndt", names={"fr": "Agent de contrôle non destructif"})
    monkeypatch.setenv("CERTREG_LOOKUP_SECRET_FILE", str(b.data / "register-lookup.secret"))
    site, _ = keyless_site(b, tmp_path)
    french = text(site.get(f"/c/{number}?lang=fr"))
    assert "Agent de contrôle non destructif (NDT); dans le certificat signé : Scheme NDT" in french
    assert "<dd>Scheme NDT (NDT), Programmversion 2" in text(site.get(f"/c/{number}?lang=de"))

"""The public register as the public sees it: Datasette in process (``datasette.client``), and
the ``certreg serve`` app through httpx's ASGITransport: search, the canned query, SQL
refused, facets from ``facet_counts``, the certificate page, QR codes (decoded), the PDF
(text extracted) and the verify page.

One certification body (tests/register_support.py: every change pushed to register.db) with:
Jane (directory, listed by name), Hugo (directory, not listed, then suspended), Larry
(number_lookup), Sam (on_request) and Wendy (directory, withdrawn).
"""

from __future__ import annotations

import asyncio
import copy
import io
import json
import re
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pypdf
import pytest
import zxingcpp
from PIL import Image
from register_support import PASSPHRASE, Body, add_holder, grant, make_body

from certreg.issuer.credential import Body as CredentialBody
from certreg.issuer.credential import (
    NormativeReference,
    Scheme,
    ScopeItem,
    certification_credential,
)
from certreg.issuer.http import create_app
from certreg.keys.store import KeyStore
from certreg.register.records import plain_date
from certreg.register.site import make_datasette
from certreg.verifier.dataintegrity import add_proof


@pytest.fixture(scope="module")
def reg(tmp_path_factory: pytest.TempPathFactory) -> Body:
    b = make_body(tmp_path_factory.mktemp("register"))
    # Real time: the app's verifier checks status lists against the real clock.
    b.clock.now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    b.body.status_lists.refresh_due()
    add_holder(b, "jane", "Jane Listed", consent=True)
    add_holder(b, "hugo", "Hugo Unlisted", consent=False)
    add_holder(b, "larry", "Larry Lookup", consent=True, schemes=("ndt",))
    add_holder(b, "sam", "Sam Onrequest", consent=True, schemes=("sec",))
    add_holder(b, "wendy", "Wendy Withdrawn", consent=True)
    numbers = {
        "jane": grant(b, b.people["jane"]),
        "hugo": grant(b, b.people["hugo"]),
        "larry": grant(b, b.people["larry"], "ndt"),
        "sam": grant(b, b.people["sam"], "sec"),
        "wendy": grant(b, b.people["wendy"]),
    }
    b.clock.advance(hours=1)
    until = (b.clock.now + timedelta(days=30)).date().isoformat()
    b.body.suspend(
        numbers["hugo"], decided_by=b.decider, reason="private reason: audit", until=until
    )
    b.body.withdraw(numbers["wendy"], decided_by=b.decider, reason="private reason: fraud")
    b.sync.flush()
    b.numbers = numbers  # type: ignore[attr-defined]
    return b


def run(coro_fn: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(coro_fn())


def n(reg: Body, key: str) -> str:
    return reg.numbers[key]  # type: ignore[attr-defined]


# --- Datasette, in process ----------------------------------------------------------------


def datasette_get(reg: Body, *urls: str) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        ds = make_datasette(reg.register, certificate_url_prefix="/c/")
        await ds.invoke_startup()
        return [await ds.client.get(url) for url in urls]

    return run(go)


def test_search_finds_a_directory_holder_by_name_not_a_number_lookup_holder(reg):
    jane, larry = datasette_get(
        reg,
        "/public/certifications.json?_search=Jane&_shape=array",
        "/public/certifications.json?_search=Larry&_shape=array",
    )
    assert [r["number"] for r in jane.json()] == [n(reg, "jane")]
    assert jane.json()[0]["holder_name"] == "Jane Listed"
    assert larry.status_code == 200 and larry.json() == []


def test_search_finds_an_unlisted_directory_holder_by_number_only(reg):
    by_name, by_number = datasette_get(
        reg,
        "/public/certifications.json?_search=Hugo&_shape=array",
        f"/public/certifications.json?_search={n(reg, 'hugo')}&_shape=array",
    )
    assert by_name.json() == []
    [row] = by_number.json()
    assert row["number"] == n(reg, "hugo") and row["holder_name"] is None


def test_canned_query_finds_directory_and_number_lookup_certificates_by_exact_number(reg):
    jane, larry, sam, wrong = datasette_get(
        reg,
        f"/public/verify.json?number={n(reg, 'jane')}&_shape=array",
        f"/public/verify.json?number={n(reg, 'larry').lower()}&_shape=array",
        f"/public/verify.json?number={n(reg, 'sam')}&_shape=array",
        "/public/verify.json?number=NDT-0000-0000-0&_shape=array",
    )
    assert [r["holder_name"] for r in jane.json()] == ["Jane Listed"]
    [row] = larry.json()
    assert row["number"] == n(reg, "larry") and row["holder_name"] == "Larry Lookup"
    assert row["status"] == "ACTIVE" and row["scheme_code"] == "NDT"
    assert sam.json() == [] and wrong.json() == []  # on_request: not in the register


def test_canned_query_page_is_a_plain_form(reg):
    [page] = datasette_get(reg, f"/public/verify?number={n(reg, 'larry')}")
    assert page.status_code == 200
    assert "Verify a certificate number" in page.text and "Larry Lookup" in page.text


@pytest.mark.parametrize(
    "url",
    [
        "/public.json?sql=select+*+from+lookup",
        "/public?sql=select+1",
        "/public/certifications.json?_where=1%3D1",
    ],
)
def test_arbitrary_sql_is_refused(reg, url):
    [r] = datasette_get(reg, url)
    assert r.status_code in (400, 403)


def test_page_sizes_are_bounded_and_live_facets_are_off(reg):
    big, facet, ok = datasette_get(
        reg,
        "/public/certifications.json?_size=100000",
        "/public/certifications.json?_facet=status",
        "/public/certifications.json?_size=500",
    )
    assert big.status_code == 400
    assert facet.status_code == 400
    assert ok.status_code == 200


def test_facets_come_from_facet_counts(reg):
    # Doctor the precomputed counts: the page must show them, not a live count.
    import sqlite3

    conn = sqlite3.connect(reg.register)
    with conn:
        conn.execute(
            "UPDATE facet_counts SET count = 4242 WHERE facet = 'status' AND value = 'ACTIVE'"
        )
    try:
        [page] = datasette_get(reg, "/public/certifications")
    finally:
        with conn:
            conn.execute(
                "UPDATE facet_counts SET count = 1 WHERE facet = 'status' AND value = 'ACTIVE'"
            )
        conn.close()
    assert page.status_code == 200
    assert "certreg-facet-status" in page.text and "4,242" in page.text
    assert "certreg-facet-scheme" in page.text and "Scheme CWI" in page.text
    assert "?status=ACTIVE" in page.text


def test_json_and_csv_of_the_directory(reg):
    as_json, as_csv = datasette_get(
        reg, "/public/certifications.json?_shape=array", "/public/certifications.csv"
    )
    numbers = {r["number"] for r in as_json.json()}
    assert numbers == {n(reg, "jane"), n(reg, "hugo"), n(reg, "wendy")}
    assert (
        as_csv.headers["content-type"].startswith("text/plain")
        or "csv" in (as_csv.headers["content-type"])
    )
    assert "Jane Listed" in as_csv.text and "Larry" not in as_csv.text


def test_scheme_page(reg):
    [page] = datasette_get(reg, "/public/schemes/cwi")
    assert page.status_code == 200
    for text in (
        "Scheme CWI",
        "The public description of CWI.",
        "Two years of practice.",
        "Written and practical examination.",
        "Write to the appeals committee.",
        "ISO 9712:2021",
        "Ultrasonic testing, level 2",
    ):
        assert text in page.text


def test_directory_rows_link_to_the_certificate_page(reg):
    number = n(reg, "jane")
    row, scope = datasette_get(
        reg, f"/public/certifications/{number}", "/public/certification_scope"
    )
    assert f'href="/c/{number}"' in row.text and "Open the certificate page" in row.text
    assert f'href="/c/{number}"' in scope.text


# --- the certreg serve app ----------------------------------------------------------------


def app_get(reg: Body, *requests: tuple[str, str, dict[str, Any]]) -> list[httpx.Response]:
    app = create_app(reg.body, passphrase=PASSPHRASE)

    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return [await c.request(method, url, **kw) for method, url, kw in requests]

    return run(go)


def get(reg: Body, url: str, **kw: Any) -> httpx.Response:
    return app_get(reg, ("GET", url, kw))[0]


def test_register_is_mounted(reg):
    r1, r2, r3 = app_get(
        reg,
        ("GET", "/register", {}),
        ("GET", "/register/", {}),
        ("GET", "/register/public/certifications.json?_search=Jane&_shape=array", {}),
    )
    assert r1.status_code in (301, 307, 308) and r1.headers["location"] == "/register/"
    assert r2.status_code == 200 and "Example Certification Body" in r2.text
    assert [r["holder_name"] for r in r3.json()] == ["Jane Listed"]


def test_certificate_page_shows_status_scope_history_and_qr(reg):
    r = get(reg, f"/c/{n(reg, 'jane')}")
    assert r.status_code == 200
    page = r.text
    assert 'class="status valid"' in page and "VALID until" in page
    assert "Jane Listed" in page and "Scheme CWI" in page
    assert "Ultrasonic testing, level 2" in page and "steel, 6-40 mm" in page
    assert "Visual testing, level 2" in page
    assert "Example Certification Body" in page and "Accredited by DAkkS" in page
    assert "Granted" in page and "Last updated" in page
    assert f"/c/{n(reg, 'jane')}/qr.svg" in page
    assert "https://cb.example/c/" + n(reg, "jane") in page


def test_certificate_page_of_a_suspended_unlisted_holder(reg):
    page = get(reg, f"/c/{n(reg, 'hugo')}").text
    today = plain_date(reg.clock.now.date().isoformat())
    assert 'class="status suspended"' in page and f"SUSPENDED since {today}" in page
    assert "Hugo" not in page  # not listed: no name
    assert "Suspended" in page  # the dated history
    assert "private reason" not in page


def test_certificate_page_of_a_withdrawn_certificate(reg):
    page = get(reg, f"/c/{n(reg, 'wendy')}").text
    assert 'class="status withdrawn"' in page and "WITHDRAWN on" in page
    assert "fraud" not in page


def test_certificate_page_of_a_number_lookup_certificate(reg):
    r = get(reg, f"/c/{n(reg, 'larry')}")
    assert r.status_code == 200 and "Larry Lookup" in r.text and "VALID" in r.text


def test_on_request_and_unknown_numbers_are_404_in_plain_words(reg):
    for number in (n(reg, "sam"), "CWI-0000-0000-0"):
        r = get(reg, f"/c/{number}")
        assert r.status_code == 404
        assert "No published certificate has this number" in r.text
        assert "Sam" not in r.text
    assert get(reg, f"/c/{n(reg, 'sam')}/qr.png").status_code == 404
    assert get(reg, f"/c/{n(reg, 'sam')}/certificate.pdf").status_code == 404


def test_an_overlong_number_is_404_in_plain_words_not_echoed_whole(reg):
    r = get(reg, "/c/" + "A" * 5000)
    assert r.status_code == 404 and "No published certificate has this number" in r.text
    assert "A" * 65 not in r.text


def test_a_typed_number_redirects_to_the_stable_url(reg):
    r = get(reg, f"/c/{n(reg, 'jane').lower()}")
    assert r.status_code == 301 and r.headers["location"] == f"/c/{n(reg, 'jane')}"


def _decode_qr(png: bytes) -> list[str]:
    return [code.text for code in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_qr_png_decodes_to_the_certificate_url(reg):
    r = get(reg, f"/c/{n(reg, 'jane')}/qr.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert _decode_qr(r.content) == [f"https://cb.example/c/{n(reg, 'jane')}"]


def test_qr_svg(reg):
    r = get(reg, f"/c/{n(reg, 'larry')}/qr.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert r.text.lstrip().startswith(("<?xml", "<svg")) and "<path" in r.text


def _pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


SECTION_9_4_7 = (
    "Certificate number",  # b)
    "Example Certification Body",  # c)
    "Scheme CWI",  # d)
    "ISO 9712:2021",  # d)
    "Ultrasonic testing, level 2",  # e)
    "Conditions and limitations: steel, 6-40 mm",  # e)
    "Effective date",  # f)
    "Date of expiry",  # f)
)


def test_public_pdf_has_every_9_4_7_item_and_the_qr(reg):
    r = get(reg, f"/c/{n(reg, 'jane')}/certificate.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = _pdf_text(r.content)
    assert "Jane Listed" in text and n(reg, "jane") in text  # a), b)
    for item in SECTION_9_4_7:
        assert item in text, item
    assert f"https://cb.example/c/{n(reg, 'jane')}" in text
    reader = pypdf.PdfReader(io.BytesIO(r.content))
    # The link's QR code, and beside it the offline one (docs/offline.md).
    codes = [text for image in reader.pages[0].images for text in _decode_qr(image.data)]
    assert codes[0] == f"https://cb.example/c/{n(reg, 'jane')}"
    assert [c[:4] for c in codes[1:]] == ["CR1:"]


def test_public_pdf_needs_a_public_name(reg):
    r = get(reg, f"/c/{n(reg, 'hugo')}/certificate.pdf")
    assert r.status_code == 404 and "name is not published" in r.text


def _staff_token(reg: Body) -> str:
    from certreg.issuer.tokens import create_token

    return create_token(reg.body, reg.examiner, name="register test")[1]


def test_admin_pdf_and_qr_from_issuer_data_even_for_on_request(reg):
    headers = {"Authorization": f"Bearer {_staff_token(reg)}"}
    number = n(reg, "sam")
    pdf, png, svg, anonymous = app_get(
        reg,
        ("GET", f"/api/certifications/{number}/certificate.pdf", {"headers": headers}),
        ("GET", f"/api/certifications/{number}/qr.png", {"headers": headers}),
        ("GET", f"/api/certifications/{number}/qr.svg", {"headers": headers}),
        ("GET", f"/api/certifications/{number}/certificate.pdf", {}),
    )
    assert pdf.status_code == 200, pdf.text
    text = _pdf_text(pdf.content)
    assert "Sam Onrequest" in text and number in text and "Scheme SEC" in text
    for item in SECTION_9_4_7[:2] + SECTION_9_4_7[3:]:
        assert item in text, item
    # The staff copy names who decided (the public PDF has no staff names).
    (decider,) = reg.body.db.execute(
        "SELECT st.name FROM decisions d JOIN certifications c ON c.id = d.certification_id "
        "JOIN staff st ON st.id = d.decided_by WHERE c.number = ? AND d.type = 'grant'",
        [number],
    ).fetchone()
    assert f"{decider}, Decision-maker" in " ".join(text.split())
    assert _decode_qr(png.content) == [f"https://cb.example/c/{number}"]
    assert svg.status_code == 200
    assert anonymous.status_code == 401


def test_public_pdf_in_the_readers_language(reg):
    number = n(reg, "jane")
    chosen = get(reg, f"/c/{number}/certificate.pdf?lang=de", headers={"Accept-Language": "fr"})
    assert chosen.status_code == 200 and chosen.headers["content-language"] == "de"
    assert chosen.headers["vary"] == "Accept-Language"
    text = " ".join(_pdf_text(chosen.content).split())
    assert "Zertifikatsnummer" in text and "Certificate number" not in text
    assert pypdf.PdfReader(io.BytesIO(chosen.content)).trailer["/Root"]["/Lang"] == "de"
    browser = get(
        reg, f"/c/{number}/certificate.pdf", headers={"Accept-Language": "es-ES,en;q=0.5"}
    )
    assert browser.headers["content-language"] == "es"
    assert "Número de certificado" in " ".join(_pdf_text(browser.content).split())
    # Unknown languages fall back to English, as the page always was.
    plain = get(reg, f"/c/{number}/certificate.pdf?lang=xx")
    assert plain.headers["content-language"] == "en" and "Certificate number" in _pdf_text(
        plain.content
    )


def test_admin_pdf_in_the_language_asked_for(reg):
    headers = {"Authorization": f"Bearer {_staff_token(reg)}"}
    number = n(reg, "sam")
    r = get(reg, f"/api/certifications/{number}/certificate.pdf?lang=fr", headers=headers)
    assert r.status_code == 200 and r.headers["content-language"] == "fr"
    text = " ".join(_pdf_text(r.content).split())
    assert "Numéro de certificat" in text and "Décideur" in text


def test_admin_pdf_unknown_number_is_404(reg):
    headers = {"Authorization": f"Bearer {_staff_token(reg)}"}
    r = get(reg, "/api/certifications/CWI-0000-0000-0/certificate.pdf", headers=headers)
    assert r.status_code == 404


# --- the verify page ----------------------------------------------------------------------


def credential_of(reg: Body, key: str) -> dict[str, Any]:
    credential = reg.body.certification(n(reg, key)).credential
    assert credential is not None
    return credential


BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def post_verify(reg: Body, **kw: Any) -> httpx.Response:
    """As a browser posts the form (it asks for HTML)."""
    return app_get(reg, ("POST", "/verify", {"headers": BROWSER, **kw}))[0]


def test_verify_form_needs_no_javascript(reg):
    r = get(reg, "/verify")
    assert r.status_code == 200
    assert '<form method="post"' in r.text
    # The only scripts are the QR scanner's (register/web/scan.py) and the offline check's
    # (register/web/webapp.py), both hidden without them; the form has none, nor any handler.
    form = r.text[r.text.index('<form method="post"') : r.text.index("</form>")]
    assert "<script" not in form and not re.search(r"\son[a-z]+=", form)
    scripts = ["/static/vendor/zxing-wasm-3.1.6/zxing-reader.js", "/static/scan.js"]
    assert re.findall(r'<script src="([^"]+)" defer>', r.text) == scripts
    assert re.findall(r'<script type="module" src="([^"]+)">', r.text) == ["/static/offline.js"]
    scripts.append("/static/offline.js")
    assert r.text.count("<script") == len(scripts)
    assert 'name="credential"' in r.text and 'name="file"' in r.text and 'name="url"' in r.text


def test_verify_valid_by_paste(reg):
    r = post_verify(reg, data={"credential": json.dumps(credential_of(reg, "jane"))})
    assert r.status_code == 200
    assert 'class="status valid"' in r.text and "VALID until" in r.text
    assert "Jane Listed" in r.text and "Ultrasonic testing, level 2" in r.text
    assert "Not issued by" not in r.text


def test_verify_valid_by_upload(reg):
    data = json.dumps(credential_of(reg, "larry")).encode()
    r = post_verify(reg, files={"file": ("credential.json", data, "application/json")})
    assert r.status_code == 200 and "VALID until" in r.text and "Larry Lookup" in r.text


def test_verify_suspended_says_since_when(reg):
    r = post_verify(reg, data={"credential": json.dumps(credential_of(reg, "hugo"))})
    today = plain_date(reg.clock.now.date().isoformat())
    assert f"SUSPENDED since {today}" in r.text and 'class="status suspended"' in r.text


def test_verify_withdrawn(reg):
    r = post_verify(reg, data={"credential": json.dumps(credential_of(reg, "wendy"))})
    assert "WITHDRAWN on" in r.text


def test_verify_invalid_because(reg):
    forged = copy.deepcopy(credential_of(reg, "jane"))
    forged["validUntil"] = "2099-01-01T00:00:00Z"
    r = post_verify(reg, data={"credential": json.dumps(forged)})
    assert 'class="status invalid"' in r.text and "INVALID because" in r.text


def test_verify_another_issuers_credential(reg, tmp_path):
    store = KeyStore.create(tmp_path / "other", "did:key", "pw", kdf="interactive")
    signer = store.load_signer("pw")
    did = store.current().controller
    unsigned = certification_credential(
        body=CredentialBody(did, "Another Body", "https://other.example"),
        scheme=Scheme(
            id="https://other.example/schemes/x/1",
            code="OTH",
            name="Other scheme",
            version="1",
            description="Something else.",
            criteria="An examination.",
            normative_reference=NormativeReference("ISO 17024:2012"),
        ),
        holder_name="Olive Other",
        certificate_number="OTH-1234-5678-9",
        scope=[ScopeItem("A1", "Scope A1")],
        valid_from="2026-01-01T00:00:00Z",
        valid_until="2030-01-01T00:00:00Z",
    )
    r = post_verify(reg, data={"credential": json.dumps(add_proof(unsigned, signer))})
    assert r.status_code == 200
    assert "Not issued by Example Certification Body" in r.text
    # A certificate on this body's page is this body's or nothing (issue 7): another issuer's
    # is checked, named, and UNTRUSTED ISSUER, never VALID with its claims repeated.
    assert "UNTRUSTED ISSUER" in r.text and "may not issue certificates here" in r.text
    assert "Scope A1" not in r.text.split("<textarea", 1)[0]


def test_verify_escapes_everything(reg):
    attack = "<script>alert(1)</script>"
    pasted = json.dumps({"@context": [attack], "type": "VerifiableCredential"})
    r = post_verify(
        reg, data={"credential": pasted, "url": f'"><img src=x onerror=alert(1)>{attack}'}
    )
    assert "INVALID because" in r.text
    assert attack not in r.text and "<img src=x" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text


def test_verify_escapes_a_signed_hostile_name(reg, tmp_path):
    store = KeyStore.create(tmp_path / "evil", "did:key", "pw", kdf="interactive")
    signer = store.load_signer("pw")
    did = store.current().controller
    attack = '<img src=x onerror="alert(1)">'
    unsigned = certification_credential(
        body=CredentialBody(did, attack, "https://evil.example"),
        scheme=Scheme(
            id="https://evil.example/s",
            code="EVL",
            name=attack,
            version="1",
            description="x",
            criteria="x",
            normative_reference=NormativeReference(attack),
        ),
        holder_name=attack,
        certificate_number=attack,
        scope=[ScopeItem("A", attack, attack)],
        valid_from="2026-01-01T00:00:00Z",
        valid_until="2030-01-01T00:00:00Z",
    )
    # Not a certification (those are this body's or UNTRUSTED ISSUER here): an Open Badge
    # whose signed names the page repeats once the signature verifies.
    unsigned["credentialSubject"]["achievement"]["achievementType"] = "Badge"
    r = post_verify(reg, data={"credential": json.dumps(add_proof(unsigned, signer))})
    assert r.status_code == 200 and 'class="status valid"' in r.text
    assert attack not in r.text and "&lt;img src=x" in r.text


def test_verify_refuses_to_fetch_local_addresses(reg):
    r = post_verify(reg, data={"url": "https://127.0.0.1:8443/credential.json"})
    assert r.status_code == 422 and "private or local address" in r.text


def test_verify_with_nothing_says_what_to_do(reg):
    r = post_verify(reg, data={"credential": ""})
    assert r.status_code == 422 and "Nothing to verify" in r.text


def test_verify_answers_json_to_programs(reg):
    form = {"credential": json.dumps(credential_of(reg, "hugo"))}
    ok, empty = app_get(
        reg, ("POST", "/verify", {"data": form}), ("POST", "/verify", {"data": {"url": ""}})
    )
    assert ok.json()["verdict"] == "SUSPENDED" and ok.json()["issued_by_this_body"] is True
    assert ok.json()["headline"].startswith("SUSPENDED since")
    assert empty.status_code == 422 and "Nothing to verify" in empty.json()["detail"]


def test_verify_still_refuses_non_form_bodies_elsewhere(reg):
    r = app_get(
        reg,
        ("POST", "/credentials/verify", {"data": {"a": "b"}}),
    )[0]
    assert r.status_code == 415


def test_status_headlines_date_each_state_as_a_reader_expects():
    from datetime import date

    from certreg.register.records import CertificateRecord, status_headline

    def record(status: str, since: str = "2026-11-21T04:00:00Z") -> CertificateRecord:
        return CertificateRecord(
            number="CWI-0000-0000-0", holder_name=None, scheme_id="cwi", scheme_code="CWI",
            scheme_name="Certified Welding Inspector", status=status, status_since=since,
            valid_from="2022-10-23", valid_until="2024-10-22",
        )  # fmt: skip

    today = date(2026, 11, 21)
    # Recorded as expired today by a cron job, it expired on its last valid day, the "Date of
    # expiry" the page and the PDF print (verifier.standing.expiry_day).
    assert status_headline(record("EXPIRED"), today)[0] == "EXPIRED on 22 October 2024"
    # Not yet recorded as expired: the same answer, from the dates alone.
    assert status_headline(record("ACTIVE"), today)[0] == "EXPIRED on 22 October 2024"
    assert status_headline(record("ACTIVE"), date(2024, 1, 1))[0] == "VALID until 22 October 2024"
    assert status_headline(record("WITHDRAWN", "2024-03-05T10:00:00Z"), date(2024, 4, 1))[0] == (
        "WITHDRAWN on 5 March 2024"
    )

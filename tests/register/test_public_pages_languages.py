"""The public pages in the reader's language (issue 12, item 2): the certificate page, the verify
page, the register's home page and their messages in English, German, French and Spanish.

A ``?lang=`` wins, else ``Accept-Language``, else English; every page answers with
``Content-Language`` and ``Vary: Accept-Language``, says ``<html lang>``, and shows a language
switch whose links keep the page's own query (the home page's search). A language chosen with
``?lang=`` is carried on in the page's links, so a printed ``/c/NUMBER?lang=de`` stays German.

The pages are read from ``certreg serve``'s app (tests/register_support.py: a directory scheme
CWI, Jane Doe valid, Sam Suspended suspended) through Starlette's test client; the rendering of
fixed dates ("14. Januar 2029") from a record built here.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from register_support import PASSPHRASE, add_holder, grant, make_body

from certreg.i18n import format_date
from certreg.issuer.http import create_app
from certreg.issuer.http.ratelimit import PublicLimits, Rate
from certreg.register.pages import render_certificate
from certreg.register.records import BodyInfo
from certreg.register.web.language import PageLanguage, language_links
from certreg.verifier.standing import CertificateRecord, ScopeLine, expiry_day

#: What each language's pages must say: the headline's first word, a label of the certificate
#: page, of the verify page and of the home page, and the not-found page's heading.
WORDS = {
    "en": {
        "valid": "VALID until",
        "suspended": "SUSPENDED since",
        "expiry label": "<dt>Date of expiry</dt>",
        "verify heading": "<h1>Verify a certificate</h1>",
        "checked": "<h2>What was checked</h2>",
        "home heading": "<h1>Check a certificate</h1>",
        "found": "Certificate found",
        "not found": "No published certificate has this number",
        "nothing": "Nothing to verify: paste the credential",
        "name": "English",
        "accredited": "Accredited by DAkkS, accreditation number D-ZP-12345",
    },
    "de": {
        "valid": "GÜLTIG bis",
        "suspended": "AUSGESETZT seit",
        "expiry label": "<dt>Ablaufdatum</dt>",
        "verify heading": "<h1>Ein Zertifikat prüfen</h1>",
        "checked": "<h2>Was geprüft wurde</h2>",
        "home heading": "<h1>Ein Zertifikat prüfen</h1>",
        "found": "Zertifikat gefunden",
        "not found": "Kein veröffentlichtes Zertifikat trägt diese Nummer",
        "nothing": "Nichts zu prüfen: Fügen Sie den Nachweis ein",
        "name": "Deutsch",
        "accredited": "Akkreditiert durch DAkkS, Akkreditierungsnummer D-ZP-12345",
    },
    "fr": {
        "valid": "VALIDE jusqu’au",
        "suspended": "SUSPENDU depuis le",
        "expiry label": "<dt>Date d’expiration</dt>",
        "verify heading": "<h1>Vérifier un certificat</h1>",
        "checked": "<h2>Ce qui a été vérifié</h2>",
        "home heading": "<h1>Vérifier un certificat</h1>",
        "found": "Certificat trouvé",
        "not found": "Aucun certificat publié ne porte ce numéro",
        "nothing": "Rien à vérifier : collez l’attestation",
        "name": "Français",
        "accredited": "Accrédité par DAkkS, numéro d’accréditation D-ZP-12345",
    },
    "es": {
        "valid": "VÁLIDO hasta el",
        "suspended": "SUSPENDIDO desde el",
        "expiry label": "<dt>Fecha de caducidad</dt>",
        "verify heading": "<h1>Verificar un certificado</h1>",
        "checked": "<h2>Qué se ha comprobado</h2>",
        "home heading": "<h1>Comprobar un certificado</h1>",
        "found": "Certificado encontrado",
        "not found": "Ningún certificado publicado tiene este número",
        "nothing": "Nada que verificar: pegue la credencial",
        "name": "Español",
        "accredited": "Acreditado por DAkkS, número de acreditación D-ZP-12345",
    },
}
OTHERS = ["de", "fr", "es"]
#: The start of the verifier's summary of a valid certificate (verifier catalog).
SUMMARY = {
    "de": "Gültig: José Müller ist bis ",
    "fr": "Valide : José Müller détient",
    "es": "Válido: José Müller posee",
}
STATUS_LINE = re.compile(r'<p class="status [a-z_]+"[^>]*>([^<]*)</p>')
SWITCH = re.compile(r'<nav class="languages" aria-label="[^"]+">(.*?)</nav>', re.S)
SWITCH_LINK = re.compile(
    r'<a href="([^"]+)" hreflang="([a-z]+)" lang="([a-z]+)"( aria-current="true")?>([^<]+)</a>'
)


# --- the language switch's links, and a fixed record's dates -----------------------------------


def test_the_switch_links_the_same_page_in_each_language_keeping_its_query():
    links = language_links("/", [("q", "cwi 7k3m"), ("lang", "fr"), ("status", "ACTIVE")], "de")
    assert [(link.lang, link.name, link.current) for link in links] == [
        ("en", "English", False),
        ("de", "Deutsch", True),
        ("fr", "Français", False),
        ("es", "Español", False),
    ]
    # The search and its filters are kept; the old lang= is replaced, not repeated.
    assert links[2].href == "/?q=cwi+7k3m&status=ACTIVE&lang=fr"
    assert language_links("/verify", [], "en")[1].href == "/verify?lang=de"


def test_a_chosen_language_is_carried_on_in_the_pages_links():
    chosen = PageLanguage("de", chosen=True)
    assert chosen.keep("/verify") == "/verify?lang=de"
    assert chosen.keep("/?q=x&after=20") == "/?q=x&after=20&lang=de"
    # From the browser's Accept-Language: the browser sends it again, the links stay clean.
    assert PageLanguage("de").keep("/verify") == "/verify"


RECORD = CertificateRecord(
    number="CWI-7K3M-9QX2-M", holder_name="José Müller", scheme_id="cwi", scheme_code="CWI",
    scheme_name="Certified Welding Inspector", status="ACTIVE", status_since="2026-01-15",
    valid_from="2026-01-15", valid_until="2029-01-14T23:59:59Z",
    scope=(ScopeLine("UT2", "Ultrasonic testing, level 2", None, "active", "2026-01-15"),),
)  # fmt: skip
BODY = BodyInfo("Example Certification Body", "https://cb.example", "did:web:cb.example", "DAkkS")


#: (date of expiry, headline, effective date, a scope line) of RECORD in each language.
DATES = {
    "en": ("14 January 2029", "VALID until 14 January 2029", "15 January 2026",
           "held since 15 January 2026"),
    "de": ("14. Januar 2029", "GÜLTIG bis 14. Januar 2029", "15. Januar 2026",
           "erteilt seit 15. Januar 2026"),
    "fr": ("14 janvier 2029", "VALIDE jusqu’au 14 janvier 2029", "15 janvier 2026",
           "détenu depuis le 15 janvier 2026"),
    "es": ("14 de enero de 2029", "VÁLIDO hasta el 14 de enero de 2029", "15 de enero de 2026",
           "otorgado desde el 15 de enero de 2026"),
}  # fmt: skip


@pytest.mark.parametrize("lang", list(DATES))
def test_the_certificate_page_gives_its_dates_the_readers_way(lang):
    expiry, headline, effective, held = DATES[lang]
    page = render_certificate(
        RECORD, BODY, now=datetime(2027, 6, 1, tzinfo=UTC), language=PageLanguage(lang)
    )
    assert f'<html lang="{lang}">' in page
    assert STATUS_LINE.findall(page) == [headline]
    assert f"{WORDS[lang]['expiry label']}<dd>{expiry}</dd>" in page
    assert f"<dd>{effective}</dd>" in page and held in page


# --- the pages served --------------------------------------------------------------------------


@dataclass
class Site:
    client: TestClient
    valid: str
    suspended: str
    valid_until: str  # Jane's date of expiry, ISO
    credential: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    b = make_body(tmp_path_factory.mktemp("languages"))
    # Today: the pages and the verifier read the real time.
    b.clock.now = datetime.now(UTC).replace(microsecond=0)
    b.body.status_lists.refresh_due()
    valid = grant(b, add_holder(b, "jose", "José Müller", consent=True))
    suspended = grant(b, add_holder(b, "sam", "Sam Suspended", consent=True))
    deadline = (b.clock.now + timedelta(days=60)).date().isoformat()
    b.body.suspend(suspended, decided_by=b.decider, reason="complaint", until=deadline)
    b.body.status_lists.refresh_due()
    cert = b.body.certification(valid)
    with TestClient(create_app(b.body, passphrase=PASSPHRASE)) as client:
        yield Site(client, valid, suspended, cert.valid_until, json.dumps(cert.credential))


def _switch(page: str) -> list[tuple[str, str, bool, str]]:
    """The language switch's links: (href, language, current, name)."""
    navs = SWITCH.findall(page)
    assert len(navs) == 1, page
    found = []
    for href, hreflang, lang, current, name in SWITCH_LINK.findall(navs[0]):
        assert hreflang == lang
        found.append((html.unescape(href), lang, bool(current), name))
    return found


def _speaks(response, lang: str) -> str:
    assert response.headers["content-language"] == lang
    assert "accept-language" in response.headers["vary"].lower()
    page = response.text
    assert f'<html lang="{lang}">' in page
    return page


@pytest.mark.parametrize("lang", OTHERS)
def test_the_certificate_page_reads_in_the_chosen_language(site, lang):
    r = site.client.get(f"/c/{site.valid}", params={"lang": lang, "utm_source": "x" * 300})
    assert r.status_code == 200
    page = _speaks(r, lang)
    expiry = format_date(expiry_day(site.valid_until), lang)  # type: ignore[arg-type]
    assert STATUS_LINE.findall(page)[0] == f"{WORDS[lang]['valid']} {expiry}"
    assert f"{WORDS[lang]['expiry label']}<dd>{expiry}</dd>" in page
    assert WORDS[lang]["accredited"] in page
    assert _switch(page) == [
        (f"/c/{site.valid}?lang={other}", other, other == lang, WORDS[other]["name"])
        for other in WORDS
    ]
    # Chosen with ?lang=: the page's links keep it, a printed link stays in its language.
    assert f'href="/verify?lang={lang}"' in page
    assert f'href="/c/{site.valid}/certificate.pdf?lang={lang}"' in page
    suspended = site.client.get(f"/c/{site.suspended}", params={"lang": lang}).text
    assert STATUS_LINE.findall(suspended)[0].startswith(WORDS[lang]["suspended"])


def test_a_number_typed_in_lower_case_keeps_its_language_through_the_redirect(site):
    r = site.client.get(f"/c/{site.valid.lower()}?lang=es", follow_redirects=False)
    assert r.status_code == 301 and r.headers["location"] == f"/c/{site.valid}?lang=es"


@pytest.mark.parametrize("lang", OTHERS)
def test_the_browsers_language_is_used_without_a_lang_parameter(site, lang):
    r = site.client.get(f"/c/{site.valid}", headers={"Accept-Language": f"{lang};q=0.9, ja"})
    page = _speaks(r, lang)
    assert STATUS_LINE.findall(page)[0].startswith(WORDS[lang]["valid"])
    assert 'href="/verify"' in page  # the browser sends its language again: no lang= needed
    # ?lang= wins over the browser's choice.
    other = "es" if lang != "es" else "de"
    chosen = site.client.get(
        f"/c/{site.valid}", params={"lang": other}, headers={"Accept-Language": lang}
    )
    assert STATUS_LINE.findall(_speaks(chosen, other))[0].startswith(WORDS[other]["valid"])


@pytest.mark.parametrize(
    ("params", "header", "expected"),
    [
        ({}, None, "en"),
        ({"lang": "xx"}, None, "en"),  # a language not spoken here: English, not an error
        ({"lang": "xx"}, "fr-CA", "fr"),
        ({}, "ja, zh;q=0.8", "en"),
    ],
)
def test_an_unknown_language_falls_back(site, params, header, expected):
    headers = {"Accept-Language": header} if header else {}
    r = site.client.get(f"/c/{site.valid}", params=params, headers=headers)
    page = _speaks(r, expected)
    assert STATUS_LINE.findall(page)[0].startswith(WORDS[expected]["valid"])
    assert 'href="/verify"' in page  # an unknown lang= is not carried on


@pytest.mark.parametrize("lang", ["en", *OTHERS])
def test_an_unknown_number_is_told_in_the_readers_language(site, lang):
    r = site.client.get("/c/CWI-0000-0000-0", params={"lang": lang})
    assert r.status_code == 404
    page = _speaks(r, lang)
    assert f"<h1>{WORDS[lang]['not found']}</h1>" in page
    assert [link[1] for link in _switch(page) if link[2]] == [lang]


@pytest.mark.parametrize("lang", OTHERS)
def test_the_verify_page_reads_in_the_chosen_language(site, lang):
    r = site.client.get("/verify", params={"lang": lang})
    page = _speaks(r, lang)
    assert WORDS[lang]["verify heading"] in page
    assert f'action="/verify?lang={lang}"' in page  # the verdict comes back in it too
    assert [link[0] for link in _switch(page)] == [f"/verify?lang={o}" for o in WORDS]
    verdict = site.client.post(
        f"/verify?lang={lang}",
        data={"credential": site.credential},
        headers={"Accept": "text/html"},
    )
    assert verdict.status_code == 200, verdict.text
    page = _speaks(verdict, lang)
    assert WORDS[lang]["checked"] in page
    assert STATUS_LINE.findall(page)[0].startswith(WORDS[lang]["valid"])
    # The verifier's own sentence too, not only the page's words around it.
    assert SUMMARY[lang] in html.unescape(page) and "holds certification" not in page
    assert f'href="/c/{site.valid}?lang={lang}"' in page  # its page in the register
    nothing = site.client.post(
        "/verify", data={"credential": ""}, headers={"Accept": "text/html", "Accept-Language": lang}
    )
    assert nothing.status_code == 422
    assert WORDS[lang]["nothing"] in html.unescape(_speaks(nothing, lang))


def test_a_program_posting_to_verify_gets_english_json_whatever_its_language(site):
    r = site.client.post(
        "/verify", data={"credential": site.credential}, headers={"Accept-Language": "de"}
    )
    assert r.status_code == 200
    assert r.json()["headline"].startswith("VALID until")


@pytest.mark.parametrize("lang", OTHERS)
def test_the_home_page_searches_in_the_chosen_language(site, lang):
    number = site.valid
    prefix, a, b, check = number.split("-")
    typed = f" {prefix.lower()} {a[:2]} {a[2:]} - {b.lower()} {check} "
    r = site.client.get("/", params={"q": typed, "lang": lang})
    assert r.status_code == 200
    page = _speaks(r, lang)
    assert WORDS[lang]["home heading"] in page and WORDS[lang]["found"] in page
    assert f"<dd>{number}</dd>" in page and WORDS[lang]["valid"] in page
    assert f'href="/c/{number}?lang={lang}"' in page
    # The form keeps the language for the next search; the switch keeps the search.
    assert f'<input type="hidden" name="lang" value="{lang}">' in page
    links = _switch(page)
    assert [link[1] for link in links if link[2]] == [lang]
    assert links[0][0] == "/?" + urlencode({"q": typed, "lang": "en"})


def test_the_home_page_in_german_from_the_browser(site):
    headers = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}
    r = site.client.get("/", params={"q": site.valid.lower().replace("-", " ")}, headers=headers)
    page = _speaks(r, "de")
    assert "Zertifikat gefunden" in page and f"<dd>{site.valid}</dd>" in page
    assert f'href="/c/{site.valid}"' in page and 'name="lang"' not in page
    empty = _speaks(site.client.get("/", headers=headers), "de")
    assert "Hier erscheinen die Ergebnisse." in empty and ">Ausgesetzt</option>" in empty
    refused = site.client.get("/", params={"q": "x" * 101}, headers=headers)
    assert refused.status_code == 400
    assert "Der Suchtext ist 101 Zeichen lang" in _speaks(refused, "de")
    nobody = _speaks(site.client.get("/", params={"q": "Niemand"}, headers=headers), "de")
    assert "Kein verzeichneter Inhaber passt zu „Niemand“." in nobody


def test_the_switch_repeats_the_search_bounded_not_the_whole_request(site):
    r = site.client.get("/", params={"q": "x" * 5000, "status": "ACTIVE", "junk": "y"})
    assert r.status_code == 400
    links = _switch(r.text)
    assert links[1][0] == "/?" + urlencode({"q": "x" * 101, "status": "ACTIVE", "lang": "de"})
    assert "x" * 102 not in r.text and "junk" not in r.text


def test_english_pages_say_so_too(site):
    page = _speaks(site.client.get("/"), "en")
    assert "<h1>Check a certificate</h1>" in page
    assert [link[1] for link in _switch(page) if link[2]] == ["en"]


@pytest.mark.parametrize(
    ("lang", "heading", "words"),
    [
        ("de", "Nicht verifiziert", "Zu viele Prüfungen von Ihrer Adresse"),
        ("es", "No verificado", "Demasiadas verificaciones desde su dirección"),
        ("en", "Not verified", "Too many verification requests from your address"),
    ],
)
def test_a_reader_over_the_verify_limit_is_told_in_their_language(tmp_path, lang, heading, words):
    b = make_body(tmp_path)
    limits = PublicLimits(verify_rate=Rate(per_minute=1, burst=1))
    with TestClient(create_app(b.body, passphrase=PASSPHRASE, public_limits=limits)) as client:
        form = {"credential": "{}"}
        headers = {"Accept": "text/html", "Accept-Language": lang}
        assert client.post("/verify", data=form, headers=headers).status_code == 200
        refused = client.post("/verify", data=form, headers=headers)
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert refused.headers["Content-Language"] == lang
    assert f'<html lang="{lang}">' in refused.text
    assert heading in refused.text and words in html.unescape(refused.text)

"""The holder's share pages in the reader's language (issue 12 item 2): ``?lang=`` first, then
the browser's Accept-Language, else English; ``<html lang>``, ``Content-Language`` and
``Vary: Accept-Language`` say which, and a language switch links the page in the others. The
certificate's own words (names, scheme, scope) stay as the body wrote them."""

from __future__ import annotations

import re

import pytest
from http_support import Env, make_env

from certreg.issuer import sharing
from certreg.verifier.standing import plain_date


@pytest.fixture
def env(tmp_path) -> Env:
    env = make_env(tmp_path)
    env.number = env.grant()["number"]  # type: ignore[attr-defined]
    return env


def _until(env: Env, lang: str) -> str:
    return plain_date(env.body.certification(env.number).valid_until, lang)


def _switch(page: str) -> dict[str, str]:
    """The language switch: each language's name and its link (or "current")."""
    nav = re.search(r'<nav class="langs"[^>]*>(.*?)</nav>', page, re.S)
    assert nav is not None, "no language switch"
    links = dict(
        (name, href) for href, name in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav[1])
    )
    for name in re.findall(r'<strong aria-current="true"[^>]*>([^<]+)</strong>', nav[1]):
        links[name] = "current"
    return links


def test_english_by_default_with_a_switch_to_the_other_languages(env):
    _, token = sharing.create_share(env.body, env.number)
    r = env.client.get(f"/share/{token}")
    assert r.status_code == 200
    assert '<html lang="en">' in r.text
    assert r.headers["Content-Language"] == "en" and r.headers["Vary"] == "Accept-Language"
    assert f"VALID until {_until(env, 'en')}" in r.text
    assert "Certificate number" in r.text and "Revoke this link" in r.text
    assert f'href="/share/{token}/revoke"' in r.text  # English links as they always were
    assert _switch(r.text) == {
        "English": "current",
        "Deutsch": "?lang=de",
        "Français": "?lang=fr",
        "Español": "?lang=es",
    }


def test_lang_parameter_gives_german_and_keeps_it_on_the_pages_links(env):
    _, token = sharing.create_share(env.body, env.number)
    r = env.client.get(f"/share/{token}?lang=de", headers={"Accept-Language": "fr"})
    page = r.text
    assert '<html lang="de">' in page and r.headers["Content-Language"] == "de"
    for words in (
        f"GÜLTIG bis {_until(env, 'de')}",
        "Zertifikatsnummer",
        "Gültig ab",
        "Geltungsbereich",
        "Bedingungen oder Einschränkungen",
        "Das signierte Zertifikat",
        "Teilen beenden",
        "In eine Wallet übernehmen",
        "Von der Inhaberin oder dem Inhaber geteiltes Zertifikat",
    ):
        assert words in page, words
    # The certificate's own words are the body's, in the language it signed them in.
    assert "Ultrasonic testing, level 2" in page and "Certified Welding Inspector" in page
    for english in ("Certificate number", "Revoke this link", "VALID until", "Valid from"):
        assert english not in page, english
    assert f'href="/share/{token}/revoke?lang=de"' in page
    assert _switch(page)["Deutsch"] == "current"


@pytest.mark.parametrize(
    ("header", "lang", "words"),
    [
        ("fr-CH, fr;q=0.9, en;q=0.8", "fr", "Numéro de certificat"),
        ("es-ES,es;q=0.9", "es", "Número de certificado"),
        ("ja, zh;q=0.5", "en", "Certificate number"),
    ],
)
def test_accept_language_chooses_when_no_lang_is_given(env, header, lang, words):
    _, token = sharing.create_share(env.body, env.number)
    r = env.client.get(f"/share/{token}", headers={"Accept-Language": header})
    assert r.headers["Content-Language"] == lang and f'<html lang="{lang}">' in r.text
    assert words in r.text


def test_revoking_in_spanish(env):
    _, token = sharing.create_share(env.body, env.number)
    confirm = env.client.get(f"/share/{token}/revoke?lang=es")
    assert "¿Revocar este enlace?" in confirm.text and '<html lang="es">' in confirm.text
    assert f'action="/share/{token}/revoke?lang=es"' in confirm.text
    assert f'href="/share/{token}?lang=es">Seguir compartiendo' in confirm.text
    done = env.client.post(f"/share/{token}/revoke?lang=es")
    assert done.status_code == 200 and "Enlace revocado" in done.text
    gone = env.client.get(f"/share/{token}?lang=es")
    assert gone.status_code == 410 and "Enlace revocado o caducado" in gone.text
    assert "Este enlace para compartir fue revocado por su titular el" in gone.text
    # The date in the reader's way ("28 de noviembre de 2026"), not an ISO time stamp.
    assert re.search(r"el \d{1,2} de [a-z]+ de \d{4}", gone.text)


def test_an_unknown_link_in_german(env):
    r = env.client.get("/share/" + "A" * 43, headers={"Accept-Language": "de"})
    assert r.status_code == 404 and '<html lang="de">' in r.text
    assert "Link nicht gefunden" in r.text
    assert "Unter dieser Adresse gibt es keinen Freigabelink." in r.text

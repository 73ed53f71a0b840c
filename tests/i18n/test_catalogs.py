"""Every catalog is complete: each message of the public pages, the verifier's summary and the
mails is translated and confirmed in every language (`make messages` updates the catalogs)."""

from __future__ import annotations

import pytest

from certreg import i18n
from certreg.i18n import catalogs

LANGS = [lang for lang in i18n.LANGUAGES if lang != i18n.DEFAULT]


@pytest.mark.parametrize("domain", i18n.DOMAINS)
@pytest.mark.parametrize("lang", LANGS)
def test_the_catalog_misses_nothing_and_holds_nothing_fuzzy(domain: str, lang: str) -> None:
    found = list(catalogs.problems(domain, lang))
    assert not found, "\n".join(["make messages, then translate:", *found])


@pytest.mark.parametrize("domain", i18n.DOMAINS)
def test_the_template_a_translator_starts_from_is_up_to_date(domain: str) -> None:
    with (i18n.LOCALE_DIR / f"{domain}.pot").open("rb") as pot:
        written = {m.id for m in catalogs.read_po(pot) if m.id}
    extracted = {m.id for m in catalogs.extract(domain) if m.id}
    assert written == extracted, "run make messages"

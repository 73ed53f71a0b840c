"""The reader's language (certreg.i18n): which one a request gets, dates and numbers in it, and
catalogs read from their .po files, fuzzy entries left out."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from certreg import i18n
from certreg.i18n import catalogs


@pytest.mark.parametrize(
    ("requested", "header", "expected"),
    [
        (None, None, "en"),
        (None, "de-CH,de;q=0.9,en;q=0.5", "de"),
        (None, "ja, es;q=0.3, fr;q=0.8", "fr"),  # ja is not spoken: the best spoken one
        (None, "fr;q=0, es;q=0.1", "es"),  # q=0 means "not this one"
        (None, "ja, *;q=0.5", "en"),
        (None, "es;q=bogus, de;q=0.2", "de"),  # a malformed weight counts as 0
        ("es", "de", "es"),  # the reader's choice (?lang=) wins over the browser's
        ("ES-mx", None, "es"),
        ("xx", "fr", "fr"),  # a language not spoken here is ignored, not an error
        (
            None,
            "ja, " * 10_000 + "de",
            "en",
        ),  # a huge header is read only so far: de is never reached
    ],
)
def test_the_reader_gets_a_language_spoken_here(
    requested: str | None, header: str | None, expected: str
) -> None:
    assert i18n.negotiate(requested, header) == expected


def test_dates_and_numbers_are_written_the_readers_way() -> None:
    day = date(2029, 1, 14)
    assert [i18n.format_date(day, lang) for lang in i18n.LANGUAGES] == [
        "14 January 2029",
        "14. Januar 2029",
        "14 janvier 2029",
        "14 de enero de 2029",
    ]
    assert i18n.format_date(datetime(2029, 1, 14, 23, 59), "de") == "14. Januar 2029"
    assert i18n.format_number(1234567, "de") == "1.234.567"
    assert i18n.format_number(1234567, "en") == "1,234,567"
    assert [i18n.language_name(lang) for lang in i18n.LANGUAGES] == [
        "English", "Deutsch", "Français", "Español",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="does not speak"):
        i18n.format_date(day, "xx")


def _catalog(tmp_path: Path, entries: list[tuple[str, str, bool]]) -> None:
    catalog = Catalog(locale="de", domain="pages")
    for message, translation, fuzzy in entries:
        catalog.add(message, translation, flags=["fuzzy"] if fuzzy else [])
    path = tmp_path / "de" / "LC_MESSAGES" / "pages.po"
    path.parent.mkdir(parents=True)
    with path.open("wb") as file:
        write_po(file, catalog)


@pytest.fixture
def own_locale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    monkeypatch.setattr(catalogs, "LOCALE_DIR", tmp_path)
    i18n.translations.cache_clear()
    i18n.translator.cache_clear()
    yield tmp_path
    i18n.translations.cache_clear()
    i18n.translator.cache_clear()


def test_a_catalog_is_read_from_its_po_file_and_a_fuzzy_entry_is_not_shown(
    own_locale: Path,
) -> None:
    _catalog(
        own_locale,
        [
            ("VALID until %(date)s", "GÜLTIG bis %(date)s", False),
            ("Suspended", "Ausgesetzt", True),  # fuzzy: not confirmed by a translator
        ],
    )
    _ = i18n.translator("pages", "de")
    assert _("VALID until %(date)s", date="14. Januar 2029") == "GÜLTIG bis 14. Januar 2029"
    assert _("Suspended") == "Suspended"
    assert i18n.translator("pages", "en")("Suspended") == "Suspended"
    assert i18n.translator("pages", "fr")("Suspended") == "Suspended"  # no catalog: the message


def test_the_check_names_every_missing_fuzzy_or_broken_entry(
    own_locale: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wanted = Catalog(domain="pages")
    for message in ("Holder", "Scope", "Expired", "VALID until %(date)s"):
        wanted.add(message)
    monkeypatch.setattr(catalogs, "extract", lambda domain: wanted)
    _catalog(
        own_locale,
        [
            ("Holder", "Inhaber", False),
            ("Scope", "Umfang", True),
            ("VALID until %(day)s", "GÜLTIG bis %(day)s", False),
        ],
    )
    with (own_locale / "de" / "LC_MESSAGES" / "pages.po").open("a") as po:
        po.write('\nmsgid "VALID until %(date)s"\nmsgstr "GÜLTIG bis %(datum)s"\n')
    found = list(catalogs.problems("pages", "de"))
    assert any("fuzzy 'Scope'" in p for p in found), found
    assert any("missing 'Expired'" in p for p in found), found
    assert any("'VALID until %(date)s'" in p and "datum" in p for p in found), found
    assert not any("'Holder'" in p for p in found), found
    assert len(found) == 3, found

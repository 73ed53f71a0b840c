"""The languages certreg speaks to the people outside the body: holders, employers, anyone
reading a certificate page, a PDF, a mail or the verifier's summary.

One place for three things:

- **which language** a reader gets (:func:`negotiate`): a ``?lang=`` the reader chose (the
  language switch's links, or a printed link), else the browser's ``Accept-Language``, else
  English;
- **the words** (:func:`translations`, :func:`gettext`): gettext catalogs edited as ``.po`` files
  in ``i18n/locale/<lang>/LC_MESSAGES/<domain>.po``, one domain per audience (:data:`DOMAINS`),
  read with Babel when first used (no compiled ``.mo`` files to keep in step);
- **dates and numbers** in the reader's conventions (:func:`format_date`,
  :func:`format_number`), through Babel's CLDR data, never the machine's locale.

A credential keeps the one language it was signed in: only what is *shown about it* is
translated. ``make messages`` extracts the messages and updates every catalog;
``tests/i18n/test_catalogs.py`` fails while any catalog misses a message or holds a fuzzy one.
This package imports nothing of certreg, so every other package may use it.
"""

from __future__ import annotations

import gettext as _gettext
import io
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date as _babel_format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from jinja2 import BaseLoader, Environment, select_autoescape

__all__ = [
    "DEFAULT",
    "DOMAINS",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "Translator",
    "format_date",
    "format_number",
    "jinja_environment",
    "language_name",
    "negotiate",
    "translations",
    "translator",
]

#: The languages every public page, the PDF, the mails and the verifier's summary speak. The
#: first is the language the messages are written in (the catalogs' source).
LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "es")
DEFAULT = "en"

#: One catalog per audience, each extracted from its own files (``i18n/babel-<domain>.cfg``):
#: ``pages`` (the public site's pages, share pages and the PDF), ``verifier`` (the verdict's
#: headline and summary) and ``mail`` (the holders' mail).
DOMAINS: tuple[str, ...] = ("pages", "verifier", "mail")

LOCALE_DIR = Path(__file__).parent / "locale"

#: The Babel locale behind each language's dates and numbers. English is written the British
#: way ("14 January 2029"), which reads the same on both sides of the Atlantic, unlike 1/14/2029.
_CLDR = {"en": "en_GB", "de": "de_DE", "fr": "fr_FR", "es": "es_ES"}

#: An Accept-Language header is the client's: read at most this much of it, this many entries.
_MAX_HEADER = 500
_MAX_ENTRIES = 20


def _supported(tag: str | None) -> str | None:
    """``de`` for ``de``, ``de-CH``, ``DE_at``; None for a language not spoken here."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in LANGUAGES else None


def _accepted(header: str) -> list[str]:
    """The languages of an ``Accept-Language`` header (RFC 9110 §12.5.4), best first; entries
    with ``q=0`` are refused ones and left out; a malformed weight counts as 0."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:_MAX_HEADER].split(",")[:_MAX_ENTRIES]):
        tag, _, params = part.partition(";")
        weight = 1.0
        params = params.strip().replace(" ", "")
        if params:
            try:
                weight = float(params[2:]) if params.startswith("q=") else 0.0
            except ValueError:
                weight = 0.0
        if weight > 0 and tag.strip():
            weighted.append((-weight, position, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(requested: str | None = None, accept_language: str | None = None) -> str:
    """The language to answer in: ``requested`` (a ``?lang=``) when spoken here, else the best
    of ``accept_language`` spoken here (``*`` means any, so English), else English."""
    chosen = _supported(requested)
    if chosen:
        return chosen
    for tag in _accepted(accept_language or ""):
        if tag == "*":
            return DEFAULT
        chosen = _supported(tag)
        if chosen:
            return chosen
    return DEFAULT


def _language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"certreg does not speak {lang!r}: one of {', '.join(LANGUAGES)}")
    return lang


@cache
def translations(domain: str, lang: str) -> _gettext.NullTranslations:
    """The catalog of ``domain`` in ``lang``, read from its ``.po`` file once per process.
    English, and a domain with no catalog for ``lang``, answer the message itself. Fuzzy
    entries are not used: a translation a translator has not confirmed is not shown."""
    if domain not in DOMAINS:
        raise ValueError(f"no message domain {domain!r}: one of {', '.join(DOMAINS)}")
    _language(lang)
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"
    if lang == DEFAULT or not path.is_file():
        return _gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=lang, domain=domain)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=domain)


class Translator:
    """The messages of one domain in one language: ``_ = translator("pages", "de")``, then
    ``_("VALID until %(date)s", date=...)`` and ``_.ngettext("%(num)s item", "%(num)s items",
    n)``. Message extraction (``make messages``) finds ``_(...)``, ``N_(...)`` and
    ``ngettext(...)`` calls with literal messages; a message built at run time is never found,
    so never translated."""

    def __init__(self, domain: str, lang: str) -> None:
        self.domain = domain
        self.lang = _language(lang)
        self._catalog = translations(domain, lang)

    def __call__(self, message: str, **values: Any) -> str:
        text = self._catalog.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        """The singular or plural form for ``n`` (``%(num)s`` is ``n`` in the reader's way)."""
        text = self._catalog.ngettext(singular, plural, n)
        return text % {"num": format_number(n, self.lang), **values}


@cache
def translator(domain: str, lang: str) -> Translator:
    return Translator(domain, lang)


def N_(message: str) -> str:
    """Marks a message for extraction where it is written (a table of words at module level)
    and returns it unchanged; it is translated where it is shown, with ``_(...)``."""
    return message


def jinja_environment(loader: BaseLoader, domain: str, lang: str) -> Environment:
    """A Jinja2 environment whose templates speak ``lang``: ``{% trans %}``, ``_()`` and
    ``ngettext()`` read ``domain``'s catalog; autoescaping on (every value is escaped, and a
    translation is escaped like any other text); ``{% trans %}`` blocks are trimmed of their
    line breaks, as extraction trims them. Make one per language and keep it."""
    env = Environment(
        loader=loader,
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(translations(domain, lang), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        lang=lang,
        format_date=lambda value, form="long": format_date(value, lang, form),
        format_number=lambda value: format_number(value, lang),
    )
    return env


def format_date(value: date | datetime, lang: str, form: str = "long") -> str:
    """``14 January 2029``, ``14. Januar 2029``, ``14 janvier 2029``, ``14 de enero de 2029``."""
    day = value.date() if isinstance(value, datetime) else value
    return _babel_format_date(day, format=form, locale=_CLDR[_language(lang)])


def format_number(value: int | float, lang: str) -> str:
    """``1,234,567`` in English, ``1.234.567`` in German and Spanish, ``1 234 567`` in French."""
    return format_decimal(value, locale=_CLDR[_language(lang)])


@cache
def language_name(lang: str) -> str:
    """The language's name in itself, as a language switch shows it: English, Deutsch,
    Français, Español."""
    name = Locale.parse(_CLDR[_language(lang)]).language_name or lang
    return name[:1].upper() + name[1:]

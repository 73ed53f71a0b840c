"""Keeping the catalogs in step with the code: extraction, update and the check CI runs.

``python -m certreg.i18n.catalogs update`` (``make messages``) extracts every domain's messages
from its sources (:data:`SOURCES`) into ``i18n/locale/<domain>.pot`` and merges them into each
language's ``.po``: a new message arrives empty, a changed one arrives *fuzzy* (Babel's guess
from a similar message). A translator fills the empty ones and confirms the fuzzy ones (removes
the ``fuzzy`` flag). ``python -m certreg.i18n.catalogs check`` lists what is not done yet; a
test runs it, so a release cannot ship a page half in English.

It reads the source files of a checkout (the folders beside this one), so it is a tool for
developers and translators, not something the installed product runs.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from certreg.i18n import DEFAULT, DOMAINS, LANGUAGES, LOCALE_DIR

__all__ = ["SOURCES", "extract", "merge", "problems", "read_po", "update"]


#: The checkout: i18n/ sits beside issuer/, register/ and verifier/.
ROOT = Path(__file__).resolve().parent.parent

#: Per domain, (folder, file pattern inside it, extraction method). Only these files are read.
SOURCES: dict[str, list[tuple[str, str, str]]] = {
    "pages": [
        ("register", "**.py", "python"),
        ("register/datasette/templates", "certreg_*.html", "jinja2"),
        ("register/datasette/templates", "_certreg_*.html", "jinja2"),
        ("issuer/http", "holder.py", "python"),
    ],
    "verifier": [("verifier", "**.py", "python")],
    "mail": [
        ("issuer/mail", "**.py", "python"),
        ("issuer/mail/templates", "*.html", "jinja2"),
        ("issuer/mail/templates", "*.txt", "jinja2"),
        # The page a reminder's unsubscribe link opens speaks the reminder's language.
        ("issuer/http", "unsubscribe.py", "python"),
    ],
}

#: ``_(message)``, ``N_(message)`` (marked, translated where shown) and
#: ``ngettext(singular, plural, n)``, in Python and in templates; a template's ``{% trans %}``
#: block is extracted as a ``gettext`` call.
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
#: The catalogs' header dates stay put, and their locations carry no line numbers, so that a
#: change to the code changes a catalog only where a message changed (and merges cleanly).
_FIXED = datetime(2026, 1, 1, tzinfo=UTC)
_JINJA_OPTIONS = {"trimmed": "true", "extensions": "jinja2.ext.i18n"}


def _pot_path(domain: str) -> Path:
    return LOCALE_DIR / f"{domain}.pot"


def _po_path(domain: str, lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"


def extract(domain: str) -> Catalog:
    """Every message of ``domain`` in the sources, with where each is used."""
    catalog = Catalog(
        project="certreg",
        domain=domain,
        charset="utf-8",
        fuzzy=False,
        creation_date=_FIXED,
        copyright_holder="the certreg authors",
    )
    for folder, pattern, method in SOURCES[domain]:
        base = ROOT / folder
        options = {pattern: _JINJA_OPTIONS} if method == "jinja2" else {}
        found = extract_from_dir(
            str(base),
            method_map=[(pattern, method)],
            options_map=options,
            keywords=KEYWORDS,
            comment_tags=("Translators:",),
            strip_comment_tags=True,
        )
        for filename, lineno, message, comments, context in found:
            where = f"{folder}/{filename}"
            catalog.add(message, None, [(where, lineno)], auto_comments=comments, context=context)
    return catalog


def _read(path: Path, lang: str | None, domain: str) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=lang, domain=domain)


def _write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        write_po(file, catalog, width=96, include_lineno=False, ignore_obsolete=True)


def update() -> None:
    """Extract every domain into its template and merge it into every language's catalog."""
    for domain in DOMAINS:
        template = extract(domain)
        _write(_pot_path(domain), template)
        for lang in LANGUAGES:
            if lang == DEFAULT:
                continue
            path = _po_path(domain, lang)
            if path.is_file():
                catalog = _read(path, lang, domain)
            else:
                catalog = Catalog(
                    locale=lang,
                    domain=domain,
                    project="certreg",
                    fuzzy=False,
                    creation_date=_FIXED,
                    revision_date=_FIXED,
                )
            catalog.update(template, update_header_comment=False, update_creation_date=False)
            _write(path, catalog)


def problems(domain: str, lang: str) -> Iterator[str]:
    """What keeps ``lang``'s catalog of ``domain`` from being complete: a message of the code
    it lacks or leaves untranslated, a fuzzy (unconfirmed) entry, a placeholder the
    translation drops or invents."""
    path = _po_path(domain, lang)
    wanted = extract(domain)
    if not path.is_file():
        if len(wanted):
            yield f"{path}: missing ({len(wanted)} messages to translate)"
        return
    catalog = _read(path, lang, domain)
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    for message in wanted:
        if not message.id:
            continue
        entry = catalog.get(message.id, message.context)
        if entry is None:
            yield f"{where}: missing {message.id!r} (make messages, then translate it)"
        elif entry.fuzzy:
            yield f"{where}: fuzzy {message.id!r} (confirm the translation)"
        elif not entry.string or (isinstance(entry.string, tuple) and not all(entry.string)):
            yield f"{where}: untranslated {message.id!r}"
        else:
            for error in entry.check(catalog):
                yield f"{where}: {message.id!r}: {error}"


def merge(ancestor: Path, ours: Path, theirs: Path) -> int:
    """Git's merge driver for catalogs (``.gitattributes``; docs/languages.md): two branches
    that each added messages and their translations merge by union instead of by line. An
    entry only one side changed takes that side's translation; an entry both sides translated
    differently keeps ours, marked *fuzzy*, so the catalog check sends a translator to it (and
    the exit status 1 tells git it is a conflict). The result is written to ``ours``."""

    def read(path: Path) -> Catalog:
        text = path.read_bytes()
        return read_po(io.BytesIO(text)) if text.strip() else Catalog()

    base, mine, other = read(ancestor), read(ours), read(theirs)
    conflicts = 0
    for entry in other:
        if not entry.id:
            continue
        current = mine.get(entry.id, entry.context)
        if current is None:
            mine[entry.id] = entry
            continue
        before = base.get(entry.id, entry.context)
        old = before.string if before is not None else None
        if entry.string == current.string and entry.fuzzy == current.fuzzy:
            continue
        if current.string == old and (before is None or current.fuzzy == before.fuzzy):
            current.string, current.flags = entry.string, set(entry.flags)
        elif entry.string != old and entry.string:
            current.flags.add("fuzzy")
            conflicts += 1
    _write(ours, mine)
    return 1 if conflicts else 0


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        update()
        return 0
    if command == "merge" and len(argv) == 4:
        return merge(Path(argv[1]), Path(argv[2]), Path(argv[3]))
    if command == "check":
        found = [
            p for d in DOMAINS for lang in LANGUAGES if lang != DEFAULT for p in problems(d, lang)
        ]
        for problem in found:
            print(problem)
        print(f"{len(found)} problems in the catalogs" if found else "every catalog is complete")
        return 1 if found else 0
    print(
        "usage: python -m certreg.i18n.catalogs update|check|merge BASE OURS THEIRS",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The reader's language on the public pages, and the language switch every page shows.

One rule for every page (issue 12, item 2): a ``?lang=xx`` the reader chose (a link of the
language switch, or a printed ``/c/NUMBER?lang=de``) wins when certreg speaks it, else the
browser's ``Accept-Language``, else English (:func:`certreg.i18n.negotiate`).

A language chosen with ``?lang=`` is carried on in the page's own links (:meth:`PageLanguage
.keep`), so a printed German link stays German when its reader follows it; a language that
came from the browser needs no carrying, the browser sends it again. Pages answer with
``Content-Language`` and ``Vary: Accept-Language`` (:func:`localised`), so that a cache never
hands a German page to a French reader.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response

from certreg.i18n import LANGUAGES, language_name, negotiate

__all__ = [
    "LanguageLink",
    "PageLanguage",
    "language_links",
    "language_of",
    "localised",
    "page_language",
]


def language_of(request: Request) -> str:
    """The language to answer ``request`` in: ``?lang=`` if spoken here, else the best of
    ``Accept-Language`` spoken here, else English."""
    return negotiate(request.query_params.get("lang"), request.headers.get("accept-language"))


def _chosen(request: Request) -> bool:
    """Whether the reader chose the language with a ``?lang=`` certreg speaks."""
    requested = request.query_params.get("lang") or ""
    return requested.strip().replace("_", "-").split("-", 1)[0].lower() in LANGUAGES


#: What stays as it is in a link's path (RFC 3986 pchar and "/"); anything else is escaped.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


@dataclass(frozen=True)
class LanguageLink:
    """One link of the language switch: the same page in ``lang``, named in ``lang`` itself."""

    lang: str
    name: str  # English, Deutsch, Français, Español
    href: str
    current: bool


def language_links(
    path: str, params: Iterable[tuple[str, str]], current: str
) -> tuple[LanguageLink, ...]:
    """The switch's links: ``path`` with the page's other query parameters kept (the home
    page's search, its filters and page) and ``lang=`` set to each language in turn."""
    kept = [(key, value) for key, value in params if key != "lang"]
    return tuple(
        LanguageLink(
            lang=lang,
            name=language_name(lang),
            href=f"{quote(path, safe=_PATH_SAFE)}?{urlencode([*kept, ('lang', lang)])}",
            current=lang == current,
        )
        for lang in LANGUAGES
    )


@dataclass(frozen=True)
class PageLanguage:
    """What a page needs to speak the reader's language: ``lang``, whether the reader chose it
    with ``?lang=`` (``chosen``: then the page's links carry it) and the switch's ``links``."""

    lang: str = "en"
    chosen: bool = False
    links: tuple[LanguageLink, ...] = ()

    def keep(self, href: str) -> str:
        """``href`` (a link to another public page) carrying ``?lang=`` if the reader chose it."""
        if not self.chosen:
            return href
        return f"{href}{'&' if '?' in href else '?'}{urlencode({'lang': self.lang})}"


def page_language(
    request: Request,
    *,
    path: str | None = None,
    params: Iterable[tuple[str, str]] = (),
) -> PageLanguage:
    """The language of the page answering ``request``, with its switch linking to ``path``
    (default: the request's own path) with the page's own query ``params`` (the home page's
    search, as it read it). The rest of the request's query is not repeated: a page echoes
    only what it reads, and bounded."""
    lang = language_of(request)
    return PageLanguage(
        lang=lang,
        chosen=_chosen(request),
        links=language_links(request.url.path if path is None else path, params, lang),
    )


AnyResponse = TypeVar("AnyResponse", bound=Response)


def localised(response: AnyResponse, lang: str) -> AnyResponse:
    """``response`` saying its language (``Content-Language``) and that it depends on the
    reader's ``Accept-Language`` (``Vary``), added to any ``Vary`` it already has."""
    response.headers["Content-Language"] = lang
    vary = [v.strip() for v in response.headers.get("vary", "").split(",") if v.strip()]
    if not any(v.lower() == "accept-language" for v in vary):
        vary.append("Accept-Language")
    response.headers["Vary"] = ", ".join(vary)
    return response

"""Pinned JSON-LD contexts and the offline document loader.

certreg never fetches a JSON-LD context from the network: a context decides what a signature
covers, so a context that can change under our feet is a signature that can change meaning.
Every context we accept is a file in ``contexts/files/``, listed in ``index.json`` with its URL
and sha256. The loader serves those files, checks each file's hash the first time it is read,
and refuses every other URL with an error that names it.

Public API:

- :func:`load_context` (url -> parsed JSON document)
- :class:`DocumentLoader` (a pyld-compatible loader; ``extra`` adds pinned documents, e.g. the
  W3C example contexts the test vectors need)
- :data:`DEFAULT_LOADER`
- :func:`pinned_urls`, :func:`context_file_bytes` (for serving ``/contexts/...``)
- :class:`ContextNotPinnedError`, :class:`ContextIntegrityError`
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "DEFAULT_LOADER",
    "ContextError",
    "ContextIntegrityError",
    "ContextNotPinnedError",
    "DocumentLoader",
    "PinnedContext",
    "context_file_bytes",
    "load_context",
    "pinned_contexts",
    "pinned_urls",
]


class ContextError(Exception):
    """A JSON-LD context could not be provided. ``url`` names it."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(message)
        self.url = url


class ContextNotPinnedError(ContextError):
    """The URL is not one of the pinned contexts; nothing is fetched."""

    def __init__(self, url: str) -> None:
        super().__init__(
            url,
            f"the JSON-LD context {url!r} is not pinned by certreg and is never fetched "
            "from the network",
        )


class ContextIntegrityError(ContextError):
    """A pinned context file does not match the sha256 recorded in index.json."""


@dataclass(frozen=True)
class PinnedContext:
    url: str
    file: str
    sha256: str
    source: str


_FILES = resources.files(__name__).joinpath("files")


@cache
def pinned_contexts() -> dict[str, PinnedContext]:
    """The index of pinned contexts, by URL."""
    entries = json.loads(_FILES.joinpath("index.json").read_text(encoding="utf-8"))
    return {
        e["url"]: PinnedContext(e["url"], e["file"], e["sha256"], e.get("source", ""))
        for e in entries
    }


def pinned_urls() -> list[str]:
    return sorted(pinned_contexts())


@cache
def context_file_bytes(url: str) -> bytes:
    """The exact bytes of a pinned context file, after checking its sha256."""
    entry = pinned_contexts().get(url)
    if entry is None:
        raise ContextNotPinnedError(url)
    data = _FILES.joinpath(entry.file).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry.sha256:
        raise ContextIntegrityError(
            url, f"the pinned file for {url!r} has sha256 {digest}, expected {entry.sha256}"
        )
    return data


@cache
def _parsed(url: str) -> Any:
    return json.loads(context_file_bytes(url))


def load_context(url: str) -> Any:
    """The parsed JSON document of a pinned context. Callers must not mutate it."""
    return _parsed(url)


class DocumentLoader:
    """A pyld document loader that serves pinned contexts only.

    ``extra`` maps further URLs to already-parsed documents. It exists for tests that need
    the W3C example contexts; production code uses :data:`DEFAULT_LOADER`.

    The returned remote document carries ``tag: 'static'`` so that pyld caches the processed
    context instead of re-processing it on every call (measured: ~1.5x slower without it).
    """

    def __init__(self, extra: Mapping[str, Any] | None = None) -> None:
        self.extra: dict[str, Any] = dict(extra or {})

    def document(self, url: str) -> Any:
        if url in self.extra:
            return self.extra[url]
        return load_context(url)

    def knows(self, url: str) -> bool:
        return url in self.extra or url in pinned_contexts()

    def __call__(self, url: str, options: Any = None) -> dict[str, Any]:
        return {
            "contextUrl": None,
            "documentUrl": url,
            "document": self.document(url),
            "tag": "static",
        }


DEFAULT_LOADER = DocumentLoader()

"""Shared fixtures: the official W3C test vectors (copied verbatim into tests/vectors/, see
tests/vectors/SOURCES.tsv) and a document loader that also knows the W3C example contexts
those vectors use (production code never sees those example contexts); a loopback listener.
Shared factories that are not fixtures (and the vector readers) live in tests/factories.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import EXAMPLE_CONTEXTS, loopback_listener, read_json
from hypothesis import settings

from certreg.contexts import DocumentLoader

# In CI, hypothesis draws the same examples every run (derandomize): a test that passes once
# passes every time, and one run in N never turns red on an example nobody changed code for.
# On a developer's machine it keeps exploring new examples (and remembers failing ones), which
# is how it found, for instance, the unsigned key "@ " (tests/verifier/test_properties.py).
settings.register_profile("ci", derandomize=True, database=None, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def vector_loader() -> DocumentLoader:
    """Pinned contexts plus the W3C example contexts used by the official vectors."""
    return DocumentLoader(
        {url: read_json(Path("contexts") / name) for url, name in EXAMPLE_CONTEXTS.items()}
    )


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """``(port, seen)``: a plain TCP listener on 127.0.0.1 that records what reaches it and
    answers 404 (factories.loopback_listener). A test that must reach nothing asserts
    ``seen == []``."""
    with loopback_listener() as (port, seen):
        yield port, seen

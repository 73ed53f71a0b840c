"""docs/security.md and docs/conformance.md name the test behind every promise: each name they
cite must exist, so that a renamed or deleted test cannot leave a page promising what nothing
checks any more."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("page", ["security.md", "conformance.md"])
def test_every_test_the_page_cites_exists(page: str) -> None:
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    files = set(re.findall(r"tests/(test_\w+\.py)", text))
    names = set(re.findall(r"\b(test_\w+)\b(?!\.py)", text))
    assert len(files) > 10 and len(names) > 20
    sources = {f.name: f.read_text(encoding="utf-8") for f in (ROOT / "tests").glob("test_*.py")}
    missing_files = sorted(f for f in files if f not in sources)
    assert not missing_files
    everything = "\n".join(sources.values())
    missing = sorted(n for n in names - {f[:-3] for f in files} if f"def {n}(" not in everything)
    assert not missing

"""docs/security.md and docs/conformance.md name the test behind every promise: each name they
cite must exist, so that a renamed or deleted test cannot leave a page promising what nothing
checks any more."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize("page", ["security.md", "conformance.md"])
def test_every_test_the_page_cites_exists(page: str) -> None:
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    files = set(re.findall(r"tests/((?:\w+/)?test_\w+\.py)", text))
    names = set(re.findall(r"\b(test_\w+)\b(?!\.py)", text))
    assert len(files) > 10 and len(names) > 20
    tests = ROOT / "tests"
    sources = {
        f.relative_to(tests).as_posix(): f.read_text(encoding="utf-8")
        for f in [*tests.glob("test_*.py"), *tests.glob("*/test_*.py")]
    }
    missing_files = sorted(f for f in files if f not in sources)
    assert not missing_files
    everything = "\n".join(sources.values())
    cited_files = {Path(f).stem for f in files}
    missing = sorted(n for n in names - cited_files if f"def {n}(" not in everything)
    assert not missing

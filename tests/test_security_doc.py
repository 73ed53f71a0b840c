"""docs/security.md names the test behind every promise: each name it cites must exist, so that
a renamed or deleted test cannot leave the page promising what nothing checks any more."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
DOC = ROOT / "docs" / "security.md"


def test_every_test_the_security_page_cites_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    files = set(re.findall(r"tests/(test_\w+\.py)", text))
    names = set(re.findall(r"\b(test_\w+)\b(?!\.py)", text))
    assert len(files) > 10 and len(names) > 20
    sources = {f.name: f.read_text(encoding="utf-8") for f in (ROOT / "tests").glob("test_*.py")}
    missing_files = sorted(f for f in files if f not in sources)
    assert not missing_files
    everything = "\n".join(sources.values())
    missing = sorted(n for n in names - {f[:-3] for f in files} if f"def {n}(" not in everything)
    assert not missing

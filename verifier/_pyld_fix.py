"""Correct pyld 3.3's N-Quads string escaping to the canonical form RDFC-1.0 requires.

RDFC-1.0 serialises literals in canonical N-Quads: BS, HT, LF, FF, CR, quote and backslash are
written as ECHAR (``\\b \\t \\n \\f \\r \\" \\\\``); the other control characters U+0000-U+001F and
DEL (U+007F) as UCHAR with upper-case hex (``\\u000B``). pyld 3.3 escapes only tab, newline,
carriage return, quote and backslash, so a signature over a string holding, say, U+0001 or a
form feed is one no other implementation reproduces. The escaping is also used *inside* the
canonicalisation algorithm (the first-degree hashes of blank nodes), so fixing the final text
is not enough: ``pyld.nquads.escape`` itself is replaced, which both the serialiser and
pyld's URDNA2015 look up at call time. pyoxigraph already escapes this way; tests check that
both engines agree on every control character.
"""

from __future__ import annotations

import pyld
from pyld import nquads

_TABLE: dict[int, str] = {
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0C: "\\f",
    0x0D: "\\r",
    0x22: '\\"',
    0x5C: "\\\\",
}
for _code in [*range(0x20), 0x7F]:
    _TABLE.setdefault(_code, f"\\u{_code:04X}")


def rdfc_escape(value: str) -> str:
    """Escape a literal's lexical form as canonical N-Quads (RDFC-1.0)."""
    return value.translate(_TABLE)


def apply() -> None:
    """Install the corrected escaping into pyld (idempotent). Only pyld 3.3 is known to need
    it; pyproject pins pyld to 3.3.x so a new version is looked at before it is used."""
    if nquads.escape is not rdfc_escape:
        nquads.escape = rdfc_escape


__all__ = ["apply", "pyld", "rdfc_escape"]

"""An event's hash, written member by member (issuer.audit._hash), is the hash of the record's
canonical JSON: compared with the rfc8785 reference and with the standard library's encoding
of the whole record, on many events, odd texts included."""

from __future__ import annotations

import hashlib
import json

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from certreg.issuer import audit
from certreg.verifier.canonicalize import CanonicalizationError

texts = st.text(max_size=40)  # any code point but lone surrogates (below): quotes, controls
maybe = st.none() | texts
payloads = st.dictionaries(
    st.text(alphabet=st.characters(max_codepoint=127), max_size=8),
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | texts,
    max_size=4,
)


@settings(max_examples=400, deadline=None)
@given(
    seq=st.integers(1, 2**53 - 1),
    at=texts,
    kind=texts,
    actor=maybe,
    subject=maybe,
    payload=payloads,
    prev_hash=texts,
)
def test_the_hash_is_that_of_the_canonical_record(
    seq: int,
    at: str,
    kind: str,
    actor: str | None,
    subject: str | None,
    payload: dict[str, object],
    prev_hash: str,
) -> None:
    record = {
        "seq": seq,
        "at": at,
        "kind": kind,
        "actor": actor,
        "subject": subject,
        "payload": payload,
        "prev_hash": prev_hash,
    }
    expected = hashlib.sha256(rfc8785.dumps(record)).hexdigest()
    assert audit.event_hash(seq, at, kind, actor, subject, payload, prev_hash) == expected
    # The standard library's sorted, compact JSON of the whole record: the same bytes.
    library = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert hashlib.sha256(library.encode("utf-8")).hexdigest() == expected


@given(at=st.sampled_from(["\ud800", "a\udfffb"]), payload=payloads)
def test_a_lone_surrogate_is_refused_as_before(at: str, payload: dict[str, object]) -> None:
    """A text UTF-8 cannot hold goes to full JCS, which refuses it (as before)."""
    with pytest.raises(CanonicalizationError):
        audit.event_hash(1, at, "k", None, None, payload, audit.GENESIS)

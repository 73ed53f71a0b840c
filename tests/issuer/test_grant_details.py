"""A decision's details are stored as ``json.dumps(details, sort_keys=True)`` writes them, by
an encoder built once (issuer.lifecycle.grants._DETAILS)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from certreg.issuer.lifecycle.grants import _DETAILS

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=500)
@given(values)
def test_details_are_written_as_json_dumps_writes_them(value: object) -> None:
    assert _DETAILS.encode(value) == json.dumps(value, sort_keys=True)

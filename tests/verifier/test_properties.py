"""Property tests over the whole verifier: a signed certificate survives no change.

For each cryptosuite, every leaf of the signed credential (nested ones included, the proof's
own fields too) is a place an attacker could edit; hypothesis picks a place and a different
value, or deletes a key, or adds one. The verdict must never be VALID, and verification must
always produce a result, never an exception.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from verify_support import Body, certificate

from certreg.verifier import Verdict

SUITES = ("eddsa-rdfc-2022", "eddsa-jcs-2022")


def leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in leaf_paths(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in leaf_paths(v, (*path, i))]
    return [path]


def object_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if isinstance(value, dict) else []
    children = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else []
    )
    for key, item in children:
        found += object_paths(item, (*path, key))
    return found


def get(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


BODY = Body()
BODY.publish_defaults()
VERIFIER = BODY.verifier()
SIGNED = {suite: BODY.sign(certificate(), cryptosuite=suite) for suite in SUITES}
LEAVES = {suite: leaf_paths(doc) for suite, doc in SIGNED.items()}
OBJECTS = {suite: object_paths(doc) for suite, doc in SIGNED.items()}

scalars = st.one_of(
    st.text(max_size=30),
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
)


@pytest.mark.parametrize("suite", SUITES)
def test_the_untouched_credential_is_valid(suite):
    result = VERIFIER.verify_credential(SIGNED[suite])
    assert result.verdict is Verdict.VALID, result.to_json()
    assert len(LEAVES[suite]) > 50


def same_json(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@pytest.mark.parametrize("suite", SUITES)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_changed_value_is_never_valid(suite, data):
    path = data.draw(st.sampled_from(LEAVES[suite]), label="path")
    old = get(SIGNED[suite], path)
    new = data.draw(scalars.filter(lambda v: not same_json(v, old)), label="new value")
    doc = copy.deepcopy(SIGNED[suite])
    get(doc, path[:-1])[path[-1]] = new
    result = VERIFIER.verify_credential(doc)
    assert result.verdict is not Verdict.VALID, (path, new)
    json.dumps(result.to_json())


@pytest.mark.parametrize("suite", SUITES)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_removed_key_is_never_valid(suite, data):
    path = data.draw(st.sampled_from([p for p in LEAVES[suite] if isinstance(p[-1], str)]))
    doc = copy.deepcopy(SIGNED[suite])
    del get(doc, path[:-1])[path[-1]]
    assert VERIFIER.verify_credential(doc).verdict is not Verdict.VALID, path


@pytest.mark.parametrize("suite", SUITES)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_added_key_is_never_valid(suite, data):
    path = data.draw(st.sampled_from(OBJECTS[suite]), label="object")
    target = get(SIGNED[suite], path)
    key = data.draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in target), label="key")
    value = data.draw(scalars.filter(lambda v: v is not None), label="value")
    doc = copy.deepcopy(SIGNED[suite])
    get(doc, path)[key] = value
    assert VERIFIER.verify_credential(doc).verdict is not Verdict.VALID, (path, key, value)

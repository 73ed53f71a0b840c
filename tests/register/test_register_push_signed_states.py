"""The scope and expiry the register's history gives each signing decision: what the push reads
out of each stored credential with SQLite's JSON functions (``_signed_states``) is what
``verifier.asof.signed_state`` says of the whole document, on any shape of document."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from certreg.issuer.register_push import _signed_states
from certreg.verifier.asof import NO_CONDITIONS, signed_state

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=8),
)
_CODES = st.sampled_from(["UT2", "VT2", "MT1", "a b", "ü"])
_RESULT = st.one_of(
    st.fixed_dictionaries(
        {
            "resultDescription": st.one_of(
                _CODES.map(lambda c: f"urn:uuid:scheme#scope-{c}"),
                st.text(max_size=12),
                _SCALARS,
            ),
        },
        optional={
            "value": st.one_of(st.just(NO_CONDITIONS), _SCALARS, st.lists(_SCALARS, max_size=2)),
            "type": st.just(["Result"]),
        },
    ),
    _SCALARS,
    st.lists(_SCALARS, max_size=2),
)
_SUBJECT = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "result": st.one_of(st.lists(_RESULT, max_size=4), _RESULT, _SCALARS),
            "achievement": st.fixed_dictionaries({"name": st.text(max_size=5)}),
            "name": st.text(max_size=5),
        },
    ),
    _SCALARS,
    st.lists(st.fixed_dictionaries({"result": st.lists(_RESULT, max_size=2)}), max_size=2),
)
_UNTIL = st.one_of(
    st.sampled_from(["2029-01-15T00:00:00Z", "2029-01-15", "2029-01-15T23:30:00-05:00", "x"]),
    _SCALARS,
)
_DOCUMENT = st.fixed_dictionaries(
    {}, optional={"credentialSubject": _SUBJECT, "validUntil": _UNTIL, "proof": st.just({})}
)


def _expected(document: dict[str, Any]) -> Any:
    try:
        return ("state", signed_state(document))
    except TypeError:  # a result that cannot be iterated (a number): both must refuse it
        return ("error", TypeError)


def _actual(db: Database, ids: list[str]) -> dict[str, Any]:
    marks = ",".join("?" * len(ids))
    return _signed_states(db, ids, marks)


@settings(max_examples=400, deadline=None)
@given(st.lists(_DOCUMENT, min_size=1, max_size=5))
def test_what_the_push_reads_is_what_signed_state_says_of_the_whole_document(
    documents: list[dict[str, Any]],
) -> None:
    db = Database(memory=True)
    db.execute(
        "CREATE TABLE credentials (id TEXT PRIMARY KEY, certification_id TEXT, "
        "decision_id TEXT, revision INTEGER, document TEXT)"
    )
    for i, document in enumerate(documents):
        db.execute(
            "INSERT INTO credentials VALUES (?, ?, ?, ?, ?)",
            [f"cr{i}", f"c{i}", f"d{i}", 1, json.dumps(document)],
        )
    for i, document in enumerate(documents):
        try:
            actual: Any = ("state", _actual(db, [f"c{i}"]).get(f"d{i}"))
        except TypeError:
            actual = ("error", TypeError)
        assert actual == _expected(document), document


def test_the_lowest_revision_of_a_decision_gives_its_state() -> None:
    db = Database(memory=True)
    db.execute(
        "CREATE TABLE credentials (id TEXT PRIMARY KEY, certification_id TEXT, "
        "decision_id TEXT, revision INTEGER, document TEXT)"
    )
    for revision, code in ((2, "VT2"), (1, "UT2"), (3, "MT1")):
        document = {
            "credentialSubject": {"result": [{"resultDescription": f"s#scope-{code}"}]},
            "validUntil": "2030-01-01T00:00:00Z",
        }
        db.execute(
            "INSERT INTO credentials VALUES (?, ?, ?, ?, ?)",
            [f"cr{revision}", "c1", "d1", revision, json.dumps(document)],
        )
    state = _actual(db, ["c1"])["d1"]
    assert state.codes == ("UT2",)
    assert state.until == "2030-01-01"

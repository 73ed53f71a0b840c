"""The push's faster forms give what the library calls they replace give, on any input: the
number as stored (``normalise``), a history row's scope (``history_scope``), and the proof
digest of each credential the body signed (``push_issued_credentials``)."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from certreg.issuer.register_push import push_issued_credentials
from certreg.register import push
from certreg.register.credentials import proof_digest


@settings(max_examples=500)
@given(st.text())
def test_a_number_is_normalised_as_the_regular_expression_does(number: str) -> None:
    assert push.normalise(number) == re.sub(r"\s+", "", number).upper()


@settings(max_examples=300)
@given(st.lists(st.tuples(st.text(), st.one_of(st.none(), st.text()))))
def test_a_history_scope_is_the_json_dumps_has_always_written(
    scope: list[tuple[str, str | None]],
) -> None:
    items = [{"code": code, "conditions": conditions} for code, conditions in scope]
    assert push.history_scope(scope) == json.dumps(items, ensure_ascii=False, separators=(",", ":"))


_JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**53), 2**53),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=6),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
_PROOF = st.fixed_dictionaries(
    {"type": st.just("DataIntegrityProof"), "proofValue": st.text(max_size=10)},
    optional={"created": st.text(max_size=5), "extra": _JSON},
)
_DOCUMENT = st.fixed_dictionaries(
    {"id": st.text(max_size=6)},
    optional={
        "proof": st.one_of(_PROOF, st.lists(_PROOF, max_size=3), _JSON),
        "credentialSubject": _JSON,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_DOCUMENT, min_size=1, max_size=4))
def test_the_digest_pushed_is_the_digest_of_the_whole_document(
    documents: list[dict[str, Any]],
) -> None:
    issuer = Database(memory=True)
    issuer.execute("CREATE TABLE certifications (id TEXT PRIMARY KEY, number TEXT)")
    issuer.execute(
        "CREATE TABLE credentials (id TEXT PRIMARY KEY, certification_id TEXT, document TEXT)"
    )
    issuer.execute("INSERT INTO certifications VALUES ('c1', 'N-1')")
    for i, document in enumerate(documents):
        issuer.execute(
            "INSERT INTO credentials VALUES (?, 'c1', ?)", [f"cr{i}", json.dumps(document)]
        )
    register = Database(memory=True)
    register.execute("CREATE TABLE issued_credentials (id TEXT PRIMARY KEY, proof_sha256 TEXT)")
    body: Any = SimpleNamespace(db=issuer)
    assert push_issued_credentials(body, register, ["N-1"]) == len(documents)
    pushed = dict(register.execute("SELECT id, proof_sha256 FROM issued_credentials").fetchall())
    assert pushed == {
        f"cr{i}": proof_digest(json.loads(json.dumps(d))) for i, d in enumerate(documents)
    }

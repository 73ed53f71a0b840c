"""C2SP tlog-witness add-checkpoint: a witness follows a growing log and refuses a rewritten or
forked one, with the status codes the specification gives."""

from __future__ import annotations

import itertools

import pytest

from certreg.verifier.tlog import checkpoint as cp
from certreg.verifier.tlog import merkle, note
from certreg.verifier.tlog.checkpoint import Checkpoint
from certreg.verifier.tlog.note import COSIGNATURE_V1, Signer
from certreg.verifier.tlog.witness import (
    SIZE_CONTENT_TYPE,
    AddCheckpoint,
    Answer,
    WitnessRequestError,
    add_checkpoint,
    parse_add_checkpoint,
)

# c2sp.org/tlog-witness's example request body.
SPEC_REQUEST = """old 20852014
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=

example.com/behind-the-sofa
20852163
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=
"""  # noqa: E501 (the specification's lines)

ORIGIN = "cb.example/log"
LOG = Signer.generate(ORIGIN)
WITNESS = Signer.generate("witness.example/w1", COSIGNATURE_V1)
LEAVES = [merkle.leaf_hash(f"event {i}".encode()) for i in range(300)]
TREE = merkle.Tree(LEAVES)
NOW = 1_767_225_600


def signed(size: int, tree: merkle.Tree = TREE, key: Signer = LOG) -> str:
    return cp.sign_checkpoint(Checkpoint(ORIGIN, size, tree.root(size)), key)


def request(old: int, new: int, tree: merkle.Tree = TREE) -> str:
    proof = tree.consistency_proof(old, new) if old else []
    return AddCheckpoint(old, tuple(proof), signed(new, tree)).body


class Witness:
    """The state a witness keeps: the last cosigned checkpoint per origin."""

    def __init__(self) -> None:
        self.latest: dict[str, Checkpoint] = {}

    def submit(self, body: str) -> Answer:
        answer = add_checkpoint(body, {ORIGIN: [LOG.verifier]}, self.latest, WITNESS, NOW)
        if answer.status == 200:
            assert answer.cosigned is not None
            self.latest[ORIGIN] = answer.cosigned
        return answer


def test_the_specification_example_parses_and_formats_back() -> None:
    parsed = parse_add_checkpoint(SPEC_REQUEST)
    assert parsed.old_size == 20852014 and len(parsed.proof) == 4
    assert parsed.checkpoint.startswith("example.com/behind-the-sofa\n20852163\n")
    assert parsed.body == SPEC_REQUEST


def test_a_witness_follows_a_growing_log_and_its_cosignatures_verify() -> None:
    witness = Witness()
    sizes = [0, 1, 2, 7, 8, 100, 256, 257, 300]
    for old, new in itertools.pairwise(sizes):
        answer = witness.submit(request(old, new))
        assert answer.status == 200, answer.reason
        cosigned = note.add_signatures(signed(new), [])
        opened = cp.open_checkpoint(cosigned + answer.body, LOG.verifier, [WITNESS.verifier])
        assert opened.ok and [c.timestamp for c in opened.cosignatures] == [NOW]
    # The same checkpoint again: equal sizes, equal roots, an empty proof.
    assert witness.submit(request(300, 300)).status == 200


def test_a_rewritten_log_is_refused_and_said_so() -> None:
    witness = Witness()
    assert witness.submit(request(0, 100)).status == 200
    # The log rewrites leaf 50 and grows: its proof from 100 cannot lead to the cosigned root.
    rewritten = merkle.Tree([*LEAVES[:50], merkle.leaf_hash(b"back-dated"), *LEAVES[51:]])
    answer = witness.submit(request(100, 200, rewritten))
    assert answer.status == 422 and "not consistent" in answer.reason
    # A fork at the same size.
    answer = witness.submit(request(100, 100, rewritten))
    assert answer.status == 409 and "forked" in answer.reason
    assert answer.body == "100\n" and answer.content_type == SIZE_CONTENT_TYPE
    # The honest log goes on.
    assert witness.submit(request(100, 200)).status == 200
    assert witness.latest[ORIGIN].size == 200


def test_the_other_refusals() -> None:
    witness = Witness()
    assert witness.submit(request(0, 10)).status == 200
    stale = witness.submit(request(5, 20))
    assert stale.status == 409 and stale.body == "10\n" and stale.content_type == SIZE_CONTENT_TYPE
    assert witness.submit(request(0, 20)).status == 409  # how a client learns the size
    backwards = AddCheckpoint(10, (), signed(5)).body
    assert witness.submit(backwards).status == 400
    stranger = Signer.generate(ORIGIN)
    unsigned = AddCheckpoint(10, tuple(TREE.consistency_proof(10, 20)), signed(20, key=stranger))
    assert witness.submit(unsigned.body).status == 403
    unknown = cp.sign_checkpoint(Checkpoint("other.example/log", 1, LEAVES[0]), stranger)
    assert witness.submit(AddCheckpoint(0, (), unknown).body).status == 404
    assert witness.submit(AddCheckpoint(0, (LEAVES[0],), signed(20)).body).status == 400
    assert witness.submit("old 10\n" + signed(20)).status == 400
    assert witness.latest[ORIGIN].size == 10  # no refusal moved the witness


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("old 01\n\nx", "leading zeros"),
        ("new 1\n\nx", "first line"),
        ("old 1\nnot base64\n\nx", "not base64"),
        ("old 1\nAAAA\n\nx", "32-byte hash"),
        ("old 1\n" + ("A" * 43 + "=\n") * 64 + "\nx", "more than 63"),
        (b"old 1\n\n\xff", "UTF-8"),
        ("old 1\nx", "no empty line"),
    ],
)
def test_malformed_requests(body: str | bytes, reason: str) -> None:
    with pytest.raises(WitnessRequestError, match=reason):
        parse_add_checkpoint(body)

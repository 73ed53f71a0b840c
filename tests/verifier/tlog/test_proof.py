"""C2SP tlog-proof@v1: an entry's proof with its cosigned checkpoint, verified offline, and every
broken link refused with a reason."""

from __future__ import annotations

import base64

import pytest

from certreg.verifier.tlog import checkpoint as cp
from certreg.verifier.tlog import merkle, note
from certreg.verifier.tlog.note import COSIGNATURE_V1, Signer
from certreg.verifier.tlog.proof import (
    ProofFormatError,
    TlogProof,
    parse_proof,
    verify_proof,
)

# The specification's example, its signatures elided there as here ("[...]").
SPEC_PROOF = """c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

— example.com/fancylog hI2DJw[...]1roloI=
— witness1.example mJirIklj[...]qY9v2B/5bg==
"""


def test_the_specification_example_parses_and_formats_back() -> None:
    proof = parse_proof(SPEC_PROOF)
    assert proof.index == 73894 and len(proof.inclusion) == 5
    assert proof.extra is not None and proof.extra.startswith(b"age-v1.2.1-darwin-arm64.tar.gz")
    assert cp.parse_body(proof.checkpoint.split("\n\n")[0] + "\n").size == 109482
    assert proof.text == SPEC_PROOF


ORIGIN = "cb.example/log"
LOG = Signer.generate(ORIGIN)
WITNESSES = [Signer.generate(f"witness{i}.example", COSIGNATURE_V1) for i in range(3)]
ENTRIES = [f"event {i}".encode() for i in range(1000)]
TREE = merkle.Tree([merkle.leaf_hash(e) for e in ENTRIES])


def cosigned_checkpoint(size: int, witnesses: list[Signer]) -> str:
    point = cp.Checkpoint(ORIGIN, size, TREE.root(size))
    signed = cp.sign_checkpoint(point, LOG)
    return note.add_signatures(signed, [cp.cosign(point, w, 1_767_225_600) for w in witnesses])


def proof_text(index: int, size: int = 1000, witnesses: list[Signer] = WITNESSES[:2]) -> str:
    inclusion = tuple(TREE.inclusion_proof(index, size))
    return TlogProof(index, inclusion, cosigned_checkpoint(size, witnesses), b"ctx").text


def verify(text: str, index: int, required: int = 2) -> object:
    keys = [w.verifier for w in WITNESSES]
    return verify_proof(
        text, TREE.levels[0][index], LOG.verifier, keys, witnesses_required=required
    )


def test_a_proof_verifies_offline_with_its_witnesses() -> None:
    for index in (0, 1, 499, 998, 999):
        verdict = verify(proof_text(index), index)
        assert verdict, verdict.reason
        assert verdict.checkpoint.size == 1000
        assert [c.name for c in verdict.cosignatures] == ["witness0.example", "witness1.example"]
        assert verdict.proof.extra == b"ctx"
    assert verify(proof_text(0, size=1), 0)  # a tree of one leaf: no proof hash at all


def test_every_broken_link_is_refused_with_its_reason() -> None:
    good = proof_text(123)
    lines = good.split("\n")
    # A flipped bit in a proof hash.
    raw = bytearray(base64.b64decode(lines[4]))
    raw[0] ^= 0x80
    flipped = "\n".join([*lines[:4], base64.b64encode(raw).decode(), *lines[5:]])
    assert "not included" in verify(flipped, 123).reason
    # Another entry's leaf, or the proof claimed for another index.
    assert not verify(good, 124)
    assert not verify(good.replace("index 123", "index 122"), 123)
    # Too few witnesses for the policy.
    weak = verify(proof_text(123, witnesses=WITNESSES[:1]), 123)
    assert not weak and "1 of the required 2 witnesses" in weak.reason
    # A checkpoint of another log key, a checkpoint whose text changed.
    impostor = Signer.generate(ORIGIN)
    point = cp.Checkpoint(ORIGIN, 1000, TREE.root())
    other = TlogProof(123, tuple(TREE.inclusion_proof(123)), cp.sign_checkpoint(point, impostor))
    assert "the checkpoint: no known key signed" in verify(other.text, 123, 0).reason
    assert "does not verify" in verify(good.replace("\n1000\n", "\n1001\n"), 123).reason
    # A proof for an older, smaller tree against a newer checkpoint.
    stale = TlogProof(
        123, tuple(TREE.inclusion_proof(123, 500)), cosigned_checkpoint(1000, WITNESSES)
    )
    assert not verify(stale.text, 123)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("c2sp.org/tlog-proof@v2\nindex 1\n\n", "first line"),
        ("c2sp.org/tlog-proof@v1\nindex 01\n\n", "index"),
        ("c2sp.org/tlog-proof@v1\nindex -1\n\n", "index"),
        ("c2sp.org/tlog-proof@v1\n\n", "index"),
        ("c2sp.org/tlog-proof@v1\nindex 1\n", "no empty line"),
        ("c2sp.org/tlog-proof@v1\nindex 1\nnot-base64!\n\n", "not base64"),
        ("c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\n", "has 3 bytes"),
        ("c2sp.org/tlog-proof@v1\nextra %%%\nindex 1\n\n", "extra data is not base64"),
        (b"c2sp.org/tlog-proof@v1\nindex 1\n\n\xff", "not UTF-8"),
        ("c2sp.org/tlog-proof@v1\nindex 1\n\n" + "x" * 200_000, "larger than"),
    ],
)
def test_malformed_proofs_are_refused(text: str | bytes, reason: str) -> None:
    with pytest.raises(ProofFormatError, match=reason):
        parse_proof(text)
    verdict = verify_proof(text, TREE.levels[0][1], LOG.verifier)
    assert not verdict and reason.split()[0] in verdict.reason


def test_too_many_proof_hashes() -> None:
    line = base64.b64encode(bytes(32)).decode() + "\n"
    with pytest.raises(ProofFormatError, match="more than 64"):
        parse_proof("c2sp.org/tlog-proof@v1\nindex 1\n" + line * 65 + "\n")

"""RFC 9162 §2.1 Merkle trees: certreg's proofs against a second implementation written here
from the RFC's recursive definitions, the Certificate Transparency reference vectors, and every
way a proof can be wrong."""

from __future__ import annotations

import hashlib
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certreg.verifier.tlog import merkle
from certreg.verifier.tlog.merkle import (
    Tree,
    consistency_proof,
    inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

# ---------------------------------------------------------------------------------------------
# The reference: RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 transcribed as written (recursive,
# slicing lists), sharing no code with certreg.verifier.tlog.merkle.


def ref_hash(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def ref_k(n: int) -> int:
    """The largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: tuple[bytes, ...]) -> bytes:
    """MTH(D[n]) over the entries themselves (not their hashes)."""
    if len(d) == 0:
        return ref_hash(b"")
    if len(d) == 1:
        return ref_hash(b"\x00" + d[0])
    k = ref_k(len(d))
    return ref_hash(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:]))


ref_mth_cached = cache(ref_mth)


def ref_path(m: int, d: tuple[bytes, ...]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = ref_k(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth_cached(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth_cached(d[:k])]


def ref_subproof(m: int, d: tuple[bytes, ...], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth_cached(d)]
    k = ref_k(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth_cached(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth_cached(d[:k])]


def ref_proof(m: int, d: tuple[bytes, ...]) -> list[bytes]:
    return ref_subproof(m, d, True)


def ref_root_from_path(m: int, n: int, leaf: bytes, path: list[bytes]) -> bytes | None:
    """Rebuild the root from an inclusion path by following PATH's recursion backwards."""
    if n == 1:
        return leaf if not path else None
    if not path:
        return None
    k = ref_k(n)
    *rest, last = path
    if m < k:
        inner = ref_root_from_path(m, k, leaf, rest)
        return None if inner is None else ref_hash(b"\x01" + inner + last)
    inner = ref_root_from_path(m - k, n - k, leaf, rest)
    return None if inner is None else ref_hash(b"\x01" + last + inner)


def ref_roots_from_proof(
    m: int, n: int, b: bool, proof: list[bytes], old_root: bytes
) -> tuple[bytes, bytes] | None:
    """(old root, new root) rebuilt from a consistency proof following SUBPROOF backwards."""
    if m == n:
        if b:
            return (old_root, old_root) if not proof else None
        return (proof[0], proof[0]) if len(proof) == 1 else None
    if not proof:
        return None
    k = ref_k(n)
    *rest, last = proof
    if m <= k:
        inner = ref_roots_from_proof(m, k, b, rest, old_root)
        if inner is None:
            return None
        # The old tree lies wholly in the left part: only the new root grows.
        return inner[0], ref_hash(b"\x01" + inner[1] + last)
    inner = ref_roots_from_proof(m - k, n - k, False, rest, old_root)
    if inner is None:
        return None
    return ref_hash(b"\x01" + last + inner[0]), ref_hash(b"\x01" + last + inner[1])


ENTRIES = tuple(i.to_bytes(2, "big") * (i % 5 + 1) for i in range(70))
LEAVES = [merkle.leaf_hash(e) for e in ENTRIES]
TREE = Tree(LEAVES)


@pytest.mark.parametrize("n", range(0, 71))
def test_roots_match_the_rfc_definition(n: int) -> None:
    assert merkle.root(LEAVES[:n]) == ref_mth_cached(ENTRIES[:n])
    assert TREE.root(n) == ref_mth_cached(ENTRIES[:n])


@pytest.mark.parametrize("n", range(1, 71))
def test_every_inclusion_proof_matches_the_rfc_and_verifies(n: int) -> None:
    d = ENTRIES[:n]
    root = ref_mth_cached(d)
    for m in range(n):
        proof = TREE.inclusion_proof(m, n)
        assert proof == ref_path(m, d), (m, n)
        assert inclusion_proof(m, n, TREE.subtree) == proof
        assert len(proof) == merkle.inclusion_proof_length(m, n)
        assert ref_root_from_path(m, n, LEAVES[m], proof) == root
        assert verify_inclusion(LEAVES[m], m, n, proof, root).ok


@pytest.mark.parametrize("n", range(1, 71))
def test_every_consistency_proof_matches_the_rfc_and_verifies(n: int) -> None:
    d = ENTRIES[:n]
    new_root = ref_mth_cached(d)
    for m in range(1, n + 1):
        proof = TREE.consistency_proof(m, n)
        assert proof == ref_proof(m, d), (m, n)
        assert consistency_proof(m, n, TREE.subtree) == proof
        old_root = ref_mth_cached(d[:m])
        assert ref_roots_from_proof(m, n, True, proof, old_root) == (old_root, new_root)
        if m < n:
            assert len(proof) == merkle.consistency_proof_length(m, n)
        assert verify_consistency(m, n, old_root, new_root, proof).ok, (m, n)


# The Certificate Transparency reference vectors (transparency-dev/merkle, testonly/constants.go;
# the same in RFC 6962's C++ and Go implementations).
CT_ENTRIES = [bytes.fromhex(h) for h in
              ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
               "606162636465666768696a6b6c6d6e6f")]  # fmt: skip
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
H = {
    "leaf1": "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "leaf4": "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "n1_1": "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "n1_2": "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "n1_3": "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "n2_0": "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "n2_1": "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
}
CT_INCLUSION = [(0, 8, ["leaf1", "n1_1", "n2_1"]), (5, 8, ["leaf4", "n1_3", "n2_0"])]
CT_CONSISTENCY = [
    (2, 8, ["n1_1", "n2_1"]),
    (6, 8, ["n1_2", "n1_3", "n2_0"]),
    (2, 5, ["n1_1", "leaf4"]),
]


def test_the_certificate_transparency_vectors() -> None:
    leaves = [merkle.leaf_hash(e) for e in CT_ENTRIES]
    tree = Tree(leaves)
    for n, want in enumerate(CT_ROOTS):
        assert merkle.root(leaves[:n]).hex() == want
        assert tree.root(n).hex() == want
    for index, size, names in CT_INCLUSION:
        proof = [bytes.fromhex(H[name]) for name in names]
        assert tree.inclusion_proof(index, size) == proof
        assert verify_inclusion(leaves[index], index, size, proof, bytes.fromhex(CT_ROOTS[size]))
    for old, new, names in CT_CONSISTENCY:
        proof = [bytes.fromhex(H[name]) for name in names]
        assert tree.consistency_proof(old, new) == proof
        old_root, new_root = bytes.fromhex(CT_ROOTS[old]), bytes.fromhex(CT_ROOTS[new])
        assert verify_consistency(old, new, old_root, new_root, proof)


def flip(h: bytes, bit: int) -> bytes:
    return bytes([h[0] ^ (1 << bit)]) + h[1:] if bit < 8 else h[:-1] + bytes([h[-1] ^ 1])


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 31, 64, 70])
def test_a_flipped_bit_anywhere_refuses_an_inclusion_proof(n: int) -> None:
    root = TREE.root(n)
    for m in range(n):
        proof = TREE.inclusion_proof(m, n)
        for i in range(len(proof)):
            bad = [*proof[:i], flip(proof[i], i % 9), *proof[i + 1 :]]
            result = verify_inclusion(LEAVES[m], m, n, bad, root)
            assert not result.ok and "not included" in result.reason
        result = verify_inclusion(flip(LEAVES[m], 3), m, n, proof, root)
        assert not result and "not included" in result.reason
        assert not verify_inclusion(LEAVES[m], m, n, proof, flip(root, 0))


@pytest.mark.parametrize("n", [2, 3, 7, 8, 9, 31, 64, 70])
def test_a_flipped_bit_anywhere_refuses_a_consistency_proof(n: int) -> None:
    new_root = TREE.root(n)
    for m in range(1, n):
        old_root = TREE.root(m)
        proof = TREE.consistency_proof(m, n)
        for i in range(len(proof)):
            bad = [*proof[:i], flip(proof[i], 5), *proof[i + 1 :]]
            assert not verify_consistency(m, n, old_root, new_root, bad)
        # A forked log: the same old size with another root.
        forked = verify_consistency(m, n, flip(old_root, 1), new_root, proof)
        assert not forked and "does not lead to the" in forked.reason
        assert not verify_consistency(m, n, old_root, flip(new_root, 2), proof)


def test_wrong_sizes_and_indices_are_refused_with_a_reason() -> None:
    n, root = 13, TREE.root(13)
    proof = TREE.inclusion_proof(5, n)
    assert not verify_inclusion(LEAVES[5], 4, n, proof, root)  # wrong index
    # A wrong size: the proof's shape is another one. (Sizes whose path to leaf 5 has the same
    # shape, 9 to 16 here, give the same answer: the checkpoint's signed root binds the size.)
    assert not verify_inclusion(LEAVES[5], 5, 6, proof, root)
    assert not verify_inclusion(LEAVES[5], 5, 17, proof, root)
    wrong_length = verify_inclusion(LEAVES[5], 5, 40, proof, root)
    assert "needs" in wrong_length.reason
    assert "empty tree" in verify_inclusion(LEAVES[0], 0, 0, [], merkle.EMPTY_ROOT).reason
    assert "not below" in verify_inclusion(LEAVES[0], 13, 13, proof, root).reason
    assert "needs" in verify_inclusion(LEAVES[5], 5, n, proof[:-1], root).reason
    assert "needs" in verify_inclusion(LEAVES[5], 5, n, [*proof, proof[0]], root).reason

    proof = TREE.consistency_proof(5, n)
    assert not verify_consistency(6, n, TREE.root(5), root, proof)
    assert not verify_consistency(5, 17, TREE.root(5), root, proof)
    assert "shrank" in verify_consistency(n, 5, root, TREE.root(5), proof).reason
    assert "fork" in verify_consistency(n, n, root, TREE.root(5), []).reason
    assert "empty proof" in verify_consistency(n, n, root, root, proof).reason
    assert verify_consistency(n, n, root, root, []).ok
    assert verify_consistency(0, n, merkle.EMPTY_ROOT, root, []).ok
    assert "empty tree" in verify_consistency(0, n, root, root, []).reason
    assert "empty tree" in verify_consistency(0, 0, root, root, []).reason
    assert verify_consistency(0, 0, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, []).ok


@pytest.mark.parametrize(
    "args",
    [
        (None, 0, 1, [], merkle.EMPTY_ROOT),
        ("ab" * 16, 0, 1, [], merkle.EMPTY_ROOT),
        (b"short", 0, 1, [], merkle.EMPTY_ROOT),
        (LEAVES[0], -1, 1, [], LEAVES[0]),
        (LEAVES[0], True, 2, [LEAVES[1]], TREE.root(2)),
        (LEAVES[0], 0, 1 << 64, [], LEAVES[0]),
        (LEAVES[0], 0, "1", [], LEAVES[0]),
        (LEAVES[0], 0, 2, [LEAVES[1][:31]], TREE.root(2)),
        (LEAVES[0], 0, 2, "not a list", TREE.root(2)),
        (LEAVES[0], 0, 2, [None], TREE.root(2)),
        (LEAVES[0], 0, 2, [LEAVES[1]], None),
    ],
)
def test_bad_input_is_a_reason_never_an_exception(args: tuple) -> None:
    result = verify_inclusion(*args)
    assert not result.ok and result.reason
    old = verify_consistency(args[1], args[2], args[0], args[4], args[3])
    assert not old.ok and old.reason


def test_generation_refuses_impossible_requests() -> None:
    with pytest.raises(ValueError):
        TREE.inclusion_proof(70, 70)
    with pytest.raises(ValueError):
        TREE.inclusion_proof(0, 71)
    with pytest.raises(ValueError):
        TREE.consistency_proof(8, 5)
    with pytest.raises(ValueError):
        Tree().append(b"too short")


@cache
def big_tree(n: int) -> Tree:
    return Tree([merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)])


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 3000), st.data())
def test_property_inclusion(n: int, data: st.DataObject) -> None:
    tree = big_tree(3000)
    m = data.draw(st.integers(0, n - 1))
    root = tree.root(n)
    proof = tree.inclusion_proof(m, n)
    assert verify_inclusion(tree.levels[0][m], m, n, proof, root)
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 8))
        bad = [*proof[:i], flip(proof[i], bit), *proof[i + 1 :]]
        assert not verify_inclusion(tree.levels[0][m], m, n, bad, root)
    other = data.draw(st.integers(0, n))
    if other != m:  # the proof of one leaf proves no other leaf (or size)
        assert not verify_inclusion(tree.levels[0][m], other, n, proof, root)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 3000), st.data())
def test_property_consistency(n: int, data: st.DataObject) -> None:
    tree = big_tree(3000)
    m = data.draw(st.integers(1, n))
    proof = tree.consistency_proof(m, n)
    old_root, new_root = tree.root(m), tree.root(n)
    assert verify_consistency(m, n, old_root, new_root, proof)
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1))
        bad = [*proof[:i], flip(proof[i], data.draw(st.integers(0, 8))), *proof[i + 1 :]]
        assert not verify_consistency(m, n, old_root, new_root, bad)
    if m < n:  # the old tree's root at another size is another tree
        other = data.draw(st.integers(1, n - 1))
        if other != m:
            assert not verify_consistency(other, n, old_root, new_root, proof)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=40), min_size=1, max_size=80))
def test_property_any_entries_agree_with_the_reference(entries: list[bytes]) -> None:
    d = tuple(entries)
    leaves = [merkle.leaf_hash(e) for e in d]
    tree = Tree(leaves)
    assert tree.root() == ref_mth(d) == merkle.root(leaves)
    m = len(d) // 2
    assert tree.inclusion_proof(m) == ref_path(m, d)
    if m:
        assert tree.consistency_proof(m) == ref_proof(m, d)

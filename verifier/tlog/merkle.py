"""RFC 9162 §2.1 Merkle trees: hashing, roots, inclusion and consistency proofs.

The hashes are RFC 6962's (= RFC 9162 §2.1.1 with SHA-256): a leaf is ``SHA-256(0x00 || entry)``,
an interior node ``SHA-256(0x01 || left || right)``, the empty tree ``SHA-256("")``. C2SP's
tlog-tiles, tlog-checkpoint and tlog-proof all use these.

Two sides live here:

- **Generation** (the log, a witness catching up, a monitor): :class:`Tree` keeps every full
  subtree's hash so that a proof costs ``log2(size)`` look-ups, and the free functions
  :func:`inclusion_proof` / :func:`consistency_proof` work from any *subtree source* (a function
  giving the hash of a full subtree), which is how :mod:`certreg.verifier.tlog.tiles` reads
  proofs back from published tiles. Generation raises :class:`ValueError` for impossible
  requests: they are the caller's own programming errors.
- **Verification** (a verifier holding a proof it was handed): :func:`verify_inclusion` and
  :func:`verify_consistency` follow RFC 9162 §2.1.3.2 and §2.1.4.2 step by step and never raise
  for bad input: they return a :class:`ProofResult` whose ``reason`` says what was wrong.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

# (level, index) -> the hash of the full subtree of 2**level leaves starting at index * 2**level.
SubtreeSource = Callable[[int, int], bytes]

_sha256 = hashlib.sha256


def leaf_hash(entry: bytes) -> bytes:
    """The Merkle leaf hash of one log entry: SHA-256(0x00 || entry)."""
    return _sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """An interior node: SHA-256(0x01 || left || right)."""
    return _sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """RFC 9162's k: the largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes, in one pass (a stack of the full subtrees seen so far)."""
    stack: list[bytes] = []
    for count, h in enumerate(leaf_hashes, start=1):
        # After adding leaf number `count`, one merge per trailing zero bit of count.
        c = count
        while c & 1 == 0:
            h = node_hash(stack.pop(), h)
            c >>= 1
        stack.append(h)
    if not stack:
        return EMPTY_ROOT
    # The leftover full subtrees, largest first, fold from the right (RFC 9162's unbalanced right).
    h = stack.pop()
    while stack:
        h = node_hash(stack.pop(), h)
    return h


def perfect_root(hashes: Sequence[bytes]) -> bytes:
    """Root of a power-of-two number of hashes (a full subtree), level by level."""
    level = list(hashes)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def range_hash(source: SubtreeSource, start: int, end: int) -> bytes:
    """MTH(D[start:end]) from full subtrees only (start is aligned as RFC 9162's recursion makes
    it: every range a proof asks for is a left-aligned piece of the tree)."""
    n = end - start
    if n <= 0:
        raise ValueError(f"empty range [{start}, {end})")
    if n & (n - 1) == 0 and start % n == 0:
        return source(n.bit_length() - 1, start // n)
    k = split_point(n)
    return node_hash(range_hash(source, start, start + k), range_hash(source, start + k, end))


def inclusion_proof(index: int, size: int, source: SubtreeSource) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, D[0:size]), leaf side first."""
    if not 0 <= index < size:
        raise ValueError(f"no leaf {index} in a tree of size {size}")
    proof: list[bytes] = []
    start, n, m = 0, size, index
    # Walk down from the root, collecting the sibling of each subtree on the leaf's way.
    while n > 1:
        k = split_point(n)
        if m < k:
            proof.append(range_hash(source, start + k, start + n))
            n = k
        else:
            proof.append(range_hash(source, start, start + k))
            start, n, m = start + k, n - k, m - k
    proof.reverse()
    return proof


def consistency_proof(old_size: int, new_size: int, source: SubtreeSource) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(old_size, D[0:new_size]); empty when there is nothing to prove
    (old_size 0 or old_size == new_size)."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size == 0 or old_size == new_size:
        return []
    proof: list[bytes] = []
    start, n, m, whole = 0, new_size, old_size, True
    while m != n:
        k = split_point(n)
        if m <= k:
            proof.append(range_hash(source, start + k, start + n))
            n = k
        else:
            proof.append(range_hash(source, start, start + k))
            start, n, m, whole = start + k, n - k, m - k, False
    if not whole:
        proof.append(range_hash(source, start, start + n))
    proof.reverse()
    return proof


def inclusion_proof_length(index: int, size: int) -> int:
    """How many hashes PATH(index, size) has (0 <= index < size)."""
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def consistency_proof_length(old_size: int, new_size: int) -> int:
    """How many hashes PROOF(old_size, new_size) has (0 < old_size < new_size)."""
    shift = (old_size & -old_size).bit_length() - 1  # trailing zero bits of old_size
    index, size = (old_size - 1) >> shift, ((new_size - 1) >> shift) + 1
    seed = 0 if old_size == 1 << shift else 1  # old tree a full subtree: its root is not sent
    return seed + inclusion_proof_length(index, size)


class Tree:
    """An append-only Merkle tree in memory that keeps the hash of every full subtree.

    ``levels[l][i]`` is the hash of leaves ``[i * 2**l, (i + 1) * 2**l)``; level 0 is the leaf
    hashes. Memory is about two hashes per leaf (64 bytes), appends cost one hash on average and
    any proof or past root costs ``O(log size)`` hashes.
    """

    def __init__(self, leaf_hashes: Sequence[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        for h in leaf_hashes:
            self.append(h)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append(self, leaf: bytes) -> int:
        """Add a leaf hash; returns its index."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash has {HASH_SIZE} bytes, not {len(leaf)}")
        index = self.size
        self.levels[0].append(leaf)
        level, i, h = 0, index, leaf
        while i & 1:  # a right child completes its parent
            h = node_hash(self.levels[level][i - 1], h)
            level, i = level + 1, i >> 1
            if level == len(self.levels):
                self.levels.append([])
            self.levels[level].append(h)
        return index

    def subtree(self, level: int, index: int) -> bytes:
        """The hash of a full subtree (a :data:`SubtreeSource`)."""
        return self.levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        """The root of the tree as it was at ``size`` leaves (now by default)."""
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ValueError(f"the tree has {self.size} leaves, not {size}")
        return EMPTY_ROOT if size == 0 else range_hash(self.subtree, 0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else size
        if size > self.size:
            raise ValueError(f"the tree has {self.size} leaves, not {size}")
        return inclusion_proof(index, size, self.subtree)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        new_size = self.size if new_size is None else new_size
        if new_size > self.size:
            raise ValueError(f"the tree has {self.size} leaves, not {new_size}")
        return consistency_proof(old_size, new_size, self.subtree)


@dataclass(frozen=True)
class ProofResult:
    """The answer of a proof check: ``ok``, and when not, the ``reason`` in one sentence."""

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


_OK = ProofResult(True)


def _bad_size(value: object, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"the {what} is not an integer"
    if value < 0:
        return f"the {what} is negative"
    if value >= 1 << 64:
        return f"the {what} does not fit in 64 bits"
    return ""


def _bad_hash(value: object, what: str) -> str:
    if not isinstance(value, bytes):
        return f"the {what} is not bytes"
    if len(value) != HASH_SIZE:
        return f"the {what} has {len(value)} bytes, not {HASH_SIZE}"
    return ""


def _bad_proof(proof: object) -> str:
    if not isinstance(proof, list | tuple):
        return "the proof is not a list of hashes"
    for i, h in enumerate(proof):
        if bad := _bad_hash(h, f"proof's hash number {i + 1}"):
            return bad
    return ""


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes
) -> ProofResult:
    """RFC 9162 §2.1.3.2: does ``proof`` show leaf hash ``leaf`` at ``index`` in the tree of
    ``size`` leaves whose root is ``root_hash``?"""
    for bad in (
        _bad_size(index, "leaf index"),
        _bad_size(size, "tree size"),
        _bad_hash(leaf, "leaf hash"),
        _bad_hash(root_hash, "root hash"),
        _bad_proof(proof),
    ):
        if bad:
            return ProofResult(False, bad)
    if size == 0:
        return ProofResult(False, "an empty tree includes no leaf")
    if index >= size:
        return ProofResult(False, f"leaf index {index} is not below the tree size {size}")
    want = inclusion_proof_length(index, size)
    if len(proof) != want:
        return ProofResult(
            False,
            f"the proof has {len(proof)} hashes; leaf {index} of a tree of {size} needs {want}",
        )
    # The RFC's algorithm, named as there.
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return ProofResult(False, "the proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        return ProofResult(False, "the proof is shorter than the path to the root")
    if r != root_hash:
        return ProofResult(False, "the proof does not lead to the root hash: not included")
    return _OK


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> ProofResult:
    """RFC 9162 §2.1.4.2: is the tree of ``new_size`` leaves (root ``new_root``) an append-only
    extension of the tree of ``old_size`` leaves (root ``old_root``)?

    Beyond the RFC's 0 < old_size < new_size: equal sizes need equal roots and an empty proof,
    and the empty tree (whose root must be SHA-256 of nothing) is a prefix of every tree.
    """
    for bad in (
        _bad_size(old_size, "old tree size"),
        _bad_size(new_size, "new tree size"),
        _bad_hash(old_root, "old root hash"),
        _bad_hash(new_root, "new root hash"),
        _bad_proof(proof),
    ):
        if bad:
            return ProofResult(False, bad)
    if old_size > new_size:
        return ProofResult(False, f"the tree shrank from {old_size} to {new_size} leaves")
    if old_size == new_size:
        if proof:
            return ProofResult(False, "two trees of the same size need an empty proof")
        if old_root != new_root:
            return ProofResult(False, f"two different roots for the same size {old_size}: a fork")
        if old_size == 0 and old_root != EMPTY_ROOT:
            return ProofResult(False, "the root of an empty tree is SHA-256 of nothing")
        return _OK
    if old_size == 0:
        if proof:
            return ProofResult(False, "consistency with the empty tree needs an empty proof")
        if old_root != EMPTY_ROOT:
            return ProofResult(False, "the old root is not the empty tree's root")
        return _OK
    want = consistency_proof_length(old_size, new_size)
    if len(proof) != want:
        return ProofResult(
            False,
            f"the proof has {len(proof)} hashes; from size {old_size} to {new_size} needs {want}",
        )
    # The RFC's algorithm, named as there.
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return ProofResult(False, "the proof is longer than the path to the new root")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        return ProofResult(False, "the proof is shorter than the path to the new root")
    if fr != old_root:
        return ProofResult(False, "the proof does not lead to the old root: the log was rewritten")
    if sr != new_root:
        return ProofResult(False, "the proof does not lead to the new root: not an extension")
    return _OK

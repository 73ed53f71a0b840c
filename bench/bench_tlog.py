"""The transparency log's hashing, proofs and tiles at 1,000,000 leaves, against raw SHA-256.

    .venv/bin/python bench/bench_tlog.py [--leaves 1000000] [--rounds 3]

Every operation is timed side by side with its baseline: hashlib's SHA-256 over the same number
of messages of the same size (33 bytes for a leaf, 65 for an interior node), alternated round by
round so that a loaded machine slows both alike. The ratio (operation / baseline) is the figure
that carries from one machine to another; the absolute times are this machine's, now.

Reported: leaf hashing; building the tree (every full subtree kept, what the log holds in
memory); the root in one pass; inclusion and consistency proofs per second and their size in
bytes at this many leaves; building every tile of the tree (tlog-tiles) and reading a proof back
from the tiles; verifying a proof; auditing the published log (every tile and entry bundle).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Runs from a plain checkout too, without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from certreg.verifier.tlog import merkle, tiles


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def raw_sha256(count: int, size: int) -> Callable[[], object]:
    """The baseline: ``count`` SHA-256 digests of ``size``-byte messages, nothing else."""
    messages = [os.urandom(size)] * 64
    sha256 = hashlib.sha256

    def run() -> None:
        for i in range(count):
            sha256(messages[i & 63]).digest()

    return run


def side_by_side(
    name: str, op: Callable[[], object], baseline: Callable[[], object], rounds: int
) -> tuple[float, float]:
    ours, base = [], []
    for _ in range(rounds):
        base.append(timed(baseline))
        ours.append(timed(op))
    o, b = statistics.median(ours), statistics.median(base)
    print(f"{name:<52} {o * 1000:9.1f} ms   raw SHA-256 {b * 1000:8.1f} ms   ratio {o / b:5.2f}")
    return o, b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--proofs", type=int, default=20_000)
    args = parser.parse_args()
    n, rounds = args.leaves, args.rounds
    print(f"Python {platform.python_version()}, {platform.machine()}, load {os.getloadavg()}")
    print(f"{n:,} leaves, median of {rounds} alternated rounds\n")

    entries = [i.to_bytes(8, "big") + b"certificate-and-event-hash-32-bytes" for i in range(n)]
    leaves = [merkle.leaf_hash(e) for e in entries]
    side_by_side(
        "leaf hashes (SHA-256(0x00 || entry))",
        lambda: [merkle.leaf_hash(e) for e in entries],
        raw_sha256(n, 1 + len(entries[0])),
        rounds,
    )
    # A tree of n leaves has n - 1 interior nodes.
    side_by_side(
        "root in one pass (merkle.root)", lambda: merkle.root(leaves), raw_sha256(n - 1, 65), rounds
    )
    side_by_side(
        "tree with every full subtree kept (merkle.Tree)",
        lambda: merkle.Tree(leaves),
        raw_sha256(n - 1, 65),
        rounds,
    )
    tree = merkle.Tree(leaves)
    built = tiles.build_tiles(leaves)
    side_by_side(
        f"every tile of the tree ({len(built):,} files)",
        lambda: tiles.build_tiles(leaves),
        raw_sha256(n - 1, 65),
        rounds,
    )
    tile_bytes = sum(len(v) for v in built.values())
    print(f"{'':<52} {tile_bytes / 1e6:9.1f} MB of tiles ({tile_bytes / n:.1f} bytes per leaf)")
    # What an auditor does with a published log: every tile read and checked against the level
    # above and the root, then every bundle's entries hashed against their level-0 tile.
    published = {**built, **tiles.build_bundles(entries)}
    root = merkle.root(leaves)
    assert tiles.verify_tiles(n, root, published.get, entries=True)
    side_by_side(
        "audit: every tile and bundle (tiles.verify_tiles)",
        lambda: tiles.verify_tiles(n, root, published.get, entries=True),
        raw_sha256(2 * n, 65),
        rounds,
    )
    print()

    rng = random.Random(13)
    indices = [rng.randrange(n) for _ in range(args.proofs)]
    olds = [rng.randrange(1, n) for _ in range(args.proofs)]
    k = args.proofs
    # A proof from the kept tree costs log2(n) look-ups plus the hashes of the right edge; the
    # baseline is one raw SHA-256 per proof.
    o, _ = side_by_side(
        f"{k:,} inclusion proofs from merkle.Tree",
        lambda: [tree.inclusion_proof(i) for i in indices],
        raw_sha256(k, 65),
        rounds,
    )
    print(f"{'':<52} {k / o:9,.0f} proofs/s")
    o, _ = side_by_side(
        f"{k:,} consistency proofs from merkle.Tree",
        lambda: [tree.consistency_proof(m) for m in olds],
        raw_sha256(k, 65),
        rounds,
    )
    print(f"{'':<52} {k / o:9,.0f} proofs/s")
    proofs = [tree.inclusion_proof(i) for i in indices]
    o, _ = side_by_side(
        f"{k:,} inclusion proofs verified",
        lambda: [
            merkle.verify_inclusion(leaves[i], i, n, p, root)
            for i, p in zip(indices, proofs, strict=True)
        ],
        raw_sha256(k * len(proofs[0]), 65),
        rounds,
    )
    print(f"{'':<52} {k / o:9,.0f} verifications/s")
    few = indices[:1000]
    o, _ = side_by_side(
        "1,000 inclusion proofs read from tiles (cold reader)",
        lambda: [merkle.inclusion_proof(i, n, tiles.TileReader(n, built.get).subtree) for i in few],
        raw_sha256(1000 * 255, 65),
        rounds,
    )
    print(f"{'':<52} {1000 / o:9,.0f} proofs/s (each fetches and hashes its tiles anew)\n")

    sizes = [len(tree.inclusion_proof(i)) for i in indices]
    consistency = [len(tree.consistency_proof(m)) for m in olds]
    print(
        f"proof size at {n:,} leaves: inclusion {min(sizes) * 32}-{max(sizes) * 32} bytes "
        f"(mean {statistics.mean(sizes) * 32:.0f}), consistency "
        f"{min(consistency) * 32}-{max(consistency) * 32} bytes "
        f"(mean {statistics.mean(consistency) * 32:.0f}), 32 bytes a hash"
    )


if __name__ == "__main__":
    main()

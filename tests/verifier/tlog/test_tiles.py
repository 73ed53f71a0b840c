"""C2SP tlog-tiles: paths, the tiles a tree is made of, bundles, and reading proofs back from
published tiles, with every kind of damage to the files refused with a reason."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certreg.verifier.tlog import merkle, tiles
from certreg.verifier.tlog.tiles import TileError, TileReader, TileRef


def test_paths_as_the_specification_writes_them() -> None:
    # tlog-tiles: "index 1234067 will be encoded as x001/x234/067".
    assert tiles.encode_index(1234067) == "x001/x234/067"
    assert tiles.encode_index(0) == "000"
    assert tiles.encode_index(999) == "999"
    assert tiles.encode_index(1000) == "x001/000"
    assert tiles.tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tiles.tile_path(2, 5, 17) == "tile/2/005.p/17"
    assert tiles.entries_path(7, 5) == "tile/entries/007.p/5"
    assert tiles.entries_path(1234067) == "tile/entries/x001/x234/067"
    for level, width in ((64, 256), (0, 0), (0, 257), (-1, 1)):
        with pytest.raises(ValueError):
            tiles.tile_path(level, 0, width)


BAD_PATHS = (
    "tile/0/1", "tile/00/000", "tile/64/000", "tile/0/x000/001", "tile/0/000.p/0",
    "tile/0/000.p/256", "tile/0/000.p/05", "tile/0/001/002", "tile/entries/000.p/",
    "tile/0/000/", "/tile/0/000", "tile/-1/000", "tile/0/x1/000", "checkpoint",
)  # fmt: skip


def test_paths_parse_back_and_nothing_else_does() -> None:
    for ref in (TileRef(0, 1234067), TileRef(63, 0, 1), TileRef(1, 1000, 255),
                TileRef(0, 42, 3, entries=True), TileRef(0, 10**9, entries=True)):  # fmt: skip
        assert tiles.parse_path(ref.path) == ref
    for bad in BAD_PATHS:
        with pytest.raises(TileError):
            tiles.parse_path(bad)


def test_which_tiles_a_tree_has() -> None:
    # The specification's example: 70,000 leaves.
    refs = tiles.tiles_for_size(70_000)
    assert [r for r in refs if r.partial] == [
        TileRef(0, 273, 112),
        TileRef(1, 1, 17),
        TileRef(2, 0, 1),
    ]
    assert sum(1 for r in refs if r.level == 0 and not r.partial) == 273
    assert sum(1 for r in refs if r.level == 1 and not r.partial) == 1
    assert len(refs) == 273 + 1 + 1 + 1 + 1
    # "a tree of size 256 will be represented by a full level 0 tile and a partial level 1 tile
    # of width 1".
    assert tiles.tiles_for_size(256) == [TileRef(0, 0), TileRef(1, 0, 1)]
    assert tiles.tiles_for_size(0) == []
    assert tiles.tiles_for_size(1) == [TileRef(0, 0, 1)]
    assert tiles.bundles_for_size(70_000)[-1] == TileRef(0, 273, 112, entries=True)
    assert len(tiles.bundles_for_size(512)) == 2


@cache
def log(n: int) -> tuple[list[bytes], list[bytes], dict[str, bytes]]:
    entries = [f"entry {i}".encode() * (i % 3 + 1) for i in range(n)]
    leaves = [merkle.leaf_hash(e) for e in entries]
    files = {**tiles.build_tiles(leaves), **tiles.build_bundles(entries)}
    return entries, leaves, files


@pytest.mark.parametrize("n", [1, 2, 255, 256, 257, 511, 512, 513, 65_536 + 300])
def test_tiles_give_back_every_root_and_proof(n: int) -> None:
    entries, leaves, files = log(n)
    tree = merkle.Tree(leaves)
    assert set(files) == {r.path for r in tiles.tiles_for_size(n) + tiles.bundles_for_size(n)}
    reader = TileReader(n, files.get)
    assert reader.root() == tree.root()
    assert tiles.verify_tiles(n, tree.root(), files.get, entries=True).ok
    for m in sorted({0, 1, n // 3, n // 2, n - 2, n - 1} & set(range(n))):
        assert merkle.inclusion_proof(m, n, reader.subtree) == tree.inclusion_proof(m)
        assert reader.leaf_hash(m) == leaves[m]
        if m:
            assert merkle.consistency_proof(m, n, reader.subtree) == tree.consistency_proof(m)
    assert list(reader.all_entries()) == entries


def test_a_smaller_tree_reads_from_the_same_full_tiles_and_its_own_partials() -> None:
    # A verifier at an older checkpoint (size 300) reads full tiles of today's tree (size 600)
    # and the partial tiles that were published for size 300.
    _, leaves, now = log(600)
    before = tiles.build_tiles(leaves[:300])
    published = {**now, **before}
    reader = TileReader(300, published.get)
    assert reader.root() == merkle.root(leaves[:300])


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 2000), st.data())
def test_property_proofs_from_tiles_are_the_trees(n: int, data: st.DataObject) -> None:
    _, leaves, _ = log(2000)
    tree = merkle.Tree(leaves[:n])
    reader = TileReader(n, tiles.build_tiles(leaves[:n]).get)
    m = data.draw(st.integers(0, n - 1))
    proof = merkle.inclusion_proof(m, n, reader.subtree)
    assert merkle.verify_inclusion(leaves[m], m, n, proof, tree.root())
    old = data.draw(st.integers(1, n))
    consistency = merkle.consistency_proof(old, n, reader.subtree)
    assert merkle.verify_consistency(old, n, tree.root(old), tree.root(), consistency)


def test_a_swapped_tile_is_refused() -> None:
    n = 256 * 3 + 10
    _, leaves, files = log(n)
    root = merkle.root(leaves)
    swapped = dict(files)
    swapped["tile/0/000"], swapped["tile/0/001"] = files["tile/0/001"], files["tile/0/000"]
    result = tiles.verify_tiles(n, root, swapped.get)
    assert not result.ok and "tile/0/000 does not hash to its entry" in result.reason
    # A level-1 tile rewritten to match swapped level-0 tiles still misses the root.
    rebuilt = tiles.build_tiles([*leaves[256:512], *leaves[:256], *leaves[512:]])
    result = tiles.verify_tiles(n, root, {**files, **rebuilt}.get)
    assert not result.ok and "do not lead to the root hash" in result.reason


def test_a_changed_leaf_a_wrong_size_a_missing_tile_are_refused() -> None:
    n = 600
    _, leaves, files = log(n)
    root = merkle.root(leaves)
    changed = dict(files)
    data = bytearray(files["tile/0/002.p/88"])
    data[40] ^= 1
    changed["tile/0/002.p/88"] = bytes(data)
    assert "do not lead to the root" in tiles.verify_tiles(n, root, changed.get).reason
    short = {**files, "tile/0/001": files["tile/0/001"][:-1]}
    assert "tile/0/001: the tile has 8191 bytes" in tiles.verify_tiles(n, root, short.get).reason
    missing = {k: v for k, v in files.items() if k != "tile/1/000.p/2"}
    assert "tile/1/000.p/2 is missing" in tiles.verify_tiles(n, root, missing.get).reason
    # The checkpoint says 601: the partial tiles of 601 do not exist.
    assert "missing" in tiles.verify_tiles(n + 1, root, files.get).reason
    assert not tiles.verify_tiles(n - 1, root, {**files, **tiles.build_tiles(leaves[:-1])}.get)


def test_bundles_encode_and_damaged_bundles_are_refused() -> None:
    entries = [b"", b"a", b"x" * 300, bytes(range(256))]
    data = tiles.encode_bundle(entries)
    assert data[:2] == b"\x00\x00" and data[2:5] == b"\x00\x01a" and data[5:7] == b"\x01\x2c"
    assert tiles.decode_bundle(data, 4) == entries
    with pytest.raises(TileError, match="truncated"):
        tiles.decode_bundle(data[:-1])
    with pytest.raises(TileError, match="inside the length"):
        tiles.decode_bundle(data + b"\x00")
    with pytest.raises(TileError, match="holds 4 entries, not 5"):
        tiles.decode_bundle(data, 5)
    with pytest.raises(ValueError):
        tiles.encode_bundle([b"x" * 65_536])
    with pytest.raises(ValueError):
        tiles.encode_bundle([])

    n = 300
    entries, leaves, files = log(n)
    root = merkle.root(leaves)
    cut = {**files, "tile/entries/001.p/44": files["tile/entries/001.p/44"][:-3]}
    result = tiles.verify_tiles(n, root, cut.get, entries=True)
    assert not result and "tile/entries/001.p/44: the bundle is truncated" in result.reason
    other = tiles.encode_bundle([*entries[256:299], b"not the logged entry"])
    forged = {**files, "tile/entries/001.p/44": other}
    result = tiles.verify_tiles(n, root, forged.get, entries=True)
    assert not result and "entry 43 does not hash to its leaf" in result.reason

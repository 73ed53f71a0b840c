"""C2SP tlog-tiles: the static files a tiled transparency log is published as.

A tile is up to 256 consecutive hashes of one *tile level* of the Merkle tree (tile height 8):
level 0 holds leaf hashes, level L the roots of the full 256-wide tiles of level L-1. Entry
bundles (``tile/entries/...``) hold the entries themselves, each prefixed by its length as a
big-endian uint16. Full tiles never change; the rightmost tile of each level is *partial*
(``.p/<W>``, W = 1..255 hashes) and is replaced as the tree grows.

The write side (:func:`build_tiles`, :func:`encode_bundle`) makes every file of a tree; the read
side (:class:`TileReader`) gives the hash of any full subtree from fetched tiles, so that
:mod:`certreg.verifier.tlog.merkle` can compute roots and proofs from them, and
:func:`verify_tiles` checks a published tree against its checkpoint's root.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from certreg.verifier.tlog import merkle
from certreg.verifier.tlog.errors import TlogError
from certreg.verifier.tlog.merkle import HASH_SIZE, ProofResult

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256 hashes, 8,192 bytes when full
MAX_LEVEL = 63
MAX_ENTRY_SIZE = 0xFFFF  # what a uint16 length prefix can say

# A path (relative to the log's prefix, e.g. "tile/0/x001/234.p/5") -> its bytes, or None.
Fetch = Callable[[str], bytes | None]


class TileError(TlogError):
    """A tile or bundle that is missing, of the wrong size or malformed; the message says which."""


@dataclass(frozen=True)
class TileRef:
    """One file of the layout: a hash tile at ``level``, or an entry bundle (``entries``)."""

    level: int
    index: int
    width: int = TILE_WIDTH
    entries: bool = False

    @property
    def partial(self) -> bool:
        return self.width < TILE_WIDTH

    @property
    def path(self) -> str:
        head = "tile/entries" if self.entries else f"tile/{self.level}"
        tail = f".p/{self.width}" if self.partial else ""
        return f"{head}/{encode_index(self.index)}{tail}"


def encode_index(n: int) -> str:
    """``1234067`` -> ``x001/x234/067``: 3-digit elements, all but the last prefixed with x."""
    if n < 0:
        raise ValueError(f"a tile index is not negative: {n}")
    parts = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        parts.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(parts))


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """``tile/<L>/<N>[.p/<W>]``."""
    _check_tile(level, width)
    return TileRef(level, index, width).path


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    """``tile/entries/<N>[.p/<W>]``."""
    _check_tile(0, width)
    return TileRef(0, index, width, entries=True).path


def _check_tile(level: int, width: int) -> None:
    if not 0 <= level <= MAX_LEVEL:
        raise ValueError(f"a tile level is between 0 and {MAX_LEVEL}, not {level}")
    if not 1 <= width <= TILE_WIDTH:
        raise ValueError(f"a tile is 1 to {TILE_WIDTH} hashes wide, not {width}")


_PATH = re.compile(
    r"tile/(?P<level>entries|0|[1-9][0-9]?)/(?P<index>(?:x[0-9]{3}/)*[0-9]{3})"
    r"(?:\.p/(?P<width>[1-9][0-9]{0,2}))?"
)


def parse_path(path: str) -> TileRef:
    """The :class:`TileRef` of a tile or bundle path; :class:`TileError` for anything else
    (leading zeros, a level above 63, a width of 0 or 256, a stray element...)."""
    match = _PATH.fullmatch(path)
    if not match:
        raise TileError(f"not a tile path: {path!r}")
    elements = match["index"].replace("x", "").split("/")
    index = int("".join(elements))
    if len(elements) > 1 and elements[0] == "000":
        raise TileError(f"a tile index with a leading zero element: {path!r}")
    width = int(match["width"]) if match["width"] else TILE_WIDTH
    if match["width"] and width >= TILE_WIDTH:
        raise TileError(f"a partial tile is 1 to 255 hashes wide: {path!r}")
    entries = match["level"] == "entries"
    level = 0 if entries else int(match["level"])
    if level > MAX_LEVEL:
        raise TileError(f"a tile level above {MAX_LEVEL}: {path!r}")
    return TileRef(level, index, width, entries)


def level_width(size: int, level: int) -> int:
    """How many hashes tile level ``level`` has in a tree of ``size`` leaves."""
    return size >> (TILE_HEIGHT * level)


def tiles_for_size(size: int) -> list[TileRef]:
    """Every hash tile of a tree of ``size`` leaves, level by level: the full ones and, where a
    level does not end on a tile boundary, its partial tile (tlog-tiles' example: 70,000 leaves
    are 273 full and one 112-wide tile at level 0, 1 full and one 17-wide at level 1, one 1-wide
    at level 2)."""
    refs: list[TileRef] = []
    level = 0
    while (n := level_width(size, level)) > 0:
        full, rest = divmod(n, TILE_WIDTH)
        refs.extend(TileRef(level, i) for i in range(full))
        if rest:
            refs.append(TileRef(level, full, rest))
        level += 1
    return refs


def bundles_for_size(size: int) -> list[TileRef]:
    """Every entry bundle of a tree of ``size`` leaves (laid out as level 0)."""
    full, rest = divmod(size, TILE_WIDTH)
    refs = [TileRef(0, i, entries=True) for i in range(full)]
    if rest:
        refs.append(TileRef(0, full, rest, entries=True))
    return refs


def build_tiles(leaf_hashes: Sequence[bytes]) -> dict[str, bytes]:
    """Every hash tile of the tree of these leaves, as ``{path: bytes}``."""
    files: dict[str, bytes] = {}
    level, hashes = 0, list(leaf_hashes)
    while hashes:
        above: list[bytes] = []
        for index, start in enumerate(range(0, len(hashes), TILE_WIDTH)):
            chunk = hashes[start : start + TILE_WIDTH]
            files[tile_path(level, index, len(chunk))] = b"".join(chunk)
            if len(chunk) == TILE_WIDTH:  # only full tiles are hashed into the level above
                above.append(merkle.perfect_root(chunk))
        level, hashes = level + 1, above
    return files


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    """An entry bundle: each entry as uint16 big-endian length || entry."""
    if not 1 <= len(entries) <= TILE_WIDTH:
        raise ValueError(f"a bundle holds 1 to {TILE_WIDTH} entries, not {len(entries)}")
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY_SIZE:
            raise ValueError(f"an entry of {len(entry)} bytes does not fit a uint16 length")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def build_bundles(entries: Sequence[bytes]) -> dict[str, bytes]:
    """Every entry bundle of a log of these entries, as ``{path: bytes}``."""
    return {
        entries_path(index, len(chunk)): encode_bundle(chunk)
        for index, chunk in enumerate(
            entries[start : start + TILE_WIDTH] for start in range(0, len(entries), TILE_WIDTH)
        )
    }


def decode_bundle(data: bytes, width: int | None = None) -> list[bytes]:
    """The entries of a bundle; :class:`TileError` if it is truncated, has trailing bytes or
    does not hold ``width`` entries."""
    entries: list[bytes] = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise TileError(f"the bundle ends inside the length of entry {len(entries)}")
        length = int.from_bytes(data[pos : pos + 2], "big")
        if pos + 2 + length > len(data):
            raise TileError(
                f"the bundle is truncated: entry {len(entries)} says {length} bytes, "
                f"{len(data) - pos - 2} are left"
            )
        entries.append(data[pos + 2 : pos + 2 + length])
        pos += 2 + length
        if len(entries) > TILE_WIDTH:
            raise TileError(f"a bundle holds at most {TILE_WIDTH} entries")
    if width is not None and len(entries) != width:
        raise TileError(f"the bundle holds {len(entries)} entries, not {width}")
    return entries


def split_tile(data: bytes, width: int) -> list[bytes]:
    """The hashes of a tile; :class:`TileError` unless it is exactly ``width`` hashes."""
    if len(data) != width * HASH_SIZE:
        raise TileError(f"the tile has {len(data)} bytes; {width} hashes are {width * HASH_SIZE}")
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


class TileReader:
    """Reads a tree of ``size`` leaves back from its tiles, fetching each tile once.

    :meth:`subtree` is a :data:`certreg.verifier.tlog.merkle.SubtreeSource`, so
    ``merkle.inclusion_proof(i, size, reader.subtree)`` builds a proof from published tiles.
    Missing or malformed tiles raise :class:`TileError`; :func:`verify_tiles` turns that into a
    result.
    """

    def __init__(self, size: int, fetch: Fetch) -> None:
        self.size = size
        self.fetch = fetch
        self._tiles: dict[tuple[int, int], list[bytes]] = {}

    def tile_ref(self, level: int, index: int) -> TileRef:
        """The file that holds tile ``index`` of tile level ``level`` at this tree size."""
        full, rest = divmod(level_width(self.size, level), TILE_WIDTH)
        if index < full:
            return TileRef(level, index)
        if index == full and rest:
            return TileRef(level, index, rest)
        raise TileError(f"a tree of size {self.size} has no tile {index} at level {level}")

    def tile(self, level: int, index: int) -> list[bytes]:
        key = (level, index)
        if key not in self._tiles:
            ref = self.tile_ref(level, index)
            data = self.fetch(ref.path)
            if data is None:
                raise TileError(f"{ref.path} is missing")
            try:
                self._tiles[key] = split_tile(data, ref.width)
            except TileError as error:
                raise TileError(f"{ref.path}: {error}") from None
        return self._tiles[key]

    def forget(self, level: int, index: int) -> None:
        """Let a fetched tile go (it is fetched again if needed)."""
        self._tiles.pop((level, index), None)

    def subtree(self, level: int, index: int) -> bytes:
        """The hash of the full subtree of ``2**level`` leaves starting at ``index * 2**level``."""
        if level < 0 or index < 0 or (index + 1) << level > self.size:
            raise TileError(f"a tree of size {self.size} has no full subtree ({level}, {index})")
        tile_level, height = divmod(level, TILE_HEIGHT)
        first = index << height  # the position of its first hash at the tile level
        hashes = self.tile(tile_level, first // TILE_WIDTH)
        offset = first % TILE_WIDTH
        return merkle.perfect_root(hashes[offset : offset + (1 << height)])

    def leaf_hash(self, index: int) -> bytes:
        return self.subtree(0, index)

    def root(self) -> bytes:
        if self.size == 0:
            return merkle.EMPTY_ROOT
        return merkle.range_hash(self.subtree, 0, self.size)

    def entries(self, index: int) -> list[bytes]:
        """Bundle ``index``, checked against the level-0 tile: each entry must hash to its leaf."""
        ref = self.tile_ref(0, index)
        bundle = TileRef(0, index, ref.width, entries=True)
        data = self.fetch(bundle.path)
        if data is None:
            raise TileError(f"{bundle.path} is missing")
        try:
            entries = decode_bundle(data, ref.width)
        except TileError as error:
            raise TileError(f"{bundle.path}: {error}") from None
        for i, (entry, leaf) in enumerate(zip(entries, self.tile(0, index), strict=True)):
            if merkle.leaf_hash(entry) != leaf:
                raise TileError(f"{bundle.path}: entry {i} does not hash to its leaf in the tile")
        return entries

    def all_entries(self) -> Iterator[bytes]:
        for ref in bundles_for_size(self.size):
            yield from self.entries(ref.index)


def verify_tiles(
    size: int, root_hash: bytes, fetch: Fetch, *, entries: bool = False
) -> ProofResult:
    """Does the published tree of ``size`` leaves have root ``root_hash``? Reads every tile of
    the tree (and, with ``entries``, every bundle against its level-0 tile): what an auditor
    does. Level-0 tiles are let go once checked, so memory stays at the higher levels' tiles
    (1/256 of the tree)."""
    reader = TileReader(size, fetch)
    try:
        for ref in tiles_for_size(size):  # level 0 first
            hashes = reader.tile(ref.level, ref.index)
            # A root is computed from the highest tiles covering each part of the tree, so a
            # full tile is tied to the root only through its entry in the level above.
            if not ref.partial:
                above = reader.tile(ref.level + 1, ref.index // TILE_WIDTH)
                if merkle.perfect_root(hashes) != above[ref.index % TILE_WIDTH]:
                    return ProofResult(
                        False, f"{ref.path} does not hash to its entry in the level above"
                    )
            if ref.level == 0:
                if entries:
                    reader.entries(ref.index)
                if not ref.partial:
                    reader.forget(0, ref.index)
        if reader.root() != root_hash:
            return ProofResult(False, f"the tiles of size {size} do not lead to the root hash")
    except TileError as error:
        return ProofResult(False, str(error))
    return ProofResult(True)

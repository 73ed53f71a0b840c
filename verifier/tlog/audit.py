"""Auditing a published log: every tile rebuilt, every entry read, the root and the history
checked (``certreg log verify``, and ``certreg log monitor`` on top of it).

An auditor trusts nothing it fetched but the log key's signature:

1. the checkpoint must be signed by the log key (and is opened with any witnesses given);
2. every entry bundle is read, each entry hashed to its leaf (RFC 9162: SHA-256(0x00 || entry))
   and compared with the level-0 tile, and parsed with :func:`~certreg.verifier.tlog.entry.
   parse_entry` (a malformed entry is reported with its index);
3. every tile of every level above is rebuilt from the level below and compared byte for byte
   with the published one;
4. the root computed from the entries must be the checkpoint's;
5. given a checkpoint seen earlier (``since``), the root of the log's first ``since.size``
   entries must be that checkpoint's root: the log only grew (a different root is a fork, a
   rewritten history).

**Resuming** (``certreg log monitor``): an audit that ends well also gives the tree's
:class:`Frontier`, the roots of its full subtrees (RFC 9162's compact range, ``log2(size)``
hashes). Given the frontier of the checkpoint seen before, the next audit reads only the entries
added since: it rebuilds the new root from the frontier and the new leaves, and that root
equals the new checkpoint's only if the first ``since.size`` entries are still the ones the old
root covers, so the check of point 5 holds without reading them again. The tiles above level 0
are then not compared (that is ``certreg log verify``'s whole-log check).

Memory stays bounded: level-0 tiles and bundles are read one at a time and let go; what is kept
is one hash per 256 leaves (the levels above) and a stack of ``log2(size)`` hashes. Each fetch
is bounded in size (a tile is 8,192 bytes at most, a bundle of 256 entries of at most 4 KB
each is refused beyond that).

A :class:`LogSource` gives the files: :class:`FolderSource` reads a ``certreg publish`` bundle's
``log/`` folder; :class:`HttpSource` fetches a log prefix with the verifier's HTTP rules
(:class:`~certreg.verifier.did.HttpFetcher`: HTTPS, no redirects, a deadline, public addresses
unless told otherwise).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from certreg.verifier.tlog import merkle
from certreg.verifier.tlog.checkpoint import (
    MAX_CHECKPOINT_SIZE,
    Checkpoint,
    Cosignature,
    open_checkpoint,
)
from certreg.verifier.tlog.entry import Entry, EntryError, parse_entry
from certreg.verifier.tlog.errors import TlogError
from certreg.verifier.tlog.merkle import HASH_SIZE
from certreg.verifier.tlog.note import Verifier
from certreg.verifier.tlog.tiles import (
    TILE_WIDTH,
    TileError,
    TileRef,
    decode_bundle,
    level_width,
    split_tile,
)

__all__ = [
    "AuditReport",
    "FolderSource",
    "Frontier",
    "HttpSource",
    "LogSource",
    "MalformedEntry",
    "audit_log",
]

MAX_TILE_BYTES = TILE_WIDTH * HASH_SIZE
#: A bundle of 256 entries of up to 4 KB each (an entry of this format is at most 1 KB; the
#: margin lets a too-large entry be reported as malformed rather than refused as a fetch).
MAX_BUNDLE_BYTES = TILE_WIDTH * (2 + 4096)
#: A report lists this many problems (and malformed entries) in full; the rest are counted.
MAX_LISTED = 100


class SourceError(TlogError):
    """A file of the log could not be fetched (beyond simply not being there)."""


class LogSource(Protocol):
    """Where a log's files come from: ``read(path, max_bytes)`` gives the bytes of a path
    relative to the log prefix (``checkpoint``, ``tile/0/000``...), None if it is not there,
    or raises :class:`SourceError` with the reason."""

    def read(self, path: str, max_bytes: int) -> bytes | None: ...

    def describe(self) -> str: ...


class FolderSource:
    """A log published as files: a ``certreg publish`` bundle's ``log/`` folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def describe(self) -> str:
        return str(self.folder)

    def read(self, path: str, max_bytes: int) -> bytes | None:
        # The paths are made here (tile paths, "checkpoint"), never taken from the log.
        target = self.folder / path
        try:
            with target.open("rb") as handle:
                data = handle.read(max_bytes + 1)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise SourceError(f"{path} could not be read: {error.strerror or error}") from None
        if len(data) > max_bytes:
            raise SourceError(f"{path} is larger than the {max_bytes}-byte limit")
        return data


class HttpSource:
    """A log served over HTTP(S) under a prefix (``https://cb.example/log/``), fetched with the
    verifier's rules. ``fetcher_for(max_bytes)`` makes the fetcher for one size limit (the CLI
    makes :class:`~certreg.verifier.did.HttpFetcher`\\ s); a 404 is "not there"."""

    def __init__(self, prefix: str, fetcher_for: Callable[[int], Callable[[str], bytes]]) -> None:
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        self._fetcher_for = fetcher_for
        self._fetchers: dict[int, Callable[[str], bytes]] = {}

    def describe(self) -> str:
        return self.prefix

    def read(self, path: str, max_bytes: int) -> bytes | None:
        from certreg.verifier.did import FetchError

        fetch = self._fetchers.get(max_bytes)
        if fetch is None:
            fetch = self._fetchers[max_bytes] = self._fetcher_for(max_bytes)
        try:
            return fetch(self.prefix + path)
        except FetchError as error:
            if error.not_found:
                return None
            raise SourceError(error.reason) from None


@dataclass(frozen=True)
class MalformedEntry:
    index: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "reason": self.reason}


@dataclass(frozen=True)
class Frontier:
    """The right edge of a tree of ``size`` leaves: the roots of its full subtrees, largest
    (leftmost) first, one per bit set in ``size``."""

    size: int
    hashes: tuple[bytes, ...]

    def root(self) -> bytes:
        stack = _Stack.resumed(self)
        return stack.root()

    @classmethod
    def of_leaves(cls, leaves: Iterable[bytes]) -> Frontier:
        """The frontier of the tree of these leaf hashes."""
        stack = _Stack()
        for leaf in leaves:
            stack.add(leaf)
        return cls(stack.count, tuple(stack.hashes))

    def to_json(self) -> dict[str, Any]:
        return {"size": self.size, "hashes": [h.hex() for h in self.hashes]}

    @classmethod
    def from_json(cls, data: Any) -> Frontier | None:
        """The frontier a state file holds, or None if it is not a well-formed one."""
        try:
            size, hashes = int(data["size"]), tuple(bytes.fromhex(h) for h in data["hashes"])
        except (KeyError, TypeError, ValueError):
            return None
        if size < 0 or len(hashes) != size.bit_count() or any(len(h) != HASH_SIZE for h in hashes):
            return None
        return cls(size, hashes)


@dataclass
class AuditReport:
    """What an audit found. ``ok`` only if the checkpoint verified, every tile and entry
    checked, the root matched and (given ``since``) the log is consistent with it."""

    source: str
    checkpoint: Checkpoint | None = None
    checkpoint_text: str = ""
    cosignatures: tuple[Cosignature, ...] = ()
    since: Checkpoint | None = None
    consistent: bool | None = None  # None: no earlier checkpoint to compare with
    entries_read: int = 0
    tiles_read: int = 0
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0
    malformed: list[MalformedEntry] = field(default_factory=list)
    malformed_count: int = 0
    #: The checked tree's frontier, to resume from next time (set when the root matched).
    frontier: Frontier | None = None
    #: The size the audit resumed from (its first entries were not read again), if it did.
    resumed_from: int | None = None

    @property
    def ok(self) -> bool:
        return (
            self.checkpoint is not None
            and self.problem_count == 0
            and self.malformed_count == 0
            and self.consistent is not False
        )

    def problem(self, reason: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_LISTED:
            self.problems.append(reason)

    def bad_entry(self, index: int, reason: str) -> None:
        self.malformed_count += 1
        if len(self.malformed) < MAX_LISTED:
            self.malformed.append(MalformedEntry(index, reason))

    def to_json(self) -> dict[str, Any]:
        point = self.checkpoint
        return {
            "ok": self.ok,
            "source": self.source,
            "origin": point.origin if point else None,
            "size": point.size if point else None,
            "root": point.root.hex() if point else None,
            "cosigned_by": [c.name for c in self.cosignatures],
            "since": {"size": self.since.size, "root": self.since.root.hex()}
            if self.since
            else None,
            "consistent": self.consistent,
            "entries_read": self.entries_read,
            "tiles_read": self.tiles_read,
            "problems": self.problems,
            "problem_count": self.problem_count,
            "malformed_entries": [m.to_json() for m in self.malformed],
            "malformed_count": self.malformed_count,
            "resumed_from": self.resumed_from,
        }

    def lines(self) -> list[str]:
        """The report in plain words, one line each."""
        point = self.checkpoint
        out: list[str] = []
        if point is None:
            out.append(f"The log at {self.source} could not be checked.")
        elif self.ok and self.resumed_from is not None:
            out.append(
                f"The log {point.origin} checks: {point.size} entries, the "
                f"{point.size - self.resumed_from} new ones well formed, and with the "
                f"{self.resumed_from} seen before they give the signed checkpoint's root."
            )
        elif self.ok:
            out.append(
                f"The log {point.origin} checks: {point.size} entries, every tile rebuilt, "
                "every entry well formed, the root is the signed checkpoint's."
            )
        else:
            out.append(f"The log {point.origin} does NOT check ({point.size} entries claimed).")
        if self.cosignatures:
            names = ", ".join(c.name for c in self.cosignatures)
            out.append(f"Checkpoint cosigned by: {names}.")
        if self.since is not None:
            if self.consistent:
                out.append(
                    f"Consistent with the checkpoint seen before ({self.since.size} entries): "
                    "the log only grew."
                )
            elif self.consistent is False:
                out.append(
                    f"NOT consistent with the checkpoint seen before ({self.since.size} "
                    "entries): the log's history was rewritten (a fork)."
                )
        for reason in self.problems:
            out.append(f"✗ {reason}")
        if self.problem_count > len(self.problems):
            out.append(f"✗ … and {self.problem_count - len(self.problems)} more problems")
        for bad in self.malformed:
            out.append(f"✗ entry {bad.index} is malformed: {bad.reason}")
        if self.malformed_count > len(self.malformed):
            out.append(f"✗ … and {self.malformed_count - len(self.malformed)} more malformed")
        return out


#: Called with (index, entry bytes, parsed entry or None) for every entry, in order.
EntryCallback = Callable[[int, bytes, Entry | None], None]


class _Stack:
    """The running RFC 9162 root: the full subtrees seen so far, as in :func:`merkle.root`."""

    def __init__(self) -> None:
        self.hashes: list[bytes] = []
        self.count = 0

    @classmethod
    def resumed(cls, frontier: Frontier) -> _Stack:
        stack = cls()
        stack.hashes, stack.count = list(frontier.hashes), frontier.size
        return stack

    def add(self, leaf: bytes) -> None:
        self.count += 1
        c, h = self.count, leaf
        while c & 1 == 0:
            h = merkle.node_hash(self.hashes.pop(), h)
            c >>= 1
        self.hashes.append(h)

    def root(self) -> bytes:
        if not self.hashes:
            return merkle.EMPTY_ROOT
        h = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            h = merkle.node_hash(left, h)
        return h


def _refs(size: int, level: int, entries: bool = False) -> list[TileRef]:
    full, rest = divmod(level_width(size, level), TILE_WIDTH)
    refs = [TileRef(level, i, entries=entries) for i in range(full)]
    if rest:
        refs.append(TileRef(level, full, rest, entries=entries))
    return refs


def _open_since(since: bytes | str, log_key: Verifier, origin: str | None) -> Checkpoint | str:
    opened = open_checkpoint(since, log_key, origin=origin)
    if not opened or opened.checkpoint is None:
        return f"the checkpoint seen before does not verify: {opened.reason}"
    return opened.checkpoint


def audit_log(
    source: LogSource,
    log_key: Verifier,
    *,
    witnesses: Iterable[Verifier] = (),
    since: bytes | str | None = None,
    origin: str | None = None,
    on_entry: EntryCallback | None = None,
    resume: Frontier | None = None,
) -> AuditReport:
    """Audit the whole log at ``source`` against ``log_key``; see the module's docstring.
    ``resume``, the frontier of ``since`` (from an earlier report), reads only the entries
    added after it; a frontier that is not ``since``'s is ignored and the whole log read."""
    report = AuditReport(source.describe())
    try:
        data = source.read("checkpoint", MAX_CHECKPOINT_SIZE)
    except SourceError as error:
        report.problem(f"the checkpoint: {error}")
        return report
    if data is None:
        report.problem("the log has no checkpoint")
        return report
    opened = open_checkpoint(data, log_key, witnesses, origin=origin)
    if not opened or opened.checkpoint is None:
        report.problem(f"the checkpoint does not verify: {opened.reason}")
        return report
    point = opened.checkpoint
    report.checkpoint, report.cosignatures = point, opened.cosignatures
    report.checkpoint_text = data.decode("utf-8")

    old: Checkpoint | None = None
    if since is not None:
        seen = _open_since(since, log_key, origin)
        if isinstance(seen, str):
            report.problem(seen)
        else:
            old = report.since = seen
            if old.size > point.size:
                report.consistent = False
                report.problem(
                    f"the log shrank: {point.size} entries now, {old.size} in the checkpoint "
                    "seen before"
                )
                old = None

    if (
        resume is not None
        and old is not None
        and resume.size == old.size
        and resume.root() == old.root
    ):
        return _audit_from(source, point, resume, report, on_entry)

    stack = _Stack()
    above: list[bytes] = []  # level-1 hashes rebuilt from the entries
    if old is not None and old.size == 0:
        report.consistent = old.root == merkle.EMPTY_ROOT
    for ref in _refs(point.size, 0):
        leaves = _level0(source, ref, report, on_entry)
        if leaves is None:
            return report  # neither the bundle nor the tile: nothing to go on
        for leaf in leaves:
            stack.add(leaf)
            if old is not None and stack.count == old.size:
                report.consistent = stack.root() == old.root
                if not report.consistent:
                    report.problem(
                        f"the log's first {old.size} entries do not have the root of the "
                        "checkpoint seen before: the history was rewritten (a fork)"
                    )
        if not ref.partial:
            above.append(merkle.perfect_root(leaves))

    level, expected = 1, above
    while level_width(point.size, level) > 0:
        _check_level(source, point.size, level, expected, report)
        expected = [
            merkle.perfect_root(expected[i : i + TILE_WIDTH])
            for i in range(0, len(expected) - TILE_WIDTH + 1, TILE_WIDTH)
        ]
        level += 1

    if stack.root() != point.root:
        report.problem(
            f"the {point.size} entries do not lead to the checkpoint's root hash: the log's "
            "files are not the tree its key signed"
        )
    else:
        report.frontier = Frontier(stack.count, tuple(stack.hashes))
    return report


def _audit_from(
    source: LogSource,
    point: Checkpoint,
    resume: Frontier,
    report: AuditReport,
    on_entry: EntryCallback | None,
) -> AuditReport:
    """The rest of :func:`audit_log` from a frontier: the entries after ``resume.size``."""
    report.resumed_from = resume.size
    stack = _Stack.resumed(resume)
    first_tile = resume.size // TILE_WIDTH
    for ref in _refs(point.size, 0)[first_tile:]:
        start = ref.index * TILE_WIDTH

        def only_new(index: int, data: bytes, entry: Entry | None) -> None:
            if index >= resume.size and on_entry is not None:
                on_entry(index, data, entry)

        leaves = _level0(source, ref, report, only_new, skip_below=resume.size)
        if leaves is None:
            return report
        for offset, leaf in enumerate(leaves):
            if start + offset >= resume.size:
                stack.add(leaf)
    if stack.root() != point.root:
        report.consistent = False
        report.problem(
            f"the {point.size - resume.size} new entries and the {resume.size} seen before do "
            "not lead to the checkpoint's root hash: the history was rewritten (a fork), or "
            "the new files are not the tree the log's key signed"
        )
    else:
        report.consistent = True
        report.frontier = Frontier(stack.count, tuple(stack.hashes))
    return report


def _level0(
    source: LogSource,
    ref: TileRef,
    report: AuditReport,
    on_entry: EntryCallback | None,
    skip_below: int = 0,
) -> list[bytes] | None:
    """The leaf hashes of one level-0 tile, rebuilt from its bundle and compared with the
    published tile; None when neither can be read. Entries below ``skip_below`` (already
    audited) are hashed but not parsed or counted again."""
    bundle_ref = TileRef(0, ref.index, ref.width, entries=True)
    first = ref.index * TILE_WIDTH
    tile: list[bytes] | None = None
    try:
        raw = source.read(ref.path, MAX_TILE_BYTES)
        report.tiles_read += 1
        if raw is None:
            report.problem(f"{ref.path} is missing")
        else:
            tile = split_tile(raw, ref.width)
    except (SourceError, TileError) as error:
        report.problem(f"{ref.path}: {error}")
    entries: list[bytes] | None = None
    try:
        raw = source.read(bundle_ref.path, MAX_BUNDLE_BYTES)
        if raw is None:
            report.problem(f"{bundle_ref.path} is missing")
        else:
            entries = decode_bundle(raw, ref.width)
    except (SourceError, TileError) as error:
        report.problem(f"{bundle_ref.path}: {error}")
    if entries is None:
        return tile
    leaves = [merkle.leaf_hash(e) for e in entries]
    for offset, entry in enumerate(entries):
        index = first + offset
        if index < skip_below:
            continue
        report.entries_read += 1
        parsed: Entry | None = None
        try:
            parsed = parse_entry(entry)
        except EntryError as error:
            report.bad_entry(index, str(error))
        if tile is not None and tile[offset] != leaves[offset]:
            report.problem(
                f"entry {index} does not hash to its leaf in {ref.path}: the entry or the tile "
                "was changed"
            )
        if on_entry is not None:
            on_entry(index, entry, parsed)
    return leaves


def _check_level(
    source: LogSource, size: int, level: int, expected: list[bytes], report: AuditReport
) -> None:
    """Compare every published tile of ``level`` with the one rebuilt from the level below."""
    for ref in _refs(size, level):
        start = ref.index * TILE_WIDTH
        want = b"".join(expected[start : start + ref.width])
        try:
            got = source.read(ref.path, MAX_TILE_BYTES)
            report.tiles_read += 1
        except SourceError as error:
            report.problem(f"{ref.path}: {error}")
            continue
        if got is None:
            report.problem(f"{ref.path} is missing")
        elif got != want:
            report.problem(
                f"{ref.path} is not the tile rebuilt from the level below: a tile was changed "
                "or swapped"
            )

"""A small transparency log built by hand for the verifier's log tests: entries, the files of
the C2SP tlog-tiles layout in a folder, a signed (and cosigned) checkpoint, proofs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from certreg.verifier.tlog import checkpoint as cp
from certreg.verifier.tlog import merkle, note, tiles
from certreg.verifier.tlog.entry import Entry
from certreg.verifier.tlog.proof import TlogProof

ORIGIN = "cb.example/log"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def entry(
    n: int,
    *,
    kind: str = "grant",
    scheme: str = "cwi",
    cert: str | None = None,
    credential: str | None = None,
    number: str | None = None,
    at: str = "2026-03-12T09:30:00Z",
) -> Entry:
    """Entry number ``n`` (its hashes derived from n unless given)."""
    if kind == "grant":
        credential = credential or sha(f"credential {n}")
        cert = credential
    elif kind in ("recertify", "extend_scope", "reduce_scope", "correct"):
        credential = credential or sha(f"credential {n}")
    return Entry(
        kind=kind,
        at=at,
        scheme=scheme,
        cert=cert or sha(f"cert {n}"),
        event=sha(f"event {n}"),
        credential=credential,
        number=number,
    )


@dataclass
class Log:
    """A log of entries with its key and witnesses; ``write`` lays its files out in a folder."""

    entries: list[bytes] = field(default_factory=list)
    key: note.Signer = field(default_factory=lambda: note.Signer.generate(ORIGIN))
    witnesses: list[note.Signer] = field(
        default_factory=lambda: [
            note.Signer.generate(f"witness{i}.example", note.COSIGNATURE_V1) for i in range(3)
        ]
    )

    def add(self, *items: Entry | bytes) -> None:
        self.entries += [i if isinstance(i, bytes) else i.to_bytes() for i in items]

    @property
    def tree(self) -> merkle.Tree:
        return merkle.Tree([merkle.leaf_hash(e) for e in self.entries])

    def checkpoint(self, size: int | None = None, cosigners: int = 0) -> str:
        tree = self.tree
        size = tree.size if size is None else size
        point = cp.Checkpoint(ORIGIN, size, tree.root(size))
        text = cp.sign_checkpoint(point, self.key)
        sigs = [cp.cosign(point, w, 1_780_000_000) for w in self.witnesses[:cosigners]]
        return note.add_signatures(text, sigs)

    def files(self, cosigners: int = 0) -> dict[str, bytes]:
        leaves = [merkle.leaf_hash(e) for e in self.entries]
        files = tiles.build_tiles(leaves) | tiles.build_bundles(self.entries)
        files["checkpoint"] = self.checkpoint(cosigners=cosigners).encode()
        return files

    def write(self, folder: Path, cosigners: int = 0) -> Path:
        for path, data in self.files(cosigners).items():
            target = folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return folder

    def proof(self, index: int, *, cosigners: int = 0, extra: bool = True) -> str:
        tree = self.tree
        return TlogProof(
            index,
            tuple(tree.inclusion_proof(index)),
            self.checkpoint(cosigners=cosigners),
            self.entries[index] if extra else None,
        ).text

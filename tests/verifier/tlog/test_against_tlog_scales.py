"""certreg's log files and proofs read by another implementation, and the other way round.

tlog-scales (PyPI, Apache-2.0, written for the sigsum/tlog-tiles monitors sigmon and
cross-examination) reads and writes C2SP tlog-tiles logs, checkpoints, Ed25519 note signatures
and cosignature/v1 with its own code (cryptography's Ed25519, its own RFC 9162 checks). What
both accept, byte for byte, is what a third party reading a certreg log will accept.
"""

from __future__ import annotations

from pathlib import Path

from tlog_scales import signing as ts_signing
from tlog_scales import tlog as ts_tlog
from tlog_scales.backend import LocalBackend
from tlog_scales.reader import TilesReader
from tlog_scales.writer import TilesWriter

from certreg.verifier.tlog import checkpoint as cp
from certreg.verifier.tlog import merkle, note, tiles
from certreg.verifier.tlog.note import COSIGNATURE_V1, Signer

ORIGIN = "cb.example/log"


def write(files: dict[str, bytes], root: Path) -> None:
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)


def files_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_keys_and_key_ids_agree() -> None:
    for signature_type in (note.ED25519, COSIGNATURE_V1):
        signer = Signer.generate("witness.example/w1", signature_type)
        theirs = ts_signing.Vkey(signer.name, None, signature_type, signer.verifier.public_key)
        assert theirs.serialize() == signer.verifier.key_string
        assert theirs.key_id == int.from_bytes(signer.key_id, "big")
        assert ts_signing.Vkey.from_string(signer.verifier.key_string).key_id == theirs.key_id


def test_they_read_our_published_log(tmp_path: Path) -> None:
    n = 256 * 2 + 77
    entries = [f"leaf {i}".encode() for i in range(n)]
    tree = merkle.Tree([merkle.leaf_hash(e) for e in entries])
    log = Signer.generate(ORIGIN)
    point = cp.Checkpoint(ORIGIN, n, tree.root())
    files = {
        **tiles.build_tiles(tree.levels[0]),
        **tiles.build_bundles(entries),
        "checkpoint": cp.sign_checkpoint(point, log).encode(),
    }
    write(files, tmp_path)

    reader = TilesReader(LocalBackend(tmp_path))
    checkpoint = reader.get_checkpoint()
    checkpoint.verify(ts_signing.Vkey.from_string(log.verifier.key_string))
    assert (checkpoint.origin, checkpoint.size, checkpoint.root_hash) == (ORIGIN, n, tree.root())
    assert reader.calculate_root_hash() == tree.root()
    for index in (0, 255, 256, 300, n - 1):
        assert reader.get_entry(index) == entries[index]
        theirs = reader.get_inclusion_proof(index, n)
        assert theirs.node_hashes == tree.inclusion_proof(index)
        ts_tlog.InclusionProof(index, n, tree.inclusion_proof(index)).check(
            tree.levels[0][index], tree.root()
        )
    for old in (1, 2, 200, 256, 257, 512, n - 1):
        assert reader.get_consistency_proof(old, n).node_hashes == tree.consistency_proof(old)
        ts_tlog.ConsistencyProof(old, n, tree.consistency_proof(old)).check(
            tree.root(old), tree.root()
        )


def test_they_verify_our_cosignatures() -> None:
    log = Signer.generate(ORIGIN)
    witness = Signer.generate("witness.example/w1", COSIGNATURE_V1)
    point = cp.Checkpoint(ORIGIN, 3, merkle.root([merkle.leaf_hash(b"x")] * 3))
    cosigned = note.add_signatures(
        cp.sign_checkpoint(point, log), [cp.cosign(point, witness, 1_767_225_600)]
    )
    theirs = ts_tlog.Checkpoint.from_text(cosigned)
    keys = ts_signing.VkeySet(
        ts_signing.Vkey.from_string(log.verifier.key_string),
        ts_signing.Vkey.from_string(witness.verifier.key_string),
    )
    assert len(keys.verify(theirs.signatures, theirs)) == 2
    cosignature = theirs.signatures[1]
    assert ts_signing.Ed25519CosignatureVerifier.get_timestamp(cosignature.payload) == 1_767_225_600


def test_we_read_their_log_and_verify_their_signatures(tmp_path: Path) -> None:
    log = Signer.generate(ORIGIN)
    root = tmp_path / "log"
    writer = TilesWriter.create(root, ORIGIN)
    entries = [f"entry {i}".encode() for i in range(600)]
    for entry in entries[:300]:
        writer.add_leaf(entry)
    writer.commit([ts_signing.PlainEd25519Signer(log.name, log.seed)])
    first = files_of(root)
    for entry in entries[300:]:
        writer.add_leaf(entry)
    writer.commit([ts_signing.PlainEd25519Signer(log.name, log.seed)])
    second = files_of(root)

    for size, files in ((300, first), (600, second)):
        opened = cp.open_checkpoint(files["checkpoint"], log.verifier)
        assert opened.ok and opened.checkpoint is not None and opened.checkpoint.size == size
        assert tiles.verify_tiles(size, opened.checkpoint.root, files.get, entries=True)
        ours = {
            **tiles.build_tiles([merkle.leaf_hash(e) for e in entries[:size]]),
            **tiles.build_bundles(entries[:size]),
        }
        theirs = {k: v for k, v in files.items() if k != "checkpoint"}
        assert {k: theirs.get(k) for k in ours} == ours
        # What they have beyond ours: the partial tiles of the earlier checkpoint, still served
        # (tlog-tiles: partial tiles of every checkpointed size stay until the full tile exists).
        extra = {k: v for k, v in theirs.items() if k not in ours}
        assert all(tiles.parse_path(k).partial and first[k] == v for k, v in extra.items())
    # Their consistency from 300 to 600 holds in our checker, with our proof from their tiles.
    old = cp.open_checkpoint(first["checkpoint"], log.verifier).checkpoint
    new = cp.open_checkpoint(second["checkpoint"], log.verifier).checkpoint
    assert old is not None and new is not None
    proof = merkle.consistency_proof(300, 600, tiles.TileReader(600, second.get).subtree)
    assert merkle.verify_consistency(300, 600, old.root, new.root, proof)

"""Whatever bytes arrive, the read side answers with a result and its reason, or (for the parsers
a log's own code calls) a TlogError: never another exception. And what certreg writes, it reads
back the same."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from certreg.verifier.tlog import checkpoint as cp
from certreg.verifier.tlog import merkle, note, proof, tiles, witness
from certreg.verifier.tlog.errors import TlogError
from certreg.verifier.tlog.note import COSIGNATURE_V1, Signer

LOG = Signer.generate("cb.example/log")
WITNESS = Signer.generate("witness.example/w1", COSIGNATURE_V1)
POINT = cp.Checkpoint("cb.example/log", 3, merkle.root([merkle.leaf_hash(b"x")] * 3))
SIGNED = cp.sign_checkpoint(POINT, LOG)

# Text that looks like the formats: their keywords, separators and base64, shuffled.
pieces = st.sampled_from(
    ["\n", "\n\n", "— ", "cb.example/log", " ", "old ", "index ", "0", "3", "01", "=",
     "c2sp.org/tlog-proof@v1", "AAAA", "\u2014", "\t", "+", "x" * 44, SIGNED[:40]]
)  # fmt: skip
texts = st.one_of(
    st.text(max_size=300),
    st.lists(pieces, max_size=40).map("".join),
    st.builds(lambda a, b: SIGNED[:a] + b + SIGNED[a:], st.integers(0, len(SIGNED)), st.text()),
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(texts, st.binary(max_size=300)))
def test_opening_and_verifying_never_raise(data: str | bytes) -> None:
    assert isinstance(note.open_note(data, [LOG.verifier]).ok, bool)
    assert isinstance(cp.open_checkpoint(data, LOG.verifier, [WITNESS.verifier]).ok, bool)
    assert isinstance(proof.verify_proof(data, merkle.leaf_hash(b"x"), LOG.verifier).ok, bool)
    answer = witness.add_checkpoint(data, {"cb.example/log": [LOG.verifier]}, {}, WITNESS, 1)
    assert answer.status in (200, 400, 403, 404, 409, 422)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_parsers_raise_only_their_reason(text: str) -> None:
    for parse in (cp.parse_body, proof.parse_proof, witness.parse_add_checkpoint,
                  tiles.parse_path, note.parse_verifier_key, note.parse_signer_key):  # fmt: skip
        try:
            parse(text)
        except TlogError as error:
            assert str(error)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.integers(1, 256))
def test_bundles_and_tiles_from_any_bytes(data: bytes, width: int) -> None:
    for decode in (lambda: tiles.decode_bundle(data, width), lambda: tiles.split_tile(data, width)):
        try:
            decode()
        except TlogError as error:
            assert str(error)


origins = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\n"), min_size=1
)
extension = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=20)


@settings(max_examples=200, deadline=None)
@given(origins, st.integers(0, (1 << 64) - 1), st.binary(min_size=32, max_size=32),
       st.lists(extension, max_size=3))  # fmt: skip
def test_checkpoints_round_trip(origin: str, size: int, root: bytes, ext: list[str]) -> None:
    point = cp.Checkpoint(origin, size, root, tuple(ext))
    assert cp.parse_body(point.body) == point


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=256))
def test_bundles_round_trip(entries: list[bytes]) -> None:
    assert tiles.decode_bundle(tiles.encode_bundle(entries), len(entries)) == entries


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 63), st.integers(0, 10**12), st.integers(1, 256), st.booleans())
def test_paths_round_trip(level: int, index: int, width: int, entries: bool) -> None:
    ref = tiles.TileRef(0 if entries else level, index, width, entries)
    assert tiles.parse_path(ref.path) == ref

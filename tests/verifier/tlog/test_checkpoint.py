"""C2SP tlog-checkpoint and tlog-cosignature/v1: a real checkpoint of Go's checksum database,
the specifications' examples, making and verifying cosignatures, and malformed or forged
checkpoints refused with a reason."""

from __future__ import annotations

import base64

import pytest

from certreg.verifier.tlog import checkpoint as cp
from certreg.verifier.tlog import merkle, note
from certreg.verifier.tlog.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from certreg.verifier.tlog.note import COSIGNATURE_V1, Signer, parse_verifier_key

# A checkpoint of sum.golang.org, with the checksum database's key as the go command has it
# (kept in google/trillian-examples' gossip tests).
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_CHECKPOINT = (
    "go.sum database tree\n13485\n/ZWur4obeiqK+ASdnPK+/Rmz6LPQMUeSmHh0+UkL54Y=\n\n"
    "— sum.golang.org Az3grnQReYTvpCrRxT+w50vixbqBlB/aPS8bL8f8KW4HHP+UjLSXOJgCh4f54n8hO6lrESglz"
    "yRXMXnhaWzaeY3zqw8=\n"
)

# c2sp.org/tlog-cosignature's example: a checkpoint with a log signature and a cosignature, and
# the message it says a cosignature/v1 at time 1679315147 signs.
SPEC_COSIGNED = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
    "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcy"
    "v2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b"
    "2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)
SPEC_MESSAGE = (
    "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)


def test_a_real_go_checksum_database_checkpoint_opens() -> None:
    key = parse_verifier_key(SUMDB_VKEY)
    opened = open_checkpoint(SUMDB_CHECKPOINT, key, origin="go.sum database tree")
    assert opened.ok, opened.reason
    assert opened.checkpoint is not None
    assert opened.checkpoint.size == 13485
    assert opened.checkpoint.root == base64.b64decode(
        "/ZWur4obeiqK+ASdnPK+/Rmz6LPQMUeSmHh0+UkL54Y="
    )
    # Its origin is not its key name: by default the key name is the origin expected.
    refused = open_checkpoint(SUMDB_CHECKPOINT, key)
    assert not refused and "not 'sum.golang.org'" in refused.reason
    forged = SUMDB_CHECKPOINT.replace("13485", "13486")
    assert "does not verify" in open_checkpoint(forged, key, origin="go.sum database tree").reason


def test_the_cosignature_specification_example() -> None:
    # Without the example's keys, what can be checked is its form: the body parses, and the
    # witness line holds a key ID, then the 8-byte timestamp of the example message.
    body, block = SPEC_COSIGNED.split("\n\n")
    parsed = cp.parse_body(body + "\n")
    assert (parsed.origin, parsed.size) == ("example.com/behind-the-sofa", 20852163)
    assert parsed.body == body + "\n"
    witness_line = block.splitlines()[1]
    raw = base64.b64decode(witness_line.split(" ")[2])
    assert len(raw) == 4 + 8 + 64
    assert int.from_bytes(raw[4:12], "big") == 1679315147
    assert note.cosignature_message(parsed.body, 1679315147) == SPEC_MESSAGE.encode()


def test_format_and_parse() -> None:
    root = merkle.root([merkle.leaf_hash(b"a")])
    point = Checkpoint("example.com/log", 1, root)
    assert point.body == f"example.com/log\n1\n{base64.b64encode(root).decode()}\n"
    assert cp.parse_body(point.body) == point
    empty = Checkpoint("example.com/log", 0, merkle.EMPTY_ROOT, ("ext one", "ext two"))
    assert empty.body.splitlines()[1] == "0" and empty.body.endswith("ext one\next two\n")
    assert cp.parse_body(empty.body) == empty


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("example.com/log\n01\n{root}\n", "leading zeros"),
        ("example.com/log\n-1\n{root}\n", "leading zeros"),
        ("example.com/log\n+1\n{root}\n", "leading zeros"),
        ("example.com/log\n1 \n{root}\n", "leading zeros"),
        ("example.com/log\n18446744073709551616\n{root}\n", "64 bits"),
        ("example.com/log\n1\n{root}", "newline"),
        ("example.com/log\n1\n", "an origin, a size and a root"),
        ("\n1\n{root}\n", "no empty line"),
        ("example.com/log\n1\n{root}\n\nextension\n", "no empty line"),
        ("example.com/log\n1\nnot base64!\n", "not base64"),
        ("example.com/log\n1\nAAAA\n", "has 3 bytes"),
        ("example.com/log\n1\n{root_unpadded}\n", "not base64"),
        ("example.com/log\t\n1\n{root}\n", "control character"),
    ],
)
def test_malformed_checkpoints_are_refused_with_a_reason(body: str, reason: str) -> None:
    encoded = base64.b64encode(merkle.EMPTY_ROOT).decode()
    text = body.format(root=encoded, root_unpadded=encoded.rstrip("="))
    with pytest.raises(CheckpointError, match=reason):
        cp.parse_body(text)


def test_sign_cosign_and_open() -> None:
    log = Signer.generate("example.com/log")
    w1 = Signer.generate("witness.example/w1", COSIGNATURE_V1)
    w2 = Signer.generate("witness.example/w2", COSIGNATURE_V1)
    point = Checkpoint("example.com/log", 5, merkle.root([merkle.leaf_hash(b"x")] * 5))
    signed = cp.sign_checkpoint(point, log)
    assert open_checkpoint(signed, log.verifier).checkpoint == point

    sig = cp.cosign(point, w1, 1_700_000_000)
    assert sig.key_id == note.key_id(w1.name, COSIGNATURE_V1, w1.verifier.public_key)
    assert sig.signature[:8] == (1_700_000_000).to_bytes(8, "big") and len(sig.signature) == 72
    cosigned = note.add_signatures(signed, [sig, cp.cosign(point, w2, 1_700_000_001)])
    opened = open_checkpoint(cosigned, log.verifier, [w1.verifier, w2.verifier])
    assert opened.ok
    assert [(c.name, c.timestamp) for c in opened.cosignatures] == [
        ("witness.example/w1", 1_700_000_000),
        ("witness.example/w2", 1_700_000_001),
    ]
    # A witness nobody asked about is ignored; asked about but absent is simply not listed.
    w3 = Signer.generate("witness.example/w3", COSIGNATURE_V1)
    assert open_checkpoint(cosigned, log.verifier, [w3.verifier]).cosignatures == ()
    # The witnesses alone are not the log.
    alone = note.sign_note(point.body, [Signer.generate("example.com/log")])
    assert not open_checkpoint(alone, log.verifier)


def test_forged_and_misused_cosignatures_are_refused() -> None:
    log = Signer.generate("example.com/log")
    witness = Signer.generate("witness.example/w1", COSIGNATURE_V1)
    point = Checkpoint("example.com/log", 5, merkle.root([merkle.leaf_hash(b"x")] * 5))
    signed = cp.sign_checkpoint(point, log)
    good = cp.cosign(point, witness, 1_700_000_000)
    # The timestamp changed after signing.
    moved = note.Signature(
        good.name, good.key_id, (1_800_000_000).to_bytes(8, "big") + good.signature[8:]
    )
    result = open_checkpoint(note.add_signatures(signed, [moved]), log.verifier, [witness.verifier])
    assert not result and "witness.example/w1 does not verify" in result.reason
    # A cosignature of another checkpoint (a fork the witness saw) on this one.
    fork = Checkpoint("example.com/log", 5, merkle.root([merkle.leaf_hash(b"y")] * 5))
    other = cp.cosign(fork, witness, 1_700_000_000)
    result = open_checkpoint(note.add_signatures(signed, [other]), log.verifier, [witness.verifier])
    assert not result and "does not verify" in result.reason
    # A plain Ed25519 note signature by the witness key is not a cosignature.
    plain = Signer(witness.name, witness.seed)  # type 0x01: another key ID
    wrong_type = note.sign_note(point.body, [log, plain])
    opened = open_checkpoint(wrong_type, log.verifier, [witness.verifier])
    assert opened.ok and opened.cosignatures == ()
    assert not open_checkpoint(signed, log.verifier, [plain.verifier])  # not a witness key
    with pytest.raises(CheckpointError):
        cp.cosign(point, plain, 1)
    with pytest.raises(CheckpointError):
        cp.cosign(point, witness, 1 << 63)


def test_a_checkpoint_is_bounded_and_its_log_key_must_sign() -> None:
    log = Signer.generate("example.com/log")
    point = Checkpoint("example.com/log", 0, merkle.EMPTY_ROOT)
    huge = cp.sign_checkpoint(point, log) + "— x " + "A" * 70_000 + "\n"
    assert "more than the" in open_checkpoint(huge, log.verifier).reason
    other_origin = Checkpoint("example.com/other", 0, merkle.EMPTY_ROOT)
    result = open_checkpoint(cp.sign_checkpoint(other_origin, log), log.verifier)
    assert not result and "not 'example.com/log'" in result.reason
    with pytest.raises(CheckpointError):
        Checkpoint("two\nlines", 0, merkle.EMPTY_ROOT)
    with pytest.raises(CheckpointError):
        Checkpoint("example.com/log", -1, merkle.EMPTY_ROOT)

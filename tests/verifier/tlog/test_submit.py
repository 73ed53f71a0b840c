"""The log's side of C2SP tlog-witness (certreg.verifier.tlog.submit) against witnesses that
misbehave: a private address not configured as such, a redirect, a silent or oversized answer,
a cosignature that does not verify. (The well-behaved witness is the real `certreg witness
serve`, in tests/witness/test_serve.py.)"""

from __future__ import annotations

import socket
import time

import pytest
from factories import loopback_listener

from certreg.verifier.tlog import merkle
from certreg.verifier.tlog.checkpoint import Checkpoint, cosign, open_checkpoint, sign_checkpoint
from certreg.verifier.tlog.note import COSIGNATURE_V1, Signer
from certreg.verifier.tlog.submit import (
    SubmitError,
    WitnessConfig,
    add_cosignatures,
    load_witnesses,
    submit_checkpoint,
)

LOG = Signer.generate("cb.example/log")
WITNESS = Signer.generate("witness.example/w1", COSIGNATURE_V1)
POINT = Checkpoint("cb.example/log", 3, merkle.Tree([merkle.leaf_hash(b"e")] * 3).root())
NOTE = sign_checkpoint(POINT, LOG)


def http(status: str, body: bytes, *headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return f"HTTP/1.1 {status}\r\ncontent-length: {len(body)}\r\n{head}\r\n".encode() + body


def test_a_witness_at_a_private_address_is_contacted_only_when_configured_so() -> None:
    line = cosign(POINT, WITNESS, int(time.time())).line.encode()
    with loopback_listener(http("200 OK", line)) as (port, seen):
        url = f"http://127.0.0.1:{port}/add-checkpoint"
        refused = submit_checkpoint(url, NOTE, 0, [], witness_key=WITNESS.verifier)
        assert not refused.ok
        assert "127.0.0.1" in refused.reason
        assert seen == []  # nothing was sent
        allowed = submit_checkpoint(
            url, NOTE, 0, [], witness_key=WITNESS.verifier, allow_private=True
        )
        assert allowed.ok, allowed.reason
        assert seen[0].startswith(b"POST /add-checkpoint ")
    opened = open_checkpoint(
        add_cosignatures(NOTE, allowed.lines), LOG.verifier, [WITNESS.verifier]
    )
    assert opened.ok and len(opened.cosignatures) == 1


def test_a_redirect_is_not_followed() -> None:
    reply = http("307 Temporary Redirect", b"", "location: http://10.0.0.1/add-checkpoint")
    with loopback_listener(reply) as (port, seen):
        result = submit_checkpoint(
            f"http://127.0.0.1:{port}/add-checkpoint", NOTE, 0, [], allow_private=True
        )
    assert not result.ok and result.status == 307
    assert len(seen) == 1


def test_an_oversized_answer_is_cut_off() -> None:
    with loopback_listener(http("200 OK", b"\xe2\x80\x94 x " + b"A" * 100_000)) as (port, _):
        result = submit_checkpoint(
            f"http://127.0.0.1:{port}/add-checkpoint", NOTE, 0, [], allow_private=True
        )
    assert not result.ok
    assert "more than 65536 bytes" in result.reason


def test_a_silent_witness_times_out() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()  # the connection is accepted by the kernel; nothing ever answers
        port = server.getsockname()[1]
        started = time.monotonic()
        result = submit_checkpoint(
            f"http://127.0.0.1:{port}/add-checkpoint", NOTE, 0, [], allow_private=True, timeout=0.5
        )
    assert not result.ok and "did not answer in time" in result.reason
    assert time.monotonic() - started < 5


def test_a_cosignature_that_does_not_verify_is_refused() -> None:
    impostor = Signer.generate("witness.example/w1", COSIGNATURE_V1)
    # Same name, another key: an unknown key, ignored; so no cosignature of the witness.
    line = cosign(POINT, impostor, int(time.time())).line.encode()
    with loopback_listener(http("200 OK", line)) as (port, _):
        result = submit_checkpoint(
            f"http://127.0.0.1:{port}/add-checkpoint",
            NOTE,
            0,
            [],
            witness_key=WITNESS.verifier,
            allow_private=True,
        )
    assert not result.ok and "does not verify" in result.reason
    # A cosignature over another checkpoint, under the witness's own key ID: refused too.
    other = Checkpoint("cb.example/log", 4, POINT.root)
    line = cosign(other, WITNESS, int(time.time())).line.encode()
    with loopback_listener(http("200 OK", line)) as (port, _):
        result = submit_checkpoint(
            f"http://127.0.0.1:{port}/add-checkpoint",
            NOTE,
            0,
            [],
            witness_key=WITNESS.verifier,
            allow_private=True,
        )
    assert not result.ok and "does not verify" in result.reason


def test_a_409_above_the_checkpoint_is_not_retried() -> None:
    reply = http("409 Conflict", b"7\n", "content-type: text/x.tlog.size")
    asked: list[int] = []
    with loopback_listener(reply) as (port, seen):
        result = submit_checkpoint(
            f"http://127.0.0.1:{port}/add-checkpoint",
            NOTE,
            0,
            [],
            proof_for=lambda size: asked.append(size) or [],
            allow_private=True,
        )
    assert not result.ok and result.witness_size == 7
    assert "larger tree" in result.reason
    assert asked == [] and len(seen) == 1


def test_add_cosignatures_keeps_one_line_per_key() -> None:
    first = cosign(POINT, WITNESS, 1000).line
    second = cosign(POINT, WITNESS, 2000).line
    once = add_cosignatures(NOTE, [first])
    assert add_cosignatures(once, [first]) == once
    twice = add_cosignatures(once, [second])
    assert first not in twice and twice.endswith(second)
    opened = open_checkpoint(twice, LOG.verifier, [WITNESS.verifier])
    assert opened.ok and opened.cosignatures[0].timestamp == 2000
    with pytest.raises(SubmitError):
        add_cosignatures(NOTE, ["not a signature line"])


def test_witness_configuration_is_checked() -> None:
    key = WITNESS.verifier.key_string
    [config] = load_witnesses(
        [{"url": "https://w.example/", "name": WITNESS.name, "verifier_key": key}]
    )
    assert config.add_checkpoint_url == "https://w.example/add-checkpoint"
    assert config.allow_private is False
    with pytest.raises(SubmitError, match="not a cosignature/v1 key"):
        WitnessConfig("https://w.example", LOG.name, LOG.verifier.key_string)
    with pytest.raises(SubmitError, match="named"):
        WitnessConfig("https://w.example", "another/name", key)
    with pytest.raises(SubmitError, match="http"):
        WitnessConfig("ftp://w.example", WITNESS.name, key)
    with pytest.raises(SubmitError, match="unknown witness setting"):
        load_witnesses(
            [{"url": "https://w.example", "name": WITNESS.name, "verifier_key": key, "x": 1}]
        )
    with pytest.raises(SubmitError, match="twice"):
        entry = {"url": "https://w.example", "name": WITNESS.name, "verifier_key": key}
        load_witnesses([entry, entry])

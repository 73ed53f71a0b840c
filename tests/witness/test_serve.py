"""`certreg witness serve` as a log meets it: a real server in a subprocess on 127.0.0.1, a log
grown with merkle.Tree and signed with a note Signer, submissions through
certreg.verifier.tlog.submit. The witness cosigns a first checkpoint and each consistent
growth, refuses a fork and a rewritten history and says why, keeps its state across kill -9,
and cosigns concurrent submissions of one checkpoint consistently."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from factories import free_port

from certreg.verifier.tlog import merkle
from certreg.verifier.tlog.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from certreg.verifier.tlog.note import Signer, Verifier, parse_verifier_key
from certreg.verifier.tlog.submit import (
    SubmitResult,
    WitnessConfig,
    add_cosignatures,
    submit_checkpoint,
    submit_to_witnesses,
)
from certreg.verifier.tlog.witness import AddCheckpoint
from certreg.witness.store import WitnessStore

PASSPHRASE = "witness passphrase for tests"
ROOT = Path(__file__).parent.parent.parent
CERTREG = [sys.executable, "-c", "from certreg.issuer.cli import main; main()"]


def certreg(*args: str, data: Path) -> str:
    done = subprocess.run(
        [*CERTREG, *args, "--data", str(data)],
        env={**os.environ, "CERTREG_PASSPHRASE": PASSPHRASE},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


class Served:
    """A witness folder and the `certreg witness serve` running on it."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [*CERTREG, "witness", "serve", "--data",
             str(self.data), "--port", str(self.port), "--log-level", "warning"],
            env={**os.environ, "CERTREG_PASSPHRASE": PASSPHRASE},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"witness serve exited: {self.proc.stderr.read().decode()}")
            try:
                httpx.get(self.url + "/", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("witness serve did not start within 30 s")

    def kill(self) -> None:
        """kill -9: no shutdown handler runs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    @property
    def key(self) -> Verifier:
        return parse_verifier_key(certreg("witness", "key", data=self.data).strip())

    def post(self, body: str | bytes) -> httpx.Response:
        return httpx.post(self.url + "/add-checkpoint", content=body, timeout=10)


class Log:
    """A log as a body keeps it: a Merkle tree and the key that signs its checkpoints."""

    def __init__(self, origin: str, leaves: int = 0) -> None:
        self.origin = origin
        self.key = Signer.generate(origin)
        self.tree = merkle.Tree()
        self.grow(leaves)

    def grow(self, n: int) -> None:
        for _ in range(n):
            self.tree.append(merkle.leaf_hash(f"{self.origin} entry {self.tree.size}".encode()))

    def checkpoint(self, size: int | None = None, key: Signer | None = None) -> str:
        size = self.tree.size if size is None else size
        point = Checkpoint(self.origin, size, self.tree.root(size))
        return sign_checkpoint(point, key or self.key)

    def proof_for(self, old: int) -> list[bytes]:
        return self.tree.consistency_proof(old) if old else []

    def submit(self, served: Served, old: int) -> SubmitResult:
        return submit_checkpoint(
            served.url + "/add-checkpoint",
            self.checkpoint(),
            old,
            self.proof_for(old),
            witness_key=served.key,
            allow_private=True,  # the witness is on 127.0.0.1: configured explicitly
        )


def new_witness(tmp: Path, *logs: Log) -> Served:
    data = tmp / "witness"
    certreg("witness", "init", "--name", "witness.test/w1", "--kdf", "interactive", data=data)
    for log in logs:
        certreg("witness", "add-log", log.origin, log.key.verifier.key_string, data=data)
    return Served(data)


@pytest.fixture(scope="module")
def logs() -> dict[str, Log]:
    return {
        name: Log(f"{name}.example/log", 5)
        for name in ("grow", "fork", "rewrite", "racing", "big", "unsigned", "via-submit")
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, logs: dict[str, Log]) -> Iterator[Served]:
    witness = new_witness(tmp_path_factory.mktemp("served"), *logs.values())
    witness.start()
    yield witness
    witness.stop()


def test_it_cosigns_a_first_checkpoint_and_each_consistent_growth(
    served: Served, logs: dict[str, Log]
) -> None:
    log = logs["grow"]
    old = 0
    for growth in (0, 1, 7, 64, 1):
        log.grow(growth)
        result = log.submit(served, old)
        assert result.ok, result.reason
        cosigned = add_cosignatures(log.checkpoint(), result.lines)
        opened = open_checkpoint(cosigned, log.key.verifier, [served.key])
        assert opened.ok, opened.reason
        assert opened.checkpoint is not None and opened.checkpoint.size == log.tree.size
        assert [c.name for c in opened.cosignatures] == ["witness.test/w1"]
        assert abs(opened.cosignatures[0].timestamp - time.time()) < 60
        old = log.tree.size


def test_a_forked_log_is_refused_and_the_witness_says_why(
    served: Served, logs: dict[str, Log]
) -> None:
    log = logs["fork"]
    assert log.submit(served, 0).ok
    # The same size with another root: the log shows someone else a different tree.
    fork = Log(log.origin, 0)
    fork.key = log.key
    fork.grow(4)
    fork.tree.append(merkle.leaf_hash(b"an entry only some readers see"))
    response = served.post(AddCheckpoint(5, (), fork.checkpoint()).body)
    assert response.status_code == 409
    assert response.headers["content-type"] == "text/x.tlog.size"
    assert response.text == "5\n"
    assert "forked" in response.headers["x-witness-reason"]
    # Grown from the fork: the proof from the witness's tree cannot verify.
    fork.grow(3)
    response = served.post(AddCheckpoint(5, tuple(fork.proof_for(5)), fork.checkpoint()).body)
    assert response.status_code == 422
    assert "not consistent with the last cosigned checkpoint" in response.text
    # Both refused requests are kept, signed by the log, as evidence of its fork.
    kept = WitnessStore(served.data).evidence(log.origin)
    assert [status for _, _, status, _, _ in kept] == [422, 409]
    assert all(fork.origin in request for *_, request in kept)
    # The honest log still goes on.
    log.grow(3)
    assert log.submit(served, 5).ok


def test_a_rewritten_history_is_refused(served: Served, logs: dict[str, Log]) -> None:
    log = logs["rewrite"]
    assert log.submit(served, 0).ok
    # A leaf of the cosigned part changed, and the tree made bigger to hide it.
    rewritten = Log(log.origin, 0)
    rewritten.key = log.key
    for i in range(9):
        entry = b"a back-dated decision" if i == 2 else f"{log.origin} entry {i}".encode()
        rewritten.tree.append(merkle.leaf_hash(entry))
    result = submit_checkpoint(
        served.url + "/add-checkpoint",
        rewritten.checkpoint(),
        5,
        rewritten.proof_for(5),
        witness_key=served.key,
        allow_private=True,
    )
    assert not result.ok
    assert result.status == 422
    assert "not consistent" in result.reason


def test_unknown_origin_and_unsigned_checkpoints_are_refused(
    served: Served, logs: dict[str, Log]
) -> None:
    stranger = Log("stranger.example/log", 3)
    response = served.post(AddCheckpoint(0, (), stranger.checkpoint()).body)
    assert response.status_code == 404
    assert "stranger.example/log" in response.text
    log = logs["unsigned"]
    impostor = Signer.generate(log.origin)  # same name, another key
    response = served.post(AddCheckpoint(0, (), log.checkpoint(key=impostor)).body)
    assert response.status_code == 403
    assert "not signed by the log" in response.text
    assert response.headers["content-type"].startswith("text/plain")
    # Nothing was recorded: the real log's first checkpoint is still cosigned from 0.
    assert log.submit(served, 0).ok


def test_old_size_above_the_new_one_is_a_bad_request(served: Served, logs: dict[str, Log]) -> None:
    log = logs["big"]
    response = served.post(AddCheckpoint(9, (), log.checkpoint()).body)
    assert response.status_code == 400
    assert "above the checkpoint's size" in response.text
    # An empty tree with a made-up root is no tree: never cosigned.
    empty = sign_checkpoint(Checkpoint(log.origin, 0, b"\x01" * 32), log.key)
    response = served.post(AddCheckpoint(0, (), empty).body)
    assert response.status_code == 422
    assert "empty tree" in response.text


def test_a_request_larger_than_an_add_checkpoint_is_refused_unread(served: Served) -> None:
    response = served.post(b"old 0\n\n" + b"x" * 200_000)
    assert response.status_code == 413
    # Without a Content-Length (chunked), the limit holds while reading.
    response = httpx.post(
        served.url + "/add-checkpoint", content=iter([b"old 0\n\n", b"x" * 200_000]), timeout=10
    )
    assert response.status_code == 413
    # Other paths answer in plain text too.
    response = httpx.get(served.url + "/nothing-here", timeout=10)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/plain")


def test_concurrent_submissions_of_one_checkpoint_cosign_consistently(
    served: Served, logs: dict[str, Log]
) -> None:
    log = logs["racing"]
    assert log.submit(served, 0).ok
    log.grow(20)
    results: list[httpx.Response] = []
    body = AddCheckpoint(5, tuple(log.proof_for(5)), log.checkpoint()).body

    def send() -> None:
        results.append(served.post(body))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The first one moved the witness to 25; the others asked from 5 and are told 25.
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] + [409] * 7
    assert all(r.text == "25\n" for r in results if r.status_code == 409)
    # The log, retrying from the size the witness states, gets its cosignature again.
    result = submit_checkpoint(
        served.url + "/add-checkpoint",
        log.checkpoint(),
        5,
        log.proof_for(5),
        proof_for=log.proof_for,
        witness_key=served.key,
        allow_private=True,
    )
    assert result.ok and result.old_size == 25
    # Resubmitted concurrently from the right size, the same checkpoint is cosigned every time.
    again = AddCheckpoint(25, (), log.checkpoint()).body
    results.clear()
    threads = [
        threading.Thread(target=lambda: results.append(served.post(again))) for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [200] * 6
    for r in results:
        opened = open_checkpoint(log.checkpoint() + r.text, log.key.verifier, [served.key])
        assert opened.ok and opened.checkpoint is not None and opened.checkpoint.size == 25


def test_the_log_retries_once_from_the_size_the_witness_states(
    served: Served, logs: dict[str, Log]
) -> None:
    log = logs["via-submit"]
    log.grow(10)
    config = WitnessConfig(served.url, "witness.test/w1", served.key.key_string, True)
    # The log believes the witness never saw it (old 0); the witness has not: from 0 it is.
    cosigned, results = submit_to_witnesses([config], log.checkpoint(), 0, log.proof_for)
    assert results["witness.test/w1"].ok
    # Now the log lost track (says 3); the witness answers 15 and the retry proves from 15.
    log.grow(6)
    cosigned, results = submit_to_witnesses([config], log.checkpoint(), 3, log.proof_for)
    result = results["witness.test/w1"]
    assert result.ok and result.old_size == 15, result.reason
    opened = open_checkpoint(cosigned, log.key.verifier, [served.key])
    assert opened.ok and len(opened.cosignatures) == 1


def test_a_restart_after_kill_9_keeps_the_state(tmp_path: Path) -> None:
    log = Log("restart.example/log", 8)
    witness = new_witness(tmp_path, log)
    witness.start()
    try:
        assert log.submit(witness, 0).ok
        witness.kill()
        witness.start()
        fork = Log(log.origin, 7)
        fork.key = log.key
        fork.tree.append(merkle.leaf_hash(b"another eighth entry"))
        response = witness.post(AddCheckpoint(0, (), fork.checkpoint()).body)
        assert response.status_code == 409 and response.text == "8\n"
        response = witness.post(AddCheckpoint(8, (), fork.checkpoint()).body)
        assert response.status_code == 409
        assert "forked" in response.headers["x-witness-reason"]
        log.grow(2)
        assert log.submit(witness, 8).ok
        logs_listed = certreg("witness", "logs", data=witness.data)
        assert "restart.example/log: size 10" in logs_listed
    finally:
        witness.stop()


def test_a_wrong_passphrase_stops_serve_before_listening(tmp_path: Path) -> None:
    witness = new_witness(tmp_path)
    done = subprocess.run(
        [*CERTREG, "witness", "serve", "--data",
         str(witness.data), "--port", str(witness.port)],
        env={**os.environ, "CERTREG_PASSPHRASE": "not the passphrase"},
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "wrong passphrase" in done.stderr
    # The key is sealed: the database holds no seed in the clear.
    raw = (witness.data / "witness.db").read_bytes()
    assert b"PRIVATE+KEY" not in raw

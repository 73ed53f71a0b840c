"""Two rules of the witness protocol as the log and the witness keep them (issue 13):

- tlog-cosignature: a witness never gives a log a cosignature timestamp lower than its last
  one; certreg's witness makes each one later than the one before, even if its clock went back;
- the log asks its witnesses concurrently (a bounded pool, each exchange within its timeout),
  so two slow witnesses cost about one timeout, not two. Checked on the order of events (both
  asked before either answers), never on timing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from certreg.verifier.tlog import merkle
from certreg.verifier.tlog.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from certreg.verifier.tlog.note import Signer
from certreg.verifier.tlog.submit import WitnessConfig, submit_to_witnesses
from certreg.verifier.tlog.witness import AddCheckpoint
from certreg.witness.store import WitnessStore

PASSPHRASE = "witness passphrase for tests"
ORIGIN = "ts.example/log"


class Log:
    def __init__(self, leaves: int) -> None:
        self.key = Signer.generate(ORIGIN)
        self.tree = merkle.Tree()
        self.grow(leaves)

    def grow(self, n: int) -> None:
        for _ in range(n):
            self.tree.append(merkle.leaf_hash(f"entry {self.tree.size}".encode()))

    def checkpoint(self) -> str:
        point = Checkpoint(ORIGIN, self.tree.size, self.tree.root(self.tree.size))
        return sign_checkpoint(point, self.key)

    def proof_for(self, old: int) -> list[bytes]:
        return self.tree.consistency_proof(old) if old else []


def witness(tmp: Path, name: str, log: Log) -> tuple[WitnessStore, Signer]:
    store = WitnessStore.create(tmp / name, f"witness.test/{name}", PASSPHRASE, kdf="interactive")
    store.add_log(ORIGIN, log.key.verifier.key_string)
    return store, store.load_signer(PASSPHRASE)


def timestamp(log: Log, store: WitnessStore, line: str) -> int:
    opened = open_checkpoint(log.checkpoint() + line, log.key.verifier, [store.verifier])
    assert opened.ok, opened.reason
    (cosignature,) = opened.cosignatures
    return cosignature.timestamp


def test_each_cosignature_is_later_than_the_last_even_if_the_clock_went_back(
    tmp_path: Path,
) -> None:
    log = Log(5)
    store, signer = witness(tmp_path, "w1", log)
    first = store.decide(AddCheckpoint(0, (), log.checkpoint()).body.encode(), signer, now=1000)
    assert first.status == 200 and timestamp(log, store, first.body) == 1000
    log.grow(3)
    # The witness's clock went back 100 s: its cosignature is still dated after the last one.
    grown = AddCheckpoint(5, tuple(log.proof_for(5)), log.checkpoint()).body.encode()
    second = store.decide(grown, signer, now=900)
    assert second.status == 200 and timestamp(log, store, second.body) == 1001
    # The same checkpoint again within the same second: later still.
    again = store.decide(AddCheckpoint(8, (), log.checkpoint()).body.encode(), signer, now=1001)
    assert again.status == 200 and timestamp(log, store, again.body) == 1002
    # And once the clock is ahead again, its own time.
    log.grow(1)
    later = AddCheckpoint(8, tuple(log.proof_for(8)), log.checkpoint()).body.encode()
    assert timestamp(log, store, store.decide(later, signer, now=5000).body) == 5000


class SlowWitness:
    """A real witness decision (WitnessStore.decide) behind a plain HTTP server on 127.0.0.1
    that is slow on purpose: it answers only once the other witness has been asked too (or
    after ``patience`` seconds alone). Each step is noted in the shared ``events``."""

    def __init__(
        self,
        store: WitnessStore,
        signer: Signer,
        name: str,
        events: list[str],
        both_asked: threading.Barrier,
        patience: float,
    ) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                events.append(f"{name} asked")
                try:
                    both_asked.wait(timeout=patience)
                except threading.BrokenBarrierError:
                    events.append(f"{name} waited alone")
                answer = outer.store.decide(body, outer.signer)
                events.append(f"{name} answered")
                data = (answer.body or answer.reason).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.store, self.signer = store, signer
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_pair(tmp_path: Path) -> Iterator[tuple[Log, list[SlowWitness], list[str]]]:
    log = Log(4)
    events: list[str] = []
    both_asked = threading.Barrier(2)
    pair = [
        SlowWitness(*witness(tmp_path, name, log), name, events, both_asked, patience=3)
        for name in ("w1", "w2")
    ]
    try:
        yield log, pair, events
    finally:
        for w in pair:
            w.stop()


def test_the_log_asks_its_witnesses_concurrently(
    slow_pair: tuple[Log, list[SlowWitness], list[str]],
) -> None:
    log, pair, events = slow_pair
    configs = [
        WitnessConfig(w.url, w.signer.name, w.store.verifier.key_string, allow_private=True)
        for w in pair
    ]
    cosigned, results = submit_to_witnesses(configs, log.checkpoint(), 0, log.proof_for, timeout=10)
    # Both were asked before either answered: one after the other, the first would have
    # waited alone (its answer comes only once the other has been asked).
    assert sorted(events[:2]) == ["w1 asked", "w2 asked"], events
    assert sorted(events[2:]) == ["w1 answered", "w2 answered"], events
    assert all(r.ok for r in results.values()), results
    # Both cosignatures, in the configuration's order whatever order the answers came in.
    opened = open_checkpoint(cosigned, log.key.verifier, [w.store.verifier for w in pair])
    assert opened.ok and len(opened.cosignatures) == 2, opened.reason
    signature_names = [line.split(" ")[1] for line in cosigned.rpartition("\n\n")[2].splitlines()]
    assert signature_names == [ORIGIN, "witness.test/w1", "witness.test/w2"]

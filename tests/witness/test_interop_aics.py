"""tlog-witness across implementations: certreg's witness fed by another implementation's log
client, and certreg's log client submitting to another implementation's witness.

No Go reference is reachable from a registry this project uses (the Go witness, litewitness,
is a Go module; there is no Go toolchain here), so the independent implementation is
``aics-witness`` / ``aics-tlog`` from PyPI (a Python tlog-witness and its feeder, written from
the C2SP texts by another project). They declare Python >= 3.12 while certreg runs on 3.11, so
they cannot be a test dependency: the test runs when ``$CERTREG_AICS_PYTHON`` names an
interpreter where both import (e.g. a venv made with ``pip install --ignore-requires-python
aics-witness``), and otherwise skips, saying so.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from factories import free_port

from certreg.verifier.tlog import merkle
from certreg.verifier.tlog.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from certreg.verifier.tlog.note import Signer, parse_verifier_key
from certreg.verifier.tlog.submit import SubmitResult, add_cosignatures, submit_checkpoint

AICS_PYTHON = os.environ.get("CERTREG_AICS_PYTHON", "")
PASSPHRASE = "witness passphrase for tests"
CERTREG = [sys.executable, "-c", "from certreg.issuer.cli import main; main()"]

pytestmark = pytest.mark.skipif(
    not AICS_PYTHON,
    reason="set CERTREG_AICS_PYTHON to a Python with aics-witness installed (it needs >= 3.12)",
)

FEED = """
import base64, json, sys
from aics_witness.feeder import submit_checkpoint
request = json.load(sys.stdin)
answers = []
for step in request["steps"]:
    proof = (step["old"], [base64.b64decode(p) for p in step["proof"]])
    try:
        lines = submit_checkpoint(request["url"], step["note"], proof,
                                  witness_vkey=request["vkey"], old_size=step["old"],
                                  max_attempts=1, max_conflicts=0)
        answers.append({"ok": True, "lines": lines})
    except Exception as error:
        answers.append({"ok": False, "error": f"{type(error).__name__}: {error}"})
print(json.dumps(answers))
"""


def tree(origin: str, entries: list[bytes]) -> merkle.Tree:
    return merkle.Tree([merkle.leaf_hash(e) for e in entries])


def entries(origin: str, n: int) -> list[bytes]:
    return [f"{origin} entry {i}".encode() for i in range(n)]


def wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode() if proc.stderr else "exited")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not start")


def test_aics_feeder_against_certreg_witness(tmp_path: Path) -> None:
    origin = "cb.example/log"
    log = Signer.generate(origin)
    env = {**os.environ, "CERTREG_PASSPHRASE": PASSPHRASE}
    data = tmp_path / "w"
    for args in (
        ["witness", "init", "--name", "witness.test/w1", "--kdf", "interactive"],
        ["witness", "add-log", origin, log.verifier.key_string],
    ):
        subprocess.run([*CERTREG, *args, "--data", str(data)], env=env, check=True)
    vkey = subprocess.run(
        [*CERTREG, "witness", "key", "--data", str(data)], env=env, check=True, text=True,
        capture_output=True,
    ).stdout.strip()  # fmt: skip
    port = free_port()
    proc = subprocess.Popen(
        [*CERTREG, "witness", "serve", "--data", str(data), "--port", str(port),
         "--log-level", "warning"],
        env=env, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait(url + "/", proc)
        honest = tree(origin, entries(origin, 20))
        forked = tree(
            origin, [*entries(origin, 7), b"only some see this", *entries(origin, 20)[8:]]
        )

        def step(t: merkle.Tree, old: int, new: int) -> dict[str, object]:
            note = sign_checkpoint(Checkpoint(origin, new, t.root(new)), log)
            proof = t.consistency_proof(old, new) if old else []
            return {
                "note": note,
                "old": old,
                "proof": [base64.b64encode(p).decode() for p in proof],
            }

        steps = [
            step(honest, 0, 5),
            step(honest, 5, 12),
            step(forked, 12, 16),
            step(honest, 12, 20),
        ]
        done = subprocess.run(
            [AICS_PYTHON, "-c", FEED], input=json.dumps({"url": url, "vkey": vkey, "steps": steps}),
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        answers = json.loads(done.stdout)
        assert [a["ok"] for a in answers] == [True, True, False, True], answers
        assert "422" in answers[2]["error"]
        cosigned = add_cosignatures(str(steps[3]["note"]), answers[3]["lines"].splitlines())
        opened = open_checkpoint(cosigned, log.verifier, [parse_verifier_key(vkey)])
        assert opened.ok and len(opened.cosignatures) == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_certreg_log_client_against_aics_witness(tmp_path: Path) -> None:
    origin = "cb.example/log"
    log = Signer.generate(origin)
    env = {**os.environ, "AICS_WITNESS_CONFIG": str(tmp_path / "witness.json")}
    init = subprocess.run(
        [AICS_PYTHON, "-m", "aics_witness", "init", "--name", "witness.aics.test/w1"],
        env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    vkey = next(line for line in init.stdout.splitlines() if line.startswith("witness.aics"))
    witness = parse_verifier_key(vkey)
    subprocess.run(
        [AICS_PYTHON, "-m", "aics_witness", "add-log", "--origin", origin, "--vkey",
         log.verifier.key_string], env=env, check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    proc = subprocess.Popen(
        [AICS_PYTHON, "-m", "aics_witness", "serve", "--listen", f"127.0.0.1:{port}",
         "--log-level", "WARNING"], env=env, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait(url + "/healthz", proc)
        honest = tree(origin, entries(origin, 30))

        def submit(t: merkle.Tree, old: int, new: int) -> tuple[str, SubmitResult]:
            note = sign_checkpoint(Checkpoint(origin, new, t.root(new)), log)
            return note, submit_checkpoint(
                url + "/add-checkpoint", note, old, t.consistency_proof(old, new) if old else [],
                proof_for=lambda size: t.consistency_proof(size, new) if size else [],
                witness_key=witness, allow_private=True,
            )  # fmt: skip

        note, result = submit(honest, 0, 10)
        assert result.ok, result.reason
        opened = open_checkpoint(add_cosignatures(note, result.lines), log.verifier, [witness])
        assert opened.ok and len(opened.cosignatures) == 1
        # The log lost track (says 4): the 409 names 10 and the retry proves from 10.
        note, result = submit(honest, 4, 25)
        assert result.ok and result.old_size == 10, result.reason
        # A rewritten history is refused by the other implementation too.
        rewritten = tree(origin, [b"back-dated", *entries(origin, 30)[1:]])
        note, result = submit(rewritten, 25, 30)
        assert not result.ok and result.status in (409, 422), result.reason
    finally:
        proc.terminate()
        proc.wait(timeout=10)

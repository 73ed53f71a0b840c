"""Issue 13 end to end, with real processes on 127.0.0.1: a body served by `certreg serve`
(did:web, its log listed in its DID document), a witness served by `certreg witness serve` that
knows the body's log, and the body configured with that witness.

- A certificate granted by a decision: its proof carries the witness's cosignature, and `certreg
  verify --require-log --witness … --witness-quorum 1` says VALID, with the proof given or fetched.
- A certificate signed outside a decision with the body's own key: plain `certreg verify` says
  VALID (the signature is the body's); under the log policy it is NOT_IN_LOG, with the reason.
- `certreg log verify` audits the served log; a copy of a published bundle's log with an entry
  changed, or a tile swapped, fails with the reason.
- The witness refuses a forked history signed with the body's own log key (409 for another root at
  the same size, 422 for a larger tree inconsistent with what it cosigned), and the body's next
  honest checkpoint is still cosigned.

Every wait polls the server (a short interval, a deadline); nothing sleeps for a fixed time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from factories import free_port

from certreg.issuer import service as issuer_service
from certreg.issuer.db import connect
from certreg.issuer.logfiles import ensure_log_key
from certreg.issuer.service import CertificationBody, ScopeGrant
from certreg.keys.did import did_web_from_url
from certreg.verifier.dataintegrity import add_proof
from certreg.verifier.tlog import merkle
from certreg.verifier.tlog.checkpoint import Checkpoint, sign_checkpoint
from certreg.verifier.tlog.entry import credential_hash
from certreg.verifier.tlog.note import SIGNATURE_PREFIX
from certreg.verifier.tlog.submit import submit_checkpoint
from certreg.verifier.tlog.tiles import decode_bundle, encode_bundle

PASSPHRASE = "transparency end to end, not a secret"
ROOT = Path(__file__).parent.parent.parent
CERTREG = [sys.executable, "-c", "from certreg.issuer.cli import main; main()"]
WITNESS_NAME = "witness.test/w1"
DEADLINE = 60.0  # seconds for any one wait: far above what it takes, so only a hang fails
T = TypeVar("T")


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*CERTREG, *args],
        env={**os.environ, "CERTREG_PASSPHRASE": PASSPHRASE},
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    if check:
        assert done.returncode == 0, f"certreg {' '.join(args)}: {done.stdout}{done.stderr}"
    return done


def start(args: list[str], probe: str) -> subprocess.Popen[bytes]:
    """Start a server and wait until ``probe`` answers."""
    proc = subprocess.Popen(
        [*CERTREG, *args],
        env={**os.environ, "CERTREG_PASSPHRASE": PASSPHRASE},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"certreg {args[0]} exited: {proc.stderr.read().decode()}")
        try:
            httpx.get(probe, timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"certreg {args[0]} did not start within {DEADLINE} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def poll(what: str, attempt: Callable[[], T | None]) -> T:
    """``attempt()`` until it returns something (every 0.1 s, for at most DEADLINE)."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        answer = attempt()
        if answer is not None:
            return answer
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {DEADLINE} s")


def cosigned_by_witness(note_text: str) -> bool:
    return f"\n{SIGNATURE_PREFIX}{WITNESS_NAME} " in note_text


@dataclass
class World:
    data: Path
    base: str
    did: str
    host: str  # 127.0.0.1:PORT, for --unsafe-allow-http-host
    witness_url: str
    witness_key: str
    log_key: str
    numbers: list[str]
    tmp: Path

    def credential(self, number: str) -> dict[str, Any]:
        db = connect(self.data / "issuer.db")
        try:
            (document,) = db.execute(
                "SELECT cr.document FROM credentials cr JOIN certifications c "
                "ON c.id = cr.certification_id WHERE c.number = ? "
                "ORDER BY cr.revision DESC LIMIT 1",
                [number],
            ).fetchone()
        finally:
            db.conn.close()
        return dict(json.loads(document))

    def write(self, name: str, content: str | dict[str, Any]) -> Path:
        path = self.tmp / name
        text = content if isinstance(content, str) else json.dumps(content)
        path.write_text(text, encoding="utf-8")
        return path

    def verify(self, path: Path, *extra: str) -> dict[str, Any]:
        done = run(
            "verify", "--json", "--unsafe-allow-http-host", self.host, *extra, str(path),
            check=False,
        )  # fmt: skip
        assert done.stdout, done.stderr
        return dict(json.loads(done.stdout))

    def proof(self, number: str) -> str | None:
        """The certificate's proof once it carries the witness's cosignature, else None."""
        sha = credential_hash(self.credential(number))
        r = httpx.get(f"{self.base}/log/proof", params={"credential": sha}, timeout=5)
        return r.text if r.status_code == 200 and cosigned_by_witness(r.text) else None


def grant(body: CertificationBody, name: str) -> str:
    examiner = body.add_staff(f"Examiner of {name}", roles=["officer"])
    decider = body.add_staff(f"Decider of {name}", roles=["decision_maker"])
    person = body.add_person(name, consent_publish=True)
    body.record_assessment(
        person, "cwi", result="pass", assessed_on="2026-01-10", examiners=[examiner],
        scope_codes=["UT2"],
    )  # fmt: skip
    cert = body.grant(
        person, "cwi", [ScopeGrant("UT2", "steel, 6-40 mm")], decided_by=decider,
        evidence="examination of 2026-01-10",
    )  # fmt: skip
    return str(cert.number)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("transparency")
    port, witness_port = free_port(), free_port()
    base, host = f"http://127.0.0.1:{port}", f"127.0.0.1:{port}"
    data = tmp / "cb"
    # did:web needs an https:// address; the test serves the same host and port over plain HTTP
    # (the verifiers reach it with --unsafe-allow-http-host), so the body is made with the DID
    # of https://127.0.0.1:PORT and the public URL http://127.0.0.1:PORT, from which its status
    # lists and its log's address are made.
    with pytest.MonkeyPatch.context() as patch:
        web_did = did_web_from_url(f"https://{host}")
        patch.setattr(issuer_service, "did_web_from_url", lambda url: web_did)
        body = CertificationBody.init(
            data, legal_name="Example Certification Body", public_url=base,
            passphrase=PASSPHRASE, did_method="web", kdf="interactive",
        )  # fmt: skip
    body.add_scheme(
        "cwi", code="CWI", name="Certified Welding Inspector", publication_policy="directory",
        description="Inspection of fusion welds in steel structures.",
        normative_reference="ISO 9712:2021", validity_months=36, max_suspension_days=180,
        scope=[("UT2", "Ultrasonic testing, level 2")],
    )  # fmt: skip
    numbers = [grant(body, "Jane Doe"), grant(body, "Mary Major")]  # two leaves: a tile to swap
    did = body.info["did"]
    body.db.conn.close()

    serving = start(
        ["serve", "--data", str(data), "--port", str(port), "--log-level", "warning",
         "--log-checkpoint-every", "0.5"],
        f"{base}/contexts",
    )  # fmt: skip
    witness = None
    try:
        # The witness learns the body's log from the body's DID document.
        document = httpx.get(f"{base}/.well-known/did.json", timeout=5).json()
        (service,) = [s for s in document["service"] if s["type"] == "CertregTransparencyLog"]
        assert service["serviceEndpoint"] == f"{base}/log/"
        log_key = service["verifierKey"]
        origin = log_key.split("+")[0]
        witness_data = tmp / "witness"
        run("witness", "init", "--data", str(witness_data), "--name", WITNESS_NAME,
            "--kdf", "interactive")  # fmt: skip
        run("witness", "add-log", "--data", str(witness_data), origin, log_key)
        witness_key = run("witness", "key", "--data", str(witness_data)).stdout.strip()
        witness_url = f"http://127.0.0.1:{witness_port}"
        witness = start(
            ["witness", "serve", "--data", str(witness_data), "--port", str(witness_port),
             "--log-level", "warning"],
            witness_url + "/",
        )  # fmt: skip
        # The body is configured with it, while it serves (the next checkpoint goes to it).
        out = run("log", "witness", "add", witness_url, "--key", witness_key,
                  "--allow-private", "--data", str(data)).stdout  # fmt: skip
        assert WITNESS_NAME in out
        listed = run("log", "witness", "list", "--data", str(data)).stdout
        assert WITNESS_NAME in listed and witness_url in listed
        yield World(data, base, did, host, witness_url, witness_key, log_key, numbers, tmp)
    finally:
        stop(serving)
        if witness is not None:
            stop(witness)


def test_a_granted_certificate_verifies_under_the_log_policy_with_the_witness(world: World):
    [number] = world.numbers[:1]
    proof = poll("the proof cosigned by the witness", lambda: world.proof(number))
    credential = world.write("granted.json", world.credential(number))
    proof_file = world.write("granted.tlog-proof", proof)
    policy = ["--require-log", "--witness", world.witness_key, "--witness-quorum", "1"]
    given = world.verify(credential, *policy, "--log-proof", str(proof_file))
    assert given["verdict"] == "VALID", json.dumps(given["checks"])
    fetched = world.verify(credential, *policy)
    assert fetched["verdict"] == "VALID", fetched
    # The served checkpoint carries the cosignature too, and the status says who cosigned.
    checkpoint = httpx.get(f"{world.base}/log/checkpoint", timeout=5).text
    assert cosigned_by_witness(checkpoint)
    status = run("log", "status", "--data", str(world.data)).stdout
    assert f"witness {WITNESS_NAME}: cosigned up to size" in status, status
    assert "last: cosigned size" in status, status


def test_a_certificate_signed_off_the_books_is_not_in_the_log(world: World):
    real = world.credential(world.numbers[0])
    forged = {k: v for k, v in real.items() if k != "proof"}
    forged["name"] = "Signed with the body's key, without a decision"
    body = CertificationBody.open(world.data, passphrase=PASSPHRASE)
    try:
        forged = add_proof(forged, body.signer)
    finally:
        body.db.conn.close()
    path = world.write("forged.json", forged)
    plain = world.verify(path)
    assert plain["verdict"] == "VALID", plain  # the signature is the body's
    policy = world.verify(
        path, "--require-log", "--witness", world.witness_key, "--witness-quorum", "1"
    )
    assert policy["verdict"] == "NOT_IN_LOG", policy
    assert "no entry" in json.dumps(policy), policy


def test_log_verify_audits_the_served_log_and_catches_a_tampered_copy(world: World):
    poll("the proof cosigned by the witness", lambda: world.proof(world.numbers[0]))
    audit = run(
        "log", "verify", f"{world.base}/log/", "--did", world.did,
        "--unsafe-allow-http-host", "127.0.0.1", "--witness", world.witness_key,
        "--witness-quorum", "1",
    )  # fmt: skip
    assert audit.returncode == 0
    bundle = world.tmp / "bundle"
    run("publish", str(bundle), "--data", str(world.data))
    assert cosigned_by_witness((bundle / "log" / "checkpoint").read_text())
    honest = run("log", "verify", str(bundle / "log"), "--key", world.log_key)
    assert honest.returncode == 0, honest.stdout

    # A changed entry: one byte of the first entry, in its bundle.
    changed = world.tmp / "changed"
    shutil.copytree(bundle / "log", changed)
    [entries] = [p for p in (changed / "tile" / "entries").rglob("*") if p.is_file()]
    items = decode_bundle(entries.read_bytes())
    items[0] = items[0].replace(b'"v":', b'"V":', 1)
    entries.write_bytes(encode_bundle(items))
    refused = run("log", "verify", str(changed), "--key", world.log_key, check=False)
    assert refused.returncode != 0
    assert "entry 0 does not hash to its leaf" in refused.stdout + refused.stderr, refused

    # A swapped tile: the level-0 tile with its first two hashes exchanged.
    swapped = world.tmp / "swapped"
    shutil.copytree(bundle / "log", swapped)
    [tile] = [p for p in (swapped / "tile" / "0").rglob("*") if p.is_file()]
    data = tile.read_bytes()
    assert len(data) >= 64
    tile.write_bytes(data[32:64] + data[:32] + data[64:])
    refused = run("log", "verify", str(swapped), "--key", world.log_key, check=False)
    assert refused.returncode != 0
    assert "does not hash to its leaf" in refused.stdout + refused.stderr, refused


def test_the_witness_refuses_a_forked_log_and_still_cosigns_the_honest_one(world: World):
    poll("the proof cosigned by the witness", lambda: world.proof(world.numbers[0]))
    db = connect(world.data / "issuer.db")
    try:
        signer = ensure_log_key(db, world.data / "keys", PASSPHRASE)  # the body's own log key
        leaves = [
            bytes(h) for (h,) in db.execute("SELECT leaf_hash FROM tlog_entries ORDER BY idx")
        ]
        (cosigned,) = db.execute(
            "SELECT cosigned_size FROM tlog_witnesses WHERE name = ?", [WITNESS_NAME]
        ).fetchone()
    finally:
        db.conn.close()
    assert 0 < cosigned <= len(leaves)
    # The forked history: its first entry rewritten (a decision the body wants to hide).
    fork = merkle.Tree([merkle.leaf_hash(b"a rewritten first entry"), *leaves[1:cosigned]])
    url = world.witness_url + "/add-checkpoint"

    def submit(size: int, old_size: int, proof: list[bytes]) -> Any:
        checkpoint = sign_checkpoint(Checkpoint(signer.name, size, fork.root(size)), signer)
        return submit_checkpoint(url, checkpoint, old_size, proof, allow_private=True)

    same_size = submit(cosigned, cosigned, [])
    assert same_size.status == 409 and not same_size.ok, same_size
    fork.append(merkle.leaf_hash(b"one more entry, on the fork"))
    larger = submit(cosigned + 1, cosigned, fork.consistency_proof(cosigned, cosigned + 1))
    assert larger.status == 422 and not larger.ok, larger
    assert larger.reason, larger

    # The body's next decision: its checkpoint is consistent, and the witness cosigns it.
    body = CertificationBody.open(world.data, passphrase=PASSPHRASE)
    try:
        world.numbers.append(grant(body, "John Roe"))
    finally:
        body.db.conn.close()
    proof = poll("the new certificate's cosigned proof", lambda: world.proof(world.numbers[-1]))
    credential = world.write("second.json", world.credential(world.numbers[-1]))
    verdict = world.verify(
        credential, "--require-log", "--witness", world.witness_key, "--witness-quorum", "1",
        "--log-proof", str(world.write("second.tlog-proof", proof)),
    )  # fmt: skip
    assert verdict["verdict"] == "VALID", verdict
    status = run("log", "status", "--data", str(world.data)).stdout
    moved = re.search(rf"witness {WITNESS_NAME}: cosigned up to size (\d+);", status)
    assert moved and int(moved[1]) > cosigned, status  # it cosigned the honest growth

"""The verifier's log policy: under `require_log`, a certificate is VALID only with a tlog-proof
showing it in its issuer's log, in a checkpoint cosigned by enough witnesses; otherwise the
verdict is NOT_IN_LOG, with the reason. Without the policy nothing changes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tlog_support import Log, entry
from verify_support import Body, certificate, did_key_signer

from certreg.issuer.cli import main
from certreg.verifier.dataintegrity import add_proof
from certreg.verifier.did import FetchError, HttpFetcher
from certreg.verifier.result import Verdict
from certreg.verifier.tlog.entry import credential_hash
from certreg.verifier.tlog.policy import LogPolicy
from certreg.verifier.tlog.proof import parse_proof

ENDPOINT = "https://cb.example/log/"


@dataclass
class LoggingBody(Body):
    """A body whose DID document lists its transparency log."""

    log: Log | None = None
    endpoint: str = ENDPOINT

    def document(self) -> dict[str, Any]:
        doc = super().document()
        assert self.log is not None
        doc["service"] = [
            {
                "id": f"{self.did}#transparency-log",
                "type": "CertregTransparencyLog",
                "serviceEndpoint": self.endpoint,
                "verifierKey": self.log.key.verifier.key_string,
            }
        ]
        return doc


@pytest.fixture()
def body() -> LoggingBody:
    body = LoggingBody(log=Log())
    body.publish_defaults()
    return body


def logged(body: LoggingBody, credential: dict[str, Any], others: int = 40) -> int:
    """Log the grant of ``credential`` among ``others`` entries; its index."""
    assert body.log is not None
    body.log.add(*(entry(i) for i in range(others // 2)))
    digest = credential_hash(credential)
    body.log.add(entry(999, credential=digest, number="CWI-2026-0001"))
    body.log.add(*(entry(i) for i in range(others // 2, others)))
    return others // 2


def served(body: LoggingBody, cosigners: int = 0, *, extra: bool = True):
    """The log's proof endpoint (and entry bundles) as a fetcher: 404 for what it does not hold."""
    assert body.log is not None
    log = body.log
    by_hash = {}
    for index, data in enumerate(log.entries):
        parsed = json.loads(data)
        if parsed.get("credential"):
            by_hash[parsed["credential"]] = index
    files = {ENDPOINT + p: d for p, d in log.files(cosigners).items()}
    asked: list[str] = []

    def fetch(url: str) -> bytes:
        asked.append(url)
        if url.startswith(ENDPOINT + "proof?credential="):
            wanted = url.rsplit("=", 1)[1]
            if wanted in by_hash:
                return log.proof(by_hash[wanted], cosigners=cosigners, extra=extra).encode()
        elif url in files:
            return files[url]
        raise FetchError(f"{url} answered HTTP 404", not_found=True)

    fetch.asked = asked  # type: ignore[attr-defined]
    return fetch


def witness_policy(body: LoggingBody, quorum: int, **options: Any) -> LogPolicy:
    assert body.log is not None
    keys = [w.verifier for w in body.log.witnesses]
    return LogPolicy(witnesses=keys, quorum=quorum, **options)


def test_a_credential_in_the_log_is_valid(body: LoggingBody) -> None:
    credential = body.sign(certificate())
    logged(body, credential)
    fetch = served(body, cosigners=2)
    result = body.verifier(
        require_log=witness_policy(body, 2), log_fetcher=fetch
    ).verify_credential(credential)
    assert result.verdict is Verdict.VALID, result.summary
    check = next(c for c in result.checks if c.name == "transparency log")
    assert check.ok and "entry 20 (grant on 2026-03-12T09:30:00Z)" in check.reason
    assert "cosigned by 2 of the 3 witnesses (2 required)" in check.reason
    assert fetch.asked == [f"{ENDPOINT}proof?credential={credential_hash(credential)}"]


def test_without_the_policy_nothing_changes(body: LoggingBody) -> None:
    credential = body.sign(certificate())  # in no log at all
    result = body.verifier().verify_credential(credential)
    assert result.verdict is Verdict.VALID
    assert all(c.name != "transparency log" for c in result.checks)


def test_a_certificate_signed_outside_a_decision_is_not_in_the_log(body: LoggingBody) -> None:
    """Signed with the body's key directly: the signature is genuine, the log never saw it."""
    logged(body, body.sign(certificate()))
    off_the_books = body.sign(certificate(name="Mallory"))
    result = body.verifier(require_log=LogPolicy(), log_fetcher=served(body)).verify_credential(
        off_the_books
    )
    assert result.verdict is Verdict.NOT_IN_LOG
    assert result.headline == "NOT IN LOG"
    assert "the issuer's log holds no entry for this credential" in result.summary
    assert result.summary.startswith("Not in the log:")


def test_a_checkpoint_without_the_witness_quorum_fails(body: LoggingBody) -> None:
    credential = body.sign(certificate())
    logged(body, credential)
    result = body.verifier(
        require_log=witness_policy(body, 2), log_fetcher=served(body, cosigners=1)
    ).verify_credential(credential)
    assert result.verdict is Verdict.NOT_IN_LOG
    assert "1 of the required 2 witnesses cosigned the checkpoint" in result.summary


def test_a_proof_for_another_credential_fails(body: LoggingBody) -> None:
    credential = body.sign(certificate())
    index = logged(body, credential)
    assert body.log is not None
    other = body.sign(certificate(name="Somebody Else"))
    proof = body.log.proof(index)  # a genuine proof, of the first credential
    result = body.verifier(require_log=LogPolicy(proof=proof)).verify_credential(other)
    assert result.verdict is Verdict.NOT_IN_LOG
    assert "the log proof is for another credential" in result.summary


def test_a_tampered_proof_fails(body: LoggingBody) -> None:
    credential = body.sign(certificate())
    index = logged(body, credential)
    assert body.log is not None
    text = body.log.proof(index)
    lines = text.split("\n")
    lines[3] = "A" * 43 + "="  # the first inclusion hash replaced
    result = body.verifier(require_log=LogPolicy(proof="\n".join(lines))).verify_credential(
        credential
    )
    assert result.verdict is Verdict.NOT_IN_LOG
    assert "the log proof does not verify" in result.summary


def test_a_proof_under_another_log_key_fails(body: LoggingBody) -> None:
    credential = body.sign(certificate())
    logged(body, credential)
    forger = Log()
    forger.add(entry(0, credential=credential_hash(credential)))
    result = body.verifier(require_log=LogPolicy(proof=forger.proof(0))).verify_credential(
        credential
    )
    assert result.verdict is Verdict.NOT_IN_LOG
    assert "did not sign it" in result.summary or "no known key" in result.summary


def test_a_given_log_key_is_used_instead_of_the_did_document(body: LoggingBody) -> None:
    credential = body.sign(certificate())
    index = logged(body, credential)
    assert body.log is not None
    policy = LogPolicy(log_key=Log().key.verifier.key_string, proof=body.log.proof(index))
    result = body.verifier(require_log=policy).verify_credential(credential)
    assert result.verdict is Verdict.NOT_IN_LOG


def test_a_proof_without_its_entry_is_completed_from_the_bundle(body: LoggingBody) -> None:
    credential = body.sign(certificate())
    index = logged(body, credential, others=300)
    fetch = served(body, extra=False)
    result = body.verifier(require_log=LogPolicy(), log_fetcher=fetch).verify_credential(credential)
    assert result.verdict is Verdict.VALID, result.summary
    assert fetch.asked[-1] == ENDPOINT + "tile/entries/000"
    assert parse_proof(body.log.proof(index, extra=False)).extra is None  # type: ignore[union-attr]


def test_not_in_the_log_outranks_a_suspension(body: LoggingBody) -> None:
    body.publish_defaults(suspended=True)
    credential = body.sign(certificate())
    result = body.verifier(require_log=LogPolicy(), log_fetcher=served(body)).verify_credential(
        credential
    )
    assert result.verdict is Verdict.NOT_IN_LOG


def test_a_quorum_beyond_the_witnesses_is_refused() -> None:
    with pytest.raises(ValueError, match="quorum of 2"):
        LogPolicy(witnesses=[Log().witnesses[0].verifier], quorum=2)


# --- certreg verify --require-log ----------------------------------------------------------


def _did_key_credential(tmp_path: Path, name: str) -> tuple[Path, dict[str, Any]]:
    kp = did_key_signer()
    issuer = kp.verification_method.split("#")[0]
    signed = add_proof(certificate(issuer, status=False, name=name), kp)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(signed))
    return path, signed


def test_certreg_verify_with_a_log_proof(tmp_path: Path) -> None:
    log = Log()
    path, signed = _did_key_credential(tmp_path, "Jane Doe")
    log.add(entry(0), entry(1, credential=credential_hash(signed)), entry(2))
    proof = tmp_path / "proof.txt"
    proof.write_text(log.proof(1, cosigners=1))
    key = log.key.verifier.key_string
    witness = log.witnesses[0].verifier.key_string
    runner = CliRunner()
    out = runner.invoke(
        main,
        [
            "verify",
            str(path),
            "--log-proof",
            str(proof),
            "--log-key",
            key,
            "--witness",
            witness,
            "--no-status",
        ],
    )
    assert out.exit_code == 0, out.output
    assert "✓ transparency log: in the log cb.example/log: entry 1" in out.output

    other, _ = _did_key_credential(tmp_path, "Mallory")
    out = runner.invoke(
        main,
        [
            "verify",
            str(other),
            "--log-proof",
            str(proof),
            "--log-key",
            key,
            "--json",
            "--no-status",
        ],
    )
    assert out.exit_code == 1
    assert json.loads(out.output)["verdict"] == "NOT_IN_LOG"

    out = runner.invoke(main, ["verify", str(path), "--require-log", "--no-status"])
    assert out.exit_code == 1 and "names no transparency log key" in out.output


# --- the proof fetched over HTTP -----------------------------------------------------------


@pytest.fixture()
def proof_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A log's proof endpoint on 127.0.0.1: ``pages`` maps a path with its query to bytes."""
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = pages.get(self.path)
            self.send_response(200 if data is not None else 404)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(data if data is not None else b"no entry for this credential")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", pages
    finally:
        server.shutdown()
        server.server_close()


def test_the_proof_is_fetched_from_the_issuers_log_over_http(
    proof_server: tuple[str, dict[str, bytes]],
) -> None:
    host, pages = proof_server
    body = LoggingBody(log=Log(), endpoint=f"http://{host}/log/")
    body.publish_defaults()
    credential = body.sign(certificate())
    index = logged(body, credential)
    assert body.log is not None
    pages[f"/log/proof?credential={credential_hash(credential)}"] = body.log.proof(index).encode()
    fetcher = HttpFetcher(unsafe_allow_http_hosts=[host], accept="text/plain")
    verifier = body.verifier(require_log=LogPolicy(), log_fetcher=fetcher)
    assert verifier.verify_credential(credential).verdict is Verdict.VALID

    off_the_books = body.sign(certificate(name="Mallory"))
    result = verifier.verify_credential(off_the_books)
    assert result.verdict is Verdict.NOT_IN_LOG
    assert "answered 404): it was signed outside the log" in result.summary

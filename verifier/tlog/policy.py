"""The verifier's log policy: "a certificate counts only if it is in its issuer's log, as a
checkpoint cosigned by N of these witnesses shows" (issue 13; docs/transparency.md).

A certificate signed outside a decision (with the key file directly, or through a signing path
that writes no log entry) verifies like any other: the signature is the body's. Under a
:class:`LogPolicy` it is not VALID: the verifier asks for the credential's tlog-proof and checks

1. the proof's entry is well formed and names this credential
   (``entry.credential == credential_hash(credential)``);
2. the proof's checkpoint is signed by the issuer's log key (given, or the ``verifierKey`` of the
   ``CertregTransparencyLog`` service in the issuer's DID document) and cosigned by at least
   ``quorum`` of ``witnesses``;
3. the inclusion proof leads from the entry's leaf hash to the checkpoint's root.

The entry's bytes travel in the proof's ``extra`` line (tlog-proof@v1's opaque data; the
inclusion proof authenticates them, since their leaf hash must lead to the signed root). A proof
without them is completed from the log's public entry bundle at the proof's index.

The proof is given (``LogPolicy(proof=...)``, ``certreg verify --log-proof FILE``) or fetched
from ``<serviceEndpoint>proof?credential=<sha256 hex>``; a 404 there means "not in the log".
A 503 with ``Retry-After`` means the entry is written but the log has not yet signed a
checkpoint holding it: the verifier asks once more after that delay when it is at most
:data:`MAX_RETRY_WAIT` seconds, else answers STATUS_UNKNOWN, "the log has not yet signed this
entry; ask again in N s". Any other failure is the verdict NOT_IN_LOG with the reason (see
:mod:`certreg.verifier.result`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from certreg.verifier.result import Check, Verdict
from certreg.verifier.tlog import merkle
from certreg.verifier.tlog.checkpoint import CheckpointError, parse_body
from certreg.verifier.tlog.entry import EntryError, credential_hash, parse_entry
from certreg.verifier.tlog.errors import TlogError
from certreg.verifier.tlog.note import Verifier, parse_verifier_key
from certreg.verifier.tlog.proof import MAX_PROOF_SIZE, ProofFormatError, parse_proof, verify_proof
from certreg.verifier.tlog.tiles import TILE_WIDTH, TileError, decode_bundle, entries_path

__all__ = [
    "CHECK_NAME",
    "MAX_RETRY_WAIT",
    "SERVICE_TYPE",
    "LogPolicy",
    "check_in_log",
    "log_service",
]

CHECK_NAME = "transparency log"
SERVICE_TYPE = "CertregTransparencyLog"

#: Fetches a URL (bytes) or raises :class:`~certreg.verifier.did.FetchError`.
Fetch = Callable[[str], bytes]

#: A log that has written an entry but not yet signed a checkpoint holding it answers 503 with
#: ``Retry-After``; the verifier waits and asks once more when that is at most this many
#: seconds, else says when to ask again (verdict STATUS_UNKNOWN: it is not "not in the log").
MAX_RETRY_WAIT = 10


@dataclass(frozen=True)
class LogPolicy:
    """Require every credential to be in its issuer's transparency log.

    - ``log_key``: the log's verifier key (a :class:`~certreg.verifier.tlog.note.Verifier` or its
      key string); None takes it from the issuer's DID document.
    - ``witnesses``, ``quorum``: at least ``quorum`` of these cosigner keys (type 0x04) must have
      cosigned the proof's checkpoint.
    - ``proof``: the credential's tlog-proof text, when the holder handed it over; None fetches
      it from the issuer's log.
    - ``fetch``: how to fetch the proof (and an entry bundle); None uses the verifier's own HTTP
      fetcher.
    - ``sleep``: how to wait before asking again a log that answered 503 with ``Retry-After``
      (:data:`MAX_RETRY_WAIT` seconds at most); None is :func:`time.sleep`.
    """

    log_key: Verifier | str | None = None
    witnesses: Sequence[Verifier | str] = ()
    quorum: int = 0
    proof: bytes | str | None = None
    fetch: Fetch | None = None
    sleep: Callable[[float], None] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.quorum, bool) or not isinstance(self.quorum, int) or self.quorum < 0:
            raise ValueError("the witness quorum is a whole number, 0 or more")
        if self.quorum > len(self.witnesses):
            raise ValueError(
                f"a quorum of {self.quorum} cannot be met by {len(self.witnesses)} witness keys"
            )
        # Malformed keys are the caller's error, said now rather than at every verification.
        if isinstance(self.log_key, str):
            parse_verifier_key(self.log_key)
        for key in self.witnesses:
            if isinstance(key, str):
                parse_verifier_key(key)

    def log_verifier(self) -> Verifier | None:
        key = self.log_key
        return parse_verifier_key(key) if isinstance(key, str) else key

    def witness_verifiers(self) -> list[Verifier]:
        return [parse_verifier_key(w) if isinstance(w, str) else w for w in self.witnesses]


def log_service(document: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    """(serviceEndpoint, verifierKey) of the ``CertregTransparencyLog`` service of a DID
    document, either None when it lists none."""
    if not isinstance(document, Mapping):
        return None, None
    services = document.get("service")
    for service in services if isinstance(services, list) else [services]:
        if not isinstance(service, Mapping):
            continue
        types = service.get("type")
        if SERVICE_TYPE in (types if isinstance(types, list) else [types]):
            endpoint, key = service.get("serviceEndpoint"), service.get("verifierKey")
            return (
                endpoint if isinstance(endpoint, str) else None,
                key if isinstance(key, str) else None,
            )
    return None, None


def _not_in_log(reason: str) -> Check:
    return Check(CHECK_NAME, False, reason, Verdict.NOT_IN_LOG)


def check_in_log(
    credential: Mapping[str, Any],
    policy: LogPolicy,
    issuer_document: Mapping[str, Any] | None,
    fetch: Fetch | None,
) -> Check:
    """The "transparency log" check of one credential (as issued, before any rewriting) whose
    signature by its issuer already verified."""
    wanted = credential_hash(dict(credential))
    endpoint, document_key = log_service(issuer_document)
    if endpoint is not None and not endpoint.endswith("/"):
        endpoint += "/"
    fetch = policy.fetch or fetch
    log_key = policy.log_verifier()
    if log_key is None:
        if document_key is None:
            return _not_in_log(
                "the issuer's DID document names no transparency log key, and none was given"
            )
        try:
            log_key = parse_verifier_key(document_key)
        except TlogError as error:
            return _not_in_log(f"the log key in the issuer's DID document is malformed: {error}")

    text = policy.proof
    if text is None:
        if endpoint is None or fetch is None:
            return _not_in_log(
                "no log proof was given, and the issuer's DID document names no transparency log "
                "to ask for one"
            )
        url = f"{endpoint}proof?credential={wanted}"
        text, problem, retry = _fetch(fetch, url)
        if text is None and retry is not None and retry <= MAX_RETRY_WAIT:
            # Written, but the log signs checkpoints every few seconds: ask once more then.
            (policy.sleep or time.sleep)(retry)
            text, problem, retry = _fetch(fetch, url)
        if text is None:
            if retry is not None:
                return Check(
                    CHECK_NAME,
                    False,
                    f"the log has not yet signed this entry; ask again in {retry} s",
                    Verdict.STATUS_UNKNOWN,
                )
            if problem == "404":
                return _not_in_log(
                    f"the issuer's log holds no entry for this credential ({url} answered "
                    "404): it was signed outside the log, off the body's books"
                )
            return _not_in_log(f"the log proof could not be fetched: {problem}")
    try:
        proof = parse_proof(text)
    except ProofFormatError as error:
        return _not_in_log(f"the log proof is malformed: {error}")

    entry_bytes = proof.extra
    if entry_bytes is None:
        entry_bytes, problem = _entry_from_bundle(proof.index, proof.checkpoint, endpoint, fetch)
        if entry_bytes is None:
            return _not_in_log(f"the log proof carries no entry, and {problem}")
    try:
        entry = parse_entry(entry_bytes)
    except EntryError as error:
        return _not_in_log(f"the log proof's entry is malformed: {error}")
    if entry.credential != wanted:
        return _not_in_log(
            f"the log proof is for another credential (its entry {proof.index} names "
            f"{entry.credential or 'no credential'}, this one's hash is {wanted})"
        )

    witnesses = policy.witness_verifiers()
    verdict = verify_proof(
        text, merkle.leaf_hash(entry_bytes), log_key, witnesses, witnesses_required=policy.quorum
    )
    if not verdict or verdict.checkpoint is None:
        return _not_in_log(f"the log proof does not verify: {verdict.reason}")
    point = verdict.checkpoint
    cosigned = (
        f", cosigned by {len(verdict.cosignatures)} of the {len(witnesses)} witnesses "
        f"({policy.quorum} required)"
        if witnesses
        else " (no witnesses required)"
    )
    return Check(
        CHECK_NAME,
        True,
        f"in the log {point.origin}: entry {proof.index} ({entry.kind} on {entry.at}), in the "
        f"checkpoint of {point.size} entries signed by the log key {log_key.name}{cosigned}",
    )


def _fetch(fetch: Fetch, url: str) -> tuple[str | None, str, int | None]:
    """(the proof, "", None), or (None, why, the 503's Retry-After seconds if it sent one)."""
    from certreg.verifier.did import FetchError

    try:
        data = fetch(url)
    except FetchError as error:
        retry = getattr(error, "retry_after", None)
        return None, "404" if error.not_found else error.reason, retry
    except Exception as error:  # a test's or an embedder's fetcher: its words, never a crash
        return None, str(error) or type(error).__name__, None
    if len(data) > MAX_PROOF_SIZE:
        return None, f"{url} sent more than {MAX_PROOF_SIZE} bytes", None
    try:
        return data.decode("utf-8"), "", None
    except UnicodeDecodeError:
        return None, f"{url} sent a proof that is not UTF-8", None


def _entry_from_bundle(
    index: int, checkpoint: str, endpoint: str | None, fetch: Fetch | None
) -> tuple[bytes | None, str]:
    """The entry at ``index`` read from the log's public bundle. The checkpoint is only read
    for its size here (to name the bundle): :func:`verify_proof` checks it afterwards."""
    if endpoint is None or fetch is None:
        return None, "the issuer's DID document names no log to read it from"
    try:
        size = parse_body(checkpoint[: checkpoint.rfind("\n\n") + 1]).size
    except CheckpointError as error:
        return None, f"its checkpoint is malformed: {error}"
    if index >= size:
        return None, f"its index {index} is beyond the checkpoint's {size} entries"
    tile, offset = divmod(index, TILE_WIDTH)
    width = min(TILE_WIDTH, size - tile * TILE_WIDTH)
    url = endpoint + entries_path(tile, width)
    from certreg.verifier.did import FetchError

    try:
        entries = decode_bundle(fetch(url), width)
    except FetchError as error:
        return None, f"its entry bundle could not be fetched: {error.reason}"
    except TileError as error:
        return None, f"its entry bundle is malformed: {error}"
    except Exception as error:
        return None, f"its entry bundle could not be fetched: {error}"
    return entries[offset], ""

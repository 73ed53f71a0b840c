"""The log's side of C2SP tlog-witness: submit a new checkpoint to each configured witness and
collect the cosignatures it returns (the issuer's log calls this; a witness is
``certreg witness serve`` or any other implementation of the protocol).

The witnesses come from the operator's configuration (:class:`WitnessConfig`: URL, name,
verifier key). The network rules follow from that: the URL is trusted as configuration, but a
witness at a private, loopback or link-local address is contacted only when the entry says
``allow_private`` (a witness on the same network, or a test on 127.0.0.1), so a configuration
typo or a DNS answer cannot point the log at an internal service. Redirects are not followed;
every exchange has a timeout and a limit on the answer's size.

A 409 answer carries the size of the last checkpoint the witness cosigned (the log may have
lost track of it, or a previous answer never arrived); :func:`submit_checkpoint` retries once
from that size, with a consistency proof from ``proof_for(size)``.

Cosignature lines are kept only if they verify against the configured witness key, so a
witness (or whoever answers in its name) cannot add anything else to the published checkpoint.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from certreg.verifier.did import FetchError
from certreg.verifier.tlog import note
from certreg.verifier.tlog.checkpoint import MAX_CHECKPOINT_SIZE, CheckpointError, parse_body
from certreg.verifier.tlog.errors import TlogError
from certreg.verifier.tlog.note import COSIGNATURE_V1, SIGNATURE_PREFIX, Verifier
from certreg.verifier.tlog.witness import SIZE_CONTENT_TYPE, AddCheckpoint

DEFAULT_TIMEOUT = 10.0
#: Witnesses asked at the same time: a bound on the log's threads and connections however many
#: witnesses are configured (a handful in practice).
MAX_CONCURRENT_WITNESSES = 8
#: A witness answers a few signature lines (or a size): 64 KiB is generous.
DEFAULT_MAX_BYTES = 64 * 1024

ProofFor = Callable[[int], Sequence[bytes]]


class SubmitError(TlogError):
    """A witness configuration that cannot be used; the message says why."""


@dataclass(frozen=True)
class WitnessConfig:
    """One witness the log submits to: the operator's configuration."""

    url: str  # the submission prefix: requests go to <url>/add-checkpoint
    name: str  # the witness's key name
    verifier_key: str  # its note verifier key (cosignature/v1, type 0x04)
    allow_private: bool = False  # may the URL point at a private or loopback address?

    def __post_init__(self) -> None:
        parsed = httpx.URL(self.url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise SubmitError(f"a witness URL is http(s)://host/prefix, not {self.url!r}")
        key = self.verifier
        if key.signature_type != COSIGNATURE_V1:
            raise SubmitError(f"the key of witness {self.name} is not a cosignature/v1 key")
        if key.name != self.name:
            raise SubmitError(f"the key is named {key.name!r}, the witness {self.name!r}")

    @property
    def verifier(self) -> Verifier:
        try:
            return note.parse_verifier_key(self.verifier_key)
        except note.NoteError as error:
            raise SubmitError(f"witness {self.name}: {error}") from None

    @property
    def add_checkpoint_url(self) -> str:
        return self.url.rstrip("/") + "/add-checkpoint"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WitnessConfig:
        """From ``{"url": ..., "name": ..., "verifier_key": ..., "allow_private": false}``
        (a JSON or TOML configuration entry)."""
        unknown = set(data) - {"url", "name", "verifier_key", "allow_private"}
        if unknown:
            raise SubmitError(f"unknown witness setting(s): {', '.join(sorted(unknown))}")
        try:
            return cls(
                str(data["url"]),
                str(data["name"]),
                str(data["verifier_key"]),
                data.get("allow_private", False) is True,
            )
        except KeyError as missing:
            raise SubmitError(f"a witness entry needs {missing.args[0]!r}") from None


def load_witnesses(entries: Iterable[Mapping[str, Any]]) -> list[WitnessConfig]:
    """The ``witnesses`` list of a configuration; a name given twice is refused."""
    witnesses = [WitnessConfig.from_dict(entry) for entry in entries]
    names = [w.name for w in witnesses]
    if len(set(names)) != len(names):
        raise SubmitError("a witness is listed twice")
    return witnesses


@dataclass(frozen=True)
class SubmitResult:
    """What one witness answered. ``ok``: it cosigned, and ``lines`` are its cosignature
    lines (verified when a key was given). Otherwise ``reason`` says why, ``status`` is the
    HTTP status of the last answer (None when there was none) and ``witness_size`` the size
    it stated in a 409."""

    ok: bool
    reason: str = ""
    status: int | None = None
    lines: tuple[str, ...] = ()
    old_size: int = 0  # the old size of the last request sent
    witness_size: int | None = None

    def __bool__(self) -> bool:
        return self.ok


def submit_checkpoint(
    url: str,
    signed_checkpoint_note: str,
    old_size: int,
    consistency_proof: Sequence[bytes],
    *,
    proof_for: ProofFor | None = None,
    witness_key: Verifier | None = None,
    allow_private: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    client: httpx.Client | None = None,
) -> SubmitResult:
    """POST the checkpoint with a consistency proof from ``old_size`` to ``url`` (the full
    ``.../add-checkpoint`` address). On a 409 whose size the log can prove from, retry once
    from that size with ``proof_for(size)``. Never raises for a network or witness failure:
    the result says what happened."""
    try:
        size = parse_body(note_text(signed_checkpoint_note)).size
    except (CheckpointError, ValueError) as error:
        return SubmitResult(False, f"not a checkpoint: {error}")
    own = client is None
    http = client or make_client(url, allow_private=allow_private, timeout=timeout)
    try:
        result = _post(
            http, url, signed_checkpoint_note, old_size, consistency_proof, witness_key, max_bytes
        )
        stated = result.witness_size
        if result.status != 409 or stated is None or stated == old_size or proof_for is None:
            return result
        if stated > size:
            return SubmitResult(
                False,
                f"the witness has cosigned size {stated}, above this checkpoint's {size}: "
                "it has seen a larger tree of this log",
                409,
                old_size=old_size,
                witness_size=stated,
            )
        proof = list(proof_for(stated))
        return _post(http, url, signed_checkpoint_note, stated, proof, witness_key, max_bytes)
    finally:
        if own:
            http.close()


def submit_to_witnesses(
    witnesses: Sequence[WitnessConfig],
    signed_checkpoint_note: str,
    old_size: int,
    proof_for: ProofFor,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> tuple[str, dict[str, SubmitResult]]:
    """Submit to every witness and return the checkpoint with every cosignature obtained, and
    each witness's result by name. ``old_size`` is the size the log last had cosigned (a
    witness that says otherwise is answered from its own size).

    The witnesses are asked concurrently (at most :data:`MAX_CONCURRENT_WITNESSES` at a time,
    each exchange within ``timeout``), so slow or unreachable witnesses cost about one timeout
    together, not one each. The cosignatures are added in the configuration's order, whatever
    order the answers came in, so the published checkpoint does not depend on the network."""
    proof = list(proof_for(old_size)) if old_size else []

    def submit(witness: WitnessConfig) -> SubmitResult:
        return submit_checkpoint(
            witness.add_checkpoint_url,
            signed_checkpoint_note,
            old_size,
            proof,
            proof_for=proof_for,
            witness_key=witness.verifier,
            allow_private=witness.allow_private,
            timeout=timeout,
            max_bytes=max_bytes,
        )

    answers: list[SubmitResult] = []
    if witnesses:
        workers = min(len(witnesses), MAX_CONCURRENT_WITNESSES)
        with ThreadPoolExecutor(workers, thread_name_prefix="certreg-witness") as pool:
            answers = list(pool.map(submit, witnesses))
    results: dict[str, SubmitResult] = {}
    cosigned = signed_checkpoint_note
    for witness, result in zip(witnesses, answers, strict=True):
        results[witness.name] = result
        if result.ok:
            cosigned = add_cosignatures(cosigned, result.lines)
    return cosigned, results


def add_cosignatures(signed_note: str, lines: Iterable[str]) -> str:
    """The note with the cosignature lines appended: a line already there is not repeated,
    and a key's older cosignature is replaced by the new one (one signature per key, as the
    note rules require). Each line must be a signature line (``— name base64``)."""
    new = [_check_line(line) for line in lines]
    text, sep, block = signed_note.rpartition("\n\n")
    if not sep:
        raise SubmitError("not a signed note: no blank line before the signatures")
    kept = block.splitlines(keepends=True)
    for line in new:
        key = _line_key(line)
        kept = [old for old in kept if _line_key(old) != key]
        kept.append(line)
    return text + "\n\n" + "".join(kept)


def note_text(signed_note: str) -> str:
    """The text of a signed note (up to its last blank line)."""
    text, sep, _ = signed_note.rpartition("\n\n")
    if not sep:
        raise ValueError("no blank line before the signatures")
    return text + "\n"


def make_client(
    url: str, *, allow_private: bool = False, timeout: float = DEFAULT_TIMEOUT
) -> httpx.Client:
    """An HTTP client for a witness: no redirects, ``timeout`` per exchange, keep-alive (the
    specification asks for it) and, unless ``allow_private``, public addresses only, checked
    on the very address it connects to."""
    transport: httpx.HTTPTransport | None = None
    if not allow_private:
        from certreg.verifier._network import _PublicAddressesOnly

        transport = httpx.HTTPTransport()
        # httpx 0.28 does not let a transport choose its network backend; httpcore's pool does
        # (as certreg.verifier._network does for DID documents).
        transport._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(), network_backend=_PublicAddressesOnly(())
        )
    return httpx.Client(timeout=timeout, follow_redirects=False, transport=transport)


def _post(
    client: httpx.Client,
    url: str,
    signed_checkpoint_note: str,
    old_size: int,
    proof: Sequence[bytes],
    witness_key: Verifier | None,
    max_bytes: int,
) -> SubmitResult:
    body = AddCheckpoint(old_size, tuple(proof), signed_checkpoint_note).body
    try:
        with client.stream(
            "POST",
            url,
            content=body.encode(),
            headers={"Content-Type": "text/plain", "Accept-Encoding": "identity"},
        ) as response:
            data = bytearray()
            for chunk in response.iter_raw():
                data += chunk
                if len(data) > max_bytes:
                    return SubmitResult(
                        False,
                        f"{url} answered more than {max_bytes} bytes",
                        response.status_code,
                        old_size=old_size,
                    )
            status = response.status_code
            content_type = response.headers.get("content-type", "")
            why = response.headers.get("x-witness-reason", "")
    except httpx.TimeoutException:
        return SubmitResult(False, f"{url} did not answer in time", old_size=old_size)
    except (httpx.HTTPError, FetchError) as error:
        return SubmitResult(False, f"{url} could not be reached: {error}", old_size=old_size)
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return SubmitResult(False, f"{url} answered {status} with a body that is not UTF-8", status)
    if status == 409 and content_type.split(";")[0].strip() == SIZE_CONTENT_TYPE:
        stated = text.removesuffix("\n")
        if not stated.isdigit() or (stated != "0" and stated.startswith("0")):
            return SubmitResult(False, f"{url} answered 409 with a malformed size", 409)
        reason = why or f"the witness last cosigned size {stated}, not {old_size}"
        return SubmitResult(False, reason, 409, old_size=old_size, witness_size=int(stated))
    if status != 200:
        shown = text.strip()[:300] or why
        return SubmitResult(False, f"{url} refused ({status}): {shown}", status, old_size=old_size)
    lines = tuple(line + "\n" for line in text.removesuffix("\n").split("\n"))
    if not text.endswith("\n") or not all(line.startswith(SIGNATURE_PREFIX) for line in lines):
        return SubmitResult(False, f"{url} answered 200 without signature lines", 200)
    if witness_key is not None:
        lines = tuple(line for line in lines if _line_key(line)[0] == witness_key.name)
        opened = note.open_note(
            signed_checkpoint_note + "".join(lines), [witness_key], max_size=MAX_CHECKPOINT_SIZE
        )
        if not opened:
            return SubmitResult(
                False, f"{url}: its cosignature does not verify ({opened.reason})", 200
            )
        lines = tuple(sig.line for sig in opened.verified)
    return SubmitResult(True, "cosigned", 200, lines, old_size=old_size)


def _check_line(line: str) -> str:
    if not line.endswith("\n"):
        line += "\n"
    name, _, encoded = line[len(SIGNATURE_PREFIX) : -1].partition(" ")
    if not line.startswith(SIGNATURE_PREFIX) or not note.valid_key_name(name) or "\n" in encoded:
        raise SubmitError(f"not a signature line: {line!r}")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise SubmitError(f"not a signature line: {line!r}") from None
    if len(raw) < 5:
        raise SubmitError(f"not a signature line: {line!r}")
    return line


def _line_key(line: str) -> tuple[str, bytes]:
    """(key name, key ID) of a signature line."""
    name, _, encoded = line[len(SIGNATURE_PREFIX) :].strip().partition(" ")
    try:
        return name, base64.b64decode(encoded)[:4]
    except ValueError:
        return name, b""

"""C2SP tlog-checkpoint and tlog-cosignature/v1: a log's signed tree head and its witnesses.

A checkpoint is a signed note whose text is exactly::

    <origin>
    <tree size, decimal, no leading zeros>
    <base64 root hash>
    [extension lines, each non-empty]

signed by the log's Ed25519 key. A witness adds a *cosignature* (signature type 0x04): an
8-byte big-endian POSIX timestamp followed by an Ed25519 signature over::

    cosignature/v1
    time <timestamp>
    <the checkpoint text>

which states that, at that time, this was the largest consistent tree the witness had seen for
that origin. :func:`open_checkpoint` verifies the log's signature and reports which of the given
witnesses cosigned, with their timestamps; like :func:`certreg.verifier.tlog.note.open_note` it
never raises for a bad checkpoint.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass

from certreg.verifier.tlog import note
from certreg.verifier.tlog.errors import TlogError
from certreg.verifier.tlog.merkle import HASH_SIZE
from certreg.verifier.tlog.note import (
    COSIGNATURE_V1,
    OpenedNote,
    Signature,
    Signer,
    Verifier,
    cosignature_message,
)

MAX_CHECKPOINT_SIZE = 64 * 1024  # a checkpoint and 100 Ed25519 cosignatures fit in 20 KB
_SIZE = re.compile(r"0|[1-9][0-9]*")


class CheckpointError(TlogError):
    """A checkpoint text that is not well formed; the message says why."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise CheckpointError("the origin is one non-empty line")
        if isinstance(self.size, bool) or not 0 <= self.size < 1 << 64:
            raise CheckpointError("the tree size is an unsigned 64-bit integer")
        if len(self.root) != HASH_SIZE:
            raise CheckpointError(f"the root hash has {HASH_SIZE} bytes")
        for line in self.extensions:
            if not line or "\n" in line:
                raise CheckpointError("an extension line is one non-empty line")

    @property
    def body(self) -> str:
        """The note text (what the log signs and a cosigner's message ends with)."""
        head = f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"
        return head + "".join(line + "\n" for line in self.extensions)


def parse_body(text: str) -> Checkpoint:
    """A checkpoint note text -> :class:`Checkpoint`; :class:`CheckpointError` if malformed."""
    if not text.endswith("\n"):
        raise CheckpointError("the checkpoint does not end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("a checkpoint has an origin, a size and a root hash line")
    if any(not line for line in lines):
        raise CheckpointError("a checkpoint has no empty line")
    if any(ord(c) < 0x20 for c in text if c != "\n"):
        raise CheckpointError("the checkpoint holds a control character")
    origin, size_line, root_line, *extensions = lines
    if not _SIZE.fullmatch(size_line):
        raise CheckpointError(f"the tree size {size_line!r} is not a decimal without leading zeros")
    try:
        root = base64.b64decode(root_line.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise CheckpointError("the root hash is not base64") from None
    if base64.b64encode(root).decode() != root_line:
        raise CheckpointError("the root hash is not in canonical base64")
    if len(root) != HASH_SIZE:
        raise CheckpointError(f"the root hash has {len(root)} bytes, not {HASH_SIZE}")
    size = int(size_line)
    if size >= 1 << 64:
        raise CheckpointError("the tree size does not fit in 64 bits")
    return Checkpoint(origin, size, root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, log_key: Signer) -> str:
    """The checkpoint as a signed note, signed by the log's key."""
    return note.sign_note(checkpoint.body, [log_key])


def cosign(checkpoint: Checkpoint, witness_key: Signer, timestamp: int) -> Signature:
    """A witness's cosignature/v1 over ``checkpoint`` at POSIX time ``timestamp``."""
    if witness_key.signature_type != COSIGNATURE_V1:
        raise CheckpointError("a cosigning key has signature type 0x04")
    if not 0 <= timestamp < 1 << 63:
        raise CheckpointError("a cosignature's timestamp is between 0 and 2**63 - 1")
    signed = witness_key.sign(cosignature_message(checkpoint.body, timestamp))
    return Signature(witness_key.name, witness_key.key_id, timestamp.to_bytes(8, "big") + signed)


@dataclass(frozen=True)
class Cosignature:
    name: str
    key_id: bytes
    timestamp: int


@dataclass(frozen=True)
class OpenedCheckpoint:
    """What :func:`open_checkpoint` found: ``ok`` only if the log's key signed a well-formed
    checkpoint of the expected origin; ``cosignatures`` lists the given witnesses that did."""

    ok: bool
    reason: str = ""
    checkpoint: Checkpoint | None = None
    cosignatures: tuple[Cosignature, ...] = ()
    note: OpenedNote | None = None

    def __bool__(self) -> bool:
        return self.ok


def open_checkpoint(
    data: bytes | str,
    log_key: Verifier,
    witnesses: Iterable[Verifier] = (),
    *,
    origin: str | None = None,
) -> OpenedCheckpoint:
    """Verify a checkpoint signed by ``log_key``, and its cosignatures by ``witnesses``.

    ``origin`` defaults to the log key's name (tlog-checkpoint: the key name SHOULD be the
    origin). A witness's bad cosignature refuses the whole checkpoint, as the note rules say
    for any known key.
    """
    witnesses = list(witnesses)
    if any(w.signature_type != COSIGNATURE_V1 for w in witnesses):
        return OpenedCheckpoint(False, "a witness key is not a cosignature/v1 (type 0x04) key")
    opened = note.open_note(data, [log_key, *witnesses], max_size=MAX_CHECKPOINT_SIZE)
    if not opened:
        return OpenedCheckpoint(False, opened.reason, note=opened)
    if opened.signed_by(log_key) is None:
        return OpenedCheckpoint(False, f"the log key {log_key.name} did not sign it", note=opened)
    try:
        checkpoint = parse_body(opened.text)
    except CheckpointError as error:
        return OpenedCheckpoint(False, str(error), note=opened)
    expected = log_key.name if origin is None else origin
    if checkpoint.origin != expected:
        return OpenedCheckpoint(
            False, f"the checkpoint is of {checkpoint.origin!r}, not {expected!r}", note=opened
        )
    cosignatures = tuple(
        Cosignature(w.name, w.key_id, int.from_bytes(sig.signature[:8], "big"))
        for w in witnesses
        if (sig := opened.signed_by(w)) is not None
    )
    return OpenedCheckpoint(True, "", checkpoint, cosignatures, opened)

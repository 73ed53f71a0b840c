"""C2SP tlog-witness add-checkpoint: the request body and the witness's decision, without HTTP
or storage (``certreg witness serve`` wraps this; it persists the new state atomically).

The request body is an old size line, zero to 63 consistency proof lines, an empty line, then
the checkpoint::

    old 20852014
    PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
    ...

    example.com/behind-the-sofa
    ...

:func:`add_checkpoint` answers as the specification says: 404 for an unknown origin, 403 when
no trusted key signed, 400 for a malformed request or an old size above the new one, 409 (with
the latest cosigned size as the body) when the old size is not the one the witness cosigned
last or equal sizes have different roots, 422 when the consistency proof fails (a forked or
rewritten log) or a checkpoint of size 0 carries another root than the empty tree's
(RFC 9162: SHA-256 of nothing), and 200 with the cosignature line otherwise.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from certreg.verifier.tlog import merkle, note
from certreg.verifier.tlog.checkpoint import (
    MAX_CHECKPOINT_SIZE,
    Checkpoint,
    CheckpointError,
    cosign,
    parse_body,
)
from certreg.verifier.tlog.errors import TlogError
from certreg.verifier.tlog.merkle import HASH_SIZE
from certreg.verifier.tlog.note import Signer, Verifier

MAX_PROOF_LINES = 63
SIZE_CONTENT_TYPE = "text/x.tlog.size"
_OLD = re.compile(r"old (0|[1-9][0-9]*)")


class WitnessRequestError(TlogError):
    """A malformed add-checkpoint body; the message says why."""


@dataclass(frozen=True)
class AddCheckpoint:
    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: str  # the signed note, verbatim

    @property
    def body(self) -> str:
        lines = [f"old {self.old_size}", *(base64.b64encode(h).decode() for h in self.proof)]
        return "".join(line + "\n" for line in lines) + "\n" + self.checkpoint


def parse_add_checkpoint(data: bytes | str) -> AddCheckpoint:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise WitnessRequestError("the request is not UTF-8") from None
    if len(data.encode()) > MAX_CHECKPOINT_SIZE + 100 * (MAX_PROOF_LINES + 1):
        raise WitnessRequestError("the request is too large")
    head, sep, checkpoint = data.partition("\n\n")
    if not sep:
        raise WitnessRequestError("no empty line before the checkpoint")
    lines = head.split("\n")
    match = _OLD.fullmatch(lines[0])
    if not match:
        raise WitnessRequestError("the first line is not 'old <size without leading zeros>'")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise WitnessRequestError(f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof = []
    for number, line in enumerate(lines[1:], start=1):
        try:
            raw = base64.b64decode(line.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise WitnessRequestError(f"proof line {number} is not base64") from None
        if len(raw) != HASH_SIZE:
            raise WitnessRequestError(f"proof line {number} is not a {HASH_SIZE}-byte hash")
        proof.append(raw)
    old_size = int(match[1])
    if old_size >= 1 << 64:
        raise WitnessRequestError("the old size does not fit in 64 bits")
    return AddCheckpoint(old_size, tuple(proof), checkpoint)


@dataclass(frozen=True)
class Answer:
    """The witness's answer: HTTP status, body and content type, and on 200 the checkpoint it
    must persist (atomically with the check of the old size) before responding."""

    status: int
    reason: str
    body: str = ""
    content_type: str = "text/plain; charset=utf-8"
    cosigned: Checkpoint | None = None


def add_checkpoint(
    data: bytes | str,
    logs: Mapping[str, Sequence[Verifier]],
    latest: Mapping[str, Checkpoint],
    witness: Signer,
    now: int,
) -> Answer:
    """Decide an add-checkpoint request. ``logs`` maps each origin the witness serves to the
    log keys it trusts; ``latest`` holds the last checkpoint it cosigned per origin."""
    try:
        request = parse_add_checkpoint(data)
    except WitnessRequestError as error:
        return Answer(400, str(error))
    origin = request.checkpoint.partition("\n")[0]
    if origin not in logs:
        return Answer(404, f"this witness does not witness the log {origin!r}")
    opened = note.open_note(request.checkpoint, logs[origin], max_size=MAX_CHECKPOINT_SIZE)
    if not opened:
        return Answer(403, f"the checkpoint is not signed by the log: {opened.reason}")
    try:
        point = parse_body(opened.text)
    except CheckpointError as error:
        return Answer(400, str(error))
    if point.size == 0 and point.root != merkle.EMPTY_ROOT:
        # An empty tree has one root; cosigning another would vouch for a tree that is not one.
        return Answer(422, "a checkpoint of size 0 must carry the empty tree's root")
    old = request.old_size
    if old > point.size:
        return Answer(400, f"the old size {old} is above the checkpoint's size {point.size}")
    if old == 0 and request.proof:
        return Answer(400, "the consistency proof from size 0 must be empty")
    last = latest.get(origin)
    last_size = last.size if last is not None else 0
    if old != last_size:
        return Answer(
            409,
            f"the last checkpoint cosigned for this log has size {last_size}, not {old}",
            f"{last_size}\n",
            SIZE_CONTENT_TYPE,
        )
    if last is not None and old > 0:
        if old == point.size and last.root != point.root:
            return Answer(
                409,
                f"another root for size {old} than the one cosigned: the log forked",
                f"{last_size}\n",
                SIZE_CONTENT_TYPE,
            )
        consistent = merkle.verify_consistency(
            old, point.size, last.root, point.root, list(request.proof)
        )
        if not consistent:
            return Answer(
                422, f"not consistent with the last cosigned checkpoint: {consistent.reason}"
            )
    signature = cosign(point, witness, now)
    return Answer(200, "cosigned", signature.line, cosigned=point)

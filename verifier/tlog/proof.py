"""C2SP tlog-proof@v1: an entry's inclusion proof with the (cosigned) checkpoint it leads to,
in one text that a verifier checks offline::

    c2sp.org/tlog-proof@v1
    [extra <base64 opaque data>]
    index <decimal, no leading zeros>
    <base64 hash>            (zero or more: the inclusion proof, leaf side first)

    <the checkpoint, verbatim, with its signatures>

:func:`verify_proof` checks the whole chain: the checkpoint is signed by the log key, at least
``witnesses_required`` of the given witnesses cosigned it, and the proof leads from the entry's
leaf hash to the checkpoint's root. It never raises for a bad proof; the result says why.
The extra data is not authenticated and is handed back as it came.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass

from certreg.verifier.tlog import merkle
from certreg.verifier.tlog.checkpoint import Checkpoint, Cosignature, open_checkpoint
from certreg.verifier.tlog.errors import TlogError
from certreg.verifier.tlog.merkle import HASH_SIZE
from certreg.verifier.tlog.note import Verifier

HEADER = "c2sp.org/tlog-proof@v1"
MAX_PROOF_SIZE = 128 * 1024  # 64 proof hashes, a checkpoint and 100 cosignatures fit easily
MAX_PROOF_HASHES = 64  # a tree of up to 2**64 leaves
_INDEX = re.compile(r"index (0|[1-9][0-9]*)")


class ProofFormatError(TlogError):
    """A tlog-proof text that is not well formed; the message says why."""


@dataclass(frozen=True)
class TlogProof:
    index: int
    inclusion: tuple[bytes, ...]
    checkpoint: str  # the signed note, verbatim
    extra: bytes | None = None

    @property
    def text(self) -> str:
        lines = [HEADER]
        if self.extra is not None:
            lines.append("extra " + base64.b64encode(self.extra).decode())
        lines.append(f"index {self.index}")
        lines += [base64.b64encode(h).decode() for h in self.inclusion]
        return "\n".join(lines) + "\n\n" + self.checkpoint


def _b64(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ProofFormatError(f"{what} is not base64") from None
    return raw


def parse_proof(data: bytes | str) -> TlogProof:
    """A tlog-proof text -> :class:`TlogProof`; :class:`ProofFormatError` if malformed."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ProofFormatError("the proof is not UTF-8") from None
    if len(data.encode()) > MAX_PROOF_SIZE:
        raise ProofFormatError(f"the proof is larger than {MAX_PROOF_SIZE} bytes")
    head, sep, checkpoint = data.partition("\n\n")
    if not sep:
        raise ProofFormatError("no empty line before the checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise ProofFormatError(f"the first line is not {HEADER}")
    rest = lines[1:]
    extra = None
    if rest and rest[0].startswith("extra "):
        extra = _b64(rest[0][len("extra ") :], "the extra data")
        rest = rest[1:]
    if not rest or not (match := _INDEX.fullmatch(rest[0])):
        raise ProofFormatError("no 'index <decimal without leading zeros>' line")
    index = int(match[1])
    if index >= 1 << 64:
        raise ProofFormatError("the index does not fit in 64 bits")
    hashes = rest[1:]
    if len(hashes) > MAX_PROOF_HASHES:
        raise ProofFormatError(f"more than {MAX_PROOF_HASHES} proof hashes")
    inclusion = []
    for number, line in enumerate(hashes, start=1):
        raw = _b64(line, f"proof hash {number}")
        if len(raw) != HASH_SIZE:
            raise ProofFormatError(f"proof hash {number} has {len(raw)} bytes, not {HASH_SIZE}")
        inclusion.append(raw)
    return TlogProof(index, tuple(inclusion), checkpoint, extra)


@dataclass(frozen=True)
class ProofVerdict:
    """``ok`` only if every link held; ``reason`` names the first that did not."""

    ok: bool
    reason: str = ""
    proof: TlogProof | None = None
    checkpoint: Checkpoint | None = None
    cosignatures: tuple[Cosignature, ...] = ()

    def __bool__(self) -> bool:
        return self.ok


def verify_proof(
    data: bytes | str,
    leaf_hash: bytes,
    log_key: Verifier,
    witnesses: Iterable[Verifier] = (),
    *,
    witnesses_required: int = 0,
    origin: str | None = None,
) -> ProofVerdict:
    """Is the entry whose leaf hash is ``leaf_hash`` in the log, as a checkpoint signed by
    ``log_key`` and cosigned by at least ``witnesses_required`` of ``witnesses`` shows?"""
    try:
        proof = parse_proof(data)
    except ProofFormatError as error:
        return ProofVerdict(False, str(error))
    witnesses = list(witnesses)
    opened = open_checkpoint(proof.checkpoint, log_key, witnesses, origin=origin)
    if not opened or opened.checkpoint is None:
        return ProofVerdict(False, f"the checkpoint: {opened.reason}", proof)
    point, cosigned = opened.checkpoint, opened.cosignatures
    if len(cosigned) < witnesses_required:
        return ProofVerdict(
            False,
            f"{len(cosigned)} of the required {witnesses_required} witnesses cosigned the "
            "checkpoint",
            proof,
            point,
            cosigned,
        )
    included = merkle.verify_inclusion(
        leaf_hash, proof.index, point.size, list(proof.inclusion), point.root
    )
    if not included:
        return ProofVerdict(False, included.reason, proof, point, cosigned)
    return ProofVerdict(True, "", proof, point, cosigned)

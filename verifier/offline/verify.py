"""What a CR1 QR payload (:mod:`.payload`) says, checked with no network against the keys and
status lists a sync stored (:mod:`.cache`, :mod:`.sync`).

The order (the same in the web app):

1. the text must be a CR1 payload (else INVALID, saying why);
2. its ``kid`` must name a key of a synced body (else UNKNOWN_BODY: "Cannot tell: no data from
   this body"), and the Ed25519 signature must verify with that key (else INVALID: "the QR code
   was altered or is not this body's"); a key compromised (``revoked``) or retired
   (``expires``) before the payload was signed makes it INVALID;
3. the dates: effective date in the future, NOT_YET_VALID; expiry date past, EXPIRED;
4. the status, from the synced lists: WITHDRAWN, SUSPENDED, or UNKNOWN_STATUS when a list is
   not in the cache. A cache only knows what the lists said when they were fetched, so every
   verdict about status is said "as of" that time: a suspension made after the last sync is
   not seen, and the result says how old its knowledge is.

Nothing raises for bad input: :func:`verify_offline` always returns an :class:`OfflineResult`.
Facts are only given when the signature verified with a synced body's key.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from certreg.verifier.dates import format_datetime
from certreg.verifier.offline.cache import Cache, SyncedBody, SyncedKey, SyncedList
from certreg.verifier.offline.payload import (
    CompactCertificate,
    CompactStatus,
    PayloadError,
    SignedCompact,
    absolute_list,
    decode,
)
from certreg.verifier.result import plain_date

_log = logging.getLogger("certreg.verifier")


class OfflineVerdict(StrEnum):
    VALID = "VALID"
    SUSPENDED = "SUSPENDED"
    WITHDRAWN = "WITHDRAWN"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    INVALID = "INVALID"
    UNKNOWN_BODY = "UNKNOWN_BODY"
    UNKNOWN_STATUS = "UNKNOWN_STATUS"

    def __str__(self) -> str:
        return self.value


#: Most serious first (as verifier.result.PRECEDENCE): a forgery before anything else, a body
#: we know nothing of before anything its unverifiable payload might say.
PRECEDENCE: tuple[OfflineVerdict, ...] = (
    OfflineVerdict.INVALID,
    OfflineVerdict.UNKNOWN_BODY,
    OfflineVerdict.WITHDRAWN,
    OfflineVerdict.SUSPENDED,
    OfflineVerdict.EXPIRED,
    OfflineVerdict.NOT_YET_VALID,
    OfflineVerdict.UNKNOWN_STATUS,
    OfflineVerdict.VALID,
)

NO_DATA = "Cannot tell: no data from this body"
ALTERED = "the QR code was altered or is not this body's"


@dataclass(frozen=True)
class OfflineCheck:
    """One thing looked at; ``verdict`` is what its failure means."""

    name: str
    ok: bool
    reason: str
    verdict: OfflineVerdict | None = None

    @property
    def implies(self) -> OfflineVerdict:
        return OfflineVerdict.VALID if self.ok else (self.verdict or OfflineVerdict.INVALID)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "ok": self.ok, "reason": self.reason}
        if not self.ok:
            out["verdict"] = self.implies.value
        return out


@dataclass(frozen=True)
class OfflineResult:
    """The answer for one QR payload.

    ``certificate`` (the payload's facts) and ``body`` are set only when the signature verified
    with a synced body's key. ``as_of`` is when the status lists read were fetched (the oldest
    of them): what the status verdict is worth.
    """

    verdict: OfflineVerdict
    summary: str
    checks: list[OfflineCheck] = field(default_factory=list)
    certificate: CompactCertificate | None = None
    body: SyncedBody | None = None
    as_of: datetime | None = None
    checked_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.verdict is OfflineVerdict.VALID

    def to_json(self) -> dict[str, Any]:
        cert = self.certificate
        return {
            "verdict": self.verdict.value,
            "summary": self.summary,
            "as_of": _iso(self.as_of),
            "checked_at": _iso(self.checked_at),
            "body": self.body.to_json() if self.body is not None else None,
            "certificate": _certificate_json(cert) if cert is not None else None,
            "checks": [c.to_json() for c in self.checks],
        }


def _iso(moment: datetime | None) -> str | None:
    return format_datetime(moment) if moment is not None else None


def _certificate_json(cert: CompactCertificate) -> dict[str, Any]:
    return {
        "holder_name": cert.holder_name,
        "number": cert.number,
        "scheme": {"code": cert.scheme_code, "version": cert.scheme_version,
                   "name": cert.scheme_name},
        "scope": [
            {"code": i.code, "label": i.label, "conditions": i.conditions} for i in cert.scope
        ],
        "valid_from": _iso(cert.valid_from),
        "valid_until": _iso(cert.valid_until),
        "issued_at": _iso(cert.issued_at),
        "status": [
            {"purpose": s.purpose, "list": s.list, "index": s.index, "size": s.size}
            for s in cert.status
        ],
    }  # fmt: skip


def worst(verdicts: Iterable[OfflineVerdict]) -> OfflineVerdict:
    found = set(verdicts)
    return next((v for v in PRECEDENCE if v in found), OfflineVerdict.VALID)


def when(moment: datetime) -> str:
    """``28 November 2026, 18:00 UTC``: a sync time, to the minute."""
    moment = moment.astimezone(UTC)
    return f"{plain_date(moment)}, {moment:%H:%M} UTC"


# --- the checks -----------------------------------------------------------------------------


def _signature_ok(signed: SignedCompact, key: SyncedKey) -> bool:
    try:
        VerifyKey(key.public_key).verify(signed.signed_bytes, signed.signature)
        return True
    except (BadSignatureError, ValueError):
        return False


def _key_check(key: SyncedKey, issued_at: datetime) -> OfflineCheck:
    if key.revoked is not None and issued_at >= key.revoked:
        return OfflineCheck(
            "key",
            False,
            f"signed with the key {key.id}, reported compromised on {plain_date(key.revoked)}, "
            f"on or after that day ({plain_date(issued_at)}): signatures from then on are "
            "refused",
        )
    if key.expires is not None and issued_at > key.expires:
        return OfflineCheck(
            "key",
            False,
            f"signed with the key {key.id} on {plain_date(issued_at)}, after it was retired "
            f"on {plain_date(key.expires)}",
        )
    return OfflineCheck("key", True, f"signed with {key.id}, in use when it signed")


def _dates_check(cert: CompactCertificate, now: datetime) -> OfflineCheck:
    if now < cert.valid_from:
        return OfflineCheck(
            "dates",
            False,
            f"not valid before {plain_date(cert.valid_from)}",
            OfflineVerdict.NOT_YET_VALID,
        )
    if now > cert.valid_until:
        return OfflineCheck(
            "dates", False, f"expired on {plain_date(cert.valid_until)}", OfflineVerdict.EXPIRED
        )
    return OfflineCheck(
        "dates",
        True,
        f"valid from {plain_date(cert.valid_from)} until {plain_date(cert.valid_until)}",
    )


#: A certreg message list's 2-bit values (issuer/statuslists.py): 0 valid, 1 suspended,
#: 2 and 3 withdrawn.
_MESSAGE_VALUES = {0: None, 1: OfflineVerdict.SUSPENDED, 2: OfflineVerdict.WITHDRAWN}
_MESSAGE_VALUES[3] = OfflineVerdict.WITHDRAWN
_WORDS = {OfflineVerdict.SUSPENDED: "suspended", OfflineVerdict.WITHDRAWN: "withdrawn"}


def _read_value(synced: SyncedList, status: CompactStatus) -> int:
    """The entry's value in the synced list (checked by the verifier's own reader: list type,
    id, purpose, minimum size, index range). Raises ValueError saying why it cannot be read."""
    from certreg.verifier.compact import reading_form
    from certreg.verifier.statuslist import CERTIFICATE_STATUS_MESSAGES, read_status

    entry: dict[str, Any] = {
        "type": "BitstringStatusListEntry",
        "statusPurpose": status.purpose,
        "statusListIndex": str(status.index),
        "statusListCredential": synced.url,
        "statusSize": status.size,
    }
    if status.size > 1:
        if status.purpose != "message" or status.size != 2:
            raise ValueError(f"a {status.size}-bit {status.purpose} entry is not certreg's")
        entry["statusMessage"] = [dict(m) for m in CERTIFICATE_STATUS_MESSAGES]
    return read_status(reading_form(synced.read()), entry).value


def _status_checks(
    cert: CompactCertificate, body: SyncedBody
) -> tuple[list[OfflineCheck], datetime | None]:
    if not cert.status:
        return [
            OfflineCheck("status", True, "the certificate has no status entry: it can only expire")
        ], None
    checks, fetched = [], []
    for status in cert.status:
        name = f"status ({status.purpose})"
        url = absolute_list(status.list, body.public_url)
        synced = body.lists.get(url)
        if synced is None:
            checks.append(
                OfflineCheck(
                    name,
                    False,
                    f"signature good, but no status list of this body was synced at {url}",
                    OfflineVerdict.UNKNOWN_STATUS,
                )
            )
            continue
        as_of = f"as of {when(synced.fetched)}"
        try:
            value = _read_value(synced, status)
        except Exception as exc:  # a cache edited by hand must not crash the verifier
            checks.append(
                OfflineCheck(
                    name,
                    False,
                    f"the synced status list {url} could not be read ({exc})",
                    OfflineVerdict.UNKNOWN_STATUS,
                )
            )
            continue
        fetched.append(synced.fetched)
        if status.purpose == "message":
            verdict = _MESSAGE_VALUES.get(value)
        elif value:
            purpose_verdicts = {"revocation": OfflineVerdict.WITHDRAWN}
            verdict = purpose_verdicts.get(status.purpose, OfflineVerdict.SUSPENDED)
        else:
            verdict = None
        if verdict is None:
            checks.append(OfflineCheck(name, True, f"not suspended or withdrawn, {as_of}"))
        else:
            checks.append(OfflineCheck(name, False, f"{_WORDS[verdict]}, {as_of}", verdict))
    return checks, (min(fetched) if fetched else None)


# --- the verdict ----------------------------------------------------------------------------


def verify_offline(text: Any, cache: Cache, *, now: datetime | None = None) -> OfflineResult:
    """Verify a QR code's text (``CR1:…``) against ``cache``; see the module's docstring."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    try:
        return _verify(text, cache, now)
    except Exception:  # a bug must never turn into VALID, nor into a traceback for the user
        _log.exception("offline verification failed")
        check = OfflineCheck("payload", False, "the verifier could not process this QR code")
        return OfflineResult(
            OfflineVerdict.INVALID, "INVALID: " + check.reason + ".", [check], checked_at=now
        )


def _verify(text: Any, cache: Cache, now: datetime) -> OfflineResult:
    try:
        signed = decode(text)
    except PayloadError as exc:
        check = OfflineCheck("payload", False, str(exc))
        return OfflineResult(OfflineVerdict.INVALID, f"INVALID: {exc}.", [check], checked_at=now)
    read = OfflineCheck("payload", True, "a certreg certificate payload (CR1)")
    candidates = cache.keys_for(signed.kid)
    if not candidates:
        synced = len(cache.bodies)
        check = OfflineCheck(
            "body",
            False,
            f"the key that signed it (kid {signed.kid.hex()}) is not a key of any of the "
            f"{synced} bodies synced in {cache.folder}",
            OfflineVerdict.UNKNOWN_BODY,
        )
        return OfflineResult(
            OfflineVerdict.UNKNOWN_BODY, f"{NO_DATA}.", [read, check], checked_at=now
        )
    match = next(((b, k) for b, k in candidates if _signature_ok(signed, k)), None)
    if match is None:
        body = candidates[0][0]
        check = OfflineCheck("signature", False, f"{ALTERED} ({body.name})")
        return OfflineResult(
            OfflineVerdict.INVALID, f"INVALID: {ALTERED}.", [read, check], checked_at=now
        )
    body, key = match
    cert = signed.certificate
    checks = [
        read,
        OfflineCheck("signature", True, f"signed by {body.name} ({body.did})"),
        _key_check(key, cert.issued_at),
    ]
    if not checks[-1].ok:
        return OfflineResult(
            OfflineVerdict.INVALID,
            f"INVALID: {checks[-1].reason}.",
            checks,
            body=body,
            checked_at=now,
        )
    checks.append(_dates_check(cert, now))
    status_checks, as_of = _status_checks(cert, body)
    checks += status_checks
    verdict = worst(c.implies for c in checks)
    return OfflineResult(
        verdict,
        _summary(verdict, cert, body, checks, as_of),
        checks,
        certificate=cert,
        body=body,
        as_of=as_of,
        checked_at=now,
    )


def _summary(
    verdict: OfflineVerdict,
    cert: CompactCertificate,
    body: SyncedBody,
    checks: list[OfflineCheck],
    as_of: datetime | None,
) -> str:
    what = (
        f"{cert.holder_name}, {cert.scheme_name or cert.scheme_code}"
        f" ({cert.scheme_code}, version {cert.scheme_version}), certificate {cert.number}, "
        f"issued by {body.name}"
    )
    stamp = f" as of {when(as_of)}" if as_of is not None else ""
    if verdict is OfflineVerdict.VALID:
        return f"VALID{stamp}: {what}, until {plain_date(cert.valid_until)}."
    if verdict is OfflineVerdict.UNKNOWN_STATUS:
        failed = next(c for c in checks if c.implies is verdict)
        return f"UNKNOWN_STATUS: {failed.reason} ({what})."
    if verdict in (OfflineVerdict.SUSPENDED, OfflineVerdict.WITHDRAWN):
        return f"{verdict.value}{stamp}: {what}."
    failed = next(c for c in checks if c.implies is verdict)
    return f"{verdict.value}: {failed.reason} ({what})."

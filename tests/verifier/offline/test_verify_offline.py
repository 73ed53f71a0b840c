"""Offline verification of a certificate's QR payload (verifier/offline/verify.py): the
verdicts of docs/offline.md, each said in words, the status always "as of" the last sync."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from offline_support import NOW, SYNCED_AT, OfflineBody, fixed_clock

from certreg.verifier.offline.cache import Cache
from certreg.verifier.offline.sync import sync
from certreg.verifier.offline.verify import OfflineVerdict, verify_offline


def synced(tmp_path: Path, *bodies: OfflineBody, at: datetime = SYNCED_AT) -> Cache:
    for body in bodies:
        report = sync(tmp_path, body.public_url, fetch=body.fetch, resolver=body.resolver(),
                      clock=fixed_clock(at))  # fmt: skip
        assert report.ok, report.problems
    return Cache.open(tmp_path)


@pytest.mark.parametrize("method", ["key", "web"])
def test_a_synced_body_s_certificate_is_valid_as_of_the_sync(tmp_path: Path, method: str) -> None:
    body = OfflineBody(did_method=method)
    result = verify_offline(body.qr(), synced(tmp_path, body), now=NOW)
    assert result.verdict is OfflineVerdict.VALID, result.summary
    assert result.summary.startswith("VALID as of 28 November 2026, 17:00 UTC: Anna Schmidt")
    assert "certificate CWI-2026-000123-7, issued by Demo Certification Body" in result.summary
    assert result.as_of == SYNCED_AT
    assert result.body is not None and result.body.did == body.did
    assert result.certificate is not None and result.certificate.holder_name == "Anna Schmidt"
    assert result.to_json()["certificate"]["scope"][0]["code"] == "UT2"


@pytest.mark.parametrize(
    ("value", "verdict", "word"),
    [(1, OfflineVerdict.SUSPENDED, "suspended"), (2, OfflineVerdict.WITHDRAWN, "withdrawn"),
     (3, OfflineVerdict.WITHDRAWN, "withdrawn")],
)  # fmt: skip
def test_the_message_list_s_values_say_suspended_or_withdrawn(
    tmp_path: Path, value: int, verdict: OfflineVerdict, word: str
) -> None:
    body = OfflineBody()
    body.bits.set(94567, value)
    result = verify_offline(body.qr(), synced(tmp_path, body), now=NOW)
    assert result.verdict is verdict
    assert result.summary.startswith(f"{verdict.value} as of 28 November 2026, 17:00 UTC")
    assert any(c.reason == f"{word}, as of 28 November 2026, 17:00 UTC" for c in result.checks)


def test_a_suspension_after_the_sync_is_not_seen_until_the_next_sync(tmp_path: Path) -> None:
    body = OfflineBody()
    cache = synced(tmp_path, body)
    body.bits.set(94567, 1)  # suspended after the sync
    stale = verify_offline(body.qr(), cache, now=NOW)
    assert (
        stale.verdict is OfflineVerdict.VALID and "as of 28 November 2026, 17:00" in stale.summary
    )
    later = datetime(2026, 11, 28, 17, 45, tzinfo=UTC)
    fresh = verify_offline(body.qr(), synced(tmp_path, body, at=later), now=NOW)
    assert fresh.verdict is OfflineVerdict.SUSPENDED
    assert fresh.summary.startswith("SUSPENDED as of 28 November 2026, 17:45 UTC")


def test_dates_expired_and_not_yet_valid(tmp_path: Path) -> None:
    body = OfflineBody()
    cache = synced(tmp_path, body)
    old = body.qr(valid_from="2020-01-01T00:00:00Z", valid_until="2023-01-01T00:00:00Z")
    result = verify_offline(old, cache, now=NOW)
    assert result.verdict is OfflineVerdict.EXPIRED
    assert "expired on 1 January 2023" in result.summary
    future = body.qr(valid_from="2027-01-01T00:00:00Z")
    result = verify_offline(future, cache, now=NOW)
    assert result.verdict is OfflineVerdict.NOT_YET_VALID
    assert "not valid before 1 January 2027" in result.summary


def test_a_body_never_synced_is_cannot_tell(tmp_path: Path) -> None:
    synced_body, stranger = OfflineBody(), OfflineBody(public_url="https://other.example")
    result = verify_offline(stranger.qr(), synced(tmp_path, synced_body), now=NOW)
    assert result.verdict is OfflineVerdict.UNKNOWN_BODY
    assert result.summary == "Cannot tell: no data from this body."
    assert result.certificate is None and result.body is None
    empty = verify_offline(stranger.qr(), Cache.open(tmp_path / "nothing"), now=NOW)
    assert empty.verdict is OfflineVerdict.UNKNOWN_BODY


def test_a_payload_replayed_from_another_body_names_that_body_never_the_expected_one(
    tmp_path: Path,
) -> None:
    a = OfflineBody(name="Body A", public_url="https://a.example")
    b = OfflineBody(name="Body B", public_url="https://b.example")
    from_b = b.qr(holder="Bob Other")
    only_a = verify_offline(from_b, synced(tmp_path / "a", a), now=NOW)
    assert only_a.verdict is OfflineVerdict.UNKNOWN_BODY
    assert "Body A" not in only_a.summary
    both = verify_offline(from_b, synced(tmp_path / "ab", a, b), now=NOW)
    assert both.verdict is OfflineVerdict.VALID
    assert both.body is not None and both.body.name == "Body B"
    assert "issued by Body B" in both.summary and "Body A" not in both.summary


def test_a_status_list_not_synced_leaves_the_status_unknown(tmp_path: Path) -> None:
    body = OfflineBody()
    cache = synced(tmp_path, body)
    for synced_body in cache.bodies:
        synced_body.lists.clear()
    result = verify_offline(body.qr(), cache, now=NOW)
    assert result.verdict is OfflineVerdict.UNKNOWN_STATUS
    assert "signature good, but no status list of this body was synced" in result.summary
    assert result.certificate is not None  # the signature verified: the facts are shown


def test_a_valid_signature_by_a_key_revoked_before_it_signed_is_invalid(tmp_path: Path) -> None:
    body = OfflineBody(did_method="web")
    old = body.keys[0]
    body.add_key()
    body.revoke(old, "2026-02-01T00:00:00Z")
    cache = synced(tmp_path, body)
    before = body.qr(signer=old, issued_at=datetime(2026, 1, 15, tzinfo=UTC))
    assert verify_offline(before, cache, now=NOW).verdict is OfflineVerdict.VALID
    after = body.qr(signer=old, issued_at=datetime(2026, 3, 1, tzinfo=UTC))
    result = verify_offline(after, cache, now=NOW)
    assert result.verdict is OfflineVerdict.INVALID
    assert "reported compromised on 1 February 2026" in result.summary
    assert verify_offline(body.qr(), cache, now=NOW).verdict is OfflineVerdict.VALID


def test_a_payload_signed_with_another_key_of_the_same_kid_is_altered(tmp_path: Path) -> None:
    """The kid is a hint, not a proof: a forger can copy it, and the signature then fails."""
    from certreg.verifier.offline import payload

    body, forger = OfflineBody(), OfflineBody()
    cache = synced(tmp_path, body)
    cert = payload.decode(body.qr()).certificate
    forged = payload.encode(cert, forger.key.sign, body.key.public_key.raw)  # body's kid
    result = verify_offline(forged, cache, now=NOW)
    assert result.verdict is OfflineVerdict.INVALID
    assert result.summary == "INVALID: the QR code was altered or is not this body's."

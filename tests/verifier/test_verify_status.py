"""Suspension and withdrawal through the body's signed Bitstring Status Lists, and every way a
status list can fail to be evidence (which must read STATUS_UNKNOWN, never VALID)."""

from __future__ import annotations

import copy
import json

import pytest
from verify_support import (
    DID,
    REVOCATION_INDEX,
    REVOCATION_URL,
    SUSPENSION_INDEX,
    SUSPENSION_URL,
    Body,
    Clock,
    certificate,
    did_key_signer,
)

from certreg.keys.keypair import KeyPair
from certreg.verifier import Verdict, Verifier


@pytest.fixture
def body() -> Body:
    b = Body()
    b.publish_defaults()
    return b


def verify(body: Body, **options):
    return body.verifier(**options).verify_credential(body.sign(certificate()))


def test_suspended(body: Body) -> None:
    body.publish_defaults(suspended=True)
    result = verify(body, trusted_issuers=[DID])
    assert result.verdict is Verdict.SUSPENDED
    assert result.summary == (
        "Suspended: Jane Doe's certification CWI (certificate CB-7K3M-9QX2-4) from Example "
        "Certification Body is suspended, according to the issuer's suspension list published "
        "1 December 2026."
    )
    assert result.facts is not None  # the employer sees *what* is suspended


def test_withdrawn(body: Body) -> None:
    body.publish_defaults(revoked=True)
    result = verify(body)
    assert result.verdict is Verdict.WITHDRAWN
    assert result.summary.startswith("Withdrawn: Jane Doe's certification CWI")
    assert "withdrawn, according to the issuer's revocation list" in result.summary


def test_withdrawn_outranks_suspended_and_expired(body: Body) -> None:
    body.publish_defaults(revoked=True, suspended=True)
    result = body.verifier().verify_credential(
        body.sign(certificate()), now=Clock().now.replace(year=2030)
    )
    assert result.verdict is Verdict.WITHDRAWN
    implied = {c.implies for c in result.checks}
    assert {Verdict.WITHDRAWN, Verdict.SUSPENDED, Verdict.EXPIRED} <= implied


def test_other_bits_do_not_affect_this_certificate(body: Body) -> None:
    body.publish(REVOCATION_URL, "revocation", set_bits=(REVOCATION_INDEX + 1,))
    body.publish(SUSPENSION_URL, "suspension", set_bits=(SUSPENSION_INDEX - 1,))
    assert verify(body).verdict is Verdict.VALID


def test_unreachable_list(body: Body) -> None:
    del body.lists[SUSPENSION_URL]
    result = verify(body)
    assert result.verdict is Verdict.STATUS_UNKNOWN
    assert "could not be fetched" in result.summary
    assert result.summary.startswith("Status unknown:")
    assert result.summary.endswith("Ask the issuer before relying on it.")


def test_unreachable_list_does_not_hide_a_withdrawal(body: Body) -> None:
    body.publish_defaults(revoked=True)
    del body.lists[SUSPENSION_URL]
    assert verify(body).verdict is Verdict.WITHDRAWN


def test_list_signed_by_another_issuer(body: Body) -> None:
    other = did_key_signer()
    body.publish(
        SUSPENSION_URL, "suspension", issuer=other.verification_method.split("#")[0], signer=other
    )
    result = verify(body)
    assert result.verdict is Verdict.STATUS_UNKNOWN
    assert "not by the certificate's issuer" in result.summary


def test_list_naming_the_issuer_but_signed_with_a_foreign_key(body: Body) -> None:
    body.publish(SUSPENSION_URL, "suspension", signer=KeyPair.generate(f"{DID}#key-1"))
    result = verify(body)
    assert result.verdict is Verdict.STATUS_UNKNOWN
    assert "not properly signed" in result.summary


def test_tampered_list_cannot_clear_a_suspension(body: Body) -> None:
    body.publish_defaults(suspended=True)
    clean = Body().publish(SUSPENSION_URL, "suspension")
    forged = copy.deepcopy(body.lists[SUSPENSION_URL])
    forged["credentialSubject"]["encodedList"] = clean["credentialSubject"]["encodedList"]
    body.lists[SUSPENSION_URL] = forged
    assert verify(body).verdict is Verdict.STATUS_UNKNOWN


def test_unsigned_list(body: Body) -> None:
    del body.lists[SUSPENSION_URL]["proof"]
    assert verify(body).verdict is Verdict.STATUS_UNKNOWN


def test_expired_list(body: Body) -> None:
    body.publish(SUSPENSION_URL, "suspension", valid_until="2026-12-31T00:00:00Z")
    result = verify(body)  # the clock says 1 January 2027
    assert result.verdict is Verdict.STATUS_UNKNOWN
    assert "expired on 31 December 2026" in result.summary


def test_list_not_yet_valid(body: Body) -> None:
    body.publish(SUSPENSION_URL, "suspension", valid_from="2027-02-01T00:00:00Z")
    assert verify(body).verdict is Verdict.STATUS_UNKNOWN


def test_list_not_gzip(body: Body) -> None:
    unsigned = copy.deepcopy(body.lists[SUSPENSION_URL])
    del unsigned["proof"]
    unsigned["credentialSubject"]["encodedList"] = "u" + "A" * 40  # base64url, not gzip
    body.lists[SUSPENSION_URL] = body.sign(unsigned)
    result = verify(body)
    assert result.verdict is Verdict.STATUS_UNKNOWN
    assert "GZIP" in result.summary


def test_list_for_another_url_is_refused(body: Body) -> None:
    body.lists[SUSPENSION_URL] = body.lists[REVOCATION_URL]
    result = verify(body)
    assert result.verdict is Verdict.STATUS_UNKNOWN


@pytest.mark.parametrize("raw", [b"not json", b"[]", b"\xff\xfe", b'{"a": 1, "a": 2}'])
def test_list_that_is_not_a_json_object(body: Body, raw: bytes) -> None:
    lists = dict(body.lists)

    def fetch(url: str) -> bytes:
        return raw if url == SUSPENSION_URL else json.dumps(lists[url]).encode()

    v = Verifier(transport=body.transport, status_fetcher=fetch, clock=Clock())
    result = v.verify_credential(body.sign(certificate()))
    assert result.verdict is Verdict.STATUS_UNKNOWN


def test_unsupported_status_method(body: Body) -> None:
    doc = certificate()
    doc["credentialStatus"][1] = {
        "id": "https://cb.example/status/other#1",
        "type": "https://cb.example/vocab#OtherStatusMethod",
    }
    result = body.verifier().verify_credential(body.sign(doc))
    assert result.verdict is Verdict.STATUS_UNKNOWN
    assert "not supported" in result.summary


def test_fetcher_exceptions_never_escape(body: Body) -> None:
    def broken(url: str) -> bytes:
        raise RuntimeError("disk on fire")

    v = Verifier(transport=body.transport, status_fetcher=broken, clock=Clock())
    assert v.verify_credential(body.sign(certificate())).verdict is Verdict.STATUS_UNKNOWN


def test_status_not_checked_is_valid_with_a_prominent_warning(body: Body) -> None:
    body.publish_defaults(suspended=True)
    v = Verifier(transport=body.transport, check_status=False, clock=Clock())
    result = v.verify_credential(body.sign(certificate()))
    assert result.verdict is Verdict.VALID
    assert "NOT checked" in result.summary
    status = [c for c in result.checks if c.name == "status"]
    assert status and status[0].skipped
    assert result.to_json()["checks"][-1]["skipped"] is True


def test_cache_reuses_a_verified_list_until_its_ttl(body: Body) -> None:
    body.publish(SUSPENSION_URL, "suspension", ttl_ms=60_000)
    fetched: list[str] = []

    def fetch(url: str) -> dict:
        fetched.append(url)
        return body.lists[url]

    clock = Clock()
    v = Verifier(transport=body.transport, status_fetcher=fetch, clock=clock)
    signed = body.sign(certificate())
    assert v.verify_credential(signed).verdict is Verdict.VALID
    body.publish_defaults(suspended=True)  # the body suspends; the verifier has a fresh copy
    clock.advance(seconds=59)
    assert v.verify_credential(signed).verdict is Verdict.VALID
    assert fetched.count(SUSPENSION_URL) == 1
    clock.advance(seconds=2)  # the ttl has run out
    assert v.verify_credential(signed).verdict is Verdict.SUSPENDED
    assert fetched.count(SUSPENSION_URL) == 2


def test_cache_never_outlives_the_lists_valid_until(body: Body) -> None:
    body.publish(SUSPENSION_URL, "suspension", ttl_ms=3_600_000, valid_until="2027-01-01T00:10:00Z")
    clock = Clock()
    v = body.verifier(clock)
    signed = body.sign(certificate())
    assert v.verify_credential(signed).verdict is Verdict.VALID
    clock.advance(minutes=11)
    result = v.verify_credential(signed)
    assert result.verdict is Verdict.STATUS_UNKNOWN  # refetched, and the list has expired


def test_list_without_ttl_is_reused_for_five_minutes(body: Body) -> None:
    fetched: list[str] = []

    def fetch(url: str) -> dict:
        fetched.append(url)
        return body.lists[url]

    clock = Clock()
    v = Verifier(transport=body.transport, status_fetcher=fetch, clock=clock)
    signed = body.sign(certificate())
    v.verify_credential(signed)
    clock.advance(seconds=299)
    v.verify_credential(signed)
    assert len(fetched) == 2
    clock.advance(seconds=2)
    v.verify_credential(signed)
    assert len(fetched) == 4


def test_message_purpose_is_reported_but_does_not_change_the_verdict(body: Body) -> None:
    from certreg.verifier.statuslist import Bitstring, status_list_credential

    url = "https://cb.example/status/message/1"
    messages = [
        {"status": "0x0", "message": "all good"},
        {"status": "0x1", "message": "note"},
        {"status": "0x2", "message": "see register"},
        {"status": "0x3", "message": "x"},
    ]
    bits = Bitstring(status_size=2)
    bits.set(7, 2)
    body.lists[url] = body.sign(
        status_list_credential(
            id=url, issuer=DID, purpose="message", bitstring=bits, valid_from="2026-12-01T00:00:00Z"
        )
    )
    doc = certificate()
    doc["credentialStatus"].append(
        {
            "id": f"{url}#7",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "message",
            "statusListIndex": "7",
            "statusListCredential": url,
            "statusSize": 2,
            "statusMessage": messages,
        }
    )
    result = body.verifier().verify_credential(body.sign(doc))
    assert result.verdict is Verdict.VALID, result.to_json()
    assert any(c.reason == "message status: see register" for c in result.checks)


def test_untrusted_issuer_lists_are_not_fetched(body: Body) -> None:
    fetched: list[str] = []
    v = Verifier(
        transport=body.transport,
        status_fetcher=lambda u: fetched.append(u) or {},
        trusted_issuers=["did:web:other.example"],
        clock=Clock(),
    )
    assert v.verify_credential(body.sign(certificate())).verdict is Verdict.UNTRUSTED_ISSUER
    assert fetched == []

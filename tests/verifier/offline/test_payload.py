"""The CR1 payload format (verifier/offline/payload.py): what is signed reads back the same,
and the signature covers exactly the bytes RFC 9052's Sig_structure names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from certreg.issuer.credential import (
    Body,
    NormativeReference,
    Scheme,
    ScopeItem,
    certification_credential,
)
from certreg.keys.keypair import KeyPair
from certreg.verifier.offline import payload

DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
SCHEME = Scheme(
    id="https://cb.example/schemes/cwi/1",
    code="CWI",
    name="Certified Welding Inspector",
    version="1",
    description="Inspection of fusion welds.",
    criteria="Examinations.",
    normative_reference=NormativeReference("ISO 9712:2021"),
)
STATUS = {
    "id": "https://cb.example/status/message-1#94567",
    "type": "BitstringStatusListEntry",
    "statusPurpose": "message",
    "statusListIndex": "94567",
    "statusSize": 2,
    "statusListCredential": "https://cb.example/status/message-1",
}


def credential(name: str = "Anna Schmidt", items: int = 1) -> dict:
    scope = [
        ScopeItem(f"UT{i}", f"Ultrasonic testing, level {i}", "Plates over 8 mm" if i else None)
        for i in range(items)
    ]
    return certification_credential(
        body=Body(did=DID, name="Demo Certification Body"),
        scheme=SCHEME,
        holder_name=name,
        certificate_number="CWI-2026-000123-7",
        scope=scope,
        valid_from="2026-01-01T00:00:00Z",
        valid_until="2029-01-01T00:00:00Z",
        status_entries=[STATUS],
    )


def test_a_signed_payload_reads_back_with_the_certificate_s_facts() -> None:
    key = KeyPair.generate()
    signed_at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    text = payload.sign_compact(
        credential(items=2), key.sign, key.public_key.raw,
        issued_at=signed_at, public_url="https://cb.example",
    )  # fmt: skip
    assert text.startswith("CR1:") and len(text) <= payload.QR_V13_M_CHARACTERS
    read = payload.decode(text)
    cert = read.certificate
    assert (cert.holder_name, cert.number) == ("Anna Schmidt", "CWI-2026-000123-7")
    assert (cert.scheme_code, cert.scheme_version) == ("CWI", "1")
    assert [(i.code, i.label, i.conditions) for i in cert.scope] == [
        ("UT0", "Ultrasonic testing, level 0", None),
        ("UT1", "Ultrasonic testing, level 1", "Plates over 8 mm"),
    ]
    assert cert.valid_from == datetime(2026, 1, 1, tzinfo=UTC)
    assert cert.valid_until == datetime(2029, 1, 1, tzinfo=UTC)
    assert cert.issued_at == signed_at
    assert cert.status == (payload.CompactStatus("message", "status/message-1", 94567, 2),)
    assert (
        payload.absolute_list(cert.status[0].list, "https://cb.example")
        == (STATUS["statusListCredential"])
    )
    assert read.kid == payload.key_id(key.public_key.raw)
    assert key.public_key.verify(read.signed_bytes, read.signature)
    assert not KeyPair.generate().public_key.verify(read.signed_bytes, read.signature)


def test_labels_go_first_when_the_payload_outgrows_a_version_13_code() -> None:
    key = KeyPair.generate()
    long_name = "Maria de los Ángeles Fernández-Villaverde y Ruiz de Alarcón"
    text = payload.sign_compact(
        credential(long_name, items=3), key.sign, key.public_key.raw,
        issued_at=datetime.now(UTC), public_url="https://cb.example",
    )  # fmt: skip
    cert = payload.decode(text).certificate
    assert len(text) <= payload.QR_V13_M_CHARACTERS
    assert [i.label for i in cert.scope] == [None, None, None]
    assert [i.conditions for i in cert.scope] == [None, "Plates over 8 mm", "Plates over 8 mm"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("https://cb.example/c/CWI-1", "does not start CR1:"),
        ("CR1:", "cut short"),
        ("CR1:abc", "not valid base45"),
        ("CR1:" + "A" * 5000, "longer than any QR code"),
    ],
)
def test_what_is_not_a_payload_is_refused_in_words(text: str, reason: str) -> None:
    with pytest.raises(payload.PayloadError, match=reason):
        payload.decode(text)


def test_a_cut_payload_is_refused() -> None:
    key = KeyPair.generate()
    text = payload.sign_compact(
        credential(), key.sign, key.public_key.raw, issued_at=datetime.now(UTC)
    )
    for cut in (len(text) - 3, len(text) // 2, 10):
        with pytest.raises(payload.PayloadError):
            payload.decode(text[:cut])

"""Builders shared by the verifier tests (no tests here: tests/verifier/test_verify_fixtures.py
checks them): a certification body with a did:web identity and real keys, its signed status
lists, sample credentials, and a clock the tests can move.

The body's DID documents and status lists are served through the verifier's designed
injection points (a ``transport`` callable and a dict of URL -> list credential): real
signatures and real bitstrings, no network and no mocked library.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import factories

from certreg.keys.did import KeyRecord, build_did_web_document, did_key_verification_method
from certreg.keys.keypair import KeyPair
from certreg.verifier import Verifier
from certreg.verifier.dataintegrity import add_proof
from certreg.verifier.statuslist import Bitstring, status_list_credential

DID = "did:web:cb.example"
REVOCATION_URL = "https://cb.example/status/revocation/1"
SUSPENSION_URL = "https://cb.example/status/suspension/1"
REVOCATION_INDEX = 40123
SUSPENSION_INDEX = 9321
JAN_2027 = datetime(2027, 1, 1, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Clock(factories.Clock):
    """The shared clock the test moves by hand (tests/factories.py), starting on 1 January
    2027 unless told otherwise: the verifier tests' credentials are valid then."""

    def __init__(self, now: datetime = JAN_2027) -> None:
        super().__init__(now)


@dataclass
class Body:
    """A certification body: did:web DID, key history, published status lists."""

    did: str = DID
    signers: dict[str, KeyPair] = field(default_factory=dict)
    records: dict[str, KeyRecord] = field(default_factory=dict)
    lists: dict[str, Any] = field(default_factory=dict)
    fetches: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.add_key("key-1")

    def add_key(
        self,
        name: str,
        *,
        created: str = "2025-01-01T00:00:00Z",
        expires: str | None = None,
        revoked: str | None = None,
    ) -> KeyPair:
        vm = f"{self.did}#{name}"
        kp = self.signers.get(vm) or KeyPair.generate(vm)
        self.signers[vm] = kp
        self.records[vm] = KeyRecord(vm, kp.public_multibase, created, expires, revoked)
        return kp

    @property
    def key(self) -> KeyPair:
        return self.signers[f"{self.did}#key-1"]

    def document(self) -> dict[str, Any]:
        return build_did_web_document(self.did, list(self.records.values()))

    def transport(self, url: str) -> bytes:
        """The did:web transport: serves this body's DID document (and nothing else)."""
        self.fetches.append(url)
        host = self.did.removeprefix("did:web:")
        if url != f"https://{host}/.well-known/did.json":
            raise LookupError(f"{url} not found")
        return json.dumps(self.document()).encode()

    def publish(
        self,
        url: str,
        purpose: str,
        *,
        set_bits: tuple[int, ...] = (),
        valid_from: str = "2026-12-01T00:00:00Z",
        valid_until: str | None = None,
        ttl_ms: int | None = None,
        issuer: str | None = None,
        signer: KeyPair | None = None,
    ) -> dict[str, Any]:
        bits = Bitstring()
        for index in set_bits:
            bits.set(index, 1)
        unsigned = status_list_credential(
            id=url,
            issuer=issuer or self.did,
            purpose=purpose,
            bitstring=bits,
            valid_from=valid_from,
            valid_until=valid_until,
            ttl_ms=ttl_ms,
        )
        signed = add_proof(unsigned, signer or self.key)
        self.lists[url] = signed
        return signed

    def publish_defaults(self, *, revoked: bool = False, suspended: bool = False) -> None:
        self.publish(REVOCATION_URL, "revocation", set_bits=(REVOCATION_INDEX,) if revoked else ())
        self.publish(
            SUSPENSION_URL, "suspension", set_bits=(SUSPENSION_INDEX,) if suspended else ()
        )

    def sign(
        self, document: dict[str, Any], signer: KeyPair | None = None, **options: Any
    ) -> dict[str, Any]:
        return add_proof(document, signer or self.key, **options)

    def verifier(self, clock: Clock | None = None, **options: Any) -> Verifier:
        return Verifier(
            transport=self.transport, status_fetcher=self.lists, clock=clock or Clock(), **options
        )


def certificate(issuer: str = DID, *, status: bool = True, **changes: Any) -> dict[str, Any]:
    """The unsigned sample certificate of the verifier brief (Jane Doe, CWI, UT level 2)."""
    doc: dict[str, Any] = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": "urn:uuid:2f0d9a4e-6c1b-4a53-9a55-2b7f3c1d0e11",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Certified Welding Inspector",
        "issuer": {
            "id": issuer,
            "type": ["Profile"],
            "name": "Example Certification Body",
            "url": "https://cb.example",
        },
        "validFrom": "2026-01-15T00:00:00Z",
        "validUntil": "2029-01-14T23:59:59Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "name",
                    "hashed": False,
                    "identityHash": "Jane Doe",
                }
            ],
            "licenseNumber": "CB-7K3M-9QX2-4",
            "achievement": {
                "id": "https://cb.example/schemes/cwi",
                "type": ["Achievement"],
                "achievementType": "Certification",
                "name": "Certified Welding Inspector",
                "humanCode": "CWI",
                "version": "3",
                "description": "Welding inspection.",
                "criteria": {"narrative": "Pass the CWI examination."},
                "alignment": [
                    {
                        "type": ["Alignment"],
                        "targetType": "ext:NormativeReference",
                        "targetName": "ISO 9712:2021",
                        "targetUrl": "https://www.iso.org/standard/74629.html",
                    }
                ],
                "resultDescription": [
                    {
                        "id": "https://cb.example/schemes/cwi#scope-UT2",
                        "type": ["ResultDescription"],
                        "name": "Ultrasonic testing, level 2",
                        "resultType": "Status",
                    }
                ],
            },
            "result": [
                {
                    "type": ["Result"],
                    "resultDescription": "https://cb.example/schemes/cwi#scope-UT2",
                    "status": "Completed",
                    "value": "Limited to welds in steel, 6-40 mm",
                }
            ],
        },
    }
    if status:
        doc["credentialStatus"] = [
            {
                "id": f"{REVOCATION_URL}#{REVOCATION_INDEX}",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": str(REVOCATION_INDEX),
                "statusListCredential": REVOCATION_URL,
            },
            {
                "id": f"{SUSPENSION_URL}#{SUSPENSION_INDEX}",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "suspension",
                "statusListIndex": str(SUSPENSION_INDEX),
                "statusListCredential": SUSPENSION_URL,
            },
        ]
    doc.update(changes)
    return copy.deepcopy(doc)


def did_key_signer() -> KeyPair:
    kp = KeyPair.generate()
    return kp.with_verification_method(did_key_verification_method(kp.public_multibase))

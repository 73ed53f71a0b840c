"""A verifier with both status lists already fetched and cached, for the proof bench."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from certreg.keys.did import did_key_from_public
from certreg.keys.keypair import KeyPair
from certreg.verifier import VerificationResult, Verifier
from certreg.verifier.issuing import Bitstring, add_proof, status_list_credential


def verifier_with_cached_lists(pair: KeyPair) -> Callable[[Any], VerificationResult]:
    issuer = did_key_from_public(pair.public_multibase)
    lists = {}
    for purpose in ("revocation", "suspension"):
        url = f"https://cb.example/status/{purpose}/1"
        unsigned = status_list_credential(
            id=url,
            issuer=issuer,
            purpose=purpose,
            bitstring=Bitstring(),
            valid_from="2026-01-01T00:00:00Z",
            valid_until="2099-01-01T00:00:00Z",
        )
        lists[url] = add_proof(unsigned, pair)
    verifier = Verifier(trusted_issuers={issuer}, status_fetcher=lists)
    return verifier.verify_credential

"""The body's record of what it signed, in the public register: ``issued_credentials``.

A certificate is the body's only if a certification decision made it: one signed with the body's
key by anything else (a stolen key, a hand-made signature) is not one of its certificates,
whatever its proof says. ``certreg serve`` checks that against issuer.db; the keyless public
site against this table, which the issuer pushes: each certificate credential's id and the
SHA-256 of its proof (:func:`proof_digest`). Neither names anybody (ids are random
``urn:uuid:``); the table is hidden from Datasette all the same.

:class:`RecordedVerifier` applies the check, in the same words on both servers: each gives it
its own way of asking whether a credential is recorded (:func:`register_lookup` here, issuer.db
on ``certreg serve``).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from certreg.verifier import Verifier
from certreg.verifier.result import Check, Verdict, VerificationResult
from certreg.verifier.verify import load_document

__all__ = ["RecordedVerifier", "proof_digest", "register_lookup"]


def proof_digest(document: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a credential's proofs, as canonical JSON (sorted keys, no spaces).

    The proofs are taken as the set JSON-LD reads: one proof written as an object or as a
    one-element array, and several in any order, are the same signed document, so they give
    the same digest (a holder's wallet may rewrite either way)."""
    proof = document.get("proof")
    proofs = proof if isinstance(proof, list) else [proof]
    items = sorted(json.dumps(p, sort_keys=True, separators=(",", ":")) for p in proofs)
    return hashlib.sha256(("[" + ",".join(items) + "]").encode("utf-8")).hexdigest()


class RecordedVerifier(Verifier):
    """A verifier that also asks the body's records whether it signed a certificate that
    verifies as the body's (``own_did``): one it has no record of was signed with the body's key
    without a certification decision (a stolen key, a hand-made signature), and is INVALID,
    with the reason, whatever its proof says.

    ``is_recorded(document)`` answers from the caller's records (register.db on the keyless
    site, issuer.db on ``certreg serve``); ``body_name()`` names the body in the reason."""

    def __init__(
        self,
        *,
        own_did: str,
        body_name: Callable[[], str],
        is_recorded: Callable[[Mapping[str, Any]], bool],
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self._own_did = own_did
        self._body_name = body_name
        self._is_recorded = is_recorded

    def verify_credential(
        self, credential: Any, *, now: datetime | None = None, **options: Any
    ) -> VerificationResult:
        # options: e.g. the VC API's verify options (challenge, domain, proof purpose).
        result = super().verify_credential(credential, now=now, **options)
        if (
            result.facts is None
            or result.verdict is Verdict.INVALID
            or result.issuer != self._own_did
        ):
            return result
        try:
            # A dict was checked by the verifier already (re-checking it costs ~0.8 ms).
            document = credential if isinstance(credential, dict) else load_document(credential)
        except ValueError:
            return result  # cannot happen: it verified; the verifier's answer stands
        if self._is_recorded(document):
            return result
        check = Check(
            "issuer's records",
            False,
            f"{self._body_name()} has no record of issuing this certificate "
            f"(credential {document.get('id')!r}): it was signed without a certification "
            "decision, so it is not one of its certificates",
        )
        return VerificationResult(
            Verdict.INVALID,
            f"Invalid: {check.reason}.",
            [*result.checks, check],
            result.issuer,
            None,
            result.checked_at,
        )


def register_lookup(
    connect: Callable[[], sqlite3.Connection],
) -> Callable[[Mapping[str, Any]], bool]:
    """``is_recorded`` for the keyless site: the credential's id and proof digest are in
    register.db's ``issued_credentials`` (``connect`` opens register.db)."""

    def is_recorded(document: Mapping[str, Any]) -> bool:
        credential_id = document.get("id")
        if not isinstance(credential_id, str):
            return False
        conn = connect()
        try:
            row = conn.execute(
                "SELECT proof_sha256 FROM issued_credentials WHERE id = ?", [credential_id]
            ).fetchone()
        except sqlite3.OperationalError:  # a register pushed by an older certreg
            row = None
        finally:
            conn.close()
        return row is not None and row[0] == proof_digest(document)

    return is_recorded

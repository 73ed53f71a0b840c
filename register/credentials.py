"""The body's record of what it signed, in the public register: ``issued_credentials``.

A certificate is the body's only if a certification decision made it: one signed with the body's
key by anything else (a stolen key, a hand-made signature) is not one of its certificates,
whatever its proof says. ``certreg serve`` checks that against issuer.db; the keyless public
site against this table, which the issuer pushes: each certificate credential's id and the
SHA-256 of its proof (:func:`proof_digest`). Neither names anybody (ids are random
``urn:uuid:``); the table is hidden from Datasette all the same.

:func:`recorded_verifier` makes the site's verifier apply the check, in the same words as
``certreg serve``'s.
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

__all__ = ["RecordedVerifier", "proof_digest"]


def proof_digest(document: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a credential's proof, as canonical JSON (sorted keys, no spaces)."""
    proof = json.dumps(document.get("proof"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(proof.encode("utf-8")).hexdigest()


class RecordedVerifier(Verifier):
    """A verifier that also asks register.db whether the body signed a certificate that
    verifies as the body's (``own_did``): one it has no record of is INVALID, with the reason.
    ``connect`` opens register.db; ``body_name`` names the body in the reason."""

    def __init__(
        self,
        *,
        own_did: str,
        body_name: str,
        connect: Callable[[], sqlite3.Connection],
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self._own_did = own_did
        self._body_name = body_name
        self._connect = connect

    def verify_credential(
        self, credential: Any, *, now: datetime | None = None, **options: Any
    ) -> VerificationResult:
        result = super().verify_credential(credential, now=now, **options)
        if (
            result.facts is None
            or result.verdict is Verdict.INVALID
            or result.issuer != self._own_did
        ):
            return result
        try:
            document = credential if isinstance(credential, dict) else load_document(credential)
        except ValueError:
            return result  # cannot happen: it verified; the verifier's answer stands
        if self._recorded(document):
            return result
        check = Check(
            "issuer's records",
            False,
            f"{self._body_name} has no record of issuing this certificate "
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

    def _recorded(self, document: dict[str, Any]) -> bool:
        credential_id = document.get("id")
        if not isinstance(credential_id, str):
            return False
        conn = self._connect()
        try:
            row = conn.execute(
                "SELECT proof_sha256 FROM issued_credentials WHERE id = ?", [credential_id]
            ).fetchone()
        except sqlite3.OperationalError:  # a register pushed by an older certreg
            row = None
        finally:
            conn.close()
        return row is not None and row[0] == proof_digest(document)

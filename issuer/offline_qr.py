"""The offline QR payload of each certificate the body signs (issue 14).

A certificate credential is signed with a second, compact form of its facts beside it: the CR1
text of :mod:`certreg.verifier.offline.payload` (CWT in a COSE_Sign1, zlib, base45), which a
phone verifies with no network against the body's keys synced beforehand. It is signed right
after the credential, by the same key, in the same transaction, and stored in issuer.db
``credentials.compact``; wherever a certificate credential is signed (a grant, bulk issuance's
workers, every new revision) this module is called, never for the VC API's generic signing
(that credential is not a certificate of a decision).

The payload restates a credential already decided and signed: it adds no fact, so signing it
again later (:func:`backfill`, for certificates signed before this existed) is a re-encoding,
not a decision. Its ``iat`` is the credential's own proof ``created`` when signed with it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from certreg.issuer.db import transaction
from certreg.verifier.offline.payload import sign_compact

if TYPE_CHECKING:
    from certreg.issuer.service import CertificationBody

__all__ = ["backfill", "missing", "payload_for", "public_key_of"]


def public_key_of(signer: Any) -> bytes | None:
    """The raw Ed25519 public key of ``signer`` (a :class:`certreg.keys.keypair.KeyPair`), or
    None for a signer that does not say it (a test's bare signing function): its credentials
    then get no payload, which :func:`backfill` can add later with the body's key."""
    key = getattr(signer, "public_key", None)
    raw = getattr(key, "raw", None)
    return raw if isinstance(raw, bytes) and len(raw) == 32 else None


def _issued_at(credential: Mapping[str, Any]) -> datetime:
    """When the credential was signed (its proof's ``created``), else now."""
    proof = credential.get("proof")
    proofs = proof if isinstance(proof, list) else [proof]
    for item in proofs:
        created = item.get("created") if isinstance(item, Mapping) else None
        if isinstance(created, str):
            try:
                parsed = datetime.fromisoformat(created.replace("Z", "+00:00"))
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.now(UTC)


def payload_for(
    credential: Mapping[str, Any],
    signer: Any,
    public_url: str,
    *,
    issued_at: datetime | None = None,
) -> str | None:
    """The CR1 text of a signed certificate credential, signed by ``signer`` (the key that
    signed the credential); None if the signer does not give its public key. A credential that
    is not a certificate raises ``PayloadError``: every caller passes a certificate."""
    raw = public_key_of(signer)
    if raw is None:
        return None
    return sign_compact(
        credential,
        signer.sign,
        raw,
        issued_at=issued_at or _issued_at(credential),
        public_url=public_url,
    )


def missing(body: CertificationBody) -> list[tuple[str, str]]:
    """(credential id, certificate number) of every current certificate credential without a
    payload."""
    return [
        (str(i), str(n))
        for i, n in body.db.execute(
            "SELECT cr.id, c.number FROM credentials cr "
            "JOIN certifications c ON c.id = cr.certification_id "
            "WHERE cr.state = 'current' AND cr.compact IS NULL ORDER BY c.number"
        )
    ]


def backfill(body: CertificationBody, *, batch: int = 200) -> list[str]:
    """Sign the payload of every current certificate credential that has none, with the body's
    current key (``iat`` now: the moment it is signed), ``batch`` per transaction; return the
    numbers filled. The register is told through the body's ``on_change`` hook, like after a
    decision. Superseded and revoked credentials are left as they are: no page shows them."""
    todo = missing(body)
    signer = body.signer
    if public_key_of(signer) is None:
        raise ValueError("this signer does not give its public key: cannot sign payloads")
    public_url = str(body.info["public_url"])
    now = body.clock().astimezone(UTC)
    done: list[str] = []
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        with transaction(body.db):
            for credential_id, number in chunk:
                row = body.db.execute(
                    "SELECT document FROM credentials WHERE id = ? AND compact IS NULL",
                    [credential_id],
                ).fetchone()
                if row is None:  # filled meanwhile (another process)
                    continue
                text = payload_for(json.loads(row[0]), signer, public_url, issued_at=now)
                body.db.execute(
                    "UPDATE credentials SET compact = ? WHERE id = ?", [text, credential_id]
                )
                done.append(number)
        if body.on_change is not None and chunk:
            body.on_change("certification", *[n for _, n in chunk])
    return done

"""Credentials of existing certifications: build, sign and store a new revision; retire
the old ones; set their status bits and re-publish the status lists. A grant's first
credential is signed by the caller (``CertificationBody.grant``, or bulk's workers) and
written by :func:`certreg.issuer.lifecycle.grants.write_grants`."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

from certreg.issuer.credential import (
    Body,
    NormativeReference,
    Scheme,
    ScopeItem,
    certification_credential,
    cryptosuite_of,
    issued_form,
)
from certreg.issuer.lifecycle.base import BodyBase
from certreg.issuer.offline_qr import payload_for
from certreg.issuer.statuslists import status_columns
from certreg.verifier.issuing import add_proof


def credential_scheme(public_url: str, version: dict[str, Any]) -> Scheme:
    """How a scheme version is named in a credential."""
    return Scheme(
        id=f"{public_url}/schemes/{version['scheme_id']}/{version['version']}",
        code=version["code"],
        name=version["name"],
        version=str(version["version"]),
        description=version["description"],
        criteria=version["process"] or version["description"],
        normative_reference=NormativeReference(
            version["normative_reference"], version["normative_reference_url"]
        ),
    )


class Credentials(BodyBase):
    """Credential revisions and status bits of a certification."""

    def _build_credential(
        self,
        *,
        holder_name: str,
        number: str,
        version: dict[str, Any],
        scope: dict[str, str | None],
        valid_from: date,
        valid_until: date,
        entries: list[dict[str, Any]],
        credential_id: str,
    ) -> dict[str, Any]:
        info = self.info
        catalogue = self._scope_catalogue(version["scheme_id"])
        scheme = credential_scheme(info["public_url"], version)
        return certification_credential(
            body=Body(info["did"], info["legal_name"], info["public_url"]),
            scheme=scheme,
            holder_name=holder_name,
            certificate_number=number,
            scope=[
                ScopeItem(code, catalogue[code]["label"], conditions)
                for code, conditions in sorted(scope.items())
            ],
            valid_from=f"{valid_from.isoformat()}T00:00:00Z",
            valid_until=f"{valid_until.isoformat()}T23:59:59Z",
            status_entries=entries,
            credential_id=credential_id,
        )

    def _issue_credential(self, certification_id: str, decision_id: str) -> dict[str, Any]:
        """A new revision for an existing certification, as it stands now."""
        cert = self.db.execute(
            "SELECT number, person_id, scheme_id, scheme_version, valid_from, valid_until "
            "FROM certifications WHERE id = ?",
            [certification_id],
        ).fetchone()
        number, person_id, scheme_id, scheme_version, valid_from, valid_until = cert
        credential_id = f"urn:uuid:{uuid.uuid4()}"
        unsigned = self._build_credential(
            holder_name=self._person(person_id)["full_name"],
            number=number,
            version=self._scheme_version(scheme_id, scheme_version),
            scope=self._active_scope(certification_id),
            valid_from=date.fromisoformat(valid_from),
            valid_until=date.fromisoformat(valid_until),
            entries=self.status_lists.entries_for(credential_id),
            credential_id=credential_id,
        )
        signed = add_proof(unsigned, self.signer, cryptosuite=self.cryptosuite)
        # Its offline QR payload, by the same key, in the same transaction (issue 14).
        compact = payload_for(signed, self.signer, self.info["public_url"])
        return self._store_credential(certification_id, decision_id, signed, compact)

    def _store_credential(
        self,
        certification_id: str,
        decision_id: str,
        signed: dict[str, Any],
        compact: str | None = None,
    ) -> dict[str, Any]:
        """Record a signed certificate in the form it is handed out (issued_form), with its
        offline QR payload; return it."""
        signed = issued_form(signed)
        revision = self.db.execute(
            "SELECT COALESCE(MAX(revision), 0) + 1 FROM credentials WHERE certification_id = ?",
            [certification_id],
        ).fetchone()[0]
        now = self._now()
        self.db.table("credentials").insert(
            {
                "id": signed["id"],
                "certification_id": certification_id,
                "revision": revision,
                "decision_id": decision_id,
                "document": json.dumps(signed, ensure_ascii=False),
                "cryptosuite": cryptosuite_of(signed),
                "state": "current",
                **status_columns(signed["credentialStatus"]),
                "issued_at": now,
                "state_changed_at": now,
                "compact": compact,
            }
        )
        self._event(
            "credential_issued",
            None,
            certification_id,
            {"credential": signed["id"], "revision": revision, "decision": decision_id},
        )
        return signed

    def _retire_credentials(self, certification_id: str, state: str) -> None:
        """The current credential becomes ``state``; revoking also takes the superseded ones,
        which still verify and may claim what is no longer true."""
        which = "state != 'revoked'" if state == "revoked" else "state = 'current'"
        self.db.execute(
            f"UPDATE credentials SET state = ?, state_changed_at = ? "
            f"WHERE certification_id = ? AND {which}",
            [state, self._now(), certification_id],
        )

    def _revoke_all(self, certification_id: str) -> None:
        self._set_bits(certification_id, "revocation", 1)
        self._retire_credentials(certification_id, "revoked")

    def _set_bits(self, certification_id: str, purpose: str, value: int) -> None:
        """Set the bit of every credential of the certification that is not revoked (a
        superseded credential still verifies, so it must show the status too), and
        re-publish the lists that changed, in the caller's transaction."""
        rows = self.db.execute(
            f"SELECT {purpose}_list, {purpose}_index FROM credentials "
            "WHERE certification_id = ? AND state != 'revoked'",
            [certification_id],
        ).fetchall()
        for list_id, index in rows:
            # A two-entry certificate has a list per purpose; a message-form one has one 2-bit
            # entry named in both columns, and mark sets the purpose's bit of it.
            self.status_lists.mark(list_id, index, purpose, bool(value))
        for list_id in {r[0] for r in rows}:
            self.status_lists.publish(list_id)

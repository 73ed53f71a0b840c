"""Reading the record: a certification as it stands, its decisions, its credentials, and
the decisions due."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from certreg.issuer.lifecycle.base import BodyBase
from certreg.issuer.lifecycle.records import Certification, Decision


class Queries(BodyBase):
    """What the record says; nothing here writes."""

    def certification(self, number: str) -> Certification:
        cert = self._cert(number)
        catalogue = self._scope_catalogue(cert["scheme_id"])
        scope = [
            {
                "code": r["scope_code"],
                "label": catalogue[r["scope_code"]]["label"],
                "conditions": r["conditions"],
                "status": r["status"],
                "since": r["since"],
            }
            for r in self.db.query(
                "SELECT * FROM certification_scope WHERE certification_id = ? ORDER BY scope_code",
                [cert["id"]],
            )
        ]
        row = self.db.execute(
            "SELECT document, compact FROM credentials WHERE certification_id = ? "
            "ORDER BY revision DESC LIMIT 1",
            [cert["id"]],
        ).fetchone()
        return Certification(
            id=cert["id"],
            number=cert["number"],
            person_id=cert["person_id"],
            holder_name=self._person(cert["person_id"])["full_name"],
            scheme_id=cert["scheme_id"],
            scheme_version=cert["scheme_version"],
            status=cert["status"],
            status_since=cert["status_since"],
            cycle=cert["cycle"],
            valid_from=cert["valid_from"],
            valid_until=cert["valid_until"],
            suspended_until=cert["suspended_until"],
            scope=scope,
            credential=json.loads(row[0]) if row else None,
            offline_qr=row[1] if row else None,
        )

    def history(self, number: str) -> list[Decision]:
        cert = self._cert(number)
        return [
            Decision(
                id=r["id"],
                type=r["type"],
                certification_id=r["certification_id"],
                decided_by=r["decided_by"],
                decided_at=r["decided_at"],
                effective_date=r["effective_date"],
                reason=r["reason"],
                evidence=r["evidence"],
                details=json.loads(r["details"]),
                appeal_of=r["appeal_of"],
            )
            for r in self.db.query(
                "SELECT * FROM decisions WHERE certification_id = ? ORDER BY decided_at, rowid",
                [cert["id"]],
            )
        ]

    def credentials(self, number: str) -> list[dict[str, Any]]:
        cert = self._cert(number)
        return list(
            self.db.query(
                "SELECT id, revision, state, cryptosuite, issued_at, state_changed_at "
                "FROM credentials WHERE certification_id = ? ORDER BY revision",
                [cert["id"]],
            )
        )

    def due(self) -> list[dict[str, Any]]:
        """Decisions due: suspensions past their deadline (never withdrawn automatically:
        a person decides), and certifications expiring within 60 days."""
        today = self._today()
        out = [
            {
                "number": number,
                "due": "suspension deadline passed: reinstate or withdraw",
                "since": until,
            }
            for number, until in self.db.execute(
                "SELECT number, suspended_until FROM certifications "
                "WHERE status = 'SUSPENDED' AND suspended_until < ? ORDER BY suspended_until",
                [today.isoformat()],
            )
        ]
        out += [
            {"number": number, "due": "expires soon: recertify or let expire", "since": until}
            for number, until in self.db.execute(
                "SELECT number, valid_until FROM certifications WHERE status = 'ACTIVE' "
                "AND valid_until BETWEEN ? AND ? ORDER BY valid_until",
                [today.isoformat(), (today + timedelta(days=60)).isoformat()],
            )
        ]
        return out

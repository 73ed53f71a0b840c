"""Decisions on an existing certification: suspend, reinstate, withdraw, reduce or extend
its scope, recertify, correct -- and expiry, the one automatic transition. Each checks its
rules (:mod:`.rules`) before anything is written, then runs in one transaction that writes
the decision, the new state, the credential and status bits, and the audit events."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from certreg.issuer.db import transaction
from certreg.issuer.lifecycle import rules
from certreg.issuer.lifecycle.credentials import Credentials
from certreg.issuer.lifecycle.errors import enforce
from certreg.issuer.lifecycle.queries import Queries
from certreg.issuer.lifecycle.records import Certification, ScopeGrant, new_id, parse_day


class Decisions(Credentials, Queries):
    """Every decision but the grant (:mod:`.grants`)."""

    def suspend(
        self,
        number: str,
        *,
        decided_by: str,
        reason: str,
        until: str,
        evidence: str = "",
        effective_date: str | None = None,
        appeal_of: str | None = None,
    ) -> Certification:
        cert = self._cert(number)
        self._require(cert, "suspend")
        enforce(rules.reason_given("suspend", reason))
        effective = self._effective(effective_date)
        deadline = parse_day(until, "until")
        version = self._scheme_version(cert["scheme_id"], cert["scheme_version"])
        enforce(rules.suspension_limits(effective, deadline, version["max_suspension_days"]))
        self._check_decision_maker(decided_by, cert["person_id"], "suspend")
        with transaction(self.db):
            decision = self._decide_on(
                cert,
                "suspend",
                decided_by,
                effective=effective,
                evidence=evidence,
                reason=reason,
                details={"until": deadline.isoformat()},
                appeal_of=appeal_of,
            )
            self._set_status(cert, "SUSPENDED", suspended_until=deadline.isoformat())
            self._set_bits(cert["id"], "suspension", 1)
            self._event("certification_suspended", decided_by, number, {"decision": decision})
        self._changed("certification", cert["number"])
        return self.certification(number)

    def reinstate(
        self,
        number: str,
        *,
        decided_by: str,
        reason: str,
        evidence: str = "",
        appeal_of: str | None = None,
    ) -> Certification:
        cert = self._cert(number)
        self._require(cert, "reinstate")
        self._check_decision_maker(decided_by, cert["person_id"], "reinstate")
        with transaction(self.db):
            decision = self._decide_on(
                cert,
                "reinstate",
                decided_by,
                effective=self._today(),
                evidence=evidence,
                reason=reason,
                details={},
                appeal_of=appeal_of,
            )
            self._set_status(cert, "ACTIVE", suspended_until=None)
            self._set_bits(cert["id"], "suspension", 0)
            self._event("certification_reinstated", decided_by, number, {"decision": decision})
        self._changed("certification", cert["number"])
        return self.certification(number)

    def withdraw(
        self,
        number: str,
        *,
        decided_by: str,
        reason: str,
        evidence: str = "",
        appeal_of: str | None = None,
    ) -> Certification:
        cert = self._cert(number)
        self._require(cert, "withdraw")
        enforce(rules.reason_given("withdraw", reason))
        self._check_decision_maker(decided_by, cert["person_id"], "withdraw")
        with transaction(self.db):
            decision = self._decide_on(
                cert,
                "withdraw",
                decided_by,
                effective=self._today(),
                evidence=evidence,
                reason=reason,
                details={},
                appeal_of=appeal_of,
            )
            self._set_status(cert, "WITHDRAWN", suspended_until=None)
            self._revoke_all(cert["id"])
            self._event("certification_withdrawn", decided_by, number, {"decision": decision})
        self._changed("certification", cert["number"])
        return self.certification(number)

    def reduce_scope(
        self,
        number: str,
        *,
        decided_by: str,
        remove: Sequence[str],
        reason: str,
        evidence: str = "",
        appeal_of: str | None = None,
    ) -> Certification:
        cert = self._cert(number)
        self._require(cert, "reduce_scope")
        enforce(rules.scope_reduction(self._active_scope(cert["id"]), list(remove)))
        self._check_decision_maker(decided_by, cert["person_id"], "reduce_scope")
        with transaction(self.db):
            decision = self._decide_on(
                cert,
                "reduce_scope",
                decided_by,
                effective=self._today(),
                evidence=evidence,
                reason=reason,
                details={"removed": list(remove)},
                appeal_of=appeal_of,
            )
            for code in remove:
                self.db.execute(
                    "UPDATE certification_scope SET status = 'removed', since = ? "
                    "WHERE certification_id = ? AND scope_code = ?",
                    [self._today().isoformat(), cert["id"], code],
                )
            # Earlier credentials claim scope no longer held: revoke them all, then issue anew.
            self._revoke_all(cert["id"])
            self._issue_credential(cert["id"], decision)
        self._changed("certification", cert["number"])
        return self.certification(number)

    def extend_scope(
        self,
        number: str,
        *,
        decided_by: str,
        add: Sequence[ScopeGrant],
        evidence: str,
        reason: str = "",
        appeal_of: str | None = None,
    ) -> Certification:
        cert = self._cert(number)
        self._require(cert, "extend_scope")
        held = self._active_scope(cert["id"])
        grants = self._checked_scope(cert["scheme_id"], add, cert["person_id"])
        enforce(rules.scope_extension(held, [g.code for g in grants]))
        enforce(rules.evidence_cited("extend_scope", evidence))
        self._check_decision_maker(decided_by, cert["person_id"], "extend_scope")
        with transaction(self.db):
            decision = self._decide_on(
                cert,
                "extend_scope",
                decided_by,
                effective=self._today(),
                evidence=evidence,
                reason=reason,
                details={"added": [g.__dict__ for g in grants]},
                appeal_of=appeal_of,
            )
            for g in grants:
                self.db.table("certification_scope").upsert(
                    {
                        "certification_id": cert["id"],
                        "scope_code": g.code,
                        "conditions": g.conditions,
                        "status": "active",
                        "since": self._today().isoformat(),
                    },
                    pk=("certification_id", "scope_code"),
                )
            self._retire_credentials(cert["id"], "superseded")
            self._issue_credential(cert["id"], decision)
        self._changed("certification", cert["number"])
        return self.certification(number)

    def recertify(
        self,
        number: str,
        *,
        decided_by: str,
        evidence: str,
        reason: str = "",
        appeal_of: str | None = None,
    ) -> Certification:
        """A new cycle under the same number. Recertifying early keeps the time left: the new
        cycle runs from the old expiry, not from today."""
        cert = self._cert(number)
        self._require(cert, "recertify")
        enforce(rules.evidence_cited("recertify", evidence))
        version = self._scheme_version(cert["scheme_id"])  # the scheme's current version
        old_until = date.fromisoformat(cert["valid_until"])
        window = version["recertification_window_months"]
        enforce(rules.recertification_window(self._today(), old_until, window))
        self._check_decision_maker(decided_by, cert["person_id"], "recertify")
        start = old_until + timedelta(days=1)
        until = rules.last_valid_day(start, version["validity_months"])
        with transaction(self.db):
            decision = self._decide_on(
                cert,
                "recertify",
                decided_by,
                effective=self._today(),
                evidence=evidence,
                reason=reason,
                details={"cycle": cert["cycle"] + 1, "valid_until": until.isoformat()},
                appeal_of=appeal_of,
            )
            self.db.execute(
                "UPDATE certifications SET cycle = cycle + 1, valid_until = ?, "
                "scheme_version = ?, updated_at = ? WHERE id = ?",
                [until.isoformat(), version["version"], self._now(), cert["id"]],
            )
            self._retire_credentials(cert["id"], "superseded")
            self._issue_credential(cert["id"], decision)
        self._changed("certification", cert["number"])
        return self.certification(number)

    def correct(
        self,
        number: str,
        *,
        decided_by: str,
        reason: str,
        holder_name: str | None = None,
        conditions: dict[str, str | None] | None = None,
        appeal_of: str | None = None,
    ) -> Certification:
        """A corrected revision (a misspelt name, a mistyped condition); old one superseded."""
        cert = self._cert(number)
        self._require(cert, "correct")
        enforce(rules.correction(holder_name, conditions, self._active_scope(cert["id"])))
        self._check_decision_maker(decided_by, cert["person_id"], "correct")
        with transaction(self.db):
            changes: dict[str, Any] = {}
            if holder_name is not None:
                self.db.execute(
                    "UPDATE persons SET full_name = ? WHERE id = ?",
                    [holder_name.strip(), cert["person_id"]],
                )
                changes["holder_name"] = True  # the value is private: not in the decision log
            for code, text in (conditions or {}).items():
                self.db.execute(
                    "UPDATE certification_scope SET conditions = ? "
                    "WHERE certification_id = ? AND scope_code = ?",
                    [text, cert["id"], code],
                )
                changes.setdefault("conditions", []).append(code)
            decision = self._decide_on(
                cert,
                "correct",
                decided_by,
                effective=self._today(),
                evidence="",
                reason=reason,
                details=changes,
                appeal_of=appeal_of,
            )
            self._retire_credentials(cert["id"], "superseded")
            self._issue_credential(cert["id"], decision)
            # A suspended certification stays suspended: the new credential's bit follows.
            if cert["status"] == "SUSPENDED":
                self._set_bits(cert["id"], "suspension", 1)
        self._changed("certification", cert["number"])
        return self.certification(number)

    def expire_due(self) -> list[str]:
        """The only automatic transition: certifications past their last valid day expire."""
        today = self._today().isoformat()
        rows = self.db.execute(
            "SELECT number FROM certifications WHERE status IN ('ACTIVE', 'SUSPENDED') "
            "AND valid_until < ? ORDER BY valid_until",
            [today],
        ).fetchall()
        expired = []
        for (number,) in rows:
            cert = self._cert(number)
            with transaction(self.db):
                self._decide_on(
                    cert,
                    "expire",
                    None,
                    effective=date.fromisoformat(cert["valid_until"]) + timedelta(days=1),
                    evidence="",
                    reason=f"validity ended on {cert['valid_until']}",
                    details={},
                    appeal_of=None,
                )
                self._set_status(cert, "EXPIRED", suspended_until=None)
            self._changed("certification", number)
            expired.append(number)
        return expired

    def _decide_on(
        self,
        cert: dict[str, Any],
        type_: str,
        decided_by: str | None,
        *,
        effective: date,
        evidence: str,
        reason: str,
        details: dict[str, Any],
        appeal_of: str | None,
    ) -> str:
        """A decision on an existing certification (its id, holder and scheme from ``cert``)."""
        return self._decide(
            type_,
            cert["id"],
            cert["person_id"],
            cert["scheme_id"],
            decided_by,
            effective,
            evidence,
            reason,
            details,
            appeal_of,
        )

    def _decide(
        self,
        type_: str,
        certification_id: str,
        person_id: str,
        scheme_id: str,
        decided_by: str | None,
        effective: date,
        evidence: str,
        reason: str,
        details: dict[str, Any],
        appeal_of: str | None,
    ) -> str:
        self._check_appeal_of(appeal_of)
        decision_id = new_id()
        now = self._now()
        self.db.table("decisions").insert(
            {
                "id": decision_id,
                "type": type_,
                "certification_id": certification_id,
                "person_id": person_id,
                "scheme_id": scheme_id,
                "decided_by": decided_by,
                "decided_at": now,
                "effective_date": effective.isoformat(),
                "evidence": evidence,
                "reason": reason,
                "details": json.dumps(details, sort_keys=True),
                "appeal_of": appeal_of,
            }
        )
        self._event(
            f"decision_{type_}",
            decided_by,
            certification_id,
            {"decision": decision_id, "effective": effective.isoformat(), "details": details},
        )
        return decision_id

    def _set_status(
        self, cert: dict[str, Any], status: str, *, suspended_until: str | None
    ) -> None:
        now = self._now()
        self.db.execute(
            "UPDATE certifications SET status = ?, status_since = ?, suspended_until = ?, "
            "updated_at = ? WHERE id = ?",
            [status, now, suspended_until, now, cert["id"]],
        )

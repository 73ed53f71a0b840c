"""Grants: a new certification, its number and its first signed credential.

A grant goes in four steps, so that bulk issuance (``issuer.bulk``) can sign outside the
write lock, on both cores, and still share every step with a single grant:

1. **plan**: every rule checked (:mod:`.rules`), nothing written -- :meth:`Grants.plan_grant`
   here, ``issuer.bulk._Planner`` for a CSV (same rules, facts read once per batch);
2. **reserve** the status indices, committed on their own: an index reserved by a run that
   then dies is simply never used, and never reused;
3. **sign**;
4. **write**: :func:`write_grants` writes one grant or a batch with one ``executemany`` per
   table, and :func:`grant_events` says what ``audit.append_many`` appends for each.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from certreg.issuer import audit
from certreg.issuer.credential import cryptosuite_of, issued_form
from certreg.issuer.db import transaction
from certreg.issuer.lifecycle import rules
from certreg.issuer.lifecycle.credentials import Credentials
from certreg.issuer.lifecycle.errors import LifecycleError, enforce
from certreg.issuer.lifecycle.queries import Queries
from certreg.issuer.lifecycle.records import Certification, GrantPlan, ScopeGrant, new_id
from certreg.issuer.numbers import new_number
from certreg.issuer.offline_qr import payload_for
from certreg.issuer.statuslists import status_columns
from certreg.verifier.issuing import add_proof

#: A signed grant ready to write: the plan (with its offline QR payload, ``plan.compact``),
#: the credential as JSON (its issued form), and the cryptosuite it was signed with.
SignedGrant = tuple[GrantPlan, str, str]

#: ``json.dumps(..., sort_keys=True)`` of a decision's details, the encoder built once:
#: ``json.dumps`` with a non-default option builds a new one on every call (a bulk batch
#: writes hundreds of decisions). The same options, the same text.
_DETAILS = json.JSONEncoder(sort_keys=True)


def write_grants(conn: Any, signed: Sequence[SignedGrant], now: str) -> None:
    """The one writer of grants: certifications, scope, decisions and first credentials of
    one or many planned, signed grants, in the caller's transaction. Audit events are not
    written here: the caller appends :func:`grant_events` with ``audit.append_many`` in the
    same transaction (bulk issuance interleaves them with its persons' events)."""
    certifications, scopes, decisions, credentials = [], [], [], []
    for plan, document, cryptosuite in signed:
        effective, until = plan.effective.isoformat(), plan.until.isoformat()
        certifications.append(
            (
                plan.certification_id,
                plan.number,
                plan.person_id,
                plan.scheme_id,
                plan.version["version"],
                effective,
                until,
                now,
                plan.external_id,
                now,
            )
        )
        scopes += [(plan.certification_id, g.code, g.conditions, effective) for g in plan.grants]
        decisions.append(
            (
                plan.decision_id,
                plan.certification_id,
                plan.person_id,
                plan.scheme_id,
                plan.decided_by,
                now,
                effective,
                plan.evidence,
                plan.reason,
                _DETAILS.encode(_details(plan)),
                plan.appeal_of,
            )
        )
        if plan.entries is None:
            raise LifecycleError("reserve the status indices before writing a grant")
        # Where the revocation and the suspension are recorded, whatever the status form.
        where = status_columns(plan.entries)
        credentials.append(
            (
                plan.credential_id,
                plan.certification_id,
                plan.decision_id,
                document,
                cryptosuite,
                where["revocation_list"],
                where["revocation_index"],
                where["suspension_list"],
                where["suspension_index"],
                now,
                now,
                plan.compact,
            )
        )
    # Parents before children, as the foreign keys want.
    conn.executemany(
        "INSERT INTO certifications (id, number, person_id, scheme_id, scheme_version, "
        "status, cycle, valid_from, valid_until, status_since, suspended_until, "
        "external_id, updated_at) VALUES (?, ?, ?, ?, ?, 'ACTIVE', 1, ?, ?, ?, NULL, ?, ?)",
        certifications,
    )
    conn.executemany(
        "INSERT INTO certification_scope (certification_id, scope_code, conditions, "
        "status, since) VALUES (?, ?, ?, 'active', ?)",
        scopes,
    )
    conn.executemany(
        "INSERT INTO decisions (id, type, certification_id, person_id, scheme_id, "
        "decided_by, decided_at, effective_date, evidence, reason, details, appeal_of) "
        "VALUES (?, 'grant', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        decisions,
    )
    conn.executemany(
        "INSERT INTO credentials (id, certification_id, revision, decision_id, document, "
        "cryptosuite, state, revocation_list, revocation_index, suspension_list, "
        "suspension_index, issued_at, state_changed_at, compact) "
        "VALUES (?, ?, 1, ?, ?, ?, 'current', ?, ?, ?, ?, ?, ?, ?)",
        credentials,
    )


def _details(plan: GrantPlan) -> dict[str, Any]:
    return {"scope": [g.__dict__ for g in plan.grants], "number": plan.number}


def grant_events(plan: GrantPlan) -> list[audit.NewEvent]:
    """The audit events of a written grant: the decision, then its first credential."""
    return [
        (
            "decision_grant",
            plan.decided_by,
            plan.certification_id,
            {
                "decision": plan.decision_id,
                "effective": plan.effective.isoformat(),
                "details": _details(plan),
            },
        ),
        (
            "credential_issued",
            None,
            plan.certification_id,
            {"credential": plan.credential_id, "revision": 1, "decision": plan.decision_id},
        ),
    ]


class Grants(Credentials, Queries):
    """Granting a certification (one at a time; ``issuer.bulk`` for a CSV file)."""

    def grant(
        self,
        person_id: str,
        scheme_id: str,
        scope: Sequence[ScopeGrant],
        *,
        decided_by: str,
        evidence: str,
        reason: str = "",
        effective_date: str | None = None,
        external_id: str | None = None,
        appeal_of: str | None = None,
    ) -> Certification:
        """Grant a certification: a new number and a signed credential."""
        if external_id is not None:
            existing = self.issued_for(external_id)
            if existing:
                return self.certification(existing)  # idempotent: issued once, ever
        plan = self.plan_grant(
            person_id,
            scheme_id,
            scope,
            decided_by=decided_by,
            evidence=evidence,
            reason=reason,
            effective_date=effective_date,
            external_id=external_id,
            appeal_of=appeal_of,
        )
        with transaction(self.db):
            self.reserve_status(plan)
            signed = add_proof(
                self.unsigned_credential(plan), self.signer, cryptosuite=self.cryptosuite
            )
            # Its offline QR payload, by the same key, in the same transaction (issue 14).
            plan.compact = payload_for(signed, self.signer, self.info["public_url"])
            self.write_grant(plan, signed)
        self._changed("certification", plan.number)
        return self.certification(plan.number)

    def issued_for(self, external_id: str) -> str | None:
        """The number already issued for a bulk key, if any."""
        row = self.db.execute(
            "SELECT number FROM certifications WHERE external_id = ?", [external_id]
        ).fetchone()
        return row[0] if row else None

    def plan_grant(
        self,
        person_id: str,
        scheme_id: str,
        scope: Sequence[ScopeGrant],
        *,
        decided_by: str,
        evidence: str,
        reason: str = "",
        effective_date: str | None = None,
        external_id: str | None = None,
        appeal_of: str | None = None,
    ) -> GrantPlan:
        """Check every rule of a grant and compute what it will write. Writes nothing (but the
        log line of a refused decision-maker)."""
        person = self._person(person_id)
        version = self._scheme_version(scheme_id)
        effective = self._effective(effective_date)
        grants = self._checked_scope(scheme_id, scope, person_id)
        self._check_decision_maker(decided_by, person_id, "grant")
        enforce(rules.evidence_cited("grant", evidence))
        enforce(
            rules.one_open_certification(
                person["full_name"], self._open_certification(person_id, scheme_id)
            )
        )
        self._check_appeal_of(appeal_of)
        return GrantPlan(
            person_id=person_id,
            holder_name=person["full_name"],
            scheme_id=scheme_id,
            version=version,
            effective=effective,
            until=rules.last_valid_day(effective, version["validity_months"]),
            grants=grants,
            decided_by=decided_by,
            evidence=evidence,
            reason=reason,
            external_id=external_id,
            appeal_of=appeal_of,
            certification_id=new_id(),
            number=self._free_number(version["code"]),
            credential_id=f"urn:uuid:{uuid.uuid4()}",
        )

    def reserve_status(self, plan: GrantPlan) -> None:
        """Allocate the plan's status indices, in the body's status form (joins the caller's
        transaction)."""
        with transaction(self.db):
            plan.entries = self.status_lists.entries_for(plan.credential_id)

    def unsigned_credential(self, plan: GrantPlan) -> dict[str, Any]:
        if plan.entries is None:
            raise LifecycleError("reserve the status indices before building the credential")
        return self._build_credential(
            holder_name=plan.holder_name,
            number=plan.number,
            version=plan.version,
            scope={g.code: g.conditions for g in plan.grants},
            valid_from=plan.effective,
            valid_until=plan.until,
            entries=plan.entries,
            credential_id=plan.credential_id,
        )

    def write_grant(self, plan: GrantPlan, signed: dict[str, Any]) -> None:
        """Write a planned, signed grant (joins the caller's transaction)."""
        with transaction(self.db):
            # Checked again under the write lock: another writer may have granted meanwhile.
            enforce(
                rules.one_open_certification(
                    plan.holder_name, self._open_certification(plan.person_id, plan.scheme_id)
                )
            )
            signed = issued_form(signed)
            document = json.dumps(signed, ensure_ascii=False)
            now = self._now()
            write_grants(self.db.conn, [(plan, document, cryptosuite_of(signed))], now)
            self._append_events(grant_events(plan), now)

    def _open_certification(self, person_id: str, scheme_id: str) -> str | None:
        """The number of the person's ACTIVE or SUSPENDED certification in the scheme."""
        row = self.db.execute(
            "SELECT number FROM certifications WHERE person_id = ? AND scheme_id = ? "
            "AND status IN ('ACTIVE', 'SUSPENDED')",
            [person_id, scheme_id],
        ).fetchone()
        return None if row is None else str(row[0])

    def _free_number(self, code: str) -> str:
        while True:
            number = new_number(code)
            if not self.db.execute(
                "SELECT 1 FROM certifications WHERE number = ?", [number]
            ).fetchone():
                return number


__all__ = ["Grants", "SignedGrant", "grant_events", "write_grants"]

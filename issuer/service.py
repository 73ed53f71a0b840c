"""The certification body's lifecycle: ISO/IEC 17024 clause 9, enforced.

Every change of a certification is a :class:`Decision` by a named decision-maker who did not
train or examine the candidate (§9.4), except expiry, the one automatic transition. Each
decision runs in one SQLite transaction that also writes the signed credential (if any), the
status bits, the re-signed status list and the audit events: what the database says and what
verifiers are served never disagree (beyond the list's time-to-live in their caches).

    grant          -> ACTIVE      a new certification, number and credential
    suspend        -> SUSPENDED   suspension bit set; deadline <= the scheme's maximum
    reinstate      -> ACTIVE      suspension bit cleared
    withdraw       -> WITHDRAWN   revocation bit set on every credential; terminal
    reduce_scope   (ACTIVE)       new credential; the old one revoked (it claims too much)
    extend_scope   (ACTIVE)       new credential; the old one superseded (still true)
    recertify      (ACTIVE)       same number, next cycle, time left kept; old superseded
    correct        (ACTIVE/SUSP.) new revision with corrected text; old superseded
    expire         (automatic)    ACTIVE/SUSPENDED past validUntil -> EXPIRED

History is never edited: decisions are immutable rows (a database trigger refuses changes),
an appeal is a new decision that names the one it answers (``appeal_of``).

Status bits apply to every credential of a certification that is not revoked, superseded ones
included: a superseded credential still verifies, so it must also show a suspension.
"""

from __future__ import annotations

import calendar
import json
import os
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from certreg.issuer import audit
from certreg.issuer.credential import (
    Body,
    NormativeReference,
    Scheme,
    ScopeItem,
    certification_credential,
    cryptosuite_of,
    issued_form,
)
from certreg.issuer.db import connect, transaction
from certreg.issuer.numbers import new_number, normalise
from certreg.issuer.statuslists import (
    DEFAULT_STATUS_FORM,
    STATUS_FORMS,
    StatusListManager,
    status_columns,
)
from certreg.keys.did import did_web_from_url
from certreg.keys.store import KeyStore
from certreg.verifier.issuing import CRYPTOSUITES, Signer, add_proof, format_datetime

__all__ = [
    "Certification",
    "CertificationBody",
    "Conflict",
    "Decision",
    "GrantPlan",
    "Invalid",
    "LifecycleError",
    "NotFound",
    "Refused",
    "ScopeGrant",
]

POLICIES = ("directory", "number_lookup", "on_request")
ROLES = ("officer", "decision_maker", "admin")


class LifecycleError(Exception):
    """A request the body cannot carry out; ``str(exc)`` says why in plain words."""

    status = 400


class Invalid(LifecycleError):
    """Malformed or inconsistent input."""

    status = 422


class NotFound(LifecycleError):
    status = 404


class Conflict(LifecycleError):
    """The certification is not in a state that allows this decision."""

    status = 409


class Refused(LifecycleError):
    """A rule of ISO/IEC 17024 forbids it (e.g. the decision-maker examined the candidate)."""

    status = 403


@dataclass(frozen=True)
class ScopeGrant:
    code: str
    conditions: str | None = None


@dataclass(frozen=True)
class Decision:
    id: str
    type: str
    certification_id: str | None
    decided_by: str | None
    decided_at: str
    effective_date: str
    reason: str
    evidence: str
    details: dict[str, Any]
    appeal_of: str | None


@dataclass(frozen=True)
class Certification:
    id: str
    number: str
    person_id: str
    holder_name: str
    scheme_id: str
    scheme_version: int
    status: str
    status_since: str
    cycle: int
    valid_from: str
    valid_until: str
    suspended_until: str | None
    scope: list[dict[str, Any]] = field(default_factory=list)  # code, label, conditions, status
    credential: dict[str, Any] | None = None  # the current signed credential


@dataclass
class GrantPlan:
    """A grant checked against every rule, not yet written (see CertificationBody.grant)."""

    person_id: str
    holder_name: str
    scheme_id: str
    version: dict[str, Any]
    effective: date
    until: date
    grants: list[ScopeGrant]
    decided_by: str
    evidence: str
    reason: str
    external_id: str | None
    appeal_of: str | None
    certification_id: str
    number: str
    credential_id: str
    entries: list[dict[str, Any]] | None = None


def utc_now() -> datetime:
    return datetime.now(UTC)


def _uuid() -> str:
    return str(uuid.uuid4())


def _date(value: str | date | None, what: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise Invalid(f"{what} must be a date written YYYY-MM-DD, not {value!r}")


def add_months(start: date, months: int) -> date:
    """Calendar months, clamped to the month's end (31 January + 1 month = 28/29 February)."""
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def _until(start: date, months: int) -> date:
    """The last day of validity: ``months`` after ``start``, less one day."""
    return add_months(start, months) - timedelta(days=1)


class CertificationBody:
    """One certification body's system of record. Use :meth:`open` or :meth:`init`."""

    def __init__(
        self,
        db: Database,
        *,
        signer_factory: Callable[[], Signer] | None = None,
        clock: Callable[[], datetime] = utc_now,
        cryptosuite: str = "eddsa-rdfc-2022",
    ) -> None:
        if cryptosuite not in CRYPTOSUITES:
            raise Invalid(f"unknown cryptosuite {cryptosuite!r}")
        self.db = db
        self.clock = clock
        self.cryptosuite = cryptosuite
        self._signer_factory = signer_factory
        self._signer: Signer | None = None
        self._lists: StatusListManager | None = None
        # Called after a change commits, e.g. issuer.register_push.attach: ("certification",
        # number...), ("scheme", id) -- so the public register follows at once.
        self.on_change: Callable[..., None] | None = None

    # -- opening ------------------------------------------------------------------------

    @classmethod
    def init(
        cls,
        data_dir: str | Path,
        *,
        legal_name: str,
        public_url: str,
        passphrase: str,
        did_method: str = "web",
        accreditation_body: str | None = None,
        accreditation_number: str | None = None,
        country: str | None = None,
        kdf: str = "moderate",
        clock: Callable[[], datetime] = utc_now,
        status_form: str = DEFAULT_STATUS_FORM,
    ) -> CertificationBody:
        """Create a new body: data folder, key store, issuer.db, first status lists.
        ``status_form`` is how its certificates carry their status (issuer.statuslists)."""
        if status_form not in STATUS_FORMS:
            raise Invalid(f"status_form must be one of {', '.join(STATUS_FORMS)}")
        data = Path(data_dir)
        if (data / "issuer.db").exists():
            raise Conflict(f"{data} already holds a certification body")
        public_url = public_url.rstrip("/")
        if not re.match(r"^https?://[^\s/]+", public_url):
            raise Invalid("public_url must be the https address of the body's public service")
        if did_method not in ("web", "key"):
            raise Invalid("did_method must be 'web' or 'key'")
        data.mkdir(parents=True, exist_ok=True, mode=0o700)
        data.chmod(0o700)  # private data lives here: owner only, whatever the umask
        controller = did_web_from_url(public_url) if did_method == "web" else "did:key"
        store = KeyStore.create(data / "keys", controller, passphrase, kdf=kdf)
        did = store.current().controller
        # Create the file 0600 before SQLite does (its -wal and -shm files copy its mode).
        os.close(os.open(data / "issuer.db", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        db = connect(data / "issuer.db", create=True)
        now = format_datetime(clock())
        with transaction(db):
            db["body"].insert(
                {
                    "id": 1,
                    "legal_name": legal_name,
                    "public_url": public_url,
                    "did": did,
                    "did_method": did_method,
                    "accreditation_body": accreditation_body,
                    "accreditation_number": accreditation_number,
                    "country": country,
                    "created_at": now,
                }
            )
            db["settings"].insert({"key": "status_form", "value": status_form, "updated_at": now})
        body = cls(db, signer_factory=lambda: store.load_signer(passphrase), clock=clock)
        with transaction(db):
            body.status_lists.ensure_lists()
            body._event("body_created", None, did, {"legal_name": legal_name, "did": did})
        return body

    @classmethod
    def open(
        cls,
        data_dir: str | Path,
        *,
        passphrase: str | None = None,
        clock: Callable[[], datetime] = utc_now,
        cryptosuite: str = "eddsa-rdfc-2022",
    ) -> CertificationBody:
        """Open an existing body. Without a passphrase it can read but not sign."""
        data = Path(data_dir)
        db = connect(data / "issuer.db")
        factory = None
        if passphrase is not None:
            store = KeyStore(data / "keys")
            factory = lambda: store.load_signer(passphrase)  # noqa: E731
        return cls(db, signer_factory=factory, clock=clock, cryptosuite=cryptosuite)

    # -- the body ---------------------------------------------------------------------------

    @property
    def info(self) -> dict[str, Any]:
        row = self.db.execute("SELECT * FROM body WHERE id = 1").fetchone()
        if row is None:
            raise NotFound("this database has no certification body (run `certreg init`)")
        cols = [d[0] for d in self.db.execute("SELECT * FROM body LIMIT 0").description]
        return dict(zip(cols, row, strict=True))

    @property
    def signer(self) -> Signer:
        if self._signer is None:
            if self._signer_factory is None:
                raise Refused("signing needs the key store's passphrase")
            self._signer = self._signer_factory()
        return self._signer

    def reload_signer(self) -> None:
        """Forget the loaded key: the next signature loads the key store's current key (after a
        rotation). The status lists sign through the same lazy signer, so they follow."""
        self._signer = None

    @property
    def status_form(self) -> str:
        """How new certificates carry their status: ``message`` (one entry, the default, which
        the Open Badges 3.0 schema accepts) or ``two-entries`` (revocation + suspension).
        Certificates already issued keep the form they were signed with."""
        row = self.db.execute("SELECT value FROM settings WHERE key = 'status_form'").fetchone()
        return row[0] if row and row[0] in STATUS_FORMS else DEFAULT_STATUS_FORM

    @property
    def status_lists(self) -> StatusListManager:
        if self._lists is None:
            info = self.info
            self._lists = StatusListManager(
                self.db,
                issuer_did=info["did"],
                base_url=info["public_url"],
                signer=_LazySigner(self),
                clock=self.clock,
                status_form=self.status_form,
            )
        return self._lists

    def _now(self) -> str:
        return format_datetime(self.clock())

    def _today(self) -> date:
        return self.clock().astimezone(UTC).date()

    def _changed(self, kind: str, *keys: str) -> None:
        if self.on_change is not None:
            self.on_change(kind, *keys)

    def _event(self, kind: str, actor: str | None, subject: str | None, payload: dict) -> None:
        audit.append(self.db, kind, actor=actor, subject=subject, payload=payload, at=self._now())

    # -- reference data -----------------------------------------------------------------------

    def add_scheme(
        self,
        scheme_id: str,
        *,
        code: str,
        name: str,
        description: str,
        normative_reference: str,
        validity_months: int,
        max_suspension_days: int,
        publication_policy: str,
        scope: Sequence[tuple[str, str] | tuple[str, str, str]],
        normative_reference_url: str | None = None,
        prerequisites: str = "",
        process: str = "",
        appeals: str = "",
        recertification_rules: str = "",
        accredited: bool = False,
        actor: str | None = None,
    ) -> int:
        """Create a scheme with its first version and scope catalogue; returns the version."""
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,40}", scheme_id or ""):
            raise Invalid("a scheme id is a short slug: lower-case letters, digits and '-'")
        if self.db.execute("SELECT 1 FROM schemes WHERE id = ?", [scheme_id]).fetchone():
            raise Conflict(f"scheme {scheme_id!r} exists already (add a version instead)")
        if not scope:
            raise Invalid("a scheme needs at least one scope item")
        now = self._now()
        with transaction(self.db):
            self.db["schemes"].insert(
                {"id": scheme_id, "code": code, "accredited": int(accredited), "created_at": now}
            )
            for item in scope:
                code_, label, *level = item
                self.db["scope_items"].insert(
                    {
                        "scheme_id": scheme_id,
                        "code": code_,
                        "label": label,
                        "level": level[0] if level else None,
                    }
                )
            version = self._insert_version(
                scheme_id,
                1,
                name=name,
                description=description,
                normative_reference=normative_reference,
                normative_reference_url=normative_reference_url,
                validity_months=validity_months,
                max_suspension_days=max_suspension_days,
                publication_policy=publication_policy,
                prerequisites=prerequisites,
                process=process,
                appeals=appeals,
                recertification_rules=recertification_rules,
            )
            self._event("scheme_added", actor, scheme_id, {"version": version, "name": name})
        self._changed("scheme", scheme_id)
        return version

    def add_scheme_version(
        self, scheme_id: str, *, actor: str | None = None, **changes: Any
    ) -> int:
        """A new version of a scheme: the latest one with ``changes`` applied."""
        latest = self._scheme_version(scheme_id)
        fields = {k: latest[k] for k in _VERSION_FIELDS}
        unknown = set(changes) - set(_VERSION_FIELDS)
        if unknown:
            raise Invalid(f"unknown scheme fields: {sorted(unknown)}")
        fields.update(changes)
        with transaction(self.db):
            version = self._insert_version(scheme_id, latest["version"] + 1, **fields)
            self._event("scheme_versioned", actor, scheme_id, {"version": version})
        self._changed("scheme", scheme_id)
        return version

    def _insert_version(self, scheme_id: str, version: int, **fields: Any) -> int:
        if fields["publication_policy"] not in POLICIES:
            raise Invalid(f"publication_policy must be one of {POLICIES}")
        for key in ("validity_months", "max_suspension_days"):
            if not isinstance(fields[key], int) or fields[key] <= 0:
                raise Invalid(f"{key} must be a positive whole number")
        self.db["scheme_versions"].insert(
            {
                "scheme_id": scheme_id,
                "version": version,
                "effective_from": self._today().isoformat(),
                "created_at": self._now(),
                **fields,
            }
        )
        return version

    def _scheme_version(self, scheme_id: str, version: int | None = None) -> dict[str, Any]:
        sql = "SELECT * FROM scheme_versions WHERE scheme_id = ?"
        params: list[Any] = [scheme_id]
        if version is not None:
            sql += " AND version = ?"
            params.append(version)
        rows = list(self.db.query(sql + " ORDER BY version DESC LIMIT 1", params))
        if not rows:
            raise NotFound(f"no scheme {scheme_id!r}" + (f" version {version}" if version else ""))
        row = rows[0]
        row["code"] = self.db.execute(
            "SELECT code FROM schemes WHERE id = ?", [scheme_id]
        ).fetchone()[0]
        return row

    def _scope_catalogue(self, scheme_id: str) -> dict[str, dict[str, Any]]:
        return {
            r["code"]: r
            for r in self.db.query("SELECT * FROM scope_items WHERE scheme_id = ?", [scheme_id])
        }

    def add_person(
        self,
        full_name: str,
        *,
        email: str | None = None,
        birth_date: str | None = None,
        address: str | None = None,
        national_id: str | None = None,
        country: str | None = None,
        consent_publish: bool = False,
        external_id: str | None = None,
        notes: str | None = None,
        actor: str | None = None,
    ) -> str:
        if not full_name or not full_name.strip():
            raise Invalid("a person needs a name")
        person_id = _uuid()
        with transaction(self.db):
            if (
                external_id is not None
                and self.db.execute(
                    "SELECT 1 FROM persons WHERE external_id = ?", [external_id]
                ).fetchone()
            ):
                raise Conflict(f"a person with the external id {external_id!r} exists already")
            self.db["persons"].insert(
                {
                    "id": person_id,
                    "external_id": external_id,
                    "full_name": full_name.strip(),
                    "email": email,
                    "birth_date": birth_date,
                    "address": address,
                    "national_id": national_id,
                    "country": country,
                    "consent_publish": int(consent_publish),
                    "notes": notes,
                    "created_at": self._now(),
                }
            )
            # The audit log names the person by id only: it holds no private data.
            self._event("person_added", actor, person_id, {})
        return person_id

    def set_publication_consent(
        self, person_id: str, consent: bool, *, actor: str | None = None
    ) -> None:
        """Record whether the holder agrees to be listed by name in the public register (for
        schemes published as a directory). Takes effect in the register at once, both ways:
        a withdrawn consent removes the name from every table and from the search index."""
        self._person(person_id)
        with transaction(self.db):
            self.db.execute(
                "UPDATE persons SET consent_publish = ? WHERE id = ?", [int(consent), person_id]
            )
            self._event("consent_changed", actor, person_id, {"consent_publish": bool(consent)})
        self._changed("person", person_id)

    def add_staff(
        self, name: str, *, roles: Iterable[str], email: str | None = None, actor: str | None = None
    ) -> str:
        """A new staff member; returns the id. Under four eyes (``issuer.staff``) the
        decision_maker and admin roles wait for a second admin's approval."""
        from certreg.issuer import staff  # issuer.staff builds on this module

        staff_id, _pending = staff.add_staff(
            self, name, roles=list(roles), email=email, actor=actor
        )
        return staff_id

    def record_assessment(
        self,
        person_id: str,
        scheme_id: str,
        *,
        result: str,
        assessed_on: str,
        examiners: Sequence[str] = (),
        trainers: Sequence[str] = (),
        scope_codes: Sequence[str] = (),
        kind: str = "examination",
        score: float | None = None,
        notes: str | None = None,
        actor: str | None = None,
    ) -> str:
        self._person(person_id)
        version = self._scheme_version(scheme_id)["version"]
        catalogue = self._scope_catalogue(scheme_id)
        unknown = [c for c in scope_codes if c not in catalogue]
        if unknown:
            raise Invalid(f"scope items {unknown} are not in scheme {scheme_id!r}")
        if result not in ("pass", "fail", "absent"):
            raise Invalid("result must be 'pass', 'fail' or 'absent'")
        day = _date(assessed_on, "assessed_on")
        assessment_id = _uuid()
        now = self._now()
        with transaction(self.db):
            for staff_id in [*examiners, *trainers]:
                self._staff(staff_id)
            self.db["assessments"].insert(
                {
                    "id": assessment_id,
                    "person_id": person_id,
                    "scheme_id": scheme_id,
                    "scheme_version": version,
                    "kind": kind,
                    "result": result,
                    "score": score,
                    "assessed_on": day.isoformat(),
                    "scope_codes": ",".join(scope_codes),
                    "notes": notes,
                    "created_at": now,
                }
            )
            for role, people in (("examiner", examiners), ("trainer", trainers)):
                for staff_id in people:
                    self.db["involvements"].insert(
                        {
                            "person_id": person_id,
                            "staff_id": staff_id,
                            "role": role,
                            "assessment_id": assessment_id,
                            "recorded_at": now,
                        }
                    )
            self._event(
                "assessment_recorded",
                actor,
                person_id,
                {"assessment": assessment_id, "scheme": scheme_id, "result": result},
            )
        return assessment_id

    def record_training(self, person_id: str, trainer_id: str, *, actor: str | None = None) -> None:
        """Training given outside an assessment still bars the trainer from deciding."""
        self._person(person_id)
        self._staff(trainer_id)
        with transaction(self.db):
            self.db["involvements"].insert(
                {
                    "person_id": person_id,
                    "staff_id": trainer_id,
                    "role": "trainer",
                    "assessment_id": None,
                    "recorded_at": self._now(),
                }
            )
            self._event("training_recorded", actor, person_id, {"trainer": trainer_id})

    def _person(self, person_id: str) -> dict[str, Any]:
        rows = list(self.db.query("SELECT * FROM persons WHERE id = ?", [person_id]))
        if not rows:
            raise NotFound(f"no person {person_id!r}")
        return rows[0]

    def _staff(self, staff_id: str) -> dict[str, Any]:
        rows = list(self.db.query("SELECT * FROM staff WHERE id = ?", [staff_id]))
        if not rows:
            raise NotFound(f"no staff member {staff_id!r}")
        return rows[0]

    # -- the rule of §9.4 ----------------------------------------------------------------

    def _check_decision_maker(self, staff_id: str, person_id: str, decision: str) -> None:
        staff = self._staff(staff_id)
        problem = None
        if not staff["active"]:
            problem = f"{staff['name']} is no longer active"
        elif "decision_maker" not in staff["roles"].split(","):
            problem = f"{staff['name']} is not a decision-maker"
        else:
            involved = self.db.execute(
                "SELECT role FROM involvements WHERE person_id = ? AND staff_id = ? LIMIT 1",
                [person_id, staff_id],
            ).fetchone()
            if involved:
                verb = "examined" if involved[0] == "examiner" else "trained"
                problem = (
                    f"{staff['name']} {verb} this candidate; ISO/IEC 17024 (9.4) requires "
                    "the certification decision to be taken by someone who did not"
                )
        if problem:
            # The refused attempt is logged, in its own transaction: it decided nothing.
            with transaction(self.db):
                self._event(
                    "decision_refused",
                    staff_id,
                    person_id,
                    {"decision": decision, "reason": problem},
                )
            raise Refused(problem)

    # -- decisions ----------------------------------------------------------------------

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
            self.write_grant(plan, signed)
        self._changed("certification", plan.number)
        return self.certification(plan.number)

    # Grants in three steps, so that bulk issuance (issuer.bulk) can sign outside the write
    # lock, on both cores: plan (every rule checked, nothing written), reserve the status
    # indices (committed on their own: an index reserved by a run that then dies is simply
    # never used, and never reused), sign, then write everything else in one transaction.

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
        if not evidence.strip():
            raise Invalid("a grant must cite its evidence (e.g. the examination record)")
        self._check_no_open_certification(person_id, scheme_id, person["full_name"])
        return GrantPlan(
            person_id=person_id,
            holder_name=person["full_name"],
            scheme_id=scheme_id,
            version=version,
            effective=effective,
            until=_until(effective, version["validity_months"]),
            grants=grants,
            decided_by=decided_by,
            evidence=evidence,
            reason=reason,
            external_id=external_id,
            appeal_of=appeal_of,
            certification_id=_uuid(),
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
            self._check_no_open_certification(plan.person_id, plan.scheme_id, plan.holder_name)
            now = self._now()
            self.db["certifications"].insert(
                {
                    "id": plan.certification_id,
                    "number": plan.number,
                    "person_id": plan.person_id,
                    "scheme_id": plan.scheme_id,
                    "scheme_version": plan.version["version"],
                    "status": "ACTIVE",
                    "cycle": 1,
                    "valid_from": plan.effective.isoformat(),
                    "valid_until": plan.until.isoformat(),
                    "status_since": now,
                    "suspended_until": None,
                    "external_id": plan.external_id,
                    "updated_at": now,
                }
            )
            self.db["certification_scope"].insert_all(
                {
                    "certification_id": plan.certification_id,
                    "scope_code": g.code,
                    "conditions": g.conditions,
                    "status": "active",
                    "since": plan.effective.isoformat(),
                }
                for g in plan.grants
            )
            decision = self._decide(
                "grant",
                plan.certification_id,
                plan.person_id,
                plan.scheme_id,
                plan.decided_by,
                plan.effective,
                plan.evidence,
                plan.reason,
                {"scope": [g.__dict__ for g in plan.grants], "number": plan.number},
                plan.appeal_of,
            )
            self._store_credential(plan.certification_id, decision, signed)

    def _check_no_open_certification(self, person_id: str, scheme_id: str, name: str) -> None:
        open_ = self.db.execute(
            "SELECT number FROM certifications WHERE person_id = ? AND scheme_id = ? "
            "AND status IN ('ACTIVE', 'SUSPENDED')",
            [person_id, scheme_id],
        ).fetchone()
        if open_:
            raise Conflict(
                f"{name} already holds {open_[0]} in this scheme: "
                "extend its scope or recertify it instead"
            )

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
        self._require(cert, ("ACTIVE",), "suspended")
        if not reason.strip():
            raise Invalid("a suspension needs a reason")
        effective = self._effective(effective_date)
        deadline = _date(until, "until")
        version = self._scheme_version(cert["scheme_id"], cert["scheme_version"])
        latest = effective + timedelta(days=version["max_suspension_days"])
        if deadline <= effective:
            raise Invalid("the suspension deadline must be after its effective date")
        if deadline > latest:
            raise Refused(
                f"the scheme allows suspensions of at most {version['max_suspension_days']} "
                f"days: the deadline can be {latest.isoformat()} at the latest"
            )
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
        self._require(cert, ("SUSPENDED",), "reinstated")
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
        self._require(cert, ("ACTIVE", "SUSPENDED"), "withdrawn")
        if not reason.strip():
            raise Invalid("a withdrawal needs a reason")
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
        self._require(cert, ("ACTIVE",), "reduced in scope")
        active = self._active_scope(cert["id"])
        missing = [c for c in remove if c not in active]
        if not remove or missing:
            raise Invalid(f"scope items to remove must be held now; not held: {missing or remove}")
        if set(active) <= set(remove):
            raise Invalid("removing every scope item is a withdrawal, not a reduction")
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
        self._require(cert, ("ACTIVE",), "extended in scope")
        held = self._active_scope(cert["id"])
        grants = self._checked_scope(cert["scheme_id"], add, cert["person_id"])
        already = [g.code for g in grants if g.code in held]
        if already:
            raise Conflict(f"scope items already held: {already}")
        if not evidence.strip():
            raise Invalid("an extension must cite its evidence")
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
                self.db["certification_scope"].upsert(
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
        self._require(cert, ("ACTIVE",), "recertified")
        if not evidence.strip():
            raise Invalid("a recertification must cite its evidence")
        version = self._scheme_version(cert["scheme_id"])  # the scheme's current version
        old_until = date.fromisoformat(cert["valid_until"])
        window = version["recertification_window_months"]
        opens = add_months(old_until, -window)
        if self._today() < opens:
            raise Refused(
                f"recertification opens {window} months before expiry, on {opens.isoformat()}"
            )
        self._check_decision_maker(decided_by, cert["person_id"], "recertify")
        start = old_until + timedelta(days=1)
        until = _until(start, version["validity_months"])
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
        self._require(cert, ("ACTIVE", "SUSPENDED"), "corrected")
        if holder_name is None and not conditions:
            raise Invalid("a correction must change the holder's name or a scope condition")
        held = self._active_scope(cert["id"])
        unknown = [c for c in (conditions or {}) if c not in held]
        if unknown:
            raise Invalid(f"scope items not held: {unknown}")
        self._check_decision_maker(decided_by, cert["person_id"], "correct")
        with transaction(self.db):
            changes: dict[str, Any] = {}
            if holder_name is not None:
                if not holder_name.strip():
                    raise Invalid("the corrected name is empty")
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

    # -- reading ------------------------------------------------------------------------

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
            "SELECT document FROM credentials WHERE certification_id = ? "
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

    # -- internals --------------------------------------------------------------------------

    def _cert(self, number: str) -> dict[str, Any]:
        rows = list(
            self.db.query("SELECT * FROM certifications WHERE number = ?", [normalise(number)])
        )
        if not rows:
            raise NotFound(f"no certification numbered {number!r}")
        return rows[0]

    def _require(self, cert: dict[str, Any], allowed: tuple[str, ...], verb: str) -> None:
        if cert["status"] not in allowed:
            raise Conflict(
                f"certification {cert['number']} is {cert['status']} and cannot be {verb} "
                f"(only when {' or '.join(allowed)})"
            )

    def _effective(self, value: str | None) -> date:
        today = self._today()
        if value is None:
            return today
        effective = _date(value, "effective_date")
        if effective < today:
            raise Invalid(
                f"the effective date {effective.isoformat()} is before the decision "
                f"({today.isoformat()}): a decision cannot take effect in the past"
            )
        return effective

    def _checked_scope(
        self, scheme_id: str, scope: Sequence[ScopeGrant], person_id: str
    ) -> list[ScopeGrant]:
        if not scope:
            raise Invalid("at least one scope item is required")
        catalogue = self._scope_catalogue(scheme_id)
        grants = [g if isinstance(g, ScopeGrant) else ScopeGrant(*g) for g in scope]
        codes = [g.code for g in grants]
        if len(set(codes)) != len(codes):
            raise Invalid("a scope item is listed twice")
        unknown = [c for c in codes if c not in catalogue or catalogue[c]["retired"]]
        if unknown:
            raise Invalid(f"scope items {unknown} are not in the catalogue of {scheme_id!r}")
        passed: set[str] = set()
        any_pass = False
        for (codes_text,) in self.db.execute(
            "SELECT scope_codes FROM assessments WHERE person_id = ? AND scheme_id = ? "
            "AND result = 'pass'",
            [person_id, scheme_id],
        ):
            any_pass = True
            passed |= set(filter(None, codes_text.split(",")))
        if not any_pass:
            raise Refused(
                "no passed assessment is recorded for this candidate in this scheme: "
                "record it first (ISO/IEC 17024 9.3)"
            )
        if passed:  # assessments that name their scope must cover what is granted
            uncovered = [c for c in codes if c not in passed]
            if uncovered:
                raise Refused(f"no passed assessment covers scope items {uncovered}")
        return grants

    def _free_number(self, code: str) -> str:
        while True:
            number = new_number(code)
            if not self.db.execute(
                "SELECT 1 FROM certifications WHERE number = ?", [number]
            ).fetchone():
                return number

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
        if (
            appeal_of is not None
            and not self.db.execute("SELECT 1 FROM decisions WHERE id = ?", [appeal_of]).fetchone()
        ):
            raise NotFound(f"no decision {appeal_of!r} to appeal")
        decision_id = _uuid()
        now = self._now()
        self.db["decisions"].insert(
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

    def _active_scope(self, certification_id: str) -> dict[str, str | None]:
        return {
            code: conditions
            for code, conditions in self.db.execute(
                "SELECT scope_code, conditions FROM certification_scope "
                "WHERE certification_id = ? AND status = 'active'",
                [certification_id],
            )
        }

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
        scheme = Scheme(
            id=f"{info['public_url']}/schemes/{version['scheme_id']}/{version['version']}",
            code=version["code"],
            name=version["name"],
            version=str(version["version"]),
            description=version["description"],
            criteria=version["process"] or version["description"],
            normative_reference=NormativeReference(
                version["normative_reference"], version["normative_reference_url"]
            ),
        )
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
        return self._store_credential(certification_id, decision_id, signed)

    def _store_credential(
        self, certification_id: str, decision_id: str, signed: dict[str, Any]
    ) -> dict[str, Any]:
        """Record a signed certificate in the form it is handed out (issued_form); return it."""
        signed = issued_form(signed)
        revision = self.db.execute(
            "SELECT COALESCE(MAX(revision), 0) + 1 FROM credentials WHERE certification_id = ?",
            [certification_id],
        ).fetchone()[0]
        now = self._now()
        self.db["credentials"].insert(
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


_VERSION_FIELDS = (
    "name",
    "description",
    "prerequisites",
    "process",
    "appeals",
    "normative_reference",
    "normative_reference_url",
    "validity_months",
    "recertification_rules",
    "recertification_window_months",
    "max_suspension_days",
    "publication_policy",
)


class _LazySigner:
    """Lets the status-list manager be built before the passphrase is needed."""

    def __init__(self, body: CertificationBody) -> None:
        self._body = body

    @property
    def verification_method(self) -> str:
        return self._body.signer.verification_method

    def sign(self, message: bytes) -> bytes:
        return self._body.signer.sign(message)

"""Reference data: schemes and their versions, persons (candidates and holders), staff,
assessments and trainings -- the facts the decisions are checked against."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

from certreg.issuer.db import transaction
from certreg.issuer.lifecycle.base import BodyBase
from certreg.issuer.lifecycle.errors import Conflict, Invalid
from certreg.issuer.lifecycle.records import POLICIES, new_id, parse_day

if TYPE_CHECKING:
    from certreg.issuer.service import CertificationBody

#: The fields of a scheme version (a new version copies the latest and changes some).
VERSION_FIELDS = (
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


class ReferenceData(BodyBase):
    """Schemes, persons, staff, assessments and trainings."""

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
            self.db.table("schemes").insert(
                {"id": scheme_id, "code": code, "accredited": int(accredited), "created_at": now}
            )
            for item in scope:
                code_, label, *level = item
                self.db.table("scope_items").insert(
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
        fields = {k: latest[k] for k in VERSION_FIELDS}
        unknown = set(changes) - set(VERSION_FIELDS)
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
        self.db.table("scheme_versions").insert(
            {
                "scheme_id": scheme_id,
                "version": version,
                "effective_from": self._today().isoformat(),
                "created_at": self._now(),
                **fields,
            }
        )
        return version

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
        person_id = new_id()
        with transaction(self.db):
            if (
                external_id is not None
                and self.db.execute(
                    "SELECT 1 FROM persons WHERE external_id = ?", [external_id]
                ).fetchone()
            ):
                raise Conflict(f"a person with the external id {external_id!r} exists already")
            self.db.table("persons").insert(
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

        # ReferenceData is one part of CertificationBody (issuer.service assembles them); the
        # staff module works on the whole body.
        body = cast("CertificationBody", self)
        staff_id, _pending = staff.add_staff(
            body, name, roles=list(roles), email=email, actor=actor
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
        day = parse_day(assessed_on, "assessed_on")
        assessment_id = new_id()
        now = self._now()
        with transaction(self.db):
            for staff_id in [*examiners, *trainers]:
                self._staff(staff_id)
            self.db.table("assessments").insert(
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
                    self.db.table("involvements").insert(
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
            self.db.table("involvements").insert(
                {
                    "person_id": person_id,
                    "staff_id": trainer_id,
                    "role": "trainer",
                    "assessment_id": None,
                    "recorded_at": self._now(),
                }
            )
            self._event("training_recorded", actor, person_id, {"trainer": trainer_id})

"""Reference data: schemes and their versions, persons (candidates and holders), staff,
assessments and trainings -- the facts the decisions are checked against."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from certreg.i18n import LANGUAGES
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

#: A scheme version's names in other languages: ``{lang: {"name": ..., "description": ...}}``
#: (``description`` '' when there is none in that language).
Names = dict[str, dict[str, str]]


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
        names: Mapping[str, str] | None = None,
        descriptions: Mapping[str, str] | None = None,
        actor: str | None = None,
    ) -> int:
        """Create a scheme with its first version and scope catalogue; returns the version.

        ``names``: the scheme's name in other languages of :data:`certreg.i18n.LANGUAGES`
        (``{"de": "Schweißaufsichtsperson"}``), ``descriptions`` its public description in
        some of them: shown to readers of the register in their language; the credential keeps
        ``name``, the one it is signed with."""
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,40}", scheme_id or ""):
            raise Invalid("a scheme id is a short slug: lower-case letters, digits and '-'")
        if self.db.execute("SELECT 1 FROM schemes WHERE id = ?", [scheme_id]).fetchone():
            raise Conflict(f"scheme {scheme_id!r} exists already (add a version instead)")
        if not scope:
            raise Invalid("a scheme needs at least one scope item")
        translated = _merge_names({}, names or {}, descriptions or {})
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
            self._insert_names(scheme_id, version, translated)
            data: dict[str, Any] = {"version": version, "name": name}
            if translated:
                data["names"] = translated
            self._event("scheme_added", actor, scheme_id, data)
        self._changed("scheme", scheme_id)
        return version

    def add_scheme_version(
        self,
        scheme_id: str,
        *,
        actor: str | None = None,
        add_scope: Sequence[CatalogueItem | tuple[str, str] | tuple[str, str, str]] = (),
        retire_scope: Sequence[str] = (),
        names: Mapping[str, str | None] | None = None,
        descriptions: Mapping[str, str | None] | None = None,
        **changes: Any,
    ) -> int:
        """A new version of a scheme: the latest one with ``changes`` applied, and the scope
        catalogue with the items of ``add_scope`` added and the codes of ``retire_scope``
        retired. Fields given with the value they have already are not changes; a version
        that changes nothing is refused.

        A code is added once: a retired code is never used again (a certificate that holds it
        must keep meaning what it meant). Certificates holding a retired item keep it until a
        decision reduces their scope; new grants, scope extensions and bulk rows refuse it.

        The latest version's names in other languages are copied; ``names`` and
        ``descriptions`` set or replace some (``{"de": "..."}``), a language given ``None``
        drops its name (and description) or its description alone."""
        unknown = set(changes) - set(VERSION_FIELDS)
        if unknown:
            raise Invalid(f"unknown scheme fields: {sorted(unknown)}")
        added = _catalogue_items(add_scope)
        retired = list(retire_scope)
        # Read and checked under the write lock: another process (the CLI beside the server)
        # cannot take the same version number or change the catalogue in between.
        with transaction(self.db):
            latest = self._scheme_version(scheme_id)
            version = latest["version"] + 1
            changed = {k: v for k, v in changes.items() if latest[k] != v}
            _check_catalogue_change(scheme_id, self._scope_catalogue(scheme_id), added, retired)
            old_names = self.scheme_names(scheme_id, latest["version"])
            new_names = _merge_names(old_names, names or {}, descriptions or {})
            names_changed = new_names != old_names
            if not changed and not added and not retired and not names_changed:
                raise Invalid(
                    "a new version must change at least one field or the scope catalogue "
                    "(add or retire an item)"
                )
            fields = {k: latest[k] for k in VERSION_FIELDS} | changed
            self._insert_version(scheme_id, version, **fields)
            self._insert_names(scheme_id, version, new_names)
            for item in added:
                self.db.table("scope_items").insert(
                    {
                        "scheme_id": scheme_id,
                        "code": item.code,
                        "label": item.label,
                        "level": item.level,
                        "description": item.description,
                        "added_in_version": version,
                    }
                )
            for code in retired:
                self.db.execute(
                    "UPDATE scope_items SET retired = 1, retired_in_version = ? "
                    "WHERE scheme_id = ? AND code = ?",
                    [version, scheme_id, code],
                )
            data: dict[str, Any] = {
                "version": version,
                "changed": sorted([*changed, *(["names"] if names_changed else [])]),
                "added_scope": [i.code for i in added],
                "retired_scope": retired,
            }
            if names_changed:
                data["names"] = new_names
            self._event("scheme_versioned", actor, scheme_id, data)
        self._changed("scheme", scheme_id)
        return version

    def scheme_names(self, scheme_id: str, version: int | None = None) -> Names:
        """The names (and descriptions) of a scheme version (default: the latest) in other
        languages, by language: ``{"de": {"name": ..., "description": ...}}``."""
        if version is None:
            version = self._scheme_version(scheme_id)["version"]
        return {
            r["lang"]: {"name": r["name"], "description": r["description"]}
            for r in self.db.query(
                "SELECT lang, name, description FROM scheme_version_names "
                "WHERE scheme_id = ? AND version = ? ORDER BY lang",
                [scheme_id, version],
            )
        }

    def _insert_names(self, scheme_id: str, version: int, names: Names) -> None:
        for lang, entry in sorted(names.items()):
            self.db.table("scheme_version_names").insert(
                {"scheme_id": scheme_id, "version": version, "lang": lang, **entry}
            )

    def scope_catalogue(self, scheme_id: str, version: int | None = None) -> list[dict[str, Any]]:
        """The scheme's scope items by code, each with the versions that added and retired
        it. With ``version``: the catalogue as it stood in that version (the items added by
        then and not yet retired)."""
        self._scheme_version(scheme_id, version)  # NotFound for an unknown scheme or version
        rows = list(
            self.db.query(
                "SELECT code, label, level, description, added_in_version, retired_in_version "
                "FROM scope_items WHERE scheme_id = ? ORDER BY code",
                [scheme_id],
            )
        )
        if version is None:
            return rows
        return [
            r
            for r in rows
            if r["added_in_version"] <= version
            and (r["retired_in_version"] is None or r["retired_in_version"] > version)
        ]

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
        language: str | None = None,
        actor: str | None = None,
    ) -> str:
        if not full_name or not full_name.strip():
            raise Invalid("a person needs a name")
        language = holder_language(language)
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
                    "language": language,
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

    def set_language(
        self, person_id: str, language: str | None, *, actor: str | None = None
    ) -> None:
        """Record the language the holder's mails are written in (one of
        :data:`certreg.i18n.LANGUAGES`), or None: the body's default language. Mails queued
        before keep the language they were written in."""
        language = holder_language(language)
        self._person(person_id)
        with transaction(self.db):
            self.db.execute("UPDATE persons SET language = ? WHERE id = ?", [language, person_id])
            self._event("language_changed", actor, person_id, {"language": language})

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


@dataclass(frozen=True)
class CatalogueItem:
    """A scope item of a scheme's catalogue, as a new version adds it."""

    code: str
    label: str
    level: str | None = None
    description: str = ""


def _merge_names(
    old: Names, names: Mapping[str, str | None], descriptions: Mapping[str, str | None]
) -> Names:
    """``old`` with ``names`` and ``descriptions`` applied (None drops), checked: languages
    of :data:`certreg.i18n.LANGUAGES` only, no empty name, a description only beside a name."""
    merged = {lang: dict(entry) for lang, entry in old.items()}
    for lang in [*names, *descriptions]:
        if lang not in LANGUAGES:
            raise Invalid(
                f"unknown language {lang!r} for a scheme's name: one of {', '.join(LANGUAGES)}"
            )
    for lang, name in names.items():
        if name is None:
            merged.pop(lang, None)
            continue
        if not isinstance(name, str) or not name.strip():
            raise Invalid(f"the scheme's name in {lang!r} is empty: give a name or leave it out")
        merged.setdefault(lang, {"name": "", "description": ""})["name"] = name.strip()
    for lang, description in descriptions.items():
        if lang not in merged:
            if description is None:
                continue
            raise Invalid(f"a description in {lang!r} needs the scheme's name in {lang!r} too")
        merged[lang]["description"] = (description or "").strip()
    return merged


def _catalogue_items(
    items: Sequence[CatalogueItem | tuple[str, str] | tuple[str, str, str]],
) -> list[CatalogueItem]:
    out: list[CatalogueItem] = []
    for item in items:
        if isinstance(item, CatalogueItem):
            out.append(item)
        else:
            code, label, *level = item
            out.append(CatalogueItem(code, label, level[0] if level else None))
    return [
        CatalogueItem(
            i.code.strip(),
            i.label.strip(),
            level=(i.level or "").strip() or None,
            description=i.description,
        )
        for i in out
    ]


def _check_catalogue_change(
    scheme_id: str,
    catalogue: dict[str, dict[str, Any]],
    added: list[CatalogueItem],
    retired: list[str],
) -> None:
    """The catalogue changes of a new version, checked against the catalogue as it is: new
    codes are new (never a retired one again), retired codes are in use, and at least one
    item stays in use."""
    seen: set[str] = set()
    for item in added:
        if not item.code or any(c.isspace() for c in item.code):
            raise Invalid(f"a scope code is one word, without spaces: {item.code!r}")
        if not item.label:
            raise Invalid(f"scope item {item.code} needs a label")
        if item.code in seen:
            raise Invalid(f"scope item {item.code} is added twice")
        seen.add(item.code)
        known = catalogue.get(item.code)
        if known is not None and known["retired"]:
            raise Conflict(
                f"scope item {item.code} was retired in version {known['retired_in_version']} "
                f"of scheme {scheme_id}: a retired code is not used again (certificates that "
                "hold it keep its meaning); give the new item a new code"
            )
        if known is not None:
            raise Conflict(f"scope item {item.code} is in the catalogue of {scheme_id} already")
    if len(set(retired)) != len(retired):
        raise Invalid("a scope item is retired twice")
    for code in retired:
        known = catalogue.get(code)
        if known is None:
            raise Invalid(f"scope item {code} is not in the catalogue of {scheme_id}")
        if known["retired"]:
            raise Conflict(
                f"scope item {code} was retired already, in version "
                f"{known['retired_in_version']} of scheme {scheme_id}"
            )
    in_use = {c for c, i in catalogue.items() if not i["retired"]} - set(retired) | seen
    if not in_use:
        raise Invalid(f"scheme {scheme_id} needs at least one scope item in use")


def holder_language(value: str | None) -> str | None:
    """A holder's language as stored: ``de`` for ``de`` or `` DE ``; None for none given (the
    body's default applies); :class:`Invalid` for a language certreg does not speak."""
    if value is None or not value.strip():
        return None
    language = value.strip().lower()
    if language not in LANGUAGES:
        raise Invalid(f"unknown language {value!r}: one of {', '.join(LANGUAGES)}")
    return language

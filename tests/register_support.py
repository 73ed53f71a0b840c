"""A real certification body on disk whose every change is pushed to its register.db: three
schemes, one per publication policy, holders with every kind of private data."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from factories import Clock

from certreg.issuer.register_push import RegisterSync, attach
from certreg.issuer.service import CertificationBody, ScopeGrant

PASSPHRASE = "correct horse battery staple"


@dataclass
class Body:
    body: CertificationBody
    data: Path
    register: Path
    sync: RegisterSync
    clock: Clock
    decider: str
    examiner: str
    people: dict[str, str] = field(default_factory=dict)


def scheme(body: CertificationBody, scheme_id: str, code: str, policy: str) -> None:
    body.add_scheme(
        scheme_id,
        code=code,
        name=f"Scheme {code}",
        description=f"The public description of {code}.",
        normative_reference="ISO 9712:2021",
        validity_months=36,
        max_suspension_days=180,
        publication_policy=policy,
        scope=[("UT2", "Ultrasonic testing, level 2"), ("VT2", "Visual testing, level 2")],
        prerequisites="Two years of practice.",
        process="Written and practical examination.",
        appeals="Write to the appeals committee.",
    )


def make_body(tmp_path: Path, *, did_method: str = "web") -> Body:
    clock = Clock()
    data = tmp_path / "data"
    body = CertificationBody.init(
        data,
        legal_name="Example Certification Body",
        public_url="https://cb.example",
        passphrase=PASSPHRASE,
        did_method=did_method,
        accreditation_body="DAkkS",
        accreditation_number="D-ZP-12345",
        country="DE",
        kdf="interactive",
        clock=clock,
    )
    sync = attach(body)
    scheme(body, "cwi", "CWI", "directory")
    scheme(body, "ndt", "NDT", "number_lookup")
    scheme(body, "sec", "SEC", "on_request")
    examiner = body.add_staff("Erik Examiner", roles=["officer", "decision_maker"])
    decider = body.add_staff("Dana Decider", roles=["decision_maker"])
    return Body(body, data, data / "register.db", sync, clock, decider, examiner)


def add_holder(
    b: Body,
    key: str,
    name: str,
    *,
    consent: bool,
    schemes: tuple[str, ...] = ("cwi",),
    private: dict[str, str] | None = None,
) -> str:
    private = private or {}
    person = b.body.add_person(
        name,
        email=private.get("email"),
        birth_date=private.get("birth_date"),
        address=private.get("address"),
        national_id=private.get("national_id"),
        country=private.get("country", "DE"),
        consent_publish=consent,
        notes=private.get("notes"),
    )
    for scheme_id in schemes:
        b.body.record_assessment(
            person,
            scheme_id,
            result="pass",
            assessed_on="2026-02-20",
            examiners=[b.examiner],
            scope_codes=["UT2", "VT2"],
            score=float(private.get("score", "87.5")),
            notes=private.get("assessment_notes"),
        )
    b.people[key] = person
    return person


def grant(b: Body, person: str, scheme_id: str = "cwi", **options: object) -> str:
    options.setdefault("evidence", "examination record EX-2026-0042")
    cert = b.body.grant(
        person,
        scheme_id,
        [ScopeGrant("UT2", "steel, 6-40 mm"), ScopeGrant("VT2")],
        decided_by=b.decider,
        **options,  # type: ignore[arg-type]
    )
    return cert.number

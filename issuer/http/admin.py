"""``/api/...``: the certification lifecycle over HTTP, behind bearer tokens with roles.

| role           | may                                                                   |
|----------------|-----------------------------------------------------------------------|
| officer        | schemes and their versions, persons, assessments, trainings           |
| decision_maker | grant, suspend, reinstate, withdraw, reduce/extend scope, recertify,  |
|                | correct                                                               |
| admin          | staff, tokens, key rotation, expire-due                               |
| any of them    | read a certification (with history and credentials), decisions due    |

The decision-maker of every decision is the staff member the token belongs to: there is no
request field for it (an attempt is refused with 422 as an unknown field), so a token cannot
decide in somebody else's name, and ISO/IEC 17024 §9.4 (the decision-maker did not train or
examine the candidate) is checked against the person actually deciding.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from issuer import audit
from issuer.db import transaction
from issuer.http import models as m
from issuer.http.auth import ADMIN, ANY_ROLE, DECIDER, OFFICER, require
from issuer.http.state import state_of
from issuer.service import Certification, Conflict, Invalid, ScopeGrant
from issuer.tokens import Principal, create_token, list_tokens, revoke_token
from keys.store import KeyStoreError
from verifier.dates import format_datetime

router = APIRouter(prefix="/api", tags=["admin"])

Officer = Annotated[Principal, Depends(require(OFFICER))]
Decider = Annotated[Principal, Depends(require(DECIDER))]
Admin = Annotated[Principal, Depends(require(ADMIN))]
Anyone = Annotated[Principal, Depends(require(ANY_ROLE))]
Number = Annotated[str, Path(min_length=1, max_length=64, description="Certificate number.")]

_ERRORS = {
    401: {"model": m.Problem, "description": "No, unknown, revoked or expired token."},
    403: {"model": m.Problem, "description": "Wrong role, or a rule of ISO/IEC 17024 forbids it."},
    404: {"model": m.Problem},
    409: {"model": m.Problem, "description": "Not allowed in the certification's state."},
    422: {"description": "Invalid input."},
}


def _cert(c: Certification) -> m.CertificationOut:
    return m.CertificationOut.model_validate(asdict(c))


def _grants(items: list[m.ScopeGrantIn]) -> list[ScopeGrant]:
    return [ScopeGrant(i.code, i.conditions) for i in items]


# --- officer: reference data ---------------------------------------------------------------


@router.post("/schemes", status_code=201, responses=_ERRORS, summary="Add a scheme (version 1)")
def add_scheme(request: Request, data: m.SchemeIn, who: Officer) -> m.SchemeOut:
    state = state_of(request)
    fields = data.model_dump(exclude={"id", "scope"})
    scope = [(s.code, s.label, s.level) if s.level else (s.code, s.label) for s in data.scope]
    with state.lock:
        version = state.body.add_scheme(data.id, scope=scope, actor=who.staff_id, **fields)
    return m.SchemeOut(scheme_id=data.id, version=version)


@router.post(
    "/schemes/{scheme_id}/versions",
    status_code=201,
    responses=_ERRORS,
    summary="A new version of a scheme (fields not given are copied from the latest)",
)
def add_scheme_version(
    request: Request,
    data: m.SchemeVersionIn,
    who: Officer,
    scheme_id: str = Path(max_length=64),
) -> m.SchemeOut:
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        raise Invalid("a new version must change at least one field")
    state = state_of(request)
    with state.lock:
        version = state.body.add_scheme_version(scheme_id, actor=who.staff_id, **changes)
    return m.SchemeOut(scheme_id=scheme_id, version=version)


@router.post("/persons", status_code=201, responses=_ERRORS, summary="Record a candidate")
def add_person(request: Request, data: m.PersonIn, who: Officer) -> m.Created:
    state = state_of(request)
    with state.lock:
        person_id = state.body.add_person(actor=who.staff_id, **data.model_dump())
    return m.Created(id=person_id)


@router.post("/assessments", status_code=201, responses=_ERRORS, summary="Record an assessment")
def record_assessment(request: Request, data: m.AssessmentIn, who: Officer) -> m.Created:
    state = state_of(request)
    fields = data.model_dump(exclude={"person_id", "scheme_id"})
    with state.lock:
        assessment_id = state.body.record_assessment(
            data.person_id, data.scheme_id, actor=who.staff_id, **fields
        )
    return m.Created(id=assessment_id)


@router.post(
    "/trainings",
    status_code=201,
    responses=_ERRORS,
    summary="Record that a staff member trained a candidate (bars them from deciding)",
)
def record_training(request: Request, data: m.TrainingIn, who: Officer) -> m.Recorded:
    state = state_of(request)
    with state.lock:
        state.body.record_training(data.person_id, data.trainer_id, actor=who.staff_id)
    return m.Recorded()


# --- decision-maker: decisions --------------------------------------------------------------


@router.post(
    "/certifications",
    status_code=201,
    responses=_ERRORS,
    summary="Grant a certification (decided by the token's staff member)",
)
def grant(request: Request, data: m.GrantIn, who: Decider) -> m.CertificationOut:
    state = state_of(request)
    with state.lock:
        cert = state.body.grant(
            data.person_id,
            data.scheme_id,
            _grants(data.scope),
            decided_by=who.staff_id,
            evidence=data.evidence,
            reason=data.reason,
            effective_date=data.effective_date,
            external_id=data.external_id,
            appeal_of=data.appeal_of,
        )
    return _cert(cert)


@router.post("/certifications/{number}/suspend", responses=_ERRORS, summary="Suspend")
def suspend(
    request: Request, number: Number, data: m.SuspendIn, who: Decider
) -> m.CertificationOut:
    state = state_of(request)
    with state.lock:
        cert = state.body.suspend(number, decided_by=who.staff_id, **data.model_dump())
    return _cert(cert)


@router.post("/certifications/{number}/reinstate", responses=_ERRORS, summary="Reinstate")
def reinstate(
    request: Request, number: Number, data: m.ReinstateIn, who: Decider
) -> m.CertificationOut:
    state = state_of(request)
    with state.lock:
        cert = state.body.reinstate(number, decided_by=who.staff_id, **data.model_dump())
    return _cert(cert)


@router.post("/certifications/{number}/withdraw", responses=_ERRORS, summary="Withdraw (final)")
def withdraw(
    request: Request, number: Number, data: m.WithdrawIn, who: Decider
) -> m.CertificationOut:
    state = state_of(request)
    with state.lock:
        cert = state.body.withdraw(number, decided_by=who.staff_id, **data.model_dump())
    return _cert(cert)


@router.post("/certifications/{number}/reduce-scope", responses=_ERRORS, summary="Reduce scope")
def reduce_scope(
    request: Request, number: Number, data: m.ReduceScopeIn, who: Decider
) -> m.CertificationOut:
    state = state_of(request)
    with state.lock:
        cert = state.body.reduce_scope(number, decided_by=who.staff_id, **data.model_dump())
    return _cert(cert)


@router.post("/certifications/{number}/extend-scope", responses=_ERRORS, summary="Extend scope")
def extend_scope(
    request: Request, number: Number, data: m.ExtendScopeIn, who: Decider
) -> m.CertificationOut:
    state = state_of(request)
    fields = data.model_dump(exclude={"add"})
    with state.lock:
        cert = state.body.extend_scope(
            number, decided_by=who.staff_id, add=_grants(data.add), **fields
        )
    return _cert(cert)


@router.post("/certifications/{number}/recertify", responses=_ERRORS, summary="Recertify")
def recertify(
    request: Request, number: Number, data: m.RecertifyIn, who: Decider
) -> m.CertificationOut:
    state = state_of(request)
    with state.lock:
        cert = state.body.recertify(number, decided_by=who.staff_id, **data.model_dump())
    return _cert(cert)


@router.post(
    "/certifications/{number}/correct",
    responses=_ERRORS,
    summary="Correct the holder's name or a scope condition (new revision)",
)
def correct(
    request: Request, number: Number, data: m.CorrectIn, who: Decider
) -> m.CertificationOut:
    state = state_of(request)
    with state.lock:
        cert = state.body.correct(number, decided_by=who.staff_id, **data.model_dump())
    return _cert(cert)


# --- reads: any role ------------------------------------------------------------------------


@router.get(
    "/certifications/{number}",
    responses=_ERRORS,
    summary="A certification with its decisions and credentials",
)
def certification(request: Request, number: Number, who: Anyone) -> m.CertificationDetail:
    state = state_of(request)
    with state.lock:
        cert = state.body.certification(number)
        history = state.body.history(number)
        rows = state.body.credentials(number)
    return m.CertificationDetail(
        certification=_cert(cert),
        history=[m.DecisionOut.model_validate(asdict(d)) for d in history],
        credentials=[m.CredentialRowOut.model_validate(r) for r in rows],
    )


@router.get(
    "/due", responses=_ERRORS, summary="Decisions due (suspensions past deadline, expiries)"
)
def due(request: Request, who: Anyone) -> list[m.DueOut]:
    state = state_of(request)
    with state.lock:
        return [m.DueOut.model_validate(d) for d in state.body.due()]


# --- admin: staff, tokens, keys, expiry -----------------------------------------------------


def _staff_out(row: dict) -> m.StaffOut:
    return m.StaffOut(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        roles=[r for r in row["roles"].split(",") if r],
        active=bool(row["active"]),
        created_at=row["created_at"],
    )


@router.post("/staff", status_code=201, responses=_ERRORS, summary="Add a staff member")
def add_staff(request: Request, data: m.StaffIn, who: Admin) -> m.StaffOut:
    state = state_of(request)
    with state.lock:
        staff_id = state.body.add_staff(
            data.name, roles=data.roles, email=data.email, actor=who.staff_id
        )
        row = next(iter(state.body.db.query("SELECT * FROM staff WHERE id = ?", [staff_id])))
    return _staff_out(row)


@router.get("/staff", responses=_ERRORS, summary="Staff members and their roles")
def list_staff(request: Request, who: Admin) -> list[m.StaffOut]:
    state = state_of(request)
    with state.lock:
        rows = list(state.body.db.query("SELECT * FROM staff ORDER BY created_at, id"))
    return [_staff_out(r) for r in rows]


@router.post(
    "/tokens",
    status_code=201,
    responses=_ERRORS,
    summary="Make an API token for a staff member (the secret is shown once)",
)
def make_token(request: Request, data: m.TokenIn, who: Admin) -> m.TokenCreated:
    state = state_of(request)
    with state.lock:
        info, secret = create_token(
            state.body,
            data.staff_id,
            name=data.name,
            roles=data.roles,
            lifetime=timedelta(days=data.lifetime_days),
            actor=who.staff_id,
        )
    return m.TokenCreated(token=m.TokenOut.model_validate(info.to_json()), secret=secret)


@router.get("/tokens", responses=_ERRORS, summary="Tokens (never their secrets)")
def tokens(request: Request, who: Admin) -> list[m.TokenOut]:
    state = state_of(request)
    with state.lock:
        return [m.TokenOut.model_validate(t.to_json()) for t in list_tokens(state.body)]


@router.delete("/tokens/{token_id}", responses=_ERRORS, summary="Revoke a token")
def revoke(request: Request, who: Admin, token_id: str = Path(max_length=64)) -> m.TokenOut:
    state = state_of(request)
    with state.lock:
        info = revoke_token(state.body, token_id, actor=who.staff_id)
    return m.TokenOut.model_validate(info.to_json())


@router.post(
    "/keys/rotate",
    responses=_ERRORS,
    summary="Rotate the signing key (did:web bodies); re-sign every status list with the new key",
)
def rotate_key(request: Request, who: Admin, data: m.RotateIn | None = None) -> m.RotateOut:
    state = state_of(request)
    body = state.body
    if state.key_store is None or state.passphrase is None:
        raise Conflict("this service was started without its key store passphrase")
    if not state.did.startswith("did:web:"):
        raise Conflict(
            f"this body signs as {state.did}; a did:key DID is its key, so rotating would "
            "change the body's identity (use did:web for a body whose keys rotate)"
        )
    compromised_at = data.compromised_at if data else None
    with state.lock:
        try:
            record = state.key_store.rotate(state.passphrase, compromised_at=compromised_at)
        except KeyStoreError as exc:
            raise Invalid(str(exc)) from None
        # The body keeps its decrypted signer; drop it so the next signature uses the new key.
        body.reload_signer()
        ids = [r[0] for r in body.db.execute("SELECT id FROM status_lists ORDER BY id")]
        with transaction(body.db):
            for list_id in ids:
                body.status_lists.publish(list_id)
            audit.append(
                body.db,
                "key_rotated",
                actor=who.staff_id,
                subject=state.did,
                payload={"key": record.id, "compromised_at": compromised_at},
                at=format_datetime(body.clock()),
            )
        state.reset_verifier()
    return m.RotateOut(key_id=record.id, did=state.did, republished_lists=ids)


@router.post(
    "/expire-due",
    responses=_ERRORS,
    summary="Expire every certification past its last valid day (the automatic transition)",
)
def expire_due(request: Request, who: Admin) -> m.ExpiredOut:
    state = state_of(request)
    with state.lock:
        return m.ExpiredOut(expired=state.body.expire_due())

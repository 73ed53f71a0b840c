"""``/api/...``: the certification lifecycle over HTTP, behind bearer tokens with roles.

| role           | may                                                                   |
|----------------|-----------------------------------------------------------------------|
| officer        | schemes and their versions, persons, assessments, trainings           |
| decision_maker | grant, suspend, reinstate, withdraw, reduce/extend scope, recertify,  |
|                | correct                                                               |
| admin          | staff (add, roles, deactivate; four eyes for decision_maker and       |
|                | admin), token claims, any token's revocation, key rotation, expire-due |
| any of them    | read a certification (with history and credentials), decisions due;   |
|                | make, list and revoke their own tokens                                |

The decision-maker of every decision is the staff member the token belongs to: there is no
request field for it (an attempt is refused with 422 as an unknown field), so a token cannot
decide in somebody else's name, and ISO/IEC 17024 §9.4 (the decision-maker did not train or
examine the candidate) is checked against the person actually deciding.

Nor can an admin borrow an identity: no endpoint returns a secret for somebody else's token.
Admins hand out one-time claim codes instead (redeemed at ``/api/token-claims/redeem``, the
one endpoint here without a token), and a decision-maker's or admin's claim, like their role,
needs a second admin (``issuer.staff``, ``issuer.tokens``).
"""

from __future__ import annotations

import inspect
from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from certreg.issuer import audit, staff
from certreg.issuer.db import transaction
from certreg.issuer.http import models as m
from certreg.issuer.http.auth import ADMIN, ANY_ROLE, DECIDER, OFFICER, require
from certreg.issuer.http.models import Strict
from certreg.issuer.http.state import state_of
from certreg.issuer.lifecycle import table
from certreg.issuer.lifecycle.reference import CatalogueItem
from certreg.issuer.service import Certification, Conflict, Invalid, Refused, ScopeGrant
from certreg.issuer.tokens import (
    Principal,
    approve_claim,
    create_claim,
    create_own_token,
    list_claims,
    list_tokens,
    redeem_claim,
    revoke_token,
)
from certreg.keys.store import KeyStoreError
from certreg.verifier.issuing import format_datetime

router = APIRouter(prefix="/api", tags=["admin"])

Officer = Annotated[Principal, Depends(require(OFFICER))]
Decider = Annotated[Principal, Depends(require(DECIDER))]
Admin = Annotated[Principal, Depends(require(ADMIN))]
Anyone = Annotated[Principal, Depends(require(ANY_ROLE))]
Number = Annotated[str, Path(min_length=1, max_length=64, description="Certificate number.")]

_ERRORS: dict[int | str, dict[str, Any]] = {
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
    changes = data.model_dump(exclude_unset=True, exclude={"add_scope", "retire_scope"})
    add_scope = [CatalogueItem(i.code, i.label, i.level) for i in data.add_scope]
    state = state_of(request)
    with state.lock:  # the service refuses a version that changes nothing
        version = state.body.add_scheme_version(
            scheme_id,
            actor=who.staff_id,
            add_scope=add_scope,
            retire_scope=data.retire_scope,
            **changes,
        )
    return m.SchemeOut(scheme_id=scheme_id, version=version)


@router.post("/persons", status_code=201, responses=_ERRORS, summary="Record a candidate")
def add_person(request: Request, data: m.PersonIn, who: Officer) -> m.Created:
    state = state_of(request)
    with state.lock:
        person_id = state.body.add_person(actor=who.staff_id, **data.model_dump())
    return m.Created(id=person_id)


@router.put(
    "/persons/{person_id}/language",
    responses=_ERRORS,
    summary="Set the language of the mails to a person (null: the body's default)",
)
def set_person_language(
    request: Request, person_id: str, data: m.PersonLanguageIn, who: Officer
) -> m.Recorded:
    state = state_of(request)
    with state.lock:
        state.body.set_language(person_id, data.language, actor=who.staff_id)
    return m.Recorded()


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
# Generated from the table of decisions (issuer.lifecycle.table), as the CLI's commands are:
# one route a decision, its request model named by the table, the decider the token's owner.

_ROLE_GUARD = {"decision_maker": Decider, "officer": Officer, "admin": Admin}


def _service_inputs(spec: table.DecisionSpec, data: Strict) -> dict[str, Any]:
    """The request's fields as the service takes them (scope objects as ScopeGrant)."""
    inputs = data.model_dump(exclude={"person_id", "scheme_id"})
    for item in spec.inputs:
        if item.shape == "scope":
            inputs[item.name] = _grants(getattr(data, item.name))
    return inputs


def _decision_route(spec: table.DecisionSpec) -> None:
    model = getattr(m, spec.model)
    guard = _ROLE_GUARD[spec.role]

    def endpoint(request: Request, who: Principal, data: Strict, number: str = "") -> Any:
        subject = (
            {"number": number}
            if spec.on_number
            else {"person_id": data.person_id, "scheme_id": data.scheme_id}  # type: ignore[attr-defined]
        )
        state = state_of(request)
        with state.lock:
            cert = table.decide(
                state.body, spec, subject, who.staff_id, _service_inputs(spec, data)
            )
        return _cert(cert)

    # FastAPI reads the route's inputs from the signature: the same parameters, in the same
    # order, as a hand-written route (request, [number,] data, who).
    params = [
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)
    ]
    if spec.on_number:
        params.append(
            inspect.Parameter("number", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Number)
        )
    params += [
        inspect.Parameter("data", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=model),
        inspect.Parameter("who", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=guard),
    ]
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        params, return_annotation=m.CertificationOut
    )
    endpoint.__name__ = endpoint.__qualname__ = spec.name
    router.add_api_route(
        spec.path,
        endpoint,
        methods=["POST"],
        name=spec.name,
        response_model=m.CertificationOut,
        status_code=spec.status_code,
        responses=_ERRORS,
        summary=spec.summary,
    )


for _spec in table.DECISIONS:
    _decision_route(_spec)


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


def _staff_out(info: staff.StaffInfo) -> m.StaffOut:
    return m.StaffOut.model_validate(info.to_json())


def _request_out(req: staff.RoleRequest | None) -> m.RoleRequestOut | None:
    return None if req is None else m.RoleRequestOut.model_validate(req.to_json())


StaffId = Annotated[str, Path(max_length=64, description="Staff id.")]


@router.post(
    "/staff",
    status_code=201,
    responses=_ERRORS,
    summary="Add a staff member (decision_maker and admin may wait for a second admin)",
)
def add_staff(request: Request, data: m.StaffIn, who: Admin) -> m.StaffOut:
    state = state_of(request)
    with state.lock:
        staff_id, _pending = staff.add_staff(
            state.body, data.name, roles=data.roles, email=data.email, actor=who.staff_id
        )
        return _staff_out(staff.staff_info(state.body, staff_id))


@router.get("/staff", responses=_ERRORS, summary="Staff members, their roles, pending requests")
def list_staff(request: Request, who: Admin) -> list[m.StaffOut]:
    state = state_of(request)
    with state.lock:
        return [_staff_out(i) for i in staff.list_staff(state.body)]


@router.post(
    "/staff/{staff_id}/roles",
    responses={**_ERRORS, 202: {"model": m.RoleChangeOut, "description": "Waiting for approval."}},
    summary="Give a role (decision_maker and admin wait for a second admin under four eyes)",
)
def grant_role(
    request: Request, staff_id: StaffId, data: m.RoleIn, who: Admin, response: Response
) -> m.RoleChangeOut:
    state = state_of(request)
    with state.lock:
        req = staff.grant_role(state.body, staff_id, data.role, actor=who.staff_id)
        info = staff.staff_info(state.body, staff_id)
    if req is not None:
        response.status_code = 202
    return m.RoleChangeOut(staff=_staff_out(info), request=_request_out(req))


@router.delete(
    "/staff/{staff_id}/roles/{role}",
    responses=_ERRORS,
    summary="Take a role away, at once, from the person and every token they hold",
)
def remove_role(request: Request, staff_id: StaffId, role: m.Role, who: Admin) -> m.RoleChangeOut:
    state = state_of(request)
    with state.lock:
        staff.remove_role(state.body, staff_id, role, actor=who.staff_id)
        return m.RoleChangeOut(staff=_staff_out(staff.staff_info(state.body, staff_id)))


@router.post(
    "/staff/{staff_id}/deactivate",
    responses=_ERRORS,
    summary="Deactivate at once: every token of the person is refused from now on",
)
def deactivate(
    request: Request, staff_id: StaffId, who: Admin, data: m.DeactivateIn | None = None
) -> m.RoleChangeOut:
    state = state_of(request)
    with state.lock:
        staff.deactivate(
            state.body, staff_id, actor=who.staff_id, reason=data.reason if data else ""
        )
        return m.RoleChangeOut(staff=_staff_out(staff.staff_info(state.body, staff_id)))


@router.post(
    "/staff/{staff_id}/reactivate",
    responses={**_ERRORS, 202: {"model": m.RoleChangeOut, "description": "Waiting for approval."}},
    summary="Re-activate (someone holding decision_maker or admin waits for a second admin)",
)
def reactivate(
    request: Request, staff_id: StaffId, who: Admin, response: Response
) -> m.RoleChangeOut:
    state = state_of(request)
    with state.lock:
        req = staff.reactivate(state.body, staff_id, actor=who.staff_id)
        info = staff.staff_info(state.body, staff_id)
    if req is not None:
        response.status_code = 202
    return m.RoleChangeOut(staff=_staff_out(info), request=_request_out(req))


@router.get("/role-requests", responses=_ERRORS, summary="Role requests waiting for approval")
def role_requests(request: Request, who: Admin) -> list[m.RoleRequestOut]:
    state = state_of(request)
    with state.lock:
        return [
            m.RoleRequestOut.model_validate(r.to_json()) for r in staff.list_requests(state.body)
        ]


@router.post(
    "/role-requests/{request_id}/approve",
    responses=_ERRORS,
    summary="Approve a role request (a second admin: not its requester, not its subject)",
)
def approve_role_request(
    request: Request, who: Admin, request_id: str = Path(max_length=64)
) -> m.RoleRequestOut:
    state = state_of(request)
    with state.lock:
        req = staff.approve_request(state.body, request_id, actor=who.staff_id)
    return m.RoleRequestOut.model_validate(req.to_json())


@router.post(
    "/role-requests/{request_id}/reject",
    responses=_ERRORS,
    summary="Reject a role request (any admin, its requester included)",
)
def reject_role_request(
    request: Request, who: Admin, request_id: str = Path(max_length=64)
) -> m.RoleRequestOut:
    state = state_of(request)
    with state.lock:
        req = staff.reject_request(state.body, request_id, actor=who.staff_id)
    return m.RoleRequestOut.model_validate(req.to_json())


# --- tokens: each person's own; claims for a first token -----------------------------------


@router.post(
    "/tokens",
    status_code=201,
    responses=_ERRORS,
    summary="Make another token for yourself (the secret is shown once, to you)",
)
def make_token(request: Request, data: m.TokenIn, who: Anyone) -> m.TokenCreated:
    if data.staff_id is not None and data.staff_id != who.staff_id:
        raise Refused(
            "a token's secret is shown only to the person it belongs to: make a claim for "
            f"them instead (POST /api/staff/{data.staff_id}/token-claims)"
        )
    state = state_of(request)
    with state.lock:
        info, secret = create_own_token(
            state.body,
            who,
            name=data.name,
            roles=data.roles,
            lifetime=timedelta(days=data.lifetime_days),
        )
    return m.TokenCreated(token=m.TokenOut.model_validate(info.to_json()), secret=secret)


@router.get("/tokens", responses=_ERRORS, summary="Tokens (never their secrets)")
def tokens(request: Request, who: Admin) -> list[m.TokenOut]:
    state = state_of(request)
    with state.lock:
        return [m.TokenOut.model_validate(t.to_json()) for t in list_tokens(state.body)]


@router.get("/tokens/mine", responses=_ERRORS, summary="Your own tokens (never their secrets)")
def my_tokens(request: Request, who: Anyone) -> list[m.TokenOut]:
    state = state_of(request)
    with state.lock:
        rows = list_tokens(state.body, who.staff_id)
    return [m.TokenOut.model_validate(t.to_json()) for t in rows]


@router.delete(
    "/tokens/{token_id}",
    responses=_ERRORS,
    summary="Revoke a token (an admin: any; anyone: their own) and every token made with it",
)
def revoke(request: Request, who: Anyone, token_id: str = Path(max_length=64)) -> m.TokenOut:
    state = state_of(request)
    with state.lock:
        info = revoke_token(
            state.body,
            token_id,
            actor=who.staff_id,
            owner=None if who.has_any(ADMIN) else who.staff_id,
        )
    return m.TokenOut.model_validate(info.to_json())


@router.post(
    "/staff/{staff_id}/token-claims",
    status_code=201,
    responses=_ERRORS,
    summary="A one-time claim code for a staff member's token (you never see the secret)",
)
def make_claim(request: Request, staff_id: StaffId, data: m.ClaimIn, who: Admin) -> m.ClaimCreated:
    state = state_of(request)
    with state.lock:
        made = create_claim(
            state.body,
            staff_id,
            name=data.name,
            roles=data.roles,
            lifetime=timedelta(days=data.lifetime_days),
            wait=timedelta(days=data.wait_days),
            actor=who.staff_id,
        )
    return m.ClaimCreated(claim=m.ClaimOut.model_validate(made.claim.to_json()), code=made.code)


@router.get("/token-claims", responses=_ERRORS, summary="Token claims (never their codes)")
def claims(request: Request, who: Admin) -> list[m.ClaimOut]:
    state = state_of(request)
    with state.lock:
        return [m.ClaimOut.model_validate(c.to_json()) for c in list_claims(state.body)]


@router.post(
    "/token-claims/{claim_id}/approve",
    responses=_ERRORS,
    summary="Four eyes: a second admin approves a claim and receives its second code",
)
def approve_token_claim(
    request: Request, who: Admin, claim_id: str = Path(max_length=64)
) -> m.ClaimCreated:
    state = state_of(request)
    with state.lock:
        made = approve_claim(state.body, claim_id, actor=who.staff_id)
    return m.ClaimCreated(claim=m.ClaimOut.model_validate(made.claim.to_json()), code=made.code)


@router.post(
    "/token-claims/redeem",
    status_code=201,
    responses={
        404: {"model": m.Problem, "description": "Unknown code."},
        409: {
            "model": m.Problem,
            "description": "Already redeemed (the token it made is revoked now), expired, "
            "cancelled, or waiting for approval.",
        },
        403: {"model": m.Problem, "description": "The second code is missing or wrong."},
    },
    summary="Redeem a claim code: your token's secret, shown to you alone (no token needed)",
)
def redeem(request: Request, data: m.RedeemIn) -> m.TokenCreated:
    state = state_of(request)
    with state.lock:
        info, secret = redeem_claim(state.body, data.code, second_code=data.second_code)
    return m.TokenCreated(token=m.TokenOut.model_validate(info.to_json()), secret=secret)


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

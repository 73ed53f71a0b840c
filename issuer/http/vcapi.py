"""The W3C CCG VC API: issue, verify, update status.

- ``POST /credentials/issue`` (officer or admin) is **off** unless the operator turned it on
  (``certreg serve --enable-vc-api-issuer``): a 403 says so. When on, it signs any
  well-formed VC 1.1 or 2.0 credential as **its own identity**, a did:key with its own key
  (:meth:`AppState.vc_api_issuer`), never as the body: a certificate is signed only by a
  decision of a decision-maker (``/api/certifications``), and the body's verifier accepts a
  certificate from the body's DID only, so what this route signs can never pass for one
  (issue 7). A request naming the body's DID as issuer is refused. Such a credential is
  stored in vc-api.db (``credentials``, no certification) so that its status can be changed
  later, and its status entries point to the VC API issuer's own lists (``GET
  /vc-api/status/{id}``, signed by its did:key: a verifier takes a credential's status only
  from a list its issuer signed), never to the body's.
- ``POST /credentials/verify`` and ``/presentations/verify`` are public. This body's own
  DID document and status lists are read locally (fresh: a status change shows at once);
  other issuers' are fetched over HTTPS within the verifier's limits. Any issuer is accepted
  and named: whether to trust it is the caller's judgement, and a warning says so; but a
  certificate (achievementType Certification) from anyone but this body is UNTRUSTED_ISSUER.
  Answers 200 when verified, 400 with the same result body otherwise (what the VC API test
  suites expect).
- ``POST /credentials/status`` (officer or admin) sets or clears a status bit of a credential
  issued through ``/credentials/issue`` (also one it issued as the body before it had its own
  identity, so that such a credential can still be revoked). A certificate's status is
  refused here: changing it is a decision by a decision-maker
  (``/api/certifications/{number}/suspend`` etc.), recorded as such; a status bit flipped
  outside the lifecycle would make the register and the status list disagree.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import JSONResponse, Response
from sqlite_utils import Database

from certreg.issuer import audit
from certreg.issuer.db import transaction
from certreg.issuer.http import models as m
from certreg.issuer.http.auth import ADMIN, OFFICER, require
from certreg.issuer.http.ratelimit import LIMIT_RESPONSES, verify_publicly
from certreg.issuer.http.state import VC_API_STATUS_PATH, AppState, state_of
from certreg.issuer.service import Conflict, Invalid, NotFound
from certreg.issuer.statuslists import StatusListManager
from certreg.issuer.tokens import Principal
from certreg.register.web.logpolicy import (
    PolicyInputError,
    log_fetcher,
    log_policy,
    with_log_policy,
)
from certreg.verifier import Verifier
from certreg.verifier.issuing import ProofError, add_proof, format_datetime, parse_datetime
from certreg.verifier.verify import credential_problems

router = APIRouter(tags=["VC API"])

Issuer = Annotated[Principal, Depends(require(OFFICER | ADMIN))]

ISSUING_OFF = (
    "generic issuing through the VC API is turned off on this service: certificates are "
    "issued by a decision (POST /api/certifications). The operator can turn it on, for "
    "credentials that are not certificates, with `certreg serve --enable-vc-api-issuer`; "
    "it then signs as its own did:key, never as the certification body"
)


def _issuing_on(request: Request, who: Issuer) -> Principal:
    """The caller, once authenticated, if generic issuing is on (403 with how to turn it on
    otherwise). Checked before the request body, so nothing about it is revealed either."""
    if not state_of(request).vc_api_issuer_enabled:
        raise HTTPException(403, ISSUING_OFF)
    return who


GenericIssuer = Annotated[Principal, Depends(_issuing_on)]

V2 = "https://www.w3.org/ns/credentials/v2"
V1 = "https://www.w3.org/2018/credentials/v1"
#: VC 1.1 documents need these for a Data Integrity proof and Bitstring status entries.
DI_CONTEXT = "https://w3id.org/security/data-integrity/v2"
STATUS_CONTEXT = "https://www.w3.org/ns/credentials/status/v1"
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": m.Problem, "description": "The credential is not well-formed."},
    401: {"model": m.Problem},
    403: {"model": m.Problem, "description": "Wrong role, or generic issuing is turned off."},
    409: {"model": m.Problem},
    422: {"model": m.Problem, "description": "Invalid options, or the signer refused."},
}


def _bad(reason: str) -> HTTPException:
    return HTTPException(400, reason)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _check_unsigned(credential: dict[str, Any]) -> int:
    """400 with the first problem of an unsigned credential; returns its VC version."""
    ctx = credential.get("@context")
    contexts = _as_list(ctx) if ctx is not None else []
    if not contexts or not all(isinstance(c, str | dict) for c in contexts):
        raise _bad("@context must be a URL or a list of URLs and objects")
    if contexts[0] == V2:
        version = 2
    elif contexts[0] == V1:
        version = 1
    else:
        raise _bad(f"the first @context must be {V2} (VC 2.0) or {V1} (VC 1.1)")
    types = credential.get("type")
    if not (
        isinstance(types, str)
        or (isinstance(types, list) and types and all(isinstance(t, str) for t in types))
    ):
        raise _bad("type must be a string or a list of strings")
    if "VerifiableCredential" not in _as_list(types):
        raise _bad("type must include VerifiableCredential")
    subject = credential.get("credentialSubject")
    subjects = _as_list(subject) if subject is not None else []
    if not subjects or not all(isinstance(s, dict) for s in subjects):
        raise _bad("credentialSubject must be an object (or a list of objects)")
    if "proof" in credential:
        raise _bad("the credential already has a proof: send it unsigned")
    statuses = _as_list(credential.get("credentialStatus"))
    if any(isinstance(e, dict) and e.get("type") == "BitstringStatusListEntry" for e in statuses):
        # An entry in a Bitstring list is allocated by the issuer (a list it publishes and
        # signs); a status of another method is the caller's own, and is signed as given.
        raise _bad(
            "a BitstringStatusListEntry is allocated by the issuer: ask for it with "
            'options.credentialStatus [{"type": "BitstringStatusListEntry", '
            '"statusPurpose": "revocation"}]'
        )
    if "id" in credential and not (
        isinstance(credential["id"], str) and _URL.fullmatch(credential["id"])
    ):
        raise _bad("id must be a URL (e.g. urn:uuid:...)")
    dates, foreign = (
        (("validFrom", "validUntil"), ("issuanceDate", "expirationDate"))
        if version == 2
        else (("issuanceDate", "expirationDate"), ("validFrom", "validUntil"))
    )
    for name in foreign:
        if name in credential:
            raise _bad(
                f"{name} does not belong in a VC {'2.0' if version == 2 else '1.1'} credential"
            )
    for name in dates:
        if name in credential:
            try:
                parse_datetime(credential[name])
            except ValueError:
                raise _bad(
                    f"{name} must be a date-time with a time zone, e.g. 2026-01-15T00:00:00Z"
                ) from None
    return version


def _set_issuer(credential: dict[str, Any], did: str, body_did: str) -> None:
    """``did`` (the VC API's own) as the issuer when none is given; refuse any other."""
    if "issuer" not in credential:
        credential["issuer"] = did
        return
    issuer = credential["issuer"]
    if issuer is None:
        raise _bad(f"issuer is null: leave it out, or give {did} (VC 2.0 §4.7: a URL)")
    given = issuer.get("id") if isinstance(issuer, dict) else issuer
    if not isinstance(given, str):
        raise _bad(f"issuer must be {did}, or an object whose id is {did} (or leave it out)")
    if given == body_did:
        raise _bad(
            f"the VC API does not issue as the certification body ({body_did}): a certificate "
            "is issued by a decision (POST /api/certifications). This route signs as its own "
            f"issuer, {did}: leave issuer out, or give that DID"
        )
    if given != did:
        raise _bad(f"this service issues as {did}, not as {given}")


def _check_proof_options(options: m.IssueOptions, credential: dict[str, Any]) -> None:
    """422 naming the option: ``created`` must be an XML Schema dateTimeStamp; every
    ``mandatoryPointers`` entry a JSON Pointer to something in the credential (the EdDSA
    suites disclose everything, so a pointer only has to point somewhere real)."""
    if options.created is not None:
        try:
            parse_datetime(options.created)
        except ValueError:
            raise Invalid(
                "options.created must be a date-time with a time zone, e.g. 2026-01-15T00:00:00Z"
            ) from None
    for pointer in options.mandatoryPointers or []:
        if not _points_into(credential, pointer):
            raise Invalid(
                f"options.mandatoryPointers: {pointer!r} does not point at anything in the "
                "credential (a JSON Pointer such as /issuer or /credentialSubject/name)"
            )


def _points_into(document: Any, pointer: str) -> bool:
    if not pointer.startswith("/"):
        return False
    node = document
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False
    return True


def _add_context(credential: dict[str, Any], url: str) -> None:
    contexts = _as_list(credential["@context"])
    if url not in contexts:
        credential["@context"] = [*contexts, url]


@router.post(
    "/credentials/issue",
    status_code=201,
    response_model=m.IssueResponse,
    responses=_ERRORS,
    summary="Sign a credential as the VC API's own did:key (off unless the operator enables it)",
)
def issue(request: Request, data: m.IssueRequest, who: GenericIssuer) -> JSONResponse:
    state = state_of(request)
    body = state.body
    unknown = sorted(data.options.model_extra or {})
    if unknown:
        raise Invalid(
            f"options.{unknown[0]} is not an issue option certreg knows; it knows "
            f"{', '.join(m.ISSUE_OPTIONS)}"
        )
    credential = dict(data.credential)
    version = _check_unsigned(credential)
    vc_api = state.vc_api_issuer()
    own_did = vc_api.did
    _set_issuer(credential, own_did, state.did)
    _check_proof_options(data.options, credential)
    if "id" not in credential:
        if data.options.credentialId is not None and not _URL.fullmatch(data.options.credentialId):
            raise Invalid("options.credentialId must be a URL")
        credential["id"] = data.options.credentialId or f"urn:uuid:{uuid.uuid4()}"
    elif data.options.credentialId not in (None, credential["id"]):
        raise Invalid("options.credentialId differs from the credential's id")
    requested = data.options.credentialStatus
    purposes = [s.statusPurpose for s in ([] if requested is None else _as_list(requested))]
    if len(set(purposes)) != len(purposes):
        raise Invalid("options.credentialStatus asks for the same purpose twice")
    if purposes and "credentialStatus" in credential:
        raise _bad(
            "the credential has its own credentialStatus and options.credentialStatus asks "
            "for another: give one or the other"
        )
    cryptosuite = data.options.cryptosuite or body.cryptosuite
    if version == 1:
        # A VC 1.1 context defines neither DataIntegrityProof nor the Bitstring terms; add the
        # pinned contexts that do (as Digital Bazaar's issuers do), rather than refuse.
        if "issuanceDate" not in credential:
            credential["issuanceDate"] = format_datetime(body.clock())
        _add_context(credential, DI_CONTEXT)
        if purposes:
            _add_context(credential, STATUS_CONTEXT)
    # The VC 2.0 rules the verifier enforces (issuer, subjects, typed status / terms /
    # evidence / refresh / schema objects, relatedResource): refused here with the same words.
    problems = credential_problems(credential)
    if problems:
        raise _bad("; ".join(problems))
    credential_id = credential["id"]
    with state.lock:
        for db in (vc_api.db, body.db):
            if db.execute("SELECT 1 FROM credentials WHERE id = ?", [credential_id]).fetchone():
                raise Conflict(f"a credential with id {credential_id} was issued already")
        try:
            # The audit event goes to issuer.db's chain, the rest to vc-api.db; the inner
            # transaction commits first, so an event never names a credential that is not there.
            with transaction(body.db), transaction(vc_api.db):
                lists = vc_api.status_lists
                entries = lists.entries_for(credential_id, purposes) if purposes else []
                if entries:
                    credential["credentialStatus"] = entries[0] if len(entries) == 1 else entries
                # Never body.signer: the body's key signs certificates, at decisions only.
                signed = add_proof(
                    credential,
                    vc_api.signer,
                    cryptosuite=cryptosuite,
                    created=data.options.created,
                    challenge=data.options.challenge,
                    domain=data.options.domain,
                )
                by_purpose = {e["statusPurpose"]: e for e in entries}
                now = format_datetime(body.clock())

                def where(purpose: str) -> tuple[str | None, int | None]:
                    entry = by_purpose.get(purpose)
                    if entry is None:
                        return None, None
                    url = entry["statusListCredential"]
                    return url.rsplit("/", 1)[1], int(entry["statusListIndex"])

                (rev_list, rev_idx), (sus_list, sus_idx) = where("revocation"), where("suspension")
                vc_api.db.table("credentials").insert(
                    {
                        "id": credential_id,
                        "certification_id": None,
                        "revision": 1,
                        "decision_id": None,
                        "document": _dumps(signed),
                        "cryptosuite": cryptosuite,
                        "state": "current",
                        "revocation_list": rev_list,
                        "revocation_index": rev_idx,
                        "suspension_list": sus_list,
                        "suspension_index": sus_idx,
                        "issued_at": now,
                        "state_changed_at": now,
                    }
                )
                audit.append(
                    body.db,
                    "vcapi_credential_issued",
                    actor=who.staff_id,
                    subject=credential_id,
                    payload={"issuer": own_did, "cryptosuite": cryptosuite, "status": purposes},
                    at=now,
                )
        except ProofError as exc:
            # E.g. a term no context defines: signing it would sign nothing (it would vanish
            # from the canonical form), so the signer refuses, and so do we, with its reason.
            raise Invalid(str(exc)) from None
    return JSONResponse({"verifiableCredential": signed}, status_code=201)


def _dumps(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False)


# --- verification -------------------------------------------------------------------------


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "check"


def _result_json(result: Any, extra_warnings: list[dict[str, str]]) -> dict[str, Any]:
    checks: list[str] = []
    for c in result.checks:
        if not c.skipped and c.name not in checks:
            checks.append(c.name)
    errors = [
        {"type": f"urn:certreg:check:{_slug(c.name)}", "title": c.name, "detail": c.reason}
        for c in result.checks
        if not c.ok
    ]
    warnings = [
        {"type": f"urn:certreg:check:{_slug(c.name)}", "title": c.name, "detail": c.reason}
        for c in result.checks
        if c.skipped
    ] + extra_warnings
    return {
        "verified": result.verdict.value == "VALID",
        "checks": checks,
        "warnings": warnings,
        "errors": errors,
        "verdict": result.verdict.value,
        "summary": result.summary,
        "details": [c.to_json() for c in result.checks],
    }


_TRUST_WARNING = {
    "type": "urn:certreg:warning:issuer-trust",
    "title": "issuer trust",
    "detail": "any issuer whose signature verifies is accepted here; the result names the "
    "issuer's DID: whether to trust it is yours to judge",
}


def _option_warnings(options: m.VerifyOptions, ignored: tuple[str, ...] = ()) -> list[dict]:
    names = sorted(set(options.model_extra or {}) | {n for n in ignored if getattr(options, n)})
    return [
        {
            "type": "urn:certreg:warning:option-ignored",
            "title": "option ignored",
            "detail": f"the option {name!r} is not supported here and was ignored "
            "(certreg always performs every check)",
        }
        for name in names
    ]


def _verifier(request: Request, options: m.VerifyOptions) -> Verifier:
    """The body's verifier, under the ``certregRequireLog`` policy when the options ask for it
    (a 422 in words when its keys or quorum are not usable). Proofs of the body's own log are
    read in process; other logs are fetched within the anonymous verification's budget
    (:mod:`certreg.register.web.logpolicy`)."""
    state = state_of(request)
    wanted = options.certregRequireLog
    if wanted is None:
        return state.verifier
    try:
        policy = log_policy(
            wanted.witnesses,
            wanted.quorum,
            proof=wanted.proof,
            fetch=log_fetcher(
                request.app, state.body.info["public_url"], state.unsafe_allow_http_hosts
            ),
        )
    except PolicyInputError as exc:
        # 422, as for any option the request's model refuses (400 is "not verified").
        raise HTTPException(422, f"options.certregRequireLog: {exc.reason}") from None
    return with_log_policy(state.verifier, policy)


@router.post(
    "/credentials/verify",
    response_model=m.VerificationResponse,
    responses={
        400: {"model": m.VerificationResponse, "description": "Not verified."},
        422: {"description": "Malformed request or options (e.g. certregRequireLog's keys)."},
        **LIMIT_RESPONSES,
    },
    summary="Verify a credential: proof, validity period, status",
)
async def verify_credential(request: Request, data: m.VerifyCredentialRequest) -> JSONResponse:
    # Public and anonymous: rate-limited per client, bounded in size, run in a verification
    # slot (issue 7: one crafted credential held a core for 33 s).
    credential, options = data.verifiableCredential, data.options
    verifier = _verifier(request, options)
    result = await verify_publicly(
        request,
        credential,
        lambda: verifier.verify_credential(
            credential,
            challenge=options.challenge,
            domain=options.domain,
            expected_proof_purpose=options.expectedProofPurpose or "assertionMethod",
        ),
    )
    out = _result_json(result, [_TRUST_WARNING, *_option_warnings(options)])
    out["issuer"] = result.issuer
    return JSONResponse(out, status_code=200 if out["verified"] else 400)


@router.post(
    "/presentations/verify",
    response_model=m.PresentationResponse,
    responses={
        400: {"model": m.PresentationResponse, "description": "Not verified."},
        422: {"description": "Malformed request or options (e.g. certregRequireLog's keys)."},
        **LIMIT_RESPONSES,
    },
    summary="Verify a presentation (holder's proof, challenge, domain) and its credentials",
)
async def verify_presentation(request: Request, data: m.VerifyPresentationRequest) -> JSONResponse:
    presentation, options = data.verifiablePresentation, data.options
    verifier = _verifier(request, options)
    result = await verify_publicly(
        request,
        presentation,
        lambda: verifier.verify_presentation(
            presentation, challenge=options.challenge, domain=options.domain
        ),
        what="the presentation",
    )
    out = _result_json(
        result, [_TRUST_WARNING, *_option_warnings(options, ("expectedProofPurpose",))]
    )
    out["holder"] = result.holder
    out["credentialResults"] = [
        {**_result_json(r, []), "issuer": r.issuer} for r in result.credentials
    ]
    return JSONResponse(out, status_code=200 if out["verified"] else 400)


# --- status ---------------------------------------------------------------------------------


def _issued(state: AppState, credential_id: str) -> tuple[Database, StatusListManager, Any]:
    """Where a credential was recorded: vc-api.db (the VC API issuer's, with its lists), else
    issuer.db (certificates, and what the VC API signed before it had its own identity)."""
    if state.vc_api_lists() is not None:
        vc_api = state.vc_api_issuer()
        rows = list(vc_api.db.query("SELECT * FROM credentials WHERE id = ?", [credential_id]))
        if rows:
            return vc_api.db, vc_api.status_lists, rows[0]
    body = state.body
    rows = list(body.db.query("SELECT * FROM credentials WHERE id = ?", [credential_id]))
    if rows:
        return body.db, body.status_lists, rows[0]
    raise NotFound(f"no credential {credential_id!r} was issued by this service")


@router.get(
    VC_API_STATUS_PATH + "/status/{list_id}",
    summary="A status list of the VC API issuer (its did:key signs it), latest version",
    responses={404: {"model": m.Problem}},
)
def vc_api_status_list(
    request: Request, list_id: str = Path(pattern=r"^[a-z]+-[0-9]{1,9}$")
) -> Response:
    state = state_of(request)
    lists = state.vc_api_lists()
    with state.lock:
        listed = lists.latest(list_id) if lists is not None else None
    if listed is None:
        raise HTTPException(404, f"the VC API issuer has no status list {list_id!r}")
    ttl_ms = listed.get("credentialSubject", {}).get("ttl")
    ttl = ttl_ms // 1000 if isinstance(ttl_ms, int) and ttl_ms >= 0 else 300
    return JSONResponse(listed, headers={"Cache-Control": f"public, max-age={ttl}"})


@router.post(
    "/credentials/status",
    responses=_ERRORS | {404: {"model": m.Problem}},
    summary="Set or clear a status bit of a credential issued through /credentials/issue",
)
def update_status(
    request: Request, data: m.StatusUpdateRequest, who: Issuer
) -> m.StatusUpdateResponse:
    state = state_of(request)
    body = state.body
    purposes = [s.statusPurpose for s in data.credentialStatus]
    if len(set(purposes)) != len(purposes):
        raise Invalid("credentialStatus names the same purpose twice")
    with state.lock:
        db, lists, row = _issued(state, data.credentialId)
        if row["certification_id"] is not None:
            number = body.db.execute(
                "SELECT number FROM certifications WHERE id = ?", [row["certification_id"]]
            ).fetchone()[0]
            raise Conflict(
                f"this credential is certificate {number}: its status changes only by a "
                f"decision (POST /api/certifications/{number}/suspend, /reinstate, /withdraw)"
            )
        out = []
        with transaction(body.db), transaction(db):
            changed: set[str] = set()
            revoked = False
            for item in data.credentialStatus:
                list_id = row[f"{item.statusPurpose}_list"]
                index = row[f"{item.statusPurpose}_index"]
                if list_id is None:
                    raise Invalid(
                        f"the credential was issued without a {item.statusPurpose} status entry"
                    )
                value = int(item.status)
                (current,) = db.execute(
                    "SELECT value FROM status_entries WHERE list_id = ? AND idx = ?",
                    [list_id, index],
                ).fetchone()
                if current != value:
                    try:
                        lists.set(list_id, index, value)
                    except ValueError as exc:  # e.g. undoing a revocation
                        raise Conflict(str(exc)) from None
                    changed.add(list_id)
                    if item.statusPurpose == "revocation" and value:
                        revoked = True
                out.append(
                    m.StatusEntryOut(
                        statusPurpose=item.statusPurpose,
                        status=item.status,
                        statusListCredential=lists.url(list_id),
                        statusListIndex=str(index),
                    )
                )
            # Re-published in the same transaction: the served list and issuer.db agree.
            for list_id in sorted(changed):
                lists.publish(list_id)
            now = format_datetime(body.clock())
            if revoked:
                db.execute(
                    "UPDATE credentials SET state = 'revoked', state_changed_at = ? WHERE id = ?",
                    [now, data.credentialId],
                )
            if changed:
                audit.append(
                    body.db,
                    "vcapi_status_changed",
                    actor=who.staff_id,
                    subject=data.credentialId,
                    payload={s.statusPurpose: s.status for s in data.credentialStatus},
                    at=now,
                )
    return m.StatusUpdateResponse(credentialId=data.credentialId, credentialStatus=out)

"""``GET /api/public/certifications/{number}/at?instant=…``: a certificate as it stood at an
instant, as a statement signed by the body (issue 13 item 4).

The answer is the certificate page's ``?at=`` answer (:mod:`verifier.asof`, read from
register.db, so it says no more than the public register does) as plain JSON, signed with the
body's key as a Data Integrity proof (``eddsa-jcs-2022``, the way the audit chain's checkpoints
are signed): anyone holding the body's DID document can check that the body said it, and when.
``log_proofs`` holds the C2SP tlog-proofs of the transparency log's entries the answer rests
on: the certification's entries up to the instant, each with its entry in the proof's extra
data, all against one checkpoint; the signature covers them.

Only ``certreg serve`` answers it: the keyless public site holds no key, so it has no such
endpoint (its ``/c/{number}?at=`` page gives the same answer, unsigned).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from certreg.issuer.http.log import log_files
from certreg.issuer.http.models import Problem
from certreg.issuer.http.state import state_of
from certreg.issuer.logfiles import LogError
from certreg.register.records import CertificateRecord, find_certificate, normalise_number
from certreg.register.web.ratelimit import guards_of
from certreg.register.web.state import site_of
from certreg.verifier.asof import AsOf, InstantError, as_of, parse_instant
from certreg.verifier.dates import format_datetime
from certreg.verifier.issuing import add_proof

__all__ = ["STATEMENT_TYPE", "router", "statement"]

router = APIRouter(tags=["public"])

#: The statement's ``type``.
STATEMENT_TYPE = "CertregCertificateAsOf"


def statement(record: CertificateRecord, answer: AsOf, *, issuer: str, at: str) -> dict[str, Any]:
    """The unsigned statement: what the page says, as data (English words for the headline)."""
    out: dict[str, Any] = {
        "type": STATEMENT_TYPE,
        "issuer": issuer,
        "number": record.number,
        "instant": answer.instant.iso(),
        "dayOnly": answer.instant.day_only,
        "outcome": answer.outcome.value,
        "answeredAt": at,
        "log_proofs": [],  # the transparency log's proofs of the entries it rests on
    }
    if answer.first_grant is not None:
        out["firstGranted"] = answer.first_grant
    if answer.standing is not None:
        out["standing"] = answer.standing.value
        out["headline"] = answer.words("en")
        out["status"] = answer.status
        out["since"] = answer.since
        # The expiry in force then (None only from a register older than format 4).
        out["validUntil"] = answer.valid_until
        out["scope"] = [
            {"code": s.code, "label": s.label, "conditions": s.conditions, "held": s.held}
            for s in answer.scope
        ]
    if answer.decision is not None:
        out["decision"] = {
            "kind": answer.decision.decision,
            "effectiveDate": answer.decision.effective_date,
            "decidedAt": answer.decision.decided_at,
            "status": answer.decision.status,
        }
    return out


@router.get(
    "/api/public/certifications/{number}/at",
    summary="A published certificate as it stood at an instant, signed by the body",
    description="`instant`: `YYYY-MM-DD` (the end of that day, UTC) or `YYYY-MM-DDTHH:MM` "
    "(UTC unless an offset is given). `outcome` is `known`, `not_yet_granted`, `future` or "
    "`no_history`; the proof is `eddsa-jcs-2022` with the body's key.",
    responses={400: {"model": Problem}, 404: {"model": Problem}},
)
async def certificate_at(
    request: Request,
    number: str = PathParam(min_length=1, max_length=64),
    instant: str = Query(max_length=40),
) -> JSONResponse:
    try:
        when = parse_instant(instant)
    except InstantError as exc:
        raise HTTPException(400, f"instant: {exc}") from None
    record = await run_in_threadpool(_find, request, normalise_number(number))
    if record is None:
        raise HTTPException(404, f"the register publishes no certificate numbered {number!r}")
    state = state_of(request)
    now = state.body.clock()
    unsigned = statement(
        record, as_of(record, when, now), issuer=state.did, at=format_datetime(now)
    )
    files = log_files(request)
    with state.lock:
        try:
            unsigned["log_proofs"] = files.certification_proofs(
                number=record.number, until=when.moment
            )
        except LogError as exc:  # no checkpoint holds them yet: say so rather than guess
            unsigned["log_proofs_missing"] = str(exc)
        signer = state.body.signer
    signed = add_proof(unsigned, signer, cryptosuite="eddsa-jcs-2022", created=format_datetime(now))
    return JSONResponse(signed, headers={"Cache-Control": "no-cache"})


def _find(request: Request, number: str) -> CertificateRecord | None:
    """The public record, as the page finds it: the directory, else a sealed record (an
    Argon2id run, spent from the client's look-up rate)."""
    site = site_of(request)
    record, _ = site.lookup(number)
    if record is None:
        guards_of(request).admit_sealed_lookup(request)
        with site.connect() as conn:
            record = find_certificate(conn, number)
    return record

"""Public, unauthenticated, cacheable: the DID document, status lists, pinned contexts.

``certreg serve`` answers the DID document from its key store and the status lists from
issuer.db (a change is served at once); the keyless public site answers the same paths from a
published bundle (:mod:`register.web.files`, whose helpers and contexts routes these share).

Nothing here reads private data: the DID document and the contexts are public by nature, and a
status list is a bitstring that names nobody (its indices are random, see issuer.statuslists).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from certreg.issuer.http.models import Problem
from certreg.issuer.http.state import state_of
from certreg.register.web.files import (
    IMMUTABLE,
    LIST_ID,
    TIMESTAMP_HELP,
    cached,
    compact,
    contexts_router,
    list_ttl,
    status_list_at,
    status_timestamp,
)

router = APIRouter(tags=["public"])

# --- DID document ---------------------------------------------------------------------------


@router.get(
    "/.well-known/did.json",
    summary="The body's did:web DID document (every key it has held)",
    responses={404: {"model": Problem, "description": "The body signs as did:key."}},
)
def did_document(request: Request) -> Response:
    state = state_of(request)
    document = state.did_document()
    if document is None:
        raise HTTPException(
            404,
            f"this body signs as {state.did}: a did:key DID is its own public key and has no "
            "document to serve (create the body with --did-method web to publish one here)",
        )
    # Short cache: after a key rotation verifiers should see the new key within minutes.
    return cached(request, compact(document), "application/json", "public, max-age=300")


# A did:web whose public URL has a path (https://host/x) is resolved at /x/did.json; behind a
# proxy that strips /x, that is /did.json here.
router.add_api_route(
    "/did.json", did_document, methods=["GET"], include_in_schema=False, response_model=None
)


# --- status lists ---------------------------------------------------------------------------


@router.get(
    "/status/{list_id}",
    summary="The latest signed BitstringStatusListCredential of a list",
    responses={
        200: {"description": "The list; cache it for its ttl (Cache-Control max-age)."},
        304: {"description": "Not modified (If-None-Match matched the ETag)."},
        404: {"model": Problem},
    },
)
def status_list(
    request: Request,
    list_id: str = Path(pattern=LIST_ID, examples=["revocation-1"]),
    timestamp: str | None = Query(None, max_length=40, description=TIMESTAMP_HELP),
) -> Response:
    state = state_of(request)
    if timestamp is not None:
        moment = status_timestamp(timestamp, state.body.clock())
        with state.lock:
            then = state.body.status_lists.at(list_id, moment)
        return status_list_at(request, list_id, moment, then)
    with state.lock:
        listed = state.body.status_lists.latest(list_id)
    if listed is None:
        raise HTTPException(404, f"there is no status list {list_id!r}")
    # The list's own ttl is the freshness promise verifiers get; a cache must not exceed it.
    ttl = list_ttl(listed)
    return cached(request, compact(listed), "application/json", f"public, max-age={ttl}")


@router.get(
    "/status/{list_id}/versions/{version}",
    summary="An earlier (or the latest) version of a list, as it was signed; never changes",
    responses={304: {"description": "Not modified."}, 404: {"model": Problem}},
)
def status_list_version(
    request: Request,
    list_id: str = Path(pattern=LIST_ID),
    version: int = Path(ge=1, le=2**31),
) -> Response:
    state = state_of(request)
    with state.lock:
        listed = state.body.status_lists.version(list_id, version)
    if listed is None:
        raise HTTPException(404, f"there is no version {version} of status list {list_id!r}")
    return cached(request, compact(listed), "application/json", IMMUTABLE)


# --- contexts: the same routes as the public site's (register.web.files) -----------------

router.include_router(contexts_router)

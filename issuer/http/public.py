"""Public, unauthenticated, cacheable: the DID document, status lists, pinned contexts.

Nothing here reads private data: the DID document and the contexts are public by nature, and a
status list is a bitstring that names nobody (its indices are random, see issuer.statuslists).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Path, Request, Response

from certreg.contexts import context_file_bytes, pinned_contexts
from certreg.issuer.http.models import Problem
from certreg.issuer.http.state import state_of

router = APIRouter(tags=["public"])

_LIST_ID = r"^[a-z]+-[0-9]{1,9}$"
#: A year: what is immutable (an old list version, a pinned context) may be kept for ever.
_IMMUTABLE = "public, max-age=31536000, immutable"
_DEFAULT_TTL_SECONDS = 300


def _etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or etag in tags or f"W/{etag}" in tags


def _cached(request: Request, data: bytes, media_type: str, cache_control: str) -> Response:
    etag = _etag(data)
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(content=data, media_type=media_type, headers=headers)


def _compact(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


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
    return _cached(request, _compact(document), "application/json", "public, max-age=300")


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
    request: Request, list_id: str = Path(pattern=_LIST_ID, examples=["revocation-1"])
) -> Response:
    state = state_of(request)
    with state.lock:
        listed = state.body.status_lists.latest(list_id)
    if listed is None:
        raise HTTPException(404, f"there is no status list {list_id!r}")
    ttl_ms = listed.get("credentialSubject", {}).get("ttl")
    ttl = ttl_ms // 1000 if isinstance(ttl_ms, int) and ttl_ms >= 0 else _DEFAULT_TTL_SECONDS
    # The list's own ttl is the freshness promise verifiers get; a cache must not exceed it.
    return _cached(request, _compact(listed), "application/json", f"public, max-age={ttl}")


@router.get(
    "/status/{list_id}/versions/{version}",
    summary="An earlier (or the latest) version of a list, as it was signed; never changes",
    responses={304: {"description": "Not modified."}, 404: {"model": Problem}},
)
def status_list_version(
    request: Request,
    list_id: str = Path(pattern=_LIST_ID),
    version: int = Path(ge=1, le=2**31),
) -> Response:
    state = state_of(request)
    with state.lock:
        listed = state.body.status_lists.version(list_id, version)
    if listed is None:
        raise HTTPException(404, f"there is no version {version} of status list {list_id!r}")
    return _cached(request, _compact(listed), "application/json", _IMMUTABLE)


# --- contexts -------------------------------------------------------------------------------


def _context_paths() -> dict[str, str]:
    """Each pinned context, by file name and by its URL's host and path."""
    paths: dict[str, str] = {}
    for url, entry in pinned_contexts().items():
        parts = urlsplit(url)
        paths[entry.file] = url
        paths[(parts.netloc + parts.path).strip("/")] = url
    return paths


@router.get("/contexts", summary="The pinned JSON-LD contexts, with their sha256")
def contexts_index() -> list[dict[str, str]]:
    return [
        {
            "url": url,
            "file": f"/contexts/{entry.file}",
            "path": "/contexts/" + (urlsplit(url).netloc + urlsplit(url).path).strip("/"),
            "sha256": entry.sha256,
        }
        for url, entry in sorted(pinned_contexts().items())
    ]


@router.get(
    "/contexts/{name:path}",
    summary="A pinned JSON-LD context, by file name or by its URL without the scheme",
    description="`/contexts/credentials-v2.jsonld` and `/contexts/www.w3.org/ns/credentials/v2` "
    "serve the same bytes: the exact file certreg signs and verifies with.",
    responses={304: {"description": "Not modified."}, 404: {"model": Problem}},
)
def context_file(request: Request, name: str) -> Response:
    url = _context_paths().get(name.strip("/"))
    if url is None or not re.fullmatch(r"[A-Za-z0-9._/:-]{1,300}", name):
        raise HTTPException(
            404, f"{name[:200]!r} is not one of the pinned contexts (see /contexts)"
        )
    return _cached(request, context_file_bytes(url), "application/ld+json", _IMMUTABLE)

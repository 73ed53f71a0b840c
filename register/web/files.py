"""Public, unauthenticated, cacheable documents: the DID document, the status lists and the
pinned JSON-LD contexts, at the addresses every credential names.

:data:`contexts_router` (the contexts, from the installed package: the exact files certreg signs
and verifies with) is shared with ``certreg serve``. :data:`bundle_router` serves the DID
document and the status lists from a bundle written by ``certreg publish``; ``certreg serve``
answers the same paths from issuer.db and the key store instead (``issuer.http.public``).

The bundle's ``log/`` folder (the transparency log's checkpoint, tiles and entry bundles) is
served at ``/log/...``, as ``certreg serve`` serves it from issuer.db.

Nothing here is private: the DID document and the contexts are public by nature, a status
list is a bitstring that names nobody (its indices are random), and a log entry holds no name.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from certreg.contexts import context_file_bytes, pinned_contexts
from certreg.register.records import read_logo
from certreg.register.web.state import site_of
from certreg.verifier.asof import InstantError, parse_instant
from certreg.verifier.dates import format_datetime, parse_datetime
from certreg.verifier.tlog.tiles import TileError, parse_path

__all__ = [
    "DEFAULT_TTL_SECONDS",
    "IMMUTABLE",
    "LIST_ID",
    "TIMESTAMP_HELP",
    "bundle_router",
    "cached",
    "compact",
    "contexts_router",
    "list_ttl",
    "logo_router",
    "status_list_at",
    "status_timestamp",
]

contexts_router = APIRouter(tags=["public"])
logo_router = APIRouter(tags=["public"])
bundle_router = APIRouter(tags=["public"])

LIST_ID = r"^[a-z]+-[0-9]{1,9}$"
#: A year: what is immutable (an old list version, a pinned context) may be kept for ever.
IMMUTABLE = "public, max-age=31536000, immutable"
DEFAULT_TTL_SECONDS = 300


def _etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or etag in tags or f"W/{etag}" in tags


def cached(request: Request, data: bytes, media_type: str, cache_control: str) -> Response:
    """``data`` with its ETag and ``Cache-Control``; 304 when the client has it already."""
    etag = _etag(data)
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(content=data, media_type=media_type, headers=headers)


def compact(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def list_ttl(listed: dict[str, Any]) -> int:
    """The list's own ttl, in seconds: the freshness promise verifiers get, which a cache must
    not exceed."""
    ttl_ms = listed.get("credentialSubject", {}).get("ttl")
    return ttl_ms // 1000 if isinstance(ttl_ms, int) and ttl_ms >= 0 else DEFAULT_TTL_SECONDS


# --- contexts -------------------------------------------------------------------------------


def _context_paths() -> dict[str, str]:
    """Each pinned context, by file name and by its URL's host and path."""
    paths: dict[str, str] = {}
    for url, entry in pinned_contexts().items():
        parts = urlsplit(url)
        paths[entry.file] = url
        paths[(parts.netloc + parts.path).strip("/")] = url
    return paths


@contexts_router.get("/contexts", summary="The pinned JSON-LD contexts, with their sha256")
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


@contexts_router.get(
    "/contexts/{name:path}",
    summary="A pinned JSON-LD context, by file name or by its URL without the scheme",
    description="`/contexts/credentials-v2.jsonld` and `/contexts/www.w3.org/ns/credentials/v2` "
    "serve the same bytes: the exact file certreg signs and verifies with.",
    responses={304: {"description": "Not modified."}, 404: {"description": "Not pinned."}},
)
def context_file(request: Request, name: str) -> Response:
    url = _context_paths().get(name.strip("/"))
    if url is None or not re.fullmatch(r"[A-Za-z0-9._/:-]{1,300}", name):
        raise HTTPException(
            404, f"{name[:200]!r} is not one of the pinned contexts (see /contexts)"
        )
    return cached(request, context_file_bytes(url), "application/ld+json", IMMUTABLE)


# --- a status list as it was: ?timestamp= (W3C Bitstring Status List) ----------------------

TIMESTAMP_HELP = (
    "The list as it was at this instant (YYYY-MM-DDTHH:MM[:SS]Z, or a day: its end, UTC): the "
    "signed version that was current then."
)


def status_timestamp(text: str, now: datetime) -> datetime:
    """The instant of a ``?timestamp=``; 400 with the reason when it cannot be read or is
    after ``now`` (no version current then exists yet)."""
    try:
        instant = parse_instant(text)
    except InstantError as exc:
        raise HTTPException(400, f"timestamp: {exc}") from None
    moment = instant.moment
    if instant.day_only and moment.date() == now.date():
        moment = now  # today, as it stands so far
    if moment > now:
        raise HTTPException(
            400,
            "timestamp: that instant is in the future; ask without ?timestamp= for the list now",
        )
    return moment


def status_list_at(
    request: Request, list_id: str, moment: datetime, listed: dict[str, Any] | None
) -> Response:
    """The version current at ``moment`` (immutable: it never changes), or 404 saying why."""
    if listed is None:
        raise HTTPException(
            404,
            f"status list {list_id!r} had no signed version at {format_datetime(moment)} "
            "(it does not exist, or its first version is later)",
        )
    return cached(request, compact(listed), "application/json", IMMUTABLE)


def _bundle_version_at(site: Any, list_id: str, moment: datetime) -> dict[str, Any] | None:
    """The bundle's version of ``list_id`` current at ``moment``: a binary search over
    ``status/versions/<list>/<n>`` by ``validFrom`` (which never goes back)."""
    if site.bundle is None or not re.fullmatch(LIST_ID, list_id):
        return None
    folder = site.bundle / "status" / "versions" / list_id
    numbers = sorted(int(p.name) for p in folder.glob("*") if p.name.isdigit())
    found, low, high = None, 0, len(numbers) - 1
    while low <= high:
        middle = (low + high) // 2
        listed = site.status_list(list_id, numbers[middle])
        start = parse_datetime(listed["validFrom"]) if listed else None
        if start is not None and start <= moment:
            found, low = listed, middle + 1
        else:
            high = middle - 1
    return found


# --- from the bundle: the DID document and the status lists ----------------------------------


@bundle_router.get("/.well-known/did.json", summary="The body's did:web DID document")
def did_document(request: Request) -> Response:
    site = site_of(request)
    document = site.did_document()
    if document is None:
        body = site.body()
        did = body.did if body is not None else "did:key"
        raise HTTPException(
            404,
            f"this body signs as {did}: a did:key DID is its own public key and has no "
            "document to serve (create the body with --did-method web to publish one here)",
        )
    # Short cache: after a key rotation verifiers should see the new key within minutes.
    return cached(request, compact(document), "application/json", "public, max-age=300")


# A did:web whose public URL has a path (https://host/x) is resolved at /x/did.json; behind a
# proxy that strips /x, that is /did.json here.
bundle_router.add_api_route(
    "/did.json", did_document, methods=["GET"], include_in_schema=False, response_model=None
)


@bundle_router.get(
    "/status/{list_id}", summary="The latest signed BitstringStatusListCredential of a list"
)
def status_list(
    request: Request,
    list_id: str = Path(pattern=LIST_ID, examples=["revocation-1"]),
    timestamp: str | None = Query(None, max_length=40, description=TIMESTAMP_HELP),
) -> Response:
    site = site_of(request)
    if timestamp is not None:
        moment = status_timestamp(timestamp, site.clock())
        return status_list_at(request, list_id, moment, _bundle_version_at(site, list_id, moment))
    listed = site.status_list(list_id)
    if listed is None:
        raise HTTPException(404, f"there is no status list {list_id!r}")
    return cached(
        request, compact(listed), "application/json", f"public, max-age={list_ttl(listed)}"
    )


@bundle_router.get(
    "/status/{list_id}/versions/{version}",
    summary="An earlier (or the latest) version of a list, as it was signed; never changes",
)
def status_list_version(
    request: Request,
    list_id: str = Path(pattern=LIST_ID),
    version: int = Path(ge=1, le=2**31),
) -> Response:
    listed = site_of(request).status_list(list_id, version)
    if listed is None:
        raise HTTPException(404, f"there is no version {version} of status list {list_id!r}")
    return cached(request, compact(listed), "application/json", IMMUTABLE)


# --- from the bundle: the transparency log (issue 13, C2SP tlog-tiles under log/) ----------

#: The checkpoint and partial tiles change as the log grows: caches keep them briefly.
LOG_SHORT = "public, max-age=5"


@bundle_router.get("/log/checkpoint", summary="The log's latest checkpoint (a signed note)")
def log_checkpoint(request: Request) -> Response:
    data = site_of(request).bundle_file("log", "checkpoint")
    if data is None:
        raise HTTPException(404, "this bundle holds no transparency log checkpoint")
    return cached(request, data, "text/plain; charset=utf-8", LOG_SHORT)


@bundle_router.get("/log/tile/{path:path}", summary="A tile or entry bundle of the log")
def log_tile(request: Request, path: str) -> Response:
    try:
        ref = parse_path("tile/" + path)
    except TileError as exc:
        raise HTTPException(404, str(exc)) from None
    data = site_of(request).bundle_file("log", *ref.path.split("/"))
    if data is None:
        raise HTTPException(404, f"{ref.path} is beyond the tree this bundle publishes")
    return cached(
        request, data, "application/octet-stream", LOG_SHORT if ref.partial else IMMUTABLE
    )


@logo_router.get(
    "/logo.png",
    summary="The certification body's logo (PNG or JPEG, as the body set it)",
    responses={
        200: {"content": {"image/png": {}, "image/jpeg": {}}},
        404: {"description": "None."},
    },
)
def body_logo(request: Request) -> Response:
    """The logo the body pushed (``certreg body logo``), from register.db: public by nature.
    Served with its own media type (a JPEG logo is served as image/jpeg at this address)."""
    with site_of(request).connect() as conn:
        logo = read_logo(conn)
    if logo is None:
        raise HTTPException(404, "this certification body has set no logo")
    data, media_type = logo
    return cached(request, data, media_type, f"public, max-age={DEFAULT_TTL_SECONDS}")

"""``GET /offline.json``: what an offline verifier syncs from this body (:mod:`register.offline`),
on the keyless site and on ``certreg serve`` alike (both include this router through
:mod:`register.web.certificates`).

Built from register.db (four small queries) and the ids of the status lists the site serves
(``SiteState.published_status_lists``), then kept in the site's memo until register.db changes:
``generated`` says when that was. Any origin may read it (a verify page of another body, a
phone's app), and caches keep it five minutes (a revoked key reaches verifiers in minutes).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response

from certreg.register.offline import CACHE_CONTROL, offline_document, offline_json
from certreg.register.web.files import cached
from certreg.register.web.state import site_of

__all__ = ["router"]

router = APIRouter(tags=["public"])


@router.get(
    "/offline.json",
    summary="The body's keys, status list addresses and schemes, for offline verification",
    responses={
        200: {"content": {"application/json": {}}},
        304: {"description": "Not modified."},
        503: {"description": "Nothing pushed to the register yet."},
    },
)
def offline_json_route(request: Request) -> Response:
    site = site_of(request)
    lists = tuple(site.published_status_lists())
    with site.connect() as conn:
        memo = site.memo()
        key = "offline.json " + " ".join(lists)
        data = memo.get(key)
        if data is None:
            try:
                document = offline_document(conn, lists, now=site.clock())
            except LookupError as exc:
                raise HTTPException(503, str(exc)) from None
            data = memo[key] = offline_json(document)
    response = cached(request, data, "application/json", CACHE_CONTROL)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response

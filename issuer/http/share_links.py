"""Admin: the staff make, list and revoke a holder's share links (bearer token, officer or
admin to change, any role to read): ``POST|GET /api/certifications/{number}/share-links``,
``DELETE /api/share-links/{id}``.

The rest of the admin API is :mod:`issuer.http.admin`; these routes sit apart from it (its
router has the ``/api`` prefix and its own error table, which would change the OpenAPI
document) and next to the sharing they administer.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from certreg.issuer import sharing
from certreg.issuer.http.auth import ADMIN, ANY_ROLE, OFFICER, require
from certreg.issuer.http.state import state_of
from certreg.issuer.tokens import Principal

__all__ = ["ShareLinkIn", "router"]

router = APIRouter()


class ShareLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expires_days: int | None = Field(
        default=None,
        ge=1,
        le=sharing.MAX_SHARE_DAYS,
        description="Days until the link expires; omit for a link that lives until revoked.",
    )


OfficerOrAdmin = Annotated[Principal, Depends(require(OFFICER | ADMIN))]
AnyStaff = Annotated[Principal, Depends(require(ANY_ROLE))]


@router.post(
    "/api/certifications/{number}/share-links",
    tags=["admin"],
    status_code=201,
    summary="Make a share link for the holder (its URL is shown this once)",
)
def create_share_link(
    request: Request, number: str, principal: OfficerOrAdmin, payload: ShareLinkIn | None = None
) -> dict[str, Any]:
    state = state_of(request)
    days = payload.expires_days if payload is not None else None
    with state.lock:
        share, token = sharing.create_share(
            state.body,
            number,
            expires_in=timedelta(days=days) if days is not None else None,
            actor=principal.staff_id,
        )
        url = sharing.share_url(state.body, token)
        now = state.body.clock()
    return {"share_link": share.to_json(now), "url": url}


@router.get(
    "/api/certifications/{number}/share-links",
    tags=["admin"],
    summary="The share links of a certification (never their tokens)",
)
def list_share_links(request: Request, number: str, principal: AnyStaff) -> list[dict[str, Any]]:
    state = state_of(request)
    with state.lock:
        now = state.body.clock()
        return [s.to_json(now) for s in sharing.list_shares(state.body, number)]


@router.delete(
    "/api/share-links/{share_id}",
    tags=["admin"],
    summary="Revoke a share link (its page, offers and exchange stop at once)",
)
def revoke_share_link(request: Request, share_id: str, principal: OfficerOrAdmin) -> dict[str, Any]:
    state = state_of(request)
    with state.lock:
        share = sharing.revoke_share(state.body, share_id, actor=principal.staff_id)
        return share.to_json(state.body.clock())

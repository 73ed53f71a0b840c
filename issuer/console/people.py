"""The console's candidates and holders (issue 11, item 2): search, and a person's page.
Read only: any signed-in staff member may look a person up.

``/console/people?q=...&by=...&after=...`` searches by name, certificate number, external id
or e-mail (:meth:`ConsoleData.search`, keyset paging so that a page stays fast at a million
certifications); ``/console/people/{person_id}`` shows a person's assessments, trainings and
involvements, certifications and every decision about them (:meth:`ConsoleData.person`).
This module only turns those answers into pages: statuses in the words the public page uses.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from certreg.issuer.console.dashboard import status_word
from certreg.issuer.console.web import ConsoleUser, render, require_staff
from certreg.issuer.console_data import MAX_PAGE, ConsoleData
from certreg.issuer.http.errors import status_of
from certreg.issuer.http.state import state_of
from certreg.issuer.service import LifecycleError
from certreg.verifier.standing import plain_date

__all__ = ["SEARCH_KEYS", "router"]

router = APIRouter(prefix="/console", include_in_schema=False)

Signed = Annotated[ConsoleUser, Depends(require_staff())]

#: The search keys, in the form's order, with the words the form shows for each.
SEARCH_KEYS: dict[str, str] = {
    "any": "Any (guessed from what you type)",
    "name": "Name",
    "number": "Certificate number",
    "external_id": "External id",
    "email": "E-mail address",
}

#: People per page of search results.
PEOPLE_PAGE = 25


def _refused(request: Request, user: ConsoleUser, exc: LifecycleError) -> Response:
    """A lifecycle error (an unknown key, a cursor not of this search, an unknown person)
    as a page in the error's own words, with its status."""
    title = "Not found" if status_of(exc) == 404 else "Refused"
    return render(
        request, "message.html", status=status_of(exc), user=user, title=title, reason=str(exc)
    )


@router.get("/people", response_class=HTMLResponse)
def people(
    request: Request,
    user: Signed,
    q: str = "",
    by: str = "any",
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = PEOPLE_PAGE,
) -> Response:
    """The search form and, for a query, one page of people found, newest first."""
    found = None
    if q.strip():
        state = state_of(request)
        try:
            with state.lock:
                found = ConsoleData.of(state.body).search(
                    q,
                    by=by,  # type: ignore[arg-type]  # search refuses an unknown key itself
                    after=after,
                    limit=limit,
                )
        except LifecycleError as exc:
            return _refused(request, user, exc)
    return render(
        request,
        "people.html",
        user=user,
        q=q,
        by=by if by in SEARCH_KEYS else "any",
        keys=SEARCH_KEYS,
        found=found,
        first_page=after is None,
        limit="" if limit == PEOPLE_PAGE else f"&limit={limit}",
        status_word=status_word,
        plain_date=plain_date,
    )


@router.get("/people/{person_id}", response_class=HTMLResponse)
def person(request: Request, person_id: str, user: Signed) -> Response:
    """Everything the body recorded about one person, decisions in the order they were made."""
    state = state_of(request)
    try:
        with state.lock:
            page = ConsoleData.of(state.body).person(person_id)
    except LifecycleError as exc:
        return _refused(request, user, exc)
    return render(
        request,
        "person.html",
        user=user,
        p=page,
        status_word=status_word,
        plain_date=plain_date,
    )

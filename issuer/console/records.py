"""Two read-only pages of the staff console (issue 11, item 2): a certificate's staff view
(``/console/certificates/{number}``) and the audit log (``/console/audit``). Any signed-in
staff member may read them.

What is shown comes from :meth:`ConsoleData.certificate` and :meth:`ConsoleData.audit_log`;
this module only turns their answers and refusals into pages. Share links are listed by
their id and state: their tokens are not stored, so no page can show one.

The audit log page does not verify the chain: that reads every event (75 s at 3.4 million),
far too long for a request; the page says that ``certreg audit verify`` does it.
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

__all__ = ["AUDIT_PAGE", "router"]

router = APIRouter(prefix="/console", include_in_schema=False)

Signed = Annotated[ConsoleUser, Depends(require_staff())]

#: Events per page of the audit log.
AUDIT_PAGE = 50

#: The audit log's filters, in the form's order: (query name, label).
AUDIT_FILTERS = (
    ("person", "Person id"),
    ("certificate", "Certificate number"),
    ("kind", "Kind of event"),
    ("since", "From (day, YYYY-MM-DD)"),
    ("until", "To (day, YYYY-MM-DD, included)"),
)


def _refused(request: Request, user: ConsoleUser, exc: LifecycleError) -> Response:
    """A refusal of the data layer (unknown number, a date that is not one, a stranger's
    cursor) as a page in its own words, with the status the JSON API would answer."""
    return render(
        request,
        "message.html",
        status=status_of(exc),
        user=user,
        title="Not found" if status_of(exc) == 404 else "Refused",
        reason=str(exc),
    )


@router.get("/certificates/{number}", response_class=HTMLResponse)
def certificate(request: Request, number: str, user: Signed) -> Response:
    """A certificate as staff see it: its credential versions with their status-list
    entries (the bit recorded and the bit as last signed), scope, share links' states and
    every decision. ``number`` is read with any spacing or case, as the data layer does."""
    state = state_of(request)
    try:
        with state.lock:
            view = ConsoleData.of(state.body).certificate(number)
    except LifecycleError as exc:
        return _refused(request, user, exc)
    return render(
        request,
        "certificate.html",
        user=user,
        view=view,
        plain_date=plain_date,
        status_word=status_word,
    )


def _blank(value: str | None) -> str | None:
    """An empty field of the filter form means no filter."""
    value = (value or "").strip()
    return value or None


@router.get("/audit", response_class=HTMLResponse)
def audit(
    request: Request,
    user: Signed,
    person: str | None = None,
    certificate: str | None = None,
    kind: str | None = None,
    since: str | None = None,
    until: str | None = None,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = AUDIT_PAGE,
) -> Response:
    """The audit log, newest first, filtered, a page at a time (keyset paging: ``after`` is
    the cursor the page before gave)."""
    filters = {
        "person": _blank(person),
        "certificate": _blank(certificate),
        "kind": _blank(kind),
        "since": _blank(since),
        "until": _blank(until),
    }
    state = state_of(request)
    try:
        with state.lock:
            data = ConsoleData.of(state.body)
            page = data.audit_log(**filters, after=_blank(after), limit=limit)
            kinds = data.event_kinds()
    except LifecycleError as exc:
        return _refused(request, user, exc)
    kept = {name: value for name, value in filters.items() if value is not None}
    if limit != AUDIT_PAGE:
        kept["limit"] = str(limit)
    return render(
        request,
        "audit.html",
        user=user,
        page=page,
        kinds=kinds,
        fields=AUDIT_FILTERS,
        filters=filters,
        kept=kept,
        first_page=after is None,
    )

"""The console's landing page, the dashboard (issue 11, item 2), and the paged lists of
decisions due it links to. Read only: any signed-in staff member sees it.

Everything shown comes from :meth:`ConsoleData.dashboard` and :meth:`ConsoleData.due` (which
read index ranges, so the page stays fast at a million certifications); this module only turns
their answers into words: status words from :mod:`certreg.verifier.standing` instead of codes,
dates as ``12 March 2029``, a status list's time to expiry as ``3 days 4 hours``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from certreg.issuer.console.web import ConsoleRefusal, ConsoleUser, render, require_staff
from certreg.issuer.console_data import DUE_TITLES, MAX_PAGE, ConsoleData
from certreg.issuer.http.errors import status_of
from certreg.issuer.http.state import state_of
from certreg.issuer.service import LifecycleError
from certreg.verifier.standing import Status, plain_date, standing_of, words

__all__ = ["duration_words", "router", "status_word"]

router = APIRouter(prefix="/console", include_in_schema=False)

Signed = Annotated[ConsoleUser, Depends(require_staff())]

#: Items per page of a list of decisions due: the dashboard's first page, and the due page's.
DASHBOARD_DUE = 10
DUE_PAGE = 50


def status_word(status: str) -> str:
    """The one vocabulary's word for a recorded status (``ACTIVE`` reads ``VALID``), so that
    the console says what the public page and the verifier say."""
    standing = standing_of(status, None, None)
    return words(standing) if standing is not None else f"STATUS {status}"


def duration_words(left: timedelta) -> str:
    """``3 days 4 hours``, ``5 hours 10 minutes``, ``under a minute``: the two largest units,
    enough to tell whether a status list needs re-signing today."""
    seconds = int(abs(left).total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    shown = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n][:2]
    return " ".join(shown) or "under a minute"


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, user: Signed) -> Response:
    """Who is signed in, and the state of the body at a glance."""
    state = state_of(request)
    with state.lock:
        dash = ConsoleData.of(state.body).dashboard(due_limit=DASHBOARD_DUE)
    return render(
        request,
        "dashboard.html",
        user=user,
        roles=sorted(user.roles),
        plain_date=plain_date,
        duration_words=duration_words,
        dash=dash,
        statuses=[(s.value, status_word(s.value)) for s in Status],
    )


@router.get("/due/{kind}", response_class=HTMLResponse)
def due_page(
    request: Request,
    kind: str,
    user: Signed,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DUE_PAGE,
) -> Response:
    """One list of decisions due, a page at a time (keyset paging: ``after`` is the cursor
    the page before gave; ``limit`` the rows a page holds)."""
    if kind not in DUE_TITLES:
        raise ConsoleRefusal(404, f"no list of decisions due called {kind!r}")
    state = state_of(request)
    try:
        with state.lock:
            listed = ConsoleData.of(state.body).due(kind, after=after, limit=limit)
    except LifecycleError as exc:  # a cursor that is not one of this list's
        return render(
            request,
            "message.html",
            status=status_of(exc),
            user=user,
            title="Refused",
            reason=str(exc),
        )
    return render(
        request,
        "due.html",
        user=user,
        listed=listed,
        first_page=after is None,
        limit="" if limit == DUE_PAGE else f"&limit={limit}",
        plain_date=plain_date,
        status_word=status_word,
    )

"""The officers' record forms (issue 11, item 2): what a grant rests on.

- ``/console/candidates/new``: add a candidate (name, external id, e-mail, publication
  consent); then their page.
- ``/console/people/{person_id}/assessment``: record an assessment: the scheme first (a
  plain GET form, so that the next form can offer that scheme's scope items without any
  script), then scope, date, examiner picked from the active staff, result, evidence.
- ``/console/people/{person_id}/training``: record that a staff member trained the candidate
  (which bars them from deciding on them, ISO/IEC 17024 §9.4).

Officers only, the role the JSON API asks for the same records (``issuer.http.admin``). The
service records each (``add_person``, ``record_assessment``, ``record_training``) with the
signed-in person as the actor of its audit event. The forms check only what a person types
(a date's shape, a score is a number); every other refusal is the service's, shown in its own
words with the form as typed, 4xx, nothing written.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from certreg.i18n import LANGUAGES, language_name
from certreg.issuer.console.web import ConsoleUser, redirect, render, require_staff
from certreg.issuer.console_data import ConsoleData, SchemePage, StaffChoice
from certreg.issuer.http.errors import status_of
from certreg.issuer.http.state import state_of
from certreg.issuer.service import LifecycleError

__all__ = ["RESULTS", "router"]

router = APIRouter(prefix="/console", include_in_schema=False)

Officer = Annotated[ConsoleUser, Depends(require_staff("officer"))]

#: An assessment's results, in the service's words, with what the form shows.
RESULTS = {"pass": "passed", "fail": "failed", "absent": "absent"}
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def _refused(request: Request, user: ConsoleUser, exc: LifecycleError) -> Response:
    title = "Not found" if status_of(exc) == 404 else "Refused"
    return render(
        request, "message.html", status=status_of(exc), user=user, title=title, reason=str(exc)
    )


def _values(form: FormData) -> dict[str, str]:
    """The form's text fields (the CSRF token aside): what is shown again on a refusal."""
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def _staff_options(staff: tuple[StaffChoice, ...]) -> list[tuple[str, str]]:
    """Active staff as a select's options: their id, and their name with their roles."""
    return [(s.staff_id, f"{s.name} ({', '.join(s.roles) or 'no role'})") for s in staff]


# -- a candidate ------------------------------------------------------------------------------


#: The mail language select: none (the body's default), then each language in its own name.
_LANGUAGE_CHOICES = [("", "The body's default language")] + [
    (lang, f"{language_name(lang)} ({lang})") for lang in LANGUAGES
]


def _candidate_page(
    request: Request,
    user: ConsoleUser,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "candidate_new.html",
        status=status,
        user=user,
        values=values,
        errors=errors or {},
        error=error,
        languages=_LANGUAGE_CHOICES,
    )


@router.get("/candidates/new", response_class=HTMLResponse)
def new_candidate(request: Request, user: Officer) -> Response:
    return _candidate_page(request, user, {})


@router.post("/candidates", response_class=HTMLResponse)
async def add_candidate(request: Request, user: Officer) -> Response:
    """Add a candidate; on success their page."""
    values = _values(await request.form())
    errors: dict[str, str] = {}
    name = values.get("full_name", "").strip()
    email = values.get("email", "").strip()
    external_id = values.get("external_id", "").strip()
    if not name:
        errors["full_name"] = "required"
    if email and not _EMAIL.fullmatch(email):
        errors["email"] = "an e-mail address is name@domain"
    language = values.get("language", "")
    if language and language not in LANGUAGES:
        errors["language"] = f"one of {', '.join(LANGUAGES)}"
    if errors:
        return _candidate_page(
            request, user, values, errors, "Correct the fields marked below.", 422
        )
    state = state_of(request)

    def work() -> str:
        with state.lock:
            return state.body.add_person(
                name,
                email=email or None,
                external_id=external_id or None,
                consent_publish=values.get("consent_publish") == "yes",
                language=language or None,
                actor=user.id,
            )

    try:
        person_id = await run_in_threadpool(work)
    except LifecycleError as exc:
        return _candidate_page(request, user, values, error=str(exc), status=status_of(exc))
    return redirect(f"/console/people/{person_id}")


# -- an assessment ----------------------------------------------------------------------------


def _assessment_page(
    request: Request,
    user: ConsoleUser,
    person_id: str,
    values: dict[str, str],
    *,
    scope: list[str] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    state = state_of(request)
    try:
        with state.lock:
            data = ConsoleData.of(state.body)
            name = data.person(person_id).full_name
            schemes = data.schemes()
            staff: tuple[StaffChoice, ...] = data.staff_choices()
            chosen = values.get("scheme") or (schemes[0].scheme_id if len(schemes) == 1 else "")
            scheme: SchemePage | None = data.scheme(chosen) if chosen else None
    except LifecycleError as exc:
        return _refused(request, user, exc)
    return render(
        request,
        "assessment_new.html",
        status=status,
        user=user,
        person_id=person_id,
        name=name,
        schemes=schemes,
        scheme=scheme,
        staff_options=_staff_options(staff),
        values=values,
        scope=scope or [],
        errors=errors or {},
        error=error,
        results=RESULTS,
    )


@router.get("/people/{person_id}/assessment", response_class=HTMLResponse)
def new_assessment(request: Request, person_id: str, user: Officer, scheme: str = "") -> Response:
    """The assessment form; without a scheme chosen (and more than one), the scheme first."""
    state = state_of(request)
    with state.lock:
        today = state.body.clock().date().isoformat()
    values = {"scheme": scheme, "assessed_on": today, "kind": "examination"}
    return _assessment_page(request, user, person_id, values)


@router.post("/people/{person_id}/assessment", response_class=HTMLResponse)
async def record_assessment(request: Request, person_id: str, user: Officer) -> Response:
    """Record an assessment; on success the person's page, at their assessments."""
    form = await request.form()
    values = _values(form)
    values.pop("scope", None)
    scope = [v for v in form.getlist("scope") if isinstance(v, str)]
    errors: dict[str, str] = {}
    day = values.get("assessed_on", "").strip()
    if not _DAY.fullmatch(day):
        errors["assessed_on"] = "a day, YYYY-MM-DD"
    score_text = values.get("score", "").strip()
    score: float | None = None
    if score_text:
        try:
            score = float(score_text)
        except ValueError:
            errors["score"] = "a number, such as 82 or 82.5"
    if values.get("result") not in RESULTS:
        errors["result"] = "choose the result"
    if not values.get("scheme"):
        errors["scheme"] = "choose the scheme"
    if errors:
        return _assessment_page(
            request,
            user,
            person_id,
            values,
            scope=scope,
            errors=errors,
            error="Correct the fields marked below.",
            status=422,
        )
    examiner = values.get("examiner", "")
    state = state_of(request)

    def work() -> str:
        with state.lock:
            return state.body.record_assessment(
                person_id,
                values["scheme"],
                result=values["result"],
                assessed_on=day,
                examiners=[examiner] if examiner else [],
                scope_codes=scope,
                kind=values.get("kind", "").strip() or "examination",
                score=score,
                notes=values.get("evidence", "").strip() or None,
                actor=user.id,
            )

    try:
        await run_in_threadpool(work)
    except LifecycleError as exc:
        return _assessment_page(
            request,
            user,
            person_id,
            values,
            scope=scope,
            error=str(exc),
            status=status_of(exc),
        )
    return redirect(f"/console/people/{person_id}#assessments")


# -- a training -------------------------------------------------------------------------------


def _training_page(
    request: Request,
    user: ConsoleUser,
    person_id: str,
    values: dict[str, str],
    *,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    state = state_of(request)
    try:
        with state.lock:
            data = ConsoleData.of(state.body)
            name = data.person(person_id).full_name
            staff = data.staff_choices()
    except LifecycleError as exc:
        return _refused(request, user, exc)
    return render(
        request,
        "training_new.html",
        status=status,
        user=user,
        person_id=person_id,
        name=name,
        staff_options=_staff_options(staff),
        values=values,
        errors=errors or {},
        error=error,
    )


@router.get("/people/{person_id}/training", response_class=HTMLResponse)
def new_training(request: Request, person_id: str, user: Officer) -> Response:
    return _training_page(request, user, person_id, {})


@router.post("/people/{person_id}/training", response_class=HTMLResponse)
async def record_training(request: Request, person_id: str, user: Officer) -> Response:
    """Record a training; on success the person's page, at the staff involved."""
    values = _values(await request.form())
    trainer = values.get("trainer", "")
    if not trainer:
        return _training_page(
            request,
            user,
            person_id,
            values,
            errors={"trainer": "choose the trainer"},
            error="Correct the fields marked below.",
            status=422,
        )
    state = state_of(request)

    def work() -> None:
        with state.lock:
            state.body.record_training(person_id, trainer, actor=user.id)

    try:
        await run_in_threadpool(work)
    except LifecycleError as exc:
        return _training_page(
            request, user, person_id, values, error=str(exc), status=status_of(exc)
        )
    return redirect(f"/console/people/{person_id}#involvements")

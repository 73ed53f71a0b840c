"""Schemes and their scope catalogues, with versions (issue 11, item 2).

``/console/schemes`` lists every scheme and ``/console/schemes/{scheme_id}`` shows one, each
version and the scope catalogue: any signed-in staff member may read them. Officers (the role
``POST /api/schemes`` asks for) add a scheme (``/console/schemes/new``) and a new version of
one (the form on the scheme's page); the service records them (``add_scheme``,
``add_scheme_version``), with the signed-in person as the actor of its audit event.

The forms read what a person types (whole numbers, the scope catalogue one ``CODE | title``
line per item) and say what is wrong field by field, line by line; everything else is the
service's rule, and its refusal is shown in its own words above the form, which comes back
with the values typed. Nothing is written when anything is refused.

The scope catalogue is under version control with the scheme (ISO/IEC 17024 §8): a new
version may add items (lines ``CODE | title [| level]``) and retire items (ticks), through the
same service operation as the CLI and the API. The scheme's page shows, per version, the items
it added and retired. A retired item stays on the certificates that hold it until a decision
reduces their scope; new grants, scope extensions and bulk rows refuse it.

A version may also carry the scheme's name in other languages (fields ``name_de``, ...: one per
language of ``certreg.i18n.LANGUAGES``), shown to register readers in their language; the
certificates keep the signed name. The version form starts with the latest version's names;
a name cleared there is dropped from the new version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from babel import Locale
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from certreg.i18n import LANGUAGES
from certreg.issuer.console.web import ConsoleUser, redirect, render, require_staff
from certreg.issuer.console_data import ConsoleData, ScopeLine
from certreg.issuer.http.errors import status_of
from certreg.issuer.http.state import state_of
from certreg.issuer.lifecycle.records import POLICIES
from certreg.issuer.lifecycle.reference import VERSION_FIELDS
from certreg.issuer.service import LifecycleError
from certreg.verifier.standing import plain_date

__all__ = ["POLICY_WORDS", "catalogue_changes", "parse_scope", "router"]

router = APIRouter(prefix="/console", include_in_schema=False)

Signed = Annotated[ConsoleUser, Depends(require_staff())]
#: Who records schemes: the role the JSON API asks for (``issuer.http.admin``).
Officer = Annotated[ConsoleUser, Depends(require_staff("officer"))]

#: The publication policies, in the words the forms show.
POLICY_WORDS: dict[str, str] = {
    "directory": "directory: holders who consent are listed by name",
    "number_lookup": "number lookup: a certificate is found by its number only",
    "on_request": "on request: nothing is listed; the body answers enquiries",
}
assert set(POLICY_WORDS) == set(POLICIES)

#: Whole-number fields of the forms, with the smallest value each accepts.
_WHOLE = {"validity_months": 1, "max_suspension_days": 1, "recertification_window_months": 0}
_TEXTS = ("description", "prerequisites", "process", "appeals", "recertification_rules")
_MAX_SCOPE = 1000  # as the JSON API (issuer.http.models.SchemeIn)
#: The name fields in other languages, with the language's name in English (the console's).
NAME_LANGUAGES: list[tuple[str, str]] = [
    (lang, str(Locale.parse(lang).get_display_name("en"))) for lang in LANGUAGES
]
T = TypeVar("T")


def parse_scope(
    text: str, *, catalogue: Sequence[ScopeLine] | None = None, scheme_id: str = ""
) -> tuple[list[tuple[str, str] | tuple[str, str, str]], list[str]]:
    """The scope catalogue typed one item a line, ``CODE | title`` or ``CODE | title |
    level``: the items and, for each line that is not one, ``line N: why``. Blank lines are
    skipped; a code given twice is an error of the second line.

    With ``catalogue`` (the items a new version adds to a scheme's catalogue): no line is
    required, and a code the catalogue has, in use or retired, is the error of its line."""
    items: list[tuple[str, str] | tuple[str, str, str]] = []
    problems: list[str] = []
    seen: set[str] = set()
    known = {i.code: i for i in catalogue or ()}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) not in (2, 3):
            problems.append(f"line {number}: write CODE | title (or CODE | title | level)")
            continue
        code, label, *level = parts
        if not code or " " in code:
            problems.append(f"line {number}: the code is one word, without spaces")
        elif not label:
            problems.append(f"line {number}: scope item {code} has no title")
        elif code in seen:
            problems.append(f"line {number}: scope item {code} is given twice")
        elif code in known and known[code].retired:
            problems.append(
                f"line {number}: scope item {code} was retired in version "
                f"{known[code].retired_in_version} of scheme {scheme_id}: a retired code is "
                "not used again; give the new item a new code"
            )
        elif code in known:
            problems.append(f"line {number}: scope item {code} is in the catalogue already")
        else:
            seen.add(code)
            items.append((code, label, level[0]) if level and level[0] else (code, label))
    if not items and not problems and catalogue is None:
        problems.append("a scheme needs at least one scope item")
    if len(items) > _MAX_SCOPE:
        problems.append(f"at most {_MAX_SCOPE} scope items")
    return items, problems


def _whole_numbers(values: dict[str, str], errors: dict[str, str]) -> dict[str, int]:
    """The whole-number fields present in ``values``; an error for each that is not one."""
    out: dict[str, int] = {}
    for name, least in _WHOLE.items():
        if name not in values:
            continue
        text = values[name].strip()
        if not text.isdigit() or int(text) < least:
            errors[name] = f"a whole number, {least} or more"
        else:
            out[name] = int(text)
    return out


def _refused(request: Request, user: ConsoleUser, exc: LifecycleError) -> Response:
    title = "Not found" if status_of(exc) == 404 else "Refused"
    return render(
        request, "message.html", status=status_of(exc), user=user, title=title, reason=str(exc)
    )


def _names_typed(values: dict[str, str]) -> dict[str, str | None]:
    """The names in other languages typed in the form: a blank field is None (no name)."""
    return {lang: values.get(f"name_{lang}", "").strip() or None for lang, _ in NAME_LANGUAGES}


async def _form(request: Request) -> dict[str, str]:
    """The form's text fields (the CSRF token aside): what is shown again on a refusal."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


# -- reading ----------------------------------------------------------------------------------


@router.get("/schemes", response_class=HTMLResponse)
def schemes(request: Request, user: Signed) -> Response:
    """Every scheme: code, name, current version, validity, number of certifications."""
    state = state_of(request)
    with state.lock:
        lines = ConsoleData.of(state.body).schemes()
    return render(request, "schemes.html", user=user, schemes=lines)


def _scheme_page(
    request: Request,
    user: ConsoleUser,
    scheme_id: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
    retiring: Sequence[str] = (),
    scope_problems: Sequence[str] = (),
) -> Response:
    state = state_of(request)
    try:
        with state.lock:
            page = ConsoleData.of(state.body).scheme(scheme_id)
            names = state.body.scheme_names(scheme_id)
    except LifecycleError as exc:
        return _refused(request, user, exc)
    if values is None:  # the version form starts from the latest version
        values = {f: "" if page.latest[f] is None else str(page.latest[f]) for f in VERSION_FIELDS}
        values |= {f"name_{lang}": entry["name"] for lang, entry in names.items()}
    return render(
        request,
        "scheme.html",
        status=status,
        user=user,
        s=page,
        changes=catalogue_changes(page.scope),
        retiring=set(retiring),
        scope_problems=list(scope_problems),
        values=values,
        errors=errors or {},
        error=error,
        policies=list(POLICY_WORDS.items()),
        policy_words=POLICY_WORDS,
        plain_date=plain_date,
        name_languages=NAME_LANGUAGES,
    )


@router.get("/schemes/new", response_class=HTMLResponse)
def new_scheme(request: Request, user: Officer) -> Response:
    """The form that adds a scheme with its first version and scope catalogue."""
    return _new_scheme_page(request, user, {"publication_policy": "number_lookup"}, {}, None)


@router.get("/schemes/{scheme_id}", response_class=HTMLResponse)
def scheme(request: Request, scheme_id: str, user: Signed) -> Response:
    """One scheme: each version (normative reference, validity, recertification window,
    maximum suspension) and the scope catalogue; officers see the new-version form."""
    return _scheme_page(request, user, scheme_id)


# -- adding -----------------------------------------------------------------------------------


def _new_scheme_page(
    request: Request,
    user: ConsoleUser,
    values: dict[str, str],
    errors: dict[str, str],
    error: str | None,
    *,
    status: int = 200,
    scope_problems: list[str] | None = None,
) -> Response:
    return render(
        request,
        "scheme_new.html",
        status=status,
        user=user,
        values=values,
        errors=errors,
        error=error,
        scope_problems=scope_problems or [],
        policies=list(POLICY_WORDS.items()),
        name_languages=NAME_LANGUAGES,
    )


@router.post("/schemes", response_class=HTMLResponse)
async def add_scheme(request: Request, user: Officer) -> Response:
    """Add a scheme (version 1). Refused: the form again, with the values typed and the
    reasons, 4xx, nothing written."""
    values = await _form(request)
    errors: dict[str, str] = {}
    for name in ("id", "code", "name", "normative_reference", "description"):
        if not values.get(name, "").strip():
            errors[name] = "required"
    numbers = _whole_numbers(
        {k: values.get(k, "") for k in ("validity_months", "max_suspension_days")}, errors
    )
    scope, scope_problems = parse_scope(values.get("scope", ""))
    if scope_problems:
        errors["scope"] = f"{len(scope_problems)} line(s) to correct: " + "; ".join(
            scope_problems[:20]
        )
    if errors:
        return _new_scheme_page(
            request,
            user,
            values,
            errors,
            "Correct the fields marked below.",
            status=422,
            scope_problems=scope_problems,
        )
    fields: dict[str, Any] = {
        "code": values["code"].strip(),
        "name": values["name"].strip(),
        "normative_reference": values["normative_reference"].strip(),
        "normative_reference_url": values.get("normative_reference_url", "").strip() or None,
        "publication_policy": values.get("publication_policy", ""),
        "accredited": values.get("accredited") == "yes",
        **{name: values.get(name, "") for name in _TEXTS},
        **numbers,
        "names": {lang: name for lang, name in _names_typed(values).items() if name},
    }
    state = state_of(request)

    def work() -> None:
        with state.lock:
            state.body.add_scheme(values["id"].strip(), scope=scope, actor=user.id, **fields)

    try:
        await _in_thread(work)
    except LifecycleError as exc:
        return _new_scheme_page(request, user, values, {}, str(exc), status=status_of(exc))
    return redirect(f"/console/schemes/{values['id'].strip()}")


@router.post("/schemes/{scheme_id}/versions", response_class=HTMLResponse)
async def add_version(request: Request, scheme_id: str, user: Officer) -> Response:
    """A new version of the scheme: the latest with the fields changed, the scope items typed
    added and the ticked ones retired. Refused (nothing changed, a field or a line wrong, the
    service's own rule): the scheme's page, form as typed, 4xx, nothing written."""
    values = await _form(request)
    retiring = [v for v in (await request.form()).getlist("retire_scope") if isinstance(v, str)]
    state = state_of(request)
    try:
        with state.lock:
            catalogue = ConsoleData.of(state.body).scheme(scheme_id).scope
    except LifecycleError as exc:
        return _refused(request, user, exc)
    errors: dict[str, str] = {}
    for name in ("name", "normative_reference", "description"):
        if not values.get(name, "").strip():
            errors[name] = "required"
    numbers = _whole_numbers(
        {k: values.get(k, "") for k in _WHOLE},
        errors,
    )
    added, scope_problems = parse_scope(
        values.get("add_scope", ""), catalogue=catalogue, scheme_id=scheme_id
    )
    if scope_problems:
        errors["add_scope"] = f"{len(scope_problems)} line(s) to correct: " + "; ".join(
            scope_problems[:20]
        )
    if errors:
        return _scheme_page(
            request,
            user,
            scheme_id,
            values=values,
            errors=errors,
            error="Correct the fields marked below.",
            status=422,
            retiring=retiring,
            scope_problems=scope_problems,
        )
    typed: dict[str, Any] = {
        name: values.get(name, "").strip() for name in VERSION_FIELDS if name not in numbers
    }
    typed["normative_reference_url"] = typed.get("normative_reference_url") or None
    typed.update(numbers)

    def work() -> int:
        # Fields typed as they were are no change; a version that changes nothing (no field,
        # no scope item) is the service's refusal, in the API's words.
        with state.lock:
            return state.body.add_scheme_version(
                scheme_id,
                actor=user.id,
                add_scope=added,
                retire_scope=retiring,
                names=_names_typed(values),
                **typed,
            )

    try:
        version = await _in_thread(work)
    except LifecycleError as exc:
        if status_of(exc) == 404:
            return _refused(request, user, exc)
        return _scheme_page(
            request,
            user,
            scheme_id,
            values=values,
            error=str(exc),
            status=status_of(exc),
            retiring=retiring,
        )
    return redirect(f"/console/schemes/{scheme_id}#version-{version}")


def catalogue_changes(scope: Sequence[ScopeLine]) -> dict[int, tuple[list[str], list[str]]]:
    """Per scheme version, the codes of the scope items it added and those it retired (the
    scheme page's catalogue history; version 1 added the first catalogue)."""
    out: dict[int, tuple[list[str], list[str]]] = {}
    for item in scope:
        out.setdefault(item.added_in_version, ([], []))[0].append(item.code)
        if item.retired_in_version is not None:
            out.setdefault(item.retired_in_version, ([], []))[1].append(item.code)
    return out


async def _in_thread(work: Callable[[], T]) -> T:
    """The body's work off the event loop (the handlers read the whole form, so they are
    async; the body is used under its lock on a worker thread, as plain handlers do)."""
    return await run_in_threadpool(work)

"""The console's decision forms (issue 11, item 2): one form per decision of the lifecycle
table (:data:`certreg.issuer.lifecycle.table.DECISIONS`), its third consumer after the CLI's
``certreg decide ...`` commands and the admin API's routes. A form's fields, its role, its
service call and its confirmation come from the table; its rules in plain words from
:func:`certreg.issuer.lifecycle.rules.rules_in_words` and ``table.VERIFIERS_SEE``.

URLs (``{command}`` is the table's command: suspend, reinstate, withdraw, reduce-scope,
extend-scope, recertify, correct):

- ``GET/POST /console/certificates/{number}/decide/{command}``: a decision on a certificate;
- ``GET/POST /console/people/{person_id}/grant`` (``?scheme=ID`` picks the scheme): a grant.

Field names are the table's input names (``reason``, ``evidence``, ``until``,
``effective_date``, ``external_id``, ``appeal_of``, ``holder_name``); scope is checkboxes of
codes (``scope``, ``add``, ``remove``) with each code's conditions in ``{input}_conditions_
{CODE}``; a correction's conditions are ``conditions_{CODE}`` (only the ones changed count,
empty clears). The grant's scheme is the hidden field ``scheme_id``.

The input is validated by the admin API's own request model (``issuer.http.models``), so a
form accepts what the API accepts: no field names the decision-maker, who is always the
signed-in person (``decided_by=user.id``), and a form sent with a ``decided_by`` field is
refused, nothing written. A refusal of the service (its own words) or bad input re-shows the
form with the values typed and the status the API answers (403, 409, 422). Success: 303 to
the certificate's staff view, which shows the table's ``done`` sentence once.

Audit: the service writes the events itself (``decision_<type>``, ``certification_...``, and
``decision_refused`` for a refused §9.4 attempt), each with the signed-in person as actor.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from certreg.issuer.console.web import (
    ConsoleRefusal,
    ConsoleUser,
    redirect,
    render,
    require_staff,
    templates,
)
from certreg.issuer.console_data import CertificateView, ConsoleData
from certreg.issuer.http import models
from certreg.issuer.http.errors import status_of
from certreg.issuer.http.state import state_of
from certreg.issuer.lifecycle import rules, table
from certreg.issuer.register_push import RegisterBehind
from certreg.issuer.service import Certification, Invalid, LifecycleError, ScopeGrant

__all__ = ["BY_COMMAND", "LABELS", "decision_done", "decision_links", "grant_link", "router"]

router = APIRouter(prefix="/console", include_in_schema=False)

#: The decisions on a certificate by their command (the URL's last part).
BY_COMMAND: dict[str, table.DecisionSpec] = {d.command: d for d in table.DECISIONS if d.on_number}
GRANT = table.BY_NAME["grant"]

#: The label of each input of the table (its help is shown under the field).
LABELS: dict[str, str] = {
    "scope": "Scope items granted",
    "add": "Scope items to add",
    "remove": "Scope items to remove",
    "conditions": "Corrected conditions",
    "evidence": "Evidence",
    "reason": "Reason",
    "effective_date": "Effective date",
    "until": "Suspension deadline",
    "external_id": "Your key for this grant (optional)",
    "appeal_of": "On appeal of decision (optional)",
    "holder_name": "Holder's corrected name",
    "scheme_id": "Scheme",
}

#: The table's help, where it speaks of the command line (repeated options, CODE=TEXT),
#: as the form's fields work instead.
FORM_HELP: dict[str, str] = {
    "scope": "Tick each scope item granted; write its conditions or limitations, if any.",
    "add": "Tick each scope item to add (each needs a passed assessment covering it); write "
    "its conditions or limitations, if any.",
    "remove": "Tick each scope item to remove.",
    "conditions": "Change the conditions of a scope item held; only the ones you change are "
    "corrected, and an emptied one is cleared.",
}

#: Long text inputs get a text area.
LONG = frozenset({"reason", "evidence"})

#: The service's inputs the form never has: the decision-maker is the signed-in person.
NEVER = frozenset({"decided_by"})

#: Confirmations waiting to be shown once on the certificate's page, by one-time key.
_DONE: OrderedDict[str, tuple[str, str]] = OrderedDict()
_DONE_KEPT = 1000


@dataclass
class Field:
    """One input of a form as the template draws it."""

    name: str
    label: str
    help: str
    kind: str  # "text", "long", "date", "scope", "codes", "conditions"
    required: bool
    value: str = ""
    #: For scope, codes and conditions: (code, label, conditions now) of each item offered.
    items: list[tuple[str, str, str]] = field(default_factory=list)
    checked: set[str] = field(default_factory=set)
    typed: dict[str, str] = field(default_factory=dict)  # conditions typed, by code


@dataclass
class Form:
    spec: table.DecisionSpec
    title: str
    button: str
    action: str
    back: str
    help: str
    rules: list[str]
    afterwards: str
    fields: list[Field]
    hidden: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    error_field: str | None = None
    allowed: bool = True  # the signed-in person holds the spec's role
    #: A grant's scheme picker: (id, name) of each scheme, and the one picked.
    schemes: list[tuple[str, str]] = field(default_factory=list)
    scheme: str | None = None


def verb(spec: table.DecisionSpec) -> str:
    """The decision's name on its button and link: the command in words ("Reduce scope")."""
    return spec.command.replace("-", " ").capitalize()


def _kind(item: table.Input) -> str:
    if item.shape != "text":
        return item.shape
    if item.metavar == "YYYY-MM-DD":
        return "date"
    return "long" if item.name in LONG else "text"


def _fields(
    spec: table.DecisionSpec, offered: dict[str, list[tuple[str, str, str]]]
) -> list[Field]:
    return [
        Field(
            item.name,
            LABELS.get(item.name, item.name),
            FORM_HELP.get(item.name, item.help),
            _kind(item),
            item.required,
            items=offered.get(item.name, []),
        )
        for item in spec.inputs
        if item.name not in NEVER
    ]


def _catalogue(db: Any, scheme_id: str) -> list[tuple[str, str, str]]:
    """The scheme's current scope catalogue (retired items are not offered)."""
    return [
        (code, label, "")
        for code, label in db.execute(
            "SELECT code, label FROM scope_items WHERE scheme_id = ? AND retired = 0 ORDER BY code",
            [scheme_id],
        )
    ]


def _version(db: Any, scheme_id: str, version: int | None = None) -> dict[str, Any]:
    sql = (
        "SELECT max_suspension_days, recertification_window_months, name FROM scheme_versions "
        "WHERE scheme_id = ?" + (" AND version = ?" if version is not None else "")
    )
    params = [scheme_id] + ([version] if version is not None else [])
    row = db.execute(sql + " ORDER BY version DESC LIMIT 1", params).fetchone()
    return {"max_suspension_days": row[0], "window_months": row[1], "name": row[2]}


def _plain(text: str, **names: str) -> str:
    """The command's help as a sentence: one line, the placeholders replaced."""
    text = " ".join(text.split())
    for placeholder, value in names.items():
        text = text.replace(placeholder, value)
    return text


def _certificate_form(
    request: Request, user: ConsoleUser, spec: table.DecisionSpec, number: str
) -> tuple[Form, CertificateView]:
    state = state_of(request)
    with state.lock:
        data = ConsoleData.of(state.body)
        view = data.certificate(number)
        today = data.today()
        catalogue = _catalogue(state.body.db, view.scheme_id)
        limits = _version(state.body.db, view.scheme_id, view.scheme_version)
        current = _version(state.body.db, view.scheme_id)
    held = [
        (s["code"], s["label"], s["conditions"] or "")
        for s in view.scope
        if s["status"] == "active"
    ]
    held_codes = {code for code, _, _ in held}
    offered = {
        "remove": held,
        "conditions": held,
        "add": [item for item in catalogue if item[0] not in held_codes],
    }
    said = rules.rules_in_words(
        spec.name,
        today=today,
        max_suspension_days=limits["max_suspension_days"],
        valid_until=date.fromisoformat(view.valid_until),
        window_months=current["window_months"],
    )
    base = f"/console/certificates/{view.number}"
    form = Form(
        spec=spec,
        title=f"{verb(spec)}: certificate {view.number}",
        button=verb(spec),
        action=f"{base}/decide/{spec.command}",
        back=base,
        help=_plain(spec.help, NUMBER=view.number),
        rules=said,
        afterwards=table.VERIFIERS_SEE[spec.name],
        fields=_fields(spec, offered),
        allowed=user.has(spec.role),
    )
    return form, view


def _grant_form(request: Request, user: ConsoleUser, person_id: str, scheme: str | None) -> Form:
    state = state_of(request)
    with state.lock:
        data = ConsoleData.of(state.body)
        person = data.person(person_id)  # NotFound for an unknown person
        today = data.today()
        schemes = [
            (sid, name)
            for sid, name in state.body.db.execute(
                "SELECT s.id, v.name FROM schemes s JOIN scheme_versions v ON v.scheme_id = s.id "
                "AND v.version = (SELECT MAX(version) FROM scheme_versions WHERE scheme_id = s.id) "
                "ORDER BY s.id"
            )
        ]
        if scheme is None and len(schemes) == 1:
            scheme = schemes[0][0]
        catalogue = _catalogue(state.body.db, scheme) if scheme else []
    form = Form(
        spec=GRANT,
        title=f"Grant a certification to {person.full_name}",
        button="Grant",
        action=f"/console/people/{person.person_id}/grant",
        back=f"/console/people/{person.person_id}",
        help=_plain(GRANT.help, PERSON=person.full_name, SCHEME=scheme or "the scheme"),
        rules=rules.rules_in_words("grant", today=today),
        afterwards=table.VERIFIERS_SEE["grant"],
        fields=_fields(GRANT, {"scope": catalogue}),
        hidden={"scheme_id": scheme or ""},
        allowed=user.has(GRANT.role),
        schemes=schemes,
        scheme=scheme,
    )
    return form


# -- reading a form -------------------------------------------------------------------------------


class BadForm(Invalid):
    """The form cannot be read as the decision's input (422, as the API's bad input):
    ``reason`` in words, ``field`` the input it concerns (for aria-describedby), if known."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


def _known(spec: table.DecisionSpec, form: Form) -> set[str]:
    names = {"csrf_token", *form.hidden}
    for f in form.fields:
        names.add(f.name)
        if f.kind == "scope":
            names.update(f"{f.name}_conditions_{code}" for code, _, _ in f.items)
        if f.kind == "conditions":
            names.update(f"conditions_{code}" for code, _, _ in f.items)
    return names


def _keep_typed(form: Form, sent: FormData) -> None:
    """Put what was typed back in the form's fields (a refused form is shown again as sent)."""
    for f in form.fields:
        if f.kind in ("scope", "codes"):
            f.checked = {str(v) for v in sent.getlist(f.name)}
            f.typed = {
                code: str(sent.get(f"{f.name}_conditions_{code}", "")) for code, _, _ in f.items
            }
        elif f.kind == "conditions":
            f.typed = {code: str(sent.get(f"conditions_{code}", cond)) for code, _, cond in f.items}
        else:
            f.value = str(sent.get(f.name, ""))


def _request_data(spec: table.DecisionSpec, form: Form, sent: FormData) -> dict[str, Any]:
    """The form as the admin API's request body: the same names and shapes."""
    if NEVER & set(sent.keys()):
        raise BadForm(
            "the decision-maker is always the signed-in person: a form cannot name another "
            "(decided_by). Nothing was changed"
        )
    unknown = sorted(set(sent.keys()) - _known(spec, form))
    if unknown:
        raise BadForm(f"this form has no fields {unknown}: nothing was changed")
    data: dict[str, Any] = dict(form.hidden)
    for f in form.fields:
        if f.kind in ("scope", "codes"):
            codes = [str(v) for v in sent.getlist(f.name)]
            if f.kind == "codes":
                data[f.name] = codes
            else:
                data[f.name] = [
                    {
                        "code": code,
                        "conditions": str(sent.get(f"{f.name}_conditions_{code}", "")).strip()
                        or None,
                    }
                    for code in codes
                ]
        elif f.kind == "conditions":
            changed = {}
            for code, _, now in f.items:
                typed = str(sent.get(f"conditions_{code}", now)).strip()
                if typed != now:
                    changed[code] = typed or None
            if changed:
                data[f.name] = changed
        else:
            value = str(sent.get(f.name, "")).strip()
            if value:
                data[f.name] = value
            elif f.required:
                data[f.name] = ""
    return data


def _missing(spec: table.DecisionSpec, item: table.Input) -> str:
    """Why a required input left empty is refused: the rule's own words where there is one."""
    refusal = None
    if item.name == "reason":
        refusal = rules.reason_given(spec.name, "")
    elif item.name == "evidence":
        refusal = rules.evidence_cited(spec.name, "")
    elif item.name == "scope":
        refusal = rules.scope_in_catalogue("", [], {})
    if refusal is not None:
        return refusal.reason
    return f"{LABELS.get(item.name, item.name)} is required: {item.help}"


def _inputs(
    spec: table.DecisionSpec, form: Form, sent: FormData, subject: dict[str, str]
) -> dict[str, Any]:
    """The service's inputs: the required ones present (in the rules' words), then checked
    as the admin API checks a request, by its model."""
    data = _request_data(spec, form, sent)
    for item in spec.inputs:
        if item.required and item.name not in NEVER and not data.get(item.name):
            raise BadForm(_missing(spec, item), item.name)
    if not spec.on_number:
        data["person_id"] = subject["person_id"]
    model = getattr(models, spec.model)
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else None
        label = LABELS.get(name or "", name or "the form")
        message = first["msg"]
        if first["type"] == "string_pattern_mismatch":  # the Day fields
            message = f"must be a date written YYYY-MM-DD, not {first['input']!r}"
        raise BadForm(f"{label}: {message}", name) from None
    inputs: dict[str, Any] = parsed.model_dump(exclude={"person_id", "scheme_id"})
    for item in spec.inputs:
        if item.shape == "scope":
            inputs[item.name] = [ScopeGrant(g["code"], g["conditions"]) for g in inputs[item.name]]
    return inputs


# -- the pages ------------------------------------------------------------------------------------


Signed = Annotated[ConsoleUser, Depends(require_staff())]


def _page(request: Request, user: ConsoleUser, form: Form, status: int = 200) -> Response:
    return render(request, "decide.html", status=status, user=user, form=form)


def _not_found(request: Request, user: ConsoleUser, exc: LifecycleError) -> Response:
    title = "Not found" if status_of(exc) == 404 else "Refused"
    return render(
        request, "message.html", status=status_of(exc), user=user, title=title, reason=str(exc)
    )


def _spec_of(command: str) -> table.DecisionSpec:
    if command not in BY_COMMAND:
        raise ConsoleRefusal(
            404, f"there is no decision {command!r}; the decisions are {', '.join(BY_COMMAND)}"
        )
    return BY_COMMAND[command]


def _done(user: ConsoleUser, text: str) -> str:
    key = secrets.token_urlsafe(12)
    _DONE[key] = (user.session, text)
    while len(_DONE) > _DONE_KEPT:
        _DONE.popitem(last=False)
    return key


def decision_done(request: Request, user: ConsoleUser | None) -> str | None:
    """The confirmation a decision left for this page (``?done=KEY``), shown once, and only
    to the session that took the decision: nobody can make a link that claims one."""
    key = request.query_params.get("done")
    if user is None or not key or key not in _DONE or _DONE[key][0] != user.session:
        return None
    return _DONE.pop(key)[1]


def decision_links(view: CertificateView, user: ConsoleUser | None) -> list[tuple[str, str]]:
    """The decisions the certificate's state allows (:data:`rules.ALLOWED`), as (URL, label)
    for someone with the role; others see none."""
    if user is None:
        return []
    return [
        (f"/console/certificates/{view.number}/decide/{spec.command}", verb(spec))
        for spec in BY_COMMAND.values()
        if user.has(spec.role) and view.status in rules.ALLOWED[spec.name][0]
    ]


def grant_link(person_id: str, user: ConsoleUser | None) -> str | None:
    if user is None or not user.has(GRANT.role):
        return None
    return f"/console/people/{person_id}/grant"


templates.env.globals.update(
    decision_done=decision_done, decision_links=decision_links, grant_link=grant_link
)


@router.get("/certificates/{number}/decide/{command}", response_class=HTMLResponse)
def decision_form(request: Request, number: str, command: str, user: Signed) -> Response:
    """The form, with its rules; without the spec's role the page says so (403), no button."""
    spec = _spec_of(command)
    try:
        form, _view = _certificate_form(request, user, spec, number)
    except LifecycleError as exc:
        return _not_found(request, user, exc)
    if not form.allowed:
        form.error = _role_refusal(user, spec)
        return _page(request, user, form, 403)
    return _page(request, user, form)


def _role_refusal(user: ConsoleUser, spec: table.DecisionSpec) -> str:
    return (
        f"this decision needs the role {spec.role}; {user.name} holds "
        f"{', '.join(sorted(user.roles)) or 'no role'}"
    )


async def _take(
    request: Request, user: ConsoleUser, form: Form, subject: dict[str, str]
) -> Response:
    """Read the form, take the decision as the signed-in person, answer."""
    spec = form.spec
    sent = await request.form()
    _keep_typed(form, sent)
    if not form.allowed:
        form.error = _role_refusal(user, spec)
        return _page(request, user, form, 403)
    try:
        inputs = _inputs(spec, form, sent, subject)
    except BadForm as exc:
        form.error, form.error_field = exc.reason, exc.field
        return _page(request, user, form, 422)

    def decide() -> Certification:
        state = state_of(request)
        with state.lock:
            return table.decide(state.body, spec, subject, user.id, inputs)

    try:
        cert = await run_in_threadpool(decide)
    except RegisterBehind as exc:
        return render(
            request,
            "message.html",
            status=status_of(exc),
            user=user,
            title="Decided; the public register is behind",
            reason=f"the decision was recorded; the public register could not follow yet: {exc}",
        )
    except LifecycleError as exc:
        form.error = str(exc)
        return _page(request, user, form, status_of(exc))
    key = _done(user, table.done_sentence(spec, cert, inputs))
    return redirect(f"/console/certificates/{cert.number}?done={key}")


@router.post("/certificates/{number}/decide/{command}", response_class=HTMLResponse)
async def decide_on_certificate(
    request: Request, number: str, command: str, user: Signed
) -> Response:
    spec = _spec_of(command)
    try:
        form, view = await run_in_threadpool(_certificate_form, request, user, spec, number)
    except LifecycleError as exc:
        return _not_found(request, user, exc)
    return await _take(request, user, form, {"number": view.number})


@router.get("/people/{person_id}/grant", response_class=HTMLResponse)
def grant_form(
    request: Request, person_id: str, user: Signed, scheme: str | None = None
) -> Response:
    try:
        form = _grant_form(request, user, person_id, scheme or None)
    except LifecycleError as exc:
        return _not_found(request, user, exc)
    if not form.allowed:
        form.error = _role_refusal(user, GRANT)
        return _page(request, user, form, 403)
    return _page(request, user, form)


@router.post("/people/{person_id}/grant", response_class=HTMLResponse)
async def grant(request: Request, person_id: str, user: Signed) -> Response:
    sent = await request.form()
    scheme = str(sent.get("scheme_id", "")) or None
    try:
        form = await run_in_threadpool(_grant_form, request, user, person_id, scheme)
    except LifecycleError as exc:
        return _not_found(request, user, exc)
    return await _take(request, user, form, {"person_id": person_id, "scheme_id": scheme or ""})

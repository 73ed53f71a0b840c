"""The console's pages of issue 11 part 1: sign-in and out, enrolment, one's own API
tokens, and staff (admins). Every change goes through the existing rules
(:mod:`issuer.staff`, :mod:`issuer.tokens`, :mod:`issuer.console.accounts`) with the signed-in
person as the actor, so it is an audit event naming them.

Handlers are plain ``def`` (FastAPI runs them on its thread pool) and use the body under the
app's lock, as :mod:`issuer.http.state` requires.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from certreg.issuer import audit, staff, tokens
from certreg.issuer.console import accounts, sessions
from certreg.issuer.console.passwords import MIN_LENGTH
from certreg.issuer.console.web import (
    COOKIE,
    FORM_COOKIE,
    ConsoleRefusal,
    ConsoleUser,
    _safe_next,
    check_form_token,
    clear_cookie,
    client_of,
    cookie_secure,
    form_token,
    redirect,
    render,
    require_staff,
    set_cookie,
    sign_in_limiter,
)
from certreg.issuer.http.errors import status_of
from certreg.issuer.http.state import AppState, state_of
from certreg.issuer.service import ROLES, Invalid, LifecycleError
from certreg.register.qr import qr_png
from certreg.verifier.issuing import format_datetime

__all__ = ["router"]

router = APIRouter(prefix="/console", include_in_schema=False)

T = TypeVar("T")
Signed = Annotated[ConsoleUser, Depends(require_staff())]
Admin = Annotated[ConsoleUser, Depends(require_staff("admin"))]


def _locked(request: Request, work: Callable[[AppState], T]) -> T:
    state = state_of(request)
    with state.lock:
        return work(state)


def _refused(request: Request, exc: LifecycleError, user: ConsoleUser | None = None) -> Response:
    return render(
        request, "message.html", status=status_of(exc), user=user, title="Refused", reason=str(exc)
    )


def _event(state: AppState, kind: str, user: ConsoleUser, payload: dict[str, Any]) -> None:
    audit.append(
        state.body.db,
        kind,
        actor=user.id,
        subject=user.id,
        payload=payload,
        at=format_datetime(state.body.clock()),
    )


# -- sign-in and out --------------------------------------------------------------------------


def _is_demo(state: AppState) -> bool:
    """Whether this is a body ``certreg demo`` built (it sets ``demo_body``,
    :data:`issuer.demo_body.DEMO_SETTING`): its staff accounts have printed passwords."""
    row = state.body.db.execute("SELECT value FROM settings WHERE key = 'demo_body'").fetchone()
    return row is not None and row[0] == "1"


def _login_page(
    request: Request, *, status: int = 200, error: str | None = None, next_: str = ""
) -> Response:
    token = form_token(request)
    response = render(
        request,
        "login.html",
        status=status,
        error=error,
        csrf_token=token,
        next=_safe_next(next_),
        insecure=cookie_secure(request) is None,
        demo=_locked(request, _is_demo),
    )
    set_cookie(request, response, FORM_COOKIE, token)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "") -> Response:
    return _login_page(request, next_=next)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    login: Annotated[str, Form(max_length=500)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    code: Annotated[str, Form(max_length=100)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    check_form_token(request, csrf_token)
    if cookie_secure(request) is None:
        raise ConsoleRefusal(403, "the console signs in over https only")
    client = client_of(request)
    limiter = sign_in_limiter(request)
    wait = limiter.wait(client)
    if wait:
        response = _login_page(
            request,
            status=429,
            error=f"too many failed sign-ins from your address: try again in {wait} s",
            next_=next,
        )
        response.headers["Retry-After"] = str(wait)
        return response

    def work(state: AppState) -> str | accounts.SignInRefused:
        try:
            staff_id = accounts.sign_in(state.body, login, password, code, client=client)
        except accounts.SignInRefused as exc:
            return exc
        cookie, _ = sessions.start(state.body, staff_id, client=client)
        return cookie

    outcome = _locked(request, work)
    if isinstance(outcome, accounts.SignInRefused):
        limiter.take(client)
        return _login_page(request, status=403, error=str(outcome), next_=next)
    response = redirect(_safe_next(next))
    set_cookie(request, response, COOKIE, outcome)  # a new id at every sign-in
    clear_cookie(request, response, FORM_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, user: Signed) -> Response:
    def work(state: AppState) -> None:
        sessions.end(state.body, user.session)
        _event(state, "console_signed_out", user, {"everywhere": False})

    _locked(request, work)
    response = redirect("/console/login")
    clear_cookie(request, response, COOKIE)
    return response


@router.post("/logout-everywhere")
def logout_everywhere(request: Request, user: Signed) -> Response:
    def work(state: AppState) -> None:
        from certreg.issuer.db import transaction

        with transaction(state.body.db):
            ended = accounts.end_sessions_of(state.body, user.id)
            _event(state, "console_signed_out", user, {"everywhere": True, "sessions": ended})

    _locked(request, work)
    response = redirect("/console/login")
    clear_cookie(request, response, COOKIE)
    return response


# -- enrolment --------------------------------------------------------------------------------


def _enrol_page(
    request: Request, token: str, person: dict[str, Any], *, status: int = 200, error: str = ""
) -> Response:
    secret = accounts.new_totp_secret()  # a new one at each view: only this browser sees it
    uri = accounts.totp_uri(secret, person["email"] or person["name"])
    qr = "data:image/png;base64," + base64.b64encode(qr_png(uri, box_size=5)).decode()
    csrf = form_token(request)
    response = render(
        request,
        "enrol.html",
        status=status,
        person=person,
        token=token,
        secret=secret,
        uri=uri,
        qr=qr,
        csrf_token=csrf,
        error=error,
        min_length=MIN_LENGTH,
    )
    set_cookie(request, response, FORM_COOKIE, csrf)
    return response


@router.get("/enrol/{token}", response_class=HTMLResponse)
def enrol_form(request: Request, token: str) -> Response:
    try:
        person = _locked(request, lambda state: accounts.enrolment_of(state.body, token))
    except accounts.LinkUsed as exc:
        csrf = form_token(request)
        response = render(
            request, "link_used.html", status=409, reason=str(exc), token=token, csrf_token=csrf
        )
        set_cookie(request, response, FORM_COOKIE, csrf)
        return response
    except LifecycleError as exc:
        return _refused(request, exc)
    return _enrol_page(request, token, person)


@router.post("/enrol/{token}", response_class=HTMLResponse)
def enrol(
    request: Request,
    token: str,
    password: Annotated[str, Form(max_length=1000)] = "",
    password_again: Annotated[str, Form(max_length=1000)] = "",
    totp_secret: Annotated[str, Form(max_length=100)] = "",
    code: Annotated[str, Form(max_length=100)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_form_token(request, csrf_token)

    def work(state: AppState) -> tuple[str, list[str]]:
        if password != password_again:
            accounts.enrolment_of(state.body, token)  # a dead link says so first
            raise Invalid("the two passwords are not the same")
        return accounts.complete_enrolment(
            state.body, token, password=password, totp_secret=totp_secret, code=code
        )

    try:
        staff_id, codes = _locked(request, work)
    except accounts.LinkUsed as exc:
        return render(
            request, "message.html", status=409, title="Link already used", reason=str(exc)
        )
    except LifecycleError as exc:
        if status_of(exc) != 422:
            return _refused(request, exc)
        try:
            person = _locked(request, lambda state: accounts.enrolment_of(state.body, token))
        except LifecycleError as again:
            return _refused(request, again)
        return _enrol_page(request, token, person, status=422, error=str(exc))
    response = render(request, "enrolled.html", codes=codes, staff_id=staff_id)
    clear_cookie(request, response, FORM_COOKIE)
    return response


# -- my tokens --------------------------------------------------------------------------------


@router.get("/tokens", response_class=HTMLResponse)
def my_tokens(request: Request, user: Signed) -> Response:
    mine = _locked(request, lambda state: tokens.list_tokens(state.body, user.id))
    return render(request, "tokens.html", user=user, tokens=mine, roles=sorted(user.roles))


@router.post("/tokens", response_class=HTMLResponse)
def make_token(
    request: Request,
    user: Signed,
    name: Annotated[str, Form(max_length=200)] = "",
    days: Annotated[int, Form(ge=1, le=366)] = 90,
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    try:
        info, secret = _locked(
            request,
            lambda state: tokens.create_token(
                state.body,
                user.id,
                name=name,
                roles=roles or None,
                lifetime=timedelta(days=days),
                actor=user.id,
                via="console",
            ),
        )
    except LifecycleError as exc:
        return _refused(request, exc, user)
    return render(request, "token_made.html", user=user, token=info, secret=secret)


@router.post("/tokens/{token_id}/revoke")
def revoke_my_token(request: Request, token_id: str, user: Signed) -> Response:
    try:
        _locked(
            request,
            lambda state: tokens.revoke_token(
                state.body, token_id, actor=user.id, owner=user.id, reason="revoked in the console"
            ),
        )
    except LifecycleError as exc:
        return _refused(request, exc, user)
    return redirect("/console/tokens")


# -- staff (admins) ---------------------------------------------------------------------------


@router.get("/staff", response_class=HTMLResponse)
def staff_page(request: Request, user: Admin) -> Response:
    people, pending = _locked(
        request,
        lambda state: (staff.list_staff(state.body), staff.list_requests(state.body)),
    )
    names = {p.id: p.name for p in people}
    return render(
        request,
        "staff.html",
        user=user,
        people=people,
        pending=pending,
        names=names,
        all_roles=list(ROLES),
    )


def _link_page(request: Request, user: ConsoleUser, enrolment: accounts.Enrolment, **extra: Any):
    link = enrolment.link(str(request.base_url))
    return render(request, "invited.html", user=user, enrolment=enrolment, link=link, **extra)


@router.post("/staff/invite", response_class=HTMLResponse)
def invite(
    request: Request,
    user: Admin,
    name: Annotated[str, Form(max_length=500)] = "",
    email: Annotated[str, Form(max_length=500)] = "",
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    def work(state: AppState) -> tuple[accounts.Enrolment, list[staff.RoleRequest]]:
        staff_id, waiting = staff.add_staff(
            state.body, name, roles=roles or [], email=email.strip() or None, actor=user.id
        )
        return accounts.create_enrolment(state.body, staff_id, actor=user.id), waiting

    try:
        enrolment, waiting = _locked(request, work)
    except LifecycleError as exc:
        return _refused(request, exc, user)
    return _link_page(request, user, enrolment, waiting=waiting)


@router.post("/staff/{staff_id}/reset", response_class=HTMLResponse)
def reset(request: Request, staff_id: str, user: Admin) -> Response:
    try:
        enrolment = _locked(
            request, lambda state: accounts.reset_sign_in(state.body, staff_id, actor=user.id)
        )
    except LifecycleError as exc:
        return _refused(request, exc, user)
    return _link_page(request, user, enrolment, waiting=[], reset=True)


@router.post("/staff/{staff_id}/deactivate")
def deactivate(
    request: Request,
    staff_id: str,
    user: Admin,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        _locked(
            request,
            lambda state: staff.deactivate(state.body, staff_id, actor=user.id, reason=reason),
        )
    except LifecycleError as exc:
        return _refused(request, exc, user)
    return redirect("/console/staff")


@router.post("/staff/{staff_id}/roles")
def change_role(
    request: Request,
    staff_id: str,
    user: Admin,
    role: Annotated[str, Form(max_length=50)] = "",
    action: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    def work(state: AppState) -> None:
        if action == "grant":
            staff.grant_role(state.body, staff_id, role, actor=user.id)
        elif action == "remove":
            staff.remove_role(state.body, staff_id, role, actor=user.id)
        else:
            raise ConsoleRefusal(422, "the action is grant or remove")

    try:
        _locked(request, work)
    except LifecycleError as exc:
        return _refused(request, exc, user)
    return redirect("/console/staff")


@router.post("/requests/{request_id}/{decision}")
def decide_request(request: Request, request_id: str, decision: str, user: Admin) -> Response:
    if decision not in ("approve", "reject"):
        raise ConsoleRefusal(404, "a role request is approved or rejected")
    act = staff.approve_request if decision == "approve" else staff.reject_request
    try:
        _locked(request, lambda state: act(state.body, request_id, actor=user.id))
    except LifecycleError as exc:
        return _refused(request, exc, user)
    return redirect("/console/staff")

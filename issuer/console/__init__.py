"""The staff console at ``/console/`` (issue 11): staff sign in as themselves, in a browser.

Server-rendered pages (FastAPI + Jinja2 templates in ``templates/``, no JavaScript), mounted
by :func:`install` into the app ``certreg serve`` runs (:func:`issuer.http.app.create_app`).

Modules, one responsibility each:

- :mod:`.passwords`: Argon2id hashes and the password policy (length, common passwords);
- :mod:`.accounts`: enrolment links, TOTP, recovery codes, sign-in and lockout (no HTTP);
- :mod:`.sessions`: server-side sessions, idle and absolute timeouts;
- :mod:`.web`: the door: :func:`require_staff`, cookies, CSRF and Origin checks, rendering;
- :mod:`.routes`: sign-in/out, enrolment, my tokens, staff (admins);
- :mod:`.dashboard`: the landing page (counts, decisions due, status lists, audit chain);
- :mod:`.people`: candidates and holders: search, and a person's page;
- :mod:`.decisions`: the decision forms (grant, suspend, ...), from the lifecycle's table;
- :mod:`.records`: a certificate's staff view, the audit log;
- :mod:`.chain`: "verify the chain", in a background thread;
- :mod:`.schemes`: schemes and scope catalogues, with versions;
- :mod:`.record`: officers' forms: candidates, assessments, trainings;
- :mod:`.bulk`: bulk issuance: CSV upload, preview, confirm, live progress, result.

Building a console page
-----------------------

Every page after sign-in depends on :func:`require_staff`, which gives the signed-in person
(:class:`ConsoleUser`: ``id``, ``name``, ``email``, ``roles``, ``csrf_token``)::

    from typing import Annotated
    from fastapi import APIRouter, Depends, Form, Request
    from certreg.issuer.console import ConsoleUser, render, require_staff

    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("/decisions")
    def decisions(request: Request,
                  user: Annotated[ConsoleUser, Depends(require_staff("decision_maker"))]):
        return render(request, "decisions.html", user=user)

    @router.post("/decisions/suspend")
    def suspend(request: Request,
                user: Annotated[ConsoleUser, Depends(require_staff("decision_maker"))],
                number: Annotated[str, Form()]):
        ...  # decide with decided_by=user.id: the decision-maker is the signed-in person

- Signed out (no session, lapsed, ended, or the person deactivated): a 303 redirect to
  ``/console/login?next=<the page>``. Without one of the roles named: 403 with the reason.
- For POST/PUT/PATCH/DELETE it also checks, before the handler runs, that the request comes
  from the console's origin and that the form's ``csrf_token`` field is the session's: each
  form needs ``<input type="hidden" name="csrf_token" value="{{ user.csrf_token }}">``
  (``templates/base.html`` has the ``csrf`` macro). Refused: 403, nothing changed.
- Templates extend ``base.html`` (``{% extends "base.html" %}``, blocks ``title`` and
  ``content``); :func:`render` adds the headers every console page needs (no-store, CSP).
- Handlers are plain ``def`` and use the body under ``state_of(request).lock``.
- Errors of the lifecycle (``LifecycleError``) are shown with their own words
  (``routes._refused``); a :class:`ConsoleRefusal` raised anywhere is a page with its status.

Include a new router with ``app.include_router`` inside :func:`install`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from certreg.issuer.console.web import ConsoleRefusal, ConsoleUser, render, require_staff

__all__ = ["ConsoleRefusal", "ConsoleUser", "install", "render", "require_staff"]

#: The page-building names, loaded from :mod:`.web` when first used: the command line imports
#: :mod:`.accounts` and :mod:`.sessions` (``certreg staff add --console``, the demo), and
#: importing this package must not start the web stack for them.
_FROM_WEB = frozenset({"ConsoleRefusal", "ConsoleUser", "render", "require_staff"})


def __getattr__(name: str) -> Any:
    if name in _FROM_WEB:
        from certreg.issuer.console import web

        return getattr(web, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def install(app: FastAPI) -> None:
    """The console's routes and its two answers: sign-in needed (a redirect) and refusals
    (an HTML page with the reason)."""
    # The pages import this package's modules, so they are imported here, not at the top.
    from certreg.issuer.console import (
        bulk,
        chain,
        dashboard,
        decisions,
        people,
        record,
        records,
        routes,
        schemes,
    )
    from certreg.issuer.console.web import ConsoleRefusal, SignInNeeded, refused, sign_in_needed

    app.include_router(routes.router)  # sign-in, enrolment, my tokens, staff
    app.include_router(dashboard.router)  # /console/, the due lists
    app.include_router(people.router)  # search, a person's page
    app.include_router(records.router)  # a certificate's staff view, the audit log
    app.include_router(decisions.router)  # the decision forms
    app.include_router(schemes.router)  # schemes and scope catalogues, with versions
    app.include_router(record.router)  # officers' forms: candidates, assessments, trainings
    app.include_router(chain.router)  # "verify the chain", in the background
    app.include_router(bulk.router)  # bulk issuance: upload, preview, run, result
    app.add_exception_handler(SignInNeeded, sign_in_needed)
    app.add_exception_handler(ConsoleRefusal, refused)

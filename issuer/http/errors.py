"""The issuer app's error handling: the shared request guard and handlers of the public site
(:mod:`register.web.errors`, re-exported here), plus the one place where the issuer's errors
become HTTP statuses (:func:`status_of`): the errors themselves know nothing of HTTP."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from certreg.issuer.register_push import RegisterBehind
from certreg.issuer.service import Conflict, Invalid, LifecycleError, NotFound, Refused
from certreg.issuer.sharing import ShareUnavailable
from certreg.register.web import errors as _shared
from certreg.register.web.errors import (
    MAX_BODY_BYTES,
    BodyTooLarge,
    RequestGuard,
    read_bounded_body,
    replaying,
)

__all__ = [
    "MAX_BODY_BYTES",
    "BodyTooLarge",
    "RequestGuard",
    "install_handlers",
    "read_bounded_body",
    "replaying",
    "status_of",
]


#: The HTTP status of each of the issuer's errors; the most specific class listed wins.
HTTP_STATUS: dict[type[LifecycleError], int] = {
    Invalid: 422,  # malformed or inconsistent input
    Refused: 403,  # a rule of ISO/IEC 17024 forbids it
    NotFound: 404,
    Conflict: 409,  # the certification's state does not allow it
    RegisterBehind: 503,  # the decision committed; the public register could not follow yet
    LifecycleError: 400,
}


def status_of(exc: LifecycleError) -> int:
    """The HTTP status an error of the issuer is answered with."""
    if isinstance(exc, ShareUnavailable):
        # A link that was good and is no more (revoked, used, expired) is gone; one that never
        # existed is not found.
        return 410 if exc.gone else 404
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 400


def install_handlers(app: FastAPI) -> None:
    """The public site's handlers, and the lifecycle's errors as ``{"detail": reason}``."""
    _shared.install_handlers(app)

    @app.exception_handler(LifecycleError)
    async def lifecycle_error(request: Request, exc: LifecycleError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status_of(exc))

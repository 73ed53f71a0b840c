"""The issuer app's error handling: the shared request guard and handlers of the public site
(:mod:`register.web.errors`, re-exported here), plus the lifecycle's errors mapped to their HTTP
status (``LifecycleError.status``), which only the issuer's routes raise."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from certreg.issuer.service import LifecycleError
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
]


def install_handlers(app: FastAPI) -> None:
    """The public site's handlers, and the lifecycle's errors as ``{"detail": reason}``."""
    _shared.install_handlers(app)

    @app.exception_handler(LifecycleError)
    async def lifecycle_error(request: Request, exc: LifecycleError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

"""Malformed input never reaches a handler, and no error ever answers with a traceback.

:class:`RequestGuard` (pure ASGI, so it sees every route, mounted apps included) reads each
request body once, before routing, and refuses:

- more than :data:`MAX_BODY_BYTES` (declared or actually sent): 413;
- a body whose media type is not JSON (``application/json`` or ``application/*+json``): 415;
- a body that is not a JSON object within the verifier's limits (valid UTF-8, no duplicate
  keys, no NaN/Infinity, nesting at most 64 deep): 400, with the reason.

Deep nesting has to be stopped here: Python's JSON decoder would raise RecursionError on it,
which FastAPI's own parser does not expect. The checked bytes are then replayed to the app.

The exception handlers (:func:`install_handlers`) map the public limits' refusals to their
status (413, 429, 503), strip the echoed input from validation errors (a request can carry
private data, and a huge one would be echoed in full), and turn anything unexpected into a
logged 500 with a generic message. The issuer's app adds its own lifecycle errors on top
(``issuer.http.errors``); this module is shared by it and the keyless public site
(:mod:`register.web`), and knows nothing of the issuer.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from certreg.register.web.ratelimit import LimitExceeded
from certreg.register.web.redact import redact_path
from certreg.verifier.verify import InputError, load_document

__all__ = [
    "MAX_BODY_BYTES",
    "BodyTooLarge",
    "RequestGuard",
    "install_handlers",
    "read_bounded_body",
    "replaying",
]

MAX_BODY_BYTES = 1024 * 1024
log = logging.getLogger("certreg.http")

_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _json_media_type(content_type: str) -> bool:
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    if not (
        media == "application/json"
        or (media.startswith("application/") and media.endswith("+json"))
    ):
        return False
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            return False
    return True


class BodyTooLarge(Exception):
    """The request body (declared or received) is over the guard's limit."""


async def read_bounded_body(scope: Scope, receive: Receive, max_bytes: int) -> bytes | None:
    """The whole request body, refused (:class:`BodyTooLarge`) as soon as it is known to be
    over ``max_bytes``, whether declared by Content-Length or counted while reading; None if
    the client went away. Shared by the app's request guards."""
    for key, value in scope["headers"]:
        if key.lower() == b"content-length":
            declared = value.decode("latin-1")
            if declared.isdigit() and int(declared) > max_bytes:
                raise BodyTooLarge
    body = bytearray()
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > max_bytes:
            raise BodyTooLarge
    return bytes(body)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A receive callable that hands the already-read body to the app, then defers to the
    real one (for the disconnect)."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class RequestGuard:
    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            body = await read_bounded_body(scope, receive, self.max_bytes)
        except BodyTooLarge:
            await _refuse(send, 413, f"the request body is larger than {self.max_bytes} bytes")
            return
        if body is None:
            return
        if body:
            content_type = headers.get("content-type", "")
            if not _json_media_type(content_type):
                await _refuse(
                    send,
                    415,
                    f"the request body must be JSON (Content-Type: application/json), "
                    f"not {content_type[:100]!r}",
                )
                return
            try:
                load_document(body, "the request body")
            except InputError as exc:
                await _refuse(send, 400, str(exc))
                return
        await self.app(scope, replaying(body, receive), send)


async def _refuse(send: Send, status: int, detail: str) -> None:
    response = JSONResponse({"detail": detail}, status_code=status)
    await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:  # pragma: no cover - a response never reads the request
    return {"type": "http.disconnect"}


def _clean(error: dict[str, Any]) -> dict[str, Any]:
    # Keep where and what; drop the echoed input and internals.
    out = {
        "loc": list(error.get("loc", ())),
        "msg": str(error.get("msg", "")),
        "type": error.get("type"),
    }
    return out


def install_handlers(app: FastAPI) -> None:
    """Every error becomes a 4xx with its reason, or a logged 500 that tells nothing."""

    @app.exception_handler(LimitExceeded)
    async def limit_exceeded(request: Request, exc: LimitExceeded) -> JSONResponse:
        # 413 (too large to verify here), 429 (this client, Retry-After), 503 (all slots busy).
        return JSONResponse({"detail": exc.reason}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": [_clean(e) for e in exc.errors()]}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Logged with its traceback for the operator; the client learns nothing of the inside.
        log.error(
            "unexpected error on %s %s", request.method, redact_path(request.url.path), exc_info=exc
        )
        return JSONResponse(
            {"detail": "internal error: the request could not be completed (it has been logged)"},
            status_code=500,
        )

"""Malformed input never reaches a handler, and no error ever answers with a traceback.

:class:`RequestGuard` (pure ASGI, so it sees every route, mounted apps included) reads each
request body once, before routing, and checks it against the first :class:`BodyRule` of its
table that matches the request (path, method, media type). Each app builds its table in one
place (``register/web/app.py``, ``issuer/http/app.py``). A rule refuses, in its own words
(``refuse``: a JSON problem, an OAuth error object, the verify page's HTML):

- more than ``max_bytes`` (declared or actually sent): 413;
- when the rule takes JSON only (``json_only``, the default): a body whose media type is not
  JSON (``application/json`` or ``application/*+json``): 415; a body that is not a JSON object
  within the verifier's limits (valid UTF-8, no duplicate keys, no NaN/Infinity, nesting at
  most 64 deep): 400, with the reason.

Deep nesting has to be stopped here: Python's JSON decoder would raise RecursionError on it,
which FastAPI's own parser does not expect. The checked bytes are then replayed to the app. A
rule that is not ``json_only`` (a form, an OAuth token request) bounds the size only and leaves
the media type and syntax to its handler, which answers in its protocol's words.

The exception handlers (:func:`install_handlers`) map the public limits' refusals to their
status (413, 429, 503), strip the echoed input from validation errors (a request can carry
private data, and a huge one would be echoed in full), and turn anything unexpected into a
logged 500 with a generic message. The issuer's app adds its own lifecycle errors on top
(``issuer.http.errors``); this module is shared by it and the keyless public site
(:mod:`register.web`), and knows nothing of the issuer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from certreg.register.web.ratelimit import LimitExceeded
from certreg.register.web.redact import redact_path
from certreg.verifier.verify import InputError, load_document

__all__ = [
    "BODY_METHODS",
    "MAX_BODY_BYTES",
    "BodyRule",
    "BodyTooLarge",
    "Refusal",
    "RequestGuard",
    "install_handlers",
    "problem",
    "read_bounded_body",
    "replaying",
]

MAX_BODY_BYTES = 1024 * 1024
log = logging.getLogger("certreg.http")

#: The methods whose bodies a rule checks unless it says otherwise.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


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


#: How a rule words a refusal: the status (413, 415, 400) and the reason, as a response.
Refusal = Callable[[int, str], Response]


def problem(status: int, detail: str) -> Response:
    """The service's usual refusal: ``{"detail": reason}``."""
    return JSONResponse({"detail": detail}, status_code=status)


@dataclass(frozen=True)
class BodyRule:
    """How :class:`RequestGuard` treats the request bodies of some paths.

    Where it applies: ``path``, exact, or a prefix when it ends with ``*`` (``"*"``: every
    path); ``methods`` (None: every method); ``media_types`` (None: any body; else only bodies
    whose Content-Type starts with one of them, the others going on to the next rule).
    What it allows: at most ``max_bytes``; JSON only (``json_only``: 415 for another media
    type, 400 for a malformed body) or any body, left to the handler. ``refuse`` words the
    refusal."""

    path: str
    max_bytes: int = MAX_BODY_BYTES
    methods: frozenset[str] | None = BODY_METHODS
    media_types: tuple[str, ...] | None = None
    json_only: bool = True
    refuse: Refusal = problem
    #: Who the rule is for, when its limit is larger than an anonymous request deserves
    #: (the console's CSV upload): asked before the body is read; a request it does not admit
    #: goes on to the next rule (e.g. the console forms' small limit).
    admit: Callable[[Scope], Awaitable[bool]] | None = None

    def matches(self, path: str, method: str, content_type: str) -> bool:
        if self.path.endswith("*"):
            if not path.startswith(self.path[:-1]):
                return False
        elif path != self.path:
            return False
        if self.methods is not None and method not in self.methods:
            return False
        return self.media_types is None or content_type.lower().startswith(self.media_types)


class RequestGuard:
    """Every request body checked against the first of ``rules`` that matches it, before the
    app sees it; a request no rule matches (a GET, by default) goes through untouched. Without
    ``rules``: JSON bodies of at most ``max_bytes`` on every path."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        rules: Sequence[BodyRule] | None = None,
        max_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.rules = tuple(rules) if rules is not None else (BodyRule("*", max_bytes=max_bytes),)

    async def rule_for(self, scope: Scope) -> BodyRule | None:
        """The rule that applies to the request ``scope``, if any."""
        if scope["type"] != "http":
            return None
        content_type = _header(scope, b"content-type")
        for rule in self.rules:
            if rule.matches(scope["path"], scope["method"], content_type):
                if rule.admit is None or await rule.admit(scope):
                    return rule
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = await self.rule_for(scope)
        if rule is None:
            await self.app(scope, receive, send)
            return
        try:
            body = await read_bounded_body(scope, receive, rule.max_bytes)
        except BodyTooLarge:
            reason = f"the request body is larger than {rule.max_bytes} bytes"
            await _send(rule.refuse(413, reason), send)
            return
        if body is None:  # the client went away
            return
        if body and rule.json_only:
            content_type = _header(scope, b"content-type")
            if not _json_media_type(content_type):
                reason = (
                    f"the request body must be JSON (Content-Type: application/json), "
                    f"not {content_type[:100]!r}"
                )
                await _send(rule.refuse(415, reason), send)
                return
            try:
                load_document(body, "the request body")
            except InputError as exc:
                await _send(rule.refuse(400, str(exc)), send)
                return
        await self.app(scope, replaying(body, receive), send)


def _header(scope: Scope, name: bytes) -> str:
    found = ""
    for key, value in scope["headers"]:
        if key.lower() == name:
            found = value.decode("latin-1")  # the last one, if repeated
    return found


async def _send(response: Response, send: Send) -> None:
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

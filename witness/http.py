"""The witness's HTTP interface: C2SP tlog-witness ``POST /add-checkpoint``, nothing else that
writes.

- ``POST /add-checkpoint``: the body is read up to :data:`MAX_REQUEST_BYTES` (a larger one is
  refused with 413 before it is read: a checkpoint is at most 64 KiB, a proof 63 lines); the
  answer is the specification's (200 with cosignature lines, 400, 403, 404, 409 with a
  ``text/x.tlog.size`` body, 422), every error a line of plain text saying why.
- ``GET /``: the witness's name and verifier key, for an operator checking what runs there.

The decision and the state change run in one SQLite transaction (:meth:`WitnessStore.decide`),
off the event loop.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from certreg.verifier.tlog.checkpoint import MAX_CHECKPOINT_SIZE
from certreg.verifier.tlog.note import Signer
from certreg.verifier.tlog.witness import MAX_PROOF_LINES
from certreg.witness.store import WitnessStore

#: An old size line, 63 proof lines and a checkpoint with its signatures, with room to spare.
MAX_REQUEST_BYTES = MAX_CHECKPOINT_SIZE + 100 * (MAX_PROOF_LINES + 1)
TEXT = "text/plain; charset=utf-8"


def create_app(store: WitnessStore, signer: Signer) -> FastAPI:
    """The witness's ASGI app, cosigning with ``signer`` and keeping state in ``store``."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    about = f"C2SP tlog-witness {signer.name}\n{signer.verifier.key_string}\n"

    @app.exception_handler(StarletteHTTPException)
    async def plain_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return PlainTextResponse(f"{exc.detail}\n", exc.status_code, headers=exc.headers)

    @app.get("/")
    async def index() -> Response:
        return PlainTextResponse(about)

    @app.post("/add-checkpoint")
    async def add_checkpoint(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
            return _too_large()
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_REQUEST_BYTES:
                return _too_large()
        answer = await run_in_threadpool(store.decide, bytes(body), signer)
        if answer.status == 200:
            return Response(answer.body, 200, media_type=TEXT)
        if answer.content_type != TEXT:  # 409: the size, as the specification says
            # Exactly text/x.tlog.size: Starlette would add "; charset=utf-8" to a text/*
            # media type, and a client may compare the header as a whole.
            return Response(
                answer.body,
                answer.status,
                headers={
                    "Content-Type": answer.content_type,
                    "X-Witness-Reason": _header_safe(answer.reason),
                },
            )
        return PlainTextResponse(f"{answer.reason}\n", answer.status)

    return app


def _too_large() -> Response:
    return PlainTextResponse(
        f"the request is larger than the {MAX_REQUEST_BYTES} bytes an add-checkpoint holds\n",
        413,
        headers={"Connection": "close"},
    )


def _header_safe(text: str) -> str:
    """The reason in a header: printable ASCII only (an origin could hold anything)."""
    return "".join(c if " " <= c <= "~" else "?" for c in text)[:500]

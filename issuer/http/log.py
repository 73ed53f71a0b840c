"""The body's transparency log over HTTP (issue 13; docs/transparency.md): the C2SP
tlog-tiles layout under ``/log/`` (``checkpoint``, ``tile/<L>/<N>[.p/<W>]``,
``tile/entries/<N>[.p/<W>]``) and one certificate's tlog-proof at ``/log/proof``.

The keyless public site serves the same paths from a ``certreg publish`` bundle
(:mod:`certreg.register.web.files`). A checkpoint is signed here when one is asked for and the
tree grew, at most every few seconds (:data:`certreg.issuer.logfiles.CHECKPOINT_INTERVAL`):
never in a decision's transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from fastapi import APIRouter, HTTPException, Query, Request, Response

from certreg.issuer.http.models import Problem
from certreg.issuer.http.state import AppState, state_of
from certreg.issuer.logfiles import (
    CHECKPOINT_INTERVAL,
    LogError,
    LogFiles,
    NotYetSigned,
    ensure_log_key,
)
from certreg.issuer.logwitnesses import RETRY_AFTER, BackgroundWitnessing, database_path
from certreg.register.web.files import IMMUTABLE, cached
from certreg.verifier.tlog import note
from certreg.verifier.tlog.tiles import TileError, parse_path

router = APIRouter(tags=["transparency log"])

#: The checkpoint and partial tiles change as the log grows: caches keep them briefly.
SHORT = "public, max-age=5"
TEXT = "text/plain; charset=utf-8"
TILE = "application/octet-stream"

_made = threading.Lock()


def log_files(request: Request) -> LogFiles:
    """The app's :class:`LogFiles`, made once; it signs with the log key when the server has
    the key store and its passphrase (the key is decrypted once, at the first checkpoint)."""
    app_state = request.app.state
    with _made:
        files = getattr(app_state, "certreg_log", None)
        if files is None:
            interval = getattr(app_state, "certreg_log_interval", CHECKPOINT_INTERVAL)
            state = state_of(request)
            # Each new checkpoint goes to the body's witnesses in a background thread: a
            # page never waits for a witness.
            retry = getattr(app_state, "certreg_log_witness_retry", RETRY_AFTER)
            witnessing = BackgroundWitnessing(database_path(state.body.db), retry_after=retry)
            app_state.certreg_log_witnessing = witnessing
            files = LogFiles(state.body.db, _signer(state), interval=interval, on_signed=witnessing)
            app_state.certreg_log = files
    return files


def _signer(state: AppState) -> Callable[[], note.Signer] | None:
    if state.key_store is None or state.passphrase is None:
        return None
    store, passphrase = state.key_store.path, state.passphrase
    loaded: list[note.Signer] = []

    def signer() -> note.Signer:
        if not loaded:
            loaded.append(ensure_log_key(state.body.db, store, passphrase))
        return loaded[0]

    return signer


@router.get(
    "/log/checkpoint",
    summary="The log's latest checkpoint (C2SP tlog-checkpoint, a signed note)",
    responses={200: {"content": {TEXT: {}}}, 404: {"model": Problem}},
)
def checkpoint(request: Request) -> Response:
    files = log_files(request)
    with state_of(request).lock:
        point = files.checkpoint()
        request.app.state.certreg_log_witnessing.retry_if_due(files.db)
    if point is None:
        raise HTTPException(404, "the log has no signed checkpoint yet")
    return cached(request, point.note.encode(), TEXT, SHORT)


@router.get(
    "/log/tile/{path:path}",
    summary="A tile or entry bundle of the log (C2SP tlog-tiles)",
    description="Full tiles never change and are cached for a year; partial tiles (`.p/W`) "
    "briefly. A tile beyond the tree is a 404 that says so.",
    responses={200: {"content": {TILE: {}}}, 404: {"model": Problem}},
)
def tile(request: Request, path: str) -> Response:
    try:
        ref = parse_path("tile/" + path)
    except TileError as exc:
        raise HTTPException(404, str(exc)) from None
    files = log_files(request)
    try:
        with state_of(request).lock:
            data = files.file(ref.path)
    except TileError as exc:
        raise HTTPException(404, str(exc)) from None
    return cached(request, data, TILE, SHORT if ref.partial else IMMUTABLE)


@router.get(
    "/log/proof",
    summary="A certificate's inclusion proof (C2SP tlog-proof@v1) against the latest checkpoint",
    description="404: no entry of the log signed this credential. 503 with `Retry-After`: "
    "the entry is written but the log has not yet signed a checkpoint holding it (checkpoints "
    "are signed at most every few seconds); ask again after that many seconds.",
    responses={200: {"content": {TEXT: {}}}, 404: {"model": Problem}, 503: {"model": Problem}},
)
def proof(
    request: Request,
    credential: str = Query(
        pattern=r"^[0-9a-fA-F]{64}$",
        description="SHA-256 (hex) of the credential, as certreg.verifier.tlog.entry."
        "credential_hash computes it (JCS of the credential)",
    ),
) -> Response:
    files = log_files(request)
    try:
        with state_of(request).lock:
            text = files.proof(credential.lower())
            request.app.state.certreg_log_witnessing.retry_if_due(files.db)
    except NotYetSigned as exc:  # written, not yet signed: not "not in the log"
        raise HTTPException(503, str(exc), headers=not_yet_signed_headers(exc)) from None
    except LogError as exc:
        raise HTTPException(404, str(exc)) from None
    return Response(text, media_type=TEXT, headers={"Cache-Control": SHORT})


def not_yet_signed_headers(exc: NotYetSigned) -> dict[str, str]:
    """The headers of a 503 for an entry not yet in a signed checkpoint: when to ask again,
    and not to cache the answer."""
    return {"Retry-After": str(exc.retry_after), "Cache-Control": "no-store"}

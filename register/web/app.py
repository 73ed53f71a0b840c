"""The public web site of a certification body, with no key and no issuer.db.

:func:`create_public_app` is the keyless site ``certreg register serve BUNDLE_DIR`` runs over a
bundle written by ``certreg publish``; :func:`install` adds the same pages to another app
(``certreg serve`` mounts them on its one port, for small bodies). Either way the pages read
register.db (a bundle's ``public.db``) and, on the keyless site, the bundle's files:

- ``/c/{number}`` with ``qr.png``, ``qr.svg`` and ``certificate.pdf``, and ``/verify``
  (:mod:`register.web.certificates`);
- the share pages ``/share/{token}``, ``credential.json`` and ``qr.png``
  (:mod:`register.web.share`; ``certreg serve`` serves its own, which also offer the wallet and
  "revoke");
- the home page ``/``: one search box for a number or a listed holder's name, with filters
  (:mod:`register.web.home`);
- the Datasette register at ``/register/`` (``/register`` redirects there);
- ``/.well-known/did.json``, ``/did.json``, ``/status/{list}``, ``/status/{list}/versions/{n}``
  from the bundle, and the pinned contexts ``/contexts/...`` (:mod:`register.web.files`).

Every anonymous request has a bounded cost, as on the body's server: the request guard bounds
every body (:mod:`register.web.errors`), the verify page spends the client's rate limit before
its form is read and verifies in a bounded number of slots, share-token guesses spend the
client's attempt rate (:mod:`register.web.ratelimit`), and every error is a 4xx with a reason or
a logged 500 that tells nothing. This package never imports ``certreg.issuer``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from certreg.keys.errors import CertregError
from certreg.register.db import open_register
from certreg.register.fts import enable_search
from certreg.register.records import BodyInfo, connect_readonly
from certreg.register.site import make_datasette
from certreg.register.web import certificates, files, home, share
from certreg.register.web.certificates import FORM_TYPES, MAX_FORM_BYTES, verify_page_refusal
from certreg.register.web.errors import MAX_BODY_BYTES, BodyRule, RequestGuard, install_handlers
from certreg.register.web.ratelimit import PublicGuards, PublicLimits, PublicVerifyGate
from certreg.register.web.state import SiteState, StatusLookup
from certreg.verifier import Verifier

__all__ = ["BUNDLE_DB", "BundleError", "create_public_app", "install"]

#: The register in a bundle written by ``certreg publish``.
BUNDLE_DB = "public.db"


class BundleError(CertregError):
    """The folder is not a bundle ``certreg publish`` wrote, or its register is damaged."""


def create_public_app(
    bundle: str | Path,
    *,
    public_limits: PublicLimits | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    unsafe_allow_http_hosts: Collection[str] = (),
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """The keyless public site over ``bundle`` (a folder written by ``certreg publish``). It
    opens ``public.db`` read-only and reads the bundle's files; nothing else.
    ``unsafe_allow_http_hosts``: hosts ``/verify`` may fetch from over plain HTTP (tests)."""
    folder = Path(bundle)
    register_path = folder / BUNDLE_DB
    if not register_path.is_file():
        raise BundleError(f"{folder} holds no {BUNDLE_DB}: give the folder `certreg publish` wrote")
    # Checked once here, so that a damaged bundle stops the server with the reason instead of
    # answering every page with a 500.
    try:
        with closing(connect_readonly(register_path)) as conn:
            conn.execute("SELECT 1 FROM certifications LIMIT 1").fetchall()
    except sqlite3.DatabaseError as exc:
        raise BundleError(f"{register_path} is not a certreg register ({exc})") from None
    app = FastAPI(
        title="certreg public register",
        summary="The public register and certificate pages of an ISO/IEC 17024 body",
        version="0.1.0",
        # No interactive documentation: it would load scripts from a CDN (certreg serve ships
        # them; this site needs no API documentation).
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.certreg_limits = PublicGuards(public_limits)
    install_handlers(app)
    install(
        app,
        register_path,
        bundle=folder,
        immutable=True,
        unsafe_allow_http_hosts=unsafe_allow_http_hosts,
        clock=clock,
    )
    # Every request body, by path (register.web.errors.RequestGuard: the first rule that matches
    # decides): the verify page's HTML form, else JSON.
    app.add_middleware(
        RequestGuard,
        rules=[
            BodyRule(
                "/verify",
                methods=frozenset({"POST"}),
                media_types=FORM_TYPES,
                max_bytes=MAX_FORM_BYTES,
                json_only=False,
                refuse=verify_page_refusal,
            ),
            BodyRule("*", max_bytes=max_body_bytes),
        ],
    )
    # Outermost: a public verification spends the client's rate limit, and one declaring an
    # oversized body is refused, before any body is read (register.web.ratelimit).
    app.add_middleware(PublicVerifyGate)
    return app


def install(
    app: FastAPI,
    register_path: str | Path,
    *,
    bundle: Path | None = None,
    immutable: bool = False,
    share_pages: bool = True,
    fallback_body: Callable[[], BodyInfo | None] | None = None,
    verifier_factory: Callable[[], Verifier] | None = None,
    status_of: StatusLookup | None = None,
    unsafe_allow_http_hosts: Collection[str] = (),
    clock: Callable[[], datetime] | None = None,
    status_list_ids: Callable[[], list[str]] | None = None,
) -> None:
    """Add the public pages to ``app`` and mount Datasette at ``/register/``.

    ``bundle``: serve the DID document and status lists from this folder (a host that serves
    them itself passes None). ``immutable``: register.db is a published snapshot, opened
    read-only and never re-read; otherwise it is created (empty, with its schema and search
    index) if it does not exist yet. ``share_pages``: False for a host that serves its own
    share pages. ``fallback_body``, ``verifier_factory``, ``status_of``, ``status_list_ids``
    (the lists ``offline.json`` names, when the host serves them itself): a host's own answers
    (:class:`register.web.state.SiteState`). The app's request guard, error handlers and
    limits are the caller's to install (:func:`create_public_app` shows how).
    """
    path = Path(register_path)
    if not immutable:
        enable_search(open_register(path, create=True))
    site = SiteState(
        register_path=path,
        bundle=bundle,
        unsafe_allow_http_hosts=tuple(unsafe_allow_http_hosts),
        fallback_body=fallback_body,
        verifier_factory=verifier_factory,
        status_of=status_of,
        status_list_ids=status_list_ids,
    )
    if clock is not None:
        site.clock = clock
    app.state.certreg_site = site
    app.include_router(certificates.router)
    app.include_router(files.logo_router)  # /logo.png, on both servers
    if share_pages:
        app.include_router(share.router)
    if bundle is not None:
        app.include_router(files.bundle_router)
        app.include_router(files.contexts_router)
    datasette = make_datasette(
        path, base_url="/register/", immutable=immutable, certificate_url_prefix="/c/"
    )
    app.add_api_route(
        "/register", lambda: RedirectResponse("/register/", 308), include_in_schema=False
    )
    app.include_router(home.router)  # the front door: one search box (register.web.home)
    app.mount("/register", _as_behind_a_proxy("/register", datasette.app()), name="register")


def _as_behind_a_proxy(prefix: str, app: Any) -> Any:
    """Datasette's ``base_url`` is made for a proxy that strips the prefix before Datasette sees
    the request. Starlette's Mount keeps it in the path, and Datasette then adds ``base_url``
    once more where it builds URLs from the request path: the search form's redirect and the
    CSV link pointed to /register/register/register/... (found by tests/product/test_browser.py).
    Strip it here, as such a proxy would."""

    async def stripped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"].startswith(prefix):
            scope = dict(scope)
            scope["path"] = scope["path"][len(prefix) :] or "/"
            raw = scope.get("raw_path")
            if raw is not None and raw.startswith(prefix.encode()):
                scope["raw_path"] = raw[len(prefix) :] or b"/"
            scope["root_path"] = ""
        await app(scope, receive, send)

    return stripped

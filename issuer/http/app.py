"""``create_app(body)``: the one ASGI application ``certreg serve`` runs.

Routers, by audience:

- public: :mod:`issuer.http.public` (DID document, status lists, contexts) and the keyless
  public site's pages (:mod:`register.web`: ``/c/{number}``, ``/verify``, Datasette at
  ``/register/``) mounted by :mod:`issuer.http.register_routes`, the same pages ``certreg
  register serve`` runs alone;
- holder: :mod:`issuer.http.holder` (the share pages, with the wallet offer and "revoke");
- wallet: :mod:`issuer.http.wallet` (OpenID4VCI, the VC API exchange);
- admin: :mod:`issuer.http.admin` (``/api/...``) and :mod:`issuer.http.share_links`;
- VC API: :mod:`issuer.http.vcapi` (W3C CCG).

One request guard (:class:`register.web.errors.RequestGuard`) checks every request body by
path, from the table in :func:`create_app`; :mod:`issuer.http.errors` maps errors to status
codes.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from certreg.issuer import console
from certreg.issuer.console import bulk as console_bulk
from certreg.issuer.console import web as console_web
from certreg.issuer.http import (
    admin,
    asof_api,
    holder,
    log,
    public,
    register_routes,
    share_links,
    unsubscribe,
    vcapi,
    wallet,
)
from certreg.issuer.http.errors import MAX_BODY_BYTES, install_handlers
from certreg.issuer.http.ratelimit import PublicGuards, PublicLimits, PublicVerifyGate
from certreg.issuer.http.state import AppState
from certreg.issuer.service import CertificationBody
from certreg.keys.store import KeyStore, KeyStoreError
from certreg.register.web.certificates import FORM_TYPES, MAX_FORM_BYTES, verify_page_refusal
from certreg.register.web.errors import BodyRule, RequestGuard

__all__ = ["MAX_BODY_BYTES", "create_app"]

DESCRIPTION = """\
certreg's HTTP service for an ISO/IEC 17024 certification body.

* **public**: the body's DID document, its Bitstring Status Lists, the pinned JSON-LD contexts;
* **admin** (`/api/...`, `Authorization: Bearer <token>`): the certification lifecycle. Officers
  prepare (schemes, persons, assessments), decision-makers decide (the decision-maker is always
  the token's staff member), admins manage staff, tokens and keys;
* **VC API** (W3C CCG): verify, presentations, status; generic issuing only when the operator
  turned it on (`certreg serve --enable-vc-api-issuer`), and then as its own did:key, never
  as the body: certificates are signed by decisions only;
* **holder** sharing: share pages (`/share/{token}`), OpenID4VCI 1.0 pre-authorized code flow
  (`/.well-known/openid-credential-issuer`, `/oid4vci/...`), VC API exchanges;
* **register** (public): Datasette at `/register/`, each certificate's page `/c/{number}` with
  its QR codes and printable PDF, and the verify page `/verify` (HTML forms).

Request bodies are JSON objects of at most 1 MiB, nested at most 64 deep.
"""


def _data_dir(body: CertificationBody) -> Path | None:
    row = body.db.execute("PRAGMA database_list").fetchone()
    return Path(row[2]).parent if row and row[2] else None


def create_app(
    body: CertificationBody,
    *,
    passphrase: str | None = None,
    key_store: KeyStore | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    unsafe_allow_http_hosts: Collection[str] = (),
    register_path: str | Path | None = None,
    public_limits: PublicLimits | None = None,
    enable_vc_api_issuer: bool = False,
) -> FastAPI:
    """The HTTP service of ``body``.

    ``key_store`` defaults to ``keys/`` beside issuer.db; it serves the did:web document and
    rotates keys. ``passphrase`` is needed for ``POST /api/keys/rotate`` and the VC API
    issuer's own key (certificates are signed with the body's own signer).
    ``unsafe_allow_http_hosts`` lets ``/credentials/verify`` fetch other issuers' DID
    documents and lists over plain HTTP from those hosts: tests only.
    ``register_path``: the public register served at ``/register/``, ``/c/{number}`` and
    ``/verify`` (default: register.db beside issuer.db). ``enable_vc_api_issuer`` turns on
    ``POST /credentials/issue``, which then signs as its own did:key (made on first use in
    ``keys/vc-api/``, under ``passphrase``), never as the body.
    """
    if key_store is None:
        folder = _data_dir(body)
        if folder is not None:
            try:
                key_store = KeyStore(folder / "keys")
            except KeyStoreError:
                key_store = None
    # FastAPIOffline: /docs and /redoc with Swagger UI's and ReDoc's files served by this
    # service (fastapi-offline ships them), not from a CDN: the documentation works offline,
    # and no third party learns who reads it.
    app = FastAPIOffline(
        title="certreg",
        summary="Signed ISO/IEC 17024 certificates as W3C Verifiable Credentials",
        description=DESCRIPTION,
        version="0.1.0",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.certreg = AppState(
        body=body,
        key_store=key_store,
        passphrase=passphrase,
        unsafe_allow_http_hosts=tuple(unsafe_allow_http_hosts),
        vc_api_issuer_enabled=enable_vc_api_issuer,
    )
    # What anonymous requests may cost (``public_limits``, see issuer.http.ratelimit): the
    # size of what is verified, verification slots, per-client rate limits.
    app.state.certreg_limits = PublicGuards(public_limits)
    install_handlers(app)
    # The register's pages first: routes are matched in order, and the certificate page is
    # what the public asks for most (no other router has a path under /c/, /verify, /register).
    if register_path is None:
        folder = _data_dir(body)
        register_path = folder / "register.db" if folder is not None else None
    if register_path is not None:
        register_routes.install(app, register_path)
    app.include_router(public.router)
    app.include_router(asof_api.router)  # a certificate as it stood then, signed (issue 13)
    app.include_router(log.router)  # the transparency log's files and proofs
    app.include_router(admin.router)
    app.include_router(vcapi.router)
    app.include_router(holder.router)
    app.include_router(wallet.router)
    app.include_router(share_links.router)
    app.include_router(unsubscribe.router)  # holders stop expiry reminders (issuer.mail)
    console.install(app)  # the staff console, /console/ (issuer.console)
    # Every request body, by path (register.web.errors.RequestGuard: the first rule that matches
    # decides): the verify page's HTML form; the OAuth token and credential requests (a form,
    # and OAuth's error objects: their handlers check media type and syntax); else JSON.
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
            BodyRule(
                wallet.TOKEN_PATH,
                methods=None,
                max_bytes=max_body_bytes,
                json_only=False,
                refuse=wallet.oauth_refusal,
            ),
            BodyRule(
                wallet.CREDENTIAL_PATH,
                methods=None,
                max_bytes=max_body_bytes,
                json_only=False,
                refuse=wallet.oauth_refusal,
            ),
            # The console's bulk-issuance upload (issuer.console.bulk): a CSV file, up to
            # its own limit, refused in HTML; read only for a signed-in decision-maker (anyone
            # else gets the console forms' 64 KiB, below).
            BodyRule(
                console_bulk.UPLOAD_PATH,
                methods=frozenset({"POST"}),
                media_types=FORM_TYPES,
                max_bytes=console_bulk.MAX_UPLOAD_BYTES + 64 * 1024,
                json_only=False,
                refuse=console_bulk.upload_refusal,
                admit=console_web.signed_in_as(*console_bulk.UPLOAD_ROLES),
            ),
            # The console's HTML forms (issuer.console): small, refused in HTML.
            BodyRule(
                "/console/*",
                media_types=FORM_TYPES,
                max_bytes=console_web.MAX_FORM_BYTES,
                json_only=False,
                refuse=console_web.form_refusal,
            ),
            # A holder's unsubscribe (issuer.http.unsubscribe): a form's button or a mail
            # client's one-click POST, a few bytes, any media type, refused in HTML.
            BodyRule(
                "/mail/unsubscribe/*",
                methods=frozenset({"POST"}),
                max_bytes=unsubscribe.MAX_FORM_BYTES,
                json_only=False,
                refuse=unsubscribe.unsubscribe_refusal,
            ),
            BodyRule("*", max_bytes=max_body_bytes),
        ],
    )
    # Outermost: a public verification spends the client's rate limit, and one declaring an
    # oversized body is refused, before any body is read (issuer.http.ratelimit).
    app.add_middleware(PublicVerifyGate)
    return app

"""``certreg serve``: the HTTP service (public artefacts, admin API, VC API) on uvicorn.

The key store is unlocked once, at start (a wrong passphrase stops it before it listens), and
every status list is re-signed before it lapses by a background thread (hourly; a list is
valid for two days). With ``--tls-cert``/``--tls-key`` it speaks HTTPS itself; otherwise put
it behind a TLS-terminating proxy: did:web and status lists must be fetched over HTTPS.
"""

from __future__ import annotations

import gc
import ipaddress
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from certreg.issuer.cli.common import (
    data_option,
    passphrase_file_option,
    plain_errors,
    read_passphrase,
)
from certreg.issuer.db import connect
from certreg.issuer.logfiles import CHECKPOINT_INTERVAL, LogError, make_log_key
from certreg.issuer.service import CertificationBody
from certreg.keys.store import KeyStore

if TYPE_CHECKING:
    from certreg.issuer.http.state import AppState
    from certreg.issuer.register_push import RegisterSync

log = logging.getLogger("certreg.serve")

#: How often the background thread looks for lists to re-sign, and how close to their
#: validUntil a list is re-signed (lists are valid two days; see issuer.statuslists).
REFRESH_EVERY_SECONDS = 3600
#: How often it checks that register.db holds everything issuer.db committed: another process
#: (a bulk run, a CLI decision) killed between its commit and its push leaves it behind, and a
#: long-running server must not wait for the next command to publish what was decided.
CATCH_UP_EVERY_SECONDS = 60


def _refresher(state: AppState, sync: RegisterSync, stop: threading.Event) -> None:
    since_refresh = float(REFRESH_EVERY_SECONDS)  # re-sign at once at start
    while True:
        with state.lock:
            sync.start()  # two reads when the register is up to date; logs, never raises
        if since_refresh >= REFRESH_EVERY_SECONDS:
            _refresh_lists(state)
            since_refresh = 0.0
        if stop.wait(CATCH_UP_EVERY_SECONDS):
            return
        since_refresh += CATCH_UP_EVERY_SECONDS


def _refresh_lists(state: AppState) -> None:
    try:
        with state.lock:
            refreshed = state.body.status_lists.refresh_due()
            # The VC API issuer's lists too, once it has issued (even if issuing has been
            # turned off since: what it issued must keep a status that can be checked).
            if state.vc_api_issuer_enabled or state.vc_api_lists() is not None:
                refreshed += state.vc_api_issuer().status_lists.refresh_due()
        if refreshed:
            log.info("re-signed status lists %s", ", ".join(refreshed))
    except Exception:  # keep trying: a lapsed list is worse than a logged error
        log.exception("could not re-sign the status lists")


@click.command("serve")
@data_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM certificate (chain): serve HTTPS.",
)
@click.option(
    "--tls-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM private key of --tls-cert.",
)
@passphrase_file_option
@click.option(
    "--enable-vc-api-issuer",
    is_flag=True,
    help="Turn on the VC API's generic issuing (POST /credentials/issue), e.g. for the W3C "
    "test suites. It signs as its own did:key (kept in KEYS/vc-api), never as the body: "
    "what it signs is never one of the body's certificates.",
)
@click.option(
    "--log-checkpoint-every",
    type=click.FloatRange(0, 3600),
    default=CHECKPOINT_INTERVAL,
    show_default=True,
    help="Sign a new checkpoint of the transparency log at most this often (seconds), when "
    "one is asked for and the log grew.",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
def serve_command(
    data: Path,
    host: str,
    port: int,
    tls_cert: Path | None,
    tls_key: Path | None,
    passphrase_file: Path | None,
    enable_vc_api_issuer: bool,
    log_checkpoint_every: float,
    log_level: str,
) -> None:
    """Serve the body over HTTP(S): /.well-known/did.json, /status/..., /contexts/...,
    /api/... (bearer tokens), the VC API, and the OpenAPI document at /docs."""
    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("give both --tls-cert and --tls-key, or neither")
    # The web stack is imported here, not at the top: `certreg serve --help` and `certreg demo
    # --help` (which reuses this command) print at once.
    import uvicorn

    from certreg.issuer.http import create_app, redact
    from certreg.issuer.register_push import attach

    passphrase = read_passphrase(passphrase_file)
    with plain_errors():
        if not (data / "issuer.db").exists():
            raise click.ClickException(f"no certification body in {data} (run `certreg init`)")
        store = KeyStore(data / "keys")
        body = CertificationBody(
            connect(data / "issuer.db"), signer_factory=lambda: store.load_signer(passphrase)
        )
        body.signer  # noqa: B018 -- unlock now: a wrong passphrase stops us before listening
        # The transparency log's key, made now for a body made before the log, so that the
        # DID document lists it from the first request (issuer.logfiles).
        try:
            make_log_key(body.db, data / "keys", passphrase)
        except LogError as exc:
            raise click.ClickException(str(exc)) from None
        sync = attach(body)  # decisions taken through the API reach the register at once
    app = create_app(
        body, passphrase=passphrase, key_store=store, enable_vc_api_issuer=enable_vc_api_issuer
    )
    state = app.state.certreg
    app.state.certreg_log_interval = log_checkpoint_every  # issuer.http.log
    if enable_vc_api_issuer:
        with plain_errors():
            vc_api_did = state.vc_api_issuer().did  # made now if new: a problem stops us here
        # The W3C suites' configuration names the issuer: say which it is.
        click.echo(
            f"certreg: VC API generic issuing is ON, signing as {vc_api_did} (not as the body)",
            err=True,
        )
    if tls_cert is None:
        try:
            local = ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = host == "localhost"
        if not local:
            click.echo(
                "warning: serving plain HTTP on a non-loopback address; put a TLS proxy in "
                "front, or give --tls-cert and --tls-key",
                err=True,
            )
    stop = threading.Event()
    thread = threading.Thread(
        target=_refresher, args=(state, sync, stop), name="status-refresh", daemon=True
    )
    thread.start()
    # Everything built so far (Datasette, templates, contexts) lives as long as the server:
    # out of the collector's way, full collections no longer pause requests for tens of ms.
    gc.collect()
    gc.freeze()
    redact.install()  # share tokens and wallet offer ids travel in paths: not in the log
    scheme = "https" if tls_cert else "http"
    click.echo(f"certreg: serving {body.info['did']} on {scheme}://{host}:{port}", err=True)
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            ssl_certfile=str(tls_cert) if tls_cert else None,
            ssl_keyfile=str(tls_key) if tls_key else None,
            log_level=log_level,
            # uvicorn's access log prints paths and status, never headers (no API token); the
            # secrets that do travel in paths are redacted (issuer/http/redact.py).
            server_header=False,
        )
    finally:
        stop.set()

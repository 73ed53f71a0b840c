"""``certreg register serve BUNDLE_DIR``: the public site of a bundle written by ``certreg
publish``, on a machine with no key store and no issuer.db.

It serves every address a certificate, its QR code or a share link names (``/c/{number}``,
``/share/{token}``, ``/status/...``, ``/.well-known/did.json``, ``/contexts/...``), the verify
page and the Datasette register, from the bundle alone (:mod:`register.web.app`). To publish
changes, run ``certreg publish`` again on the issuer's machine, copy the new bundle over this one
(whole: the folder is swapped, never edited), and restart the server: the register is opened
as an immutable snapshot.

Lookups by number of ``number_lookup`` schemes need the body's lookup secret, which is not in
the bundle: set ``CERTREG_LOOKUP_SECRET_FILE`` (see the bundle's README.txt).
"""

from __future__ import annotations

import gc
import ipaddress
from pathlib import Path

import click

__all__ = ["serve_command"]


@click.command("serve")
@click.argument("bundle_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--forwarded-allow-ips",
    default=None,
    help="Proxies trusted for X-Forwarded-For (uvicorn's option): behind a reverse proxy, give "
    "its address, or every visitor shares the proxy's rate limit.",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
def serve_command(
    bundle_dir: Path, host: str, port: int, forwarded_allow_ips: str | None, log_level: str
) -> None:
    """Serve the public site of BUNDLE_DIR (written by `certreg publish`): no key, no
    issuer.db. Put it behind a TLS-terminating proxy at the body's public URL."""
    # The web stack is imported here, not at the top: `certreg register --help` prints at once.
    import uvicorn

    from certreg.register.web import redact
    from certreg.register.web.app import BundleError, create_public_app

    try:
        app = create_public_app(bundle_dir)
    except BundleError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        local = ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = host == "localhost"
    if not local:
        click.echo(
            "warning: serving plain HTTP on a non-loopback address; put a TLS proxy in front",
            err=True,
        )
    redact.install()  # share tokens travel in paths: not in the log
    # Everything built so far (Datasette, templates, routes) lives as long as the server: out
    # of the collector's way, full collections no longer walk it while requests wait.
    gc.collect()
    gc.freeze()
    click.echo(f"certreg: serving {bundle_dir} on http://{host}:{port}", err=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        forwarded_allow_ips=forwarded_allow_ips,
    )

"""The verify page as an installable web app that verifies a certificate's QR code with no
network (issue 14, item 3): its manifest, its service worker and its icons.

- ``/manifest.webmanifest``: the web app manifest (name, icons, ``start_url`` the verify page),
  so that a phone offers to install the page as an app.
- ``/sw.js``: the service worker, served at the site's root so that its scope is the whole
  site. It keeps the verify page and every file it runs (its scripts, the vendored QR reader
  and CBOR library, the icons) and answers from them when the network fails. The list of files
  it keeps is written here, from the package's own files, before the script
  (``static/sw.js``); the cache's name changes with them, so a new release replaces the old
  files at the next visit online.
- ``/icons/verify-<size>.png``: the app's icons (made with Pillow, in the package).

The page itself (``static/offline.js``) syncs the body's keys and status lists from
``/offline.json`` into Cache Storage and checks a ``CR1:`` payload against them
(``certreg.verifier.offline.payload`` is the format). All of it is served by the router of the
register's pages, so both servers have it: ``certreg serve`` and the keyless register site.

The verify page is served with :data:`VERIFY_PAGE_HEADERS`: the scanner's policy
(:data:`certreg.register.web.scan.VERIFY_PAGE_HEADERS`) plus the manifest and the worker, from
this site only.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from certreg.register.web.scan import STATIC, static_files
from certreg.register.web.scan import VERIFY_PAGE_HEADERS as SCAN_HEADERS

__all__ = ["ICONS", "VERIFY_PAGE_HEADERS", "precached", "router", "service_worker"]

#: The app's icons by size, in the package (``static/icons/``).
ICONS = {size: f"verify-{size}.png" for size in (192, 512)}

VERIFY_PAGE_HEADERS = dict(SCAN_HEADERS)
VERIFY_PAGE_HEADERS["Content-Security-Policy"] = (
    SCAN_HEADERS["Content-Security-Policy"] + "; manifest-src 'self'; worker-src 'self'"
)

REVALIDATE = "public, no-cache"

router = APIRouter(tags=["register"])


def precached(root: str = "/") -> list[str]:
    """What the service worker keeps for the page to open offline: the verify page, the
    manifest, the icons and every script or file under ``/static/`` the page may run."""
    files = [root + "static/" + name for name in static_files() if name != "sw.js"]
    icons = [root + "icons/" + name for name in ICONS.values()]
    return [root + "verify", root + "manifest.webmanifest", *icons, *files]


@cache
def service_worker(root: str = "/") -> bytes:
    """The worker's script: the files it keeps and its cache's name, then ``static/sw.js``."""
    script = (STATIC / "sw.js").read_text(encoding="utf-8")
    files = precached(root)
    digest = hashlib.sha256(script.encode())
    for name in static_files().values():
        digest.update(name.read_bytes())
    head = (
        f"const PRECACHE = {json.dumps(files)};\n"
        f'const CACHE = "certreg-verify-{digest.hexdigest()[:16]}";\n'
    )
    return (head + script).encode("utf-8")


def _manifest(root: str) -> dict[str, object]:
    return {
        "name": "Verify a certificate",
        "short_name": "Verify",
        "description": "Check a certificate's QR code, with or without a network.",
        "start_url": root + "verify",
        "scope": root,
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5d1e",
        "icons": [
            {"src": f"{root}icons/{name}", "sizes": f"{size}x{size}", "type": "image/png"}
            for size, name in ICONS.items()
        ],
    }


@router.get("/manifest.webmanifest", include_in_schema=False)
def manifest() -> Response:
    return Response(
        json.dumps(_manifest("/"), indent=1),
        media_type="application/manifest+json",
        headers={"Cache-Control": REVALIDATE, "X-Content-Type-Options": "nosniff"},
    )


@router.get("/sw.js", include_in_schema=False)
def worker() -> Response:
    # Revalidated on every check for an update; its scope is its folder, the root.
    return Response(
        service_worker("/"),
        media_type="text/javascript; charset=utf-8",
        headers={
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; connect-src 'self'",
        },
    )


@router.get("/icons/{name}", include_in_schema=False)
def icon(request: Request, name: str) -> Response:
    if name not in ICONS.values():
        return PlainTextResponse("Not found.", status_code=404)
    data = _icon(name)
    return Response(
        data,
        media_type="image/png",
        headers={"Cache-Control": REVALIDATE, "X-Content-Type-Options": "nosniff"},
    )


@cache
def _icon(name: str) -> bytes:
    return (STATIC / "icons" / name).read_bytes()

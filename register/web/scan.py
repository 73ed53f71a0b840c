"""Scanning a certificate's QR code on the verify page (issue 12, item 4): the files the page's
scanner runs and the headers the page is served with.

The scanner (``register/datasette/templates/_certreg_scan.html``, included by the verify page,
and ``static/scan.js``) reads a QR code from the camera or from a photo, in the browser, with
zxing-wasm (zxing-cpp compiled to WebAssembly, vendored in ``static/vendor/``: see its README
for why this library and how to upgrade it). Nothing is sent to the server but the request for
the certificate page the QR code names. It opens only this register's certificate pages: the
check is in the script, which builds the address it opens itself (this site's ``/c/NUMBER``),
so that a QR code made by anyone cannot turn the verify page into a redirector.

The files are served from the package by :data:`router` at ``/static/...`` (never a CDN): the
vendored ones under a folder named after their version, cached as immutable; the project's own
script revalidated on each use (its address does not change when it does).

The verify page is served with :data:`VERIFY_PAGE_HEADERS`: scripts from this site only (plus
``'wasm-unsafe-eval'``, without which Chromium refuses to compile WebAssembly under a
Content-Security-Policy), and the camera allowed to this site only.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from certreg.register.web.state import site_of

__all__ = [
    "STATIC",
    "VENDOR",
    "VERIFY_PAGE_HEADERS",
    "certificate_prefix",
    "router",
    "static_files",
]

#: The scanner's files, shipped in the package (pyproject package-data).
STATIC = Path(__file__).parent / "static"
#: The vendored zxing-wasm build: its folder is named after its version, so that its address
#: changes with it and may be cached for good.
VENDOR = "vendor/zxing-wasm-3.1.6"
#: What is served, by suffix: nothing else in the folder is (its LICENSE and README ship in the
#: package and the source repository, not over HTTP).
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".wasm": "application/wasm"}

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"

VERIFY_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; "
        "img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    # The scanner's camera: this page only, this site only (other pages are served without it).
    "Permissions-Policy": "camera=(self)",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(tags=["register"])


def static_files() -> dict[str, Path]:
    """Every file served, by its path under ``/static/``."""
    return {
        path.relative_to(STATIC).as_posix(): path
        for path in sorted(STATIC.rglob("*"))
        if path.suffix in CONTENT_TYPES and path.is_file()
    }


_FILES = static_files()


@cache
def _content(name: str) -> tuple[bytes, str]:
    """The file's bytes and its ETag, read once: the files are the package's own."""
    data = _FILES[name].read_bytes()
    return data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


@router.get("/static/{name:path}", include_in_schema=False)
def static_file(request: Request, name: str) -> Response:
    if name not in _FILES:
        return PlainTextResponse("Not found.", status_code=404)
    data, etag = _content(name)
    headers = {
        "Cache-Control": IMMUTABLE if name.startswith(VENDOR + "/") else REVALIDATE,
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=CONTENT_TYPES[Path(name).suffix], headers=headers)


def certificate_prefix(request: Request) -> str:
    """The start of this register's certificate addresses as its QR codes print them
    (``https://register.example.org/c/``), or "" when no body is known yet. The scanner opens
    a QR code that starts with it, or with this site's own ``/c/``, and nothing else."""
    body = site_of(request).body()
    return body.certificate_url("") if body is not None else ""

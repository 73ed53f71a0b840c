"""The body's logo: printed at the top of every certificate PDF (``register.pdf``) and served by
the public site at ``/logo.png`` (``register.web.files``).

The operator sets it with ``certreg body logo FILE`` (:func:`set_logo`). It is checked before
anything is stored: PNG or JPEG, at most :data:`MAX_LOGO_BYTES`, and an image Pillow decodes
whole, of at most :data:`MAX_LOGO_PIXELS` pixels (a small file can unpack into a huge one).
A file that fails any check is refused in words and nothing changes.

It is kept in issuer.db's ``settings`` table (key ``logo``, the image as a ``data:`` URL), so
it is in every backup of issuer.db and needs no schema change; changing it appends a
``body_logo_changed`` event (its SHA-256, type and size, not the image) and the register push
copies it to register.db (``body_logo``), one way, so that the keyless public site has it.
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from certreg.issuer import audit
from certreg.issuer.db import transaction
from certreg.keys.errors import CertregError
from certreg.verifier.issuing import format_datetime

if TYPE_CHECKING:  # the mail outbox, which the service imports, reads the logo too
    from certreg.issuer.service import CertificationBody

__all__ = [
    "MAX_LOGO_BYTES",
    "MAX_LOGO_PIXELS",
    "Logo",
    "LogoRefused",
    "body_logo",
    "check_logo",
    "set_logo",
]

MAX_LOGO_BYTES = 256 * 1024
#: Width × height: a logo printed 70 × 22 mm needs far fewer (2,000 × 600 is 300 dpi).
MAX_LOGO_PIXELS = 4096 * 4096
_SETTING = "logo"
_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}


class LogoRefused(CertregError, ValueError):
    """The file is not a logo certreg can print; the message says why, in plain words."""


@dataclass(frozen=True)
class Logo:
    data: bytes
    media_type: str  # image/png or image/jpeg

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def data_url(self) -> str:
        return f"data:{self.media_type};base64,{base64.b64encode(self.data).decode('ascii')}"


def check_logo(data: bytes) -> Logo:
    """``data`` as a :class:`Logo` once Pillow has decoded it whole, else :class:`LogoRefused`."""
    from PIL import Image, UnidentifiedImageError  # only when a logo is set

    if not data:
        raise LogoRefused("the file is empty")
    if len(data) > MAX_LOGO_BYTES:
        raise LogoRefused(
            f"the file has {len(data):,} bytes; a logo may have at most {MAX_LOGO_BYTES:,} "
            "(256 KiB): save it smaller, e.g. 1000 pixels wide"
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or ""
            if kind not in _TYPES:
                raise LogoRefused(
                    f"the file is a {kind or 'unknown'} image; a logo must be PNG or JPEG"
                )
            width, height = image.size
            if width * height > MAX_LOGO_PIXELS:
                raise LogoRefused(
                    f"the image is {width} × {height} pixels; a logo may have at most "
                    f"{MAX_LOGO_PIXELS:,} pixels"
                )
            image.load()  # decodes every pixel: a truncated or damaged file fails here
    except UnidentifiedImageError:
        raise LogoRefused("the file is not an image (PNG or JPEG expected)") from None
    except Image.DecompressionBombError:
        raise LogoRefused(
            f"the image has more pixels than a logo may ({MAX_LOGO_PIXELS:,} at most)"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, LogoRefused):
            raise
        raise LogoRefused(f"the image cannot be read: {exc}") from None
    return Logo(data, _TYPES[kind])


def body_logo(body: CertificationBody) -> Logo | None:
    """The body's logo, or None while it has none."""
    row = body.db.execute("SELECT value FROM settings WHERE key = ?", [_SETTING]).fetchone()
    if row is None:
        return None
    header, _, encoded = str(row[0]).partition(",")
    media_type = header.removeprefix("data:").removesuffix(";base64")
    return Logo(base64.b64decode(encoded), media_type)


def set_logo(body: CertificationBody, data: bytes, *, actor: str | None = None) -> Logo:
    """Check ``data`` (:func:`check_logo`) and make it the body's logo, with an audit event,
    in one transaction; then the register push copies it to register.db."""
    logo = check_logo(data)
    now = format_datetime(body.clock())
    with transaction(body.db):
        body.db.table("settings").upsert(
            {"key": _SETTING, "value": logo.data_url(), "updated_at": now}, pk="key"
        )
        audit.append(
            body.db,
            "body_logo_changed",
            actor=actor,
            subject="body",
            payload={"sha256": logo.sha256, "media_type": logo.media_type, "bytes": len(data)},
            at=now,
        )
    if body.on_change is not None:
        body.on_change("body")
    return logo

"""QR codes of a certificate: its stable URL (``{public_url}/c/{number}``) and its offline
payload (the ``CR1:`` text of :mod:`certreg.verifier.offline.payload`), as PNG and SVG.

Error correction level M (15%): it survives a crease or a smudge on paper while keeping the
code small enough to scan from a card. The quiet zone (4 modules) is part of the image.

The offline payload is encoded in the alphanumeric mode: base45 is that mode's alphabet (digits,
capitals, space and ``$%*+-./:``), 5.5 bits a character where the byte mode takes 8, so a
483-character payload fits version 13 (69 modules a side) instead of needing version 17.
"""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathFillImage
from qrcode.util import MODE_ALPHA_NUM, QRData

__all__ = [
    "offline_qr_png",
    "offline_qr_svg",
    "offline_qr_version",
    "qr_png",
    "qr_svg",
]


def _code(data: str | QRData) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(data)
    code.make(fit=True)
    return code


def _png(code: qrcode.QRCode, box_size: int) -> bytes:
    code.box_size = box_size
    image = code.make_image(image_factory=PilImage)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def qr_png(data: str, *, box_size: int = 8) -> bytes:
    return _png(_code(data), box_size)


def qr_svg(data: str) -> bytes:
    image = _code(data).make_image(image_factory=SvgPathFillImage)
    return image.to_string(encoding="utf-8")


# --- the offline payload ----------------------------------------------------------------------


def _offline_code(text: str) -> qrcode.QRCode:
    """The payload in alphanumeric mode (``text`` is base45 after the prefix: nothing else)."""
    return _code(QRData(text, mode=MODE_ALPHA_NUM))


def offline_qr_png(text: str, *, box_size: int = 6) -> bytes:
    """The offline payload's QR code as PNG, ``box_size`` pixels a module."""
    return _png(_offline_code(text), box_size)


def offline_qr_svg(text: str) -> bytes:
    image = _offline_code(text).make_image(image_factory=SvgPathFillImage)
    return image.to_string(encoding="utf-8")


def offline_qr_version(text: str) -> int:
    """The QR version the payload takes at level M (13 or less for every certificate whose
    payload :func:`~certreg.verifier.offline.payload.sign_compact` kept within its budget)."""
    return int(_offline_code(text).version)

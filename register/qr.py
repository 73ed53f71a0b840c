"""QR codes of a certificate's stable URL (``{public_url}/c/{number}``), as PNG and SVG.

Error correction level M (15%): it survives a crease or a smudge on paper while keeping the
code small enough to scan from a card. The quiet zone (4 modules) is part of the image.
"""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathFillImage

__all__ = ["qr_png", "qr_svg"]


def _code(data: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(data)
    code.make(fit=True)
    return code


def qr_png(data: str, *, box_size: int = 8) -> bytes:
    code = _code(data)
    code.box_size = box_size
    image = code.make_image(image_factory=PilImage)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def qr_svg(data: str) -> bytes:
    image = _code(data).make_image(image_factory=SvgPathFillImage)
    return image.to_string(encoding="utf-8")

"""``certreg verify --offline --cache DIR QR-TEXT|IMAGE|-``: a certificate's QR code checked
with no network against what ``certreg sync`` stored in DIR (docs/offline.md).

SOURCE is read as: ``-``, the QR code's text on standard input; the name of an existing file,
an image of the QR code (PNG, JPEG...: decoded with zxing-cpp), or a text file holding the
QR code's text; anything else, the QR code's text itself.

Exit codes as ``certreg verify``'s: 0 when the verdict is VALID, 1 for any other verdict, 2
when no verdict could be reached (no cache, an unreadable file, an image without a QR code).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from certreg.verifier.offline.verify import OfflineResult

#: The longest QR text read from standard input or a text file (the payload module bounds it
#: again, to what a QR code can hold).
MAX_TEXT_BYTES = 64 * 1024
#: The largest image file read.
MAX_IMAGE_BYTES = 32 * 1024 * 1024


def read_qr_image(data: bytes, name: str) -> list[str]:
    """The texts of the QR codes in an image file (empty when it holds none)."""
    import io

    try:
        import zxingcpp
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - both are dependencies of certreg
        raise click.UsageError(
            "reading a QR code from an image needs the zxing-cpp and Pillow packages "
            "(pip install zxing-cpp pillow); or give the QR code's text instead"
        ) from None
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            codes = zxingcpp.read_barcodes(image.convert("L"))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise click.UsageError(f"{name} is neither a QR code's text nor an image: {exc}") from None
    return [code.text for code in codes if code.text]


def _qr_text(source: str) -> str:
    if source == "-":
        return sys.stdin.buffer.read(MAX_TEXT_BYTES).decode("utf-8", "replace")
    path = Path(source)
    if not path.is_file():
        return source
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_IMAGE_BYTES + 1)
    except OSError as exc:
        raise click.UsageError(f"cannot read {source}: {exc.strerror or exc}") from None
    if len(data) <= MAX_TEXT_BYTES and data.lstrip()[:4].upper() == b"CR1:":
        return data.decode("utf-8", "replace")
    if len(data) > MAX_IMAGE_BYTES:
        raise click.UsageError(f"{source} is larger than {MAX_IMAGE_BYTES} bytes")
    texts = read_qr_image(data, source)
    if not texts:
        raise click.UsageError(f"no QR code could be read in {source}")
    # A certificate shows two codes (the link and the payload): take the payload's.
    return next((t for t in texts if t.startswith("CR1:")), texts[0])


def print_offline(result: OfflineResult) -> None:
    click.echo(result.summary)
    cert = result.certificate
    if cert is not None:
        from certreg.verifier.result import plain_date

        click.echo("")
        rows = [
            ("Holder", cert.holder_name),
            ("Certificate", cert.number),
            ("Scheme", f"{cert.scheme_name} ({cert.scheme_code}), version {cert.scheme_version}"),
            ("Issued by", f"{result.body.name} ({result.body.did})" if result.body else ""),
            ("Valid", f"{plain_date(cert.valid_from)} to {plain_date(cert.valid_until)}"),
        ]
        for label, value in rows:
            click.echo(f"  {label + ':':<13}{value}")
        click.echo("  Scope:")
        for item in cert.scope:
            extra = f" — {item.conditions}" if item.conditions else ""
            click.echo(f"    • {item.label or item.code}{extra}")
    click.echo("")
    click.echo("Checks:")
    for check in result.checks:
        click.echo(f"  {'✓' if check.ok else '✗'} {check.name}: {check.reason}")


def verify_offline_command(
    source: str, cache_dir: Path | None, *, as_json: bool, now: datetime | None
) -> None:
    from certreg.verifier.offline.cache import Cache
    from certreg.verifier.offline.verify import verify_offline

    if cache_dir is None:
        raise click.UsageError("--offline needs --cache DIR (filled by certreg sync DIR URL...)")
    if not cache_dir.is_dir():
        raise click.UsageError(
            f"{cache_dir} is not a folder: fill it first with certreg sync {cache_dir} URL..."
        )
    cache = Cache.open(cache_dir)
    for problem in cache.problems:
        click.echo(f"warning: a synced body could not be read: {problem}", err=True)
    result = verify_offline(_qr_text(source), cache, now=now)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        print_offline(result)
    sys.exit(0 if result.ok else 1)

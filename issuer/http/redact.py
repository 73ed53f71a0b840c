"""Keep secrets out of the access log.

A holder's share link, its wallet offer and its VC API exchange carry their secret in the URL
path (``/share/<token>``, ``/oid4vci/offers/<id>``, ``.../exchanges/<id>``): whoever reads a
log line holding one can open the holder's page or collect the credential. uvicorn's access
log writes every request path; this filter replaces those path segments before it does.
"""

from __future__ import annotations

import logging
import re

_SECRET_SEGMENT = re.compile(r"(/share/|/oid4vci/offers/|/exchanges/)[^/?#\s]+")
REDACTED = "[redacted]"


def redact_path(path: str) -> str:
    return _SECRET_SEGMENT.sub(rf"\g<1>{REDACTED}", path)


class RedactSecretPaths(logging.Filter):
    """For uvicorn's ``uvicorn.access`` logger, whose records carry
    (client, method, path, http version, status) as ``args``."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_path(args[2]), *args[3:])
        return True


def install() -> None:
    """Attach the filter to uvicorn's access logger (idempotent)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactSecretPaths) for f in logger.filters):
        logger.addFilter(RedactSecretPaths())

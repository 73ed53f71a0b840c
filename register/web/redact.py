"""Keep secrets out of the access log.

A holder's share link, its wallet offer and its VC API exchange carry their secret in the URL
path (``/share/<token>``, ``/oid4vci/offers/<id>``, ``.../exchanges/<id>``): whoever reads a
log line holding one can open the holder's page or collect the credential. So does a staff
member's console enrolment link (``/console/enrol/<token>``): whoever reads it could choose
that person's password and authenticator before they do. A holder's unsubscribe link
(``/mail/unsubscribe/<token>``) would let its reader stop their reminders. A client may also
put a secret in the query string: a bearer token as ``?access_token=`` (RFC 6750 §2.3 allows
it), an OAuth or OID4VCI code, a wallet's transaction code. uvicorn's access log writes every
request path with its query; this filter replaces those path segments and query values before
it does.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

_SECRET_SEGMENT = re.compile(
    r"(/share/|/oid4vci/offers/|/exchanges/|/console/enrol/|/mail/unsubscribe/)[^/?#\s]+"
)
REDACTED = "[redacted]"

#: Query parameters whose value can be a secret, compared after percent-decoding and in lower
#: case (``Access%5FToken`` is ``access_token`` to a server that decodes it).
SECRET_PARAMETERS = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "code",
        "pre-authorized_code",
        "pre_authorized_code",
        "tx_code",
        "user_pin",
        "client_secret",
        "password",
        "passphrase",
        "secret",
        "api_key",
        "apikey",
        "key",
        "credential_offer",
        "credential_offer_uri",
        "state",
        "session",
        "sig",
        "signature",
    }
)


def redact_path(path: str) -> str:
    """``path`` (with its query, if any) with secret path segments and secret query values
    replaced by ``[redacted]``."""
    base, mark, query = path.partition("?")
    base = _SECRET_SEGMENT.sub(rf"\g<1>{REDACTED}", base)
    if not mark:
        return base
    return f"{base}?{redact_query(query)}"


def redact_query(query: str) -> str:
    """A query string with the values of :data:`SECRET_PARAMETERS` replaced; everything else
    is kept as sent, so the log still shows what was asked for."""
    fragment = ""
    if "#" in query:  # never sent by browsers, but a raw request line may carry one
        query, _, rest = query.partition("#")
        fragment = "#" + REDACTED if rest else "#"
    parts = []
    for pair in re.split(r"([&;])", query):
        if pair in ("&", ";"):
            parts.append(pair)
            continue
        name, _, _value = pair.partition("=")
        if _is_secret_name(name):
            parts.append(f"{name}={REDACTED}")
        elif _SECRET_SEGMENT.search(unquote_plus(_value)):
            # A value can carry a secret path too: ?next=/share/<token>, percent-encoded or not.
            parts.append(f"{name}={REDACTED}")
        else:
            parts.append(pair)
    return "".join(parts) + fragment


def _is_secret_name(name: str) -> bool:
    decoded = unquote_plus(name).strip().lower()
    if decoded in SECRET_PARAMETERS:
        return True
    # Bracketed and prefixed spellings (token[0], my_access_token) carry the same value.
    core = re.sub(r"\[.*\]$", "", decoded)
    return core in SECRET_PARAMETERS or core.endswith(("_token", "_secret", "_code"))


class RedactSecretPaths(logging.Filter):
    """For uvicorn's ``uvicorn.access`` logger, whose records carry
    (client, method, path with query, http version, status) as ``args``."""

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

"""Moved to :mod:`register.web.redact` (the keyless public site logs the same paths);
re-exported here so that ``certreg serve`` and older imports keep working."""

from certreg.register.web.redact import *  # noqa: F403
from certreg.register.web.redact import (  # noqa: F401
    REDACTED,
    SECRET_PARAMETERS,
    RedactSecretPaths,
    install,
    redact_path,
)

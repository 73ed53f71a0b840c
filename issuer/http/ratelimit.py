"""Moved to :mod:`register.web.ratelimit` (the keyless public site needs the same bounds);
re-exported here so that the issuer's routes and older imports keep working."""

from certreg.register.web.ratelimit import *  # noqa: F403
from certreg.register.web.ratelimit import __all__, fetch_budget  # noqa: F401

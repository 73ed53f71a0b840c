"""The root of the errors certreg raises on purpose.

Every error that a certreg package raises to tell its caller *why* something cannot be done
derives from :class:`CertregError`, and ``str(exc)`` is that reason in plain words, fit to show a
person. A command-line tool or a server can therefore catch ``CertregError``, show the reason,
and treat anything else as a bug.

The root knows nothing of HTTP: which status code an error becomes is decided in the HTTP layer
alone (``certreg.issuer.http.errors.status_of``, ``certreg.register.web.errors``).

It lives in ``keys`` because ``keys`` is the bottom layer that the verifier, the register and the
issuer all import (``contexts`` aside: its errors never leave the JSON-LD document loader, which
the verifier turns into reasons of its own).
"""

from __future__ import annotations

__all__ = ["CertregError"]


class CertregError(Exception):
    """A request certreg cannot carry out; ``str(exc)`` says why in plain words."""

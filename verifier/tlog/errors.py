"""The one error root of the log's formats: a malformed tile path, bundle, key string, note text
or checkpoint given where a well-formed one was needed.

A :class:`TlogError` is a :class:`~certreg.keys.errors.CertregError` (its text is the reason)
and a :class:`ValueError` (what a bad value is in Python). Checking a proof, a note or a
checkpoint someone handed over never raises it: those answer with a result and its reason.
"""

from __future__ import annotations

from certreg.keys.errors import CertregError


class TlogError(CertregError, ValueError):
    """Something of the log's formats that is not well formed; ``str(exc)`` says what."""

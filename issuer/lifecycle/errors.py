"""The errors of the lifecycle: ``str(exc)`` says why in plain words. Which HTTP status each
becomes is the HTTP layer's business (``certreg.issuer.http.errors.status_of``), not theirs."""

from __future__ import annotations

from certreg.issuer.lifecycle.rules import Refusal
from certreg.keys.errors import CertregError


class LifecycleError(CertregError):
    """A request the body cannot carry out; ``str(exc)`` says why in plain words."""


class Invalid(LifecycleError):
    """Malformed or inconsistent input."""


class NotFound(LifecycleError):
    """No such certification, person, scheme, staff member, token or link."""


class Conflict(LifecycleError):
    """The certification is not in a state that allows this decision."""


class Refused(LifecycleError):
    """A rule of ISO/IEC 17024 forbids it (e.g. the decision-maker examined the candidate)."""


ERROR_OF_KIND: dict[str, type[LifecycleError]] = {
    "invalid": Invalid,
    "refused": Refused,
    "conflict": Conflict,
}


def enforce(*refusals: Refusal | None) -> None:
    """Raise the error of the first refusal, if any (the rules return them, never raise)."""
    for refusal in refusals:
        if refusal is not None:
            raise ERROR_OF_KIND[refusal.kind](refusal.reason)

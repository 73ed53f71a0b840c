"""The errors of the lifecycle: ``str(exc)`` says why in plain words, ``status`` is the HTTP
status the API answers with."""

from __future__ import annotations

from certreg.issuer.lifecycle.rules import Refusal
from certreg.keys.errors import CertregError


class LifecycleError(CertregError):
    """A request the body cannot carry out; ``str(exc)`` says why in plain words."""

    status = 400


class Invalid(LifecycleError):
    """Malformed or inconsistent input."""

    status = 422


class NotFound(LifecycleError):
    status = 404


class Conflict(LifecycleError):
    """The certification is not in a state that allows this decision."""

    status = 409


class Refused(LifecycleError):
    """A rule of ISO/IEC 17024 forbids it (e.g. the decision-maker examined the candidate)."""

    status = 403


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

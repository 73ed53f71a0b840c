"""One error root: every error certreg raises on purpose is a ``CertregError`` whose text is the
reason, and only the HTTP layers decide which status code an error becomes."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import certreg.contexts
import certreg.issuer
import certreg.keys
import certreg.register
import certreg.verifier
from certreg.keys.errors import CertregError

PACKAGES = (certreg.contexts, certreg.keys, certreg.verifier, certreg.register, certreg.issuer)

#: Exceptions that are not reasons for a person, each with why.
NOT_REASONS = {
    # contexts imports nothing of certreg; its errors stay inside the JSON-LD document loader,
    # which the verifier turns into reasons of its own.
    "certreg.contexts.ContextError",
    "certreg.contexts.ContextNotPinnedError",
    "certreg.contexts.ContextIntegrityError",
    # Private signals caught in the module that raises them: one bad CSV row (reported with its
    # row number), a status that cannot be read (a STATUS_UNKNOWN verdict), and the audit
    # command's "nothing could be checked" (click's own exception, for its exit code 2).
    "certreg.issuer.bulk._RowError",
    "certreg.verifier.status._Unknown",
    "certreg.issuer.cli.audit._CannotCheck",
    # Signals between the HTTP layer's own pieces (rate limits, body size), answered there.
    "certreg.register.web.ratelimit.LimitExceeded",
    "certreg.register.web.errors.BodyTooLarge",
}


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            names.append(info.name)
    return names


def _own_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for name in _modules():
        module = importlib.import_module(name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == name:
                found[f"{name}.{value.__qualname__}"] = value
    return found


def test_every_error_certreg_raises_on_purpose_is_a_certreg_error() -> None:
    found = _own_exceptions()
    assert len(found) >= 20, sorted(found)  # the walk saw the packages
    outside = sorted(name for name, cls in found.items() if not issubclass(cls, CertregError))
    assert outside == sorted(NOT_REASONS & found.keys()), outside
    assert NOT_REASONS <= found.keys(), sorted(NOT_REASONS - found.keys())


@pytest.mark.parametrize(
    "module, name",
    [
        ("certreg.verifier.verify", "InputError"),
        ("certreg.verifier.statuslist", "StatusListError"),
        ("certreg.keys.did", "DidError"),
        ("certreg.register.push", "SealError"),
    ],
)
def test_errors_that_were_value_errors_still_are(module: str, name: str) -> None:
    # Callers that caught ValueError before the root existed keep working.
    assert issubclass(getattr(importlib.import_module(module), name), ValueError)

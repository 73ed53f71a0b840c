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
import certreg.witness
from certreg.keys.errors import CertregError

PACKAGES = (
    certreg.contexts,
    certreg.keys,
    certreg.verifier,
    certreg.register,
    certreg.issuer,
    certreg.witness,
)

#: Exceptions that are not reasons for a person, each with why.
NOT_REASONS = {
    # contexts imports nothing of certreg; its errors stay inside the JSON-LD document loader,
    # which the verifier turns into reasons of its own.
    "certreg.contexts.ContextError",
    "certreg.contexts.ContextNotPinnedError",
    "certreg.contexts.ContextIntegrityError",
    # Private signals caught in the module that raises them: one bad CSV row (reported with its
    # row number), a status that cannot be read (a STATUS_UNKNOWN verdict), and the audit
    # command's "nothing could be checked" (click's own exception, for its exit code 2), and a
    # bulk batch with a row that cannot be written (the batch is written again row by row).
    "certreg.issuer.bulk._RowError",
    "certreg.issuer.bulk._Conflict",
    "certreg.verifier.status._Unknown",
    "certreg.issuer.cli.audit._CannotCheck",
    # Signals between the HTTP layer's own pieces (rate limits, body size), answered there.
    "certreg.register.web.ratelimit.LimitExceeded",
    "certreg.register.web.errors.BodyTooLarge",
    # The console's "nobody is signed in": answered with a redirect to the sign-in page.
    "certreg.issuer.console.web.SignInNeeded",
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


def _http_layer(path: str) -> bool:
    return "/http/" in path or "/web/" in path or "/console/" in path


def test_only_the_http_layers_give_errors_an_http_status() -> None:
    # A status code on a domain error is HTTP leaking into the domain: the lifecycle, the
    # verifier and the register say what went wrong; issuer.http.errors.status_of and the public
    # site's handlers say which status that is.
    carriers = []
    for name, cls in _own_exceptions().items():
        if _http_layer(inspect.getfile(cls)):
            continue
        source = inspect.getsource(cls)
        if "status =" in source or "status: int =" in source or "self.status" in source:
            carriers.append(name)
    # OAuth 2.0's error responses are HTTP responses by definition (RFC 6749 §5.2): the error
    # names its status as part of the protocol.
    assert carriers == ["certreg.issuer.sharing.OAuthError"], carriers


@pytest.mark.parametrize(
    "error, status",
    [
        ("Invalid", 422),
        ("Refused", 403),
        ("NotFound", 404),
        ("Conflict", 409),
        ("LifecycleError", 400),
    ],
)
def test_the_issuers_errors_map_to_their_http_status(error: str, status: int) -> None:
    from certreg.issuer import service
    from certreg.issuer.http.errors import status_of

    assert status_of(getattr(service, error)("a reason")) == status


def test_a_share_link_that_is_gone_is_410_and_one_that_never_was_is_404() -> None:
    from certreg.issuer.http.errors import status_of
    from certreg.issuer.register_push import RegisterBehind
    from certreg.issuer.sharing import ShareUnavailable

    assert status_of(ShareUnavailable("revoked", gone=True)) == 410
    assert status_of(ShareUnavailable("no such link")) == 404
    assert status_of(RegisterBehind("locked")) == 503

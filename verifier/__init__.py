"""certreg's verifier: is this person certified for this scope today, according to the body
that certified them?

Public API (everything else in this package is an implementation detail)::

    from verifier import Verifier, Verdict
    result = Verifier(trusted_issuers={"did:web:cb.example"}).verify_credential(data)
    result.verdict, result.summary, result.facts, result.checks, result.to_json()

- :class:`Verifier`, :func:`verify_credential`, :func:`verify_presentation`
- :class:`Verdict`, :class:`Check`, :class:`VerificationResult`, :class:`PresentationResult`
- :class:`CertificationFacts`, :class:`ScopeItem`, :class:`NormativeReference`
- :class:`DidResolver`, :class:`HttpFetcher`, :class:`FetchError`, :class:`StatusListCache`

Names are loaded lazily so that ``import verifier.statuslist`` (used by the issuer) does not
pull in the whole verifier.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Verifier": "verifier.verify",
    "verify_credential": "verifier.verify",
    "verify_presentation": "verifier.verify",
    "Verdict": "verifier.result",
    "Check": "verifier.result",
    "VerificationResult": "verifier.result",
    "PresentationResult": "verifier.result",
    "CertificationFacts": "verifier.facts",
    "ScopeItem": "verifier.facts",
    "NormativeReference": "verifier.facts",
    "DidResolver": "verifier.did",
    "HttpFetcher": "verifier.did",
    "FetchError": "verifier.did",
    "StatusListCache": "verifier.status",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'verifier' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])

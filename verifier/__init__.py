"""certreg's verifier: is this person certified for this scope today, according to the body
that certified them?

Public API (everything else in this package is an implementation detail)::

    from certreg.verifier import Verifier, Verdict
    result = Verifier(trusted_issuers={"did:web:cb.example"}).verify_credential(data)
    result.verdict, result.summary, result.facts, result.checks, result.to_json()

- :class:`Verifier`, :func:`verify_credential`, :func:`verify_presentation`
- :class:`Verdict`, :class:`Check`, :class:`VerificationResult`, :class:`PresentationResult`
- :class:`CertificationFacts`, :class:`ScopeItem`, :class:`NormativeReference`
- :class:`DidResolver`, :class:`HttpFetcher`, :class:`FetchError`, :class:`StatusListCache`

Signing (what an issuer needs: ``add_proof``, the cryptosuites, status list encoding, dates) is
the package's second public surface, :mod:`certreg.verifier.issuing`. ``certreg verify`` and
``certreg sign`` are :mod:`certreg.verifier.cli`.

Names are loaded lazily so that importing one module of the package (``certreg.verifier.cli``
for ``certreg verify --help``, ``certreg.verifier.issuing`` for the issuer) does not pull in the
whole verifier.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Verifier": "certreg.verifier.verify",
    "verify_credential": "certreg.verifier.verify",
    "verify_presentation": "certreg.verifier.verify",
    "Verdict": "certreg.verifier.result",
    "Check": "certreg.verifier.result",
    "VerificationResult": "certreg.verifier.result",
    "PresentationResult": "certreg.verifier.result",
    "CertificationFacts": "certreg.verifier.facts",
    "ScopeItem": "certreg.verifier.facts",
    "NormativeReference": "certreg.verifier.facts",
    "DidResolver": "certreg.verifier.did",
    "HttpFetcher": "certreg.verifier.did",
    "FetchError": "certreg.verifier.did",
    "StatusListCache": "certreg.verifier.status",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'certreg.verifier' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])

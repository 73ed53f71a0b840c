"""What an issuer needs from the verifier package to sign: certreg.verifier's second public
surface.

The first, :mod:`certreg.verifier`, answers "is this certificate genuine and in force?". This
one is for the other side, the code that makes what a verifier reads: the issuer, the audit log,
the benches. It names the few functions and types that code may rely on, so that the modules
behind them (``dataintegrity``, ``canonicalize``, ``statuslist``, ``dates``) stay free to
change. Signing lives in the verifier package because signing and verifying are one algorithm
run in two directions: vc-di-eddsa hashes the same canonical bytes either way, and one module
computing them for both keeps the two from drifting apart.

Signing (W3C Data Integrity, vc-di-eddsa v1.0):

- :func:`add_proof` – a new document carrying one more proof (a proof set, or a chain).
- :data:`CRYPTOSUITES` – the cryptosuites certreg signs with; ``eddsa-rdfc-2022`` first, the
  default and the only one most third-party verifiers read.
- :class:`Signer` – what :func:`add_proof` signs with: a ``verification_method`` and a
  ``sign(message) -> signature`` (``certreg.keys.KeyPair`` is one).
- :class:`ProofError` – a document that cannot be signed, or a proof that does not verify;
  ``reason`` says why in plain words.
- :func:`verify_proofs`, :class:`ProofCheck`, :data:`KeyLookup` – check the proofs of a
  document the issuer signed itself (the audit log's checkpoints), given a function from a
  proof to the public key it may be checked with.
- :func:`jcs` – JSON Canonicalization Scheme (RFC 8785) bytes, for hashes that must not
  depend on how JSON was spaced or ordered.

Bitstring Status Lists (W3C Bitstring Status List v1.0):

- :class:`Bitstring` – the list itself; ``encode()`` gives the ``encodedList`` value.
- :func:`status_list_credential` – an unsigned ``BitstringStatusListCredential``.
- :func:`status_list_entry` – the ``credentialStatus`` entry a credential carries.
- :data:`MIN_ENTRIES` – the spec's minimum list size, which is also its privacy floor.
- :data:`CERTIFICATE_STATUS_MESSAGES` – the status messages of certreg's certificate lists.
- :class:`StatusListError` – a bad list or entry, with the reason.

Dates, in the form credentials carry them (xsd:dateTime, UTC):

- :func:`format_datetime`, :func:`parse_datetime`, :func:`utc_now`.
"""

from __future__ import annotations

from certreg.verifier.canonicalize import jcs
from certreg.verifier.dataintegrity import (
    CRYPTOSUITES,
    KeyLookup,
    ProofCheck,
    ProofError,
    Signer,
    add_proof,
    verify_proofs,
)
from certreg.verifier.dates import format_datetime, parse_datetime
from certreg.verifier.did import utc_now
from certreg.verifier.statuslist import (
    CERTIFICATE_STATUS_MESSAGES,
    MIN_ENTRIES,
    Bitstring,
    StatusListError,
    status_list_credential,
    status_list_entry,
)

__all__ = [
    "CERTIFICATE_STATUS_MESSAGES",
    "CRYPTOSUITES",
    "MIN_ENTRIES",
    "Bitstring",
    "KeyLookup",
    "ProofCheck",
    "ProofError",
    "Signer",
    "StatusListError",
    "add_proof",
    "format_datetime",
    "jcs",
    "parse_datetime",
    "status_list_credential",
    "status_list_entry",
    "utc_now",
    "verify_proofs",
]

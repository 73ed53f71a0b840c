"""Guesses at the secrets in share and wallet URLs cost the guesser, never the holder.

Share tokens, offer and exchange ids, codes and access tokens are long random secrets, so
guessing one is hopeless; still, nobody may try them at will. A client's *failed* attempts
(an unknown token: 404, a refused code or access token) are counted per address
(issuer.http.ratelimit, ``attempt_rate``); past the limit it gets 429 with Retry-After
before its next attempt is even looked up. A holder using a good link never spends any.
Used by the holder's share pages (:mod:`issuer.http.holder`) and the wallets' protocols
(:mod:`issuer.http.wallet`).
"""

from __future__ import annotations

from fastapi import Request

from certreg.issuer.http.ratelimit import LimitExceeded, guards_of
from certreg.issuer.sharing import ShareUnavailable

__all__ = ["attempts_left", "failed_attempt"]


def attempts_left(request: Request) -> LimitExceeded | None:
    """None if the client may try a secret now; else the refusal (429) to answer with."""
    try:
        guards_of(request).check_attempts(request)
    except LimitExceeded as exc:
        return exc
    return None


def failed_attempt(request: Request, exc: Exception) -> None:
    """Count ``exc`` (a refused secret) against the client."""
    # A revoked or expired link was a good token: not a guess.
    if not isinstance(exc, ShareUnavailable) or not exc.gone:
        guards_of(request).failed_attempt(request)

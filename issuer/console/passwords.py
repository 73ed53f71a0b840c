"""Console passwords: Argon2id hashes, and which passwords are refused.

Hashing: Argon2id through libsodium (``nacl.pwhash.argon2id``), at OWASP's Password Storage
Cheat Sheet minimum for Argon2id: 19 MiB of memory (m=19456 KiB), 2 iterations, 1 lane
(libsodium's lanes are always 1). About 15 ms a hash on this project's machines. The stored
string (``$argon2id$v=19$m=19456,t=2,p=1$salt$hash``) carries its own parameters, so raising
them later still verifies old hashes; :func:`needs_rehash` tells when to store a new one.

Policy (NIST SP 800-63B §3.1.1.2): at least :data:`MIN_LENGTH` characters, at most
:data:`MAX_LENGTH`, no composition rules, and not a known common password. The list is the
20,000 most common passwords compiled by Royce Williams, as Django ships it
(``common-passwords.txt.gz``, BSD 3-Clause, see ``COMMON-PASSWORDS-LICENSE`` beside it). Few
of its entries are 12 characters long, so a password is also refused when it is one of them
with digits or symbols around it (``password1234!``) or repeated (``qwertyqwerty``), or when it
contains the person's own name or e-mail (the context-specific words 800-63B asks to check).

A password is never logged, never stored in clear and never put in an audit event.
"""

from __future__ import annotations

import gzip
import re
from functools import cache
from pathlib import Path

import nacl.exceptions
import nacl.pwhash.argon2id as argon2id

__all__ = [
    "MAX_LENGTH",
    "MEMLIMIT",
    "MIN_LENGTH",
    "OPSLIMIT",
    "hash_password",
    "needs_rehash",
    "password_problem",
    "verify_password",
]

MIN_LENGTH = 12
#: Long enough for any passphrase; bounded so that a megabyte of "password" costs nothing.
MAX_LENGTH = 256
#: OWASP's Argon2id minimum: m=19 MiB, t=2, p=1.
MEMLIMIT = 19456 * 1024
OPSLIMIT = 2

_LIST = Path(__file__).with_name("common-passwords.txt.gz")
_AROUND = re.compile(r"^[\d\W_]*(.*?)[\d\W_]*$")


@cache
def _common() -> frozenset[str]:
    with gzip.open(_LIST, "rt", encoding="utf-8") as f:
        return frozenset(line.strip() for line in f if line.strip())


def _is_common(password: str) -> bool:
    common = _common()
    text = password.strip().lower()
    core = _AROUND.match(text)
    candidates = {text, core.group(1) if core else text}
    for word in list(candidates):
        for size in range(1, len(word) // 2 + 1):  # one word repeated: "qwertyqwerty"
            if len(word) % size == 0 and word[:size] * (len(word) // size) == word:
                candidates.add(word[:size])
                break
    return any(c in common for c in candidates if c)


def password_problem(password: str, *, personal: tuple[str, ...] = ()) -> str | None:
    """Why ``password`` is refused, in words for the person choosing it; None if accepted.
    ``personal``: the person's name and e-mail, which a password must not contain."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        return f"a password has at least {MIN_LENGTH} characters (a few words make a good one)"
    if len(password) > MAX_LENGTH:
        return f"a password has at most {MAX_LENGTH} characters"
    if _is_common(password):
        return "this password is on a list of common passwords that attackers try first"
    lowered = password.lower()
    for word in personal:
        for part in re.split(r"[\s@.]+", word.lower()):
            if len(part) >= 4 and part in lowered:
                return "a password must not contain your own name or e-mail"
    return None


def hash_password(password: str) -> str:
    return argon2id.str(password.encode("utf-8"), opslimit=OPSLIMIT, memlimit=MEMLIMIT).decode()


#: Verified against when the login name is unknown, so that an unknown name costs as much time
#: as a wrong password (no account enumeration by timing).
_DUMMY = hash_password("certreg: no such account, nothing to find here")


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (an Argon2id string); with ``stored`` None, the
    same work is done against a dummy hash and False returned."""
    if not isinstance(password, str) or len(password) > MAX_LENGTH:
        password = ""
    try:
        ok = argon2id.verify((stored or _DUMMY).encode(), password.encode("utf-8"))
    except nacl.exceptions.InvalidkeyError:
        ok = False
    return ok and stored is not None


def needs_rehash(stored: str) -> bool:
    return f"$m={MEMLIMIT // 1024},t={OPSLIMIT},p=1$" not in stored

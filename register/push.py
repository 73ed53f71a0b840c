"""What the public register shows, and writing it into register.db.

Pure functions over plain dicts: the issuer (``issuer/register_push.py``) reads its private
database and passes the rows in; this module picks the public fields *by name* (a field not
named here never reaches register.db, whatever the issuer's rows carry) and writes them. The
import runs issuer -> register, never back: register.db's side knows nothing of issuer.db.

Publication, per the scheme's *current* policy (a new scheme version that changes the policy
moves every certification of the scheme at once) and the holder's consent:

- ``directory``: a row in ``certifications`` (+ ``certification_scope``, ``status_history``);
  ``holder_name`` and ``country`` only if the holder consented to be listed;
- ``number_lookup``: one row in ``lookup``: an index derived from the number, and the public
  record (holder's name included: whoever has the number is checking a claim by that holder)
  sealed with a SecretBox key derived from the number; both derivations are slow (Argon2id)
  and keyed by a secret that is not in register.db (see "Numbers and sealing" below);
- ``on_request``: nothing at all.

Every write of a certification first deletes whatever the register held for that number, in
every table, so a policy or consent change can never leave a stale copy behind.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import operator
import os
import re
import sqlite3
import stat
import threading
import weakref
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.secret
import nacl.utils
from nacl.pwhash import argon2id
from sqlite_utils import Database
from stdnum.iso7064 import mod_37_36

from certreg.keys.errors import CertregError
from certreg.verifier.standing import Policy

__all__ = [
    "KDF_MEMLIMIT",
    "KDF_OPSLIMIT",
    "LOOKUP_SECRET_ENV",
    "POLICIES",
    "LegacyLookup",
    "LookupKey",
    "LookupKeyError",
    "PublicCertification",
    "SealError",
    "applied_seq",
    "applying",
    "body_row",
    "checkpoint_row",
    "facet_contributions",
    "find",
    "find_sealed",
    "forget_removed_text",
    "key_row",
    "lookup_key",
    "new_lookup_secret",
    "normalise",
    "number_hash",
    "plausible_number",
    "public_certification",
    "read_lookup_secret",
    "refresh_facets",
    "remember_lookup_secret",
    "scheme_row",
    "scope_item_rows",
    "seal",
    "set_applied_seq",
    "set_lookup_key",
    "status_history",
    "touch",
    "transaction",
    "unseal",
    "write_body",
    "write_certifications",
    "write_checkpoints",
    "write_scheme",
    "writing_key",
]

#: The publication policies, in the order the one status vocabulary declares them.
POLICIES = tuple(policy.value for policy in Policy)

log = logging.getLogger("certreg.register")

# The status each decision leaves; the others (scope changes, recertification, correction)
# leave the status as it was.
_STATUS_AFTER = {
    "grant": "ACTIVE",
    "suspend": "SUSPENDED",
    "reinstate": "ACTIVE",
    "withdraw": "WITHDRAWN",
    "expire": "EXPIRED",
}

# --------------------------------------------------------------------------------------------
# Numbers and sealing
#
# A number_lookup record is found by an index and opened by a key that both come from the
# certificate number through a slow, salted, keyed derivation:
#
#   stretched = Argon2id(number, salt = H(secret), opslimit, memlimit)
#   index     = BLAKE2b(stretched, key = secret, person = "certreg-lookup")   (hex, the row key)
#   seal key  = BLAKE2b(stretched, key = secret, person = "certreg-seal-v2")  (SecretBox)
#
# ``secret`` (the "pepper", 32 random bytes) lives on the issuer's side and in the public
# site's serving configuration, never in register.db: without it, a copy of the file gives no
# way to test a guessed number at all (a 256-bit key stands between the guess and the index).
# With it (a replica's configuration stolen), every guess still costs one Argon2id run. The
# public parameters (costs, and an 8-byte id of the secret so that a reader picks the right
# one) are in ``register_meta.lookup_kdf``. Registers written before this (unkeyed SHA-256)
# carry no ``lookup_kdf``: they are still read (:class:`LegacyLookup`), and the issuer
# rebuilds them (issuer/register_push.py).

#: Argon2id costs of a new register: ~8 ms and 16 MiB per guess on a 2-core Xeon (measured in
#: docs/register-operator.md). Memory, not only time, so that GPUs gain little.
KDF_OPSLIMIT = 2
KDF_MEMLIMIT = 16 * 1024 * 1024
#: The environment variable naming the secret's file on a replica (``certreg publish``'s
#: README tells the operator to set it).
LOOKUP_SECRET_ENV = "CERTREG_LOOKUP_SECRET_FILE"
LOOKUP_KDF_META = "lookup_kdf"
SECRET_BYTES = 32

_SEAL_PERSON = b"certreg-seal-v1"  # legacy registers: the key is not the lookup hash
_CACHE_SIZE = 20_000  # > the 5,000 numbers a rebuild or a scheme push derives at once


class SealError(CertregError, ValueError):
    """A sealed record could not be opened: wrong number, or damaged."""


class LookupKeyError(CertregError, ValueError):
    """The lookup secret is missing, unreadable or not the register's."""


def normalise(number: str) -> str:
    """As the issuer stores numbers: upper case, white space removed."""
    # str.split() splits at exactly the characters ``\s`` matches (str.isspace), in C.
    return "".join(number.split()).upper()


class LookupKey:
    """The keyed, slow derivation of a register's number_lookup index and sealing key."""

    def __init__(
        self, secret: bytes, *, opslimit: int = KDF_OPSLIMIT, memlimit: int = KDF_MEMLIMIT
    ) -> None:
        if not isinstance(secret, bytes) or len(secret) != SECRET_BYTES:
            raise LookupKeyError(f"a lookup secret is {SECRET_BYTES} bytes")
        if not (
            argon2id.OPSLIMIT_MIN <= opslimit <= argon2id.OPSLIMIT_MAX
            and argon2id.MEMLIMIT_MIN <= memlimit <= 1024 * 1024 * 1024
        ):
            raise LookupKeyError(f"Argon2id costs out of range: {opslimit}, {memlimit}")
        self._secret = secret
        self.opslimit = opslimit
        self.memlimit = memlimit
        self.key_id = _keyed(b"", secret, b"certreg-lk-id", 8).hex()
        self._salt = _keyed(b"", secret, b"certreg-lk-salt", argon2id.SALTBYTES)
        self._cache: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never the secret
        return (
            f"LookupKey(key_id={self.key_id!r}, opslimit={self.opslimit}, memlimit={self.memlimit})"
        )

    def meta(self) -> str:
        """What register.db may hold about this key: public parameters, no secret."""
        return json.dumps(
            {
                "kdf": "argon2id+blake2b-keyed",
                "version": 2,
                "opslimit": self.opslimit,
                "memlimit": self.memlimit,
                "key_id": self.key_id,
            },
            sort_keys=True,
        )

    def derive(self, number: str) -> tuple[str, bytes]:
        """(index, sealing key) of ``number``: one Argon2id run, remembered for the next
        :data:`_CACHE_SIZE` numbers (a page viewed twice, a certification pushed again)."""
        number = normalise(number)
        with self._lock:
            found = self._cache.get(number)
            if found is not None:
                self._cache.move_to_end(number)
                return found
        # The lock is not held here: Argon2id releases the GIL, so threads derive in parallel
        # (a bulk push of many numbers). The public site's callers bound their own concurrency.
        stretched = argon2id.kdf(
            32,
            number.encode("utf-8"),
            self._salt,
            opslimit=self.opslimit,
            memlimit=self.memlimit,
        )
        found = (
            _keyed(stretched, self._secret, b"certreg-lookup", 32).hex(),
            _keyed(stretched, self._secret, b"certreg-seal-v2", nacl.secret.SecretBox.KEY_SIZE),
        )
        with self._lock:
            self._cache[number] = found
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return found

    def index(self, number: str) -> str:
        return self.derive(number)[0]

    def seal_key(self, number: str) -> bytes:
        return self.derive(number)[1]


class LegacyLookup:
    """How registers before ``lookup_kdf`` were written (unsalted SHA-256 of the number):
    read only, so that a replica serving an old bundle keeps answering until it is replaced.
    The issuer never writes this form again."""

    key_id = "legacy-sha256"

    def derive(self, number: str) -> tuple[str, bytes]:
        number = normalise(number)
        return (
            hashlib.sha256(number.encode("utf-8")).hexdigest(),
            hashlib.blake2b(
                number.encode("utf-8"),
                digest_size=nacl.secret.SecretBox.KEY_SIZE,
                person=_SEAL_PERSON,
            ).digest(),
        )

    def index(self, number: str) -> str:
        return self.derive(number)[0]

    def seal_key(self, number: str) -> bytes:
        return self.derive(number)[1]


AnyLookupKey = LookupKey | LegacyLookup


def _keyed(data: bytes, key: bytes, person: bytes, size: int) -> bytes:
    return hashlib.blake2b(data, key=key, person=person, digest_size=size).digest()


# The secrets this process knows, by key id: the issuer adds its own when it opens its
# register; a replica reads the file that $CERTREG_LOOKUP_SECRET_FILE names.
_secrets: dict[str, bytes] = {}
_secrets_lock = threading.Lock()
_env_loaded: str | None = None


def new_lookup_secret() -> bytes:
    return nacl.utils.random(SECRET_BYTES)


def remember_lookup_secret(secret: bytes) -> str:
    """Make ``secret`` available to this process's readers and writers; returns its key id."""
    key_id = LookupKey(secret).key_id
    with _secrets_lock:
        _secrets[key_id] = secret
    return key_id


def read_lookup_secret(path: str | Path) -> bytes:
    """The secret in ``path`` (64 hex digits). A file others may read is refused: the secret
    is what keeps the number_lookup names out of reach of whoever copies register.db."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise LookupKeyError(f"cannot read the lookup secret file {path}: {exc}") from None
    if mode & stat.S_IROTH or mode & stat.S_IWOTH or mode & stat.S_IWGRP:
        raise LookupKeyError(
            f"the lookup secret file {path} is readable or writable by others "
            f"(mode {stat.S_IMODE(mode):04o}): chmod 600 (or 640 for a serving group)"
        )
    if not re.fullmatch(r"[0-9a-f]{64}", text):
        raise LookupKeyError(f"{path} does not hold a lookup secret (64 hexadecimal digits)")
    return bytes.fromhex(text)


def _load_env_secret() -> None:
    global _env_loaded
    name = os.environ.get(LOOKUP_SECRET_ENV)
    if not name or name == _env_loaded:
        return
    _env_loaded = name
    try:
        remember_lookup_secret(read_lookup_secret(name))
    except LookupKeyError as exc:
        log.error("%s: %s", LOOKUP_SECRET_ENV, exc)


def lookup_key_from_meta(meta: str | None) -> AnyLookupKey | None:
    """The key a register's ``lookup_kdf`` value names: :class:`LegacyLookup` when there is
    none, None when this process does not hold the secret (or the value is not ours)."""
    if meta is None:
        return LegacyLookup()
    try:
        params = json.loads(meta)
        key_id, ops, mem = params["key_id"], int(params["opslimit"]), int(params["memlimit"])
    except (ValueError, TypeError, KeyError):
        return None
    with _secrets_lock:
        secret = _secrets.get(key_id)
    if secret is None:
        _load_env_secret()
        with _secrets_lock:
            secret = _secrets.get(key_id)
    if secret is None:
        return None
    return _key_for(secret, ops, mem)


@functools.lru_cache(maxsize=16)
def _key_for(secret: bytes, opslimit: int, memlimit: int) -> LookupKey:
    """One LookupKey (and so one cache of derived numbers) per secret and costs."""
    return LookupKey(secret, opslimit=opslimit, memlimit=memlimit)


def register_meta(conn: sqlite3.Connection | Database, key: str) -> str | None:
    conn = conn.conn if isinstance(conn, Database) else conn
    try:
        row = conn.execute("SELECT value FROM register_meta WHERE key = ?", [key]).fetchone()
    except sqlite3.OperationalError:  # not a register (no such table)
        return None
    return None if row is None else row[0]


def lookup_key(db: sqlite3.Connection | Database) -> AnyLookupKey | None:
    """The key to read (or write) this register's ``lookup`` rows with; None when this process
    lacks the register's secret."""
    return lookup_key_from_meta(register_meta(db, LOOKUP_KDF_META))


def writing_key(db: Database) -> LookupKey:
    key = lookup_key(db)
    if not isinstance(key, LookupKey):
        raise LookupKeyError(
            "register.db has no lookup key this process holds (open it with "
            "issuer.register_push.open_for_push, or rebuild it: `certreg register rebuild`)"
        )
    return key


def set_lookup_key(db: Database, key: LookupKey) -> None:
    """Record ``key``'s public parameters in register.db (a new, empty ``lookup`` only)."""
    conn = db.conn
    current = register_meta(conn, LOOKUP_KDF_META)
    if current == key.meta():
        return
    with transaction(conn):
        if conn.execute("SELECT EXISTS (SELECT 1 FROM lookup)").fetchone()[0]:
            raise LookupKeyError(
                "register.db's number_lookup rows were written with another key: rebuild it "
                "(`certreg register rebuild`)"
            )
        conn.execute(
            "INSERT INTO register_meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [LOOKUP_KDF_META, key.meta()],
        )


_SHAPE = re.compile(r"([A-Z0-9]{1,12})-([0-9A-Z]{4})-([0-9A-Z]{4})-([0-9A-Z])")


def plausible_number(number: str) -> bool:
    """Whether ``number`` has the shape of a certreg number with a matching check character
    (issuer.numbers): anything else was never issued, so no Argon2id run is spent on it."""
    m = _SHAPE.fullmatch(normalise(number))
    return m is not None and mod_37_36.is_valid("".join(m.groups()))


def number_hash(number: str, key: AnyLookupKey) -> str:
    """The ``lookup`` table's key for ``number``."""
    return key.index(number)


def seal(record: Mapping[str, Any], number: str, key: AnyLookupKey) -> str:
    """The record as JSON in a SecretBox (random nonce) under ``number``'s sealing key,
    base64."""
    data = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    box = nacl.secret.SecretBox(key.seal_key(number))
    return base64.b64encode(bytes(box.encrypt(data.encode("utf-8")))).decode("ascii")


def unseal(sealed: str, number: str, key: AnyLookupKey) -> dict[str, Any]:
    """Open what :func:`seal` sealed; :class:`SealError` for a wrong number or damaged data."""
    box = nacl.secret.SecretBox(key.seal_key(number))
    try:
        return json.loads(box.decrypt(base64.b64decode(sealed, validate=True)))
    except (nacl.exceptions.CryptoError, ValueError) as exc:
        raise SealError("this record does not open with that certificate number") from exc


def find_sealed(conn: sqlite3.Connection | Database, number: str) -> dict[str, Any] | None:
    """The ``lookup`` record of ``number``, opened; None when there is none, the number is
    not one certreg issues, or this process lacks the register's secret."""
    raw = conn.conn if isinstance(conn, Database) else conn
    if not plausible_number(number):
        return None
    if not raw.execute("SELECT EXISTS (SELECT 1 FROM lookup)").fetchone()[0]:
        return None  # no number_lookup scheme: spend nothing
    key = lookup_key(raw)
    if key is None:
        _warn_no_secret()
        return None
    with _derive_slots:  # anonymous lookups: at most this many Argon2id runs at once
        index = key.index(number)
    row = raw.execute("SELECT sealed FROM lookup WHERE number_hash = ?", [index]).fetchone()
    if row is None:
        return None
    try:
        return unseal(row[0], number, key)
    except SealError:
        return None


#: Lookups by number are anonymous: one Argon2id run at a time per process (one core), so that
#: a flood of made-up numbers cannot take the machine (docs/register-operator.md).
_derive_slots = threading.BoundedSemaphore(1)
_warned = False


def _warn_no_secret() -> None:
    global _warned
    if not _warned:
        _warned = True
        log.warning(
            "register.db has number_lookup records but this process does not hold their "
            "lookup secret: set %s to the file `certreg publish` told you to copy",
            LOOKUP_SECRET_ENV,
        )


def find(db: Database, number: str) -> dict[str, Any] | None:
    """The public record of a number, whatever its policy: the ``certifications`` row (with
    ``scope`` and ``history``), or the unsealed ``lookup`` record, or None."""
    number = normalise(number)
    conn = db.conn
    row = conn.execute("SELECT * FROM certifications WHERE number = ?", [number]).fetchone()
    if row is not None:
        cols = [d[0] for d in conn.execute("SELECT * FROM certifications LIMIT 0").description]
        record = dict(zip(cols, row, strict=True))
        record["scope"] = _rows(
            conn,
            "SELECT scope_code AS code, label, conditions, status, since "
            "FROM certification_scope WHERE number = ? ORDER BY scope_code",
            [number],
        )
        record["history"] = _rows(
            conn,
            "SELECT seq, effective_date, decided_at, decision, status, scope, valid_until "
            "FROM status_history WHERE number = ? ORDER BY seq",
            [number],
        )
        record["publication_policy"] = "directory"
        return record
    sealed = find_sealed(conn, number)
    if sealed is None:
        return None
    record = sealed
    record["publication_policy"] = "number_lookup"
    return record


def _rows(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    cols = [d[0] for d in cursor.description]
    return [dict(zip(cols, r, strict=True)) for r in cursor]


# --------------------------------------------------------------------------------------------
# Public rows from issuer data


@dataclass
class PublicCertification:
    """One certification as the public may see it, and where it goes."""

    number: str
    policy: str  # directory or number_lookup (on_request is never built)
    row: dict[str, Any]  # the certifications row
    scope: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """The whole public record, as sealed for ``lookup``."""
        return {**self.row, "scope": self.scope, "history": self.history}


def status_history(decisions: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per decision, in order (``seq``): dates, type and the status it left; for a
    decision that signed a credential, the scope and expiry that credential states (``signed``:
    a :class:`certreg.verifier.asof.SignedState`, given by the issuer; public on the
    certificate already). Reasons, evidence, details and the decision-maker stay in issuer.db."""
    out: list[dict[str, Any]] = []
    status = "ACTIVE"
    for seq, d in enumerate(decisions, 1):
        status = _STATUS_AFTER.get(d["type"], status)
        signed = d.get("signed")
        out.append(
            {
                "seq": seq,
                "effective_date": d["effective_date"],
                "decided_at": d["decided_at"],
                "decision": d["type"],
                "status": status,
                "scope": history_scope(signed.scope) if signed is not None else None,
                "valid_until": signed.until if signed is not None else None,
            }
        )
    return out


def history_scope(scope: Iterable[tuple[str, str | None]]) -> str:
    """A ``status_history`` row's ``scope``: JSON, one object per item held."""
    items = [{"code": code, "conditions": conditions} for code, conditions in scope]
    return _COMPACT_JSON.encode(items)


# json.dumps(..., ensure_ascii=False, separators=(",", ":")) builds this encoder on each call.
_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def public_certification(
    cert: Mapping[str, Any],
    holder: Mapping[str, Any],
    scheme: Mapping[str, Any],
    scope: Iterable[Mapping[str, Any]],
    decisions: Iterable[Mapping[str, Any]],
    offline_qr: str | None = None,
) -> PublicCertification | None:
    """The public view of a certification, or None when its scheme's policy is ``on_request``.

    ``cert``: the issuer's certifications row; ``holder``: the person (only ``full_name``,
    ``consent_publish`` and ``country`` are read); ``scheme``: ``id``, ``code``, ``name`` and
    ``publication_policy`` of the scheme's current version; ``scope``: ``code``, ``label``,
    ``conditions``, ``status``, ``since``; ``decisions``: ``type``, ``effective_date``,
    ``decided_at``, oldest first; ``offline_qr``: the certificate's offline QR payload (CR1
    text, issue 14), kept exactly where the holder's name is (the payload states the name).
    """
    policy = scheme["publication_policy"]
    if policy not in POLICIES:
        raise ValueError(f"unknown publication policy {policy!r}")
    if policy == "on_request":
        return None
    number = normalise(cert["number"])
    history = status_history(decisions)
    # "Last updated": the latest of the row's own change and the latest decision (a correction
    # changes the holder's name, not the certifications row).
    updated = max([cert["updated_at"], *(h["decided_at"] for h in history)])
    listed = bool(holder.get("consent_publish"))
    named = listed or policy == "number_lookup"
    row = {
        "number": number,
        "holder_name": holder["full_name"] if named else None,
        "scheme_id": scheme["id"],
        "scheme_code": scheme["code"],
        "scheme_name": scheme["name"],
        "status": cert["status"],
        "status_since": cert["status_since"],
        "valid_from": cert["valid_from"],
        "valid_until": cert["valid_until"],
        "country": holder.get("country") if listed else None,
        "updated_at": updated,
        # It carries the holder's name, signed: the same privacy as ``holder_name``.
        "offline_qr": offline_qr if named else None,
    }
    items = [
        {
            "code": s["code"],
            "label": s["label"],
            "conditions": s.get("conditions"),
            "status": s["status"],
            "since": s["since"],
        }
        for s in sorted(scope, key=lambda s: s["code"])
    ]
    return PublicCertification(number, policy, row, items, history)


def scheme_row(scheme: Mapping[str, Any], version: Mapping[str, Any]) -> dict[str, Any]:
    """``schemes`` row from the issuer's schemes row and the scheme's current version."""
    return {
        "id": scheme["id"],
        "code": scheme["code"],
        "name": version["name"],
        "version": version["version"],
        "description": version["description"],
        "prerequisites": version["prerequisites"],
        "process": version["process"],
        "appeals": version["appeals"],
        "normative_reference": version["normative_reference"],
        "normative_reference_url": version.get("normative_reference_url"),
        "validity_months": version["validity_months"],
        "recertification_rules": version["recertification_rules"],
        "publication_policy": version["publication_policy"],
        "accredited": int(bool(scheme["accredited"])),
        "updated_at": version["created_at"],
    }


def scheme_name_rows(
    scheme_id: str, names: Mapping[str, Mapping[str, str]]
) -> list[dict[str, Any]]:
    """``scheme_names`` rows from the current version's names in other languages
    (``{"de": {"name": ..., "description": ...}}``, as the issuer keeps them)."""
    return [
        {
            "scheme_id": scheme_id,
            "lang": lang,
            "name": entry["name"],
            "description": entry.get("description") or "",
        }
        for lang, entry in sorted(names.items())
    ]


def scope_item_rows(scheme_id: str, items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The scheme's catalogue as offered now (retired items are left out)."""
    return [
        {
            "scheme_id": scheme_id,
            "code": i["code"],
            "label": i["label"],
            "level": i.get("level"),
            "description": i.get("description") or "",
        }
        for i in items
        if not i.get("retired")
    ]


def body_row(body: Mapping[str, Any], updated_at: str) -> dict[str, Any]:
    return {
        "id": 1,
        "legal_name": body["legal_name"],
        "public_url": body["public_url"],
        "did": body["did"],
        "accreditation_body": body.get("accreditation_body"),
        "accreditation_number": body.get("accreditation_number"),
        "country": body.get("country"),
        "updated_at": updated_at,
    }


def key_row(key: Any) -> dict[str, Any]:
    """A ``keys.did.KeyRecord`` (or a dict with its fields): public key and dates only."""
    get = key.get if isinstance(key, Mapping) else lambda name: getattr(key, name)
    return {
        "id": get("id"),
        "public_key_multibase": get("public_multibase"),
        "created": get("created"),
        "expires": get("expires"),
        "revoked": get("revoked"),
    }


def checkpoint_row(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    return {k: checkpoint[k] for k in ("seq", "count", "head_hash", "at", "signed")}


# --------------------------------------------------------------------------------------------
# Facets: precomputed, because counting them over 1,000,000 rows per page view times out.


def facet_contributions(
    row: Mapping[str, Any], scope: Iterable[Mapping[str, Any]]
) -> list[tuple[str, str, str]]:
    """(facet, value, label) a ``certifications`` row counts towards. A scope item counts while
    it is held (``active``); its value is ``scheme_id/code``, codes being unique per scheme."""
    out = [
        ("scheme", row["scheme_id"], row["scheme_name"]),
        ("status", row["status"], row["status"]),
    ]
    if row.get("country"):
        out.append(("country", row["country"], row["country"]))
    out += [
        ("scope", f"{row['scheme_id']}/{s['code']}", s["label"])
        for s in scope
        if s["status"] == "active"
    ]
    return out


def _apply_facets(
    conn: sqlite3.Connection, delta: Counter[tuple[str, str]], labels: Mapping[tuple[str, str], str]
) -> None:
    changes = [(f, v, labels[(f, v)], n) for (f, v), n in delta.items() if n]
    if not changes:
        return
    conn.executemany(
        "INSERT INTO facet_counts (facet, value, label, count) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (facet, value) DO UPDATE SET count = count + excluded.count, "
        "label = excluded.label",
        changes,
    )
    conn.execute("DELETE FROM facet_counts WHERE count <= 0")


def refresh_facets(db: Database) -> None:
    """Recount every facet from ``certifications`` (after a rebuild; pushes keep them
    incrementally)."""
    conn = db.conn
    with transaction(conn):
        conn.execute("DELETE FROM facet_counts")
        conn.execute(
            "INSERT INTO facet_counts SELECT 'scheme', scheme_id, MAX(scheme_name), COUNT(*) "
            "FROM certifications GROUP BY scheme_id"
        )
        conn.execute(
            "INSERT INTO facet_counts SELECT 'status', status, status, COUNT(*) "
            "FROM certifications GROUP BY status"
        )
        conn.execute(
            "INSERT INTO facet_counts SELECT 'country', country, country, COUNT(*) "
            "FROM certifications WHERE country IS NOT NULL AND country != '' GROUP BY country"
        )
        conn.execute(
            "INSERT INTO facet_counts SELECT 'scope', c.scheme_id || '/' || s.scope_code, "
            "MAX(s.label), COUNT(*) FROM certification_scope s "
            "JOIN certifications c ON c.number = s.number WHERE s.status = 'active' "
            "GROUP BY c.scheme_id, s.scope_code"
        )


# --------------------------------------------------------------------------------------------
# Writing


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT (joins an outer one): readers see all of a push or none."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def touch(db: Database, at: str) -> None:
    db.conn.execute(
        "INSERT INTO register_meta (key, value) VALUES ('last_updated', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [at],
    )


def derive_all(key: LookupKey, numbers: Sequence[str]) -> None:
    """Derive ``numbers`` into ``key``'s cache, on every core (Argon2id releases the GIL): a
    bulk batch of number_lookup certificates costs ~8 ms each, not ~8 ms times the batch."""
    numbers = sorted(set(numbers))
    if len(numbers) < 4:
        for n in numbers:
            key.derive(n)
        return
    with ThreadPoolExecutor(max_workers=min(len(numbers), os.cpu_count() or 1)) as pool:
        list(pool.map(key.derive, numbers))


def write_certifications(
    db: Database,
    numbers: Iterable[str],
    publics: Mapping[str, PublicCertification | None],
    *,
    at: str,
    sealed_before: Iterable[str] = (),
) -> None:
    """Replace what the register holds for each of ``numbers`` by ``publics[number]`` (None or
    missing: nothing, e.g. ``on_request``), in one transaction, facet counts included.

    A ``lookup`` row is found only through its number's slow derivation, so it is derived for
    the numbers sealed now and for ``sealed_before`` (numbers whose scheme was number_lookup
    until this push: a policy change), not for every number pushed."""
    conn = db.conn
    numbers = sorted({normalise(n) for n in numbers})
    sealing = [
        n for n in numbers if (p := publics.get(n)) is not None and p.policy == "number_lookup"
    ]
    unsealing = sorted({normalise(n) for n in sealed_before} & set(numbers))
    key = writing_key(db) if sealing or unsealing else None
    if key is not None:
        derive_all(key, [*sealing, *unsealing])
    delta: Counter[tuple[str, str]] = Counter()
    labels: dict[tuple[str, str], str] = {}
    old_names: dict[str, str] = {}
    unlisted = False
    with transaction(conn):
        for chunk in _chunks(numbers, 500):
            marks = ",".join("?" * len(chunk))
            # What these rows counted for until now comes off the facets.
            old_scope: dict[str, list[dict[str, Any]]] = {}
            for number, code, label, status in conn.execute(
                f"SELECT number, scope_code, label, status FROM certification_scope "
                f"WHERE number IN ({marks})",
                chunk,
            ):
                old_scope.setdefault(number, []).append(
                    {"code": code, "label": label, "status": status}
                )
            for old in _rows(
                conn,
                f"SELECT number, holder_name, scheme_id, scheme_name, status, country "
                f"FROM certifications WHERE number IN ({marks})",
                chunk,
            ):
                if old["holder_name"] is not None:
                    old_names[old["number"]] = old["holder_name"]
                for facet, value, label in facet_contributions(
                    old, old_scope.get(old["number"], [])
                ):
                    delta[(facet, value)] -= 1
                    labels.setdefault((facet, value), label)
            for table in ("certifications", "certification_scope", "status_history"):
                conn.execute(f"DELETE FROM {table} WHERE number IN ({marks})", chunk)
        if key is not None:
            conn.executemany(
                "DELETE FROM lookup WHERE number_hash = ?",
                [(key.index(n),) for n in sorted({*sealing, *unsealing})],
            )

        rows, scopes, histories, sealed = [], [], [], []
        for number in numbers:
            public = publics.get(number)
            if number in old_names:
                listed = (
                    public.row["holder_name"] if public and public.policy == "directory" else None
                )
                unlisted |= listed != old_names[number]
            if public is None:
                continue
            if public.policy == "number_lookup":
                assert key is not None  # derived above for every number sealed now
                sealed.append(
                    (
                        key.index(number),
                        seal(public.record(), number, key),
                        public.row["updated_at"],
                    )
                )
                continue
            rows.append(public.row)
            scopes += [
                (number, s["code"], s["label"], s["conditions"], s["status"], s["since"])
                for s in public.scope
            ]
            histories += [
                (
                    number,
                    h["seq"],
                    h["effective_date"],
                    h["decided_at"],
                    h["decision"],
                    h["status"],
                    h["scope"],
                    h["valid_until"],
                )
                for h in public.history
            ]
            for facet, value, label in facet_contributions(public.row, public.scope):
                delta[(facet, value)] += 1
                labels[(facet, value)] = label  # the new label wins (a renamed scheme)
        if rows:
            cols = list(rows[0])
            conn.executemany(
                f"INSERT INTO certifications ({', '.join(cols)}) "
                f"VALUES ({', '.join('?' * len(cols))})",
                list(map(operator.itemgetter(*cols), rows)),
            )
        conn.executemany(
            "INSERT INTO certification_scope (number, scope_code, label, conditions, status, "
            "since) VALUES (?, ?, ?, ?, ?, ?)",
            scopes,
        )
        conn.executemany(
            "INSERT INTO status_history (number, seq, effective_date, decided_at, decision, "
            "status, scope, valid_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            histories,
        )
        conn.executemany(
            "INSERT INTO lookup (number_hash, sealed, updated_at) VALUES (?, ?, ?)", sealed
        )
        _apply_facets(conn, delta, labels)
        touch(db, at)
    if unlisted:
        forget_removed_text(db)


# The issuer's watermark: the last audit event of issuer.db whose effects this register holds.
# Public and harmless (the published checkpoints already give the chain's length).
APPLIED_SEQ_META = "applied_event_seq"
#: What the issuer writes now; a register of another format (or none: written before the
#: watermark and the keyed lookup existed) is rebuilt by the issuer. 3: schemes' names in other
#: languages (``scheme_names``), which a register of format 2 lacks until rebuilt. 4: each
#: signing decision's scope and expiry in ``status_history`` (exact point-in-time answers).
#: 5: the certificates' offline QR payloads (``certifications.offline_qr`` and the sealed
#: records' ``"offline_qr"``), which a rebuild fills for the certificates pushed before.
FORMAT_META = "format"
REGISTER_FORMAT = "5"

_forget_after_commit: weakref.WeakSet[Database] = weakref.WeakSet()


def applied_seq(db: sqlite3.Connection | Database) -> int | None:
    value = register_meta(db, APPLIED_SEQ_META)
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def set_applied_seq(db: Database, seq: int) -> None:
    """Record that the register holds the effects of every issuer event up to ``seq`` (never
    moves back: two processes catching up at once both end at the later one)."""
    conn = db.conn
    with transaction(conn):
        conn.execute(
            "INSERT INTO register_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
            "SET value = CAST(MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER)) "
            "AS TEXT)",
            [APPLIED_SEQ_META, str(int(seq))],
        )


def set_format(db: Database) -> None:
    db.conn.execute(
        "INSERT INTO register_meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [FORMAT_META, REGISTER_FORMAT],
    )


@contextmanager
def applying(db: Database) -> Iterator[Database]:
    """One register transaction around several writes and the watermark: a reader (or a
    crash) sees all of a catch-up or none of it. What must happen outside a transaction (the
    write-ahead log checkpoint that drops a removed name's old pages) happens after it."""
    with transaction(db.conn):
        yield db
    if db in _forget_after_commit:
        _forget_after_commit.discard(db)
        forget_removed_text(db)


def forget_removed_text(db: Database) -> None:
    """After a name left the directory (consent withdrawn, policy changed, name corrected):
    make sure its bytes leave the file too, not only the tables. ``secure_delete`` (set by
    ``open_register``) zeroes deleted rows, but the full-text index keeps deleted terms in old
    segments until they are merged, and the write-ahead log keeps old pages until a checkpoint.
    Rare, so the cost (an index merge) is paid only then."""
    conn = db.conn
    if conn.in_transaction:  # inside `applying`: after its commit
        _forget_after_commit.add(db)
        return
    fts = db.table("certifications").detect_fts()  # register.fts names it; none in a bare register
    if fts:
        with transaction(conn):
            conn.execute(f"INSERT INTO [{fts}] ([{fts}]) VALUES ('optimize')")
    # Best effort: a reader still on an old snapshot keeps its frames until it moves on.
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def write_scheme(
    db: Database,
    row: Mapping[str, Any] | None,
    items: Sequence[Mapping[str, Any]],
    *,
    at: str,
    scheme_id: str | None = None,
    names: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Replace a scheme, its catalogue and its names in other languages (``scheme_name_rows``;
    ``row`` None: remove them)."""
    conn = db.conn
    scheme_id = row["id"] if row is not None else scheme_id
    with transaction(conn):
        conn.execute("DELETE FROM schemes WHERE id = ?", [scheme_id])
        conn.execute("DELETE FROM scope_items WHERE scheme_id = ?", [scheme_id])
        conn.execute("DELETE FROM scheme_names WHERE scheme_id = ?", [scheme_id])
        if row is not None:
            _insert(conn, "schemes", [row])
            _insert(conn, "scope_items", items)
            _insert(conn, "scheme_names", names)
        touch(db, at)


def write_body(
    db: Database, row: Mapping[str, Any], keys: Sequence[Mapping[str, Any]] | None, *, at: str
) -> None:
    """The body's row and (when given) its whole key history."""
    conn = db.conn
    with transaction(conn):
        conn.execute("DELETE FROM body")
        _insert(conn, "body", [row])
        if keys is not None:
            conn.execute("DELETE FROM issuer_keys")
            _insert(conn, "issuer_keys", keys)
        touch(db, at)


def write_logo(db: Database, logo: tuple[bytes, str, str] | None, *, at: str) -> None:
    """The body's logo as (image bytes, media type, SHA-256), or None when it has none; left
    alone when the register already holds that image."""
    conn = db.conn
    row = conn.execute("SELECT sha256 FROM body_logo WHERE id = 1").fetchone()
    if (row[0] if row else None) == (logo[2] if logo else None):
        return
    with transaction(conn):
        conn.execute("DELETE FROM body_logo")
        if logo is not None:
            data, media_type, sha256 = logo
            _insert(
                conn,
                "body_logo",
                [
                    {
                        "id": 1,
                        "media_type": media_type,
                        "data": data,
                        "sha256": sha256,
                        "updated_at": at,
                    }
                ],
            )
        touch(db, at)


def write_checkpoints(db: Database, rows: Sequence[Mapping[str, Any]]) -> None:
    """Add published checkpoints (they are immutable: an existing one is kept as it is)."""
    if not rows:
        return
    conn = db.conn
    with transaction(conn):
        cols = ("seq", "count", "head_hash", "at", "signed")
        conn.executemany(
            f"INSERT OR IGNORE INTO audit_checkpoints ({', '.join(cols)}) VALUES (?, ?, ?, ?, ?)",
            [tuple(r[c] for c in cols) for r in rows],
        )


def write_share_pages(db: Database, rows: Sequence[Mapping[str, Any]]) -> None:
    """Replace the share pages of ``rows`` (``register.shares``: id, sealed, expires_at,
    revoked_at, revoked_by, updated_at)."""
    if not rows:
        return
    conn = db.conn
    with transaction(conn):
        conn.executemany("DELETE FROM share_pages WHERE id = ?", [(r["id"],) for r in rows])
        _insert(conn, "share_pages", rows)


def write_issued_credentials(db: Database, rows: Sequence[Mapping[str, Any]]) -> None:
    """Record certificate credentials the body signed (``register.credentials``: id,
    proof_sha256); a credential is never unsigned, so rows are only added or replaced."""
    if not rows:
        return
    conn = db.conn
    with transaction(conn):
        conn.executemany(
            "INSERT OR REPLACE INTO issued_credentials (id, proof_sha256) VALUES (?, ?)",
            [(r["id"], r["proof_sha256"]) for r in rows],
        )


def _insert(conn: sqlite3.Connection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        return
    cols = list(rows[0])
    conn.executemany(
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        [tuple(r[c] for c in cols) for r in rows],
    )


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]

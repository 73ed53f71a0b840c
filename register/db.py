"""register.db: the public register. Public fields only, by construction.

The issuer *pushes* rows here (``issuer/register_push.py``); nothing flows back, and Datasette
is only ever given this file. What is not here cannot leak: no e-mail, birth date, address,
national id, score, attempt, refusal, internal note or token ever has a column in this schema,
and tests/register/test_register_privacy.py searches a populated register for them.

Publication follows each scheme's policy and the holder's consent (ISO/IEC 17024 §7.2 and the
scheme's own rules):

- ``directory``: holders who consented are listed by name in ``certifications`` (browsable,
  searchable); without consent their row is there with ``holder_name`` NULL, found by number;
- ``number_lookup``: nothing browsable. ``lookup`` holds, per certificate, an index derived
  from its number and the public record *sealed* (SecretBox) with a key derived from the
  number, both through Argon2id keyed by a secret that is not in this file
  (``register.push``, "Numbers and sealing"): without the secret, a copy of the file gives no
  way to test a guessed number; with it, each guess costs one Argon2id run. Only someone who
  already knows a number, asking a site that holds the secret, reads its row.
- ``on_request``: absent; the holder shares the certificate page through a link.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS body (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    legal_name TEXT NOT NULL,
    public_url TEXT NOT NULL,
    did TEXT NOT NULL,
    accreditation_body TEXT,
    accreditation_number TEXT,
    country TEXT,
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS schemes (       -- the current version of each scheme
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    description TEXT NOT NULL,
    prerequisites TEXT NOT NULL,
    process TEXT NOT NULL,
    appeals TEXT NOT NULL,
    normative_reference TEXT NOT NULL,
    normative_reference_url TEXT,
    validity_months INTEGER NOT NULL,
    recertification_rules TEXT NOT NULL,
    publication_policy TEXT NOT NULL,
    accredited INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS scheme_names (   -- the current version's name in other languages
    scheme_id TEXT NOT NULL,                  -- (the certificates keep schemes.name, signed)
    lang TEXT NOT NULL,                       -- en, de, fr, es (certreg.i18n.LANGUAGES)
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',     -- '' when none in that language
    PRIMARY KEY (scheme_id, lang)
);

CREATE TABLE IF NOT EXISTS scope_items (
    scheme_id TEXT NOT NULL,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    level TEXT,
    description TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (scheme_id, code)
);

CREATE TABLE IF NOT EXISTS certifications ( -- directory-policy schemes only
    number TEXT PRIMARY KEY,
    holder_name TEXT,                       -- NULL unless the holder consented to be listed
    scheme_id TEXT NOT NULL,
    scheme_code TEXT NOT NULL,
    scheme_name TEXT NOT NULL,
    status TEXT NOT NULL,                   -- ACTIVE, SUSPENDED, WITHDRAWN, EXPIRED
    status_since TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    country TEXT,
    updated_at TEXT NOT NULL,
    offline_qr TEXT                         -- the signed offline QR payload (CR1 text, issue
);                                          -- 14); NULL exactly where holder_name is
CREATE INDEX IF NOT EXISTS certifications_by_scheme ON certifications(scheme_id, status);

CREATE TABLE IF NOT EXISTS certification_scope (
    number TEXT NOT NULL,
    scope_code TEXT NOT NULL,
    label TEXT NOT NULL,
    conditions TEXT,
    status TEXT NOT NULL,                   -- active, removed
    since TEXT NOT NULL,
    PRIMARY KEY (number, scope_code)
);

CREATE TABLE IF NOT EXISTS status_history ( -- dated status changes, no reasons (they are private)
    number TEXT NOT NULL,
    seq INTEGER NOT NULL,                   -- 1, 2, ...: the order (decisions share seconds)
    effective_date TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    decision TEXT NOT NULL,                 -- grant, suspend, reinstate, withdraw, ...
    status TEXT NOT NULL,                   -- the status the decision left
    scope TEXT,                             -- a signing decision's scope, as its credential
                                            -- says: JSON [{"code", "conditions"}]; else NULL
    valid_until TEXT,                       -- a signing decision's date of expiry; else NULL
    PRIMARY KEY (number, seq)
);

CREATE TABLE IF NOT EXISTS lookup (         -- number_lookup-policy schemes: see module doc
    number_hash TEXT PRIMARY KEY,           -- keyed Argon2id index of the number (hex)
    sealed TEXT NOT NULL,                   -- base64 SecretBox of the public record (JSON)
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS issuer_keys (    -- the body's key history, as in its DID document
    id TEXT PRIMARY KEY,
    public_key_multibase TEXT NOT NULL,
    created TEXT NOT NULL,
    expires TEXT,
    revoked TEXT
);

CREATE TABLE IF NOT EXISTS audit_checkpoints (  -- the audit chain's signed checkpoints
    seq INTEGER PRIMARY KEY,
    count INTEGER NOT NULL,
    head_hash TEXT NOT NULL,
    at TEXT NOT NULL,
    signed TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS facet_counts (   -- precomputed: facets on 1,000,000 rows time out
    facet TEXT NOT NULL,                    -- scheme, status, scope, country
    value TEXT NOT NULL,
    label TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (facet, value)
);

CREATE TABLE IF NOT EXISTS share_pages (     -- holders' share links, sealed: see register.shares
    id TEXT PRIMARY KEY,                      -- SHA-256 of the link's token (hex)
    sealed BLOB,                              -- the page, sealed with the token; NULL once revoked
    expires_at TEXT,
    revoked_at TEXT,
    revoked_by TEXT,                          -- holder | body
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS issued_credentials ( -- every certificate credential the body signed
    id TEXT PRIMARY KEY,                      -- the credential's id (urn:uuid:...)
    proof_sha256 TEXT NOT NULL                -- of its proof (register.credentials.proof_digest)
);

CREATE TABLE IF NOT EXISTS body_logo (     -- the body's logo (issuer.logo), printed on the PDF
    id INTEGER PRIMARY KEY CHECK (id = 1),
    media_type TEXT NOT NULL,                 -- image/png | image/jpeg
    data BLOB NOT NULL,
    sha256 TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS register_meta (  -- last_updated, format, applied_event_seq (the
    key TEXT PRIMARY KEY,                     -- issuer's watermark), lookup_kdf (no secret)
    value TEXT NOT NULL
);
"""


def open_register(path: str | Path, *, create: bool = False) -> Database:
    """Open (or create) register.db with its schema; WAL, so the register's readers never wait
    for the issuer's pushes."""
    path = Path(path)
    if not create and not path.exists():
        raise FileNotFoundError(f"no register database at {path}")
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA busy_timeout = 30000")
    # A name that leaves the register (consent withdrawn, policy changed) is overwritten with
    # zeros in the file, not only unlinked from its table.
    conn.execute("PRAGMA secure_delete = ON")
    conn.executescript(SCHEMA)
    _add_missing_columns(conn)
    return Database(conn)


#: Columns added to a table after its first release: ``CREATE TABLE IF NOT EXISTS`` leaves an
#: older file's table as it was, so they are added here (NULL in the rows already there, until
#: the issuer's rebuild of an older format fills them).
_ADDED_COLUMNS = {
    "certifications": {"offline_qr": "TEXT"},
    "status_history": {"scope": "TEXT", "valid_until": "TEXT"},
}


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    for table, columns in _ADDED_COLUMNS.items():
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns.items():
            if name not in have:
                try:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
                except sqlite3.OperationalError:  # read-only file, or another writer won
                    if name not in {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}:
                        raise

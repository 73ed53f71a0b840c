"""issuer.db: the certification body's private system of record (SQLite through sqlite-utils).

One file, one writer at a time (SQLite's own lock; ``busy_timeout`` makes a second writer wait
rather than fail), WAL so that readers never block the writer, foreign keys on. The schema is
built by numbered migrations, each applied once inside a transaction and recorded in
``schema_migrations``; a database newer than this code is refused rather than guessed at.

What is immutable is enforced by the database itself, not only by the code: decisions and
events can be neither updated nor deleted (triggers), because ISO/IEC 17024 history is never
edited; an appeal is a new decision. The audit chain (``issuer.audit``) additionally detects
edits made to the file behind SQLite's back.

Private data lives here and only here: the public register receives, from the issuer, the
public fields it may show (``register/``, issue 4).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from certreg.keys.errors import CertregError

__all__ = ["SCHEMA_VERSION", "IssuerDbError", "connect", "migrate", "transaction"]


class IssuerDbError(CertregError):
    """The database cannot be used (missing, newer than this code, corrupt)."""


def connect(path: str | Path, *, create: bool = False) -> Database:
    """Open issuer.db with the settings every connection must have."""
    path = Path(path)
    if not create and not path.exists():
        raise IssuerDbError(f"no issuer database at {path} (run `certreg init` first)")
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable at checkpoints, safe
    except sqlite3.DatabaseError as error:
        # The first statement is where SQLite reads the file's header: a file that is not a
        # database (a wrong path, a damaged copy) fails here, before any change.
        conn.close()
        raise IssuerDbError(
            f"{path} is not a readable SQLite database ({error}); restore it from a backup"
        ) from error
    db = Database(conn)
    migrate(db)
    return db


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """BEGIN IMMEDIATE ... COMMIT: take the write lock up front, so that two writers queue
    instead of one failing half-way with SQLITE_BUSY; roll back on any exception."""
    conn = db.conn
    if conn.in_transaction:  # nested use joins the outer transaction
        yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# --------------------------------------------------------------------------------------------
# Migrations. Append only: never edit one that has shipped.

_IMMUTABLE = """
CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} are immutable: record a new one instead'); END;
CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} are immutable: record a new one instead'); END;
"""

_V1 = """
CREATE TABLE body (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    legal_name TEXT NOT NULL,
    public_url TEXT NOT NULL,              -- https base of the body's public service
    did TEXT NOT NULL,
    did_method TEXT NOT NULL CHECK (did_method IN ('web', 'key')),
    accreditation_body TEXT,
    accreditation_number TEXT,
    country TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE schemes (
    id TEXT PRIMARY KEY,                   -- short stable slug, e.g. 'cwi'
    code TEXT NOT NULL,                    -- humanCode shown on certificates, e.g. 'CWI'
    accredited INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE scheme_versions (
    scheme_id TEXT NOT NULL REFERENCES schemes(id),
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,             -- public description
    prerequisites TEXT NOT NULL DEFAULT '',
    process TEXT NOT NULL DEFAULT '',      -- assessment process, public
    appeals TEXT NOT NULL DEFAULT '',      -- appeals and complaints, public
    normative_reference TEXT NOT NULL,     -- e.g. 'ISO 9712:2021'
    normative_reference_url TEXT,
    validity_months INTEGER NOT NULL CHECK (validity_months > 0),
    recertification_rules TEXT NOT NULL DEFAULT '',
    recertification_window_months INTEGER NOT NULL DEFAULT 6,
    max_suspension_days INTEGER NOT NULL CHECK (max_suspension_days > 0),
    publication_policy TEXT NOT NULL
        CHECK (publication_policy IN ('directory', 'number_lookup', 'on_request')),
    effective_from TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (scheme_id, version)
);

CREATE TABLE scope_items (
    scheme_id TEXT NOT NULL REFERENCES schemes(id),
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    level TEXT,
    description TEXT NOT NULL DEFAULT '',
    retired INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (scheme_id, code)
);

CREATE TABLE persons (                     -- private data: never leaves issuer.db
    id TEXT PRIMARY KEY,
    external_id TEXT UNIQUE,
    full_name TEXT NOT NULL,
    email TEXT,
    birth_date TEXT,
    address TEXT,
    national_id TEXT,
    country TEXT,
    consent_publish INTEGER NOT NULL DEFAULT 0,  -- holder agreed to be listed by name
    notes TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE staff (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT,
    roles TEXT NOT NULL DEFAULT '',        -- comma-separated: officer, decision_maker, admin
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);

CREATE TABLE assessments (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES persons(id),
    scheme_id TEXT NOT NULL REFERENCES schemes(id),
    scheme_version INTEGER NOT NULL,
    kind TEXT NOT NULL DEFAULT 'examination',
    result TEXT NOT NULL CHECK (result IN ('pass', 'fail', 'absent')),
    score REAL,
    assessed_on TEXT NOT NULL,
    scope_codes TEXT NOT NULL DEFAULT '',  -- comma-separated scope items assessed
    notes TEXT,
    created_at TEXT NOT NULL,
    FOREIGN KEY (scheme_id, scheme_version) REFERENCES scheme_versions(scheme_id, version)
);

-- Who trained or examined whom: a decision-maker found here for the candidate is refused.
CREATE TABLE involvements (
    person_id TEXT NOT NULL REFERENCES persons(id),
    staff_id TEXT NOT NULL REFERENCES staff(id),
    role TEXT NOT NULL CHECK (role IN ('examiner', 'trainer')),
    assessment_id TEXT REFERENCES assessments(id),
    recorded_at TEXT NOT NULL
);
CREATE INDEX involvements_by_person ON involvements(person_id, staff_id);

CREATE TABLE certifications (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,           -- stable for life, non-sequential, check character
    person_id TEXT NOT NULL REFERENCES persons(id),
    scheme_id TEXT NOT NULL REFERENCES schemes(id),
    scheme_version INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'SUSPENDED', 'WITHDRAWN', 'EXPIRED')),
    cycle INTEGER NOT NULL DEFAULT 1,      -- recertification cycle
    valid_from TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    status_since TEXT NOT NULL,
    suspended_until TEXT,                  -- deadline of the current suspension
    external_id TEXT UNIQUE,               -- idempotency key of bulk issuance
    updated_at TEXT NOT NULL,
    FOREIGN KEY (scheme_id, scheme_version) REFERENCES scheme_versions(scheme_id, version)
);
CREATE INDEX certifications_by_person ON certifications(person_id);
CREATE INDEX certifications_by_status ON certifications(status, valid_until);

CREATE TABLE certification_scope (
    certification_id TEXT NOT NULL REFERENCES certifications(id),
    scope_code TEXT NOT NULL,
    conditions TEXT,
    status TEXT NOT NULL CHECK (status IN ('active', 'removed')),
    since TEXT NOT NULL,
    PRIMARY KEY (certification_id, scope_code)
);

CREATE TABLE decisions (                   -- immutable (triggers below)
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL CHECK (type IN ('grant', 'suspend', 'reinstate', 'withdraw',
        'reduce_scope', 'extend_scope', 'recertify', 'correct', 'expire')),
    certification_id TEXT REFERENCES certifications(id),
    person_id TEXT NOT NULL REFERENCES persons(id),
    scheme_id TEXT NOT NULL REFERENCES schemes(id),
    decided_by TEXT REFERENCES staff(id),  -- NULL only for 'expire', the automatic one
    decided_at TEXT NOT NULL,
    effective_date TEXT NOT NULL,
    evidence TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    details TEXT NOT NULL DEFAULT '{}',    -- JSON: scope changes, deadline, corrected fields
    appeal_of TEXT REFERENCES decisions(id),
    CHECK (decided_by IS NOT NULL OR type = 'expire')
);
CREATE INDEX decisions_by_certification ON decisions(certification_id, decided_at);

CREATE TABLE status_lists (
    id TEXT PRIMARY KEY,                   -- e.g. 'revocation-1'
    purpose TEXT NOT NULL CHECK (purpose IN ('revocation', 'suspension')),
    entries INTEGER NOT NULL,
    allocated INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 0,    -- latest published version
    created_at TEXT NOT NULL
);

CREATE TABLE status_entries (              -- an index is allocated once, ever
    list_id TEXT NOT NULL REFERENCES status_lists(id),
    idx INTEGER NOT NULL,
    credential_id TEXT NOT NULL,
    value INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (list_id, idx)
) WITHOUT ROWID;

CREATE TABLE status_list_versions (        -- every published version, kept
    list_id TEXT NOT NULL REFERENCES status_lists(id),
    version INTEGER NOT NULL,
    credential TEXT NOT NULL,              -- the signed BitstringStatusListCredential (JSON)
    valid_from TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    published_at TEXT NOT NULL,
    PRIMARY KEY (list_id, version)
);

CREATE TABLE credentials (
    id TEXT PRIMARY KEY,                   -- the credential's own id (urn:uuid:...)
    certification_id TEXT REFERENCES certifications(id),  -- NULL for VC API issuance
    revision INTEGER NOT NULL,
    decision_id TEXT REFERENCES decisions(id),
    document TEXT NOT NULL,                -- the signed credential (JSON)
    cryptosuite TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('current', 'superseded', 'revoked')),
    revocation_list TEXT, revocation_index INTEGER,
    suspension_list TEXT, suspension_index INTEGER,
    issued_at TEXT NOT NULL,
    state_changed_at TEXT NOT NULL
);
CREATE INDEX credentials_by_certification ON credentials(certification_id, state);

CREATE TABLE events (                      -- the audit chain (issuer.audit); immutable
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT,
    subject TEXT,
    payload TEXT NOT NULL,                 -- canonical JSON
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);

CREATE TABLE checkpoints (                 -- signed statements of the chain's head
    seq INTEGER PRIMARY KEY,               -- events.seq of the head
    count INTEGER NOT NULL,
    head_hash TEXT NOT NULL,
    at TEXT NOT NULL,
    signed TEXT NOT NULL                   -- the signed checkpoint document (JSON)
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    staff_id TEXT NOT NULL REFERENCES staff(id),
    token_hash TEXT NOT NULL UNIQUE,       -- sha256 of the secret; the secret is never stored
    roles TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT,
    last_used_at TEXT
);

-- Refusals (e.g. a decision-maker who examined the candidate) are logged as events, not
-- as decisions: a refused attempt decided nothing.
"""

_V1 += _IMMUTABLE.format(table="decisions") + _IMMUTABLE.format(table="events")


# v2: publishing a list reads only its set bits; this partial index halves the time
# (issuer.statuslists names it with INDEXED BY when it exists; measured 10-14 ms -> 5 ms).
# Checkpoints are as immutable as the events they sign; and the audit log is read by subject
# and by kind (issuer.audit.events).
_V2 = """
CREATE INDEX status_entries_set ON status_entries(list_id, idx) WHERE value != 0;
CREATE INDEX events_by_subject ON events(subject, seq);
CREATE INDEX events_by_kind ON events(kind, seq);
""" + _IMMUTABLE.format(table="checkpoints")

# v3: holder sharing (issuer.sharing). Every secret is stored as its SHA-256 only: the share
# token, the OID4VCI offer id, pre-authorized code and access token, and the VC API exchange id.
_V3 = """
CREATE TABLE share_links (
    id TEXT PRIMARY KEY,                   -- public id, for listing and revoking
    certification_id TEXT NOT NULL REFERENCES certifications(id),
    token_hash TEXT NOT NULL UNIQUE,       -- sha256 of the share token (the URL's secret)
    exchange_hash TEXT NOT NULL UNIQUE,    -- sha256 of the VC API exchange id (derived)
    created_at TEXT NOT NULL,
    created_by TEXT,                       -- staff id, or NULL (command line)
    expires_at TEXT,                       -- NULL: until revoked
    revoked_at TEXT,
    revoked_by TEXT CHECK (revoked_by IN ('holder', 'body'))
);
CREATE INDEX share_links_by_certification ON share_links(certification_id, created_at);

CREATE TABLE oid4vci_offers (              -- one pre-authorized code each; single use
    id TEXT PRIMARY KEY,                   -- public row id (the offer secret derives from it)
    share_id TEXT NOT NULL REFERENCES share_links(id),
    offer_hash TEXT NOT NULL UNIQUE,       -- sha256 of the offer id in credential_offer_uri
    code_hash TEXT NOT NULL UNIQUE,        -- sha256 of the pre-authorized code
    created_at TEXT NOT NULL,
    code_expires_at TEXT NOT NULL,
    code_used_at TEXT,
    token_hash TEXT UNIQUE,                -- sha256 of the access token it was exchanged for
    token_expires_at TEXT,
    token_used_at TEXT
);
CREATE INDEX oid4vci_offers_by_share ON oid4vci_offers(share_id, created_at);
"""

# v4: staff identities that cannot be borrowed (issuer.staff, issuer.tokens).
# - settings: body-wide switches; 'four_eyes' (default on when absent).
# - staff.deactivated_at/by: deactivation is checked at every authentication.
# - role_requests: giving the decision_maker or admin role (or re-activating someone who holds
#   one) waits for a second admin's approval while the body has two or more active admins.
# - token_claims: an admin hands a staff member a one-time claim code instead of a secret; the
#   secret is minted when the code is redeemed and shown only to whoever redeems it. Under
#   four eyes the claim needs a second code, minted for the approving admin, so that no
#   single admin holds everything needed to redeem it. Codes: SHA-256 only.
# - api_tokens.made_with: the token that made a self-service token, so that revoking a token
#   obtained through a misused claim also revokes every token made with it.
_V4 = """
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

ALTER TABLE staff ADD COLUMN deactivated_at TEXT;
ALTER TABLE staff ADD COLUMN deactivated_by TEXT;

CREATE TABLE role_requests (
    id TEXT PRIMARY KEY,
    staff_id TEXT NOT NULL REFERENCES staff(id),
    action TEXT NOT NULL CHECK (action IN ('grant', 'reactivate')),
    role TEXT CHECK (role IS NULL OR role IN ('officer', 'decision_maker', 'admin')),
    requested_by TEXT REFERENCES staff(id),   -- NULL: the operator, at the command line
    requested_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'cancelled')),
    decided_by TEXT REFERENCES staff(id),
    decided_at TEXT,
    CHECK ((action = 'grant') = (role IS NOT NULL))
);
CREATE INDEX role_requests_by_state ON role_requests(state, requested_at);

ALTER TABLE api_tokens ADD COLUMN made_with TEXT;

CREATE TABLE token_claims (
    id TEXT PRIMARY KEY,
    staff_id TEXT NOT NULL REFERENCES staff(id),
    name TEXT NOT NULL,                       -- the name the token will have
    roles TEXT NOT NULL,
    lifetime_days INTEGER NOT NULL,
    code_hash TEXT NOT NULL UNIQUE,           -- sha256 of the code given to the creating admin
    created_by TEXT REFERENCES staff(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    needs_second INTEGER NOT NULL DEFAULT 0,  -- four eyes: a second admin's code is needed
    second_hash TEXT UNIQUE,                  -- sha256 of the approving admin's code
    approved_by TEXT REFERENCES staff(id),
    approved_at TEXT,
    claimed_at TEXT,
    token_id TEXT REFERENCES api_tokens(id),
    cancelled_at TEXT
);
CREATE INDEX token_claims_by_staff ON token_claims(staff_id, created_at);
"""


def _v5_message_lists(conn: sqlite3.Connection) -> None:
    """status_lists.purpose may be 'message' (a certificate's whole status in one 2-bit entry,
    issuer.statuslists). Only a CHECK constraint changes, which SQLite lets a migration edit in
    place (https://sqlite.org/lang_altertable.html#otheralter): rebuilding the table is not
    possible with foreign keys on, and status_entries and status_list_versions refer to it."""
    old = "CHECK (purpose IN ('revocation', 'suspension'))"
    new = "CHECK (purpose IN ('revocation', 'suspension', 'message'))"
    (sql,) = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'status_lists'"
    ).fetchone()
    if old not in sql:
        raise IssuerDbError("status_lists does not have the CHECK constraint migration 5 edits")
    (cookie,) = conn.execute("PRAGMA schema_version").fetchone()
    conn.execute("PRAGMA writable_schema = ON")
    try:
        conn.execute(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'status_lists'",
            (sql.replace(old, new),),
        )
        conn.execute(f"PRAGMA schema_version = {int(cookie) + 1}")  # others reload the schema
    finally:
        conn.execute("PRAGMA writable_schema = OFF")
    (ok,) = conn.execute("PRAGMA integrity_check").fetchone()
    if ok != "ok":
        raise IssuerDbError(f"migration 5 left issuer.db inconsistent: {ok}")


# V6: each share link's seal key (register.shares.seal_key, derived from the link's token), so
# that every push can seal the link's page again for the keyless public site when its
# certification changes; the token itself is not kept (share_links holds its SHA-256). Links
# made before V6 have none, and only the body's own server serves them.
_V6 = """
CREATE TABLE share_seal_keys (
    share_id TEXT PRIMARY KEY REFERENCES share_links(id),
    seal_key TEXT NOT NULL
);
"""


# V7: staff sign in to the console as themselves (issuer.console). Every secret is stored as a
# hash only: passwords as Argon2id strings, session ids, enrolment links and recovery codes as
# SHA-256 (they are long random values). The TOTP secret is kept as it is (RFC 6238 needs it
# to compute codes); issuer.db is the body's private file. ``totp_last_step``: the last time
# step accepted, so that a code is accepted once. ``console_failures``: failed sign-ins by
# the SHA-256 of the login name typed, whether or not it names anybody, so that lockout
# answers the same for unknown names.
_V7 = """
CREATE TABLE console_accounts (
    staff_id TEXT PRIMARY KEY REFERENCES staff(id),
    password_hash TEXT,
    totp_secret TEXT,
    totp_last_step INTEGER NOT NULL DEFAULT 0,
    enrolled_at TEXT,
    updated_at TEXT NOT NULL
);

CREATE TABLE console_recovery_codes (
    staff_id TEXT NOT NULL REFERENCES staff(id),
    code_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX console_recovery_codes_by_staff ON console_recovery_codes(staff_id);

CREATE TABLE console_enrolments (
    id TEXT PRIMARY KEY,
    staff_id TEXT NOT NULL REFERENCES staff(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_by TEXT REFERENCES staff(id),     -- NULL: the operator, at the command line
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    cancelled_at TEXT
);
CREATE INDEX console_enrolments_by_staff ON console_enrolments(staff_id, created_at);

CREATE TABLE console_sessions (
    id_hash TEXT PRIMARY KEY,                 -- sha256 of the cookie's random id
    staff_id TEXT NOT NULL REFERENCES staff(id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    client TEXT
);
CREATE INDEX console_sessions_by_staff ON console_sessions(staff_id);

CREATE TABLE console_failures (
    login_hash TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failed_at TEXT NOT NULL,
    locked_until TEXT
);
"""

# V8: what the staff console reads (issuer.console_data), fast at 1,000,000 certifications.
# - person_keys: a stable integer for each person (persons has a TEXT key, and its implicit
#   rowid may be renumbered by VACUUM); the console pages people in the order of this key.
# - person_search: the people's names, full-text indexed, folded for case and accents
#   (FTS5 unicode61, remove_diacritics 2), with prefix indexes for what is being typed. Private
#   data: it stays in issuer.db like the names themselves; the register push never reads it.
# - certification_counts: the dashboard's counts by scheme and status, kept by triggers, so
#   that the dashboard reads a few rows rather than counting a million.
# - indexes: e-mail (any case), a person's assessments and decisions, the suspensions by
#   deadline, the certifications by scheme and expiry (recertification windows), and
#   the audit log by time (with or without its kind).
_V8 = """
CREATE TABLE person_keys (
    n INTEGER PRIMARY KEY,
    person_id TEXT NOT NULL UNIQUE REFERENCES persons(id)
);
INSERT INTO person_keys (person_id) SELECT id FROM persons ORDER BY created_at, rowid;

CREATE VIRTUAL TABLE person_search USING fts5(
    full_name, tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);
INSERT INTO person_search (rowid, full_name)
    SELECT k.n, p.full_name FROM person_keys k JOIN persons p ON p.id = k.person_id;

CREATE TRIGGER persons_console_insert AFTER INSERT ON persons BEGIN
    INSERT INTO person_keys (person_id) VALUES (new.id);
    INSERT INTO person_search (rowid, full_name)
        VALUES ((SELECT n FROM person_keys WHERE person_id = new.id), new.full_name);
END;
CREATE TRIGGER persons_console_rename AFTER UPDATE OF full_name ON persons BEGIN
    DELETE FROM person_search WHERE rowid = (SELECT n FROM person_keys WHERE person_id = old.id);
    INSERT INTO person_search (rowid, full_name)
        VALUES ((SELECT n FROM person_keys WHERE person_id = new.id), new.full_name);
END;
CREATE TRIGGER persons_console_delete AFTER DELETE ON persons BEGIN
    DELETE FROM person_search WHERE rowid = (SELECT n FROM person_keys WHERE person_id = old.id);
    DELETE FROM person_keys WHERE person_id = old.id;
END;

CREATE TABLE certification_counts (
    scheme_id TEXT NOT NULL,
    status TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (scheme_id, status)
) WITHOUT ROWID;
INSERT INTO certification_counts (scheme_id, status, n)
    SELECT scheme_id, status, COUNT(*) FROM certifications GROUP BY scheme_id, status;

CREATE TRIGGER certifications_count_insert AFTER INSERT ON certifications BEGIN
    INSERT INTO certification_counts (scheme_id, status, n) VALUES (new.scheme_id, new.status, 1)
        ON CONFLICT (scheme_id, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER certifications_count_update AFTER UPDATE OF scheme_id, status ON certifications
WHEN old.scheme_id IS NOT new.scheme_id OR old.status IS NOT new.status BEGIN
    UPDATE certification_counts SET n = n - 1
        WHERE scheme_id = old.scheme_id AND status = old.status;
    INSERT INTO certification_counts (scheme_id, status, n) VALUES (new.scheme_id, new.status, 1)
        ON CONFLICT (scheme_id, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER certifications_count_delete AFTER DELETE ON certifications BEGIN
    UPDATE certification_counts SET n = n - 1
        WHERE scheme_id = old.scheme_id AND status = old.status;
END;

CREATE INDEX persons_by_email ON persons(email COLLATE NOCASE);
CREATE INDEX assessments_by_person ON assessments(person_id, assessed_on);
CREATE INDEX decisions_by_person ON decisions(person_id, decided_at);
CREATE INDEX certifications_suspended ON certifications(suspended_until)
    WHERE status = 'SUSPENDED';
CREATE INDEX certifications_by_scheme_expiry ON certifications(status, scheme_id, valid_until);
CREATE INDEX events_by_at ON events(at);
CREATE INDEX events_by_kind_at ON events(kind, at);
"""

# V9: the console's bulk-issuance jobs (issuer.console.bulk): the uploaded CSV itself (private
# data, like the rest of issuer.db; the register push never reads it) with its SHA-256, the
# preview made at upload, and the run's progress and outcome, so that a job outlives a restart
# of the server (a job left "running" by another process is shown as interrupted, to resume).
_V9 = """
CREATE TABLE console_bulk_jobs (
    id TEXT PRIMARY KEY,
    file_name TEXT NOT NULL,
    content BLOB NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    uploaded_by TEXT NOT NULL REFERENCES staff(id),
    uploaded_at TEXT NOT NULL,
    preview TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('uploaded', 'running', 'done', 'failed')),
    runner TEXT,
    confirmed_by TEXT REFERENCES staff(id),
    started_at TEXT,
    started_wall REAL,
    finished_at TEXT,
    rows_done INTEGER NOT NULL DEFAULT 0,
    rows_total INTEGER NOT NULL DEFAULT 0,
    issued INTEGER,
    skipped INTEGER,
    refused INTEGER,
    error TEXT,
    result TEXT
);
CREATE INDEX console_bulk_jobs_by_time ON console_bulk_jobs(uploaded_at);
"""

#: V10: scope catalogues under version control (ISO/IEC 17024 §8): each item records the scheme
#: version that added it and the one that retired it. Items that exist already came with
#: version 1; one retired before this migration is dated to the scheme's latest version (the
#: only version known to be without it).
_V10 = """
ALTER TABLE scope_items ADD COLUMN added_in_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE scope_items ADD COLUMN retired_in_version INTEGER;
UPDATE scope_items SET retired_in_version = (
    SELECT MAX(version) FROM scheme_versions v WHERE v.scheme_id = scope_items.scheme_id
) WHERE retired;
"""

#: V11: the holders' mail outbox (issuer.mail, docs/mail.md). A mail is queued in the transaction
#: of the decision it tells about, so that the two commit or roll back together; the worker
#: (``certreg mail send``) sends it later. One row per (audit event, recipient): the same event
#: never queues a second mail. The rendered parts are kept here, and only here (issuer.db holds
#: the holder's address already). The grant's share link is made by the worker when it sends,
#: never stored in clear (issuer.db keeps only the SHA-256 of a share token).
_V11 = """
CREATE TABLE mail_outbox (
    id INTEGER PRIMARY KEY,
    event_seq INTEGER NOT NULL REFERENCES events(seq),
    kind TEXT NOT NULL,                    -- what it tells: grant, suspend, reinstate, ...
    certification_id TEXT REFERENCES certifications(id),
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    text TEXT NOT NULL,
    html TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'sent', 'failed', 'bounced')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    share_id TEXT,                         -- the share link the worker made for this mail
    dedupe_key TEXT UNIQUE,                -- a reminder's: certification, cycle, days before
    UNIQUE (event_seq, recipient)
);
CREATE INDEX mail_outbox_due ON mail_outbox(next_attempt_at) WHERE state = 'queued';
CREATE INDEX mail_outbox_by_state ON mail_outbox(state, created_at);
"""

#: V12: holders unsubscribe from expiry reminders (issuer.mail.unsubscribe, docs/mail.md). A
#: reminder's unsubscribe link carries a token made when the mail is sent; only its SHA-256 is
#: kept (as for share links). An opt-out is per person, with its time; decisions still mail.
_V12 = """
CREATE TABLE mail_unsubscribe_tokens (
    token_hash TEXT PRIMARY KEY,           -- SHA-256 of the token, hex; never the token
    person_id TEXT NOT NULL REFERENCES persons(id),
    created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE mail_opt_outs (
    person_id TEXT PRIMARY KEY REFERENCES persons(id),
    opted_out_at TEXT NOT NULL             -- from expiry reminders (never from decisions)
) WITHOUT ROWID;
"""

#: V13: a holder's language (docs/mail.md): the mails to them are written in it. NULL means none
#: chosen: the body's default language (the ``default_language`` setting, else English). The
#: value is one of certreg.i18n.LANGUAGES, checked where it is written (a language added later
#: needs no migration).
_V13 = """
ALTER TABLE persons ADD COLUMN language TEXT;
"""

#: V14: a scheme version's name (and public description) in other languages of
#: ``certreg.i18n.LANGUAGES``, besides the one it is signed with (issue 12). The credential keeps
#: its signed name (``scheme_versions.name``); these are shown to readers of the register in
#: their language, where present. ``description`` '' means none in that language (the signed
#: description is shown).
_V14 = """
CREATE TABLE scheme_version_names (
    scheme_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    lang TEXT NOT NULL,                    -- one of certreg.i18n.LANGUAGES
    name TEXT NOT NULL CHECK (trim(name) != ''),
    description TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (scheme_id, version, lang),
    FOREIGN KEY (scheme_id, version) REFERENCES scheme_versions(scheme_id, version)
) WITHOUT ROWID;
"""


#: V15: the body's transparency log (issue 13, issuer.logwriter, docs/transparency.md). One
#: entry per lifecycle decision, appended in the decision's own transaction (``event_seq`` is
#: unique: an event is never logged twice); entries and checkpoints are immutable, like the
#: audit chain. Full tiles are kept once computed, with their roots (they never change). The
#: entries of decisions taken before this migration are appended by it, in audit order.
_V15 = """
CREATE TABLE tlog_entries (
    idx INTEGER PRIMARY KEY CHECK (idx >= 0),  -- the leaf's index: 0, 1, 2... no gap
    entry BLOB NOT NULL,                   -- certreg.verifier.tlog.entry.Entry, JCS bytes
    leaf_hash BLOB NOT NULL,               -- RFC 9162 leaf hash of entry
    event_seq INTEGER NOT NULL UNIQUE REFERENCES events(seq),
    credential TEXT,                       -- SHA-256 (hex) of the credential signed, if any
    at TEXT NOT NULL                       -- when the entry was appended
);
CREATE INDEX tlog_entries_by_credential ON tlog_entries(credential)
    WHERE credential IS NOT NULL;
CREATE TABLE tlog_checkpoints (            -- every checkpoint signed: they are history
    id INTEGER PRIMARY KEY,
    size INTEGER NOT NULL UNIQUE,
    root BLOB NOT NULL,
    note TEXT NOT NULL,                    -- the signed note, as served
    cosignatures TEXT NOT NULL DEFAULT '', -- witnesses' signature lines, appended when served
    signed_at TEXT NOT NULL
);
CREATE TABLE tlog_tiles (                  -- full hash tiles, made once, in order
    level INTEGER NOT NULL CHECK (level >= 0),
    idx INTEGER NOT NULL,
    data BLOB,                             -- the tile; NULL at level 0 (the entries' hashes)
    root BLOB NOT NULL,                    -- its subtree's hash: a hash of the level above
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE tlog_key (                    -- the log key's public half (the seed: KEYS/log)
    id INTEGER PRIMARY KEY CHECK (id = 1),
    origin TEXT NOT NULL,
    verifier_key TEXT NOT NULL,            -- C2SP signed-note verifier key string
    created_at TEXT NOT NULL
);
-- A checkpoint is never deleted nor changed; only witnesses' cosignatures are added to it.
CREATE TRIGGER tlog_checkpoints_no_update BEFORE UPDATE OF id, size, root, note, signed_at
ON tlog_checkpoints
BEGIN SELECT RAISE(ABORT, 'tlog_checkpoints are immutable: sign a new one instead'); END;
CREATE TRIGGER tlog_checkpoints_no_delete BEFORE DELETE ON tlog_checkpoints
BEGIN SELECT RAISE(ABORT, 'tlog_checkpoints are immutable: sign a new one instead'); END;
""" + _IMMUTABLE.format(table="tlog_entries")


def _v15_transparency_log(conn: sqlite3.Connection) -> None:
    for statement in _statements(_V15):
        conn.execute(statement)
    # Imported here: the log writer reads the lifecycle's tables, which this module creates.
    from certreg.issuer.logwriter import backfill

    backfill(conn)


#: V16: the witnesses the body's log submits its checkpoints to (issue 13,
#: issuer.logwitnesses, docs/transparency.md "The log's side"). One row per witness, by its key
#: name: the operator's configuration (URL, verifier key, may it be on a private address), the
#: size it last cosigned (a new checkpoint's consistency proof starts there) and what it answered
#: last, for ``certreg log status``.
_V16 = """
CREATE TABLE tlog_witnesses (
    name TEXT PRIMARY KEY,                 -- the witness's key name
    url TEXT NOT NULL,                     -- its submission prefix (<url>/add-checkpoint)
    verifier_key TEXT NOT NULL,            -- its note verifier key (cosignature/v1)
    allow_private INTEGER NOT NULL DEFAULT 0 CHECK (allow_private IN (0, 1)),
    added_at TEXT NOT NULL,
    cosigned_size INTEGER NOT NULL DEFAULT 0,  -- the size of the last checkpoint it cosigned
    cosigned_at TEXT,
    tried_at TEXT,                         -- the last submission: when, and what it answered
    tried_size INTEGER,
    ok INTEGER,
    status INTEGER,
    reason TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
"""


#: V17: each certificate credential's offline QR payload (issue 14, issuer.offline_qr,
#: certreg.verifier.offline.payload): the CR1 text, signed with the credential, by the same key,
#: in the same transaction. NULL for the VC API's generic credentials (not certificates) and for
#: certificates signed before this migration until ``certreg qr backfill`` signs theirs.
_V17 = """
ALTER TABLE credentials ADD COLUMN compact TEXT;
"""


#: Each migration is one SQL script (or, where SQL alone cannot say it, a function of the
#: connection), applied in one transaction.
MIGRATIONS: list[str | Callable[[sqlite3.Connection], None]] = [
    _V1,
    _V2,
    _V3,
    _V4,
    _v5_message_lists,
    _V6,
    _V7,
    _V8,
    _V9,
    _V10,
    _V11,
    _V12,
    _V13,
    _V14,
    _v15_transparency_log,
    _V16,
    _V17,
]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: Database) -> int:
    """Bring the schema to :data:`SCHEMA_VERSION`; return the version found before."""
    conn = db.conn
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    found = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]
    if found > SCHEMA_VERSION:
        raise IssuerDbError(
            f"issuer.db has schema version {found}, newer than this certreg ({SCHEMA_VERSION}): "
            "upgrade certreg"
        )
    for version in range(found + 1, SCHEMA_VERSION + 1):
        # Statement by statement: sqlite3's executescript would commit half-way.
        with transaction(db):
            step = MIGRATIONS[version - 1]
            if callable(step):
                step(conn)
            else:
                for statement in _statements(step):
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))",
                (version,),
            )
    return found


def _statements(script: str) -> list[str]:
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--") and not buffer.strip():
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements

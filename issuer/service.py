"""The certification body's lifecycle: ISO/IEC 17024 clause 9, enforced.

Every change of a certification is a :class:`Decision` by a named decision-maker who did not
train or examine the candidate (§9.4), except expiry, the one automatic transition. Each
decision runs in one SQLite transaction that also writes the signed credential (if any), the
status bits, the re-signed status list and the audit events: what the database says and what
verifiers are served never disagree (beyond the list's time-to-live in their caches).

    grant          -> ACTIVE      a new certification, number and credential
    suspend        -> SUSPENDED   suspension bit set; deadline <= the scheme's maximum
    reinstate      -> ACTIVE      suspension bit cleared
    withdraw       -> WITHDRAWN   revocation bit set on every credential; terminal
    reduce_scope   (ACTIVE)       new credential; the old one revoked (it claims too much)
    extend_scope   (ACTIVE)       new credential; the old one superseded (still true)
    recertify      (ACTIVE)       same number, next cycle, time left kept; old superseded
    correct        (ACTIVE/SUSP.) new revision with corrected text; old superseded
    expire         (automatic)    ACTIVE/SUSPENDED past validUntil -> EXPIRED

History is never edited: decisions are immutable rows (a database trigger refuses changes),
an appeal is a new decision that names the one it answers (``appeal_of``).

Status bits apply to every credential of a certification that is not revoked, superseded ones
included: a superseded credential still verifies, so it must also show a suspension.

The code lives in ``issuer/lifecycle/`` (see its module text), one module a responsibility:
the rules as pure functions, grants, the other decisions, credentials, reference data and
queries. This module assembles :class:`CertificationBody` from them and keeps every public
name where its importers find it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from certreg.issuer.db import connect, transaction
from certreg.issuer.lifecycle.decisions import Decisions
from certreg.issuer.lifecycle.errors import Conflict, Invalid, LifecycleError, NotFound, Refused
from certreg.issuer.lifecycle.grants import Grants
from certreg.issuer.lifecycle.records import (
    POLICIES,
    ROLES,
    Certification,
    Decision,
    GrantPlan,
    ScopeGrant,
    utc_now,
)
from certreg.issuer.lifecycle.reference import ReferenceData
from certreg.issuer.lifecycle.rules import add_months
from certreg.issuer.statuslists import DEFAULT_STATUS_FORM, STATUS_FORMS
from certreg.keys.did import did_web_from_url
from certreg.keys.store import KeyStore
from certreg.verifier.issuing import format_datetime

__all__ = [
    "POLICIES",
    "ROLES",
    "Certification",
    "CertificationBody",
    "Conflict",
    "Decision",
    "GrantPlan",
    "Invalid",
    "LifecycleError",
    "NotFound",
    "Refused",
    "ScopeGrant",
    "add_months",
    "utc_now",
]


class CertificationBody(Grants, Decisions, ReferenceData):
    """One certification body's system of record. Use :meth:`open` or :meth:`init`.

    Reference data from :class:`ReferenceData`, grants from :class:`Grants`, every other
    decision from :class:`Decisions`, reading from ``Queries``; the rules they check are the
    pure functions of ``issuer.lifecycle.rules``."""

    @classmethod
    def init(
        cls,
        data_dir: str | Path,
        *,
        legal_name: str,
        public_url: str,
        passphrase: str,
        did_method: str = "web",
        accreditation_body: str | None = None,
        accreditation_number: str | None = None,
        country: str | None = None,
        kdf: str = "moderate",
        clock: Callable[[], datetime] = utc_now,
        status_form: str = DEFAULT_STATUS_FORM,
    ) -> CertificationBody:
        """Create a new body: data folder, key store, issuer.db, first status lists.
        ``status_form`` is how its certificates carry their status (issuer.statuslists)."""
        if status_form not in STATUS_FORMS:
            raise Invalid(f"status_form must be one of {', '.join(STATUS_FORMS)}")
        data = Path(data_dir)
        if (data / "issuer.db").exists():
            raise Conflict(f"{data} already holds a certification body")
        public_url = public_url.rstrip("/")
        if not re.match(r"^https?://[^\s/]+", public_url):
            raise Invalid("public_url must be the https address of the body's public service")
        if did_method not in ("web", "key"):
            raise Invalid("did_method must be 'web' or 'key'")
        data.mkdir(parents=True, exist_ok=True, mode=0o700)
        data.chmod(0o700)  # private data lives here: owner only, whatever the umask
        controller = did_web_from_url(public_url) if did_method == "web" else "did:key"
        store = KeyStore.create(data / "keys", controller, passphrase, kdf=kdf)
        did = store.current().controller
        # Create the file 0600 before SQLite does (its -wal and -shm files copy its mode).
        os.close(os.open(data / "issuer.db", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        db = connect(data / "issuer.db", create=True)
        now = format_datetime(clock())
        with transaction(db):
            db.table("body").insert(
                {
                    "id": 1,
                    "legal_name": legal_name,
                    "public_url": public_url,
                    "did": did,
                    "did_method": did_method,
                    "accreditation_body": accreditation_body,
                    "accreditation_number": accreditation_number,
                    "country": country,
                    "created_at": now,
                }
            )
            db.table("settings").insert(
                {"key": "status_form", "value": status_form, "updated_at": now}
            )
        body = cls(db, signer_factory=lambda: store.load_signer(passphrase), clock=clock)
        with transaction(db):
            body.status_lists.ensure_lists()
            body._event("body_created", None, did, {"legal_name": legal_name, "did": did})
        # The transparency log's own key, made with the body so that its DID document lists
        # it from the start (issuer.logfiles; bodies made before the log: on first use).
        from certreg.issuer.logfiles import make_log_key

        make_log_key(db, data / "keys", passphrase)
        return body

    @classmethod
    def open(
        cls,
        data_dir: str | Path,
        *,
        passphrase: str | None = None,
        clock: Callable[[], datetime] = utc_now,
        cryptosuite: str = "eddsa-rdfc-2022",
    ) -> CertificationBody:
        """Open an existing body. Without a passphrase it can read but not sign."""
        data = Path(data_dir)
        db = connect(data / "issuer.db")
        factory = None
        if passphrase is not None:
            store = KeyStore(data / "keys")
            factory = lambda: store.load_signer(passphrase)  # noqa: E731
        return cls(db, signer_factory=factory, clock=clock, cryptosuite=cryptosuite)

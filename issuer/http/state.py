"""What the HTTP handlers share: the body, the lock that serialises its use, the key store,
the verifier behind ``/credentials/verify`` and ``/verify``, and the VC API's own issuer.

FastAPI runs plain ``def`` handlers on a thread pool, while a :class:`CertificationBody` holds
one SQLite connection whose transactions (and status-list manager) must be used by one thread
at a time: a second thread would silently join the first one's transaction. Every use of the
body therefore takes :attr:`AppState.lock`. Verification takes it only to read this body's own
status lists, never while fetching from other hosts.

The VC API's generic issuing (``POST /credentials/issue``) is off unless the operator turns it
on (``certreg serve --enable-vc-api-issuer``). When on, it signs as its own identity, never as
the body: a did:key whose Ed25519 key is made on first use and kept encrypted, under the same
passphrase, in a key store of its own inside the body's (``keys/vc-api/``). Certificates are
signed only by a decision (``issuer.service``); the verifier here accepts a certificate only
from the body's DID (``Verifier(certification_issuers=...)``), so nothing the VC API signs can
pass for one.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from sqlite_utils import Database

from certreg.issuer.db import connect
from certreg.issuer.http.ratelimit import bounded_fetcher
from certreg.issuer.logfiles import with_log_service
from certreg.issuer.service import CertificationBody, Refused
from certreg.issuer.statuslists import StatusListManager
from certreg.keys.did import did_web_to_url
from certreg.keys.keypair import KeyPair
from certreg.keys.store import META_FILE, KeyStore, KeyStoreError
from certreg.register.credentials import RecordedVerifier, proof_digest
from certreg.verifier import StatusListCache, Verifier
from certreg.verifier.did import DEFAULT_MAX_BYTES, DidResolver, FetchError, HttpFetcher
from certreg.verifier.issuing import MIN_ENTRIES, Signer

__all__ = ["VC_API_DB", "VC_API_KEYS", "VC_API_STATUS_PATH", "AppState", "VcApiIssuer", "state_of"]

#: The VC API issuer's key store, inside the body's key store directory.
VC_API_KEYS = "vc-api"
#: Its status lists and the credentials it issued, beside issuer.db.
VC_API_DB = "vc-api.db"
#: Where its status lists are served, under the body's public URL.
VC_API_STATUS_PATH = "/vc-api"


def _data_dir(body: CertificationBody) -> Path | None:
    row = body.db.execute("PRAGMA database_list").fetchone()
    return Path(row[2]).parent if row and row[2] else None


def _vc_api_did(key_store: KeyStore | None) -> str | None:
    if key_store is None or not (key_store.path / VC_API_KEYS / META_FILE).is_file():
        return None
    try:
        return KeyStore(key_store.path / VC_API_KEYS).current().controller
    except KeyStoreError:
        return None


def _vc_api_lists(
    body: CertificationBody, db: Database, did: str, signer: Signer
) -> StatusListManager:
    own = body.status_lists
    return StatusListManager(
        db,
        issuer_did=did,
        base_url=body.info["public_url"] + VC_API_STATUS_PATH,
        signer=signer,
        clock=body.clock,
        entries=own.entries,
        validity=own.validity,
        ttl_ms=own.ttl_ms,
        allow_small=own.entries < MIN_ENTRIES,
    )


class _NoSigner:
    """For reading the VC API's lists where its key is not unlocked: never signs."""

    verification_method = ""

    def sign(self, message: bytes) -> bytes:
        raise Refused("the VC API issuer's key is not unlocked here")


@dataclass(frozen=True)
class VcApiIssuer:
    """What ``POST /credentials/issue`` signs with: its own did:key and key, and its own
    status lists (served at ``/vc-api/status/{id}``, signed by that did:key, because a
    verifier accepts a credential's status only from a list its own issuer signed). They live
    in ``vc-api.db`` beside issuer.db (the same schema; only the status-list and credential
    tables are used), so the body's lists, and the register, never hold a VC API credential."""

    did: str
    signer: KeyPair
    db: Database
    status_lists: StatusListManager


@dataclass
class AppState:
    body: CertificationBody
    key_store: KeyStore | None
    passphrase: str | None
    unsafe_allow_http_hosts: tuple[str, ...] = ()
    #: ``POST /credentials/issue`` signs only when the operator turned it on.
    vc_api_issuer_enabled: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock)
    _verifier: Verifier | None = None
    _vc_api: VcApiIssuer | None = None
    _vc_api_db: Database | None = None

    @property
    def did(self) -> str:
        return self.body.status_lists.issuer_did

    @property
    def status_prefix(self) -> str:
        return self.body.status_lists.url("")

    def did_document(self) -> dict[str, Any] | None:
        """The body's did:web document, or None for a did:key body (or no key store)."""
        if self.key_store is None or not self.did.startswith("did:web:"):
            return None
        # With the transparency log's key, as a service entry (issuer.logfiles).
        return with_log_service(self.key_store.did_document(), self.body.db)

    # -- the VC API's own issuer -----------------------------------------------------------

    def vc_api_issuer(self) -> VcApiIssuer:
        """The VC API's own issuer (key, did:key, status lists), made on first use. Raises
        :class:`Refused` when there is no key store, passphrase or data folder to keep it in."""
        with self.lock:
            if self._vc_api is None:
                self._vc_api = self._open_vc_api_issuer()
            return self._vc_api

    def vc_api_lists(self) -> StatusListManager | None:
        """The VC API issuer's status lists, for serving and verifying them, without unlocking
        its key (they are re-signed only where the key is unlocked); None if it never issued."""
        with self.lock:
            if self._vc_api is not None:
                return self._vc_api.status_lists
            if self._vc_api_db is None:
                folder = _data_dir(self.body)
                if folder is None or not (folder / VC_API_DB).exists():
                    return None
                self._vc_api_db = connect(folder / VC_API_DB)
            did = _vc_api_did(self.key_store)
            if did is None:
                return None
            return _vc_api_lists(self.body, self._vc_api_db, did, _NoSigner())

    def _open_vc_api_issuer(self) -> VcApiIssuer:
        folder = _data_dir(self.body)
        if self.key_store is None or self.passphrase is None or folder is None:
            raise Refused(
                "the VC API issuer needs the body's data folder, key store and passphrase to "
                "keep its own key (certreg serve with --passphrase-file or $CERTREG_PASSPHRASE)"
            )
        path = self.key_store.path / VC_API_KEYS
        try:
            if not (path / META_FILE).is_file():
                # The same Argon2id profile as the body's own keys: same protection, same cost.
                meta = json.loads((self.key_store.path / META_FILE).read_text(encoding="utf-8"))
                KeyStore.create(path, "did:key", self.passphrase, kdf=meta.get("kdf", "moderate"))
            store = KeyStore(path)
            signer = store.load_signer(self.passphrase)
        except (KeyStoreError, OSError, ValueError) as exc:
            raise Refused(f"the VC API issuer's key could not be opened: {exc}") from None
        did = store.current().controller
        body_key = getattr(self.body.signer, "public_multibase", None)
        if did == self.did or signer.public_multibase == body_key:
            raise Refused("the VC API issuer's key is the body's own key; refusing to sign")
        if self._vc_api_db is None:
            db_path = folder / VC_API_DB
            if not db_path.exists():
                # 0600 before SQLite creates it, as issuer.db (its -wal/-shm copy the mode).
                os.close(os.open(db_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            self._vc_api_db = connect(db_path, create=True)
        lists = _vc_api_lists(self.body, self._vc_api_db, did, signer)
        lists.ensure_lists()
        return VcApiIssuer(did=did, signer=signer, db=self._vc_api_db, status_lists=lists)

    # -- verification ------------------------------------------------------------------

    @property
    def verifier(self) -> Verifier:
        if self._verifier is None:
            self._verifier = self._build_verifier()
        return self._verifier

    def reset_verifier(self) -> None:
        """After a key rotation: the resolver's cached copy of our DID document is stale."""
        self._verifier = None

    def _recorded(self, document: Mapping[str, Any]) -> bool:
        """``is_recorded`` for this body's verifier: a certificate of this body that verifies
        must also be one issuer.db holds (same id, same proof), or it was signed by the body's
        key without a decision (the VC API before issue 7, a hand-made signature, a stolen
        key). Only this body's own verify routes can know it; other verifiers rely on the
        status lists, the register and the certificate's page."""
        credential_id = document.get("id")
        if not isinstance(credential_id, str):
            return False
        with self.lock:
            row = self.body.db.execute(
                "SELECT document FROM credentials WHERE id = ? AND certification_id IS NOT NULL",
                [credential_id],
            ).fetchone()
        # The same proofs: a document re-signed with the body's key under a real id is not it.
        return row is not None and proof_digest(json.loads(row[0])) == proof_digest(document)

    def _build_verifier(self) -> Verifier:
        # A public service verifies what anyone submits: never let a credential's URLs make
        # it request this machine or its private network (HttpFetcher docs: SSRF).
        remote: Callable[[str], Any] = HttpFetcher(
            max_bytes=DEFAULT_MAX_BYTES,
            unsafe_allow_http_hosts=self.unsafe_allow_http_hosts,
            public_addresses_only=True,
        )
        remote_did: Callable[[str], Any] = HttpFetcher(
            unsafe_allow_http_hosts=self.unsafe_allow_http_hosts,
            accept="application/did+json, application/json",
            public_addresses_only=True,
        )
        # Other issuers' documents: bounded in values, and for a public verification in number
        # and time (issuer.http.ratelimit): the heavy input must not come in by the back door.
        remote, remote_did = bounded_fetcher(remote), bounded_fetcher(remote_did)
        own_did = self.did
        own_did_url = did_web_to_url(own_did) if own_did.startswith("did:web:") else None
        prefix = self.status_prefix

        def did_transport(url: str) -> bytes:
            # Our own DID document is read from the key store: the service need not be able
            # to reach its own public address (behind a proxy, or in tests).
            if url == own_did_url:
                document = self.did_document()
                if document is not None:
                    return json.dumps(document).encode()
            return remote_did(url)

        vc_api_prefix = self.body.info["public_url"] + VC_API_STATUS_PATH + "/status/"

        def status_fetcher(url: str) -> bytes | dict[str, Any]:
            if url.startswith(prefix):
                list_id = url[len(prefix) :]
                with self.lock:
                    listed = self.body.status_lists.latest(list_id) if "/" not in list_id else None
                if listed is None:
                    raise FetchError(f"{url} is not one of this body's status lists")
                return listed
            if url.startswith(vc_api_prefix):
                # The VC API issuer's lists, read fresh as ours are (signed by its did:key).
                list_id = url[len(vc_api_prefix) :]
                lists = self.vc_api_lists()
                with self.lock:
                    listed = lists.latest(list_id) if lists and "/" not in list_id else None
                if listed is None:
                    raise FetchError(f"{url} is not one of this service's status lists")
                return listed
            return remote(url)

        return RecordedVerifier(
            own_did=own_did,
            body_name=lambda: str(self.body.info["legal_name"]),
            is_recorded=self._recorded,
            trusted_issuers=None,
            # A certificate is this body's only if this body signed it (issue 7): not the VC
            # API's own issuer, not any other did:key that copies its contents.
            certification_issuers={own_did},
            resolver=DidResolver(
                did_transport, unsafe_allow_http_hosts=self.unsafe_allow_http_hosts
            ),
            status_fetcher=status_fetcher,
            status_cache=_ForeignListCache(prefix, vc_api_prefix),
        )


class _ForeignListCache(StatusListCache):
    """Caches other issuers' lists; never ours, which are read fresh from issuer.db so that a
    status change made a moment ago is what ``/credentials/verify`` reports."""

    def __init__(self, *own_prefixes: str) -> None:
        super().__init__()
        self._own = own_prefixes

    def put(self, url: str, credential: dict[str, Any], until: Any) -> None:
        if not url.startswith(self._own):
            super().put(url, credential, until)


def state_of(request: Request) -> AppState:
    return request.app.state.certreg

"""What the HTTP handlers share: the body, the lock that serialises its use, the key store,
and the verifier behind ``/credentials/verify``.

FastAPI runs plain ``def`` handlers on a thread pool, while a :class:`CertificationBody` holds
one SQLite connection whose transactions (and status-list manager) must be used by one thread
at a time: a second thread would silently join the first one's transaction. Every use of the
body therefore takes :attr:`AppState.lock`. Verification takes it only to read this body's own
status lists, never while fetching from other hosts.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from issuer.service import CertificationBody
from keys.did import did_web_to_url
from keys.store import KeyStore
from verifier import StatusListCache, Verifier
from verifier.did import DEFAULT_MAX_BYTES, DidResolver, FetchError, HttpFetcher

__all__ = ["AppState", "state_of"]


@dataclass
class AppState:
    body: CertificationBody
    key_store: KeyStore | None
    passphrase: str | None
    unsafe_allow_http_hosts: tuple[str, ...] = ()
    lock: threading.RLock = field(default_factory=threading.RLock)
    _verifier: Verifier | None = None

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
        return self.key_store.did_document()

    # -- verification ------------------------------------------------------------------

    @property
    def verifier(self) -> Verifier:
        if self._verifier is None:
            self._verifier = self._build_verifier()
        return self._verifier

    def reset_verifier(self) -> None:
        """After a key rotation: the resolver's cached copy of our DID document is stale."""
        self._verifier = None

    def _build_verifier(self) -> Verifier:
        # A public service verifies what anyone submits: never let a credential's URLs make
        # it request this machine or its private network (HttpFetcher docs: SSRF).
        remote = HttpFetcher(
            max_bytes=DEFAULT_MAX_BYTES,
            unsafe_allow_http_hosts=self.unsafe_allow_http_hosts,
            public_addresses_only=True,
        )
        remote_did = HttpFetcher(
            unsafe_allow_http_hosts=self.unsafe_allow_http_hosts,
            accept="application/did+json, application/json",
            public_addresses_only=True,
        )
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

        def status_fetcher(url: str) -> bytes | dict[str, Any]:
            if url.startswith(prefix):
                list_id = url[len(prefix) :]
                with self.lock:
                    listed = self.body.status_lists.latest(list_id) if "/" not in list_id else None
                if listed is None:
                    raise FetchError(f"{url} is not one of this body's status lists")
                return listed
            return remote(url)

        return Verifier(
            trusted_issuers=None,
            resolver=DidResolver(
                did_transport, unsafe_allow_http_hosts=self.unsafe_allow_http_hosts
            ),
            status_fetcher=status_fetcher,
            status_cache=_ForeignListCache(prefix),
        )


class _ForeignListCache(StatusListCache):
    """Caches other issuers' lists; never ours, which are read fresh from issuer.db so that a
    status change made a moment ago is what ``/credentials/verify`` reports."""

    def __init__(self, own_prefix: str) -> None:
        super().__init__()
        self._own = own_prefix

    def put(self, url: str, credential: dict[str, Any], until: Any) -> None:
        if not url.startswith(self._own):
            super().put(url, credential, until)


def state_of(request: Request) -> AppState:
    return request.app.state.certreg

"""What the public site's routes read: :class:`SiteState`, kept in ``app.state.certreg_site``.

The site reads register.db (or a bundle's ``public.db``) and, when it serves a bundle written by
``certreg publish``, the bundle's files: the DID document and the signed status lists. It never
reads issuer.db nor the key store: what it shows was pushed into register.db by the issuer.

A host application may lend it a few answers of its own (``certreg serve`` does, with issuer.db
at hand): the body's row before the first push (``fallback_body``), the verifier of ``/verify``
(``verifier_factory``, which also checks the body's records) and the date a status took effect
(``status_of``). Without them the site answers from register.db and the bundle alone.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request

from certreg.register.credentials import RecordedVerifier, register_lookup
from certreg.register.records import (
    BodyInfo,
    CertificateRecord,
    connect_readonly,
    find_certificate,
    read_body,
)
from certreg.register.web.ratelimit import bounded_fetcher
from certreg.verifier import StatusListCache, Verifier
from certreg.verifier.did import DEFAULT_MAX_BYTES, DidResolver, FetchError, HttpFetcher

__all__ = ["SiteState", "StatusLookup", "site_of"]

#: The date a certificate's status took effect: (status, since) by number, or None.
StatusLookup = Callable[[str], "tuple[str, str] | None"]


@dataclass
class SiteState:
    register_path: Path
    #: A bundle written by ``certreg publish``: the DID document and status lists come from it.
    bundle: Path | None = None
    unsafe_allow_http_hosts: tuple[str, ...] = ()
    fallback_body: Callable[[], BodyInfo | None] | None = None
    verifier_factory: Callable[[], Verifier] | None = None
    status_of: StatusLookup | None = None
    #: The ids of the status lists served at ``/status/<id>`` (``offline.json``): the host's
    #: own (``certreg serve``, from issuer.db); without it, the bundle's ``status/`` files.
    status_list_ids: Callable[[], list[str]] | None = None
    #: The site's clock (UTC): share links expire by it, the share page dates its status by it.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _verifier: Verifier | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: Each thread's read-only connection to register.db (see :meth:`connect`).
    _readers: threading.local = field(default_factory=threading.local, repr=False)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection to register.db, kept open for the calling thread.

        Opening one per request cost more than the certificate page's queries: SQLite reads
        and parses the whole schema (tables, full-text index, triggers) on a connection's
        first statement. A kept connection sees every commit all the same: each of its
        statements is a read transaction of its own, started when it runs. A file replaced
        under the same name (a register restored from a copy) is noticed by its inode and
        opened anew; a missing one raises, as opening it would."""
        yield self._reader().conn

    def _reader(self) -> _Reader:
        local = self._readers
        try:
            found = os.stat(self.register_path)
            identity: tuple[int, int] | None = (found.st_dev, found.st_ino)
        except OSError:
            identity = None
        reader: _Reader | None = getattr(local, "reader", None)
        if reader is not None and identity is not None and identity == reader.identity:
            return reader
        if reader is not None:
            local.reader = None
            reader.conn.close()
        local.reader = reader = _Reader(connect_readonly(self.register_path), identity)
        return reader

    def memo(self) -> dict[str, Any]:
        """This thread's cache of what was read from register.db, emptied when the file
        changes (e.g. the home page's filter choices)."""
        return self._reader().memo()

    def lookup(self, number: str) -> tuple[CertificateRecord | None, BodyInfo | None]:
        """The directory record of ``number`` (None when the directory does not hold it: look
        among the sealed records next) and the body, as register.db holds them now. The body's
        row and the schemes' are read once for as long as register.db does not change."""
        reader = self._reader()
        body = self._body(reader)
        schemes = reader.memo().setdefault("schemes", {})
        return find_certificate(reader.conn, number, sealed=False, schemes=schemes), body

    @staticmethod
    def _body(reader: _Reader) -> BodyInfo | None:
        memo = reader.memo()
        if "body" not in memo:
            memo["body"] = read_body(reader.conn)
        return memo["body"]

    def body(self) -> BodyInfo | None:
        """The body as register.db names it; the host's answer while nothing is pushed yet."""
        try:
            found = self._body(self._reader())
        except sqlite3.Error:
            found = None
        if found is None and self.fallback_body is not None:
            return self.fallback_body()
        return found

    # -- the bundle's files ------------------------------------------------------------

    def bundle_file(self, *parts: str) -> bytes | None:
        """A file of the bundle, or None (no bundle, no such file, or a path that leaves it)."""
        if self.bundle is None:
            return None
        root = self.bundle.resolve()
        path = root.joinpath(*parts).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            return None
        return path.read_bytes()

    def did_document(self) -> dict[str, Any] | None:
        data = self.bundle_file(".well-known", "did.json")
        return json.loads(data) if data is not None else None

    def status_list(self, list_id: str, version: int | None = None) -> dict[str, Any] | None:
        if version is None:
            data = self.bundle_file("status", list_id)
        else:
            data = self.bundle_file("status", "versions", list_id, str(version))
        return json.loads(data) if data is not None else None

    def published_status_lists(self) -> list[str]:
        """The ids of the status lists this site serves at ``/status/<id>``."""
        if self.status_list_ids is not None:
            return self.status_list_ids()
        if self.bundle is None:
            return []
        folder = self.bundle / "status"
        return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []

    # -- verification ----------------------------------------------------------------------

    @property
    def verifier(self) -> Verifier:
        with self._lock:
            if self._verifier is None:
                factory = self.verifier_factory or self._build_verifier
                self._verifier = factory()
            return self._verifier

    def certificate_status(self, number: str) -> tuple[str, str] | None:
        """(status, since) of one of the body's certificates, for the verify page's words."""
        if self.status_of is not None:
            return self.status_of(number)
        with self.connect() as conn:
            record = find_certificate(conn, number, sealed=False)
        return (record.status, record.status_since) if record is not None else None

    def _build_verifier(self) -> Verifier:
        """The verifier of a site with no issuer at hand: the body's own DID document and status
        lists are read from the bundle (fresh each time: a newer bundle may have replaced them),
        everything else fetched, bounded as for any anonymous verification. A certificate is
        the body's only if the body's DID signed it and register.db records it as issued
        (:mod:`register.credentials`)."""
        body = self.body()
        own_did = body.did if body is not None else ""
        public_url = body.public_url.rstrip("/") if body is not None else ""
        status_prefix = f"{public_url}/status/"
        remote = bounded_fetcher(
            HttpFetcher(
                max_bytes=DEFAULT_MAX_BYTES,
                unsafe_allow_http_hosts=self.unsafe_allow_http_hosts,
                public_addresses_only=True,
            )
        )
        remote_did = bounded_fetcher(
            HttpFetcher(
                unsafe_allow_http_hosts=self.unsafe_allow_http_hosts,
                accept="application/did+json, application/json",
                public_addresses_only=True,
            )
        )
        own_did_urls = {f"{public_url}/.well-known/did.json", f"{public_url}/did.json"}

        def did_transport(url: str) -> bytes:
            if url in own_did_urls:
                document = self.did_document()
                if document is not None:
                    return json.dumps(document).encode()
            return remote_did(url)

        def status_fetcher(url: str) -> bytes | dict[str, Any]:
            if public_url and url.startswith(status_prefix):
                list_id = url[len(status_prefix) :]
                listed = self.status_list(list_id) if "/" not in list_id else None
                if listed is None:
                    raise FetchError(f"{url} is not one of this body's status lists")
                return listed
            return remote(url)

        name = body.legal_name if body is not None else "The certification body"
        return RecordedVerifier(
            own_did=own_did,
            body_name=lambda: name,
            is_recorded=register_lookup(lambda: connect_readonly(self.register_path)),
            trusted_issuers=None,
            certification_issuers={own_did},
            resolver=DidResolver(
                did_transport, unsafe_allow_http_hosts=self.unsafe_allow_http_hosts
            ),
            status_fetcher=status_fetcher,
            status_cache=_ForeignListCache(status_prefix),
        )


class _ForeignListCache(StatusListCache):
    """Caches other issuers' lists, never the body's own (read from the bundle each time)."""

    def __init__(self, own_prefix: str) -> None:
        super().__init__()
        self._own = own_prefix

    def put(self, url: str, credential: dict[str, Any], until: Any) -> None:
        if not url.startswith(self._own):
            super().put(url, credential, until)


class _Reader:
    """One thread's connection to register.db (``identity``: the file's device and inode when
    opened), and what was read through it since register.db last changed."""

    def __init__(self, conn: sqlite3.Connection, identity: tuple[int, int] | None) -> None:
        self.conn = conn
        self.identity = identity
        self._version: int | None = None
        self._memo: dict[str, Any] = {}

    def memo(self) -> dict[str, Any]:
        """What was read since register.db last changed: emptied when it has. ``PRAGMA
        data_version`` changes on this connection whenever another connection (the push,
        a rebuild's checkpoint) commits to the file."""
        version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._version:
            self._version, self._memo = version, {}
        return self._memo


def site_of(request: Request) -> SiteState:
    return request.app.state.certreg_site

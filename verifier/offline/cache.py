"""The sync cache: what ``certreg sync`` fetched and checked, so that a QR payload verifies with
no network (:mod:`.verify`).

One folder per body, named after its DID, written whole by :func:`.sync.sync` and swapped in
by a rename (a sync that fails half way leaves the previous one in place)::

    DIR/<body>/sync.json        what was checked: the body, its keys, the lists and when each
                                was fetched (this module's format, below)
    DIR/<body>/offline.json     the body's /offline.json, as fetched
    DIR/<body>/did.json         its DID document (fetched for did:web, derived for did:key)
    DIR/<body>/lists/<n>.json   each status list credential, as fetched (signature verified)

``sync.json``::

    {"format": "certreg-offline-cache/1", "source": "https://cb.example/offline.json",
     "synced": "2026-11-28T18:00:00Z",
     "body": {"did": ..., "name": ..., "public_url": ...},
     "keys": [{"id": "did:web:cb.example#key-1", "kid": "0123456789abcdef",
               "publicKeyMultibase": "z6Mk...", "revoked": null, "expires": null}],
     "lists": {"https://cb.example/status/message-1":
               {"file": "lists/0.json", "fetched": "2026-11-28T18:00:01Z"}}}

The keys are those of the body's offline.json that its DID document also lists with the same
key material; ``revoked`` and ``expires`` are the DID document's. The cache is trusted as the
verifier's own files are: what is in it was checked when it was fetched.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from certreg.keys.multikey import MultikeyError, decode_public_key
from certreg.verifier.dates import format_datetime
from certreg.verifier.facts import parse_datetime

CACHE_FORMAT = "certreg-offline-cache/1"
SYNC_FILE = "sync.json"


@dataclass(frozen=True)
class SyncedKey:
    """One of a body's signing keys, as its DID document lists it."""

    id: str
    public_key: bytes  # raw Ed25519
    revoked: datetime | None = None
    expires: datetime | None = None

    @property
    def kid(self) -> bytes:
        from certreg.verifier.offline.payload import key_id

        return key_id(self.public_key)


@dataclass(frozen=True)
class SyncedList:
    """A status list credential as fetched (its signature was verified then), and when."""

    url: str
    path: Path
    fetched: datetime

    def read(self) -> dict[str, Any]:
        value = json.loads(self.path.read_bytes())
        if not isinstance(value, dict):
            raise ValueError(f"{self.path} is not a JSON object")
        return value


@dataclass(frozen=True)
class SyncedBody:
    """A body as the last sync found it."""

    did: str
    name: str
    public_url: str
    source: str
    synced: datetime
    folder: Path
    keys: tuple[SyncedKey, ...] = ()
    lists: dict[str, SyncedList] = field(default_factory=dict)

    def key(self, kid: bytes) -> list[SyncedKey]:
        return [k for k in self.keys if k.kid == kid]

    def to_json(self) -> dict[str, Any]:
        return {
            "did": self.did,
            "name": self.name,
            "public_url": self.public_url,
            "source": self.source,
            "synced": format_datetime(self.synced),
        }


@dataclass(frozen=True)
class Cache:
    """Every body synced into a folder; ``problems`` names the body folders that could not be
    read (a cache edited by hand, or written by another version)."""

    folder: Path
    bodies: tuple[SyncedBody, ...]
    problems: tuple[str, ...] = ()

    @classmethod
    def open(cls, folder: str | Path) -> Cache:
        root = Path(folder)
        bodies, problems = [], []
        if root.is_dir():
            for sync_file in sorted(root.glob(f"*/{SYNC_FILE}")):
                if sync_file.parent.name.startswith(".") or sync_file.parent.name.endswith(".old"):
                    continue  # a sync in progress, or the one it replaces
                try:
                    bodies.append(read_body(sync_file.parent))
                except (OSError, ValueError, KeyError, TypeError) as exc:
                    problems.append(f"{sync_file.parent.name}: {exc}")
        return cls(root, tuple(bodies), tuple(problems))

    def keys_for(self, kid: bytes) -> list[tuple[SyncedBody, SyncedKey]]:
        """Every synced (body, key) whose kid is ``kid`` (two at most in practice: the same
        body synced from two addresses)."""
        return [(body, key) for body in self.bodies for key in body.key(kid)]


def body_folder_name(did: str) -> str:
    """A folder name for a DID: readable, and distinct for distinct DIDs."""
    readable = re.sub(r"[^A-Za-z0-9.-]+", "_", did)[:60]
    return f"{readable}-{hashlib.sha256(did.encode()).hexdigest()[:8]}"


def _instant(value: Any, what: str) -> datetime | None:
    if value is None:
        return None
    moment = parse_datetime(value)
    if moment is None:
        raise ValueError(f"{what} {value!r} is not a date-time with a time zone")
    return moment


def read_body(folder: Path) -> SyncedBody:
    data = json.loads((folder / SYNC_FILE).read_bytes())
    if not isinstance(data, Mapping) or data.get("format") != CACHE_FORMAT:
        raise ValueError(f"{SYNC_FILE} is not a {CACHE_FORMAT} file")
    body = data["body"]
    keys = []
    for key in data["keys"]:
        try:
            raw = decode_public_key(key["publicKeyMultibase"])
        except MultikeyError as exc:
            raise ValueError(f"the key {key.get('id')!r}: {exc}") from None
        keys.append(
            SyncedKey(
                id=str(key["id"]),
                public_key=raw,
                revoked=_instant(key.get("revoked"), "revoked"),
                expires=_instant(key.get("expires"), "expires"),
            )
        )
    lists = {}
    for url, entry in data["lists"].items():
        fetched = _instant(entry["fetched"], "fetched")
        assert fetched is not None
        path = (folder / entry["file"]).resolve()
        if folder.resolve() not in path.parents:
            raise ValueError(f"the list file {entry['file']!r} is outside the body's folder")
        lists[str(url)] = SyncedList(str(url), path, fetched)
    synced = _instant(data["synced"], "synced")
    assert synced is not None
    return SyncedBody(
        did=str(body["did"]),
        name=str(body.get("name") or body["did"]),
        public_url=str(body.get("public_url") or ""),
        source=str(data["source"]),
        synced=synced,
        folder=folder,
        keys=tuple(keys),
        lists=lists,
    )


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)

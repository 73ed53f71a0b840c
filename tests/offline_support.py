"""Builders shared by the offline verification tests (tests/verifier/offline/, tests/interop
checks of CR1 payloads; no tests here): a certification body with real keys, its signed
message status list, its offline.json (docs/offline.md), and the CR1 payloads of its
certificates.

A body's files are served either through the designed injection point of ``sync`` (a
``fetch`` callable and a DID resolver over the same files: no network) or by a real HTTP server
on 127.0.0.1 (:func:`serve_files`).
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from certreg.issuer.credential import (
    Body,
    NormativeReference,
    Scheme,
    ScopeItem,
    certification_credential,
)
from certreg.keys.did import KeyRecord, build_did_web_document, did_key_verification_method
from certreg.keys.keypair import KeyPair
from certreg.verifier.dataintegrity import add_proof
from certreg.verifier.did import DidResolver
from certreg.verifier.offline import payload
from certreg.verifier.statuslist import (
    CERTIFICATE_STATUS_MESSAGES,
    Bitstring,
    status_list_credential,
    status_list_entry,
)

SIGNED_AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
SYNCED_AT = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)

SCHEME = Scheme(
    id="https://cb.example/schemes/cwi/1",
    code="CWI",
    name="Certified Welding Inspector",
    version="1",
    description="Inspection of fusion welds.",
    criteria="Examinations.",
    normative_reference=NormativeReference("ISO 9712:2021"),
)


def fixed_clock(moment: datetime = SYNCED_AT) -> Any:
    return lambda: moment


@dataclass
class OfflineBody:
    """A body publishing offline.json, its DID document and one message status list (2 bits
    per certificate: 0 valid, 1 suspended, 2 withdrawn) at ``public_url``."""

    public_url: str = "https://cb.example"
    name: str = "Demo Certification Body"
    did_method: str = "key"
    keys: list[KeyPair] = field(default_factory=list)
    records: list[KeyRecord] = field(default_factory=list)
    bits: Bitstring = field(default_factory=lambda: Bitstring(status_size=2))
    extra_files: dict[str, bytes] = field(default_factory=dict)
    # The status list as signed, by what was signed: add_proof stamps the proof's `created`
    # with the clock, so signing again on each fetch made two fetches a second apart differ
    # (test_sync compares the cached bytes with the served ones: it failed 1 run in N).
    _signed_lists: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.add_key()

    @property
    def host(self) -> str:
        return self.public_url.split("://", 1)[1].rstrip("/")

    @property
    def did(self) -> str:
        if self.did_method == "web":
            return "did:web:" + self.host.replace(":", "%3A")
        return self.keys[0].verification_method.split("#")[0]

    @property
    def key(self) -> KeyPair:
        return self.keys[-1]

    @property
    def list_url(self) -> str:
        return f"{self.public_url}/status/message-1"

    def add_key(self, *, revoked: str | None = None) -> KeyPair:
        if self.did_method == "key":
            if self.keys:
                raise ValueError("a did:key body has one key")
            pair = KeyPair.generate()
            pair = pair.with_verification_method(did_key_verification_method(pair.public_multibase))
        else:
            pair = KeyPair.generate(f"{self.did}#key-{len(self.keys) + 1}")
            self.records.append(
                KeyRecord(pair.verification_method, pair.public_multibase,
                          "2025-01-01T00:00:00Z", None, revoked)
            )  # fmt: skip
        self.keys.append(pair)
        return pair

    def revoke(self, pair: KeyPair, when: str) -> None:
        self.records = [
            KeyRecord(r.id, r.public_multibase, r.created, r.expires, when)
            if r.id == pair.verification_method
            else r
            for r in self.records
        ]

    # -- what the body publishes ----------------------------------------------------------------

    def did_document(self) -> dict[str, Any]:
        return build_did_web_document(self.did, self.records)

    def status_list(self) -> dict[str, Any]:
        unsigned = status_list_credential(
            id=self.list_url, issuer=self.did, purpose="message", bitstring=self.bits,
            valid_from="2026-01-01T00:00:00Z", status_messages=list(CERTIFICATE_STATUS_MESSAGES),
        )  # fmt: skip
        what = json.dumps([unsigned, self.key.verification_method], sort_keys=True)
        if what not in self._signed_lists:
            self._signed_lists[what] = add_proof(unsigned, self.key)
        return copy.deepcopy(self._signed_lists[what])  # a caller may alter its copy (forgeries)

    def offline_json(self) -> dict[str, Any]:
        revoked = {r.id: r.revoked for r in self.records}
        return {
            "format": "certreg-offline/1",
            "generated": "2026-11-28T17:00:00Z",
            "body": {"did": self.did, "name": self.name, "public_url": self.public_url},
            "keys": [
                {
                    "id": k.verification_method,
                    "kid": payload.key_id(k.public_key.raw).hex(),
                    "publicKeyMultibase": k.public_multibase,
                    "revoked": revoked.get(k.verification_method),
                }
                for k in self.keys
            ],
            "status_lists": [self.list_url],
            "schemes": [{"code": "CWI", "version": "1", "name": SCHEME.name, "scope": {}}],
        }

    def files(self) -> dict[str, bytes]:
        """Path (under the public URL) -> bytes, as a static site serves them."""
        out = {
            "offline.json": json.dumps(self.offline_json()).encode(),
            "status/message-1": json.dumps(self.status_list()).encode(),
        }
        if self.did_method == "web":
            out[".well-known/did.json"] = json.dumps(self.did_document()).encode()
        return out | self.extra_files

    def fetch(self, url: str) -> bytes:
        """The injection point of ``sync``: this body's files by URL, nothing else."""
        prefix = self.public_url + "/"
        files = self.files()
        if not url.startswith(prefix) or url[len(prefix) :] not in files:
            raise LookupError(f"{url} not found")
        return files[url[len(prefix) :]]

    def resolver(self) -> DidResolver:
        return DidResolver(self.fetch)

    # -- certificates ---------------------------------------------------------------------------

    def credential(
        self,
        holder: str = "Anna Schmidt",
        index: int = 94567,
        *,
        number: str = "CWI-2026-000123-7",
        valid_from: str = "2026-01-01T00:00:00Z",
        valid_until: str = "2029-01-01T00:00:00Z",
    ) -> dict[str, Any]:
        entry = status_list_entry(
            list_credential_url=self.list_url, index=index, purpose="message", status_size=2,
            status_messages=list(CERTIFICATE_STATUS_MESSAGES),
        )  # fmt: skip
        return certification_credential(
            body=Body(did=self.did, name=self.name),
            scheme=SCHEME,
            holder_name=holder,
            certificate_number=number,
            scope=[ScopeItem("UT2", "Ultrasonic testing, level 2", "Plates over 8 mm")],
            valid_from=valid_from,
            valid_until=valid_until,
            status_entries=[entry],
        )

    def qr(
        self,
        holder: str = "Anna Schmidt",
        index: int = 94567,
        *,
        signer: KeyPair | None = None,
        issued_at: datetime = SIGNED_AT,
        **changes: Any,
    ) -> str:
        pair = signer or self.key
        return payload.sign_compact(
            self.credential(holder, index, **changes), pair.sign, pair.public_key.raw,
            issued_at=issued_at, public_url=self.public_url,
        )  # fmt: skip


# -- a static site on 127.0.0.1 -----------------------------------------------------------------


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_files(folder: Path) -> Iterator[str]:
    """A plain HTTP server on 127.0.0.1 serving ``folder``; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def write_files(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

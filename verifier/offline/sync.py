"""``sync``: fetch a body's keys and status lists beforehand, check them, and keep them in a
cache folder (:mod:`.cache`) for verifying QR payloads with no network (:mod:`.verify`).

What is checked, so that the cache holds only what the body itself vouches for:

- ``<url>/offline.json`` (docs/offline.md; format ``certreg-offline/1``) names the body's DID,
  its keys and its status lists. It is not signed, so none of it is believed alone:
- each key must be in the body's DID document (did:web: fetched over HTTPS with the verifier's
  limits; did:key: derived) with the same key material; its ``revoked`` and ``expires`` dates
  are the DID document's. A key the document does not list is left out, and said so;
- for did:web, offline.json must come from the DID's own host (a copy elsewhere could name
  the body with another name);
- each status list must be a BitstringStatusListCredential issued by the body, signed with a
  key its DID document authorises (the verifier's own proof check), with its own ``id`` the
  URL it was fetched from, and within its validity period.

Fetches follow the verifier's rules (HTTPS, no redirects, a deadline and a size limit) and
reach public addresses only, except hosts named in ``unsafe_allow_http_hosts`` (tests on
127.0.0.1): offline.json names the URLs, so a hostile one could otherwise make the verifier
request the machine's own network.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from certreg.keys.did import DidError, verification_method_from_document
from certreg.keys.errors import CertregError
from certreg.keys.multikey import MultikeyError, decode_public_key
from certreg.verifier.dates import format_datetime
from certreg.verifier.did import (
    DEFAULT_MAX_BYTES,
    DidResolutionError,
    DidResolver,
    FetchError,
    HttpFetcher,
    key_lookup_for,
    parse_json_object,
)
from certreg.verifier.facts import issuer_id, parse_datetime
from certreg.verifier.offline.cache import (
    CACHE_FORMAT,
    SYNC_FILE,
    body_folder_name,
    now_utc,
)
from certreg.verifier.offline.payload import key_id

OFFLINE_FORMAT = "certreg-offline/1"
#: offline.json lists a body's keys and lists: a few kilobytes.
MAX_OFFLINE_JSON_BYTES = 256 * 1024
#: A body with more status lists than this is refused rather than fetched without end.
MAX_LISTS = 256

Fetch = Callable[[str], bytes]


class SyncError(CertregError):
    """A body could not be synced at all; ``str()`` says why, in plain words."""


@dataclass(frozen=True)
class SyncReport:
    """What one sync did: the body, what was kept, and what was left out and why."""

    source: str
    did: str
    name: str
    synced: datetime
    folder: Path
    keys: int
    lists: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def default_fetchers(
    unsafe_allow_http_hosts: Collection[str] = (),
) -> tuple[Fetch, DidResolver]:
    """The fetcher and DID resolver of a sync: public addresses only, except the hosts named."""
    fetch = HttpFetcher(
        max_bytes=DEFAULT_MAX_BYTES,
        unsafe_allow_http_hosts=unsafe_allow_http_hosts,
        accept="application/json",
        public_addresses_only=True,
    )
    did_fetch = HttpFetcher(
        unsafe_allow_http_hosts=unsafe_allow_http_hosts,
        accept="application/did+json, application/json",
        public_addresses_only=True,
    )
    resolver = DidResolver(did_fetch, unsafe_allow_http_hosts=unsafe_allow_http_hosts)
    return fetch, resolver


def offline_json_url(url: str) -> str:
    """The body's public URL, or its offline.json's URL itself, to the offline.json URL."""
    if url.rstrip("/").endswith("/offline.json"):
        return url.rstrip("/")
    return url.rstrip("/") + "/offline.json"


def _fetch(fetch: Fetch, url: str, what: str) -> bytes:
    try:
        return fetch(url)
    except FetchError as exc:
        raise SyncError(f"{what} could not be fetched: {exc.reason}") from None
    except Exception as exc:  # an injected fetcher may raise anything
        raise SyncError(f"{what} could not be fetched: {exc}") from None


def _offline_json(data: bytes, url: str) -> dict[str, Any]:
    try:
        doc = parse_json_object(data, f"{url}")
    except ValueError as exc:
        raise SyncError(str(exc)) from None
    if doc.get("format") != OFFLINE_FORMAT:
        raise SyncError(
            f"{url} is not a certreg offline file (its format is {doc.get('format')!r}, "
            f"not {OFFLINE_FORMAT!r})"
        )
    body = doc.get("body")
    if not isinstance(body, Mapping) or not isinstance(body.get("did"), str):
        raise SyncError(f"{url} does not name its body's DID")
    if not isinstance(doc.get("keys"), list) or not isinstance(doc.get("status_lists"), list):
        raise SyncError(f"{url} lacks its list of keys or of status lists")
    if len(doc["status_lists"]) > MAX_LISTS:
        raise SyncError(f"{url} names more than {MAX_LISTS} status lists; refused")
    return doc


def _check_host(did: str, url: str) -> None:
    """A did:web body's offline.json must be on the DID's own host."""
    if not did.startswith("did:web:"):
        return
    host = did.removeprefix("did:web:").split(":", 1)[0].replace("%3A", ":").replace("%3a", ":")
    if urlsplit(url).netloc.lower() != host.lower():
        raise SyncError(
            f"{url} speaks for {did}, but is not on that DID's host ({host}); only the body's "
            "own site is believed about its name and lists"
        )


def _checked_keys(doc: Mapping[str, Any], did: str, did_document: Mapping[str, Any]) -> tuple[
    list[dict[str, Any]], list[str]
]:  # fmt: skip
    """The keys of offline.json that the DID document also lists, with the document's dates."""
    kept, problems = [], []
    for key in doc["keys"]:
        if not isinstance(key, Mapping) or not isinstance(key.get("id"), str):
            problems.append("offline.json lists a key without an id; left out")
            continue
        vm_id = key["id"]
        if vm_id.partition("#")[0] != did:
            problems.append(f"the key {vm_id} is not {did}'s; left out")
            continue
        try:
            vm = verification_method_from_document(did_document, vm_id, "assertionMethod")
            raw = decode_public_key(vm.get("publicKeyMultibase"))
        except (DidError, MultikeyError) as exc:
            problems.append(f"the key {vm_id} is not in {did}'s DID document ({exc}); left out")
            continue
        if key.get("publicKeyMultibase") not in (None, vm.get("publicKeyMultibase")):
            problems.append(
                f"the key {vm_id} of offline.json differs from the DID document's; left out"
            )
            continue
        if key.get("kid") not in (None, key_id(raw).hex()):
            problems.append(f"the key {vm_id} has a wrong kid in offline.json; left out")
            continue
        kept.append(
            {
                "id": vm_id,
                "kid": key_id(raw).hex(),
                "publicKeyMultibase": vm["publicKeyMultibase"],
                "revoked": vm.get("revoked"),
                "expires": vm.get("expires"),
            }
        )
    return kept, problems


def _checked_list(
    data: bytes, url: str, did: str, resolver: DidResolver, now: datetime
) -> str | None:
    """Why the status list at ``url`` is not to be kept, or None when it checks."""
    from certreg.verifier.dataintegrity import verify_proofs

    try:
        listed = parse_json_object(data, f"the status list {url}")
    except ValueError as exc:
        return str(exc)
    types = listed.get("type")
    if "BitstringStatusListCredential" not in (types if isinstance(types, list) else [types]):
        return f"{url} is not a BitstringStatusListCredential"
    if listed.get("id") != url:
        return f"the status list at {url} says it is {listed.get('id')!r}"
    if issuer_id(listed) != did:
        return f"the status list {url} was published by {issuer_id(listed)!r}, not by {did}"
    proofs = verify_proofs(listed, key_lookup_for(did, resolver), now=now)
    bad = [p for p in proofs if not p.ok]
    if not proofs or bad:
        return f"the status list {url} is not properly signed: {bad[0].reason if bad else ''}"
    valid_from = parse_datetime(listed.get("validFrom"))
    valid_until = parse_datetime(listed.get("validUntil"))
    if valid_from is not None and now < valid_from:
        return f"the status list {url} is not valid before {listed.get('validFrom')}"
    if valid_until is not None and now > valid_until:
        return f"the status list {url} expired on {listed.get('validUntil')}"
    return None


def fetch_address(list_url: str, public_url: str, source: str) -> str:
    """Where to fetch a status list: a list under the body's public URL is fetched at the same
    path beside the offline.json synced from (a mirror of the body's site, a copy on the
    reader's own machine, a site moved behind a CDN). What makes it the body's list is its
    signature and its ``id``, which must still be ``list_url`` (:func:`_checked_list`), not
    the address it came from."""
    base = public_url.rstrip("/") + "/"
    here = source.rsplit("/", 1)[0] + "/"
    if public_url and list_url.startswith(base) and here != base:
        return here + list_url[len(base) :]
    return list_url


def sync(
    cache_dir: str | Path,
    url: str,
    *,
    fetch: Fetch | None = None,
    resolver: DidResolver | None = None,
    clock: Callable[[], datetime] = now_utc,
    unsafe_allow_http_hosts: Collection[str] = (),
) -> SyncReport:
    """Fetch ``url``'s offline.json (``url`` is the body's public URL, or offline.json's own),
    check its keys and status lists (see the module's docstring) and store them in
    ``cache_dir``, replacing what an earlier sync of the same body stored. Raises
    :class:`SyncError` when the body cannot be synced at all; a status list or a key that
    does not check is left out and named in the report's ``problems``."""
    if fetch is None or resolver is None:
        default_fetch, default_resolver = default_fetchers(unsafe_allow_http_hosts)
        fetch = fetch or default_fetch
        resolver = resolver or default_resolver
    source = offline_json_url(url)
    raw = _fetch(fetch, source, source)
    if len(raw) > MAX_OFFLINE_JSON_BYTES:
        raise SyncError(f"{source} is larger than {MAX_OFFLINE_JSON_BYTES} bytes; refused")
    doc = _offline_json(raw, source)
    did: str = doc["body"]["did"]
    _check_host(did, source)
    try:
        did_document = resolver.resolve(did)
    except DidResolutionError as exc:
        raise SyncError(f"the DID document of {did} could not be read: {exc.reason}") from None
    keys, problems = _checked_keys(doc, did, did_document)
    if not keys:
        raise SyncError(
            f"none of the keys {source} lists is in {did}'s DID document"
            + (f" ({problems[0]})" if problems else "")
        )
    root = Path(cache_dir)
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".sync-", dir=root))
    try:
        (work / "lists").mkdir()
        (work / "offline.json").write_bytes(raw)
        (work / "did.json").write_text(json.dumps(did_document, indent=2), encoding="utf-8")
        lists: dict[str, dict[str, str]] = {}
        for n, list_url in enumerate(dict.fromkeys(doc["status_lists"])):
            if not isinstance(list_url, str):
                problems.append(f"offline.json lists a status list that is not a URL: {list_url!r}")
                continue
            public_url = doc["body"].get("public_url")
            address = fetch_address(
                list_url, public_url if isinstance(public_url, str) else "", source
            )
            try:
                data = _fetch(fetch, address, f"the status list {list_url}")
            except SyncError as exc:
                problems.append(str(exc))
                continue
            fetched = clock()
            problem = _checked_list(data, list_url, did, resolver, fetched)
            if problem is not None:
                problems.append(problem + "; not kept")
                continue
            name = f"lists/{n}.json"
            (work / name).write_bytes(data)
            lists[list_url] = {"file": name, "fetched": format_datetime(fetched)}
        synced = clock()
        body = doc["body"]
        record: dict[str, Any] = {
            "format": CACHE_FORMAT,
            "source": source,
            "synced": format_datetime(synced),
            "body": {
                "did": did,
                "name": body.get("name") if isinstance(body.get("name"), str) else did,
                "public_url": body.get("public_url")
                if isinstance(body.get("public_url"), str)
                else "",
            },
            "keys": keys,
            "lists": lists,
            "problems": problems,
        }
        (work / SYNC_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")
        final = root / body_folder_name(did)
        _swap(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return SyncReport(
        source=source,
        did=did,
        name=record["body"]["name"],
        synced=synced,
        folder=final,
        keys=len(keys),
        lists=len(lists),
        problems=problems,
    )


def _swap(new: Path, final: Path) -> None:
    """Put ``new`` in the place of ``final`` (an earlier sync), never leaving neither."""
    if final.exists():
        old = final.with_name(final.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
        os.replace(new, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, final)

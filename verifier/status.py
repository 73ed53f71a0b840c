"""Status checks: is the certificate withdrawn or suspended, according to the body's own,
signed Bitstring Status Lists?

A status list is only evidence when it is signed by the certificate's issuer, with a key that
issuer's DID document authorises, and is still within its own validity period. Anything less
(unreachable, not JSON, bad proof, another issuer, stale list, malformed bitstring) yields
STATUS_UNKNOWN with the reason: never a guess in either direction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from certreg.contexts import DEFAULT_LOADER, DocumentLoader
from certreg.verifier.compact import reading_form
from certreg.verifier.dataintegrity import verify_proofs
from certreg.verifier.dates import format_datetime
from certreg.verifier.did import (
    DEFAULT_MAX_BYTES,
    Clock,
    DidResolver,
    FetchError,
    HttpFetcher,
    key_lookup_for,
    parse_json_object,
    utc_now,
)
from certreg.verifier.facts import issuer_id, parse_datetime
from certreg.verifier.result import Check, Verdict, plain_date
from certreg.verifier.statuslist import StatusListError, read_status

__all__ = [
    "DEFAULT_TTL_SECONDS",
    "MAX_TTL_SECONDS",
    "StatusChecker",
    "StatusFetcher",
    "StatusListCache",
]

#: ``url -> bytes`` (or an already-parsed JSON object). A plain ``dict`` of URL -> list
#: credential is accepted wherever a fetcher is, for tests and offline bundles.
StatusFetcher = Callable[[str], "bytes | Mapping[str, Any]"]

#: How long a verified list is reused when it declares no ``ttl`` (the Bitstring Status List
#: spec leaves the default to verifiers; 5 minutes keeps a suspension visible quickly).
DEFAULT_TTL_SECONDS = 300
#: Never reuse a list longer than this, whatever its ``ttl`` says.
MAX_TTL_SECONDS = 24 * 3600


class _Unknown(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _CachedList:
    credential: dict[str, Any]
    until: datetime


class StatusListCache:
    """Verified status list credentials by URL, each kept until the earlier of its ``ttl``
    (or :data:`DEFAULT_TTL_SECONDS`) and its ``validUntil``. Only lists whose proofs verified
    are stored. ``clock`` is injectable so tests can move time."""

    def __init__(self, clock: Clock = utc_now, *, max_entries: int = 1024) -> None:
        self.clock = clock
        self.max_entries = max_entries
        self._entries: dict[str, _CachedList] = {}

    def get(self, url: str) -> dict[str, Any] | None:
        hit = self._entries.get(url)
        if hit is None:
            return None
        if self.clock() >= hit.until:
            self._entries.pop(url, None)
            return None
        return hit.credential

    def put(self, url: str, credential: dict[str, Any], until: datetime) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.pop(next(iter(self._entries)))  # oldest insertion first
        self._entries[url] = _CachedList(credential, until)

    def clear(self) -> None:
        self._entries.clear()


def _as_fetcher(fetcher: StatusFetcher | Mapping[str, Any] | None) -> StatusFetcher:
    if fetcher is None:
        return HttpFetcher(max_bytes=DEFAULT_MAX_BYTES)
    if isinstance(fetcher, Mapping):
        table = fetcher

        def from_table(url: str) -> Mapping[str, Any]:
            if url not in table:
                raise FetchError(f"{url} could not be reached")
            return table[url]

        return from_table
    return fetcher


_log = logging.getLogger("certreg.verifier")

_PURPOSE_WORDS = {"revocation": "withdrawn", "suspension": "suspended"}

#: The words of a ``message`` entry's signed ``statusMessage`` that say the certificate is not
#: in force. certreg certificates carry one 2-bit message entry ("valid", "suspended",
#: "withdrawn", see verifier.statuslist.CERTIFICATE_STATUS_MESSAGES); "revoked" is the VC word
#: for a withdrawal. The issuer signed both the table and the list, so its words are its
#: statement; any other message is reported and decides nothing.
_MESSAGE_VERDICTS = {
    "suspended": Verdict.SUSPENDED,
    "withdrawn": Verdict.WITHDRAWN,
    "revoked": Verdict.WITHDRAWN,
}


def _messages_of(entry: Mapping[str, Any]) -> set[str]:
    """The lower-cased words of an entry's statusMessage table (read_status checked it)."""
    table = entry.get("statusMessage")
    if not isinstance(table, list):
        return set()
    return {
        item["message"].strip().lower()
        for item in table
        if isinstance(item, Mapping) and isinstance(item.get("message"), str)
    }


class StatusChecker:
    """Checks every ``credentialStatus`` entry of a credential; see the module docstring."""

    def __init__(
        self,
        resolver: DidResolver,
        fetcher: StatusFetcher | Mapping[str, Any] | None = None,
        *,
        cache: StatusListCache | None = None,
        clock: Clock = utc_now,
        loader: DocumentLoader = DEFAULT_LOADER,
    ) -> None:
        self.resolver = resolver
        self.fetcher = _as_fetcher(fetcher)
        self.clock = clock
        self.cache = cache if cache is not None else StatusListCache(clock)
        self.loader = loader

    def check(self, credential: Mapping[str, Any], *, at: datetime | None = None) -> list[Check]:
        """One :class:`Check` per status entry (or one saying there is none). ``at``: the
        status at that past instant, from the list version current then (the list's URL with
        W3C Bitstring Status List's ``?timestamp=``), instead of the list as it is now."""
        issuer = issuer_id(credential)
        entries = credential.get("credentialStatus")
        if entries is None:
            return [
                Check(
                    "status",
                    True,
                    "the credential has no status entry: its issuer "
                    "cannot suspend or withdraw it, only let it expire",
                )
            ]
        if isinstance(entries, Mapping):
            entries = [entries]
        if not isinstance(entries, list) or not entries:
            return [
                Check(
                    "status",
                    False,
                    "credentialStatus is neither an object nor a non-empty list of objects",
                    Verdict.STATUS_UNKNOWN,
                )
            ]
        return [self._check_entry(entry, issuer, at) for entry in entries]

    def _check_entry(self, entry: Any, issuer: str | None, at: datetime | None = None) -> Check:
        if not isinstance(entry, Mapping):
            return Check(
                "status", False, "a credentialStatus entry is not an object", Verdict.STATUS_UNKNOWN
            )
        purpose = entry.get("statusPurpose")
        name = f"status ({purpose})" if isinstance(purpose, str) else "status"
        if entry.get("type") != "BitstringStatusListEntry":
            return Check(
                name,
                False,
                f"the status method {entry.get('type')!r} is not "
                "supported (only BitstringStatusListEntry)",
                Verdict.STATUS_UNKNOWN,
            )
        url = entry.get("statusListCredential")
        try:
            if not isinstance(url, str):
                raise _Unknown("the status entry does not say where its list is")
            if issuer is None:
                raise _Unknown("the credential has no issuer to check the status list against")
            listed = self._list_at(url, issuer, at) if at else self._list(url, issuer)
            reading = read_status(listed, entry)
        except _Unknown as exc:
            return Check(name, False, exc.reason, Verdict.STATUS_UNKNOWN)
        except StatusListError as exc:
            return Check(
                name, False, f"the status list could not be read: {exc}", Verdict.STATUS_UNKNOWN
            )
        except Exception:  # a hostile list must never crash verification
            _log.exception("reading the status list %s failed", url)
            return Check(
                name,
                False,
                "the status list could not be read (it is not a list this verifier can process)",
                Verdict.STATUS_UNKNOWN,
            )
        published = parse_datetime(listed.get("validFrom"))
        when = f" published {plain_date(published)}" if published else ""
        if reading.purpose in _PURPOSE_WORDS:
            word = _PURPOSE_WORDS[reading.purpose]
            # A bitstring records *that* a bit is set, not since when: the list's publication
            # date is the most we can honestly say.
            if reading.value:
                return Check(
                    name,
                    False,
                    f"{word}, according to the issuer's {reading.purpose} list{when}",
                    Verdict.WITHDRAWN if word == "withdrawn" else Verdict.SUSPENDED,
                )
            return Check(
                name, True, f"not {word}, according to the issuer's {reading.purpose} list{when}"
            )
        if reading.purpose == "message" and reading.message is not None:
            said = reading.message.strip().lower()
            verdict = _MESSAGE_VERDICTS.get(said)
            if verdict is not None:
                return Check(
                    name, False, f"{said}, according to the issuer's status list{when}", verdict
                )
            if _MESSAGE_VERDICTS.keys() & _messages_of(entry):
                # A certificate status table, at a value that is not one of those words.
                return Check(
                    name,
                    True,
                    f"not suspended or withdrawn (status {reading.message!r}), "
                    f"according to the issuer's status list{when}",
                )
        # refresh and other messages do not say the certificate is not in force; report only.
        text = reading.message or ("set" if reading.value else "unset")
        return Check(name, True, f"{reading.purpose} status: {text}")

    def _list_at(self, url: str, issuer: str, at: datetime) -> dict[str, Any]:
        """The version of the list that was current at ``at``: fetched with ``?timestamp=``,
        checked like any list, and refused unless it was published by ``at`` (a server that
        ignores the query answers with today's list, which is the one current then only if it
        was published before). Not cached: such fetches are rare, and the cache is for now."""
        stamp = format_datetime(at)
        asked = f"{url}{'&' if '?' in url else '?'}{urlencode({'timestamp': stamp})}"
        listed = self._fetch_checked(asked, issuer)
        valid_from = parse_datetime(listed.get("validFrom"))
        if valid_from is None or valid_from > at:
            raise _Unknown(
                f"the issuer gave no version of the status list {url} current at {stamp} "
                f"(the one it gave was published {listed.get('validFrom')!r}): it does not "
                "keep, or does not serve, the lists of that time"
            )
        return listed

    def _list(self, url: str, issuer: str) -> dict[str, Any]:
        cached = self.cache.get(url)
        if cached is not None:
            if issuer_id(cached) != issuer:
                raise _Unknown(
                    f"the status list {url} was published by {issuer_id(cached)}, "
                    f"not by the certificate's issuer {issuer}"
                )
            return cached
        listed = self._fetch_checked(url, issuer)
        until = self._freshness(listed, url)
        self.cache.put(url, listed, until)
        return listed

    def _fetch_checked(self, url: str, issuer: str) -> dict[str, Any]:
        """The list at ``url``, fetched, published by ``issuer`` and properly signed."""
        try:
            raw = self.fetcher(url)
        except FetchError as exc:
            raise _Unknown(f"the status list could not be fetched: {exc.reason}") from None
        except Exception:
            _log.exception("fetching the status list %s failed", url)
            raise _Unknown(f"the status list {url} could not be fetched") from None
        try:
            listed = parse_json_object(raw, f"the status list {url}")
        except ValueError as exc:
            raise _Unknown(str(exc)) from None
        list_issuer = issuer_id(listed)
        if list_issuer != issuer:
            # Only the body that issued a certificate may speak for its status.
            raise _Unknown(
                f"the status list {url} was published by {list_issuer!r}, "
                f"not by the certificate's issuer {issuer}"
            )
        proofs = verify_proofs(
            listed,
            key_lookup_for(issuer, self.resolver),
            expected_purpose="assertionMethod",
            now=self.clock(),
            loader=self.loader,
        )
        bad = [p for p in proofs if not p.ok]
        if not proofs or bad:
            reason = bad[0].reason if bad else "it has no proof"
            raise _Unknown(f"the status list {url} is not properly signed: {reason}")
        return reading_form(listed)  # read as signed (see verifier.compact)

    def _freshness(self, listed: Mapping[str, Any], url: str) -> datetime:
        """Check the list's validity period now; return until when it may be reused."""
        now = self.clock()
        valid_from = parse_datetime(listed.get("validFrom"))
        if "validFrom" in listed and valid_from is None:
            raise _Unknown(f"the status list {url} has an unreadable validFrom")
        if valid_from is not None and now < valid_from:
            raise _Unknown(f"the status list {url} is not valid before {listed.get('validFrom')}")
        valid_until = parse_datetime(listed.get("validUntil"))
        if "validUntil" in listed and valid_until is None:
            raise _Unknown(f"the status list {url} has an unreadable validUntil")
        if valid_until is not None and now > valid_until:
            raise _Unknown(
                f"the status list {url} expired on {plain_date(valid_until)} and "
                "the body has not published a newer one there"
            )
        subject = listed.get("credentialSubject")
        ttl_ms = subject.get("ttl") if isinstance(subject, Mapping) else None
        if isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int) or ttl_ms < 0:
            ttl_ms = DEFAULT_TTL_SECONDS * 1000
        until = now + timedelta(milliseconds=min(ttl_ms, MAX_TTL_SECONDS * 1000))
        return min(until, valid_until) if valid_until is not None else until

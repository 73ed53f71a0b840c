"""The issuer's Bitstring Status Lists: allocating indices, recording bits, publishing signed
``BitstringStatusListCredential`` versions and keeping them from lapsing.

Everything lives in issuer.db (``status_lists``, ``status_entries``, ``status_list_versions``):

- **Allocation.** An index is drawn uniformly at random from the purpose's open list and
  INSERTed; the primary key ``(list_id, idx)`` rejects an index that was ever used, and we draw
  again. No set of used indices is ever loaded, so an allocation costs a few statements whatever
  the size of the list. A row exists only once its transaction commits: a rolled-back or killed
  allocation leaves no trace, a committed one is never handed out again, by any process.
- **Fill limit.** A list takes at most :data:`FILL_LIMIT` of its entries (65,536 of 131,072);
  then the next allocation opens ``<purpose>-<n+1>``. Below half full a random draw hits a
  free index at least one time in two (on average 1.39 draws over the list's life, 2 at the
  end), so allocation stays fast without a free-index table; and each list still hides its
  holders in a crowd of 65,536, about a quarter's issuance for the largest bodies, so fetching
  a list tells the issuer or a CDN little about whose certificate is being checked. Filling
  further would buy a slightly bigger crowd for ever more retries; filling less would give
  smaller crowds and lists that date a certificate more precisely.
- **Publishing.** :meth:`StatusListManager.publish` builds the bitstring from the rows whose
  value is not 0, signs it and stores it as a new version, in the caller's transaction: the
  decision that changes a bit and the list that shows it commit (or vanish) together. Every
  version is kept; ``status_lists.version`` names the latest, which is what ``/status/{id}``
  serves.
- **Certificate status forms.** :data:`STATUS_FORMS`. ``message`` (the default): one
  ``BitstringStatusListEntry`` per certificate, ``statusPurpose: "message"``, ``statusSize``
  2 and a ``statusMessage`` table (0 valid, 1 suspended, 2 and 3 withdrawn), in ``message-<n>``
  lists: the one status object the Open Badges 3.0 JSON Schema allows. ``two-entries``: a
  ``revocation`` and a ``suspension`` entry, each in its own 1-bit list (the VC 2.0 form;
  the OB 3.0 schema refuses its array).
- **Readers that ignore statusSize.** Digital Bazaar's and the DCC's verifiers read every entry
  as one bit at ``statusListIndex`` (they read bit *i*, not bits *2i* and *2i+1*). A message
  list therefore has twice the entries a 1-bit list would, hands out indices only from its
  upper half, and sets, for every entry that is not 0, the single bit at position *i*: that bit
  falls inside the unused lower half, so a 2-bit reader sees the exact status of every
  certificate and a 1-bit reader sees "set" exactly for the suspended and withdrawn ones.
- **Freshness.** Each version is valid for ``validity`` (2 days) and tells caches to reuse it
  for ``ttl_ms`` (5 minutes). :meth:`~StatusListManager.refresh_due` re-signs lists whose
  ``validUntil`` comes within a margin, so a list never lapses while a stapled old copy stops
  being accepted soon after it is replaced.

One manager per connection, used from one thread at a time; concurrent writers each use their
own connection (and manager), and SQLite's write lock orders them.
"""

from __future__ import annotations

import json
import random
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from certreg.issuer.db import transaction
from certreg.verifier.issuing import (
    CERTIFICATE_STATUS_MESSAGES,
    CRYPTOSUITES,
    MIN_ENTRIES,
    Bitstring,
    Signer,
    add_proof,
    format_datetime,
    parse_datetime,
    status_list_credential,
    status_list_entry,
    utc_now,
)

__all__ = [
    "DEFAULT_STATUS_FORM",
    "ENTRIES",
    "FILL_LIMIT",
    "PURPOSES",
    "STATUS_FORMS",
    "StatusListManager",
    "status_columns",
    "utc_now",
]

#: The purposes certreg issues: ``revocation`` (withdrawal, permanent), ``suspension`` and
#: ``message`` (a certificate's whole status in one 2-bit entry, see the module text).
PURPOSES = ("revocation", "suspension", "message")

#: How a certificate carries its status: the purposes of its entries, in order.
STATUS_FORMS: dict[str, tuple[str, ...]] = {
    "message": ("message",),
    "two-entries": ("revocation", "suspension"),
}
#: The form of a body that chose none: the one that passes the Open Badges 3.0 JSON Schema.
DEFAULT_STATUS_FORM = "message"

#: Bits of a message entry's value: the suspension (reversible) and the withdrawal (never
#: cleared); see verifier.statuslist.CERTIFICATE_STATUS_MESSAGES.
_SUSPENDED = 1
_WITHDRAWN = 2
_MESSAGE_SIZE = 2

#: Entries per list: the spec's minimum, 16 KiB uncompressed.
ENTRIES = 131_072

#: Share of a list's entries handed out before the next list is opened (see the module text).
FILL_LIMIT = 0.5

#: Random draws before an allocation stops drawing and looks at the list itself. Below
#: FILL_LIMIT the chance of needing this many is under 2**-64: reaching it means the
#: ``allocated`` counter has drifted from the rows (a bug or a hand edit), which is repaired.
_MAX_DRAWS = 64

#: Used when the schema has it: CREATE INDEX status_entries_set ON status_entries(list_id, idx)
#: WHERE value != 0
_SET_BITS_INDEX = "status_entries_set"


@dataclass(frozen=True)
class _ListRow:
    id: str
    purpose: str
    entries: int
    allocated: int
    version: int


class StatusListManager:
    """Status lists of one issuer in one issuer.db connection."""

    def __init__(
        self,
        db: Database,
        *,
        issuer_did: str,
        base_url: str,
        signer: Signer,
        clock: Callable[[], datetime] = utc_now,
        entries: int = ENTRIES,
        validity: timedelta = timedelta(days=2),
        ttl_ms: int = 300_000,
        rng: random.Random | None = None,
        cryptosuite: str = "eddsa-rdfc-2022",
        allow_small: bool = False,
        status_form: str = DEFAULT_STATUS_FORM,
    ) -> None:
        """``entries`` sets the size of lists opened from now on (existing lists keep theirs);
        fewer than 131,072 is refused unless ``allow_small`` (tests only: a small list betrays
        whose status is being checked). ``rng`` draws the indices; the default is the
        operating system's CSPRNG, so nobody can predict or reconstruct them."""
        if not isinstance(issuer_did, str) or not issuer_did.startswith("did:"):
            raise ValueError(
                f"issuer_did must be a DID such as did:web:cb.example, not {issuer_did!r}"
            )
        if not isinstance(base_url, str) or not base_url.startswith(("https://", "http://")):
            raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
        if isinstance(entries, bool) or not isinstance(entries, int) or entries < 8:
            raise ValueError(f"entries must be a whole number of at least 8, not {entries!r}")
        if entries % 8:
            raise ValueError(f"entries must be a multiple of 8 (whole bytes), not {entries}")
        if entries < MIN_ENTRIES and not allow_small:
            raise ValueError(
                f"a status list needs at least {MIN_ENTRIES} entries for herd privacy "
                f"({entries} asked); allow_small=True is for tests only"
            )
        if not isinstance(validity, timedelta) or validity <= timedelta(0):
            raise ValueError(f"validity must be a positive timedelta, not {validity!r}")
        if isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int) or ttl_ms < 0:
            raise ValueError(f"ttl_ms must be a whole number of milliseconds ≥ 0, not {ttl_ms!r}")
        if timedelta(milliseconds=ttl_ms) >= validity:
            # A cache told to keep a copy longer than it is valid would serve an expired list.
            raise ValueError(f"ttl_ms ({ttl_ms} ms) must be shorter than validity ({validity})")
        if cryptosuite not in CRYPTOSUITES:
            raise ValueError(f"unknown cryptosuite {cryptosuite!r}; use one of {CRYPTOSUITES}")
        if status_form not in STATUS_FORMS:
            raise ValueError(
                f"unknown status form {status_form!r}; use one of {', '.join(STATUS_FORMS)}"
            )
        self.db = db
        self.status_form = status_form
        self.issuer_did = issuer_did
        self.base_url = base_url.rstrip("/")
        self.signer = signer
        self.clock = clock
        self.entries = entries
        self.validity = validity
        self.ttl_ms = ttl_ms
        self.cryptosuite = cryptosuite
        self._rng: random.Random = rng if rng is not None else secrets.SystemRandom()
        # With a partial index over the set bits (proposed as schema v2), reading a list's set
        # bits touches only those; without it, SQLite walks the list's allocated rows (~10 ms
        # at 65,536). The planner prefers the primary key unless told, hence INDEXED BY.
        has_index = db.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (_SET_BITS_INDEX,)
        ).fetchone()
        self._set_bits_sql = (
            f"SELECT idx, value FROM status_entries "
            f"{'INDEXED BY ' + _SET_BITS_INDEX if has_index else ''}"
            " WHERE list_id = ? AND value != 0"
        )

    # ----------------------------------------------------------------------------------------
    # Naming

    def url(self, list_id: str) -> str:
        """Where the list is served: the entries' ``statusListCredential``."""
        return f"{self.base_url}/status/{list_id}"

    def list_id_from_url(self, url: str) -> str:
        """The list id in one of our ``statusListCredential`` URLs (ValueError otherwise)."""
        prefix = f"{self.base_url}/status/"
        if not isinstance(url, str) or not url.startswith(prefix) or "/" in url[len(prefix) :]:
            raise ValueError(f"{url!r} is not one of this issuer's status list URLs ({prefix}…)")
        return url[len(prefix) :]

    # ----------------------------------------------------------------------------------------
    # Allocating

    def allocate(self, purpose: str, credential_id: str) -> tuple[str, int]:
        """A random index never used before in the purpose's open list, recorded for
        ``credential_id``; returns ``(list_id, index)``.

        Call it inside the transaction that stores the credential (``issuer.db.transaction``;
        this joins it): if that transaction rolls back, the index was never taken.
        """
        _check_purpose(purpose)
        if not isinstance(credential_id, str) or not credential_id.strip():
            raise ValueError(f"credential_id must be a non-empty string, not {credential_id!r}")
        conn = self.db.conn
        with transaction(self.db):
            row = self._open_list(purpose)
            index = self._draw(row, credential_id)
            if index is None:
                row = self._repair_count(row)
                if row.allocated >= _limit(row):
                    row = self._create_list(purpose)
                    index = self._draw(row, credential_id)
                else:
                    index = self._draw_from_free(row, credential_id)
            assert index is not None  # a fresh list, or one with free room, always yields one
            conn.execute(
                "UPDATE status_lists SET allocated = allocated + 1 WHERE id = ?", (row.id,)
            )
        return row.id, index

    def entries_for(
        self, credential_id: str, purposes: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """One fresh index per purpose, as the credential's ``credentialStatus`` entries
        (in the order of ``purposes``; by default those of the manager's ``status_form``).
        A ``message`` entry is certreg's 2-bit certificate status. Same transaction rule as
        :meth:`allocate`."""
        if purposes is None:
            purposes = STATUS_FORMS[self.status_form]
        if isinstance(purposes, str):
            purposes = (purposes,)  # a bare "revocation" would otherwise be read letter by letter
        if not purposes:
            raise ValueError("purposes is empty: name at least one of revocation, suspension")
        if len(set(purposes)) != len(purposes):
            raise ValueError(f"purposes lists a purpose twice: {list(purposes)}")
        for purpose in purposes:
            _check_purpose(purpose)
        entries = []
        with transaction(self.db):
            for purpose in purposes:
                list_id, index = self.allocate(purpose, credential_id)
                entries.append(self._entry(purpose, list_id, index))
        return entries

    def entries_for_many(
        self, credential_ids: Sequence[str], purposes: Sequence[str] | None = None
    ) -> list[list[dict[str, Any]]]:
        """:meth:`entries_for` for many credentials at once (bulk issuance), in their order:
        per purpose, a batch of random indices is drawn and inserted with one statement, and
        only an index that was already taken (rare: the primary key refuses it) is drawn again,
        one by one, as :meth:`allocate` does. Same guarantee (an index is never used twice),
        same transaction rule; a few statements per batch instead of a few per credential."""
        if purposes is None:
            purposes = STATUS_FORMS[self.status_form]
        for credential_id in credential_ids:
            if not isinstance(credential_id, str) or not credential_id.strip():
                raise ValueError(f"credential_id must be a non-empty string, not {credential_id!r}")
        out: list[list[dict[str, Any]]] = [[] for _ in credential_ids]
        with transaction(self.db):
            for purpose in purposes:
                _check_purpose(purpose)
                for i, (list_id, index) in enumerate(self._allocate_many(purpose, credential_ids)):
                    out[i].append(self._entry(purpose, list_id, index))
        return out

    def _allocate_many(self, purpose: str, credential_ids: Sequence[str]) -> list[tuple[str, int]]:
        conn = self.db.conn
        found: dict[int, tuple[str, int]] = {}
        todo = list(range(len(credential_ids)))
        while todo:
            row = self._open_list(purpose)
            room = _limit(row) - row.allocated
            if room <= 0:  # the count is off (a crash?): the one-by-one path repairs it
                break
            take, todo = todo[:room], todo[room:]
            indices = self._rng.sample(range(_first_index(row), row.entries), len(take))
            before = conn.total_changes
            # The primary key is the guarantee: an index used once, by anyone, is ignored here.
            conn.executemany(
                "INSERT OR IGNORE INTO status_entries (list_id, idx, credential_id, value) "
                "VALUES (?, ?, ?, 0)",
                [(row.id, idx, credential_ids[i]) for i, idx in zip(take, indices, strict=True)],
            )
            inserted = conn.total_changes - before
            conn.execute(
                "UPDATE status_lists SET allocated = allocated + ? WHERE id = ?",
                (inserted, row.id),
            )
            if inserted == len(take):
                found.update((i, (row.id, idx)) for i, idx in zip(take, indices, strict=True))
                continue
            # Some indices were held already: keep those this batch now holds, draw the rest
            # again.
            marks = ",".join("?" * len(take))
            holders = dict(
                conn.execute(
                    f"SELECT idx, credential_id FROM status_entries "
                    f"WHERE list_id = ? AND idx IN ({marks})",
                    [row.id, *indices],
                ).fetchall()
            )
            for i, idx in zip(take, indices, strict=True):
                if holders.get(idx) == credential_ids[i]:
                    found[i] = (row.id, idx)
                else:
                    todo.append(i)
            if not inserted:
                break  # a crowded list: the one-by-one path knows what to do
        for i in todo:
            found[i] = self.allocate(purpose, credential_ids[i])
        return [found[i] for i in range(len(credential_ids))]

    def _entry(self, purpose: str, list_id: str, index: int) -> dict[str, Any]:
        if purpose == "message":
            return status_list_entry(
                list_credential_url=self.url(list_id),
                index=index,
                purpose=purpose,
                status_size=_MESSAGE_SIZE,
                status_messages=list(CERTIFICATE_STATUS_MESSAGES),
            )
        return status_list_entry(
            list_credential_url=self.url(list_id), index=index, purpose=purpose
        )

    def _open_list(self, purpose: str) -> _ListRow:
        row = self._last_list(purpose)
        if row is None or row.allocated >= _limit(row):
            row = self._create_list(purpose)
        return row

    def _last_list(self, purpose: str) -> _ListRow | None:
        # Lists are numbered <purpose>-1, -2, ...; the highest number is the open one.
        found = self.db.conn.execute(
            "SELECT id, purpose, entries, allocated, version FROM status_lists "
            "WHERE purpose = ? ORDER BY CAST(substr(id, ?) AS INTEGER) DESC, created_at DESC "
            "LIMIT 1",
            (purpose, len(purpose) + 2),
        ).fetchone()
        return _ListRow(*found) if found else None

    def _create_list(self, purpose: str) -> _ListRow:
        """Open ``<purpose>-<n+1>`` and publish its first (empty) version at once, so that its
        URL answers from the moment a credential can point into it."""
        numbers = [
            int(suffix)
            for (suffix,) in self.db.conn.execute(
                "SELECT substr(id, ?) FROM status_lists WHERE purpose = ?",
                (len(purpose) + 2, purpose),
            )
            if suffix.isdigit()
        ]
        list_id = f"{purpose}-{max(numbers, default=0) + 1}"
        # A message list is twice as long: only its upper half is handed out (module text).
        entries = self.entries * 2 if purpose == "message" else self.entries
        self.db.conn.execute(
            "INSERT INTO status_lists (id, purpose, entries, allocated, version, created_at) "
            "VALUES (?, ?, ?, 0, 0, ?)",
            (list_id, purpose, entries, format_datetime(self._now())),
        )
        row = _ListRow(list_id, purpose, entries, 0, 0)
        self._sign_and_store(row, _empty(row))
        return _ListRow(list_id, purpose, entries, 0, 1)

    def _draw(self, row: _ListRow, credential_id: str) -> int | None:
        conn = self.db.conn
        low = _first_index(row)
        randbelow = self._rng.randrange
        for _ in range(_MAX_DRAWS):
            index = low + randbelow(row.entries - low)
            # The primary key is the guarantee: an index used once, by anyone, is refused here.
            inserted = conn.execute(
                "INSERT OR IGNORE INTO status_entries (list_id, idx, credential_id, value) "
                "VALUES (?, ?, ?, 0)",
                (row.id, index, credential_id),
            ).rowcount
            if inserted == 1:
                return index
        return None

    def _repair_count(self, row: _ListRow) -> _ListRow:
        (count,) = self.db.conn.execute(
            "SELECT count(*) FROM status_entries WHERE list_id = ?", (row.id,)
        ).fetchone()
        if count != row.allocated:
            self.db.conn.execute(
                "UPDATE status_lists SET allocated = ? WHERE id = ?", (count, row.id)
            )
        return _ListRow(row.id, row.purpose, row.entries, count, row.version)

    def _draw_from_free(self, row: _ListRow, credential_id: str) -> int:
        # The slow path, reached only after _MAX_DRAWS collisions on a list below its limit:
        # pick at random among the indices actually free.
        used = {
            idx
            for (idx,) in self.db.conn.execute(
                "SELECT idx FROM status_entries WHERE list_id = ?", (row.id,)
            )
        }
        free = [i for i in range(_first_index(row), row.entries) if i not in used]
        index = free[self._rng.randrange(len(free))]
        self.db.conn.execute(
            "INSERT INTO status_entries (list_id, idx, credential_id, value) VALUES (?, ?, ?, 0)",
            (row.id, index, credential_id),
        )
        return index

    # ----------------------------------------------------------------------------------------
    # Recording a status

    def set(self, list_id: str, index: int, value: int) -> None:
        """Record ``value`` (1 set, 0 cleared; 0 to 3 in a message list) for an allocated
        index. Publish in the same transaction (:meth:`publish` or :meth:`publish_changed`) so
        the served list agrees."""
        conn = self.db.conn
        with transaction(self.db):
            row = self._list(list_id)
            top = (1 << _MESSAGE_SIZE) - 1 if row.purpose == "message" else 1
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
                raise ValueError(
                    f"a status value is 0 or 1, not {value!r}"
                    if top == 1
                    else f"a status value in message list {list_id} is 0 to {top}, not {value!r}"
                )
            if isinstance(index, bool) or not isinstance(index, int):
                raise ValueError(f"an index is a whole number, not {index!r}")
            if not 0 <= index < row.entries:
                raise ValueError(
                    f"index {index} is outside list {list_id} (0 to {row.entries - 1})"
                )
            found = conn.execute(
                "SELECT value FROM status_entries WHERE list_id = ? AND idx = ?", (list_id, index)
            ).fetchone()
            if found is None:
                # Setting a bit nobody holds would mark whoever is given this index later.
                raise ValueError(f"index {index} of list {list_id} was never allocated")
            revoked = found[0] & _WITHDRAWN if row.purpose == "message" else found[0]
            undone = not value & _WITHDRAWN if row.purpose == "message" else value == 0
            if row.purpose in ("revocation", "message") and revoked and undone:
                raise ValueError(
                    f"index {index} of {list_id} is revoked, and revocation cannot be undone "
                    "(reinstating needs a new credential with new indices)"
                )
            if found[0] != value:
                conn.execute(
                    "UPDATE status_entries SET value = ? WHERE list_id = ? AND idx = ?",
                    (value, list_id, index),
                )

    def mark(self, list_id: str, index: int, purpose: str, on: bool) -> None:
        """Record that the credential at ``index`` is (``on``) or is no longer revoked
        (``purpose`` "revocation") or suspended ("suspension"), whichever form its entry has:
        in a 1-bit list of that purpose the bit itself, in a message list the matching bit of
        the 2-bit value. Same transaction and publishing rule as :meth:`set`."""
        if purpose not in ("revocation", "suspension"):
            raise ValueError(f"mark records a revocation or a suspension, not {purpose!r}")
        with transaction(self.db):
            row = self._list(list_id)
            if row.purpose == purpose:
                self.set(list_id, index, 1 if on else 0)
                return
            if row.purpose != "message":
                raise ValueError(f"list {list_id} holds {row.purpose} entries, not {purpose}")
            found = self.db.conn.execute(
                "SELECT value FROM status_entries WHERE list_id = ? AND idx = ?", (list_id, index)
            ).fetchone()
            if found is None:
                raise ValueError(f"index {index} of list {list_id} was never allocated")
            flag = _WITHDRAWN if purpose == "revocation" else _SUSPENDED
            self.set(list_id, index, found[0] | flag if on else found[0] & ~flag)

    # ----------------------------------------------------------------------------------------
    # Publishing

    def publish(self, list_id: str) -> dict[str, Any]:
        """Sign the list as the database has it now and store it as the next version;
        returns the signed ``BitstringStatusListCredential``. Joins the caller's transaction."""
        with transaction(self.db):
            row = self._list(list_id)
            return self._sign_and_store(row, self._current_bits(row))

    def publish_changed(self) -> list[str]:
        """Publish every list whose bits differ from its latest published version (or that was
        never published); returns their ids.

        The comparison is made against the database, not an in-memory flag: a change committed
        by another process, or by one that died before publishing, is still found.
        """
        published = []
        with transaction(self.db):
            for row in self._all_lists():
                bits = self._current_bits(row)
                if row.version == 0 or self._latest_bits(row) != bits.to_bytes():
                    self._sign_and_store(row, bits)
                    published.append(row.id)
        return published

    def refresh_due(self, *, margin: timedelta = timedelta(hours=12)) -> list[str]:
        """Re-sign every list whose latest ``validUntil`` is within ``margin`` from now (or
        that was never published); returns their ids. Run it more often than ``margin``
        (e.g. hourly from ``certreg serve`` or cron) and no list ever lapses."""
        if not isinstance(margin, timedelta) or margin < timedelta(0):
            raise ValueError(f"margin must be a timedelta ≥ 0, not {margin!r}")
        refreshed = []
        with transaction(self.db):
            cutoff = self._now() + margin
            due = self.db.conn.execute(
                "SELECT l.id, v.valid_until FROM status_lists l LEFT JOIN status_list_versions v "
                "ON v.list_id = l.id AND v.version = l.version ORDER BY l.id"
            ).fetchall()
            for list_id, valid_until in due:
                if valid_until is None or parse_datetime(valid_until) <= cutoff:
                    self.publish(list_id)
                    refreshed.append(list_id)
        return refreshed

    def ensure_lists(self) -> None:
        """Open and publish the first list of each purpose if there is none, and publish any
        list that exists but was never published."""
        with transaction(self.db):
            # The 1-bit lists always (every body has published them since its first day;
            # an empty one costs a few hundred bytes), and the form's own.
            wanted = dict.fromkeys((*STATUS_FORMS["two-entries"], *STATUS_FORMS[self.status_form]))
            for purpose in wanted:
                if self._last_list(purpose) is None:
                    self._create_list(purpose)
            for row in self._all_lists():
                if row.version == 0:
                    self.publish(row.id)

    # ----------------------------------------------------------------------------------------
    # Reading what was published

    def latest(self, list_id: str) -> dict[str, Any] | None:
        """The latest signed version of the list (what ``/status/{list_id}`` serves), or None
        for a list that does not exist or was never published."""
        found = self.db.conn.execute(
            "SELECT v.credential FROM status_lists l JOIN status_list_versions v "
            "ON v.list_id = l.id AND v.version = l.version WHERE l.id = ?",
            (list_id,),
        ).fetchone()
        return json.loads(found[0]) if found else None

    def version(self, list_id: str, version: int) -> dict[str, Any] | None:
        """Version ``version`` (1, 2, ...) of the list as it was signed, or None."""
        found = self.db.conn.execute(
            "SELECT credential FROM status_list_versions WHERE list_id = ? AND version = ?",
            (list_id, version),
        ).fetchone()
        return json.loads(found[0]) if found else None

    def at(self, list_id: str, moment: datetime) -> dict[str, Any] | None:
        """The version of the list that was current at ``moment`` (the latest whose
        ``validFrom`` is not after it: W3C Bitstring Status List's ``?timestamp=``), or None
        for a list that does not exist or had no version yet. Versions' ``valid_from`` never
        goes back (:meth:`_sign_and_store`), so the latest such version is the one served then."""
        found = self.db.conn.execute(
            "SELECT credential FROM status_list_versions WHERE list_id = ? AND valid_from <= ? "
            "ORDER BY version DESC LIMIT 1",
            (list_id, format_datetime(moment)),
        ).fetchone()
        return json.loads(found[0]) if found else None

    # ----------------------------------------------------------------------------------------
    # Internals

    def _now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the clock must return an aware datetime (UTC)")
        return now

    def _list(self, list_id: str) -> _ListRow:
        found = self.db.conn.execute(
            "SELECT id, purpose, entries, allocated, version FROM status_lists WHERE id = ?",
            (list_id,),
        ).fetchone()
        if found is None:
            raise ValueError(f"there is no status list {list_id!r}")
        return _ListRow(*found)

    def _all_lists(self) -> Iterable[_ListRow]:
        rows = self.db.conn.execute(
            "SELECT id, purpose, entries, allocated, version FROM status_lists ORDER BY id"
        ).fetchall()
        return [_ListRow(*r) for r in rows]

    def _current_bits(self, row: _ListRow) -> Bitstring:
        # Only the set bits are read: a handful of rows out of up to 65,536 allocated.
        bits = _empty(row)
        message = row.purpose == "message"
        for idx, value in self.db.conn.execute(self._set_bits_sql, (row.id,)):
            if not message:
                bits.set(idx, 1)
                continue
            bits.set(idx, value)
            # The 1-bit reading's bit for this entry: bit ``idx`` of the string, which lies
            # in 2-bit entry idx // 2 of the unused lower half (see the module text).
            shadow = idx // _MESSAGE_SIZE
            bits.set(shadow, bits.get(shadow) | (2 >> (idx % _MESSAGE_SIZE)))
        return bits

    def _latest_bits(self, row: _ListRow) -> bytes | None:
        # Read back from the database every time (decoding is ~0.1 ms): a cache keyed by
        # version could outlive a rolled-back publish whose version number is reused.
        document = self.version(row.id, row.version)
        if document is None:
            return None
        return Bitstring.decode(document["credentialSubject"]["encodedList"]).to_bytes()

    def _sign_and_store(self, row: _ListRow, bits: Bitstring) -> dict[str, Any]:
        conn = self.db.conn
        now = self._now()
        previous = conn.execute(
            "SELECT valid_from FROM status_list_versions WHERE list_id = ? AND version = ?",
            (row.id, row.version),
        ).fetchone()
        if previous is not None:
            # A clock stepped back must not make a newer version look older than the last.
            now = max(now, parse_datetime(previous[0]))
        valid_from = format_datetime(now)
        valid_until = format_datetime(now + self.validity)
        unsigned = status_list_credential(
            id=self.url(row.id),
            issuer=self.issuer_did,
            purpose=row.purpose,
            bitstring=bits,
            valid_from=valid_from,
            valid_until=valid_until,
            ttl_ms=self.ttl_ms,
        )
        signed = add_proof(unsigned, self.signer, cryptosuite=self.cryptosuite, created=valid_from)
        version = row.version + 1
        try:
            conn.execute(
                "INSERT INTO status_list_versions "
                "(list_id, version, credential, valid_from, valid_until, published_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    row.id,
                    version,
                    json.dumps(signed, ensure_ascii=False, separators=(",", ":")),
                    valid_from,
                    valid_until,
                    format_datetime(self._now()),
                ),
            )
        except sqlite3.IntegrityError:
            raise RuntimeError(
                f"version {version} of {row.id} already exists: status_lists.version is behind "
                "status_list_versions, or publish was called outside a write transaction"
            ) from None
        conn.execute("UPDATE status_lists SET version = ? WHERE id = ?", (version, row.id))
        return signed


def _first_index(row: _ListRow) -> int:
    """The lowest index handed out: a message list keeps its lower half for 1-bit readers."""
    return row.entries // 2 if row.purpose == "message" else 0


def _limit(row: _ListRow) -> int:
    return int((row.entries - _first_index(row)) * FILL_LIMIT)


def _empty(row: _ListRow) -> Bitstring:
    # The size was checked when the manager was made (allow_small is the manager's choice).
    size = _MESSAGE_SIZE if row.purpose == "message" else 1
    return Bitstring(row.entries, size, allow_small=True)


def status_columns(credential_status: Any) -> dict[str, Any]:
    """The ``credentials`` row's status columns for a certificate's ``credentialStatus`` (one
    entry or a list): where its revocation and its suspension are recorded. A message entry
    records both, so both columns name it (:meth:`StatusListManager.mark` sets the right bit).
    """
    entries = credential_status if isinstance(credential_status, list) else [credential_status]
    where: dict[str, tuple[str, int]] = {}
    for entry in entries:
        place = (entry["statusListCredential"].rsplit("/", 1)[1], int(entry["statusListIndex"]))
        purpose = entry["statusPurpose"]
        for recorded in ("revocation", "suspension") if purpose == "message" else (purpose,):
            if recorded in where:
                raise ValueError(f"the credential has two entries for its {recorded}")
            where[recorded] = place
    missing = {"revocation", "suspension"} - where.keys()
    if missing:
        raise ValueError(f"the credential has no entry for its {', '.join(sorted(missing))}")
    return {
        "revocation_list": where["revocation"][0],
        "revocation_index": where["revocation"][1],
        "suspension_list": where["suspension"][0],
        "suspension_index": where["suspension"][1],
    }


def _check_purpose(purpose: object) -> None:
    if purpose not in PURPOSES:
        raise ValueError(
            f"unknown status purpose {purpose!r}: certreg keeps 'revocation', 'suspension' "
            "and 'message' lists"
        )

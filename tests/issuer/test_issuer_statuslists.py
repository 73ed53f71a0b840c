"""issuer.statuslists: random never-reused indices, new lists when one fills, signed versions
that verify, refresh before expiry; on real SQLite files, with real signatures and real
processes killed mid-transaction."""

from __future__ import annotations

import itertools
import random
import signal
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from factories import Clock

from certreg.issuer.db import SCHEMA_VERSION, connect, transaction
from certreg.issuer.statuslists import ENTRIES, FILL_LIMIT, STATUS_FORMS, StatusListManager
from certreg.keys.did import did_key_from_public
from certreg.keys.keypair import KeyPair, PublicKey
from certreg.keys.multikey import decode_public_key
from certreg.verifier.dataintegrity import ProofError, verify_proofs
from certreg.verifier.dates import parse_datetime
from certreg.verifier.statuslist import Bitstring, read_status

ROOT = Path(__file__).resolve().parents[2]
BASE = "https://cb.example"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SMALL = 1024  # small lists for the tests that fill them; limit = 512


def did_key_lookup(proof):
    vm = proof["verificationMethod"]
    if not vm.startswith("did:key:") or "#" not in vm:
        raise ProofError(f"not a did:key verification method: {vm}")
    return PublicKey(decode_public_key(vm.split("#", 1)[1]))


@pytest.fixture(scope="module")
def signer() -> KeyPair:
    pair = KeyPair.generate()
    return pair.with_verification_method(
        f"{did_key_from_public(pair.public_multibase)}#{pair.public_multibase}"
    )


@pytest.fixture
def db_path(tmp_path) -> Path:
    path = tmp_path / "issuer.db"
    connect(path, create=True).close()
    return path


TWO_ENTRIES = STATUS_FORMS["two-entries"]


@pytest.fixture
def make(db_path, signer):
    opened = []

    def make(**options) -> StatusListManager:
        db = connect(options.pop("path", db_path))
        opened.append(db)
        options.setdefault("clock", Clock(T0))
        # Most tests here are about the 1-bit lists; the message form has its own tests.
        options.setdefault("status_form", "two-entries")
        if options.get("entries", ENTRIES) < ENTRIES:
            options["allow_small"] = True
        return StatusListManager(
            db, issuer_did=signer.verification_method.split("#")[0], base_url=BASE, signer=signer,
            **options,
        )  # fmt: skip

    yield make
    for db in opened:
        db.close()


def rows(manager: StatusListManager, sql: str, *params) -> list[tuple]:
    return manager.db.conn.execute(sql, params).fetchall()


# --------------------------------------------------------------------------------------------
# Allocation


def test_indices_are_unique_random_and_spread_over_the_list(make):
    manager = make()
    with transaction(manager.db):
        got = [manager.allocate("revocation", f"urn:uuid:{i}") for i in range(5000)]
    assert {list_id for list_id, _ in got} == {"revocation-1"}
    indices = [index for _, index in got]
    assert len(set(indices)) == 5000
    assert all(0 <= i < ENTRIES for i in indices)
    # Not sequential: consecutive allocations are almost never neighbours, nor in order.
    steps = [b - a for a, b in itertools.pairwise(indices)]
    assert sum(1 for s in steps if abs(s) <= 1) < 5
    assert 2000 < sum(1 for s in steps if s > 0) < 3000
    # Spread: 8 equal slices of the list each get about 625 (σ ≈ 23).
    counts = [0] * 8
    for i in indices:
        counts[i * 8 // ENTRIES] += 1
    assert all(500 < c < 750 for c in counts), counts
    assert rows(manager, "SELECT allocated FROM status_lists WHERE id = 'revocation-1'") == [
        (5000,)
    ]
    # Each index is recorded for its credential.
    recorded = dict(rows(manager, "SELECT idx, credential_id FROM status_entries"))
    assert recorded[indices[1234]] == "urn:uuid:1234"


def test_allocate_refuses_unknown_purpose_and_empty_credential(make):
    manager = make()
    with pytest.raises(ValueError, match="unknown status purpose 'refresh'"):
        manager.allocate("refresh", "urn:uuid:1")
    with pytest.raises(ValueError, match="credential_id must be a non-empty string"):
        manager.allocate("revocation", " ")
    with pytest.raises(ValueError, match="purposes lists a purpose twice"):
        manager.entries_for("urn:uuid:1", ("suspension", "suspension"))
    assert rows(manager, "SELECT count(*) FROM status_entries") == [(0,)]


def test_entries_for_gives_one_entry_per_purpose(make):
    manager = make()
    entries = manager.entries_for("urn:uuid:abc")
    assert [e["statusPurpose"] for e in entries] == list(TWO_ENTRIES)
    for entry, purpose in zip(entries, TWO_ENTRIES, strict=True):
        url = f"{BASE}/status/{purpose}-1"
        assert entry["type"] == "BitstringStatusListEntry"
        assert entry["statusListCredential"] == url == manager.url(f"{purpose}-1")
        assert entry["id"] == f"{url}#{entry['statusListIndex']}"
        assert manager.list_id_from_url(url) == f"{purpose}-1"
        assert rows(
            manager,
            "SELECT credential_id FROM status_entries WHERE list_id = ? AND idx = ?",
            f"{purpose}-1",
            int(entry["statusListIndex"]),
        ) == [("urn:uuid:abc",)]
    # The lists were opened on demand and published, so the URLs answer at once.
    assert all(manager.latest(f"{p}-1") is not None for p in TWO_ENTRIES)
    only = manager.entries_for("urn:uuid:def", purposes="suspension")
    assert [e["statusPurpose"] for e in only] == ["suspension"]
    with pytest.raises(ValueError, match="not one of this issuer's status list URLs"):
        manager.list_id_from_url("https://elsewhere.example/status/revocation-1")


def test_a_full_list_opens_the_next_and_old_lists_keep_serving(make, signer):
    manager = make(entries=SMALL)
    limit = int(SMALL * FILL_LIMIT)
    with transaction(manager.db):
        first = [manager.allocate("revocation", f"urn:uuid:{i}") for i in range(limit)]
    assert {list_id for list_id, _ in first} == {"revocation-1"}
    assert len({index for _, index in first}) == limit

    assert manager.allocate("revocation", "urn:uuid:next")[0] == "revocation-2"
    assert manager.latest("revocation-2") is not None  # published as soon as it was opened
    assert manager.allocate("suspension", "urn:uuid:next") [0] == "suspension-1"  # fmt: skip

    # The old list still changes and publishes; the new one is untouched by it.
    old_id, old_index = first[17]
    manager.set(old_id, old_index, 1)
    old = manager.publish(old_id)
    assert all(c.ok for c in verify_proofs(old, did_key_lookup))
    entry = {
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(old_index),
        "statusListCredential": manager.url(old_id),
    }
    assert read_status(manager.latest(old_id), entry, minimum_entries=SMALL).value == 1
    assert manager.publish_changed() == []
    assert rows(manager, "SELECT id, allocated FROM status_lists ORDER BY id") == [
        ("revocation-1", limit),
        ("revocation-2", 1),
        ("suspension-1", 1),
    ]


def test_a_drifted_counter_is_repaired(make):
    manager = make(entries=SMALL)
    manager.ensure_lists()
    # Every index taken behind the manager's back, the counter left at 0: the draws
    # collide, the count is taken from the rows, and the list is found full.
    with transaction(manager.db):
        manager.db.conn.executemany(
            "INSERT INTO status_entries (list_id, idx, credential_id) "
            "VALUES ('revocation-1', ?, ?)",
            [(i, f"urn:uuid:{i}") for i in range(SMALL)],
        )
    assert manager.allocate("revocation", "urn:uuid:next")[0] == "revocation-2"
    assert rows(manager, "SELECT id, allocated FROM status_lists WHERE purpose = 'revocation'") == [
        ("revocation-1", SMALL),
        ("revocation-2", 1),
    ]


def test_entries_for_many_spills_into_the_next_list_and_skips_taken_indices(make):
    """Bulk issuance reserves a batch at once: a batch larger than the open list's room fills
    it to its limit and goes on in the next list, and indices other credentials hold (here
    half of the list, taken behind the manager's back) are drawn again, never shared."""
    manager = make(entries=SMALL, rng=random.Random(7))
    limit = int(SMALL * FILL_LIMIT)
    manager.ensure_lists()
    taken = list(range(0, SMALL, 2))[: limit // 2]
    with transaction(manager.db):
        manager.db.conn.executemany(
            "INSERT INTO status_entries (list_id, idx, credential_id) "
            "VALUES ('revocation-1', ?, ?)",
            [(i, f"urn:uuid:old-{i}") for i in taken],
        )
        manager.db.conn.execute(
            "UPDATE status_lists SET allocated = ? WHERE id = 'revocation-1'", (len(taken),)
        )
    ids = [f"urn:uuid:new-{i}" for i in range(limit)]
    with transaction(manager.db):
        batch = manager.entries_for_many(ids)
    assert [[e["statusPurpose"] for e in entries] for entries in batch] == [
        list(TWO_ENTRIES)
    ] * len(ids)
    held = rows(manager, "SELECT list_id, idx, credential_id FROM status_entries")
    assert len(held) == len(taken) + 2 * len(ids)  # nobody's index was taken over
    for credential_id, entries in zip(ids, batch, strict=True):
        for entry in entries:
            list_id = manager.list_id_from_url(entry["statusListCredential"])
            assert (list_id, int(entry["statusListIndex"]), credential_id) in held
    assert rows(manager, "SELECT id, allocated FROM status_lists ORDER BY id") == [
        ("revocation-1", limit),
        ("revocation-2", len(ids) - limit // 2),
        ("suspension-1", len(ids)),
    ]


class StuckRandom(random.Random):
    """Draws index 0 the first 64 times: as unlucky as a list below its limit can be."""

    def __init__(self) -> None:
        super().__init__(0)
        self.stuck = 64

    def randrange(self, *args, **kwargs):
        if self.stuck:
            self.stuck -= 1
            return 0
        return super().randrange(*args, **kwargs)


def test_endless_collisions_fall_back_to_a_free_index(make):
    manager = make(entries=SMALL, rng=StuckRandom())
    first = manager.allocate("revocation", "urn:uuid:first")  # takes index 0 on the first draw
    assert first == ("revocation-1", 0)
    list_id, index = manager.allocate("revocation", "urn:uuid:second")
    assert list_id == "revocation-1" and index != 0
    assert rows(manager, "SELECT allocated FROM status_lists WHERE id = 'revocation-1'") == [(2,)]


# --------------------------------------------------------------------------------------------
# Kill safety


def test_a_rolled_back_allocation_leaves_no_trace(make):
    make().ensure_lists()
    manager = make(rng=random.Random(42))
    before = rows(manager, "SELECT id, allocated, version FROM status_lists ORDER BY id")

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction(manager.db):
        lost = manager.allocate("revocation", "urn:uuid:lost")
        manager.set(*lost, 1)
        manager.publish(lost[0])
        raise Boom
    assert rows(manager, "SELECT count(*) FROM status_entries") == [(0,)]
    assert rows(manager, "SELECT id, allocated, version FROM status_lists ORDER BY id") == before

    # The same random draw succeeds now: the index was never taken.
    assert make(rng=random.Random(42)).allocate("revocation", "urn:uuid:kept") == lost


def test_a_committed_index_is_never_reused_after_reopening(make, db_path):
    first = make(rng=random.Random(9))
    got = first.allocate("suspension", "urn:uuid:one")
    first.db.close()
    # A new connection (as after a restart) with the same random sequence must draw again.
    second = make(rng=random.Random(9))
    other = second.allocate("suspension", "urn:uuid:two")
    assert other != got
    assert rows(second, "SELECT idx, credential_id FROM status_entries ORDER BY credential_id") == [
        (got[1], "urn:uuid:one"),
        (other[1], "urn:uuid:two"),
    ]


CHILD = textwrap.dedent(
    """
    import random, sys, time
    from certreg.issuer.db import connect, transaction
    from certreg.issuer.statuslists import StatusListManager
    from certreg.keys.keypair import KeyPair

    path, seed, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    db = connect(path)
    manager = StatusListManager(db, issuer_did="did:key:z", base_url="https://cb.example",
                                signer=KeyPair.generate("did:key:z#z"), rng=random.Random(seed))
    with transaction(db):
        list_id, index = manager.allocate("revocation", "urn:uuid:child")
        print(list_id, index, flush=True)
        if mode == "hang":
            time.sleep(60)  # killed here, inside the transaction
    """
)


def _child(db_path: Path, seed: int, mode: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db_path), str(seed), mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_kill_9_inside_the_transaction_leaves_no_trace_and_commits_survive(make, db_path):
    make().ensure_lists()  # so that the child has no list to open and publish

    child = _child(db_path, 5, "hang")
    list_id, index = child.stdout.readline().split()
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    manager = make(rng=random.Random(5))
    assert rows(manager, "SELECT count(*) FROM status_entries") == [(0,)]
    assert manager.allocate("revocation", "urn:uuid:parent") == (list_id, int(index))

    # A child that commits the same draw: the index stays with the parent's credential.
    child = _child(db_path, 5, "commit")
    out, _ = child.communicate(timeout=30)
    assert child.returncode == 0
    child_list, child_index = out.split()
    assert (child_list, int(child_index)) != (list_id, int(index))
    assert rows(manager, "SELECT idx, credential_id FROM status_entries ORDER BY idx") == sorted(
        [(int(index), "urn:uuid:parent"), (int(child_index), "urn:uuid:child")]
    )


def test_two_writers_never_get_the_same_index(make):
    # Small lists and the same random sequence on both connections: the writers draw the
    # same indices in the same order and race to open the same new lists.
    managers = [make(entries=SMALL, rng=random.Random(1)) for _ in range(2)]
    results: list[list[tuple[str, int]]] = [[], []]
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for batch in range(20):
                with transaction(managers[n].db):
                    for i in range(30):
                        results[n].append(
                            managers[n].allocate("revocation", f"urn:uuid:{n}-{batch}-{i}")
                        )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    together = results[0] + results[1]
    assert len(together) == len(set(together)) == 1200
    assert {list_id for list_id, _ in together} == {"revocation-1", "revocation-2", "revocation-3"}
    checker = make(entries=SMALL)
    assert rows(checker, "SELECT id, allocated FROM status_lists ORDER BY id") == [
        ("revocation-1", 512),
        ("revocation-2", 512),
        ("revocation-3", 176),
    ]
    assert rows(checker, "SELECT count(*) FROM status_entries") == [(1200,)]


# --------------------------------------------------------------------------------------------
# Publishing


def test_published_lists_verify_and_show_the_bits_set(make):
    clock = Clock(T0)
    manager = make(clock=clock)
    manager.ensure_lists()
    entries = [manager.entries_for(f"urn:uuid:{i}") for i in range(3)]
    suspended = entries[1][1]
    list_id = manager.list_id_from_url(suspended["statusListCredential"])
    assert list_id == "suspension-1"
    clock.now = T0 + timedelta(minutes=5)
    with transaction(manager.db):
        manager.set(list_id, int(suspended["statusListIndex"]), 1)
        published = manager.publish(list_id)

    assert published == manager.latest(list_id) == manager.version(list_id, 2)
    checks = verify_proofs(published, did_key_lookup, now=clock.now)
    assert checks and all(c.ok for c in checks), checks
    assert published["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert published["id"] == f"{BASE}/status/suspension-1"
    assert published["issuer"] == manager.issuer_did
    assert published["validFrom"] == "2026-03-01T09:05:00Z"
    assert published["validUntil"] == "2026-03-03T09:05:00Z"
    assert published["credentialSubject"]["ttl"] == 300_000
    assert read_status(published, suspended).value == 1
    for other in (entries[0][1], entries[2][1]):
        assert read_status(published, other).value == 0
    for revocation in (e[0] for e in entries):
        assert read_status(manager.latest("revocation-1"), revocation).value == 0

    # Earlier versions stay as they were signed; versions count up.
    assert read_status(manager.version(list_id, 1), suspended).value == 0
    with transaction(manager.db):
        manager.set(list_id, int(suspended["statusListIndex"]), 0)  # reinstated
        manager.publish(list_id)
    assert read_status(manager.latest(list_id), suspended).value == 0
    assert read_status(manager.version(list_id, 2), suspended).value == 1
    assert rows(manager, "SELECT version FROM status_lists WHERE id = ?", list_id) == [(3,)]
    versions = rows(
        manager, "SELECT version FROM status_list_versions WHERE list_id = ? ORDER BY 1", list_id
    )
    assert versions == [(1,), (2,), (3,)]
    assert manager.version(list_id, 4) is None
    assert manager.latest("suspension-9") is None


def test_a_rolled_back_decision_leaves_bits_and_served_list_as_they_were(make):
    manager = make()
    manager.ensure_lists()
    list_id, index = manager.allocate("suspension", "urn:uuid:1")
    served = manager.latest(list_id)
    with pytest.raises(RuntimeError), transaction(manager.db):
        manager.set(list_id, index, 1)
        manager.publish(list_id)
        raise RuntimeError("the decision failed after publishing")
    assert manager.latest(list_id) == served
    assert rows(manager, "SELECT value FROM status_entries") == [(0,)]


def test_set_refuses_what_would_mark_the_wrong_person(make):
    manager = make()
    list_id, index = manager.allocate("revocation", "urn:uuid:1")
    free = (index + 1) % ENTRIES
    with pytest.raises(ValueError, match=f"index {free} of list revocation-1 was never allocated"):
        manager.set(list_id, free, 1)
    with pytest.raises(ValueError, match="outside list revocation-1"):
        manager.set(list_id, ENTRIES, 1)
    with pytest.raises(ValueError, match="a status value is 0 or 1"):
        manager.set(list_id, index, 2)
    with pytest.raises(ValueError, match="no status list 'revocation-7'"):
        manager.set("revocation-7", index, 1)
    with pytest.raises(ValueError, match="no status list"):
        manager.publish("revocation-7")
    manager.set(list_id, index, 1)
    with pytest.raises(ValueError, match="revocation cannot be undone"):
        manager.set(list_id, index, 0)
    manager.set(list_id, index, 1)  # setting it again is harmless


def test_publish_changed_finds_changes_even_from_another_connection(make):
    manager = make()
    manager.ensure_lists()
    assert manager.publish_changed() == []
    list_id, index = manager.allocate("suspension", "urn:uuid:1")
    assert manager.publish_changed() == []  # an allocation changes no bit

    # Set and cleared again before publishing: nothing to publish.
    manager.set(list_id, index, 1)
    manager.set(list_id, index, 0)
    assert manager.publish_changed() == []

    # Committed by another process that died before publishing: still found.
    other = make()
    other.set(list_id, index, 1)
    other.db.close()
    fresh = make()
    assert fresh.publish_changed() == ["suspension-1"]
    assert rows(fresh, "SELECT id, version FROM status_lists ORDER BY id") == [
        ("revocation-1", 1),
        ("suspension-1", 2),
    ]
    assert fresh.publish_changed() == []
    assert Bitstring.decode(fresh.latest(list_id)["credentialSubject"]["encodedList"]).get(index)


def test_refresh_due_resigns_only_lists_near_expiry(make):
    clock = Clock(T0)
    manager = make(clock=clock)
    manager.ensure_lists()  # both valid until T0 + 2 days
    clock.now = T0 + timedelta(days=1)
    manager.publish("suspension-1")  # valid until T0 + 3 days

    clock.now = T0 + timedelta(days=1, hours=11)
    assert manager.refresh_due() == []  # revocation-1 expires in 13 h, outside the 12 h margin
    clock.now = T0 + timedelta(days=1, hours=12)
    assert manager.refresh_due() == ["revocation-1"]
    latest = manager.latest("revocation-1")
    assert parse_datetime(latest["validUntil"]) == clock.now + timedelta(days=2)
    assert all(c.ok for c in verify_proofs(latest, did_key_lookup, now=clock.now))
    assert manager.refresh_due() == []
    assert manager.refresh_due(margin=timedelta(days=2)) == ["revocation-1", "suspension-1"]
    with pytest.raises(ValueError, match="margin must be a timedelta"):
        manager.refresh_due(margin=timedelta(hours=-1))


def test_a_clock_stepped_back_never_dates_a_new_version_earlier(make):
    clock = Clock(T0)
    manager = make(clock=clock)
    manager.ensure_lists()
    clock.now = T0 - timedelta(hours=1)
    again = manager.publish("revocation-1")
    assert again["validFrom"] == manager.version("revocation-1", 1)["validFrom"]


def test_ensure_lists_is_idempotent(make):
    manager = make()
    manager.ensure_lists()
    manager.ensure_lists()
    assert rows(manager, "SELECT id, purpose, entries, allocated, version FROM status_lists "
                "ORDER BY id") == [("revocation-1", "revocation", ENTRIES, 0, 1),
                                   ("suspension-1", "suspension", ENTRIES, 0, 1)]  # fmt: skip
    empty = manager.latest("revocation-1")["credentialSubject"]["encodedList"]
    assert Bitstring.decode(empty) == Bitstring()


def test_jcs_lists_verify_too(make):
    manager = make(cryptosuite="eddsa-jcs-2022")
    manager.ensure_lists()
    signed = manager.latest("suspension-1")
    assert signed["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    assert all(c.ok for c in verify_proofs(signed, did_key_lookup, now=T0))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"entries": 65_536, "allow_small": False}, "at least 131072 entries for herd privacy"),
        ({"entries": 1001, "allow_small": True}, "multiple of 8"),
        ({"ttl_ms": 3 * 24 * 3600 * 1000}, "must be shorter than validity"),
        ({"validity": timedelta(0)}, "validity must be a positive timedelta"),
        ({"cryptosuite": "rsa"}, "unknown cryptosuite"),
        ({"base_url": "cb.example"}, "base_url must be an http"),
    ],
)
def test_bad_settings_are_refused_in_plain_words(db_path, signer, options, message):
    db = connect(db_path)
    options = {"issuer_did": "did:key:z", "base_url": BASE, "signer": signer} | options
    with pytest.raises(ValueError, match=message):
        StatusListManager(db, **options)
    db.close()


# --------------------------------------------------------------------------------------------
# The message form: one 2-bit entry per certificate, readable by 1-bit readers too


def one_bit_reading(listed: dict, index: int) -> int:
    """What a verifier that ignores statusSize reads (Digital Bazaar's and the DCC's
    vc-bitstring-status-list): the single bit at ``index``."""
    return Bitstring.decode(listed["credentialSubject"]["encodedList"]).get(index)


def test_message_entries_carry_suspension_and_withdrawal_in_one_entry(make):
    manager = make(status_form="message")
    manager.ensure_lists()
    entries = {name: manager.entries_for(f"urn:uuid:{name}") for name in ("a", "b", "c", "d")}
    for [entry] in entries.values():
        assert entry["statusPurpose"] == "message"
        assert entry["statusSize"] == 2
        assert [m["message"] for m in entry["statusMessage"]] == [
            "valid",
            "suspended",
            "withdrawn",
            "withdrawn",
        ]
        # Handed out from the upper half only: the lower half holds the 1-bit readers' bits.
        assert ENTRIES <= int(entry["statusListIndex"]) < 2 * ENTRIES
    where = {n: (manager.list_id_from_url(e["statusListCredential"]), int(e["statusListIndex"]))
             for n, [e] in entries.items()}  # fmt: skip
    with transaction(manager.db):
        manager.mark(*where["b"], "suspension", True)
        manager.mark(*where["c"], "revocation", True)
        manager.mark(*where["d"], "suspension", True)
        manager.mark(*where["d"], "revocation", True)
        published = manager.publish("message-1")
    checks = verify_proofs(published, did_key_lookup, now=manager.clock())
    assert checks and all(c.ok for c in checks)
    assert published["credentialSubject"]["statusPurpose"] == "message"
    readings = {n: read_status(published, e) for n, [e] in entries.items()}
    assert {n: (r.value, r.message) for n, r in readings.items()} == {
        "a": (0, "valid"),
        "b": (1, "suspended"),
        "c": (2, "withdrawn"),
        "d": (3, "withdrawn"),
    }
    # A 1-bit reader sees "set" exactly for the certificates not in force.
    assert {n: one_bit_reading(published, i) for n, (_, i) in where.items()} == {
        "a": 0,
        "b": 1,
        "c": 1,
        "d": 1,
    }
    # Reinstating clears the suspension (and the 1-bit reader's bit); a withdrawal stays.
    with transaction(manager.db):
        manager.mark(*where["b"], "suspension", False)
        manager.mark(*where["d"], "suspension", False)
        published = manager.publish("message-1")
    assert read_status(published, entries["b"][0]).message == "valid"
    assert read_status(published, entries["d"][0]).message == "withdrawn"
    assert one_bit_reading(published, where["b"][1]) == 0
    assert one_bit_reading(published, where["d"][1]) == 1


def test_a_message_entrys_withdrawal_cannot_be_undone(make):
    manager = make(status_form="message")
    [entry] = manager.entries_for("urn:uuid:1")
    list_id, index = (
        manager.list_id_from_url(entry["statusListCredential"]),
        int(entry["statusListIndex"]),
    )
    manager.mark(list_id, index, "revocation", True)
    with pytest.raises(ValueError, match="revocation cannot be undone"):
        manager.mark(list_id, index, "revocation", False)
    with pytest.raises(ValueError, match="revocation cannot be undone"):
        manager.set(list_id, index, 1)  # "suspended only" would clear the withdrawal
    with pytest.raises(ValueError, match="is 0 to 3"):
        manager.set(list_id, index, 4)
    assert rows(manager, "SELECT value FROM status_entries") == [(2,)]


def test_the_lower_half_of_a_message_list_is_never_handed_out(make):
    """Otherwise a 1-bit reader's bit for one certificate could be another's 2-bit entry."""
    manager = make(status_form="message", entries=SMALL)
    indices = [int(manager.entries_for(f"urn:uuid:{i}")[0]["statusListIndex"]) for i in range(600)]
    lists = rows(manager, "SELECT id, entries, allocated FROM status_lists ORDER BY id")
    # 2 * SMALL entries per list, half of its upper half filled before the next one opens.
    assert ("message-1", 2 * SMALL, SMALL // 2) in lists
    assert ("message-2", 2 * SMALL, 600 - SMALL // 2) in lists
    assert all(SMALL <= i < 2 * SMALL for i in indices)


def test_mark_refuses_a_purpose_the_list_does_not_hold(make):
    manager = make()
    list_id, index = manager.allocate("suspension", "urn:uuid:1")
    with pytest.raises(ValueError, match="holds suspension entries, not revocation"):
        manager.mark(list_id, index, "revocation", True)
    with pytest.raises(ValueError, match="revocation or a suspension"):
        manager.mark(list_id, index, "message", True)


def test_a_schema_4_database_gains_message_lists_and_keeps_its_data(tmp_path):
    """Migration 5 edits one CHECK constraint in place; lists and entries stay, foreign keys
    and the other constraints hold."""
    import sqlite3

    from certreg.issuer import db as issuer_db

    path = tmp_path / "issuer.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
    for version, script in enumerate(issuer_db.MIGRATIONS[:4], start=1):
        for statement in issuer_db._statements(script):  # type: ignore[arg-type]
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, 'then')", (version,))
    conn.execute(
        "INSERT INTO status_lists (id, purpose, entries, created_at) "
        "VALUES ('revocation-1', 'revocation', 8, 'then')"
    )
    conn.execute("INSERT INTO status_entries VALUES ('revocation-1', 3, 'urn:uuid:1', 1)")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute(
            "INSERT INTO status_lists (id, purpose, entries, created_at) "
            "VALUES ('message-1', 'message', 16, 'then')"
        )
    conn.close()

    db = connect(path)
    db.execute(
        "INSERT INTO status_lists (id, purpose, entries, created_at) "
        "VALUES ('message-1', 'message', 16, 'now')"
    )
    assert db.execute("SELECT * FROM status_entries").fetchall() == [
        ("revocation-1", 3, "urn:uuid:1", 1)
    ]
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        db.execute(
            "INSERT INTO status_lists (id, purpose, entries, created_at) "
            "VALUES ('x-1', 'refresh', 8, 'now')"
        )
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        db.execute("INSERT INTO status_entries VALUES ('nowhere-1', 1, 'urn:uuid:2', 0)")
    assert db.execute("SELECT MAX(version) FROM schema_migrations").fetchone() == (
        SCHEMA_VERSION,
    )  # and every later one

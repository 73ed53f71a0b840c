"""Nothing private reaches register.db: a populated register searched table by table, column by
column, and byte by byte in the raw files, for every private value the issuer holds.

The body has holders with e-mail, birth date, address, national id, internal notes and exam
scores; refused decisions (the examiner tried to decide); reasons and evidence on every
decision; API tokens; and one holder per policy (directory with and without consent,
number_lookup, on_request), then a consent withdrawal and a policy change.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from register_support import add_holder, grant, make_body

from certreg.issuer.cli.publish import publish_command
from certreg.issuer.register_push import rebuild
from certreg.issuer.service import Refused
from certreg.issuer.tokens import create_token
from certreg.register import push
from certreg.register.db import open_register

PRIVATE = {
    "email": "zz-private-mail@holder.example",
    "birth_date": "1961-07-19",
    "address": "17 Quillfeather Lane, Smallville",
    "national_id": "NID-99887766554",
    "notes": "INTERNAL-NOTE-fraud-suspicion",
    "assessment_notes": "EXAMINER-REMARK-nervous-candidate",
    "score": "93.25718",
}
EVIDENCE = "EVIDENCE-file-confidential-4711"
REASON = "REASON-drunk-at-work-incident"
# Names that must never be readable: on_request holders, directory holders without consent,
# number_lookup holders (sealed: present only encrypted), a consent withdrawn. Each word is a
# marker of at least 9 letters: the files are searched case-insensitively, word by word (the
# search index stores words), and hold kilobytes of random base64 and ciphertext. A 4-letter
# word ("Nina") turned up in random base64 about one run in ten; a 9-letter one matches a
# position of random base64 with odds of 32^-9, about 3 in 10^14: for 8 such words in a few
# hundred kilobytes, one run in tens of millions.
OLIVIA = "Oliviannah Onrequestonly"
RAVI = "Ravindrakumar Nonconsenting"
NINA = "Ninabellamy Numberlookupper"
WALTER = "Walterbrandt Wendelinsky"
HIDDEN_NAMES = (OLIVIA, RAVI, NINA, WALTER)
#: Shortest needle searched for; see HIDDEN_NAMES.
MIN_NEEDLE = 8


@pytest.fixture(scope="module")
def populated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("privacy")
    b = make_body(tmp)
    people = {}
    for key, name, consent, schemes in [
        ("jane", "Jane Listed", True, ("cwi",)),
        ("ravi", RAVI, False, ("cwi",)),
        ("nina", NINA, True, ("ndt",)),
        ("olivia", OLIVIA, True, ("sec",)),
        ("walter", WALTER, True, ("cwi",)),
        ("moving", "Mona Moving", True, ("cwi",)),
    ]:
        private = {**PRIVATE, "email": f"{key}-{PRIVATE['email']}"}
        people[key] = add_holder(b, key, name, consent=consent, schemes=schemes, private=private)
    # A refused decision: the examiner may not decide (logged with its reason, in issuer.db).
    with pytest.raises(Refused):
        b.body.grant(people["jane"], "cwi", [("UT2",)], decided_by=b.examiner, evidence=EVIDENCE)
    numbers = {}
    for key in people:
        scheme_id = {"nina": "ndt", "olivia": "sec"}.get(key, "cwi")
        numbers[key] = grant(b, people[key], scheme_id, evidence=EVIDENCE, reason=REASON)
    b.body.suspend(
        numbers["jane"], decided_by=b.decider, reason=REASON, until="2026-04-01", evidence=EVIDENCE
    )
    b.body.reduce_scope(
        numbers["ravi"], decided_by=b.decider, remove=["UT2"], reason=REASON, evidence=EVIDENCE
    )
    b.body.withdraw(numbers["nina"], decided_by=b.decider, reason=REASON, evidence=EVIDENCE)
    _info, secret = create_token(b.body, b.decider, name="TOKEN-NAME-ops-laptop")
    # Walter withdraws his consent (the issuer records it; the hook publishes it).
    b.body.db.execute("UPDATE persons SET consent_publish = 0 WHERE id = ?", [people["walter"]])
    b.sync("person", people["walter"])
    staff = [r[0] for r in b.body.db.execute("SELECT name FROM staff")] + [
        r[0] for r in b.body.db.execute("SELECT email FROM staff WHERE email IS NOT NULL")
    ]
    token_hash = b.body.db.execute("SELECT token_hash FROM api_tokens").fetchone()[0]
    secrets = [
        *PRIVATE.values(),
        *(f"{k}-{PRIVATE['email']}" for k in people),
        EVIDENCE,
        REASON,
        secret,
        token_hash,
        "TOKEN-NAME-ops-laptop",
        *staff,
        *people.values(),  # internal person ids
        "decision_refused",
        "examined this candidate",
    ]
    b.sync.flush()
    return b, people, numbers, secrets


def _files(path: Path) -> list[Path]:
    return [p for p in (path, Path(f"{path}-wal")) if p.exists()]


def _checkpoint(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _check_distinctive(needles: list[str]) -> None:
    """A needle short enough to turn up in random bytes makes the test fail by chance."""
    short = [n for n in needles if len(n) < MIN_NEEDLE]
    assert not short, f"needles too short to be searched for in random bytes: {short}"


def _assert_nothing_private(path: Path, secrets: list[str], numbers: dict[str, str]) -> None:
    _checkpoint(path)
    blobs = b"".join(p.read_bytes() for p in _files(path)).lower()
    # Bytes: private values, hidden names (also as the search index's lower-case words), the
    # numbers of on_request and number_lookup certificates.
    needles = [*secrets, *HIDDEN_NAMES, *(w for n in HIDDEN_NAMES for w in n.split())]
    needles += [numbers["olivia"], numbers["nina"]]
    _check_distinctive(needles)
    for needle in needles:
        assert needle.lower().encode() not in blobs, f"{needle!r} is in the raw file {path}"
    # Every cell of every table, as text.
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        for row in conn.execute(f'SELECT * FROM "{table}"'):
            text = " ".join(str(c) for c in row if not isinstance(c, bytes)).lower()
            for needle in needles:
                assert needle.lower() not in text, f"{needle!r} in table {table}: {row}"
    conn.close()


def test_register_db_holds_nothing_private(populated):
    b, _, numbers, secrets = populated
    _assert_nothing_private(b.register, secrets, numbers)


def test_only_public_columns_exist():
    db = open_register(":memory:", create=True)
    columns = {c.name for t in db.tables for c in t.columns}
    for private in (
        "email",
        "birth_date",
        "address",
        "national_id",
        "notes",
        "score",
        "evidence",
        "reason",
        "token_hash",
        "person_id",
        "decided_by",
        "details",
    ):
        assert private not in columns


def test_each_policy_shows_what_it_should(populated):
    b, _, numbers, _ = populated
    db = open_register(b.register)
    conn = db.conn
    listed = dict(conn.execute("SELECT number, holder_name FROM certifications").fetchall())
    # directory: with consent by name; without consent (or consent withdrawn) by number only
    assert listed[numbers["jane"]] == "Jane Listed"
    assert listed[numbers["ravi"]] is None
    assert listed[numbers["walter"]] is None
    assert set(listed) == {numbers[k] for k in ("jane", "ravi", "walter", "moving")}
    # on_request: absent from every table
    assert push.find(db, numbers["olivia"]) is None
    # number_lookup: unreadable without the number, readable with it
    (sealed,) = conn.execute("SELECT sealed FROM lookup").fetchone()
    for other in ("jane", "ravi", "olivia"):
        with pytest.raises(push.SealError):
            push.unseal(sealed, numbers[other], push.lookup_key(db))
    record = push.find(db, numbers["nina"])
    assert record["holder_name"] == NINA
    assert record["status"] == "WITHDRAWN"
    assert {"email", "birth_date", "reason", "evidence"}.isdisjoint(record)
    # The history says what was decided and when, never why.
    assert [h["decision"] for h in record["history"]] == ["grant", "withdraw"]
    assert set(record["history"][0]) == {
        "seq",
        "effective_date",
        "decided_at",
        "decision",
        "status",
        "scope",  # a signing decision's scope and expiry, as its credential states them
        "valid_until",
    }
    # The grant's: the item codes and conditions its certificate shows, and its expiry.
    scope = json.loads(record["history"][0]["scope"])
    assert all(set(item) == {"code", "conditions"} for item in scope)
    assert record["history"][0]["valid_until"] == record["valid_until"]
    assert record["history"][1]["scope"] is None  # a withdrawal signs nothing


def test_after_a_policy_change_to_on_request_nothing_of_the_scheme_remains(populated, tmp_path):
    b, _, numbers, secrets = populated
    b.body.add_scheme_version("cwi", publication_policy="on_request")
    try:
        hidden = [*secrets, "Jane Listed", "Mona Moving"]
        both = {**numbers, "olivia": numbers["jane"], "nina": numbers["moving"]}
        _assert_nothing_private(b.register, hidden, both)
    finally:
        b.body.add_scheme_version("cwi", publication_policy="directory")
    db = open_register(b.register)
    assert push.find(db, numbers["jane"])["holder_name"] == "Jane Listed"


def test_a_rebuilt_register_and_the_published_snapshot_hold_nothing_private(populated, tmp_path):
    b, _, numbers, secrets = populated
    out = tmp_path / "rebuilt.db"
    rebuild(b.body, out)
    _assert_nothing_private(out, secrets, numbers)
    bundle = tmp_path / "bundle"
    result = CliRunner().invoke(publish_command, [str(bundle), "--data", str(b.data)])
    assert result.exit_code == 0, result.output
    blobs = b"".join(p.read_bytes() for p in bundle.rglob("*") if p.is_file()).lower()
    needles = [*secrets, *HIDDEN_NAMES, numbers["olivia"], numbers["nina"]]
    _check_distinctive(needles)
    for needle in needles:
        assert needle.lower().encode() not in blobs, f"{needle!r} is in the published bundle"


@pytest.mark.parametrize(
    "leak",
    [
        # A hidden name in a listed row, as the search index would also hold it.
        "UPDATE certifications SET holder_name = :name WHERE number = :number",
        # Only one word of it, in lower case, in another table's text.
        "UPDATE schemes SET description = description || ' ' || lower(:word)",
        # A private value anywhere.
        "UPDATE schemes SET description = description || ' ' || :private",
    ],
)
def test_the_search_finds_a_planted_leak(populated, tmp_path, leak):
    # The check above must fail when a private value is there: plant one in a copy.
    b, _, numbers, secrets = populated
    copy = tmp_path / "leaky.db"
    source = sqlite3.connect(b.register)
    target = sqlite3.connect(copy)
    source.backup(target)
    source.close()
    params = {
        "name": NINA,
        "word": NINA.split()[1],
        "number": numbers["jane"],
        "private": PRIVATE["national_id"],
    }
    target.execute(leak, {k: v for k, v in params.items() if f":{k}" in leak})
    target.commit()
    target.close()
    with pytest.raises(AssertionError, match=r"is in the raw file|in table"):
        _assert_nothing_private(copy, secrets, numbers)

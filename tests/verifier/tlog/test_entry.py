"""A log entry (certreg.verifier.tlog.entry) says a decision and nothing private, in one
canonical form; anything else is refused with the reason."""

from __future__ import annotations

import hashlib
import json

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from certreg.verifier.tlog.entry import Entry, EntryError, credential_hash, parse_entry

CREDENTIAL = {"type": ["VerifiableCredential"], "credentialSubject": {"name": "Jane Doe"}}
FIRST = credential_hash(CREDENTIAL)
EVENT = hashlib.sha256(b"audit event 7").hexdigest()
GRANT = Entry(
    kind="grant", at="2026-03-12T09:30:00Z", scheme="cwi", cert=FIRST, event=EVENT,
    credential=FIRST, number="CWI-7K3M-9QX2-4",
)  # fmt: skip


def test_an_entry_is_its_jcs_bytes_and_reads_back_the_same():
    data = GRANT.to_bytes()
    assert data == (
        b'{"at":"2026-03-12T09:30:00Z","cert":"' + FIRST.encode() + b'","credential":"'
        + FIRST.encode() + b'","event":"' + EVENT.encode() + b'","kind":"grant",'
        b'"number":"CWI-7K3M-9QX2-4","scheme":"cwi","v":1}'
    )  # fmt: skip
    assert parse_entry(data) == GRANT
    assert data == rfc8785.dumps(GRANT.to_json())  # the fast writer is JCS
    suspension = Entry(
        kind="suspend", at="2026-04-01T00:00:00Z", scheme="cwi", cert=FIRST, event=EVENT
    )
    assert parse_entry(suspension.to_bytes()) == suspension
    assert b"credential" not in suspension.to_bytes() and b"number" not in suspension.to_bytes()


def test_the_credential_hash_is_of_its_jcs_form_or_its_bytes():
    from rfc8785 import dumps

    assert credential_hash(CREDENTIAL) == hashlib.sha256(dumps(CREDENTIAL)).hexdigest()
    assert credential_hash(b"abc") == credential_hash("abc") == hashlib.sha256(b"abc").hexdigest()


def _with(**changes) -> bytes:
    data = {**json.loads(GRANT.to_bytes()), **changes}
    data = {k: v for k, v in data.items() if v is not None}
    return json.dumps(data, separators=(",", ":"), sort_keys=True).encode()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1]", "a JSON object"),
        (_with(holder="Jane Doe"), "unknown field(s): holder"),
        (_with(v=2), "format 2"),
        (_with(v=True), "format True"),
        (_with(kind="delete"), "kind 'delete'"),
        (_with(at="12 March 2026"), "not a UTC time"),
        (_with(at="2026-03-12T09:30:00+01:00"), "not a UTC time"),
        (_with(cert="ABC"), "cert is not a SHA-256"),
        (_with(credential=None), "needs the SHA-256 of the credential"),
        (_with(credential=EVENT), "a grant's cert is the hash"),
        (_with(kind="suspend"), "signs no credential, but names one"),
        (_with(number="<script>"), "is not a certificate number"),
        (_with(scheme=["cwi"]), "is not a scheme id"),
        (_with(kind=["grant"]), "wrong types"),
        (_with(event=None), "missing field(s): event"),
        (b" " + GRANT.to_bytes(), "canonical form"),
        (GRANT.to_bytes().replace(b'"v":1', b'"v":1.0'), "format 1.0"),
        (GRANT.to_bytes().replace(b'"kind":"grant"', b'"kind":"gr\\u0061nt"'), "canonical form"),
        (b"{" + b" " * 9000 + b"}", "at most 8192 bytes"),
        (_with(kind="suspend", credential=None, scope=["UT2"]), "sets no scope and no expiry"),
        (_with(kind="suspend", credential=None, until="2029-03-12"), "sets no scope"),
        (_with(scope="UT2"), "scope is a list"),
        (_with(scope=["VT2", "UT2"]), "sorted and each appears once"),
        (_with(scope=["UT2", "UT2"]), "sorted and each appears once"),
        (_with(scope=[""]), "1 to 64 printable"),
        (_with(scope=[f"C{i:03d}" for i in range(65)]), "more than 64 items"),
        (_with(until="12 March 2029"), "is not a day like"),
        (_with(until="2029-02-30"), "not a day of the calendar"),
    ],
)
def test_a_malformed_entry_is_refused_with_the_reason(data, reason):
    with pytest.raises(EntryError, match=None) as refused:
        parse_entry(data)
    assert reason in str(refused.value), str(refused.value)


def test_a_signing_entry_carries_the_scope_and_expiry_it_signed_and_old_entries_still_read():
    """The scope codes and expiry in force after a signing decision (docs/transparency.md,
    "What a leaf holds"); an entry written before these fields existed has neither, and reads
    as it always did."""
    recert = Entry(
        kind="recertify", at="2029-01-10T10:00:00Z", scheme="cwi", cert=FIRST, event=EVENT,
        credential=EVENT, scope=("UT2", "VT2"), until="2032-03-12",
    )  # fmt: skip
    data = recert.to_bytes()
    assert b'"scope":["UT2","VT2"]' in data and b'"until":"2032-03-12"' in data
    assert data == rfc8785.dumps(recert.to_json())
    assert parse_entry(data) == recert
    assert parse_entry(GRANT.to_bytes()).scope is None  # the old form
    assert parse_entry(GRANT.to_bytes()).until is None
    # A scope code outside ASCII is still written as JCS (UTF-8, unescaped).
    odd = Entry(**{**recert.__dict__, "scope": ("Schweißen", "UT2")})
    assert odd.to_bytes() == rfc8785.dumps(odd.to_json())
    assert parse_entry(odd.to_bytes()) == odd


@given(
    kind=st.sampled_from(sorted(["grant", "suspend", "recertify", "withdraw", "correct"])),
    number=st.none() | st.from_regex(r"\A[A-Z0-9][A-Z0-9-]{2,20}\Z"),
    scheme=st.from_regex(r"\A[a-z0-9][a-z0-9_-]{0,20}\Z"),
    day=st.integers(1, 28),
)
def test_every_valid_entry_is_written_as_jcs(kind, number, scheme, day):
    credential = FIRST if kind == "grant" else (EVENT if kind in ("recertify", "correct") else None)
    entry = Entry(
        kind=kind, at=f"2026-03-{day:02d}T09:30:00Z", scheme=scheme, cert=FIRST, event=EVENT,
        credential=credential, number=number,
    )  # fmt: skip
    assert entry.to_bytes() == rfc8785.dumps(entry.to_json())
    assert parse_entry(entry.to_bytes()) == entry


@given(st.binary(max_size=300))
def test_any_bytes_give_an_entry_or_an_entry_error(data):
    try:
        parse_entry(data)
    except EntryError:
        pass

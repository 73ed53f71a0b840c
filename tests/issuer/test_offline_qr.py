"""Every certificate the body signs carries its offline QR payload (issue 14, issuer.offline_qr):
a grant, each new revision, bulk issuance; never a VC API generic credential. The register
holds it exactly where it holds the holder's name; ``certreg qr backfill`` signs the missing
ones and nothing else."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from factories import PASSPHRASE, add_staff, row, write_csv
from http_support import make_env, plain_credential
from nacl.signing import VerifyKey
from register_support import Body, add_holder, grant, make_body

from certreg.issuer.bulk import issue_csv
from certreg.issuer.cli import main
from certreg.issuer.register_push import attach
from certreg.issuer.service import CertificationBody
from certreg.keys import KeyStore
from certreg.keys.multikey import decode_public_key
from certreg.register.db import open_register
from certreg.register.push import find_sealed
from certreg.register.shares import open_page
from certreg.verifier.offline.payload import absolute_list, decode, key_id


def body_key(data: Path) -> bytes:
    """The body's current public key, from its key store (as its DID document publishes it)."""
    return decode_public_key(KeyStore(data / "keys").current().public_multibase)


def stored(body: CertificationBody, number: str) -> tuple[dict[str, Any], str | None]:
    """The current credential of ``number`` and its payload, as issuer.db keeps them."""
    document, compact = body.db.execute(
        "SELECT cr.document, cr.compact FROM credentials cr "
        "JOIN certifications c ON c.id = cr.certification_id "
        "WHERE c.number = ? AND cr.state = 'current'",
        [number],
    ).fetchone()
    return json.loads(document), compact


def check_payload(body: CertificationBody, data: Path, number: str) -> str:
    """The certificate's payload decodes, verifies with the body's key and states the current
    credential's facts; returns it."""
    credential, text = stored(body, number)
    assert text is not None, f"{number} has no offline QR payload"
    signed = decode(text)
    key = body_key(data)
    assert signed.kid == key_id(key)
    VerifyKey(key).verify(signed.signed_bytes, signed.signature)  # raises if it does not verify
    cert = signed.certificate
    record = body.certification(number)  # the facts as issuer.db holds them
    assert cert.holder_name == record.holder_name
    assert cert.number == number
    version = body._scheme_version(record.scheme_id, record.scheme_version)
    assert (cert.scheme_code, cert.scheme_version, cert.scheme_name) == (
        version["code"],
        str(record.scheme_version),
        version["name"],
    )
    active = [s for s in record.scope if s["status"] == "active"]
    assert [(i.code, i.label, i.conditions) for i in cert.scope] == [
        (s["code"], s["label"], s["conditions"]) for s in active
    ]
    assert cert.valid_from.date().isoformat() == record.valid_from
    assert cert.valid_until.date().isoformat() == record.valid_until
    assert cert.valid_from == datetime.fromisoformat(credential["validFrom"])
    assert cert.valid_until == datetime.fromisoformat(credential["validUntil"])
    entries = credential["credentialStatus"]
    entries = entries if isinstance(entries, list) else [entries]
    public_url = body.info["public_url"]
    assert [
        (s.purpose, absolute_list(s.list, public_url), s.index, s.size) for s in cert.status
    ] == [
        (
            e["statusPurpose"],
            e["statusListCredential"],
            int(e["statusListIndex"]),
            int(e.get("statusSize", 1)),
        )
        for e in entries
    ]
    return text


@pytest.fixture
def b(tmp_path) -> Body:
    return make_body(tmp_path)


def test_a_grant_and_every_revision_carry_a_payload_of_their_own_facts(b):
    anna = add_holder(b, "anna", "Anna Łukasiewicz-Örtel", consent=True)
    number = grant(b, anna)
    first = check_payload(b.body, b.data, number)
    assert decode(first).certificate.holder_name == "Anna Łukasiewicz-Örtel"

    b.body.reduce_scope(number, decided_by=b.decider, remove=["VT2"], reason="not practised")
    reduced = check_payload(b.body, b.data, number)
    assert [i.code for i in decode(reduced).certificate.scope] == ["UT2"]

    b.body.correct(number, decided_by=b.decider, reason="misspelt", holder_name="Anna Örtel")
    corrected = check_payload(b.body, b.data, number)
    assert decode(corrected).certificate.holder_name == "Anna Örtel"

    b.clock.now = datetime(2028, 11, 1, 9, 0, tzinfo=UTC)  # recertification is open
    b.body.recertify(number, decided_by=b.decider, evidence="renewal exam")
    renewed = check_payload(b.body, b.data, number)
    assert decode(renewed).certificate.valid_until.year == 2032
    # Each revision has its own payload; the superseded ones keep theirs.
    assert len({first, reduced, corrected, renewed}) == 4
    kept = b.body.db.execute(
        "SELECT COUNT(*) FROM credentials WHERE compact IS NOT NULL"
    ).fetchone()[0]
    assert kept == 4
    assert b.body.certification(number).offline_qr == renewed


def test_bulk_issued_certificates_carry_their_payloads(tmp_path):
    import factories

    folder = tmp_path / "cb"
    factories.make_body(folder)
    first = CertificationBody.open(folder, passphrase=PASSPHRASE)
    staff = add_staff(first, decider=["decision_maker"], examiner=["officer", "decision_maker"])
    body = CertificationBody.open(folder, passphrase=PASSPHRASE)
    path = write_csv(tmp_path / "g.csv", [row(i, staff["examiner"]) for i in range(12)])
    report = issue_csv(body, path, decided_by=staff["decider"], workers=2, batch=5)
    assert (report.issued, report.errors) == (12, [])
    numbers = [n for (n,) in body.db.execute("SELECT number FROM certifications")]
    assert len(numbers) == 12
    for number in numbers:
        check_payload(body, folder, number)


def test_a_vc_api_generic_credential_gets_no_payload(tmp_path):
    env = make_env(tmp_path, vc_api_issuer=True)
    status = [
        {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"},
        {"type": "BitstringStatusListEntry", "statusPurpose": "suspension"},
    ]
    r = env.post(
        "/credentials/issue",
        "officer",
        {"credential": plain_credential(), "options": {"credentialStatus": status}},
    )
    assert r.status_code == 201, r.text
    issued_id = r.json()["verifiableCredential"]["id"]
    vc_db = env.client.app.state.certreg.vc_api_issuer().db
    rows = vc_db.execute("SELECT * FROM credentials").fetchall()
    columns = [d[0] for d in vc_db.execute("SELECT * FROM credentials LIMIT 0").description]
    assert rows, "the VC API stored its credential"
    if "compact" in columns:
        assert all(dict(zip(columns, r, strict=True))["compact"] is None for r in rows)
    assert env.body.db.execute(
        "SELECT COUNT(*) FROM credentials WHERE id = ?", [issued_id]
    ).fetchone() == (0,)
    # The body's own certificates through its API do get one.
    granted = env.grant()
    assert stored(env.body, granted["number"])[1] is not None


def test_the_register_holds_the_payload_exactly_where_it_holds_the_name(b):
    listed = grant(b, add_holder(b, "listed", "Lena Listed", consent=True))
    unlisted = grant(b, add_holder(b, "unlisted", "Ulf Unlisted", consent=False))
    lou = add_holder(b, "lookup", "Lou Lookup", consent=False, schemes=("ndt",))
    looked_up = grant(b, lou, "ndt")
    private = grant(b, add_holder(b, "private", "Pia", consent=True, schemes=("sec",)), "sec")
    reg = open_register(b.register)
    rows = {
        n: (name, qr)
        for n, name, qr in reg.execute("SELECT number, holder_name, offline_qr FROM certifications")
    }
    assert rows[listed] == ("Lena Listed", stored(b.body, listed)[1])
    assert rows[unlisted] == (None, None)
    assert looked_up not in rows and private not in rows
    sealed = find_sealed(reg.conn, looked_up)
    assert sealed is not None
    assert (sealed["holder_name"], sealed["offline_qr"]) == (
        "Lou Lookup",
        stored(b.body, looked_up)[1],
    )
    # A withdrawn consent takes the payload off the public row with the name.
    b.body.set_publication_consent(b.people["listed"], False)
    after = reg.execute(
        "SELECT holder_name, offline_qr FROM certifications WHERE number = ?", [listed]
    ).fetchone()
    assert after == (None, None)
    # No register table but certifications (and the sealed ones) holds a payload.
    dump = "\n".join(reg.conn.iterdump())
    assert stored(b.body, unlisted)[1] not in dump
    assert stored(b.body, private)[1] not in dump


def test_the_share_page_carries_the_payload(b):
    from certreg.issuer import sharing

    number = grant(b, add_holder(b, "sara", "Sara", consent=False, schemes=("sec",)), "sec")
    _, token = sharing.create_share(b.body, number)
    rows = sharing.share_pages(b.body, [number])
    page = open_page(token, rows[0]["sealed"])
    assert page is not None
    assert page.certification.offline_qr == stored(b.body, number)[1]
    assert sharing.open_share(b.body, token).certification.offline_qr is not None


def test_backfill_signs_exactly_the_missing_payloads_and_pushes_them(b):
    numbers = [grant(b, add_holder(b, f"h{i}", f"Holder {i}", consent=True)) for i in range(4)]
    before = {n: stored(b.body, n)[1] for n in numbers}
    # Two certificates as a certreg before issue 14 left them: no payload.
    emptied = numbers[:2]
    b.body.db.execute(
        "UPDATE credentials SET compact = NULL WHERE certification_id IN "
        "(SELECT id FROM certifications WHERE number IN (?, ?))",
        emptied,
    )
    b.sync("certification", *emptied)  # what a register holds after the upgrade's rebuild
    with sqlite3.connect(b.register) as reg:
        held = reg.execute(
            "SELECT COUNT(*) FROM certifications WHERE offline_qr IS NULL"
        ).fetchone()[0]
    assert held == 2
    without = b.body.db.execute(
        "SELECT COUNT(*) FROM credentials WHERE compact IS NULL"
    ).fetchone()[0]
    assert without == 2

    runner = CliRunner(env={"CERTREG_PASSPHRASE": PASSPHRASE})
    args = ["qr", "backfill", "--data", str(b.data)]
    result = runner.invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"filled": 2, "numbers": sorted(emptied)}
    for number in numbers:
        check_payload(b.body, b.data, number)
    for number in numbers[2:]:
        assert stored(b.body, number)[1] == before[number]  # untouched
    with sqlite3.connect(b.register) as reg:
        for number in emptied:
            (qr,) = reg.execute(
                "SELECT offline_qr FROM certifications WHERE number = ?", [number]
            ).fetchone()
            assert qr == stored(b.body, number)[1]

    again = runner.invoke(main, args)
    assert again.exit_code == 0, again.output
    assert "already has" in again.output

    help_text = runner.invoke(main, ["qr", "backfill", "--help"]).output
    assert "not signing without a decision" in help_text


def test_a_register_of_the_format_before_payloads_gets_them(b):
    """register.db of format 3 has no offline_qr column: opening it adds the column (NULL), and
    the issuer rebuilds it, payloads included."""
    number = grant(b, add_holder(b, "olga", "Olga Older", consent=True))
    b.sync.flush()
    with sqlite3.connect(b.register) as conn:
        # Its search index's triggers name every column: they go with the column (a rebuild
        # makes them again).
        for (trigger,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'certifications'"
        ).fetchall():
            conn.execute(f"DROP TRIGGER {trigger}")
        conn.execute("DROP TABLE IF EXISTS certifications_fts")
        conn.execute("ALTER TABLE certifications DROP COLUMN offline_qr")
        conn.execute("UPDATE register_meta SET value = '3' WHERE key = 'format'")
    reg = open_register(b.register)
    assert reg.execute("SELECT offline_qr FROM certifications").fetchall() == [(None,)]
    reg.conn.close()
    attach(b.body)  # as every certreg command does when it opens the body
    with sqlite3.connect(b.register) as conn:
        held = conn.execute(
            "SELECT offline_qr FROM certifications WHERE number = ?", [number]
        ).fetchone()
    assert held == (stored(b.body, number)[1],)

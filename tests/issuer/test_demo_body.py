"""The demo body: certificates in every state, reached through the real lifecycle."""

from __future__ import annotations

import sqlite3

from certreg.issuer import audit
from certreg.issuer.db import connect
from certreg.issuer.demo_body import build_demo
from certreg.issuer.service import CertificationBody
from certreg.verifier import Verdict, Verifier


def test_the_demo_body_has_every_state_and_an_intact_audit_chain(tmp_path):
    demo = build_demo(
        tmp_path / "data", public_url="http://127.0.0.1:8000", passphrase="demo", holders=120
    )
    db = connect(tmp_path / "data" / "issuer.db")
    states = dict(db.execute("SELECT status, COUNT(*) FROM certifications GROUP BY status"))
    assert set(states) == {"ACTIVE", "SUSPENDED", "WITHDRAWN", "EXPIRED"}
    assert sum(states.values()) == 120
    assert all(demo.numbers[k] for k in ("withdrawn", "suspended", "expired", "recertified"))
    assert audit.verify(db).ok

    body = CertificationBody.open(tmp_path / "data")
    lists = {
        body.status_lists.url(list_id): body.status_lists.latest(list_id)
        for (list_id,) in body.db.execute("SELECT id FROM status_lists")
    }
    verifier = Verifier(trusted_issuers={body.info["did"]}, status_fetcher=lists)
    expected = {"withdrawn": Verdict.WITHDRAWN, "suspended": Verdict.SUSPENDED,
                "expired": Verdict.EXPIRED, "valid": Verdict.VALID}  # fmt: skip
    for state, verdict in expected.items():
        number = demo.numbers[state][0]
        assert verifier.verify_credential(body.certification(number).credential).verdict is verdict
    # Its schemes carry names in other languages, pushed to the register beside the signed one.
    assert body.scheme_names("cwi")["de"]["name"] == "Zertifizierte Schweißaufsichtsperson"
    assert set(body.scheme_names("isa")) == {"de", "es"}
    register = sqlite3.connect(tmp_path / "data" / "register.db")
    assert dict(
        register.execute("SELECT lang, name FROM scheme_names WHERE scheme_id = 'cwi'")
    ) == {lang: entry["name"] for lang, entry in body.scheme_names("cwi").items()}

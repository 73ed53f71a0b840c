"""What two independent verifiers read in certreg's certificates, valid, suspended and withdrawn:
the Digital Credentials Consortium's verifier-core (the Learner Credential Wallet's verifier,
tests/interop/verify_dcc.mjs) and Digital Bazaar's @digitalbazaar/vc with
vc-bitstring-status-list (tests/interop/verify.mjs), beside certreg's own verdict.

Certificates come from real bodies (issuer.db, did:key, the body's own signed status lists), in
the default ``message`` form and in the ``two-entries`` form. Neither verifier touches the
network: DB's loader serves pinned contexts and the lists given on stdin; verifier-core takes no
loader, so verify_dcc.mjs replaces the global fetch() it uses with one that serves the same
lists and 1EdTech's unmodified OB 3.0 schema (tests/vectors/ob3-official) and refuses anything
else. What each reads is recorded in docs/credential.md ("What verifiers show").
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import PASSPHRASE, Clock
from interop_support import SCHEMA, candidate, errors, grant, make_body, node

from certreg.issuer.service import CertificationBody
from certreg.verifier import Verdict, Verifier

INTEROP = Path(__file__).parents[1] / "interop"

pytestmark = [
    pytest.mark.skipif(
        shutil.which("node") is None,
        reason="node is not on PATH (the interop tests need Node.js >= 18)",
    ),
    pytest.mark.skipif(
        not (INTEROP / "node_modules" / "@digitalcredentials" / "verifier-core").is_dir(),
        reason="tests/interop/node_modules lacks verifier-core: run "
        "`npm ci --no-audit --no-fund --prefix tests/interop`",
    ),
]

#: Where verifier-core looks for the OB 3.0 schema of a VC 2.0 OpenBadgeCredential that names
#: no credentialSchema (its schemaCheck.js). It is handed 1EdTech's unmodified build there.
DCC_SCHEMA_URL = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
STATES = ("valid", "suspended", "withdrawn")
FORMS = ("message", "two-entries")


def hour_ago() -> Clock:
    """The body's clock: an hour ago, so that certificates and lists are valid now, for
    verifiers that read the real time."""
    return Clock.real(behind=timedelta(hours=1))


def issue(path: Path, form: str) -> tuple[CertificationBody, dict[str, dict[str, Any]]]:
    """A body in ``form`` with one certificate per state, and its signed lists."""
    clock = hour_ago()
    body, staff = make_body(path, clock, status_form=form)
    numbers = {s: grant(body, staff, candidate(body, staff, f"Holder {s}")) for s in STATES}
    until = (clock.now + timedelta(days=60)).date().isoformat()
    body.suspend(numbers["suspended"], decided_by=staff["decider"], reason="audit", until=until)
    body.withdraw(numbers["withdrawn"], decided_by=staff["decider"], reason="misuse")
    docs = {s: body.certification(n).credential for s, n in numbers.items()}
    return body, docs


def lists_of(body: CertificationBody) -> dict[str, dict[str, Any]]:
    return {
        body.status_lists.url(list_id): body.status_lists.latest(list_id)
        for (list_id,) in body.db.execute("SELECT id FROM status_lists")
    }


@pytest.fixture(scope="module")
def readings(tmp_path_factory) -> dict[str, Any]:
    """Both forms' certificates, and a JCS-signed one, read by DCC, DB and certreg."""
    docs: dict[str, dict[str, Any]] = {}
    lists: dict[str, dict[str, Any]] = {}
    ours: dict[str, Verdict] = {}
    for form in FORMS:
        body, issued = issue(tmp_path_factory.mktemp(form) / "cb", form)
        served = lists_of(body)
        lists |= {f"{form} {url}": doc for url, doc in served.items()}
        verifier = Verifier(trusted_issuers={body.info["did"]}, status_fetcher=served)
        for state, doc in issued.items():
            docs[f"{form} {state}"] = doc
            ours[f"{form} {state}"] = verifier.verify_credential(doc).verdict
    # Each form's lists live at the same URLs (https://cb.example/status/...): one node call
    # per form, each served its own body's lists.
    dcc: dict[str, Any] = {}
    db: dict[str, Any] = {}
    fetched: dict[str, Any] = {}
    for form in FORMS:
        names = [n for n in docs if n.startswith(f"{form} ")]
        documents = {
            key.split(" ", 1)[1]: doc for key, doc in lists.items() if key.startswith(f"{form} ")
        }
        payload = {"credentials": [docs[n] for n in names], "documents": documents}
        out = node("verify_dcc.mjs", payload | {"documents": documents | {DCC_SCHEMA_URL: SCHEMA}})
        dcc |= dict(zip(names, out["results"], strict=True))
        fetched[form] = out
        db |= dict(zip(names, node("verify.mjs", payload)["results"], strict=True))
    return {"docs": docs, "dcc": dcc, "db": db, "ours": ours, "fetched": fetched}


def steps(result: dict[str, Any]) -> dict[str, bool]:
    return {s["id"]: s["valid"] for s in result["log"] if s["id"] != "registered_issuer"}


# --------------------------------------------------------------------------------------------
# The default form: one 2-bit message entry


@pytest.mark.parametrize("state", STATES)
def test_dcc_reads_the_default_form(readings: dict[str, Any], state: str) -> None:
    """DCC: signature valid, the OB 3.0 schema check passes, and the one status step is
    valid exactly for the certificate in force (it cannot say which of the other two)."""
    result = readings["dcc"][f"message {state}"]
    assert result["errors"] is None
    assert steps(result) == {
        "valid_signature": True,
        "message_status": state == "valid",
        "expiration": True,
    }
    assert result["schema"] == [{"schema": DCC_SCHEMA_URL, "valid": True, "errors": []}]
    assert result["verified"] is (state == "valid")


@pytest.mark.parametrize("state", STATES)
def test_db_reads_the_default_form(readings: dict[str, Any], state: str) -> None:
    """DB: the proof verifies and the entry's bit is set exactly for the suspended and the
    withdrawn certificate (DB reads one bit: the 1-bit readers' bit of the message list)."""
    result = readings["db"][f"message {state}"]
    assert result == {"verified": True, "errors": [], "status": [state != "valid"]}


@pytest.mark.parametrize("form", FORMS)
def test_certreg_tells_every_state_apart_in_both_forms(readings: dict[str, Any], form) -> None:
    assert [readings["ours"][f"{form} {s}"] for s in STATES] == [
        Verdict.VALID,
        Verdict.SUSPENDED,
        Verdict.WITHDRAWN,
    ]


def test_the_default_form_passes_the_schema_dcc_checks(readings: dict[str, Any]) -> None:
    for state in STATES:
        assert errors(readings["docs"][f"message {state}"]) == []


# --------------------------------------------------------------------------------------------
# The two-entry form: both verifiers tell suspended from withdrawn, and the schema fails


@pytest.mark.parametrize("state", STATES)
def test_dcc_reads_the_two_entry_form(readings: dict[str, Any], state: str) -> None:
    result = readings["dcc"][f"two-entries {state}"]
    assert result["errors"] is None
    assert steps(result) == {
        "valid_signature": True,
        "revocation_status": state != "withdrawn",
        "suspension_status": state != "suspended",
        "expiration": True,
    }
    assert result["schema"] == [
        {"schema": DCC_SCHEMA_URL, "valid": False, "errors": ["/credentialStatus must be object"]}
    ]


@pytest.mark.parametrize("state", STATES)
def test_db_reads_the_two_entry_form(readings: dict[str, Any], state: str) -> None:
    result = readings["db"][f"two-entries {state}"]
    assert result == {
        "verified": True,
        "errors": [],
        "status": [state == "withdrawn", state == "suspended"],
    }


def test_dcc_ran_offline_on_what_it_was_given(readings: dict[str, Any]) -> None:
    """verifier-core fetched the body's lists and the schema through the hook, and asked for
    nothing it was not given (did:key and the contexts are built in)."""
    for form, out in readings["fetched"].items():
        assert out["refused"] == [], form
        assert DCC_SCHEMA_URL in out["fetched"]
        assert any("/status/" in url for url in out["fetched"])


# --------------------------------------------------------------------------------------------
# eddsa-jcs-2022: a library and CLI option, not a certificate default


def test_dcc_cannot_verify_an_eddsa_jcs_2022_certificate(tmp_path) -> None:
    """Why eddsa-jcs-2022 is not offered to wallets: verifier-core (like Blockcerts and
    openbadgeslib) only has eddsa-rdfc-2022 (and Ed25519Signature2020), and refuses the
    signature; Digital Bazaar verifies the same document."""
    clock = hour_ago()
    made, staff = make_body(tmp_path / "cb", clock)
    person = candidate(made, staff, "Jane Doe")
    body = CertificationBody.open(
        tmp_path / "cb", passphrase=PASSPHRASE, clock=clock, cryptosuite="eddsa-jcs-2022"
    )
    doc = body.certification(grant(body, staff, person)).credential
    assert doc["proof"][0]["cryptosuite"] == "eddsa-jcs-2022"
    served = lists_of(body)
    payload = {"credentials": [doc], "documents": served}
    [dcc] = node("verify_dcc.mjs", payload | {"documents": served | {DCC_SCHEMA_URL: SCHEMA}})[
        "results"
    ]
    assert dcc["verified"] is False
    assert dcc["errors"] == [
        {"name": "invalid_signature", "message": "The signature is not valid."}
    ]
    [db] = node("verify.mjs", payload)["results"]
    assert db == {"verified": True, "errors": [], "status": [False]}
    verifier = Verifier(trusted_issuers={body.info["did"]}, status_fetcher=served)
    assert verifier.verify_credential(doc).verdict is Verdict.VALID


def test_the_wallet_metadata_offers_only_eddsa_rdfc_2022(tmp_path) -> None:
    """OpenID4VCI issuer metadata: a wallet is never invited to ask for eddsa-jcs-2022."""
    from certreg.issuer.sharing import issuer_metadata

    body, _ = make_body(tmp_path / "cb", hour_ago())
    [configuration] = issuer_metadata(body)["credential_configurations_supported"].values()
    assert configuration["credential_signing_alg_values_supported"] == ["eddsa-rdfc-2022"]

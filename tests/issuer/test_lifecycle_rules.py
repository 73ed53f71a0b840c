"""Every rule of the lifecycle, through every path a decision can take.

One parametrised test: each case breaks one rule of ``issuer/lifecycle/rules.py`` and is
run as a single decision (``CertificationBody``), as a row of bulk issuance (``issue_csv``),
over the admin API (FastAPI's TestClient) and from the CLI (click's CliRunner). Each path
must refuse with the rule's reason, so a rule broken or bypassed in one place fails all the
paths that reach it together.

A path a rule cannot be reached by is left out, with the reason: bulk issuance only grants,
and records the passed assessment a row rests on (so §9.3's "no passed assessment" cannot
happen there, and "assessed before the grant" happens only there); over HTTP the decider is
the token's owner, whose role and activity the token guard checks before any rule.
"""

from __future__ import annotations

import csv
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from certreg.issuer import staff as staff_module
from certreg.issuer.bulk import issue_csv
from certreg.issuer.cli.body import decide_group
from certreg.issuer.http import create_app
from certreg.issuer.lifecycle import table
from certreg.issuer.lifecycle.errors import ERROR_OF_KIND
from certreg.issuer.service import CertificationBody, LifecycleError, ScopeGrant
from certreg.issuer.tokens import create_token

PASSPHRASE = "correct horse battery staple"
STATUS = {"invalid": 422, "refused": 403, "conflict": 409}
PATHS = ("single", "bulk", "http", "cli")


def _today(days: int = 0) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


@dataclass(frozen=True)
class _Days:
    """A case's date, ``days`` from today, worked out when the case runs: worked out when the
    module was imported, a run that crossed midnight shifted it by a day (a suspension of 181
    days became one of 180, allowed)."""

    days: int


# -- the world every case starts from (built once, copied for each case) ----------------------


@dataclass
class World:
    data: Path
    ids: dict[str, str]  # staff and persons by nickname, and "A": Jane's certificate number
    tokens: dict[str, str]  # staff nickname -> API token secret
    external: dict[str, str] = field(default_factory=dict)  # person nickname -> external id


def _build(folder: Path) -> World:
    body = CertificationBody.init(
        folder,
        legal_name="Example Certification Body",
        public_url="https://cb.example",
        passphrase=PASSPHRASE,
        did_method="key",
        kdf="interactive",
    )
    body.add_scheme(
        "cwi",
        code="CWI",
        name="Certified Welding Inspector",
        description="Inspection of fusion welds.",
        normative_reference="ISO 9712:2021",
        validity_months=36,
        max_suspension_days=180,
        publication_policy="directory",
        scope=[
            ("UT2", "Ultrasonic testing, level 2"),
            ("VT2", "Visual testing, level 2"),
            ("MT2", "Magnetic testing, level 2"),  # retired in version 2, below
        ],
    )
    body.add_scheme_version("cwi", retire_scope=["MT2"])
    ids = {
        "admin": body.add_staff("Ada Admin", roles=["admin"]),
        "officer": body.add_staff("Olga Officer", roles=["officer"]),
        "dana": body.add_staff("Dana Decider", roles=["decision_maker"]),
        "erik": body.add_staff("Erik Examiner", roles=["officer", "decision_maker"]),
    }
    tokens = {who: create_token(body, sid, name=f"{who} test")[1] for who, sid in ids.items()}
    external = {}
    for who, name, codes, examiner in (
        ("jane", "Jane Doe", ["UT2", "VT2"], "erik"),  # holds certificate A
        ("kim", "Kim Lee", ["UT2", "VT2"], "erik"),  # may be granted (by Dana, not Erik)
        ("lou", "Lou Reed", None, None),  # no assessment at all
        ("max", "Max Roe", ["VT2"], "officer"),  # passed VT2 only
    ):
        external[who] = f"P-{who.upper()}"
        ids[who] = body.add_person(name, external_id=external[who])
        if codes is not None:
            body.record_assessment(
                ids[who],
                "cwi",
                result="pass",
                assessed_on=_today(-3),
                examiners=[ids[examiner]],
                scope_codes=codes,
            )
    cert = body.grant(
        ids["jane"],
        "cwi",
        [ScopeGrant("UT2"), ScopeGrant("VT2")],
        decided_by=ids["dana"],
        evidence="exam 1",
    )
    ids["A"] = cert.number
    body.db.conn.close()
    return World(folder, ids, tokens, external)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> World:
    return _build(tmp_path_factory.mktemp("lifecycle") / "cb")


@pytest.fixture
def world(template: World, tmp_path: Path) -> World:
    data = tmp_path / "cb"
    shutil.copytree(template.data, data)
    return World(data, template.ids, template.tokens, template.external)


# -- the cases: one rule broken each -----------------------------------------------------------


@dataclass(frozen=True)
class Case:
    rule: str  # the rule's name in rules.py (Refusal.rule)
    decision: str  # the table's decision name
    says: str  # what the refusal says (a fragment of the rule's reason)
    kind: str  # invalid / refused / conflict
    decider: str = "dana"
    subject: str = "kim"  # a person (grants) or "A", Jane's certificate
    inputs: dict[str, Any] = field(default_factory=dict)  # overrides of the valid request
    paths: tuple[str, ...] = PATHS


def _valid(decision: str) -> dict[str, Any]:
    """A request of each decision that every rule accepts (but the one a case breaks)."""
    return {
        "grant": {"scope": [ScopeGrant("UT2"), ScopeGrant("VT2")], "evidence": "exam 2"},
        "suspend": {"reason": "complaint", "until": _today(30)},
        "reinstate": {"reason": "resolved"},
        "reduce_scope": {"remove": ["UT2"], "reason": "no longer practises"},
        "extend_scope": {"add": [ScopeGrant("UT2")], "evidence": "exam 3"},
        "recertify": {"evidence": "exam 4"},
        "correct": {"reason": "typo", "holder_name": "Jane Doe"},
    }[decision]


NOT_BULK = ("single", "http", "cli")  # decisions other than a grant, or no CSV equivalent
NOT_HTTP = ("single", "bulk", "cli")  # the token guard refuses first

CASES = [
    Case("impartiality", "grant", "Erik Examiner examined this candidate", "refused", "erik"),
    Case("decider-role", "grant", "is not a decision-maker", "refused", "officer", paths=NOT_HTTP),
    Case(
        "effective-date",
        "grant",
        "cannot take effect in the past",
        "invalid",
        inputs={"effective_date": "2000-01-01"},
    ),
    Case("evidence", "grant", "must cite its evidence", "invalid", inputs={"evidence": "  "}),
    Case(
        "scope-catalogue",
        "grant",
        "scope item XX9 is not in the catalogue of scheme cwi",
        "invalid",
        inputs={"scope": [ScopeGrant("XX9")]},
    ),
    Case(
        "scope-catalogue",
        "grant",
        "scope item MT2 was retired in version 2 of scheme cwi",
        "invalid",
        inputs={"scope": [ScopeGrant("UT2"), ScopeGrant("MT2")]},
    ),
    Case(
        "scope-catalogue",
        "extend_scope",
        "scope item MT2 was retired in version 2 of scheme cwi",
        "invalid",
        subject="A",
        inputs={"add": [ScopeGrant("MT2")]},
        paths=NOT_BULK,
    ),
    Case(
        "assessment-passed",
        "grant",
        "no passed assessment is recorded",
        "refused",
        subject="lou",
        paths=NOT_BULK,
    ),
    Case(
        "assessment-covers-scope",
        "grant",
        "no passed assessment covers scope items ['UT2']",
        "refused",
        subject="max",
        paths=NOT_BULK,
    ),
    Case("one-open-certification", "grant", "Jane Doe already holds", "conflict", subject="jane"),
    Case(
        "assessed-before-grant",
        "grant",
        "is in the future",
        "invalid",
        inputs={"assessed_on": _Days(5)},
        paths=("bulk",),
    ),
    Case(
        "state",
        "reinstate",
        "is ACTIVE and cannot be reinstated",
        "conflict",
        subject="A",
        paths=NOT_BULK,
    ),
    Case(
        "impartiality",
        "suspend",
        "Erik Examiner examined this candidate",
        "refused",
        "erik",
        subject="A",
        paths=NOT_BULK,
    ),
    Case(
        "reason",
        "suspend",
        "a suspension needs a reason",
        "invalid",
        subject="A",
        inputs={"reason": "  "},
        paths=NOT_BULK,
    ),
    Case(
        "effective-date",
        "suspend",
        "cannot take effect in the past",
        "invalid",
        subject="A",
        inputs={"effective_date": "2000-01-01"},
        paths=NOT_BULK,
    ),
    Case(
        "suspension-deadline",
        "suspend",
        "must be after its effective date",
        "invalid",
        subject="A",
        inputs={"until": _Days(0)},
        paths=NOT_BULK,
    ),
    Case(
        "suspension-maximum",
        "suspend",
        "at most 180 days",
        "refused",
        subject="A",
        inputs={"until": _Days(181)},
        paths=NOT_BULK,
    ),
    Case(
        "scope-reduction",
        "reduce_scope",
        "is a withdrawal, not a reduction",
        "invalid",
        subject="A",
        inputs={"remove": ["UT2", "VT2"]},
        paths=NOT_BULK,
    ),
    Case(
        "scope-extension",
        "extend_scope",
        "scope items already held: ['UT2']",
        "conflict",
        subject="A",
        paths=NOT_BULK,
    ),
    Case(
        "evidence",
        "recertify",
        "must cite its evidence",
        "invalid",
        subject="A",
        inputs={"evidence": " "},
        paths=NOT_BULK,
    ),
    Case(
        "recertification-window",
        "recertify",
        "recertification opens 6 months before expiry",
        "refused",
        subject="A",
        paths=NOT_BULK,
    ),
    Case(
        "correction",
        "correct",
        "the corrected name is empty",
        "invalid",
        subject="A",
        inputs={"holder_name": "  "},
        paths=NOT_BULK,
    ),
]


# -- the four paths: each returns what the user is told, after checking how ---------------------


def _single(world: World, case: Case, inputs: dict[str, Any]) -> str:
    body = CertificationBody.open(world.data, passphrase=PASSPHRASE)
    method = getattr(body, case.decision)
    decider = world.ids[case.decider]
    with pytest.raises(LifecycleError) as refused:
        if case.decision == "grant":
            scope = inputs.pop("scope")
            method(world.ids[case.subject], "cwi", scope, decided_by=decider, **inputs)
        else:
            method(world.ids[case.subject], decided_by=decider, **inputs)
    assert type(refused.value) is ERROR_OF_KIND[case.kind]
    return str(refused.value)


def _bulk(world: World, case: Case, inputs: dict[str, Any]) -> str:
    assert case.decision == "grant"
    body = CertificationBody.open(world.data, passphrase=PASSPHRASE)
    names = {"jane": "Jane Doe", "kim": "Kim Lee", "lou": "Lou Reed", "max": "Max Roe"}
    cells = {
        "external_id": "row-1",
        "person_external_id": world.external[case.subject],
        "full_name": names[case.subject],
        "scheme": "cwi",
        "scope": ";".join(g.code for g in inputs["scope"]),
        "assessed_on": inputs.get("assessed_on", _today(-1)),
        "examiner": world.ids["officer"],
        "evidence": inputs["evidence"],
        "effective_date": inputs.get("effective_date", ""),
    }
    path = world.data.parent / "grants.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(cells))
        writer.writeheader()
        writer.writerow(cells)
    try:
        report = issue_csv(body, path, decided_by=world.ids[case.decider], workers=0)
    except LifecycleError as exc:  # a decider who may decide nothing stops the whole run
        assert type(exc) is ERROR_OF_KIND[case.kind]
        return str(exc)
    assert report.issued == 0, "the row was issued"
    [(row, message)] = report.errors
    assert row == 2
    assert message.startswith("refused: ") == (case.kind == "refused")
    return message


def _http(world: World, case: Case, inputs: dict[str, Any]) -> str:
    body = CertificationBody.open(world.data, passphrase=PASSPHRASE)
    spec = table.BY_NAME[case.decision]
    request: dict[str, Any] = {}
    for name, value in inputs.items():
        if name == "scope" or name == "add":
            value = [{"code": g.code, "conditions": g.conditions} for g in value]
        request[name] = value
    if spec.on_number:
        path = "/api" + spec.path.format(number=world.ids[case.subject])
    else:
        path = "/api" + spec.path
        request |= {"person_id": world.ids[case.subject], "scheme_id": "cwi"}
    client = TestClient(create_app(body, passphrase=PASSPHRASE), raise_server_exceptions=False)
    headers = {"Authorization": f"Bearer {world.tokens[case.decider]}"}
    r = client.post(path, json=request, headers=headers)
    assert r.status_code == STATUS[case.kind], r.text
    return str(r.json()["detail"])


def _cli(world: World, case: Case, inputs: dict[str, Any]) -> str:
    spec = table.BY_NAME[case.decision]
    secret = world.data.parent / "passphrase"
    secret.write_text(PASSPHRASE)
    secret.chmod(0o600)
    if spec.on_number:
        argv = [spec.command, world.ids[case.subject]]
    else:
        argv = [spec.command, world.ids[case.subject], "cwi"]
    argv += ["--data", str(world.data), "--passphrase-file", str(secret)]
    argv += ["--as", world.ids[case.decider]]
    options = {i.name: i.option for i in spec.inputs}
    for name, value in inputs.items():
        if isinstance(value, list):
            for item in value:
                argv += [options[name], item.code if isinstance(item, ScopeGrant) else item]
        else:
            argv += [options[name], value]
    result = CliRunner().invoke(decide_group, argv)
    assert not result.exception or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, result.output
    return result.output


RUN: dict[str, Callable[[World, Case, dict[str, Any]], str]] = {
    "single": _single,
    "bulk": _bulk,
    "http": _http,
    "cli": _cli,
}


@pytest.mark.parametrize(
    ("case", "path"),
    [
        pytest.param(case, path, id=f"{case.rule}-{case.decision}-{path}")
        for case in CASES
        for path in case.paths
    ],
)
def test_every_rule_refuses_on_every_path(world: World, case: Case, path: str) -> None:
    inputs = {
        name: _today(value.days) if isinstance(value, _Days) else value
        for name, value in (_valid(case.decision) | case.inputs).items()
    }
    told = RUN[path](world, case, dict(inputs))
    assert case.says in told, told
    # A refused decision changed nothing: Jane's certificate is still the only one, active.
    body = CertificationBody.open(world.data)
    assert body.db.execute("SELECT number, status FROM certifications").fetchall() == [
        (world.ids["A"], "ACTIVE")
    ]
    body.db.conn.close()


def test_every_rule_of_rules_py_has_a_case() -> None:
    """A rule added to rules.py without a case here fails this test."""
    from certreg.issuer.lifecycle import rules

    names = {
        "decider-active",  # over every path but HTTP, like decider-role; tested below
        *(c.rule for c in CASES),
    }
    declared = set(re.findall(r'Refusal\(\s*"([a-z0-9-]+)"', Path(rules.__file__).read_text()))
    assert len(declared) > 10
    assert declared <= names, declared - names


def test_an_inactive_decider_is_refused_on_every_path_that_names_one(world: World) -> None:
    body = CertificationBody.open(world.data, passphrase=PASSPHRASE)
    staff_module.deactivate(body, world.ids["dana"], actor=world.ids["admin"])
    body.db.conn.close()
    case = Case("decider-active", "grant", "Dana Decider is no longer active", "refused")
    for path in NOT_HTTP:
        told = RUN[path](world, case, dict(_valid("grant")))
        assert case.says in told, (path, told)

"""What the tests that hold certreg's certificates against other people's software share (no
tests here): 1EdTech's Open Badges 3.0 JSON Schema, pinned by hash (tests/vectors/ob3-official/),
Node.js running the scripts of tests/interop/ (Digital Bazaar's and the DCC's verifiers), and a
body whose candidates passed the CWI examination. Used by tests/issuer/test_credential_schema.py,
tests/product/test_interop_js.py and tests/product/test_interop_dcc.py."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import factories
from factories import ISO_9712_URL, Clock, add_staff
from jsonschema import Draft201909Validator

from certreg.issuer.service import CertificationBody, ScopeGrant

# --------------------------------------------------------------------------------------------
# The Open Badges 3.0 schema

VECTORS = Path(__file__).parent / "vectors"


def _pinned(name: str) -> dict[str, Any]:
    """A schema file, refused unless its bytes are those SOURCES.tsv records (an edited schema
    would let a non-conforming certificate pass)."""
    with (VECTORS / "SOURCES.tsv").open(encoding="utf-8") as handle:
        rows = {r["file"]: r for r in csv.DictReader(handle, delimiter="\t")}
    data = (VECTORS / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == rows[name]["sha256"], f"{name} was edited"
    return json.loads(data)


SCHEMA = _pinned("ob3-official/achievementcredential.json")
PROFILE_SCHEMA = _pinned("ob3-official/profile.json")
FORMATS = Draft201909Validator.FORMAT_CHECKER
VALIDATOR = Draft201909Validator(SCHEMA, format_checker=FORMATS)
PROFILE_VALIDATOR = Draft201909Validator(PROFILE_SCHEMA, format_checker=FORMATS)


def errors(document: dict[str, Any]) -> list[str]:
    found = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in VALIDATOR.iter_errors(document)]
    issuer = document.get("issuer")
    if isinstance(issuer, dict):
        found += [f"issuer (Profile): {e.message}" for e in PROFILE_VALIDATOR.iter_errors(issuer)]
    return found


# --------------------------------------------------------------------------------------------
# Node.js and tests/interop/

INTEROP = Path(__file__).parent / "interop"
NODE = shutil.which("node")
NODE_TIMEOUT = 60  # seconds, per node invocation


def node(script: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Run tests/interop/<script> with ``payload`` as JSON on stdin; its JSON stdout."""
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(INTEROP / script)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=NODE_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stderr[-4000:]}"
    return json.loads(done.stdout)


# --------------------------------------------------------------------------------------------
# A body with passed candidates


def make_body(path: Path, clock: Clock, **options: Any) -> tuple[CertificationBody, dict]:
    body = factories.make_body(
        path, clock=clock, scheme={"normative_reference_url": ISO_9712_URL}, **options
    )
    staff = add_staff(body, examiner=["officer"], decider=["decision_maker"])
    return body, staff


def candidate(body: CertificationBody, staff: dict, name: str) -> str:
    person = body.add_person(name)
    body.record_assessment(
        person,
        "cwi",
        result="pass",
        assessed_on="2026-02-20",
        examiners=[staff["examiner"]],
        scope_codes=["UT2", "VT2"],
    )
    return person


def grant(body: CertificationBody, staff: dict, person: str) -> str:
    return body.grant(
        person,
        "cwi",
        [ScopeGrant("UT2", "steel, 6-40 mm"), ScopeGrant("VT2")],
        decided_by=staff["decider"],
        evidence="examination 2026-02-20, passed",
    ).number

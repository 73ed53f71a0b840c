"""Shared fixtures of the HTTP tests (imported by tests/test_http_*.py; no tests here).

A real certification body on disk (issuer.db, encrypted key store), served in process through
FastAPI's TestClient: nothing is mocked. Staff: an admin, an officer, two decision-makers
(Dana, Dirk) and an examiner; Jane passed her examination, examined by the examiner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from factories import PASSPHRASE, Clock, add_staff, make_body
from fastapi.testclient import TestClient

from certreg.issuer.http import create_app
from certreg.issuer.service import CertificationBody
from certreg.issuer.tokens import create_token

V2 = "https://www.w3.org/ns/credentials/v2"


@dataclass
class Env:
    body: CertificationBody
    client: TestClient
    clock: Clock
    staff: dict[str, str]  # role name -> staff id
    tokens: dict[str, str]  # role name -> bearer secret
    jane: str

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def post(self, path: str, who: str | None, json: Any = None, **kw: Any) -> Any:
        headers = {**(self.auth(who) if who else {}), **kw.pop("headers", {})}
        return self.client.post(path, json=json, headers=headers, **kw)

    def get(self, path: str, who: str | None = None, **kw: Any) -> Any:
        headers = {**(self.auth(who) if who else {}), **kw.pop("headers", {})}
        return self.client.get(path, headers=headers, **kw)

    def renew_tokens(self) -> None:
        """Fresh tokens, after the test moved the clock past their expiry."""
        for role, sid in self.staff.items():
            self.tokens[role] = create_token(self.body, sid, name=f"{role} renewed")[1]

    def grant(self, who: str = "decider") -> dict[str, Any]:
        r = self.post(
            "/api/certifications",
            who,
            {
                "person_id": self.jane,
                "scheme_id": "cwi",
                "scope": [{"code": "UT2", "conditions": "steel, 6-40 mm"}, {"code": "VT2"}],
                "evidence": "examination passed",
            },
        )
        assert r.status_code == 201, r.text
        return r.json()


def make_env(tmp_path, did_method: str = "key", *, vc_api_issuer: bool = False) -> Env:
    """``vc_api_issuer``: generic issuing through the VC API turned on (it is off by default,
    as in ``certreg serve`` without ``--enable-vc-api-issuer``)."""
    clock = Clock.real()
    body = make_body(tmp_path / "cb", clock=clock, did_method=did_method)
    staff = add_staff(
        body,
        admin=["admin"],
        officer=["officer"],
        decider=["decision_maker"],
        decider2=["decision_maker"],
        examiner=["officer", "decision_maker"],
    )
    tokens = {role: create_token(body, sid, name=f"{role} test")[1] for role, sid in staff.items()}
    jane = body.add_person("Jane Doe", email="jane@example.org", birth_date="1990-04-01")
    body.record_assessment(
        jane,
        "cwi",
        result="pass",
        assessed_on=(clock.now.date() - timedelta(days=3)).isoformat(),
        examiners=[staff["examiner"]],
        scope_codes=["UT2", "VT2"],
    )
    app = create_app(body, passphrase=PASSPHRASE, enable_vc_api_issuer=vc_api_issuer)
    client = TestClient(app, raise_server_exceptions=False)
    return Env(body, client, clock, staff, tokens, jane)


def plain_credential(**extra: Any) -> dict[str, Any]:
    """A plain VC 2.0 credential, nothing certreg-specific. Only terms the VC 2.0 context
    defines: the signer refuses terms it would map through the context's @vocab (they would
    not mean the same to every reader), and the W3C examples context is not pinned."""
    return {
        "@context": [V2],
        "type": ["VerifiableCredential"],
        "name": "Example credential",
        "description": "A credential that is not a certificate.",
        "credentialSubject": {
            "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
            "name": "Bachelor of Science and Arts",
        },
        "validFrom": "2026-01-01T00:00:00Z",
        **extra,
    }

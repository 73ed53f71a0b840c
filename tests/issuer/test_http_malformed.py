"""Malformed input on every route: 4xx with a reason, never a 500.

Every route of the app is found from the app itself (a new route is fuzzed without anyone
remembering to add it), called with a token holding every role, and sent: non-JSON, wrong
content types, a huge body, deep nesting, duplicate keys, NaN, JSON of the wrong type, and
each field of its request model set to values of the wrong type.
"""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.routing import APIRoute
from http_support import make_env

from certreg.issuer.http import MAX_BODY_BYTES
from certreg.issuer.http.ratelimit import PublicGuards, PublicLimits, Rate
from certreg.issuer.tokens import create_token

WEIRD = [None, 0, -1, 10**40, 1.5, True, "", "x", "a" * 20_000, [], [1, "x"], {}, {"a": {}}]

RAW_BODIES: list[tuple[bytes, str]] = [
    (b"not json", "application/json"),
    (b"{", "application/json"),
    (b'{"a": 1}', "text/plain"),
    (b'{"a": 1}', "application/x-www-form-urlencoded"),
    (b'{"a": 1}', "application/json; charset=latin-1"),
    (b"\xff\xfe\x00", "application/json"),
    (b"[]", "application/json"),
    (b"null", "application/json"),
    (b"42", "application/json"),
    (b'"text"', "application/json"),
    (b'{"a": 1, "a": 2}', "application/json"),
    (b'{"a": NaN}', "application/json"),
    (b'{"a": Infinity}', "application/json"),
    (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "application/json"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    (b'{"a": "' + b"x" * (MAX_BODY_BYTES + 10) + b'"}', "application/json"),
]


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory):
    # Every route, the VC API's generic issuing included (off by default; on here).
    env = make_env(tmp_path_factory.mktemp("fuzz"), did_method="web", vc_api_issuer=True)
    everyone = env.body.add_staff("Root", roles=["officer", "decision_maker", "admin"])
    env.tokens["root"] = create_token(env.body, everyone, name="fuzz")[1]
    env.number = env.grant()["number"]
    # A fuzzer is the flood the per-client rate limit stops (tests/issuer/test_bounded_work.py):
    # lifted here, where every answer but the rate limit's is under test.
    unlimited = Rate(per_minute=10**9, burst=10**9)
    env.client.app.state.certreg_limits = PublicGuards(
        PublicLimits(verify_rate=unlimited, attempt_rate=unlimited)
    )
    return env


def _api_routes(routes) -> list[APIRoute]:
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):  # FastAPI >= 0.16x wraps included routers
            found += _api_routes(route.original_router.routes)
    return found


def _routes(env) -> list[tuple[str, str, APIRoute]]:
    out = []
    for route in _api_routes(env.client.app.routes):
        path = route.path
        for name in route.param_convertors:
            value = {"list_id": "revocation-1", "version": "1", "number": env.number}.get(name, "x")
            path = path.replace("{" + name + "}", value).replace("{" + name + ":path}", value)
        for method in sorted(route.methods - {"HEAD"}):
            out.append((method, path, route))
    return out


def _model_fields(route: APIRoute) -> list[str]:
    body = route.body_field
    if body is None:
        return []
    annotation = getattr(body.field_info, "annotation", None)
    fields = getattr(annotation, "model_fields", None)
    if fields is None:  # Optional[Model]
        for arg in getattr(annotation, "__args__", ()):
            fields = getattr(arg, "model_fields", None) or fields
    return list(fields or ())


def test_every_route_is_covered(fuzz_env):
    paths = {p for _, p, _ in _routes(fuzz_env)}
    assert len(paths) >= 25
    assert "/credentials/issue" in paths and "/api/keys/rotate" in paths


def test_raw_garbage_never_500(fuzz_env, caplog):
    env = fuzz_env
    for method, path, _ in _routes(env):
        if method == "GET":
            continue
        for raw, content_type in RAW_BODIES:
            r = env.client.request(
                method,
                path,
                content=raw,
                headers={**env.auth("root"), "Content-Type": content_type},
            )
            assert 400 <= r.status_code < 500, (method, path, raw[:40], r.status_code, r.text)
            if r.headers["content-type"].startswith("text/html"):
                # The console's forms and a holder's unsubscribe page (which reads no body:
                # the token is the request) answer people: an HTML page that says why.
                assert path.startswith(("/console/", "/mail/unsubscribe/")), (
                    method,
                    path,
                    r.text[:300],
                )
                assert "<main" in r.text and len(r.text) > 200, (method, path, r.text)
                continue
            detail = r.json()["detail"]
            assert detail, (method, path)


def test_wrong_types_in_every_field_never_500(fuzz_env, caplog):
    env = fuzz_env
    caplog.set_level(logging.ERROR, logger="certreg.http")
    for method, path, route in _routes(env):
        if method == "GET":
            continue
        fields = _model_fields(route)
        for field in fields:
            for value in WEIRD:
                r = env.client.request(
                    method, path, content=json.dumps({field: value}),
                    headers={**env.auth("root"), "Content-Type": "application/json"},
                )  # fmt: skip
                assert r.status_code < 500, (method, path, field, value, r.text)
        for value in WEIRD:
            if isinstance(value, dict):
                continue
            both = {"credential": value, "verifiableCredential": value}
            r = env.client.request(
                method, path, content=json.dumps(both),
                headers={**env.auth("root"), "Content-Type": "application/json"},
            )  # fmt: skip
            assert r.status_code < 500, (method, path, value, r.text)
    assert not [rec for rec in caplog.records if rec.name == "certreg.http"]


def test_hostile_credentials_to_the_vc_api_never_500(fuzz_env):
    env = fuzz_env
    v2 = "https://www.w3.org/ns/credentials/v2"
    nasty = [
        {"@context": v2, "type": "VerifiableCredential", "credentialSubject": {"id": "urn:x"}},
        {"@context": [v2, {"@vocab": "urn:evil#"}], "type": ["VerifiableCredential"],
         "credentialSubject": {"x": 1}},
        {"@context": [v2, "https://unpinned.example/ctx"], "type": ["VerifiableCredential"],
         "credentialSubject": {}},
        {"@context": [v2], "type": ["VerifiableCredential"], "credentialSubject": [{}, {}],
         "issuer": {"id": 5}},
        {"@context": [v2], "type": ["VerifiableCredential"], "credentialSubject": {"id": "\x00"},
         "id": "urn:a b"},
        {"@context": [v2], "type": ["VerifiableCredential"],
         "credentialSubject": {"@id": "_:b0", "@type": 7}},
        {"@context": [{"@version": 1.1}], "type": [], "credentialSubject": {}},
    ]  # fmt: skip
    for credential in nasty:
        r = env.post("/credentials/issue", "root", {"credential": credential})
        assert r.status_code < 500, (credential, r.text)  # the first one is fine: 201
        r = env.post("/credentials/verify", None, {"verifiableCredential": credential})
        assert r.status_code == 400 and r.json()["verified"] is False
        r = env.post("/presentations/verify", None, {"verifiablePresentation": credential})
        assert r.status_code == 400 and r.json()["verified"] is False


def test_an_unexpected_error_is_a_logged_generic_500(fuzz_env, caplog):
    env = fuzz_env
    state = env.client.app.state.certreg
    saved = state.body
    state.body = None  # every use of the body now fails in a way no handler expects
    try:
        with caplog.at_level(logging.ERROR, logger="certreg.http"):
            r = env.get("/status/revocation-1")
    finally:
        state.body = saved
    assert r.status_code == 500
    assert r.json() == {
        "detail": "internal error: the request could not be completed (it has been logged)"
    }
    assert "Traceback" not in r.text and "AttributeError" not in r.text
    assert any("unexpected error" in rec.getMessage() for rec in caplog.records)

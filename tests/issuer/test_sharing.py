"""Holder sharing: share-link life cycle, secrets never stored in clear, the page in plain words
(escaped), the LinkedIn URL exactly encoded, the VC API exchange, the admin API and the CLI."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from click.testing import CliRunner
from http_support import Env, make_env

from certreg.issuer import sharing
from certreg.issuer.cli.share import share_group
from certreg.issuer.service import ScopeGrant
from certreg.issuer.tokens import hash_secret
from certreg.verifier import Verifier
from certreg.verifier.result import Verdict
from certreg.verifier.standing import plain_date


@pytest.fixture
def env(tmp_path) -> Env:
    env = make_env(tmp_path)
    env.number = env.grant()["number"]  # type: ignore[attr-defined]
    return env


def _verify(env: Env, document: dict) -> Verdict:
    lists = {
        env.body.status_lists.url(list_id): env.body.status_lists.latest(list_id)
        for (list_id,) in env.body.db.execute("SELECT id FROM status_lists")
    }
    verifier = Verifier(
        trusted_issuers={env.body.info["did"]}, status_fetcher=lists, clock=env.clock
    )
    return verifier.verify_credential(document).verdict


def _events(env: Env, kind: str) -> list[dict]:
    return [
        {"subject": s, "payload": json.loads(p)}
        for s, p in env.body.db.execute(
            "SELECT subject, payload FROM events WHERE kind = ? ORDER BY seq", [kind]
        )
    ]


# --- life cycle ---------------------------------------------------------------------------


def test_share_page_shows_the_certificate_in_plain_words(env):
    share, token = sharing.create_share(env.body, env.number)
    assert sharing.share_url(env.body, token) == f"https://cb.example/share/{token}"
    r = env.client.get(f"/share/{token}")
    assert r.status_code == 200
    page = r.text
    # The public page's headline, with the last valid day (verifier.standing).
    until = plain_date(env.body.certification(env.number).valid_until)
    for text in (
        "Jane Doe",
        env.number,
        "Certified Welding Inspector",
        "ISO 9712:2021",
        "Example Certification Body",
        f'<p class="status ok">VALID until {until}</p>',
        "Ultrasonic testing, level 2",
        "steel, 6-40 mm",
        "Visual testing, level 2",
        f"/share/{token}/credential.json",
        f"/share/{token}/qr.png",
        f"/share/{token}/wallet-qr.png",
        "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fcb.example%2Foid4vci",
        f"https://cb.example/share/{token}/interact",
        "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME",
    ):
        assert text in page, text
    assert "jane@example.org" not in page and "1990-04-01" not in page
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["Cache-Control"] == "no-store"
    assert "noindex" in r.headers["X-Robots-Tag"]
    assert "script-src" not in r.headers["Content-Security-Policy"]  # default-src 'none'

    download = env.client.get(f"/share/{token}/credential.json")
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.json() == env.body.certification(env.number).credential
    assert _verify(env, download.json()) is Verdict.VALID
    for png in ("qr.png", "wallet-qr.png"):
        image = env.client.get(f"/share/{token}/{png}")
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert [e["subject"] for e in _events(env, "share_link_created")] == [env.number]
    assert sharing.list_shares(env.body, env.number)[0].state(env.clock()) == "active"
    assert share.id in json.dumps(_events(env, "share_link_created"))


def test_holder_revokes_through_the_page(env):
    share, token = sharing.create_share(env.body, env.number)
    offer = sharing.current_offer(env.body, token)
    exchange = sharing.exchange_url(env.body, token).removeprefix("https://cb.example")
    confirm = env.client.get(f"/share/{token}/revoke")
    assert confirm.status_code == 200 and 'method="post"' in confirm.text
    assert env.client.get(f"/share/{token}").status_code == 200  # asking changed nothing
    r = env.client.post(f"/share/{token}/revoke")
    assert r.status_code == 200 and "Link revoked" in r.text
    for path in ("", "/credential.json", "/qr.png", "/wallet-qr.png", "/interact", "/revoke"):
        gone = env.client.get(f"/share/{token}{path}")
        assert gone.status_code == 410, path
    page = env.client.get(f"/share/{token}")
    assert "revoked by the holder" in page.text and "Jane Doe" not in page.text
    assert env.client.get(f"/oid4vci/offers/{offer.id}").status_code == 410
    assert env.client.post(exchange, json={}).status_code == 410
    assert env.client.post(f"/share/{token}/revoke").status_code == 410
    (listed,) = sharing.list_shares(env.body, env.number)
    assert listed.revoked_by == "holder" and listed.state(env.clock()) == "revoked"
    assert _events(env, "share_link_revoked")[0]["payload"] == {
        "share_link": share.id,
        "by": "holder",
    }


def test_body_revokes_a_link_and_others_keep_working(env):
    first, token1 = sharing.create_share(env.body, env.number)
    _, token2 = sharing.create_share(env.body, env.number)
    revoked = sharing.revoke_share(env.body, first.id, actor=env.staff["officer"])
    assert revoked.revoked_by == "body" and revoked.revoked_at is not None
    again = sharing.revoke_share(env.body, first.id)  # idempotent: the first time stands
    assert again.revoked_at == revoked.revoked_at
    page = env.client.get(f"/share/{token1}")
    assert page.status_code == 410 and "revoked by the certification body" in page.text
    assert env.client.get(f"/share/{token2}").status_code == 200
    assert len(_events(env, "share_link_revoked")) == 1


def test_link_expires(env):
    share, token = sharing.create_share(env.body, env.number, expires_in=timedelta(days=7))
    assert share.expires_at is not None
    page = env.client.get(f"/share/{token}")
    assert page.status_code == 200 and "This link works until" in page.text
    env.clock.advance(days=7)
    expired = env.client.get(f"/share/{token}")
    assert expired.status_code == 410 and "expired" in expired.text
    assert env.client.get(f"/share/{token}/credential.json").status_code == 410
    assert sharing.list_shares(env.body, env.number)[0].state(env.clock()) == "expired"
    with pytest.raises(sharing.Invalid):
        sharing.create_share(env.body, env.number, expires_in=timedelta(days=99_999))
    with pytest.raises(sharing.NotFound):
        sharing.create_share(env.body, "CWI-0000-0000-0")


@pytest.mark.parametrize(
    "token", ["x", "short", "a" * 300, "%3Cscript%3E", "..%2F..%2Fetc", "A" * 43, "ü" * 43]
)
def test_unknown_or_malformed_tokens_are_404(env, token):
    for path in ("", "/credential.json", "/qr.png", "/interact", "/revoke"):
        r = env.client.get(f"/share/{token}{path}")
        assert r.status_code == 404, (token, path, r.status_code)
    assert env.client.post(f"/share/{token}/revoke").status_code == 404


def test_no_secret_is_stored_in_clear(env, tmp_path):
    _, token = sharing.create_share(env.body, env.number)
    offer = sharing.current_offer(env.body, token)
    grant = sharing.exchange_code(env.body, offer.pre_authorized_code)
    exchange_id = sharing.exchange_url(env.body, token).rsplit("/", 1)[1]
    secrets = {
        "share token": token,
        "offer id": offer.id,
        "pre-authorized code": offer.pre_authorized_code,
        "access token": grant["access_token"],
        "exchange id": exchange_id,
    }
    dump = "\n".join(env.body.db.conn.iterdump())
    env.body.db.execute("PRAGMA wal_checkpoint(FULL)")
    files = b"".join(p.read_bytes() for p in (tmp_path / "cb").glob("issuer.db*") if p.is_file())
    for what, secret in secrets.items():
        assert secret not in dump, what
        assert secret.encode() not in files, what
    hashes = {r[0] for r in env.body.db.execute("SELECT token_hash FROM share_links")}
    assert hash_secret(token) in hashes
    (row,) = env.body.db.execute(
        "SELECT offer_hash, code_hash, token_hash FROM oid4vci_offers"
    ).fetchall()
    assert row == (
        hash_secret(offer.id),
        hash_secret(offer.pre_authorized_code),
        hash_secret(grant["access_token"]),
    )


def test_the_page_escapes_everything(tmp_path):
    env = make_env(tmp_path)
    evil = '<script>alert("x")</script> O\'Brien & "Sons"'
    person = env.body.add_person(evil)
    env.body.record_assessment(
        person,
        "cwi",
        result="pass",
        assessed_on=(env.clock.now.date() - timedelta(days=1)).isoformat(),
        examiners=[env.staff["examiner"]],
        scope_codes=["UT2"],
    )
    cert = env.body.grant(
        person, "cwi", [ScopeGrant("UT2", "<img src=x onerror=alert(1)>")],
        decided_by=env.staff["decider"], evidence="passed",
    )  # fmt: skip
    _, token = sharing.create_share(env.body, cert.number)
    page = env.client.get(f"/share/{token}").text
    assert "<script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; O&#x27;Brien &amp;" in page


def test_withdrawn_and_suspended_certificates_are_shown_truthfully(env):
    _, token = sharing.create_share(env.body, env.number)
    env.body.suspend(
        env.number, decided_by=env.staff["decider"], reason="complaint under review",
        until=(env.clock.now.date() + timedelta(days=30)).isoformat(),
    )  # fmt: skip
    page = env.client.get(f"/share/{token}").text
    assert "SUSPENDED since" in page and "not valid" in page and "VALID</p>" not in page
    env.body.withdraw(env.number, decided_by=env.staff["decider"], reason="misconduct")
    page = env.client.get(f"/share/{token}").text
    assert "WITHDRAWN on" in page and "no longer valid" in page
    # The credential is still delivered as issued: its status list tells verifiers.
    credential = env.client.get(f"/share/{token}/credential.json").json()
    assert _verify(env, credential) is Verdict.WITHDRAWN


def test_expired_certificate_says_so(env):
    _, token = sharing.create_share(env.body, env.number)
    env.clock.advance(days=365 * 3 + 2)
    page = env.client.get(f"/share/{token}").text
    assert "EXPIRED on" in page


# --- LinkedIn -----------------------------------------------------------------------------


def test_linkedin_url_is_exactly_encoded():
    url = sharing.linkedin_url(
        name="Certified Welding Inspector (Level 2) & more",
        organization_name="Example Certification Body, Ltd./Inc. 100%",
        issued="2026-03-02T00:00:00Z",
        expires="2029-03-01T23:59:59Z",
        cert_url="https://cb.example/c/CWI-HR4B-9XDG-J?x=1&y=2",
        cert_id="CWI-HR4B-9XDG-J",
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.linkedin.com", "/profile/add")
    assert parse_qsl(parts.query, strict_parsing=True) == [
        ("startTask", "CERTIFICATION_NAME"),
        ("name", "Certified Welding Inspector (Level 2) & more"),
        ("organizationName", "Example Certification Body, Ltd./Inc. 100%"),
        ("issueYear", "2026"),
        ("issueMonth", "3"),
        ("expirationYear", "2029"),
        ("expirationMonth", "3"),
        ("certUrl", "https://cb.example/c/CWI-HR4B-9XDG-J?x=1&y=2"),
        ("certId", "CWI-HR4B-9XDG-J"),
    ]
    # Every reserved character is percent-encoded; spaces as %20, never '+'.
    assert "+" not in parts.query
    assert "certUrl=https%3A%2F%2Fcb.example%2Fc%2FCWI-HR4B-9XDG-J%3Fx%3D1%26y%3D2&" in url
    assert "name=Certified%20Welding%20Inspector%20%28Level%202%29%20%26%20more&" in url
    with_id = sharing.linkedin_url(
        name="X", organization_id="12345", issued="2026-12-31", cert_url="u", cert_id="1"
    )
    query = dict(parse_qsl(urlsplit(with_id).query))
    assert query["organizationId"] == "12345" and "organizationName" not in query
    assert "expirationYear" not in query and query["issueMonth"] == "12"


def _linkedin_on_page(page: str) -> dict[str, str]:
    import html
    import re

    href = re.search(r'href="(https://www\.linkedin\.com/profile/add\?[^"]+)"', page)
    assert href is not None
    return dict(parse_qsl(urlsplit(html.unescape(href.group(1))).query, strict_parsing=True))


def test_linkedin_on_the_page_uses_the_certificate_data(env):
    _, token = sharing.create_share(env.body, env.number)
    cert = env.body.certification(env.number)
    query = _linkedin_on_page(env.client.get(f"/share/{token}").text)
    valid_from = cert.credential["validFrom"]
    valid_until = cert.credential["validUntil"]
    assert query == {
        "startTask": "CERTIFICATION_NAME",
        "name": "Certified Welding Inspector",
        "organizationName": "Example Certification Body",
        "issueYear": str(int(valid_from[:4])),
        "issueMonth": str(int(valid_from[5:7])),
        "expirationYear": str(int(valid_until[:4])),
        "expirationMonth": str(int(valid_until[5:7])),
        "certUrl": f"https://cb.example/c/{env.number}",  # directory scheme: the stable page
        "certId": env.number,
    }


def test_linkedin_points_at_the_share_page_for_on_request_schemes(env):
    env.body.add_scheme(
        "auditor",
        code="AUD",
        name="Lead Auditor",
        description="Audits of management systems.",
        normative_reference="ISO 19011:2018",
        validity_months=36,
        max_suspension_days=90,
        publication_policy="on_request",
        scope=[("QMS", "Quality management systems")],
    )
    env.body.record_assessment(
        env.jane,
        "auditor",
        result="pass",
        assessed_on=(env.clock.now.date() - timedelta(days=1)).isoformat(),
        examiners=[env.staff["examiner"]],
        scope_codes=["QMS"],
    )
    cert = env.body.grant(
        env.jane, "auditor", [ScopeGrant("QMS")], decided_by=env.staff["decider"], evidence="ok"
    )
    _, token = sharing.create_share(env.body, cert.number)
    page = env.client.get(f"/share/{token}").text
    assert _linkedin_on_page(page)["certUrl"] == f"https://cb.example/share/{token}"
    assert f"/c/{cert.number}" not in page  # no public page to point at
    assert "Jane Doe" in page  # the holder chose to share: the name is shown


# --- VC API -------------------------------------------------------------------------------


def test_vcapi_interaction_and_exchange(env):
    _, token = sharing.create_share(env.body, env.number)
    r = env.client.get(f"/share/{token}/interact", headers={"Accept": "application/json"})
    assert r.status_code == 200
    protocols = r.json()["protocols"]
    assert protocols["OID4VCI"].startswith("openid-credential-offer://?credential_offer_uri=")
    exchange = protocols["vcapi"]
    assert exchange.startswith("https://cb.example/workflows/holder-share/exchanges/")
    assert token not in exchange
    browser = env.client.get(
        f"/share/{token}/interact", headers={"Accept": "text/html"}, follow_redirects=False
    )
    assert browser.status_code == 303 and browser.headers["location"] == f"/share/{token}"

    path = exchange.removeprefix("https://cb.example")
    for kwargs in ({"json": {}}, {}):  # an empty object, or no body at all
        answer = env.client.post(path, **kwargs)
        assert answer.status_code == 200, answer.text
        vp = answer.json()["verifiablePresentation"]
        assert vp["type"] == ["VerifiablePresentation"]
        assert vp["@context"] == ["https://www.w3.org/ns/credentials/v2"]
        (credential,) = vp["verifiableCredential"]
        assert credential == env.body.certification(env.number).credential
        assert _verify(env, credential) is Verdict.VALID
    assert env.client.post("/workflows/holder-share/exchanges/nope", json={}).status_code == 404
    assert (
        env.client.post(
            path, content=b"{", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )


# --- admin API and CLI --------------------------------------------------------------------


def test_admin_api_creates_lists_and_revokes(env):
    path = f"/api/certifications/{env.number}/share-links"
    assert env.client.post(path).status_code == 401
    assert env.post(path, "decider", {}).status_code == 403
    made = env.post(path, "officer", {"expires_days": 30})
    assert made.status_code == 201, made.text
    url = made.json()["url"]
    share = made.json()["share_link"]
    assert share["state"] == "active" and share["created_by"] == env.staff["officer"]
    assert url.startswith("https://cb.example/share/")
    token = url.rsplit("/", 1)[1]
    assert env.client.get(f"/share/{token}").status_code == 200
    assert env.post(path, "officer", {"expires_days": 0}).status_code == 422
    assert env.post(path, "officer", {"token": "mine"}).status_code == 422
    assert env.post("/api/certifications/NOPE/share-links", "officer").status_code == 404

    listed = env.get(path, "decider").json()
    assert [s["id"] for s in listed] == [share["id"]]
    assert token not in json.dumps(listed)
    gone = env.client.delete(f"/api/share-links/{share['id']}", headers=env.auth("admin"))
    assert gone.status_code == 200 and gone.json()["revoked_by"] == "body"
    assert env.client.get(f"/share/{token}").status_code == 410
    missing = env.client.delete("/api/share-links/nope", headers=env.auth("admin"))
    assert missing.status_code == 404


def test_cli_share_create_list_revoke(env, tmp_path: Path):
    data = tmp_path / "cb"
    runner = CliRunner()
    made = runner.invoke(
        share_group, ["create", env.number, "--expires", "10", "--data", str(data)]
    )
    assert made.exit_code == 0, made.output
    url = made.stdout.strip()
    assert url.startswith("https://cb.example/share/") and "\n" not in url
    assert "shown this once" in made.stderr
    token = url.rsplit("/", 1)[1]
    assert env.client.get(f"/share/{token}").status_code == 200

    listed = runner.invoke(share_group, ["list", env.number, "--json", "--data", str(data)])
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.stdout)
    assert row["state"] == "active" and token not in listed.output
    table = runner.invoke(share_group, ["list", env.number, "--data", str(data)])
    assert row["id"] in table.output and "active" in table.output

    revoked = runner.invoke(share_group, ["revoke", row["id"], "--data", str(data)])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert env.client.get(f"/share/{token}").status_code == 410
    missing = runner.invoke(share_group, ["revoke", "nope", "--data", str(data)])
    assert missing.exit_code == 1 and "no share link" in missing.output
    unknown = runner.invoke(share_group, ["create", "CWI-0000", "--data", str(data)])
    assert unknown.exit_code == 1 and "Traceback" not in unknown.output

"""The keyless public site (``certreg register serve BUNDLE_DIR``) for real.

A body is built on disk (tests/register_support.py: a directory, a number_lookup and an
on_request scheme, share links live, revoked and expired), published with ``certreg publish``,
and ONLY the bundle is copied into a fresh folder (plus, privately, the lookup secret, as the
bundle's README says). ``certreg register serve`` runs there in a subprocess (uvicorn on
127.0.0.1, a free port), with an audit hook that records every file and database it opens;
``certreg serve`` runs on the body's data folder beside it. Every URL a QR code or a share link
prints, and every public page, must answer on both with the same status and the same content.

Also: register/ never imports certreg.issuer (a subprocess's sys.modules, and an AST scan).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from factories import free_port
from fastapi.testclient import TestClient
from register_support import PASSPHRASE, add_holder, grant, make_body

from certreg.issuer import sharing
from certreg.issuer.cli.publish import publish_command
from certreg.issuer.cli.register import register_group
from certreg.register.web.app import create_public_app
from certreg.verifier.dataintegrity import add_proof

ROOT = Path(__file__).parents[2]
REGISTER = ROOT / "register"

#: certreg's own CLI, with an audit hook that writes every path the process opens to a file.
AUDITED_CLI = """
import sys
log = open(sys.argv.pop(1), "a", encoding="utf-8")
def hook(event, args):
    if event in ("open", "sqlite3.connect", "os.listdir", "os.scandir") and args:
        log.write(f"{event}\\t{args[0]}\\n")
        log.flush()
sys.addaudithook(hook)
from certreg.issuer.cli import main
sys.argv[0] = "certreg"
main()
"""


def _start(
    args: list[str], cwd: Path, env: dict[str, str], port: int, output: Path, level: str
) -> subprocess.Popen:
    """Start certreg ARGS on ``port``; what it prints goes to ``output`` (a file, not a pipe
    nobody reads, which would block a server that logs every request)."""
    with output.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", AUDITED_CLI, *args, "--port", str(port), "--log-level", level],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{args[:2]} exited: {output.read_text()}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/contexts", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"{args[:2]} did not start within 60 s")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@dataclass
class Sites:
    body_server: httpx.Client
    keyless: httpx.Client
    data: Path
    bundle: Path
    opened_log: Path
    numbers: dict[str, str]
    tokens: dict[str, str]
    forged: str  # a certificate signed with the body's key without a decision
    keyless_output: Path  # what `certreg register serve` printed, its access log included


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    tmp = tmp_path_factory.mktemp("public-site")
    b = make_body(tmp)
    jane = add_holder(b, "jane", "Jane Doe", consent=True)
    sam = add_holder(b, "sam", "Sam Suspended", consent=True)
    nina = add_holder(b, "nina", "Nina Number", consent=True, schemes=("ndt",))
    otto = add_holder(b, "otto", "Otto Onrequest", consent=False, schemes=("sec",))
    numbers = {
        "directory": grant(b, jane),
        "suspended": grant(b, sam),
        "sealed": grant(b, nina, "ndt"),
        "on_request": grant(b, otto, "sec"),
    }
    b.body.suspend(numbers["suspended"], decided_by=b.decider, reason="r", until="2026-08-01")
    tokens = {
        "directory": sharing.create_share(b.body, numbers["directory"])[1],
        "on_request": sharing.create_share(b.body, numbers["on_request"])[1],
        "suspended": sharing.create_share(b.body, numbers["suspended"])[1],
        # Expired for any clock after the test Clock's 2026-03-03, the servers' real one too.
        "expired": sharing.create_share(b.body, numbers["directory"], expires_in=timedelta(days=1))[
            1
        ],
    }
    share, revoked = sharing.create_share(b.body, numbers["on_request"])
    sharing.revoke_share(b.body, share.id)
    tokens["revoked"] = revoked
    # The body's key signs a copy under a new id: a certificate no decision made.
    copy = dict(b.body.certification(numbers["directory"]).credential or {})
    copy.pop("proof")
    copy["id"] = f"urn:uuid:{uuid.uuid4()}"
    forged = json.dumps(add_proof(copy, b.body.signer))
    # The servers run on the real clock: the lists are re-signed for it first, as `certreg
    # serve` would at its start, so that the bundle holds the lists the body server serves.
    b.clock.now = datetime.now(UTC)
    assert b.body.status_lists.refresh_due()
    out = tmp / "published"
    result = CliRunner().invoke(publish_command, [str(out), "--data", str(b.data)])
    assert result.exit_code == 0, result.output
    b.body.db.conn.close()

    # A fresh folder with the bundle only; the lookup secret beside it, private, as README says.
    fresh = tmp / "replica"
    bundle = fresh / "bundle"
    shutil.copytree(out, bundle)
    secret = fresh / "lookup.secret"
    shutil.copy(b.data / "register-lookup.secret", secret)
    secret.chmod(0o600)
    opened_log = tmp / "opened.log"
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("CERTREG_") and k != "PWD"}
    keyless_port, body_port = free_port(), free_port()
    # The keyless site logs every request (info), as an operator would run it.
    keyless_output = tmp / "keyless-output.log"
    keyless = _start(
        [str(opened_log), "register", "serve", "bundle"],
        fresh,
        {**clean_env, "CERTREG_LOOKUP_SECRET_FILE": str(secret)},
        keyless_port,
        keyless_output,
        "info",
    )
    try:
        body_server = _start(
            [str(tmp / "body-opened.log"), "serve", "--data", str(b.data)],
            ROOT,
            {**clean_env, "CERTREG_PASSPHRASE": PASSPHRASE},
            body_port,
            tmp / "body-output.log",
            "warning",
        )
    except BaseException:
        _stop(keyless)
        raise
    try:
        with (
            httpx.Client(base_url=f"http://127.0.0.1:{body_port}", timeout=30) as on_body,
            httpx.Client(base_url=f"http://127.0.0.1:{keyless_port}", timeout=30) as on_site,
        ):
            yield Sites(
                on_body, on_site, b.data, bundle, opened_log, numbers, tokens, forged,
                keyless_output,
            )  # fmt: skip
    finally:
        _stop(keyless)
        _stop(body_server)


def _both(s: Sites, path: str, **options: object) -> tuple[httpx.Response, httpx.Response]:
    return s.body_server.get(path, **options), s.keyless.get(path, **options)


def _same(s: Sites, path: str, *, strip: str | None = None) -> httpx.Response:
    """``path`` answers alike on both: status, media type and bytes (``strip``: a regex of
    what may differ, e.g. a PDF's creation time). Returns the keyless site's answer."""
    ours, theirs = _both(s, path)
    assert ours.status_code == theirs.status_code, path
    assert ours.headers.get("content-type") == theirs.headers.get("content-type"), path
    assert ours.headers.get("location") == theirs.headers.get("location"), path
    a, b = ours.content, theirs.content
    if strip is not None:
        a, b = re.sub(strip.encode(), b"", a), re.sub(strip.encode(), b"", b)
    assert a == b, path
    return theirs


# --- every URL a certificate's QR code prints --------------------------------------------------


@pytest.mark.parametrize("kind", ["directory", "suspended", "sealed"])
def test_each_certificate_page_and_its_qr_and_pdf_answer_as_on_the_body_server(sites, kind):
    number = sites.numbers[kind]
    page = _same(sites, f"/c/{number}")
    assert page.status_code == 200 and number in page.text
    for suffix in ("/qr.png", "/qr.svg"):
        assert _same(sites, f"/c/{number}{suffix}").status_code == 200
    # fpdf dates each document as it is made, and derives its file /ID from that time.
    made = r"/CreationDate \([^)]*\)|/ID \[<[0-9A-Fa-f]*><[0-9A-Fa-f]*>\]"
    pdf = _same(sites, f"/c/{number}/certificate.pdf", strip=made)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_the_pages_say_the_same_status(sites):
    assert "SUSPENDED" in sites.keyless.get(f"/c/{sites.numbers['suspended']}").text
    assert "VALID" in sites.keyless.get(f"/c/{sites.numbers['directory']}").text


@pytest.mark.parametrize("path", ["/c/{on_request}", "/c/XX-0000-0000-0", "/c/{lower}"])
def test_unpublished_unknown_and_non_canonical_numbers_answer_alike(sites, path):
    number = sites.numbers["directory"]
    path = path.format(on_request=sites.numbers["on_request"], lower=number.lower())
    answer = _same(sites, path)
    assert answer.status_code in (301, 404)


# --- every URL a share link prints -------------------------------------------------------------


#: The log proof's paragraph: a link on the body's server, where to get it on the keyless site.
_LOG_PROOF = re.compile(r'<div class="log-proof">.*?</div>', re.S)


def _certificate_part(html: str) -> str:
    """The share page up to the sections that act on the issuer's state, without the log
    proof's paragraph (which only the body's server can link)."""
    for marker in ("<section><h2>Put it in a wallet", "<section><h2>Wallets and stopping"):
        if marker in html:
            return _LOG_PROOF.sub("", html[: html.index(marker)])
    raise AssertionError("no holder actions section")


@pytest.mark.parametrize("kind", ["directory", "on_request", "suspended"])
def test_a_share_link_shows_the_same_certificate_and_offers_no_broken_button(sites, kind):
    token = sites.tokens[kind]
    ours, theirs = _both(sites, f"/share/{token}")
    assert ours.status_code == theirs.status_code == 200
    assert _certificate_part(ours.text) == _certificate_part(theirs.text)
    assert theirs.headers["referrer-policy"] == "no-referrer"
    assert theirs.headers["cache-control"] == "no-store"
    # What only the body's server can do is not offered on the keyless site; it says who does.
    assert "wallet-qr.png" in ours.text and "/revoke" in ours.text
    assert "wallet-qr.png" not in theirs.text and "/revoke" not in theirs.text
    assert "openid-credential-offer" not in theirs.text
    assert "ask Example Certification Body" in theirs.text
    # The log proof: linked on the body's server, which has the log; the keyless site says
    # where to get it, and has no such route.
    assert f'href="/share/{token}/log-proof"' in ours.text
    assert "/log-proof" not in theirs.text
    assert "not available\non this public copy of the register" in theirs.text
    proof = sites.body_server.get(f"/share/{token}/log-proof")
    assert proof.status_code == 200 and proof.text.startswith("c2sp.org/tlog-proof@v1\n")
    assert sites.keyless.get(f"/share/{token}/log-proof").status_code == 404
    for suffix in ("/credential.json", "/qr.png"):
        assert _same(sites, f"/share/{token}{suffix}").status_code == 200
    credential = sites.keyless.get(f"/share/{token}/credential.json").json()
    assert credential["credentialSubject"]["achievement"]
    # The routes that need the issuer are not there at all (no button leads to them).
    for suffix in ("/wallet-qr.png", "/revoke", "/interact"):
        assert sites.keyless.get(f"/share/{token}{suffix}").status_code == 404


@pytest.mark.parametrize("lang", ["de", "fr", "es"])
def test_both_sites_show_a_share_page_and_print_the_pdf_in_the_same_language(sites, lang):
    from certreg.i18n import translator

    _ = translator("pages", lang)
    ours, theirs = _both(sites, f"/share/{sites.tokens['directory']}?lang={lang}")
    assert ours.headers["content-language"] == theirs.headers["content-language"] == lang
    actions = (
        f"<section><h2>{_('Put it in a wallet')}",
        f"<section><h2>{_('Wallets and stopping sharing')}",
    )
    assert ours.text.index(actions[0]) > 0 and theirs.text.index(actions[1]) > 0
    assert _LOG_PROOF.sub("", ours.text[: ours.text.index(actions[0])]) == _LOG_PROOF.sub(
        "", theirs.text[: theirs.text.index(actions[1])]
    )
    assert _("Proof that the body's log holds this certificate").replace("'", "&#x27;") in (
        ours.text
    )
    assert f'<html lang="{lang}">' in theirs.text and _("Certificate number") in theirs.text
    made = r"/CreationDate \([^)]*\)|/ID \[<[0-9A-Fa-f]*><[0-9A-Fa-f]*>\]"
    number = sites.numbers["directory"]
    pdf = _same(sites, f"/c/{number}/certificate.pdf?lang={lang}", strip=made)
    assert pdf.status_code == 200 and pdf.headers["content-language"] == lang


@pytest.mark.parametrize("kind", ["revoked", "expired", "unknown"])
def test_revoked_expired_and_unknown_links_answer_alike(sites, kind):
    token = sites.tokens.get(kind, "x" * 43)
    for suffix in ("", "/credential.json", "/qr.png"):
        answer = _same(sites, f"/share/{token}{suffix}")
        assert answer.status_code == (404 if kind == "unknown" else 410)


def test_the_share_table_is_not_served_by_datasette(sites):
    for table in ("share_pages", "issued_credentials"):
        for path in (f"/register/public/{table}", f"/register/public/{table}.json"):
            assert sites.keyless.get(path).status_code == 403
    assert "share_pages" not in sites.keyless.get("/register/public").text


# --- the register, the verify page, the documents credentials name ------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/register",
        "/.well-known/did.json",
        "/did.json",
        "/status/revocation-1",
        "/status/suspension-1",
        "/status/revocation-1/versions/1",
        "/status/nope-1",
        "/contexts",
        "/contexts/credentials-v2.jsonld",
        "/contexts/www.w3.org/ns/credentials/v2",
        "/verify",
    ],
)
def test_documents_and_forms_answer_alike(sites, path):
    answer = _same(sites, path)
    if path.startswith("/status/") and "nope" not in path:
        assert answer.headers["etag"] == sites.body_server.get(path).headers["etag"]


def test_the_register_lists_the_same_certificates(sites):
    path = "/register/public/certifications.json?_shape=array&_sort=number"
    ours, theirs = _both(sites, path)
    assert ours.status_code == theirs.status_code == 200
    assert ours.json() == theirs.json() and len(theirs.json()) == 2
    assert sites.keyless.get("/register/").status_code == 200


def test_the_verify_page_gives_the_same_verdict(sites):
    for kind, verdict in (("directory", "VALID"), ("suspended", "SUSPENDED")):
        credential = sites.keyless.get(f"/share/{sites.tokens[kind]}/credential.json").text
        answers = [
            site.post("/verify", data={"credential": credential}, headers={"Accept": "*/*"})
            for site in (sites.body_server, sites.keyless)
        ]
        assert [a.status_code for a in answers] == [200, 200]
        ours, theirs = (a.json() for a in answers)
        assert theirs["verdict"] == ours["verdict"] == verdict, theirs
        assert theirs["headline"] == ours["headline"]
        assert theirs["issued_by_this_body"] is True
        # The same certificate with its proof written as the object, not a one-element array
        # (the same signed document): still the body's, on both servers.
        document = json.loads(credential)
        [proof] = document["proof"]
        rewritten = json.dumps({**document, "proof": proof})
        for site in (sites.body_server, sites.keyless):
            answer = site.post("/verify", data={"credential": rewritten}, headers={"Accept": "*/*"})
            assert answer.json()["verdict"] == verdict, answer.json()["summary"]


def test_a_certificate_signed_without_a_decision_is_invalid_on_both(sites):
    answers = [
        site.post("/verify", data={"credential": sites.forged}, headers={"Accept": "*/*"})
        for site in (sites.body_server, sites.keyless)
    ]
    ours, theirs = (a.json() for a in answers)
    assert ours["verdict"] == theirs["verdict"] == "INVALID"
    assert "no record of issuing this certificate" in theirs["summary"]
    assert theirs["summary"] == ours["summary"] and theirs["headline"] == ours["headline"]


def test_every_anonymous_request_is_bounded(sites):
    big = sites.keyless.post("/verify", json={"a": "x" * (2 * 1024 * 1024)})
    assert big.status_code == 413
    not_json = sites.keyless.post("/contexts", content=b"x", headers={"Content-Type": "text/x"})
    assert not_json.status_code in (405, 413, 415)


# --- the keyless site reads the bundle, and only the bundle ---------------------------------------


def test_serving_never_opened_issuer_db_nor_the_key_store(sites):
    opened = sites.opened_log.read_text().splitlines()
    assert any("public.db" in line for line in opened)  # the hook did see the site's files
    data = str(sites.data.resolve())
    for line in opened:
        path = line.split("\t", 1)[1]
        assert data not in path, line
        assert not path.endswith(("issuer.db", "vc-api.db")), line
        if path.startswith(str(ROOT / "keys")):  # certreg.keys, the code: not a key store
            continue
        assert "/keys/" not in path and not path.endswith("/keys"), line


def test_register_never_imports_the_issuer():
    probe = (
        "import pkgutil, sys, certreg.register as r\n"
        "for m in pkgutil.walk_packages(r.__path__, 'certreg.register.'):\n"
        "    __import__(m.name)\n"
        "import certreg.register.web.app as app, tempfile, pathlib\n"
        "print(sorted(m for m in sys.modules if m.startswith('certreg.issuer')))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert found.stdout.strip() == "[]", found.stdout
    for path in sorted(REGISTER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(("certreg.issuer", "issuer")), f"{path}: {name}"


def test_the_command_is_in_the_register_group():
    result = CliRunner().invoke(register_group, ["serve", "--help"])
    assert result.exit_code == 0 and "BUNDLE_DIR" in result.output
    missing = CliRunner().invoke(register_group, ["serve", str(REGISTER)])
    assert missing.exit_code != 0 and "public.db" in missing.output


# --- revoking a link on the body's server stops the public site at the next push ----------------


def test_a_link_revoked_on_the_body_server_stops_at_the_next_push(tmp_path):
    b = make_body(tmp_path)
    jane = add_holder(b, "jane", "Jane Doe", consent=True)
    number = grant(b, jane)
    share, token = sharing.create_share(b.body, number)

    def publish() -> TestClient:
        out = tmp_path / "out"
        result = CliRunner().invoke(publish_command, [str(out), "--data", str(b.data)])
        assert result.exit_code == 0, result.output
        copy = tmp_path / f"copy-{time.monotonic_ns()}"
        shutil.copytree(out, copy)
        return TestClient(create_public_app(copy))

    before = publish()
    assert before.get(f"/share/{token}").status_code == 200
    # A status change reaches the sealed page at the next push.
    b.body.suspend(number, decided_by=b.decider, reason="r", until="2026-05-01")
    suspended = publish()
    assert "SUSPENDED since" in suspended.get(f"/share/{token}").text
    sharing.revoke_share(b.body, share.id)
    after = publish()
    page = after.get(f"/share/{token}")
    assert page.status_code == 410 and "revoked by the certification body" in page.text
    assert after.get(f"/share/{token}/credential.json").status_code == 410
    # The revoked link's page is gone from the register, not only refused.
    with after.app.state.certreg_site.connect() as conn:
        assert [tuple(r) for r in conn.execute("SELECT sealed FROM share_pages")] == [(None,)]


def test_without_the_link_the_register_holds_nothing_readable(tmp_path):
    b = make_body(tmp_path)
    otto = add_holder(b, "otto", "Otto Onrequest", consent=False, schemes=("sec",))
    number = grant(b, otto, "sec")
    _, token = sharing.create_share(b.body, number)
    b.sync.flush()
    files = [b.register, b.register.with_name("register.db-wal")]
    raw = b"".join(f.read_bytes() for f in files if f.exists())
    assert b"share_pages" in raw  # the table is there, and holds one sealed row
    for secret in (b"Otto", b"Onrequest", number.encode(), token.encode()):
        assert secret not in raw


def test_a_share_link_reaches_the_register_when_it_is_made_and_when_it_is_revoked(
    tmp_path: Path,
) -> None:
    # The keyless site serves a link from register.db: making or revoking one pushes at once,
    # not at the next change of some certification.
    b = make_body(tmp_path)
    person = add_holder(b, "jane", "Jane Doe", consent=True)
    number = grant(b, person, "cwi")

    def rows() -> list[tuple[str | None, bool]]:
        with sqlite3.connect(b.register) as conn:
            return [
                (revoked_at, sealed is not None)
                for revoked_at, sealed in conn.execute(
                    "SELECT revoked_at, sealed FROM share_pages ORDER BY id"
                )
            ]

    share, _token = sharing.create_share(b.body, number)
    assert rows() == [(None, True)]
    sharing.revoke_share(b.body, share.id, actor=b.decider)
    [(revoked_at, sealed)] = rows()
    assert revoked_at is not None and not sealed


def test_the_keyless_sites_access_log_holds_no_share_token(sites):
    # Share tokens travel in paths; whoever reads the public server's log must not get them.
    for token in sites.tokens.values():
        assert sites.keyless.get(f"/share/{token}").status_code in (200, 404, 410)
        assert sites.keyless.get(f"/share/{token}/credential.json").status_code in (200, 404, 410)
    logged = sites.keyless_output.read_text()
    assert "GET /share/" in logged  # the requests are logged...
    for token in sites.tokens.values():
        assert token not in logged  # ...without their token


@pytest.mark.parametrize("content", [None, b"not a database", b""])
def test_a_folder_that_is_not_a_sound_bundle_is_refused_with_the_reason(tmp_path, content):
    # Refused before serving, with the reason, rather than a server answering 500 on every page.
    if content is not None:
        (tmp_path / "public.db").write_bytes(content)
    result = CliRunner().invoke(register_group, ["serve", str(tmp_path), "--port", "1"])
    assert result.exit_code == 1, result.output
    assert "public.db" in result.output and "Traceback" not in result.output

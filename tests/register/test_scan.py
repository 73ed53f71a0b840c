"""The verify page's QR scanner as served (register/web/scan.py): its files from the package
with the right types and caching, the verify page's headers (scripts from this site only, the
camera for this page only), the vendored zxing-wasm identical to the npm package's, and the
scanner's words in every language. The scanner working in a browser: test_scan_browser.py."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from jinja2 import FileSystemLoader
from register_support import add_holder, grant, make_body

from certreg.i18n import LANGUAGES, jinja_environment
from certreg.issuer.cli.publish import publish_command
from certreg.register.site import TEMPLATES
from certreg.register.web import scan
from certreg.register.web.app import create_public_app

ROOT = Path(__file__).parent.parent.parent
NPM = ROOT / "tests" / "interop" / "node_modules" / "zxing-wasm"
#: Each vendored file and where it comes from in the npm package (the vendor folder's README).
VENDORED = {
    "zxing-reader.js": "dist/iife/reader/index.js",
    "zxing_reader.wasm": "dist/reader/zxing_reader.wasm",
    "LICENSE": "LICENSE",
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    """The keyless public site of a body at https://cb.example, and one certificate number."""
    tmp = tmp_path_factory.mktemp("scan")
    b = make_body(tmp)
    number = grant(b, add_holder(b, "jane", "Jane Doe", consent=True))
    out = tmp / "published"
    result = CliRunner().invoke(publish_command, [str(out), "--data", str(b.data)])
    assert result.exit_code == 0, result.output
    b.body.db.conn.close()
    with TestClient(create_public_app(out)) as test_client:
        yield test_client, number


def test_the_verify_page_allows_only_its_own_scripts_and_the_camera_for_itself(client):
    c, _ = client
    for response in (
        c.get("/verify"),
        c.post("/verify", data={"credential": ""}, headers={"Accept": "text/html"}),
    ):
        assert "Scan a QR code with the camera" in response.text
        policy = dict(
            part.strip().split(" ", 1)
            for part in response.headers["Content-Security-Policy"].split(";")
        )
        assert policy["script-src"] == "'self' 'wasm-unsafe-eval'"
        assert policy["default-src"] == "'none'" and policy["connect-src"] == "'self'"
        assert response.headers["Permissions-Policy"] == "camera=(self)"
        # No inline script: every <script> loads a file of this site.
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", response.text, re.S)
        assert [src for src, body in scripts if body.strip() or "src=" not in src] == []
        for attributes, _ in scripts:
            src = re.search(r'src="([^"]+)"', attributes)
            assert src is not None and src.group(1).startswith("/static/")
            assert c.get(src.group(1)).status_code == 200


def test_only_the_verify_page_may_use_the_camera(client):
    c, number = client
    assert "Permissions-Policy" not in c.get(f"/c/{number}").headers
    assert "Permissions-Policy" not in c.get("/").headers


def test_the_scanner_knows_this_registers_certificate_addresses(client):
    page = client[0].get("/verify").text
    assert 'data-certificate-prefix="https://cb.example/c/"' in page
    assert 'data-root="/"' in page
    # Without JavaScript the controls stay hidden and a note says why.
    assert '<div id="scan-controls" hidden' in page
    assert "Scanning a QR code needs JavaScript" in page


def test_the_files_are_served_with_their_types_and_caching(client):
    c, _ = client
    script = c.get("/static/scan.js")
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert script.headers["cache-control"] == "public, no-cache"  # its address stays the same
    assert script.headers["x-content-type-options"] == "nosniff"
    again = c.get("/static/scan.js", headers={"If-None-Match": script.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    wasm = c.get(f"/static/{scan.VENDOR}/zxing_reader.wasm")
    assert wasm.status_code == 200 and wasm.content[:4] == b"\0asm"
    assert wasm.headers["content-type"] == "application/wasm"
    assert wasm.headers["cache-control"] == "public, max-age=31536000, immutable"
    reader = c.get(f"/static/{scan.VENDOR}/zxing-reader.js")
    assert reader.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "immutable" in reader.headers["cache-control"]


@pytest.mark.parametrize(
    "path",
    [
        f"/static/{scan.VENDOR}/LICENSE",
        f"/static/{scan.VENDOR}/README.md",
        "/static/../scan.py",
        "/static/%2e%2e/scan.py",
        "/static/",
        "/static/nothing.js",
    ],
)
def test_nothing_else_is_served_from_the_folder(client, path):
    assert client[0].get(path).status_code == 404


def test_the_vendored_files_are_the_npm_packages_own():
    package = json.loads((ROOT / "tests" / "interop" / "package.json").read_text())
    version = package["dependencies"]["zxing-wasm"]
    assert scan.VENDOR == f"vendor/zxing-wasm-{version}"
    if not NPM.exists():
        pytest.skip(f"npm's test modules are missing ({NPM}): run `npm ci` in tests/interop")
    assert json.loads((NPM / "package.json").read_text())["version"] == version
    folder = scan.STATIC / scan.VENDOR
    for mine, theirs in VENDORED.items():
        assert (folder / mine).read_bytes() == (NPM / theirs).read_bytes(), mine
    # The project's pages name the files the folder holds.
    template = (TEMPLATES / "_certreg_scan.html").read_text(encoding="utf-8")
    assert f"static/{scan.VENDOR}/zxing-reader.js" in template
    assert f"static/{scan.VENDOR}/zxing_reader.wasm" in template


def test_the_wheel_carries_every_served_file():
    """pyproject's package-data for certreg.register.web covers each file /static/ serves,
    and the licences beside the vendored build."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["certreg.register.web"]
    base = ROOT / "register" / "web"
    shipped = {path.relative_to(base).as_posix() for p in patterns for path in base.glob(p)}
    assert set(f"static/{name}" for name in scan.static_files()) <= shipped
    assert f"static/{scan.VENDOR}/LICENSE" in shipped
    assert f"static/{scan.VENDOR}/LICENSE-zxing-cpp" in shipped


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_scanners_words_are_translated(lang):
    env = jinja_environment(FileSystemLoader(str(TEMPLATES)), "pages", lang)
    html = env.get_template("_certreg_scan.html").render(root="/", certificate_prefix="")
    messages = dict(re.findall(r'data-msg-([a-z-]+)="([^"]*)"', html))
    assert len(messages) == 10 and all(messages.values()), messages
    # The script fills these in: they survive translation as they are.
    assert "%(text)s" in messages["not-ours"]
    assert "%(number)s" in messages["opening"]
    english = jinja_environment(FileSystemLoader(str(TEMPLATES)), "pages", "en")
    if lang != "en":
        original = english.get_template("_certreg_scan.html").render(root="/")
        words = dict(re.findall(r'data-msg-([a-z-]+)="([^"]*)"', original))
        assert all(messages[key] != words[key] for key in words), messages
    button = {"en": "Scan a QR code", "de": "QR-Code", "fr": "code QR", "es": "código QR"}
    assert button[lang] in html


def test_the_script_writes_no_words_of_its_own():
    """Every sentence the scanner shows comes from the page: the script's only strings are
    code (names, options, characters)."""
    script = (scan.STATIC / "scan.js").read_text(encoding="utf-8")
    code = re.sub(r"//[^\n]*", "", script)
    strings = re.findall(r'"([^"\\]*)"', code)
    assert [s for s in strings if re.search(r"[a-z]+ [a-z]+ [a-z]+", s)] == []

"""certreg works when installed from its wheel, not only from the checkout.

A wheel once shipped without ``issuer/http/`` and the register's Datasette files, and
``certreg`` stopped with ``ModuleNotFoundError`` for everyone who installed it with pip while
CI, which only ever installed the checkout in editable mode, stayed green. So this test builds
the sdist, builds the wheel from that sdist (as pip does from PyPI), installs the wheel (without
its dependencies, which the test environment already has) into a folder outside the checkout,
and runs the installed ``certreg`` from another folder: the demo body build, ``certreg serve``
answering a certificate page and a status list, and ``certreg verify`` of one issued
certificate.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from browser_support import free_port

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (sdist,) = out.glob("certreg-*.tar.gz")
    (wheel,) = out.glob("certreg-*.whl")
    assert sdist.stat().st_size > 0
    names = zipfile.ZipFile(wheel).namelist()
    for needed in (
        "certreg/issuer/http/app.py",
        "certreg/register/web/app.py",
        "certreg/verifier/tlog/merkle.py",
        "certreg/register/metadata.json",
        "certreg/register/datasette/plugins/certreg_register.py",
        "certreg/register/datasette/templates/certreg_certificate.html",
        "certreg/contexts/files/index.json",
        "certreg/issuer/console/common-passwords.txt.gz",
        "certreg/issuer/console/COMMON-PASSWORDS-LICENSE",
        "certreg/issuer/console/templates/login.html",
        # Without its catalogs an installed certreg would speak English only, silently; without
        # the vendored decoder the verify page's scanner would do nothing.
        "certreg/i18n/locale/de/LC_MESSAGES/pages.po",
        "certreg/i18n/locale/es/LC_MESSAGES/mail.po",
        "certreg/i18n/locale/fr/LC_MESSAGES/verifier.po",
        "certreg/register/web/static/scan.js",
        "certreg/register/web/static/vendor/zxing-wasm-3.1.6/zxing_reader.wasm",
        "certreg/register/datasette/templates/_certreg_languages.html",
        # The verify page as an offline app: its check, its worker, its icons, its CBOR reader.
        "certreg/register/web/static/offline.js",
        "certreg/register/web/static/sw.js",
        "certreg/register/web/static/icons/verify-192.png",
        "certreg/register/web/static/vendor/cborg-6.1.5/cborg.js",
        "certreg/register/web/static/vendor/cborg-6.1.5/lib/0uint.js",
        "certreg/register/datasette/templates/_certreg_offline.html",
    ):
        assert needed in names, needed
    # Every package of the checkout is in the wheel: pyproject.toml lists them one by one, and
    # a new one left off that list installs as a ModuleNotFoundError.
    for folder in ("issuer", "verifier", "register", "keys", "contexts", "i18n", "witness"):
        for init in (ROOT / folder).rglob("__init__.py"):
            inside = init.relative_to(ROOT / folder).as_posix()
            assert f"certreg/{folder}/{inside}" in names, f"{folder}/{inside} is not in the wheel"
    # One top-level import name: certreg claims no generic name (`register`, `contexts` and
    # `verifier` are other PyPI distributions; a user's own keys.py must not shadow ours).
    top_level = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert top_level == {"certreg"}, top_level
    target = out / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
         str(target), str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return target


def run(target: Path, cwd: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    """The installed ``certreg`` script, from a folder outside the checkout."""
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("CERTREG_DATA", None)
    return subprocess.run(
        [str(target / "bin" / "certreg"), *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=300, **kwargs,
    )  # fmt: skip


def test_the_installed_package_is_the_wheel(installed: Path, tmp_path: Path) -> None:
    code = (
        "import certreg.issuer, certreg.register, certreg.verifier, certreg.keys; "
        "print(certreg.issuer.__file__, certreg.register.__file__, certreg.keys.__file__)"
    )
    # A user's own modules named like certreg's folders, in the folder Python starts from (which
    # `python -c` puts first on sys.path), are not what certreg imports.
    for name in ("issuer", "verifier", "register", "keys", "contexts"):
        (tmp_path / f"{name}.py").write_text("raise SystemExit('shadowed: the user's module')\n")
    env = {**os.environ, "PYTHONPATH": str(installed)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
        check=True,
    ).stdout  # fmt: skip
    assert out.count(str(installed)) == 3, out


def test_demo_serve_and_verify_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "demo"
    built = run(
        installed, tmp_path, "demo", "--no-serve", "--holders", "10", "--port", str(port),
        "--data", str(data),
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    number = re.search(r"a valid certificate\s+\S+/c/(\S+)", built.stdout).group(1)

    env = {**os.environ, "PYTHONPATH": str(installed)}
    server = subprocess.Popen(
        [str(installed / "bin" / "certreg"), "serve", "--data", str(data), "--port", str(port),
         "--passphrase-file", str(data / "demo-passphrase.txt"), "--log-level", "warning"],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read().decode()
            try:
                page = httpx.get(f"{base}/c/{number}", timeout=5)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "certreg serve did not start"
                time.sleep(0.2)
        assert page.status_code == 200 and number in page.text
        assert httpx.get(f"{base}/register/", timeout=10).status_code == 200
        # The console's templates are in the wheel (the demo's accounts used its password list).
        login = httpx.get(f"{base}/console/login", timeout=10)
        assert login.status_code == 200 and "Demo only" in login.text

        with sqlite3.connect(data / "issuer.db") as db:
            (document,) = db.execute(
                "SELECT c.document FROM credentials c JOIN certifications k "
                "ON k.id = c.certification_id WHERE k.number = ? AND c.state = 'current'",
                [number],
            ).fetchone()
        credential = tmp_path / "credential.json"
        credential.write_text(document, encoding="utf-8")
        checked = run(
            installed, tmp_path, "verify", str(credential), "--json",
            "--unsafe-allow-http-host", f"127.0.0.1:{port}",
        )  # fmt: skip
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert json.loads(checked.stdout)["verdict"] == "VALID"
    finally:
        server.terminate()
        server.wait(timeout=20)

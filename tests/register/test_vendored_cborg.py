"""The CBOR library the verify page's offline check runs (register/web/static/vendor/cborg-*,
imported by static/offline.js) is npm's ``cborg`` byte for byte, at the version
tests/interop/package.json pins: what runs on a phone is the published package, not a copy
that drifted. (The same check for the QR reader zxing-wasm: test_scan.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent.parent
STATIC = ROOT / "register" / "web" / "static"
NPM = ROOT / "tests" / "interop" / "node_modules" / "cborg"


def _vendored() -> Path:
    (folder,) = STATIC.glob("vendor/cborg-*")
    return folder


def test_the_vendored_version_is_the_pinned_one_and_the_one_the_page_imports() -> None:
    package = json.loads((ROOT / "tests" / "interop" / "package.json").read_text())
    version = package["dependencies"]["cborg"]
    assert _vendored().name == f"cborg-{version}"
    script = (STATIC / "offline.js").read_text(encoding="utf-8")
    assert f'from "./vendor/cborg-{version}/cborg.js"' in script


def test_the_vendored_files_are_the_npm_packages_own() -> None:
    if not NPM.exists():
        pytest.skip(f"npm's test modules lack cborg ({NPM}): run `npm ci` in tests/interop")
    folder = _vendored()
    assert json.loads((NPM / "package.json").read_text())["version"] == folder.name.split("-")[1]
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    # The vendor folder's README (certreg's, saying where the files come from) and the
    # package's files, each identical to npm's.
    copied = [name for name in files if name != "README.md"]
    assert "cborg.js" in copied and "LICENSE" in copied and "lib/decode.js" in copied
    for name in copied:
        assert (folder / name).read_bytes() == (NPM / name).read_bytes(), name

"""What ``certreg`` loads before it does anything: each subcommand is imported only when it runs.

``certreg verify`` must not wait for the web server, the register or the PDF renderer: these
tests run the installed ``certreg`` script in a fresh interpreter and read ``sys.modules`` as
it exits. (``-X importtime`` would miss the modules the group loads with ``import_module``:
it lists only ``import`` statements.) How long a command takes is measured by
bench/bench_cli_startup.py, not asserted here: timings depend on the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from verify_support import Body, certificate, did_key_signer

from certreg.issuer.cli import SUBCOMMANDS, main

CERTREG = Path(sys.executable).parent / "certreg"  # the console script pip wrote

#: What the issuer's web server, the register and the printable certificate bring in, and
#: what only the JWK encodings of keys need (jwcrypto pulls in cryptography's X.509).
HEAVY = (
    "fastapi", "starlette", "datasette", "uvicorn", "fpdf", "PIL", "qrcode", "sqlite_utils",
    "jwcrypto", "cryptography",
)  # fmt: skip


#: Runs the script named by its first argument as ``python SCRIPT ARGS`` would, and writes the
#: names in ``sys.modules`` to $MODULES_OUT when the interpreter exits (click ends in sys.exit).
PROBE = """
import atexit, json, os, runpy, sys
out = os.environ["MODULES_OUT"]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def imported(
    tmp_path: Path, *args: str, stdin: bytes | None = None
) -> tuple[subprocess.CompletedProcess[bytes], set[str]]:
    """Run ``certreg ARGS`` in a fresh interpreter; its result and every module it imported."""
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(CERTREG), *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        env={**os.environ, "MODULES_OUT": str(out)},
    )
    return done, set(json.loads(out.read_text()))


def heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in HEAVY}


def of(package: str, modules: set[str]) -> set[str]:
    return {m for m in modules if m == package or m.startswith(package + ".")}


@pytest.fixture(scope="module")
def offline_certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A certificate signed by a did:key issuer with no status entries: verifies offline."""
    signer = did_key_signer()
    issuer = signer.verification_method.split("#")[0]
    document = Body().sign(certificate(issuer, status=False), signer=signer)
    path = tmp_path_factory.mktemp("startup") / "cert.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_verify_help_loads_neither_the_web_stack_nor_the_issuer(tmp_path: Path) -> None:
    done, modules = imported(tmp_path, "verify", "--help")
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert "Usage: certreg verify" in done.stdout.decode()
    assert "certreg.verifier.cli" in modules  # the probe saw the command load
    assert heavy(modules) == set()
    # Only the entry point of the issuer package; nothing of the register.
    assert of("certreg.issuer", modules) == {"certreg.issuer", "certreg.issuer.cli"}
    assert of("certreg.register", modules) == set()
    # --help does not need the JSON-LD processor or an HTTP client either.
    assert of("pyld", modules) == set() and of("httpx", modules) == set()


def test_verify_file_loads_only_the_verifier(tmp_path: Path, offline_certificate: Path) -> None:
    done, modules = imported(tmp_path, "verify", str(offline_certificate))
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()[-2000:]
    assert done.stdout.decode().startswith("Valid: Jane Doe holds certification CWI")
    assert heavy(modules) == set()
    assert of("certreg.issuer", modules) == {"certreg.issuer", "certreg.issuer.cli"}
    assert of("certreg.register", modules) == set()
    # A did:key credential without status entries needs no network: no HTTP client either.
    assert of("httpx", modules) == set() and of("httpcore", modules) == set()


def test_verify_from_standard_input_loads_only_the_verifier(
    tmp_path: Path, offline_certificate: Path
) -> None:
    done, modules = imported(tmp_path, "verify", "-", stdin=offline_certificate.read_bytes())
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()[-2000:]
    assert heavy(modules) == set()


@pytest.mark.parametrize("command", [("keys", "--help"), ("sign", "--help")])
def test_keys_and_sign_do_not_load_the_issuer(tmp_path: Path, command: tuple[str, ...]) -> None:
    done, modules = imported(tmp_path, *command)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert heavy(modules) == set()
    assert of("certreg.issuer", modules) == {"certreg.issuer", "certreg.issuer.cli"}


@pytest.mark.parametrize(
    "command",
    [
        ("serve", "--help"),
        ("register", "serve", "--help"),
        ("demo", "--help"),
        ("staff", "add", "--help"),  # it enrols console accounts, without the console's pages
        ("init", "--help"),
    ],
    ids=lambda c: " ".join(c),
)
def test_the_issuers_help_does_not_start_the_web_stack(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """Reading how to start a server is not starting one: FastAPI, Datasette and uvicorn load
    when the command runs, not when it explains itself."""
    done, modules = imported(tmp_path, *command)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert "Usage: certreg" in done.stdout.decode()
    # (sqlite-utils is the issuer's own database layer, loaded with the command's module.)
    assert {m.split(".")[0] for m in heavy(modules)} <= {"sqlite_utils"}


def test_top_level_help_lists_every_command_without_importing_one(tmp_path: Path) -> None:
    done, modules = imported(tmp_path, "--help")
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    listing = done.stdout.decode().split("Commands:\n", 1)[1]
    assert [line.split()[0] for line in listing.splitlines() if line.strip()] == sorted(
        sub.name for sub in SUBCOMMANDS
    )
    assert heavy(modules) == set()
    for package in ("certreg.issuer", "certreg.verifier", "certreg.keys", "certreg.register"):
        assert of(package, modules) <= {"certreg.issuer", "certreg.issuer.cli"}, package


def test_the_table_says_what_each_command_says_of_itself() -> None:
    """The help lines are copies (so that --help imports nothing); they must not drift."""
    for sub in SUBCOMMANDS:
        command = sub.load()
        assert command.name == sub.name
        assert command.get_short_help_str(limit=10_000) == sub.help, sub.name


def test_top_level_help_reads_as_with_every_command_loaded() -> None:
    eager = click.Group(
        "certreg",
        help=main.help,
        params=main.params,
        context_settings=main.context_settings,
        commands=[sub.load() for sub in SUBCOMMANDS],
    )
    for width in (60, 80, 120):
        # make_context applies the groups' context_settings (-h as well as --help), as
        # `certreg --help` does; a bare click.Context would not, and click caches each command's
        # help option, so the result would depend on which test ran first.
        with main.make_context("certreg", [], resilient_parsing=True, terminal_width=width) as c:
            lazy = main.get_help(c)
        with eager.make_context("certreg", [], resilient_parsing=True, terminal_width=width) as c:
            expected = eager.get_help(c)
        assert "-h, --help" in lazy
        assert lazy == expected, width


def test_an_unknown_command_is_a_usage_error() -> None:
    done = subprocess.run(
        [str(CERTREG), "verfy", "x.json"], capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "No such command 'verfy'" in done.stderr.decode()

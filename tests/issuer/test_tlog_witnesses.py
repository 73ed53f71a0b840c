"""The body's witness configuration (`certreg log witness add|list|remove`) and what the log does
when a witness cannot cosign: the checkpoint is still signed and served, `certreg log
checkpoint` and `certreg log status` say which witness failed, when and why, and the server asks
it again later though the log did not grow. (The whole chain with real servers:
tests/product/test_transparency.py.)"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from factories import PASSPHRASE, free_port
from http_support import Env, make_env

from certreg.issuer.cli.log import log_group
from certreg.issuer.logfiles import verifier_key
from certreg.verifier.tlog import note

NAME = "witness.test/w1"
KEY = note.Signer(NAME, hashlib.sha256(b"test witness").digest(), note.COSIGNATURE_V1)


@pytest.fixture
def env(tmp_path) -> Env:
    return make_env(tmp_path, did_method="web")


def data_dir(env: Env) -> Path:
    return Path(env.body.db.execute("PRAGMA database_list").fetchone()[2]).parent


def log(env: Env, *args: str) -> tuple[int, str, str]:
    result = CliRunner(env={"CERTREG_PASSPHRASE": PASSPHRASE}).invoke(
        log_group, [*args, "--data", str(data_dir(env))]
    )
    return result.exit_code, result.stdout, result.stderr


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_witnesses_are_added_listed_and_removed_and_bad_ones_refused(env):
    key = KEY.verifier.key_string
    code, out, _ = log(env, "witness", "list")
    assert code == 0 and "No witness" in out
    code, out, _ = log(env, "witness", "add", "https://witness.test/w1", "--key", key)
    assert code == 0 and NAME in out, out
    code, out, _ = log(env, "witness", "list")
    assert code == 0 and f"{NAME} https://witness.test/w1" in out and key in out
    # The same witness twice, a log key (not a cosignature key), a URL that is not http(s).
    code, _, err = log(env, "witness", "add", "https://other.test/w1", "--key", key)
    assert code == 1 and "configured already" in err, err
    log_key = note.Signer("cb.example/log", bytes(32)).verifier.key_string
    code, _, err = log(env, "witness", "add", "https://witness.test/x", "--key", log_key)
    assert code == 1 and "not a cosignature/v1 key" in err, err
    code, _, err = log(env, "witness", "add", "ftp://witness.test/x", "--key", key)
    assert code == 1 and "http(s)" in err, err
    code, out, _ = log(env, "witness", "remove", NAME)
    assert code == 0 and "removed" in out
    code, _, err = log(env, "witness", "remove", NAME)
    assert code == 1 and "no witness named" in err


def test_a_witness_that_fails_is_reported_and_the_checkpoint_still_signed(env):
    env.grant()
    key = KEY.verifier.key_string
    down = f"http://127.0.0.1:{closed_port()}"
    assert log(env, "witness", "add", down, "--key", key, "--allow-private")[0] == 0
    code, out, err = log(env, "checkpoint")
    assert code == 0, err
    assert out.startswith("cb.example/log\n1\n")  # signed and printed, without a cosignature
    assert f"\n— {NAME} " not in out
    assert f"witness {NAME}: refused: {down}/add-checkpoint could not be reached" in err, err
    code, out, _ = log(env, "status")
    assert code == 0
    assert f"witness {NAME}: cosigned up to size 0; last: refused size 1 at 20" in out, out
    assert "could not be reached" in out


def test_a_witness_on_a_private_address_is_not_contacted_unless_allowed(env):
    env.grant()
    with socket.socket() as listener:  # something listens: only the address rule refuses
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        key = KEY.verifier.key_string
        assert log(env, "witness", "add", url, "--key", key)[0] == 0
        code, _, err = log(env, "checkpoint")
    assert code == 0, err
    assert f"witness {NAME}: refused:" in err, err
    assert "127.0.0.1 is a private or local address" in err, err
    code, out, _ = log(env, "status")
    assert "cosigned up to size 0" in out and "refused size 1" in out, out
    assert "only public addresses are fetched" in out, out


def until(what: str, attempt: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while not attempt():
        assert time.monotonic() < deadline, f"{what}: not within 60 s"
        time.sleep(0.1)


def test_the_server_asks_again_a_witness_that_was_down(env, tmp_path):
    env.grant()
    witness, port = tmp_path / "witness", free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-c", "from certreg.issuer.cli import main; main()", "witness"]
    run = {"env": {**os.environ, "CERTREG_PASSPHRASE": PASSPHRASE}, "timeout": 60}
    subprocess.run(
        [*command, "init", "--data", str(witness), "--name", NAME, "--kdf", "interactive"],
        check=True, capture_output=True, **run,
    )  # fmt: skip
    key = subprocess.run(
        [*command, "key", "--data", str(witness)], check=True, capture_output=True, text=True,
        **run,
    ).stdout.strip()  # fmt: skip
    origin_key = verifier_key(env.body.db)
    assert origin_key is not None
    subprocess.run(
        [*command, "add-log", "--data", str(witness), "cb.example/log", origin_key],
        check=True, capture_output=True, **run,
    )  # fmt: skip
    assert log(env, "witness", "add", url, "--key", key, "--allow-private")[0] == 0
    env.client.app.state.certreg_log_witness_retry = 0.2  # instead of a minute
    # The witness is down when the first checkpoint is signed: it is served uncosigned, and
    # the failure is recorded by the background submission.
    first = env.client.get("/log/checkpoint")
    assert first.status_code == 200 and f"\n— {NAME} " not in first.text
    until("the failure recorded", lambda: "refused size 1" in log(env, "status")[1])
    server = subprocess.Popen(
        [*command, "serve", "--data", str(witness), "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=run["env"],
    )  # fmt: skip
    try:
        # The log does not grow; asking for the checkpoint is enough for the server to retry.
        until(
            "the checkpoint cosigned",
            lambda: f"\n— {NAME} " in env.client.get("/log/checkpoint").text,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    out = log(env, "status")[1]
    assert f"witness {NAME}: cosigned up to size 1; last: cosigned size 1" in out, out

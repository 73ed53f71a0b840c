"""The body's witness configuration (`certreg log witness add|list|remove`) and what the log does
when a witness cannot cosign: the checkpoint is still signed and served, and `certreg log
checkpoint` and `certreg log status` say which witness failed, when and why. (A witness that
cosigns, with real servers: tests/product/test_transparency.py.)"""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from factories import PASSPHRASE
from http_support import Env, make_env

from certreg.issuer.cli.log import log_group
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

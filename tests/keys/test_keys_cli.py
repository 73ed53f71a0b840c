"""``certreg keys ...`` as an operator uses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from certreg.keys import KeyStore
from certreg.keys.cli import keys_group

PASS = "correct horse battery staple"


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    runner = CliRunner(env={"CERTREG_PASSPHRASE": None, **(env or {})})
    return runner.invoke(keys_group, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "keys"
    result = run(
        "new",
        "--store",
        str(path),
        "--did",
        "did:web:cb.example",
        "--kdf",
        "interactive",
        env={"CERTREG_PASSPHRASE": PASS},
    )
    assert result.exit_code == 0, result.output
    return path


def test_new_with_prompted_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    result = run(
        "new",
        "--store",
        str(path),
        "--did",
        "https://cb.example:8443/bodies/x",
        "--kdf",
        "interactive",
        input=f"{PASS}\n{PASS}\n",
    )
    assert result.exit_code == 0, result.output
    assert PASS not in result.output, "the passphrase is not echoed"
    assert "did:web:cb.example%3A8443:bodies:x#key-" in result.stdout
    assert "https://cb.example:8443/bodies/x/did.json" in result.stdout
    assert KeyStore(path).load_signer(PASS)


def test_new_prompt_confirmation_must_match(tmp_path: Path) -> None:
    result = run(
        "new",
        "--store",
        str(tmp_path / "k"),
        "--did-method",
        "key",
        "--kdf",
        "interactive",
        input=f"{PASS}\nsomething else\n",
    )
    assert result.exit_code == 1
    assert "do not match" in result.output
    assert not (tmp_path / "k").exists()


def test_passphrase_file_and_short_passphrase_warning(tmp_path: Path) -> None:
    secret = tmp_path / "pass.txt"
    secret.write_text("short\n")
    secret.chmod(0o600)  # a passphrase file others can read is refused
    result = run(
        "new",
        "--store",
        str(tmp_path / "k"),
        "--did-method",
        "key",
        "--kdf",
        "interactive",
        "--passphrase-file",
        str(secret),
    )
    assert result.exit_code == 0, result.output
    assert "warning" in result.stderr
    # The final newline is not part of the passphrase.
    assert KeyStore(tmp_path / "k").load_signer("short")


@pytest.mark.parametrize(
    ("args", "why"),
    [
        ([], "give --did"),
        (["--did", "did:web:cb.example", "--did-method", "key"], "not both"),
        (["--did", "did:web:cb.example:..:x"], "'..'"),
        (["--did", "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"], "did:web"),
        (["--did", "http://cb.example"], "https"),
        (["--did-method", "web"], "give --did"),
        (["--did-method", "key", "--kdf", "fast"], "fast"),
        (["--did-method", "key", "--passphrase-file", "/nonexistent/pass"], "does not exist"),
    ],
)
def test_new_usage_errors_exit_2(tmp_path: Path, args: list[str], why: str) -> None:
    result = run("new", "--store", str(tmp_path / "k"), *args, env={"CERTREG_PASSPHRASE": PASS})
    assert result.exit_code == 2, result.output
    assert why in result.output
    assert not (tmp_path / "k").exists()


def test_new_refuses_existing_store(store: Path) -> None:
    result = run(
        "new",
        "--store",
        str(store),
        "--did-method",
        "key",
        "--kdf",
        "interactive",
        env={"CERTREG_PASSPHRASE": PASS},
    )
    assert result.exit_code == 1
    assert "not an empty directory" in result.output


def test_list_rotate_and_did(store: Path) -> None:
    first = KeyStore(store).current().id
    result = run("rotate", "--store", str(store), env={"CERTREG_PASSPHRASE": PASS})
    assert result.exit_code == 0, result.output
    assert "Republish" in result.stdout

    result = run(
        "rotate",
        "--store",
        str(store),
        "--compromised-at",
        "2020-01-01T00:00:00Z",
        env={"CERTREG_PASSPHRASE": PASS},
    )
    assert result.exit_code == 1
    assert "before" in result.output and "Traceback" not in result.output

    listing = run("list", "--store", str(store))
    assert listing.exit_code == 0
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "CREATED", "EXPIRES/REVOKED"]
    assert lines[1].startswith(first) and " retired " in lines[1] and "expires 20" in lines[1]
    assert " current " in lines[2]

    doc = json.loads(run("did", "--store", str(store)).stdout)
    assert doc["id"] == "did:web:cb.example"
    assert len(doc["verificationMethod"]) == 2
    assert "expires" in doc["verificationMethod"][0]

    records = json.loads(run("list", "--store", str(store), "--json").stdout)
    assert [r["status"] for r in records] == ["retired", "current"]


def test_rotate_for_compromise_then_declare_older_key(store: Path) -> None:
    env = {"CERTREG_PASSPHRASE": PASS}
    first = KeyStore(store).current().id
    assert run("rotate", "--store", str(store), env=env).exit_code == 0
    second = KeyStore(store).current()
    result = run("rotate", "--store", str(store), "--compromised-at", second.created, env=env)
    assert result.exit_code == 0, result.output
    assert "must be reissued" in result.stdout

    result = run(
        "declare-compromised",
        "--store",
        str(store),
        first.split("#")[1],
        "--at",
        KeyStore(store).find(first).created,
    )
    assert result.exit_code == 0, result.output
    statuses = [
        r["status"] for r in json.loads(run("list", "--store", str(store), "--json").stdout)
    ]
    assert statuses == ["compromised", "compromised", "current"]
    doc = json.loads(run("did", "--store", str(store)).stdout)
    assert all("revoked" in vm for vm in doc["verificationMethod"][:2])


def test_wrong_passphrase_is_a_clear_error(store: Path, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not it\n")
    wrong.chmod(0o600)
    result = run("rotate", "--store", str(store), "--passphrase-file", str(wrong))
    assert result.exit_code == 1
    assert "wrong passphrase for key store" in result.output
    assert "Traceback" not in result.output and "nacl" not in result.output
    assert len(KeyStore(store).keys()) == 1


def test_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    for command in (["list"], ["did"], ["rotate"]):
        result = run(*command, "--store", str(tmp_path / "none"), env={"CERTREG_PASSPHRASE": PASS})
        assert result.exit_code == 1
        assert "no key store at" in result.output


def test_did_key_store_prints_did_key_document(tmp_path: Path) -> None:
    path = tmp_path / "k"
    assert (
        run(
            "new",
            "--store",
            str(path),
            "--did-method",
            "key",
            "--kdf",
            "interactive",
            env={"CERTREG_PASSPHRASE": PASS},
        ).exit_code
        == 0
    )
    doc = json.loads(run("did", "--store", str(path)).stdout)
    assert doc["id"].startswith("did:key:z6Mk")
    assert doc["assertionMethod"] == [KeyStore(path).current().id]

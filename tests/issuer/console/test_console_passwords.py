"""The password policy and hashes (issuer.console.passwords), and that the common-password
list ships with the package."""

from __future__ import annotations

from importlib.resources import files

import pytest

from certreg.issuer.console.passwords import (
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)


@pytest.mark.parametrize(
    "password",
    ["eleven char", "password1234", "!!Password2024!!", "1qaz2wsx3edc", "abcabcabcabc"],
)
def test_short_and_common_passwords_are_refused(password: str) -> None:
    assert password_problem(password) is not None


@pytest.mark.parametrize("password", ["twelve chars", "Tr0ub4dor&3 horse", "a" * 12 + "b"])
def test_long_uncommon_passwords_need_no_composition_rules(password: str) -> None:
    assert password_problem(password) is None


def test_the_persons_own_name_or_e_mail_is_refused() -> None:
    personal = ("Olga Officer", "olga.k@cb.example")
    assert "own name" in password_problem("officer of the year", personal=personal)
    assert password_problem("a quiet lighthouse", personal=personal) is None


def test_hashes_are_argon2id_at_owasp_parameters_and_verify() -> None:
    stored = hash_password("a quiet lighthouse")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$") and not needs_rehash(stored)
    assert verify_password(stored, "a quiet lighthouse")
    assert not verify_password(stored, "a quiet lighthouse!")
    assert not verify_password(None, "a quiet lighthouse")  # no account: False, same work


def test_the_list_and_its_licence_are_package_data() -> None:
    folder = files("certreg.issuer.console")
    assert folder.joinpath("common-passwords.txt.gz").is_file()
    licence = folder.joinpath("COMMON-PASSWORDS-LICENSE").read_text()
    assert "BSD 3-Clause" in licence and "Django Software Foundation" in licence

"""Certificate numbers: unique, random, and a typo is caught by the check character."""

from __future__ import annotations

import pytest

from issuer.numbers import CROCKFORD, is_valid, new_number, normalise


def test_numbers_have_the_scheme_code_and_a_valid_check_character():
    number = new_number("cwi")
    assert number.startswith("CWI-")
    assert is_valid(number)
    assert is_valid(number.lower().replace("-", "- "))  # as a person might type it


def test_numbers_are_not_sequential_and_do_not_repeat():
    numbers = [new_number("CWI") for _ in range(2000)]
    assert len(set(numbers)) == 2000
    bodies = sorted(n.split("-")[1] + n.split("-")[2] for n in numbers)
    assert all(c in CROCKFORD for b in bodies for c in b)


def test_every_single_typo_and_neighbour_swap_is_caught():
    number = new_number("CWI")
    compact = normalise(number).replace("-", "")
    for i in range(len(compact)):
        for c in CROCKFORD:
            if c != compact[i]:
                typo = compact[:i] + c + compact[i + 1 :]
                assert not is_valid(f"{typo[:3]}-{typo[3:7]}-{typo[7:11]}-{typo[11]}"), typo
    for i in range(len(compact) - 1):
        if compact[i] != compact[i + 1]:
            swapped = compact[:i] + compact[i + 1] + compact[i] + compact[i + 2 :]
            assert not is_valid(f"{swapped[:3]}-{swapped[3:7]}-{swapped[7:11]}-{swapped[11]}")


@pytest.mark.parametrize("text", ["", "CWI-1234-5678", "CWI_1234_5678_X", "not a number"])
def test_malformed_numbers_are_not_valid(text):
    assert not is_valid(text)

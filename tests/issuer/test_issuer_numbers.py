"""Certificate numbers: unique, random, and a typo is caught by the check character."""

from __future__ import annotations

import random

import pytest
from stdnum.iso7064 import mod_37_36

from certreg.issuer.numbers import CROCKFORD, is_valid, new_number, normalise


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


def _dashed(compact: str) -> str:
    return f"{compact[:3]}-{compact[3:7]}-{compact[7:11]}-{compact[11]}"


def _numbers(count: int) -> list[str]:
    """Numbers as new_number makes them, from a fixed seed: the test reads the same numbers
    every run (new_number's own randomness made it fail one run in eighty, on a number with
    an undetectable swap)."""
    rng = random.Random(17024)
    out = []
    for _ in range(count):
        body = "".join(rng.choice(CROCKFORD) for _ in range(8))
        out.append(f"CWI-{body[:4]}-{body[4:]}-{mod_37_36.calc_check_digit('CWI' + body)}")
    return out


def test_every_single_typo_is_caught():
    for number in [new_number("CWI"), *_numbers(200)]:
        compact = normalise(number).replace("-", "")
        for i in range(len(compact)):
            for c in CROCKFORD:
                if c != compact[i]:
                    typo = compact[:i] + c + compact[i + 1 :]
                    assert not is_valid(_dashed(typo)), (number, typo)


def test_nearly_every_neighbour_swap_is_caught():
    """ISO/IEC 7064 MOD 37-36 is a hybrid system: it does not catch every transposition.
    Measured on 2,000 numbers: about 0.1% of neighbour swaps slip through (the docstring of
    issuer.numbers says so); the bound here is what a reader is promised."""
    swaps = missed = 0
    for number in _numbers(2000):
        compact = normalise(number).replace("-", "")
        for i in range(len(compact) - 1):
            if compact[i] != compact[i + 1]:
                swaps += 1
                swapped = compact[:i] + compact[i + 1] + compact[i] + compact[i + 2 :]
                missed += is_valid(_dashed(swapped))
    assert swaps > 20_000
    assert missed / swaps < 0.002, (missed, swaps)


@pytest.mark.parametrize("text", ["", "CWI-1234-5678", "CWI_1234_5678_X", "not a number"])
def test_malformed_numbers_are_not_valid(text):
    assert not is_valid(text)

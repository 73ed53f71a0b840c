"""certreg's base45 encoder (a table of two-byte groups) writes exactly what the base45
package writes, for byte strings of every length, odd and even; the package still reads it."""

from __future__ import annotations

import base45
from hypothesis import given, settings
from hypothesis import strategies as st

from certreg.verifier.offline.payload import b45encode


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=1200))
def test_the_encoder_writes_what_the_base45_package_writes(data: bytes) -> None:
    text = b45encode(data)
    assert text == base45.b45encode(data).decode("ascii")
    assert base45.b45decode(text) == data


def test_every_length_and_every_extreme_byte() -> None:
    for length in range(0, 130):
        for data in (bytes(length), b"\xff" * length, bytes(range(length % 256))):
            assert b45encode(data) == base45.b45encode(data).decode("ascii")


def test_every_two_byte_group_and_every_single_byte() -> None:
    every_group = bytes(b for x in range(65536) for b in x.to_bytes(2, "big"))
    assert b45encode(every_group) == base45.b45encode(every_group).decode("ascii")
    every_byte = bytes(range(256))
    for i in range(256):
        assert b45encode(every_byte[: i + 1]) == base45.b45encode(every_byte[: i + 1]).decode()


def test_the_rfc_9285_examples() -> None:
    assert b45encode(b"AB") == "BB8"
    assert b45encode(b"Hello!!") == "%69 VD92EX0"
    assert b45encode(b"base-45") == "UJCLQE7W581"
    assert b45encode(b"") == ""

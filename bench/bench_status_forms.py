"""The two certificate status forms: encoded list size and encode time (docs/credential.md).

    .venv/bin/python bench/bench_status_forms.py

``two-entries``: a revocation and a suspension list, 131,072 one-bit entries each. ``message``:
one list of 262,144 two-bit entries, indices from its upper half, each non-zero entry also
setting its 1-bit readers' bit (issuer.statuslists). Both hold 65,536 certificates; the share
"not in force" is split evenly between suspended and withdrawn. Bits are random, as certreg
assigns them.
"""

from __future__ import annotations

import random
import statistics
import time

from certreg.verifier.issuing import Bitstring

ENTRIES = 131_072
CERTIFICATES = 65_536


def one_bit(rng: random.Random, share: float) -> Bitstring:
    bits = Bitstring(ENTRIES)
    for index in rng.sample(range(ENTRIES), CERTIFICATES)[: int(CERTIFICATES * share)]:
        bits.set(index, 1)
    return bits


def message(rng: random.Random, share: float) -> Bitstring:
    bits = Bitstring(2 * ENTRIES, 2)
    for index in rng.sample(range(ENTRIES, 2 * ENTRIES), CERTIFICATES)[: int(CERTIFICATES * share)]:
        bits.set(index, rng.choice((1, 2)))
        shadow = index // 2
        bits.set(shadow, bits.get(shadow) | (2 >> (index % 2)))
    return bits


def encode_ms(bits: Bitstring) -> float:
    runs = []
    for _ in range(9):
        start = time.perf_counter()
        bits.encode()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs) * 1000


def main() -> None:
    rng = random.Random(17024)
    print("not in force | two-entries: chars (encode ms)      | message: chars (encode ms)")
    for share in (0.0, 0.01, 0.05):
        revocation, suspension = one_bit(rng, share / 2), one_bit(rng, share / 2)
        combined = message(rng, share)
        print(
            f"{share:>12.0%} | {len(revocation.encode()):>6} + {len(suspension.encode()):>6}"
            f" ({encode_ms(revocation):.2f} + {encode_ms(suspension):.2f})"
            f"        | {len(combined.encode()):>6} ({encode_ms(combined):.2f})"
        )


if __name__ == "__main__":
    main()

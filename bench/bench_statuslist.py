"""Bitstring Status List: encoded size and encode/decode time by list size, fill and gzip level.

    .venv/bin/python bench/bench_statuslist.py

Bits are set at uniformly random indices, which is how certreg assigns them (random, never
reused), so these are the sizes a published list really has. Times are the median of several
runs; decode includes base64, bounded GZIP inflation and building the Bitstring.
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Runs from a plain checkout too, without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from certreg.verifier.issuing import Bitstring

SIZES = (131_072, 1_048_576)
FILLS = (0.001, 0.01, 0.10)
LEVELS = (6, 9)
BUDGET_S = 0.4  # per cell, at most; at least 3 runs


def _median_ms(fn: Callable[[], object], budget: float = BUDGET_S) -> float:
    times: list[float] = []
    deadline = time.perf_counter() + budget
    while len(times) < 3 or (time.perf_counter() < deadline and len(times) < 50):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _gzip_bytes(encoded: str) -> int:
    body = len(encoded) - 1  # minus the multibase 'u'
    return body * 3 // 4


def main() -> None:
    rng = random.Random(17024)
    print(
        f"Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs; median of runs; gzip = compressed bytes, "
        "encodedList = characters published"
    )
    header = f"{'entries':>9} {'set':>6} {'level':>5} {'gzip B':>7} {'encodedList':>11} "
    header += f"{'encode ms':>10} "
    header += f"{'decode ms':>10}"
    print(header)
    print("-" * len(header))
    started = time.perf_counter()
    for entries in SIZES:
        for fill in FILLS:
            bits = Bitstring(entries)
            for index in rng.sample(range(entries), round(entries * fill)):
                bits.set(index, 1)
            for level in LEVELS:
                encoded = bits.encode(compresslevel=level)
                enc = _median_ms(lambda b=bits, lv=level: b.encode(compresslevel=lv))
                dec = _median_ms(lambda e=encoded: Bitstring.decode(e))
                print(
                    f"{entries:>9,} {fill:>6.1%} {level:>5} {_gzip_bytes(encoded):>7,} "
                    f"{len(encoded):>11,} "
                    f"{enc:>10.2f} {dec:>10.2f}"
                )
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()

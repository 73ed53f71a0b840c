"""Issue 14's acceptance check, end to end over the demo's certificates (takes minutes):

    .venv/bin/python bench/check_offline_demo.py [--holders 1000] [--port 8791] [--data DIR]

1. ``certreg demo --no-serve`` builds the demo body (1,000 holders), ``certreg serve`` serves it
   on 127.0.0.1.
2. For EVERY certificate: its staff print (``/api/certifications/{n}/certificate.pdf``, a staff
   token: it carries the offline QR code of every holder) and its public PDF
   (``/c/{n}/certificate.pdf``, where the register names the holder) are fetched, their QR codes
   read back from the PDF's images (pypdf, zxing-cpp: text, version, error correction level).
3. Every CR1 text is verified (a) by Node + cose-kit (tests/interop/verify_cr1.mjs, one process
   for all), (b) by ``certreg verify --offline``'s library after ``certreg sync``, (c) by the
   verify page in headless Chromium with the network cut (DevTools offline AND the server
   stopped; each text pasted and checked with the page's own button). Each verdict is compared
   with the certificate's status in issuer.db.
4. A valid certificate is suspended with the CLI while the browser is offline: the page still
   says "VALID as of <sync>"; after the page syncs again, SUSPENDED.

The code is tests/offline_demo_support.py, which tests/product/test_offline_demo.py runs on a
small demo.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import offline_demo_support as s  # noqa: E402
from browser_support import chromium  # noqa: E402


def percentile(values: list[int], p: float) -> int:
    return sorted(values)[int(p * (len(values) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--holders", type=int, default=1000)
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--data", type=Path, help="work folder (default: a new temporary one)")
    args = parser.parse_args()
    work = args.data or Path(tempfile.mkdtemp(prefix="check-offline-demo-"))
    started = time.perf_counter()

    def stamp(text: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {text}", flush=True)

    demo = s.build_demo(work / "demo", args.holders, args.port)
    numbers = s.statuses(demo)
    stamp(f"demo built: {len(numbers)} certificates, " + ", ".join(
        f"{n} {status}" for status, n in Counter(numbers.values()).most_common()))  # fmt: skip
    token = s.staff_token(demo)
    proc = s.serve(demo)
    try:
        fetched = s.fetch_pdfs(demo, numbers, token)
        stamp(f"{2 * len(fetched)} PDFs asked for, {sum(f.public is not None for f in fetched)} "
              "public ones served; QR codes read")  # fmt: skip
        no_qr = [f.number for f in fetched if not any(c.text.startswith("CR1:") for c in f.staff)]
        mismatch = [f.number for f in fetched if len(set(f.offline)) > 1]
        public_without = [f.number for f in fetched if f.public is not None
                          and not any(c.text.startswith("CR1:") for c in f.public)]  # fmt: skip
        offline_codes = [c for f in fetched for c in f.staff if c.text.startswith("CR1:")]
        texts = [c.text for c in offline_codes]
        owners = [f.number for f in fetched for c in f.staff if c.text.startswith("CR1:")]
        expected = [s.EXPECTED[numbers[n]] for n in owners]
        lengths = [len(t) for t in texts]
        print(f"\nOffline QR codes read from the staff PDFs: {len(texts)} of {len(fetched)} "
              f"certificates; staff PDF without one: {len(no_qr)} {no_qr[:10]}")  # fmt: skip
        print(f"  public PDFs: {sum(f.public is not None for f in fetched)}, without the offline "
              f"QR: {len(public_without)} {public_without[:10]}; staff and public PDF carrying "
              f"different texts: {len(mismatch)} {mismatch[:10]}")  # fmt: skip
        print(f"  text length: min {min(lengths)}, median {statistics.median(lengths):.0f}, "
              f"p95 {percentile(lengths, 0.95)}, max {max(lengths)}")  # fmt: skip
        versions = Counter(c.version for c in offline_codes)
        levels = dict(Counter(c.ec_level for c in offline_codes))
        print("  QR version (read from the PDF's image): "
              + ", ".join(f"v{v}: {n}" for v, n in sorted(versions.items()))
              + f"; error correction: {levels}")  # fmt: skip

        node_read = s.node_verdicts(demo, texts)
        node = [v for v, _ in node_read]
        misread = [n for n, (_, got) in zip(owners, node_read, strict=True) if got != n]
        stamp(f"(a) Node + cose-kit done; payloads naming another number than their PDF's: "
              f"{len(misread)} {misread[:10]}")  # fmt: skip
        cache = work / "offline-cache"
        print("  " + s.sync(demo, cache))
        python = [v for v, _ in s.python_verdicts(cache, texts)]
        stamp("(b) certreg sync + verify --offline done")

        with chromium() as driver:
            first = s.open_verify_page(driver, demo)
            s.set_offline(driver, True)
            s.stop(proc)
            driver.refresh()
            assert s.wait_sync(driver, ("failed",)) == first  # the page, from its worker
            stamp(f"browser: synced online ({first!r}), then offline and the server stopped")
            t0 = time.perf_counter()
            page = s.browser_verdicts(driver, texts)
            took = time.perf_counter() - t0
            stamp(f"(c) the verify page checked {len(texts)} texts offline in {took:.1f} s")
            browser = [v for v, _ in page]
            synced_at = first.removeprefix("Offline data from ")
            as_of = sum(1 for v, shown in page if f"as of {synced_at}" in shown)

            counts, failures = s.agreement(
                expected, {"node": node, "python": python, "browser": browser}, owners
            )
            print("\nVerdicts (register's status -> verifiers):")
            print(f"  register: {dict(Counter(expected))}")
            for name, count in counts.items():
                print(f"  {name:8}: {dict(count)}")
            print(f"  browser verdicts saying 'as of {synced_at}': {as_of}")
            print(f"  disagreements with the register: {len(failures)}")
            for line in failures[:50]:
                print(f"    {line}")

            # A suspension after the last sync, while the browser is offline.
            valid = next(n for n, want in zip(owners, expected, strict=True) if want == "VALID")
            text = texts[owners.index(valid)]
            until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
            s.certreg("decide", "suspend", valid, "--data", str(demo.data), "--as",
                      "Dana Decider", "--reason", "complaint under review", "--until", until,
                      "--passphrase-file", str(demo.passphrase_file))  # fmt: skip
            print(f"\nSuspended {valid} with `certreg decide suspend` after the last sync:")
            offline_says = s.browser_verdicts(driver, [text])[0][1].splitlines()[0]
            print(f"  the page, offline:        {offline_says}")
            print(f"  certreg verify --offline: {s.python_verdicts(cache, [text])[0][1]}")
            proc = s.serve(demo)
            s.set_offline(driver, False)
            driver.refresh()
            second = s.wait_sync(driver, ("done",))
            online_says = s.browser_verdicts(driver, [text])[0][1].splitlines()[0]
            print(f"  the page, synced again:   {online_says}")
            s.sync(demo, cache)
            print(f"  after certreg sync:       {s.python_verdicts(cache, [text])[0][1]}")
            print(f"  Node, lists fetched now:  {s.node_verdicts(demo, [text])[0][0]}")
            assert offline_says.startswith(f"VALID as of {synced_at}"), offline_says
            resynced = second.removeprefix("Offline data from ")
            assert online_says.startswith(f"SUSPENDED as of {resynced}"), online_says
    finally:
        if proc.poll() is None:
            s.stop(proc)
    stamp("done")
    if args.data is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

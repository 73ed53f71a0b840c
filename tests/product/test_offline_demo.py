"""Issue 14's acceptance check on a small demo (bench/check_offline_demo.py runs it over the
demo's 1,000 certificates): every certificate's offline QR code read back from its printable
PDF and verified by an implementation that is not certreg's (Node + cose-kit), by
``certreg sync`` + ``certreg verify --offline``, and by the verify page in headless Chromium
with the network cut, each saying what issuer.db says of the certificate; a suspension made
after the last sync shown "as of" it; and the longest payloads (past version 13) verified by the
page too. The steps are tests/offline_demo_support.py's."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import offline_demo_support as s
import pytest
from browser_support import chromium
from factories import free_port

HOLDERS = 20
#: An instant past every demo certificate's expiry, and what a verifier says then.
LATER = datetime(2040, 1, 1, tzinfo=UTC)
LATER_EXPECTED = {"VALID": "EXPIRED", "EXPIRED": "EXPIRED", "SUSPENDED": "SUSPENDED",
                  "WITHDRAWN": "WITHDRAWN"}  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[s.Demo]:
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH")
    for package in ("cose-kit", "@digitalbazaar/vc-bitstring-status-list"):
        if not (s.INTEROP / "node_modules" / package).is_dir():
            pytest.skip(f"tests/interop/node_modules lacks {package}: run `npm ci` there")
    yield s.build_demo(tmp_path_factory.mktemp("offline-demo") / "demo", HOLDERS, free_port())


def test_every_demo_certificate_s_qr_from_its_pdf_is_verified_three_ways_with_the_network_cut(
    demo: s.Demo, tmp_path: Path
) -> None:
    numbers = s.statuses(demo)
    assert len(numbers) == HOLDERS
    # The demo has every status a verifier must tell apart.
    assert set(numbers.values()) == {"ACTIVE", "SUSPENDED", "WITHDRAWN", "EXPIRED"}
    token = s.staff_token(demo)
    proc = s.serve(demo)
    try:
        fetched = s.fetch_pdfs(demo, numbers, token)
        # The staff print carries the offline QR of every holder; a public PDF, the same text.
        owners, texts = [], []
        for got in fetched:
            offline = [c for c in got.staff if c.text.startswith("CR1:")]
            assert len(offline) == 1, got.number
            assert offline[0].ec_level == "M"
            owners.append(got.number)
            texts.append(offline[0].text)
            assert len(set(got.offline)) == 1, got.number
        assert any(got.public is not None for got in fetched)
        assert all(len(got.offline) == 2 for got in fetched if got.public is not None)
        expected = [s.EXPECTED[numbers[n]] for n in owners]
        stress_of = next(n for n, want in zip(owners, expected, strict=True) if want == "VALID")
        stress = s.stress_payloads(demo, stress_of)
        assert all(len(text) > 483 for text in stress.values())  # past version 13 at M

        node_read = s.node_verdicts(demo, [*texts, *stress.values()])
        node_later = [v for v, _ in s.node_verdicts(demo, texts, now=LATER)]
        assert [number for _, number in node_read] == [*owners, *[stress_of] * len(stress)]
        cache = tmp_path / "cache"
        assert s.sync(demo, cache).startswith("✓ Demo Certification Body")
        python = s.python_verdicts(cache, [*texts, *stress.values()])

        with chromium() as driver:
            first = s.open_verify_page(driver, demo)
            s.set_offline(driver, True)
            s.stop(proc)
            driver.refresh()
            assert s.wait_sync(driver, ("failed",)) == first  # the page, from its worker
            synced_at = first.removeprefix("Offline data from ")
            page = s.browser_verdicts(driver, [*texts, *stress.values()])

            counts, failures = s.agreement(
                [*expected, *["VALID"] * len(stress)],
                {"node": [v for v, _ in node_read], "python": [v for v, _ in python],
                 "browser": [v for v, _ in page]},
                [*owners, *stress],
            )  # fmt: skip
            assert failures == []
            assert counts["browser"] == Counter(expected) + Counter({"VALID": len(stress)})
            for (verdict, shown), (_, summary) in zip(page, python, strict=True):
                if verdict != "EXPIRED":
                    assert f"{verdict} as of {synced_at}" in shown, shown
                    assert summary.startswith(f"{verdict} as of "), summary
            for _, shown in page[len(texts) :]:
                assert s.LONG_NAME in shown and "steel and nickel alloys" in shown

            # Past every date of expiry, a withdrawal or a suspension is still said, by all
            # three alike (docs/offline.md: the body's decision before the dates).
            later = [LATER_EXPECTED[want] for want in expected]
            counts, failures = s.agreement(
                later,
                {"node": node_later, "browser": s.browser_verdicts_at(driver, texts, LATER),
                 "python": [v for v, _ in s.python_verdicts(cache, texts, now=LATER)]},
                owners,
            )  # fmt: skip
            assert failures == []
            assert {"EXPIRED", "SUSPENDED", "WITHDRAWN"} <= set(later)

            # Suspended after the sync: VALID as of the sync offline, SUSPENDED once re-synced.
            valid = next(n for n, want in zip(owners, expected, strict=True) if want == "VALID")
            text = texts[owners.index(valid)]
            until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
            s.certreg("decide", "suspend", valid, "--data", str(demo.data), "--as",
                      "Dana Decider", "--reason", "complaint under review", "--until", until,
                      "--passphrase-file", str(demo.passphrase_file))  # fmt: skip
            assert s.browser_verdicts(driver, [text])[0][1].startswith(f"VALID as of {synced_at}")
            assert s.python_verdicts(cache, [text])[0][0] == "VALID"

            proc = s.serve(demo)
            s.set_offline(driver, False)
            driver.refresh()
            second = s.wait_sync(driver, ("done",)).removeprefix("Offline data from ")
            shown = s.browser_verdicts(driver, [text])[0][1]
            assert shown.startswith(f"SUSPENDED as of {second}"), shown
            s.sync(demo, cache)
            assert s.python_verdicts(cache, [text])[0][0] == "SUSPENDED"
            assert s.node_verdicts(demo, [text])[0][0] == "SUSPENDED"
    finally:
        if proc.poll() is None:
            s.stop(proc)

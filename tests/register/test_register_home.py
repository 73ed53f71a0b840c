"""The register's home page (``/``) over HTTP, on both public sites: ``certreg serve`` on the
body's data folder and ``certreg register serve`` on the bundle ``certreg publish`` wrote, each
a real server (uvicorn on 127.0.0.1) in a subprocess.

The body (tests/register_support.py) has a directory scheme (CWI), a number_lookup scheme
(NDT) and an on_request one (SEC). Holders: José Müller (listed), Hugo Hidden (directory, did
not consent to be listed), Nina Number (number_lookup), Sam Suspended (listed, suspended),
Vera Visual (listed, VT2 only) and enough listed Kowalskis to need a second page.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from factories import free_port
from http_support import stop_subprocess
from register_support import PASSPHRASE, add_holder, grant, make_body

from certreg.issuer.cli.publish import publish_command
from certreg.issuer.service import ScopeGrant
from certreg.register.db import open_register
from certreg.register.fts import enable_search
from certreg.register.records import connect_readonly
from certreg.register.web.home import (
    MAX_QUERY_CHARS,
    PAGE_SIZE,
    Filters,
    _search,
    parse_query,
)

ROOT = Path(__file__).parents[2]
KOWALSKIS = PAGE_SIZE + 3
CLI = "import sys; from certreg.issuer.cli import main; sys.argv[0] = 'certreg'; main()"


@dataclass
class Home:
    sites: dict[str, httpx.Client]
    numbers: dict[str, str]


def _start(args: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", CLI, *args, "--port", str(port), "--log-level", "warning"],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{args[:2]} exited: {log.read_text()}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/verify", timeout=1)
            proc.port = port  # type: ignore[attr-defined]
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"{args[:2]} did not start within 60 s")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    tmp = tmp_path_factory.mktemp("home")
    b = make_body(tmp)
    b.clock.now = datetime.now(UTC).replace(microsecond=0)
    b.body.status_lists.refresh_due()
    people = {
        "jose": add_holder(b, "jose", "José Müller", consent=True),
        "hugo": add_holder(b, "hugo", "Hugo Hidden", consent=False),
        "nina": add_holder(b, "nina", "Nina Number", consent=True, schemes=("ndt",)),
        "sam": add_holder(b, "sam", "Sam Suspended", consent=True),
        "vera": add_holder(b, "vera", "Vera Visual", consent=True),
    }
    numbers = {
        "jose": grant(b, people["jose"]),
        "hugo": grant(b, people["hugo"]),
        "nina": grant(b, people["nina"], "ndt"),
        "sam": grant(b, people["sam"]),
    }
    numbers["vera"] = b.body.grant(
        people["vera"], "cwi", [ScopeGrant("VT2")], decided_by=b.decider, evidence="EX-1"
    ).number
    deadline = (b.clock.now + timedelta(days=60)).date().isoformat()
    b.body.suspend(numbers["sam"], decided_by=b.decider, reason="r", until=deadline)
    for i in range(KOWALSKIS):
        person = add_holder(b, f"k{i}", f"Kowalski Number{i}", consent=True)
        numbers[f"k{i}"] = grant(b, person)
    assert b.body.status_lists.refresh_due() is not None
    out = tmp / "published"
    result = CliRunner().invoke(publish_command, [str(out), "--data", str(b.data)])
    assert result.exit_code == 0, result.output
    b.body.db.conn.close()
    fresh = tmp / "replica"
    shutil.copytree(out, fresh / "bundle")
    secret = fresh / "lookup.secret"
    shutil.copy(b.data / "register-lookup.secret", secret)
    secret.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTREG_") and k != "PWD"}
    keyless = _start(
        ["register", "serve", "bundle"],
        fresh,
        {**env, "CERTREG_LOOKUP_SECRET_FILE": str(secret)},
        tmp / "keyless.log",
    )
    try:
        body = _start(
            ["serve", "--data", str(b.data)],
            ROOT,
            {**env, "CERTREG_PASSPHRASE": PASSPHRASE},
            tmp / "body.log",
        )
    except BaseException:
        stop_subprocess(keyless)
        raise
    try:
        with (
            httpx.Client(base_url=f"http://127.0.0.1:{body.port}", timeout=30) as on_body,  # type: ignore[attr-defined]
            httpx.Client(base_url=f"http://127.0.0.1:{keyless.port}", timeout=30) as on_site,  # type: ignore[attr-defined]
        ):
            yield Home({"certreg serve": on_body, "certreg register serve": on_site}, numbers)
    finally:
        stop_subprocess(keyless)
        stop_subprocess(body)


SITES = ["certreg serve", "certreg register serve"]


def _numbers_on(page: str) -> list[str]:
    """The certificate numbers of the result cards, in order."""
    return re.findall(r"<dt>Number</dt><dd>([^<]+)</dd>", page)


@pytest.mark.parametrize("site", SITES)
def test_the_home_page_is_one_accessible_search_form(home, site):
    r = home.sites[site].get("/")
    assert r.status_code == 200
    page = r.text
    assert page.count("<h1") == 1 and "Check a certificate" in page
    assert '<label for="q">' in page and 'aria-describedby="q-hint"' in page
    for name in ("scheme", "scope", "status"):
        assert f'<label for="{name}">' in page and f'<select id="{name}" name="{name}">' in page
    assert 'aria-live="polite"' in page and "focus-visible" in page
    assert 'href="/register/">Data: tables, JSON and CSV</a>' in page
    # The filters offer the directory's scheme only: a number_lookup scheme has no list.
    assert "Scheme CWI (CWI)" in page and "Scheme NDT" not in page
    assert "Ultrasonic testing, level 2" in page and ">Suspended</option>" in page
    assert home.sites[site].get("/register/").status_code == 200


@pytest.mark.parametrize("site", SITES)
@pytest.mark.parametrize("key", ["jose", "hugo", "nina"])
def test_a_number_is_found_with_any_spacing_case_or_dashes(home, site, key):
    number = home.numbers[key]
    prefix, a, b, check = number.split("-")
    for typed in (
        number,
        number.lower(),
        f"  {prefix.lower()} {a[:2]} {a[2:]} - {b.lower()} {check} ",
        f"{prefix}{a}{b}{check}".lower(),
    ):
        r = home.sites[site].get("/", params={"q": typed})
        assert r.status_code == 200, typed
        assert _numbers_on(r.text) == [number], typed
        assert f'href="/c/{number}"' in r.text
    page = home.sites[site].get("/", params={"q": number}).text
    if key == "hugo":  # found by number, never named on the card
        assert "Hugo" not in page and "name not published" in page
    assert "VALID until" in page and "✓" in page and 'class="badge valid"' in page


@pytest.mark.parametrize("site", SITES)
def test_an_unknown_number_says_what_to_check(home, site):
    r = home.sites[site].get("/", params={"q": "CWI-0000-0000-0"})
    assert r.status_code == 200
    assert "No certificate found" in r.text and "Check the number as printed" in r.text
    assert _numbers_on(r.text) == []


@pytest.mark.parametrize("site", SITES)
def test_a_listed_name_is_found_accent_insensitively(home, site):
    for typed in ("José Müller", "jose muller", "MULLER", "müller josé"):
        r = home.sites[site].get("/", params={"q": typed})
        assert r.status_code == 200
        assert _numbers_on(r.text) == [home.numbers["jose"]], typed
        assert "José Müller" in html.unescape(r.text)


@pytest.mark.parametrize("site", SITES)
@pytest.mark.parametrize("name", ["Nina", "Nina Number", "Hugo", "Hugo Hidden"])
def test_a_holder_who_is_not_listed_is_not_found_by_name(home, site, name):
    # Nina's scheme is number_lookup; Hugo did not consent to be listed.
    r = home.sites[site].get("/", params={"q": name})
    assert r.status_code == 200
    assert _numbers_on(r.text) == [] and "No certificate found" in r.text
    assert name.split()[0] not in r.text.split("No certificate found")[1].replace(f"“{name}”", "")


@pytest.mark.parametrize("site", SITES)
def test_filters_narrow_the_search(home, site):
    get = home.sites[site].get
    suspended = get("/", params={"status": "SUSPENDED"}).text
    assert _numbers_on(suspended) == [home.numbers["sam"]]
    assert "SUSPENDED since" in suspended and "‖" in suspended
    assert get("/", params={"q": "Sam", "status": "ACTIVE"}).text.count("<dt>Number") == 0
    assert _numbers_on(get("/", params={"q": "Vera", "scope": "VT2"}).text) == [
        home.numbers["vera"]
    ]
    assert _numbers_on(get("/", params={"q": "Vera", "scope": "UT2"}).text) == []
    assert _numbers_on(get("/", params={"q": "Vera", "scheme": "cwi"}).text) == [
        home.numbers["vera"]
    ]
    assert _numbers_on(get("/", params={"q": "Vera", "scheme": "ndt"}).text) == []
    # Browsing by a filter lists named holders only: Hugo is not in it.
    listed = set()
    url: str | None = "/?scheme=cwi"
    while url:
        page = get(url).text
        listed.update(_numbers_on(page))
        found = re.search(r'<a href="([^"]+)" rel="next">', page)
        url = html.unescape(found.group(1)) if found else None
    assert home.numbers["hugo"] not in listed and home.numbers["nina"] not in listed
    assert home.numbers["jose"] in listed and len(listed) == KOWALSKIS + 3


@pytest.mark.parametrize("site", SITES)
def test_paging_shows_each_result_once(home, site):
    get = home.sites[site].get
    seen: list[str] = []
    url: str | None = "/?q=kowalski"
    pages = 0
    while url:
        r = get(url)
        assert r.status_code == 200
        numbers = _numbers_on(r.text)
        assert 0 < len(numbers) <= PAGE_SIZE
        seen += numbers
        pages += 1
        found = re.search(r'<a href="([^"]+)" rel="next">Next', r.text)
        url = html.unescape(found.group(1)) if found else None
    assert pages == 2
    assert sorted(seen) == sorted(home.numbers[f"k{i}"] for i in range(KOWALSKIS))
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("site", SITES)
@pytest.mark.parametrize(
    "params",
    [
        {"q": "x" * (MAX_QUERY_CHARS + 1)},
        {"q": "a b c d e f g h"},
        {"q": "kowalski", "after": "-1"},
        {"q": "kowalski", "after": "page2"},
    ],
)
def test_over_long_or_damaged_queries_are_refused_in_words(home, site, params):
    r = home.sites[site].get("/", params=params)
    assert r.status_code == 400
    assert "The search could not be run" in r.text
    assert "at most" in r.text or "damaged" in r.text


@pytest.mark.parametrize("site", SITES)
@pytest.mark.parametrize("q", ['"', "*", "NEAR(a b)", "a OR b", "holder_name:x", "-", "é"])
def test_search_syntax_is_never_an_error(home, site, q):
    r = home.sites[site].get("/", params={"q": q, "scheme": "nope", "status": "'"})
    assert r.status_code == 200 and "No certificate found" in r.text


@pytest.mark.parametrize("words", [("alex",), ()])
def test_a_bounded_window_still_shows_each_result_once(tmp_path, words):
    """A page looks through a bounded window of candidates: with a rare filter, pages are
    partial ("continue searching") and still, followed to the end, show every match once."""
    db = open_register(tmp_path / "register.db", create=True)
    now = "2026-11-01T00:00:00Z"
    rows = [
        (f"CWI-{i:04d}-AAAA-{i % 10}", f"Alex Holder{i}" if i % 7 else None, "cwi", "CWI",
         "Scheme CWI", "SUSPENDED" if i % 5 == 0 else "ACTIVE", now, "2026-01-01",
         "2029-01-01", "DE", now)
        for i in range(1, 61)
    ]  # fmt: skip
    db.conn.executemany(
        "INSERT INTO certifications (number, holder_name, scheme_id, scheme_code, scheme_name, "
        "status, "
        "status_since, valid_from, valid_until, country, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    enable_search(db)
    db.conn.close()
    conn = connect_readonly(tmp_path / "register.db")
    expected = [r[0] for r in rows if r[5] == "SUSPENDED" and r[1] is not None]
    seen: list[str] = []
    partial = 0
    after: int | None = 0
    while after is not None:
        found = _search(conn, words, Filters(status="SUSPENDED"), after, scan_limit=4)
        seen += [r["number"] for r in found.rows]
        partial += found.partial
        after = found.after
    assert seen == expected and partial > 0


def test_what_the_box_reads_as_a_number():
    assert parse_query(" cwi 7k3m-9qx2 m").numbers == ("CWI-7K3M-9QX2-M",)
    assert parse_query("CWI7K3M9QX2M").numbers == ("CWI-7K3M-9QX2-M",)
    assert parse_query("CWI7K3M9QX2M").words == ()
    # The check character does not match: a name (found by nobody), not a number.
    assert parse_query("CWI7K3M9QX2N").numbers == ()
    assert parse_query("Holder 155766").numbers == ()  # a name and a number in the box
    assert parse_query("José Müller").words == ("josé", "müller")

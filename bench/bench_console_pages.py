"""``bench_console.py --pages``: the staff console's pages timed over HTTP, as a browser gets
them, on the bench body (1,000,000 certifications), against the issue's 200 ms at p95.

The body is served by the real ``certreg serve`` (uvicorn on 127.0.0.1, a free port). A console
account ("Bench Officer", an officer) is made once in the body with the service's own functions
and its password and TOTP secret kept in ``console-account.json`` beside issuer.db; each run
signs in through ``/console/login`` (password + TOTP code of a step the console has not seen)
and fetches every page with that session, one request at a time over a kept-alive connection,
timing from the request to the last byte of the HTML. Pages that need a cursor (page 2, a later
page) are reached by following the page's own "Next page" link, untimed.
"""

from __future__ import annotations

import json
import os
import random
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import httpx
import pyotp

from certreg.issuer.console import accounts
from certreg.issuer.console_data import DUE_TITLES
from certreg.issuer.service import CertificationBody

ROOT = Path(__file__).resolve().parents[1]
BUDGET_MS = 200.0
PASSPHRASE = "bench console passphrase"  # bench_console.PASSPHRASE
LOGIN = "Bench Officer"
PASSWORD = "pages timed at a million certificates"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NEXT = re.compile(r'<a rel="next" href="([^"]+)"')
ROWS = re.compile(r"<tbody>\s*<tr")  # a table with at least one row
FIRST = ["Jörg", "Ana", "Jan", "Maria", "Stefan", "Léa", "Olga", "Xavier"]
LAST = ["Müller", "Smith", "Nowak", "García", "Janssen", "Rossi", "O'Brien", "Dvořák"]


def _account(folder: Path) -> dict[str, str]:
    """The bench's console account: made once (staff member, enrolment link completed)."""
    saved = folder / "console-account.json"
    if saved.exists():
        return json.loads(saved.read_text())
    body = CertificationBody.open(folder, passphrase=PASSPHRASE)
    try:
        # One staff member of that name (the sign-in form takes the name): re-enrol an
        # earlier one whose enrolment did not finish.
        row = body.db.execute("SELECT id FROM staff WHERE name = ?", [LOGIN]).fetchone()
        # An officer and a decision-maker: the decision forms and bulk issuance are timed too.
        staff_id = row[0] if row else body.add_staff(LOGIN, roles=["officer", "decision_maker"])
        secret = pyotp.random_base32(32)
        link = accounts.create_enrolment(body, staff_id, actor=None)
        step = int(time.time()) // 30 - 1  # the step before now: now stays free to sign in
        accounts.complete_enrolment(
            body,
            link.token,
            password=PASSWORD,
            totp_secret=secret,
            code=pyotp.TOTP(secret).generate_otp(step),
        )
    finally:
        body.db.conn.close()
    account = {"login": LOGIN, "password": PASSWORD, "secret": secret}
    saved.write_text(json.dumps(account))
    return account


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(folder: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", "from certreg.issuer.cli import main; main()", "serve",
         "--data", str(folder), "--port", str(port), "--log-level", "warning"],
        env={**os.environ, "CERTREG_PASSPHRASE": PASSPHRASE},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    # The first start builds the body's register.db from issuer.db (the register push's
    # catch-up: about 10 minutes at 1,000,000 on 2 shared cores); later starts take seconds.
    if not (folder / "register.db").exists() or (folder / "register.db").stat().st_size < 2**20:
        print("first start: certreg serve builds register.db first (minutes)", flush=True)
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"certreg serve exited: {proc.stderr.read().decode()}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/contexts", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("certreg serve did not start within an hour")


def _sign_in(client: httpx.Client, account: dict[str, str]) -> None:
    """Through the form, as a browser: the form's CSRF token, password, a fresh TOTP code
    (a step after the last one the console saw, waiting for it if a run just used it)."""
    totp = pyotp.TOTP(account["secret"])
    for _ in range(2):  # a failure counts towards the lockout: twice at most
        page = client.get("/console/login")
        answer = client.post(
            "/console/login",
            data={
                "login": account["login"],
                "password": account["password"],
                "code": totp.generate_otp(int(time.time()) // 30 + 1),
                "csrf_token": CSRF.search(page.text).group(1),  # type: ignore[union-attr]
            },
            headers={"Origin": str(client.base_url).rstrip("/")},
        )
        if answer.status_code == 303 and "certreg_console" in client.cookies:
            return
        time.sleep(31)  # the next step's code was spent by a run a moment ago
    said = re.search(r'id="login-error">([^<]+)<', answer.text)
    raise SystemExit(f"could not sign in: {answer.status_code} {said.group(1) if said else ''}")


def _next_link(html: str) -> str | None:
    found = NEXT.search(html)
    return unescape(found.group(1)) if found else None


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run_pages(folder: Path, *, certs: int, runs: int, only: str = "") -> None:
    account = _account(folder)
    numbers: list[str] = json.loads((folder / "numbers.json").read_text())
    people = int(certs * 0.8)
    rng = random.Random(11)
    port = _free_port()
    started = time.perf_counter()
    proc = _serve(folder, port)
    print(f"certreg serve on 127.0.0.1:{port} ready in {time.perf_counter() - started:.1f} s")
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, follow_redirects=False)
    try:
        _sign_in(client, account)
        _time_pages(folder, client, numbers, people, rng, runs, only)
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _time_pages(
    folder: Path,
    client: httpx.Client,
    numbers: list[str],
    people: int,
    rng: random.Random,
    runs: int,
    only: str,
) -> None:
    today = datetime.now(UTC).date()

    def get(path: str) -> str:
        answer = client.get(path)
        if answer.status_code != 200:
            raise SystemExit(f"{path}: {answer.status_code} {answer.text[:300]}")
        return answer.text

    def after_pages(first: str, pages: int) -> str:
        """The URL ``pages`` "Next page" links after ``first`` (fewer if the list ends)."""
        url = first
        for _ in range(pages):
            link = _next_link(get(url))
            if link is None:
                break
            url = link
        return url

    def name() -> str:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        return rng.choice([last[:3], f"{first[:2]} {last[:4]}", f"{first} {last}"])

    def person() -> str:
        return f"p-{rng.randrange(people):08d}"

    def month() -> str:
        start = (today.replace(day=1) - timedelta(days=30 * rng.randrange(1, 60))).replace(day=1)
        end = (start + timedelta(days=31)).replace(day=1) - timedelta(days=1)
        return f"since={start.isoformat()}&until={end.isoformat()}"

    def q(text: str) -> str:
        return httpx.QueryParams({"q": text}).__str__()

    # (page, how to make one URL to time; the preparation is not timed)
    pages: list[tuple[str, Callable[[], str]]] = [
        ("/console/ (dashboard)", lambda: "/console/"),
    ]
    for kind in DUE_TITLES:
        pages.append((f"/console/due/{kind}", lambda kind=kind: f"/console/due/{kind}"))
    pages += [
        (
            "/console/due/recertification_open p3",
            lambda: after_pages("/console/due/recertification_open", 2),
        ),
        ("/console/people?q=<name>", lambda: f"/console/people?{q(name())}&by=name"),
        ("/console/people?q=<name> (any)", lambda: f"/console/people?{q(name())}"),
        (
            "/console/people?q=<name> page 2",
            lambda: after_pages(f"/console/people?{q(name())}&by=name", 1),
        ),
        (
            "/console/people?q=<name> page 5",
            lambda: after_pages(f"/console/people?{q(name())}&by=name", 4),
        ),
        (
            "/console/people?q=<number>",
            lambda: f"/console/people?{q(rng.choice(numbers).lower())}",
        ),
        (
            "/console/people?q=<external id>",
            lambda: f"/console/people?{q(f'EXT-{rng.randrange(people):07d}')}",
        ),
        (
            "/console/people?q=<e-mail>",
            lambda: f"/console/people?{q(f'PERSON{rng.randrange(people)}@example.org')}",
        ),
        ("/console/people/{id}", lambda: f"/console/people/{person()}"),
        ("/console/certificates/{number}", lambda: f"/console/certificates/{rng.choice(numbers)}"),
        (
            "/console/certificates/{number} signed",  # one with credential rows and entries
            lambda: f"/console/certificates/{rng.choice(signed)}",
        ),
        ("/console/audit", lambda: "/console/audit"),
        ("/console/audit p5", lambda: after_pages("/console/audit", 4)),
        ("/console/audit?kind=", lambda: "/console/audit?kind=decision_suspend"),
        (
            "/console/audit?kind= p3",
            lambda: after_pages("/console/audit?kind=decision_grant", 2),
        ),
        ("/console/audit?person=", lambda: f"/console/audit?person={person()}"),
        (
            "/console/audit?certificate=",
            lambda: f"/console/audit?certificate={rng.choice(numbers)}",
        ),
        ("/console/audit?since=&until=", lambda: f"/console/audit?{month()}"),
        (
            "/console/audit?kind=&since=&until=",
            lambda: f"/console/audit?kind=decision_grant&{month()}",
        ),
        ("/console/schemes", lambda: "/console/schemes"),
        ("/console/schemes/{id}", lambda: f"/console/schemes/{rng.choice(scheme_ids)}"),
        (
            "/console/certificates/{number}/decide/suspend",
            lambda: f"/console/certificates/{rng.choice(numbers)}/decide/suspend",
        ),
        ("/console/people/{id}/grant", lambda: f"/console/people/{person()}/grant"),
        ("/console/bulk", lambda: "/console/bulk"),
    ]
    # Certificates with credential versions (the bench signs a sample of 20,000): their
    # page shows the status-list entries and bits.
    with sqlite3.connect(f"file:{folder / 'issuer.db'}?mode=ro", uri=True) as conn:
        scheme_ids = [i for (i,) in conn.execute("SELECT id FROM schemes")]
        signed = [
            n
            for (n,) in conn.execute(
                "SELECT c.number FROM credentials d "
                "JOIN certifications c ON c.id = d.certification_id LIMIT 500"
            )
        ]
    load = os.getloadavg()
    print(
        f"\nconsole pages over HTTP; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        f"(2 cores shared); {runs} requests per page"
    )
    print(
        f"{'page':46} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'< 200 ms':>9} {'KiB':>6} "
        f"{'with rows':>10}"
    )
    for label, make_url in pages:
        if only and only not in label:
            continue
        times: list[float] = []
        size = rows = 0
        for _ in range(runs):
            url = make_url()
            t0 = time.perf_counter()
            html = get(url)
            times.append((time.perf_counter() - t0) * 1000)
            size = len(html)
            rows += bool(ROWS.search(html))  # the page listed something (not "None.")
        p50, p95 = statistics.median(times), percentile(times, 95)
        verdict = "ok" if p95 < BUDGET_MS else "OVER"
        print(
            f"{label:46} {p50:8.1f} {p95:8.1f} {max(times):8.1f} {verdict:>9} {size / 1024:6.0f} "
            f"{rows:>5}/{runs:<4}",
            flush=True,
        )

"""The console's dashboard (``/console/``) and its lists of decisions due
(``/console/due/{kind}``), read over HTTP as a signed-in staff member's browser reads them:
a real body with certifications in several states, its clock driven by hand."""

from __future__ import annotations

import html
import itertools
import re
from datetime import UTC, datetime

from console_support import Env

from certreg.issuer.service import ScopeGrant

CWI_ROW = re.compile(r'<tr><th scope="row">CWI</th>(.*?)</tr>', re.S)
CELL = re.compile(r'data-status="(\w+)">(\d+)<')
NUMBER = re.compile(
    r'<th scope="row"><a href="/console/certificates/[^"]+"><code>([^<]+)</code></a></th>'
)
NEXT = re.compile(r'<a rel="next" href="([^"]+)">Next page</a>')


def certify(env: Env, name: str, **options: object) -> str:
    """A certification of ``name`` in the CWI scheme: examined by the officer, granted by the
    decision-maker (never the same person, as ISO/IEC 17024 wants)."""
    person = env.body.add_person(name)
    env.body.record_assessment(
        person,
        "cwi",
        result="pass",
        assessed_on="2026-02-20",
        examiners=[env.staff["officer"]],
        scope_codes=["VT2"],
    )
    cert = env.body.grant(
        person,
        "cwi",
        [ScopeGrant("VT2")],
        decided_by=env.staff["decider"],
        evidence="examination 2026-02-20",
        **options,
    )
    return cert.number


def section(page: str, kind: str) -> str:
    """The dashboard's section of one list of decisions due."""
    found = re.search(rf'<section aria-labelledby="due-{kind}">(.*?)</section>', page, re.S)
    assert found, kind
    return found.group(1)


def test_the_dashboard_shows_counts_overdue_suspensions_lists_and_chain(env: Env) -> None:
    numbers = [certify(env, name) for name in ["Ann Active", "Sam Suspended", "Wim Withdrawn"]]
    certify(env, "Bea Active")
    decider = env.staff["decider"]
    env.body.suspend(numbers[1], decided_by=decider, reason="complaint", until="2026-03-20")
    env.body.withdraw(numbers[2], decided_by=decider, reason="fraud")
    env.clock.now = datetime(2026, 3, 21, 9, tzinfo=UTC)  # the suspension deadline has passed

    olga = env.signed_in("officer", "Olga Officer")  # any staff member: an officer, not an admin
    answer = olga.client.get("/console/")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    page = answer.text
    assert "Signed in as Olga Officer" in page and 'id="roles">officer<' in page
    assert 'href="/console/staff"' not in page and "Sign out everywhere" in page

    # Counts by scheme and status, the columns headed with the status words, not codes.
    counts = re.search(r'<table id="counts-table">.*?</table>', page, re.S).group(0)
    headers = re.findall(r'<th scope="col"[^>]*>([^<]+)</th>', counts)
    assert headers == ["Scheme", "VALID", "SUSPENDED", "WITHDRAWN", "EXPIRED", "Total"]
    cells = dict(CELL.findall(CWI_ROW.search(counts).group(1)))
    assert cells == {"ACTIVE": "2", "SUSPENDED": "1", "WITHDRAWN": "1", "EXPIRED": "0"}
    assert "<caption>" in counts and ">4</td>" in CWI_ROW.search(counts).group(1)

    # The suspension past its deadline, with its holder and the deadline in words.
    overdue = section(page, "suspension_overdue")
    assert "(1)</h3>" in overdue
    assert NUMBER.findall(overdue) == [numbers[1]]
    assert "Sam Suspended" in overdue and "20 March 2026" in overdue
    assert "/console/due/suspension_overdue" in overdue
    assert "None." in section(page, "expiring_this_month")

    # The lists were signed for two days on 2 March: lapsed, said in words and in red.
    lists = re.search(r'<table id="lists-table">.*?</table>', page, re.S).group(0)
    assert lists.count("LAPSED") == lists.count("<tr>") - 1 >= 1
    assert "ago: verifiers cannot check this list" in lists
    env.body.status_lists.refresh_due()  # signed again, for two days from now
    env.clock.advance(minutes=10)  # within the session's idle timeout
    page = olga.client.get("/console/").text
    lists = re.search(r'<table id="lists-table">.*?</table>', page, re.S).group(0)
    assert "LAPSED" not in lists and lists.count("1 day 23 hours") == lists.count("<tr>") - 1

    # The audit chain: its head is the newest event (reading the page records none).
    (head,) = env.body.db.execute("SELECT MAX(seq) FROM events").fetchone()
    chain = page.split('<h2 id="chain">')[1]
    assert f"<dd>{head}</dd>" in chain and f"event {head} at" in chain
    assert "Last signed checkpoint</dt><dd>none yet" in chain


def test_headings_are_in_order_and_every_table_has_a_caption(env: Env) -> None:
    certify(env, "Ann Active")
    page = env.signed_in("decider", "Dana Decider").client.get("/console/").text
    levels = [int(n) for n in re.findall(r"<h([1-6])[ >]", page)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels))
    assert page.count("<table") == page.count("<caption>") >= 2
    assert 'scope="col"' in page and 'scope="row"' in page


def test_signed_out_the_dashboard_and_the_lists_redirect_to_sign_in(env: Env) -> None:
    browser = env.browser()
    for path in ["/console/", "/console/due/suspension_overdue"]:
        answer = browser.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/login")


def test_the_due_list_pages_through_every_item_once_soonest_first(env: Env) -> None:
    starts = [f"2026-03-{day:02d}" for day in (2, 2, 2, 3, 5, 5, 8, 9, 9, 9, 12, 13)]
    numbers = [certify(env, f"Holder {i}", effective_date=day) for i, day in enumerate(starts)]
    env.clock.now = datetime(2029, 3, 1, 8, tzinfo=UTC)  # they all expire this month
    dana = env.signed_in("decider", "Dana Decider")

    # The dashboard shows the first ten and a link to the rest.
    expiring = section(dana.client.get("/console/").text, "expiring_this_month")
    first = NUMBER.findall(expiring)
    assert len(first) == 10 and "(12)</h3>" in expiring
    more = re.search(r'<a href="([^"]+)">More', expiring).group(1)
    rest = NUMBER.findall(dana.client.get(html.unescape(more)).text)
    assert first + rest == numbers  # granted in order of their last valid day

    # The list page, five at a time, following "Next page" to the end: each item once.
    seen, path, pages = [], "/console/due/expiring_this_month?limit=5", 0
    while path:
        answer = dana.client.get(path)
        assert answer.status_code == 200 and "12 in all" in answer.text
        seen += NUMBER.findall(answer.text)
        found = NEXT.search(answer.text)
        path = html.unescape(found.group(1)) if found else ""
        pages += 1
    assert seen == numbers and pages == 3
    assert (
        "1 March 2029" in dana.client.get("/console/due/expiring_this_month?limit=5").text
    )  # the day that makes it due, in words

    assert dana.client.get("/console/due/no-such-list").status_code == 404
    bad = dana.client.get("/console/due/expiring_this_month?after=nonsense")
    assert bad.status_code == 422 and "is not a page of this list" in html.unescape(bad.text)

"""The console's candidates and holders: the search (``/console/people``) and a person's
page (``/console/people/{id}``), read over HTTP as a signed-in staff member's browser reads
them, on a real body whose certifications are granted, suspended and reinstated."""

from __future__ import annotations

import html
import itertools
import re

from console_support import Env

from certreg.issuer.service import ScopeGrant

NAME = re.compile(r'<th scope="row"><a href="/console/people/([^"]+)">([^<]+)</a></th>')
NEXT = re.compile(r'<a rel="next" href="([^"]+)">Next page</a>')


def candidate(env: Env, name: str, **details: object) -> str:
    """A person examined by the officer in the CWI scheme (not yet certified)."""
    person = env.body.add_person(name, **details)
    env.body.record_assessment(
        person,
        "cwi",
        result="pass",
        assessed_on="2026-02-20",
        examiners=[env.staff["officer"]],
        scope_codes=["VT2"],
        score=87.5,
    )
    return person


def certify(env: Env, person: str) -> str:
    """The person's CWI certification, granted by the decision-maker; its number."""
    cert = env.body.grant(
        person,
        "cwi",
        [ScopeGrant("VT2")],
        decided_by=env.staff["decider"],
        evidence="examination 2026-02-20",
    )
    return cert.number


def found(page: str) -> list[tuple[str, str]]:
    """(person id, name) of each person in a page of results."""
    return NAME.findall(page)


def test_search_by_each_key_finds_the_person_with_status_words(env: Env) -> None:
    jorg = candidate(env, "Jörg Müller", email="Joerg.Mueller@Example.org", external_id="HR-0042")
    number = certify(env, jorg)
    env.body.suspend(
        number, decided_by=env.staff["decider"], reason="complaint", until="2026-04-30"
    )
    candidate(env, "Ann Other", email="ann@example.org", external_id="HR-0043")
    olga = env.signed_in("officer", "Olga Officer")  # any staff member may search

    spaced = " ".join(number.lower())  # a number whatever its spacing or case
    for by, q in [
        ("name", "mull jo"),
        ("number", spaced),
        ("external_id", "HR-0042"),
        ("email", "joerg.mueller@example.ORG"),
        ("any", number),
        ("any", "HR-0042"),
        ("any", "JOERG.mueller@example.org"),
        ("any", "müller"),
    ]:
        answer = olga.client.get("/console/people", params={"q": q, "by": by})
        assert answer.status_code == 200, (by, q, answer.text)
        assert found(answer.text) == [(jorg, "Jörg Müller")], (by, q)
        row = re.search(r"<tbody>(.*?)</tbody>", answer.text, re.S).group(1)
        assert "HR-0042" in row and "Joerg.Mueller@Example.org" in row
        assert (
            f'<li><a href="/console/certificates/{number}"><code>{number}</code></a> SUSPENDED</li>'
            in row
        )

    nobody = olga.client.get("/console/people", params={"q": "Nobody", "by": "name"}).text
    assert "Nobody found" in nobody and "<table" not in nobody


def test_an_empty_query_shows_the_form_only_with_labels(env: Env) -> None:
    candidate(env, "Ann Other")
    page = env.signed_in("decider", "Dana Decider").client.get("/console/people").text
    assert '<label for="q">' in page and 'id="q"' in page
    assert '<label for="by">' in page and 'id="by"' in page
    assert "<table" not in page and "People found" not in page and "Nobody found" not in page
    assert page.count("<h1>") == 1


def test_paging_returns_every_hit_once_newest_first(env: Env) -> None:
    people = [candidate(env, f"Smith Number{i}") for i in range(12)]
    candidate(env, "Jones Other")
    dana = env.signed_in("decider", "Dana Decider")

    seen: list[str] = []
    path, pages = "/console/people?q=smith&by=name&limit=5", 0
    while path:
        answer = dana.client.get(path)
        assert answer.status_code == 200
        seen += [pid for pid, _ in found(answer.text)]
        link = NEXT.search(answer.text)
        path = html.unescape(link.group(1)) if link else ""
        pages += 1
    assert seen == people[::-1] and pages == 3  # each once, the newest first

    bad = dana.client.get("/console/people?q=smith&by=name&after=nonsense")
    assert bad.status_code == 422 and "is not a page of this search" in html.unescape(bad.text)
    bad = dana.client.get("/console/people?q=smith&by=shoe-size")
    assert bad.status_code == 422 and "unknown search key" in html.unescape(bad.text)


def test_the_person_page_lists_assessments_involvements_certifications_and_decisions(
    env: Env,
) -> None:
    person = candidate(env, "Jörg Müller", external_id="HR-0042")
    env.body.record_training(person, env.staff["admin"])
    number = certify(env, person)
    decider = env.staff["decider"]
    env.body.suspend(number, decided_by=decider, reason="complaint", until="2026-04-30")
    env.body.reinstate(number, decided_by=decider, reason="complaint unfounded")

    olga = env.signed_in("officer", "Olga Officer")
    answer = olga.client.get(f"/console/people/{person}")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    page = answer.text
    assert "<h1>Jörg Müller</h1>" in page and "HR-0042" in page

    certs = re.search(r'<table id="certifications-table">.*?</table>', page, re.S).group(0)
    assert f"<code>{number}</code>" in certs and "VALID until" in certs
    staff_view = f'<a href="/console/certificates/{number}"><code>{number}</code></a>'
    assert staff_view in certs  # where its decisions are taken

    assessments = re.search(r'<table id="assessments-table">.*?</table>', page, re.S).group(0)
    assert "20 February 2026" in assessments and "pass" in assessments and "VT2" in assessments

    involved = re.search(r'<table id="involvements-table">.*?</table>', page, re.S).group(0)
    assert "examiner" in involved and "trainer" in involved and "Trainings: 1." in page

    # Every decision, in the order made, with who decided and why.
    decisions = re.search(r'<table id="decisions-table">.*?</table>', page, re.S).group(0)
    assert re.findall(r'data-type="(\w+)"', decisions) == ["grant", "suspend", "reinstate"]
    assert "complaint unfounded" in decisions and decisions.count(staff_view) == 3

    levels = [int(n) for n in re.findall(r"<h([1-6])[ >]", page)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels))
    assert page.count("<table") == page.count("<caption>") == 4


def test_an_unknown_person_is_a_404_page_in_words(env: Env) -> None:
    answer = env.signed_in("officer", "Olga Officer").client.get("/console/people/no-such-id")
    assert answer.status_code == 404
    assert "Not found" in answer.text and "no person" in html.unescape(answer.text)


def test_signed_out_the_people_pages_redirect_to_sign_in(env: Env) -> None:
    person = candidate(env, "Ann Other")
    browser = env.browser()
    for path in ["/console/people?q=ann", f"/console/people/{person}"]:
        answer = browser.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/login")


def test_the_dashboard_links_to_the_search_and_to_holders_of_decisions_due(env: Env) -> None:
    person = candidate(env, "Sam Suspended")
    number = certify(env, person)
    env.body.suspend(
        number, decided_by=env.staff["decider"], reason="complaint", until="2026-03-20"
    )
    env.clock.now = env.clock.now.replace(year=2026, month=3, day=21)  # the deadline has passed
    dana = env.signed_in("decider", "Dana Decider")
    page = dana.client.get("/console/").text
    assert 'href="/console/people">Candidates and holders</a>' in page
    link = f'<a href="/console/people/{person}">Sam Suspended</a>'
    assert link in page
    assert link in dana.client.get("/console/due/suspension_overdue").text
    assert "<h1>Sam Suspended</h1>" in dana.client.get(f"/console/people/{person}").text

"""A certificate's staff view (``/console/certificates/{number}``) and the audit log
(``/console/audit``), read over HTTP as a signed-in staff member's browser reads them: a real
body with a suspension, share links and events, its clock driven by hand."""

from __future__ import annotations

import html
import itertools
import re
from datetime import timedelta

from console_support import Env

from certreg.issuer.service import ScopeGrant
from certreg.issuer.sharing import create_share, revoke_share

NEXT = re.compile(r'<a rel="next" href="([^"]+)">Next page</a>')
SEQ = re.compile(r'<th scope="row" class="seq">(\d+)</th>')
KIND = re.compile(r'<td class="kind">([^<]+)</td>')


def certify(env: Env, name: str) -> str:
    """A CWI certification of ``name``: examined by the officer, granted by the
    decision-maker."""
    person = env.body.add_person(name)
    env.body.record_assessment(
        person,
        "cwi",
        result="pass",
        assessed_on="2026-02-20",
        examiners=[env.staff["officer"]],
        scope_codes=["VT2"],
    )
    grant = [ScopeGrant("VT2")]
    decider = env.staff["decider"]
    return env.body.grant(person, "cwi", grant, decided_by=decider, evidence="exam").number


def table(page: str, id_: str) -> str:
    found = re.search(rf'<table id="{id_}">.*?</table>', page, re.S)
    assert found, id_
    return found.group(0)


def test_the_certificate_view_shows_the_suspension_bit_decisions_and_no_share_token(
    env: Env,
) -> None:
    number = certify(env, "Sam Suspended")
    decider = env.staff["decider"]
    env.body.suspend(number, decided_by=decider, reason="complaint 42", until="2026-03-20")
    link, token = create_share(env.body, number, expires_in=timedelta(days=1))
    revoked, revoked_token = create_share(env.body, number)
    revoke_share(env.body, revoked.id)

    olga = env.signed_in("officer", "Olga Officer")  # any staff member may read
    # The number as a person types it: lower case, spaces around.
    answer = olga.client.get(f"/console/certificates/ {number.lower()} ")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    page = html.unescape(answer.text)
    assert f"<h1>Certificate <code>{number}</code></h1>" in page
    assert "SUSPENDED since" in page and "Sam Suspended" in page
    assert "20 March 2026" in page  # the suspension deadline, in words

    # The status entry: 1 (suspended) in the database, and 1 in the list as signed.
    credentials = table(page, "credentials-table")
    assert re.findall(r'class="recorded">(\d)<', credentials) == ["1"]
    assert re.findall(r'class="signed">(\d)<', credentials) == ["1"]
    assert "message" in credentials and "current" in credentials

    # Every decision, with its reason and the decision-maker by name.
    decisions = table(page, "decisions-table")
    assert re.findall(r'class="decision">(\w+)<', decisions) == ["grant", "suspend"]
    assert "complaint 42" in decisions and "Dana Decider" in decisions

    # Share links by state; neither token nor its hash anywhere on the page.
    shares = table(page, "shares-table")
    assert link.id in shares and revoked.id in shares
    assert sorted(re.findall(r'class="share-state">(\w+)<', shares)) == ["active", "revoked"]
    hashes = [h for (h,) in env.body.db.execute("SELECT token_hash FROM share_links")]
    assert all(secret not in answer.text for secret in [token, revoked_token, *hashes])

    # The public page, the holder's page, and the certificate's events in the audit log.
    assert f'href="https://cb.example/c/{number}"' in page
    (person_id,) = env.body.db.execute(
        "SELECT person_id FROM certifications WHERE number = ?", [number]
    ).fetchone()
    holder = olga.client.get(f"/console/people/{person_id}")
    assert f'href="/console/people/{person_id}"' in page and holder.status_code == 200
    assert "Sam Suspended" in holder.text
    assert f'href="/console/audit?certificate={number}"' in page

    # Once reinstated and signed again: 0 recorded, 0 signed.
    env.body.reinstate(number, decided_by=decider, reason="complaint dismissed")
    credentials = table(
        olga.client.get(f"/console/certificates/{number}").text, "credentials-table"
    )
    assert set(re.findall(r'class="(?:recorded|signed)">(\d)<', credentials)) == {"0"}


def test_an_unknown_certificate_is_a_404_page_in_words(env: Env) -> None:
    olga = env.signed_in("officer", "Olga Officer")
    answer = olga.client.get("/console/certificates/NOPE-1")
    assert answer.status_code == 404
    assert "no certification numbered" in html.unescape(answer.text)
    assert "<h1>Not found</h1>" in answer.text


def test_the_dashboard_links_each_due_certificate_to_its_view(env: Env) -> None:
    number = certify(env, "Sam Suspended")
    env.body.suspend(number, decided_by=env.staff["decider"], reason="r", until="2026-03-20")
    env.clock.advance(days=30)  # past the deadline
    dana = env.signed_in("decider", "Dana Decider")
    href = f'href="/console/certificates/{number}"'
    assert href in dana.client.get("/console/").text
    assert href in dana.client.get("/console/due/suspension_overdue").text
    assert dana.client.get(f"/console/certificates/{number}").status_code == 200


def test_the_audit_log_filters_by_kind_and_by_certificate(env: Env) -> None:
    first, second = certify(env, "Ann One"), certify(env, "Bob Two")
    env.body.suspend(second, decided_by=env.staff["decider"], reason="r", until="2026-04-01")
    olga = env.signed_in("officer", "Olga Officer")

    page = olga.client.get("/console/audit").text
    assert "<caption>Audit events, newest first</caption>" in page
    assert "certreg audit verify" in page  # the page says where the chain is checked
    # The kinds offered are the chain's kinds, each labelled.
    kinds = {k for (k,) in env.body.db.execute("SELECT DISTINCT kind FROM events")}
    assert set(re.findall(r'<option value="([^"]+)"', page)) == kinds
    for name in ["person", "certificate", "kind", "since", "until"]:
        assert f'<label for="f-{name}">' in page and f'id="f-{name}"' in page

    by_kind = olga.client.get("/console/audit", params={"kind": "decision_suspend"}).text
    assert KIND.findall(by_kind) == ["decision_suspend"]
    name = env.body.db.execute(
        "SELECT name FROM staff WHERE id = ?", [env.staff["decider"]]
    ).fetchone()[0]
    assert f"<td>{name}</td>" in by_kind  # who decided, by name (not their id)
    assert '<option value="decision_suspend" selected>' in by_kind

    # The second certificate's events, the number typed in lower case.
    about = olga.client.get("/console/audit", params={"certificate": second.lower()}).text
    expected = [
        seq
        for (seq,) in env.body.db.execute(
            "SELECT seq FROM events WHERE subject IN "
            "(SELECT id FROM certifications WHERE number = ? UNION SELECT ?) ORDER BY seq DESC",
            (second, second),
        )
    ]
    assert [int(s) for s in SEQ.findall(about)] == expected and len(expected) >= 2
    assert "decision_suspend" in KIND.findall(about)
    first_events = olga.client.get("/console/audit", params={"certificate": first}).text
    assert "decision_suspend" not in KIND.findall(first_events)

    # Both filters at once; and a kind no event of it has.
    both = {"certificate": second, "kind": "decision_suspend"}
    assert len(SEQ.findall(olga.client.get("/console/audit", params=both).text)) == 1
    none = olga.client.get(
        "/console/audit", params={"certificate": first, "kind": "decision_suspend"}
    )
    assert "No events match these filters." in none.text


def test_paging_the_audit_log_returns_every_event_once(env: Env) -> None:
    for i in range(4):
        certify(env, f"Holder {i}")
    olga = env.signed_in("officer", "Olga Officer")
    seen, path, pages = [], "/console/audit?limit=7", 0
    while path:
        answer = olga.client.get(path)
        assert answer.status_code == 200
        seen += [int(s) for s in SEQ.findall(answer.text)]
        found = NEXT.search(answer.text)
        path = html.unescape(found.group(1)) if found else ""
        pages += 1
    every = [seq for (seq,) in env.body.db.execute("SELECT seq FROM events ORDER BY seq DESC")]
    # Reading records no events, so the chain is the same at the end as at the start.
    assert seen == every and pages == -(-len(every) // 7) and pages >= 3


def test_a_bad_date_or_cursor_is_a_422_page_with_the_reason(env: Env) -> None:
    olga = env.signed_in("officer", "Olga Officer")
    bad = olga.client.get("/console/audit", params={"since": "yesterday"})
    assert bad.status_code == 422
    assert "since must be a date (YYYY-MM-DD), not 'yesterday'" in html.unescape(bad.text)
    bad = olga.client.get("/console/audit", params={"after": "nonsense"})
    assert bad.status_code == 422 and "is not a page of the audit log" in html.unescape(bad.text)
    good = olga.client.get("/console/audit", params={"since": "2026-01-01", "until": "2026-12-31"})
    assert good.status_code == 200 and SEQ.findall(good.text)


def test_signed_out_both_pages_redirect_to_sign_in(env: Env) -> None:
    number = certify(env, "Ann One")
    browser = env.browser()
    for path in [f"/console/certificates/{number}", "/console/audit?kind=decision_grant"]:
        answer = browser.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/login")


def test_headings_are_in_order_and_every_table_has_a_caption(env: Env) -> None:
    number = certify(env, "Ann One")
    create_share(env.body, number)
    olga = env.signed_in("officer", "Olga Officer")
    for path in [f"/console/certificates/{number}", "/console/audit"]:
        page = olga.client.get(path).text
        levels = [int(n) for n in re.findall(r"<h([1-6])[ >]", page)]
        assert levels[0] == 1 and levels.count(1) == 1, path
        assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), path
        assert page.count("<table") == page.count("<caption>") >= 1, path
        assert 'scope="col"' in page and 'scope="row"' in page, path

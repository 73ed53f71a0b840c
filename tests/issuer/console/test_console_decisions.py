"""The console's decision forms (``/console/people/{id}/grant``,
``/console/certificates/{number}/decide/{command}``), driven over HTTP as a signed-in staff
member's browser sends them: a real body, its clock moved by hand, the service's own refusals."""

from __future__ import annotations

import html
import re

import pytest
from console_support import ORIGIN, Env, Person

from certreg.issuer.lifecycle import table
from certreg.issuer.service import ScopeGrant

DONE = re.compile(r'<p id="done" class="note" role="status"><strong>Done.</strong> ([^<]+)</p>')


def candidate(env: Env, name: str, examiner: str = "officer") -> str:
    """A person who passed the CWI examination (UT2 and VT2), examined by ``examiner``."""
    person = env.body.add_person(name)
    env.body.record_assessment(
        person,
        "cwi",
        result="pass",
        assessed_on="2026-02-20",
        examiners=[env.staff[examiner]],
        scope_codes=["UT2", "VT2"],
    )
    return person


def certified(env: Env, name: str, scope: tuple[str, ...] = ("UT2", "VT2")) -> str:
    person = candidate(env, name)
    grants = [ScopeGrant(code) for code in scope]
    cert = env.body.grant(person, "cwi", grants, decided_by=env.staff["decider"], evidence="exam")
    return cert.number


def decisions_of(env: Env, number: str) -> list[tuple[str, str]]:
    return [(d.type, d.decided_by or "") for d in env.body.history(number)]


def done_page(person: Person, answer) -> str:
    """Follow the 303 to the certificate's view; the confirmation it shows."""
    assert answer.status_code == 303, answer.text
    page = person.client.get(answer.headers["location"])
    assert page.status_code == 200
    found = DONE.search(page.text)
    assert found, "no confirmation on the certificate's page"
    return html.unescape(found.group(1))


def test_a_grant_through_the_form_is_decided_by_the_signed_in_person(env: Env) -> None:
    person = candidate(env, "Gina Granted")
    dana = env.signed_in("decider", "Dana Decider")

    # The person's page links to the form; the form names the rules before anything is sent.
    assert (
        f'href="/console/people/{person}/grant"'
        in dana.client.get(f"/console/people/{person}").text
    )
    form = html.unescape(dana.client.get(f"/console/people/{person}/grant").text)
    assert "you may not decide on a candidate you trained or examined (ISO/IEC 17024 §9.4)" in form
    assert "a grant must cite its evidence" in form
    assert "What verifiers will see:" in form
    assert "<legend>Scope items granted (required)</legend>" in form
    assert 'name="decided_by"' not in form

    answer = dana.post(
        f"/console/people/{person}/grant",
        {
            "scheme_id": "cwi",
            "scope": ["UT2", "VT2"],
            "scope_conditions_UT2": "steel, 6-40 mm",
            "evidence": "exam record 17",
            "reason": "",
            "effective_date": "",
        },
    )
    said = done_page(dana, answer)
    number = answer.headers["location"].split("/")[-1].split("?")[0]
    cert = env.body.certification(number)
    assert said == table.done_sentence(table.BY_NAME["grant"], cert, {})
    assert said.startswith("Granted: Gina Granted is certified")
    assert decisions_of(env, number) == [("grant", env.staff["decider"])]
    assert env.body._active_scope(cert.id) == {"UT2": "steel, 6-40 mm", "VT2": None}
    # The service's own audit event names the signed-in person.
    assert [e["actor"] for e in env.events("decision_grant")] == [env.staff["decider"]]
    # The confirmation is shown once, and only to the session that decided.
    assert DONE.search(dana.client.get(answer.headers["location"]).text) is None


def test_a_bad_grant_is_shown_again_with_the_reason_and_the_values_typed(env: Env) -> None:
    person = candidate(env, "Bert Bad")
    dana = env.signed_in("decider", "Dana Decider")
    url = f"/console/people/{person}/grant"
    sent = {
        "scheme_id": "cwi",
        "scope": "VT2",
        "evidence": "exam 3",
        "effective_date": "2026-13-40",
    }

    answer = dana.post(url, sent)
    assert answer.status_code == 422
    page = html.unescape(answer.text)
    assert "effective_date must be a date written YYYY-MM-DD" in page
    assert 'value="exam 3"' not in page  # evidence is a text area: typed text is its content
    assert ">exam 3</textarea>" in page and 'value="VT2" checked' in page
    assert 'aria-describedby="form-error"' in page

    answer = dana.post(url, {**sent, "effective_date": "", "evidence": " "})
    assert answer.status_code == 422
    assert "a grant must cite its evidence" in html.unescape(answer.text)
    assert 'aria-describedby="help-evidence form-error"' in answer.text

    answer = dana.post(url, {**sent, "effective_date": "", "scope": []})
    assert answer.status_code == 422 and "at least one scope item is required" in answer.text
    assert env.body.db.execute("SELECT COUNT(*) FROM certifications").fetchone()[0] == 0


def test_every_decision_on_a_certificate_changes_it_as_the_service_would(env: Env) -> None:
    number = certified(env, "Carla Cycle")
    dana = env.signed_in("decider", "Dana Decider")
    base = f"/console/certificates/{number}/decide"
    view = dana.client.get(f"/console/certificates/{number}").text
    for command in ("suspend", "withdraw", "reduce-scope", "extend-scope", "correct"):
        assert f'href="{base}/{command}"' in view
    assert f'href="{base}/reinstate"' not in view  # not while ACTIVE

    said = done_page(
        dana, dana.post(f"{base}/suspend", {"reason": "complaint 7", "until": env.clock.day(30)})
    )
    assert said.startswith(f"Suspended: certificate {number} (Carla Cycle) is suspended until")
    assert env.body.certification(number).status == "SUSPENDED"

    said = done_page(dana, dana.post(f"{base}/reinstate", {"reason": "resolved"}))
    assert env.body.certification(number).status == "ACTIVE" and "active again" in said

    said = done_page(
        dana, dana.post(f"{base}/reduce-scope", {"remove": "UT2", "reason": "no longer"})
    )
    assert said.endswith(
        "no longer covers UT2; a new credential was issued and the earlier ones revoked."
    )
    cert = env.body.certification(number)
    assert env.body._active_scope(cert.id) == {"VT2": None}

    said = done_page(
        dana,
        dana.post(
            f"{base}/extend-scope",
            {"add": "UT2", "add_conditions_UT2": "steel", "evidence": "exam"},
        ),
    )
    assert said == f"Scope extended: certificate {number} now also covers UT2."
    assert env.body._active_scope(cert.id) == {"VT2": None, "UT2": "steel"}

    said = done_page(
        dana,
        dana.post(
            f"{base}/correct",
            {
                "reason": "typo",
                "holder_name": "Carla Cycles",
                "conditions_UT2": "steel only",
                "conditions_VT2": "",
            },
        ),
    )
    assert env.body.certification(number).holder_name == "Carla Cycles"
    assert env.body._active_scope(cert.id) == {"VT2": None, "UT2": "steel only"}  # VT2 unchanged

    # Recertification opens 6 months before expiry: refused now, in the rule's words.
    answer = dana.post(f"{base}/recertify", {"evidence": "renewal exam"})
    assert (
        answer.status_code == 403 and "recertification opens 6 months before expiry" in answer.text
    )
    env.clock.advance(days=365 * 3 - 100)
    assert dana.sign_in().status_code == 303  # the session lapsed meanwhile
    said = done_page(dana, dana.post(f"{base}/recertify", {"evidence": "renewal exam"}))
    assert env.body.certification(number).cycle == 2 and "starts cycle 2" in said

    said = done_page(dana, dana.post(f"{base}/withdraw", {"reason": "fraud"}))
    assert env.body.certification(number).status == "WITHDRAWN"
    page = html.unescape(dana.client.get(f"/console/certificates/{number}").text)
    decided = re.findall(r'class="decision">(\w+)<', page)
    order = "grant suspend reinstate reduce_scope extend_scope correct recertify withdraw"
    assert decided == order.split()
    assert {by for _, by in decisions_of(env, number)} == {env.staff["decider"]}
    for kind in ("decision_suspend", "decision_withdraw", "decision_correct"):
        assert [e["actor"] for e in env.events(kind)] == [env.staff["decider"]]


def test_the_examiner_is_refused_with_the_standards_reason_and_nothing_changes(env: Env) -> None:
    env.staff["examiner"] = env.body.add_staff("Erik Examiner", roles=["decision_maker"])
    person = candidate(env, "Xena Examined", examiner="examiner")
    erik = env.signed_in("examiner", "Erik Examiner")

    answer = erik.post(
        f"/console/people/{person}/grant",
        {"scheme_id": "cwi", "scope": "VT2", "evidence": "exam 9"},
    )
    assert answer.status_code == 403
    page = html.unescape(answer.text)
    assert "Erik Examiner examined this candidate; ISO/IEC 17024 (9.4)" in page
    assert ">exam 9</textarea>" in page  # the values typed are kept
    assert env.body.db.execute("SELECT COUNT(*) FROM certifications").fetchone()[0] == 0
    refused = env.events("decision_refused")
    assert [e["actor"] for e in refused] == [env.staff["examiner"]]

    # And on a certificate someone else granted: the suspension is refused, nothing written.
    number = env.body.grant(
        person, "cwi", [ScopeGrant("VT2")], decided_by=env.staff["decider"], evidence="exam"
    ).number
    answer = erik.post(
        f"/console/certificates/{number}/decide/suspend",
        {"reason": "x", "until": env.clock.day(10)},
    )
    assert answer.status_code == 403 and "examined this candidate" in answer.text
    assert env.body.certification(number).status == "ACTIVE"
    assert decisions_of(env, number) == [("grant", env.staff["decider"])]


def test_an_officer_sees_no_button_and_is_refused(env: Env) -> None:
    number = certified(env, "Olaf Other")
    olga = env.signed_in("officer", "Olga Officer")
    view = olga.client.get(f"/console/certificates/{number}").text
    assert "/decide/" not in view
    person = env.body.certification(number).person_id
    assert "/grant" not in olga.client.get(f"/console/people/{person}").text

    page = olga.client.get(f"/console/certificates/{number}/decide/suspend")
    assert page.status_code == 403
    assert "this decision needs the role decision_maker; Olga Officer holds officer" in page.text
    assert 'id="decision-form"' not in page.text

    answer = olga.post(
        f"/console/certificates/{number}/decide/suspend",
        {"reason": "x", "until": env.clock.day(10)},
    )
    assert answer.status_code == 403
    assert env.body.certification(number).status == "ACTIVE"


def test_a_missing_csrf_token_changes_nothing(env: Env) -> None:
    number = certified(env, "Cora Csrf")
    dana = env.signed_in("decider", "Dana Decider")
    answer = dana.client.post(
        f"/console/certificates/{number}/decide/withdraw",
        data={"reason": "forged"},
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert answer.status_code == 403 and "CSRF token is missing or wrong" in answer.text
    assert env.body.certification(number).status == "ACTIVE"


def test_a_suspension_beyond_the_schemes_maximum_is_refused_with_the_reason(env: Env) -> None:
    number = certified(env, "Max Suspended")
    dana = env.signed_in("decider", "Dana Decider")
    url = f"/console/certificates/{number}/decide/suspend"
    form = html.unescape(dana.client.get(url).text)
    latest = env.clock.day(180)
    assert (
        f"at most 180 days after it (the scheme's maximum suspension): {latest} at the latest"
        in form
    )

    answer = dana.post(url, {"reason": "complaint", "until": env.clock.day(181)})
    assert answer.status_code == 403
    page = html.unescape(answer.text)
    assert (
        f"the scheme allows suspensions of at most 180 days: the deadline can be {latest}" in page
    )
    assert f'value="{env.clock.day(181)}"' in page and ">complaint</textarea>" in page
    assert env.body.certification(number).status == "ACTIVE"

    answer = dana.post(url, {"reason": "", "until": env.clock.day(10)})
    assert answer.status_code == 422 and "a suspension needs a reason" in answer.text
    answer = dana.post(url, {"reason": "x", "until": "next week"})
    assert answer.status_code == 422 and "must be a date written YYYY-MM-DD" in answer.text
    assert env.body.history(number)[-1].type == "grant"


@pytest.mark.parametrize("command", ["suspend", "withdraw", "grant"])
def test_no_form_decides_in_someone_elses_name(env: Env, command: str) -> None:
    env.staff["decider2"] = env.body.add_staff("Dirk Decider", roles=["decision_maker"])
    number = certified(env, "Nina Nobody")
    person = env.body.certification(number).person_id
    other = candidate(env, "Otto Other")
    dana = env.signed_in("decider", "Dana Decider")
    sent = {"reason": "x", "until": env.clock.day(10), "decided_by": env.staff["decider2"]}
    url = f"/console/certificates/{number}/decide/{command}"
    if command == "grant":
        sent = {
            "scheme_id": "cwi",
            "scope": "VT2",
            "evidence": "e",
            "decided_by": env.staff["decider2"],
        }
        url = f"/console/people/{other}/grant"
    answer = dana.post(url, sent)
    assert answer.status_code == 422
    assert "the decision-maker is always the signed-in person" in answer.text
    assert decisions_of(env, number) == [("grant", env.staff["decider"])]
    assert env.body.db.execute("SELECT COUNT(*) FROM certifications").fetchone()[0] == 1
    assert person  # the certificate's holder is untouched


def test_unknown_scope_codes_and_states_are_refused_in_words(env: Env) -> None:
    number = certified(env, "Una Known", scope=("VT2",))
    dana = env.signed_in("decider", "Dana Decider")
    base = f"/console/certificates/{number}/decide"
    answer = dana.post(f"{base}/extend-scope", {"add": "ZZ9", "evidence": "e"})
    assert answer.status_code == 422 and "this form has no fields" not in answer.text
    assert "is not in the catalogue of scheme" in html.unescape(answer.text)
    answer = dana.post(f"{base}/reinstate", {"reason": "why"})
    assert answer.status_code == 409
    assert f"certification {number} is ACTIVE and cannot be reinstated" in answer.text
    assert dana.client.get(f"{base}/nonsense").status_code == 404

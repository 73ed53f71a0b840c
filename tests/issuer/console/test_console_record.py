"""The officers' record forms over HTTP: add a candidate, record an assessment and a training
from the person's page. What they record is what a grant rests on: an examiner recorded here is
refused as the decision-maker. Refusals come back in the service's words with the values typed,
4xx, nothing written; each record is an audit event naming the signed-in officer."""

from __future__ import annotations

import html
import re

import pytest
from console_support import Env

from certreg.issuer.lifecycle.errors import LifecycleError
from certreg.issuer.service import ScopeGrant


def count(env: Env, sql: str) -> int:
    return env.body.db.execute(sql).fetchone()[0]


def test_an_officer_adds_a_candidate_and_lands_on_their_page(env: Env) -> None:
    olga = env.signed_in("officer", "Olga Officer")
    people = olga.client.get("/console/people").text
    assert 'href="/console/candidates/new"' in people
    form = olga.client.get("/console/candidates/new")
    assert form.status_code == 200 and '<label for="f-full_name">' in form.text

    answer = olga.post(
        "/console/candidates",
        {
            "full_name": "Carla Candidate",
            "external_id": "TP-0042",
            "email": "carla@example.org",
            "consent_publish": "yes",
        },
    )
    assert answer.status_code == 303
    person_id = answer.headers["location"].rsplit("/", 1)[1]
    page = olga.client.get(answer.headers["location"]).text
    assert "<h1>Carla Candidate</h1>" in page and "TP-0042" in page
    assert "consented to be listed" in page
    assert '<h2 id="record">Record</h2>' in page  # the officer's record section
    (event,) = env.events("person_added")
    assert event["actor"] == env.staff["officer"] and event["subject"] == person_id


def test_a_candidate_refused_comes_back_as_typed_and_nothing_is_written(env: Env) -> None:
    olga = env.signed_in("officer", "Olga Officer")
    env.body.add_person("First Holder", external_id="TP-1")
    before = count(env, "SELECT COUNT(*) FROM persons")

    twice = olga.post("/console/candidates", {"full_name": "Second", "external_id": "TP-1"})
    assert twice.status_code == 409
    assert "a person with the external id &#39;TP-1&#39; exists already" in twice.text
    assert 'value="Second"' in twice.text and 'value="TP-1"' in twice.text

    blank = olga.post("/console/candidates", {"full_name": "  ", "email": "no-at-sign"})
    assert blank.status_code == 422
    assert 'id="error-full_name">required' in blank.text
    assert 'aria-describedby="error-email" aria-invalid="true"' in blank.text
    assert 'value="no-at-sign"' in blank.text
    assert count(env, "SELECT COUNT(*) FROM persons") == before


def test_a_candidate_s_mail_language_is_chosen_from_a_select(env: Env) -> None:
    olga = env.signed_in("officer", "Olga Officer")
    form = olga.client.get("/console/candidates/new").text
    assert '<select id="f-language" name="language"' in form
    assert '<option value="" selected>The body' in form  # none chosen: the body's default
    assert '<option value="de">Deutsch (de)</option>' in form
    answer = olga.post("/console/candidates", {"full_name": "Greta Gruber", "language": "de"})
    assert answer.status_code == 303
    person_id = answer.headers["location"].rsplit("/", 1)[1]
    language = "SELECT language FROM persons WHERE id = ?"
    assert env.body.db.execute(language, [person_id]).fetchone() == ("de",)
    before = count(env, "SELECT COUNT(*) FROM persons")
    refused = olga.post("/console/candidates", {"full_name": "Pia Polska", "language": "pl"})
    assert (
        refused.status_code == 422 and 'id="error-language">one of en, de, fr, es' in refused.text
    )
    assert count(env, "SELECT COUNT(*) FROM persons") == before


def test_an_assessment_with_its_examiner_then_bars_that_examiner_from_granting(env: Env) -> None:
    person = env.body.add_person("Eve Examined")
    olga = env.signed_in("officer", "Olga Officer")
    # The person's page leads to the form; one scheme: chosen already, its scope offered.
    page = olga.client.get(f"/console/people/{person}").text
    assert f'href="/console/people/{person}/assessment"' in page
    form = olga.client.get(f"/console/people/{person}/assessment").text
    assert 'name="scope" value="VT2"' in form
    assert f'<option value="{env.staff["decider"]}">Dana Decider' in form  # picked from staff

    answer = olga.post(
        f"/console/people/{person}/assessment",
        {
            "scheme": "cwi",
            "scope": ["VT2"],
            "assessed_on": "2026-02-20",
            "kind": "examination",
            "examiner": env.staff["decider"],
            "result": "pass",
            "score": "87.5",
            "evidence": "exam file EX-114",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/people/{person}#assessments"
    page = html.unescape(olga.client.get(f"/console/people/{person}").text)
    assessments = re.search(r'<table id="assessments-table">.*?</table>', page, re.S).group(0)
    assert "VT2" in assessments and "87.5" in assessments and "exam file EX-114" in assessments
    involvements = re.search(r'<table id="involvements-table">.*?</table>', page, re.S).group(0)
    assert "Dana Decider" in involvements and "examiner" in involvements
    (event,) = env.events("assessment_recorded")
    assert event["actor"] == env.staff["officer"] and event["subject"] == person

    # What the grant rests on: the examiner recorded here may not decide (ISO/IEC 17024 §9.4).
    with pytest.raises(LifecycleError, match="Dana Decider examined this candidate"):
        env.body.grant(
            person, "cwi", [ScopeGrant("VT2")], decided_by=env.staff["decider"], evidence="exam"
        )


def test_an_assessment_refused_is_shown_with_the_values_typed(env: Env) -> None:
    person = env.body.add_person("Rita Refused")
    olga = env.signed_in("officer", "Olga Officer")
    typed = {
        "scheme": "cwi",
        "scope": ["VT2"],
        "assessed_on": "20 Feb",
        "result": "",
        "score": "lots",
        "evidence": "kept",
    }
    answer = olga.post(f"/console/people/{person}/assessment", typed)
    assert answer.status_code == 422
    assert 'id="error-assessed_on">a day, YYYY-MM-DD' in answer.text
    assert 'id="error-score">a number' in answer.text
    assert 'id="error-result">choose the result' in answer.text
    assert 'value="20 Feb"' in answer.text and 'value="VT2" checked' in answer.text

    unknown = olga.post(
        f"/console/people/{person}/assessment",
        typed | {"assessed_on": "2026-02-20", "result": "pass", "score": "", "scope": ["XX9"]},
    )
    assert unknown.status_code == 422
    assert "scope items [&#39;XX9&#39;] are not in scheme &#39;cwi&#39;" in unknown.text
    assert count(env, "SELECT COUNT(*) FROM assessments") == 0
    assert env.events("assessment_recorded") == []


def test_a_training_is_recorded_and_audited(env: Env) -> None:
    person = env.body.add_person("Tom Trained")
    olga = env.signed_in("officer", "Olga Officer")
    form = olga.client.get(f"/console/people/{person}/training")
    assert form.status_code == 200 and '<label for="f-trainer">' in form.text

    missing = olga.post(f"/console/people/{person}/training", {"trainer": ""})
    assert missing.status_code == 422 and "choose the trainer" in missing.text
    stranger = olga.post(f"/console/people/{person}/training", {"trainer": "nobody"})
    assert stranger.status_code == 404
    assert count(env, "SELECT COUNT(*) FROM involvements") == 0

    answer = olga.post(f"/console/people/{person}/training", {"trainer": env.staff["admin"]})
    assert answer.status_code == 303
    page = olga.client.get(f"/console/people/{person}").text
    assert "Trainings: 1." in page
    (event,) = env.events("training_recorded")
    assert event["actor"] == env.staff["officer"] and event["subject"] == person


def test_record_forms_are_for_officers_and_for_known_people(env: Env) -> None:
    person = env.body.add_person("Nora Nobody")
    dana = env.signed_in("decider", "Dana Decider")
    assert '<h2 id="record">' not in dana.client.get(f"/console/people/{person}").text
    assert dana.client.get("/console/candidates/new").status_code == 403
    assert dana.post("/console/candidates", {"full_name": "X"}).status_code == 403
    refused = dana.post(f"/console/people/{person}/training", {"trainer": env.staff["admin"]})
    assert refused.status_code == 403
    assert count(env, "SELECT COUNT(*) FROM involvements") == 0

    olga = env.signed_in("officer", "Olga Officer")
    assert olga.client.get("/console/people/nope/assessment").status_code == 404

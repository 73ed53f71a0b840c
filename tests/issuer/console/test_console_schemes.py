"""Schemes and scope catalogues, with versions (``/console/schemes``), over HTTP as staff
browsers use them: any staff member reads, an officer adds a scheme and a version, every
refusal comes back with the values typed, 4xx, nothing written, and each addition is an audit
event naming the signed-in officer."""

from __future__ import annotations

import html
import re

from console_support import Env

from certreg.issuer.console.schemes import parse_scope

SCHEME = {
    "id": "ndt-ut",
    "code": "UT",
    "name": "Ultrasonic testing personnel",
    "description": "Certification of ultrasonic testing operators.",
    "normative_reference": "ISO 9712:2021",
    "normative_reference_url": "https://www.iso.org/standard/74998.html",
    "validity_months": "60",
    "max_suspension_days": "180",
    "publication_policy": "directory",
    "scope": "UT1 | Ultrasonic testing, level 1\nUT2 | Ultrasonic testing, level 2 | 2\n",
}


def table(page: str, id_: str) -> str:
    found = re.search(rf'<table id="{id_}">.*?</table>', page, re.S)
    assert found, id_
    return html.unescape(found.group(0))


def count(env: Env, sql: str) -> int:
    return env.body.db.execute(sql).fetchone()[0]


def test_any_staff_member_reads_the_schemes_and_a_schemes_versions_and_scope(env: Env) -> None:
    dana = env.signed_in("decider", "Dana Decider")  # not an officer: reads only
    listing = dana.client.get("/console/schemes")
    assert listing.status_code == 200
    rows = table(listing.text, "schemes-table")
    assert "CWI" in rows and "/console/schemes/cwi" in rows
    assert "Add a scheme" not in listing.text  # the form is an officer's

    page = dana.client.get("/console/schemes/cwi")
    assert page.status_code == 200
    versions = table(page.text, "versions-table")
    assert '<tr id="version-1">' in versions and "months" in versions
    scope = table(page.text, "scope-table")
    assert "<code>VT2</code>" in scope
    assert 'action="/console/schemes/cwi/versions"' not in page.text

    missing = dana.client.get("/console/schemes/nope")
    assert missing.status_code == 404 and "no scheme &#39;nope&#39;" in missing.text


def test_an_officer_adds_a_scheme_with_its_scope_catalogue_and_it_is_audited(env: Env) -> None:
    olga = env.signed_in("officer", "Olga Officer")
    form = olga.client.get("/console/schemes/new")
    assert form.status_code == 200
    assert '<label for="f-scope">' in form.text and 'id="f-scope"' in form.text

    answer = olga.post("/console/schemes", SCHEME)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/schemes/ndt-ut"
    page = olga.client.get("/console/schemes/ndt-ut").text
    scope = table(page, "scope-table")
    assert "<code>UT1</code>" in scope and "Ultrasonic testing, level 2" in scope
    assert "ISO 9712:2021" in table(page, "versions-table")
    assert "ndt-ut" in olga.client.get("/console/schemes").text

    (event,) = env.events("scheme_added")[-1:]
    assert event["actor"] == env.staff["officer"] and event["subject"] == "ndt-ut"


def test_scope_lines_with_mistakes_are_named_line_by_line_and_nothing_is_written(
    env: Env,
) -> None:
    olga = env.signed_in("officer", "Olga Officer")
    typed = SCHEME | {"scope": "UT1 | level 1\njust words\nUT1 | again\nUT 3 | spaced\n"}
    answer = olga.post("/console/schemes", typed)
    assert answer.status_code == 422
    page = html.unescape(answer.text)
    assert "line 2: write CODE | title (or CODE | title | level)" in page
    assert "line 3: scope item UT1 is given twice" in page
    assert "line 4: the code is one word, without spaces" in page
    # The error is tied to the field, and the values come back as typed.
    assert 'aria-describedby="hint-scope error-scope" aria-invalid="true"' in page
    assert "just words" in page and 'value="Ultrasonic testing personnel"' in page
    assert count(env, "SELECT COUNT(*) FROM schemes WHERE id = 'ndt-ut'") == 0


def test_the_services_refusals_come_back_in_its_words_with_the_values_typed(env: Env) -> None:
    olga = env.signed_in("officer", "Olga Officer")
    events = count(env, "SELECT COUNT(*) FROM events")

    exists = olga.post("/console/schemes", SCHEME | {"id": "cwi"})
    assert exists.status_code == 409
    assert "scheme &#39;cwi&#39; exists already (add a version instead)" in exists.text
    assert 'value="Ultrasonic testing personnel"' in exists.text

    bad_id = olga.post("/console/schemes", SCHEME | {"id": "Not A Slug"})
    assert bad_id.status_code == 422
    assert "a scheme id is a short slug" in html.unescape(bad_id.text)

    months = olga.post("/console/schemes", SCHEME | {"validity_months": "sixty"})
    assert months.status_code == 422
    assert 'id="error-validity_months">a whole number, 1 or more' in months.text
    assert 'value="sixty"' in months.text

    assert count(env, "SELECT COUNT(*) FROM events") == events  # nothing recorded
    assert count(env, "SELECT COUNT(*) FROM schemes") == 1


def test_an_officer_adds_a_version_that_changes_what_is_typed(env: Env) -> None:
    olga = env.signed_in("officer", "Olga Officer")
    page = olga.client.get("/console/schemes/cwi").text
    # The form starts from the latest version's values.
    assert re.search(r'id="f-validity_months" name="validity_months" value="\d+"', page)
    fields = dict(
        re.findall(r'<input type="(?:text|number)" id="f-\w+" name="(\w+)" value="([^"]*)"', page)
    )
    fields |= {
        name: html.unescape(text)
        for name, text in re.findall(
            r'<textarea id="f-\w+" name="(\w+)"[^>]*>(.*?)</textarea>', page, re.S
        )
    }
    fields["publication_policy"] = re.search(
        r'<select id="f-publication_policy".*?<option value="(\w+)" selected', page, re.S
    ).group(1)

    unchanged = olga.post("/console/schemes/cwi/versions", fields)
    assert unchanged.status_code == 422
    assert "a new version must change at least one field" in unchanged.text

    answer = olga.post(
        "/console/schemes/cwi/versions",
        fields | {"normative_reference": "ISO 9712:2022", "recertification_window_months": "9"},
    )
    assert answer.status_code == 303 and answer.headers["location"].endswith("#version-2")
    versions = table(olga.client.get("/console/schemes/cwi").text, "versions-table")
    assert versions.index('id="version-2"') < versions.index('id="version-1"')  # newest first
    assert "ISO 9712:2022" in versions and "9 months before expiry" in versions
    row = env.body.db.execute(
        "SELECT normative_reference, recertification_window_months FROM scheme_versions "
        "WHERE scheme_id = 'cwi' AND version = 2"
    ).fetchone()
    assert row == ("ISO 9712:2022", 9)
    (event,) = env.events("scheme_versioned")
    assert event["actor"] == env.staff["officer"] and event["subject"] == "cwi"

    negative = olga.post("/console/schemes/cwi/versions", fields | {"max_suspension_days": "0"})
    assert negative.status_code == 422 and 'value="0"' in negative.text
    assert count(env, "SELECT MAX(version) FROM scheme_versions WHERE scheme_id = 'cwi'") == 2


def version_form(page: str) -> dict[str, str]:
    """The new-version form's fields as the page fills them in (the latest version's)."""
    fields = dict(
        re.findall(r'<input type="(?:text|number)" id="f-\w+" name="(\w+)" value="([^"]*)"', page)
    )
    fields |= {
        name: html.unescape(text)
        for name, text in re.findall(
            r'<textarea id="f-\w+" name="(\w+)"[^>]*>(.*?)</textarea>', page, re.S
        )
    }
    fields["publication_policy"] = re.search(
        r'<select id="f-publication_policy".*?<option value="(\w+)" selected', page, re.S
    ).group(1)
    return fields


def test_a_version_adds_and_retires_scope_items_and_the_page_shows_each_versions_changes(
    env: Env,
) -> None:
    olga = env.signed_in("officer", "Olga Officer")
    page = olga.client.get("/console/schemes/cwi").text
    assert 'name="retire_scope" value="UT2"' in page and 'name="retire_scope" value="VT2"' in page
    fields = version_form(page)
    answer = olga.post(
        "/console/schemes/cwi/versions",
        fields
        | {
            "add_scope": "PT2 | Penetrant testing, level 2 | 2\n\nMT2 | Magnetic testing\n",
            "retire_scope": ["VT2"],
        },
    )
    assert answer.status_code == 303, answer.text
    shown = olga.client.get("/console/schemes/cwi").text
    versions = table(shown, "versions-table")
    assert "added MT2, PT2; retired VT2" in versions
    assert "first catalogue: UT2, VT2" in versions
    scope = table(shown, "scope-table")
    assert re.search(r"<code>VT2</code>.*?retired in version 2</td>", scope, re.S)
    assert re.search(
        r"<code>PT2</code></th><td>Penetrant testing, level 2</td><td>2</td>"
        r"<td>2</td><td>in use",
        scope,
    )
    assert "certificates that hold it keep it" in shown
    # Only items in use can be ticked for retirement.
    assert 'name="retire_scope" value="VT2"' not in shown
    (event,) = env.events("scheme_versioned")
    assert event["actor"] == env.staff["officer"]
    assert '"added_scope":["PT2","MT2"]' in event["payload"]
    assert '"retired_scope":["VT2"]' in event["payload"]

    # Lines with mistakes are named line by line; the ticks stay; nothing is written.
    events = count(env, "SELECT COUNT(*) FROM events")
    wrong = olga.post(
        "/console/schemes/cwi/versions",
        version_form(shown)
        | {
            "add_scope": "UT2 | Ultrasonic again\nVT2 | Visual again\nRT2\nRT3 | Radiography",
            "retire_scope": ["MT2"],
        },
    )
    assert wrong.status_code == 422
    problems = html.unescape(
        re.search(r'<ul id="scope-problems".*?</ul>', wrong.text, re.S).group(0)
    )
    assert "line 1: scope item UT2 is in the catalogue already" in problems
    assert "line 2: scope item VT2 was retired in version 2 of scheme cwi" in problems
    assert "line 3: write CODE | title" in problems
    assert "RT3" not in problems
    assert 'name="retire_scope" value="MT2" checked' in wrong.text
    assert count(env, "SELECT COUNT(*) FROM events") == events
    assert count(env, "SELECT MAX(version) FROM scheme_versions WHERE scheme_id = 'cwi'") == 2

    # The service's own rule, in its words: the last item in use is not retired.
    last = olga.post(
        "/console/schemes/cwi/versions",
        version_form(shown) | {"retire_scope": ["UT2", "PT2", "MT2"]},
    )
    assert last.status_code == 422
    assert "cwi needs at least one scope item in use" in last.text


def test_only_officers_may_add_schemes_or_versions(env: Env) -> None:
    dana = env.signed_in("decider", "Dana Decider")
    assert dana.client.get("/console/schemes/new").status_code == 403
    refused = dana.post("/console/schemes", SCHEME)
    assert refused.status_code == 403 and "this needs the role officer" in refused.text
    assert dana.post("/console/schemes/cwi/versions", {"name": "x"}).status_code == 403
    assert count(env, "SELECT COUNT(*) FROM schemes") == 1


def test_a_form_without_the_csrf_token_changes_nothing(env: Env) -> None:
    olga = env.signed_in("officer", "Olga Officer")
    answer = olga.post("/console/schemes", SCHEME | {"csrf_token": "forged"})
    assert answer.status_code == 403
    assert count(env, "SELECT COUNT(*) FROM schemes") == 1


def test_parse_scope_reads_codes_titles_and_levels() -> None:
    items, problems = parse_scope("A1 | First\n\n B2 |  Second | senior \n")
    assert items == [("A1", "First"), ("B2", "Second", "senior")] and problems == []
    assert parse_scope("   \n")[1] == ["a scheme needs at least one scope item"]
    assert parse_scope("X |")[1] == ["line 1: scope item X has no title"]


def test_the_forms_take_the_schemes_name_in_other_languages(env: Env) -> None:
    olga = env.signed_in("officer", "Olga Officer")
    form = olga.client.get("/console/schemes/new").text
    assert '<label for="f-name_de">Name in German</label>' in form
    answer = olga.post("/console/schemes", SCHEME | {"name_de": "UT-Prüfpersonal", "name_fr": ""})
    assert answer.status_code == 303
    assert env.body.scheme_names("ndt-ut") == {"de": {"name": "UT-Prüfpersonal", "description": ""}}
    (added,) = env.events("scheme_added")[-1:]
    assert added["actor"] == env.staff["officer"]
    # The version form starts with the latest names; a cleared one is dropped, a new one added.
    fields = version_form(olga.client.get("/console/schemes/ndt-ut").text)
    assert fields["name_de"] == "UT-Prüfpersonal" and fields["name_es"] == ""
    answer = olga.post(
        "/console/schemes/ndt-ut/versions",
        fields | {"name_de": "", "name_es": "Personal de ensayos por ultrasonidos"},
    )
    assert answer.status_code == 303 and answer.headers["location"].endswith("#version-2")
    assert env.body.scheme_names("ndt-ut") == {
        "es": {"name": "Personal de ensayos por ultrasonidos", "description": ""}
    }
    (versioned,) = env.events("scheme_versioned")
    assert versioned["actor"] == env.staff["officer"]

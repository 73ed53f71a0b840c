"""A holder's mail reads exactly as its templates say (issuer.mail.render): the mail rendered
from a cached skeleton with the values put in is the same, to the character, as the templates
rendered with those values by Jinja, for every kind of mail, in every language, whatever the
values hold (markup, quotes, ampersands, percent signs, the skeleton's own mark, empty values,
one or several scope items)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

from certreg.i18n import LANGUAGES, translator
from certreg.issuer.mail.render import SUBJECTS, _environment, _escape, render

TRICKY = [
    "Jane Doe",
    'O\'Brien & "Sons" <b>bold</b>',
    "100% sure %(name)s %s {{ x }} {% if %}",
    "\x1fholder_name\x1f",  # the skeleton's mark itself, inside a value
    "Zoë Ångström 🎓",
    "line\nbreak",
]


def jinja(kind: str, context: dict[str, Any], lang: str) -> tuple[str, str, str]:
    """The templates rendered directly, as render() did before it cached skeletons."""
    facts = {**context, "kind": kind}
    subject = translator("mail", lang)(SUBJECTS[kind], **facts)
    env = _environment(lang)
    text = env.get_template("decision.txt").render(facts)
    html = env.get_template("decision.html").render(facts, subject=subject)
    return subject, text, html


def context(value: str, scope: list[str], *, empty: bool = False, days: int = 30) -> dict:
    text = "" if empty else value
    return {
        "body_name": value,
        "logo_cid": "" if empty else "body-logo@certreg",
        "body_url": "https://cb.example",
        "holder_name": value,
        "number": "CWI-2026-000123",
        "scheme_name": value,
        "cert_url": "https://cb.example/c/CWI-2026-000123?lang=de",
        "valid_until": "31 December 2029",
        "effective": text,
        "reason": text,
        "deadline": text,
        "scope": scope,
        "removed": scope,
        "added": scope,
        "share_url": "@@certreg-share-link@@?a=1&b=<2>",
        "unsubscribe_url": "@@certreg-unsubscribe@@",
        "days_left": days,
    }


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", sorted(SUBJECTS))
def test_the_mail_is_the_templates_rendered(kind: str, lang: str) -> None:
    for value in TRICKY:
        for scope in ([], [value], ["Ultrasonic testing (UT2)", value, "x & y"]):
            for empty in (False, True):
                for days in (1, 7, 90):
                    facts = context(value, scope, empty=empty, days=days)
                    assert render(kind, facts, lang) == jinja(kind, facts, lang)


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(sorted(SUBJECTS)),
    lang=st.sampled_from(LANGUAGES),
    value=st.text(),
    scope=st.lists(st.text(), max_size=3),
    days=st.integers(min_value=0, max_value=400),
)
def test_any_values_read_the_same(kind, lang, value, scope, days) -> None:
    facts = context(value, scope, empty=not value, days=days)
    assert render(kind, facts, lang) == jinja(kind, facts, lang)


def test_a_value_no_mark_can_stand_for_is_rendered_whole() -> None:
    facts = context("Jane", ["UT2"]) | {"scope": [1, 2]}  # not texts: the templates decide
    assert render("grant", facts, "en") == jinja("grant", facts, "en")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8")) | st.text(alphabet="&<>'\"&amp;#34;x"))
def test_the_html_escape_is_markupsafes(value: str) -> None:
    """A value in the HTML part is escaped exactly as Jinja's autoescape (markupsafe) does."""
    assert _escape(value) == str(escape(value))

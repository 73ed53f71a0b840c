"""The words of a holder's mail: a subject, a plain-text part and an HTML part per decision, in
the holder's language.

Templates live in ``templates/`` (Jinja2): ``decision.txt`` and ``decision.html``, one
paragraph per kind of decision, so that every mail reads alike. Every sentence is a message of
the ``mail`` gettext catalog (``i18n/locale/<lang>/LC_MESSAGES/mail.po``); the text part's
messages carry their own line breaks. The HTML part is autoescaped (a holder's name or a
decision's reason is text, never markup, also inside a translated sentence), carries no remote
image and no tracking pixel: it is the text part with headings and links, nothing a mail client
fetches.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from certreg.i18n import DEFAULT, LANGUAGES, N_, translations, translator

#: The decisions a holder is told about, and the subject line of each.
SUBJECTS: dict[str, str] = {
    "grant": N_("Your certificate %(number)s from %(body_name)s"),
    "suspend": N_("Your certificate %(number)s is suspended"),
    "reinstate": N_("Your certificate %(number)s is valid again"),
    "withdraw": N_("Your certificate %(number)s has been withdrawn"),
    "reduce_scope": N_("The scope of your certificate %(number)s has been reduced"),
    "extend_scope": N_("The scope of your certificate %(number)s has been extended"),
    "recertify": N_("Your certificate %(number)s has been renewed"),
    # Not a decision: a reminder before the end of validity (outbox.queue_reminders).
    "reminder": N_("Your certificate %(number)s expires on %(valid_until)s"),
}


@cache
def _environment(lang: str) -> Environment:
    """The templates in ``lang``: one environment per language, made when first used."""
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a missing fact is a bug, not an empty sentence in a mail
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations("mail", lang), newstyle=True)  # type: ignore[attr-defined]
    env.globals["lang"] = lang
    return env


def render(kind: str, context: dict[str, Any], lang: str = DEFAULT) -> tuple[str, str, str]:
    """(subject, text, html) of the mail telling a holder about a ``kind`` decision, in
    ``lang``. The dates in ``context`` are already written in ``lang`` (the outbox's).

    The same words as rendering the templates with ``context`` (tests/issuer/
    test_mail_render.py compares the two), at a fraction of the cost: the templates are rendered
    once per kind, language and *shape* of the values (:func:`_skeleton`), with a mark where
    each text value goes, and each mail is that skeleton with its own values put in, escaped in
    the HTML part exactly as Jinja escapes them. Bulk issuance queues a mail per certificate in
    its write transaction; rendering each through Jinja's gettext calls was half of that
    transaction."""
    if kind not in SUBJECTS:
        raise ValueError(f"no mail for a {kind!r} decision")
    if lang not in LANGUAGES:
        raise ValueError(f"no mail in {lang!r}: one of {', '.join(LANGUAGES)}")
    facts = {**context, "kind": kind}
    _ = translator("mail", lang)
    subject = _(SUBJECTS[kind], **facts)  # each subject uses some of the facts
    shape, values = _shape(facts)
    if shape is None:  # a value no mark can stand for: the templates, as they are
        env = _environment(lang)
        text = env.get_template("decision.txt").render(facts)
        html = env.get_template("decision.html").render(facts, subject=subject)
        return subject, text, html
    text_parts, html_parts = _skeleton(kind, lang, shape)
    values[_SUBJECT] = subject
    return subject, _fill(text_parts, values, _as_is), _fill(html_parts, values, _escape)


#: Marks a value's place in a skeleton: ``\x1f<name>\x1f``. Neither Jinja, gettext's ``%`` nor
#: HTML escaping changes the character, and no template or message contains it.
_MARK = "\x1f"
#: The HTML part's ``subject`` (the text part has none).
_SUBJECT = "subject"
#: Values the templates compare (``kind == "grant"``), not just test for being empty: they are
#: part of the skeleton, never marks. A template that compares another text value must name it
#: here.
_STRUCTURAL = frozenset({"kind"})

_Shape = tuple[tuple[str, Any], ...]


def _shape(facts: dict[str, Any]) -> tuple[_Shape | None, dict[str, str]]:
    """What a skeleton depends on, and the text of each mark. A non-empty text becomes a
    mark (the templates only test whether it is empty); a list of texts, one mark per item
    (its length shapes the skeleton, the template's own ``join`` writes the separators);
    anything else (a number of days, None, an empty text) is written into the skeleton as it
    is. (None, {}) when a value cannot be handled so: a list of non-texts, markup, a value that
    cannot be a cache key."""
    shape: list[tuple[str, Any]] = []
    add = shape.append
    values: dict[str, str] = {}
    for name in sorted(facts):
        value = facts[name]
        kind = type(value)  # a plain str or list first: most values, and never markup
        if kind is str:
            if value and name not in _STRUCTURAL:
                add((name, str))
                values[name] = value
            else:
                add((name, ("=", value)))  # an empty text, or one the templates compare
        elif kind is list:
            for item in value:
                if type(item) is not str:
                    return None, {}
            add((name, len(value)))
            for i, item in enumerate(value):
                values[f"{name}.{i}"] = item
        elif hasattr(value, "__html__"):
            return None, {}  # markup: Jinja would not escape it
        else:
            try:
                hash(value)
            except TypeError:
                return None, {}
            add((name, ("=", value)))
    return tuple(shape), values


@lru_cache(maxsize=256)
def _skeleton(kind: str, lang: str, shape: _Shape) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The text and HTML parts rendered with marks for the values of ``shape``, split at the
    marks: the even items are the templates' words, the odd ones the names of the values."""
    facts: dict[str, Any] = {}
    for name, form in shape:
        if form is str:
            facts[name] = _MARK + name + _MARK
        elif isinstance(form, int):
            facts[name] = [_MARK + f"{name}.{i}" + _MARK for i in range(form)]
        else:
            facts[name] = form[1]
    env = _environment(lang)
    text = env.get_template("decision.txt").render(facts)
    html = env.get_template("decision.html").render(facts, subject=_MARK + _SUBJECT + _MARK)
    return tuple(text.split(_MARK)), tuple(html.split(_MARK))


def _as_is(value: str) -> str:
    return value


def _escape(value: str) -> str:
    """``str(markupsafe.escape(value))`` of a plain text, as Jinja's autoescape writes it
    (tests/issuer/test_mail_render.py compares the two on many texts): five replacements in
    C, without the call into markupsafe and the Markup object per value (a mail has a dozen
    values, a bulk run queues a mail per certificate). ``&`` first, so that no entity the
    others write is escaped again."""
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("'", "&#39;")
        .replace('"', "&#34;")
    )


def _fill(parts: tuple[str, ...], values: dict[str, str], write: Callable[[str], str]) -> str:
    """A skeleton with each mark replaced by its value, as ``write`` writes it (``_escape`` in
    HTML). One pass: a value is never read for marks itself."""
    out = list(parts)
    out[1::2] = [write(values[name]) for name in parts[1::2]]
    return "".join(out)

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

from functools import cache
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
    ``lang``. The dates in ``context`` are already written in ``lang`` (the outbox's)."""
    if kind not in SUBJECTS:
        raise ValueError(f"no mail for a {kind!r} decision")
    if lang not in LANGUAGES:
        raise ValueError(f"no mail in {lang!r}: one of {', '.join(LANGUAGES)}")
    facts = {**context, "kind": kind}
    _ = translator("mail", lang)
    subject = _(SUBJECTS[kind], **facts)  # each subject uses some of the facts
    env = _environment(lang)
    text = env.get_template("decision.txt").render(facts)
    html = env.get_template("decision.html").render(facts, subject=subject)
    return subject, text, html

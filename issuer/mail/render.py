"""The words of a holder's mail: a subject, a plain-text part and an HTML part per decision.

Templates live in ``templates/`` (Jinja2): ``decision.txt`` and ``decision.html``, one
paragraph per kind of decision, so that every mail reads alike. The HTML part is autoescaped
(a holder's name or a decision's reason is text, never markup), carries no remote image and no
tracking pixel: it is the text part with headings and links, nothing a mail client fetches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

#: The decisions a holder is told about, and the subject line of each.
SUBJECTS: dict[str, str] = {
    "grant": "Your certificate {number} from {body_name}",
    "suspend": "Your certificate {number} is suspended",
    "reinstate": "Your certificate {number} is valid again",
    "withdraw": "Your certificate {number} has been withdrawn",
    "reduce_scope": "The scope of your certificate {number} has been reduced",
    "extend_scope": "The scope of your certificate {number} has been extended",
    "recertify": "Your certificate {number} has been renewed",
    # Not a decision: a reminder before the end of validity (outbox.queue_reminders).
    "reminder": "Your certificate {number} expires on {valid_until}",
}

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,  # a missing fact is a bug, not an empty sentence in a mail
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(kind: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of the mail telling a holder about a ``kind`` decision."""
    if kind not in SUBJECTS:
        raise ValueError(f"no mail for a {kind!r} decision")
    facts = {**context, "kind": kind}
    subject = SUBJECTS[kind].format(**facts)
    text = _ENV.get_template("decision.txt").render(facts)
    html = _ENV.get_template("decision.html").render(facts, subject=subject)
    return subject, text, html

"""The public HTML pages outside Datasette: the certificate page (``/c/{number}``), the verify
page (``/verify``) and plain-words messages.

Templates live with Datasette's in ``register/datasette/templates`` (``certreg_*.html``) and are
rendered by their own Jinja2 environment with autoescaping on: every value that reaches a page
(a name, a pasted credential, a URL, a verifier's reason) is escaped. The pages need no
JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from certreg.i18n import DEFAULT, translator
from certreg.register.records import BodyInfo, scheme_name
from certreg.register.site import TEMPLATES
from certreg.verifier.standing import CertificateRecord, Standing, headline, plain_date, words

__all__ = [
    "VerifyOutcome",
    "outcome_of",
    "render_certificate",
    "render_message",
    "render_verify",
]

_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=False,
    # The templates are the package's own files: compiled once, not checked for changes on
    # every page (a stat of the file and of each template it extends, per request).
    auto_reload=False,
    # {% trans %} in the verify page's scanner (_certreg_scan.html), in English here.
    extensions=["jinja2.ext.i18n"],
)
_env.policies["ext.i18n.trimmed"] = True
_env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]

_DECISIONS = {
    "grant": "Granted",
    "suspend": "Suspended",
    "reinstate": "Reinstated",
    "withdraw": "Withdrawn",
    # Dated by the first day it is no longer valid (the status change), the day after the
    # date of expiry the headline gives: say so, so that the two dates do not look contradictory.
    "expire": "Past its date of expiry",
    "reduce_scope": "Scope reduced",
    "extend_scope": "Scope extended",
    "recertify": "Recertified",
    "correct": "Corrected",
}


def _decision_words(decision: str) -> str:
    return _DECISIONS.get(decision, decision.replace("_", " ").capitalize())


def _today(now: datetime | None = None) -> str:
    return plain_date((now or datetime.now(UTC)).astimezone(UTC).date().isoformat())


def _render(name: str, root: str, body_name: str | None, **context: Any) -> str:
    template = _env.get_template(name)
    return template.render(
        root=root,
        body_name=body_name,
        plain_date=plain_date,
        decision_words=_decision_words,
        **context,
    )


def render_certificate(
    record: CertificateRecord,
    body: BodyInfo,
    *,
    root: str = "/",
    now: datetime | None = None,
    lang: str = DEFAULT,
) -> str:
    """The certificate page of ``record`` as it stands at ``now`` (default: this instant), for
    a reader of ``lang``."""
    line = headline(record, now)
    shown = scheme_name(record.scheme_names, record.scheme_name, lang)
    _ = translator("pages", lang)
    return _render(
        "certreg_certificate.html",
        root,
        body.legal_name,
        cert=record,
        body=body,
        headline=line.text,
        status_class=line.css,
        # "held (the certificate is suspended)" beside each scope line when it is not valid
        status_word=(line.standing or "unknown").replace("_", " ").lower(),
        url=body.certificate_url(record.number),
        today=_today(now),
        # The scheme's name in the reader's language; the page stands for the certificate, so
        # the name the credential is signed with stays beside it (issue 12).
        scheme_display_name=shown,
        scheme_signed_name=(
            None
            if shown == record.scheme_name
            else _("in the signed certificate: %(name)s", name=record.scheme_name)
        ),
    )


def render_message(
    heading: str, paragraphs: list[str], *, root: str = "/", body_name: str | None = None
) -> str:
    return _render("certreg_message.html", root, body_name, heading=heading, paragraphs=paragraphs)


# --- the verify page ---------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyOutcome:
    """What the verify page shows for one credential."""

    headline: str  # VALID, SUSPENDED since …, WITHDRAWN on …, EXPIRED on …, INVALID because …
    css: str
    summary: str
    ours: bool
    issuer: str | None
    facts: Any  # verifier.facts.CertificationFacts | None
    checks: list[Any]
    checked_at: str
    page_url: str | None = None


#: ``(number) -> (status, status_since)`` of one of this body's certificates, or None.
StatusLookup = Callable[[str], tuple[str, str] | None]


def outcome_of(
    result: Any,
    *,
    own_did: str,
    status_of: StatusLookup | None = None,
    root: str = "/",
) -> VerifyOutcome:
    """Plain words for a :class:`verifier.VerificationResult`. For this body's own
    certificates, ``status_of`` supplies the date a suspension or withdrawal took effect (a
    status list only says *that* a bit is set, not since when)."""
    verdict = str(result.verdict)
    facts = result.facts
    ours = result.issuer == own_did
    number = facts.certificate_number if facts is not None else None
    known: tuple[str, str] | None = None
    if ours and number and status_of is not None:
        try:
            known = status_of(number)
        except Exception:
            known = None
    failing = next((c for c in result.checks if not c.ok), None)

    def since(status: str) -> str | None:
        if known is not None and known[0] == status and known[1]:
            return known[1]
        return None

    dates: dict[str, Any] = {  # Any: so that mypy accepts words(**dates)
        "valid_from": facts.valid_from if facts is not None else None,
        "valid_until": facts.valid_until if facts is not None else None,
    }
    if verdict in (Standing.VALID, Standing.EXPIRED, Standing.NOT_YET_VALID, Standing.SUSPENDED):
        headline_text = words(
            verdict,
            since=since(verdict),
            valid_from=dates["valid_from"],
            valid_until=dates["valid_until"],
        )
        css = Standing(verdict).css
    elif verdict == "WITHDRAWN":
        when = since("WITHDRAWN")
        if when is None and known is not None and known[0] in ("ACTIVE", "SUSPENDED"):
            # The certification lives on in a newer credential (scope change, recertification).
            headline_text = "WITHDRAWN: this credential was replaced by a newer one"
        else:
            headline_text = words(Standing.WITHDRAWN, since=when)
        css = Standing.WITHDRAWN.css
    elif verdict == "STATUS_UNKNOWN":
        headline_text = "STATUS UNKNOWN"
        css = "status_unknown"
    elif verdict == "UNTRUSTED_ISSUER":
        headline_text = "UNTRUSTED ISSUER"
        css = "untrusted_issuer"
    else:
        reason = failing.reason.rstrip(".") if failing is not None else "it could not be verified"
        headline_text = f"INVALID because {reason}"
        css = "invalid"
    page_url = None
    if ours and number:
        from urllib.parse import quote

        page_url = f"{root}c/{quote(number, safe='')}"
    checked = result.checked_at
    return VerifyOutcome(
        headline=headline_text,
        css=css,
        summary=result.summary,
        ours=ours,
        issuer=result.issuer,
        facts=facts,
        checks=list(result.checks),
        checked_at=plain_date(checked.isoformat()) + checked.strftime(", %H:%M UTC")
        if isinstance(checked, datetime)
        else "",
        page_url=page_url,
    )


def render_verify(
    *,
    root: str = "/",
    body_name: str | None = None,
    outcome: VerifyOutcome | None = None,
    problem: str | None = None,
    pasted: str = "",
    given_url: str = "",
    certificate_prefix: str = "",
) -> str:
    return _render(
        "certreg_verify.html",
        root,
        body_name,
        result=outcome,
        problem=problem,
        pasted=pasted,
        given_url=given_url,
        certificate_prefix=certificate_prefix,  # what the QR scanner may open (web/scan.py)
    )

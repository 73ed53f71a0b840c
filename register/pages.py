"""The public HTML pages outside Datasette: the certificate page (``/c/{number}``), the verify
page (``/verify``) and plain-words messages.

Templates live with Datasette's in ``register/datasette/templates`` (``certreg_*.html``) and are
rendered by their own Jinja2 environment with autoescaping on: every value that reaches a page
(a name, a pasted credential, a URL, a verifier's reason) is escaped. The pages need no
JavaScript.

Every page speaks the reader's language (:class:`register.web.language.PageLanguage`, English
by default): the templates' words through the ``pages`` catalog (one Jinja2 environment per
language, :func:`environment`), the headline's through the verifier's, dates and numbers in
the reader's conventions. The credential's own words (names, the scheme, a verifier's reason)
are shown as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader

from certreg.i18n import N_, jinja_environment, translator
from certreg.register.offline import offline_qr_of
from certreg.register.records import BodyInfo, scheme_name
from certreg.register.site import TEMPLATES
from certreg.register.web.language import PageLanguage
from certreg.verifier.asof import AsOf
from certreg.verifier.standing import CertificateRecord, Standing, headline, plain_date, words

__all__ = [
    "VerifyOutcome",
    "environment",
    "outcome_of",
    "render_certificate",
    "render_certificate_at",
    "render_message",
    "render_verify",
]

ENGLISH = PageLanguage()


@cache
def environment(lang: str) -> Environment:
    """The templates speaking ``lang`` (domain ``pages``), one environment per language. The
    templates are the package's own files: compiled once, not checked for changes on every
    page (a stat of the file and of each template it extends, per request)."""
    return jinja_environment(FileSystemLoader(str(TEMPLATES)), "pages", lang)


_DECISIONS = {
    "grant": N_("Granted"),
    "suspend": N_("Suspended"),
    "reinstate": N_("Reinstated"),
    "withdraw": N_("Withdrawn"),
    # Dated by the first day it is no longer valid (the status change), the day after the
    # date of expiry the headline gives: say so, so that the two dates do not look contradictory.
    "expire": N_("Past its date of expiry"),
    "reduce_scope": N_("Scope reduced"),
    "extend_scope": N_("Scope extended"),
    "recertify": N_("Recertified"),
    "correct": N_("Corrected"),
}

#: The recorded statuses, as the certificate page's history shows them.
_STATUSES = {
    "ACTIVE": N_("ACTIVE"),
    "SUSPENDED": N_("SUSPENDED"),
    "WITHDRAWN": N_("WITHDRAWN"),
    "EXPIRED": N_("EXPIRED"),
}

#: How a scope line says the certificate is not valid: "held (the certificate is suspended)".
_STANDING_WORDS = {
    "valid": N_("valid"),
    "not_yet_valid": N_("not yet valid"),
    "suspended": N_("suspended"),
    "withdrawn": N_("withdrawn"),
    "expired": N_("expired"),
    "unknown": N_("unknown"),
}


def _decision_words(decision: str, lang: str = "en") -> str:
    if decision in _DECISIONS:
        return translator("pages", lang)(_DECISIONS[decision])
    return decision.replace("_", " ").capitalize()


def _status_words(status: str, lang: str = "en") -> str:
    return translator("pages", lang)(_STATUSES[status]) if status in _STATUSES else status


def _today(now: datetime | None = None, lang: str = "en") -> str:
    return plain_date((now or datetime.now(UTC)).astimezone(UTC).date().isoformat(), lang)


def _render(
    name: str, root: str, body_name: str | None, language: PageLanguage, **context: Any
) -> str:
    lang = language.lang
    template = environment(lang).get_template(name)
    return template.render(
        root=root,
        body_name=body_name,
        plain_date=lambda value: plain_date(value, lang),
        decision_words=lambda decision: _decision_words(decision, lang),
        status_words=lambda status: _status_words(status, lang),
        # A link to another public page, carrying the reader's ?lang= choice.
        link=lambda path: language.keep(root + path),
        keep=language.keep,
        languages=language.links,
        **context,
    )


def render_certificate(
    record: CertificateRecord,
    body: BodyInfo,
    *,
    root: str = "/",
    now: datetime | None = None,
    language: PageLanguage = ENGLISH,
    lang: str | None = None,
) -> str:
    """The certificate page of ``record`` as it stands at ``now`` (default: this instant), in
    ``language`` (or, given alone, ``lang``, with no language switch)."""
    if lang is not None and language is ENGLISH:
        language = PageLanguage(lang)
    lang = language.lang
    line = headline(record, now, lang=lang)
    shown = scheme_name(record.scheme_names, record.scheme_name, lang)
    _ = translator("pages", lang)
    return _render(
        "certreg_certificate.html",
        root,
        body.legal_name,
        language,
        cert=record,
        body=body,
        headline=line.text,
        status_class=line.css,
        # "held (the certificate is suspended)" beside each scope line when it is not valid
        status_word=translator("pages", lang)(_STANDING_WORDS.get(line.css, N_("unknown"))),
        url=body.certificate_url(record.number),
        # The second QR code, the certificate itself (``/c/{number}/offline-qr.png``): only
        # where the register holds its payload, beside the holder's public name.
        offline_qr=offline_qr_of(record) is not None,
        today=_today(now, lang),
        # The scheme's name in the reader's language; the page stands for the certificate, so
        # the name the credential is signed with stays beside it (issue 12).
        scheme_display_name=shown,
        scheme_signed_name=(
            None
            if shown == record.scheme_name
            else _("in the signed certificate: %(name)s", name=record.scheme_name)
        ),
    )


def render_certificate_at(
    record: CertificateRecord,
    body: BodyInfo,
    answer: AsOf,
    *,
    root: str = "/",
    language: PageLanguage = ENGLISH,
) -> str:
    """The certificate page of ``record`` as it stood at ``answer.instant`` (``verifier.asof``):
    the headline in today's words, the decision in effect, the scope then; or why none can be
    given (not yet granted, a future date, no kept history). Links to today's page."""
    lang = language.lang
    when = answer.instant.moment
    shown = plain_date(when.date().isoformat(), lang)
    if not answer.instant.day_only:
        shown += when.strftime(", %H:%M UTC")
    line = headline(record, lang=lang)
    standing = answer.standing
    return _render(
        "certreg_certificate_at.html",
        root,
        body.legal_name,
        language,
        cert=record,
        body=body,
        when=shown,
        day_only=answer.instant.day_only,
        outcome=answer.outcome.value,
        headline=answer.words(lang),
        status_class=standing.css if standing is not None else "unknown",
        decision=answer.decision,
        valid_until=answer.valid_until,
        scope=answer.scope,
        first_grant=answer.first_grant,
        today_headline=line.text,
        today_link=language.keep(root + "c/" + quote(record.number, safe="")),
    )


def render_message(
    heading: str,
    paragraphs: list[str],
    *,
    root: str = "/",
    body_name: str | None = None,
    language: PageLanguage = ENGLISH,
) -> str:
    """A page of plain words (not found, refused): ``heading`` and ``paragraphs`` are already
    in ``language``."""
    return _render(
        "certreg_message.html", root, body_name, language, heading=heading, paragraphs=paragraphs
    )


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
    lang: str = "en",
) -> VerifyOutcome:
    """Plain words for a :class:`verifier.VerificationResult`, the headline in ``lang`` (the
    verifier's ``summary`` is its own, shown as it is). For this body's own certificates,
    ``status_of`` supplies the date a suspension or withdrawal took effect (a status list only
    says *that* a bit is set, not since when)."""
    _ = translator("pages", lang)
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
            lang=lang,
        )
        css = Standing(verdict).css
    elif verdict == "WITHDRAWN":
        when = since("WITHDRAWN")
        if when is None and known is not None and known[0] in ("ACTIVE", "SUSPENDED"):
            # The certification lives on in a newer credential (scope change, recertification).
            headline_text = _("WITHDRAWN: this credential was replaced by a newer one")
        else:
            headline_text = words(Standing.WITHDRAWN, since=when, lang=lang)
        css = Standing.WITHDRAWN.css
    elif verdict == "STATUS_UNKNOWN":
        headline_text = _("STATUS UNKNOWN")
        css = "status_unknown"
    elif verdict == "UNTRUSTED_ISSUER":
        headline_text = _("UNTRUSTED ISSUER")
        css = "untrusted_issuer"
    else:
        if failing is not None:
            # The reason is the verifier's own words (its catalog), shown as it gives them.
            headline_text = _("INVALID because %(reason)s", reason=failing.reason.rstrip("."))
        else:
            headline_text = _("INVALID because it could not be verified")
        css = "invalid"
    page_url = None
    if ours and number:
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
        checked_at=_(
            "%(date)s, %(time)s UTC",
            date=plain_date(checked.isoformat(), lang),
            time=checked.strftime("%H:%M"),
        )
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
    language: PageLanguage = ENGLISH,
    certificate_prefix: str = "",
    log_options: Mapping[str, Any] | None = None,
) -> str:
    """The verify page. ``log_options`` echoes the transparency-log options into the form
    (``check``: the box ticked, ``witnesses``: the keys' text, ``quorum``: the number's text)."""
    return _render(
        "certreg_verify.html",
        root,
        body_name,
        language,
        result=outcome,
        problem=problem,
        pasted=pasted,
        given_url=given_url,
        certificate_prefix=certificate_prefix,  # what the QR scanner may open (web/scan.py)
        log_options=log_options or {},
    )

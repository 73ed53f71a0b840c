"""The certification decisions, declared once: the CLI's ``certreg decide ...`` commands
(``issuer.cli.body``) and the admin API's routes (``issuer.http.admin``) are generated from
this table, so a decision's inputs, its role and its service call cannot differ between them.

Each :class:`DecisionSpec` names the service method it calls, the role it needs, its command
and route, the request model (``issuer.http.models``) and its inputs in the order the
command lists them. An :class:`Input` is one keyword of the service call: a field of the
request model and an option of the command. Plain data only: no click, no FastAPI here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from certreg.issuer.lifecycle.records import Certification, ScopeGrant

#: How an input's values read: plain text, scope grants (``CODE[=CONDITIONS]`` on the
#: command line, ``{code, conditions}`` objects over HTTP), codes, or corrected conditions
#: (``CODE=TEXT`` on the command line, an object over HTTP).
Shape = Literal["text", "scope", "codes", "conditions"]


@dataclass(frozen=True)
class Input:
    name: str  # the service call's keyword and the request model's field
    option: str  # the command's option
    help: str
    required: bool = False  # on the command line (the request model says it for HTTP)
    default: str | None = None
    metavar: str | None = None
    shape: Shape = "text"


@dataclass(frozen=True)
class DecisionSpec:
    name: str  # the CertificationBody method
    command: str  # certreg decide COMMAND
    path: str  # the route, under /api
    summary: str  # the route's summary in the OpenAPI document
    model: str  # the request model's name in issuer.http.models
    help: str  # the command's help
    done: str  # what the command says once done: Certification fields, {codes} of the inputs
    inputs: tuple[Input, ...]
    role: str = "decision_maker"
    on_number: bool = True  # a decision on certification NUMBER (else a grant)
    status_code: int = 200


AS = Input(
    "decided_by",
    "--as",
    "The decision-maker: a staff member with the decision_maker role who neither trained "
    "nor examined the candidate.",
    required=True,
    metavar="STAFF",
)
APPEAL = Input(
    "appeal_of",
    "--appeal-of",
    "This decision answers an appeal of that decision.",
    metavar="DECISION_ID",
)


def _evidence(help: str = "What the decision rests on.", *, required: bool = False) -> Input:
    return Input(
        "evidence", "--evidence", help, required=required, default=None if required else ""
    )


def _reason(help: str, *, required: bool = True) -> Input:
    return Input("reason", "--reason", help, required=required, default=None if required else "")


_EFFECTIVE = "--effective"

DECISIONS: tuple[DecisionSpec, ...] = (
    DecisionSpec(
        name="grant",
        done="Granted: {holder_name} is certified, certificate {number}, "
        "valid until {valid_until}.",
        command="grant",
        path="/certifications",
        summary="Grant a certification (decided by the token's staff member)",
        model="GrantIn",
        help="Grant PERSON a certification in SCHEME: a new certificate number and a signed\n"
        "credential, valid for the scheme's validity period.",
        on_number=False,
        status_code=201,
        inputs=(
            Input(
                "scope",
                "--scope",
                "Scope item granted (repeatable), with its conditions or limitations after '='.",
                required=True,
                metavar="CODE[=CONDITIONS]",
                shape="scope",
            ),
            AS,
            _evidence("What the decision rests on, e.g. the exam record.", required=True),
            _reason("Reasoning (optional).", required=False),
            Input(
                "effective_date",
                _EFFECTIVE,
                "Effective date (default: today).",
                metavar="YYYY-MM-DD",
            ),
            Input(
                "external_id",
                "--external-id",
                "Your key for this grant: a second grant with it is a no-op.",
                metavar="KEY",
            ),
            APPEAL,
        ),
    ),
    DecisionSpec(
        name="suspend",
        done="Suspended: certificate {number} ({holder_name}) is suspended until "
        "{suspended_until}; verifiers now see it as suspended.",
        command="suspend",
        path="/certifications/{number}/suspend",
        summary="Suspend",
        model="SuspendIn",
        help="Suspend certification NUMBER until a deadline. The suspension bit is set at once;\n"
        "validity is not extended. When the deadline passes it is listed by `certreg due`, never\n"
        "withdrawn automatically.",
        inputs=(
            AS,
            _reason("Why (recorded; the holder is told)."),
            Input(
                "until",
                "--until",
                "Deadline to resolve it; no later than the scheme's maximum suspension.",
                required=True,
                metavar="YYYY-MM-DD",
            ),
            _evidence(),
            Input("effective_date", _EFFECTIVE, "Default: today.", metavar="YYYY-MM-DD"),
            APPEAL,
        ),
    ),
    DecisionSpec(
        name="reinstate",
        done="Reinstated: certificate {number} ({holder_name}) is active again.",
        command="reinstate",
        path="/certifications/{number}/reinstate",
        summary="Reinstate",
        model="ReinstateIn",
        help="Reinstate suspended certification NUMBER (the suspension bit is cleared).",
        inputs=(AS, _reason("Why the suspension ends."), _evidence(), APPEAL),
    ),
    DecisionSpec(
        name="withdraw",
        done="Withdrawn: certificate {number} ({holder_name}) is withdrawn; its credentials are "
        "revoked.",
        command="withdraw",
        path="/certifications/{number}/withdraw",
        summary="Withdraw (final)",
        model="WithdrawIn",
        help="Withdraw certification NUMBER for good: every credential ever issued for it is\n"
        "revoked. This cannot be undone (an appeal leads to a new grant).",
        inputs=(AS, _reason("Why (recorded; the holder is told)."), _evidence(), APPEAL),
    ),
    DecisionSpec(
        name="reduce_scope",
        done="Scope reduced: certificate {number} no longer covers {codes}; a new credential was "
        "issued and the earlier ones revoked.",
        command="reduce-scope",
        path="/certifications/{number}/reduce-scope",
        summary="Reduce scope",
        model="ReduceScopeIn",
        help="Reduce the scope of certification NUMBER: a new credential with the remaining\n"
        "scope; the earlier ones are revoked (they claim too much).",
        inputs=(
            AS,
            Input(
                "remove",
                "--remove",
                "Scope item to remove (repeatable).",
                required=True,
                metavar="CODE",
                shape="codes",
            ),
            _reason("Why."),
            _evidence(),
            APPEAL,
        ),
    ),
    DecisionSpec(
        name="extend_scope",
        done="Scope extended: certificate {number} now also covers {codes}.",
        command="extend-scope",
        path="/certifications/{number}/extend-scope",
        summary="Extend scope",
        model="ExtendScopeIn",
        help="Extend the scope of certification NUMBER: a new credential; the earlier one is\n"
        "superseded (it stays true, for less).",
        inputs=(
            AS,
            Input(
                "add",
                "--add",
                "Scope item to add (repeatable); needs a passed assessment covering it.",
                required=True,
                metavar="CODE[=CONDITIONS]",
                shape="scope",
            ),
            _evidence(required=True),
            _reason("Reasoning (optional).", required=False),
            APPEAL,
        ),
    ),
    DecisionSpec(
        name="recertify",
        done="Recertified: certificate {number} ({holder_name}) starts cycle {cycle}, valid until "
        "{valid_until}.",
        command="recertify",
        path="/certifications/{number}/recertify",
        summary="Recertify",
        model="RecertifyIn",
        help="Recertify NUMBER: same number, a new cycle from the old expiry (recertifying\n"
        "early loses no time), under the scheme's current version; the old credential is\n"
        "superseded.",
        inputs=(
            AS,
            _evidence("What the recertification rests on.", required=True),
            _reason("Reasoning (optional).", required=False),
            APPEAL,
        ),
    ),
    DecisionSpec(
        name="correct",
        done="Corrected: certificate {number} has a new revision; the old one is superseded.",
        command="correct",
        path="/certifications/{number}/correct",
        summary="Correct the holder's name or a scope condition (new revision)",
        model="CorrectIn",
        help="Correct certification NUMBER (a misspelt name, a mistyped condition): a new\n"
        "revision of the credential; the old one is superseded.",
        inputs=(
            AS,
            _reason("What was wrong."),
            Input("holder_name", "--holder-name", "The holder's corrected name.", metavar="NAME"),
            Input(
                "conditions",
                "--conditions",
                "Corrected conditions of a scope item (repeatable; 'CODE=' clears them).",
                metavar="CODE=TEXT",
                shape="conditions",
            ),
            APPEAL,
        ),
    ),
)

BY_NAME: dict[str, DecisionSpec] = {d.name: d for d in DECISIONS}

#: What a verifier sees once each decision is taken, in plain words (the console's forms say
#: it before the decision-maker submits).
VERIFIERS_SEE: dict[str, str] = {
    "grant": "a new certificate and a signed credential that verifies as valid until the end "
    "of the scheme's validity period.",
    "suspend": "the credential's suspension bit is set at once: verifiers and the public page "
    "see the certificate as suspended until it is reinstated.",
    "reinstate": "the suspension bit is cleared: verifiers see the credential as valid again.",
    "withdraw": "every credential ever issued for the certificate is revoked, for good: "
    "verifiers see them as revoked.",
    "reduce_scope": "earlier credentials are revoked (they claim too much); the new credential "
    "with the remaining scope verifies as valid.",
    "extend_scope": "a new credential with the wider scope; the earlier one is superseded and "
    "stays true, for less.",
    "recertify": "a new credential for the new cycle; the earlier one is superseded.",
    "correct": "a new revision of the credential; the earlier one is superseded.",
}


def done_sentence(spec: DecisionSpec, cert: Certification, inputs: Mapping[str, Any]) -> str:
    """What the command says once the decision is taken; ``{codes}`` are the scope codes
    the decision removed or added."""
    codes = [
        getattr(code, "code", code)
        for item in spec.inputs
        if item.shape in ("scope", "codes") and item.name != "scope"
        for code in inputs[item.name]
    ]
    return spec.done.format(**cert.__dict__, codes=", ".join(codes))


def decide(
    body: Any,
    spec: DecisionSpec,
    subject: Mapping[str, str],
    decided_by: str,
    inputs: Mapping[str, Any],
) -> Certification:
    """The service call of a decision. ``subject`` holds ``number``, or for a grant
    ``person_id`` and ``scheme_id``; ``inputs`` the spec's inputs by name (scope inputs as
    :class:`ScopeGrant`), ``decided_by`` the staff id (the CLI's --as, the API's token)."""
    kwargs = {k: v for k, v in inputs.items() if k != "decided_by"}
    method = getattr(body, spec.name)
    if spec.on_number:
        return method(subject["number"], decided_by=decided_by, **kwargs)
    scope = kwargs.pop("scope")
    return method(
        subject["person_id"], subject["scheme_id"], scope, decided_by=decided_by, **kwargs
    )


__all__ = [
    "BY_NAME",
    "DECISIONS",
    "VERIFIERS_SEE",
    "DecisionSpec",
    "Input",
    "ScopeGrant",
    "decide",
    "done_sentence",
]

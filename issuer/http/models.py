"""Request and response models: they generate the OpenAPI document at ``/docs``.

Every request model forbids unknown fields. Besides catching typos, that is what makes the
decision-maker binding visible: a request that tries to say who decided (``decided_by``) is
refused with 422, because the decision-maker is always the authenticated staff member.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from certreg.i18n import LANGUAGES
from certreg.verifier.tlog.proof import MAX_PROOF_SIZE

Text = Annotated[str, StringConstraints(max_length=10_000)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Day = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2026-03-02"])]
Role = Literal["officer", "decision_maker", "admin"]
Cryptosuite = Literal["eddsa-rdfc-2022", "eddsa-jcs-2022"]
Purpose = Literal["revocation", "suspension"]
#: A language a scheme's name may be given in: ``certreg.i18n.LANGUAGES`` (a test keeps the two
#: the same). An unknown one is refused with 422, naming the languages allowed.
Language = Literal["en", "de", "fr", "es"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    detail: str = Field(description="What is wrong, in plain words.")


# --- reference data (officer) -------------------------------------------------------------


class ScopeItemIn(Strict):
    code: Id
    label: Name
    level: Name | None = None


class SchemeIn(Strict):
    id: Id = Field(description="Short stable slug: lower-case letters, digits and '-'.")
    code: Id = Field(description="Human code printed on certificates, e.g. CWI.")
    name: Name
    description: Text
    normative_reference: Name = Field(examples=["ISO 9712:2021"])
    normative_reference_url: Annotated[str, StringConstraints(max_length=2000)] | None = None
    validity_months: int = Field(gt=0, le=1200)
    max_suspension_days: int = Field(gt=0, le=36_500)
    publication_policy: Literal["directory", "number_lookup", "on_request"]
    scope: list[ScopeItemIn] = Field(min_length=1, max_length=1000)
    prerequisites: Text = ""
    process: Text = ""
    appeals: Text = ""
    recertification_rules: Text = ""
    accredited: bool = False
    names: dict[Language, Name] = Field(
        default={},
        description="The scheme's name in other languages, shown to readers of the register in "
        "their language; certificates keep the signed `name`.",
        examples=[{"de": "Schweißaufsichtsperson", "fr": "Inspecteur en soudage"}],
    )
    descriptions: dict[Language, Text] = Field(
        default={}, description="The public description in languages that have a name in `names`."
    )


class SchemeVersionIn(Strict):
    """Fields to change; the rest is copied from the latest version."""

    name: Name | None = None
    description: Text | None = None
    prerequisites: Text | None = None
    process: Text | None = None
    appeals: Text | None = None
    normative_reference: Name | None = None
    normative_reference_url: Annotated[str, StringConstraints(max_length=2000)] | None = None
    validity_months: int | None = Field(default=None, gt=0, le=1200)
    recertification_rules: Text | None = None
    recertification_window_months: int | None = Field(default=None, ge=0, le=120)
    max_suspension_days: int | None = Field(default=None, gt=0, le=36_500)
    publication_policy: Literal["directory", "number_lookup", "on_request"] | None = None
    add_scope: list[ScopeItemIn] = Field(
        default=[],
        max_length=1000,
        description="Scope items this version adds to the catalogue (new codes only: a "
        "retired code is never used again).",
    )
    retire_scope: list[Id] = Field(
        default=[],
        max_length=1000,
        description="Codes of scope items this version retires: certificates that hold them "
        "keep them, new grants and scope extensions refuse them.",
    )
    names: dict[Language, Name | None] = Field(
        default={},
        description="Names in other languages to set or replace (null drops one); the others "
        "are copied from the latest version.",
    )
    descriptions: dict[Language, Text | None] = Field(
        default={}, description="Descriptions in other languages to set or replace (null drops)."
    )


class SchemeOut(BaseModel):
    scheme_id: str
    version: int


class PersonIn(Strict):
    full_name: Name
    email: Name | None = None
    birth_date: Day | None = None
    address: Text | None = None
    national_id: Name | None = None
    country: Name | None = None
    consent_publish: bool = Field(
        default=False, description="The holder agreed to be listed by name in the register."
    )
    external_id: Id | None = None
    notes: Text | None = None
    language: str | None = Field(
        default=None,
        description="The language of the mails to this person: en, de, fr or es; none for the "
        "body's default language.",
        examples=["de"],
    )

    @field_validator("language")
    @classmethod
    def _spoken(cls, value: str | None) -> str | None:
        return spoken_language(value)


class PersonLanguageIn(Strict):
    language: str | None = Field(
        description="en, de, fr or es; null for the body's default language.", examples=["de"]
    )

    @field_validator("language")
    @classmethod
    def _spoken(cls, value: str | None) -> str | None:
        return spoken_language(value)


def spoken_language(value: str | None) -> str | None:
    """A language certreg writes mail in, or None; a ValueError (422) names the choices."""
    if value is None:
        return None
    if value not in LANGUAGES:
        raise ValueError(f"unknown language {value!r}: one of {', '.join(LANGUAGES)}")
    return value


class Created(BaseModel):
    id: str


class AssessmentIn(Strict):
    person_id: Id
    scheme_id: Id
    result: Literal["pass", "fail", "absent"]
    assessed_on: Day
    examiners: list[Id] = Field(default=[], max_length=100, description="Staff ids.")
    trainers: list[Id] = Field(default=[], max_length=100, description="Staff ids.")
    scope_codes: list[Id] = Field(default=[], max_length=1000)
    kind: Name = "examination"
    score: float | None = Field(default=None, allow_inf_nan=False)
    notes: Text | None = None


class TrainingIn(Strict):
    person_id: Id
    trainer_id: Id = Field(description="The staff member who trained the candidate.")


class Recorded(BaseModel):
    recorded: bool = True


# --- staff, tokens, keys (admin) ------------------------------------------------------------


class StaffIn(Strict):
    name: Name
    roles: list[Role] = Field(
        min_length=1,
        max_length=3,
        description="decision_maker and admin wait for a second admin's approval while the "
        "body has two or more active admins (four eyes); see `pending` in the answer.",
    )
    email: Name | None = None


class RoleRequestOut(BaseModel):
    id: str
    staff_id: str
    action: Literal["grant", "reactivate"]
    role: str | None
    requested_by: str | None = Field(description="Staff id; null: the operator's command line.")
    requested_at: str
    state: Literal["pending", "approved", "rejected", "cancelled"]
    decided_by: str | None
    decided_at: str | None


class StaffOut(BaseModel):
    id: str
    name: str
    email: str | None
    roles: list[str] = Field(description="Roles in force now (pending ones are not).")
    active: bool
    created_at: str
    deactivated_at: str | None = None
    pending: list[RoleRequestOut] = Field(
        default=[], description="Requests waiting for a second admin's approval."
    )


class RoleIn(Strict):
    role: Role


class RoleChangeOut(BaseModel):
    staff: StaffOut
    request: RoleRequestOut | None = Field(
        default=None,
        description="Set when the change waits for a second admin (four eyes): approve with "
        "POST /api/role-requests/{id}/approve.",
    )


class DeactivateIn(Strict):
    reason: Annotated[str, StringConstraints(max_length=2000)] = ""


class TokenIn(Strict):
    name: Name = Field(description="What the token is for, e.g. 'assessment import script'.")
    roles: list[Role] | None = Field(
        default=None,
        description="A subset of the roles of the token making this one (default: all of them).",
    )
    lifetime_days: int = Field(default=90, ge=1, le=366)
    staff_id: Id | None = Field(
        default=None,
        description="Only your own staff id: a token's secret is shown only to its owner. "
        "For somebody else, make a claim (POST /api/staff/{id}/token-claims).",
    )


class TokenOut(BaseModel):
    id: str
    name: str
    staff_id: str
    roles: list[str]
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


class TokenCreated(BaseModel):
    token: TokenOut
    secret: str = Field(
        description="The bearer secret. Shown this once; certreg stores only its SHA-256."
    )


class ClaimIn(Strict):
    name: Name = Field(description="The token's name, e.g. 'Dana laptop'.")
    roles: list[Role] | None = Field(
        default=None, description="A subset of the staff member's roles (default: all)."
    )
    lifetime_days: int = Field(default=90, ge=1, le=366, description="The token's lifetime.")
    wait_days: int = Field(
        default=3, ge=1, le=14, description="How long the claim code can wait to be redeemed."
    )


class ClaimOut(BaseModel):
    id: str
    staff_id: str
    name: str
    roles: list[str]
    lifetime_days: int
    created_by: str | None
    created_at: str
    expires_at: str
    needs_second: bool = Field(
        description="Four eyes: the claim is redeemed with this code and a second one, which "
        "only the approving admin receives (POST /api/token-claims/{id}/approve)."
    )
    approved_by: str | None
    approved_at: str | None
    claimed_at: str | None
    token_id: str | None
    cancelled_at: str | None


class ClaimCreated(BaseModel):
    claim: ClaimOut
    code: str = Field(
        description="Give this to the staff member, who redeems it at "
        "POST /api/token-claims/redeem. Shown once; certreg stores only its SHA-256."
    )


class RedeemIn(Strict):
    code: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    second_code: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="The approving admin's code, when the claim needs_second."
    )


class RotateIn(Strict):
    compromised_at: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        default=None,
        description="If the current key leaked: since when (date-time with time zone). "
        "Its signatures from then on are refused by verifiers.",
    )


class RotateOut(BaseModel):
    key_id: str
    did: str
    republished_lists: list[str]


# --- decisions (decision-maker) -------------------------------------------------------------


class ScopeGrantIn(Strict):
    code: Id
    conditions: Text | None = Field(default=None, description="Conditions or limitations.")


class GrantIn(Strict):
    person_id: Id
    scheme_id: Id
    scope: list[ScopeGrantIn] = Field(min_length=1, max_length=1000)
    evidence: Text = Field(description="E.g. the examination record.")
    reason: Text = ""
    effective_date: Day | None = None
    external_id: Id | None = Field(
        default=None, description="Idempotency key: granting twice with it issues once."
    )
    appeal_of: Id | None = None


class SuspendIn(Strict):
    reason: Text
    until: Day = Field(description="Deadline, no later than the scheme's maximum suspension.")
    evidence: Text = ""
    effective_date: Day | None = None
    appeal_of: Id | None = None


class ReinstateIn(Strict):
    reason: Text
    evidence: Text = ""
    appeal_of: Id | None = None


class WithdrawIn(ReinstateIn):
    pass


class ReduceScopeIn(Strict):
    remove: list[Id] = Field(min_length=1, max_length=1000)
    reason: Text
    evidence: Text = ""
    appeal_of: Id | None = None


class ExtendScopeIn(Strict):
    add: list[ScopeGrantIn] = Field(min_length=1, max_length=1000)
    evidence: Text
    reason: Text = ""
    appeal_of: Id | None = None


class RecertifyIn(Strict):
    evidence: Text
    reason: Text = ""
    appeal_of: Id | None = None


class CorrectIn(Strict):
    reason: Text
    holder_name: Name | None = None
    conditions: dict[Id, Text | None] | None = None
    appeal_of: Id | None = None


# --- reads ---------------------------------------------------------------------------------


class ScopeOut(BaseModel):
    code: str
    label: str
    conditions: str | None
    status: str
    since: str


class CertificationOut(BaseModel):
    id: str
    number: str
    person_id: str
    holder_name: str
    scheme_id: str
    scheme_version: int
    status: str
    status_since: str
    cycle: int
    valid_from: str
    valid_until: str
    suspended_until: str | None
    scope: list[ScopeOut]
    credential: dict[str, Any] | None = Field(description="The current signed credential.")
    offline_qr: str | None = Field(
        default=None,
        description="The current credential's offline QR payload (`CR1:` text, docs/offline.md), "
        "signed with it; null for a certificate signed before payloads existed "
        "(`certreg qr backfill`).",
    )


class DecisionOut(BaseModel):
    id: str
    type: str
    decided_by: str | None
    decided_at: str
    effective_date: str
    reason: str
    evidence: str
    details: dict[str, Any]
    appeal_of: str | None


class CredentialRowOut(BaseModel):
    id: str
    revision: int
    state: str
    cryptosuite: str
    issued_at: str
    state_changed_at: str


class CertificationDetail(BaseModel):
    certification: CertificationOut
    history: list[DecisionOut]
    credentials: list[CredentialRowOut]


class DueOut(BaseModel):
    number: str
    due: str
    since: str


class ExpiredOut(BaseModel):
    expired: list[str]


# --- W3C CCG VC API ----------------------------------------------------------------------


class StatusRequest(Strict):
    type: Literal["BitstringStatusListEntry"]
    statusPurpose: Purpose = "revocation"


#: What the VC API (and the W3C suites) may send in issue ``options``; anything else is
#: refused with a reason that names it (see issuer.http.vcapi).
ISSUE_OPTIONS = (
    "type",
    "cryptosuite",
    "created",
    "challenge",
    "domain",
    "credentialStatus",
    "mandatoryPointers",
    "credentialId",
)

Option = Annotated[str, StringConstraints(max_length=2000)]


class IssueOptions(BaseModel):
    # Unknown options are kept (extra="allow") so that the route can refuse them by name,
    # rather than with a generic validation error.
    model_config = ConfigDict(extra="allow")
    # Sent by the W3C test suites and most VC API clients; DataIntegrityProof is the only
    # proof type certreg makes, so it is accepted and anything else refused.
    type: Literal["DataIntegrityProof"] | None = Field(
        default=None, description="The proof type: DataIntegrityProof (the only one)."
    )
    cryptosuite: Cryptosuite | None = Field(
        default=None,
        description="Default: the body's cryptosuite (eddsa-rdfc-2022). eddsa-jcs-2022 is "
        "read by Digital Bazaar's verifiers, not by DCC verifier-core, Blockcerts or "
        "openbadgeslib.",
    )
    created: Option | None = Field(
        default=None,
        description="The proof's created date-time (XML Schema dateTimeStamp, with a time "
        "zone); default: now.",
    )
    challenge: Option | None = Field(default=None, description="Written into the proof.")
    domain: Option | None = Field(default=None, description="Written into the proof.")
    credentialStatus: list[StatusRequest] | StatusRequest | None = Field(
        default=None,
        description="Status entries to allocate (none by default). One per purpose.",
    )
    mandatoryPointers: list[Annotated[str, StringConstraints(max_length=2000)]] | None = Field(
        default=None,
        max_length=1000,
        description="JSON Pointers that must be disclosed. The EdDSA suites disclose the "
        "whole credential, so each must only point at something in it.",
    )
    credentialId: Option | None = Field(
        default=None, description="The credential's id, if it has none (default: urn:uuid)."
    )


class IssueRequest(Strict):
    credential: dict[str, Any] = Field(
        description="An unsigned VC 1.1 or 2.0 credential. issuer: absent, or the VC API "
        "issuer's own did:key (never the body's DID)."
    )
    options: IssueOptions = Field(default_factory=IssueOptions)


class IssueResponse(BaseModel):
    verifiableCredential: dict[str, Any]


#: A note verifier key (name+id+key): short.
WitnessKey = Annotated[str, StringConstraints(min_length=1, max_length=512)]


class RequireLog(Strict):
    """certreg's own verify option (the VC API allows implementation-specific ones): accept a
    credential only if its issuer's transparency log holds it (issue 13; docs/transparency.md).
    """

    witnesses: list[WitnessKey] = Field(
        default_factory=list,
        max_length=16,
        description="Note verifier keys (name+id+key, as `certreg witness key` prints them) of "
        "witnesses whose cosignatures the log's checkpoint must carry.",
    )
    quorum: int | None = Field(
        default=None,
        description="How many of `witnesses` must have cosigned: 1 to their number (default: "
        "all of them). Not allowed without `witnesses`.",
    )
    proof: Annotated[str, StringConstraints(max_length=MAX_PROOF_SIZE)] | None = Field(
        default=None,
        description="The credential's tlog-proof (c2sp.org/tlog-proof@v1), as its holder "
        "received it; without it the proof is asked of the log named in the issuer's DID "
        "document.",
    )


class VerifyOptions(BaseModel):
    # VC API clients send options certreg does not act on (e.g. ``checks``); they are accepted
    # and named in ``warnings`` rather than refused, so that standard clients work.
    model_config = ConfigDict(extra="allow")
    challenge: Option | None = Field(
        default=None, description="Every proof must carry this challenge."
    )
    domain: Option | None = Field(default=None, description="Every proof must be for it.")
    expectedProofPurpose: Literal["assertionMethod", "authentication"] | None = Field(
        default=None,
        description="What the proofs must be made for (default: assertionMethod for a "
        "credential, authentication for a presentation's own proof).",
    )
    certregRequireLog: RequireLog | None = Field(
        default=None,
        description="certreg's log policy: a credential whose issuer's signature verifies is "
        "verified only if its issuer's transparency log holds it, in a checkpoint cosigned by "
        "`quorum` of `witnesses`; else the verdict is NOT_IN_LOG, with the reason in the "
        "errors ('transparency log'). `{}` requires the log and no witnesses.",
    )


class VerifyCredentialRequest(Strict):
    verifiableCredential: dict[str, Any]
    options: VerifyOptions = Field(default_factory=VerifyOptions)


class VerifyPresentationRequest(Strict):
    verifiablePresentation: dict[str, Any]
    options: VerifyOptions = Field(default_factory=VerifyOptions)


class ProblemDetail(BaseModel):
    type: str
    title: str
    detail: str


class CheckOut(BaseModel):
    name: str
    ok: bool
    reason: str
    verdict: str | None = None
    skipped: bool = False


class VerificationResponse(BaseModel):
    verified: bool = Field(description="True only when certreg's verdict is VALID.")
    checks: list[str] = Field(description="The checks performed (VC API).")
    warnings: list[ProblemDetail]
    errors: list[ProblemDetail]
    verdict: str = Field(description="certreg's verdict: VALID, SUSPENDED, WITHDRAWN, ...")
    summary: str = Field(description="One plain sentence.")
    issuer: str | None = None
    details: list[CheckOut] = Field(description="certreg's checks, each with its reason.")


class PresentationResponse(VerificationResponse):
    holder: str | None = None
    credentialResults: list[VerificationResponse] = []


class StatusUpdate(Strict):
    type: Literal["BitstringStatusListEntry"]
    status: bool = Field(description="True sets the bit (revoked / suspended), false clears it.")
    statusPurpose: Purpose


class StatusUpdateRequest(Strict):
    credentialId: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    credentialStatus: list[StatusUpdate] = Field(min_length=1, max_length=2)


class StatusEntryOut(BaseModel):
    statusPurpose: str
    status: bool
    statusListCredential: str
    statusListIndex: str


class StatusUpdateResponse(BaseModel):
    credentialId: str
    credentialStatus: list[StatusEntryOut]

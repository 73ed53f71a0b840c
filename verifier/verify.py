"""Verify a credential or a presentation: structure, proofs, issuer trust, validity period,
status; one typed result with a verdict and one plain sentence.

The :class:`Verifier` holds the policy (trusted issuers, whether to check status) and the
machinery (DID resolver, status fetcher and cache, clock, JSON-LD loader). Nothing raised
inside escapes: any input, however broken or hostile, yields a result, and never VALID unless
every check passed.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import logging
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import base58

from certreg.contexts import DEFAULT_LOADER, DocumentLoader, context_file_bytes, pinned_contexts
from certreg.i18n import DEFAULT, LANGUAGES, N_, format_number, translator
from certreg.keys.errors import CertregError
from certreg.verifier import standing
from certreg.verifier.compact import reading_form
from certreg.verifier.dataintegrity import verify_proofs
from certreg.verifier.did import (
    MAX_SAFE_INTEGER,
    Clock,
    DidResolutionError,
    DidResolver,
    FetchError,
    Transport,
    json_value_problem,
    key_lookup_for,
    parse_json_object,
    proof_controller,
    utc_now,
)
from certreg.verifier.facts import (
    CertificationFacts,
    extract_facts,
    is_certification,
    issuer_id,
    issuer_name,
    parse_datetime,
    types_of,
)
from certreg.verifier.result import (
    Check,
    PresentationResult,
    Verdict,
    VerificationResult,
    plain_date,
    verdict_of,
    worst,
)
from certreg.verifier.standing import expiry_day
from certreg.verifier.status import StatusChecker, StatusFetcher, StatusListCache
from certreg.verifier.tlog.policy import Fetch, LogPolicy, check_in_log

__all__ = [
    "MAX_DEPTH",
    "MAX_INPUT_BYTES",
    "Verifier",
    "credential_problems",
    "digest_problem",
    "load_document",
    "vc_rule_problems",
    "verify_credential",
    "verify_presentation",
]

MAX_INPUT_BYTES = 1024 * 1024
MAX_DEPTH = 64
V2 = "https://www.w3.org/ns/credentials/v2"
V1 = "https://www.w3.org/2018/credentials/v1"
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
#: What a reader is told when the verifier itself fails: never the exception's text, which
#: means nothing to a reader and tells an attacker how the code broke; the log has it.
_COULD_NOT_PROCESS = "the verifier could not process this input, so it is not accepted"
_log = logging.getLogger(__name__)
_log.addHandler(logging.NullHandler())  # a library: the application decides where logs go


class InputError(CertregError, ValueError):
    pass


# --- input ---------------------------------------------------------------------------------


def load_document(data: Any, what: str = "the credential") -> dict[str, Any]:
    """``data`` (a dict, JSON text or bytes) as a JSON object within the verifier's limits:
    at most :data:`MAX_INPUT_BYTES`, nesting at most :data:`MAX_DEPTH`, no duplicate keys, no
    NaN/Infinity, only JSON types. Raises :class:`InputError` saying what is wrong."""
    if isinstance(data, bytes | bytearray | memoryview):
        data = bytes(data)
        if len(data) > MAX_INPUT_BYTES:
            raise InputError(f"{what} is larger than {MAX_INPUT_BYTES} bytes")
    elif isinstance(data, str):
        if len(data) > MAX_INPUT_BYTES:  # characters >= bytes/4; re-checked below as UTF-8
            raise InputError(f"{what} is larger than {MAX_INPUT_BYTES} bytes")
        if len(data.encode("utf-8", "surrogatepass")) > MAX_INPUT_BYTES:
            raise InputError(f"{what} is larger than {MAX_INPUT_BYTES} bytes")
    elif not isinstance(data, Mapping):
        raise InputError(f"{what} must be a JSON object, not {type(data).__name__}")
    try:
        doc = parse_json_object(data, what)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    _check_json_tree(doc, what)
    if not isinstance(data, bytes | str):
        # Text was checked while parsing; a mapping given directly is checked here (its
        # integers by _check_json_tree's walk, its strings and keys in one pass of the encoder).
        problem = json_value_problem(doc, what, integers=False)
        if problem is not None:
            raise InputError(problem)
        size = len(json.dumps(doc, ensure_ascii=False).encode("utf-8"))
        if size > MAX_INPUT_BYTES:
            raise InputError(f"{what} is larger than {MAX_INPUT_BYTES} bytes")
    return doc


def _check_json_tree(root: Any, what: str) -> None:
    # Depth is checked before descending, so a deep (or cyclic) structure stops at MAX_DEPTH
    # frames. Strings, the commonest values, are skipped without a call.
    def walk(value: Any, depth: int) -> None:
        if isinstance(value, dict):
            if depth > MAX_DEPTH:
                raise InputError(f"{what} is nested more than {MAX_DEPTH} levels deep")
            for key, item in value.items():
                if type(key) is not str:
                    raise InputError(f"{what} has a key that is not a string: {key!r}")
                if type(item) is not str:
                    walk(item, depth + 1)
        elif isinstance(value, list):
            if depth > MAX_DEPTH:
                raise InputError(f"{what} is nested more than {MAX_DEPTH} levels deep")
            for item in value:
                if type(item) is not str:
                    walk(item, depth + 1)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise InputError(f"{what} contains a number JSON cannot hold ({value})")
        elif isinstance(value, int) and not isinstance(value, bool):
            if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
                # Found in passing; the message (with the value's place) needs a second walk.
                raise InputError(json_value_problem(root, what) or f"{what} holds a huge number")
        elif value is not None and not isinstance(value, str | int | bool):
            raise InputError(f"{what} contains a {type(value).__name__}, which is not JSON")

    walk(root, 1)


# --- structure -----------------------------------------------------------------------------


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and _URL.fullmatch(value) is not None


def _context_version(doc: Mapping[str, Any]) -> tuple[int | None, str | None]:
    ctx = doc.get("@context")
    if ctx is None:
        return None, "there is no @context"
    if isinstance(ctx, str):
        ctx = [ctx]
    if not isinstance(ctx, list) or not ctx:
        return None, "@context is not a list"
    if not all(isinstance(c, str | dict) for c in ctx):
        return None, "@context holds something other than URLs and objects"
    if ctx[0] == V2:
        return 2, None
    if ctx[0] == V1:
        return 1, None
    return None, (f"the first @context is {ctx[0]!r}, not {V2} (VC 2.0) or {V1} (VC 1.1)")


def _credential_structure(doc: Mapping[str, Any]) -> tuple[list[str], int | None]:
    """Problems with the credential's shape (empty when fine), and its VC version."""
    version, problem = _context_version(doc)
    if problem:
        return [problem], None
    problems: list[str] = []
    raw_type = doc.get("type")
    if not (
        isinstance(raw_type, str)
        or (isinstance(raw_type, list) and raw_type and all(isinstance(t, str) for t in raw_type))
    ):
        problems.append("type is missing or not a string or list of strings")
    elif "VerifiableCredential" not in types_of(doc):
        problems.append("type does not include VerifiableCredential")
    if "id" in doc and not _is_url(doc["id"]):
        problems.append("id is not a URL")
    problems += _issuer_and_subject_problems(doc)
    problems += _date_problems(doc, version)
    problems += vc_rule_problems(doc)
    if "proof" in doc and not isinstance(doc["proof"], Mapping | list):
        problems.append("proof is not an object or a list")
    return problems, version


def credential_problems(doc: Mapping[str, Any]) -> list[str]:
    """What makes ``doc`` not a well-formed VC 1.1/2.0 credential (the verifier's structure
    check, proofs aside), each in words; empty when fine. The VC API runs it before signing,
    so that certreg never signs what its own verifier would refuse."""
    return _credential_structure(doc)[0]


def _issuer_and_subject_problems(doc: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if "issuer" not in doc:
        problems.append("there is no issuer")
    else:
        issuer = doc["issuer"]
        if isinstance(issuer, Mapping):
            if not _is_url(issuer.get("id")):
                problems.append("the issuer object has no id URL (VC 2.0 §4.7)")
        elif issuer is None:
            problems.append("issuer is null: it must be a URL or an object with an id URL")
        elif not _is_url(issuer):
            problems.append("issuer is neither a URL nor an object with an id URL (VC 2.0 §4.7)")
    subject = doc.get("credentialSubject")
    subjects = subject if isinstance(subject, list) else [subject]
    if subject is None or not subjects or not all(isinstance(s, Mapping) for s in subjects):
        problems.append("credentialSubject is missing or not an object (or list of objects)")
    elif any(not s for s in subjects):
        # VC 2.0 §4.8: each subject object is the subject of one or more claims.
        problems.append("credentialSubject holds an empty object: each subject needs a claim")
    return problems


#: VC 2.0 properties whose every object MUST say its type (§4.10, §4.11, §5.4-5.6).
TYPED_PROPERTIES = (
    "credentialStatus",
    "termsOfUse",
    "evidence",
    "refreshService",
    "credentialSchema",
)


def _has_type(node: Mapping[str, Any]) -> bool:
    value = node.get("type")
    return isinstance(value, str) or (
        isinstance(value, list) and bool(value) and all(isinstance(t, str) for t in value)
    )


def vc_rule_problems(doc: Mapping[str, Any]) -> list[str]:
    """The VC Data Model 2.0 rules on a credential's optional parts, checked at issue (VC API)
    and at verify alike, each problem in words (empty when fine):

    - every ``credentialStatus``, ``termsOfUse``, ``evidence``, ``refreshService`` and
      ``credentialSchema`` object has a ``type`` (§4.10, §4.11, §5.4, §5.5, §5.6);
    - ``credentialStatus.id``, when present, is one URL (§4.10 via §4.4);
    - ``credentialSchema.id`` is a URL (§4.11);
    - ``relatedResource`` is a list of objects, each with a URL ``id`` unique among them and
      a ``digestSRI`` or ``digestMultibase`` (§5.3).
    """
    problems: list[str] = []
    for name in TYPED_PROPERTIES:
        if name not in doc:
            continue
        value = doc[name]
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(i, Mapping) for i in items):
            problems.append(f"{name} must be an object or a list of objects")
            continue
        if not all(_has_type(i) for i in items):
            problems.append(f"every {name} object must have a type (a string or strings)")
        if name == "credentialStatus":
            for item in items:
                if "id" in item and not _is_url(item["id"]):
                    problems.append("credentialStatus.id must be one URL")
        if name == "credentialSchema":
            for item in items:
                if not _is_url(item.get("id")):
                    problems.append("every credentialSchema object must have an id URL")
    if "relatedResource" in doc:
        problems += _related_resource_problems(doc["relatedResource"])
    return problems


def _related_resource_problems(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(i, Mapping) for i in items):
        return ["relatedResource must be an object or a list of objects"]
    problems: list[str] = []
    seen: set[str] = set()
    for item in items:
        rid = item.get("id")
        if not _is_url(rid):
            problems.append("every relatedResource object must have an id URL")
            continue
        if rid in seen:
            problems.append(f"relatedResource names {rid} twice: each id must be unique")
        seen.add(rid)
        if not any(isinstance(item.get(k), str) for k in ("digestSRI", "digestMultibase")):
            problems.append(f"relatedResource {rid} has neither a digestSRI nor a digestMultibase")
    return problems


def _date_problems(doc: Mapping[str, Any], version: int | None) -> list[str]:
    if version == 2:
        present, foreign = ("validFrom", "validUntil"), ("issuanceDate", "expirationDate")
    else:
        present, foreign = ("issuanceDate", "expirationDate"), ("validFrom", "validUntil")
    problems = [
        f"{name} is a VC {'1.1' if version == 2 else '2.0'} property; this is a "
        f"VC {'2.0' if version == 2 else '1.1'} credential"
        for name in foreign
        if name in doc
    ]
    if version == 1 and "issuanceDate" not in doc:
        problems.append("a VC 1.1 credential needs an issuanceDate")
    for name in present:
        if name in doc and parse_datetime(doc[name]) is None:
            problems.append(
                f"{name} {doc[name]!r} is not a date-time with a time zone "
                "(like 2026-01-15T00:00:00Z)"
            )
    start, end = (parse_datetime(doc.get(n)) for n in present)
    if start and end and end < start:
        problems.append(
            f"the validity period ends ({doc[present[1]]}) before it begins ({doc[present[0]]})"
        )
    return problems


def _window(doc: Mapping[str, Any], version: int, now: datetime) -> tuple[Check, datetime | None]:
    start_name, end_name = (
        ("validFrom", "validUntil") if version == 2 else ("issuanceDate", "expirationDate")
    )
    start, end = parse_datetime(doc.get(start_name)), parse_datetime(doc.get(end_name))
    # Both bounds are inclusive: "valid until 23:59:59" includes that second.
    if start is not None and now < start:
        return Check(
            "validity period",
            False,
            f"not valid before {plain_date(start)} ({doc[start_name]})",
            Verdict.NOT_YET_VALID,
        ), start
    if end is not None and now > end:
        return Check(
            "validity period",
            False,
            f"ended on {plain_date(end)} ({doc[end_name]})",
            Verdict.EXPIRED,
        ), end
    span = f"until {plain_date(end)}" if end else "with no end date"
    return Check("validity period", True, f"in force {span}"), end


@dataclass(frozen=True)
class _ProofOptions:
    challenge: str | None = None
    domain: str | None = None
    purpose: str = "assertionMethod"
    status_then: bool = False  # read the status lists as they were at the instant verified


#: At most this many related resources are fetched per credential (each fetch is bounded in
#: time and size by the verifier's fetcher; anonymous verification must stay bounded too).
MAX_RELATED_FETCHES = 4
_SRI_HASHES = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
#: multihash code -> (digest length, hash function)
_MULTIHASHES = {0x12: (32, hashlib.sha256), 0x20: (48, hashlib.sha384), 0x13: (64, hashlib.sha512)}


def digest_problem(item: Mapping[str, Any], data: bytes) -> str | None:
    """Why ``data`` does not have the digest a ``relatedResource`` object gives (VC 2.0
    §5.3: ``digestSRI`` as in Subresource Integrity, ``digestMultibase`` a multibase
    multihash), or None when every digest given matches."""
    sri = item.get("digestSRI")
    if isinstance(sri, str):
        tokens = [t.partition("?")[0] for t in sri.split()]
        known = [t.partition("-") for t in tokens if t.partition("-")[0] in _SRI_HASHES]
        if not known:
            return f"its digestSRI {sri!r} uses no hash this verifier knows (sha256/384/512)"
        strongest = max(known, key=lambda t: _SRI_HASHES[t[0]]().digest_size)[0]
        actual = base64.b64encode(_SRI_HASHES[strongest](data).digest()).decode("ascii")
        if not any(alg == strongest and value == actual for alg, _, value in known):
            return (
                f"the resource does not have the digest the issuer signed ({strongest}-{actual}"
                f" is not {sri!r}): it was changed after the credential was issued"
            )
    multi = item.get("digestMultibase")
    if isinstance(multi, str):
        decoded = _multibase(multi)
        if decoded is None or len(decoded) < 2 or decoded[0] not in _MULTIHASHES:
            return f"its digestMultibase {multi!r} is not a sha2 multihash this verifier reads"
        size, function = _MULTIHASHES[decoded[0]]
        if decoded[1] != size or len(decoded) != size + 2:
            return f"its digestMultibase {multi!r} is not a well-formed multihash"
        if decoded[2:] != function(data).digest():
            return (
                "the resource does not have the digest the issuer signed (digestMultibase): "
                "it was changed after the credential was issued"
            )
    return None


def _multibase(value: str) -> bytes | None:
    try:
        if value.startswith("u"):
            body = value[1:]
            return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        if value.startswith("z"):
            return base58.b58decode(value[1:])
    except ValueError:
        return None
    return None


# --- the verifier --------------------------------------------------------------------------


class Verifier:
    """Verification policy and machinery. Reuse one instance: it caches DID documents and
    status lists.

    - ``trusted_issuers``: issuer DIDs you accept; None accepts any issuer whose signature
      verifies (the result then names the issuer's DID so a reader can judge it).
    - ``certification_issuers``: the only issuer DIDs whose *certificates* (Open Badges
      credentials with ``achievementType: "Certification"``, :func:`~verifier.facts.
      is_certification`) are accepted; a certificate from anyone else is UNTRUSTED_ISSUER,
      whatever ``trusted_issuers`` says. None (the default) adds no such rule. A body's own
      verify service passes its DID, so that nothing signed by another key (its VC API's
      generic issuer, any did:key) passes as one of its certificates.
    - ``check_status``: False skips status lists; the result says so prominently.
    - ``unsafe_allow_http_hosts``: hosts that may be contacted over plain HTTP (tests only).
    - ``lang``: the language of each result's ``summary`` (one of certreg.i18n.LANGUAGES,
      default English). The ``verdict`` values and the checks' reasons are English whatever it
      is: they are what programs and support staff read.
    - ``require_log``: a :class:`~certreg.verifier.tlog.policy.LogPolicy`: a credential whose
      issuer's signature verified is VALID only if its tlog-proof shows it in the issuer's
      transparency log (else NOT_IN_LOG, with the reason). None (the default) looks at no log.
      ``log_fetcher`` fetches its proofs (the verifier's HTTP fetcher by default).
    """

    def __init__(
        self,
        *,
        trusted_issuers: Collection[str] | None = None,
        certification_issuers: Collection[str] | None = None,
        check_status: bool = True,
        resolver: DidResolver | None = None,
        transport: Transport | None = None,
        status_fetcher: StatusFetcher | Mapping[str, Any] | None = None,
        status_cache: StatusListCache | None = None,
        clock: Clock = utc_now,
        loader: DocumentLoader = DEFAULT_LOADER,
        unsafe_allow_http_hosts: Collection[str] = (),
        lang: str = DEFAULT,
        require_log: LogPolicy | None = None,
        log_fetcher: Fetch | None = None,
    ) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"the verifier does not speak {lang!r}: one of {', '.join(LANGUAGES)}")
        #: The language of the results' summaries (the verdicts and checks stay as they are).
        self.lang = lang
        self.trusted_issuers = None if trusted_issuers is None else frozenset(trusted_issuers)
        self.certification_issuers = (
            None if certification_issuers is None else frozenset(certification_issuers)
        )
        self.check_status = check_status
        self.clock = clock
        self.loader = loader
        self.resolver = resolver or DidResolver(
            transport, unsafe_allow_http_hosts=unsafe_allow_http_hosts
        )
        if status_fetcher is None and unsafe_allow_http_hosts:
            from certreg.verifier.did import HttpFetcher

            status_fetcher = HttpFetcher(unsafe_allow_http_hosts=unsafe_allow_http_hosts)
        self.status = StatusChecker(
            self.resolver, status_fetcher, cache=status_cache, clock=clock, loader=loader
        )
        self.require_log = require_log
        if require_log is not None and log_fetcher is None and require_log.fetch is None:
            from certreg.verifier.did import HttpFetcher
            from certreg.verifier.tlog.proof import MAX_PROOF_SIZE

            log_fetcher = HttpFetcher(
                unsafe_allow_http_hosts=unsafe_allow_http_hosts,
                accept="text/plain",
                max_bytes=max(MAX_PROOF_SIZE, 256 * (2 + 4096)),
            )
        self.log_fetcher = log_fetcher

    # -- credentials -----------------------------------------------------------------------

    def in_language(self, lang: str) -> Verifier:
        """This verifier, its summaries in ``lang``: the same trust, fetcher and caches (a
        public page verifies in its reader's language with the site's one verifier)."""
        if lang == self.lang:
            return self
        if lang not in LANGUAGES:
            raise ValueError(f"the verifier does not speak {lang!r}: one of {', '.join(LANGUAGES)}")
        other = copy.copy(self)
        other.lang = lang
        return other

    def verify_credential(
        self,
        credential: Any,
        *,
        now: datetime | None = None,
        at: datetime | None = None,
        challenge: str | None = None,
        domain: str | None = None,
        expected_proof_purpose: str = "assertionMethod",
    ) -> VerificationResult:
        """Verify one credential (dict, JSON text or bytes). ``now`` (aware datetime) moves the
        validity-period check to another instant, for audits; status is then still current.
        ``at`` asks "was it valid then?": the validity period at ``at`` *and* the status at
        ``at``, from the status list version that was current then (``?timestamp=``); ``at``
        implies ``now=at``. ``challenge``/``domain``, when given, must be those of every proof
        (the VC API's verify options); ``expected_proof_purpose`` is what the issuer's proof
        must be made for."""
        if at is not None and now is not None and at != now:
            raise ValueError("give now or at, not both: at is the instant asked about")
        moment = self._now(at if at is not None else now)
        options = _ProofOptions(challenge, domain, expected_proof_purpose, at is not None)
        try:
            return self._credential(credential, moment, options)
        except Exception:  # the contract: a result, never an exception
            _log.exception("verify_credential failed on its input")
            return self._invalid([Check("verifier", False, _COULD_NOT_PROCESS)], None, moment)

    def _now(self, now: datetime | None) -> datetime:
        moment = now if now is not None else self.clock()
        if moment.tzinfo is None:
            raise ValueError("now must be a timezone-aware datetime")
        return moment

    def _credential_proofs(
        self, doc: Mapping[str, Any], issuer: str, now: datetime, options: _ProofOptions
    ) -> tuple[list[Check], bool]:
        """Every proof of a proof set or chain must verify, and one of them must be the
        issuer's (vc-data-integrity, "Verify Proof Sets and Chains"). A proof by another key
        is checked against the DID that key belongs to (did:key offline, did:web through the
        guarded resolver): it may be there, but it never counts as the issuer's. A
        ``previousProof`` that names no proof of the document fails its proof."""
        proofs = verify_proofs(
            doc,
            key_lookup_for(None, self.resolver),
            expected_purpose=options.purpose,
            challenge=options.challenge,
            domain=options.domain,
            now=now,
            loader=self.loader,
        )
        if not proofs:
            return [Check("signature", False, "the credential has no proof")], False
        checks: list[Check] = []
        by_issuer = False
        others: list[str] = []
        for proof in proofs:
            # The DID the proof's key belongs to; the lookup took the key from that DID's own
            # document, so a proof that verified really is that DID's.
            controller = proof_controller({"verificationMethod": proof.verification_method})
            if controller is None or controller == issuer:
                checks.append(_proof_check(proof))
                by_issuer = by_issuer or proof.ok
            else:
                others.append(controller)
                check = _proof_check(proof, "signature (another party)")
                if proof.ok:
                    check = Check(
                        check.name,
                        True,
                        f"{check.reason}; made by {controller}, not the issuer: it is part "
                        "of the proof chain, and does not vouch for the issuer",
                    )
                checks.append(check)
        signed = all(p.ok for p in proofs)
        if signed and not by_issuer:
            checks.append(
                Check(
                    "signature",
                    False,
                    f"no proof was made with a key of the issuer {issuer}; the proofs there "
                    f"are by {', '.join(sorted(set(others)))}, which cannot vouch for it",
                )
            )
            signed = False
        return checks, signed

    def _related_resource_checks(self, value: Any) -> list[Check]:
        items = value if isinstance(value, list) else [value]
        checks = []
        fetched = 0
        for item in items:
            rid = item["id"]
            data: bytes | None = None
            why = ""
            if rid in pinned_contexts():
                data = context_file_bytes(rid)  # offline: the pinned bytes are the resource
            elif not self.check_status:
                why = "online checks are turned off"
            elif fetched >= MAX_RELATED_FETCHES:
                why = f"only {MAX_RELATED_FETCHES} related resources are fetched per credential"
            else:
                fetched += 1
                try:
                    got = self.status.fetcher(rid)
                    if isinstance(got, bytes | bytearray):
                        data = bytes(got)
                    else:
                        why = "its bytes were not available to this verifier"
                except FetchError as exc:
                    why = exc.reason
                except Exception:
                    _log.exception("fetching the related resource %s failed", rid)
                    why = "it could not be fetched"
            if data is None:
                checks.append(
                    Check(
                        "related resource",
                        True,
                        f"NOT CHECKED: the digest of {rid} could not be checked ({why}); "
                        "nothing taken from it is vouched for by this credential",
                        skipped=True,
                    )
                )
                continue
            problem = digest_problem(item, data)
            if problem:
                checks.append(Check("related resource", False, f"{rid}: {problem}"))
            else:
                checks.append(
                    Check("related resource", True, f"{rid} matches the digest the issuer signed")
                )
        return checks

    def _credential(
        self, credential: Any, now: datetime, options: _ProofOptions | None = None
    ) -> VerificationResult:
        options = options or _ProofOptions()
        try:
            doc = load_document(credential)
        except InputError as exc:
            return self._invalid([Check("input", False, str(exc))], None, now)
        problems, version = _credential_structure(doc)
        issuer = issuer_id(doc)
        if problems or version is None:
            return self._invalid([Check("structure", False, p) for p in problems], issuer, now)
        checks = [
            Check(
                "structure", True, f"a well-formed VC {'2.0' if version == 2 else '1.1'} credential"
            )
        ]
        assert issuer is not None
        trusted = self.trusted_issuers is None or issuer in self.trusted_issuers
        if (
            trusted
            and self.certification_issuers is not None
            and issuer not in self.certification_issuers
            # Read in the form facts are read in, so that no spelling hides what it is.
            and is_certification(reading_form(doc))
        ):
            # A certificate is only what its certification body signed: another key (e.g. the
            # body's generic VC API issuer) may sign other credentials, never a certificate.
            checks.append(
                Check(
                    "issuer",
                    False,
                    f"{issuer} may not issue certificates here: a certification credential is "
                    f"accepted only from {', '.join(sorted(self.certification_issuers))}",
                    Verdict.UNTRUSTED_ISSUER,
                )
            )
            trusted = False
        elif self.trusted_issuers is None:
            checks.append(
                Check(
                    "issuer",
                    True,
                    f"issued by {issuer} (no trusted-issuer list "
                    "was given, so any issuer is accepted)",
                )
            )
        elif trusted:
            checks.append(Check("issuer", True, f"{issuer} is a trusted issuer"))
        else:
            checks.append(
                Check(
                    "issuer",
                    False,
                    f"{issuer} is not on your list of trusted issuers",
                    Verdict.UNTRUSTED_ISSUER,
                )
            )
        if not trusted:
            if not issuer.startswith("did:key:"):
                # Do not contact the hosts of issuers nobody asked us to trust.
                checks.append(
                    Check(
                        "signature",
                        True,
                        "not checked, because the issuer is not trusted",
                        skipped=True,
                    )
                )
                return self._result(doc, checks, issuer, None, now, trusted=False)
        proof_checks, signed = self._credential_proofs(doc, issuer, now, options)
        checks += proof_checks
        if not signed:
            return self._result(doc, checks, issuer, None, now, trusted=trusted)
        if trusted and self.require_log is not None:
            # The credential as issued (before the reading form below): its hash is the log's.
            checks.append(self._log_check(doc, issuer))
        # From here on, read what was signed: the proofs held only for a document in the
        # compact form of its contexts, and that form is read with one-element arrays as
        # their single value (JSON-LD does not tell them apart).
        doc = reading_form(doc)
        window, _ = _window(doc, version, now)
        checks.append(window)
        if trusted and "relatedResource" in doc:
            checks += self._related_resource_checks(doc["relatedResource"])
        if not trusted:
            pass  # the status list of an untrusted issuer cannot change the answer
        elif self.check_status:
            checks += self.status.check(doc, at=now if options.status_then else None)
        else:
            checks.append(
                Check(
                    "status",
                    True,
                    "NOT CHECKED: suspension and withdrawal were "
                    "not looked up (status checking was turned off)",
                    skipped=True,
                )
            )
        facts = extract_facts(doc) if trusted else None
        return self._result(doc, checks, issuer, facts, now, trusted=trusted)

    def _log_check(self, doc: Mapping[str, Any], issuer: str) -> Check:
        """The "transparency log" check under :attr:`require_log`."""
        assert self.require_log is not None
        document: dict[str, Any] | None = None
        why = ""
        try:
            document = self.resolver.resolve(issuer)
        except (DidResolutionError, FetchError) as exc:
            why = exc.reason
        check = check_in_log(doc, self.require_log, document, self.log_fetcher)
        if not check.ok and why:
            reason = f"{check.reason} (the issuer's DID document could not be read: {why})"
            check = Check(check.name, False, reason, check.verdict)
        return check

    def _result(
        self,
        doc: Mapping[str, Any],
        checks: list[Check],
        issuer: str | None,
        facts: CertificationFacts | None,
        now: datetime,
        *,
        trusted: bool,
    ) -> VerificationResult:
        verdict = verdict_of(checks)
        # The issuer's self-declared name is only repeated once its signature is verified.
        verified = (
            verdict is not Verdict.INVALID
            and trusted
            and any(c.name == "signature" and c.ok and not c.skipped for c in checks)
        )
        body = issuer_name(doc) if verified else None
        if body and self.trusted_issuers is None:
            body = f"{body} ({issuer})"
        summary = _summary(verdict, checks, facts, doc, body or issuer, self.lang)
        return VerificationResult(verdict, summary, checks, issuer, facts, now)

    def _invalid(
        self, checks: list[Check], issuer: str | None, now: datetime
    ) -> VerificationResult:
        return _invalid(checks, issuer, now, self.lang)

    # -- presentations ---------------------------------------------------------------------

    def verify_presentation(
        self,
        presentation: Any,
        *,
        challenge: str | None = None,
        domain: str | None = None,
        now: datetime | None = None,
    ) -> PresentationResult:
        """Verify a presentation signed by its holder (proofPurpose ``authentication``) and
        every credential in it. A ``challenge``/``domain`` you pass is required to match."""
        at = self._now(now)
        try:
            return self._presentation(presentation, challenge, domain, at)
        except Exception:  # the contract: a result, never an exception
            _log.exception("verify_presentation failed on its input")
            check = Check("verifier", False, _COULD_NOT_PROCESS)
            return PresentationResult(
                Verdict.INVALID, _invalid_sentence([check], self.lang), [check], None, [], at
            )

    def _presentation(
        self, presentation: Any, challenge: str | None, domain: str | None, now: datetime
    ) -> PresentationResult:
        checks: list[Check] = []
        try:
            doc = load_document(presentation, "the presentation")
        except InputError as exc:
            checks.append(Check("input", False, str(exc)))
            return _presentation_result(checks, None, [], now, self.lang)
        problems = _presentation_structure(doc)
        holder = issuer_id({"issuer": doc.get("holder")})
        if holder is None and not problems:
            holder = _presentation_signer(doc)
        if problems:
            checks += [Check("structure", False, p) for p in problems]
            return _presentation_result(checks, holder, [], now, self.lang)
        assert holder is not None
        proofs = verify_proofs(
            doc,
            key_lookup_for(holder, self.resolver),
            expected_purpose="authentication",
            challenge=challenge,
            domain=domain,
            now=now,
            loader=self.loader,
        )
        checks += [_proof_check(p, "holder's signature") for p in proofs] or [
            Check("holder's signature", False, "the presentation has no proof")
        ]
        checks += _binding_checks(doc.get("proof"), challenge, domain)
        if any(not c.ok for c in checks):
            return _presentation_result(checks, holder, [], now, self.lang)
        results = [self._embedded(vc, now) for vc in _as_list(doc.get("verifiableCredential"))]
        return _presentation_result(checks, holder, results, now, self.lang)

    def _embedded(self, vc: Any, now: datetime) -> VerificationResult:
        if isinstance(vc, Mapping) and "EnvelopedVerifiableCredential" in types_of(vc):
            return self._invalid(
                [
                    Check(
                        "structure",
                        False,
                        "enveloped credentials (JOSE, COSE, SD-JWT) are not supported yet",
                    )
                ],
                None,
                now,
            )
        return self.verify_credential(vc, now=now)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _presentation_structure(doc: Mapping[str, Any]) -> list[str]:
    _, problem = _context_version(doc)
    if problem:
        return [problem]
    problems = []
    if "VerifiablePresentation" not in types_of(doc):
        problems.append("type does not include VerifiablePresentation")
    raw_type = doc.get("type")
    if "type" not in doc or not (
        isinstance(raw_type, str)
        or (isinstance(raw_type, list) and raw_type and all(isinstance(t, str) for t in raw_type))
    ):
        problems.insert(0, "type is missing or not a string or list of strings")
    if "id" in doc and not _is_url(doc["id"]):
        problems.append("id is not a URL")
    if "holder" in doc:
        holder = doc["holder"]
        holder_id = holder.get("id") if isinstance(holder, Mapping) else holder
        if not isinstance(holder_id, str) or not holder_id.startswith("did:"):
            # The holder's proof is what binds the presentation to a person: a holder that
            # is not a DID has no key that could be checked.
            problems.append("the presentation's holder is not a DID")
    elif _presentation_signer(doc) is None:
        # VC 2.0 makes holder optional; the key of the authentication proof then names the
        # one who presented. Without either there is nobody whose key could be checked.
        problems.append("the presentation does not name its holder (a DID) and has no proof")
    vcs = doc.get("verifiableCredential")
    if vcs is not None and not all(isinstance(v, Mapping) for v in _as_list(vcs)):
        problems.append("verifiableCredential holds something other than credential objects")
    return problems


def _presentation_signer(doc: Mapping[str, Any]) -> str | None:
    """The DID of the one key that signed a presentation for ``authentication``, if exactly
    one DID did (a presentation without ``holder``)."""
    proofs = [p for p in _as_list(doc.get("proof")) if isinstance(p, Mapping)]
    dids = {proof_controller(p) for p in proofs if p.get("proofPurpose") == "authentication"}
    dids.discard(None)
    return next(iter(dids)) if len(dids) == 1 else None


def _binding_checks(proof: Any, challenge: str | None, domain: str | None) -> list[Check]:
    """Our own challenge/domain comparison, independent of the proof library's."""
    proofs = [p for p in _as_list(proof) if isinstance(p, Mapping)]
    checks = []
    if challenge is None:
        checks.append(
            Check(
                "challenge",
                True,
                "no challenge was asked for, so this could be a replay of an earlier presentation",
            )
        )
    elif not proofs or any(p.get("challenge") != challenge for p in proofs):
        checks.append(
            Check(
                "challenge",
                False,
                "the presentation was not made for this "
                "request (its challenge does not match); it may be a replay",
            )
        )
    else:
        checks.append(Check("challenge", True, "made for this request (challenge matches)"))
    if domain is not None:

        def has(p: Mapping[str, Any]) -> bool:
            d = p.get("domain")
            return d == domain or (isinstance(d, list) and domain in d)

        if not proofs or not all(has(p) for p in proofs):
            checks.append(
                Check(
                    "domain",
                    False,
                    f"the presentation was made for another site (its domain is not {domain!r})",
                )
            )
        else:
            checks.append(Check("domain", True, f"made for {domain}"))
    return checks


def _proof_check(proof: Any, name: str = "signature") -> Check:
    reason = proof.reason or ("verified" if proof.ok else "the proof did not verify")
    if proof.ok and proof.verification_method:
        reason = f"{reason} (key {proof.verification_method}, {proof.cryptosuite})"
    return Check(name, proof.ok, reason)


# --- sentences -----------------------------------------------------------------------------


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _invalid_sentence(checks: list[Check], lang: str = DEFAULT) -> str:
    _ = translator("verifier", lang)
    failed = [c for c in checks if not c.ok]
    # The check's reason stays in English (it names the technical fault).
    reason = _sentence(failed[0].reason if failed else _("not verified"))
    return _("Invalid: %(reason)s", reason=reason)


def _invalid(
    checks: list[Check], issuer: str | None, now: datetime, lang: str = DEFAULT
) -> VerificationResult:
    return VerificationResult(
        Verdict.INVALID, _invalid_sentence(checks, lang), checks, issuer, None, now
    )


#: A verdict as the first word(s) of a summary, and as a count of a presentation's credentials.
_HEADLINES = {
    Verdict.VALID: N_("Valid"),
    Verdict.INVALID: N_("Invalid"),
    Verdict.EXPIRED: N_("Expired"),
    Verdict.NOT_YET_VALID: N_("Not yet valid"),
    Verdict.SUSPENDED: N_("Suspended"),
    Verdict.WITHDRAWN: N_("Withdrawn"),
    Verdict.STATUS_UNKNOWN: N_("Status unknown"),
    Verdict.UNTRUSTED_ISSUER: N_("Untrusted issuer"),
    Verdict.NOT_IN_LOG: N_("Not in the log"),
}
_COUNTED = {
    Verdict.VALID: N_("%(num)s valid"),
    Verdict.INVALID: N_("%(num)s invalid"),
    Verdict.EXPIRED: N_("%(num)s expired"),
    Verdict.NOT_YET_VALID: N_("%(num)s not yet valid"),
    Verdict.SUSPENDED: N_("%(num)s suspended"),
    Verdict.WITHDRAWN: N_("%(num)s withdrawn"),
    Verdict.STATUS_UNKNOWN: N_("%(num)s status unknown"),
    Verdict.UNTRUSTED_ISSUER: N_("%(num)s untrusted issuer"),
    Verdict.NOT_IN_LOG: N_("%(num)s not in the log"),
}


def _describe(facts: CertificationFacts | None, body: str, lang: str = DEFAULT) -> str:
    """What the summary is about: "Jane Doe's certification CWI (certificate CWI-2026-0001)
    from Example Body", as one phrase per shape, so that each language orders it its way."""
    _ = translator("verifier", lang)
    if facts is None:
        return _("this credential from %(body)s", body=body)
    words = {
        "holder": facts.holder_name,
        "scheme": facts.scheme_code or facts.scheme_name or _("(unnamed scheme)"),
        "number": facts.certificate_number,
        "body": body,
    }
    if facts.holder_name and facts.certificate_number:
        return _(
            "%(holder)s's certification %(scheme)s (certificate %(number)s) from %(body)s", **words
        )
    if facts.holder_name:
        return _("%(holder)s's certification %(scheme)s from %(body)s", **words)
    if facts.certificate_number:
        return _("the certification %(scheme)s (certificate %(number)s) from %(body)s", **words)
    return _("the certification %(scheme)s from %(body)s", **words)


def _summary(
    verdict: Verdict,
    checks: list[Check],
    facts: CertificationFacts | None,
    doc: Mapping[str, Any],
    body: str | None,
    lang: str = DEFAULT,
) -> str:
    """The plain-words summary in ``lang``. The reasons of failed checks it quotes (an invalid
    signature, an untrusted issuer, why the status is unknown) stay in English."""
    _ = translator("verifier", lang)
    body = body or _("an unknown issuer")
    failing = next((c for c in checks if not c.ok and c.implies is verdict), None)
    reason = failing.reason if failing else ""
    what = _describe(facts, body, lang)
    skipped_status = any(c.name == "status" and c.skipped for c in checks)
    if verdict is Verdict.INVALID:
        return _invalid_sentence(checks, lang)
    if verdict is Verdict.UNTRUSTED_ISSUER:
        return _("Untrusted issuer: %(reason)s", reason=_sentence(reason))
    if verdict is Verdict.NOT_IN_LOG:
        return _(
            "Not in the log: %(what)s carries its issuer's signature, but is not shown to be in "
            "the issuer's transparency log: %(reason)s. It may have been signed off the body's "
            "books; do not rely on it.",
            what=what,
            reason=reason.rstrip("."),
        )
    if verdict in (Verdict.WITHDRAWN, Verdict.SUSPENDED):
        if lang == DEFAULT:
            # The status check's own words, with the list and its publication date.
            label = verdict.value.capitalize()
            return _sentence(f"{label}: {what} is {reason}")
        if verdict is Verdict.SUSPENDED:
            return _(
                "Suspended: %(what)s is suspended, according to the issuer's status list.",
                what=what,
            )
        return _(
            "Withdrawn: %(what)s is withdrawn, according to the issuer's status list.", what=what
        )
    # The dates are worded as the certificate's page and PDF word them (verifier.standing):
    # the same certificate reads "expired on 14 January 2029" everywhere, its last valid day.
    start = parse_datetime(doc.get("validFrom") or doc.get("issuanceDate"))
    end = parse_datetime(doc.get("validUntil") or doc.get("expirationDate"))
    if verdict is Verdict.EXPIRED and end is not None:
        day = standing.plain_date(expiry_day(end), lang)
        return _("Expired: %(what)s expired on %(date)s.", what=what, date=day)
    if verdict is Verdict.NOT_YET_VALID and start is not None:
        day = standing.plain_date(start, lang)
        return _("Not yet valid: %(what)s is valid from %(date)s.", what=what, date=day)
    if verdict in (Verdict.EXPIRED, Verdict.NOT_YET_VALID):  # cannot happen: _window parsed it
        return _sentence(f"{_(_HEADLINES[verdict])}: {what} {reason}")
    if verdict is Verdict.STATUS_UNKNOWN:
        return _(
            "Status unknown: %(what)s is genuine and within its dates, but whether it is "
            "suspended or withdrawn could not be checked: %(reason)s. Ask the issuer before "
            "relying on it.",
            what=what,
            reason=reason.rstrip("."),
        )
    last_day = expiry_day(end)
    until = standing.plain_date(last_day, lang) if last_day else ""
    if facts is not None and facts.holder_name:
        words = {
            "holder": facts.holder_name,
            "scheme": facts.scheme_code or facts.scheme_name or _("(unnamed scheme)"),
            "number": facts.certificate_number,
            "body": body,
            "date": until,
        }
        if facts.certificate_number and until:
            text = _(
                "Valid: %(holder)s holds certification %(scheme)s (certificate %(number)s) "
                "from %(body)s until %(date)s.",
                **words,
            )
        elif facts.certificate_number:
            text = _(
                "Valid: %(holder)s holds certification %(scheme)s (certificate %(number)s) "
                "from %(body)s.",
                **words,
            )
        elif until:
            text = _(
                "Valid: %(holder)s holds certification %(scheme)s from %(body)s until %(date)s.",
                **words,
            )
        else:
            text = _("Valid: %(holder)s holds certification %(scheme)s from %(body)s.", **words)
    elif until:
        text = _("Valid: %(what)s is genuine and in force until %(date)s.", what=what, date=until)
    else:
        text = _("Valid: %(what)s is genuine and in force.", what=what)
    if skipped_status:
        text += " " + _("Its suspension/withdrawal status was NOT checked.")
    return text


def _presentation_result(
    checks: list[Check],
    holder: str | None,
    results: list[VerificationResult],
    now: datetime,
    lang: str = DEFAULT,
) -> PresentationResult:
    _ = translator("verifier", lang)
    own = verdict_of(checks)
    verdict = worst([own, *(r.verdict for r in results)])
    if own is Verdict.INVALID:
        summary = _invalid_sentence(checks, lang)
    elif not results:
        summary = _(
            "Valid: the presentation is signed by its holder %(holder)s; it holds no credential.",
            holder=holder,
        )
    elif len(results) == 1:
        summary = results[0].summary
    else:
        counts: dict[Verdict, int] = {}
        for r in results:
            counts[r.verdict] = counts.get(r.verdict, 0) + 1
        listed = ", ".join(_(_COUNTED[v], num=format_number(n, lang)) for v, n in counts.items())
        summary = _(
            "%(verdict)s: %(num)s credentials presented by %(holder)s (%(listed)s).",
            verdict=_(_HEADLINES[verdict]),
            num=format_number(len(results), lang),
            holder=holder,
            listed=listed,
        )
    return PresentationResult(verdict, summary, checks, holder, results, now)


# --- module-level conveniences ---------------------------------------------------------------


def verify_credential(
    credential: Any,
    *,
    now: datetime | None = None,
    at: datetime | None = None,
    trusted_issuers: Collection[str] | None = None,
    check_status: bool = True,
    **options: Any,
) -> VerificationResult:
    """One-off :meth:`Verifier.verify_credential` (``options`` go to :class:`Verifier`)."""
    verifier = Verifier(trusted_issuers=trusted_issuers, check_status=check_status, **options)
    return verifier.verify_credential(credential, now=now, at=at)


def verify_presentation(
    presentation: Any,
    *,
    challenge: str | None = None,
    domain: str | None = None,
    now: datetime | None = None,
    trusted_issuers: Collection[str] | None = None,
    check_status: bool = True,
    **options: Any,
) -> PresentationResult:
    """One-off :meth:`Verifier.verify_presentation` (``options`` go to :class:`Verifier`)."""
    verifier = Verifier(trusted_issuers=trusted_issuers, check_status=check_status, **options)
    return verifier.verify_presentation(presentation, challenge=challenge, domain=domain, now=now)

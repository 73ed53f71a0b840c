"""``certreg verify`` (is this certificate genuine and in force?) and ``certreg sign``.

Exit codes of ``verify``: 0 when the verdict is VALID, 1 for any other verdict, 2 when no
verdict could be reached at all (bad options, unreadable file, URL that cannot be fetched).

``sign`` is here, not in the keys package, because it needs :func:`add_proof` and the keys
package imports nothing of the verifier. Neither command imports anything of the issuer or the
register.

The verifier's modules (and with them pyld and httpx) are imported inside the commands, not at
the top: ``certreg verify --help`` loads this module to print the options, and should not wait
for a JSON-LD processor it will not use.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from certreg.keys.passphrase import passphrase_file_option, read_passphrase

if TYPE_CHECKING:
    from certreg.verifier.did import HttpFetcher
    from certreg.verifier.result import Check, PresentationResult, VerificationResult


def _fetcher(unsafe_hosts: tuple[str, ...], accept: str, **limits: Any) -> HttpFetcher:
    """The CLI's fetcher: HTTPS, plus plain HTTP to this machine's loopback interface.

    Why loopback HTTP is safe here, though the credential (so possibly an attacker) names the
    URLs: plain HTTP matters only when the bytes can be read or changed on the way, and traffic
    to 127.0.0.0/8 or ::1 never leaves the machine (the connection is made to a checked
    loopback address, whatever a name resolves to). What is fetched still has to carry the
    issuer's signature to count. What the attacker gains is a blind GET, without cookies,
    credentials or redirects, to a service on the verifying machine: less than any web page
    opened in a browser can send, and its answer is never sent anywhere. The public verify
    service keeps refusing loopback altogether (``public_addresses_only``), and a did:web
    document is still fetched over HTTPS only.
    """
    from certreg.verifier.did import HttpFetcher

    return HttpFetcher(
        unsafe_allow_http_hosts=unsafe_hosts, accept=accept, allow_loopback_http=True, **limits
    )


def _read_source(source: str, unsafe_hosts: tuple[str, ...]) -> bytes:
    from certreg.verifier.did import FetchError
    from certreg.verifier.verify import MAX_INPUT_BYTES

    if source == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
    elif source.startswith(("https://", "http://")):
        fetch = _fetcher(
            unsafe_hosts, "application/vc+ld+json, application/json", max_bytes=MAX_INPUT_BYTES
        )
        try:
            data = fetch(source)
        except FetchError as exc:
            raise click.UsageError(f"cannot fetch {source}: {exc.reason}") from None
    else:
        path = Path(source)
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_INPUT_BYTES + 1)
        except OSError as exc:
            raise click.UsageError(f"cannot read {source}: {exc.strerror or exc}") from None
    return data  # over-size input is left to the verifier, which says INVALID and why


def _parse_now(value: str | None) -> datetime | None:
    from certreg.verifier.facts import parse_datetime

    if value is None:
        return None
    moment = parse_datetime(value)
    if moment is None:
        raise click.BadParameter(
            "give a date-time with a time zone, e.g. 2027-03-01T12:00:00Z", param_hint="--now"
        )
    return moment


def _parse_at(value: str | None) -> datetime | None:
    from certreg.verifier.asof import InstantError, parse_instant

    if value is None:
        return None
    try:
        return parse_instant(value).moment
    except InstantError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from None


def _mark(check: Check) -> str:
    if check.skipped:
        return "!"
    return "✓" if check.ok else "✗"


def _print_result(result: VerificationResult, indent: str = "", lang: str = "en") -> None:
    """The summary, the certificate's facts and the checks; the labels in ``lang`` (the checks'
    names and reasons stay English: they are what support staff search for)."""
    from certreg.i18n import translator

    _ = translator("verifier", lang)
    click.echo(f"{indent}{result.summary}")
    facts = result.facts
    if facts is not None:
        click.echo("")
        version = facts.scheme_version
        rows = [
            (_("Holder"), facts.holder_name),
            (_("Certificate"), facts.certificate_number),
            (
                _("Scheme"),
                " ".join(
                    x
                    for x in (
                        facts.scheme_name,
                        f"({facts.scheme_code})" if facts.scheme_code else None,
                        _("version %(version)s", version=version) if version else None,
                    )
                    if x
                ),
            ),
            (
                _("Standard"),
                ", ".join(r.name or r.url or "" for r in facts.normative_references),
            ),
            (_("Issued by"), facts.issuer_name or facts.issuer_id),
            (
                _("Valid"),
                _(
                    "%(start)s to %(end)s",
                    start=facts.valid_from or "?",
                    end=facts.valid_until or _("(no end)"),
                ),
            ),
        ]
        width = max(13, *(len(label) + 2 for label, _value in rows))
        for label, value in rows:
            if value:
                click.echo(f"{indent}  {label + ':':<{width}}{value}")
        if facts.scope:
            scope_label = _("Scope:")
            click.echo(f"{indent}  {scope_label}")
            for item in facts.scope:
                extra = f" — {item.conditions}" if item.conditions else ""
                click.echo(f"{indent}    • {item.name}{extra}")
    click.echo("")
    checks_label = _("Checks:")
    click.echo(f"{indent}{checks_label}")
    for check in result.checks:
        click.echo(f"{indent}  {_mark(check)} {check.name}: {check.reason}")


def _print_presentation(result: PresentationResult, lang: str = "en") -> None:
    from certreg.i18n import translator

    _ = translator("verifier", lang)
    click.echo(result.summary)
    click.echo("")
    click.echo(_("Presentation checks:"))
    for check in result.checks:
        click.echo(f"  {_mark(check)} {check.name}: {check.reason}")
    for number, credential in enumerate(result.credentials, 1):
        click.echo("")
        click.echo(
            _("Credential %(number)s: %(verdict)s", number=number, verdict=credential.verdict.value)
        )
        _print_result(credential, indent="  ", lang=lang)


@click.command("verify")
@click.argument("source", metavar="FILE|URL|-")
@click.option(
    "--offline",
    is_flag=True,
    help="Verify a certificate's QR code with no network, against --cache: SOURCE is the QR "
    "code's text (CR1:...), an image file of the QR code, or - for the text on standard input.",
)
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="With --offline: the folder `certreg sync DIR URL...` filled beforehand.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
@click.option(
    "--trusted-issuer",
    "trusted",
    multiple=True,
    metavar="DID",
    help="Accept only credentials issued by this DID (repeatable). Without it, any "
    "issuer whose signature verifies is accepted and named in the result.",
)
@click.option(
    "--now",
    "now",
    metavar="ISO",
    help="Check the validity period at this instant instead of now (audits). "
    "Status lists are always read as they are today.",
)
@click.option(
    "--at",
    "at",
    metavar="INSTANT",
    help="Was it valid then? The validity period at INSTANT and the status from the status "
    "list version current then (YYYY-MM-DD: the end of that day, UTC; or YYYY-MM-DDTHH:MM).",
)
@click.option(
    "--no-status",
    is_flag=True,
    help="Do not fetch status lists. The verdict can still be VALID, but the output "
    "says prominently that suspension and withdrawal were NOT checked.",
)
@click.option(
    "--challenge", help="For a presentation: the challenge you issued (required to match)."
)
@click.option("--domain", help="For a presentation: your domain (required to match).")
@click.option(
    "--unsafe-allow-http-host",
    "unsafe_hosts",
    multiple=True,
    metavar="HOST:PORT",
    help="UNSAFE: also fetch status lists and did:web documents over plain HTTP from this "
    "host (repeatable), where anyone on the network path can change or replay them. Plain HTTP "
    "to this machine's own loopback address (127.0.0.1, ::1, localhost), as the demo serves, "
    "needs no option; did:web documents there still need this one.",
)
@click.option(
    "--require-log",
    is_flag=True,
    help="Accept a certificate only if its issuer's transparency log holds it (its tlog-proof "
    "is fetched from the log named in the issuer's DID document unless --log-proof is given); "
    "otherwise the verdict is NOT_IN_LOG. Implied by the --log-* and --witness options.",
)
@click.option(
    "--log-proof",
    "log_proof",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The certificate's tlog-proof (c2sp.org/tlog-proof@v1), as the holder received it.",
)
@click.option(
    "--log-key",
    "log_key",
    metavar="VKEY",
    help="The log's verifier key (default: the one in the issuer's DID document).",
)
@click.option(
    "--witness",
    "witnesses",
    multiple=True,
    metavar="VKEY",
    help="A witness's cosigner key (repeatable); see --witness-quorum.",
)
@click.option(
    "--witness-quorum",
    "quorum",
    type=click.IntRange(min=0),
    help="How many of the --witness keys must have cosigned the log's checkpoint "
    "(default: all of them).",
)
@click.option(
    "--lang",
    metavar="LANG",
    default="en",
    show_default=True,
    help="The language of the summary and the labels: en, de, fr or es (the checks' reasons "
    "and --json's verdict stay English).",
)
def verify_command(
    source: str,
    as_json: bool,
    trusted: tuple[str, ...],
    now: str | None,
    at: str | None,
    no_status: bool,
    challenge: str | None,
    domain: str | None,
    unsafe_hosts: tuple[str, ...],
    require_log: bool,
    log_proof: Path | None,
    log_key: str | None,
    witnesses: tuple[str, ...],
    quorum: int | None,
    lang: str,
    offline: bool = False,
    cache_dir: Path | None = None,
) -> None:
    """Verify a certificate (or a presentation) from FILE, a URL, or - for standard input.

    Prints one plain sentence (valid, invalid, expired, not yet valid, suspended, withdrawn,
    status unknown, untrusted issuer), the certified scope, and every check made. Exits 0 only
    when the certificate is VALID.
    """
    if offline or cache_dir is not None:
        from certreg.verifier.offline_cli import verify_offline_command

        verify_offline_command(source, cache_dir, as_json=as_json, now=_parse_now(now))
        return
    from certreg.i18n import LANGUAGES
    from certreg.verifier.facts import types_of
    from certreg.verifier.result import PresentationResult
    from certreg.verifier.verify import Verifier, load_document

    lang = lang.lower()
    if lang not in LANGUAGES:
        raise click.BadParameter(f"one of {', '.join(LANGUAGES)}", param_hint="'--lang'")

    moment = _parse_now(now)
    then = _parse_at(at)
    if then is not None and moment is not None:
        raise click.BadParameter("give --now or --at, not both", param_hint="--at")
    data = _read_source(source, unsafe_hosts)
    policy = _log_policy(require_log, log_proof, log_key, witnesses, quorum)
    verifier = Verifier(
        trusted_issuers=trusted or None,
        check_status=not no_status,
        unsafe_allow_http_hosts=unsafe_hosts,
        transport=_fetcher(unsafe_hosts, "application/did+json, application/json"),
        status_fetcher=_fetcher(unsafe_hosts, "application/json"),
        lang=lang,
        require_log=policy,
        log_fetcher=_fetcher(unsafe_hosts, "text/plain", max_bytes=256 * (2 + 4096))
        if policy is not None
        else None,
    )
    is_presentation = False
    try:
        is_presentation = "VerifiablePresentation" in types_of(load_document(data))
    except ValueError:
        pass  # the verifier will say why it is not a credential
    result: VerificationResult | PresentationResult
    if is_presentation:
        if then is not None:
            raise click.BadParameter("--at is for a credential, not a presentation")
        result = verifier.verify_presentation(data, challenge=challenge, domain=domain, now=moment)
    else:
        result = verifier.verify_credential(data, now=moment, at=then)
    if then is not None and not as_json:
        click.echo(
            f"As of {then.strftime('%Y-%m-%dT%H:%M:%SZ')} (the status lists as they were then):"
        )
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    elif isinstance(result, PresentationResult):
        _print_presentation(result, lang)
    else:
        _print_result(result, lang=lang)
    sys.exit(0 if result.ok else 1)


def _log_policy(
    require_log: bool,
    log_proof: Path | None,
    log_key: str | None,
    witnesses: tuple[str, ...],
    quorum: int | None,
) -> Any:
    """The :class:`~certreg.verifier.tlog.policy.LogPolicy` the options ask for, or None."""
    if not (require_log or log_proof or log_key or witnesses or quorum):
        return None
    from certreg.verifier.tlog.errors import TlogError
    from certreg.verifier.tlog.policy import LogPolicy
    from certreg.verifier.tlog.proof import MAX_PROOF_SIZE

    proof = None
    if log_proof is not None:
        proof = log_proof.read_bytes()[: MAX_PROOF_SIZE + 1]
    try:
        return LogPolicy(
            log_key=log_key,
            witnesses=witnesses,
            quorum=len(witnesses) if quorum is None else quorum,
            proof=proof,
        )
    except (TlogError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None


#: How an Open Badges achievementType of "Certification" reads in canonical N-Quads, however
#: the JSON spelled it (an IRI key, a compact IRI, a value object...): what rdfc signs.
_CERTIFICATION_QUAD = re.compile(
    r'<https://purl\.imsglobal\.org/spec/vc/ob/vocab\.html#achievementType> "Certification"'
)


def _is_certificate(document: dict[str, Any]) -> bool:
    """Whether the document is certificate-shaped in its JSON or in its signed meaning.

    The JSON test alone is not enough: an eddsa-rdfc-2022 signature covers the RDF graph, so a
    certificate written with IRI keys, signed, then rewritten in compact form keeps its proof.
    """
    from certreg.verifier.canonicalize import rdfc
    from certreg.verifier.facts import is_certification

    if is_certification(document):
        return True
    try:
        quads = rdfc(document)
    except Exception:  # not canonicalisable: add_proof refuses it (rdfc) or signs JSON (jcs)
        return False
    return _CERTIFICATION_QUAD.search(quads) is not None


#: What `certreg sign --cryptosuite eddsa-jcs-2022` says (docs/credential.md, "eddsa-jcs-2022").
JCS_WARNING = (
    "note: signed with eddsa-jcs-2022. Of the known verifiers only Digital Bazaar's reads it; "
    "DCC verifier-core (the Learner Credential Wallet), Blockcerts and openbadgeslib cannot. "
    "Use eddsa-rdfc-2022 (the default) for anything a third party must verify."
)


@click.command("sign")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option(
    "--store",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Key store directory.",
)
@click.option("--key-id", help="Sign with this key (default: the current key).")
@click.option(
    "--cryptosuite",
    type=click.Choice(["eddsa-rdfc-2022", "eddsa-jcs-2022"]),
    default="eddsa-rdfc-2022",
    show_default=True,
    help="eddsa-jcs-2022 is faster but few verifiers read it: of those known, only Digital "
    "Bazaar's does (DCC verifier-core, i.e. the Learner Credential Wallet, Blockcerts and "
    "openbadgeslib cannot).",
)
@click.option(
    "--proof-purpose",
    type=click.Choice(["assertionMethod", "authentication"]),
    default="assertionMethod",
    show_default=True,
    help="authentication for a presentation you sign as its holder.",
)
@click.option("--challenge", help="Bind a presentation to this challenge.")
@click.option("--domain", help="Bind a presentation to this domain.")
@passphrase_file_option
def sign_command(
    file: str,
    store: Path,
    key_id: str | None,
    cryptosuite: str,
    proof_purpose: str,
    challenge: str | None,
    domain: str | None,
    passphrase_file: Path | None,
) -> None:
    """Sign the JSON document in FILE (or - for standard input) and print the signed JSON.

    A document that already has a proof gets a second one (a proof set). A certificate (an
    Open Badges credential with achievementType Certification) is refused: certificates are
    signed only when a decision-maker grants one (`certreg decide` or the admin API).
    """
    from certreg.keys.store import KeyStore, KeyStoreError
    from certreg.verifier.dataintegrity import ProofError, add_proof
    from certreg.verifier.verify import load_document

    raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    try:
        document: dict[str, Any] = load_document(raw, "the document")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if proof_purpose == "assertionMethod" and _is_certificate(document):
        # With the body's key this would be one of its certificates, signed without a decision
        # (issue 7). The key holder could still write their own signing code; the product
        # offers no such path.
        raise click.ClickException(
            "this is a certificate (achievementType Certification): certreg signs certificates "
            "only when a decision-maker grants one (certreg decide grant, or POST "
            "/api/certifications), never by `certreg sign`"
        )
    try:
        signer = KeyStore(store).load_signer(read_passphrase(passphrase_file), key_id)
        signed = add_proof(
            document,
            signer,
            cryptosuite=cryptosuite,
            proof_purpose=proof_purpose,
            challenge=challenge,
            domain=domain,
        )
    except (KeyStoreError, ProofError) as exc:
        raise click.ClickException(getattr(exc, "reason", None) or str(exc)) from None
    if cryptosuite == "eddsa-jcs-2022":
        # On stderr, so that the signed JSON on stdout stays usable in a pipe.
        click.echo(JCS_WARNING, err=True)
    click.echo(json.dumps(signed, indent=2, ensure_ascii=False))

"""``certreg demo``: the trust core end to end, on this machine, with nothing served.

It creates an encrypted key store (did:key, so that it works offline), issues a signed
certification credential with two status entries, publishes two signed Bitstring Status Lists
(in memory: the verifier is handed them as if it had fetched them), then verifies the
credential as an employer would, through every state: valid, suspended, reinstated, tampered,
withdrawn. Each answer is the verifier's own plain-words summary.
"""

from __future__ import annotations

import json
import secrets
import shlex
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from certreg.issuer.cli.serve import serve_command
from certreg.issuer.credential import (
    Body,
    NormativeReference,
    Scheme,
    ScopeItem,
    certification_credential,
)
from certreg.issuer.demo_body import DemoAccount, build_demo
from certreg.issuer.service import CertificationBody
from certreg.keys.keypair import KeyPair
from certreg.keys.store import KeyStore
from certreg.verifier import Verifier
from certreg.verifier.issuing import (
    Bitstring,
    add_proof,
    format_datetime,
    status_list_credential,
    status_list_entry,
)

BASE = "https://certification-body.example"

SCHEME = Scheme(
    id=f"{BASE}/schemes/cwi/3",
    code="CWI",
    name="Certified Welding Inspector",
    version="3",
    description="Inspection of fusion welds in steel structures, before, during and after welding.",
    criteria="Written and practical examination; decision by a person independent of training.",
    normative_reference=NormativeReference(
        "ISO 9712:2021", "https://www.iso.org/standard/74629.html"
    ),
)


class _StatusLists:
    """The body's two lists, re-signed on every change, as the issuer will publish them."""

    def __init__(self, signer: KeyPair, issuer: str) -> None:
        self.signer = signer
        self.issuer = issuer
        self.bits = {p: Bitstring() for p in ("revocation", "suspension")}
        self.published: dict[str, dict[str, Any]] = {}
        for purpose in self.bits:
            self.publish(purpose)

    def url(self, purpose: str) -> str:
        return f"{BASE}/status/{purpose}/1"

    def publish(self, purpose: str) -> None:
        now = datetime.now(UTC)
        unsigned = status_list_credential(
            id=self.url(purpose),
            issuer=self.issuer,
            purpose=purpose,
            bitstring=self.bits[purpose],
            valid_from=format_datetime(now - timedelta(minutes=1)),
            valid_until=format_datetime(now + timedelta(hours=1)),
            ttl_ms=300_000,
        )
        self.published[self.url(purpose)] = add_proof(unsigned, self.signer)

    def set(self, purpose: str, index: int, value: int) -> None:
        self.bits[purpose].set(index, value)
        self.publish(purpose)


@click.command("demo")
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/demo"),
    show_default=True,
    help="Working folder for the demo body (emptied first).",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--holders", type=click.IntRange(10, 100_000), default=1000, show_default=True,
    help="How many certificate holders the demo body has.",
)  # fmt: skip
@click.option("--no-serve", is_flag=True, help="Build the demo body, print the tour, and stop.")
@click.option(
    "--walkthrough",
    is_flag=True,
    help="Instead: the trust core alone, offline: one certificate through every status.",
)
@click.pass_context
def demo_command(
    ctx: click.Context,
    data: Path,
    host: str,
    port: int,
    holders: int,
    no_serve: bool,
    walkthrough: bool,
) -> None:
    """Build a demo certification body (two schemes, ~1,000 certificates in every state) and
    serve it on http://127.0.0.1:8000: the register, certificate pages, the verify page, the
    APIs. Prints the addresses to open."""
    if walkthrough:
        _walkthrough(data)
        return
    if data.exists():
        shutil.rmtree(data)
    base = f"http://{host}:{port}"
    # A demo passphrase, written beside the demo's data so that the server can unlock the key:
    # never do this with a real body.
    passphrase = secrets.token_urlsafe(18)
    click.echo(f"certreg demo: building a certification body with {holders} holders in {data}")
    demo = build_demo(
        data, public_url=base, passphrase=passphrase, holders=holders,
        progress=lambda text: click.echo(f"  {text}"),
    )  # fmt: skip
    secret = data / "demo-passphrase.txt"
    secret.write_text(passphrase, encoding="utf-8")
    secret.chmod(0o600)
    click.echo("\nOpen:")
    tour = [
        ("the public register", f"{base}/register"),
        ("verify a certificate (paste, upload or URL)", f"{base}/verify"),
        ("the API documentation (OpenAPI)", f"{base}/docs"),
        ("a status list", f"{base}/status/suspension-1"),
        ("the staff console (demo accounts below)", f"{base}/console/login"),
    ]
    for state in ("valid", "suspended", "withdrawn", "expired", "recertified"):
        if demo.numbers.get(state):
            article = "an" if state[0] in "aeiou" else "a"
            tour.append((f"{article} {state} certificate", f"{base}/c/{demo.numbers[state][0]}"))
    for label, url in tour:
        click.echo(f"  {label:45} {url}")
    _print_console_accounts(f"{base}/console/login", demo.accounts)
    files = _write_certificates(data, demo.numbers)
    if files:
        click.echo(
            "\nCheck a certificate file as an employer would (while the demo is served; its "
            "status lists are read from it):"
        )
        for state, path in files.items():
            click.echo(f"  certreg verify {shlex.quote(str(path))}   # {_EXPECTED[state]}")
    if no_serve:
        return
    click.echo("\nServing; Ctrl-C to stop.")
    ctx.invoke(
        serve_command,
        data=data,
        host=host,
        port=port,
        tls_cert=None,
        tls_key=None,
        passphrase_file=secret,
        log_level="warning",
    )


def _print_console_accounts(login_url: str, accounts: tuple[DemoAccount, ...]) -> None:
    """The demo staff's console sign-ins: known passwords and TOTP secrets, so that a reader
    signs in without enrolling. Demo only: the sign-in page says so too."""
    click.echo(
        f"\nSign in to the staff console at {login_url} as one of the demo staff\n"
        "(DEMO ONLY: known passwords and authenticator secrets, printed here and nowhere else):"
    )
    for account in accounts:
        click.echo(f"  {account.login:15} {', '.join(account.roles)}")
        click.echo(f"    password: {account.password}")
        click.echo(f"    TOTP secret: {account.totp_secret}")
    click.echo(
        "  The code: add the secret to any authenticator app, or run\n"
        "    python -c \"import pyotp; print(pyotp.TOTP('SECRET').now())\"\n"
        "  with the person's secret for SECRET (each code signs in once; the next comes in 30 s)."
    )


#: The certificate files the demo writes, and what `certreg verify` answers for each.
_EXPECTED = {"valid": "VALID", "suspended": "SUSPENDED", "withdrawn": "WITHDRAWN"}


def _write_certificates(data: Path, numbers: dict[str, list[str]]) -> dict[str, Path]:
    """One signed certificate of each state in ``_EXPECTED``, as its holder would download it,
    in DATA/certificates/<state>.json: the files the printed `certreg verify` commands check."""
    folder = data / "certificates"
    folder.mkdir(exist_ok=True)
    body = CertificationBody.open(data)
    written: dict[str, Path] = {}
    try:
        for state in _EXPECTED:
            if not numbers.get(state):
                continue
            credential = body.certification(numbers[state][0]).credential
            if credential is None:
                continue
            path = folder / f"{state}.json"
            path.write_text(json.dumps(credential, indent=2, ensure_ascii=False), "utf-8")
            written[state] = path
    finally:
        body.db.conn.close()
    return written


def _walkthrough(data: Path) -> None:
    """Make a key, sign a sample certificate, verify it through every status, print verdicts."""
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    passphrase = secrets.token_urlsafe(18)
    click.echo("certreg demo — the trust core, offline\n")

    store = KeyStore.create(data / "keys", "did:key", passphrase, kdf="interactive")
    signer = store.load_signer(passphrase)
    issuer_did = store.current().controller
    click.echo(f"1. Key store created at {data / 'keys'} (Ed25519, encrypted with Argon2id).")
    click.echo(f"   The body signs as {issuer_did}")

    lists = _StatusLists(signer, issuer_did)
    index = {p: secrets.randbelow(131_072) for p in ("revocation", "suspension")}
    entries = [
        status_list_entry(list_credential_url=lists.url(p), index=i, purpose=p)
        for p, i in index.items()
    ]
    credential = certification_credential(
        body=Body(issuer_did, "Example Certification Body", BASE),
        scheme=SCHEME,
        holder_name="Jane Doe",
        certificate_number="CWI-7K3M-9QX2-4",
        scope=[
            ScopeItem("UT2", "Ultrasonic testing, level 2", "Welds in steel, 6-40 mm"),
            ScopeItem("VT2", "Visual testing, level 2"),
        ],
        valid_from="2026-01-15T00:00:00Z",
        valid_until="2029-01-14T23:59:59Z",
        status_entries=entries,
    )
    started = time.perf_counter()
    signed = add_proof(credential, signer)
    took = (time.perf_counter() - started) * 1000
    click.echo(
        f"2. Certificate CWI-7K3M-9QX2-4 for Jane Doe signed with eddsa-rdfc-2022 "
        f"({took:.1f} ms, first of its shape)."
    )
    (data / "credential.json").write_text(json.dumps(signed, indent=2), encoding="utf-8")
    click.echo(
        f"   Saved to {data / 'credential.json'}. `certreg verify` on it answers STATUS_UNKNOWN:\n"
        "   its status lists live at an example address nobody can fetch, and the verifier\n"
        "   never guesses a status."
    )

    def verify(label: str, document: dict[str, Any]) -> None:
        verifier = Verifier(trusted_issuers={issuer_did}, status_fetcher=lists.published)
        result = verifier.verify_credential(document)
        click.echo(f"   {label:34} {result.verdict.value:15} {result.summary}")

    click.echo("3. An employer verifies it (signature, issuer key, dates, both status lists):")
    verify("as issued:", signed)
    lists.set("suspension", index["suspension"], 1)
    verify("after a suspension decision:", signed)
    lists.set("suspension", index["suspension"], 0)
    verify("after reinstatement:", signed)
    forged = json.loads(json.dumps(signed))
    forged["validUntil"] = "2035-01-14T23:59:59Z"
    verify("with its expiry date altered:", forged)
    lists.set("revocation", index["revocation"], 1)
    verify("after withdrawal:", signed)
    click.echo("\nAll of it is standard: W3C VC 2.0, Data Integrity, Bitstring Status List.")

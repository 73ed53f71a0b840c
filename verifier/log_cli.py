"""``certreg log verify`` (audit a whole published log) and ``certreg log monitor`` (follow a log
and list what is new for a certificate, a number or a scheme): what a holder, an accreditation
body or anyone else runs against a body's transparency log (docs/transparency.md).

Both read the log at a URL prefix (``https://cb.example/log/``) or in a folder (a ``certreg
publish`` bundle's ``log/``), with :func:`certreg.verifier.tlog.audit.audit_log`. Over the
network they follow the verifier's rules (HTTPS, no redirects, a deadline and a size limit per
file) and, because the URL is typed by whoever runs them and may come from anyone, connect to
public addresses only, unless a host is named with ``--unsafe-allow-http-host``.

Exit codes: 0 when everything checks, 1 when the log does not, 2 when it could not be checked
at all (bad options, the key not found).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from certreg.verifier.tlog.audit import AuditReport, LogSource
    from certreg.verifier.tlog.entry import Entry
    from certreg.verifier.tlog.note import Verifier

#: The file a state folder keeps the last checkpoint that checked in.
STATE_FILE = "checkpoint"
#: What ``log monitor`` keeps beside it: that checkpoint's tree frontier (so the next run reads
#: only the new entries), the filter, and the certifications the filter matched so far. A
#: frontier that is not the checkpoint's (a crash between the two writes, an edited file) is
#: ignored and the whole log read again: the files are a speed-up, never trusted.
MONITOR_FILE = "monitor.json"


def _source(location: str, unsafe_hosts: tuple[str, ...]) -> LogSource:
    from certreg.verifier.tlog.audit import FolderSource, HttpSource

    if location.startswith(("https://", "http://")):
        from certreg.verifier.did import HttpFetcher

        def fetcher_for(max_bytes: int) -> Callable[[str], bytes]:
            return HttpFetcher(
                max_bytes=max_bytes,
                unsafe_allow_http_hosts=unsafe_hosts,
                accept="text/plain, application/octet-stream",
                public_addresses_only=True,
            )

        return HttpSource(location, fetcher_for)
    folder = Path(location)
    if not folder.is_dir():
        raise click.UsageError(f"{location} is neither an https:// address nor a folder")
    return FolderSource(folder)


def _log_key(key: str | None, did: str | None, unsafe_hosts: tuple[str, ...]) -> Verifier:
    """The log's verifier key: given, or from the DID document's transparency-log service."""
    from certreg.verifier.tlog.errors import TlogError
    from certreg.verifier.tlog.note import parse_verifier_key

    if (key is None) == (did is None):
        raise click.UsageError("give the log's key with --key VKEY, or the body's --did DID")
    if did is not None:
        from certreg.verifier.did import DidResolutionError, DidResolver, FetchError, HttpFetcher
        from certreg.verifier.tlog.policy import log_service

        transport = HttpFetcher(
            unsafe_allow_http_hosts=unsafe_hosts,
            accept="application/did+json, application/json",
            public_addresses_only=True,
        )
        resolver = DidResolver(transport, unsafe_allow_http_hosts=unsafe_hosts)
        try:
            document = resolver.resolve(did)
        except (DidResolutionError, FetchError) as exc:
            raise click.UsageError(f"cannot read the DID document of {did}: {exc.reason}") from None
        _endpoint, key = log_service(document)
        if key is None:
            raise click.UsageError(f"the DID document of {did} names no transparency log key")
    assert key is not None
    try:
        return parse_verifier_key(key)
    except TlogError as exc:
        raise click.UsageError(f"the log key is malformed: {exc}") from None


def _witnesses(keys: tuple[str, ...]) -> list[Verifier]:
    from certreg.verifier.tlog.errors import TlogError
    from certreg.verifier.tlog.note import parse_verifier_key

    try:
        return [parse_verifier_key(k) for k in keys]
    except TlogError as exc:
        raise click.UsageError(f"a witness key is malformed: {exc}") from None


def _read_since(since: Path | None, state: Path | None) -> bytes | None:
    if since is not None:
        try:
            return since.read_bytes()
        except OSError as exc:
            raise click.UsageError(f"cannot read {since}: {exc.strerror or exc}") from None
    if state is not None and (state / STATE_FILE).is_file():
        return (state / STATE_FILE).read_bytes()
    return None


def _write(path: Path, text: str) -> None:
    """Write a state file whole, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _save_state(state: Path, report: AuditReport) -> None:
    """Keep the checkpoint that checked, for the next run."""
    _write(state / STATE_FILE, report.checkpoint_text)


def _read_monitor(state: Path, watch: dict[str, list[str]]) -> tuple[Any, set[str]]:
    """The frontier and matched certifications kept by the last run with the same filter."""
    from certreg.verifier.tlog.audit import Frontier

    try:
        kept = json.loads((state / MONITOR_FILE).read_text(encoding="utf-8"))
        if kept["watch"] != watch:
            return None, set()
        return Frontier.from_json(kept["frontier"]), {str(c) for c in kept["certs"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None, set()


def _quorum_problem(report: AuditReport, quorum: int) -> None:
    if report.checkpoint is not None and len(report.cosignatures) < quorum:
        report.problem(
            f"{len(report.cosignatures)} of the required {quorum} witnesses cosigned the checkpoint"
        )


_URL = click.argument("url", metavar="URL|FOLDER")
_KEY = click.option("--key", "key", metavar="VKEY", help="The log's verifier key (note format).")
_DID = click.option(
    "--did", "did", metavar="DID", help="Take the log key from this body's DID document."
)
_WITNESS = click.option(
    "--witness", "witness", multiple=True, metavar="VKEY", help="A witness's key (repeatable)."
)
_QUORUM = click.option(
    "--witness-quorum",
    "quorum",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="How many of the --witness keys must have cosigned the checkpoint.",
)
_JSON = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
_UNSAFE = click.option(
    "--unsafe-allow-http-host",
    "unsafe_hosts",
    multiple=True,
    metavar="HOST:PORT",
    help="UNSAFE: also fetch from this host over plain HTTP, and even if it is a private or "
    "local address (repeatable; tests and a log on your own network).",
)


@click.group("log")
def log_group() -> None:
    """Check a body's transparency log: audit it whole, or follow what is new."""


@log_group.command("verify")
@_URL
@_KEY
@_DID
@_WITNESS
@_QUORUM
@click.option(
    "--since",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A checkpoint seen before: the log must be consistent with it.",
)
@click.option(
    "--state",
    type=click.Path(file_okay=False, path_type=Path),
    help="A folder keeping the last checkpoint that checked (used as --since, then updated).",
)
@_JSON
@_UNSAFE
def log_verify_command(
    url: str,
    key: str | None,
    did: str | None,
    witness: tuple[str, ...],
    quorum: int,
    since: Path | None,
    state: Path | None,
    as_json: bool,
    unsafe_hosts: tuple[str, ...],
) -> None:
    """Audit the whole log at URL (its prefix, e.g. https://cb.example/log/) or in FOLDER.

    Verifies the checkpoint's signature, rebuilds every tile from the entries, checks that the
    root is the checkpoint's, parses every entry (a malformed one is named by its index) and,
    given a checkpoint seen before, checks the log only grew. Exits 0 only when all of it holds.
    """
    from certreg.verifier.tlog.audit import audit_log

    if quorum > len(witness):
        raise click.UsageError(f"a quorum of {quorum} needs at least {quorum} --witness keys")
    log_key = _log_key(key, did, unsafe_hosts)
    source = _source(url, unsafe_hosts)
    report = audit_log(
        source, log_key, witnesses=_witnesses(witness), since=_read_since(since, state)
    )
    _quorum_problem(report, quorum)
    if report.ok and state is not None:
        _save_state(state, report)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        for line in report.lines():
            click.echo(line)
    sys.exit(0 if report.ok else 1)


def _describe(index: int, entry: Entry) -> str:
    """``2026-03-12 suspend of CWI-7K3M-9QX2-4 (scheme cwi), entry 41``."""
    who = entry.number or f"certificate {entry.cert[:12]}…"
    return f"{entry.at[:10]} {entry.kind} of {who} (scheme {entry.scheme}), entry {index}"


@log_group.command("monitor")
@_URL
@click.option(
    "--state",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A folder keeping the last checkpoint seen (made on the first run).",
)
@_KEY
@_DID
@_WITNESS
@_QUORUM
@click.option(
    "--cert", "certs", multiple=True, metavar="HASH", help="A certification's cert id (repeatable)."
)
@click.option(
    "--credential",
    "credentials",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A credential file: the entries of its certification (repeatable).",
)
@click.option("--number", "numbers", multiple=True, help="A certificate number (repeatable).")
@click.option("--scheme", "schemes", multiple=True, help="A scheme's id (repeatable).")
@_JSON
@_UNSAFE
def log_monitor_command(
    url: str,
    state: Path,
    key: str | None,
    did: str | None,
    witness: tuple[str, ...],
    quorum: int,
    certs: tuple[str, ...],
    credentials: tuple[Path, ...],
    numbers: tuple[str, ...],
    schemes: tuple[str, ...],
    as_json: bool,
    unsafe_hosts: tuple[str, ...],
) -> None:
    """Follow the log at URL from the last size seen (kept in --state), check it only grew, and
    list the new entries for the given certification, number or scheme (all of them when no
    filter is given). The state moves on only when the whole log checks.
    """
    from certreg.verifier.tlog.audit import audit_log
    from certreg.verifier.tlog.entry import credential_hash
    from certreg.verifier.verify import InputError, load_document

    if quorum > len(witness):
        raise click.UsageError(f"a quorum of {quorum} needs at least {quorum} --witness keys")
    log_key = _log_key(key, did, unsafe_hosts)
    source = _source(url, unsafe_hosts)
    since = _read_since(None, state)

    wanted_certs = {c.lower() for c in certs}
    credential_hashes: set[str] = set()
    watch = {
        "certs": sorted(wanted_certs),
        "credentials": sorted(str(p.resolve()) for p in credentials),
        "numbers": sorted(numbers),
        "schemes": sorted(schemes),
    }
    frontier, matched = _read_monitor(state, watch)
    for path in credentials:
        try:
            credential_hashes.add(credential_hash(load_document(path.read_bytes())))
        except (OSError, InputError) as exc:
            raise click.UsageError(f"cannot read the credential {path}: {exc}") from None
    wanted_numbers, wanted_schemes = set(numbers), set(schemes)
    everything = not (wanted_certs or credential_hashes or wanted_numbers or wanted_schemes)
    # New entries of a certification are listed once any entry (old or new) shows they are
    # the holder's: a later credential's entry names the cert of the whole history.
    pending: dict[str, list[tuple[int, Entry]]] = {}
    start = [0]

    def on_entry(index: int, _data: bytes, entry: Entry | None) -> None:
        if entry is None:
            return
        if entry.credential in credential_hashes or entry.number in wanted_numbers:
            wanted_certs.add(entry.cert)
        if index < start[0]:
            return
        if everything or entry.scheme in wanted_schemes or entry.number in wanted_numbers:
            pending.setdefault("", []).append((index, entry))
        elif credential_hashes or wanted_numbers or wanted_certs:
            pending.setdefault(entry.cert, []).append((index, entry))

    if since is not None:
        from certreg.verifier.tlog.checkpoint import open_checkpoint

        opened = open_checkpoint(since, log_key)
        if opened.checkpoint is not None:
            start[0] = opened.checkpoint.size
    wanted_certs |= matched
    report = audit_log(
        source,
        log_key,
        witnesses=_witnesses(witness),
        since=since,
        on_entry=on_entry,
        resume=frontier,
    )
    _quorum_problem(report, quorum)
    found = sorted(
        item
        for cert, items in pending.items()
        if cert == "" or cert in wanted_certs
        for item in items
    )
    if report.ok:
        if report.frontier is not None:
            kept = {
                "watch": watch,
                "frontier": report.frontier.to_json(),
                "certs": sorted(wanted_certs - {c.lower() for c in certs}),
            }
            _write(state / MONITOR_FILE, json.dumps(kept, indent=1))
        _save_state(state, report)
    size = report.checkpoint.size if report.checkpoint is not None else None
    if as_json:
        out: dict[str, Any] = {
            "ok": report.ok,
            "from": start[0],
            "to": size,
            "entries": [{"index": i, **e.to_json()} for i, e in found] if report.ok else [],
            "audit": report.to_json(),
        }
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
    elif not report.ok:
        click.echo("The log does not check; nothing is listed and the state is kept as it was.")
        for line in report.lines():
            click.echo(line)
    else:
        if not found:
            click.echo(f"Nothing new that matches, from entry {start[0]} to {size}.")
        else:
            click.echo(f"New since entry {start[0]} (the log has {size} entries now):")
        for index, entry in found:
            click.echo(f"  {_describe(index, entry)}")
    sys.exit(0 if report.ok else 1)

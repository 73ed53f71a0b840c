"""``certreg sync DIR URL...``: fetch the keys and status lists of the bodies at URL... into the
folder DIR, for ``certreg verify --offline --cache DIR`` where there is no network
(docs/offline.md; :mod:`certreg.verifier.offline.sync` says what is checked).

The URLs are typed by whoever runs it, and the offline.json they serve names further URLs (the
status lists), so fetches reach public addresses only, over HTTPS, unless a host is named with
``--unsafe-allow-http-host`` (a test server or the demo on 127.0.0.1).

Exit codes: 0 when every body synced with every key and list, 1 when a body could not be synced
or something was left out, 2 for bad options.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click


@click.command("sync")
@click.argument("cache_dir", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.argument("urls", metavar="URL...", nargs=-1, required=True)
@click.option(
    "--unsafe-allow-http-host",
    "unsafe_hosts",
    multiple=True,
    metavar="HOST:PORT",
    help="UNSAFE: also fetch from this host over plain HTTP, and let it be a private or "
    "loopback address (repeatable): for a test server or the demo on 127.0.0.1.",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was synced as JSON.")
def sync_command(
    cache_dir: Path, urls: tuple[str, ...], unsafe_hosts: tuple[str, ...], as_json: bool
) -> None:
    """Fetch the keys and status lists of bodies into DIR, to verify their QR codes offline.

    Then `certreg verify --offline --cache DIR QR` needs no network.

    URL is a body's public address (its /offline.json is read) or the address of an
    offline.json. Every key is checked against the body's DID document and every status list's
    signature is verified before it is kept; a later sync of the same body replaces it.
    """
    from certreg.verifier.dates import format_datetime
    from certreg.verifier.offline.sync import SyncError, sync

    failed = False
    reports: list[dict[str, Any]] = []
    for url in urls:
        try:
            report = sync(cache_dir, url, unsafe_allow_http_hosts=unsafe_hosts)
        except SyncError as exc:
            failed = True
            reports.append({"source": url, "error": str(exc)})
            if not as_json:
                click.echo(f"✗ {url}: not synced: {exc}", err=True)
            continue
        failed = failed or not report.ok
        reports.append(
            {
                "source": report.source,
                "did": report.did,
                "name": report.name,
                "synced": format_datetime(report.synced),
                "keys": report.keys,
                "status_lists": report.lists,
                "problems": report.problems,
            }
        )
        if not as_json:
            mark = "✓" if report.ok else "!"
            click.echo(
                f"{mark} {report.name} ({report.did}): {report.keys} key(s), {report.lists} "
                f"status list(s), synced {format_datetime(report.synced)} from {report.source}"
            )
            for problem in report.problems:
                click.echo(f"  ! {problem}")
    if as_json:
        click.echo(json.dumps(reports, indent=2, ensure_ascii=False))
    sys.exit(1 if failed else 0)

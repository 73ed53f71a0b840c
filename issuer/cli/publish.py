"""``certreg publish DIR``: the static bundle for a CDN and any number of Datasette replicas.

Everything a verifier or a member of the public fetches, none of which needs the issuer:

- ``.well-known/did.json`` and ``did.json``: the did:web DID document (every key held);
- ``status/<list_id>``: each status list's latest signed version (the URL in every credential),
  ``status/versions/<list_id>/<n>``: every version ever signed (immutable);
- ``contexts/``: the pinned JSON-LD contexts, by file name and by URL path, and an index;
- ``offline.json``: the body's keys, status list addresses and schemes, what offline
  verifiers sync (:mod:`register.offline`, the document ``/offline.json`` serves);
- ``public.db``: an immutable snapshot of register.db (one clean file, no WAL),
  ``inspect-data.json`` (Datasette's precomputed table counts for it), ``metadata.json`` and
  ``datasette/`` (plugins, templates, static files) as found in ``register/``;
- ``README.txt`` (how to serve it) and ``SHA256SUMS``.

``certreg register serve DIR`` (``register.web``) serves the whole public site from it, with
no key and no issuer.db: the certificate pages, the share pages (pushed sealed into
register.db), the verify page and the register, besides the files above.

Never in the bundle: the lookup secret (``DATA/register-lookup.secret``) that number_lookup
records are found and sealed with. A replica that answers lookups by number needs a copy,
passed to it privately; README.txt and the command's output say how.

The bundle is built beside DIR and swapped in at the end: a sync that runs meanwhile copies the
previous bundle or this one, never half of one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from certreg import register as register_package
from certreg.contexts import context_file_bytes, pinned_contexts
from certreg.issuer.cli.common import data_option, open_body, plain_errors
from certreg.issuer.logfiles import LogFiles, ensure_log_key, with_log_service, write_log_files
from certreg.issuer.logwitnesses import witness_latest
from certreg.issuer.register_push import lookup_secret_path, rebuild
from certreg.issuer.service import CertificationBody
from certreg.keys.passphrase import PASSPHRASE_ENV
from certreg.keys.store import META_FILE, KeyStore
from certreg.register.offline import offline_document, offline_json
from certreg.verifier.tlog.note import Signer as NoteSigner

__all__ = ["build_bundle", "publish_command", "snapshot"]

REGISTER_DIR = Path(register_package.__file__).parent


def _json(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _log_signer(body: CertificationBody, data: Path) -> Callable[[], NoteSigner] | None:
    """The log key, when the passphrase is in the environment (publishing runs unattended:
    it never prompts). Without it the bundle holds the latest checkpoint already signed (by
    ``certreg serve`` or ``certreg log checkpoint``) and the tree it covers."""
    passphrase = os.environ.get(PASSPHRASE_ENV)
    if not passphrase or not (data / "keys" / META_FILE).is_file():
        return None
    return lambda: ensure_log_key(body.db, data / "keys", passphrase)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def snapshot(source: Path, target: Path) -> None:
    """A consistent copy of ``source`` as one self-contained file: VACUUM INTO reads it in one
    transaction (writers carry on meanwhile) and writes it compact, without free pages; the
    copy is then set to a rollback journal, so read-only and immutable readers need no -wal or
    -shm beside it."""
    target.unlink(missing_ok=True)
    conn = sqlite3.connect(source, timeout=30)
    try:
        conn.execute("VACUUM INTO ?", [str(target)])
    finally:
        conn.close()
    conn = sqlite3.connect(target)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        problem = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    if problem != "ok":
        raise click.ClickException(
            f"the register snapshot fails SQLite's integrity check: {problem}"
        )
    os.chmod(target, 0o444)  # immutable: a replica serves it with `datasette -i`


def _inspect(db_path: Path) -> dict[str, Any] | None:
    """Datasette's ``inspect`` data (table counts), so that an immutable replica never counts
    a million rows on a page view. None when Datasette is not installed."""
    try:
        from datasette.cli import inspect_
    except ImportError:  # pragma: no cover - datasette is a dependency of the register
        return None
    data = asyncio.run(inspect_([str(db_path)], None))
    for entry in data.values():
        entry["file"] = db_path.name
    return data


def build_bundle(
    body: CertificationBody, data: Path, out: Path, *, register_db: Path | None = None
) -> dict[str, int]:
    """Write the bundle into ``out`` (a new, empty directory). Returns what it holds."""
    counts = {"status_lists": 0, "status_versions": 0, "contexts": 0}
    info = body.info
    # The DID document: did:web only (a did:key is its own key and has no document to serve).
    if info["did"].startswith("did:web:") and (data / "keys" / META_FILE).is_file():
        document = _json(with_log_service(KeyStore(data / "keys").did_document(), body.db))
        _write(out / ".well-known" / "did.json", document)
        _write(out / "did.json", document)  # did:web:host:path resolves to /path/did.json
    # Status lists: the latest of each, and every version.
    lists = body.status_lists
    written: list[str] = []
    for list_id, version in body.db.execute(
        "SELECT id, version FROM status_lists ORDER BY id"
    ).fetchall():
        latest = lists.latest(list_id)
        if latest is None:
            continue
        _write(out / "status" / list_id, _json(latest))
        written.append(list_id)
        counts["status_lists"] += 1
        for n in range(1, version + 1):
            signed = lists.version(list_id, n)
            if signed is not None:
                _write(out / "status" / "versions" / list_id / str(n), _json(signed))
                counts["status_versions"] += 1
    # The transparency log: checkpoint, tiles and entry bundles, at the paths `certreg serve`
    # answers (a checkpoint is signed first if the log grew and the log key can be opened).
    # The body's witnesses are asked first, so that the bundle's checkpoint carries them.
    files = LogFiles(body.db, _log_signer(body, data))
    if files.checkpoint() is not None:
        witness_latest(files)
    counts.update(write_log_files(files, out / "log"))
    # Contexts, at both of the addresses `certreg serve` answers.
    index = []
    for url, entry in sorted(pinned_contexts().items()):
        raw = context_file_bytes(url)
        parts = urlsplit(url)
        by_url = (parts.netloc + parts.path).strip("/")
        _write(out / "contexts" / entry.file, raw)
        _write(out / "contexts" / by_url, raw)
        index.append(
            {
                "url": url,
                "file": f"/contexts/{entry.file}",
                "path": f"/contexts/{by_url}",
                "sha256": entry.sha256,
            }
        )
        counts["contexts"] += 1
    _write(out / "contexts" / "index.json", _json(index))
    # The register: an immutable snapshot, with what Datasette needs to serve it.
    source = register_db or data / "register.db"
    if not source.exists():
        rebuild(body, source)
    else:
        # Caught up first (a process may have died between a commit and its push): a
        # bundle is not published with rows missing. Raises RegisterBehind when it cannot.
        flush = getattr(body.on_change, "flush", None)
        if callable(flush) and Path(getattr(body.on_change, "path", "")) == source:
            flush()
    # Named public.db: Datasette names a database after its file, and certreg's metadata,
    # templates and plugin address the register as "public" (register/site.py DATABASE).
    snapshot(source, out / "public.db")
    # What offline verifiers sync (register.offline): built from the snapshot, as the keyless
    # site builds it from the same file, naming the lists written above.
    public = sqlite3.connect(f"file:{out / 'public.db'}?immutable=1", uri=True)
    try:
        offline = offline_document(public, written, now=body.clock())
    finally:
        public.close()
    _write(out / "offline.json", offline_json(offline))
    inspected = _inspect(out / "public.db")
    if inspected is not None:
        _write(out / "inspect-data.json", json.dumps(inspected, indent=2).encode())
    for name in ("metadata.json", "metadata.yml", "metadata.yaml"):
        if (REGISTER_DIR / name).is_file():
            shutil.copy2(REGISTER_DIR / name, out / name)
    if (REGISTER_DIR / "datasette").is_dir():
        shutil.copytree(
            REGISTER_DIR / "datasette",
            out / "datasette",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    sealed = _has_sealed_records(out / "public.db")
    counts["sealed"] = int(sealed)
    _write(
        out / "README.txt",
        _readme(info, out, sealed=sealed, secret=lookup_secret_path(body)).encode("utf-8"),
    )
    _write(out / "SHA256SUMS", _sums(out).encode("utf-8"))
    return counts


def _sums(root: Path) -> str:
    lines = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{digest}  {path.relative_to(root).as_posix()}")
    return "\n".join(lines) + "\n"


def _has_sealed_records(db_path: Path) -> bool:
    conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return bool(conn.execute("SELECT EXISTS (SELECT 1 FROM lookup)").fetchone()[0])
    finally:
        conn.close()


def _readme(info: dict[str, Any], out: Path, *, sealed: bool, secret: Path) -> str:
    holds = (
        "public.db holds such records."
        if sealed
        else "public.db holds none yet (no scheme is published by number only)."
    )
    has_meta = (out / "metadata.json").exists()
    has_plugins = (out / "datasette" / "plugins").is_dir()
    has_templates = (out / "datasette" / "templates").is_dir()
    has_static = (out / "datasette" / "static").is_dir()
    datasette = "datasette serve -i public.db --inspect-file inspect-data.json"
    if has_meta:
        datasette += " --metadata metadata.json"
    if has_plugins:
        datasette += " --plugins-dir datasette/plugins"
    if has_templates:
        datasette += " --template-dir datasette/templates"
    if has_static:
        datasette += " --static static:datasette/static"
    datasette += (
        " --setting default_page_size 50 --setting max_returned_rows 1000"
        " --setting sql_time_limit_ms 1000 --setting allow_facet off"
        " --setting suggest_facets off --setting allow_download off"
    )
    return f"""certreg public bundle of {info["legal_name"]}
DID: {info["did"]}
Public URL: {info["public_url"]}

Everything here is public. Serve it at {info["public_url"]} (the folder is the site's root).

0. The whole public site, on a machine with no key and no issuer.db

       certreg register serve /path/to/this/folder --host 127.0.0.1 --port 8080

   serves, from this folder alone, every address a certificate, its QR code or a share link
   prints (/c/<number> with its QR codes and PDF, /share/<token>, /verify), the register at
   /register/, and the files below. Put a TLS proxy in front, at the public URL. Or serve
   the parts yourself, as 1 to 3 say.

1. Static files (any web server or CDN)

   .well-known/did.json, did.json     the DID document        Content-Type: application/json
   status/<list>                      latest status lists     application/json, max-age 300
   status/versions/<list>/<n>         every signed version    immutable
   contexts/...                       pinned JSON-LD contexts application/ld+json, immutable
   offline.json                       for offline verifiers   application/json, max-age 300,
                                                              Access-Control-Allow-Origin *

   Credentials point at {info["public_url"]}/status/<list>. The issuer re-signs each list
   at least every two days (`certreg serve`, or `certreg status refresh` from cron): publish
   again after each refresh, or verifiers will find the lists expired.
   `certreg serve` also answers /status/<list>/versions/<n>; to keep that address, add a
   rewrite, e.g. nginx:

       location /status/ {{
           default_type application/json;
           add_header Cache-Control "public, max-age=300";
       }}
       location ~ ^/status/([a-z]+-[0-9]+)/versions/([0-9]+)$ {{
           default_type application/json;
           try_files /status/versions/$1/$2 =404;
       }}
       location /contexts/ {{ default_type application/ld+json; }}

2. The register (any number of Datasette replicas, each with this same folder)

   public.db is an immutable snapshot of register.db: serve it read-only, in immutable
   mode, which lets Datasette skip locking and use the precomputed counts:

       {datasette}

   Put the replicas behind the CDN at /register (--setting base_url /register/) and cache
   their pages for a few minutes. A newer bundle replaces the whole folder; restart the
   replicas on it (immutable files are never re-read).

3. Lookups by number (schemes published "by number only")

   {holds}
   They are found and opened with the body's lookup secret, which is NOT in this folder
   (whoever downloads public.db must not be able to try numbers). A replica without it
   answers every such number "not published". Give each replica a copy, privately, once:

       # on the issuer's machine: the file is {secret}
       install -m 0640 -o root -g datasette {secret.name} /etc/certreg/{secret.name}
       # on the replica, in the environment of the Datasette process:
       CERTREG_LOOKUP_SECRET_FILE=/etc/certreg/{secret.name} {datasette}

   The file must not be readable by others (mode 0600 or 0640): certreg refuses it
   otherwise. It changes only if the issuer's copy is lost (then the register is rebuilt
   with a new one, and every replica needs the new file). Never put it in this folder, in
   a CDN, in metadata.json or in a container image that is published.

SHA256SUMS lists every file with its sha256 (`sha256sum -c SHA256SUMS`).
"""


@click.command("publish")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@data_option
@click.option(
    "--register-db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The live register to snapshot (default: DATA/register.db; rebuilt if missing).",
)
def publish_command(directory: Path, data: Path, register_db: Path | None) -> None:
    """Write the static bundle (DID document, status lists, contexts, an immutable register.db
    with its Datasette metadata) into DIRECTORY, replacing what was there."""
    body = open_body(data)
    directory = directory.resolve()
    directory.parent.mkdir(parents=True, exist_ok=True)
    building = directory.with_name(f".{directory.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(mode=0o755)
    try:
        with plain_errors():
            counts = build_bundle(body, data, building, register_db=register_db)
        old = directory.with_name(f".{directory.name}.old-{os.getpid()}")
        if directory.exists():
            os.replace(directory, old)
        os.replace(building, directory)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    click.echo(
        f"published to {directory}: {counts['status_lists']} status lists "
        f"({counts['status_versions']} versions), {counts['contexts']} contexts, "
        f"public.db (the register), the transparency log ({counts['log_entries']} entries); "
        "see README.txt there"
    )
    if counts.get("sealed"):
        click.echo(
            "number_lookup records: replicas answer lookups by number only with the lookup "
            f"secret {lookup_secret_path(body)}, which is not in the bundle: copy it to each "
            "replica privately and set CERTREG_LOOKUP_SECRET_FILE (README.txt, step 3)"
        )

"""What the register publishes for offline checks: ``offline.json``, and which certificates
show their offline QR code.

``offline.json`` (format ``certreg-offline/1``) is what an offline verifier syncs before it
goes where there is no network: the body's DID and name, its key history (each key with the
``kid`` a CR1 payload names it by, :func:`certreg.verifier.offline.payload.key_id`, and when it
was revoked), the absolute URLs of every status list the body publishes, and its schemes with
their scope items' labels (a payload too long for its QR code carries the scope codes only)::

    {"format": "certreg-offline/1", "generated": "2026-11-28T18:00:00Z",
     "body": {"did": ..., "name": ..., "public_url": ...},
     "keys": [{"id": ..., "kid": "0123456789abcdef", "publicKeyMultibase": ..., "revoked": null}],
     "status_lists": ["https://cb.example/status/message-1"],
     "schemes": [{"code": ..., "version": "1", "name": ..., "scope": {"UT2": "..."}}]}

:func:`offline_document` builds it from register.db (four queries) and the ids of the status
lists served at ``/status/<id>``, which register.db does not hold: ``certreg serve`` names them
from issuer.db, the keyless site from its bundle's ``status/`` folder, ``certreg publish`` from
what it wrote. One builder for the three, so they publish the same document.

Nothing here is private: the DID, the keys, the list addresses and the schemes are on the
body's public site already. The status lists themselves are fetched at their URLs (signed
BitstringStatusListCredentials), not copied here.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from certreg.keys.multikey import MultikeyError, decode_public_key
from certreg.register.records import read_body
from certreg.verifier.dates import format_datetime
from certreg.verifier.offline.payload import PREFIX, key_id

__all__ = [
    "CACHE_CONTROL",
    "FORMAT",
    "HEADERS",
    "LIST_ID",
    "offline_document",
    "offline_json",
    "offline_qr_of",
]

FORMAT = "certreg-offline/1"
#: The addresses ``/status/<id>`` answers (``register.web.files.LIST_ID``).
LIST_ID = re.compile(r"[a-z]+-[0-9]{1,9}")
#: A verifier syncs it from another origin (the verify page of another body, a phone's app);
#: keys and lists change rarely, and a key revocation must reach verifiers within minutes.
CACHE_CONTROL = "public, max-age=300"
HEADERS = {"Access-Control-Allow-Origin": "*", "Cache-Control": CACHE_CONTROL}


def offline_qr_of(record: Any) -> str | None:
    """The offline payload (CR1 text) a certificate's page, PDF or share page shows, or None.

    It is ``record["offline_qr"]`` wherever the register keeps it: an attribute of the record
    (a share page's certification), or a key of its ``extra`` (a register record,
    :mod:`register.records`), or a key of a mapping. It is shown only beside the holder's
    name, which the payload holds: a record without a public name shows none, whatever it
    carries."""
    if isinstance(record, Mapping):
        text, name = record.get("offline_qr"), record.get("holder_name")
    else:
        text = getattr(record, "offline_qr", None)
        extra = getattr(record, "extra", None)
        if text is None and isinstance(extra, Mapping):
            text = extra.get("offline_qr")
        name = getattr(record, "holder_name", None)
    if not name or not isinstance(text, str) or not text.startswith(PREFIX):
        return None
    return text


def _keys(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    keys = []
    rows = conn.execute(
        "SELECT id, public_key_multibase, revoked FROM issuer_keys ORDER BY created, id"
    ).fetchall()
    for key_id_, multibase, revoked in rows:
        try:
            raw = decode_public_key(multibase)
        except MultikeyError:  # not an Ed25519 key: no CR1 payload can name it
            continue
        keys.append(
            {
                "id": key_id_,
                "kid": key_id(raw).hex(),
                "publicKeyMultibase": multibase,
                "revoked": revoked,
            }
        )
    return keys


def _schemes(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    labels: dict[str, dict[str, str]] = {}
    for scheme_id, code, label in conn.execute(
        "SELECT scheme_id, code, label FROM scope_items ORDER BY scheme_id, code"
    ):
        labels.setdefault(scheme_id, {})[code] = label
    return [
        {"code": code, "version": str(version), "name": name, "scope": labels.get(scheme_id, {})}
        for scheme_id, code, version, name in conn.execute(
            "SELECT id, code, version, name FROM schemes ORDER BY code, id"
        )
    ]


def offline_document(
    conn: sqlite3.Connection, status_lists: Iterable[str], *, now: datetime | None = None
) -> dict[str, Any]:
    """The ``offline.json`` document of the body in register.db ``conn``, whose status lists
    are served at ``{public_url}/status/<id>`` for each id of ``status_lists``. Raises
    LookupError when register.db names no body yet (nothing was pushed)."""
    body = read_body(conn)
    if body is None:
        raise LookupError("the register names no certification body yet")
    base = body.public_url.rstrip("/")
    ids = sorted({i for i in status_lists if LIST_ID.fullmatch(i)})
    return {
        "format": FORMAT,
        "generated": format_datetime(now or datetime.now(UTC)),
        "body": {"did": body.did, "name": body.legal_name, "public_url": body.public_url},
        "keys": _keys(conn),
        "status_lists": [f"{base}/status/{list_id}" for list_id in ids],
        "schemes": _schemes(conn),
    }


def offline_json(document: Mapping[str, Any]) -> bytes:
    """The document as served and published (UTF-8, indented: it is read by people too)."""
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"

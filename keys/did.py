"""did:key and did:web: identifiers, URLs and DID documents for Ed25519 Multikeys.

Everything here is offline and pure: no network, no files. A malformed DID, DID URL or DID
document raises :class:`DidError` with a message a CB operator or verifier can act on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit

from certreg.keys.errors import CertregError
from certreg.keys.multikey import MultikeyError, decode_public_key

DID_CONTEXT = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
# A DNS name or IPv4 address (did:web has no syntax for IPv6 literals or userinfo).
_HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


class DidError(CertregError, ValueError):
    """A DID, DID URL or DID document is malformed or does not say what was asked."""


# --- timestamps ----------------------------------------------------------------------------


def format_utc(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` for a timezone-aware datetime (sub-seconds dropped)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("the time must carry a time zone (e.g. datetime.now(UTC))")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str, what: str = "time") -> datetime:
    """Parse an ISO 8601 date-time that names its offset; a bare date or local time is refused
    because a key's validity instant must not depend on where the command ran."""
    if not isinstance(text, str):
        raise ValueError(f"{what} must be a string such as 2026-01-01T00:00:00Z")
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{what} {text!r} is not an ISO 8601 date-time such as 2026-01-01T00:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(
            f"{what} {text!r} has no time zone; add Z for UTC, e.g. 2026-01-01T00:00:00Z"
        )
    return moment.astimezone(UTC)


def _check_timestamp(value: str | None, what: str, *, optional: bool) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not _TIMESTAMP.match(value):
        raise DidError(f"{what} must look like 2026-01-01T00:00:00Z, got {value!r}")
    try:
        parse_utc(value, what)
    except ValueError as exc:
        raise DidError(str(exc)) from None


# --- did:key -------------------------------------------------------------------------------


def _check_ed25519(public_multibase: str, where: str) -> None:
    try:
        decode_public_key(public_multibase)
    except MultikeyError as exc:
        raise DidError(f"{where}: {exc} (only Ed25519 keys, z6Mk…, are supported)") from None


def did_key_from_public(public_multibase: str) -> str:
    """``did:key:z6Mk…`` for an Ed25519 ``publicKeyMultibase``."""
    _check_ed25519(public_multibase, "did:key")
    return f"did:key:{public_multibase}"


def did_key_verification_method(public_multibase: str) -> str:
    """``did:key:z6Mk…#z6Mk…``: the one verification method of an Ed25519 did:key."""
    return f"{did_key_from_public(public_multibase)}#{public_multibase}"


def did_key_document(did_or_did_url: str) -> dict[str, Any]:
    """Resolve an Ed25519 did:key (or one of its DID URLs) offline into its DID document."""
    if not isinstance(did_or_did_url, str) or not did_or_did_url.startswith("did:key:"):
        raise DidError(f"{did_or_did_url!r} is not a did:key DID")
    did, _, fragment = did_or_did_url.partition("#")
    public_multibase = did[len("did:key:") :]
    if not public_multibase or any(c in public_multibase for c in "/?:;"):
        raise DidError(f"{did_or_did_url!r} is not a did:key DID (expected did:key:z6Mk…)")
    _check_ed25519(public_multibase, did)
    if fragment and fragment != public_multibase:
        raise DidError(
            f"{did_or_did_url!r} names a verification method that {did} does not have "
            f"(its only one is #{public_multibase})"
        )
    vm_id = f"{did}#{public_multibase}"
    return {
        "@context": list(DID_CONTEXT),
        "id": did,
        "verificationMethod": [
            {
                "id": vm_id,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": public_multibase,
            },
        ],
        "authentication": [vm_id],
        "assertionMethod": [vm_id],
        "capabilityInvocation": [vm_id],
        "capabilityDelegation": [vm_id],
    }


# --- did:web -------------------------------------------------------------------------------


def did_web_from_url(url: str) -> str:
    """The did:web DID whose document lives at ``url`` (an https origin, optionally a path).

    ``https://cb.example`` → ``did:web:cb.example``;
    ``https://cb.example:8443/bodies/x`` → ``did:web:cb.example%3A8443:bodies:x``.
    """
    if not isinstance(url, str):
        raise DidError("the URL must be a string such as https://cb.example")
    parts = urlsplit(url.strip())
    if parts.scheme != "https":
        raise DidError(f"{url!r}: did:web needs an https:// URL")
    if parts.query or parts.fragment:
        raise DidError(f"{url!r}: a did:web URL cannot have a query or fragment")
    if "@" in parts.netloc:
        raise DidError(f"{url!r}: a did:web URL cannot carry a user name or password")
    host = (parts.hostname or "").lower()
    _check_host(host, url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 0 < port < 65536:
        raise DidError(f"{url!r}: the port is not a number between 1 and 65535")
    path = parts.path.removesuffix("/did.json").strip("/")
    if path == ".well-known":
        path = ""
    segments = path.split("/") if path else []
    for segment in segments:
        _check_segment(segment, url)
    msid = host + (f"%3A{port}" if port is not None else "")
    # Segments stay percent-encoded; characters outside the DID syntax get encoded here.
    return "did:web:" + ":".join([msid, *(quote(s, safe="-._~%") for s in segments)])


def did_web_to_url(did: str) -> str:
    """The HTTPS URL of a did:web DID's document (a DID URL's fragment is ignored)."""
    if not isinstance(did, str) or not did.startswith("did:web:"):
        raise DidError(f"{did!r} is not a did:web DID")
    bare = did.partition("#")[0]
    if "?" in bare or "/" in bare:
        raise DidError(f"{did!r}: a did:web DID cannot contain '/' or '?'")
    host_part, *segments = bare[len("did:web:") :].split(":")
    host_port = unquote(host_part)
    if "@" in host_port:
        raise DidError(f"{did!r}: a did:web DID cannot carry a user name or password")
    host, sep, port = host_port.partition(":")
    if not host:
        raise DidError(f"{did!r}: the host name is empty")
    _check_host(host, did)
    if sep and (not port.isdigit() or not 0 < int(port) < 65536):
        raise DidError(f"{did!r}: the port {port!r} is not a number between 1 and 65535")
    for segment in segments:
        _check_segment(segment, did)
    base = f"https://{host.lower()}" + (f":{port}" if sep else "")
    if not segments:
        return f"{base}/.well-known/did.json"
    return f"{base}/{'/'.join(segments)}/did.json"


def _check_host(host: str, where: str) -> None:
    if not host:
        raise DidError(f"{where!r}: the host name is empty")
    if not _HOST.match(host):
        raise DidError(f"{where!r}: {host!r} is not a valid host name")


def _check_segment(segment: str, where: str) -> None:
    decoded = unquote(segment)
    if not segment:
        raise DidError(f"{where!r}: the path has an empty segment")
    if decoded in (".", ".."):
        raise DidError(f"{where!r}: the path may not contain '.' or '..' segments")
    if any(c in decoded for c in "/\\?#@") or any(ord(c) < 0x21 for c in decoded):
        raise DidError(f"{where!r}: the path segment {segment!r} contains a forbidden character")


# --- key history and the did:web document --------------------------------------------------


@dataclass(frozen=True)
class KeyRecord:
    """One signing key in a body's history, as published (no secret here).

    ``expires`` is set when the key was retired by a routine rotation: proofs created after it
    are refused, earlier ones still verify. ``revoked`` is set when the key is declared
    compromised: signatures are refused from that instant on (and, because a proof's
    ``created`` is chosen by whoever holds the key, credentials it signed must be reissued).
    """

    id: str
    public_multibase: str
    created: str
    expires: str | None = None
    revoked: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.startswith("did:") or "#" not in self.id:
            raise DidError(
                f"key id {self.id!r} must be a DID URL with a fragment, "
                "e.g. did:web:cb.example#key-1"
            )
        _check_ed25519(self.public_multibase, self.id)
        _check_timestamp(self.created, "created", optional=False)
        _check_timestamp(self.expires, "expires", optional=True)
        _check_timestamp(self.revoked, "revoked", optional=True)

    @property
    def controller(self) -> str:
        """The DID this key belongs to (the id without its fragment)."""
        return self.id.partition("#")[0]

    @property
    def status(self) -> Literal["current", "retired", "compromised"]:
        if self.revoked is not None:
            return "compromised"
        if self.expires is not None:
            return "retired"
        return "current"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def verification_method(self) -> dict[str, Any]:
        """This key as a W3C ``Multikey`` verification method."""
        vm: dict[str, Any] = {
            "id": self.id,
            "type": "Multikey",
            "controller": self.controller,
            "publicKeyMultibase": self.public_multibase,
        }
        if self.expires is not None:
            vm["expires"] = self.expires
        if self.revoked is not None:
            vm["revoked"] = self.revoked
        return vm


def build_did_web_document(did: str, keys: Sequence[KeyRecord]) -> dict[str, Any]:
    """The did:web document publishing a body's whole key history.

    Every key appears under ``verificationMethod`` with its ``expires`` / ``revoked``
    (the Multikey property names of W3C Controlled Identifiers). ``assertionMethod`` and
    ``authentication`` list *every* key, compromised ones included: dropping a compromised key
    would make a verifier report "unknown key" where it should report "signed by a key
    compromised on …". Refusing signatures after ``revoked`` (and after ``expires``) is the
    verifier's job; that is what those properties are for.
    """
    did_web_to_url(did)  # validates the DID
    if "#" in did:
        raise DidError(f"{did!r} is a DID URL; give the DID without a fragment")
    if not keys:
        raise DidError(f"a DID document for {did} needs at least one key")
    seen: set[str] = set()
    for key in keys:
        if key.controller != did:
            raise DidError(f"key {key.id} does not belong to {did}")
        if key.id in seen:
            raise DidError(f"key {key.id} is listed twice")
        seen.add(key.id)
    ids = [key.id for key in keys]
    return {
        "@context": list(DID_CONTEXT),
        "id": did,
        "verificationMethod": [key.verification_method() for key in keys],
        "authentication": list(ids),
        "assertionMethod": list(ids),
    }


def verification_method_from_document(
    doc: Mapping[str, Any], vm_id: str, relationship: str
) -> dict[str, Any]:
    """The verification method ``vm_id`` of ``doc``, provided ``doc`` authorises it for
    ``relationship`` (e.g. ``"assertionMethod"``), embedded there or referenced by id.

    Relative references (``"#key-1"``) are resolved against the document's ``id``. Raises
    :class:`DidError` saying what is missing; the returned dict is a copy with an absolute id.
    """
    if not isinstance(doc, Mapping):
        raise DidError("the DID document is not a JSON object")
    doc_id = doc.get("id")
    if not isinstance(doc_id, str) or not doc_id.startswith("did:"):
        raise DidError("the DID document has no valid 'id'")
    if not isinstance(vm_id, str) or "#" not in vm_id:
        raise DidError(f"{vm_id!r} is not a verification method id (a DID URL with a fragment)")
    if vm_id.partition("#")[0] != doc_id:
        raise DidError(f"verification method {vm_id} does not belong to {doc_id}")

    def absolute(ref: Any, where: str) -> str:
        if not isinstance(ref, str) or not ref:
            raise DidError(f"{where} of {doc_id} has an entry without a valid id")
        return doc_id + ref if ref.startswith("#") else ref

    def entries(name: str) -> list[Any]:
        value = doc.get(name, [])
        if isinstance(value, (str, Mapping)):
            value = [value]
        if not isinstance(value, list):
            raise DidError(f"{name} of {doc_id} is not a list")
        return value

    defined = [
        vm
        for vm in entries("verificationMethod")
        if isinstance(vm, Mapping) and absolute(vm.get("id"), "verificationMethod") == vm_id
    ]
    if len(defined) > 1:
        raise DidError(f"{vm_id} is defined more than once in the DID document of {doc_id}")

    found: Mapping[str, Any] | None = None
    listed = False
    for entry in entries(relationship):
        if isinstance(entry, Mapping):
            if absolute(entry.get("id"), relationship) == vm_id:
                found, listed = entry, True
                break
        elif isinstance(entry, str):
            if absolute(entry, relationship) == vm_id:
                listed = True
                break
        else:
            raise DidError(
                f"{relationship} of {doc_id} has an entry that is neither an id nor an object"
            )
    if not listed:
        if defined:
            raise DidError(f"{vm_id} is not listed under {relationship} of {doc_id}")
        raise DidError(f"{vm_id} is not in the DID document of {doc_id}")
    if found is None:
        if not defined:
            raise DidError(
                f"{vm_id} is listed under {relationship} of {doc_id} "
                "but not defined under verificationMethod"
            )
        found = defined[0]

    vm = dict(found)
    vm["id"] = vm_id
    controller = vm.get("controller")
    if controller != doc_id:
        # Without this check a document could borrow someone else's key and speak for them.
        raise DidError(f"{vm_id} has controller {controller!r}, not {doc_id}")
    return vm

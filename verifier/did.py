"""DID resolution (did:key offline, did:web over HTTPS) and the key lookup for proofs.

The verifier fetches things named by the document it is checking, i.e. by whoever wrote it.
So every fetch is HTTPS only, never follows redirects, has a deadline and a size cap, and
plain HTTP exists only through an explicit ``unsafe_allow_http_hosts`` allow-list for tests, or,
for a verifier run on one's own machine (``certreg verify``), to the loopback interface
(``allow_loopback_http``): traffic that never leaves the machine.
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from certreg.keys.did import (
    DidError,
    did_key_document,
    did_web_to_url,
    verification_method_from_document,
)
from certreg.keys.errors import CertregError
from certreg.keys.keypair import PublicKey
from certreg.keys.multikey import MultikeyError, decode_public_key
from certreg.verifier.dataintegrity import KeyLookup, ProofError
from certreg.verifier.result import plain_date

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "MAX_SAFE_INTEGER",
    "DidResolutionError",
    "DidResolver",
    "FetchError",
    "HttpFetcher",
    "Transport",
    "is_loopback_host",
    "json_value_problem",
    "key_lookup_for",
    "parse_json_object",
    "proof_controller",
]

#: ``url -> response body``; raise :class:`FetchError` (or anything) when it cannot be had.
Transport = Callable[[str], bytes]

DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_BYTES = 256 * 1024
Clock = Callable[[], datetime]

#: Largest integer JSON carries exactly between programs (RFC 7493 §2.2, I-JSON): beyond it a
#: JavaScript verifier reads another number than Python does, and JCS (RFC 8785) cannot write it.
MAX_SAFE_INTEGER = 2**53 - 1

# A host whose last label is a number is an IPv4 address to URL parsers and to inet_aton
# (WHATWG URL "ends in a number"): 2130706433, 0x7f.1, 0177.0.0.1 all mean 127.0.0.1.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")


def utc_now() -> datetime:
    return datetime.now(UTC)


class FetchError(CertregError):
    """A URL could not be fetched within the verifier's limits. ``reason`` is plain words;
    ``not_found`` says the server answered 404 (a log's proof endpoint answers so for a
    credential it does not hold, and a missing tile is not the same as an unreachable log);
    ``retry_after``, that it answered 503 with ``Retry-After`` seconds."""

    def __init__(
        self, reason: str, *, not_found: bool = False, retry_after: int | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.not_found = not_found
        #: A 503's ``Retry-After`` (seconds): the server asks to be asked again then (a log
        #: that has not yet signed the checkpoint holding an entry answers so).
        self.retry_after = retry_after


class DidResolutionError(CertregError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class HttpFetcher:
    """GET a URL with the verifier's safety limits.

    - HTTPS only, except hosts (``host`` or ``host:port``) in ``unsafe_allow_http_hosts``, and,
      with ``allow_loopback_http``, a loopback host (127.0.0.0/8, ::1, ``localhost``) that
      resolves to loopback addresses only: the connection is then made to a checked loopback
      address, so a name cannot send plain HTTP off the machine (see ``_network._LoopbackOnly``);
    - no redirects (a redirect could take a did:web lookup to another domain);
    - ``timeout`` seconds for the whole exchange, not just per read (a server dripping one byte
      a second cannot hold the verifier);
    - at most ``max_bytes`` of (decoded) body, refused beyond, streamed so nothing bigger is
      ever held in memory;
    - with ``public_addresses_only`` (a server verifying what anyone submits): connect only to
      public addresses. A submitted credential names the URLs of its status lists and its
      issuer's DID, so without this a public verify endpoint can be made to request the
      server's own network (SSRF). The host is resolved once, every address checked, and the
      connection made to a checked address, so a name that resolves differently a moment
      later (DNS rebinding) gains nothing; TLS still verifies the certificate for the name.
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        unsafe_allow_http_hosts: Collection[str] = (),
        accept: str = "application/json",
        public_addresses_only: bool = False,
        allow_loopback_http: bool = False,
    ) -> None:
        if public_addresses_only and allow_loopback_http:
            # A server verifying what anyone submits must never reach its own machine.
            raise ValueError("public_addresses_only and allow_loopback_http exclude each other")
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.unsafe_allow_http_hosts = frozenset(h.lower() for h in unsafe_allow_http_hosts)
        self.accept = accept
        self.public_addresses_only = public_addresses_only
        self.allow_loopback_http = allow_loopback_http

    def _listed(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.netloc.lower() in self.unsafe_allow_http_hosts or (
            (parts.hostname or "").lower() in self.unsafe_allow_http_hosts
        )

    def _loopback_http(self, url: str) -> bool:
        """Plain HTTP allowed by the loopback rule (and not by the explicit allow-list)."""
        parts = urlsplit(url)
        return (
            self.allow_loopback_http
            and parts.scheme == "http"
            and is_loopback_host(parts.hostname or "")
            and not self._listed(url)
        )

    def allows_http(self, url: str) -> bool:
        return self._listed(url) or self._loopback_http(url)

    def __call__(self, url: str) -> bytes:
        if not isinstance(url, str):
            raise FetchError("the address to fetch is not a string")
        try:
            parts = urlsplit(url)
            hostname = parts.hostname
            parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
        except ValueError:
            raise FetchError(f"{_shown(url)} is not a well-formed address") from None
        if parts.scheme == "http" and not self.allows_http(url):
            raise FetchError(f"{_shown(url)} is plain HTTP; only HTTPS addresses are fetched")
        if parts.scheme not in ("https", "http") or not hostname:
            raise FetchError(f"{_shown(url)} is not an https:// address")
        if parts.username or parts.password:
            raise FetchError(f"{_shown(url)} carries a user name or password; refused")
        _check_numeric_host(hostname)
        # httpx (with httpcore) is loaded on the first fetch, not with the verifier: a
        # credential whose key and status need no network verifies without it.
        from certreg.verifier import _network

        return _network.get(self, url)


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` names this machine's loopback interface: an address in 127.0.0.0/8,
    ``::1``, or ``localhost`` (RFC 6761: it never leaves the machine; the connection check
    still verifies what it resolves to). The hosts W3C Secure Contexts treats as potentially
    trustworthy over plain HTTP, for the same reason."""
    host = host.lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if not ip.is_global:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv6 address that carries an IPv4 one (mapped ::ffff:a.b.c.d, 6to4, Teredo) is
        # only as public as the address it carries.
        embedded = [ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None]
        return all(v4 is None or v4.is_global for v4 in embedded)
    return True


def _check_numeric_host(host: str) -> None:
    """Refuse an IPv4 address written any way but four decimal numbers (``0177.0.0.1``,
    ``127.000.000.001``, ``2130706433``, ``0x7f.1``): such spellings exist to slip past address
    checks, and libraries disagree about what they mean."""
    if ":" in host:
        return  # an IPv6 address: the connection check judges the address it carries
    labels = host.lower().rstrip(".").split(".")
    if not _NUMERIC_LABEL.fullmatch(labels[-1]):
        return  # a host name
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        raise FetchError(
            f"the host {_shown(host)} is an IP address written in an unusual form (octal, "
            "hexadecimal, leading zeros or fewer than four parts); write it as four decimal "
            "numbers, like 192.0.2.1"
        ) from None


def _shown(value: str, limit: int = 200) -> str:
    """A value from a document, safe to repeat: printable, without lone surrogates, short."""
    text = value.encode("utf-8", "backslashreplace").decode("utf-8")
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_json_object(data: bytes | str | Mapping[str, Any], what: str) -> dict[str, Any]:
    """Parse fetched bytes as one JSON object (duplicate keys, NaN and non-objects refused)."""
    if isinstance(data, Mapping):
        return dict(data)

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise ValueError(f"the key {key!r} appears twice")
            out[key] = value
        return out

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
        value = json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constant)
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{what} is not valid JSON (it is not UTF-8 text: byte {exc.object[exc.start]:#04x} "
            f"at position {exc.start})"
        ) from None
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{what} is not valid JSON ({exc.msg.lower()} at line {exc.lineno} column {exc.colno})"
        ) from None
    except RecursionError:
        raise ValueError(f"{what} is not valid JSON (it is nested too deeply)") from None
    except (ValueError, TypeError) as exc:
        if "integer string conversion" in str(exc):  # Python's 4,300-digit guard
            raise ValueError(
                f"{what} is not valid JSON that a verifier can read (it holds a number "
                "thousands of digits long)"
            ) from None
        raise ValueError(f"{what} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} is not a JSON object")
    problem = json_value_problem(value, what, text=text)
    if problem is not None:
        raise ValueError(problem)
    return value


def json_value_problem(
    root: Any, what: str, *, text: str | None = None, integers: bool = True
) -> str | None:
    """Why ``root`` (parsed JSON, nesting already bounded) cannot be verified as written, in
    plain words with the place (``credentialSubject.name``), or None.

    - a lone surrogate (``"\\ud800"`` in JSON text) in a string or a key: not Unicode, so no
      UTF-8 canonical form exists and no two programs agree on what was signed;
    - an integer beyond ±:data:`MAX_SAFE_INTEGER`: JavaScript verifiers read another number
      (RFC 7493 §2.2) and JCS cannot write it.

    ``text``, the JSON text ``root`` was parsed from, lets both checks skip the walk when the
    text cannot hold either (a scan in C); ``integers=False`` when the caller checked them.
    """
    found = None
    if integers and (text is None or _LONG_DIGITS.search(text)):
        found = _first(root, _is_unsafe_integer)
    if found is not None:
        value, path, _ = found
        digits = str(abs(value))
        shown = digits if len(digits) <= 24 else f"{digits[:12]}… ({len(digits)} digits)"
        sign = "-" if value < 0 else ""
        return (
            f"{what} contains the number {sign}{shown} at {path}, larger than JSON numbers can "
            f"carry exactly between programs (at most {MAX_SAFE_INTEGER:,}): verifiers would "
            "not agree on what was signed"
        )
    if (
        text is not None
        and "\\u" not in text
        and (text.isascii() or not _RAW_SURROGATE.search(text))
    ):
        return None  # no escape that could be \\uD800-\\uDFFF, no raw surrogate in the text
    try:
        # One pass in C over every string and key; the slow search below runs only on failure.
        json.dumps(root, ensure_ascii=False).encode("utf-8")
        return None
    except UnicodeEncodeError:
        pass
    found = _first(root, _has_surrogate, keys=True)
    if found is None:  # pragma: no cover - the encoder failed, so there is one
        return f"{what} contains text that is not valid Unicode (a lone surrogate)"
    value, path, is_key = found
    code = next(ord(c) for c in value if 0xD800 <= ord(c) <= 0xDFFF)
    where = f"in the name of the key at {path}" if is_key else f"at {path}"
    return f"{what} contains a lone surrogate (\\u{code:04x}) {where}, which is not valid Unicode"


# 16 digits or more: the shortest integer beyond MAX_SAFE_INTEGER (2**53 - 1, 16 digits).
_LONG_DIGITS = re.compile(r"[0-9]{16}")
# A raw surrogate in a str (bytes decoded as strict UTF-8 never hold one).
_RAW_SURROGATE = re.compile("[\ud800-\udfff]")


def _is_unsafe_integer(value: Any) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    )


def _has_surrogate(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def _first(
    root: Any, wanted: Callable[[Any], bool], *, keys: bool = False
) -> tuple[Any, str, bool] | None:
    """The first value (or, with ``keys``, key) for which ``wanted`` holds, with its path;
    iterative, so any depth the parser accepted is walked."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            if keys and isinstance(key, str) and wanted(key):
                return key, _path_words((*path, key)), True
            if isinstance(value, dict | list):
                stack.append((value, (*path, key)))
            elif wanted(value):
                return value, _path_words((*path, key)), False
    return None


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_@$-]{1,64}")


def _path_words(path: tuple[str | int, ...]) -> str:
    """``credentialSubject.achievement[0].name``; odd keys quoted with JSON escapes."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            quoted = json.dumps(part[:64])  # ensure_ascii: a surrogate shows as \ud800
            out += f"[{quoted}]"
    return out or "the top level"


@dataclass
class _Cached:
    document: dict[str, Any]
    until: float


class DidResolver:
    """Resolve DIDs to DID documents, with a small time-bounded cache.

    did:key is computed offline. did:web is fetched from the https URL the did:web method
    defines; the document must be a JSON object whose ``id`` is exactly the DID.
    ``unsafe_allow_http_hosts`` lets tests serve did:web documents over plain HTTP from the
    named hosts; never use it in production (a network attacker could then swap keys).
    """

    def __init__(
        self,
        transport: Transport | None = None,
        *,
        unsafe_allow_http_hosts: Collection[str] = (),
        cache_seconds: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.unsafe_allow_http_hosts = frozenset(h.lower() for h in unsafe_allow_http_hosts)
        self.transport: Transport = transport or HttpFetcher(
            unsafe_allow_http_hosts=self.unsafe_allow_http_hosts,
            accept="application/did+json, application/json",
        )
        self.cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._cache: dict[str, _Cached] = {}

    def url_for(self, did: str) -> str:
        url = did_web_to_url(did)
        parts = urlsplit(url)
        if parts.netloc.lower() in self.unsafe_allow_http_hosts or (
            (parts.hostname or "").lower() in self.unsafe_allow_http_hosts
        ):
            return urlunsplit(("http", *parts[1:]))
        return url

    def resolve(self, did: str) -> dict[str, Any]:
        """The DID document of ``did`` (a DID, not a DID URL), or :class:`DidResolutionError`."""
        if not isinstance(did, str) or not did.startswith("did:") or "#" in did:
            raise DidResolutionError(f"{did!r} is not a DID")
        cached = self._cache.get(did)
        if cached is not None and cached.until > self._monotonic():
            return cached.document
        if did.startswith("did:key:"):
            try:
                doc = did_key_document(did)
            except DidError as exc:
                raise DidResolutionError(str(exc)) from None
        elif did.startswith("did:web:"):
            doc = self._resolve_web(did)
        else:
            method = did.split(":")[1] if did.count(":") >= 2 else did
            raise DidResolutionError(
                f"{did} uses the DID method {method!r}; only did:web and did:key are supported"
            )
        self._cache[did] = _Cached(doc, self._monotonic() + self.cache_seconds)
        return doc

    def _resolve_web(self, did: str) -> dict[str, Any]:
        try:
            url = self.url_for(did)
        except DidError as exc:
            raise DidResolutionError(str(exc)) from None
        try:
            body = self.transport(url)
        except FetchError as exc:
            raise DidResolutionError(
                f"the DID document of {did} could not be fetched: {exc.reason}"
            ) from None
        except Exception as exc:  # an injected transport may raise anything
            raise DidResolutionError(
                f"the DID document of {did} could not be fetched: {exc}"
            ) from None
        try:
            doc = parse_json_object(body, f"the DID document at {url}")
        except ValueError as exc:
            raise DidResolutionError(str(exc)) from None
        if doc.get("id") != did:
            raise DidResolutionError(
                f"the document at {url} is for {doc.get('id')!r}, not {did}; refused"
            )
        return doc


def _instant(value: Any, what: str) -> datetime:
    if not isinstance(value, str):
        raise ProofError(f"{what} is not a date-time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ProofError(f"{what} {value!r} is not a date-time") from None
    if moment.tzinfo is None:
        raise ProofError(f"{what} {value!r} has no time zone")
    return moment.astimezone(UTC)


def proof_controller(proof: Any) -> str | None:
    """The DID whose key a proof names (its ``verificationMethod`` before the ``#``), or None.
    Only a claim until the proof verifies: :func:`key_lookup_for` resolves that DID and takes
    the key from its document, so a proof cannot borrow another party's name."""
    if not isinstance(proof, Mapping):
        return None
    vm_id = proof.get("verificationMethod")
    if not isinstance(vm_id, str) or "#" not in vm_id:
        return None
    did = vm_id.partition("#")[0]
    return did if did.startswith("did:") else None


def key_lookup_for(controller: str | None, resolver: DidResolver) -> KeyLookup:
    """A :data:`KeyLookup` accepting only keys of ``controller`` (the issuer, or the holder of
    a presentation), listed in its DID document under the proof's purpose, and neither retired
    (``expires``) nor compromised (``revoked``) at the proof's ``created`` time.

    ``controller`` None: the key of whichever DID the proof names, from *that* DID's document
    (did:key offline, did:web through the resolver's guarded fetch), under the same rules. It
    is for the other proofs of a proof set or chain (vc-data-integrity "Verify Proof Sets and
    Chains": every proof must verify); whether such a proof is the issuer's is the caller's
    question (:func:`proof_controller`), never answered by this lookup."""

    def lookup(proof: Mapping[str, Any]) -> PublicKey:
        vm_id = proof.get("verificationMethod")
        if not isinstance(vm_id, str) or "#" not in vm_id:
            raise ProofError("the proof does not name its key (verificationMethod)")
        did = vm_id.partition("#")[0]
        if controller is not None and did != controller:
            raise ProofError(f"the proof was made with a key of {did}, not of {controller}")
        purpose = proof.get("proofPurpose")
        if not isinstance(purpose, str) or purpose not in ("assertionMethod", "authentication"):
            raise ProofError(f"the proof purpose {purpose!r} is not one certreg accepts")
        try:
            doc = resolver.resolve(did)
            vm = verification_method_from_document(doc, vm_id, purpose)
        except DidResolutionError as exc:
            raise ProofError(exc.reason) from None
        except DidError as exc:
            raise ProofError(f"{exc}: the key is not authorised for {purpose}") from None
        if vm.get("type") != "Multikey":
            raise ProofError(f"{vm_id} is of type {vm.get('type')!r}; only Multikey is supported")
        try:
            raw = decode_public_key(vm.get("publicKeyMultibase"))
        except MultikeyError as exc:
            raise ProofError(f"{vm_id}: {exc}") from None
        _check_key_dates(vm, proof, vm_id)
        return PublicKey(raw)

    return lookup


def _check_key_dates(vm: Mapping[str, Any], proof: Mapping[str, Any], vm_id: str) -> None:
    revoked = vm.get("revoked")
    expires = vm.get("expires")
    if revoked is None and expires is None:
        return
    if proof.get("created") is None:
        # Without a date we cannot tell whether it was signed before the key was retired.
        raise ProofError(
            f"{vm_id} was retired or compromised and the proof has no 'created' "
            "date, so it cannot be shown to predate that"
        )
    created = _instant(proof.get("created"), "the proof's 'created'")
    if revoked is not None:
        revoked_at = _instant(revoked, f"the 'revoked' date of {vm_id}")
        if created >= revoked_at:
            raise ProofError(
                f"the signing key was reported compromised on "
                f"{plain_date(revoked_at)}; signatures from then on are refused"
            )
    if expires is not None:
        expires_at = _instant(expires, f"the 'expires' date of {vm_id}")
        if created > expires_at:
            raise ProofError(
                f"the signing key was retired on {plain_date(expires_at)}, "
                "before this proof was made"
            )

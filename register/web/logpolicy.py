"""The transparency-log policy of the public verify services (issue 13; docs/transparency.md):
the verify page's "Also check that the body's transparency log holds this certificate" and the
VC API's ``certregRequireLog`` option, in one place.

- :func:`log_policy` turns what a person or a program gave (witness keys, a quorum, a tlog-proof)
  into a :class:`~certreg.verifier.tlog.policy.LogPolicy`, or says in words what is wrong with it
  (:class:`PolicyInputError`: the page shows it, the VC API answers 400 with it).
- :func:`log_fetcher` is how an anonymous verification fetches a proof: at most
  :data:`MAX_LOG_FETCHES` documents, each within :data:`LOG_FETCH_SECONDS` and
  :data:`MAX_LOG_BYTES`, from public addresses only, and inside the verification's fetch budget
  (:func:`~certreg.register.web.ratelimit.bounded_fetcher`), like its DID documents and status
  lists. The body's own log (``<public_url>/log/``) is asked in process, through the app that
  serves it, as its own DID document is read locally: the service need not reach its own
  public address. A site that serves no ``/log/proof`` (the keyless public site: a published
  bundle holds tiles, not an index of credentials) says so, rather than "not in the log".
- :func:`with_log_policy` is the site's one verifier under that policy, for one request.

A log that answers 503 (the entry is written, its checkpoint not yet signed) is asked once more at
once, never waited for: an anonymous request does not hold a worker for the log's interval; the
answer is then STATUS_UNKNOWN, "ask again in N s".
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Collection, Sequence
from typing import Any
from urllib.parse import urlsplit

import anyio.from_thread
import httpx

from certreg.keys.errors import CertregError
from certreg.register.web.ratelimit import bounded_fetcher
from certreg.verifier import Verifier
from certreg.verifier.did import FetchError, HttpFetcher
from certreg.verifier.tlog.errors import TlogError
from certreg.verifier.tlog.note import parse_verifier_key
from certreg.verifier.tlog.policy import LogPolicy
from certreg.verifier.tlog.proof import MAX_PROOF_SIZE

__all__ = [
    "LOG_FETCH_SECONDS",
    "MAX_LOG_BYTES",
    "MAX_LOG_FETCHES",
    "MAX_WITNESS_KEYS",
    "PolicyInputError",
    "log_fetcher",
    "log_policy",
    "parse_witness_lines",
    "with_log_policy",
]

#: More witness keys than any real policy names; each one is a signature to check.
MAX_WITNESS_KEYS = 16
#: A note verifier key is short (name, '+', 8 hex digits, '+', base64 of 33 bytes).
MAX_KEY_LENGTH = 512
#: One proof, one more ask after a 503, and the entry bundle for a proof without its entry.
MAX_LOG_FETCHES = 3
#: Seconds for one fetch from a log (the whole exchange).
LOG_FETCH_SECONDS = 5.0
#: A proof, or an entry bundle of 256 entries (what :class:`~certreg.verifier.Verifier` allows).
MAX_LOG_BYTES = max(MAX_PROOF_SIZE, 256 * (2 + 4096))

Fetch = Callable[[str], bytes]


class PolicyInputError(CertregError, ValueError):
    """What is wrong with the log policy a person or a program gave, in words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_witness_lines(text: str) -> list[str]:
    """The witness keys of the page's text area: one per line, blank lines ignored."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def log_policy(
    witnesses: Sequence[str],
    quorum: int | None,
    *,
    proof: bytes | str | None = None,
    fetch: Fetch | None = None,
) -> LogPolicy:
    """The policy "in the issuer's log, cosigned by ``quorum`` of ``witnesses``" (all of them
    when ``quorum`` is None), with the holder's ``proof`` if given. Raises
    :class:`PolicyInputError` for a malformed key, too many keys, a quorum below 1 or above the
    number of keys, a quorum without keys, or a proof too large to be one."""
    if len(witnesses) > MAX_WITNESS_KEYS:
        raise PolicyInputError(
            f"at most {MAX_WITNESS_KEYS} witness keys are accepted here; {len(witnesses)} "
            "were given"
        )
    for number, key in enumerate(witnesses, 1):
        if not isinstance(key, str) or len(key) > MAX_KEY_LENGTH:
            raise PolicyInputError(f"witness key {number} is not a note verifier key")
        try:
            parse_verifier_key(key)
        except TlogError as error:
            raise PolicyInputError(
                f"witness key {number} is not a note verifier key (name+id+key, as `certreg "
                f"witness key` prints it): {error}"
            ) from None
    if quorum is None:
        quorum = len(witnesses)
    elif isinstance(quorum, bool) or not isinstance(quorum, int):
        raise PolicyInputError("the witness quorum is a whole number")
    elif not witnesses:
        raise PolicyInputError("a witness quorum needs witness keys: give at least one")
    elif quorum < 1:
        raise PolicyInputError(
            "the witness quorum is at least 1 (give no witness keys to require none)"
        )
    elif quorum > len(witnesses):
        raise PolicyInputError(
            f"a quorum of {quorum} cannot be met by {len(witnesses)} witness "
            f"key{'s' if len(witnesses) != 1 else ''}"
        )
    if proof is not None and len(proof) > MAX_PROOF_SIZE:
        raise PolicyInputError(f"a log proof is at most {MAX_PROOF_SIZE:,} bytes")
    try:
        return LogPolicy(witnesses=list(witnesses), quorum=quorum, proof=proof, fetch=fetch)
    except (ValueError, TlogError) as error:  # checked above; the policy's own words if not
        raise PolicyInputError(str(error)) from None


def with_log_policy(verifier: Verifier, policy: LogPolicy) -> Verifier:
    """``verifier`` (its trust, resolver, caches, records and language) requiring ``policy``,
    for one request: the site's verifier itself is left as it is."""
    other = copy.copy(verifier)
    other.require_log = policy
    return other


def log_fetcher(
    app: Any, public_url: str | None, unsafe_allow_http_hosts: Collection[str] = ()
) -> Fetch:
    """How one anonymous verification fetches log proofs (see the module's docstring)."""
    network = bounded_fetcher(
        HttpFetcher(
            timeout=LOG_FETCH_SECONDS,
            max_bytes=MAX_LOG_BYTES,
            unsafe_allow_http_hosts=unsafe_allow_http_hosts,
            accept="text/plain",
            public_addresses_only=True,
        )
    )
    own_log = public_url.rstrip("/") + "/log/" if public_url else None
    count = 0
    lock = threading.Lock()

    def fetch(url: str) -> bytes:
        nonlocal count
        with lock:
            count += 1
            if count > MAX_LOG_FETCHES:
                raise FetchError(
                    f"{url} was not fetched: one verification here asks a log at most "
                    f"{MAX_LOG_FETCHES} times"
                )
        if own_log is not None and url.startswith(own_log):
            return _in_process(app, url, len(own_log) - len("/log/"))
        data = network(url)
        return data if isinstance(data, bytes) else str(data).encode("utf-8")

    return fetch


def _serves(app: Any, path: str) -> bool:
    """Whether ``app`` has a route for ``path`` (as its OpenAPI document lists it: the app
    makes it once and keeps it)."""
    try:
        return path in app.openapi().get("paths", {})
    except Exception:  # not a FastAPI app: ask it, and take its answer
        return True


def _in_process(app: Any, url: str, origin_length: int) -> bytes:
    """GET the body's own log file at ``url`` from ``app`` itself (from a worker thread of its
    event loop), with the answers a network fetch would give."""
    parts = urlsplit(url)
    path = url[origin_length:]  # "/log/...": the app serves its log at its root
    route = urlsplit(path).path
    if route == "/log/proof" and not _serves(app, route):
        raise FetchError(
            "this site serves the log's tiles but no proofs (it is a published copy, with no "
            "index of credentials): give the certificate's tlog-proof file, from its share page"
        )

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        base = f"{parts.scheme}://{parts.netloc}"
        async with httpx.AsyncClient(transport=transport, base_url=base) as client:
            return await client.get(path, headers={"accept": "text/plain"})

    try:
        response = anyio.from_thread.run(get)
    except RuntimeError:  # not in a worker thread of an event loop (a direct call)
        raise FetchError(f"{url} could not be read in process") from None
    if response.status_code == 404:
        raise FetchError(f"{url} answered 404", not_found=True)
    if response.status_code == 503 and response.headers.get("retry-after", "").isdigit():
        raise FetchError(f"{url} answered 503", retry_after=int(response.headers["retry-after"]))
    if response.status_code != 200:
        raise FetchError(f"{url} answered {response.status_code}")
    if len(response.content) > MAX_LOG_BYTES:
        raise FetchError(f"{url} sent more than {MAX_LOG_BYTES:,} bytes")
    return response.content

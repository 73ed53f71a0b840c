"""Bounded work per anonymous request: per-client rate limits, verification slots, input limits.

Anyone may post a credential to ``/verify``, ``POST /credentials/verify`` or
``POST /presentations/verify``, and anyone may try share tokens and OpenID4VCI codes. Issue 7
showed one 165 KiB credential holding a core for 33 s. Three independent bounds now apply:

- **input limits** (:class:`PublicLimits`): a credential or presentation verified for an
  anonymous client is at most ``verify_max_bytes`` and ``verify_max_values`` JSON values (object
  members plus array items), with at most so many proofs, status entries and embedded
  credentials; anything larger is refused with 413 and the reason, before any JSON-LD work.
  The library and CLI keep their own, larger limits (``verifier.verify.MAX_INPUT_BYTES``);
  their cost grows linearly with the input (``verifier.canonicalize``), so this bound is what
  makes the worst accepted input cost well under a second (``bench/bench_verify_attack.py``);
- **verification slots** (:class:`WorkSlots`): at most ``verify_slots`` verifications run at
  once (one per core but one, so the register's pages keep a core); a request waits at most
  ``verify_wait_seconds`` for a slot, and at most ``verify_queue`` requests wait; beyond that,
  503 with ``Retry-After``;
- **what a verification fetches** (:func:`bounded_fetcher`): other issuers' DID documents and
  status lists of at most 1,000 values (a heavy list on the attacker's server would bring the
  heavy input in by the back door), at most ``verify_max_fetches`` documents within
  ``verify_fetch_seconds`` per verification; while it waits on another server a verification
  gives its slot up (at most ``verify_max_fetching`` at once), so a slow server holds no slot;
- **per-client rate limits** (:class:`RateLimiter`, token buckets keyed by the client's
  address, an IPv6 client by its /64): verification requests (``verify_rate``) and *failed*
  attempts at share tokens, wallet offers, pre-authorized codes and access tokens
  (``attempt_rate``), 429 with ``Retry-After``. Memory is bounded: at most ``max_clients``
  buckets are kept, the least recently seen forgotten first (a forgotten client starts again
  with a full bucket: forgetting errs towards serving).

The client's address is the connection's (``request.client``): behind a reverse proxy, run the
server with the proxy's address trusted for ``X-Forwarded-For`` (uvicorn
``--forwarded-allow-ips``), or every visitor shares the proxy's bucket.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from certreg.i18n import DEFAULT, translator
from certreg.verifier.did import FetchError

__all__ = [
    "LIMIT_RESPONSES",
    "PUBLIC_VERIFY_PATHS",
    "LimitExceeded",
    "PublicGuards",
    "PublicLimits",
    "PublicVerifyGate",
    "Rate",
    "RateLimiter",
    "WorkSlots",
    "bounded_fetcher",
    "client_key",
    "guards_of",
    "input_problem",
    "verify_publicly",
]

T = TypeVar("T")


def _default_slots() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    # Verification is pure-Python CPU work under one GIL: more slots than cores add no
    # throughput, and leaving one core (and the GIL's turns) to the event loop keeps the
    # register and certificate pages fast while the verify endpoints are busy.
    return max(1, cores - 1)


@dataclass(frozen=True)
class Rate:
    """A token bucket: ``burst`` requests at once, refilled at ``per_minute``."""

    per_minute: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_minute <= 0 or self.burst < 1:
            raise ValueError("a rate needs per_minute > 0 and burst >= 1")


@dataclass(frozen=True)
class PublicLimits:
    """What anonymous requests may cost. The defaults are generous for people (an employer
    checking certificates one by one, a script checking a batch) and tight for floods.

    A certreg certificate is about 2.2 KB and 80 values; a presentation of ten, 25 KB."""

    verify_max_bytes: int = 64 * 1024
    verify_max_values: int = 1_000
    verify_max_proofs: int = 4
    verify_max_status_entries: int = 4
    verify_max_credentials: int = 10
    #: Documents one verification may fetch (other issuers' DID documents and status lists),
    #: and the seconds they may take together: a slot is not held for a slow server's sake.
    verify_max_fetches: int = 8
    verify_fetch_seconds: float = 10.0
    #: Verifications that may wait on other servers at once, their slot given up meanwhile
    #: (a slow server must not hold the slot; and these waits hold worker threads).
    verify_max_fetching: int = 8
    #: The share of the interpreter verification may use: after a verification its slot stays
    #: taken, idle, for as long again as it computed (0.5). Verification is pure Python, and
    #: under one GIL a busy verifier thread slows every page of the process; idle turns let the
    #: register's pages run at full speed. 1.0: no pause.
    verify_cpu_share: float = 0.5
    verify_slots: int = field(default_factory=_default_slots)
    verify_queue: int = 16
    verify_wait_seconds: float = 2.0
    verify_rate: Rate = Rate(per_minute=120, burst=60)
    attempt_rate: Rate = Rate(per_minute=10, burst=20)
    max_clients: int = 10_000


class LimitExceeded(Exception):
    """A request over a limit: ``status`` (413, 429 or 503), the reason, and for 429/503 the
    seconds after which trying again makes sense (``Retry-After``)."""

    def __init__(self, status: int, reason: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


#: OpenAPI documentation of the refusals, for the public verification routes.
LIMIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"description": "Larger than this public service verifies (bytes or values)."},
    429: {"description": "Too many requests from this address; see Retry-After."},
    503: {"description": "Every verification slot is busy; see Retry-After."},
}


# --- per-client token buckets ----------------------------------------------------------------


class RateLimiter:
    """Token buckets per client key, at most ``max_clients`` of them (least recently seen
    forgotten first). Thread-safe; ``clock`` is monotonic seconds (tests pass their own)."""

    def __init__(
        self, rate: Rate, *, max_clients: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def _tokens(self, key: str, now: float) -> float:
        tokens, then = self._buckets.get(key, (float(self.rate.burst), now))
        refill = (now - then) * self.rate.per_minute / 60.0
        return min(float(self.rate.burst), tokens + max(0.0, refill))

    def _wait(self, tokens: float) -> int:
        return max(1, math.ceil((1.0 - tokens) * 60.0 / self.rate.per_minute))

    def take(self, key: str) -> int:
        """Spend one token: 0 when allowed, else the seconds until one is available."""
        with self._lock:
            now = self.clock()
            tokens = self._tokens(key, now)
            if tokens < 1.0:
                self._store(key, tokens, now)
                return self._wait(tokens)
            self._store(key, tokens - 1.0, now)
            return 0

    def wait(self, key: str) -> int:
        """Seconds until ``key`` may spend a token (0: now), without spending one."""
        with self._lock:
            if key not in self._buckets:
                return 0
            tokens = self._tokens(key, self.clock())
            return 0 if tokens >= 1.0 else self._wait(tokens)

    def _store(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)


def client_key(request: Request) -> str:
    """The client's address as a bucket key; an IPv6 address by its /64 (one subscriber's
    allocation: its 2^64 addresses are one client)."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))
    return str(address)


# --- verification slots ----------------------------------------------------------------------


class WorkSlots:
    """At most ``slots`` units of work at once; a request waits at most ``wait_seconds`` (and
    at most ``queue`` requests wait) for one. Thread-safe; waiting never blocks the event loop
    or a worker thread (it polls, every 10 ms, for the few requests allowed to wait)."""

    def __init__(
        self, slots: int, *, queue: int = 16, wait_seconds: float = 2.0, max_fetching: int = 8
    ) -> None:
        if slots < 1:
            raise ValueError("at least one verification slot is needed")
        self.slots = slots
        self.queue = queue
        self.wait_seconds = wait_seconds
        self.max_fetching = max_fetching
        self._free = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._waiting = 0
        self._fetching = 0
        self.busy_refusals = 0  # how many requests found every slot taken (for the operator)

    def try_acquire(self) -> bool:
        return self._free.acquire(blocking=False)

    def release(self) -> None:
        self._free.release()

    async def acquire(self) -> bool:
        if self.try_acquire():
            return True
        with self._lock:
            if self._waiting >= self.queue:
                self.busy_refusals += 1
                return False
            self._waiting += 1
        try:
            deadline = time.monotonic() + self.wait_seconds
            while time.monotonic() < deadline:
                await asyncio.sleep(0.01)
                if self.try_acquire():
                    return True
            self.busy_refusals += 1
            return False
        finally:
            with self._lock:
                self._waiting -= 1

    def start_fetch(self) -> bool:
        """May one more verification give up its slot to wait on another server?"""
        with self._lock:
            if self._fetching >= self.max_fetching:
                return False
            self._fetching += 1
            return True

    def end_fetch(self) -> None:
        with self._lock:
            self._fetching -= 1

    def reacquire(self) -> bool:
        """Take a slot back after a fetch (in a worker thread: blocking, bounded)."""
        return self._free.acquire(timeout=self.wait_seconds)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold one slot (blocking); for tests and scripts that must saturate the service."""
        self._free.acquire()
        try:
            yield
        finally:
            self.release()


# --- the app's guards ------------------------------------------------------------------------


class PublicGuards:
    """The limiters of one app, built from its :class:`PublicLimits`."""

    def __init__(
        self, limits: PublicLimits | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits = limits or PublicLimits()
        self.verify_rate = RateLimiter(
            limits.verify_rate, max_clients=limits.max_clients, clock=clock
        )
        self.attempts = RateLimiter(
            limits.attempt_rate, max_clients=limits.max_clients, clock=clock
        )
        self.slots = WorkSlots(
            limits.verify_slots,
            queue=limits.verify_queue,
            wait_seconds=limits.verify_wait_seconds,
            max_fetching=limits.verify_max_fetching,
        )

    # -- failed attempts at secrets in URLs and forms (share links, wallet codes) ------------

    def check_attempts(self, request: Request) -> None:
        """Refuse (429) a client that has used up its failed attempts."""
        wait = self.attempts.wait(client_key(request))
        if wait:
            raise LimitExceeded(
                429,
                f"too many failed attempts from your address (at most "
                f"{self.limits.attempt_rate.burst} at once, then "
                f"{self.limits.attempt_rate.per_minute:g} a minute): try again in {wait} s",
                wait,
            )

    def failed_attempt(self, request: Request) -> None:
        self.attempts.take(client_key(request))

    # -- sealed (number_lookup) certificate pages ----------------------------------------

    def admit_sealed_lookup(self, request: Request) -> None:
        """Spend one of the client's public-work requests on a number that is not in the
        directory: looking it up among the sealed records costs an Argon2id run. Refuse (429)
        past the verification rate: a visitor reading real certificates never gets there."""
        wait = self.verify_rate.take(client_key(request))
        if wait:
            raise LimitExceeded(
                429,
                "too many look-ups of certificate numbers from your address: "
                f"try again in {wait} s",
                wait,
            )

    # -- verification -------------------------------------------------------------------

    def admit_verification(self, request: Request) -> None:
        """Spend one of the client's verification requests, or refuse (429)."""
        wait = self.verify_rate.take(client_key(request))
        if wait:
            rate = self.limits.verify_rate
            raise LimitExceeded(
                429,
                f"too many verification requests from your address (at most {rate.burst} at "
                f"once, then {rate.per_minute:g} a minute): try again in {wait} s",
                wait,
            )

    def check_size(self, size: int, what: str = "the credential", limit: int | None = None) -> None:
        limit = self.limits.verify_max_bytes if limit is None else limit
        if size > limit:
            raise LimitExceeded(
                413,
                f"{what} is {size:,} bytes; this public service verifies at most {limit:,} "
                "bytes (a certificate is a few KB): verify larger documents with the certreg "
                "verify command or the verifier library",
            )

    def check_document(self, document: Any, what: str = "the credential") -> None:
        problem = input_problem(document, self.limits)
        if problem is not None:
            raise LimitExceeded(413, f"{what} {problem}")

    async def verify(self, work: Callable[[], T]) -> T:
        """Run ``work`` (a verification) in the thread pool, inside a slot, or refuse (503)."""
        if not await self.slots.acquire():
            wait = max(1, math.ceil(self.slots.wait_seconds))
            raise LimitExceeded(
                503,
                "the verifier is busy with other requests: try again in a few seconds",
                wait,
            )
        limits = self.limits
        budget = _Budget(limits.verify_max_fetches, limits.verify_fetch_seconds, self.slots)

        def budgeted() -> T:
            started = time.thread_time()
            try:
                with fetch_budget(budget):
                    return work()
            finally:
                if 0 < limits.verify_cpu_share < 1 and budget.holding:
                    spent = time.thread_time() - started
                    time.sleep(min(5.0, spent * (1 / limits.verify_cpu_share - 1)))

        try:
            return await run_in_threadpool(budgeted)
        finally:
            if budget.holding:
                self.slots.release()


#: The public verification endpoints: :class:`PublicVerifyGate` stands in front of them.
PUBLIC_VERIFY_PATHS = frozenset({"/verify", "/credentials/verify", "/presentations/verify"})


class PublicVerifyGate:
    """ASGI middleware, outside the body guards: a POST to :data:`PUBLIC_VERIFY_PATHS` spends
    one of the client's verification requests (429 past the limit), and one that declares a
    body larger than any acceptable request is refused (413), before a byte of it is read or
    parsed. (A body sent without Content-Length is bounded by the body guard, then by the
    handler's own size check.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] not in PUBLIC_VERIFY_PATHS
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        guards = guards_of(request)
        try:
            guards.admit_verification(request)
            declared = request.headers.get("content-length", "")
            if declared.isdigit():
                guards.check_size(int(declared), "the request", _body_allowance(guards, request))
        except LimitExceeded as exc:
            await _refusal(request, exc)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _body_allowance(guards: PublicGuards, request: Request) -> int:
    """The largest request body that can carry an acceptable credential: the credential plus
    room for the request's other fields, or three times it for a URL-encoded form (where
    ``{"`` is written ``%7B%22``)."""
    limit = guards.limits.verify_max_bytes
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        return 3 * limit + 4096
    return limit + 64 * 1024


def _refusal(request: Request, exc: LimitExceeded) -> JSONResponse | HTMLResponse:
    if request.url.path == "/verify" and "text/html" in request.headers.get("accept", ""):
        from certreg.register.pages import render_message
        from certreg.register.web.language import localised, page_language

        language = page_language(request, path="/verify")
        _ = translator("pages", language.lang)
        # The limiter's own reason (English, with its figures) for English readers; the same
        # refusal in the reader's words for the others.
        seconds = exc.retry_after or 1
        if language.lang == DEFAULT or exc.status not in (413, 429, 503):
            said = exc.reason[:1].upper() + exc.reason[1:] + "."
        elif exc.status == 413:
            said = _("This is larger than this public service verifies.")
        elif exc.status == 429:
            said = _.ngettext(
                "Too many verifications from your address: try again in %(num)s second.",
                "Too many verifications from your address: try again in %(num)s seconds.",
                seconds,
            )
        else:
            said = _.ngettext(
                "Every verification slot is busy: try again in %(num)s second.",
                "Every verification slot is busy: try again in %(num)s seconds.",
                seconds,
            )
        page = render_message(_("Not verified"), [said], language=language)
        response = HTMLResponse(page, status_code=exc.status, headers=exc.headers)
        return localised(response, language.lang)
    return JSONResponse({"detail": exc.reason}, status_code=exc.status, headers=exc.headers)


def guards_of(request: Request) -> PublicGuards:
    """The app's guards (``create_app(public_limits=…)``), made with the defaults on first use
    by an app that was built without them."""
    state = request.app.state
    guards = getattr(state, "certreg_limits", None)
    if guards is None:
        guards = state.certreg_limits = PublicGuards()
    return guards


async def verify_publicly(
    request: Request, document: Any, work: Callable[[], T], *, what: str = "the credential"
) -> T:
    """An anonymous verification whose JSON was already parsed (the client's rate limit was
    spent by :class:`PublicVerifyGate`): body size, value counts, then ``work`` in a slot.
    Raises :class:`LimitExceeded`."""
    guards = guards_of(request)
    # The document as JSON, without the request's own whitespace and fields.
    guards.check_size(len(json.dumps(document, ensure_ascii=False).encode()), what)
    guards.check_document(document, what)
    return await guards.verify(work)


def input_problem(document: Any, limits: PublicLimits) -> str | None:
    """Why ``document`` is too big to verify for an anonymous client (None: it is not).

    Counts JSON values (object members and array items) without recursion, stopping as soon
    as the limit is passed, and the proofs, status entries and embedded credentials anywhere
    in it (each one is work: a canonicalisation, a status-list fetch, a verification)."""
    values = 0
    stack: list[Any] = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            values += len(item)
            for key, limit, words in (
                ("proof", limits.verify_max_proofs, "proofs"),
                ("credentialStatus", limits.verify_max_status_entries, "status entries"),
                ("verifiableCredential", limits.verify_max_credentials, "credentials"),
            ):
                found = item.get(key)
                if isinstance(found, list) and len(found) > limit:
                    return (
                        f"has {len(found)} {words} in one place; this public service accepts "
                        f"at most {limit}"
                    )
            stack.extend(v for v in item.values() if isinstance(v, Mapping | list))
        elif isinstance(item, list):
            values += len(item)
            stack.extend(v for v in item if isinstance(v, Mapping | list))
        if values > limits.verify_max_values:
            return (
                f"has more than {limits.verify_max_values:,} values (object members and array "
                "items); this public service verifies no more (a certificate has about 80): "
                "verify larger documents with the certreg verify command or the verifier library"
            )
    return None


# --- what a verification fetches ---------------------------------------------------------------

#: A status list credential or a DID document has a few dozen values. One fetched from another
#: issuer's server with many more is refused before any JSON-LD work: issue 7's heavy input,
#: moved from the request to a status list the attacker serves (a 400-byte credential whose
#: list had 15,000 values cost 1.8 s), would otherwise bypass the input limits.
MAX_FETCHED_VALUES = 1_000

_BUDGET = threading.local()


class _Budget:
    """What one verification may still fetch; and the slot it holds, which it gives up while
    it waits on another server (``slots``), and must take back before it goes on."""

    def __init__(self, fetches: int, seconds: float, slots: WorkSlots | None = None) -> None:
        self.total = self.left = fetches
        self.deadline = time.monotonic() + seconds
        self.slots = slots
        self.holding = slots is not None

    def fetch(self, url: str, fetch: Callable[[str], Any]) -> Any:
        if self.left <= 0:
            raise FetchError(
                f"{url} was not fetched: one verification here fetches at most "
                f"{self.total} documents"
            )
        if time.monotonic() > self.deadline:
            raise FetchError(f"{url} was not fetched: this verification ran out of time")
        self.left -= 1
        slots = self.slots
        if slots is None:
            return fetch(url)
        if not self.holding:
            raise FetchError(f"{url} was not fetched: the verifier is too busy")
        if not slots.start_fetch():
            return fetch(url)  # too many waiting on servers already: wait holding the slot
        slots.release()
        self.holding = False
        try:
            return fetch(url)
        finally:
            slots.end_fetch()
            self.holding = slots.reacquire()
            if not self.holding:
                raise FetchError(f"{url} was fetched, but the verifier is too busy to read it")


@contextmanager
def fetch_budget(budget: _Budget | int, seconds: float = 10.0) -> Iterator[_Budget]:
    """Within this block (in this thread), :func:`bounded_fetcher` fetchers keep to
    ``budget`` (or a budget of that many documents within ``seconds``)."""
    if isinstance(budget, int):
        budget = _Budget(budget, seconds)
    outer = getattr(_BUDGET, "budget", None)
    _BUDGET.budget = budget
    try:
        yield budget
    finally:
        _BUDGET.budget = outer


def bounded_fetcher(
    fetch: Callable[[str], Any], *, max_values: int = MAX_FETCHED_VALUES
) -> Callable[[str], Any]:
    """``fetch`` (URL -> bytes or parsed JSON), refusing (:class:`FetchError`) a document of
    more than ``max_values`` values, and, inside :func:`fetch_budget`, any fetch over its
    budget."""
    limits = PublicLimits(verify_max_values=max_values, verify_max_proofs=4, verify_slots=1)

    def fetched(url: str) -> Any:
        budget: _Budget | None = getattr(_BUDGET, "budget", None)
        data = fetch(url) if budget is None else budget.fetch(url, fetch)
        try:
            document = json.loads(data) if isinstance(data, bytes | str) else data
        except ValueError:
            return data  # not JSON: the verifier says so, at no cost
        if input_problem(document, limits) is not None:
            raise FetchError(
                f"{url} has more than {max_values:,} values, far more than a status list or "
                "DID document needs: refused"
            )
        return data

    return fetched

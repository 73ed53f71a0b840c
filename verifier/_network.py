"""The network half of :class:`certreg.verifier.did.HttpFetcher`: httpx and httpcore, loaded on
the first fetch (importing them took about a fifth of a second, paid by every command that
verifies or signs, though most never fetch anything).

The rules (HTTPS only, no redirects, a deadline for the whole exchange, a size limit on the
decoded body, public or loopback addresses only) are described on ``HttpFetcher``.
"""

from __future__ import annotations

import ipaddress
import socket
import time
import zlib
from collections.abc import Collection
from typing import Any

import httpcore
import httpx

from certreg.verifier.did import FetchError, HttpFetcher, _is_public, _shown

#: Content encodings the fetcher inflates itself, within its size limit (zlib window bits).
#: httpx would inflate a whole network read at once: 200 KB of gzip became 200 MB in memory
#: before the size check saw it.
_INFLATE_WBITS = {
    "gzip": 16 + zlib.MAX_WBITS,
    "x-gzip": 16 + zlib.MAX_WBITS,
    "deflate": zlib.MAX_WBITS,
}
_ACCEPT_ENCODING = "gzip, deflate"


def get(fetcher: HttpFetcher, url: str) -> bytes:
    """GET ``url`` within ``fetcher``'s limits (the address itself was checked by
    :meth:`HttpFetcher.__call__`)."""
    deadline = time.monotonic() + fetcher.timeout
    try:
        with (
            httpx.Client(
                timeout=fetcher.timeout, follow_redirects=False, transport=_transport(fetcher, url)
            ) as client,
            client.stream(
                "GET",
                url,
                headers={"Accept": fetcher.accept, "Accept-Encoding": _ACCEPT_ENCODING},
            ) as response,
        ):
            if response.is_redirect:
                raise FetchError(f"{url} answered with a redirect; redirects are not followed")
            if response.status_code != 200:
                raise FetchError(
                    f"{url} answered HTTP {response.status_code}",
                    not_found=response.status_code == 404,
                    retry_after=_retry_after(response) if response.status_code == 503 else None,
                )
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > fetcher.max_bytes:
                raise FetchError(f"{url} is larger than the {fetcher.max_bytes}-byte limit")
            return _read_body(fetcher, url, response, deadline)
    except httpx.TimeoutException:
        raise FetchError(f"{url} did not answer within {fetcher.timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{url} could not be reached ({_network_words(exc)})") from None
    except (httpx.InvalidURL, ValueError, UnicodeError):
        # httpx refuses some hosts the URL parser let through (0177.0.0.1, a bad IDNA
        # name): a refusal in words, never an exception for the caller to print.
        raise FetchError(f"{_shown(url)} is not a well-formed address") from None


def _read_body(fetcher: HttpFetcher, url: str, response: httpx.Response, deadline: float) -> bytes:
    """The body, decoded, never more than ``max_bytes`` of it held: the raw bytes are
    read, and a gzip or deflate body is inflated here at most one byte past the limit."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    inflater: Any = None
    if encoding in _INFLATE_WBITS:
        inflater = zlib.decompressobj(wbits=_INFLATE_WBITS[encoding])
    elif encoding not in ("", "identity"):
        raise FetchError(
            f"{url} was sent with the content encoding {_shown(encoding)}, which the "
            "verifier does not read (it asks for gzip, deflate or none)"
        )
    too_large = f"{url} is larger than the {fetcher.max_bytes}-byte limit"
    body = bytearray()
    try:
        for raw in response.iter_raw():
            if inflater is None:
                body += raw
            else:
                if inflater.eof and raw:
                    raise FetchError(f"{url} sent data after the end of its {encoding} body")
                pending = raw
                while pending and not inflater.eof:
                    # max_length is never 0 here (0 would mean "no limit"): the check below
                    # stops as soon as the body is one byte over.
                    body += inflater.decompress(pending, fetcher.max_bytes + 1 - len(body))
                    if len(body) > fetcher.max_bytes:
                        raise FetchError(too_large)
                    pending = inflater.unconsumed_tail
                if inflater.unused_data:
                    raise FetchError(f"{url} sent data after the end of its {encoding} body")
            if len(body) > fetcher.max_bytes:
                raise FetchError(too_large)
            if time.monotonic() > deadline:
                raise FetchError(f"{url} did not answer within {fetcher.timeout:g} s")
    except zlib.error:
        raise FetchError(f"{url} sent a body that is not valid {encoding} data") from None
    if inflater is not None and not inflater.eof:
        raise FetchError(f"{url} sent a {encoding} body that stops before its end")
    return bytes(body)


def _transport(fetcher: HttpFetcher, url: str) -> httpx.BaseTransport | None:
    backend: httpcore.SyncBackend
    if fetcher._loopback_http(url):
        backend = _LoopbackOnly()
    elif fetcher.public_addresses_only:
        backend = _PublicAddressesOnly(fetcher.unsafe_allow_http_hosts)
    else:
        return None
    transport = httpx.HTTPTransport()
    # httpx 0.28 does not let a transport choose its network backend; httpcore's pool does.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(), network_backend=backend
    )
    return transport


class _LoopbackOnly(httpcore.SyncBackend):
    """A network backend for plain HTTP under the loopback rule: the host is resolved once,
    every address must be a loopback one, and the connection is made to a checked address.
    So ``localhost`` mapped elsewhere (a hosts file) or a name that resolves differently a
    moment later cannot carry plain HTTP off the machine."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise FetchError(f"the host name {host} could not be found") from None
        addresses = [str(info[4][0]) for info in infos]
        for address in addresses:
            if not ipaddress.ip_address(address.split("%", 1)[0]).is_loopback:
                raise FetchError(
                    f"{host} resolves to {address}, not to this machine; plain HTTP is "
                    "fetched from the loopback interface only"
                )
        if not addresses:
            raise FetchError(f"the host name {host} could not be found")
        return super().connect_tcp(addresses[0], port, timeout, local_address, socket_options)


class _PublicAddressesOnly(httpcore.SyncBackend):
    """A network backend that connects only to public (global) addresses, to the very address
    it checked; hosts in ``allowed`` (tests on 127.0.0.1) pass unchecked."""

    def __init__(self, allowed: Collection[str]) -> None:
        self.allowed = frozenset(allowed)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        if host.lower() in self.allowed or f"{host.lower()}:{port}" in self.allowed:
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise FetchError(f"the host name {host} could not be found") from None
        addresses = [str(info[4][0]) for info in infos]
        for address in addresses:
            if not _is_public(address):
                raise FetchError(
                    f"{host} is a private or local address ({address}); only public "
                    "addresses are fetched"
                )
        if not addresses:
            raise FetchError(f"the host name {host} could not be found")
        return super().connect_tcp(addresses[0], port, timeout, local_address, socket_options)


def _network_words(exc: httpx.HTTPError) -> str:
    """What went wrong on the network, in words rather than an exception's class name."""
    if isinstance(exc, httpx.ConnectError):
        return "the connection was refused or the host could not be found"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the server broke the HTTP protocol"
    if isinstance(exc, httpx.NetworkError):
        return "the connection failed"
    return "the request failed"


def _retry_after(response: httpx.Response) -> int | None:
    """A 503's ``Retry-After`` in whole seconds (the delay form only; a date is not read)."""
    value = response.headers.get("retry-after", "").strip()
    return int(value) if value.isdigit() and len(value) < 9 else None

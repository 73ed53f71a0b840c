"""The default fetch path against a real HTTP server on 127.0.0.1: did:web documents and status
lists fetched with the production HttpFetcher (timeouts, size cap, no redirects, HTTPS-only
unless a host is explicitly allowed)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from verify_support import Body, Clock, certificate

from certreg.verifier import FetchError, HttpFetcher, Verdict, Verifier
from certreg.verifier.did import DidResolutionError, DidResolver

ROUTES: dict[str, bytes] = {}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        if self.path == "/slow-drip":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            for _ in range(100):  # 10 s in all: far beyond the fetcher's deadline
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.1)
            return
        if self.path == "/silent":
            time.sleep(5)  # far beyond the 0.3 s timeout, however loaded the machine
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/.well-known/did.json")
            self.end_headers()
            return
        if self.path == "/big-chunked":
            self.send_response(200)
            self.end_headers()  # no Content-Length: the cap must hold while streaming
            for _ in range(40):
                self.wfile.write(b" " * 8192)
            return
        body = ROUTES.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def published(server: str) -> tuple[Body, dict]:
    """A body whose did:web document and status lists are served by the local server."""
    body = Body(did=f"did:web:{server.replace(':', '%3A')}")
    body.records.clear()
    body.signers.clear()
    body.add_key("key-1")
    base = f"http://{server}"
    doc = certificate(body.did)
    for entry, purpose in zip(doc["credentialStatus"], ("revocation", "suspension"), strict=True):
        url = f"{base}/status/{purpose}/1"
        entry["statusListCredential"] = url
        entry["id"] = f"{url}#{entry['statusListIndex']}"
        listed = body.publish(url, purpose, set_bits=(9321,) if purpose == "suspension" else ())
        ROUTES[f"/status/{purpose}/1"] = json.dumps(listed).encode()
    ROUTES["/.well-known/did.json"] = json.dumps(body.document()).encode()
    ROUTES["/big"] = b" " * (300 * 1024)
    return body, body.sign(doc)


def test_did_web_and_status_lists_over_a_real_server(server: str, published) -> None:
    _, credential = published
    v = Verifier(unsafe_allow_http_hosts=[server], clock=Clock())
    result = v.verify_credential(credential)
    assert result.verdict is Verdict.SUSPENDED, result.to_json()
    assert result.facts is not None and result.facts.holder_name == "Jane Doe"


def test_plain_http_is_refused_without_the_unsafe_allow_list(server: str, published) -> None:
    _, credential = published
    result = Verifier(clock=Clock()).verify_credential(credential)
    # did:web always means https; nothing listens for TLS there, so the key cannot be had.
    assert result.verdict is Verdict.INVALID
    with pytest.raises(FetchError, match="plain HTTP"):
        HttpFetcher()(f"http://{server}/.well-known/did.json")


def test_status_lists_over_plain_http_are_refused_by_default(server: str, published) -> None:
    _, credential = published
    # DID documents through the test's transport; status lists through the default fetcher.
    v = Verifier(transport=lambda url: ROUTES["/.well-known/did.json"], clock=Clock())
    result = v.verify_credential(credential)
    assert result.verdict is Verdict.STATUS_UNKNOWN
    assert "only HTTPS" in result.summary


def test_size_cap(server: str, published) -> None:
    fetch = HttpFetcher(unsafe_allow_http_hosts=[server])
    with pytest.raises(FetchError, match="larger than the 262144-byte limit"):
        fetch(f"http://{server}/big")
    with pytest.raises(FetchError, match="larger than"):
        fetch(f"http://{server}/big-chunked")


def test_total_deadline_against_a_slow_drip(server: str) -> None:
    fetch = HttpFetcher(unsafe_allow_http_hosts=[server], timeout=0.5)
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"did not answer within 0\.5 s"):
        fetch(f"http://{server}/slow-drip")
    # The drip lasts 10 s; giving up within 5 s shows the deadline (a 1.5 s bound was tight
    # on a loaded machine).
    assert time.monotonic() - started < 5


def test_timeout_against_a_silent_server(server: str) -> None:
    fetch = HttpFetcher(unsafe_allow_http_hosts=[server], timeout=0.3)
    with pytest.raises(FetchError, match="did not answer"):
        fetch(f"http://{server}/silent")


def test_redirects_are_not_followed(server: str) -> None:
    fetch = HttpFetcher(unsafe_allow_http_hosts=[server])
    with pytest.raises(FetchError, match="redirect"):
        fetch(f"http://{server}/redirect")


def test_not_found(server: str) -> None:
    with pytest.raises(FetchError, match="HTTP 404"):
        HttpFetcher(unsafe_allow_http_hosts=[server])(f"http://{server}/nothing")


def test_did_web_document_must_be_for_that_did(server: str, published) -> None:
    body, _ = published
    resolver = DidResolver(unsafe_allow_http_hosts=[server])
    assert resolver.resolve(body.did)["id"] == body.did
    ROUTES["/other/did.json"] = json.dumps(body.document()).encode()
    with pytest.raises(DidResolutionError, match="is for"):
        resolver.resolve(f"{body.did}:other")


def test_unreachable_host_gives_a_plain_reason() -> None:
    fetch = HttpFetcher(unsafe_allow_http_hosts=["127.0.0.1:9"], timeout=1)
    with pytest.raises(FetchError, match=r"could not be reached|did not answer"):
        fetch("http://127.0.0.1:9/x")

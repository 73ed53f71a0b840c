"""The smaller holes of the security issue, each as an attacker or a careless operator would
meet it: a GZIP bomb, odd spellings of 127.0.0.1, Datasette's 500s and introspection pages, a
token in the access log, a world-readable passphrase file, a key file with another public key,
and inputs that made the verifier answer with Python's exception text.

Everything runs for real: an HTTP server on 127.0.0.1, the certreg app through its test
client, `certreg serve` under uvicorn, the click commands, SQLite, the key store on disk."""

from __future__ import annotations

import base64
import copy
import gzip
import json
import os
import re
import struct
import subprocess
import sys
import threading
import tracemalloc
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from factories import free_port as _free_port
from http_support import PASSPHRASE, Env, make_env, signed_with_status
from http_support import serve_subprocess as _serve
from http_support import stop_subprocess as _stop
from http_support import wait_serving as _wait
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from verify_support import Body, certificate

import certreg.verifier.verify as verify_module
from certreg.issuer.cli import main
from certreg.issuer.http.ratelimit import PublicGuards, PublicLimits, Rate
from certreg.keys.keypair import KeyPair
from certreg.keys.store import KeyStore, KeyStoreError
from certreg.verifier import Verdict, Verifier
from certreg.verifier.did import DEFAULT_MAX_BYTES, FetchError, HttpFetcher
from certreg.verifier.statuslist import MAX_DECOMPRESSED_BYTES, Bitstring, StatusListError

# --------------------------------------------------------------------------------------------
# Shared


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    env = make_env(tmp_path_factory.mktemp("holes"))
    # These tests post hundreds of odd requests from one client: the per-client rate limit
    # (tests/issuer/test_bounded_work.py) would answer 429 and hide the answers under test.
    unlimited = Rate(per_minute=10**9, burst=10**9)
    env.client.app.state.certreg_limits = PublicGuards(
        PublicLimits(verify_rate=unlimited, attempt_rate=unlimited)
    )
    return env


def gzip_bomb(total: int) -> bytes:
    """A real GZIP member of ``total`` zero bytes, about a thousandth of that in size."""
    chunk = 1 << 20
    zeros = bytes(chunk)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = deflater.compress(zeros) + deflater.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS).flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(total // chunk):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + block * (total // chunk) + end + struct.pack("<II", crc, total & 0xFFFFFFFF)


#: The attack of the issue: 200 KB on the wire, 200 MiB once inflated.
BOMB = gzip_bomb(200 << 20)


def peak_memory(action: Any) -> tuple[Any, int]:
    """Run ``action()``; its result (or exception) and the peak of Python's traced memory."""
    tracemalloc.start()
    try:
        try:
            result: Any = action()
        except Exception as exc:  # the caller inspects it
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class Served:
    """A plain-HTTP server on 127.0.0.1 answering each path with (headers, body)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[dict[str, str], bytes]] = {}
        routes = self.routes

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                headers, body = routes.get(self.path, ({}, b""))
                self.send_response(200 if self.path in routes else 404)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"

    def fetcher(self, **options: Any) -> HttpFetcher:
        return HttpFetcher(unsafe_allow_http_hosts=[self.host], **options)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    s = Served()
    yield s
    s.server.shutdown()


# --------------------------------------------------------------------------------------------
# a. A GZIP bomb costs bounded memory


def test_a_gzip_encoded_response_is_refused_before_it_fills_memory(served: Served) -> None:
    # A server (a status list URL named by a hostile credential) sends the bomb as its
    # Content-Encoding. httpx inflated each network read whole: 147 MB traced before the
    # 256 KiB limit refused it. Now the fetcher inflates at most one byte past the limit.
    served.routes["/bomb"] = ({"Content-Encoding": "gzip"}, BOMB)
    assert len(BOMB) < 210_000
    # The HTTP stack is imported on the first fetch (verifier._network): about 1 MB traced,
    # which is not the bomb's. One small fetch first, so that the figure is the bomb's alone
    # whichever tests ran before in this process.
    served.routes["/small"] = ({}, b"{}")
    served.fetcher()(served.url("/small"))
    error, peak = peak_memory(lambda: served.fetcher()(served.url("/bomb")))
    assert isinstance(error, FetchError), error
    assert f"larger than the {DEFAULT_MAX_BYTES}-byte limit" in error.reason
    assert peak < 4 * DEFAULT_MAX_BYTES, f"{peak / 1e6:.1f} MB traced"


def test_a_hostile_status_list_server_costs_the_verifier_bounded_memory(served: Served) -> None:
    served.routes["/status/bomb"] = ({"Content-Encoding": "gzip"}, BOMB)
    credential = signed_with_status(served.url("/status/bomb"))
    verifier = Verifier(unsafe_allow_http_hosts=[served.host])
    result, peak = peak_memory(lambda: verifier.verify_credential(credential))
    assert result.verdict is Verdict.STATUS_UNKNOWN, result.summary
    assert "larger than the 262144-byte limit" in result.summary
    assert peak < 32_000_000, f"{peak / 1e6:.1f} MB traced"  # was > 147 MB


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "deflate"])
def test_compressed_responses_are_still_read(served: Served, encoding: str) -> None:
    body = json.dumps({"id": "did:web:x.example", "n": list(range(2000))}).encode()
    packed = gzip.compress(body) if "gzip" in encoding else zlib.compress(body)
    served.routes[f"/{encoding}"] = ({"Content-Encoding": encoding}, packed)
    assert served.fetcher()(served.url(f"/{encoding}")) == body


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        ({"Content-Encoding": "br"}, b"\x0b\x02\x80{}\x03", "does not read"),
        ({"Content-Encoding": "gzip"}, gzip.compress(b"{}" * 100)[:-12], "stops before its end"),
        ({"Content-Encoding": "gzip"}, b"\x1f\x8b not gzip at all", "not valid gzip data"),
        ({"Content-Encoding": "gzip"}, gzip.compress(b"{}") + b"junk", "after the end"),
    ],
)
def test_broken_or_unknown_encodings_are_refused_in_words(
    served: Served, headers: dict[str, str], body: bytes, reason: str
) -> None:
    served.routes["/odd"] = (headers, body)
    with pytest.raises(FetchError, match=reason):
        served.fetcher()(served.url("/odd"))


def test_an_encoded_list_bomb_costs_at_most_the_limit_and_a_step() -> None:
    # The same bomb inside a status list's encodedList: refused after inflating the 16 MiB
    # limit, never holding it twice (34 MB traced before; the limit and a 1 MiB step now).
    encoded = "u" + base64.urlsafe_b64encode(BOMB).rstrip(b"=").decode()
    error, peak = peak_memory(lambda: Bitstring.decode(encoded))
    assert isinstance(error, StatusListError)
    assert "larger than 16777216 bytes uncompressed" in str(error)
    assert peak < 1.5 * MAX_DECOMPRESSED_BYTES, f"{peak / 1e6:.1f} MB traced"


def test_decoded_lists_are_cached_within_a_byte_budget() -> None:
    from certreg.verifier import statuslist

    statuslist._decoded_lists.clear()
    statuslist._decoded_bytes = 0
    # Five distinct maximum-size lists (16 MiB each when decoded), as five hostile issuers
    # could have the server read: the cache keeps 64 MiB at most, not 32 lists (512 MiB).
    sizes = []
    for i in range(5):
        data = bytearray(MAX_DECOMPRESSED_BYTES)
        data[i] = 1
        encoded = Bitstring.from_bytes(bytes(data)).encode()
        assert statuslist._decoded(encoded, 1).get(i * 8 + 7) == 1
        sizes.append(statuslist._decoded_bytes)
    assert max(sizes) <= statuslist._DECODED_BUDGET
    assert len(statuslist._decoded_lists) == 4
    statuslist._decoded_lists.clear()
    statuslist._decoded_bytes = 0


# --------------------------------------------------------------------------------------------
# b. 127.0.0.1 however it is spelled


ODD_LOCAL = [
    "0177.0.0.1",
    "127.000.000.001",
    "2130706433",
    "0x7f.0.0.1",
    "0x7f000001",
    "127.1",
    "0177.1",
    "127.0.0.1.",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "localhost.",
]


@pytest.mark.parametrize("host", ODD_LOCAL)
def test_the_verify_page_refuses_every_spelling_of_this_machine(
    env: Env,
    listener: tuple[int, list[bytes]],
    host: str,
) -> None:
    port, seen = listener
    r = env.client.post("/verify", data={"url": f"https://{host}:{port}/credential.json"})
    assert r.status_code == 422, r.text
    assert "could not be fetched" in r.text
    assert "Traceback" not in r.text and "InvalidURL" not in r.text
    assert seen == [], f"{host} reached the 127.0.0.1 listener"


@pytest.mark.parametrize("host", ODD_LOCAL)
def test_a_status_list_on_this_machine_oddly_spelled_is_never_requested(
    env: Env,
    listener: tuple[int, list[bytes]],
    host: str,
) -> None:
    port, seen = listener
    credential = signed_with_status(f"https://{host}:{port}/status/1")
    r = env.client.post("/credentials/verify", json={"verifiableCredential": credential})
    assert r.status_code < 500, r.text
    assert r.json()["verified"] is False
    assert seen == []


@pytest.mark.parametrize("host", ["0177.0.0.1", "127.000.000.001", "2130706433"])
def test_certreg_verify_says_why_without_a_traceback(
    listener: tuple[int, list[bytes]],
    host: str,
) -> None:
    port, seen = listener
    result = CliRunner().invoke(main, ["verify", f"https://{host}:{port}/x"])
    assert result.exit_code == 2, result.output
    assert "cannot fetch" in result.output and "unusual form" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert seen == []


def test_public_addresses_written_normally_are_still_allowed() -> None:
    from certreg.verifier.did import _check_numeric_host, _is_public

    for host in ("192.0.2.1", "cb.example", "cafe.be", "a1.example", "[2001:db8::1]"):
        _check_numeric_host(host)  # no refusal
    assert _is_public("8.8.8.8") and not _is_public("::ffff:127.0.0.1")
    assert not _is_public("2002:7f00:1::1")  # 6to4 carrying 127.0.0.1


# --------------------------------------------------------------------------------------------
# c, e. The register: a reason instead of a 500; no server paths


BAD_PARAMETERS = [
    ("_sort=nope", "cannot be sorted by 'nope'"),
    ("_sort_desc=nope", "cannot be sorted by 'nope'"),
    ("_sort=number&_sort_desc=status", "not both"),
    ("_timelimit=soon", "parameters (_timelimit)"),
    ("number__in=[", "parameters (number__in)"),
    ("number__gt=99999999999999999999", "parameters (number__gt)"),
    ("_through=x", "_through must be JSON"),
]


@pytest.mark.parametrize(
    ("query", "reason", "suffix"),
    [(q, r, s) for q, r in BAD_PARAMETERS for s in ("", ".json", ".csv")]
    + [("_json_infinity=maybe", "parameters (_json_infinity)", ".json")],
)
def test_bad_register_parameters_are_400_with_a_reason(
    env: Env, query: str, reason: str, suffix: str
) -> None:
    r = env.client.get(f"/register/public/certifications{suffix}?{query}")
    assert r.status_code == 400, (query, r.status_code, r.text[:300])
    if suffix != ".csv":
        assert reason in r.text.replace("&#39;", "'").replace("&#34;", '"')
    for leak in ("Traceback", "Error:", "JSONDecodeError", "Expecting value", "invalid literal"):
        assert leak not in r.text


def test_cut_csv_stream_is_a_400_not_a_500(env: Env) -> None:
    r = env.client.get("/register/public/schemes.csv?_timelimit=-1")
    assert r.status_code == 400 and "took longer than the register allows" in r.text


INTROSPECTION = [
    "databases",
    "databases.json",
    "settings.json",
    "versions.json",
    "plugins.json",
    "threads.json",
    "actor.json",
    "config",
    "config.json",
    "permissions",
    "messages",
    "allow-debug",
    "patterns",
    "auth-token",
    "logout",
]


@pytest.mark.parametrize("page", INTROSPECTION)
def test_introspection_pages_are_not_served(env: Env, page: str) -> None:
    r = env.client.get(f"/register/-/{page}", follow_redirects=False)
    assert r.status_code == 404, (page, r.status_code)


def test_no_register_page_shows_where_the_data_lives(env: Env) -> None:
    data = Path(env.body.db.conn.execute("PRAGMA database_list").fetchone()[2]).parent
    pages = [
        "/register/",
        "/register/.json",
        "/register/public",
        "/register/public.json",
        "/register/public/certifications.json",
        "/register/-/metadata.json",
        "/register/-/databases.json",
        "/register/-/databases",
        "/register/-/settings.json",
        "/register/-/versions.json",
    ]
    for page in pages:
        text = env.client.get(page).text
        for secret in (str(data), "/tmp/", "register.db"):
            assert secret not in text, f"{page} shows {secret}"
    assert env.client.get("/register/-/metadata.json").status_code == 200  # still public


# --------------------------------------------------------------------------------------------
# d. No bearer secret in the access log of the real server


def test_a_token_in_the_query_string_never_reaches_the_access_log(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    token = env.tokens["officer"]
    env.body.db.conn.close()  # the server process is the one user of issuer.db now
    port = _free_port()
    proc = _serve(tmp_path / "cb", port, "--log-level", "info")
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(base, proc)
        with httpx.Client(base_url=base, timeout=10) as http:
            for url in (
                f"/api/certifications?access_token={token}",
                f"/register/?Access%5FToken={token}&x=1",
                f"/contexts?code={token}&pre-authorized_code={token}&tx_code={token}",
                f"/contexts?next=%2Fshare%2F{token}",
            ):
                http.get(url)
    finally:
        _stop(proc)
    # uvicorn writes its access log to standard output, everything else to standard error.
    log = b"".join(p.read() for p in (proc.stdout, proc.stderr) if p is not None).decode()
    assert "GET /contexts?code=[redacted]" in log, log[-2000:]  # the access log was on
    assert token not in log


# --------------------------------------------------------------------------------------------
# f, g. The key store: passphrase file modes, a key file with another public key


def _store(tmp_path: Path) -> Path:
    KeyStore.create(tmp_path / "keys", "did:web:cb.example", PASSPHRASE, kdf="interactive")
    return tmp_path / "keys"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o666])
def test_a_passphrase_file_others_can_read_or_write_is_refused(tmp_path: Path, mode: int) -> None:
    store = _store(tmp_path)
    secret = tmp_path / "pass.txt"
    secret.write_text(PASSPHRASE + "\n")
    secret.chmod(mode)
    result = CliRunner().invoke(
        main, ["keys", "rotate", "--store", str(store), "--passphrase-file", str(secret)]
    )
    assert result.exit_code == 1, result.output
    assert f"(mode {mode:04o})" in result.output and "chmod 600" in result.output
    assert "Traceback" not in result.output
    assert len(KeyStore(store).keys()) == 1  # nothing happened


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_private_passphrase_file_is_used(tmp_path: Path, mode: int) -> None:
    store = _store(tmp_path)
    secret = tmp_path / "pass.txt"
    secret.write_text(PASSPHRASE + "\n")
    secret.chmod(mode)
    result = CliRunner().invoke(
        main, ["keys", "rotate", "--store", str(store), "--passphrase-file", str(secret)]
    )
    assert result.exit_code == 0, result.output
    assert len(KeyStore(store).keys()) == 2


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_a_passphrase_file_owned_by_someone_else_is_refused(tmp_path: Path) -> None:
    store = _store(tmp_path)
    secret = tmp_path / "pass.txt"
    secret.write_text(PASSPHRASE + "\n")
    secret.chmod(0o600)
    os.chown(secret, 54321, 54321)
    result = CliRunner().invoke(
        main, ["keys", "rotate", "--store", str(store), "--passphrase-file", str(secret)]
    )
    assert result.exit_code == 1 and "belongs to another user" in result.output


def test_a_passphrase_from_a_pipe_is_accepted(tmp_path: Path) -> None:
    # --passphrase-file <(pass show certreg): a pipe has no other reader; no mode to check.
    store = _store(tmp_path)
    script = (
        "import sys; from certreg.issuer.cli import main; "
        f"sys.argv = ['certreg', 'keys', 'rotate', '--store', {str(store)!r}, "
        "'--passphrase-file', '/dev/stdin']; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=PASSPHRASE.encode(),
        capture_output=True,
        cwd=Path(__file__).parents[2],
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert len(KeyStore(store).keys()) == 2


def test_a_key_file_whose_public_key_was_replaced_is_refused(tmp_path: Path) -> None:
    store = KeyStore(_store(tmp_path))
    assert store.load_signer(PASSPHRASE)  # the untouched file loads
    key_file = store.path / f"{store.current().id.split('#')[1]}.key.json"
    data = json.loads(key_file.read_text())
    data["public_multibase"] = KeyPair.generate().public_multibase
    key_file.write_text(json.dumps(data))
    with pytest.raises(KeyStoreError, match="public key written in it is not the public key"):
        store.load_signer(PASSPHRASE)
    result = CliRunner().invoke(
        main,
        ["keys", "rotate", "--store", str(store.path)],
        env={"CERTREG_PASSPHRASE": PASSPHRASE},
    )
    assert result.exit_code == 1 and "was changed" in result.output
    assert len(store.keys()) == 1


# --------------------------------------------------------------------------------------------
# h. Inputs that made the verifier answer with Python's words


#: What a reason must never contain: Python class names, codec talk, tracebacks.
PYTHON_WORDS = re.compile(
    r"Traceback|Error:|Exception|\b[A-Z][a-zA-Z]*Error\b|codec|surrogates not allowed|"
    r"NoneType|has no attribute|not subscriptable|unpack|too large to convert|<class |"
    r"object is not|invalid literal|set_int_max_str_digits"
)

LONE = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff", "a\ud83d", "\ude00z"])
HUGE = st.integers(min_value=16, max_value=400).flatmap(
    lambda digits: st.sampled_from([10**digits, -(10**digits), 10**digits - 1])
)
IRI_TAIL = st.sampled_from(["\n", "\r\n", "\t", " ", "\x00", "\u2028", "\x7f", "\n\n"])


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            out += _paths(value, (*prefix, index))
    return out


def _mutate(doc: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """Put one odd value somewhere in a copy of ``doc`` (a signed credential)."""
    doc = copy.deepcopy(doc)
    path = data.draw(st.sampled_from(_paths(doc)), label="path")
    parent: Any = doc
    for part in path[:-1]:
        parent = parent[part]
    old = parent[path[-1]] if path else doc
    kind = data.draw(
        st.sampled_from(["surrogate", "surrogate key", "huge", "iri tail", "iri tail key"]),
        label="kind",
    )
    if kind == "huge":
        value: Any = data.draw(HUGE, label="number")
    elif kind == "surrogate":
        text = old if isinstance(old, str) else "x"
        cut = data.draw(st.integers(0, len(text)), label="at")
        value = text[:cut] + data.draw(LONE, label="surrogate") + text[cut:]
    elif kind == "iri tail":
        value = (old if isinstance(old, str) else "https://example.com/x") + data.draw(IRI_TAIL)
    else:
        target = old if isinstance(old, dict) else doc
        tail = data.draw(LONE) if kind == "surrogate key" else data.draw(IRI_TAIL)
        key = data.draw(st.sampled_from([*target, "name"]), label="key") if target else "name"
        target[str(key) + tail] = target.pop(key, "x")
        return doc
    if not path:
        return doc
    parent[path[-1]] = value
    return doc


def _same_signed_content(doc: dict[str, Any], original: dict[str, Any]) -> bool:
    # The base58 decoder ignores whitespace after proofValue ("z…\n" verifies): the signature
    # is the same, so nothing signed changed. Reported to the owner of verifier/dataintegrity.
    def without_value(d: dict[str, Any]) -> dict[str, Any]:
        d = copy.deepcopy(d)
        if isinstance(d.get("proof"), dict) and isinstance(d["proof"].get("proofValue"), str):
            d["proof"]["proofValue"] = d["proof"]["proofValue"].rstrip()
        return d

    return without_value(doc) == without_value(original)


def _assert_plain(reasons: list[str]) -> None:
    for reason in reasons:
        assert not PYTHON_WORDS.search(reason), reason
        reason.encode("utf-8")  # no lone surrogate repeated back to the reader


@pytest.fixture(scope="module")
def verifier_body() -> Body:
    body = Body()
    body.publish_defaults()
    return body


@pytest.fixture(scope="module")
def signed_pair(verifier_body: Body) -> list[dict[str, Any]]:
    return [
        verifier_body.sign(certificate()),
        verifier_body.sign(certificate(), cryptosuite="eddsa-jcs-2022"),
    ]


@settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_odd_values_anywhere_are_refused_in_plain_words_by_the_library(
    verifier_body: Body, signed_pair: list[dict[str, Any]], data: st.DataObject
) -> None:
    original = data.draw(st.sampled_from(signed_pair), label="suite")
    doc = _mutate(original, data)
    as_text = data.draw(st.booleans(), label="as JSON text")
    given_input: Any = json.dumps(doc) if as_text else doc  # text: surrogates as \ud800 escapes
    result = verifier_body.verifier().verify_credential(given_input)
    assert result.verdict is not Verdict.VALID or _same_signed_content(doc, original)
    _assert_plain([result.summary, *(c.reason for c in result.checks)])
    json.dumps(result.to_json(), ensure_ascii=False).encode("utf-8")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_odd_values_anywhere_are_refused_in_plain_words_over_http(
    env: Env, data: st.DataObject
) -> None:
    original = _granted(env)
    doc = _mutate(original, data)
    body = json.dumps({"verifiableCredential": doc}).encode()  # ensure_ascii: \ud800 escapes
    r = env.client.post(
        "/credentials/verify", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code < 500 and r.status_code != 429, r.text
    answer = r.json()
    assert answer.get("verified") is not True or _same_signed_content(doc, original)
    assert not PYTHON_WORDS.search(r.text), r.text
    page = env.client.post(
        "/verify", data={"credential": json.dumps(doc)}, headers={"Accept": "text/html"}
    )
    assert page.status_code < 500 and page.status_code != 429
    assert not re.search(r"Traceback|[A-Z][a-zA-Z]*Error\b", page.text)


_GRANTED: dict[int, dict[str, Any]] = {}


def _granted(env: Env) -> dict[str, Any]:
    if id(env) not in _GRANTED:
        _GRANTED[id(env)] = env.grant()["credential"]
    return _GRANTED[id(env)]


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (
            lambda d: d["credentialSubject"].__setitem__("name", "Jane \ud800"),
            r"a lone surrogate \(\\ud800\) at credentialSubject.name, which is not valid Unicode",
        ),
        (
            lambda d: d["credentialSubject"].__setitem__("n\udfff", "x"),
            r"lone surrogate \(\\udfff\) in the name of the key at credentialSubject",
        ),
        (
            lambda d: d["credentialSubject"].__setitem__("n", 10**400),
            r"the number 100000000000… \(401 digits\) at credentialSubject.n",
        ),
        (
            lambda d: d["type"].append("https://example.com/T\n"),
            r"is not a well-formed absolute IRI",
        ),
    ],
)
def test_each_source_has_its_own_reason(
    verifier_body: Body, signed_pair: list[dict[str, Any]], edit: Any, reason: str
) -> None:
    for original in signed_pair:
        doc = copy.deepcopy(original)
        edit(doc)
        result = verifier_body.verifier().verify_credential(doc)
        if "IRI" in reason and original["proof"]["cryptosuite"] == "eddsa-jcs-2022":
            # JCS signs the JSON text: the added newline is simply an alteration.
            assert result.verdict is Verdict.INVALID
            continue
        assert result.verdict is Verdict.INVALID
        assert re.search(reason, result.summary), result.summary


def test_a_number_too_long_for_python_is_refused_in_words(verifier_body: Body) -> None:
    text = json.dumps(certificate())[:-1] + ', "n": ' + "9" * 5000 + "}"
    result = verifier_body.verifier().verify_credential(text)
    assert result.verdict is Verdict.INVALID
    assert "a number thousands of digits long" in result.summary
    _assert_plain([result.summary])


def test_the_catch_all_never_repeats_the_exception(
    signed_pair: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("internal detail 0xdeadbeef")

    monkeypatch.setattr(verify_module, "_credential_structure", broken)
    monkeypatch.setattr(verify_module, "_presentation_structure", broken)
    with caplog.at_level("ERROR", logger="verifier.verify"):
        results = [
            Verifier().verify_credential(signed_pair[0]),
            Verifier().verify_presentation(
                {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": "x"}
            ),
        ]
    for result in results:
        assert result.verdict is Verdict.INVALID
        assert "the verifier could not process this input" in result.summary
        assert "ZeroDivisionError" not in result.summary and "deadbeef" not in result.summary
    assert "ZeroDivisionError" in caplog.text  # the operator's log has it

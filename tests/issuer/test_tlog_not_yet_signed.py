"""An entry written but not yet in a signed checkpoint (issue 13): the log signs a checkpoint at
most every few seconds, so a proof asked for inside that interval cannot be given yet. That is
not "not in the log": ``/log/proof``, the share page's ``/log-proof`` and the VC API exchange say
so with 503 and ``Retry-After`` (seconds until the next signing); the verifier asks once more
after that delay when it is short, else says when to ask again, never NOT_IN_LOG.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from factories import free_port
from http_support import Env, make_env, serve_subprocess, stop_subprocess, wait_serving

from certreg.issuer import sharing
from certreg.verifier.did import HttpFetcher
from certreg.verifier.result import Check, Verdict
from certreg.verifier.tlog.entry import credential_hash
from certreg.verifier.tlog.policy import LogPolicy, check_in_log

#: Long enough that no second checkpoint is signed while a test runs.
LONG = 3600.0


def credential_of(env: Env, number: str) -> dict:
    return env.body.certification(number).credential


def reduce(env: Env, number: str) -> None:
    """A decision that signs a new credential: its entry is written at once."""
    env.body.reduce_scope(number, decided_by=env.staff["decider"], remove=["UT2"], reason="r")


def test_a_written_but_unsigned_entry_gives_503_with_retry_after(tmp_path: Path) -> None:
    env = make_env(tmp_path, did_method="web")
    env.client.app.state.certreg_log_interval = LONG
    first = env.grant()["number"]
    assert env.get("/log/checkpoint").status_code == 200  # signs the checkpoint of 1 entry
    signed = env.get(
        "/log/proof", params={"credential": credential_hash(credential_of(env, first))}
    )
    assert signed.status_code == 200

    number = first
    reduce(env, number)  # its entry is written, the next checkpoint is not due yet
    wanted = credential_hash(credential_of(env, number))
    r = env.get("/log/proof", params={"credential": wanted})
    assert r.status_code == 503, r.text
    assert 1 <= int(r.headers["retry-after"]) <= LONG
    assert "has not yet signed entry 1" in r.json()["detail"]
    assert "ask again in" in r.json()["detail"]
    # A credential the log never saw is still "not in the log".
    assert env.get("/log/proof", params={"credential": "ab" * 32}).status_code == 404

    # The share page's proof and the VC API exchange go the same way.
    _, token = sharing.create_share(env.body, number)
    shared = env.client.get(f"/share/{token}/log-proof")
    assert shared.status_code == 503
    assert 1 <= int(shared.headers["retry-after"]) <= LONG
    assert "has not yet signed" in shared.text
    protocols = env.client.get(
        f"/share/{token}/interact", headers={"Accept": "application/json"}
    ).json()["protocols"]
    exchange = env.client.post(protocols["vcapi"].removeprefix("https://cb.example"), json={})
    assert exchange.status_code == 200
    data = exchange.json()
    assert "logProof" not in data
    assert "has not yet signed" in data["logProofPending"]
    assert 1 <= data["logProofRetryAfter"] <= LONG


def _data_dir(env: Env) -> Path:
    return Path(env.body.db.execute("PRAGMA database_list").fetchone()[2]).parent


def _check_served(tmp_path: Path, every: str) -> tuple[list[str], Check]:
    """Grant, let the real server (``certreg serve``, 127.0.0.1) sign the checkpoint of that
    one entry, reduce the scope (a new credential), and check the new credential under the log
    policy with the verifier's own HTTP fetcher, noting each fetch's answer and each wait, in
    order."""
    env = make_env(tmp_path, did_method="web")
    number = env.grant()["number"]
    port = free_port()
    proc = serve_subprocess(_data_dir(env), port, "--log-checkpoint-every", every)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_serving(base, proc)
        document = httpx.get(f"{base}/.well-known/did.json").json()
        [service] = [s for s in document["service"] if s["type"] == "CertregTransparencyLog"]
        assert httpx.get(f"{base}/log/checkpoint").status_code == 200  # size 1, signed now
        reduce(env, number)
        happened: list[str] = []
        fetcher = HttpFetcher(allow_loopback_http=True, timeout=10)

        def fetch(url: str) -> bytes:
            try:
                data = fetcher(url)
            except Exception as error:
                happened.append(f"fetch: {error}")
                raise
            happened.append("fetch: proof")
            return data

        def sleep(seconds: float) -> None:
            happened.append(f"wait {seconds:g} s")
            time.sleep(seconds)

        policy = LogPolicy(log_key=service["verifierKey"], fetch=fetch, sleep=sleep)
        issuer = {"service": [{**service, "serviceEndpoint": f"{base}/log/"}]}
        check = check_in_log(credential_of(env, number), policy, issuer, None)
        return happened, check
    finally:
        stop_subprocess(proc)


def test_the_verifier_asks_again_after_a_short_retry_after(tmp_path: Path) -> None:
    # 5 s between checkpoints: the new entry must still be unsigned when the verifier first
    # asks, however slowly a loaded machine runs the few steps between (2 s was close).
    happened, check = _check_served(tmp_path, "5")
    assert [h.split(":")[0].split(" ")[0] for h in happened] == ["fetch", "wait", "fetch"], happened
    assert "HTTP 503" in happened[0]
    assert happened[1] in {f"wait {n} s" for n in range(1, 6)}
    assert happened[2] == "fetch: proof"
    assert check.ok, check.reason
    assert "entry 1" in check.reason


def test_the_verifier_says_when_to_ask_again_after_a_long_retry_after(tmp_path: Path) -> None:
    happened, check = _check_served(tmp_path, "60")
    assert len(happened) == 1 and "HTTP 503" in happened[0], happened  # no wait, no retry
    assert not check.ok
    assert check.verdict == Verdict.STATUS_UNKNOWN
    assert check.verdict != Verdict.NOT_IN_LOG
    reason = check.reason
    assert reason.startswith("the log has not yet signed this entry; ask again in ")
    seconds = int(reason.removeprefix("the log has not yet signed this entry; ask again in ")[:-2])
    assert 10 < seconds <= 60

"""`certreg log verify` and `certreg log monitor`: a published log audited whole (every tile
rebuilt, every entry parsed, the root and the history checked), and tampering caught with the
reason: a leaf changed, a tile swapped, a checkpoint forked, an entry inserted in the middle."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from tlog_support import Log, entry

from certreg.issuer.cli import main
from certreg.verifier.tlog import tiles
from certreg.verifier.tlog.audit import FolderSource, audit_log
from certreg.verifier.tlog.entry import credential_hash

SIZE = 600  # two full level-0 tiles and a partial one, one partial level-1 tile


@pytest.fixture()
def log() -> Log:
    log = Log()
    log.add(*(entry(i, number=f"CWI-{i:04d}" if i % 2 else None) for i in range(SIZE)))
    return log


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["log", *map(str, args)])
    return result.exit_code, result.output


def verify(folder: Path | str, log: Log, *extra: str) -> tuple[int, dict]:
    code, out = run("verify", folder, "--key", log.key.verifier.key_string, "--json", *extra)
    return code, json.loads(out)


def test_a_published_log_checks_whole(tmp_path: Path, log: Log) -> None:
    folder = log.write(tmp_path / "log")
    code, report = verify(folder, log)
    assert code == 0, report
    assert report["ok"] and report["size"] == SIZE and report["entries_read"] == SIZE
    assert report["tiles_read"] == 4  # three level-0 tiles and one level-1 tile
    code, out = run("verify", folder, "--key", log.key.verifier.key_string)
    assert code == 0 and "The log cb.example/log checks: 600 entries" in out


def test_the_audit_reads_level_0_tiles_one_at_a_time(tmp_path: Path, log: Log) -> None:
    """Bounded memory: the source is read tile by tile, never the whole log at once."""
    reads: list[str] = []
    folder = log.write(tmp_path / "log")

    class Counting(FolderSource):
        def read(self, path: str, max_bytes: int) -> bytes | None:
            reads.append(path)
            assert max_bytes <= 256 * (2 + 4096)
            return super().read(path, max_bytes)

    assert audit_log(Counting(folder), log.key.verifier).ok
    assert reads[:3] == ["checkpoint", "tile/0/000", "tile/entries/000"]


def test_a_checkpoint_signed_by_another_key_is_refused(tmp_path: Path, log: Log) -> None:
    folder = log.write(tmp_path / "log")
    other = Log()
    code, report = verify(folder, other)
    assert code == 1 and "the checkpoint does not verify" in report["problems"][0]


def test_a_changed_leaf_is_caught(tmp_path: Path, log: Log) -> None:
    folder = log.write(tmp_path / "log")
    bundle = folder / "tile/entries/001"
    entries = tiles.decode_bundle(bundle.read_bytes())
    entries[3] = entry(259, kind="withdraw").to_bytes()  # a grant rewritten as a withdrawal
    bundle.write_bytes(tiles.encode_bundle(entries))
    code, report = verify(folder, log)
    assert code == 1
    assert "entry 259 does not hash to its leaf in tile/0/001" in report["problems"][0]


def test_a_swapped_tile_is_caught(tmp_path: Path, log: Log) -> None:
    folder = log.write(tmp_path / "log")
    a, b = folder / "tile/0/000", folder / "tile/0/001"
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    code, report = verify(folder, log)
    assert code == 1
    assert "entry 0 does not hash to its leaf in tile/0/000" in report["problems"][0]


def test_a_level_1_tile_swapped_for_another_is_caught(tmp_path: Path, log: Log) -> None:
    folder = log.write(tmp_path / "log")
    (folder / "tile/1/000.p/2").write_bytes(bytes(64))
    code, report = verify(folder, log)
    assert code == 1
    assert any("tile/1/000.p/2 is not the tile rebuilt" in p for p in report["problems"])


def test_an_entry_inserted_in_the_middle_is_a_root_mismatch(tmp_path: Path, log: Log) -> None:
    """A back-dated decision slipped into the history: every file rewritten to match, but the
    signed checkpoint's root is not the new tree's."""
    checkpoint = log.checkpoint()
    forged = Log(list(log.entries), log.key, log.witnesses)
    forged.entries.insert(300, entry(10_000, at="2026-01-01T00:00:00Z").to_bytes())
    forged.entries.pop()  # same size as the signed checkpoint
    folder = forged.write(tmp_path / "log")
    (folder / "checkpoint").write_text(checkpoint)
    code, report = verify(folder, log)
    assert code == 1
    assert any("do not lead to the checkpoint's root hash" in p for p in report["problems"])


def test_a_forked_checkpoint_is_caught_against_one_seen_before(tmp_path: Path, log: Log) -> None:
    """The body (holding its key) rewrites history and signs a new checkpoint: it checks on
    its own, but not against the checkpoint a monitor kept."""
    seen = tmp_path / "seen"
    seen.write_text(log.checkpoint(size=400))
    rewritten = Log(list(log.entries), log.key, log.witnesses)
    rewritten.entries[100] = entry(100, kind="withdraw").to_bytes()
    rewritten.add(entry(SIZE))
    folder = rewritten.write(tmp_path / "log")
    assert verify(folder, log)[0] == 0  # alone, the rewritten log is self-consistent
    code, report = verify(folder, log, "--since", str(seen))
    assert code == 1 and report["consistent"] is False
    assert "the history was rewritten (a fork)" in report["problems"][0]
    code, out = run("verify", folder, "--key", log.key.verifier.key_string, "--since", seen)
    assert "NOT consistent with the checkpoint seen before (400 entries)" in out


def test_a_log_that_only_grew_is_consistent(tmp_path: Path, log: Log) -> None:
    seen = tmp_path / "seen"
    seen.write_text(log.checkpoint(size=257))
    folder = log.write(tmp_path / "log")
    code, report = verify(folder, log, "--since", str(seen))
    assert code == 0 and report["consistent"] is True


def test_a_shrunk_log_is_caught(tmp_path: Path, log: Log) -> None:
    bigger = Log(list(log.entries), log.key, log.witnesses)
    bigger.add(entry(SIZE))
    seen = tmp_path / "seen"
    seen.write_text(bigger.checkpoint())
    code, report = verify(log.write(tmp_path / "log"), log, "--since", str(seen))
    assert code == 1 and "the log shrank" in report["problems"][0]


def test_malformed_entries_are_named_by_index(tmp_path: Path, log: Log) -> None:
    log.entries[5] = b'{"v":1,"kind":"grant","name":"Jane Doe"}'
    log.entries[512] = b"not json"
    code, report = verify(log.write(tmp_path / "log"), log)
    assert code == 1
    assert [m["index"] for m in report["malformed_entries"]] == [5, 512]
    assert "unknown field(s): name" in report["malformed_entries"][0]["reason"]


def test_a_missing_tile_is_named(tmp_path: Path, log: Log) -> None:
    folder = log.write(tmp_path / "log")
    (folder / "tile/0/002.p/88").unlink()
    code, report = verify(folder, log)
    assert code == 1 and "tile/0/002.p/88 is missing" in report["problems"]


def test_witness_quorum_in_an_audit(tmp_path: Path, log: Log) -> None:
    folder = log.write(tmp_path / "log", cosigners=1)
    keys = [a for w in log.witnesses[:2] for a in ("--witness", w.verifier.key_string)]
    assert verify(folder, log, *keys, "--witness-quorum", "1")[0] == 0
    code, report = verify(folder, log, *keys, "--witness-quorum", "2")
    assert code == 1 and "1 of the required 2 witnesses" in report["problems"][0]


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A folder served over plain HTTP on 127.0.0.1 (a static host, as a CDN would)."""
    root = tmp_path / "site"
    root.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass  # the CLI's output is what the tests read

    handler = partial(Quiet, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def test_a_log_served_over_http_checks(served: tuple[str, Path], log: Log) -> None:
    host, root = served
    log.write(root / "log")
    url = f"http://{host}/log/"
    code, report = verify(url, log, "--unsafe-allow-http-host", host)
    assert code == 0, report


def test_a_local_address_needs_the_unsafe_option(served: tuple[str, Path], log: Log) -> None:
    host, root = served
    log.write(root / "log")
    code, out = run("verify", f"http://{host}/log/", "--key", log.key.verifier.key_string)
    assert code == 1 and "plain HTTP" in out


def test_a_tampered_served_log_is_caught(served: tuple[str, Path], log: Log) -> None:
    host, root = served
    log.write(root / "log")
    shutil.copy(root / "log/tile/0/000", root / "log/tile/0/001")
    code, out = run(
        "verify",
        f"http://{host}/log/",
        "--key",
        log.key.verifier.key_string,
        "--unsafe-allow-http-host",
        host,
    )
    assert code == 1 and "entry 256 does not hash to its leaf in tile/0/001" in out


# --- monitor -------------------------------------------------------------------------------


def monitor(folder: Path, log: Log, state: Path, *extra: str) -> tuple[int, str]:
    return run("monitor", folder, "--state", state, "--key", log.key.verifier.key_string, *extra)


def test_monitor_lists_what_is_new_for_a_number_then_moves_on(tmp_path: Path) -> None:
    log = Log()
    grant = entry(0, number="CWI-7K3M-9QX2-4", at="2026-01-05T10:00:00Z")
    log.add(grant, entry(1, scheme="ndt"))
    folder, state = tmp_path / "log", tmp_path / "state"
    log.write(folder)
    code, out = monitor(folder, log, state, "--number", "CWI-7K3M-9QX2-4")
    assert code == 0, out
    assert "2026-01-05 grant of CWI-7K3M-9QX2-4 (scheme cwi), entry 0" in out
    assert (state / "checkpoint").read_text() == log.checkpoint()

    log.add(
        entry(
            2, kind="suspend", cert=grant.cert, number="CWI-7K3M-9QX2-4", at="2026-03-12T08:00:00Z"
        ),
        entry(3, scheme="cwi"),
    )
    log.write(folder)
    code, out = monitor(folder, log, state, "--number", "CWI-7K3M-9QX2-4")
    assert code == 0, out
    assert "2026-03-12 suspend of CWI-7K3M-9QX2-4 (scheme cwi), entry 2" in out
    assert "grant of CWI-7K3M-9QX2-4" not in out  # seen on the first run
    code, out = monitor(folder, log, state, "--number", "CWI-7K3M-9QX2-4")
    assert "Nothing new that matches, from entry 4 to 4" in out


def test_monitor_by_scheme_and_by_credential(tmp_path: Path) -> None:
    log = Log()
    grant = entry(0)
    log.add(
        grant,
        entry(1, scheme="ndt"),
        entry(2, kind="recertify", cert=grant.cert, at="2027-01-01T00:00:00Z"),
    )
    folder = log.write(tmp_path / "log")
    code, out = monitor(folder, log, tmp_path / "s1", "--scheme", "ndt")
    assert code == 0 and out.count(" of certificate ") == 1 and "(scheme ndt)" in out

    # A holder knows their credential; its cert id is the grant's credential hash.
    code, out = monitor(folder, log, tmp_path / "s2", "--cert", grant.cert, "--json")
    kinds = [e["kind"] for e in json.loads(out)["entries"]]
    assert code == 0 and kinds == ["grant", "recertify"]


def test_monitor_refuses_a_fork_and_keeps_its_state(tmp_path: Path) -> None:
    log = Log()
    log.add(*(entry(i) for i in range(10)))
    folder, state = log.write(tmp_path / "log"), tmp_path / "state"
    assert monitor(folder, log, state)[0] == 0
    kept = (state / "checkpoint").read_text()
    log.entries[3] = entry(3, kind="withdraw").to_bytes()
    log.add(entry(10))
    log.write(folder)
    code, out = monitor(folder, log, state)
    assert code == 1 and "the history was rewritten (a fork)" in out
    assert (state / "checkpoint").read_text() == kept


def test_the_log_key_is_taken_from_the_bodys_did_document(
    served: tuple[str, Path], log: Log
) -> None:
    host, root = served
    log.write(root / "log")
    did = "did:web:" + host.replace(":", "%3A")
    (root / ".well-known").mkdir()
    service = {
        "id": f"{did}#transparency-log",
        "type": "CertregTransparencyLog",
        "serviceEndpoint": f"http://{host}/log/",
        "verifierKey": log.key.verifier.key_string,
    }
    (root / ".well-known/did.json").write_text(json.dumps({"id": did, "service": [service]}))
    url = f"http://{host}/log/"
    code, out = run("verify", url, "--did", did, "--unsafe-allow-http-host", host)
    assert code == 0, out
    (root / ".well-known/did.json").write_text(json.dumps({"id": did}))
    code, out = run("verify", url, "--did", did, "--unsafe-allow-http-host", host)
    assert code == 2 and "names no transparency log key" in out


def test_monitor_follows_the_certification_of_a_credential_file(tmp_path: Path) -> None:
    """A holder with their latest credential (a recertification) sees the whole history of
    its certification, found through the entry that names that credential."""
    credential = {"id": "urn:uuid:1", "type": ["VerifiableCredential"], "name": "recertified"}
    path = tmp_path / "credential.json"
    path.write_text(json.dumps(credential))
    log = Log()
    grant = entry(0, at="2025-01-01T00:00:00Z")
    log.add(
        grant,
        entry(1, kind="suspend", cert=grant.cert, at="2025-06-01T00:00:00Z"),
        entry(2),
        entry(3, kind="recertify", cert=grant.cert, credential=credential_hash(credential)),
    )
    folder = log.write(tmp_path / "log")
    code, out = monitor(folder, log, tmp_path / "state", "--credential", str(path))
    assert code == 0, out
    listed = [line.strip() for line in out.splitlines()[1:]]
    assert [line.split(" ")[1] for line in listed] == ["grant", "suspend", "recertify"]


def test_monitor_reads_only_the_entries_added_since_its_last_run(tmp_path: Path, log: Log) -> None:
    folder, state = log.write(tmp_path / "log"), tmp_path / "state"
    code, out = monitor(folder, log, state, "--json")
    assert code == 0 and json.loads(out)["audit"]["entries_read"] == SIZE
    log.add(*(entry(i) for i in range(SIZE, SIZE + 300)))
    log.write(folder)
    code, out = monitor(folder, log, state, "--json")
    report = json.loads(out)
    assert code == 0, out
    assert report["audit"]["resumed_from"] == SIZE
    assert report["audit"]["entries_read"] == 300
    assert [e["index"] for e in report["entries"]] == list(range(SIZE, SIZE + 300))


def test_an_edited_monitor_file_is_not_trusted(tmp_path: Path, log: Log) -> None:
    """The kept frontier only saves reading: one that is not the kept checkpoint's tree
    (edited, or left by a crash between the two writes) sends the monitor back to reading
    the whole log."""
    folder, state = log.write(tmp_path / "log"), tmp_path / "state"
    assert monitor(folder, log, state)[0] == 0
    kept = json.loads((state / "monitor.json").read_text())
    kept["frontier"]["hashes"][0] = "00" * 32
    (state / "monitor.json").write_text(json.dumps(kept))
    log.add(entry(SIZE))
    log.write(folder)
    code, out = monitor(folder, log, state, "--json")
    report = json.loads(out)["audit"]
    assert code == 0 and report["resumed_from"] is None and report["entries_read"] == SIZE + 1


def test_a_resumed_monitor_still_catches_an_old_entry_rewritten(tmp_path: Path, log: Log) -> None:
    folder, state = log.write(tmp_path / "log"), tmp_path / "state"
    assert monitor(folder, log, state)[0] == 0
    kept = (state / "checkpoint").read_text()
    log.entries[5] = entry(5, kind="withdraw").to_bytes()  # in the first, full, tile
    log.add(entry(SIZE))
    log.write(folder)
    code, out = monitor(folder, log, state)
    assert code == 1 and "the history was rewritten (a fork)" in out
    assert (state / "checkpoint").read_text() == kept


def test_a_resumed_monitor_remembers_whose_certification_it_follows(tmp_path: Path) -> None:
    credential = {"id": "urn:uuid:2", "type": ["VerifiableCredential"], "name": "granted"}
    path = tmp_path / "credential.json"
    path.write_text(json.dumps(credential))
    log = Log()
    grant = entry(0, credential=credential_hash(credential))
    log.add(grant, entry(1))
    folder, state = log.write(tmp_path / "log"), tmp_path / "state"
    code, out = monitor(folder, log, state, "--credential", str(path))
    assert code == 0 and "grant" in out
    # The suspension names the certification, not the credential the holder has.
    log.add(entry(2, kind="suspend", cert=grant.cert), entry(3))
    log.write(folder)
    code, out = monitor(folder, log, state, "--credential", str(path), "--json")
    report = json.loads(out)
    assert report["audit"]["resumed_from"] == 2
    assert [(e["index"], e["kind"]) for e in report["entries"]] == [(2, "suspend")]

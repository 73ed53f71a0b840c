"""``sync`` and ``certreg sync``: only what the body vouches for reaches the cache (keys in its
DID document, status lists it signed), over the network with the verifier's rules.

The served site is a folder on a plain HTTP server on 127.0.0.1 holding the offline.json of
docs/offline.md and the body's signed status list. TODO(lead): switch the CLI test to a real
`certreg serve` once its /offline.json (engineer "offline-pages") is merged.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from offline_support import NOW, OfflineBody, fixed_clock, serve_files, write_files

from certreg.issuer.cli import main
from certreg.verifier.offline.cache import Cache
from certreg.verifier.offline.sync import SyncError, sync
from certreg.verifier.offline.verify import OfflineVerdict, verify_offline


def run_sync(tmp_path: Path, body: OfflineBody):  # type: ignore[no-untyped-def]
    return sync(tmp_path, body.public_url, fetch=body.fetch, resolver=body.resolver(),
                clock=fixed_clock())  # fmt: skip


def test_the_cache_holds_the_files_as_fetched_and_when(tmp_path: Path) -> None:
    body = OfflineBody(did_method="web")
    report = run_sync(tmp_path, body)
    assert report.ok and (report.keys, report.lists) == (1, 1)
    folder = report.folder
    assert (folder / "offline.json").read_bytes() == body.files()["offline.json"]
    assert (folder / "lists/0.json").read_bytes() == body.files()["status/message-1"]
    record = json.loads((folder / "sync.json").read_text())
    assert record["lists"][body.list_url]["fetched"] == "2026-11-28T17:00:00Z"
    assert json.loads((folder / "did.json").read_text())["id"] == body.did
    # A second sync replaces the first, leaving no other folder behind.
    run_sync(tmp_path, body)
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]


def test_a_key_the_did_document_does_not_list_is_left_out(tmp_path: Path) -> None:
    body = OfflineBody(did_method="web")
    stranger = OfflineBody(did_method="web").key
    listed = body.offline_json()
    listed["keys"].append(
        {"id": f"{body.did}#key-9", "publicKeyMultibase": stranger.public_multibase}
    )
    body.extra_files["offline.json"] = json.dumps(listed).encode()
    report = run_sync(tmp_path, body)
    assert report.keys == 1
    assert any("key-9 is not in" in p for p in report.problems)
    # A payload signed with the stranger's key, though offline.json listed it: cannot tell.
    forged = body.qr(signer=stranger)
    result = verify_offline(forged, Cache.open(tmp_path), now=NOW)
    assert result.verdict is OfflineVerdict.UNKNOWN_BODY


def test_a_status_list_not_signed_by_the_body_is_not_kept(tmp_path: Path) -> None:
    body, other = OfflineBody(), OfflineBody()
    forged = body.status_list()
    forged["proof"] = other.status_list()["proof"]
    body.extra_files["status/message-1"] = json.dumps(forged).encode()
    report = run_sync(tmp_path, body)
    assert report.lists == 0
    assert "is not properly signed" in report.problems[0]
    result = verify_offline(body.qr(), Cache.open(tmp_path), now=NOW)
    assert result.verdict is OfflineVerdict.UNKNOWN_STATUS


def test_a_did_web_body_is_believed_only_on_its_own_host(tmp_path: Path) -> None:
    body = OfflineBody(did_method="web")
    mirror = OfflineBody(public_url="https://mirror.example")
    mirror.extra_files["offline.json"] = body.files()["offline.json"]
    with pytest.raises(SyncError, match="is not on that DID's host"):
        sync(tmp_path, mirror.public_url, fetch=mirror.fetch, resolver=body.resolver())


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"<html>", "is not valid JSON"), (b'{"format": "other"}', "is not a certreg offline file"),
     (b'{"format": "certreg-offline/1", "body": {}}', "does not name its body's DID")],
)  # fmt: skip
def test_what_is_not_an_offline_file_is_refused_in_words(
    tmp_path: Path, content: bytes, words: str
) -> None:
    body = OfflineBody()
    body.extra_files["offline.json"] = content
    with pytest.raises(SyncError, match=words):
        run_sync(tmp_path, body)
    assert not any(tmp_path.iterdir())  # nothing half-written


def test_private_addresses_are_refused_unless_named(tmp_path: Path) -> None:
    body = OfflineBody()
    write_files(tmp_path / "site", body.files())
    with serve_files(tmp_path / "site") as base:
        with pytest.raises(SyncError, match="plain HTTP"):
            sync(tmp_path / "cache", base)
        https_local = base.replace("http://", "https://")
        with pytest.raises(SyncError, match="private or local address"):
            sync(tmp_path / "cache", https_local)


def test_certreg_sync_then_verify_offline_from_the_command_line(tmp_path: Path) -> None:
    """The whole path a user takes: a site on 127.0.0.1, `certreg sync`, then `certreg verify
    --offline` with the QR code's text, from a file, and from standard input."""
    site = tmp_path / "site"
    site.mkdir()
    with serve_files(site) as base:
        body = OfflineBody(public_url=base, did_method="web")
        write_files(site, body.files())
        host = base.removeprefix("http://")
        cache = tmp_path / "cache"
        runner = CliRunner()
        done = runner.invoke(main, ["sync", str(cache), base, "--unsafe-allow-http-host", host])
        assert done.exit_code == 0, done.output
        assert f"✓ Demo Certification Body ({body.did}): 1 key(s), 1 status list(s)" in done.output
    qr = body.qr()
    done = runner.invoke(main, ["verify", "--offline", "--cache", str(cache), qr])
    assert done.exit_code == 0, done.output
    assert done.output.startswith("VALID as of ")
    assert "Holder:      Anna Schmidt" in done.output
    (tmp_path / "qr.txt").write_text(qr + "\n")
    args = ["verify", "--offline", "--cache", str(cache), str(tmp_path / "qr.txt")]
    done = runner.invoke(main, args)
    assert done.exit_code == 0, done.output
    done = runner.invoke(
        main, ["verify", "--offline", "--cache", str(cache), "--json", "-"], input=qr
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["body"]["did"] == body.did


def test_certreg_sync_says_what_it_could_not_sync(tmp_path: Path) -> None:
    with serve_files(tmp_path) as base:
        host = base.removeprefix("http://")
        done = CliRunner().invoke(
            main, ["sync", str(tmp_path / "cache"), base, "--unsafe-allow-http-host", host]
        )
    assert done.exit_code == 1
    assert f"✗ {base}: not synced: {base}/offline.json could not be fetched" in done.output


def test_a_mirror_of_the_body_s_site_serves_its_lists_which_stay_the_body_s(
    tmp_path: Path,
) -> None:
    """Synced from a copy of the site at another address: the lists are fetched beside that
    offline.json, and kept because they are signed by the body and name their own address."""
    body = OfflineBody()
    files = body.files()

    def mirror(url: str) -> bytes:
        prefix = "https://copy.example/"
        assert url.startswith(prefix), url  # nothing fetched from the body's own site
        return files[url[len(prefix) :]]

    report = sync(tmp_path, "https://copy.example", fetch=mirror, resolver=body.resolver(),
                  clock=fixed_clock())  # fmt: skip
    assert report.ok and report.lists == 1
    result = verify_offline(body.qr(), Cache.open(tmp_path), now=NOW)
    assert result.verdict is OfflineVerdict.VALID

    # A list the mirror changed is not the body's, wherever it says it comes from.
    forged = body.status_list()
    forged["id"] = "https://copy.example/status/message-1"
    files["status/message-1"] = json.dumps(forged).encode()
    report = sync(tmp_path, "https://copy.example", fetch=mirror, resolver=body.resolver(),
                  clock=fixed_clock())  # fmt: skip
    assert report.lists == 0 and "says it is" in report.problems[0]

"""The pinned contexts and the offline document loader."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from pyld import jsonld

from certreg import contexts
from certreg.contexts import (
    DEFAULT_LOADER,
    ContextIntegrityError,
    ContextNotPinnedError,
    context_file_bytes,
    pinned_contexts,
)

SHARED_INDEX = Path(__file__).parents[1] / "vectors" / "contexts"


def test_every_pinned_file_matches_its_recorded_sha256():
    for url, entry in pinned_contexts().items():
        assert hashlib.sha256(context_file_bytes(url)).hexdigest() == entry.sha256


def test_the_contexts_certreg_needs_are_pinned():
    assert {
        "https://www.w3.org/ns/credentials/v2",
        "https://www.w3.org/2018/credentials/v1",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        "https://w3id.org/security/data-integrity/v2",
        "https://w3id.org/security/multikey/v1",
        "https://www.w3.org/ns/did/v1",
        "https://www.w3.org/ns/credentials/status/v1",
    } <= set(pinned_contexts())


def test_the_v2_context_is_the_w3c_one_byte_for_byte():
    official = (SHARED_INDEX / "credentials-v2.jsonld").read_bytes()
    assert context_file_bytes("https://www.w3.org/ns/credentials/v2") == official


def test_an_unknown_url_is_refused_by_name_and_never_fetched():
    url = "https://evil.example/context.jsonld"
    with pytest.raises(ContextNotPinnedError) as info:
        DEFAULT_LOADER(url)
    assert url in str(info.value)
    with pytest.raises(jsonld.JsonLdError):
        jsonld.expand({"@context": url, "x": 1}, {"documentLoader": DEFAULT_LOADER})


def test_a_tampered_file_is_refused(tmp_path, monkeypatch):
    files = tmp_path / "files"
    shutil.copytree(Path(contexts.__file__).parent / "files", files)
    v2 = files / "credentials-v2.jsonld"
    doc = json.loads(v2.read_text())
    doc["@context"]["VerifiableCredential"]["@id"] = "https://evil.example/VC"
    v2.write_text(json.dumps(doc))
    monkeypatch.setattr(contexts, "_FILES", files)
    context_file_bytes.cache_clear()
    contexts._parsed.cache_clear()
    try:
        with pytest.raises(ContextIntegrityError, match="sha256"):
            contexts.load_context("https://www.w3.org/ns/credentials/v2")
    finally:
        context_file_bytes.cache_clear()
        contexts._parsed.cache_clear()


def test_the_loader_marks_documents_static_so_pyld_caches_them():
    remote = DEFAULT_LOADER("https://www.w3.org/ns/credentials/v2")
    assert remote["tag"] == "static"
    assert remote["document"]["@context"]["@protected"] is True


def test_the_w3c_examples_context_is_pinned_byte_for_byte():
    # W3C test suites (VC API, Data Integrity) send credentials using it.
    official = (SHARED_INDEX / "credentials-examples-v2.jsonld").read_bytes()
    assert context_file_bytes("https://www.w3.org/ns/credentials/examples/v2") == official

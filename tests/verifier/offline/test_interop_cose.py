"""certreg's CR1 payloads read by code that is not certreg's (issue 14 item 1): in Node, npm
``base45``, Node's zlib and ``cose-kit`` (COSE_Sign1 with EdDSA over panva's ``jose``;
tests/interop/verify_cr1.mjs); in Python, ``pycose``. Each verifies the signature with the
body's public key and reads back the claims, which must be the credential's facts."""

from __future__ import annotations

import shutil
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any

import base45
import cbor2
import pytest
from offline_support import SIGNED_AT, OfflineBody

from certreg.verifier.facts import extract_facts
from certreg.verifier.offline import payload

INTEROP = Path(__file__).parents[2] / "interop"

HOLDERS = ["Anna Schmidt", "Łukasz Żółć-Brzęczyszczykiewicz", "José María de la Cruz y Ñúñez",
           "王小明", "Aoife Ní Bhriain O'Sullivan-MacGiolla Phádraig"]  # fmt: skip


def samples() -> list[tuple[OfflineBody, dict[str, Any], str]]:
    body = OfflineBody(did_method="web")
    out = []
    for n, holder in enumerate(HOLDERS):
        credential = body.credential(holder, 1000 + n, number=f"CWI-2026-{n:06d}-7")
        text = payload.sign_compact(
            credential, body.key.sign, body.key.public_key.raw,
            issued_at=SIGNED_AT, public_url=body.public_url,
        )  # fmt: skip
        out.append((body, credential, text))
    return out


def epoch(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def expected_claims(credential: dict[str, Any], body: OfflineBody) -> dict[str, Any]:
    """The credential's facts as the claims must carry them (JSON: map keys as strings)."""
    facts = extract_facts(credential)
    assert facts is not None
    status = credential["credentialStatus"]
    entry = status[0] if isinstance(status, list) else status
    return {
        "4": epoch(credential["validUntil"]),
        "5": epoch(credential["validFrom"]),
        "6": int(SIGNED_AT.timestamp()),
        "-65537": {
            "1": facts.holder_name,
            "2": facts.certificate_number,
            "3": [facts.scheme_code, facts.scheme_version, facts.scheme_name],
            "4": [[i.id.rpartition("#scope-")[2], i.name, i.conditions] for i in facts.scope],
            "5": [[0, entry["statusListCredential"].removeprefix(body.public_url + "/"),
                   int(entry["statusListIndex"]), entry["statusSize"]]],
        },
    }  # fmt: skip


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")
@pytest.mark.skipif(
    not (INTEROP / "node_modules" / "cose-kit").is_dir(),
    reason="tests/interop/node_modules lacks cose-kit: run "
    "`npm ci --no-audit --no-fund --prefix tests/interop`",
)
def test_node_cose_kit_verifies_the_payloads_and_reads_the_facts() -> None:
    from interop_support import node

    cases = samples()
    stranger = OfflineBody()
    items = [{"qr": text, "public_key": body.key.public_key.raw.hex()} for body, _, text in cases]
    items.append({"qr": cases[0][2], "public_key": stranger.key.public_key.raw.hex()})
    results = node("verify_cr1.mjs", {"items": items})["results"]
    for (body, credential, _text), got in zip(cases, results, strict=False):
        assert got["valid"] is True, got
        assert got["alg"] == -8
        assert got["kid"] == payload.key_id(body.key.public_key.raw).hex()
        assert got["claims"] == expected_claims(credential, body)
    assert results[-1]["valid"] is False  # another key: refused by the other implementation too


def test_pycose_verifies_the_payloads_and_reads_the_facts() -> None:
    pycose = pytest.importorskip("pycose")
    from pycose.keys import OKPKey
    from pycose.keys.curves import Ed25519
    from pycose.messages import Sign1Message

    del pycose
    for body, credential, text in samples():
        cose = zlib.decompress(base45.b45decode(text.removeprefix("CR1:")))
        # pycose 1.1's decode() expects a list inside the tag; cbor2 6 gives a tuple there,
        # so the tag is opened here and pycose builds the message from its four parts.
        tagged = cbor2.loads(cose)
        assert tagged.tag == Sign1Message.cbor_tag == 18
        message = Sign1Message.from_cose_obj([tagged.value[0], dict(tagged.value[1]),
                                             *tagged.value[2:]], True)  # fmt: skip
        message.key = OKPKey(crv=Ed25519, x=body.key.public_key.raw)
        assert message.verify_signature()
        claims = cbor2.loads(message.payload)
        assert claims[-65537][1] == extract_facts(credential).holder_name  # type: ignore[union-attr]
        assert claims[4] == epoch(credential["validUntil"])
        message.key = OKPKey(crv=Ed25519, x=OfflineBody().key.public_key.raw)
        assert not message.verify_signature()

"""The verifier's plain-words summary in the reader's language (issue 12 item 2): a valid, a
suspended, a withdrawn and an invalid certificate summarised in German and Spanish, the
verdicts unchanged; ``certreg verify --lang``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from verify_support import DID, Body, certificate, did_key_signer

from certreg.issuer.cli import main
from certreg.verifier import Verdict

#: The words each language uses for each verdict, and a date in its own form.
SUMMARIES = {
    "de": {
        Verdict.VALID: (
            "Gültig: Jane Doe ist bis 14. Januar 2029 nach CWI zertifiziert (Zertifikat "
            "CB-7K3M-9QX2-4, ausgestellt von Example Certification Body)."
        ),
        Verdict.SUSPENDED: (
            "Ausgesetzt: Die Zertifizierung CWI von Jane Doe (Zertifikat CB-7K3M-9QX2-4, "
            "ausgestellt von Example Certification Body) ist laut der Statusliste des "
            "Ausstellers ausgesetzt."
        ),
        Verdict.WITHDRAWN: (
            "Entzogen: Die Zertifizierung CWI von Jane Doe (Zertifikat CB-7K3M-9QX2-4, "
            "ausgestellt von Example Certification Body) ist laut der Statusliste des "
            "Ausstellers entzogen."
        ),
        Verdict.INVALID: "Ungültig: the signature does not match",
    },
    "es": {
        Verdict.VALID: (
            "Válido: Jane Doe posee la certificación CWI (certificado CB-7K3M-9QX2-4) emitida "
            "por Example Certification Body hasta el 14 de enero de 2029."
        ),
        Verdict.SUSPENDED: (
            "Suspendido: la certificación CWI de Jane Doe (certificado CB-7K3M-9QX2-4) emitida "
            "por Example Certification Body está suspendida, según la lista de estado del "
            "emisor."
        ),
        Verdict.WITHDRAWN: (
            "Retirado: la certificación CWI de Jane Doe (certificado CB-7K3M-9QX2-4) emitida "
            "por Example Certification Body está retirada, según la lista de estado del emisor."
        ),
        Verdict.INVALID: "No válido: the signature does not match",
    },
}


def _summaries(lang: str) -> dict[Verdict, str]:
    results = {}
    for verdict, published in (
        (Verdict.VALID, {}),
        (Verdict.SUSPENDED, {"suspended": True}),
        (Verdict.WITHDRAWN, {"revoked": True}),
    ):
        body = Body()
        body.publish_defaults(**published)
        result = body.verifier(trusted_issuers=[DID], lang=lang).verify_credential(
            body.sign(certificate())
        )
        assert result.verdict is verdict  # the verdict itself is not translated
        assert result.to_json()["verdict"] == verdict.value
        results[verdict] = result.summary
    body = Body()
    body.publish_defaults()
    tampered = body.sign(certificate())
    tampered["credentialSubject"]["licenseNumber"] = "CB-FAKE"
    invalid = body.verifier(lang=lang).verify_credential(tampered)
    assert invalid.verdict is Verdict.INVALID and invalid.to_json()["verdict"] == "INVALID"
    results[Verdict.INVALID] = invalid.summary
    return results


@pytest.mark.parametrize("lang", ["de", "es"])
def test_valid_suspended_withdrawn_and_invalid_summarised_in_the_reader_s_language(lang):
    got = _summaries(lang)
    expected = SUMMARIES[lang]
    for verdict in (Verdict.VALID, Verdict.SUSPENDED, Verdict.WITHDRAWN):
        assert got[verdict] == expected[verdict]
    # The failed check's reason stays English (it names the technical fault).
    assert got[Verdict.INVALID].startswith(expected[Verdict.INVALID])


def test_english_is_the_default_and_an_unknown_language_is_refused():
    body = Body()
    body.publish_defaults()
    assert body.verifier().lang == "en"
    result = body.verifier(trusted_issuers=[DID]).verify_credential(body.sign(certificate()))
    assert result.summary.startswith("Valid: Jane Doe holds certification CWI")
    with pytest.raises(ValueError, match="does not speak 'pl'"):
        body.verifier(lang="pl")


def test_the_cli_prints_the_summary_and_labels_in_the_language_asked(tmp_path: Path) -> None:
    kp = did_key_signer()
    doc = Body().sign(certificate(kp.verification_method.split("#")[0], status=False), signer=kp)
    path = tmp_path / "cert.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(main, ["verify", "--lang", "de", str(path)])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("Gültig: Jane Doe ist bis 14. Januar 2029 nach CWI zertifiziert")
    lines = [line.split() for line in out.output.splitlines()]
    assert ["Inhaber:", "Jane", "Doe"] in lines and ["Norm:", "ISO", "9712:2021"] in lines
    assert "Geltungsbereich:" in out.output and "Prüfungen:" in out.output
    assert "✓ signature:" in out.output  # the checks keep their names and reasons

    spanish = runner.invoke(main, ["verify", "--lang", "es", "--json", str(path)])
    data = json.loads(spanish.output)
    assert data["verdict"] == "VALID" and data["summary"].startswith("Válido: Jane Doe posee")

    refused = runner.invoke(main, ["verify", "--lang", "pl", str(path)])
    assert refused.exit_code == 2 and "one of en, de, fr, es" in refused.output

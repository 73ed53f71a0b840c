"""The verifier tests' builders (tests/verify_support.py) make a certificate that verifies: a
test that starts from a broken fixture would prove nothing."""

from __future__ import annotations

from verify_support import Body, certificate


def test_fixtures_build_a_valid_certificate() -> None:
    body = Body()
    body.publish_defaults()
    result = body.verifier().verify_credential(body.sign(certificate()))
    assert result.verdict == "VALID", result.to_json()

"""Secrets carried in URL paths never reach the access log."""

from __future__ import annotations

import logging

from certreg.issuer.http.redact import RedactSecretPaths, install, redact_path

TOKEN = "kX3vQ9wz_secret-token-value_0123456789abcdEF"


def test_share_offer_and_exchange_secrets_are_redacted():
    assert TOKEN not in redact_path(f"/share/{TOKEN}")
    assert redact_path(f"/share/{TOKEN}/credential.json") == "/share/[redacted]/credential.json"
    assert TOKEN not in redact_path(f"/oid4vci/offers/{TOKEN}?x=1")
    assert TOKEN not in redact_path(f"/workflows/holder-share/exchanges/{TOKEN}")
    # A staff member's one-time console enrolment link.
    assert redact_path(f"/console/enrol/{TOKEN}") == "/console/enrol/[redacted]"
    assert redact_path("/console/login") == "/console/login"
    assert redact_path("/c/CWI-7K3M-9QX2-M") == "/c/CWI-7K3M-9QX2-M"


def test_the_uvicorn_access_record_is_rewritten_before_it_is_written(caplog):
    install()
    install()  # idempotent
    logger = logging.getLogger("uvicorn.access")
    assert sum(isinstance(f, RedactSecretPaths) for f in logger.filters) == 1
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logger.info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/share/{TOKEN}", "1.1", 200
        )
    assert TOKEN not in caplog.text
    assert "/share/[redacted]" in caplog.text

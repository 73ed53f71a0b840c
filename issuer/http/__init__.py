"""certreg's HTTP service: public artefacts, the admin API and the W3C CCG VC API, as one
FastAPI application (see docs/http-api.md). ``certreg serve`` runs it on uvicorn."""

from __future__ import annotations

from certreg.issuer.http.app import MAX_BODY_BYTES, create_app

__all__ = ["MAX_BODY_BYTES", "create_app"]

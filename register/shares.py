"""Share links in the public register: what a holder's share page shows, sealed with its link.

A share link is ``{public_url}/share/{token}`` (``issuer.sharing``). For the keyless public site
to serve it, the issuer pushes one row per link into register.db's ``share_pages``:

- ``id``: the SHA-256 of the token (hex), which is how the site finds the row for a URL;
- ``sealed``: what the page and its download show (the certification's public fields, its
  holder's name, its scope, the signed credential, the scheme and the body), as JSON in a
  PyNaCl ``SecretBox`` whose key is derived from the token itself
  (:func:`seal_key`: HMAC-SHA256 keyed with the token, over a label of its own, so it is
  neither the row id nor any other value derived from the token);
- ``expires_at``, ``revoked_at``, ``revoked_by``: plain columns, so the site refuses an expired
  or revoked link as the body's server does (a revoked link's sealed data is removed).

Whoever reads register.db without the link learns only how many links there are and when they
change: opening a row takes the token, which neither register.db nor issuer.db holds (issuer.db
keeps the token's SHA-256 and the derived seal key, so that it can seal the page again when the
certification changes). The table is hidden from Datasette (``metadata.json``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlencode

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

from certreg.verifier.issuing import parse_datetime

__all__ = [
    "LINKEDIN_ADD",
    "ShareCertification",
    "SharePage",
    "ShareTerms",
    "linkedin_for",
    "linkedin_url",
    "open_page",
    "plausible_token",
    "seal_key",
    "seal_page",
    "share_id",
    "unavailable",
]

_SEAL_LABEL = b"certreg share page seal key v1"
LINKEDIN_ADD = "https://www.linkedin.com/profile/add"
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def plausible_token(secret: object) -> bool:
    """Could ``secret`` be one of certreg's URL secrets (a share token, an offer id)? Anything
    else is refused before any lookup."""
    return isinstance(secret, str) and 20 <= len(secret) <= 200 and set(secret) <= _TOKEN_CHARS


def share_id(token: str) -> str:
    """The row id of a share link in register.db: the SHA-256 of its token, hex (the same value
    issuer.db keeps as ``share_links.token_hash``)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def seal_key(token: str) -> bytes:
    """The 32-byte key that seals a share link's page: HMAC-SHA256(token, label)."""
    return hmac.new(token.encode("utf-8"), _SEAL_LABEL, hashlib.sha256).digest()


def seal_page(key: bytes, page: Mapping[str, Any]) -> bytes:
    """``page`` (JSON) sealed with ``key`` (a fresh random nonce each time)."""
    data = json.dumps(page, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return bytes(SecretBox(key).encrypt(data))


@dataclass(frozen=True)
class ShareTerms:
    expires_at: str | None


@dataclass(frozen=True)
class ShareCertification:
    number: str
    holder_name: str
    status: str
    status_since: str | None
    valid_from: str
    valid_until: str
    suspended_until: str | None
    scope: list[dict[str, Any]]
    credential: dict[str, Any] | None
    offline_qr: str | None = None  # the offline QR payload (CR1 text, issue 14)


@dataclass(frozen=True)
class SharePage:
    """What a share page shows: the same attribute names as ``issuer.sharing``'s
    ``SharedCertificate``, so one renderer serves both sites."""

    share: ShareTerms
    certification: ShareCertification
    scheme: dict[str, Any]
    body: dict[str, Any]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SharePage:
        cert = data["certification"]
        return cls(
            share=ShareTerms(expires_at=data["share"].get("expires_at")),
            certification=ShareCertification(
                number=cert["number"],
                holder_name=cert["holder_name"],
                status=cert["status"],
                status_since=cert.get("status_since"),
                valid_from=cert["valid_from"],
                valid_until=cert["valid_until"],
                suspended_until=cert.get("suspended_until"),
                scope=list(cert.get("scope") or []),
                credential=cert.get("credential"),
                offline_qr=cert.get("offline_qr"),
            ),
            scheme=dict(data["scheme"]),
            body=dict(data["body"]),
        )


def open_page(token: str, sealed: bytes) -> SharePage | None:
    """The page sealed in ``sealed``, or None if ``token`` does not open it."""
    try:
        data = SecretBox(seal_key(token)).decrypt(sealed)
    except CryptoError:
        return None
    return SharePage.from_json(json.loads(data))


def unavailable(
    revoked_at: str | None, revoked_by: str | None, expires_at: str | None, now: datetime
) -> tuple[int, str] | None:
    """Why a link may no longer be used, as (410, reason), or None while it may. The same
    words on the body's server (``issuer.sharing``) and on the public site."""
    if revoked_at is not None:
        who = "the holder" if revoked_by == "holder" else "the certification body"
        return 410, f"this share link was revoked by {who} on {revoked_at}"
    if expires_at is not None and now >= parse_datetime(expires_at):
        return 410, f"this share link expired on {expires_at}"
    return None


# --- LinkedIn -----------------------------------------------------------------------------------


def _year_month(value: str | date) -> tuple[int, int]:
    text = value.isoformat() if isinstance(value, date) else str(value)
    day = date.fromisoformat(text[:10])
    return day.year, day.month


def linkedin_url(
    *,
    name: str,
    issued: str | date,
    cert_url: str,
    cert_id: str,
    organization_name: str | None = None,
    organization_id: str | None = None,
    expires: str | date | None = None,
) -> str:
    """LinkedIn's "Add to profile" URL for a certification, every value percent-encoded.

    ``organization_id`` (the body's LinkedIn company id) links the entry to the company page;
    without it ``organization_name`` is shown as text. Months are 1-12, as LinkedIn expects."""
    if not organization_id and not organization_name:
        raise ValueError("LinkedIn needs organizationId or organizationName")
    params: list[tuple[str, str]] = [("startTask", "CERTIFICATION_NAME"), ("name", name)]
    if organization_id:
        params.append(("organizationId", str(organization_id)))
    else:
        params.append(("organizationName", str(organization_name)))
    year, month = _year_month(issued)
    params += [("issueYear", str(year)), ("issueMonth", str(month))]
    if expires is not None:
        year, month = _year_month(expires)
        params += [("expirationYear", str(year)), ("expirationMonth", str(month))]
    params += [("certUrl", cert_url), ("certId", cert_id)]
    return f"{LINKEDIN_ADD}?{urlencode(params, quote_via=quote, safe='')}"


def linkedin_for(
    shared: Any, token: str, base_url: str, *, organization_id: str | None = None
) -> str:
    """ "Add to LinkedIn" for a share link (a :class:`SharePage` or the issuer's
    ``SharedCertificate``). certUrl is the certificate's stable public page ``/c/{number}``
    when the scheme publishes one, else (``on_request``) the share page."""
    cert = shared.certification
    doc = cert.credential or {}
    base = base_url.rstrip("/")
    if shared.scheme["publication_policy"] == "on_request":
        cert_url = f"{base}/share/{token}"
    else:
        cert_url = f"{base}/c/{quote(cert.number, safe='')}"
    return linkedin_url(
        name=str(doc.get("name") or shared.scheme["name"]),
        organization_name=str(shared.body["legal_name"]),
        organization_id=organization_id,
        issued=str(doc.get("validFrom") or cert.valid_from),
        expires=str(doc.get("validUntil") or cert.valid_until),
        cert_url=cert_url,
        cert_id=cert.number,
    )

"""Holder sharing: share links, "Add to LinkedIn", OpenID4VCI and VC API delivery to wallets.

A **share link** is ``{public_url}/share/{token}``: the holder's own page for one certification.
The token is ``secrets.token_urlsafe(32)`` (256 bits), shown once when the link is made; issuer.db
keeps only its SHA-256 (``share_links.token_hash``), like the API tokens (:mod:`issuer.tokens`).
A link may expire, and is revoked by the holder (through the page itself, which proves they hold
the token) or by the body (admin API, ``certreg share revoke``). A revoked or expired link stops
everything reached through it: the page, the credential download, the wallet offers and the VC
API exchange.

Wallet delivery, **OpenID4VCI 1.0, pre-authorized code flow**:

1. the page shows ``openid-credential-offer://?credential_offer_uri=…`` (link and QR);
2. ``GET /oid4vci/offers/{offer_id}`` serves the Credential Offer, with a pre-authorized code;
3. ``POST /oid4vci/token`` exchanges the code (once, within :data:`OFFER_LIFETIME`) for an
   access token (usable once, within :data:`ACCESS_TOKEN_LIFETIME`);
4. ``POST /oid4vci/credential`` returns the certification's current signed credential.

No secret of these is stored in clear either. The offer id and the pre-authorized code are
*derived* from the share token (HMAC-SHA256), so the page can show the current offer again
without the database holding it: ``offer_id = HMAC(token, "…offer " + row id)`` and
``code = HMAC(offer_id, "…pre-authorized code")``; issuer.db keeps their SHA-256. The access
token is random and stored hashed. The VC API exchange id is derived from the token the same way.

Holder binding: the certificate names its holder (ISO/IEC 17024 §9.4.7) and has no
``credentialSubject.id``; the body signed it at the decision, once, for every channel. The
credential endpoint therefore asks for no proof of possession and binds no key
(``cryptographic_binding_methods_supported`` is absent from the metadata): a verifier checks the
name against an identity document, as with a paper certificate. See docs/holder.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from certreg.issuer import audit
from certreg.issuer.credential import OB3_CONTEXT, V2_CONTEXT
from certreg.issuer.db import transaction
from certreg.issuer.service import (
    Certification,
    CertificationBody,
    Invalid,
    LifecycleError,
    NotFound,
)
from certreg.issuer.tokens import hash_secret
from certreg.keys.errors import CertregError
from certreg.register import shares
from certreg.register.shares import LINKEDIN_ADD, linkedin_for, linkedin_url, plausible_token
from certreg.verifier.issuing import format_datetime, parse_datetime

__all__ = [
    "ACCESS_TOKEN_LIFETIME",
    "CONFIGURATION_ID",
    "EXCHANGE_WORKFLOW",
    "LINKEDIN_ADD",
    "MAX_SHARE_DAYS",
    "OFFER_LIFETIME",
    "PRE_AUTHORIZED_GRANT",
    "OAuthError",
    "Offer",
    "ShareLink",
    "ShareUnavailable",
    "SharedCertificate",
    "authorization_server_metadata",
    "create_share",
    "credential_for_token",
    "credential_offer",
    "current_offer",
    "exchange_code",
    "exchange_url",
    "interaction_protocols",
    "issuer_metadata",
    "linkedin_for",
    "linkedin_url",
    "list_shares",
    "open_share",
    "open_share_by_exchange",
    "page_data",
    "revoke_share",
    "revoke_share_by_token",
    "share_pages",
    "share_url",
]

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
#: The one credential configuration this issuer offers (OpenID4VCI ``credential_configurations_
#: supported`` key): the certificate as an Open Badges 3.0 credential, Data Integrity proof.
CONFIGURATION_ID = "CertificationCredential_ldp_vc"
#: The VC API workflow whose exchanges deliver a shared credential.
EXCHANGE_WORKFLOW = "holder-share"
#: A pre-authorized code is valid this long (the page shows a fresh one when less than
#: :data:`OFFER_REFRESH` is left, so a scanned QR always has time to be redeemed).
OFFER_LIFETIME = timedelta(minutes=15)
OFFER_REFRESH = timedelta(minutes=5)
ACCESS_TOKEN_LIFETIME = timedelta(minutes=5)
MAX_SHARE_DAYS = 3650
#: issuer.db's own table of each share link's seal key (register.shares.seal_key): the push
#: seals the link's page again whenever its certification changes, and the token is not kept.
SEAL_KEYS = "share_seal_keys"


class ShareUnavailable(LifecycleError):
    """The share link is unknown, or was revoked or has expired (``gone``)."""

    def __init__(self, message: str, *, gone: bool = False) -> None:
        super().__init__(message)
        #: True for a link (or offer) that existed and was revoked, used or has expired:
        #: the right token, no longer good. False for one that does not exist.
        self.gone = gone


class OAuthError(CertregError):
    """An OAuth 2.0 / OpenID4VCI error: ``{"error": code, "error_description": text}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def to_json(self) -> dict[str, str]:
        # RFC 6749 §5.2: error_description is printable ASCII without '"' and '\'.
        text = "".join(c for c in self.description if 0x20 <= ord(c) <= 0x7E and c not in '"\\')
        # ``detail`` repeats it, as every other error of this service has one.
        return {"error": self.error, "error_description": text, "detail": text}


@dataclass(frozen=True)
class ShareLink:
    """What can be shown about a share link: everything but its token."""

    id: str
    certificate_number: str
    created_at: str
    created_by: str | None
    expires_at: str | None
    revoked_at: str | None
    revoked_by: str | None

    def state(self, now: datetime) -> str:
        """``active``, ``revoked`` or ``expired``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= parse_datetime(self.expires_at):
            return "expired"
        return "active"

    def to_json(self, now: datetime | None = None) -> dict[str, Any]:
        out = dict(self.__dict__)
        if now is not None:
            out["state"] = self.state(now)
        return out


@dataclass(frozen=True)
class SharedCertificate:
    """A live share link with what its page shows."""

    share: ShareLink
    certification: Certification
    scheme: dict[str, Any]  # name, normative_reference, publication_policy of its version
    body: dict[str, Any]  # the body's public fields (legal_name, public_url, did, ...)


@dataclass(frozen=True)
class Offer:
    """An OpenID4VCI credential offer (by reference) for one share link."""

    id: str  # the secret in credential_offer_uri
    pre_authorized_code: str
    expires_at: str
    offer_url: str  # https://…/oid4vci/offers/{id}
    uri: str  # openid-credential-offer://?credential_offer_uri=…


# --- helpers ----------------------------------------------------------------------------------


def _now(body: CertificationBody) -> datetime:
    return body.clock().astimezone(UTC)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _derive(secret: str, label: str) -> str:
    return _b64(hmac.new(secret.encode("utf-8"), label.encode("utf-8"), hashlib.sha256).digest())


def _plausible(secret: object) -> bool:
    return plausible_token(secret)


def _find(body: CertificationBody, table: str, column: str, secret: str) -> dict[str, Any] | None:
    """The row whose ``column`` holds the SHA-256 of ``secret``, compared in constant time."""
    digest = hash_secret(secret)
    rows = list(body.db.query(f"SELECT * FROM {table} WHERE {column} = ?", [digest]))
    if not rows or not hmac.compare_digest(rows[0][column], digest):
        return None
    return rows[0]


def _base(body: CertificationBody) -> str:
    return str(body.info["public_url"]).rstrip("/")


def _share(row: Mapping[str, Any], number: str) -> ShareLink:
    return ShareLink(
        id=row["id"],
        certificate_number=number,
        created_at=row["created_at"],
        created_by=row["created_by"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        revoked_by=row["revoked_by"],
    )


def _number(body: CertificationBody, certification_id: str) -> str:
    row = body.db.execute(
        "SELECT number FROM certifications WHERE id = ?", [certification_id]
    ).fetchone()
    if row is None:  # pragma: no cover - a foreign key guarantees it
        raise NotFound("the certification of this share link is gone")
    return str(row[0])


def _live(body: CertificationBody, row: Mapping[str, Any] | None) -> ShareLink:
    """The share link of ``row`` if it may still be used, else :class:`ShareUnavailable`."""
    if row is None:
        raise ShareUnavailable("there is no share link at this address")
    share = _share(row, _number(body, row["certification_id"]))
    # The same words as the public site's (register.shares.unavailable).
    problem = shares.unavailable(share.revoked_at, share.revoked_by, share.expires_at, _now(body))
    if problem is not None:
        raise ShareUnavailable(problem[1], gone=problem[0] == 410)
    return share


def share_url(body: CertificationBody, token: str) -> str:
    return f"{_base(body)}/share/{token}"


def exchange_url(body: CertificationBody, token: str) -> str:
    """The VC API exchange of a share link (its id is derived from the token)."""
    return f"{_base(body)}/workflows/{EXCHANGE_WORKFLOW}/exchanges/{_exchange_id(token)}"


def _exchange_id(token: str) -> str:
    return _derive(token, "certreg vcapi exchange")


# --- share links ------------------------------------------------------------------------------


def create_share(
    body: CertificationBody,
    number: str,
    *,
    expires_in: timedelta | None = None,
    actor: str | None = None,
) -> tuple[ShareLink, str]:
    """A new share link for certification ``number``; returns it and its token (shown once).

    ``expires_in``: None for a link that lives until revoked, else at most
    :data:`MAX_SHARE_DAYS` days."""
    cert = body.certification(number)  # NotFound for an unknown number
    if expires_in is not None and not (timedelta(0) < expires_in <= timedelta(days=MAX_SHARE_DAYS)):
        raise Invalid(f"a share link expires after 1 second to {MAX_SHARE_DAYS} days, or never")
    now = _now(body)
    token = secrets.token_urlsafe(32)
    share_id = str(uuid.uuid4())
    created_at = format_datetime(now)
    row: dict[str, Any] = {
        "id": share_id,
        "certification_id": cert.id,
        "token_hash": hash_secret(token),
        "exchange_hash": hash_secret(_exchange_id(token)),
        "created_at": created_at,
        "created_by": actor,
        "expires_at": format_datetime(now + expires_in) if expires_in is not None else None,
        "revoked_at": None,
        "revoked_by": None,
    }
    with transaction(body.db):
        body.db.table("share_links").insert(row)
        _keep_seal_key(body, share_id, token)
        audit.append(
            body.db,
            "share_link_created",
            actor=actor,
            subject=cert.number,
            payload={"share_link": share_id, "expires": row["expires_at"]},
            at=created_at,
        )
    # Published at once (the public site serves the link from register.db), not at the next
    # push of some other change.
    body._changed("certification", cert.number)
    return _share(row, cert.number), token


def _keep_seal_key(body: CertificationBody, share_id: str, token: str) -> None:
    body.db.execute(
        f"INSERT INTO {SEAL_KEYS} (share_id, seal_key) VALUES (?, ?)",
        [share_id, shares.seal_key(token).hex()],
    )


def list_shares(body: CertificationBody, number: str) -> list[ShareLink]:
    cert = body.certification(number)
    rows = body.db.query(
        "SELECT * FROM share_links WHERE certification_id = ? ORDER BY created_at, id", [cert.id]
    )
    return [_share(r, cert.number) for r in rows]


def _revoke(body: CertificationBody, row: Mapping[str, Any], by: str, actor: str | None) -> None:
    if row["revoked_at"] is not None:
        return  # idempotent: the first revocation stands
    now = format_datetime(_now(body))
    with transaction(body.db):
        body.db.execute(
            "UPDATE share_links SET revoked_at = ?, revoked_by = ? "
            "WHERE id = ? AND revoked_at IS NULL",
            [now, by, row["id"]],
        )
        audit.append(
            body.db,
            "share_link_revoked",
            actor=actor,
            subject=_number(body, row["certification_id"]),
            payload={"share_link": row["id"], "by": by},
            at=now,
        )
    # The public site stops serving the link with this push, not at the next change.
    body._changed("certification", _number(body, row["certification_id"]))


def revoke_share(body: CertificationBody, share_id: str, *, actor: str | None = None) -> ShareLink:
    """The body revokes a share link by its id (idempotent)."""
    rows = list(body.db.query("SELECT * FROM share_links WHERE id = ?", [share_id]))
    if not rows:
        raise NotFound(f"no share link {share_id!r}")
    _revoke(body, rows[0], "body", actor)
    return _reload(body, share_id)


def revoke_share_by_token(body: CertificationBody, token: str) -> ShareLink:
    """The holder revokes their link: holding the token is their authority."""
    row = _find(body, "share_links", "token_hash", token) if _plausible(token) else None
    share = _live(body, row)
    assert row is not None
    _revoke(body, row, "holder", None)
    return _reload(body, share.id)


def _reload(body: CertificationBody, share_id: str) -> ShareLink:
    row = next(iter(body.db.query("SELECT * FROM share_links WHERE id = ?", [share_id])))
    return _share(row, _number(body, row["certification_id"]))


def _shared(body: CertificationBody, share: ShareLink) -> SharedCertificate:
    cert = body.certification(share.certificate_number)
    scheme = body.db.execute(
        "SELECT name, normative_reference, publication_policy FROM scheme_versions "
        "WHERE scheme_id = ? AND version = ?",
        [cert.scheme_id, cert.scheme_version],
    ).fetchone()
    info = body.info
    public = {
        k: info.get(k)
        for k in (
            "legal_name",
            "public_url",
            "did",
            "accreditation_body",
            "accreditation_number",
            "country",
        )
    }
    return SharedCertificate(
        share=share,
        certification=cert,
        scheme={
            "name": scheme[0] if scheme else cert.scheme_id,
            "normative_reference": scheme[1] if scheme else None,
            "publication_policy": scheme[2] if scheme else "on_request",
        },
        body=public,
    )


def page_data(shared: SharedCertificate) -> dict[str, Any]:
    """What the share page and its download show (register.shares.SharePage), as JSON."""
    cert = shared.certification
    return {
        "share": {"expires_at": shared.share.expires_at},
        "certification": {
            "number": cert.number,
            "holder_name": cert.holder_name,
            "status": cert.status,
            "status_since": cert.status_since,
            "valid_from": cert.valid_from,
            "valid_until": cert.valid_until,
            "suspended_until": cert.suspended_until,
            "scope": cert.scope,
            "credential": cert.credential,
            # The holder shares their certificate, name included: its offline QR goes too.
            "offline_qr": cert.offline_qr,
        },
        "scheme": shared.scheme,
        "body": shared.body,
    }


def share_pages(
    body: CertificationBody, numbers: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """The register's rows (table ``share_pages``, :mod:`register.shares`) of the share links
    of certifications ``numbers`` (None: every link): a live link's page sealed with its own
    key, a revoked or expired one's terms only. Links made before their seal key was kept
    (older certreg) are left out: only the body's own server can serve them."""
    sql = (
        "SELECT l.*, c.number, k.seal_key FROM share_links l "
        "JOIN certifications c ON c.id = l.certification_id "
        f"JOIN {SEAL_KEYS} k ON k.share_id = l.id"
    )
    if numbers is None:
        rows = list(body.db.query(sql + " ORDER BY l.id"))
    else:
        wanted = sorted(set(numbers))
        rows = []
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows += body.db.query(f"{sql} WHERE c.number IN ({marks})", chunk)
    now = _now(body)
    out = []
    for row in rows:
        share = _share(row, row["number"])
        gone = shares.unavailable(share.revoked_at, share.revoked_by, share.expires_at, now)
        sealed = None
        if gone is None:
            page = page_data(_shared(body, share))
            sealed = shares.seal_page(bytes.fromhex(row["seal_key"]), page)
        out.append(
            {
                "id": row["token_hash"],
                "sealed": sealed,
                "expires_at": share.expires_at,
                "revoked_at": share.revoked_at,
                "revoked_by": share.revoked_by,
                "updated_at": format_datetime(now),
            }
        )
    return out


def open_share(body: CertificationBody, token: str) -> SharedCertificate:
    """What a live share link shows; :class:`ShareUnavailable` otherwise."""
    row = _find(body, "share_links", "token_hash", token) if _plausible(token) else None
    return _shared(body, _live(body, row))


def open_share_by_exchange(body: CertificationBody, exchange_id: str) -> SharedCertificate:
    """The share link behind a VC API exchange id."""
    ok = _plausible(exchange_id)
    row = _find(body, "share_links", "exchange_hash", exchange_id) if ok else None
    return _shared(body, _live(body, row))


# --- LinkedIn: register.shares.linkedin_url and linkedin_for (re-exported above) -------------


# --- OpenID4VCI: metadata -----------------------------------------------------------------------


def issuer_metadata(body: CertificationBody) -> dict[str, Any]:
    """``/.well-known/openid-credential-issuer`` (OpenID4VCI 1.0 §12.2)."""
    base = _base(body)
    name = str(body.info["legal_name"])
    display = [
        {
            "name": "Certificate of personnel certification",
            "locale": "en",
            "description": f"An ISO/IEC 17024 certificate issued by {name}.",
        }
    ]
    return {
        "credential_issuer": base,
        "credential_endpoint": f"{base}/oid4vci/credential",
        "display": [{"name": name, "locale": "en"}],
        "credential_configurations_supported": {
            CONFIGURATION_ID: {
                "format": "ldp_vc",
                "credential_definition": {
                    "@context": [V2_CONTEXT, OB3_CONTEXT],
                    "type": ["VerifiableCredential", "OpenBadgeCredential"],
                },
                # Only what the certificates are signed with by default. eddsa-jcs-2022 stays a
                # library and CLI option: of the verifiers wallets use, only Digital Bazaar's
                # reads it (DCC verifier-core, Blockcerts, openbadgeslib cannot; see
                # docs/credential.md), so advertising it would invite unverifiable credentials.
                "credential_signing_alg_values_supported": ["eddsa-rdfc-2022"],
                "credential_metadata": {"display": display},
                # Wallets written to OpenID4VCI drafts read display here.
                "display": display,
            }
        },
    }


def authorization_server_metadata(body: CertificationBody) -> dict[str, Any]:
    """``/.well-known/oauth-authorization-server`` (RFC 8414): the issuer is its own
    authorization server, for the pre-authorized code grant only, without client
    authentication."""
    base = _base(body)
    return {
        "issuer": base,
        "token_endpoint": f"{base}/oid4vci/token",
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "pre-authorized_grant_anonymous_access_supported": True,
        "token_endpoint_auth_methods_supported": ["none"],
        "response_types_supported": [],
    }


# --- OpenID4VCI: offers, codes, tokens ------------------------------------------------------


def _offer_id(token: str, row_id: str) -> str:
    return _derive(token, f"certreg oid4vci offer {row_id}")


def _code(offer_id: str) -> str:
    return _derive(offer_id, "certreg oid4vci pre-authorized code")


def _offer(body: CertificationBody, offer_id: str, expires_at: str) -> Offer:
    url = f"{_base(body)}/oid4vci/offers/{offer_id}"
    return Offer(
        id=offer_id,
        pre_authorized_code=_code(offer_id),
        expires_at=expires_at,
        offer_url=url,
        uri="openid-credential-offer://?"
        + urlencode({"credential_offer_uri": url}, quote_via=quote),
    )


def current_offer(body: CertificationBody, token: str) -> Offer:
    """The share link's current, unused offer, made when there is none with at least
    :data:`OFFER_REFRESH` left. Spent and stale offers of the link are cleared on the way."""
    row = _find(body, "share_links", "token_hash", token) if _plausible(token) else None
    share = _live(body, row)
    now = _now(body)
    fresh = format_datetime(now + OFFER_REFRESH)
    found = body.db.execute(
        "SELECT id, code_expires_at FROM oid4vci_offers WHERE share_id = ? "
        "AND code_used_at IS NULL AND code_expires_at > ? ORDER BY code_expires_at DESC LIMIT 1",
        [share.id, fresh],
    ).fetchone()
    if found is not None:
        return _offer(body, _offer_id(token, found[0]), found[1])
    row_id = str(uuid.uuid4())
    offer_id = _offer_id(token, row_id)
    expires = format_datetime(now + OFFER_LIFETIME)
    stamp = format_datetime(now)
    with transaction(body.db):
        body.db.execute(
            "DELETE FROM oid4vci_offers WHERE share_id = ? AND code_expires_at <= ? "
            "AND (token_expires_at IS NULL OR token_expires_at <= ?)",
            [share.id, stamp, stamp],
        )
        body.db.table("oid4vci_offers").insert(
            {
                "id": row_id,
                "share_id": share.id,
                "offer_hash": hash_secret(offer_id),
                "code_hash": hash_secret(_code(offer_id)),
                "created_at": stamp,
                "code_expires_at": expires,
                "code_used_at": None,
                "token_hash": None,
                "token_expires_at": None,
                "token_used_at": None,
            }
        )
    return _offer(body, offer_id, expires)


def credential_offer(body: CertificationBody, offer_id: str) -> dict[str, Any]:
    """The Credential Offer served at ``credential_offer_uri`` (OpenID4VCI 1.0 §4.1.1).

    :class:`ShareUnavailable` when the offer is unknown, used or expired, or its share link
    was revoked or has expired."""
    row = _find(body, "oid4vci_offers", "offer_hash", offer_id) if _plausible(offer_id) else None
    if row is None:
        raise ShareUnavailable("there is no credential offer at this address")
    _live(body, _share_row(body, row["share_id"]))
    if row["code_used_at"] is not None:
        raise ShareUnavailable("this credential offer was used already: reload the page", gone=True)
    if _now(body) >= parse_datetime(row["code_expires_at"]):
        raise ShareUnavailable("this credential offer has expired: reload the page", gone=True)
    return {
        "credential_issuer": _base(body),
        "credential_configuration_ids": [CONFIGURATION_ID],
        "grants": {PRE_AUTHORIZED_GRANT: {"pre-authorized_code": _code(offer_id)}},
    }


def _share_row(body: CertificationBody, share_id: str) -> dict[str, Any] | None:
    rows = list(body.db.query("SELECT * FROM share_links WHERE id = ?", [share_id]))
    return rows[0] if rows else None


def exchange_code(
    body: CertificationBody, code: str, *, tx_code: str | None = None
) -> dict[str, Any]:
    """Token endpoint, pre-authorized code grant: a code for an access token, once.

    A replayed code is refused, and the access token it was exchanged for is spent too
    (RFC 6749 §4.1.2: a code used twice may have been stolen)."""
    if tx_code is not None:
        raise OAuthError("invalid_request", "this offer has no transaction code; send none")
    row = _find(body, "oid4vci_offers", "code_hash", code) if _plausible(code) else None
    if row is None:
        raise OAuthError("invalid_grant", "the pre-authorized code is unknown")
    now = _now(body)
    stamp = format_datetime(now)
    if row["code_used_at"] is not None:
        with transaction(body.db):
            body.db.execute(
                "UPDATE oid4vci_offers SET token_used_at = ? "
                "WHERE id = ? AND token_used_at IS NULL",
                [stamp, row["id"]],
            )
        raise OAuthError("invalid_grant", "the pre-authorized code was used already")
    if now >= parse_datetime(row["code_expires_at"]):
        raise OAuthError("invalid_grant", "the pre-authorized code has expired")
    try:
        _live(body, _share_row(body, row["share_id"]))
    except ShareUnavailable as exc:
        raise OAuthError("invalid_grant", str(exc)) from None
    access_token = secrets.token_urlsafe(32)
    with transaction(body.db):
        cursor = body.db.execute(
            "UPDATE oid4vci_offers SET code_used_at = ?, token_hash = ?, token_expires_at = ? "
            "WHERE id = ? AND code_used_at IS NULL",
            [
                stamp,
                hash_secret(access_token),
                format_datetime(now + ACCESS_TOKEN_LIFETIME),
                row["id"],
            ],
        )
        if cursor.rowcount != 1:  # pragma: no cover - another request won the race
            raise OAuthError("invalid_grant", "the pre-authorized code was used already")
    return {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
    }


def _token_row(body: CertificationBody, access_token: str) -> dict[str, Any]:
    ok = _plausible(access_token)
    row = _find(body, "oid4vci_offers", "token_hash", access_token) if ok else None
    if row is None:
        raise OAuthError("invalid_token", "the access token is unknown", 401)
    if row["token_used_at"] is not None:
        raise OAuthError("invalid_token", "the access token was used already", 401)
    if _now(body) >= parse_datetime(row["token_expires_at"]):
        raise OAuthError("invalid_token", "the access token has expired", 401)
    try:
        _live(body, _share_row(body, row["share_id"]))
    except ShareUnavailable as exc:
        raise OAuthError("invalid_token", str(exc), 401) from None
    return row


def check_access_token(body: CertificationBody, access_token: str) -> None:
    """:class:`OAuthError` (401, invalid_token) unless the token may fetch a credential now."""
    _token_row(body, access_token)


def credential_for_token(body: CertificationBody, access_token: str) -> dict[str, Any]:
    """Spend the access token; return the certification's current signed credential, as the
    body issued it (whatever its status: its status list tells verifiers)."""
    row = _token_row(body, access_token)
    share = _share_row(body, row["share_id"])
    assert share is not None
    cert = body.certification(_number(body, share["certification_id"]))
    if cert.credential is None:  # pragma: no cover - every certification has one
        raise OAuthError("credential_request_denied", "this certification has no credential")
    with transaction(body.db):
        cursor = body.db.execute(
            "UPDATE oid4vci_offers SET token_used_at = ? WHERE id = ? AND token_used_at IS NULL",
            [format_datetime(_now(body)), row["id"]],
        )
        if cursor.rowcount != 1:  # pragma: no cover - another request won the race
            raise OAuthError("invalid_token", "the access token was used already", 401)
    return cert.credential


# --- VC API -----------------------------------------------------------------------------------


def interaction_protocols(body: CertificationBody, token: str) -> dict[str, Any]:
    """The interaction URL's answer: the protocols a wallet may use to fetch the credential."""
    offer = current_offer(body, token)
    return {"protocols": {"vcapi": exchange_url(body, token), "OID4VCI": offer.uri}}


def presentation(credential: Mapping[str, Any]) -> dict[str, Any]:
    """An unsigned VC 2.0 presentation carrying the credential (the credential carries the
    proof that matters; the body is not the holder, so it does not sign as one)."""
    return {
        "@context": [V2_CONTEXT],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [dict(credential)],
    }

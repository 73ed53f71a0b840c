"""API tokens for the admin HTTP API and the VC API: bearer secrets bound to a staff member.

- A token's secret is shown only to the person it belongs to, never to an admin: a staff
  member with a valid token makes more for themselves (:func:`create_own_token`, ``POST
  /api/tokens``); a new staff member gets their first token by redeeming a one-time *claim*
  an admin made for them (:func:`create_claim`, :func:`redeem_claim`). The secret is minted
  at redemption and returned only to whoever redeems it. The one exception is the bootstrap
  (:func:`bootstrap_allowed`): the operator on the server may print a token for an admin
  while no admin holds a usable one.
- A claim is redeemable once. An admin who keeps the code could redeem it first, so: (1) the
  staff member who then tries it is told it was already redeemed, and when, and that token
  (and every token made with it) is revoked on the spot (``token_claim_reused``); (2) while
  four eyes applies (two or more active admins, ``issuer.staff``), every claim also needs a
  second code that only the approving admin receives: no single admin holds both.
- issuer.db keeps only the SHA-256 of secrets and codes (``api_tokens.token_hash``,
  ``token_claims.code_hash``). They have 256 bits of entropy, so a plain hash cannot be
  inverted.
- A token carries the roles of its staff member, or a subset. At each use the roles are
  intersected with the staff member's roles *now*, and the staff member must be active *now*:
  taking a role away, or deactivating someone, takes it from their tokens at once.
- Tokens expire (``expires_at``; 90 days unless told) and can be revoked; both are checked at
  each use. Creation, claims and revocation are audit events; secrets and codes never are.
- Secrets start with ``certreg_`` and claim codes with ``certreg-claim_`` so that secret
  scanners and people recognise them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from certreg.issuer import audit
from certreg.issuer.db import transaction
from certreg.issuer.service import ROLES, CertificationBody, Conflict, Invalid, NotFound, Refused
from certreg.keys.errors import CertregError
from certreg.verifier.issuing import format_datetime, parse_datetime

__all__ = [
    "CLAIM_PREFIX",
    "DEFAULT_LIFETIME",
    "PREFIX",
    "AuthError",
    "ClaimCreated",
    "ClaimInfo",
    "Principal",
    "TokenInfo",
    "approve_claim",
    "authenticate",
    "bootstrap_allowed",
    "create_claim",
    "create_own_token",
    "create_token",
    "hash_secret",
    "list_claims",
    "list_tokens",
    "redeem_claim",
    "revoke_token",
]

PREFIX = "certreg_"
CLAIM_PREFIX = "certreg-claim_"
#: How long a claim code can wait to be redeemed, unless told; at most CLAIM_MAX_WAIT.
CLAIM_WAIT = timedelta(days=3)
CLAIM_MAX_WAIT = timedelta(days=14)
DEFAULT_LIFETIME = timedelta(days=90)
#: Longest lifetime a token may be given: a forgotten token should not live for ever.
MAX_LIFETIME = timedelta(days=366)
#: ``last_used_at`` is written at most this often per token, so that reads do not each cost a
#: write transaction (and do not queue behind the one writer).
_TOUCH_INTERVAL = timedelta(minutes=1)


class AuthError(CertregError):
    """The bearer token cannot be accepted; ``str(exc)`` says why (never the secret)."""


@dataclass(frozen=True)
class TokenInfo:
    """What can be shown about a token: everything but the secret and its hash."""

    id: str
    name: str
    staff_id: str
    roles: list[str]
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Principal:
    """Who an authenticated request acts for."""

    staff_id: str
    name: str
    roles: frozenset[str]
    token_id: str
    #: Roles the token was made with that its staff member no longer holds (for the reason
    #: given when a request needs one of them).
    withdrawn: frozenset[str] = frozenset()

    def has_any(self, roles: set[str] | frozenset[str]) -> bool:
        return bool(self.roles & roles)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _now(body: CertificationBody) -> datetime:
    return body.clock().astimezone(UTC)


def _staff(body: CertificationBody, staff_id: str) -> dict[str, Any]:
    rows = list(body.db.query("SELECT * FROM staff WHERE id = ?", [staff_id]))
    if not rows:
        raise NotFound(f"no staff member {staff_id!r}")
    return rows[0]


def _info(row: dict[str, Any]) -> TokenInfo:
    return TokenInfo(
        id=row["id"],
        name=row["name"],
        staff_id=row["staff_id"],
        roles=[r for r in row["roles"].split(",") if r],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
    )


def create_token(
    body: CertificationBody,
    staff_id: str,
    *,
    name: str,
    roles: Sequence[str] | None = None,
    lifetime: timedelta | None = DEFAULT_LIFETIME,
    actor: str | None = None,
    via: str = "operator",
    made_with: str | None = None,
) -> tuple[TokenInfo, str]:
    """A new token for ``staff_id``; returns its description and the secret (shown once).

    The low-level primitive: whoever calls it receives the secret, so the HTTP API and the
    command line call it only for the token's own staff member (:func:`create_own_token`,
    :func:`redeem_claim`) or for the bootstrap (:func:`bootstrap_allowed`). ``via`` says which
    in the audit event.

    ``roles`` defaults to all of the staff member's roles and may only narrow them;
    ``lifetime`` is at most :data:`MAX_LIFETIME` (every token made here expires)."""
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise Invalid("a token needs a name (up to 200 characters) saying what it is for")
    staff = _staff(body, staff_id)
    if not staff["active"]:
        raise Invalid(f"{staff['name']} is no longer active and cannot be given a token")
    held = {r for r in staff["roles"].split(",") if r}
    wanted = held if roles is None else set(roles)
    unknown = sorted(wanted - set(ROLES))
    if unknown:
        raise Invalid(f"unknown roles {unknown}; roles are {list(ROLES)}")
    beyond = sorted(wanted - held)
    if beyond:
        raise Invalid(
            f"{staff['name']} does not hold the roles {beyond}: a token can only carry "
            "roles its staff member holds"
        )
    if not wanted:
        raise Invalid(f"{staff['name']} holds no role, so a token would allow nothing")
    if lifetime is None or lifetime <= timedelta(0) or lifetime > MAX_LIFETIME:
        raise Invalid(f"a token's lifetime must be between 1 second and {MAX_LIFETIME.days} days")
    now = _now(body)
    secret = PREFIX + secrets.token_urlsafe(32)
    row = {
        "id": str(uuid.uuid4()),
        "name": name.strip(),
        "staff_id": staff_id,
        "token_hash": hash_secret(secret),
        "roles": ",".join(sorted(wanted)),
        "created_at": format_datetime(now),
        "expires_at": format_datetime(now + lifetime),
        "revoked_at": None,
        "last_used_at": None,
        "made_with": made_with,
    }
    with transaction(body.db):
        body.db.table("api_tokens").insert(row)
        audit.append(
            body.db,
            "token_created",
            actor=actor,
            subject=staff_id,
            payload={
                "token": row["id"],
                "roles": sorted(wanted),
                "expires": row["expires_at"],
                "via": via,
                "made_with": made_with,
            },
            at=format_datetime(now),
        )
    return _info(row), secret


def list_tokens(body: CertificationBody, staff_id: str | None = None) -> list[TokenInfo]:
    sql = "SELECT * FROM api_tokens"
    params: list[Any] = []
    if staff_id is not None:
        sql += " WHERE staff_id = ?"
        params.append(staff_id)
    return [_info(r) for r in body.db.query(sql + " ORDER BY created_at, id", params)]


def revoke_token(
    body: CertificationBody,
    token_id: str,
    *,
    actor: str | None = None,
    owner: str | None = None,
    reason: str | None = None,
) -> TokenInfo:
    """Revoke a token, and every token made with it (self-service tokens made by a token
    that should not have existed must not outlive it). Idempotent: revoking twice keeps the
    first time. With ``owner``, only that staff member's tokens can be revoked."""
    rows = list(body.db.query("SELECT * FROM api_tokens WHERE id = ?", [token_id]))
    if not rows or (owner is not None and rows[0]["staff_id"] != owner):
        raise NotFound(f"no token {token_id!r}" + (" of yours" if rows else ""))
    now = format_datetime(_now(body))
    with transaction(body.db):
        _revoke_tree(body, token_id, actor, now, reason)
    return _info(next(iter(body.db.query("SELECT * FROM api_tokens WHERE id = ?", [token_id]))))


def _revoke_tree(
    body: CertificationBody, token_id: str, actor: str | None, now: str, reason: str | None
) -> int:
    """Revoke ``token_id`` and its descendants (``made_with``); the number newly revoked."""
    count = 0
    todo = [token_id]
    seen: set[str] = set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        row = body.db.execute(
            "SELECT staff_id, revoked_at FROM api_tokens WHERE id = ?", [current]
        ).fetchone()
        if row is None:
            continue
        if row[1] is None:
            body.db.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ?", [now, current])
            payload: dict[str, Any] = {"token": current}
            if current != token_id:
                payload["made_with"] = token_id
            if reason:
                payload["reason"] = reason
            audit.append(
                body.db, "token_revoked", actor=actor, subject=row[0], payload=payload, at=now
            )
            count += 1
        todo += [
            r[0]
            for r in body.db.execute("SELECT id FROM api_tokens WHERE made_with = ?", [current])
        ]
    return count


def authenticate(body: CertificationBody, secret: str) -> Principal:
    """The principal a bearer secret stands for, or :class:`AuthError`."""
    if not isinstance(secret, str) or not secret.startswith(PREFIX) or len(secret) > 200:
        raise AuthError("the bearer token is not a certreg API token")
    digest = hash_secret(secret)
    # The lookup finds the row by hash; the constant-time comparison is the actual check, so
    # that no code path decides on a secret-derived value with an early-exit comparison.
    rows = list(body.db.query("SELECT * FROM api_tokens WHERE token_hash = ?", [digest]))
    if not rows or not hmac.compare_digest(rows[0]["token_hash"], digest):
        raise AuthError("the bearer token is unknown")
    row = rows[0]
    now = _now(body)
    if row["revoked_at"] is not None:
        raise AuthError("the bearer token was revoked")
    expires = parse_datetime(row["expires_at"]) if row["expires_at"] else None
    if expires is not None and now >= expires:  # NULL: made without expiry by other tools
        raise AuthError("the bearer token has expired")
    staff = _staff(body, row["staff_id"])
    if not staff["active"]:
        since = f" since {staff['deactivated_at']}" if staff["deactivated_at"] else ""
        raise AuthError(
            f"the staff member of this token was deactivated{since}; every token of theirs "
            "is refused"
        )
    roles = frozenset(row["roles"].split(",")) & frozenset(staff["roles"].split(","))
    last = parse_datetime(row["last_used_at"]) if row["last_used_at"] else None
    if last is None or now - last >= _TOUCH_INTERVAL:
        with transaction(body.db):
            body.db.execute(
                "UPDATE api_tokens SET last_used_at = ? WHERE id = ?",
                [format_datetime(now), row["id"]],
            )
    return Principal(
        staff_id=staff["id"],
        name=staff["name"],
        roles=roles - {""},
        token_id=row["id"],
        withdrawn=frozenset(row["roles"].split(",")) - roles - {""},
    )


# -- self-service -----------------------------------------------------------------------------


def create_own_token(
    body: CertificationBody,
    principal: Principal,
    *,
    name: str,
    roles: Sequence[str] | None = None,
    lifetime: timedelta | None = DEFAULT_LIFETIME,
) -> tuple[TokenInfo, str]:
    """A staff member makes another token for themselves with a token they hold. The new
    token carries at most the roles of the presenting one (a narrowed token cannot widen
    itself), and is revoked with it (``made_with``)."""
    wanted = sorted(principal.roles) if roles is None else roles
    beyond = sorted(set(wanted) - principal.roles)
    if beyond:
        raise Refused(
            f"the token making this one does not carry {beyond}: a new token carries at most "
            "the roles of the token that makes it"
        )
    return create_token(
        body,
        principal.staff_id,
        name=name,
        roles=wanted,
        lifetime=lifetime,
        actor=principal.staff_id,
        via="self",
        made_with=principal.token_id,
    )


def bootstrap_allowed(body: CertificationBody, staff_id: str) -> str | None:
    """None if the operator may print a token for ``staff_id`` at the command line, else why
    not. Allowed only to start (or restart) the API: for an active admin, while no active
    admin holds a usable token. Everyone else gets tokens by self-service or a claim."""
    staff = _staff(body, staff_id)
    if not staff["active"] or "admin" not in staff["roles"].split(","):
        return (
            f"{staff['name']} is not an active admin: a token's secret is shown only to its "
            "owner, who makes it with a token they hold (POST /api/tokens) or redeems a claim "
            "an admin made for them (POST /api/staff/{id}/token-claims)"
        )
    now = format_datetime(_now(body))
    usable = body.db.execute(
        "SELECT s.name FROM api_tokens t JOIN staff s ON s.id = t.staff_id "
        "WHERE s.active = 1 AND (',' || s.roles || ',') LIKE '%,admin,%' "
        "AND (',' || t.roles || ',') LIKE '%,admin,%' "
        "AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?) LIMIT 1",
        [now],
    ).fetchone()
    if usable:
        return (
            f"{usable[0]} already holds a usable admin token: the command line prints a secret "
            "only to start the API (no admin can sign in). Make tokens with "
            "POST /api/tokens (your own) or a claim (POST /api/staff/{id}/token-claims)"
        )
    return None


# -- claims -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimInfo:
    """What can be shown about a claim: never its codes."""

    id: str
    staff_id: str
    name: str
    roles: list[str]
    lifetime_days: int
    created_by: str | None
    created_at: str
    expires_at: str
    needs_second: bool
    approved_by: str | None
    approved_at: str | None
    claimed_at: str | None
    token_id: str | None
    cancelled_at: str | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ClaimCreated:
    claim: ClaimInfo
    code: str


def _claim_info(row: dict[str, Any]) -> ClaimInfo:
    return ClaimInfo(
        **{k: row[k] for k in ClaimInfo.__dataclass_fields__ if k not in ("roles", "needs_second")},
        roles=[r for r in row["roles"].split(",") if r],
        needs_second=bool(row["needs_second"]),
    )


def _claim_row(body: CertificationBody, claim_id: str) -> dict[str, Any]:
    rows = list(body.db.query("SELECT * FROM token_claims WHERE id = ?", [claim_id]))
    if not rows:
        raise NotFound(f"no token claim {claim_id!r}")
    return rows[0]


def _new_code() -> str:
    return CLAIM_PREFIX + secrets.token_urlsafe(32)


def create_claim(
    body: CertificationBody,
    staff_id: str,
    *,
    name: str,
    roles: Sequence[str] | None = None,
    lifetime: timedelta = DEFAULT_LIFETIME,
    wait: timedelta = CLAIM_WAIT,
    actor: str | None,
) -> ClaimCreated:
    """A one-time claim for ``staff_id``'s token; the code goes to the admin, who passes it
    on. The token's secret does not exist yet: it is minted when the code is redeemed.

    While four eyes applies (two or more active admins), every claim needs a second code,
    minted for the approving admin (:func:`approve_claim`): not only a decision-maker's, since
    an officer's identity records the assessments that decisions rest on."""
    from certreg.issuer.staff import four_eyes_applies  # issuer.staff imports service, not us

    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise Invalid("a token needs a name (up to 200 characters) saying what it is for")
    staff = _staff(body, staff_id)
    if not staff["active"]:
        raise Invalid(f"{staff['name']} is no longer active and cannot be given a token")
    held = {r for r in staff["roles"].split(",") if r}
    wanted = held if roles is None else set(roles)
    unknown = sorted(wanted - set(ROLES))
    if unknown:
        raise Invalid(f"unknown roles {unknown}; roles are {list(ROLES)}")
    if wanted - held or not wanted:
        raise Invalid(
            f"{staff['name']} holds {sorted(held) or 'no role'}: a token can only carry roles "
            "its staff member holds"
        )
    if lifetime <= timedelta(0) or lifetime > MAX_LIFETIME:
        raise Invalid(f"a token's lifetime must be between 1 day and {MAX_LIFETIME.days} days")
    if wait <= timedelta(0) or wait > CLAIM_MAX_WAIT:
        raise Invalid(f"a claim can wait between 1 hour and {CLAIM_MAX_WAIT.days} days")
    now = _now(body)
    code = _new_code()
    with transaction(body.db):
        needs_second = four_eyes_applies(body)
        row = {
            "id": str(uuid.uuid4()),
            "staff_id": staff_id,
            "name": name.strip(),
            "roles": ",".join(sorted(wanted)),
            "lifetime_days": max(1, lifetime.days),
            "code_hash": hash_secret(code),
            "created_by": actor,
            "created_at": format_datetime(now),
            "expires_at": format_datetime(now + wait),
            "needs_second": int(needs_second),
            "second_hash": None,
            "approved_by": None,
            "approved_at": None,
            "claimed_at": None,
            "token_id": None,
            "cancelled_at": None,
        }
        body.db.table("token_claims").insert(row)
        audit.append(
            body.db,
            "token_claim_created",
            actor=actor,
            subject=staff_id,
            payload={
                "claim": row["id"],
                "roles": sorted(wanted),
                "expires": row["expires_at"],
                "needs_second": needs_second,
            },
            at=format_datetime(now),
        )
    return ClaimCreated(_claim_info(row), code)


def approve_claim(body: CertificationBody, claim_id: str, *, actor: str | None) -> ClaimCreated:
    """The second half of a four-eyes claim: a second code, for the approver alone. The
    approver is an active admin who neither made the claim nor is its staff member, or the
    operator at the command line (``actor`` None): with exactly two admins, a claim for one
    of them has no other admin to approve it."""
    with transaction(body.db):
        row = _claim_row(body, claim_id)
        problem = None
        if actor is not None:
            approver = _staff(body, actor)
            if not approver["active"] or "admin" not in approver["roles"].split(","):
                problem = f"{approver['name']} is not an active admin"
            elif row["created_by"] == actor:
                problem = "the admin who made a claim cannot approve it (four eyes)"
            elif row["staff_id"] == actor:
                problem = "nobody approves a claim for their own token (four eyes)"
        if problem is None:
            if not row["needs_second"]:
                raise Conflict("this claim needs no approval")
            if row["approved_at"] or row["claimed_at"] or row["cancelled_at"]:
                raise Conflict("this claim was already approved, redeemed or cancelled")
            if parse_datetime(row["expires_at"]) <= _now(body):
                raise Conflict("this claim has expired; make a new one")
            code = _new_code()
            now = format_datetime(_now(body))
            body.db.execute(
                "UPDATE token_claims SET second_hash = ?, approved_by = ?, approved_at = ? "
                "WHERE id = ?",
                [hash_secret(code), actor, now, claim_id],
            )
            audit.append(
                body.db,
                "token_claim_approved",
                actor=actor,
                subject=row["staff_id"],
                payload={"claim": claim_id},
                at=now,
            )
        else:
            audit.append(
                body.db,
                "token_claim_refused",
                actor=actor,
                subject=row["staff_id"],
                payload={"claim": claim_id, "reason": problem},
                at=format_datetime(_now(body)),
            )
    if problem is not None:
        raise Refused(problem)  # after the commit: the refused attempt stays in the log
    return ClaimCreated(_claim_info(_claim_row(body, claim_id)), code)


def list_claims(body: CertificationBody) -> list[ClaimInfo]:
    return [
        _claim_info(r) for r in body.db.query("SELECT * FROM token_claims ORDER BY created_at, id")
    ]


def redeem_claim(
    body: CertificationBody, code: str, *, second_code: str | None = None
) -> tuple[TokenInfo, str]:
    """Redeem a claim: the token is minted now and its secret returned to the redeemer.

    A code that was already redeemed answers :class:`Conflict` saying when, and revokes the
    token it made and every token made with that one: the rightful owner learns at once that
    somebody else redeemed it, and whoever did loses the token."""

    if not isinstance(code, str) or not code.startswith(CLAIM_PREFIX) or len(code) > 200:
        raise Invalid("this is not a certreg claim code (they start with certreg-claim_)")
    digest = hash_secret(code)
    reused: str | None = None
    with transaction(body.db):
        rows = list(body.db.query("SELECT * FROM token_claims WHERE code_hash = ?", [digest]))
        if not rows or not hmac.compare_digest(rows[0]["code_hash"], digest):
            raise NotFound("this claim code is unknown")
        row = rows[0]
        now = _now(body)
        if row["claimed_at"] is not None:
            revoked = _revoke_tree(
                body, row["token_id"], None, format_datetime(now), "claim redeemed twice"
            )
            audit.append(
                body.db,
                "token_claim_reused",
                actor=None,
                subject=row["staff_id"],
                payload={"claim": row["id"], "token": row["token_id"], "revoked": revoked},
                at=format_datetime(now),
            )
            reused = row["claimed_at"]
        else:
            if row["cancelled_at"] is not None:
                raise Conflict("this claim was cancelled; ask an admin for a new one")
            if parse_datetime(row["expires_at"]) <= now:
                raise Conflict("this claim code has expired; ask an admin for a new one")
            if row["needs_second"]:
                if row["second_hash"] is None:
                    raise Conflict(
                        "this claim is waiting for a second admin's approval; that admin "
                        "will give you a second code"
                    )
                if not isinstance(second_code, str) or not hmac.compare_digest(
                    row["second_hash"], hash_secret(second_code)
                ):
                    raise Refused(
                        "this claim needs the second code from the approving admin too "
                        "(second_code), and the one given does not match"
                    )
            info, secret = create_token(
                body,
                row["staff_id"],
                name=row["name"],
                roles=[r for r in row["roles"].split(",") if r],
                lifetime=timedelta(days=row["lifetime_days"]),
                actor=row["staff_id"],
                via="claim",
            )
            body.db.execute(
                "UPDATE token_claims SET claimed_at = ?, token_id = ? WHERE id = ?",
                [info.created_at, info.id, row["id"]],
            )
            audit.append(
                body.db,
                "token_claimed",
                actor=row["staff_id"],
                subject=row["staff_id"],
                payload={"claim": row["id"], "token": info.id},
                at=info.created_at,
            )
    if reused is not None:
        # Outside the transaction, which must commit: the revocation is the point.
        raise Conflict(
            f"this claim code was already redeemed at {reused}; if that was not you, "
            "somebody else holds a token in your name: it is revoked now, with every token "
            "made with it. Tell another admin"
        )
    return info, secret

"""Staff members, their roles, and the rules that keep one admin from borrowing an identity.

Who may act is decided at every authentication (``issuer.tokens.authenticate``), from the
staff table as it is *now*: deactivating a person, or taking a role from them, takes effect
at once for every token they hold.

Four eyes. A decision-maker's decisions are signed certificates; an admin can make staff. So
giving someone the ``decision_maker`` or ``admin`` role (at creation or later), or
re-activating someone who holds one, is a *request* that a second admin approves while the
body has two or more active admins and the ``four_eyes`` setting is on (the default). The
requesting admin cannot approve their own request, and nobody approves their own promotion.
With a single admin there is no second pair of eyes to ask: that admin's grants take effect at
once (and are audited like every other change). Two guards keep an admin from getting back to
that state alone: over the API an admin cannot deactivate, or take the admin role from,
another admin when that would leave fewer than two active admins while four eyes is on (token
revocation still stops anyone at once; the operator does the rest at the command line), and
the setting itself is changed only by the operator (``certreg staff four-eyes``), never over
the API.

The operator is whoever runs ``certreg`` on the server with the data folder: their actions are
recorded with no actor (``actor`` None). They are bound by the four-eyes rule too (a grant
they ask for waits for an admin's approval over the API), but someone who can write issuer.db
can always bypass the code: the audit chain is what shows it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from certreg.issuer import audit
from certreg.issuer.db import transaction
from certreg.issuer.service import ROLES, CertificationBody, Conflict, Invalid, NotFound, Refused
from certreg.verifier.issuing import format_datetime

__all__ = [
    "PRIVILEGED",
    "RoleRequest",
    "StaffInfo",
    "active_admins",
    "add_staff",
    "approve_request",
    "deactivate",
    "four_eyes_applies",
    "four_eyes_enabled",
    "grant_role",
    "list_requests",
    "list_staff",
    "reactivate",
    "reject_request",
    "remove_role",
    "set_four_eyes",
    "staff_info",
]

#: Roles whose grant needs a second admin's approval under four eyes.
PRIVILEGED = frozenset({"decision_maker", "admin"})
_MAX_NAME = 500


@dataclass(frozen=True)
class RoleRequest:
    id: str
    staff_id: str
    action: str  # 'grant' or 'reactivate'
    role: str | None
    requested_by: str | None
    requested_at: str
    state: str  # pending, approved, rejected, cancelled
    decided_by: str | None
    decided_at: str | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class StaffInfo:
    id: str
    name: str
    email: str | None
    roles: list[str]
    active: bool
    created_at: str
    deactivated_at: str | None
    pending: list[RoleRequest] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["pending"] = [r.to_json() for r in self.pending]
        return out


def _now(body: CertificationBody) -> str:
    return format_datetime(body.clock())


def _event(
    body: CertificationBody, kind: str, actor: str | None, subject: str, payload: dict
) -> None:
    audit.append(body.db, kind, actor=actor, subject=subject, payload=payload, at=_now(body))


def _row(body: CertificationBody, staff_id: str) -> dict[str, Any]:
    rows = list(body.db.query("SELECT * FROM staff WHERE id = ?", [staff_id]))
    if not rows:
        raise NotFound(f"no staff member {staff_id!r}")
    return rows[0]


def _roles(row: dict[str, Any]) -> list[str]:
    return [r for r in row["roles"].split(",") if r]


def _request(row: dict[str, Any]) -> RoleRequest:
    return RoleRequest(**{k: row[k] for k in RoleRequest.__dataclass_fields__})


def _info(body: CertificationBody, row: dict[str, Any]) -> StaffInfo:
    pending = [
        _request(r)
        for r in body.db.query(
            "SELECT * FROM role_requests WHERE staff_id = ? AND state = 'pending' "
            "ORDER BY requested_at, id",
            [row["id"]],
        )
    ]
    return StaffInfo(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        roles=_roles(row),
        active=bool(row["active"]),
        created_at=row["created_at"],
        deactivated_at=row["deactivated_at"],
        pending=pending,
    )


def staff_info(body: CertificationBody, staff_id: str) -> StaffInfo:
    return _info(body, _row(body, staff_id))


def list_staff(body: CertificationBody) -> list[StaffInfo]:
    return [_info(body, r) for r in body.db.query("SELECT * FROM staff ORDER BY created_at, id")]


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise Invalid(f"unknown role {role!r}; roles are {list(ROLES)}")


# -- the four-eyes setting ----------------------------------------------------------------------


def four_eyes_enabled(body: CertificationBody) -> bool:
    row = body.db.execute("SELECT value FROM settings WHERE key = 'four_eyes'").fetchone()
    return row is None or row[0] == "on"


def set_four_eyes(body: CertificationBody, on: bool, *, actor: str | None = None) -> None:
    """Turn the four-eyes rule on or off. Only the operator's command line calls this: an
    admin who could turn it off over the API would need no second admin."""
    with transaction(body.db):
        body.db.table("settings").upsert(
            {"key": "four_eyes", "value": "on" if on else "off", "updated_at": _now(body)},
            pk="key",
        )
        audit.append(
            body.db,
            "four_eyes_changed",
            actor=actor,
            subject="body",
            payload={"four_eyes": on},
            at=_now(body),
        )


def active_admins(body: CertificationBody) -> list[str]:
    return [
        r["id"]
        for r in body.db.query("SELECT id, roles FROM staff WHERE active = 1 ORDER BY id")
        if "admin" in _roles(r)
    ]


def four_eyes_applies(body: CertificationBody) -> bool:
    """Whether a privileged grant must wait for a second admin now."""
    return four_eyes_enabled(body) and len(active_admins(body)) >= 2


# -- changes ----------------------------------------------------------------------------------


def _new_request(
    body: CertificationBody, staff_id: str, action: str, role: str | None, actor: str | None
) -> RoleRequest:
    row = {
        "id": str(uuid.uuid4()),
        "staff_id": staff_id,
        "action": action,
        "role": role,
        "requested_by": actor,
        "requested_at": _now(body),
        "state": "pending",
        "decided_by": None,
        "decided_at": None,
    }
    body.db.table("role_requests").insert(row)
    kind = "staff_role_requested" if action == "grant" else "staff_reactivation_requested"
    _event(body, kind, actor, staff_id, {"request": row["id"], "role": role})
    return _request(row)


def _set_roles(body: CertificationBody, staff_id: str, roles: set[str]) -> None:
    body.db.execute("UPDATE staff SET roles = ? WHERE id = ?", [",".join(sorted(roles)), staff_id])


def _apply_grant(body: CertificationBody, staff_id: str, role: str, actor: str | None, **why: Any):
    held = set(_roles(_row(body, staff_id)))
    if role not in held:
        _set_roles(body, staff_id, held | {role})
    _event(body, "staff_role_granted", actor, staff_id, {"role": role, **why})


def add_staff(
    body: CertificationBody,
    name: str,
    *,
    roles: Collection[str],
    email: str | None = None,
    actor: str | None = None,
) -> tuple[str, list[RoleRequest]]:
    """A new staff member. Privileged roles wait for a second admin under four eyes: the
    person is created without them, and the requests are returned."""
    if not isinstance(name, str) or not name.strip() or len(name) > _MAX_NAME:
        raise Invalid(f"a staff member needs a name (up to {_MAX_NAME} characters)")
    wanted = sorted(set(roles))
    bad = [r for r in wanted if r not in ROLES]
    if bad:
        raise Invalid(f"unknown roles {bad}; roles are {list(ROLES)}")
    staff_id = str(uuid.uuid4())
    with transaction(body.db):
        # An e-mail names one person (`--as dana@cb.example`): a second staff member with it
        # would make that name match two rows, and every command naming it would fail.
        if (
            email
            and body.db.execute(
                "SELECT 1 FROM staff WHERE lower(email) = lower(?)", [email]
            ).fetchone()
        ):
            raise Conflict(f"a staff member with the e-mail {email!r} exists already")
        # Decided inside the write transaction: two admins created at once cannot both see
        # "fewer than two admins".
        waiting = four_eyes_applies(body)
        now_roles = [r for r in wanted if not (waiting and r in PRIVILEGED)]
        body.db.table("staff").insert(
            {
                "id": staff_id,
                "name": name,
                "email": email,
                "roles": ",".join(now_roles),
                "active": 1,
                "created_at": _now(body),
            }
        )
        _event(
            body,
            "staff_added",
            actor,
            staff_id,
            {
                "name": name,
                "roles": now_roles,
                "awaiting_approval": sorted(set(wanted) - set(now_roles)),
            },
        )
        requests = [
            _new_request(body, staff_id, "grant", r, actor) for r in wanted if r not in now_roles
        ]
    return staff_id, requests


def grant_role(
    body: CertificationBody, staff_id: str, role: str, *, actor: str | None = None
) -> RoleRequest | None:
    """Give ``role``; None if given at once, else the pending request (four eyes)."""
    _check_role(role)
    with transaction(body.db):
        row = _row(body, staff_id)
        if role in _roles(row):
            raise Conflict(f"{row['name']} already holds the role {role}")
        if not row["active"]:
            raise Conflict(f"{row['name']} is not active: re-activate them first")
        if role in PRIVILEGED and four_eyes_applies(body):
            pending = body.db.execute(
                "SELECT id FROM role_requests WHERE staff_id = ? AND role = ? "
                "AND state = 'pending'",
                [staff_id, role],
            ).fetchone()
            if pending:
                raise Conflict(f"a request for {role} is already waiting: {pending[0]}")
            return _new_request(body, staff_id, "grant", role, actor)
        _apply_grant(body, staff_id, role, actor)
    return None


def _guard_admin_count(
    body: CertificationBody, row: dict[str, Any], actor: str | None, doing: str
) -> None:
    """Over the API (an admin acting), never leave the body with fewer admins than four
    eyes needs, or with none: that would let one admin grant roles alone."""
    if actor is None or "admin" not in _roles(row) or not row["active"]:
        return
    left = [a for a in active_admins(body) if a != row["id"]]
    if not left:
        raise Refused(
            f"{row['name']} is the last active admin; the operator can {doing} at the "
            "command line (certreg staff)"
        )
    if four_eyes_enabled(body) and len(left) < 2:
        raise Refused(
            f"{doing} {row['name']} would leave a single active admin, who could then give "
            "roles without a second admin's approval; revoke their tokens to stop them at once "
            "(DELETE /api/tokens/{id}) and ask the operator (certreg staff)"
        )


def remove_role(
    body: CertificationBody, staff_id: str, role: str, *, actor: str | None = None
) -> None:
    """Take ``role`` away, at once, from the person and so from every token they hold.
    Pending requests for that role are cancelled."""
    _check_role(role)
    with transaction(body.db):
        row = _row(body, staff_id)
        held = set(_roles(row))
        if role not in held:
            raise Conflict(f"{row['name']} does not hold the role {role}")
        if role == "admin":
            _guard_admin_count(body, row, actor, "taking the admin role from")
        _set_roles(body, staff_id, held - {role})
        _event(body, "staff_role_removed", actor, staff_id, {"role": role})


def _cancel_pending(body: CertificationBody, staff_id: str, actor: str | None) -> None:
    """A deactivated person's pending promotions, and the requests they made, lapse."""
    now = _now(body)
    for req in list(
        body.db.query(
            "SELECT id FROM role_requests WHERE state = 'pending' "
            "AND (staff_id = ? OR requested_by = ?)",
            [staff_id, staff_id],
        )
    ):
        body.db.execute(
            "UPDATE role_requests SET state = 'cancelled', decided_by = ?, decided_at = ? "
            "WHERE id = ?",
            [actor, now, req["id"]],
        )
        _event(body, "role_request_cancelled", actor, staff_id, {"request": req["id"]})
    for claim in list(
        body.db.query(
            "SELECT id FROM token_claims WHERE staff_id = ? AND claimed_at IS NULL "
            "AND cancelled_at IS NULL",
            [staff_id],
        )
    ):
        body.db.execute("UPDATE token_claims SET cancelled_at = ? WHERE id = ?", [now, claim["id"]])
        _event(body, "token_claim_cancelled", actor, staff_id, {"claim": claim["id"]})


def deactivate(
    body: CertificationBody, staff_id: str, *, actor: str | None = None, reason: str = ""
) -> None:
    """Deactivate at once: every token of the person is refused from the next request on
    (``authenticate`` reads the staff row each time), and decisions in their name are
    refused. Their pending requests and unredeemed claims lapse."""
    if not isinstance(reason, str) or len(reason) > 2000:
        raise Invalid("the reason is text of at most 2000 characters")
    with transaction(body.db):
        row = _row(body, staff_id)
        if not row["active"]:
            raise Conflict(f"{row['name']} is already inactive (since {row['deactivated_at']})")
        _guard_admin_count(body, row, actor, "deactivating")
        now = _now(body)
        body.db.execute(
            "UPDATE staff SET active = 0, deactivated_at = ?, deactivated_by = ? WHERE id = ?",
            [now, actor, staff_id],
        )
        _event(body, "staff_deactivated", actor, staff_id, {"reason": reason})
        _cancel_pending(body, staff_id, actor)
        # Their console sessions end with the same commit (issuer.console.sessions).
        body.db.execute("DELETE FROM console_sessions WHERE staff_id = ?", [staff_id])


def reactivate(
    body: CertificationBody, staff_id: str, *, actor: str | None = None
) -> RoleRequest | None:
    """Re-activate; someone holding a privileged role waits for a second admin (four eyes)."""
    with transaction(body.db):
        row = _row(body, staff_id)
        if row["active"]:
            raise Conflict(f"{row['name']} is active")
        if PRIVILEGED & set(_roles(row)) and four_eyes_applies(body):
            pending = body.db.execute(
                "SELECT id FROM role_requests WHERE staff_id = ? AND action = 'reactivate' "
                "AND state = 'pending'",
                [staff_id],
            ).fetchone()
            if pending:
                raise Conflict(f"a re-activation request is already waiting: {pending[0]}")
            return _new_request(body, staff_id, "reactivate", None, actor)
        _apply_reactivate(body, staff_id, actor)
    return None


def _apply_reactivate(body: CertificationBody, staff_id: str, actor: str | None, **why: Any):
    body.db.execute(
        "UPDATE staff SET active = 1, deactivated_at = NULL, deactivated_by = NULL WHERE id = ?",
        [staff_id],
    )
    _event(body, "staff_reactivated", actor, staff_id, dict(why))


# -- four eyes: approving and rejecting -----------------------------------------------------


def list_requests(body: CertificationBody, state: str | None = "pending") -> list[RoleRequest]:
    sql, params = "SELECT * FROM role_requests", []
    if state is not None:
        sql += " WHERE state = ?"
        params.append(state)
    return [_request(r) for r in body.db.query(sql + " ORDER BY requested_at, id", params)]


def _pending(body: CertificationBody, request_id: str) -> dict[str, Any]:
    rows = list(body.db.query("SELECT * FROM role_requests WHERE id = ?", [request_id]))
    if not rows:
        raise NotFound(f"no role request {request_id!r}")
    if rows[0]["state"] != "pending":
        raise Conflict(f"request {request_id} is {rows[0]['state']}, not pending")
    return rows[0]


def approve_request(body: CertificationBody, request_id: str, *, actor: str | None) -> RoleRequest:
    """A second pair of eyes approves: an active admin who is neither the requester nor the
    person it promotes, or the operator (``actor`` None) for a request an admin made (with
    exactly two admins, a request to promote one of them has no other admin to approve it)."""
    with transaction(body.db):
        req = _pending(body, request_id)
        problem = None
        if actor is None:
            if req["requested_by"] is None:
                problem = "the operator made this request: an admin approves it, over the API"
        else:
            approver = _row(body, actor)
            if not approver["active"] or "admin" not in _roles(approver):
                problem = f"{approver['name']} is not an active admin"
            elif req["requested_by"] == actor:
                problem = "a request cannot be approved by the admin who made it (four eyes)"
            elif req["staff_id"] == actor:
                problem = "nobody approves their own promotion or re-activation (four eyes)"
        if problem:
            _event(
                body,
                "role_request_refused",
                actor,
                req["staff_id"],
                {"request": request_id, "reason": problem},
            )
        else:
            target = _row(body, req["staff_id"])
            if req["action"] == "grant" and not target["active"]:
                raise Conflict(f"{target['name']} is not active")
            now = _now(body)
            body.db.execute(
                "UPDATE role_requests SET state = 'approved', decided_by = ?, decided_at = ? "
                "WHERE id = ?",
                [actor, now, request_id],
            )
            _event(body, "role_request_approved", actor, req["staff_id"], {"request": request_id})
            if req["action"] == "grant":
                _apply_grant(body, req["staff_id"], req["role"], actor, request=request_id)
            else:
                _apply_reactivate(body, req["staff_id"], actor, request=request_id)
    if problem:
        # Raised after the commit: the refused attempt stays in the audit log.
        raise Refused(problem)
    return _request(
        next(iter(body.db.query("SELECT * FROM role_requests WHERE id = ?", [request_id])))
    )


def reject_request(body: CertificationBody, request_id: str, *, actor: str | None) -> RoleRequest:
    """Any admin (the requester included, to withdraw it) or the operator may reject."""
    with transaction(body.db):
        req = _pending(body, request_id)
        body.db.execute(
            "UPDATE role_requests SET state = 'rejected', decided_by = ?, decided_at = ? "
            "WHERE id = ?",
            [actor, _now(body), request_id],
        )
        _event(body, "role_request_rejected", actor, req["staff_id"], {"request": request_id})
    return _request(
        next(iter(body.db.query("SELECT * FROM role_requests WHERE id = ?", [request_id])))
    )

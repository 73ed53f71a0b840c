"""Console accounts: enrolment links, password + TOTP, recovery codes, sign-in and lockout.

Nothing here knows HTTP; :mod:`issuer.console.routes` calls it under the app's lock.

- **Enrolment.** An admin (or the operator: ``certreg staff add … --console``) makes a one-time
  link for a staff member (:func:`create_enrolment`): a random token, stored as its SHA-256,
  valid :data:`ENROLMENT_LIFETIME`, single use. Whoever opens it chooses the password and gets
  a fresh TOTP secret that only their browser is shown (:func:`complete_enrolment`): the admin
  who made the link never learns either. A link opened again after it was used resets the
  account it enrolled (password, TOTP and sessions gone, ``console_enrolment_reused``), like
  a token claim redeemed twice (issuer.tokens): the rightful owner learns at once that
  somebody else used their link, and whoever did loses the account.
- **Second factor.** TOTP (RFC 6238: SHA-1, 6 digits, 30 s; what every authenticator app
  reads from the QR), a step either side accepted for clock drift, and each time step at most
  once (``totp_last_step``): a code seen over someone's shoulder cannot be replayed. Or one of
  :data:`RECOVERY_CODES` recovery codes, shown once at enrolment, stored as SHA-256 (80 random
  bits each), each used once.
- **Lockout.** Failed sign-ins are counted by the login name typed (its SHA-256), whether or not
  it names anybody: :data:`LOCK_AFTER` failures in a row lock that name for :data:`LOCK_FOR`,
  and an unknown name is locked exactly like a known one, with the same words. The per-address
  slow-down is the web layer's (:mod:`issuer.console.web`).

Every step is an audit event naming the person (never a password, code or secret).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyotp

from certreg.issuer import audit
from certreg.issuer.console.passwords import hash_password, password_problem, verify_password
from certreg.issuer.db import transaction
from certreg.issuer.service import CertificationBody, Conflict, Invalid, NotFound
from certreg.keys.errors import CertregError
from certreg.verifier.issuing import format_datetime, parse_datetime

__all__ = [
    "ENROLMENT_LIFETIME",
    "ENROL_PATH",
    "LOCK_AFTER",
    "LOCK_FOR",
    "RECOVERY_CODES",
    "Enrolment",
    "LinkUsed",
    "SignInRefused",
    "complete_enrolment",
    "create_enrolment",
    "end_sessions_of",
    "enrolment_of",
    "find_login",
    "new_totp_secret",
    "reset_sign_in",
    "sign_in",
    "totp_uri",
]

ENROL_PATH = "/console/enrol/"
ENROLMENT_LIFETIME = timedelta(hours=72)
RECOVERY_CODES = 10
LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=15)
#: A failure older than this no longer counts towards a lockout.
FAILURE_MEMORY = timedelta(hours=24)
TOTP_ISSUER = "certreg"


class LinkUsed(Conflict):
    """An enrolment link that was already used."""


class SignInRefused(CertregError):
    """A refused sign-in; ``str(exc)`` is what the person is told (the same whether the name is
    unknown or the password wrong)."""


@dataclass(frozen=True)
class Enrolment:
    id: str
    staff_id: str
    staff_name: str
    token: str
    expires_at: str

    def link(self, base_url: str) -> str:
        return base_url.rstrip("/") + ENROL_PATH + self.token


def _now(body: CertificationBody) -> datetime:
    return body.clock()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _event(
    body: CertificationBody,
    kind: str,
    actor: str | None,
    subject: str | None,
    payload: dict[str, Any],
) -> None:
    audit.append(
        body.db, kind, actor=actor, subject=subject, payload=payload, at=format_datetime(_now(body))
    )


def _staff(body: CertificationBody, staff_id: str) -> dict[str, Any]:
    rows = list(body.db.query("SELECT * FROM staff WHERE id = ?", [staff_id]))
    if not rows:
        raise NotFound(f"no staff member {staff_id!r}")
    return rows[0]


def end_sessions_of(body: CertificationBody, staff_id: str) -> int:
    """End every console session of ``staff_id`` (sign-out everywhere, deactivation, reset)."""
    cur = body.db.execute("DELETE FROM console_sessions WHERE staff_id = ?", [staff_id])
    return cur.rowcount


def _clear_credentials(body: CertificationBody, staff_id: str) -> None:
    body.db.execute(
        "UPDATE console_accounts SET password_hash = NULL, totp_secret = NULL, "
        "enrolled_at = NULL, updated_at = ? WHERE staff_id = ?",
        [format_datetime(_now(body)), staff_id],
    )
    body.db.execute("DELETE FROM console_recovery_codes WHERE staff_id = ?", [staff_id])
    end_sessions_of(body, staff_id)


# -- enrolment --------------------------------------------------------------------------------


def create_enrolment(
    body: CertificationBody, staff_id: str, *, actor: str | None, kind: str = "console_invited"
) -> Enrolment:
    """A one-time enrolment link for ``staff_id``; earlier unused links of theirs lapse."""
    token = secrets.token_urlsafe(32)
    now = _now(body)
    enrolment_id = str(uuid.uuid4())
    expires = format_datetime(now + ENROLMENT_LIFETIME)
    with transaction(body.db):
        staff = _staff(body, staff_id)
        if not staff["active"]:
            raise Conflict(f"{staff['name']} is not active: re-activate them first")
        body.db.execute(
            "UPDATE console_enrolments SET cancelled_at = ? "
            "WHERE staff_id = ? AND used_at IS NULL AND cancelled_at IS NULL",
            [format_datetime(now), staff_id],
        )
        body.db.table("console_enrolments").insert(
            {
                "id": enrolment_id,
                "staff_id": staff_id,
                "token_hash": _sha256(token),
                "created_by": actor,
                "created_at": format_datetime(now),
                "expires_at": expires,
                "used_at": None,
                "cancelled_at": None,
            }
        )
        _event(body, kind, actor, staff_id, {"enrolment": enrolment_id, "expires": expires})
    return Enrolment(enrolment_id, staff_id, staff["name"], token, expires)


def reset_sign_in(body: CertificationBody, staff_id: str, *, actor: str | None) -> Enrolment:
    """Take a person's password, TOTP and recovery codes away (their sessions end) and give
    a new enrolment link: the way back for someone who lost their authenticator."""
    with transaction(body.db):
        _staff(body, staff_id)
        _clear_credentials(body, staff_id)
        return create_enrolment(body, staff_id, actor=actor, kind="console_sign_in_reset")


def _enrolment_row(body: CertificationBody, token: str) -> dict[str, Any]:
    if not isinstance(token, str) or len(token) > 200:
        raise NotFound("this enrolment link is unknown")
    digest = _sha256(token)
    rows = list(body.db.query("SELECT * FROM console_enrolments WHERE token_hash = ?", [digest]))
    if not rows or not hmac.compare_digest(rows[0]["token_hash"], digest):
        raise NotFound("this enrolment link is unknown")
    return rows[0]


def _usable(body: CertificationBody, row: dict[str, Any]) -> dict[str, Any]:
    """The staff row of a usable enrolment; raises with the reason otherwise."""
    if row["cancelled_at"] is not None:
        raise Conflict("this enrolment link was replaced by a newer one; ask an admin")
    if parse_datetime(row["expires_at"]) <= _now(body):
        raise Conflict("this enrolment link has expired; ask an admin for a new one")
    staff = _staff(body, row["staff_id"])
    if not staff["active"]:
        raise Conflict(f"{staff['name']} is not active")
    return staff


def _reused(body: CertificationBody, row: dict[str, Any]) -> LinkUsed:
    """A used link sent again: the account it enrolled is reset (see the module text)."""
    with transaction(body.db):
        _clear_credentials(body, row["staff_id"])
        _event(body, "console_enrolment_reused", None, row["staff_id"], {"enrolment": row["id"]})
    return LinkUsed(
        f"this enrolment link was already used at {row['used_at']}. If that was not you, "
        "somebody else enrolled in your name: that account is now reset and its sessions "
        "ended. Tell another admin, who can give you a new link"
    )


def enrolment_of(body: CertificationBody, token: str) -> dict[str, Any]:
    """The staff member a usable link enrols (for the enrolment page). Opening a used link
    changes nothing (a mail scanner may open links): only sending its form again resets."""
    row = _enrolment_row(body, token)
    if row["used_at"] is not None:
        raise LinkUsed(
            f"this enrolment link was already used at {row['used_at']}. If that was not you, "
            "somebody else enrolled in your name: send the form below to reset that account "
            "and end its sessions, then tell another admin"
        )
    return _usable(body, row)


def new_totp_secret() -> str:
    return pyotp.random_base32(32)  # 160 bits, RFC 4226's recommended length


def totp_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=TOTP_ISSUER)


def _totp_step(secret: str, code: str, now: datetime, after: int) -> int | None:
    """The time step ``code`` is valid for (now, or one step either side), if later than
    ``after``; None otherwise."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if step > after and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _recovery_codes() -> list[str]:
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # 31 symbols, none to mistake for another
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(alphabet) for _ in range(16))  # ~79 bits
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    return codes


def _normal_recovery(code: str) -> str:
    return "".join(c for c in code.lower() if c.isalnum())


def complete_enrolment(
    body: CertificationBody, token: str, *, password: str, totp_secret: str, code: str
) -> tuple[str, list[str]]:
    """Set the password and TOTP secret of the link's staff member, once the first code from
    their authenticator confirms the secret; returns their staff id and recovery codes (shown
    once). Their other sessions end."""
    row = _enrolment_row(body, token)
    if row["used_at"] is not None:
        raise _reused(body, row)
    staff = _usable(body, row)
    problem = password_problem(
        password, personal=tuple(x for x in (staff["name"], staff["email"]) if x)
    )
    if problem:
        raise Invalid(problem)
    try:
        secret_ok = len(totp_secret) == 32 and len(pyotp.TOTP(totp_secret).byte_secret()) == 20
    except (ValueError, TypeError):
        secret_ok = False
    if not secret_ok:
        raise Invalid("the authenticator secret is not one this page made; reload the page")
    step = _totp_step(totp_secret, code, _now(body), 0)
    if step is None:
        raise Invalid(
            "the code does not match: scan the QR code again (or type the secret) and give "
            "the 6-digit code your authenticator shows now"
        )
    hashed = hash_password(password)
    codes = _recovery_codes()
    now = format_datetime(_now(body))
    with transaction(body.db):
        fresh = _enrolment_row(body, token)  # inside the write lock: single use, for sure
        if fresh["used_at"] is not None or fresh["cancelled_at"] is not None:
            raise Conflict("this enrolment link was used or replaced meanwhile")
        body.db.execute("UPDATE console_enrolments SET used_at = ? WHERE id = ?", [now, row["id"]])
        body.db.table("console_accounts").upsert(
            {
                "staff_id": staff["id"],
                "password_hash": hashed,
                "totp_secret": totp_secret,
                "totp_last_step": step,
                "enrolled_at": now,
                "updated_at": now,
            },
            pk="staff_id",
        )
        body.db.execute("DELETE FROM console_recovery_codes WHERE staff_id = ?", [staff["id"]])
        body.db.table("console_recovery_codes").insert_all(
            {"staff_id": staff["id"], "code_hash": _sha256(_normal_recovery(c)), "created_at": now}
            for c in codes
        )
        end_sessions_of(body, staff["id"])
        _event(body, "console_enrolled", staff["id"], staff["id"], {"enrolment": row["id"]})
    return staff["id"], codes


# -- sign-in ----------------------------------------------------------------------------------


def find_login(body: CertificationBody, login: str) -> dict[str, Any] | None:
    """The one active staff member whose e-mail or name is ``login`` (case-insensitive)."""
    rows = list(
        body.db.query(
            "SELECT * FROM staff WHERE active = 1 AND (lower(email) = lower(?) "
            "OR lower(name) = lower(?)) LIMIT 2",
            [login, login],
        )
    )
    return rows[0] if len(rows) == 1 else None


def _locked_until(body: CertificationBody, login_hash: str) -> datetime | None:
    row = body.db.execute(
        "SELECT locked_until FROM console_failures WHERE login_hash = ?", [login_hash]
    ).fetchone()
    if row is None or row[0] is None:
        return None
    until = parse_datetime(row[0])
    return until if until > _now(body) else None


def _lock_words(until: datetime, now: datetime) -> str:
    minutes = max(1, int((until - now).total_seconds() + 59) // 60)
    return (
        f"too many failed sign-ins for this name: signing in with it is locked for {minutes} "
        "more minute(s)"
    )


def _second_factor(
    body: CertificationBody, account: dict[str, Any], code: str
) -> tuple[str, int | None, str | None]:
    """Which factor ``code`` is ('totp', step, None), ('recovery', None, hash), or ('', …)."""
    step = _totp_step(account["totp_secret"], code, _now(body), account["totp_last_step"])
    if step is not None:
        return "totp", step, None
    digest = _sha256(_normal_recovery(code))
    row = body.db.execute(
        "SELECT code_hash FROM console_recovery_codes "
        "WHERE staff_id = ? AND code_hash = ? AND used_at IS NULL",
        [account["staff_id"], digest],
    ).fetchone()
    if row is not None and hmac.compare_digest(row[0], digest):
        return "recovery", None, digest
    return "", None, None


WRONG = "the name, password or code is wrong"


def sign_in(body: CertificationBody, login: str, password: str, code: str, *, client: str) -> str:
    """The staff id of whoever signs in with these; raises :class:`SignInRefused` with the
    same words for an unknown name, a wrong password and a wrong code."""
    login = (login or "").strip()[:500]
    login_hash = _sha256(login.lower())
    now = _now(body)
    until = _locked_until(body, login_hash)
    if until is not None:
        raise SignInRefused(_lock_words(until, now))
    staff = find_login(body, login) if login else None
    account = None
    if staff is not None:
        rows = list(
            body.db.query(
                "SELECT * FROM console_accounts WHERE staff_id = ? AND password_hash IS NOT NULL",
                [staff["id"]],
            )
        )
        account = rows[0] if rows else None
    # The password is checked (or a dummy hash, for the same time) before the code is looked
    # at: a code is only spent by someone who knows the password.
    ok = verify_password(account["password_hash"] if account else None, password or "")
    factor, step, recovery = ("", None, None)
    if ok and account is not None:
        factor, step, recovery = _second_factor(body, account, code or "")
    subject = staff["id"] if staff is not None else None
    locked: datetime | None = None
    with transaction(body.db):
        if not factor or account is None:
            locked = _count_failure(body, login_hash)
            _event(
                body,
                "console_sign_in_failed",
                None,
                subject,
                {"client": client, "known": staff is not None, "locked": locked is not None},
            )
            if locked is not None:
                _event(
                    body,
                    "console_locked_out",
                    None,
                    subject,
                    {"client": client, "until": format_datetime(locked), "failures": LOCK_AFTER},
                )
        else:
            body.db.execute("DELETE FROM console_failures WHERE login_hash = ?", [login_hash])
            if step is not None:
                body.db.execute(
                    "UPDATE console_accounts SET totp_last_step = ? WHERE staff_id = ?",
                    [step, account["staff_id"]],
                )
            if recovery is not None:
                body.db.execute(
                    "UPDATE console_recovery_codes SET used_at = ? WHERE code_hash = ?",
                    [format_datetime(now), recovery],
                )
            left = body.db.execute(
                "SELECT COUNT(*) FROM console_recovery_codes "
                "WHERE staff_id = ? AND used_at IS NULL",
                [account["staff_id"]],
            ).fetchone()[0]
            _event(
                body,
                "console_signed_in",
                account["staff_id"],
                account["staff_id"],
                {"client": client, "factor": factor, "recovery_codes_left": left},
            )
    if not factor or account is None:
        if locked is not None:
            raise SignInRefused(_lock_words(locked, now))
        raise SignInRefused(WRONG)
    return str(account["staff_id"])


def _count_failure(body: CertificationBody, login_hash: str) -> datetime | None:
    """Count a failure for the name; when it locks the name, the time the lock ends."""
    now = _now(body)
    row = body.db.execute(
        "SELECT failures, last_failed_at FROM console_failures WHERE login_hash = ?", [login_hash]
    ).fetchone()
    failures = 1
    if row is not None and now - parse_datetime(row[1]) < FAILURE_MEMORY:
        failures = row[0] + 1
    locked = now + LOCK_FOR if failures >= LOCK_AFTER else None
    body.db.table("console_failures").upsert(
        {
            "login_hash": login_hash,
            "failures": 0 if locked else failures,
            "last_failed_at": format_datetime(now),
            "locked_until": format_datetime(locked) if locked else None,
        },
        pk="login_hash",
    )
    return locked

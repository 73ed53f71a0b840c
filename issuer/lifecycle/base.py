"""What every part of the body shares: the database, the clock, the signer, the status lists,
and the facts the rules are checked against (a person, a staff member, a certification, a
scheme's version and catalogue). The responsibilities build on it: reference data
(:mod:`.reference`), grants (:mod:`.grants`), the other decisions (:mod:`.decisions`),
credentials (:mod:`.credentials`) and reading (:mod:`.queries`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlite_utils import Database

from certreg.issuer import audit
from certreg.issuer.db import transaction
from certreg.issuer.lifecycle import rules
from certreg.issuer.lifecycle.errors import Invalid, NotFound, Refused, enforce
from certreg.issuer.lifecycle.records import ScopeGrant, parse_day, utc_now
from certreg.issuer.logwriter import log_for_events
from certreg.issuer.numbers import normalise
from certreg.issuer.statuslists import DEFAULT_STATUS_FORM, STATUS_FORMS, StatusListManager
from certreg.verifier.issuing import CRYPTOSUITES, Signer, format_datetime


class BodyBase:
    """The state and the shared look-ups of a certification body (see CertificationBody)."""

    def __init__(
        self,
        db: Database,
        *,
        signer_factory: Callable[[], Signer] | None = None,
        clock: Callable[[], datetime] = utc_now,
        cryptosuite: str = "eddsa-rdfc-2022",
    ) -> None:
        if cryptosuite not in CRYPTOSUITES:
            raise Invalid(f"unknown cryptosuite {cryptosuite!r}")
        self.db = db
        self.clock = clock
        self.cryptosuite = cryptosuite
        self._signer_factory = signer_factory
        self._signer: Signer | None = None
        self._lists: StatusListManager | None = None
        # Called after a change commits, e.g. issuer.register_push.attach: ("certification",
        # number...), ("scheme", id) -- so the public register follows at once.
        self.on_change: Callable[..., None] | None = None

    @property
    def info(self) -> dict[str, Any]:
        row = self.db.execute("SELECT * FROM body WHERE id = 1").fetchone()
        if row is None:
            raise NotFound("this database has no certification body (run `certreg init`)")
        cols = [d[0] for d in self.db.execute("SELECT * FROM body LIMIT 0").description]
        return dict(zip(cols, row, strict=True))

    @property
    def signer(self) -> Signer:
        if self._signer is None:
            if self._signer_factory is None:
                raise Refused("signing needs the key store's passphrase")
            self._signer = self._signer_factory()
        return self._signer

    def reload_signer(self) -> None:
        """Forget the loaded key: the next signature loads the key store's current key (after a
        rotation). The status lists sign through the same lazy signer, so they follow."""
        self._signer = None

    @property
    def status_form(self) -> str:
        """How new certificates carry their status: ``message`` (one entry, the default, which
        the Open Badges 3.0 schema accepts) or ``two-entries`` (revocation + suspension).
        Certificates already issued keep the form they were signed with."""
        row = self.db.execute("SELECT value FROM settings WHERE key = 'status_form'").fetchone()
        return row[0] if row and row[0] in STATUS_FORMS else DEFAULT_STATUS_FORM

    @property
    def status_lists(self) -> StatusListManager:
        if self._lists is None:
            info = self.info
            self._lists = StatusListManager(
                self.db,
                issuer_did=info["did"],
                base_url=info["public_url"],
                signer=_LazySigner(self),
                clock=self.clock,
                status_form=self.status_form,
            )
        return self._lists

    def _now(self) -> str:
        return format_datetime(self.clock())

    def _today(self) -> date:
        return self.clock().astimezone(UTC).date()

    def _changed(self, kind: str, *keys: str) -> None:
        if self.on_change is not None:
            self.on_change(kind, *keys)

    def _event(self, kind: str, actor: str | None, subject: str | None, payload: dict) -> None:
        self._append_events([(kind, actor, subject, payload)], self._now())

    def _append_events(self, events: Sequence[audit.NewEvent], at: str) -> list[audit.Event]:
        """The lifecycle's one writer of audit events, in the caller's transaction. It is also
        where the holder's mail of a decision is queued (issuer.mail, docs/mail.md) and its
        transparency log entry appended (issuer.logwriter): in the same transaction, so that a
        decision, its mail and its entry commit or roll back together."""
        appended = audit.append_many(self.db, events, at=at)
        # Imported here: the mail package loads Jinja2 and smtplib, which reading needs not.
        from certreg.issuer.mail.outbox import queue_for_events

        queue_for_events(self, appended)  # type: ignore[arg-type]
        # The transparency log's entry of a decision, in the same transaction (issue 13).
        log_for_events(self.db.conn, appended)
        return appended

    def _person(self, person_id: str) -> dict[str, Any]:
        rows = list(self.db.query("SELECT * FROM persons WHERE id = ?", [person_id]))
        if not rows:
            raise NotFound(f"no person {person_id!r}")
        return rows[0]

    def _staff(self, staff_id: str) -> dict[str, Any]:
        rows = list(self.db.query("SELECT * FROM staff WHERE id = ?", [staff_id]))
        if not rows:
            raise NotFound(f"no staff member {staff_id!r}")
        return rows[0]

    def _cert(self, number: str) -> dict[str, Any]:
        rows = list(
            self.db.query("SELECT * FROM certifications WHERE number = ?", [normalise(number)])
        )
        if not rows:
            raise NotFound(f"no certification numbered {number!r}")
        return rows[0]

    def _scheme_version(self, scheme_id: str, version: int | None = None) -> dict[str, Any]:
        sql = "SELECT * FROM scheme_versions WHERE scheme_id = ?"
        params: list[Any] = [scheme_id]
        if version is not None:
            sql += " AND version = ?"
            params.append(version)
        rows = list(self.db.query(sql + " ORDER BY version DESC LIMIT 1", params))
        if not rows:
            raise NotFound(f"no scheme {scheme_id!r}" + (f" version {version}" if version else ""))
        row = rows[0]
        row["code"] = self.db.execute(
            "SELECT code FROM schemes WHERE id = ?", [scheme_id]
        ).fetchone()[0]
        return row

    def _scope_catalogue(self, scheme_id: str) -> dict[str, dict[str, Any]]:
        return {
            r["code"]: r
            for r in self.db.query("SELECT * FROM scope_items WHERE scheme_id = ?", [scheme_id])
        }

    def _active_scope(self, certification_id: str) -> dict[str, str | None]:
        return {
            code: conditions
            for code, conditions in self.db.execute(
                "SELECT scope_code, conditions FROM certification_scope "
                "WHERE certification_id = ? AND status = 'active'",
                [certification_id],
            )
        }

    def _require(self, cert: dict[str, Any], decision: str) -> None:
        enforce(rules.state_allows(decision, cert["number"], cert["status"]))

    def _effective(self, value: str | None) -> date:
        """The effective date asked for (default: today), checked."""
        today = self._today()
        if value is None:
            return today
        effective = parse_day(value, "effective_date")
        enforce(rules.effective_date(effective, today))
        return effective

    def _passed_assessments(self, person_id: str, scheme_id: str) -> list[set[str]]:
        """The scope codes of each passed assessment of the person in the scheme."""
        return [
            set(filter(None, codes_text.split(",")))
            for (codes_text,) in self.db.execute(
                "SELECT scope_codes FROM assessments WHERE person_id = ? AND scheme_id = ? "
                "AND result = 'pass'",
                [person_id, scheme_id],
            )
        ]

    def _checked_scope(
        self, scheme_id: str, scope: Sequence[ScopeGrant], person_id: str
    ) -> list[ScopeGrant]:
        """Scope to grant, checked against the catalogue and the passed assessments (§9.3)."""
        grants = [g if isinstance(g, ScopeGrant) else ScopeGrant(*g) for g in scope]
        codes = [g.code for g in grants]
        enforce(rules.scope_in_catalogue(scheme_id, codes, self._scope_catalogue(scheme_id)))
        enforce(rules.scope_assessed(codes, self._passed_assessments(person_id, scheme_id)))
        return grants

    def _involvement(self, person_id: str, staff_id: str) -> str | None:
        """How the staff member was involved with the candidate: examiner, trainer or None."""
        row = self.db.execute(
            "SELECT role FROM involvements WHERE person_id = ? AND staff_id = ? LIMIT 1",
            [person_id, staff_id],
        ).fetchone()
        return None if row is None else str(row[0])

    def _check_decision_maker(self, staff_id: str, person_id: str, decision: str) -> None:
        """§9.4, with the refused attempt logged (in its own transaction: it decided nothing)."""
        refusal = rules.impartial_decider(
            self._staff(staff_id), self._involvement(person_id, staff_id)
        )
        if refusal is not None:
            with transaction(self.db):
                self._event(
                    "decision_refused",
                    staff_id,
                    person_id,
                    {"decision": decision, "reason": refusal.reason},
                )
            enforce(refusal)

    def _check_appeal_of(self, appeal_of: str | None) -> None:
        if (
            appeal_of is not None
            and not self.db.execute("SELECT 1 FROM decisions WHERE id = ?", [appeal_of]).fetchone()
        ):
            raise NotFound(f"no decision {appeal_of!r} to appeal")


class _LazySigner:
    """Lets the status-list manager be built before the passphrase is needed."""

    def __init__(self, body: BodyBase) -> None:
        self._body = body

    @property
    def verification_method(self) -> str:
        return self._body.signer.verification_method

    def sign(self, message: bytes) -> bytes:
        return self._body.signer.sign(message)

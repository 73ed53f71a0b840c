"""The certification body's everyday commands: ``init``, ``scheme``, ``person``, ``staff``,
``assess``, ``train``, ``decide ...``, ``show``, ``due`` and ``expire-due``.

Every command works on the data folder given by ``--data`` (default ``data``, or
``$CERTREG_DATA``). Commands that sign (``init`` and every decision) need the key store's
passphrase: ``--passphrase-file``, ``$CERTREG_PASSPHRASE`` or a hidden prompt.

People and staff are named by their id, by a unique beginning of it (at least 4 characters,
like a short git hash), by a person's external id, or by a staff member's e-mail address or
full name (when no one else has it).

Exit codes: 0 done; 1 the body refused or could not do it (the reason is printed, e.g. the
decision-maker examined the candidate); 2 the command line itself is wrong.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from sqlite_utils import Database

from certreg.i18n import LANGUAGES
from certreg.issuer import audit, staff
from certreg.issuer.cli import common as cli_common
from certreg.issuer.cli.common import (
    data_option,
    echo_fields,
    echo_json,
    echo_table,
    json_option,
    open_body,
    passphrase_file_option,
    plain_errors,
    read_passphrase,
    unlock,
    warn_if_short,
)
from certreg.issuer.console import accounts as console_accounts
from certreg.issuer.console import sessions as console_sessions
from certreg.issuer.lifecycle import table
from certreg.issuer.register_push import attach
from certreg.issuer.service import POLICIES, ROLES, Certification, CertificationBody, ScopeGrant
from certreg.keys import did_web_to_url

__all__ = [
    "assess_command",
    "cert_command",
    "decide_group",
    "due_command",
    "expire_due_command",
    "init_command",
    "person_group",
    "scheme_group",
    "staff_group",
    "train_command",
]

KDF_CHOICES = ("moderate", "interactive", "sensitive")

#: Fields of a scheme description (``scheme add --from FILE`` and ``scheme version --from``).
SCHEME_FIELDS = (
    "code",
    "name",
    "description",
    "normative_reference",
    "normative_reference_url",
    "validity_months",
    "max_suspension_days",
    "publication_policy",
    "prerequisites",
    "process",
    "appeals",
    "recertification_rules",
    "accredited",
    "scope",
    "names",
    "descriptions",
)
REQUIRED_SCHEME_FIELDS = {
    "code": "--code",
    "name": "--name",
    "description": "--description",
    "normative_reference": "--standard",
    "validity_months": "--validity-months",
    "max_suspension_days": "--max-suspension-days",
    "publication_policy": "--publication",
    "scope": "--scope",
}
#: What ``scheme version`` may change (the scope catalogue belongs to the scheme, not a version).
VERSION_FIELDS = (
    "name",
    "description",
    "normative_reference",
    "normative_reference_url",
    "validity_months",
    "max_suspension_days",
    "publication_policy",
    "prerequisites",
    "process",
    "appeals",
    "recertification_rules",
    "recertification_window_months",
    "names",
    "descriptions",
)

_MIN_PREFIX = 4


# -- small helpers ----------------------------------------------------------------------------


def _resolve(db: Database, table: str, value: str, what: str, also: Sequence[str] = ()) -> str:
    """The id of the row of ``table`` named by ``value``: its id, a unique column in ``also``
    (external id, e-mail), or a unique beginning of its id."""
    value = value.strip()
    if db.execute(f"SELECT 1 FROM {table} WHERE id = ?", [value]).fetchone():
        return value
    for column in also:
        rows = db.execute(f"SELECT id FROM {table} WHERE {column} = ?", [value]).fetchall()
        if len(rows) == 1:
            return str(rows[0][0])
        if len(rows) > 1:  # not "no such": there are several, and the id tells them apart
            raise click.ClickException(
                f"{value!r} names {len(rows)} {what}s ({column}): give the id"
            )
    if len(value) >= _MIN_PREFIX:
        pattern = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = db.execute(
            f"SELECT id FROM {table} WHERE id LIKE ? ESCAPE '\\' LIMIT 2", [pattern]
        ).fetchall()
        if len(rows) == 1:
            return str(rows[0][0])
        if len(rows) > 1:
            raise click.ClickException(
                f"{value!r} matches more than one {what}: give more of the id"
            )
    raise click.ClickException(f"no {what} {value!r}")


def _person_id(body: CertificationBody, value: str) -> str:
    return _resolve(body.db, "persons", value, "person", also=("external_id",))


def _staff_id(body: CertificationBody, value: str) -> str:
    return _resolve(body.db, "staff", value, "staff member", also=("email", "name"))


def _staff_name(body: CertificationBody, staff_id: str | None) -> str:
    if staff_id is None:
        return "(automatic)"
    row = body.db.execute("SELECT name FROM staff WHERE id = ?", [staff_id]).fetchone()
    return str(row[0]) if row else staff_id


def _scope_grant(text: str, option: str) -> ScopeGrant:
    """``CODE`` or ``CODE=conditions or limitations``."""
    code, sep, conditions = text.partition("=")
    code = code.strip()
    if not code:
        raise click.BadParameter(f"{text!r}: give CODE or CODE=CONDITIONS", param_hint=option)
    return ScopeGrant(code, conditions.strip() or None if sep else None)


def _key_value(text: str, option: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise click.BadParameter(f"{text!r}: write it as CODE=TEXT", param_hint=option)
    return key.strip(), value.strip()


def _scheme_name(body: CertificationBody, scheme_id: str, version: int) -> str:
    row = body.db.execute(
        "SELECT name FROM scheme_versions WHERE scheme_id = ? AND version = ?",
        [scheme_id, version],
    ).fetchone()
    return str(row[0]) if row else scheme_id


def _cert_json(body: CertificationBody, cert: Certification) -> dict[str, Any]:
    out = asdict(cert)
    out.pop("credential", None)
    out["scheme_name"] = _scheme_name(body, cert.scheme_id, cert.scheme_version)
    return out


def _scope_text(item: dict[str, Any]) -> str:
    text = f"{item['code']}  {item['label']}"
    if item.get("conditions"):
        text += f" — {item['conditions']}"
    return text


def _echo_certification(body: CertificationBody, cert: Certification) -> None:
    echo_fields(
        [
            ("Certificate", cert.number),
            ("Holder", cert.holder_name),
            (
                "Scheme",
                f"{_scheme_name(body, cert.scheme_id, cert.scheme_version)} "
                f"({cert.scheme_id}, version {cert.scheme_version})",
            ),
            ("Status", f"{cert.status} since {cert.status_since}"),
            ("Suspended until", cert.suspended_until),
            ("Valid", f"{cert.valid_from} to {cert.valid_until} (cycle {cert.cycle})"),
        ],
        indent="  ",
    )
    active = [s for s in cert.scope if s["status"] == "active"]
    removed = [s for s in cert.scope if s["status"] != "active"]
    click.echo("  Scope:")
    for item in active:
        click.echo(f"    • {_scope_text(item)}")
    for item in removed:
        click.echo(f"    ✗ {_scope_text(item)} (removed {item['since']})")


def _outcome(
    body: CertificationBody, cert: Certification, sentence: str, as_json: bool, **extra: Any
) -> None:
    if as_json:
        echo_json(_cert_json(body, cert) | extra)
        return
    click.echo(sentence)
    _echo_certification(body, cert)
    click.echo(f"Certificate number: {cert.number}")


def _in_languages(pairs: tuple[str, ...], option: str) -> dict[str, str]:
    """``("de=Schweißaufsichtsperson", ...)`` as ``{"de": "Schweißaufsichtsperson"}`` (the
    languages and the names are checked by the service)."""
    out: dict[str, str] = {}
    for pair in pairs:
        lang, sep, text = pair.partition("=")
        if not sep:
            raise click.BadParameter(
                f"{pair!r} is not LANG=TEXT, e.g. 'de=Schweißaufsichtsperson'", param_hint=option
            )
        out[lang.strip().lower()] = text
    return out


def _read_description(path: Path) -> dict[str, Any]:
    """A scheme description: TOML, or JSON when the file name ends in .json."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise click.BadParameter(
            f"cannot read {path}: {exc.strerror}", param_hint="--from"
        ) from None
    try:
        if path.suffix.lower() == ".json":
            loaded = json.loads(raw)
        else:
            loaded = tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:  # JSON and TOML errors are ValueErrors
        raise click.BadParameter(f"{path} is not valid: {exc}", param_hint="--from") from None
    if not isinstance(loaded, dict):
        raise click.BadParameter(f"{path} must describe one scheme", param_hint="--from")
    return loaded


def _scope_from_description(items: Any) -> list[tuple[str, ...]]:
    if not isinstance(items, list) or not items:
        raise click.BadParameter("'scope' must be a list of items", param_hint="--from")
    out: list[tuple[str, ...]] = []
    for n, item in enumerate(items, 1):
        if isinstance(item, dict) and isinstance(item.get("code"), str):
            label = item.get("label")
            if not isinstance(label, str) or not label:
                raise click.BadParameter(
                    f"scope item {n} ({item['code']}) has no label", param_hint="--from"
                )
            level = item.get("level")
            out.append(
                (item["code"], label, str(level)) if level is not None else (item["code"], label)
            )
        else:
            raise click.BadParameter(
                f"scope item {n} must be a table with 'code' and 'label'", param_hint="--from"
            )
    return out


def _scope_from_options(
    scope: Sequence[str], levels: Sequence[str], *, option: str = "--scope"
) -> list[tuple[str, ...]]:
    level_of = dict(_key_value(text, "--level") for text in levels)
    out: list[tuple[str, ...]] = []
    for text in scope:
        code, label = _key_value(text, option)
        if not label:
            raise click.BadParameter(f"scope item {code} needs a label", param_hint=option)
        level = level_of.pop(code, None)
        out.append((code, label, level) if level else (code, label))
    if level_of:
        raise click.BadParameter(
            f"--level for scope items not given with {option}: {sorted(level_of)}",
            param_hint="--level",
        )
    return out


# -- init -------------------------------------------------------------------------------------


@click.command("init")
@data_option
@click.option("--name", "legal_name", required=True, help="The body's legal name.")
@click.option(
    "--public-url",
    required=True,
    metavar="URL",
    help="https address of the body's public service (status lists, did.json, register).",
)
@click.option(
    "--did-method",
    type=click.Choice(["web", "key"]),
    default="web",
    show_default=True,
    help="web: the DID is the public URL's domain (production). "
    "key: the key is its own DID (tests, offline use; cannot be rotated visibly).",
)
@click.option("--accreditation-body", metavar="NAME", help="Who accredits the body, e.g. DAkkS.")
@click.option("--accreditation-number", metavar="TEXT", help="The accreditation's number.")
@click.option("--country", metavar="CC", help="The body's country (ISO 3166 code).")
@click.option(
    "--kdf",
    type=click.Choice(KDF_CHOICES),
    default="moderate",
    show_default=True,
    help="Argon2id cost of unlocking the key: moderate 256 MiB, interactive 64 MiB "
    "(tests, small machines), sensitive 1 GiB.",
)
@click.option(
    "--status-form",
    type=click.Choice(["message", "two-entries"]),
    default="message",
    show_default=True,
    help="How certificates carry their status. message: one 2-bit Bitstring Status List entry "
    "(valid / suspended / withdrawn), the one status object the Open Badges 3.0 JSON Schema "
    "accepts. two-entries: a revocation and a suspension entry (VC 2.0; the OB 3.0 schema "
    "refuses it). See docs/credential.md.",
)
@passphrase_file_option
def init_command(
    data: Path,
    legal_name: str,
    public_url: str,
    did_method: str,
    accreditation_body: str | None,
    accreditation_number: str | None,
    country: str | None,
    kdf: str,
    status_form: str,
    passphrase_file: Path | None,
) -> None:
    """Create a new certification body in the data folder: its signing key (encrypted key
    store), its DID, issuer.db, and its first status lists."""
    if (data / "issuer.db").exists():
        raise click.ClickException(f"{data} already holds a certification body")
    passphrase = read_passphrase(passphrase_file, confirm=True)
    warn_if_short(passphrase)
    with plain_errors():
        body = CertificationBody.init(
            data,
            legal_name=legal_name,
            public_url=public_url,
            passphrase=passphrase,
            did_method=did_method,
            accreditation_body=accreditation_body,
            accreditation_number=accreditation_number,
            country=country,
            kdf=kdf,
            clock=cli_common.clock,
            status_form=status_form,
        )
        attach(body)("body")  # the register starts with the body's row, keys and schemes
        info = body.info
    # issuer.db holds private data: owner only (SQLite gives its -wal and -shm files the
    # database file's mode).
    data.chmod(0o700)
    for path in data.glob("issuer.db*"):
        path.chmod(0o600)
    click.echo(f"Created certification body {info['legal_name']!r} in {data}")
    click.echo(f"It signs as {info['did']}")
    if did_method == "web":
        click.echo(
            f"Publish its DID document (`certreg keys did --store {data / 'keys'}`) at "
            f"{did_web_to_url(info['did'])}"
        )
    else:
        click.echo("did:key: nothing to publish for the key, but it cannot be rotated visibly.")
    click.echo(f"Status lists will be fetched from {info['public_url']}/status/<list>")
    click.echo(f"Back up {data / 'keys'} and the passphrase separately (docs/operator.md).")


# -- schemes ----------------------------------------------------------------------------------


@click.group("scheme")
def scheme_group() -> None:
    """Certification schemes: their public description, rules and scope catalogue."""


def names_in_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--name-in`` and ``--description-in``, as ``scheme add`` and ``scheme version`` take
    them."""
    command = click.option(
        "--description-in",
        "descriptions_in",
        multiple=True,
        metavar="LANG=TEXT",
        help="The public description in another language that has a --name-in (repeatable).",
    )(command)
    return click.option(
        "--name-in",
        "names_in",
        multiple=True,
        metavar="LANG=NAME",
        help="The scheme's name in another language (repeatable), e.g. "
        "'de=Schweißaufsichtsperson': shown to register readers in that language; certificates "
        "keep the signed --name. LANG: one of " + ", ".join(LANGUAGES) + ".",
    )(command)


@scheme_group.command("add")
@data_option
@click.argument("scheme_id", required=False, metavar="[ID]")
@click.option(
    "--from",
    "from_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the scheme from a TOML file (JSON if it ends in .json); options given "
    "as well override it. See docs/operator.md.",
)
@click.option("--code", help="Short code printed on certificates and in numbers, e.g. CWI.")
@click.option("--name", help="The scheme's name.")
@click.option("--description", help="Public description of the scheme.")
@click.option("--standard", "normative_reference", help="Normative reference, e.g. ISO 9712:2021.")
@click.option("--standard-url", "normative_reference_url", help="URL of the normative document.")
@click.option("--validity-months", type=click.IntRange(min=1), help="Validity of one cycle.")
@click.option(
    "--max-suspension-days", type=click.IntRange(min=1), help="Longest suspension allowed."
)
@click.option(
    "--publication",
    "publication_policy",
    type=click.Choice(POLICIES),
    help="Who may find holders in the public register: directory (listed by name), "
    "number_lookup (only by certificate number), on_request.",
)
@click.option(
    "--scope",
    multiple=True,
    metavar="CODE=LABEL",
    help="A scope item of the catalogue (repeatable), e.g. 'UT2=Ultrasonic testing, level 2'.",
)
@click.option("--level", multiple=True, metavar="CODE=LEVEL", help="Level of a scope item.")
@click.option("--prerequisites", help="Prerequisites for candidates (public).")
@click.option("--process", help="The assessment process (public).")
@click.option("--appeals", help="The appeals and complaints process (public).")
@click.option("--recertification-rules", help="How holders recertify (public).")
@click.option(
    "--accredited/--not-accredited",
    default=None,
    help="Whether the scheme is within the body's accreditation.",
)
@names_in_options
def scheme_add_command(
    data: Path,
    scheme_id: str | None,
    from_file: Path | None,
    scope: tuple[str, ...],
    level: tuple[str, ...],
    names_in: tuple[str, ...],
    descriptions_in: tuple[str, ...],
    **options: Any,
) -> None:
    """Add a scheme ID (a short slug such as 'cwi') with its first version and its scope
    catalogue, from options or from a description file."""
    fields: dict[str, Any] = {}
    if from_file is not None:
        fields = _read_description(from_file)
        file_id = fields.pop("id", None)
        unknown = sorted(set(fields) - set(SCHEME_FIELDS))
        if unknown:
            raise click.BadParameter(
                f"unknown fields {unknown}; known: id, {', '.join(SCHEME_FIELDS)}",
                param_hint="--from",
            )
        fields["scope"] = _scope_from_description(fields.get("scope"))
        scheme_id = scheme_id or file_id
    fields.update({k: v for k, v in options.items() if v is not None})
    if scope or level:
        fields["scope"] = _scope_from_options(scope, level)
    if names_in:
        fields["names"] = _in_languages(names_in, "--name-in")
    if descriptions_in:
        fields["descriptions"] = _in_languages(descriptions_in, "--description-in")
    if not scheme_id:
        raise click.UsageError("give the scheme's ID (an argument, or 'id' in the --from file)")
    missing = [opt for key, opt in REQUIRED_SCHEME_FIELDS.items() if not fields.get(key)]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)} (or give them in a --from file)")
    body = open_body(data)
    with plain_errors():
        version = body.add_scheme(scheme_id, **fields)
    click.echo(
        f"Added scheme {scheme_id} ({fields['code']}, {fields['name']}), version {version}, "
        f"with {len(fields['scope'])} scope items"
    )


@scheme_group.command("version")
@data_option
@click.argument("scheme_id", metavar="ID")
@click.option(
    "--from",
    "from_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the changed fields from a TOML (or .json) file.",
)
@click.option("--name")
@click.option("--description")
@click.option("--standard", "normative_reference")
@click.option("--standard-url", "normative_reference_url")
@click.option("--validity-months", type=click.IntRange(min=1))
@click.option("--max-suspension-days", type=click.IntRange(min=1))
@click.option("--publication", "publication_policy", type=click.Choice(POLICIES))
@click.option("--prerequisites")
@click.option("--process")
@click.option("--appeals")
@click.option("--recertification-rules")
@click.option(
    "--recertification-window-months",
    type=click.IntRange(min=0),
    help="How many months before expiry recertification opens.",
)
@click.option(
    "--add-scope",
    multiple=True,
    metavar="CODE=LABEL",
    help="A scope item this version adds to the catalogue (repeatable); a new code, never a "
    "retired one.",
)
@click.option("--level", multiple=True, metavar="CODE=LEVEL", help="Level of an added item.")
@click.option(
    "--retire-scope",
    multiple=True,
    metavar="CODE",
    help="A scope item this version retires (repeatable): certificates that hold it keep it, "
    "new grants and scope extensions refuse it.",
)
@click.option("--as", "actor", metavar="STAFF", help="Who records it (for the audit log).")
@names_in_options
@click.option(
    "--drop-name-in",
    "drop_names",
    multiple=True,
    metavar="LANG",
    help="Drop the name (and description) in this language from the new version (repeatable).",
)
def scheme_version_command(
    data: Path,
    scheme_id: str,
    from_file: Path | None,
    add_scope: tuple[str, ...],
    level: tuple[str, ...],
    retire_scope: tuple[str, ...],
    actor: str | None,
    names_in: tuple[str, ...],
    descriptions_in: tuple[str, ...],
    drop_names: tuple[str, ...],
    **options: Any,
) -> None:
    """A new version of scheme ID: the latest version with the given changes (the options
    mean what they mean for `scheme add`), and the scope catalogue with items added or
    retired. Certifications keep the version they were granted under until they are
    recertified, and keep the scope items they hold when an item is retired."""
    changes: dict[str, Any] = {}
    added: list[tuple[str, ...]] = []
    retired: list[str] = []
    if from_file is not None:
        changes = _read_description(from_file)
        changes.pop("id", None)
        if "add_scope" in changes:
            added = _scope_from_description(changes.pop("add_scope"))
        if "retire_scope" in changes:
            retired = changes.pop("retire_scope")
            if not isinstance(retired, list) or not all(isinstance(c, str) for c in retired):
                raise click.BadParameter(
                    "'retire_scope' must be a list of codes", param_hint="--from"
                )
        unknown = sorted(set(changes) - set(VERSION_FIELDS))
        if unknown:
            raise click.BadParameter(
                f"fields a version cannot change: {unknown}; it can change "
                f"{', '.join(VERSION_FIELDS)}, add_scope and retire_scope",
                param_hint="--from",
            )
    changes.update({k: v for k, v in options.items() if v is not None})
    if add_scope or level:
        added = _scope_from_options(add_scope, level, option="--add-scope")
    retired = [*retired, *retire_scope]
    if names_in or drop_names:
        names: dict[str, str | None] = dict(changes.get("names") or {})
        names.update({lang.strip().lower(): None for lang in drop_names})
        names.update(_in_languages(names_in, "--name-in"))
        changes["names"] = names
    if descriptions_in:
        descriptions = dict(changes.get("descriptions") or {})
        changes["descriptions"] = descriptions | _in_languages(descriptions_in, "--description-in")
    if not changes and not added and not retired:
        raise click.UsageError(
            "nothing to change: give at least one field, --add-scope or --retire-scope"
        )
    body = open_body(data)
    actor_id = _staff_id(body, actor) if actor else None
    with plain_errors():
        version = body.add_scheme_version(
            scheme_id,
            actor=actor_id,
            add_scope=added,  # type: ignore[arg-type]  # tuples of 2 or 3, as add_scheme takes
            retire_scope=retired,
            **changes,
        )
    said = [", ".join(sorted(changes))] if changes else []
    if added:
        said.append("added " + ", ".join(item[0] for item in added))
    if retired:
        said.append("retired " + ", ".join(retired))
    click.echo(f"Scheme {scheme_id} is now at version {version} ({'; '.join(said)})")


def _schemes(db: Database) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT s.id, s.code, s.accredited, v.version, v.name, v.validity_months, "
            "v.max_suspension_days, v.publication_policy, "
            "(SELECT COUNT(*) FROM scope_items i WHERE i.scheme_id = s.id AND NOT i.retired) "
            "AS scope_items, "
            "(SELECT COUNT(*) FROM certifications c WHERE c.scheme_id = s.id "
            "AND c.status IN ('ACTIVE', 'SUSPENDED')) AS in_force "
            "FROM schemes s JOIN scheme_versions v ON v.scheme_id = s.id "
            "AND v.version = (SELECT MAX(version) FROM scheme_versions WHERE scheme_id = s.id) "
            "ORDER BY s.id"
        )
    )


@scheme_group.command("list")
@data_option
@json_option
def scheme_list_command(data: Path, as_json: bool) -> None:
    """List the schemes, each at its latest version."""
    rows = _schemes(open_body(data).db)
    for row in rows:
        row["accredited"] = bool(row["accredited"])
    if as_json:
        echo_json(rows)
        return
    echo_table(
        rows,
        [
            ("id", "ID"),
            ("code", "CODE"),
            ("version", "VERSION"),
            ("name", "NAME"),
            ("validity_months", "MONTHS"),
            ("publication_policy", "PUBLICATION"),
            ("scope_items", "SCOPE ITEMS"),
            ("in_force", "IN FORCE"),
        ],
    )


@scheme_group.command("show")
@data_option
@click.argument("scheme_id", metavar="ID")
@click.option("--version", "version", type=int, help="Show this version (default: the latest).")
@json_option
def scheme_show_command(data: Path, scheme_id: str, version: int | None, as_json: bool) -> None:
    """Show a scheme: its description, rules, scope catalogue and versions."""
    body = open_body(data)
    with plain_errors():
        row = body._scheme_version(scheme_id, version)
    scope = list(
        body.db.query(
            "SELECT code, label, level, retired, added_in_version, retired_in_version "
            "FROM scope_items WHERE scheme_id = ? ORDER BY code",
            [scheme_id],
        )
    )
    if version is not None:  # the catalogue as it stood in that version
        in_force = {i["code"] for i in body.scope_catalogue(scheme_id, version)}
        scope = [i | {"retired": 0} for i in scope if i["code"] in in_force]
    versions = list(
        body.db.query(
            "SELECT version, effective_from, created_at FROM scheme_versions "
            "WHERE scheme_id = ? ORDER BY version",
            [scheme_id],
        )
    )
    names = body.scheme_names(scheme_id, row["version"])
    if as_json:
        echo_json(row | {"scope": scope, "versions": versions, "names": names})
        return
    click.echo(f"{row['name']} ({row['scheme_id']}, code {row['code']}), version {row['version']}")
    echo_fields(
        [
            (
                "Standard",
                " ".join(
                    filter(None, [row["normative_reference"], row["normative_reference_url"]])
                ),
            ),
            ("Validity", f"{row['validity_months']} months"),
            (
                "Recertification",
                f"opens {row['recertification_window_months']} months before expiry",
            ),
            ("Max suspension", f"{row['max_suspension_days']} days"),
            ("Publication", row["publication_policy"]),
            ("Effective from", row["effective_from"]),
            ("Description", row["description"]),
            ("Prerequisites", row["prerequisites"]),
            ("Process", row["process"]),
            ("Appeals", row["appeals"]),
            ("Recert. rules", row["recertification_rules"]),
            ("Other names", "; ".join(f"{lang}: {n['name']}" for lang, n in names.items())),
        ],
        indent="  ",
    )
    click.echo(
        "  Scope catalogue:" if version is None else f"  Scope catalogue in version {version}:"
    )
    for item in scope:
        extra = f" (level {item['level']})" if item["level"] else ""
        since = f" [added in version {n}]" if (n := item["added_in_version"]) > 1 else ""
        retired = f" [retired in version {item['retired_in_version']}]" if item["retired"] else ""
        click.echo(f"    {item['code']}  {item['label']}{extra}{since}{retired}")
    click.echo(
        "  Versions: " + ", ".join(f"{v['version']} ({v['effective_from']})" for v in versions)
    )


# -- persons and staff --------------------------------------------------------------------------


@click.group("person")
def person_group() -> None:
    """Candidates and certificate holders (private data: stays in issuer.db)."""


@person_group.command("add")
@data_option
@click.argument("full_name", metavar="NAME")
@click.option("--email")
@click.option("--birth-date", metavar="YYYY-MM-DD")
@click.option("--address")
@click.option("--national-id", metavar="TEXT")
@click.option("--country", metavar="CC")
@click.option(
    "--consent-publish/--no-consent-publish",
    default=False,
    show_default=True,
    help="The person agreed to be listed by name in the public register.",
)
@click.option("--external-id", metavar="TEXT", help="Your own reference (e.g. from a CRM).")
@click.option("--notes", help="Internal notes (never published).")
@click.option(
    "--language",
    type=click.Choice(LANGUAGES, case_sensitive=False),
    help="The language of the mails to this person (default: the body's, see "
    "`certreg mail language`).",
)
@json_option
def person_add_command(data: Path, full_name: str, as_json: bool, **fields: Any) -> None:
    """Add a person (candidate) named NAME; prints the person's id."""
    body = open_body(data)
    with plain_errors():
        person_id = body.add_person(full_name, **fields)
    if as_json:
        echo_json({"id": person_id, "full_name": full_name.strip()})
        return
    click.echo(f"Added {full_name.strip()}: person id {person_id}")


@person_group.command("consent")
@data_option
@click.argument("person", metavar="PERSON")
@click.option(
    "--publish/--withdraw",
    required=True,
    help="The holder agrees to be listed by name in the public register (--publish), or no "
    "longer does (--withdraw).",
)
def person_consent_command(data: Path, person: str, publish: bool) -> None:
    """Record PERSON's consent to be listed by name (directory schemes); the register follows
    at once, and a withdrawn consent removes the name from it."""
    body = open_body(data)
    with plain_errors():
        person_id = _person_id(body, person)
        body.set_publication_consent(person_id, publish)
    state = "listed by name" if publish else "no longer listed by name"
    click.echo(f"Recorded: person {person_id} is {state} in the public register.")


@person_group.command("language")
@data_option
@click.argument("person", metavar="PERSON")
@click.argument(
    "language", metavar="LANGUAGE", type=click.Choice([*LANGUAGES, "default"], case_sensitive=False)
)
def person_language_command(data: Path, person: str, language: str) -> None:
    """Write PERSON's mails in LANGUAGE from now on (en, de, fr, es), or in the body's default
    language (``default``). Mails already queued keep theirs."""
    body = open_body(data)
    chosen = None if language.lower() == "default" else language.lower()
    with plain_errors():
        person_id = _person_id(body, person)
        body.set_language(person_id, chosen)
    words = chosen or "the body's default language"
    click.echo(f"Recorded: mails to person {person_id} are written in {words}.")


@person_group.command("list")
@data_option
@click.option("--search", metavar="TEXT", help="Only names (or external ids) containing TEXT.")
@json_option
def person_list_command(data: Path, search: str | None, as_json: bool) -> None:
    """List persons with their certifications in force (no private data)."""
    body = open_body(data)
    sql = (
        "SELECT p.id, p.full_name, p.external_id, "
        "(SELECT group_concat(number, ' ') FROM certifications c WHERE c.person_id = p.id "
        "AND c.status IN ('ACTIVE', 'SUSPENDED')) AS certifications FROM persons p"
    )
    params: list[Any] = []
    if search:
        sql += " WHERE p.full_name LIKE ? OR p.external_id LIKE ?"
        params = [f"%{search}%"] * 2
    rows = list(body.db.query(sql + " ORDER BY p.full_name, p.id", params))
    if as_json:
        echo_json(rows)
        return
    echo_table(
        rows,
        [
            ("id", "ID"),
            ("full_name", "NAME"),
            ("external_id", "EXTERNAL ID"),
            ("certifications", "IN FORCE"),
        ],
    )


@person_group.command("show")
@data_option
@click.argument("person", metavar="PERSON")
@click.option(
    "--private",
    is_flag=True,
    help="Also show private data (e-mail, birth date, address, national id, notes, scores). "
    "The access is recorded in the audit log.",
)
@click.option("--as", "actor", metavar="STAFF", help="Who is looking (recorded with --private).")
@json_option
def person_show_command(
    data: Path, person: str, private: bool, actor: str | None, as_json: bool
) -> None:
    """Show a person: name, assessments and certifications; private data only with --private."""
    body = open_body(data)
    person_id = _person_id(body, person)
    actor_id = _staff_id(body, actor) if actor else None
    with plain_errors():
        row = body._person(person_id)
    public = {k: row[k] for k in ("id", "full_name", "external_id", "created_at")}
    public["consent_publish"] = bool(row["consent_publish"])
    assessment_cols = "id, scheme_id, kind, result, assessed_on, scope_codes"
    if private:
        assessment_cols += ", score, notes"
    assessments = list(
        body.db.query(
            f"SELECT {assessment_cols} FROM assessments WHERE person_id = ? ORDER BY assessed_on",
            [person_id],
        )
    )
    certifications = list(
        body.db.query(
            "SELECT number, scheme_id, status, valid_from, valid_until FROM certifications "
            "WHERE person_id = ? ORDER BY valid_from",
            [person_id],
        )
    )
    secret = {}
    if private:
        secret = {
            k: row[k] for k in ("email", "birth_date", "address", "national_id", "country", "notes")
        }
        audit.append(
            body.db,
            "private_data_read",
            actor=actor_id,
            subject=person_id,
            payload={"via": "certreg person show --private"},
            at=body._now(),
        )
    if as_json:
        echo_json(public | secret | {"assessments": assessments, "certifications": certifications})
        return
    click.echo(f"{row['full_name']} (person {row['id']})")
    echo_fields(
        [
            ("External id", row["external_id"]),
            ("Listed by name", "yes (consent given)" if row["consent_publish"] else "no"),
            ("Added", row["created_at"]),
            *((label.replace("_", " ").capitalize(), value) for label, value in secret.items()),
        ],
        indent="  ",
    )
    if not private:
        click.echo("  (private data hidden: --private shows it and records that you looked)")
    click.echo("  Assessments:")
    for a in assessments:
        scope = f" [{a['scope_codes'].replace(',', ', ')}]" if a["scope_codes"] else ""
        score = f" score {a['score']}" if private and a.get("score") is not None else ""
        click.echo(
            f"    {a['assessed_on']}  {a['scheme_id']}  {a['kind']}: {a['result']}{scope}{score}"
        )
    if not assessments:
        click.echo("    (none)")
    click.echo("  Certifications:")
    for c in certifications:
        click.echo(
            f"    {c['number']}  {c['scheme_id']}  {c['status']}  "
            f"{c['valid_from']} to {c['valid_until']}"
        )
    if not certifications:
        click.echo("    (none)")


@click.group("staff")
def staff_group() -> None:
    """Staff: officers, decision-makers, admins; their roles, deactivation and four eyes.

    You act here as the operator (the audit log records no staff member). Under four eyes
    (the default, while the body has two or more active admins) giving decision_maker or admin,
    or re-activating someone who holds one, waits until an admin approves it over the API
    (POST /api/role-requests/{id}/approve)."""


def _echo_pending(requests: Sequence[staff.RoleRequest]) -> None:
    for req in requests:
        what = f"the role {req.role}" if req.action == "grant" else "re-activation"
        click.echo(
            f"Waiting for an admin's approval (four eyes): {what}, request {req.id} "
            f"(POST /api/role-requests/{req.id}/approve)"
        )


@staff_group.command("add")
@data_option
@click.argument("name", metavar="NAME")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(ROLES),
    help="A role (repeatable): officer prepares, decision_maker decides, admin manages.",
)
@click.option("--email", help="Their e-mail: they sign in to the console with it (or their name).")
@click.option(
    "--console",
    "console_link",
    is_flag=True,
    help="Also print a one-time link with which they enrol in the staff console "
    "(their own password and authenticator; valid 72 hours).",
)
@click.option(
    "--console-url",
    metavar="URL",
    help="The address the console is served at, for the link (default: the body's public URL).",
)
@json_option
def staff_add_command(
    data: Path,
    name: str,
    roles: tuple[str, ...],
    email: str | None,
    console_link: bool,
    console_url: str | None,
    as_json: bool,
) -> None:
    """Add a staff member named NAME; prints the staff id (used with --as, --examiner...)."""
    body = open_body(data)
    with plain_errors():
        staff_id, pending = staff.add_staff(body, name, roles=roles, email=email)
        info = staff.staff_info(body, staff_id)
        enrolment = (
            console_accounts.create_enrolment(body, staff_id, actor=None) if console_link else None
        )
    link = enrolment.link(console_url or body.info["public_url"]) if enrolment else None
    if as_json:
        echo_json(info.to_json() | ({"console_enrolment_link": link} if link else {}))
        return
    click.echo(f"Added {name} ({', '.join(info.roles) or 'no role yet'}): staff id {staff_id}")
    _echo_pending(pending)
    if enrolment and link:
        _echo_link(name, link, enrolment.expires_at)


def _echo_link(name: str, link: str, expires: str) -> None:
    click.echo(
        f"Console enrolment link for {name} (one use, until {expires}; give it to them "
        "alone: they choose their own password and authenticator):"
    )
    click.echo(f"  {link}")


@staff_group.command("console-link")
@data_option
@click.argument("who", metavar="STAFF")
@click.option(
    "--console-url",
    metavar="URL",
    help="The address the console is served at, for the link (default: the body's public URL).",
)
def staff_console_link_command(data: Path, who: str, console_url: str | None) -> None:
    """A new one-time console enrolment link for STAFF. Their password, authenticator and
    recovery codes, if any, stop working now and their console sessions end: the way back
    for someone who lost their authenticator, or the first admin's link again."""
    body = open_body(data)
    with plain_errors():
        staff_id = _staff_id(body, who)
        enrolment = console_accounts.reset_sign_in(body, staff_id, actor=None)
    _echo_link(enrolment.staff_name, enrolment.link(console_url or body.info["public_url"]),
               enrolment.expires_at)  # fmt: skip


@staff_group.command("console-timeouts")
@data_option
@click.option(
    "--idle", type=click.IntRange(1, 24 * 60), metavar="MINUTES", help="Idle timeout (30)."
)
@click.option(
    "--absolute",
    type=click.IntRange(1, 31 * 24),
    metavar="HOURS",
    help="Longest a session lasts after sign-in, however busy (12).",
)
def staff_console_timeouts_command(data: Path, idle: int | None, absolute: int | None) -> None:
    """Show, or change, when console sessions lapse: after --idle minutes without a request,
    and --absolute hours after sign-in. Applies to every session from its next request."""
    body = open_body(data)
    now_idle, now_absolute = console_sessions.set_timeouts(
        body,
        idle=timedelta(minutes=idle) if idle else None,
        absolute=timedelta(hours=absolute) if absolute else None,
    )
    click.echo(
        f"Console sessions lapse after {now_idle.total_seconds() / 60:g} minutes idle, and "
        f"{now_absolute.total_seconds() / 3600:g} hours after sign-in."
    )


@staff_group.command("list")
@data_option
@json_option
def staff_list_command(data: Path, as_json: bool) -> None:
    """List the staff, their roles and what waits for approval."""
    body = open_body(data)
    rows = sorted((i.to_json() for i in staff.list_staff(body)), key=lambda r: (r["name"], r["id"]))
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        row["waiting"] = [p["role"] or "re-activation" for p in row["pending"]]
    echo_table(
        rows,
        [
            ("id", "ID"),
            ("name", "NAME"),
            ("email", "E-MAIL"),
            ("roles", "ROLES"),
            ("active", "ACTIVE"),
            ("waiting", "AWAITING APPROVAL"),
        ],
    )


@staff_group.command("deactivate")
@data_option
@click.argument("who", metavar="STAFF")
@click.option("--reason", default="", help="Why (recorded in the audit log).")
def staff_deactivate_command(data: Path, who: str, reason: str) -> None:
    """Deactivate STAFF at once: every token of theirs is refused from the next request,
    decisions in their name (--as) are refused, their pending requests lapse."""
    body = open_body(data)
    with plain_errors():
        staff_id = _staff_id(body, who)
        staff.deactivate(body, staff_id, reason=reason)
    click.echo(f"Deactivated {_staff_name(body, staff_id)}: their tokens are refused from now on.")


@staff_group.command("reactivate")
@data_option
@click.argument("who", metavar="STAFF")
def staff_reactivate_command(data: Path, who: str) -> None:
    """Re-activate STAFF (waits for an admin's approval if they hold decision_maker or admin
    and four eyes applies)."""
    body = open_body(data)
    with plain_errors():
        staff_id = _staff_id(body, who)
        req = staff.reactivate(body, staff_id)
    if req is None:
        click.echo(f"Re-activated {_staff_name(body, staff_id)}.")
    else:
        _echo_pending([req])


@staff_group.group("role")
def staff_role_group() -> None:
    """Give or take away a role."""


@staff_role_group.command("add")
@data_option
@click.argument("who", metavar="STAFF")
@click.argument("role", type=click.Choice(ROLES))
def staff_role_add_command(data: Path, who: str, role: str) -> None:
    """Give STAFF the ROLE (decision_maker and admin wait for an admin's approval under four
    eyes)."""
    body = open_body(data)
    with plain_errors():
        staff_id = _staff_id(body, who)
        req = staff.grant_role(body, staff_id, role)
    if req is None:
        click.echo(f"{_staff_name(body, staff_id)} now holds the role {role}.")
    else:
        _echo_pending([req])


@staff_role_group.command("remove")
@data_option
@click.argument("who", metavar="STAFF")
@click.argument("role", type=click.Choice(ROLES))
def staff_role_remove_command(data: Path, who: str, role: str) -> None:
    """Take ROLE from STAFF at once, and so from every token they hold."""
    body = open_body(data)
    with plain_errors():
        staff_id = _staff_id(body, who)
        staff.remove_role(body, staff_id, role)
    click.echo(f"{_staff_name(body, staff_id)} no longer holds the role {role}.")


@staff_group.command("requests")
@data_option
@click.option(
    "--state",
    type=click.Choice(["pending", "approved", "rejected", "cancelled", "all"]),
    default="pending",
    show_default=True,
)
@json_option
def staff_requests_command(data: Path, state: str, as_json: bool) -> None:
    """Role and re-activation requests (four eyes)."""
    body = open_body(data)
    rows = [r.to_json() for r in staff.list_requests(body, None if state == "all" else state)]
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        row["who"] = _staff_name(body, row["staff_id"])
        row["by"] = (
            _staff_name(body, row["requested_by"]) if row["requested_by"] else "operator (CLI)"
        )
    echo_table(
        rows,
        [
            ("id", "ID"),
            ("who", "STAFF"),
            ("action", "ACTION"),
            ("role", "ROLE"),
            ("by", "REQUESTED BY"),
            ("requested_at", "AT"),
            ("state", "STATE"),
        ],
    )


@staff_group.command("approve")
@data_option
@click.argument("request_id", metavar="REQUEST")
def staff_approve_command(data: Path, request_id: str) -> None:
    """Approve, as the operator, a role or re-activation request an admin made (e.g. when no
    other admin can: with two admins, one asking to promote the other). A request made here
    at the command line is approved by an admin over the API."""
    body = open_body(data)
    with plain_errors():
        req = staff.approve_request(body, request_id, actor=None)
    click.echo(f"Approved request {req.id} for {_staff_name(body, req.staff_id)}.")


@staff_group.command("reject")
@data_option
@click.argument("request_id", metavar="REQUEST")
def staff_reject_command(data: Path, request_id: str) -> None:
    """Reject a pending role or re-activation request. (Approving needs an admin other than
    the requester, signed in: POST /api/role-requests/{id}/approve.)"""
    body = open_body(data)
    with plain_errors():
        staff.reject_request(body, request_id, actor=None)
    click.echo(f"Rejected request {request_id}.")


@staff_group.command("four-eyes")
@data_option
@click.argument("setting", type=click.Choice(["on", "off"]), required=False)
def staff_four_eyes_command(data: Path, setting: str | None) -> None:
    """Show, or turn on or off, the four-eyes rule for decision_maker and admin grants.
    Only here, never over the API: an admin who could turn it off would need no second
    admin."""
    body = open_body(data)
    if setting is not None:
        with plain_errors():
            staff.set_four_eyes(body, setting == "on")
    admins = len(staff.active_admins(body))
    state = "on" if staff.four_eyes_enabled(body) else "off"
    applies = "applies" if staff.four_eyes_applies(body) else "does not apply"
    click.echo(f"Four eyes is {state}; with {admins} active admin(s) it {applies} now.")


# -- assessments and training -------------------------------------------------------------------


@click.command("assess")
@data_option
@click.argument("person", metavar="PERSON")
@click.argument("scheme_id", metavar="SCHEME")
@click.option(
    "--result", required=True, type=click.Choice(["pass", "fail", "absent"]), help="The outcome."
)
@click.option(
    "--on", "assessed_on", metavar="YYYY-MM-DD", help="Date of the assessment (default: today)."
)
@click.option(
    "--examiner", "examiners", multiple=True, metavar="STAFF", help="Examiner (repeatable)."
)
@click.option(
    "--trainer",
    "trainers",
    multiple=True,
    metavar="STAFF",
    help="Someone who trained the candidate (repeatable).",
)
@click.option(
    "--scope",
    "scope_codes",
    multiple=True,
    metavar="CODE",
    help="Scope item assessed (repeatable).",
)
@click.option("--score", type=float, help="Score (private).")
@click.option("--kind", default="examination", show_default=True, help="Kind of assessment.")
@click.option("--notes", help="Internal notes (private).")
@click.option("--as", "actor", metavar="STAFF", help="Who records it (for the audit log).")
def assess_command(
    data: Path,
    person: str,
    scheme_id: str,
    result: str,
    assessed_on: str | None,
    examiners: tuple[str, ...],
    trainers: tuple[str, ...],
    scope_codes: tuple[str, ...],
    score: float | None,
    kind: str,
    notes: str | None,
    actor: str | None,
) -> None:
    """Record an assessment of PERSON in SCHEME. Its examiners and trainers can never decide
    this person's certification (ISO/IEC 17024 9.4)."""
    body = open_body(data)
    person_id = _person_id(body, person)
    with plain_errors():
        assessment_id = body.record_assessment(
            person_id,
            scheme_id,
            result=result,
            assessed_on=assessed_on or body._today().isoformat(),
            examiners=[_staff_id(body, s) for s in examiners],
            trainers=[_staff_id(body, s) for s in trainers],
            scope_codes=list(scope_codes),
            kind=kind,
            score=score,
            notes=notes,
            actor=_staff_id(body, actor) if actor else None,
        )
    scope = f" for {', '.join(scope_codes)}" if scope_codes else ""
    click.echo(f"Recorded {kind} in {scheme_id}{scope}: {result} (assessment {assessment_id})")


@click.command("train")
@data_option
@click.argument("person", metavar="PERSON")
@click.option("--trainer", required=True, metavar="STAFF", help="The staff member who trained.")
@click.option("--as", "actor", metavar="STAFF", help="Who records it (for the audit log).")
def train_command(data: Path, person: str, trainer: str, actor: str | None) -> None:
    """Record that a staff member trained PERSON: that staff member can then never decide
    this person's certification (ISO/IEC 17024 9.4)."""
    body = open_body(data)
    person_id = _person_id(body, person)
    trainer_id = _staff_id(body, trainer)
    with plain_errors():
        body.record_training(person_id, trainer_id, actor=_staff_id(body, actor) if actor else None)
    click.echo(
        f"Recorded: {_staff_name(body, trainer_id)} trained this person "
        "and may not decide their certification"
    )


# -- decisions --------------------------------------------------------------------------------
# Generated from the table of decisions (issuer.lifecycle.table), as the admin API's routes are:
# the options are its inputs, in its order, and the sentence each prints is the table's too.


@click.group("decide")
def decide_group() -> None:
    """Certification decisions (ISO/IEC 17024 clause 9). Each is signed, recorded for good
    and published through the status lists; each needs --as DECISION_MAKER."""


def _option(item: table.Input) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    multiple = item.shape != "text"
    kwargs: dict[str, Any] = {"help": item.help, "metavar": item.metavar}
    if item.required:
        kwargs["required"] = True
    if item.default is not None:
        kwargs["default"] = item.default
    if multiple:
        kwargs["multiple"] = True
    # The parameter's name is the service's keyword (e.g. --effective gives effective_date).
    return click.option(item.option, item.name, **kwargs)


def _cli_inputs(spec: table.DecisionSpec, params: dict[str, Any]) -> dict[str, Any]:
    """The command line's values, read into what the service takes (before anything opens)."""
    inputs: dict[str, Any] = {}
    for item in spec.inputs:
        value = params[item.name]
        if item.shape == "scope":
            value = [_scope_grant(s, item.option) for s in value]
        elif item.shape == "codes":
            value = list(value)
        elif item.shape == "conditions":
            changed: dict[str, str | None] = {}
            for text in value:
                code, text_value = _key_value(text, item.option)
                changed[code] = text_value or None
            value = changed or None
        inputs[item.name] = value
    if spec.name == "correct" and inputs["holder_name"] is None and not inputs["conditions"]:
        raise click.UsageError("give --holder-name or --conditions: what is to be corrected?")
    return inputs


def _decision_command(spec: table.DecisionSpec) -> click.Command:
    subject_args = (
        [click.argument("number", metavar="NUMBER")]
        if spec.on_number
        else [
            click.argument("person", metavar="PERSON"),
            click.argument("scheme_id", metavar="SCHEME"),
        ]
    )
    decorators: list[Callable[[Any], Any]] = [
        data_option,
        *subject_args,
        *(_option(i) for i in spec.inputs),
        passphrase_file_option,
        json_option,
    ]

    def command(data: Path, passphrase_file: Path | None, as_json: bool, **params: Any) -> None:
        inputs = _cli_inputs(spec, params)
        body = open_body(data, passphrase_file, sign="lazy")
        if spec.on_number:
            subject = {"number": params["number"]}
        else:
            subject = {
                "person_id": _person_id(body, params["person"]),
                "scheme_id": params["scheme_id"],
            }
        decided_by = _staff_id(body, inputs["decided_by"])
        with plain_errors():
            unlock(body)
            cert = table.decide(body, spec, subject, decided_by, inputs)
        _outcome(body, cert, table.done_sentence(spec, cert, inputs), as_json)

    command.__doc__ = spec.help
    command.__name__ = f"{spec.name}_command"
    for decorator in reversed(decorators):
        command = decorator(command)
    return decide_group.command(spec.command)(command)


for _spec in table.DECISIONS:
    _decision_command(_spec)


# -- reading, due, expiry -----------------------------------------------------------------------


@click.command("show")
@data_option
@click.argument("number", metavar="NUMBER")
@click.option("--credential", is_flag=True, help="Print only the current signed credential (JSON).")
@json_option
def cert_command(data: Path, number: str, credential: bool, as_json: bool) -> None:
    """Show certification NUMBER: status, scope, dates, its decisions and credentials."""
    body = open_body(data)
    with plain_errors():
        cert = body.certification(number)
        history = body.history(number)
        credentials = body.credentials(number)
    if credential:
        if cert.credential is None:
            raise click.ClickException(f"certification {cert.number} has no credential")
        echo_json(cert.credential)
        return
    decisions = [asdict(d) | {"decided_by_name": _staff_name(body, d.decided_by)} for d in history]
    if as_json:
        echo_json(_cert_json(body, cert) | {"history": decisions, "credentials": credentials})
        return
    click.echo(f"Certificate {cert.number}: {cert.status}")
    _echo_certification(body, cert)
    click.echo("  History:")
    for d in decisions:
        words = f"    {d['decided_at']}  {d['type']:<12} by {d['decided_by_name']}"
        words += f", effective {d['effective_date']}"
        click.echo(words)
        for label in ("reason", "evidence"):
            if d[label]:
                click.echo(f"      {label}: {d[label]}")
        if d["appeal_of"]:
            click.echo(f"      on appeal of decision {d['appeal_of']}")
        click.echo(f"      decision {d['id']}")
    click.echo("  Credentials:")
    for c in credentials:
        click.echo(
            f"    revision {c['revision']}  {c['state']:<10}  {c['cryptosuite']}  "
            f"issued {c['issued_at']}  {c['id']}"
        )


@click.command("due")
@data_option
@json_option
def due_command(data: Path, as_json: bool) -> None:
    """List the decisions due: suspensions past their deadline (reinstate or withdraw: a
    person decides, never the software) and certifications expiring within 60 days."""
    body = open_body(data)
    with plain_errors():
        rows = body.due()
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("Nothing is due.")
        return
    echo_table(rows, [("number", "CERTIFICATE"), ("since", "DATE"), ("due", "DUE")])


@click.command("expire-due")
@data_option
@passphrase_file_option
@json_option
def expire_due_command(data: Path, passphrase_file: Path | None, as_json: bool) -> None:
    """Expire every certification past its last valid day: the one automatic transition.
    Safe to run daily (e.g. from cron); running it twice expires nothing twice."""
    body = open_body(data, passphrase_file, sign="lazy")
    with plain_errors():
        expired = body.expire_due()
    if as_json:
        echo_json(expired)
        return
    if not expired:
        click.echo("No certification has reached its expiry.")
        return
    click.echo(f"Expired {len(expired)} certification{'s' if len(expired) != 1 else ''}:")
    for number in expired:
        click.echo(f"  {number}")

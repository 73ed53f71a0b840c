"""The public register inside ``certreg serve``: the keyless public site's pages
(:mod:`register.web`: Datasette at ``/register/``, ``/c/{number}`` with its QR codes and PDF,
``/verify``) mounted on the service's one port, and the staff's QR/PDF endpoints
``/api/certifications/{number}/...``, which read issuer.db (the holder's name is printed on a
certificate even where the register may not show it).

The public pages read register.db, as on the keyless site; the service lends them what it knows
better (:func:`install`): the body's row before the first push, its verifier (which also checks
the body's records) and the date each status took effect. The share pages stay the service's
own (``issuer.http.holder``): there they also offer the wallet and "revoke".
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from certreg.issuer.http.auth import ANY_ROLE, require
from certreg.issuer.http.state import AppState, state_of
from certreg.issuer.logo import body_logo
from certreg.issuer.service import Certification, NotFound
from certreg.issuer.tokens import Principal
from certreg.register.records import BodyInfo, CertificateRecord, ScopeLine
from certreg.register.web import app as public_site
from certreg.register.web.certificates import pdf_response, qr_response
from certreg.register.web.language import language_of

__all__ = ["install", "router"]

router = APIRouter(tags=["register"])
Number = Annotated[str, PathParam(min_length=1, max_length=64, description="Certificate number.")]
Anyone = Annotated[Principal, Depends(require(ANY_ROLE))]


def install(app: FastAPI, register_path: str | Path) -> None:
    """Add the public site's pages (over register.db at ``register_path``, created if missing)
    and the staff endpoints to ``app``. With the service's state (``app.state.certreg``) the
    pages get its answers; without it (a bare app, e.g. bench/bench_register.py) they read
    register.db alone."""
    state: AppState | None = getattr(app.state, "certreg", None)
    app.include_router(router)
    if state is None:
        public_site.install(app, register_path)
        return
    public_site.install(
        app,
        register_path,
        share_pages=False,  # issuer.http.holder serves them, with the wallet and "revoke"
        fallback_body=lambda: _body_info(state.body.info),
        verifier_factory=lambda: state.verifier,
        status_of=lambda number: _status_of(state, number),
        unsafe_allow_http_hosts=state.unsafe_allow_http_hosts,
        clock=state.body.clock,  # "?at=" a date after the body's today is in the future
        status_list_ids=lambda: _status_list_ids(state),  # offline.json names them
    )


def _status_list_ids(state: AppState) -> list[str]:
    """The lists ``/status/<id>`` serves: those signed at least once (issuer.http.public)."""
    with state.lock:
        rows = state.body.db.execute(
            "SELECT l.id FROM status_lists l JOIN status_list_versions v "
            "ON v.list_id = l.id AND v.version = l.version ORDER BY l.id"
        ).fetchall()
    return [row[0] for row in rows]


def _status_of(state: AppState, number: str) -> tuple[str, str] | None:
    try:
        with state.lock:
            cert = state.body.certification(number)
    except NotFound:
        return None
    return cert.status, cert.status_since


def _body_info(info: dict[str, Any]) -> BodyInfo:
    return BodyInfo(
        legal_name=info["legal_name"],
        public_url=info["public_url"],
        did=info["did"],
        accreditation_body=info.get("accreditation_body"),
        accreditation_number=info.get("accreditation_number"),
        country=info.get("country"),
    )


# --- staff: QR codes and the PDF from issuer data ------------------------------------------


def _issuer_record(request: Request, number: str) -> tuple[CertificateRecord, BodyInfo]:
    state = state_of(request)
    with state.lock:
        cert: Certification = state.body.certification(number)
        info = state.body.info
        row = state.body.db.execute(
            "SELECT s.code, v.name, v.normative_reference, v.normative_reference_url "
            "FROM schemes s JOIN scheme_versions v ON v.scheme_id = s.id "
            "WHERE s.id = ? AND v.version = ?",
            [cert.scheme_id, cert.scheme_version],
        ).fetchone()
    code, name, reference, reference_url = row
    record = CertificateRecord(
        number=cert.number,
        holder_name=cert.holder_name,
        scheme_id=cert.scheme_id,
        scheme_code=code,
        scheme_name=name,
        status=cert.status,
        status_since=cert.status_since,
        valid_from=cert.valid_from,
        valid_until=cert.valid_until,
        scheme_version=str(cert.scheme_version),
        normative_reference=reference,
        normative_reference_url=reference_url,
        scope=tuple(
            ScopeLine(s["code"], s["label"], s.get("conditions"), s["status"], s.get("since"))
            for s in cert.scope
        ),
        listing="issuer",
        # The staff print is the holder's own certificate: it carries the offline QR whether
        # or not the register lists the holder's name.
        extra={"offline_qr": cert.offline_qr} if cert.offline_qr else {},
    )
    return record, _body_info(info)


_ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No, unknown, revoked or expired token."},
    404: {"description": "No such certification."},
}


@router.get(
    "/api/certifications/{number}/certificate.pdf",
    tags=["admin"],
    summary="The printable certificate (PDF, all ISO/IEC 17024 §9.4.7 contents, QR code)",
    responses={200: {"content": {"application/pdf": {}}}, **_ADMIN_ERRORS},
)
def admin_certificate_pdf(request: Request, number: Number, who: Anyone) -> Response:
    # fpdf2 and fontTools: only when asked
    from certreg.register.pdf import Signatory, certificate_pdf

    record, body = _issuer_record(request, number)
    # The staff copy names who decided the current cycle (a grant or a recertification); the
    # public PDF does not (register.db holds no staff names).
    state = state_of(request)
    with state.lock:
        logo = body_logo(state.body)
        row = state.body.db.execute(
            "SELECT st.name FROM decisions d JOIN certifications c ON c.id = d.certification_id "
            "JOIN staff st ON st.id = d.decided_by WHERE c.number = ? "
            "AND d.type IN ('grant', 'recertify') ORDER BY d.decided_at DESC LIMIT 1",
            [record.number],
        ).fetchone()
    signatory = Signatory(row[0]) if row else None
    # The staff print for a holder, often in the holder's language: ?lang=de (else the staff
    # member's browser's Accept-Language, else English).
    lang = language_of(request)
    data = certificate_pdf(
        record, body, signatory=signatory, lang=lang, logo=logo.data if logo else None
    )
    return pdf_response(data, record.number, lang)


@router.get(
    "/api/certifications/{number}/qr.png",
    tags=["admin"],
    summary="QR code (PNG) of the certificate's page",
    responses={200: {"content": {"image/png": {}}}, **_ADMIN_ERRORS},
)
def admin_qr_png(request: Request, number: Number, who: Anyone) -> Response:
    record, body = _issuer_record(request, number)
    return qr_response(body.certificate_url(record.number), "png")


@router.get(
    "/api/certifications/{number}/qr.svg",
    tags=["admin"],
    summary="QR code (SVG) of the certificate's page",
    responses={200: {"content": {"image/svg+xml": {}}}, **_ADMIN_ERRORS},
)
def admin_qr_svg(request: Request, number: Number, who: Anyone) -> Response:
    record, body = _issuer_record(request, number)
    return qr_response(body.certificate_url(record.number), "svg")

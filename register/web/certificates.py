"""The certificate's public pages and the verify page: ``/c/{number}`` (HTML), its QR codes
(``/c/{number}/qr.png``, ``qr.svg``) and printable PDF (``/c/{number}/certificate.pdf``), and
``/verify`` (GET: the form; POST: a credential pasted, uploaded or given by address).

They read register.db only (public fields by construction): a certificate whose scheme is
``on_request`` is not there, and ``/c/{number}`` answers 404 for it as for an unknown number;
its holder shares it through a share link (:mod:`register.web.share`).

The verify page's HTML form posts ``multipart/form-data`` or ``application/x-www-form-urlencoded``
to ``/verify`` (:data:`FORM_TYPES`): each app's request guard (:class:`register.web.errors
.RequestGuard`) has a rule that lets it through, bounded in size like every body, and refuses it
with an HTML page (:func:`verify_page_refusal`).

Served by the keyless public site (``certreg register serve``) and, the same routes, by
``certreg serve`` (:func:`register.web.app.install`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from certreg.i18n import format_number, translator
from certreg.register.offline import offline_qr_of
from certreg.register.pages import (
    ENGLISH,
    VerifyOutcome,
    outcome_of,
    render_certificate,
    render_certificate_at,
    render_message,
    render_verify,
)
from certreg.register.records import (
    BodyInfo,
    CertificateRecord,
    find_certificate,
    normalise_number,
    read_logo,
)
from certreg.register.web.language import (
    PageLanguage,
    language_links,
    language_of,
    localised,
    page_language,
)
from certreg.register.web.logpolicy import (
    PolicyInputError,
    log_fetcher,
    log_policy,
    parse_witness_lines,
    with_log_policy,
)
from certreg.register.web.offline import router as offline_router
from certreg.register.web.ratelimit import LimitExceeded, guards_of
from certreg.register.web.scan import certificate_prefix
from certreg.register.web.scan import router as scan_router
from certreg.register.web.state import site_of
from certreg.register.web.webapp import VERIFY_PAGE_HEADERS
from certreg.register.web.webapp import router as webapp_router
from certreg.verifier.asof import InstantError, as_of, parse_instant
from certreg.verifier.did import FetchError, HttpFetcher
from certreg.verifier.tlog.policy import LogPolicy
from certreg.verifier.tlog.proof import MAX_PROOF_SIZE
from certreg.verifier.verify import MAX_INPUT_BYTES, InputError, load_document

__all__ = [
    "FORM_TYPES",
    "MAX_FORM_BYTES",
    "pdf_response",
    "qr_response",
    "router",
    "verify_page_refusal",
]

router = APIRouter(tags=["register"])
router.include_router(scan_router)  # the verify page's QR scanner's files (register.web.scan)
router.include_router(offline_router)  # /offline.json, what offline verifiers sync
# its manifest, service worker and icons: the page as an offline app (register.web.webapp)
router.include_router(webapp_router)
#: The longest certificate number there can be (``register.records.find_certificate``).
MAX_NUMBER_LENGTH = 64
Number = Annotated[
    str,
    PathParam(min_length=1, max_length=MAX_NUMBER_LENGTH, description="Certificate number."),
]

#: What the verify page's HTML form posts to ``/verify`` (pasted or uploaded): the request guard
#: lets these through, bounded by :data:`MAX_FORM_BYTES` and refused in HTML
#: (:func:`verify_page_refusal`); ``register/web/app.py`` and ``issuer/http/app.py`` say so in
#: their guard's table.
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
#: A form carrying a credential of the verifier's maximum size, plus its multipart framing.
MAX_FORM_BYTES = MAX_INPUT_BYTES + 64 * 1024
#: The log check's witness keys as typed (logpolicy.MAX_WITNESS_KEYS keys of at most 512).
MAX_WITNESS_TEXT = 16 * 520


def verify_page_refusal(status: int, detail: str) -> HTMLResponse:
    """How the request guard refuses the verify page's form (see :data:`FORM_TYPES`): a page
    a person reads, since it answers a browser's form. The guard refuses before any route runs
    and knows nothing of the reader: the page is in English, with the switch to the verify page
    in the reader's language."""
    _ = translator("pages", "en")
    language = PageLanguage(links=language_links("/verify", [], "en"))
    if status == 413:
        limit = format_number(MAX_INPUT_BYTES, "en")
        lines = [_("A credential is at most %(limit)s bytes.", limit=limit)]
        page = render_message(_("That file is too large"), lines, language=language)
        return localised(HTMLResponse(page, status_code=413), "en")
    page = render_message(_("The form could not be read"), [detail], language=language)
    return localised(HTMLResponse(page, status_code=status), "en")


# --- public: the certificate page ---------------------------------------------------------


def _not_found(
    number: str, body_name: str | None, language: PageLanguage = ENGLISH
) -> HTMLResponse:
    _ = translator("pages", language.lang)
    response = HTMLResponse(
        render_message(
            _("No published certificate has this number"),
            [
                _(
                    "The register does not publish a certificate numbered %(number)s.",
                    number=number,
                ),
                _(
                    "Check the number as printed on the certificate (letters and digits, with its "
                    "dashes). Some certificates are not published in the register at all: their "
                    "holders share them with a personal link, which you can ask them for."
                ),
                _(
                    "A certificate that is not published here is not thereby invalid, and one "
                    "that is published is valid only if its page says VALID."
                ),
            ],
            body_name=body_name,
            language=language,
        ),
        status_code=404,
        headers={"Cache-Control": "no-cache"},
    )
    return localised(response, language.lang)


def _lookup(
    request: Request, number: str, *, sealed: bool = True
) -> tuple[CertificateRecord | None, BodyInfo | None]:
    """The record of ``number`` and the body. A number that is not in the directory is looked
    for among the sealed records (``sealed``), which costs an Argon2id run: that work is
    rate-limited per client, and async routes must not do it on the event loop."""
    site = site_of(request)
    record, body = site.lookup(number)
    if record is None and sealed:
        guards_of(request).admit_sealed_lookup(request)
        with site.connect() as conn:
            record = find_certificate(conn, number)
    return record, body


def _body_info(request: Request, body: BodyInfo | None) -> BodyInfo:
    if body is not None:
        return body
    # A register not pushed to yet: the host's own row (certreg serve), if it lent one.
    site = site_of(request)
    fallback = site.fallback_body() if site.fallback_body is not None else None
    if fallback is None:
        raise LookupError(f"{site.register_path} names no certification body")
    return fallback


def _canonical(number: str, suffix: str = "", query: str = "") -> RedirectResponse | None:
    """A redirect to the canonical address of ``number``, keeping ``query`` (a ``?lang=``)."""
    canonical = normalise_number(number)
    if canonical != number and canonical:
        target = f"/c/{quote(canonical, safe='')}{suffix}" + (f"?{query}" if query else "")
        return RedirectResponse(target, 301)
    return None


# async: the page is a few indexed SQLite reads (~0.1 ms); run on the event loop, it is cheaper
# than the hop to the thread pool a sync route takes (measured: 2.4 -> 1.6 ms a page). A plain
# Starlette route, not a FastAPI one: the page is out of the API's schema and its one parameter
# is checked here; FastAPI's dependency and parameter machinery was a tenth of the page's cost.
async def certificate_page(request: Request) -> Response:
    number: str = request.path_params["number"]
    if len(number) > MAX_NUMBER_LENGTH:  # find_certificate's bound: no such certificate
        # Not echoed whole, not even in the language switch's links.
        bounded = number[:MAX_NUMBER_LENGTH]
        language = page_language(request, path=f"/c/{bounded}")
        return _not_found(bounded + "…", _body_name(request), language)
    at = request.query_params.get("at")
    # ?at= is kept by the language switch (bounded: a page echoes only what it reads).
    language = page_language(request, params=[("at", at[:40])] if at is not None else [])
    redirect = _canonical(number, query=request.url.query)
    if redirect is not None:
        return redirect
    record, body = _lookup(request, number, sealed=False)
    if record is None:  # perhaps sealed: that costs an Argon2id run, off the event loop
        record, body = await run_in_threadpool(_lookup, request, number)
    if record is None:
        return _not_found(number, body.legal_name if body else None, language)
    info = _body_info(request, body)
    if at is not None:
        return _certificate_at(record, info, at, language, site_of(request).clock())
    response = HTMLResponse(
        render_certificate(record, info, language=language),
        headers={"Cache-Control": "no-cache"},
    )
    return localised(response, language.lang)


def _certificate_at(
    record: CertificateRecord, body: BodyInfo, at: str, language: PageLanguage, now: datetime
) -> Response:
    """``/c/{number}?at=…``: the certificate as it stood then (``verifier.asof``); a date that
    cannot be read is refused with 400 and the reason."""
    _ = translator("pages", language.lang)
    try:
        instant = parse_instant(at)
    except InstantError as exc:
        page = render_message(
            _("That date could not be read"),
            [str(exc), _("Example: ?at=2026-03-12 or ?at=2026-03-12T14:30 (UTC).")],
            body_name=body.legal_name,
            language=language,
        )
        return localised(HTMLResponse(page, status_code=400), language.lang)
    page = render_certificate_at(record, body, as_of(record, instant, now), language=language)
    return localised(HTMLResponse(page, headers={"Cache-Control": "no-cache"}), language.lang)


router.add_route("/c/{number}", certificate_page, methods=["GET"], include_in_schema=False)


def qr_response(url: str, kind: str) -> Response:
    # Imported when a QR code is asked for: qrcode and Pillow are memory a server that only
    # shows pages never needs (the same for the PDF's fpdf2 and fontTools, 30 MiB).
    from certreg.register.qr import qr_png, qr_svg

    if kind == "png":
        return Response(qr_png(url), media_type="image/png", headers=_QR_CACHE)
    return Response(qr_svg(url), media_type="image/svg+xml", headers=_QR_CACHE)


# The QR code depends only on the number and the body's address: cache it for a day.
_QR_CACHE = {"Cache-Control": "public, max-age=86400"}


@router.get(
    "/c/{number}/qr.png",
    summary="QR code (PNG) of a published certificate's page",
    responses={200: {"content": {"image/png": {}}}, 404: {"description": "Not published."}},
)
def certificate_qr_png(request: Request, number: Number) -> Response:
    return _public_qr(request, number, "png")


@router.get(
    "/c/{number}/qr.svg",
    summary="QR code (SVG) of a published certificate's page",
    responses={200: {"content": {"image/svg+xml": {}}}, 404: {"description": "Not published."}},
)
def certificate_qr_svg(request: Request, number: Number) -> Response:
    return _public_qr(request, number, "svg")


def _public_qr(request: Request, number: Number, kind: str) -> Response:
    redirect = _canonical(number, f"/qr.{kind}")
    if redirect is not None:
        return redirect
    record, body = _lookup(request, number)
    if record is None:
        return _not_found(number, body.legal_name if body else None, page_language(request))
    return qr_response(_body_info(request, body).certificate_url(record.number), kind)


@router.get(
    "/c/{number}/offline-qr.png",
    summary="The offline QR code (PNG) of a published certificate whose holder is named",
    description="The certificate's signed compact payload (CR1), checked with no network "
    "against the keys and status lists of /offline.json.",
    responses={200: {"content": {"image/png": {}}}, 404: {"description": "None here."}},
)
def certificate_offline_qr_png(request: Request, number: Number) -> Response:
    return _offline_qr(request, number, "png")


@router.get(
    "/c/{number}/offline-qr.svg",
    summary="The offline QR code (SVG) of a published certificate whose holder is named",
    responses={200: {"content": {"image/svg+xml": {}}}, 404: {"description": "None here."}},
)
def certificate_offline_qr_svg(request: Request, number: Number) -> Response:
    return _offline_qr(request, number, "svg")


def _offline_qr(request: Request, number: Number, kind: str) -> Response:
    """The offline QR code of ``number``: only where the register holds its payload, which it
    does only beside the holder's public name (the payload holds the name). Revalidated on
    each use (ETag of the payload, no image made for a 304): a new revision of the certificate
    signs a new payload, and a holder who stops publishing their name takes it away."""
    redirect = _canonical(number, f"/offline-qr.{kind}")
    if redirect is not None:
        return redirect
    record, body = _lookup(request, number)
    text = offline_qr_of(record) if record is not None else None
    if text is None:
        return _not_found(number, body.legal_name if body else None, page_language(request))
    digest = hashlib.sha256(f"{kind} {text}".encode()).hexdigest()[:32]
    headers = {"ETag": f'"{digest}"', "Cache-Control": "no-cache"}
    if f'"{digest}"' in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    from certreg.register.qr import offline_qr_png, offline_qr_svg  # see qr_response

    if kind == "png":
        return Response(offline_qr_png(text), media_type="image/png", headers=headers)
    return Response(offline_qr_svg(text), media_type="image/svg+xml", headers=headers)


@router.get(
    "/c/{number}/certificate.pdf",
    summary="Printable certificate (PDF) of a published certificate whose holder is named",
    responses={200: {"content": {"application/pdf": {}}}, 404: {"description": "Not published."}},
)
def certificate_pdf_public(request: Request, number: Number) -> Response:
    redirect = _canonical(number, "/certificate.pdf")
    if redirect is not None:
        return redirect
    record, body = _lookup(request, number)
    if record is None:
        return _not_found(number, body.legal_name if body else None)
    info = _body_info(request, body)
    if not record.holder_name:
        return HTMLResponse(
            render_message(
                "No printable certificate here",
                [
                    "A certificate carries its holder's name, and this holder's name is not "
                    "published in the register.",
                    "The holder can ask the certification body for the printable certificate.",
                ],
                body_name=info.legal_name,
            ),
            status_code=404,
        )
    from certreg.register.pdf import certificate_pdf  # when asked for: see qr_response

    lang = language_of(request)
    with site_of(request).connect() as conn:
        logo = read_logo(conn)  # pushed by the body (issuer.logo), if it set one
    data = certificate_pdf(record, info, lang=lang, logo=logo[0] if logo else None)
    return pdf_response(data, record.number, lang)


def pdf_response(data: bytes, number: str, lang: str | None = None) -> Response:
    """The PDF shown in the browser. With ``lang`` (the PDF was printed in the language the
    request asked for) it says so, and tells caches that the answer depends on the request's
    Accept-Language."""
    headers = {
        "Content-Disposition": f'inline; filename="certificate-{number}.pdf"',
        "Cache-Control": "no-cache",
    }
    if lang is not None:
        headers["Content-Language"] = lang
        headers["Vary"] = "Accept-Language"
    return Response(data, media_type="application/pdf", headers=headers)


# --- public: the verify page ----------------------------------------------------------------


def _body_name(request: Request) -> str | None:
    body = site_of(request).body()
    return body.legal_name if body is not None else None


@router.get("/verify", response_class=HTMLResponse, include_in_schema=False)
def verify_form(request: Request) -> Response:
    language = page_language(request)
    page = render_verify(
        body_name=_body_name(request),
        certificate_prefix=certificate_prefix(request),
        language=language,
    )
    return localised(HTMLResponse(page, headers=VERIFY_PAGE_HEADERS), language.lang)


def _text_field(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _wants_html(request: Request) -> bool:
    """Browsers ask for HTML; a program posting the form (no ``text/html`` in Accept) gets
    JSON: ``{"detail": …}`` for a problem, the verifier's result otherwise."""
    return "text/html" in request.headers.get("accept", "")


def _language(request: Request) -> PageLanguage:
    """A person's browser gets the page in their language; a program (JSON) gets English, so
    that its answers do not change with the machine it runs on."""
    return page_language(request) if _wants_html(request) else ENGLISH


def _answer(
    request: Request,
    page: dict[str, Any],
    *,
    problem: str | None = None,
    status_code: int = 200,
    outcome: VerifyOutcome | None = None,
    result: Any = None,
) -> Response:
    if not _wants_html(request):
        if problem is not None:
            return JSONResponse({"detail": problem}, status_code=status_code)
        assert outcome is not None and result is not None
        return JSONResponse(
            {"headline": outcome.headline, "issued_by_this_body": outcome.ours} | result.to_json()
        )
    language = _language(request)
    html = render_verify(problem=problem, outcome=outcome, language=language, **page)
    response = HTMLResponse(html, status_code=status_code, headers=VERIFY_PAGE_HEADERS)
    return localised(response, language.lang)


@router.post("/verify", response_class=HTMLResponse, include_in_schema=False)
async def verify_submit(request: Request) -> Response:
    page = {
        "body_name": _body_name(request),
        "pasted": "",
        "given_url": "",
        "certificate_prefix": certificate_prefix(request),
    }
    # Anyone may post here: the client's rate limit was spent before the form was even read
    # (issuer.http.ratelimit.PublicVerifyGate).
    guards = guards_of(request)
    _ = translator("pages", _language(request).lang)
    try:
        # Two files at most: the credential's, and its tlog-proof (the log check's).
        form = await request.form(max_files=2, max_fields=12, max_part_size=MAX_FORM_BYTES)
    except Exception:
        return _answer(
            request,
            page,
            problem=_(
                "The form could not be read. Paste the credential, choose a file or "
                "give an address, then press Verify."
            ),
            status_code=400,
        )
    pasted = _text_field(form, "credential")
    given_url = _text_field(form, "url")
    upload = form.get("file")
    data: bytes | str | None = None
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_INPUT_BYTES + 1)
        if not data.strip():
            data = None
    if data is None and pasted:
        data = pasted
    # Echoed back into the form (escaped), unless too large to be verified here.
    page["pasted"] = pasted if len(pasted) <= guards.limits.verify_max_bytes else ""
    page["given_url"] = given_url[:2000]
    policy = await _log_policy_of(request, form, page)
    if isinstance(policy, str):
        return _answer(request, page, problem=policy, status_code=422)
    if data is None and given_url:
        # A slow server holds a worker thread: only so many such fetches at once.
        if not guards.slots.start_fetch():
            busy = _("the verifier is busy with other requests: try again in a few seconds")
            return _refused(request, page, LimitExceeded(503, busy, 1))
        try:
            fetched = await run_in_threadpool(_fetch, request, given_url)
        finally:
            guards.slots.end_fetch()
        if isinstance(fetched, str):
            return _answer(
                request,
                page,
                problem=_("The credential could not be fetched: %(reason)s.", reason=fetched),
                status_code=422,
            )
        data = fetched
    if data is None:
        return _answer(
            request,
            page,
            problem=_(
                "Nothing to verify: paste the credential, choose its file, or give its address."
            ),
            status_code=422,
        )
    try:
        size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "replace"))
        guards.check_size(size)
        try:
            guards.check_document(load_document(data))
        except InputError:
            pass  # not JSON within the verifier's limits: the verifier says why, cheaply
        verified = data
        return await guards.verify(lambda: _verify(request, page, verified, policy))
    except LimitExceeded as exc:
        return _refused(request, page, exc)


async def _log_policy_of(
    request: Request, form: Any, page: dict[str, Any]
) -> LogPolicy | str | None:
    """The form's transparency-log policy (None: the box is not ticked and no witness key or
    proof file was given, which tick it too), or what is wrong with it, in words. The options
    are echoed into ``page`` so that the form comes back as it was sent."""
    _ = translator("pages", _language(request).lang)
    witnesses_text = _text_field(form, "witnesses")[:MAX_WITNESS_TEXT]
    quorum_text = _text_field(form, "quorum")[:12]
    upload = form.get("log_proof")
    proof: bytes | None = None
    if isinstance(upload, UploadFile) and upload.filename:
        proof = await upload.read(MAX_PROOF_SIZE + 1)
        if not proof.strip():
            proof = None
    wanted = bool(_text_field(form, "log_check")) or bool(witnesses_text) or proof is not None
    page["log_options"] = {"check": wanted, "witnesses": witnesses_text, "quorum": quorum_text}
    if not wanted:
        return None
    quorum: int | None = None
    if quorum_text:
        try:
            quorum = int(quorum_text)
        except ValueError:
            return _("The witness quorum must be a whole number, such as 1.")
    site = site_of(request)
    body = site.body()
    try:
        return log_policy(
            parse_witness_lines(witnesses_text),
            quorum,
            proof=proof,
            fetch=log_fetcher(
                request.app,
                body.public_url if body is not None else None,
                site.unsafe_allow_http_hosts,
            ),
        )
    except PolicyInputError as exc:
        return _("The log check's options are not usable: %(reason)s.", reason=exc.reason)


def _refused(request: Request, page: dict[str, Any], exc: LimitExceeded) -> Response:
    reason = exc.reason[:1].upper() + exc.reason[1:]
    response = _answer(request, page, problem=f"{reason}.", status_code=exc.status)
    response.headers.update(exc.headers)
    return response


def _fetch(request: Request, given_url: str) -> bytes | str:
    """The credential at ``given_url`` (bytes), or why it could not be fetched (str)."""
    site = site_of(request)
    try:
        return HttpFetcher(
            max_bytes=guards_of(request).limits.verify_max_bytes,
            unsafe_allow_http_hosts=site.unsafe_allow_http_hosts,
            public_addresses_only=True,
            accept="application/vc+ld+json, application/ld+json, application/json",
        )(given_url)
    except (FetchError, ValueError) as exc:
        return exc.reason if isinstance(exc, FetchError) else str(exc)


def _verify(
    request: Request, page: dict[str, Any], data: bytes | str, policy: LogPolicy | None = None
) -> Response:
    site = site_of(request)
    lang = _language(request).lang
    verifier = site.verifier.in_language(lang)
    if policy is not None:
        verifier = with_log_policy(verifier, policy)
    result = verifier.verify_credential(data)
    body = site.body()
    own_did = body.did if body is not None else ""
    outcome = outcome_of(result, own_did=own_did, status_of=site.certificate_status, lang=lang)
    if str(result.verdict) == "NOT_IN_LOG":
        # Not forged (the signature is the issuer's) and not a status: its own words.
        _ = translator("pages", lang)
        headline = _(
            "NOT IN THE LOG: signed by its issuer, but not shown to be in the issuer's "
            "transparency log"
        )
        outcome = dataclasses.replace(outcome, headline=headline, css="untrusted_issuer")
    return _answer(request, page, outcome=outcome, result=result)

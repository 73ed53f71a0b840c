"""The printable certificate (PDF, A4) with every item ISO/IEC 17024 §9.4.7 asks for:

a) the name of the certified person; b) the unique certificate number; c) the name of the
certification body; d) the scheme and its normative document (with version); e) the scope,
with its conditions and limitations; f) the effective date and the date of expiry.

It also carries the status on the day it was printed, who took the certification decision
(by name when the caller knows it, always by role), and above all the QR code and the URL of
the certificate's page, where the *current* status is: paper cannot be suspended. Where the
register holds the certificate's offline payload (beside the holder's public name), a second
QR code at the right of that block holds the signed certificate itself, checked with no network
(:mod:`register.offline`).

Layout: one column that flows top to bottom, so the order in the file (what a screen reader
and text selection follow) is the order on the page. Every block is measured before it is
drawn and starts a new page when it would not fit, so a 200-character name or 30 scope items
push the rest down instead of drawing over it. The QR code sits in a reserved box at the left
of the verification block with its text to its right; nothing else is ever drawn in that box.
The body's logo, when the caller passes one, sits in a reserved box at the top; otherwise the
body's name is set as a word mark there.

Every word printed comes from the ``pages`` catalog in the language asked for (``lang``: en,
de, fr, es): the status headline and the dates from :mod:`verifier.standing` in that language,
and the document's language (``/Lang``) set to it, so that a screen reader speaks it rightly.
German and French labels are longer than English ones: the layout measures them as it measures
a long name.

fpdf2 draws it. Names in any script need a Unicode font: DejaVu Sans is used where the system
has it (Debian's ``fonts-dejavu-core``); otherwise the PDF's built-in Helvetica, which only
knows Latin-1, and characters outside it print as ``?``. All text is real text (selectable,
searchable), never an image. fpdf2 cannot tag text (docs/register.md says what is missing).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import cast

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos
from fpdf.prefs import ViewerPreferences

from certreg.i18n import DEFAULT, N_, Translator, translator
from certreg.register.offline import offline_qr_of
from certreg.register.qr import offline_qr_png, qr_png
from certreg.register.records import BodyInfo, scheme_name
from certreg.verifier.standing import CertificateRecord, ScopeLine, headline, plain_date

__all__ = [
    "DECISION_MAKER",
    "LOGO_BOX",
    "OFFLINE_QR_SIZE_MM",
    "QR_SIZE_MM",
    "Signatory",
    "certificate_pdf",
]

_FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts/dejavu"),
)

MARGIN = 20.0  # mm, all four sides
FOOTER_SPACE = 14.0  # mm kept free above the bottom margin for the page footer
QR_SIZE_MM = 40.0  # printed size of the QR code: 6 mm per module or more for a short URL
#: Printed size of the offline QR code (the signed certificate, up to version 13: 77 modules
#: with the quiet zone, so 0.6 mm a module; phones read 0.4 mm and more).
OFFLINE_QR_SIZE_MM = 46.0
LOGO_BOX = (70.0, 22.0)  # (width, height) mm reserved for the body's logo
LABEL_WIDTH = 46.0  # mm of the label column in the facts table, at least
MAX_LABEL_WIDTH = 60.0  # mm: a label column wider than this leaves the values too little room

#: The role printed for whoever took the certification decision (translated where printed).
DECISION_MAKER = N_("Decision-maker")


@dataclass(frozen=True)
class Signatory:
    """Who took the certification decision (ISO/IEC 17024 §9.2): a named person in a role."""

    name: str
    role: str = DECISION_MAKER


def _unicode_font() -> tuple[Path, Path] | None:
    for folder in _FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


class _Certificate(FPDF):
    """An A4 page with helpers that measure a block before drawing it."""

    def __init__(self, number: str, words: Translator) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.number = number
        self.words = words
        self.label_width = LABEL_WIDTH
        font = _unicode_font()
        if font is not None:
            self.add_font("Body", "", str(font[0]))
            self.add_font("Body", "B", str(font[1]))
            self.family = "Body"
            self.latin1 = False
        else:
            self.family = "Helvetica"
            self.latin1 = True
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=MARGIN + FOOTER_SPACE)

    def footer(self) -> None:
        # The number on every page, so that a loose second page still says whose it is.
        self.set_y(-(MARGIN + 6))
        self.set_font(self.family, "", 8)
        _ = self.words
        # "{nb}" is fpdf2's alias for the page count, filled in when the file is written.
        footer = _(
            "Certificate %(number)s · page %(page)s of %(pages)s",
            number=self.number,
            page=self.page_no(),
            pages="{nb}",
        )
        self.cell(0, 4, self.text_of(footer), align="C")

    def text_of(self, value: str) -> str:
        if self.latin1:
            return value.encode("latin-1", "replace").decode("latin-1")
        return value

    def room(self) -> float:
        """Height left on this page above the footer."""
        return self.page_break_trigger - self.get_y()

    def keep(self, height: float) -> None:
        """Start a new page unless ``height`` mm fit on this one (a block taller than a whole
        page starts at the top of one and flows on)."""
        if height > self.room() and self.get_y() > self.t_margin + 1:
            self.add_page()

    def height_of(self, width: float, line: float, text: str) -> float:
        """The height ``text`` takes in a ``width`` mm column, drawing nothing."""
        return cast(
            float,
            self.multi_cell(
                width,
                line,
                self.text_of(text),
                dry_run=True,
                output="HEIGHT",
                wrapmode=WrapMode.CHAR if _unbroken(text, self, width) else WrapMode.WORD,
            ),
        )

    def para(
        self,
        text: str,
        size: float,
        *,
        bold: bool = False,
        align: str = "C",
        width: float = 0,
        link: str = "",
    ) -> None:
        """A paragraph that wraps, kept on one page when it fits on one."""
        self.set_font(self.family, "B" if bold else "", size)
        width = width or self.epw
        line = size * 0.45
        self.keep(self.height_of(width, line, text))
        self.multi_cell(
            width,
            line,
            self.text_of(text),
            align=align,
            link=link,
            wrapmode=WrapMode.CHAR if _unbroken(text, self, width) else WrapMode.WORD,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )

    def fitted(self, text: str, sizes: tuple[float, ...], *, max_lines: int = 2) -> None:
        """A bold centred line in the largest size at which it takes ``max_lines`` lines or
        fewer (the smallest size otherwise, wrapping as much as it needs)."""
        for size in sizes:
            self.set_font(self.family, "B", size)
            line = size * 0.45
            if self.height_of(self.epw, line, text) <= line * max_lines + 0.01:
                break
        self.para(text, size, bold=True)

    def fit_labels(self, labels: list[str]) -> None:
        """Widen the label column so that every label fits on one line, within
        :data:`MAX_LABEL_WIDTH`, and its longest word in any case (German compounds such as
        "Zertifizierungsentscheidung" are longer than any English label word; Spanish labels
        are longer phrases). A row whose label wraps is a line taller, and those lines add up
        to push the QR code onto a second page."""
        self.set_font(self.family, "B", 10)
        whole = max((self.get_string_width(self.text_of(label)) for label in labels), default=0.0)
        word = max(
            (self.get_string_width(w) for label in labels for w in self.text_of(label).split()),
            default=0.0,
        )
        # 4 mm: the cell's own margins and a gap before the value column. A word is never
        # broken for the column's sake (up to half the line, where it has to be).
        self.label_width = max(
            LABEL_WIDTH, min(whole + 4, MAX_LABEL_WIDTH), min(word + 4, self.epw / 2)
        )

    def label_value(self, label: str, value: str) -> None:
        """One row of the facts table: label left, value wrapping in the right column; the
        row is kept together on one page."""
        value_width = self.epw - self.label_width
        self.set_font(self.family, "", 10)
        value_height = self.height_of(value_width, 5.5, value)
        self.set_font(self.family, "B", 10)
        label_height = self.height_of(self.label_width - 2, 5.5, label)
        self.keep(max(value_height, label_height))
        top = self.get_y()
        self.multi_cell(
            self.label_width - 2,
            5.5,
            self.text_of(label),
            align="L",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        below_label = self.get_y()
        self.set_xy(self.l_margin + self.label_width, top)
        self.set_font(self.family, "", 10)
        self.multi_cell(
            value_width,
            5.5,
            self.text_of(value),
            align="L",
            wrapmode=WrapMode.CHAR if _unbroken(value, self, value_width) else WrapMode.WORD,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.set_xy(self.l_margin, max(self.get_y(), below_label) + 0.8)


def _unbroken(text: str, pdf: _Certificate, width: float) -> bool:
    """Whether ``text`` holds a word wider than ``width`` (in the current font): such a word
    is broken between characters, which fpdf2 does only in CHAR wrap mode."""
    words = pdf.text_of(text).split()  # as printed: Helvetica measures Latin-1 only
    return any(pdf.get_string_width(word) > width - 1 for word in words)


def _accreditation(body: BodyInfo, _: Translator) -> str | None:
    """``Accredited by DAkkS, accreditation number D-ZP-…`` in the reader's language."""
    if not body.accreditation_body:
        return None
    if body.accreditation_number:
        return _(
            "Accredited by %(body)s, accreditation number %(number)s",
            body=body.accreditation_body,
            number=body.accreditation_number,
        )
    return _("Accredited by %(body)s", body=body.accreditation_body)


def _logo_or_word_mark(pdf: _Certificate, body: BodyInfo, logo: bytes | None) -> None:
    if logo is not None:
        # The logo's box is reserved whatever its shape; the image keeps its aspect ratio
        # inside it (a wide logo is bounded by the width, a tall one by the height).
        width, height = LOGO_BOX
        x = (pdf.w - width) / 2
        # No alt_text: fpdf2 would start a structure tree holding this one /Figure while all
        # the text stays untagged, which misleads assistive technology (docs/register.md). The
        # body's name is printed as text right below the logo.
        pdf.image(io.BytesIO(logo), x=x, y=pdf.get_y(), w=width, h=height, keep_aspect_ratio=True)
        pdf.set_y(pdf.get_y() + height + 2)
        pdf.para(body.legal_name, 12, bold=True)
    else:
        pdf.fitted(body.legal_name, (18, 15, 12))
    accreditation = _accreditation(body, pdf.words)
    if accreditation:
        pdf.para(accreditation, 9)


def certificate_pdf(
    record: CertificateRecord,
    body: BodyInfo,
    *,
    printed_on: date | None = None,
    signatory: Signatory | None = None,
    logo: bytes | None = None,
    lang: str = DEFAULT,
) -> bytes:
    """The certificate of ``record`` as PDF bytes, for a reader of ``lang``.
    ``record.holder_name`` must be set: a certificate without the holder's name is not a
    certificate (§9.4.7 a).

    ``signatory`` names who took the decision (printed with the role); without it the role
    and the body are printed. ``logo`` (PNG or JPEG bytes) replaces the word mark at the top.
    ``lang`` (en, de, fr, es) is the language of every word printed and of the document."""
    if not record.holder_name:
        raise ValueError("a printable certificate needs the holder's name")
    printed_on = printed_on or datetime.now(UTC).date()
    url = body.certificate_url(record.number)
    _ = translator("pages", lang)
    pdf = _Certificate(record.number, _)
    pdf.set_lang(lang)
    pdf.set_title(
        _("Certificate %(number)s: %(name)s", number=record.number, name=record.holder_name)
    )
    pdf.set_subject(f"{record.scheme_name} ({record.scheme_code})")
    pdf.set_author(body.legal_name)
    pdf.set_creator("certreg")
    pdf.set_display_mode("fullpage")
    # Readers show the title, not the file name, in the window (WCAG 2.4.2 for PDF).
    pdf.viewer_preferences = ViewerPreferences(display_doc_title=True)
    pdf.add_page()

    _logo_or_word_mark(pdf, body, logo)
    pdf.ln(4)
    pdf.para(_("CERTIFICATE"), 26, bold=True)
    pdf.ln(3)
    pdf.para(_("This is to certify that"), 11)
    pdf.ln(2)
    pdf.fitted(record.holder_name, (22, 18, 14))
    pdf.ln(2)
    pdf.para(_("holds the certification"), 11)
    pdf.ln(2)
    # The scheme's name in the reader's language where the body gave one; the "Certification
    # scheme" line below quotes the name the credential is signed with.
    shown = scheme_name(record.scheme_names, record.scheme_name, lang)
    scheme = f"{record.scheme_name} ({record.scheme_code})"
    pdf.fitted(f"{shown} ({record.scheme_code})", (16, 13, 11))
    pdf.ln(4)

    pdf.fit_labels(
        [
            _("Certificate number"),
            _("Certification body"),
            _("Accreditation"),
            _("Certification scheme"),
            _("Normative document"),
            _("Effective date"),
            _("Date of expiry"),
            _("Status when printed"),
            _("Certification decision by"),
        ]
    )
    pdf.label_value(_("Certificate number"), record.number)
    pdf.label_value(_("Certification body"), body.legal_name)
    accreditation = _accreditation(body, _)
    if accreditation:
        pdf.label_value(_("Accreditation"), accreditation)
    if record.scheme_version:
        scheme_line = _(
            "%(scheme)s, version %(version)s", scheme=scheme, version=record.scheme_version
        )
    else:
        scheme_line = scheme
    pdf.label_value(_("Certification scheme"), scheme_line)
    if record.normative_reference:
        ref = record.normative_reference
        if record.normative_reference_url:
            ref = f"{ref} ({record.normative_reference_url})"
        pdf.label_value(_("Normative document"), ref)
    pdf.label_value(_("Effective date"), plain_date(record.valid_from, lang))
    # The last valid day, the same date "VALID until" and "EXPIRED on" give (standing.expiry_day).
    pdf.label_value(_("Date of expiry"), plain_date(record.valid_until, lang))
    pdf.ln(3)

    scope = record.active_scope
    # The heading stays with the first item (no heading alone at the foot of a page).
    pdf.set_font(pdf.family, "", 10)
    first = scope[0] if scope else None
    pdf.keep(8 + (pdf.height_of(pdf.epw, 5, _scope_text(first, _)) if first else 5))
    pdf.para(_("Scope of certification"), 11, bold=True, align="L")
    pdf.ln(1)
    if not scope:
        pdf.para(_("No scope item is currently held."), 10, align="L")
    for item in scope:
        pdf.para(_scope_text(item, _), 10, align="L")
        pdf.ln(1)
    pdf.ln(3)

    status = headline(record, printed_on, lang=lang).text
    printed = plain_date(printed_on.isoformat(), lang)
    pdf.label_value(
        _("Status when printed"), _("%(status)s (printed %(date)s)", status=status, date=printed)
    )
    if signatory:
        # The role is translated when it is one of the catalog's (DECISION_MAKER); a role the
        # body named itself is printed as it wrote it.
        decided = _("%(name)s, %(role)s", name=signatory.name, role=_(signatory.role))
    else:
        decided = _("a decision-maker of %(body)s", body=body.legal_name)
    pdf.label_value(_("Certification decision by"), decided)
    pdf.ln(3)
    _verification_block(pdf, url, offline_qr_of(record))
    return bytes(pdf.output())


def _scope_text(item: ScopeLine, _: Translator) -> str:
    text = f"{item.code}: {item.label}"
    if item.conditions:
        text += "\n" + _("Conditions and limitations: %(conditions)s", conditions=item.conditions)
    return text


_CHECK_HEADING = N_("Check the current status at any time:")
_CHECK_TEXT = N_(
    "Scan the QR code or open the address above. A certificate can be suspended or "
    "withdrawn after it was printed; the page shows its status today."
)


#: The caption under the offline QR code (the signed certificate itself, register.offline).
_OFFLINE_CAPTION = N_("Scan to check offline")


def _verification_block(pdf: _Certificate, url: str, offline: str | None = None) -> None:
    """The QR code in its own square at the left, the address and the explanation in the
    column to its right; with ``offline`` (the certificate's signed payload) its QR code in a
    square of its own at the right, captioned below. The block is kept whole on one page.

    The offline code is printed larger than the link's: a version-13 code has 69 modules a
    side (77 with the quiet zone, part of the image), so 0.6 mm a module at
    :data:`OFFLINE_QR_SIZE_MM`, what a phone's camera reads at arm's length. Side by side, an
    ordinary certificate keeps to one page."""
    _ = pdf.words
    heading, explanation = _(_CHECK_HEADING), _(_CHECK_TEXT)
    gap = 6.0 if offline is None else 5.0
    right = 0.0 if offline is None else OFFLINE_QR_SIZE_MM + gap
    text_x = pdf.l_margin + QR_SIZE_MM + gap
    text_w = pdf.w - pdf.r_margin - right - text_x
    pdf.set_font(pdf.family, "B", 10)
    height = pdf.height_of(text_w, 5.5, heading)
    pdf.set_font(pdf.family, "", 10)
    height += pdf.height_of(text_w, 5.5, url) + 2 + pdf.height_of(text_w, 5, explanation)
    caption = _(_OFFLINE_CAPTION)
    offline_height = 0.0
    if offline is not None:
        pdf.set_font(pdf.family, "B", 9)
        offline_height = OFFLINE_QR_SIZE_MM + 1 + pdf.height_of(OFFLINE_QR_SIZE_MM, 4.5, caption)
    pdf.keep(max(QR_SIZE_MM, height, offline_height))
    top = pdf.get_y()
    pdf.image(
        io.BytesIO(qr_png(url, box_size=10)), x=pdf.l_margin, y=top, w=QR_SIZE_MM, h=QR_SIZE_MM
    )
    bottom = top + max(QR_SIZE_MM, offline_height)
    if offline is not None:
        # 10 pixels a module: scaled down to its printed size, never up, so each module stays
        # a sharp square.
        x = pdf.w - pdf.r_margin - OFFLINE_QR_SIZE_MM
        size = OFFLINE_QR_SIZE_MM
        pdf.image(io.BytesIO(offline_qr_png(offline, box_size=10)), x=x, y=top, w=size, h=size)
        pdf.set_xy(x, top + size + 1)
        pdf.set_font(pdf.family, "B", 9)
        pdf.multi_cell(size, 4.5, pdf.text_of(caption), align="C", new_x=XPos.LEFT)
    # The text column: set_xy keeps x; ln() would send it back under the QR code.
    pdf.set_xy(text_x, top + 2)
    pdf.set_font(pdf.family, "B", 10)
    pdf.multi_cell(text_w, 5.5, pdf.text_of(heading), align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(pdf.family, "", 10)
    pdf.multi_cell(
        text_w,
        5.5,
        pdf.text_of(url),
        link=url,
        align="L",
        wrapmode=WrapMode.CHAR,
        new_x=XPos.LEFT,
        new_y=YPos.NEXT,
    )
    pdf.set_xy(text_x, pdf.get_y() + 2)
    pdf.multi_cell(text_w, 5, pdf.text_of(explanation), align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_xy(pdf.l_margin, max(pdf.get_y(), bottom) + 2)

"""The printable certificate (PDF, A4) with every item ISO/IEC 17024 §9.4.7 asks for:

a) the name of the certified person; b) the unique certificate number; c) the name of the
certification body; d) the scheme and its normative document (with version); e) the scope,
with its conditions and limitations; f) the effective date and the date of expiry.

It also carries the status on the day it was printed and, above all, the QR code and the URL
of the certificate's page, where the *current* status is: paper cannot be suspended.

fpdf2 draws it. Names in any script need a Unicode font: DejaVu Sans is used where the system
has it (Debian's ``fonts-dejavu-core``); otherwise the PDF's built-in Helvetica, which only
knows Latin-1, and characters outside it print as ``?``.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from certreg.register.qr import qr_png
from certreg.register.records import BodyInfo
from certreg.verifier.standing import CertificateRecord, headline, plain_date

__all__ = ["certificate_pdf"]

_FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts/dejavu"),
)


def _unicode_font() -> tuple[Path, Path] | None:
    for folder in _FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


class _Certificate(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        font = _unicode_font()
        if font is not None:
            self.add_font("Body", "", str(font[0]))
            self.add_font("Body", "B", str(font[1]))
            self.family = "Body"
            self.latin1 = False
        else:
            self.family = "Helvetica"
            self.latin1 = True

    def text_of(self, value: str) -> str:
        if self.latin1:
            return value.encode("latin-1", "replace").decode("latin-1")
        return value

    def line_of(self, value: str, size: float, *, bold: bool = False, align: str = "C") -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.multi_cell(
            0, size * 0.5, self.text_of(value), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )

    def label_value(self, label: str, value: str) -> None:
        self.set_font(self.family, "B", 10)
        self.cell(48, 6, self.text_of(label))
        self.set_font(self.family, "", 10)
        self.multi_cell(0, 6, self.text_of(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def certificate_pdf(
    record: CertificateRecord, body: BodyInfo, *, printed_on: date | None = None
) -> bytes:
    """The certificate of ``record`` as PDF bytes. ``record.holder_name`` must be set: a
    certificate without the holder's name is not a certificate (§9.4.7 a)."""
    if not record.holder_name:
        raise ValueError("a printable certificate needs the holder's name")
    printed_on = printed_on or datetime.now(UTC).date()
    url = body.certificate_url(record.number)
    pdf = _Certificate()
    pdf.set_title(f"Certificate {record.number}")
    pdf.set_author(body.legal_name)
    pdf.set_creator("certreg")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()

    pdf.line_of(body.legal_name, 16, bold=True)
    if body.accreditation:
        pdf.line_of(body.accreditation, 9)
    pdf.ln(8)
    pdf.line_of("CERTIFICATE", 26, bold=True)
    pdf.ln(4)
    pdf.line_of("This is to certify that", 11)
    pdf.ln(2)
    pdf.line_of(record.holder_name, 22, bold=True)
    pdf.ln(2)
    pdf.line_of("holds the certification", 11)
    pdf.ln(2)
    scheme = f"{record.scheme_name} ({record.scheme_code})"
    pdf.line_of(scheme, 16, bold=True)
    pdf.ln(6)

    pdf.label_value("Certificate number", record.number)
    pdf.label_value("Certification body", body.legal_name)
    if body.accreditation:
        pdf.label_value("Accreditation", body.accreditation)
    version = f", version {record.scheme_version}" if record.scheme_version else ""
    pdf.label_value("Certification scheme", f"{scheme}{version}")
    if record.normative_reference:
        ref = record.normative_reference
        if record.normative_reference_url:
            ref = f"{ref} ({record.normative_reference_url})"
        pdf.label_value("Normative document", ref)
    pdf.label_value("Effective date", plain_date(record.valid_from))
    # The last valid day, the same date "VALID until" and "EXPIRED on" give (standing.expiry_day).
    pdf.label_value("Date of expiry", plain_date(record.valid_until))
    pdf.ln(3)

    pdf.set_font(pdf.family, "B", 11)
    pdf.cell(0, 7, "Scope of certification", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    scope = record.active_scope
    if not scope:
        pdf.line_of("No scope item is currently held.", 10, align="L")
    for item in scope:
        text = f"{item.code}: {item.label}"
        if item.conditions:
            text += f"\nConditions and limitations: {item.conditions}"
        pdf.set_font(pdf.family, "", 10)
        pdf.multi_cell(0, 5.5, pdf.text_of(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)
    pdf.ln(4)

    status = headline(record, printed_on).text
    printed = plain_date(printed_on.isoformat())
    pdf.label_value("Status when printed", f"{status} (printed {printed})")
    top = pdf.get_y() + 4
    if top > pdf.h - 75:
        pdf.add_page()
        top = pdf.get_y()
    pdf.image(io.BytesIO(qr_png(url, box_size=10)), x=20, y=top, w=45, h=45)
    pdf.set_xy(70, top + 4)
    pdf.set_font(pdf.family, "B", 10)
    pdf.multi_cell(
        0, 5.5, "Check the current status at any time:", new_x=XPos.LEFT, new_y=YPos.NEXT
    )
    pdf.set_font(pdf.family, "", 10)
    pdf.multi_cell(0, 5.5, pdf.text_of(url), link=url, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.multi_cell(
        0,
        5,
        "Scan the QR code or open the address above. A certificate can be suspended or "
        "withdrawn after it was printed; the page shows its status today.",
        new_x=XPos.LEFT,
        new_y=YPos.NEXT,
    )
    return bytes(pdf.output())

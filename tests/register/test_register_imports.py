"""What the web servers hold in memory from the start: not the PDF and QR code libraries.

fpdf2 (with fontTools and Pillow) is 30 MiB of a server's memory, and qrcode needs Pillow: the
public pages and ``certreg serve`` import them when a PDF or a QR code is first asked for, not
at start (a fresh interpreter per check: sys.modules of the test process says nothing).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("fpdf", "fontTools", "PIL", "qrcode")


@pytest.mark.parametrize(
    "module",
    ["certreg.register.web.app", "certreg.register.web.cli", "certreg.issuer.http.app",
     "certreg.issuer.cli.serve"],
)  # fmt: skip
def test_a_server_does_not_load_the_pdf_and_qr_libraries_at_start(module):
    code = f"import sys, {module}; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == []

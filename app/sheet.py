"""The printable sign-in sheet: per office its name, code and a QR code of the /lapor link
that carries the office's token in the URL fragment (a fragment is never sent to a server,
so the token reaches no access log)."""

import io
from collections.abc import Sequence
from typing import NamedTuple
from urllib.parse import quote

import segno
from fpdf import FPDF


class SheetEntry(NamedTuple):
    office: str
    office_name: str
    token: str


def sign_in_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/lapor#token={quote(token, safe='')}"


def sheet_pdf(entries: Sequence[SheetEntry], base_url: str) -> bytes:
    """A4, one office per page: a sheet is cut and handed out office by office."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    for entry in entries:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 18)
        # The core fonts are Latin-1; office names are ASCII in the shipped list.
        pdf.multi_cell(0, 10, entry.office_name.encode("latin-1", "replace").decode("latin-1"))
        pdf.set_font("Helvetica", "", 14)
        pdf.cell(0, 10, f"Kode kantor / office code: {entry.office}", new_x="LMARGIN", new_y="NEXT")
        image = io.BytesIO()
        segno.make_qr(sign_in_link(base_url, entry.token), error="m").save(
            image, kind="png", scale=10, border=4
        )
        image.seek(0)
        pdf.image(image, x=45, y=60, w=120, h=120)
        pdf.set_y(190)
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(
            0,
            6,
            "Pindai dengan kamera ponsel untuk masuk ke Lapor. Simpan lembar ini seperti kunci.\n"
            "Scan with the phone's camera to sign in to Lapor. Keep this sheet like a key.",
        )
    if not entries:
        # A PDF has at least one page: say on it that nothing was issued.
        pdf.add_page()
        pdf.set_font("Helvetica", "", 14)
        pdf.cell(0, 10, "Tidak ada token baru / no tokens were issued")
    return bytes(pdf.output())

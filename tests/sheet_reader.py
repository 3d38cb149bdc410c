"""Reading a sign-in sheet back: each page's text and the QR codes its images hold."""

import io
from typing import NamedTuple

import zxingcpp
from pypdf import PdfReader


class SheetPage(NamedTuple):
    text: str
    links: list[str]


def read_sheet(data: bytes) -> list[SheetPage]:
    reader = PdfReader(io.BytesIO(data))
    pages = []
    for page in reader.pages:
        links = [
            barcode.text
            for image in page.images
            for barcode in zxingcpp.read_barcodes(image.image)
            if barcode.format == zxingcpp.BarcodeFormat.QRCode
        ]
        pages.append(SheetPage(page.extract_text(), links))
    return pages

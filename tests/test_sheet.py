"""The sign-in sheet on its own: one page per office, its name and code, and a QR code that
decodes (zxing-cpp, an independent decoder) to the office's /lapor link."""

from app.sheet import SheetEntry, sheet_pdf, sign_in_link
from tests.sheet_reader import read_sheet


def test_sign_in_link_carries_the_token_in_the_fragment_only():
    link = sign_in_link("https://rekam.example.go.id/", "a+b/c=")

    assert link == "https://rekam.example.go.id/lapor#token=a%2Bb%2Fc%3D"
    assert "?" not in link


def test_each_office_has_a_page_with_its_name_code_and_link():
    entries = [
        SheetEntry("MKS-01", "KECAMATAN MARISO", "tok-one_ABC-123"),
        SheetEntry("MKS-02", "KECAMATAN MAMAJANG", "tok-two_XYZ-789"),
        SheetEntry("MKS-03", "KECAMATAN TAMALATE", "x" * 43),
    ]

    pages = read_sheet(sheet_pdf(entries, "https://rekam.example.go.id"))

    assert len(pages) == len(entries)
    for page, entry in zip(pages, entries, strict=True):
        assert entry.office_name in page.text
        assert entry.office in page.text
        assert page.links == [f"https://rekam.example.go.id/lapor#token={entry.token}"]


def test_an_empty_issue_gives_an_empty_sheet():
    (page,) = read_sheet(sheet_pdf([], "https://rekam.example.go.id"))

    assert "no tokens were issued" in page.text
    assert page.links == []

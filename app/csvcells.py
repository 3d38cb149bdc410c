"""CSV cells that are safe to open in a spreadsheet, and back.

A spreadsheet runs a cell that starts with =, +, -, @, tab or carriage return as a formula
(OWASP's "CSV injection"). Every CSV Rekam writes puts one more ' in front of such a text
cell, and of one that already starts with ', so the quote itself round-trips; the importer
takes one leading ' off a note, so an exported file imports back to the original text.
"""

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")


def spreadsheet_safe(cell: str) -> str:
    return "'" + cell if cell.startswith(_TRIGGERS) else cell


def unquote_cell(cell: str) -> str:
    return cell.removeprefix("'")

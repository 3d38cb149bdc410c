"""How a region's name is shown: one rule, applied to every name the area list writes.

The Kemendagri list writes provinces and regencies in capitals ("KABUPATEN PANGKAJENE DAN
KEPULAUAN") and kecamatan and villages as they are spelt ("Ujung Pandang", "Grong-grong",
"Na IX - X"). A name that has a lower-case letter is already written for reading and is shown
as it is. A name in capitals is shown in title case, word by word: Indonesian particles stay
lower case after the first word, Roman numerals and abbreviations without a vowel stay in
capitals, and a letter after `-`, `/`, `(` or `.` starts a new word ("TOLI-TOLI" → "Toli-Toli").
"""

import re

# Lower case inside a name, as Indonesian writes them in titles ("Pangkajene dan Kepulauan").
PARTICLES = frozenset({"dan", "di", "ke", "dari", "atau", "dengan", "untuk", "pada", "yang"})
# Abbreviations the list writes that have vowels and must stay in capitals.
ABBREVIATIONS = frozenset({"DKI"})
_ROMAN = re.compile(r"(?=[IVXLC])(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})")
_VOWEL = re.compile(r"[AEIOU]")
# A run of letters, apostrophes included, so that "KI'E" reads as one word ("Ki'e").
_WORD = re.compile(r"[A-Z][A-Z']*")


def _word(word: str, first: bool) -> str:
    if word in ABBREVIATIONS or _ROMAN.fullmatch(word) or not _VOWEL.search(word):
        return word
    lower = word.lower()
    if not first and lower in PARTICLES:
        return lower
    return lower[0].upper() + lower[1:]


def display_name(name: str) -> str:
    """The name as the dashboard shows it (see the module's docstring for the rule)."""
    if any(char.islower() for char in name):
        return name
    first, *rest = name.split(" ")
    shown = [_WORD.sub(lambda match: _word(match.group(), first=True), first)]
    shown += [_WORD.sub(lambda match: _word(match.group(), first=False), word) for word in rest]
    return " ".join(shown)

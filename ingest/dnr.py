"""Diarienummer: one case id under many spellings.

Records write the same case as `Dnr 2023-00497`, `KS-25/00244`, `Diarienr: KS-2023/00651`,
`DNR: KS-2024/00457-2`, `Dnr 2025–00469` or `KS-2025-0006304` (class code glued on); users type
`KS 2025/494`, `2023-501` or, after the word Dnr, `Dnr 2023.651`, `dnr 2023:651` and `dnr 2023 651`
(only after the keyword, since `SFS 2018:218` and amounts like `2023 500` are not cases). Everything is
parsed into `Dnr`, whose `key` (year and serial) is what ties agenda, memo and protocol together, since
one organ writes `KS-2025-00461` and another `2025-00461`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SERIAL_DIGITS = 5

_KEYWORD = r"(?i:\b(?:dnr|diarienr|diarienummer|diarie-?nummer|ärendenr|ärende)\b)\s*[:.]?\s*"
_BODY = (
    r"(?P<year>(?:19|20)\d{2}|\d{2})"
    r"(?:\s*(?P<sep>[-–—/.:])\s*|(?P<gap>\s+))"
    r"(?P<serial>\d{1,7})"
    r"(?:-(?P<sub>\d{1,3}))?"
    r"(?!\d|,\d|[-–/.:]\d)"
)
# Records write the organ prefix in capitals (`KS-25/00244`); people type `ks-2025-466` as well.
_PATTERN = re.compile(rf"(?P<kw>{_KEYWORD})?(?<![\w./-])(?:(?P<prefix>[A-ZÅÄÖ]{{1,5}})[-. ]?)?{_BODY}")
_TYPED = re.compile(rf"(?P<kw>{_KEYWORD})?(?<![\w./-])(?:(?P<prefix>(?i:[a-zåäö]{{1,5}}))[-. ]?)?{_BODY}")


@dataclass(frozen=True)
class Dnr:
    prefix: str | None
    year: int
    serial: int
    sub: int | None = None

    @property
    def key(self) -> str:
        """Year and serial only: the part every organ writes the same way."""
        return f"{self.year}-{self.serial:0{SERIAL_DIGITS}d}"

    @property
    def canonical(self) -> str:
        return f"{self.prefix}-{self.key}" if self.prefix else self.key


@dataclass(frozen=True)
class DnrMatch:
    dnr: Dnr
    as_written: str
    start: int
    end: int


def find_all(text: str, typed: bool = False) -> list[DnrMatch]:
    """Every Dnr in `text`; `typed` accepts the looser forms people type into a search box."""
    found = []
    for m in (_TYPED if typed else _PATTERN).finditer(text):
        dnr = _accept(m, typed)
        if dnr is not None:
            start = m.start("prefix") if m.group("prefix") else m.start("year")
            written = " ".join(text[start : m.end()].split())
            found.append(DnrMatch(dnr, written, m.start(), m.end()))
    return found


def parse(text: str) -> Dnr | None:
    """The Dnr a user typed, in any spelling, or None when `text` holds no Dnr."""
    matches = find_all(text, typed=True)
    return matches[0].dnr if matches else None


def _accept(m: re.Match, typed: bool) -> Dnr | None:
    year_text, serial_text, sub = m.group("year"), m.group("serial"), m.group("sub")
    prefix = m.group("prefix")
    # A capital prefix (`KS-`) or a keyword marks a Dnr; a lower-case word before a number may be prose.
    marked = bool(m.group("kw") or (prefix and prefix.isupper()))
    if (m.group("gap") or m.group("sep") in ".:") and not m.group("kw"):
        return None
    if m.group("gap") and _looks_like_year(serial_text):
        return None
    if _looks_like_date(year_text, serial_text, sub):
        return None
    if len(year_text) == 2:
        if not (marked or (prefix and m.group("sep") == "/")):
            return None
        year = 2000 + int(year_text)
    else:
        year = int(year_text)
    if not marked:
        if typed:
            if len(serial_text) < 3 or _looks_like_year(serial_text):
                return None
        elif len(serial_text) < SERIAL_DIGITS:
            return None
    serial = int(serial_text[:SERIAL_DIGITS])
    if serial == 0:
        return None
    return Dnr(prefix.upper() if prefix else None, year, serial, int(sub) if sub else None)


def _looks_like_date(year: str, serial: str, sub: str | None) -> bool:
    return len(year) == 4 and len(serial) == 2 and sub is not None and len(sub) == 2 and (
        1 <= int(serial) <= 12 and 1 <= int(sub) <= 31
    )


def _looks_like_year(serial: str) -> bool:
    return len(serial) == 4 and 1900 <= int(serial) <= 2099

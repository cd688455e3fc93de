"""Personnummer and samordningsnummer: find them in any text and mask them.

The municipality's AI guidelines forbid storing or showing a raw personal identity number, and records and
questions carry them in every spelling: `850709-9805`, `850709+9805` (aged 100 or more), `19850709-9805`,
`8507099805`, `850709 9805`, and the same with the day plus 60 for a samordningsnummer (`850769-9806`).
Council records are also full of digits that look alike (`Dnr 2023-00497`, `2023-12-11`, `0923-650 00`,
organisationsnummer `212000-2742`), so a candidate is masked only when its date is a real calendar date and
its last digit passes the Luhn check: a look-alike passes both by chance far too rarely to matter, and
nothing outside the candidate is touched.
"""

from __future__ import annotations

import re
from datetime import date

MASK = "[personnummer]"
"""What a number becomes: a constant, so the text stays readable and not one digit of the number leaks."""

SAMORDNING_OFFSET = 60
CENTURIES = (18, 19, 20)

# No letter or digit glued on either side, and no dash or slash leading to more digits (`KS-2024/00457-2`,
# `2023-00497-1`): a number inside a longer code is part of that code. Separators: hyphen, the en dash word
# processors put in, plus (aged 100+), space and the no-break space of typeset records.
_PATTERN = re.compile(
    r"(?<![^\W_])(?<!\d[-–+/])"
    r"(?P<century>\d{2})?(?P<yymmdd>\d{6})[-–+ \u00a0]?(?P<serial>\d{3})(?P<check>\d)"
    r"(?![^\W_])(?![-–+/]\d)"
)


def find(text: str) -> list[tuple[int, int]]:
    """Start and end of every valid personnummer or samordningsnummer in `text`, in order."""
    return [match.span() for match in _PATTERN.finditer(text) if _valid(match)]


def contains(text: str) -> bool:
    return any(_valid(match) for match in _PATTERN.finditer(text))


def mask(text: str) -> str:
    """`text` with every valid number replaced by `MASK`; everything else left as it was."""
    return _PATTERN.sub(lambda match: MASK if _valid(match) else match.group(0), text)


def _valid(match: re.Match[str]) -> bool:
    yymmdd = match["yymmdd"]
    return _luhn_ok(yymmdd + match["serial"] + match["check"]) and _date_ok(match["century"], yymmdd)


def _luhn_ok(digits: str) -> bool:
    """The control digit is the Luhn check over the 10-digit form YYMMDDNNNC (never the century)."""
    total = 0
    for position, digit in enumerate(digits):
        value = int(digit) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _date_ok(century: str | None, yymmdd: str) -> bool:
    """A real date, the day taken minus 60 for a samordningsnummer. Without the century, any of
    1800–2099 will do: `000229` is a real date in 2000, and masking wins a tie."""
    yy, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    if day > SAMORDNING_OFFSET:
        day -= SAMORDNING_OFFSET
    centuries = (int(century),) if century else CENTURIES
    return any(hundreds in CENTURIES and _is_date(hundreds * 100 + yy, month, day) for hundreds in centuries)


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True

"""Reading plain-text records whose encoding nobody wrote down.

Swedish text exported from old systems arrives as UTF-8, UTF-8 with BOM, cp1252 or latin-1. UTF-8 is
tried strictly first (it almost never decodes text in another encoding); then cp1252, which agrees with
latin-1 on every letter Swedish uses. A decoding that yields control characters or letters that never
appear in Swedish prose (cp850 or Mac Roman read as cp1252) is refused rather than guessed.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from .errors import IngestError

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_INSIDE_WORD = re.compile(r"[^\W\d_][„”†‡][^\W\d_]")
_IMPLAUSIBLE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f†‡‰ŠŒŽšœžŸ¤¦¨¯´¸ˆ˜÷×]")


def decode(data: bytes, path: Path) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _plausible(data.decode(encoding, errors="strict"), encoding, path)
    for encoding in ("utf-8", "cp1252"):
        try:
            text = data.decode(encoding, errors="strict")
        except UnicodeDecodeError:
            continue
        return _plausible(text, encoding, path)
    raise _unknown(path, "it is neither UTF-8 nor cp1252/latin-1")


def _plausible(text: str, encoding: str, path: Path) -> str:
    odd = len(_IMPLAUSIBLE.findall(text))
    if _INSIDE_WORD.search(text):
        odd += 1000  # `f”rvaltning`: a quote mark inside a word is a letter read in the wrong code page
    if odd > max(2, len(text) // 2000):
        raise _unknown(path, f"read as {encoding} it holds {odd} characters that do not occur in Swedish text")
    return text


def _unknown(path: Path, why: str) -> IngestError:
    return IngestError(path, f"unknown text encoding: {why}", "Save the file as UTF-8 and ingest it again.")

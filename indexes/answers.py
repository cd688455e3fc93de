"""What kind of answer a chunk can give, and what kind a question asks for: an amount or a date.

"Hur mycket kostade …" is answered by a passage with a sum in it, "När …" by one with a date, yet BM25 scores
the question's topic words only, so the paragraph that introduces a case often outranks the one that holds
the figure. Each chunk's kinds are found once, at build time, and kept as a bit mask beside the other parts
of the version; search gives the chunks whose kind matches the question a small lead (the `answer_kind`
weight in search.WEIGHTS).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

FILE = "answer_kinds.npy"

_MONTHS = "januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|december"
_MONTH_DAY = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"

# (what a question asking for this kind says, what a passage holding it shows)
KINDS = {
    "belopp": (
        re.compile(r"\b(?:hur mycket|hur stor\w*|hur många|belopp\w*|kostnad\w*|kosta\w*|kronor|mkr|summa\w*)\b", re.I),
        re.compile(r"\d[\d \u00a0\u202f]*(?:,\d+)?\s?(?:kr\b|kronor|mkr|tkr|mnkr|miljoner|miljarder|procent|%)", re.I),
    ),
    "datum": (
        re.compile(r"\b(?:när|datum\w*|vilken dag|från och med|sedan vilket år|vilket år|senast)\b", re.I),
        re.compile(
            rf"\b(?:19|20)\d{{2}}-\d{{2}}-\d{{2}}\b|\b(?:19|20)?\d{{2}}{_MONTH_DAY}\b|\b\d{{1,2}}(?::e)? (?:{_MONTHS})\b",
            re.I,
        ),
    ),
}


class AnswerKinds:
    def __init__(self, masks: np.ndarray):
        self.masks = masks

    @classmethod
    def build(cls, texts: list[str]) -> "AnswerKinds":
        masks = np.zeros(len(texts), dtype=np.uint8)
        for bit, (_, shows) in enumerate(KINDS.values()):
            masks |= np.array([bool(shows.search(t)) for t in texts], dtype=np.uint8) << bit
        return cls(masks)

    @classmethod
    def load(cls, folder: Path) -> "AnswerKinds":
        path = folder / FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: this index version was built by an older protokollsok; run `protokollsok ingest` "
                "on the records again to publish a complete version"
            )
        return cls(np.load(path))

    def save(self, folder: Path) -> None:
        np.save(folder / FILE, self.masks)

    @staticmethod
    def asked(question: str) -> int:
        """The kinds of answer the question asks for, as a bit mask (0: none in particular)."""
        return sum(1 << bit for bit, (asks, _) in enumerate(KINDS.values()) if asks.search(question))

    def holds(self, rows: np.ndarray, asked: int) -> np.ndarray:
        """For each row, whether its chunk holds one of the `asked` kinds."""
        return (self.masks[rows] & asked) != 0

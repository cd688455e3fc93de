"""What kind of answer a chunk can give, and what kind a question asks for (language.ANSWER_KINDS: an amount,
a date, a share, a count, a reason, a person).

"Hur mycket kostade …" is answered by a passage with a sum in it, "När …" by one with a date, yet BM25 scores
the question's topic words only, so the paragraph that introduces a case often outranks the one that holds
the figure. Each chunk's kinds are found once, at build time, and kept as a bit mask beside the other parts
of the version; search gives the chunks whose kind matches the question a small lead (the `answer_kind`
weight in search.WEIGHTS).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from protokollsok.ingest.language import ASKS_KIND, SHOWS_KIND

FILE = "answer_kinds.npy"


class AnswerKinds:
    def __init__(self, masks: np.ndarray):
        self.masks = masks

    @classmethod
    def build(cls, texts: list[str]) -> "AnswerKinds":
        masks = np.zeros(len(texts), dtype=np.uint8)
        for bit, shows in enumerate(SHOWS_KIND.values()):
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
        return sum(1 << bit for bit, asks in enumerate(ASKS_KIND.values()) if asks.search(question))

    def holds(self, rows: np.ndarray, asked: int) -> np.ndarray:
        """For each row, whether its chunk holds one of the `asked` kinds."""
        return (self.masks[rows] & asked) != 0

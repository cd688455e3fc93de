"""An answer as it leaves the system: statements of verbatim extracts, the sources they cite, the disclaimer.

Answers (answers.py) makes them and the optional summary (generator.py) reads and adds to them; both import
them from here. `Answer.to_json` is the object `protokollsok ask --json` prints and `POST /api/ask` returns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import msgspec

from protokollsok.indexes.cases import StepRef
from protokollsok.indexes.passage import Citation, Passage

DISCLAIMER = (
    "Svaret består av maskinellt utvalda utdrag ur kommunens handlingar och kan vara ofullständigt. "
    "Kontrollera alltid mot den citerade källan. Du som tjänsteperson ansvarar för hur uppgifterna används, "
    "och svaret får inte ensamt ligga till grund för beslut om enskilda personer."
)
NO_ANSWER = "De genomsökta handlingarna innehåller inget säkert svar på frågan."
POSSIBLE = "Möjligt svar – kontrollera källan"


@dataclass
class Statement:
    text: str
    citations: list[int]
    heads: str | None = None
    """A table row's column heads (ingest/tables.py), verbatim from the same quote: a row's numbers need them."""


@dataclass
class Reason:
    """Why `ask` gave no answer, from a check it actually made: `check` names it (kommun, period, organ_decided,
    decision, outcome, answer_kind, year, open, terms, hits), `text` says it to the official in Swedish."""

    check: str
    asked: str
    found: str
    text: str


class Source(Citation, kw_only=True):
    """A cited passage: its number in the answer and its text as quoted (personnummer masked)."""

    n: int
    quote: str
    superseded_by: StepRef | None = None
    """A decision replaced later: by which, and the sentence that says so (indexes/cases.py)."""


@dataclass
class Answer:
    question: str
    level: str
    """`answer`, `possible` (the best passage, to check: `possible`), or `none`; answered is level `answer`."""
    answer: list[Statement]
    sources: list[Source]
    index_version: str
    strength: float
    possible: list[Statement] = field(default_factory=list)
    reason: Reason | None = None
    trail: dict = field(default_factory=dict)
    disclaimer: str = DISCLAIMER
    trace_id: str = ""
    summary: list[Statement] = field(default_factory=list)
    seconds: float = 0.0
    candidates: list[tuple[float, Passage]] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return self.level == "answer"

    def to_json(self) -> dict:
        """The object `protokollsok ask --json` prints and `POST /api/ask` returns: a contract other tools read."""
        return {
            "question": self.question,
            "answered": self.answered,
            "level": self.level,
            "possible": [asdict(s) for s in self.possible],
            "reason": asdict(self.reason) if self.reason else None,
            "answer": [asdict(s) for s in self.answer],
            "sources": msgspec.to_builtins(self.sources),
            "disclaimer": self.disclaimer,
            "index_version": self.index_version,
            "trace_id": self.trace_id,
            "evidence_strength": round(self.strength, 4),
            "summary": [asdict(s) for s in self.summary],
        }

"""A question → a cited answer made only of verbatim extracts, or a plain statement that the records hold none.

Search finds the candidate chunks; evidence.py says which of them support an answer. From each supporting
chunk (at most MAX_SOURCES, best first) the sentence or short passage that best holds the question's terms
and the kind of answer asked for is taken word for word; a question about what was decided takes the
decision text of the same § or memo when there is one (`Kommunstyrelsen beslutar …`, `Förslag till beslut`).
Each extract becomes one statement citing its source; identical extracts of several sources (the same
paragraph in two §§) become one statement citing both. When no chunk is strong enough, the answer says so in
one sentence and the nearest chunks are shown as "Kanske relevant", never as an answer.

Every statement is a whitespace-normalised substring of its source's quote, and every quote is the
document's clean text at the source's span, personnummer masked (GUIDE §2).
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from protokollsok.indexes.cases import StepRef
from protokollsok.indexes.metadata import Filters
from protokollsok.indexes.search import Searcher

from . import personnummer
from .evidence import Asked, Evidence

if TYPE_CHECKING:
    from .generator import Generator

MAX_SOURCES = 3
CANDIDATES = 10
MAX_WORDS = 60
DISCLAIMER = (
    "Svaret består av maskinellt utvalda utdrag ur kommunens handlingar och kan vara ofullständigt. "
    "Kontrollera alltid mot den citerade källan. Du som tjänsteperson ansvarar för hur uppgifterna används, "
    "och svaret får inte ensamt ligga till grund för beslut om enskilda personer."
)
NO_ANSWER = "De genomsökta handlingarna innehåller inget säkert svar på frågan."
_ASKS_DECISION = re.compile(
    r"\b(?:beslut\w*|besl[öu]t\w*|föreslå\w*|förslag\w*|godkän\w*|antog|antagit|klartecken|avslå\w*|ska\b)",
    re.IGNORECASE,
)
_DECISION_SECTION = re.compile(r"\bbeslut$|förslag", re.IGNORECASE)
_DECISION_TEXT = re.compile(r"\b(?:beslutar|beslöt|beslutade|föreslås|föreslår|förslag till beslut)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÅÄÖ0-9•–\-])|\s*[_.…]{5,}\s*")
_ITEM = re.compile(r"\s*(?:[•–\-]|\d+\.\s|att\b)")


@dataclass
class Statement:
    text: str
    citations: list[int]


@dataclass
class Source:
    n: int
    chunk_id: str
    doc_id: str
    title: str
    kommun: str
    organ: str
    doc_type: str
    date: str | None
    paragraf: str | None
    dnr: str | None
    page: int | None
    quote: str
    span: tuple[int, int]
    superseded_by: StepRef | None = None  # a decision replaced later: by which, and the sentence that says so


@dataclass
class Answer:
    question: str
    answered: bool
    answer: list[Statement]
    sources: list[Source]
    index_version: str
    strength: float
    disclaimer: str = DISCLAIMER
    trace_id: str = ""
    summary: list[Statement] = field(default_factory=list)
    seconds: float = 0.0
    candidates: list[tuple[float, dict]] = field(default_factory=list)

    def to_json(self) -> dict:
        """The object `protokollsok ask --json` prints and `POST /api/ask` returns: a contract other tools read."""
        return {
            "question": self.question,
            "answered": self.answered,
            "answer": [asdict(s) for s in self.answer],
            "sources": [{**asdict(s), "span": list(s.span)} for s in self.sources],
            "disclaimer": self.disclaimer,
            "index_version": self.index_version,
            "trace_id": self.trace_id,
            "evidence_strength": round(self.strength, 4),
            "summary": [asdict(s) for s in self.summary],
        }


class Answerer:
    def __init__(self, searcher: Searcher, evidence: Evidence, generator: Generator | None = None):
        self.searcher = searcher
        self.evidence = evidence
        self.generator = generator

    def ask(self, question: str, filters: Filters = Filters()) -> Answer:
        started = time.perf_counter()
        question = personnummer.mask(question)
        result = self.searcher.search(question, CANDIDATES, filters)
        asked = self.evidence.read(question)
        supported = [(self.evidence.support(asked, h.chunk), h.chunk) for h in result.hits]
        strength = max((s.strength for s, _ in supported), default=0.0)
        strong = [chunk for support, chunk in supported if support.likely][:MAX_SOURCES]
        if strong:
            if _ASKS_DECISION.search(question):
                strong = self._decisions_first(strong)
            answer = Answer(question, True, [], [], result.version, strength)
            for chunk in strong:
                _cite(answer, chunk, self._extract(asked, chunk))
            if self.generator:
                answer.summary = self.generator.summary(answer, self.searcher.analyzer)
        else:
            nearest = [h.chunk for h in result.hits[:MAX_SOURCES]]
            answer = Answer(
                question,
                False,
                [Statement(NO_ANSWER, [])],
                [_source(i + 1, c) for i, c in enumerate(nearest)],
                result.version,
                strength,
            )
        for source in answer.sources:  # issue 22: an answer built on a replaced decision says so (indexes/cases.py)
            later = self.searcher.cases.replaced(source.doc_id, source.paragraf, source.dnr)
            source.superseded_by = later.ref() if later else None
        answer.seconds = time.perf_counter() - started
        answer.candidates = [(support.strength, chunk) for support, chunk in supported]
        return answer

    def _decisions_first(self, chunks: list[dict]) -> list[dict]:
        """The decision text of each cited § or memo in front of its other chunks, fetched if search missed it."""
        out: list[dict] = []
        for chunk in chunks:
            if not _DECISION_SECTION.search(chunk["section"] or ""):
                decision = next(
                    (
                        c
                        for c in self.searcher.reader.unit_chunks(chunk["doc_id"], chunk["unit"])
                        if _DECISION_SECTION.search(c["section"] or "")
                    ),
                    None,
                )
                if decision and all(decision["chunk_id"] != c["chunk_id"] for c in out):
                    out.append(decision)
            if all(chunk["chunk_id"] != c["chunk_id"] for c in out):
                out.append(chunk)
        return out[:MAX_SOURCES]

    def _extract(self, asked: Asked, chunk: dict) -> str:
        """The chunk's passage that best holds the question's terms and the kind of answer asked for."""
        text = personnummer.mask(chunk["text"])
        passages = [p for p in _passages(text) if p.strip()] or [text]
        decision = bool(_ASKS_DECISION.search(asked.text))
        best = max(
            range(len(passages)), key=lambda i: (self._score(asked, passages[i], decision), -i)
        )  # the first of equals
        extract = normalise(passages[best])
        if len(extract.split()) < 8 and best + 1 < len(passages):
            joined = f"{extract} {normalise(passages[best + 1])}"
            extract = joined if joined in normalise(text) else extract
        return " ".join(extract.split()[:MAX_WORDS])

    def _score(self, asked: Asked, passage: str, decision: bool) -> float:
        support = self.evidence.support(asked, {"text": passage})
        score = support.found + 0.3 * (support.kinds_met and bool(asked.kinds))
        return score + (0.3 if decision and _DECISION_TEXT.search(passage) else 0.0)


def normalise(text: str) -> str:
    return " ".join(text.split())


def _passages(text: str) -> list[str]:
    """Sentences, with headings, list items and blank-line breaks as boundaries too: lines are joined into one
    passage only where a sentence runs on over a line break."""
    blocks: list[list[str]] = []
    for line in text.split("\n"):
        stripped = line.strip()
        previous = blocks[-1][-1] if blocks and blocks[-1] else ""
        starts = (
            not blocks
            or not stripped
            or not previous
            or previous.endswith((".", "!", "?", ":"))
            or _ITEM.match(stripped)
            or (len(previous.split()) <= 8 and not previous.endswith((",", "-", "och")) and stripped[:1].isupper())
        )
        if starts:
            blocks.append([])
        if stripped:
            blocks[-1].append(stripped)
    return [part for block in blocks if block for part in _SENTENCE_END.split(" ".join(block))]


def _cite(answer: Answer, chunk: dict, extract: str) -> None:
    n = len(answer.sources) + 1
    answer.sources.append(_source(n, chunk))
    same = next((s for s in answer.answer if s.text == extract), None)
    if same:
        same.citations.append(n)
    else:
        answer.answer.append(Statement(extract, [n]))


def _source(n: int, chunk: dict) -> Source:
    return Source(
        n=n,
        chunk_id=chunk["chunk_id"],
        doc_id=chunk["doc_id"],
        title=chunk["title"],
        kommun=chunk["kommun"],
        organ=chunk["organ"],
        doc_type=chunk["doc_type"],
        date=chunk["date"],
        paragraf=chunk["paragraf"],
        dnr=chunk["dnr"],
        page=chunk["page"],
        quote=personnummer.mask(chunk["text"]),
        span=(chunk["span_start"], chunk["span_end"]),
    )

"""A question → a cited answer made only of verbatim extracts, or a plain statement that the records hold none.

Search finds the candidate chunks; evidence.py says which of them support an answer. From each supporting
chunk (at most the recipe's max_sources, best first) the sentence, list item or table row that best holds the
question's terms and the kind of answer asked for is taken word for word, a row with its table's column heads
(ingest/tables.py); a question about what was decided takes the decision text of the same § or memo when there
is one (`Kommunstyrelsen beslutar …`, `Förslag till beslut`).
Each extract becomes one statement citing its source; identical extracts of several sources (the same
paragraph in two §§) become one statement citing both. When no chunk is strong enough, the answer says so in
one sentence and the nearest chunks are shown as "Kanske relevant", never as an answer.

Every statement, and a row's heads, is a whitespace-normalised substring of its source's quote, and every quote
is the document's clean text at the source's span, personnummer masked (GUIDE §2).
"""

from __future__ import annotations

import re
import time
from functools import lru_cache

import msgspec
from typing import TYPE_CHECKING

from protokollsok.indexes.metadata import Filters
from protokollsok.indexes.passage import Passage, cited
from protokollsok.indexes.question import Question
from protokollsok.indexes.search import Searcher
from protokollsok.ingest import frontpage, tables
from protokollsok.ingest.language import DECISION_SECTION, DECISION_TEXT
from protokollsok.ingest.structure import fold

from . import personnummer, reasons
from .evidence import Evidence, Support
from .records import NO_ANSWER, Answer, Source, Statement

if TYPE_CHECKING:
    from .generator import Generator
    from .judge import Judge

DOCUMENTS_CACHED = 32
WIDEN = 600  # characters a passage may grow by on each side to reach a sentence's start or end
# Where a sentence ends: a full stop (or ! ?) before a space.
_BOUNDARY = re.compile(r"[.!?](?=\s)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÅÄÖ0-9•–\-])|\s*[_.…]{5,}\s*")
_ITEM = re.compile(r"\s*(?:[•–\-]|\d+\.\s|att\b)")


class Answerer:
    def __init__(
        self, searcher: Searcher, evidence: Evidence, generator: Generator | None = None, judge: Judge | None = None
    ):
        self.searcher = searcher
        self.evidence = evidence
        self.generator = generator
        self.judge = judge
        self.recipe = searcher.recipe
        self.kommuner = searcher.reader.facets()["kommuner"]
        # The records an answer widens, reads front pages from or shows a judge: a version never changes, and
        # the same few records answer most questions, so each is read from the store once, not once a source.
        self.document = lru_cache(maxsize=DOCUMENTS_CACHED)(searcher.reader.document)
        self.unit_tables = lru_cache(maxsize=DOCUMENTS_CACHED * 4)(self._unit_tables)

    def ask(self, question: Question, filters: Filters = Filters()) -> Answer:
        started = time.perf_counter()
        result = self.searcher.search(question, self.recipe.answer_candidates, filters)
        supported = [(self.evidence.support(question, h.passage, h.reader), h.passage) for h in result.hits]
        supported, verdict = self._judged(question, supported)
        strength = max((s.strength for s, _ in supported), default=0.0)
        strong = [passage for support, passage in supported if support.likely][: self.recipe.max_sources]
        front = self._front_page(question, [h.passage for h in result.hits])
        if front:
            answer = Answer(question.text, "answer", [], [], result.version, 1.0)
            _cite(answer, front[0], Statement(front[1], []))
        elif strong:
            if question.decision:
                strong = self._decisions_first(strong)
            answer = Answer(question.text, "answer", [], [], result.version, strength)
            for passage in strong:
                _cite(answer, *self._extract(question, self._whole_sentences(passage)))
            if self.generator:
                answer.summary = self.generator.summary(answer, self.searcher.analyzer)
        else:
            best = max(supported, key=lambda item: item[0].strength, default=None)
            level = best[0].level if best else "none"
            nearest = [h.passage for h in result.hits[: self.recipe.max_sources]]
            if level == "possible":
                # Below the answer threshold strength is unsure; among the passages it leaves possible, search's
                # order (both rankers, the leads) is the better guess: dev gold shown 0.768 -> 0.804.
                shown = next(passage for support, passage in supported if support.level == "possible")
                first, possible = self._extract(question, self._whole_sentences(shown))
                nearest = [first, *(p for p in nearest if p.chunk_id != first.chunk_id)][: self.recipe.max_sources]
            answer = Answer(
                question.text,
                level,
                [Statement(NO_ANSWER, [])],
                [_source(i + 1, p) for i, p in enumerate(nearest)],
                result.version,
                strength,
                reason=reasons.why(question, best[0] if best else None, best[1] if best else None, self.kommuner),
            )
            if level == "possible":
                possible.citations = [1]
                answer.possible = [possible]
        for source in answer.sources:  # an answer built on a replaced decision says so (indexes/cases.py)
            later = self.searcher.cases.replaced(source.doc_id, source.paragraf, source.dnr)
            source.superseded_by = later.ref() if later else None
        answer.seconds = time.perf_counter() - started
        answer.candidates = [(support.strength, passage) for support, passage in supported]
        answer.trail = _trail(supported, self.recipe)
        if verdict:
            answer.trail["judge"] = verdict
        return answer

    def _front_page(self, question: Question, passages: list[Passage]) -> tuple[Passage, str] | None:
        """A front-page question (`Vem justerar protokollet?`) answered from the field of the first protocol
        among the hits that the question's kommun and year allow: the field's line as the source, the field
        itself as the statement."""
        if question.front_field is None:
            return None
        wanted = "beslutande" if question.front_field == "ordforande" else question.front_field
        named = question.named_kommuner
        for doc_id in dict.fromkeys(p.doc_id for p in passages if fold(p.doc_type) == "protokoll"):
            document = self.document(doc_id)
            if document is None or (named and fold(document.kommun) not in named):
                continue
            if question.years and (document.date or "")[:4] not in question.years:
                continue
            for number, unit in enumerate(document.units):
                field = next((f for f in unit.fields if f.name == wanted), None)
                if field is None:
                    continue
                span = frontpage.chair(document.text, field) if question.front_field == "ordforande" else None
                start, end = span or (field.start, field.end)
                quote_start = document.text.rfind("\n", 0, start) + 1
                quote_end = document.text.find("\n", end)
                quote_end = len(document.text) if quote_end < 0 else quote_end
                chunks = self.searcher.reader.unit_chunks(doc_id, number)
                at = next((c for c in chunks if c.span[0] <= start < c.span[1]), chunks[0] if chunks else None)
                if at is None:
                    continue
                source = msgspec.structs.replace(
                    at, span=(quote_start, quote_end), text=document.text[quote_start:quote_end]
                )
                statement = " ".join(normalise(document.text[start:end]).split()[: self.recipe.max_words])
                return source, statement
        return None

    def _judged(
        self, question: Question, supported: list[tuple[Support, Passage]]
    ) -> tuple[list[tuple[Support, Passage]], dict | None]:
        """With a judge (judge.py), the best candidate at `answer` or `possible` put to it: its support failed
        when the verdict fails (evidence.judged); and the verdict for the trail. Only the best, so an ask waits
        for one verdict at most."""
        best = max(range(len(supported)), key=lambda i: supported[i][0].strength, default=None)
        if self.judge is None or best is None or supported[best][0].level == "none":
            return supported, None
        support, passage = supported[best]
        verdict = self.judge.verdict(question.text, self._unit_text(passage))
        if verdict is None:
            return supported, None
        if verdict.failure:
            supported = [*supported[:best], (self.evidence.judged(support, verdict.failure), passage), *supported[best + 1 :]]
        return supported, verdict.to_trail(passage.chunk_id)

    def _unit_text(self, passage: Passage) -> str:
        """The whole § or memo the passage is part of, as the record's clean text holds it."""
        document = self.document(passage.doc_id)
        if document is None or not 0 <= passage.unit < len(document.units):
            return passage.text
        unit = document.units[passage.unit]
        return document.text[unit.start : unit.end]

    def _decisions_first(self, passages: list[Passage]) -> list[Passage]:
        """The decision text of the first cited § or memo in front of it, fetched if search missed it. Only the
        first's: a decision fetched for each would take the places of the other passages' own evidence."""
        first = passages[0]
        decision = None
        if not DECISION_SECTION.search(first.section or ""):
            chunks = self.searcher.reader.unit_chunks(first.doc_id, first.unit)
            decision = next((p for p in chunks if DECISION_SECTION.search(p.section or "")), None)
        out = [decision] if decision else []
        out += [p for p in passages if all(p.chunk_id != q.chunk_id for q in out)]
        return out[: self.recipe.max_sources]

    def _whole_sentences(self, passage: Passage) -> Passage:
        """The passage widened to whole sentences within its unit: a chunk is a token window, and a window that
        starts or ends mid-sentence would make a statement of a fragment."""
        document = self.document(passage.doc_id)
        if document is None or not 0 <= passage.unit < len(document.units):
            return passage
        unit = document.units[passage.unit]
        text = document.text
        start, end = passage.span
        low, high = max(unit.start, start - WIDEN), min(unit.end, end + WIDEN)
        before = [m.end() for m in _BOUNDARY.finditer(text, low, start)]
        start = before[-1] if before else (unit.start if start - unit.start <= WIDEN else start)
        after = _BOUNDARY.search(text, max(start, end - 1), high)
        end = after.start() + 1 if after else end
        if (start, end) == passage.span:
            return passage
        return msgspec.structs.replace(passage, span=(start, end), text=text[start:end])

    def _extract(self, question: Question, passage: Passage) -> tuple[Passage, Statement]:
        """The passage's sentence, list item or table row that best holds the question's terms and the kind of
        answer asked for, as a statement yet to be cited. A table row is taken whole, all its lines, with its
        table's column heads (ingest/tables.py): its numbers mean nothing without them, so the passage is
        widened within its unit to hold the heads too."""
        text, (low, high) = passage.text, passage.span
        cut: list[tuple[int, int, tables.Table | None]] = []  # rows to take whole, heads to leave out
        for table in self._tables(passage):
            if table.head and table.head[0] < high and table.head[1] > low:
                cut.append((*table.head, None))
            cut += [(*row, table) for row in table.rows if row[0] < high and row[1] > low]
        pieces: list[tuple[str, tables.Table | None, tuple[int, int] | None]] = []
        at = low
        for start, end, table in sorted(cut):
            pieces += [(p, None, None) for p in _passages(personnummer.mask(text[at - low : max(at, start) - low]))]
            if table is not None:
                pieces.append((self._text(passage, (start, end)), table, (start, end)))
            at = max(at, end)
        pieces += [(p, None, None) for p in _passages(personnummer.mask(text[at - low :]))]
        pieces = [p for p in pieces if p[0].strip()] or [(personnummer.mask(text), None, None)]
        heads = [normalise(self._text(passage, t.head)) if t and t.head else "" for _, t, _ in pieces]
        best = max(range(len(pieces)), key=lambda i: (self._score(question, pieces[i][0], heads[i]), -i))  # first of equals
        piece, table, row = pieces[best]
        extract = normalise(piece)
        if table is not None:
            passage = self._widened(passage, table.head or row, row)
            return passage, Statement(" ".join(extract.split()[: self.recipe.max_words]), [], heads[best] or None)
        sentences = [p for p, t, _ in pieces]
        if len(extract.split()) < 8 and best + 1 < len(pieces) and pieces[best + 1][1] is None:
            joined = f"{extract} {normalise(sentences[best + 1])}"
            extract = joined if joined in normalise(personnummer.mask(text)) else extract
        return passage, Statement(" ".join(extract.split()[: self.recipe.max_words]), [])

    def _tables(self, passage: Passage) -> list[tables.Table]:
        return self.unit_tables(passage.doc_id, passage.unit)

    def _unit_tables(self, doc_id: str, number: int) -> list[tables.Table]:
        """The tables of a § or memo (read once per version, like its record); none outside a unit."""
        document = self.document(doc_id)
        if document is None or not 0 <= number < len(document.units):
            return []
        unit = document.units[number]
        return tables.find(document.text, unit.start, unit.end)

    def _text(self, passage: Passage, span: tuple[int, int]) -> str:
        return personnummer.mask(self.document(passage.doc_id).text[span[0] : span[1]])

    def _widened(self, passage: Passage, *spans: tuple[int, int]) -> Passage:
        """The passage grown to cover the spans (a row and its table's heads), all within its unit."""
        start = min(passage.span[0], *(s[0] for s in spans))
        end = max(passage.span[1], *(s[1] for s in spans))
        if (start, end) == passage.span:
            return passage
        text = self.document(passage.doc_id).text
        return msgspec.structs.replace(passage, span=(start, end), text=text[start:end])

    def _score(self, question: Question, sentence: str, heads: str = "") -> float:
        """A table row is read with its heads, and its cells in the unit the heads name (`tkr`, `%`), so a row
        answers `hur mycket` as a sentence with `-1 400 tkr` would."""
        text = f"{heads}\n{sentence} {tables.unit(heads) or ''}" if heads else sentence
        support = self.evidence.text_support(question, text)
        score = support.found + self.recipe.extract_kind_bonus * (support.met("answer_kind") and bool(question.kinds))
        decision = question.decision and DECISION_TEXT.search(sentence)
        return score + (self.recipe.extract_decision_bonus if decision else 0.0)


def normalise(text: str) -> str:
    return " ".join(text.split())


def _passages(text: str) -> list[str]:
    """Sentences and list items: lines are joined into one passage where a sentence runs on over a line break,
    blank lines included (PDF text often puts one between every line), and split where a sentence ends, a
    list item starts or a short heading stands alone."""
    blocks: list[list[str]] = []
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        previous = blocks[-1][-1] if blocks else ""
        starts = (
            not blocks
            or previous.endswith((".", "!", "?", ":"))
            or _ITEM.match(stripped)
            or (len(previous.split()) <= 8 and not previous.endswith((",", "-", "och")) and stripped[:1].isupper())
        )
        if starts:
            blocks.append([])
        blocks[-1].append(stripped)
    return [part for block in blocks for part in _SENTENCE_END.split(" ".join(block))]


def _cite(answer: Answer, passage: Passage, statement: Statement) -> None:
    n = len(answer.sources) + 1
    answer.sources.append(_source(n, passage))
    same = next((s for s in answer.answer if (s.text, s.heads) == (statement.text, statement.heads)), None)
    if same:
        same.citations.append(n)
    else:
        statement.citations = [n]
        answer.answer.append(statement)


def _trail(supported: list[tuple[Support, Passage]], recipe) -> dict:
    """Every candidate's strength and failed checks, and the thresholds: why `ask` answered as it did."""
    return {
        "threshold": recipe.threshold,
        "possible_threshold": recipe.possible_threshold,
        "candidates": [
            {
                "chunk_id": passage.chunk_id,
                "strength": round(support.strength, 4),
                "terms": round(support.found, 4),
                "level": support.level,
                "case_match": support.case_match,
                **({"reader": round(support.reader, 4)} if support.reader is not None else {}),
                "failed": [{"check": c.name, "asked": c.asked, "found": c.found} for c in support.failed],
            }
            for support, passage in supported
        ],
    }


def _source(n: int, passage: Passage) -> Source:
    return cited(passage, Source, n=n, quote=personnummer.mask(passage.text))

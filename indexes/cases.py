"""A case's timeline across records, and the decision in force: what the index holds about one Dnr, in order.

A matter passes through several records: a kallelse lists it (agenda), a tjänsteskrivelse proposes (memo), a
protocol decides, a later protocol revises or replaces it. Each unit (§, memo, agenda item) whose own Dnr is
the case becomes a step, and so does a § of another case whose decision replaces this one in so many words
(its decision names the Dnr and says `upphäver`, `ersätter`, `revideras`, `gäller från och med`).

What a step is comes from what the record says, never from where a word happens to stand:
- an agenda item of a kallelse is `agenda`, a tjänsteskrivelse `memo`;
- a § is a `decision` only in a protokoll, and only when its decision section (`Kommunstyrelsens beslut`)
  decides: a section `… förslag till kommunstyrelsen` (Norsjö writes `Kommunfullmäktiges beslut` under it),
  a decision section that opens by proposing (`Kommunstyrelsen föreslår, att kommunfullmäktige beslutar …`)
  and every § printed in a kallelse are `proposal`. A proposal is never presented as a decision.

The decision in force is the latest decision of the organ that decides the case: the highest-ranking organ
that has decided it (fullmäktige over styrelse and nämnd over their utskott), so that an utskott noting
information later does not unseat fullmäktige's rule. Every decision before it is superseded by it.

Answers and search use two things from here:
`Cases.replaced(doc_id, paragraf, dnr)`, the decision that replaced a cited one, whose `ref().note` an answer
shows ("Beslutet ersattes 2025-02-24 § 5 (…)"); and `Cases.in_force_first`, which search calls for a question
that asks what applies now (`Question.applies_now`, language.asks_what_applies), so that the decision in force
comes before the decisions it replaced and before the memos and proposals that led to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from protokollsok.ingest import dnr as dnrs
from protokollsok.ingest.structure import fold

from .passage import Passage
from .reader import Reader

KINDS = ("agenda", "memo", "proposal", "decision")
TIMELINES_CACHED = 1024  # an index version never changes, so a case's timeline is built once per version

_DECISION_SECTION = re.compile(r"\bbeslut$", re.IGNORECASE)
_PROPOSAL_SECTION = re.compile(r"\bförslag\b", re.IGNORECASE)
_PROPOSES = re.compile(r"\b(?:föreslår|föreslås|att föreslå)\b", re.IGNORECASE)
_SUPERSEDES = re.compile(
    r"\b(?:upphäv\w*|ersätter|ersätts|revider\w*|gäll(?:er|a) från och med|träder i kraft)\b", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s|\n\s*\n|\n\s*[•–-]")
@dataclass(frozen=True)
class StepRef:
    """The later step that replaced a decision: where it stands, and the sentence an answer shows."""

    doc_id: str
    paragraf: str | None
    date: str | None
    organ: str
    dnr: str | None
    note: str


@dataclass
class Step:
    """One record's word on the case. `unit` is the unit's place in the document (`/api/documents` units)."""

    date: str | None
    organ: str
    doc_id: str
    doc_type: str
    paragraf: str | None
    kind: str
    in_force: bool
    superseded_by: StepRef | None
    title: str
    dnr: str | None
    unit: int

    def ref(self) -> StepRef:
        where = " ".join(part for part in (self.date, self.paragraf) if part)
        return StepRef(
            self.doc_id, self.paragraf, self.date, self.organ, self.dnr, f"Beslutet ersattes {where} ({self.doc_id})."
        )


@dataclass
class Timeline:
    dnr: str
    steps: list[Step] = field(default_factory=list)

    def in_force(self) -> Step | None:
        return next((s for s in self.steps if s.in_force), None)

    def decision(self, doc_id: str, paragraf: str | None) -> Step | None:
        return next(
            (s for s in self.steps if s.kind == "decision" and s.doc_id == doc_id and s.paragraf == paragraf), None
        )


class Cases:
    """The timelines of one index version's cases, built from what its reader holds."""

    def __init__(self, reader: Reader):
        self.reader = reader
        self.timeline = lru_cache(maxsize=TIMELINES_CACHED)(self._timeline)

    def replaced(self, doc_id: str, paragraf: str | None, dnr: str | None) -> Step | None:
        """The decision in force that replaced the decision cited (a passage's doc_id, paragraf and Dnr), or
        None when the passage is no decision, or the decision is still in force."""
        parsed = dnrs.parse(dnr) if dnr else None
        if parsed is None:
            return None
        timeline = self.timeline(parsed.key)
        step = timeline.decision(doc_id, paragraf)
        return timeline.in_force() if step is not None and step.superseded_by is not None else None

    def in_force_first(
        self, ranked: list[tuple[int, float]], chunks: list[Passage], allowed: np.ndarray | None
    ) -> tuple[list[tuple[int, float]], list[Passage]]:
        """Hits (rows with scores, and their chunks) with the decision in force put in front of each hit of
        another step of its case (a decision it replaced, the memo or proposal before it), at that hit's score;
        its decision text is brought in when search missed it and the filters (`allowed` rows) let it through.
        As many hits as came in."""
        permitted = None if allowed is None else set(allowed.tolist())
        out: list[tuple[tuple[int, float], Passage]] = []
        placed: set[int] = set()
        for (row, score), chunk in zip(ranked, chunks):
            in_force = self._in_force_over(chunk)
            lead = self._decision_text(in_force) if in_force is not None else None
            if lead is not None and lead.row not in placed and (permitted is None or lead.row in permitted):
                out.append(((lead.row, score), lead))
                placed.add(lead.row)
            if row not in placed:
                out.append(((row, score), chunk))
                placed.add(row)
        out = out[: len(ranked)]
        return [pair for pair, _ in out], [chunk for _, chunk in out]

    def _in_force_over(self, chunk: Passage) -> Step | None:
        """The decision in force of the case a chunk's unit belongs to, when the chunk is not part of it."""
        parsed = dnrs.parse(chunk.dnr) if chunk.dnr else None
        in_force = self.timeline(parsed.key).in_force() if parsed else None
        if in_force is None or (in_force.doc_id, in_force.unit) == (chunk.doc_id, chunk.unit):
            return None
        return in_force

    def _decision_text(self, step: Step) -> Passage | None:
        chunks = self.reader.unit_chunks(step.doc_id, step.unit)
        return next((c for c in chunks if _DECISION_SECTION.search(c.section or "")), chunks[0] if chunks else None)

    def _timeline(self, key: str) -> Timeline:
        openings, _, mentioned = self.reader.rows_with_dnr(key)
        own = {(c.doc_id, c.unit) for c in self.reader.chunks(openings)}
        others = {(c.doc_id, c.unit) for c in self.reader.chunks(mentioned) if c.unit_kind == "paragraf"}
        steps = []
        for doc_id, unit in sorted(own) + sorted(others - own):
            chunks = self.reader.unit_chunks(doc_id, unit)
            kind = kind_of(chunks)
            if kind is None or ((doc_id, unit) not in own and not replaces(chunks, key)):
                continue
            c = chunks[0]
            steps.append(
                Step(c.date, c.organ, doc_id, c.doc_type, c.paragraf, kind, False, None, c.title, c.dnr, unit)
            )
        steps.sort(key=lambda s: (s.date is None, s.date or "", KINDS.index(s.kind), s.doc_id, s.unit))
        _mark_in_force(steps)
        return Timeline(key, steps)


def kind_of(chunks: list[Passage]) -> str | None:
    """What one unit (its chunks, in order) is in a case: agenda, memo, proposal or decision; None for a unit
    that is none of them (a report heading, a front page)."""
    if not chunks:
        return None
    first = chunks[0]
    if first.unit_kind == "ärende":
        return "agenda"
    if first.unit_kind == "tjänsteskrivelse":
        return "memo"
    if first.unit_kind != "paragraf":
        return None
    if fold(first.doc_type) != "protokoll":
        return "proposal"  # a draft § in a kallelse, an extract among memos: not yet decided
    decision = _section_text(chunks, _DECISION_SECTION)
    if decision is not None:
        return "proposal" if _PROPOSES.search(_first_sentence(decision)) else "decision"
    return "proposal" if _section_text(chunks, _PROPOSAL_SECTION) is not None else "decision"


def replaces(chunks: list[Passage], key: str) -> bool:
    """Whether a §'s decision (or proposal) itself names the case `key` and says that it replaces, revokes or
    revises it; a Dnr named only in the background of a decision that starts to apply is not replaced by it."""
    text = _section_text(chunks, _DECISION_SECTION) or _section_text(chunks, _PROPOSAL_SECTION) or ""
    return bool(_SUPERSEDES.search(text)) and any(m.dnr.key == key for m in dnrs.find_all(text))


def _mark_in_force(steps: list[Step]) -> None:
    decisions = [s for s in steps if s.kind == "decision"]
    if not decisions:
        return
    top = max(_rank(s.organ) for s in decisions)
    in_force = [s for s in decisions if _rank(s.organ) == top][-1]
    in_force.in_force = True
    for step in decisions[: decisions.index(in_force)]:
        step.superseded_by = in_force.ref()


def _rank(organ: str) -> int:
    """Fullmäktige decides over styrelse and nämnder, which decide over their utskott and beredningar."""
    organ = fold(organ)
    if "fullmaktige" in organ:
        return 3
    if ("styrelse" in organ or "namnd" in organ) and "utskott" not in organ:
        return 2
    return 1


def _section_text(chunks: list[Passage], name: re.Pattern) -> str | None:
    """The text of a unit's first section whose name matches, from its heading on; None when there is none."""
    texts = [c for c in chunks if c.section and name.search(c.section)]
    if not texts:
        return None
    section = texts[0].section
    text = "\n".join(c.text for c in texts if c.section == section)
    at = text.casefold().find(section.casefold())
    return text[at + len(section) :] if at >= 0 else text


def _first_sentence(text: str) -> str:
    text = text.lstrip(" :\n•–-")
    return _SENTENCE_END.split(text, maxsplit=1)[0]

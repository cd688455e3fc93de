"""Units → token-bounded chunks that never cross a §, a memo or a headed section.

A chunk is a run of whole lines of one section (a line too long on its own is cut between words), bounded
in cl100k tokens and in the embedding model's tokens, with room left in the model's window for the context
line the index puts in front of it. Consecutive chunks of a section share their last line or two, so a
sentence cut at a boundary is still found whole in one of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .records import CleanText, Chunk, Document
from .tokens import TokenCounter


@dataclass(frozen=True)
class Limits:
    max_tokens: int = 200
    context_reserve: int = 48
    overlap_tokens: int = 40

    def model_budget(self, window: int) -> int:
        return window - self.context_reserve


def chunk(document: Document, clean: CleanText, counter: TokenCounter, limits: Limits = Limits()) -> list[Chunk]:
    chunks: list[Chunk] = []
    model_budget = limits.model_budget(counter.window)
    for unit_number, unit in enumerate(document.units):
        for section in unit.sections:
            for start, end in _split(clean.text, section.start, section.end, counter, limits, model_budget):
                text = clean.text[start:end]
                pages = clean.pages(start, end)
                chunks.append(
                    Chunk(
                        chunk_id=f"{document.doc_id}#{len(chunks):04d}",
                        doc_id=document.doc_id,
                        kommun=document.kommun,
                        organ=unit.organ or document.organ,
                        doc_type=document.doc_type,
                        date=unit.date or document.date,
                        title=unit.title or document.title,
                        paragraf=unit.paragraf,
                        dnr=unit.dnr,
                        dnr_as_written=unit.dnr_as_written,
                        section=section.name,
                        heading_path=unit.heading_path,
                        page=pages[0] if pages else None,
                        pages=pages,
                        text=text,
                        span=(start, end),
                        unit_kind=unit.kind,
                        unit=unit_number,
                        tokens=counter.cl100k(text),
                        model_tokens=counter.model(text),
                    )
                )
    return chunks


def _split(text: str, start: int, end: int, counter: TokenCounter, limits: Limits, model_budget: int):
    pieces = _pieces(text, start, end, counter, limits, model_budget)
    i = 0
    while i < len(pieces):
        j = i
        while j + 1 < len(pieces) and _fits(text[pieces[i][0] : pieces[j + 1][1]], counter, limits, model_budget):
            j += 1
        yield pieces[i][0], pieces[j][1]
        if j + 1 >= len(pieces):
            break
        back = j
        while back > i and counter.cl100k(text[pieces[back][0] : pieces[j][1]]) <= limits.overlap_tokens:
            back -= 1
        i = max(back + 1, i + 1) if back < j else j + 1


def _fits(piece: str, counter: TokenCounter, limits: Limits, model_budget: int) -> bool:
    return counter.cl100k(piece) <= limits.max_tokens and counter.model(piece) <= model_budget


def _pieces(text: str, start: int, end: int, counter: TokenCounter, limits: Limits, model_budget: int):
    """Non-blank lines as spans; a line over the limits is cut into runs of words that fit."""
    pieces = []
    for m in re.finditer(r"[^\n]+", text[start:end]):
        a, b = start + m.start(), start + m.end()
        if not text[a:b].strip():
            continue
        if _fits(text[a:b], counter, limits, model_budget):
            pieces.append((a, b))
            continue
        words = [(a + w.start(), a + w.end()) for w in re.finditer(r"\S+", text[a:b])]
        run_start = words[0][0]
        last_end = words[0][1]
        for ws, we in words[1:]:
            if not _fits(text[run_start:we], counter, limits, model_budget):
                pieces.append((run_start, last_end))
                run_start = ws
            last_end = we
        pieces.append((run_start, last_end))
    return pieces

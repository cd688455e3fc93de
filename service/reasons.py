"""Why `ask` gave no answer, in words an official understands: only from a check evidence.py actually made.

The best candidate's failed checks are read in the order an official would want them told (the wrong
kommun before a missing word); a question no passage came near gets the `terms` reason, and a search that
found nothing at all the `hits` reason. The whole trail (every candidate and check) goes to the query log.
"""

from __future__ import annotations

from protokollsok.indexes.passage import Passage
from protokollsok.indexes.question import Question
from protokollsok.ingest.structure import fold

from .evidence import Check, Support
from .records import Reason

ORDER = ("kommun", "organ_decided", "decision", "period", "outcome", "year", "answer_kind", "judge", "reader", "terms")
KIND_WORDS = {
    "belopp": "något belopp",
    "datum": "något datum",
    "andel": "någon andel eller procentsats",
    "antal": "något antal",
    "orsak": "något skäl",
    "person": "något namn",
}


def why(question: Question, support: Support | None, passage: Passage | None, kommuner: list[str]) -> Reason:
    if support is None or passage is None:
        return Reason("hits", "", "", "Inga handlingar i indexet matchar frågan och de valda filtren.")
    failed = sorted(support.failed, key=lambda c: ORDER.index(c.name) if c.name in ORDER else len(ORDER))
    check = failed[0] if failed else Check("terms", "", "")
    return Reason(check.name, check.asked, check.found, _text(check, question, passage, kommuner))


def _text(check: Check, question: Question, passage: Passage, kommuner: list[str]) -> str:
    where = f"{passage.title} ({passage.doc_type}, {passage.date or 'utan datum'})"
    if check.name == "kommun":
        indexed = {fold(k) for k in kommuner}
        missing = sorted(k for k in question.acting_kommuner | question.places if fold(k) not in indexed)
        if missing:
            return f"Indexet har inga handlingar från {', '.join(missing)}."
        return f"De handlingar som ligger närmast gäller {passage.kommun}, inte den kommun frågan gäller."
    if check.name == "organ_decided":
        return (
            f"Inget beslut av {check.asked} finns i handlingarna om detta; närmast finns {where}, där "
            f"{check.found or passage.organ} står för texten."
        )
    if check.name == "decision":
        return f"Ärendet finns som förslag i {where}, men inget beslut finns i handlingarna."
    if check.name == "period":
        return f"Handlingarna om detta gäller en del av året ({check.found}), inte hela året."
    if check.name == "outcome":
        return f"Handlingarna innehåller en prognos eller plan ({check.found}), inte ett utfall."
    if check.name == "year":
        return f"De handlingar som ligger närmast gäller inte {check.asked}."
    if check.name == "judge":
        return f"Språkmodellen kunde inte visa var {where} svarar på frågan; kontrollera källan själv."
    if check.name == "reader":
        return f"Läsmodellen bedömer att {where} inte svarar på frågan."
    if check.name == "answer_kind":
        kinds = [KIND_WORDS.get(k, k) for k in check.asked.split(", ")]
        return f"Handlingarna om detta innehåller inte {' eller '.join(kinds)} som svarar på frågan."
    return "Inga handlingar tar upp det frågan gäller; de närmaste träffarna täcker bara en del av frågans ord."

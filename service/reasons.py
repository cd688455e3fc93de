"""Why `ask` gave no answer, in words an official understands: only from a check evidence.py actually made.

The best candidate's failed checks are read in the order an official would want them told (the wrong
kommun before a missing word); a question no passage came near gets the `terms` reason, and a search that
found nothing at all the `hits` reason. The whole trail (every candidate and check) goes to the query log.
"""

from __future__ import annotations

from protokollsok.indexes.passage import Passage
from protokollsok.indexes.question import Question
from protokollsok.ingest.language import regioner
from protokollsok.ingest.structure import fold

from .evidence import Check, Support
from .records import Reason

ORDER = (
    "kommun", "organ_decided", "decision", "period", "outcome", "year", "open", "answer_kind", "judge", "reader", "terms"
)
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


# What each check that failed says; `{where}` is the nearest passage's record, `{asked}` and `{found}` the
# check's own. `kommun` and `answer_kind` need more than a template (_text).
TEXTS = {
    "organ_decided": "Inget beslut av {asked} finns i handlingarna om detta; närmast finns {where}, där {organ} "
    "står för texten.",
    "decision": "Ärendet finns som förslag i {where}, men inget beslut finns i handlingarna.",
    "period": "Handlingarna om detta gäller en del av året ({found}), inte hela året.",
    "outcome": "Handlingarna innehåller en prognos eller plan ({found}), inte ett utfall.",
    "year": "De handlingar som ligger närmast gäller inte {asked}.",
    "open": "I {where} är frågan om {asked} fortfarande öppen; handlingarna säger inte vad det blev.",
    "judge": "Språkmodellen kunde inte visa var {where} svarar på frågan; kontrollera källan själv.",
    "reader": "Läsmodellen bedömer att {where} inte svarar på frågan.",
    "terms": "Inga handlingar tar upp det frågan gäller; de närmaste träffarna täcker bara en del av frågans ord.",
}


def _text(check: Check, question: Question, passage: Passage, kommuner: list[str]) -> str:
    if check.name == "kommun":
        indexed = {fold(k) for k in kommuner}
        named = question.acting_kommuner | question.places
        missing = sorted(k for k in named - regioner() if fold(k) not in indexed)
        if missing:
            return f"Indexet har inga handlingar från {', '.join(missing)}."
        if named & regioner():
            return f"De handlingar som ligger närmast talar inte om {', '.join(sorted(named & regioner()))}."
        return f"De handlingar som ligger närmast gäller {passage.kommun}, inte den kommun frågan gäller."
    if check.name == "answer_kind":
        kinds = [KIND_WORDS.get(k, k) for k in check.asked.split(", ")]
        return f"Handlingarna om detta innehåller inte {' eller '.join(kinds)} som svarar på frågan."
    where = f"{passage.title} ({passage.doc_type}, {passage.date or 'utan datum'})"
    template = TEXTS.get(check.name, TEXTS["terms"])
    return template.format(where=where, asked=check.asked, found=check.found, organ=check.found or passage.organ)

"""Question sets (JSON lines like eval/dev.jsonl) and the rule that says which chunk answers one.

A chunk is relevant to an evidence item when it comes from the item's document and its text, with
whitespace collapsed and case folded, contains the item's quote normalised the same way; a quote that
ends in a line-break hyphen (`för moln-`) is compared without it, since ingestion joins the word.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from protokollsok.indexes.metadata import Filters



class QuestionSetError(ValueError):
    pass


@dataclass(frozen=True)
class Evidence:
    doc: str
    quote: str
    paragraf: str | None = None
    dnr: str | None = None
    section: str | None = None


@dataclass
class Question:
    id: str
    question: str
    type: str
    answerable: bool
    answer: str | None
    evidence: list[Evidence]
    filters: Filters = field(default_factory=Filters)


def normalise(text: str) -> str:
    return " ".join(text.split()).casefold()


def quote_key(quote: str) -> str:
    key = normalise(quote)
    return key[:-1] if key.endswith("-") and key[-2:-1].isalpha() else key


def relevant(evidence: Evidence, doc_id: str, text: str) -> bool:
    return doc_id == evidence.doc and quote_key(evidence.quote) in normalise(text)


def load(path: Path) -> list[Question]:
    questions: list[Question] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            raise QuestionSetError(f"{where}: not JSON ({error})") from error
        qid = data.get("id") or where
        for name in ("id", "question", "type", "answerable"):
            if name not in data:
                raise QuestionSetError(f"{where} (question {qid}): field '{name}' is missing")
        if qid in seen:
            raise QuestionSetError(f"{where}: question id '{qid}' is used twice")
        seen.add(qid)
        try:
            filters = Filters.from_dict(data.get("filters"))
        except ValueError as error:
            raise QuestionSetError(f"{where} (question {qid}): {error}") from error
        try:
            evidence = [Evidence(**e) for e in data.get("evidence") or []]
        except TypeError as error:
            raise QuestionSetError(f"{where} (question {qid}): evidence item malformed ({error})") from error
        if data["answerable"] and not evidence:
            raise QuestionSetError(f"{where} (question {qid}): answerable but has no evidence")
        questions.append(
            Question(qid, data["question"], data["type"], bool(data["answerable"]), data.get("answer"), evidence, filters)
        )
    if not questions:
        raise QuestionSetError(f"{path}: no questions")
    return questions


def validate(questions: list[Question], document_text: dict[str, str]) -> None:
    """Every quote must stand in its document as indexed; else the set and the index disagree."""
    texts = {doc: normalise(text) for doc, text in document_text.items()}
    for q in questions:
        for e in q.evidence:
            if e.doc not in texts:
                raise QuestionSetError(f"question {q.id}: document '{e.doc}' is not in the index; ingest it first")
            if quote_key(e.quote) not in texts[e.doc]:
                raise QuestionSetError(f"question {q.id}: quote '{e.quote}' is not found in document '{e.doc}' as indexed")

"""Request and response bodies of the API, as msgspec structs: Litestar validates them and writes the OpenAPI
schema from them. The search and ask bodies are the objects `search --json` and `ask --json` print; the
passages they show extend indexes/passage.Placement, and an answer's statements and sources are records.py's."""

from __future__ import annotations

from typing import Literal

import msgspec

from protokollsok.indexes.cases import Step
from protokollsok.indexes.metadata import Filters
from protokollsok.indexes.passage import Placement, Record

from .records import Reason, Source, Statement


class SearchHit(Placement, kw_only=True):
    """A hit as it leaves the system: its citation, its text (personnummer masked), and whether it likely
    holds what the question asks for (by the same test that decides whether `ask` answers)."""

    rank: int
    score: float
    text: str
    likely_relevant: bool


class SearchResponse(msgspec.Struct):
    query: str
    index_version: str
    hits: list[SearchHit]
    trace_id: str


class AskRequest(Filters, kw_only=True, forbid_unknown_fields=True):
    question: str


class AskResponse(msgspec.Struct):
    question: str
    answered: bool
    level: Literal["answer", "possible", "none"]
    possible: list[Statement]
    reason: Reason | None
    answer: list[Statement]
    sources: list[Source]
    disclaimer: str
    index_version: str
    trace_id: str
    evidence_strength: float
    summary: list[Statement] = []


class Section(msgspec.Struct):
    name: str | None
    start: int
    end: int


class FrontField(msgspec.Struct):
    """A protocol front page's field (ingest/frontpage.py): its name and where it stands in the text."""

    name: str
    start: int
    end: int


class Unit(msgspec.Struct):
    kind: str
    start: int
    end: int
    paragraf: str | None
    title: str | None
    dnr: str | None
    dnr_as_written: str | None
    date: str | None
    organ: str | None
    pages: list[int]
    sections: list[Section]
    fields: list[FrontField] = []


class DocumentResponse(Record, kw_only=True):
    pages: list[int]
    units: list[Unit]
    view: str


class CasePassage(Placement, kw_only=True):
    text: str
    view: str


class CaseResponse(msgspec.Struct):
    dnr: str
    index_version: str
    documents: list[str]
    passages: list[CasePassage]
    steps: list[Step]  # the timeline: agenda, memo, proposal, decision; the decision in force marked


class Facets(msgspec.Struct):
    kommuner: list[str]
    organ: list[str]
    doc_types: list[str]
    date_from: str | None
    date_to: str | None


class Health(msgspec.Struct):
    """`status` is "degraded" (and the code 503) while the query log cannot be written or the disk is low."""

    status: str
    index_version: str
    query_log_writable: bool = True
    query_log_failures: int = 0
    free_disk_mb: int = 0


class VersionInfo(msgspec.Struct):
    index_version: str
    model: str
    dimension: int
    documents: int
    chunks: int
    created: str | None
    recipe: dict[str, float | str]
    """How this version ranks and when it answers (indexes/recipe.py), with the administrator's overrides."""


class WidgetToken(msgspec.Struct):
    """A widget token for a page that embeds the widget, seeing what the key that asked for it sees."""

    token: str
    expires_in: int
    """Seconds it stays valid."""


class Error(msgspec.Struct):
    status_code: int
    detail: str
    field: str | None = None

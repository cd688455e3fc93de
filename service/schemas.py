"""Request and response bodies of the API, as msgspec structs: Litestar validates them and writes the OpenAPI
schema from them. The search and ask bodies are the objects `search --json` and `ask --json` print; an
answer's statements and sources are answers.py's own records."""

from __future__ import annotations

import msgspec

from .answers import Source, Statement


class Passage(msgspec.Struct):
    """A chunk as the API shows it: where it stands (record, §, Dnr, section, page, span) and its text."""

    chunk_id: str
    doc_id: str
    title: str
    kommun: str
    organ: str
    doc_type: str
    date: str | None
    paragraf: str | None
    dnr: str | None
    dnr_as_written: str | None
    section: str | None
    page: int | None
    text: str
    span: list[int]


class SearchHit(Passage):
    rank: int
    score: float
    likely_relevant: bool


class SearchResponse(msgspec.Struct):
    query: str
    index_version: str
    hits: list[SearchHit]
    trace_id: str


class AskRequest(msgspec.Struct, forbid_unknown_fields=True):
    question: str
    kommun: str | None = None
    organ: str | None = None
    doc_type: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    dnr: str | None = None
    paragraf: str | None = None


class AskResponse(msgspec.Struct):
    question: str
    answered: bool
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


class DocumentResponse(msgspec.Struct):
    doc_id: str
    title: str
    kommun: str
    organ: str
    doc_type: str
    date: str | None
    pages: list[int]
    units: list[Unit]
    view: str


class CasePassage(Passage):
    view: str


class CaseResponse(msgspec.Struct):
    dnr: str
    index_version: str
    documents: list[str]
    passages: list[CasePassage]


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


class Error(msgspec.Struct):
    status_code: int
    detail: str
    field: str | None = None

"""The JSON API for intranet systems and the widget: search, ask, documents, cases, facets, health, version.

Handlers are typed; the loaded index version, the query log and the settings arrive through Litestar's
dependency injection (app.py). Every parameter is checked here before any search runs, and a refusal names
the field in Swedish and English (access.BadRequest).
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict
from pathlib import Path

import msgspec
from litestar import Controller, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.exceptions import NotFoundException
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from protokollsok.indexes.metadata import FilterError, Filters
from protokollsok.settings import Settings

from . import cases, personnummer
from .access import BadRequest, errors
from .live import Loaded
from .querylog import QueryLog
from .schemas import (
    AskRequest,
    AskResponse,
    CaseResponse,
    DocumentResponse,
    Facets,
    Health,
    SearchResponse,
    VersionInfo,
)

MAX_K = 50


def _get(path: str, summary: str, *codes: int):
    """A GET route run on a worker thread (search and reads block), with the error codes it documents."""
    return get(path, sync_to_thread=True, summary=summary, responses=errors(*codes))


class SearchController(Controller):
    path = ""
    tags = ["search"]

    @_get("/search", "Hybrid search; the object `protokollsok search --json` prints", 400, 401, 429)
    def search(
        self,
        index: NamedDependency[Loaded],
        querylog: NamedDependency[QueryLog],
        settings: NamedDependency[Settings],
        q: FromQuery[str | None] = None,
        k: int = Parameter(default=10, ge=1, le=MAX_K),
        kommun: FromQuery[str | None] = None,
        organ: FromQuery[str | None] = None,
        doc_type: FromQuery[str | None] = None,
        date_from: FromQuery[str | None] = None,
        date_to: FromQuery[str | None] = None,
        dnr: FromQuery[str | None] = None,
        paragraf: FromQuery[str | None] = None,
    ) -> Response[SearchResponse]:
        query = _question(q, "q", settings.max_query_chars)
        filters = _checked(
            index,
            Filters(
                kommun=kommun or None, organ=organ or None, doc_type=doc_type or None, date_from=date_from or None,
                date_to=date_to or None, dnr=dnr or None, paragraf=paragraf or None,
            ),
        )  # fmt: skip
        out = index.queries.search(query, k, filters, querylog)
        return Response(out, headers={"X-Trace-Id": out.trace_id})

    @post(
        "/ask",
        sync_to_thread=True,
        summary="A cited answer of verbatim extracts; the object `protokollsok ask --json` prints",
        status_code=200,
        responses=errors(400, 401, 413, 415, 429),
    )
    def ask(
        self,
        data: JSONBody[AskRequest],
        index: NamedDependency[Loaded],
        querylog: NamedDependency[QueryLog],
        settings: NamedDependency[Settings],
    ) -> Response[AskResponse]:
        question = _question(data.question, "question", settings.max_query_chars)
        filters = _checked(index, Filters.of(data))
        answer = index.queries.ask(question, filters, querylog)
        return Response(
            msgspec.convert(answer.to_json(), AskResponse), status_code=200, headers={"X-Trace-Id": answer.trace_id}
        )


class RecordsController(Controller):
    path = ""
    tags = ["records"]

    @_get(
        "/documents/{doc_id:str}", "A record's metadata and structure (§§, memos, headings, pages)", 400, 401, 404,
        429,
    )
    def document(self, doc_id: FromPath[str], index: NamedDependency[Loaded]) -> DocumentResponse:
        document = index.reader.document(doc_id)
        if document is None:
            raise NotFoundException(detail=f"Dokumentet '{personnummer.mask(doc_id)}' finns inte / no such document")
        units = [{**asdict(u), "sections": [asdict(s) for s in u.sections]} for u in document.units]
        pages = sorted({p for _, p in document.page_starts if p is not None})
        return msgspec.convert(
            {
                "doc_id": document.doc_id,
                "title": document.title,
                "kommun": document.kommun,
                "organ": document.organ,
                "doc_type": document.doc_type,
                "date": document.date,
                "pages": pages,
                "units": units,
                "view": f"/documents/{document.doc_id}",
            },
            DocumentResponse,
            strict=False,
        )

    @_get(
        "/cases/{dnr:path}",
        "A case in any Dnr spelling: its passages in date order, and its steps with the decision in force",
        400, 401, 429,
    )  # fmt: skip
    def case(self, dnr: FromPath[Path], index: NamedDependency[Loaded]) -> CaseResponse:
        """A path parameter, so spellings with a slash (`KS-25/00461`) need no escaping."""
        key = cases.case_key(str(dnr).strip("/"))
        if key is None:
            raise BadRequest(
                "dnr",
                "Känner inte igen diarienumret; skriv t.ex. KS-2024/00457",
                "not a diarienummer; write e.g. KS-2024/00457",
            )
        return cases.case(index.reader, index.queries.searcher.cases, index.version, key)

    @_get("/facets", "The kommuner, organ, document types and date range in the index", 400, 401, 429)
    def facets(self, index: NamedDependency[Loaded]) -> Facets:
        return Facets(**index.facets)


class StatusController(Controller):
    path = ""
    tags = ["status"]

    @get(
        "/health",
        sync_to_thread=True,
        summary="503 and status `degraded` while the query log cannot be written or the disk is low",
        responses={**errors(400, 401, 429), 503: ResponseSpec(Health, description="Degraded: answers go on")},
    )
    def health(
        self, index: NamedDependency[Loaded], querylog: NamedDependency[QueryLog], settings: NamedDependency[Settings]
    ) -> Response[Health]:
        log = querylog.state()
        degraded = not log.writable or log.free_mb < settings.min_free_mb
        return Response(
            Health("degraded" if degraded else "ok", index.version, log.writable, log.failures, log.free_mb),
            status_code=503 if degraded else 200,
        )

    @_get("/version", "Index version, model, document and chunk counts", 400, 401, 429)
    def version(self, index: NamedDependency[Loaded]) -> VersionInfo:
        """The model by its folder's name: the server's file paths are nobody's business."""
        m = index.manifest
        return VersionInfo(
            index.version,
            Path(str(m.get("model_path"))).name,
            int(m.get("dimension", 0)),
            int(m.get("documents", 0)),
            int(m.get("chunks", 0)),
            m.get("created"),
            asdict(index.queries.searcher.recipe),
        )


def _question(value: str | None, field: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise BadRequest(field, "Skriv en fråga", "the question is empty")
    if len(text) > limit:
        raise BadRequest(field, f"Frågan är längre än {limit} tecken; korta den", f"longer than {limit} characters")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise BadRequest(field, "Frågan innehåller styrtecken", "contains control characters")
    return text


def _checked(index: Loaded, filters: Filters) -> Filters:
    """The filters, checked by the same rules as the command line's (Filters.check), or a 400 naming the field."""
    try:
        return filters.check(index.facets)
    except FilterError as error:
        raise BadRequest(error.field, error.swedish, error.english) from None

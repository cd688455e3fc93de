"""The JSON API for intranet systems and the widget: search, ask, documents, cases, facets, health, version.

Handlers are typed; the loaded index version, the query log and the settings arrive through Litestar's
dependency injection (app.py). Every parameter is checked here before any search runs, and a refusal names
the field in Swedish and English (access.BadRequest).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict
from pathlib import Path

import msgspec
from litestar import Controller, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.exceptions import NotFoundException
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from protokollsok.indexes.metadata import Filters, parse_date
from protokollsok.ingest import dnr as dnrs
from protokollsok.settings import Settings

from . import personnummer
from .access import BadRequest, errors
from .live import Loaded
from .hits import shown
from .querylog import QueryLog
from .schemas import (
    AskRequest,
    AskResponse,
    CasePassage,
    CaseResponse,
    DocumentResponse,
    Facets,
    Health,
    SearchResponse,
    VersionInfo,
)

MAX_K = 50
_PARAGRAF = re.compile(r"(?:§\s*)?\d{1,4}")


class SearchController(Controller):
    path = ""
    tags = ["search"]

    @get(
        "/search",
        sync_to_thread=True,
        summary="Hybrid search; the object `protokollsok search --json` prints",
        responses=errors(400, 401, 429),
    )
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
        filters = _filters(index, kommun, organ, doc_type, date_from, date_to, dnr, paragraf)
        out = shown(index.searcher.search(query, k, filters), index.evidence)
        out["trace_id"] = querylog.record(
            "search", query, filters.to_dict(), [h["chunk_id"] for h in out["hits"]], out["index_version"], None
        )
        return Response(msgspec.convert(out, SearchResponse), headers={"X-Trace-Id": out["trace_id"]})

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
        filters = _filters(
            index, data.kommun, data.organ, data.doc_type, data.date_from, data.date_to, data.dnr, data.paragraf
        )
        answer = index.answerer.ask(question, filters)
        answer.trace_id = querylog.record(
            "ask",
            question,
            filters.to_dict(),
            [s.chunk_id for s in answer.sources],
            answer.index_version,
            answer.answered,
        )
        return Response(
            msgspec.convert(answer.to_json(), AskResponse), status_code=200, headers={"X-Trace-Id": answer.trace_id}
        )


class RecordsController(Controller):
    path = ""
    tags = ["records"]

    @get(
        "/documents/{doc_id:str}",
        sync_to_thread=True,
        summary="A record's metadata and structure (§§, memos, headings, pages)",
        responses=errors(400, 401, 404, 429),
    )
    def document(self, doc_id: FromPath[str], index: NamedDependency[Loaded]) -> DocumentResponse:
        document = index.searcher.reader.document(doc_id)
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

    @get(
        "/cases/{dnr:path}",
        sync_to_thread=True,
        summary="Every passage of every record that carries a Dnr, in any spelling, in date order",
        responses=errors(400, 401, 429),
    )
    def case(self, dnr: FromPath[Path], index: NamedDependency[Loaded]) -> CaseResponse:
        """A path parameter, so spellings with a slash (`KS-25/00461`) need no escaping."""
        dnr = str(dnr).strip("/")
        matches = dnrs.find_all(dnr, typed=True)
        if len(dnr) > 60 or not matches:
            raise BadRequest(
                "dnr",
                "Känner inte igen diarienumret; skriv t.ex. KS-2024/00457",
                "not a diarienummer; write e.g. KS-2024/00457",
            )
        key = matches[0].dnr.key
        rows = index.searcher.reader.select(Filters(dnr=key))
        chunks = index.searcher.reader.chunks(rows.tolist()) if rows is not None else []
        chunks.sort(key=lambda c: (c["date"] or "", c["doc_id"], c["span_start"]))
        passages = [
            CasePassage(
                chunk_id=c["chunk_id"],
                doc_id=c["doc_id"],
                title=c["title"],
                kommun=c["kommun"],
                organ=c["organ"],
                doc_type=c["doc_type"],
                date=c["date"],
                paragraf=c["paragraf"],
                dnr=c["dnr"],
                dnr_as_written=c["dnr_as_written"],
                section=c["section"],
                page=c["page"],
                text=personnummer.mask(c["text"]),
                span=[c["span_start"], c["span_end"]],
                view=f"/documents/{c['doc_id']}?highlight={c['span_start']}-{c['span_end']}#citat",
            )
            for c in chunks
        ]
        return CaseResponse(key, index.version, list(dict.fromkeys(p.doc_id for p in passages)), passages)

    @get(
        "/facets",
        sync_to_thread=True,
        summary="The kommuner, organ, document types and date range in the index",
        responses=errors(400, 401, 429),
    )
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

    @get(
        "/version",
        sync_to_thread=True,
        summary="Index version, model, document and chunk counts",
        responses=errors(400, 401, 429),
    )
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


def _filters(index: Loaded, kommun, organ, doc_type, date_from, date_to, dnr, paragraf) -> Filters:
    filters = Filters(
        kommun or None,
        organ or None,
        doc_type or None,
        date_from or None,
        date_to or None,
        dnr or None,
        paragraf or None,
    )
    unknown = filters.unknown_value(index.facets)
    if unknown:
        field, _, known = unknown
        raise BadRequest(
            field,
            f"Okänt värde; giltiga värden: {', '.join(known)}",
            f"unknown value; valid values: {', '.join(known)}",
        )
    for field, value in (("date_from", date_from), ("date_to", date_to)):
        if value:
            try:
                parse_date(value, field)
            except ValueError:
                raise BadRequest(field, "Ogiltigt datum; skriv ÅÅÅÅ-MM-DD", "not a date; write YYYY-MM-DD") from None
    if dnr and (len(dnr) > 60 or not dnrs.find_all(dnr, typed=True)):
        raise BadRequest(
            "dnr",
            "Känner inte igen diarienumret; skriv t.ex. KS-2024/00457",
            "not a diarienummer; write e.g. KS-2024/00457",
        )
    if paragraf and not _PARAGRAF.fullmatch(paragraf.strip()):
        raise BadRequest("paragraf", "Ogiltig paragraf; skriv t.ex. § 228", "not a paragraf; write e.g. § 228")
    return filters

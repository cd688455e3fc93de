"""Metadata part of an index version: documents and chunks in SQLite.

A chunk's row number is its vector's position in FAISS and its column in BM25, so filters answer with
row ids that restrict both before anything is ranked. Filter columns are stored case- and
diacritics-folded: `norsjö`, `Norsjo` and `NORSJÖ` are one kommun.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, fields
from pathlib import Path

import msgspec
import numpy as np

from protokollsok.ingest import dnr as dnrs
from protokollsok.ingest.language import paragraf as parse_paragraf
from protokollsok.ingest import frontpage
from protokollsok.ingest.records import Chunk, Document, Field, Section, Unit
from protokollsok.ingest.structure import fold

from .passage import Passage, passage_from_row

FILE = "meta.sqlite"

_SCHEMA = """
CREATE TABLE documents (
    doc_id TEXT PRIMARY KEY, source TEXT, kommun TEXT, organ TEXT, doc_type TEXT, date TEXT,
    title TEXT, text TEXT, page_starts TEXT, units TEXT, source_hash TEXT
);
CREATE TABLE chunks (
    row INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE, doc_id TEXT, kommun TEXT, organ TEXT, doc_type TEXT,
    date TEXT, title TEXT, paragraf TEXT, dnr TEXT, dnr_key TEXT, dnr_as_written TEXT, section TEXT,
    heading_path TEXT, page INTEGER, pages TEXT, span_start INTEGER, span_end INTEGER, text TEXT,
    unit_kind TEXT, unit INTEGER, tokens INTEGER, model_tokens INTEGER, mentions TEXT, text_hash TEXT,
    kommun_f TEXT, organ_f TEXT, doc_type_f TEXT
);
CREATE TABLE dnr_mentions (dnr_key TEXT, row INTEGER);
CREATE INDEX chunks_filters ON chunks (kommun_f, organ_f, doc_type_f, date);
CREATE INDEX chunks_dnr ON chunks (dnr_key);
CREATE INDEX chunks_paragraf ON chunks (paragraf);
CREATE INDEX dnr_mentions_key ON dnr_mentions (dnr_key);
"""
CHUNK_COLUMNS = (
    "row", "chunk_id", "doc_id", "kommun", "organ", "doc_type", "date", "title", "paragraf", "dnr", "dnr_key",
    "dnr_as_written", "section", "heading_path", "page", "pages", "span_start", "span_end", "text", "unit_kind", "unit",
    "tokens", "model_tokens", "mentions", "text_hash", "kommun_f", "organ_f", "doc_type_f",
)  # fmt: skip

_CHUNK_FIELDS = [f.name for f in fields(Chunk)]


@dataclass(frozen=True)
class Known:
    """What ingest checks a file against: where a document came from, and hashes of its file and text."""

    source: str
    source_hash: str
    text_hash: str


class FilterError(ValueError):
    """A filter value that cannot be used: the field, what is wrong in Swedish (for the official) and English."""

    def __init__(self, field: str, value: str, swedish: str, english: str):
        super().__init__(f"{field}: '{value}' {english}")
        self.field = field
        self.swedish = swedish
        self.english = english


class Filters(msgspec.Struct, frozen=True, kw_only=True):
    """What a search is restricted to. The API's ask body extends it; the CLI's flags and the search
    endpoint's query parameters are its fields by name."""

    kommun: str | None = None
    organ: str | None = None
    doc_type: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    dnr: str | None = None
    paragraf: str | None = None

    def empty(self) -> bool:
        return not any(self.to_dict().values())

    @classmethod
    def from_dict(cls, data: object) -> "Filters":
        """Filters from JSON (a query line, an API body), each value checked: errors name the field."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise ValueError("'filters' must be an object such as {\"kommun\": \"Kalix\"}")
        names = list(cls.__struct_fields__)
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ValueError(f"unknown filter(s) {', '.join(unknown)}; the filters are {', '.join(names)}")
        for name, value in data.items():
            if value is not None and not isinstance(value, str):
                raise ValueError(f"filter '{name}' must be a string, not {type(value).__name__}")
            if name in ("date_from", "date_to") and value:
                parse_date(value, name)
        return cls(**{k: v or None for k, v in data.items()})

    def to_dict(self) -> dict[str, str]:
        """The filters that are set, as the query log records them."""
        return {k: v for k in self.__struct_fields__ if (v := getattr(self, k))}

    @classmethod
    def of(cls, fields: object) -> "Filters":
        """The filters named by an object's attributes: the API's ask body (which extends Filters), the CLI's flags."""
        return cls(**{name: getattr(fields, name) or None for name in cls.__struct_fields__})

    def check(self, facets: dict) -> "Filters":
        """These filters, if every value can be used on an index with these facets; else a FilterError naming
        the first that cannot (a misspelt kommun would otherwise return nothing without a word). The CLI, the
        API and question files all check here."""
        for name, known in (("kommun", facets["kommuner"]), ("organ", facets["organ"]), ("doc_type", facets["doc_types"])):
            value = getattr(self, name)
            if value and fold(value) not in {fold(k) for k in known}:
                raise FilterError(
                    name, value, f"Okänt värde; giltiga värden: {', '.join(known)}",
                    f"is not in the index; the index has: {', '.join(known)}",
                )  # fmt: skip
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value:
                parse_date(value, name)
        if self.dnr and (len(self.dnr) > 60 or not dnrs.find_all(self.dnr, typed=True)):
            raise FilterError(
                "dnr", self.dnr, "Känner inte igen diarienumret; skriv t.ex. KS-2024/00457",
                "is not a diarienummer; write e.g. KS-2024/00457",
            )  # fmt: skip
        if self.paragraf and parse_paragraf(self.paragraf) is None:
            raise FilterError(
                "paragraf", self.paragraf, "Ogiltig paragraf; skriv t.ex. § 228", "is not a paragraf; write e.g. § 228"
            )
        return self


class Scope(msgspec.Struct, frozen=True, kw_only=True):
    """The records one client may see (service/scopes.py): kommuner, and optionally organ and document types,
    folded like the filter columns. None allows every value of a field. Unlike Filters it is a set of values
    per field, and no request widens it: indexes/scoped.py applies it below every filter."""

    name: str
    kommuner: frozenset[str] | None = None
    organ: frozenset[str] | None = None
    doc_types: frozenset[str] | None = None

    def admits(self, kommun: str | None, organ: str | None, doc_type: str | None) -> bool:
        """Whether a record with these values (as written or folded) is in the scope."""
        return all(
            allowed is None or fold(value or "") in allowed
            for allowed, value in ((self.kommuner, kommun), (self.organ, organ), (self.doc_types, doc_type))
        )


def parse_date(value: str, name: str) -> str:
    from datetime import date

    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise FilterError(name, value, "Ogiltigt datum; skriv ÅÅÅÅ-MM-DD", "is not a date; write YYYY-MM-DD") from None


class Metadata:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    @classmethod
    def create(cls, folder: Path) -> "Metadata":
        db = sqlite3.connect(folder / FILE)
        db.executescript(_SCHEMA)
        return cls(db)

    @classmethod
    def open(cls, folder: Path) -> "Metadata":
        """A copied metadata file, to extend."""
        return cls(sqlite3.connect(folder / FILE))

    @classmethod
    def load(cls, folder: Path) -> "Metadata":
        uri = f"file:{folder / FILE}?mode=ro"
        return cls(sqlite3.connect(uri, uri=True, check_same_thread=False))

    def close(self) -> None:
        self.db.close()

    def add(self, document: Document, chunks: list[Chunk], source_hash: str, text_hashes: list[str]) -> None:
        self.db.execute("INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?)", document_row(document, source_hash))
        rows = chunk_rows(chunks, text_hashes, self.count())
        self.db.executemany(f"INSERT INTO chunks VALUES ({','.join('?' * len(CHUNK_COLUMNS))})", rows)
        self.db.executemany("INSERT INTO dnr_mentions VALUES (?, ?)", mention_rows(rows))

    def commit(self) -> None:
        self.db.commit()

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]

    def documents(self) -> list[tuple[Document, list[Chunk], str]]:
        """Every document with its chunks and source hash: what a new version starts from."""
        out = []
        for row in self.db.execute("SELECT * FROM documents ORDER BY doc_id").fetchall():
            document = document_from_row(row)
            cursor = self.db.execute("SELECT * FROM chunks WHERE doc_id = ? ORDER BY row", (document.doc_id,))
            names = [d[0] for d in cursor.description]
            chunks = [chunk_from_row(dict(zip(names, r))) for r in cursor.fetchall()]
            out.append((document, chunks, row[10]))
        return out

    def known(self) -> dict[str, Known]:
        """Every document's source and hashes, without reading its chunks."""
        from .embed import text_hash

        rows = self.db.execute("SELECT doc_id, source, source_hash, text FROM documents")
        return {doc_id: Known(source, source_hash, text_hash(text)) for doc_id, source, source_hash, text in rows}

    def document(self, doc_id: str) -> Document | None:
        row = self.db.execute("SELECT * FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return document_from_row(row) if row else None

    def document_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT doc_id FROM documents ORDER BY doc_id")]

    def chunks(self, rows: list[int]) -> list[Passage]:
        if not rows:
            return []
        marks = ",".join("?" * len(rows))
        cursor = self.db.execute(f"SELECT * FROM chunks WHERE row IN ({marks})", [int(r) for r in rows])
        names = [d[0] for d in cursor.description]
        by_row = {r[0]: passage_from_row(dict(zip(names, r))) for r in cursor.fetchall()}
        return [by_row[int(r)] for r in rows]

    def chunk_texts(self, doc_id: str) -> list[str]:
        return [t for (t,) in self.db.execute("SELECT text FROM chunks WHERE doc_id = ? ORDER BY row", (doc_id,))]

    def unit_chunks(self, doc_id: str, unit: int) -> list[Passage]:
        """Every chunk of one unit (§, memo, heading), in order."""
        cursor = self.db.execute("SELECT * FROM chunks WHERE doc_id = ? AND unit = ? ORDER BY row", (doc_id, unit))
        names = [d[0] for d in cursor.description]
        return [passage_from_row(dict(zip(names, r))) for r in cursor.fetchall()]

    def facets(self, scope: Scope | None = None) -> dict:
        """The values the filters can take in this version, or in a scope of it: kommuner, organ, document
        types, date range."""
        within, args = scope_sql(scope)

        def distinct(column: str) -> list[str]:
            query = f"SELECT DISTINCT {column} FROM chunks WHERE {column} != '' AND {within} ORDER BY {column}"
            return [r[0] for r in self.db.execute(query, args)]

        low, high = self.db.execute(f"SELECT MIN(date), MAX(date) FROM chunks WHERE {within}", args).fetchone()
        return {"kommuner": distinct("kommun"), "organ": distinct("organ"), "doc_types": distinct("doc_type"), "date_from": low, "date_to": high}

    def counts(self, scope: Scope | None = None) -> tuple[int, int]:
        """Documents and chunks in the version, or in a scope of it."""
        within, args = scope_sql(scope)
        documents, chunks = self.db.execute(f"SELECT COUNT(DISTINCT doc_id), COUNT(*) FROM chunks WHERE {within}", args).fetchone()
        return documents, chunks

    def filter_rows(self, filters: Filters) -> np.ndarray | None:
        """Row ids that pass every filter; None when there is no filter at all."""
        if filters.empty():
            return None
        where, args = filter_sql(filters)
        rows = self.db.execute(f"SELECT row FROM chunks WHERE {where}", args).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def rows_with_dnr(self, key: str) -> tuple[list[int], list[int], list[int]]:
        """Rows opening a unit that is the case, the unit's other rows, and rows whose text mentions it."""
        own = self.db.execute("SELECT row, doc_id, unit FROM chunks WHERE dnr_key = ? ORDER BY row", (key,)).fetchall()
        mentioned = [r[0] for r in self.db.execute("SELECT row FROM dnr_mentions WHERE dnr_key = ? ORDER BY row", (key,))]
        return (*_openings(own), mentioned)

    def rows_with_paragraf(self, paragraf: str) -> tuple[list[int], list[int]]:
        """Rows opening a unit that is the §, and the unit's other rows."""
        rows = self.db.execute("SELECT row, doc_id, unit FROM chunks WHERE paragraf = ? ORDER BY row", (paragraf,)).fetchall()
        return _openings(rows)


def filter_sql(filters: Filters) -> tuple[str, list]:
    """The filters as one SQL condition over the chunks table, with `?` placeholders."""
    where, args = [], []
    for column, value in (("kommun_f", filters.kommun), ("organ_f", filters.organ), ("doc_type_f", filters.doc_type)):
        if value:
            where.append(f"{column} = ?")
            args.append(fold(value))
    if filters.date_from:
        where.append("date >= ?")
        args.append(filters.date_from)
    if filters.date_to:
        where.append("date <= ?")
        args.append(filters.date_to)
    if filters.dnr:
        key = _dnr_key(filters.dnr)
        where.append("(dnr_key = ? OR row IN (SELECT row FROM dnr_mentions WHERE dnr_key = ?))")
        args += [key, key]
    if filters.paragraf:
        where.append("paragraf = ?")
        args.append(parse_paragraf(filters.paragraf) or filters.paragraf)
    return " AND ".join(where), args


def scope_sql(scope: Scope | None) -> tuple[str, list]:
    """A scope as one SQL condition over the chunks table (`1 = 1` for none), with `?` placeholders."""
    where, args = ["1 = 1"], []
    if scope is not None:
        for column, allowed in (("kommun_f", scope.kommuner), ("organ_f", scope.organ), ("doc_type_f", scope.doc_types)):
            if allowed is not None:
                where.append(f"{column} IN ({','.join('?' * len(allowed))})" if allowed else "1 = 0")
                args += sorted(allowed)
    return " AND ".join(where), args


def document_row(document: Document, source_hash: str) -> tuple:
    return (
        document.doc_id, document.source, document.kommun, document.organ, document.doc_type, document.date,
        document.title, document.text, json.dumps(document.page_starts),
        json.dumps([_unit_dict(u) for u in document.units], ensure_ascii=False), source_hash,
    )  # fmt: skip


def chunk_rows(chunks: list[Chunk], text_hashes: list[str], first: int) -> list[tuple]:
    """The chunks as rows of CHUNK_COLUMNS, numbered from `first`."""
    rows = []
    for offset, (c, text_hash) in enumerate(zip(chunks, text_hashes)):
        mentions = sorted({m.dnr.key for m in dnrs.find_all(c.text)})
        rows.append((
            first + offset, c.chunk_id, c.doc_id, c.kommun, c.organ, c.doc_type, c.date, c.title, c.paragraf,
            c.dnr, dnrs.parse(c.dnr).key if c.dnr else None, c.dnr_as_written, c.section,
            json.dumps(c.heading_path, ensure_ascii=False), c.page, json.dumps(c.pages), c.span[0], c.span[1],
            c.text, c.unit_kind, c.unit, c.tokens, c.model_tokens, json.dumps(mentions), text_hash,
            fold(c.kommun), fold(c.organ), fold(c.doc_type),
        ))  # fmt: skip
    return rows


def mention_rows(rows: list[tuple]) -> list[tuple[str, int]]:
    """(Dnr key, row) for every Dnr a chunk's text mentions: the lookup that finds a case cited elsewhere."""
    at = CHUNK_COLUMNS.index("mentions")
    return [(key, row[0]) for row in rows for key in json.loads(row[at])]


def _openings(rows: list[tuple[int, str, int]]) -> tuple[list[int], list[int]]:
    seen: set[tuple[str, int]] = set()
    openings, rest = [], []
    for row, doc_id, unit in rows:
        (rest if (doc_id, unit) in seen else openings).append(row)
        seen.add((doc_id, unit))
    return openings, rest


def _dnr_key(value: str) -> str:
    parsed = dnrs.parse(value)
    if parsed is None:
        raise ValueError(f"dnr: '{value}' is not a diarienummer; write it like KS-2023/00651 or 2023-00497")
    return parsed.key


def _unit_dict(unit: Unit) -> dict:
    data = dict(vars(unit))
    data["sections"] = [vars(s) for s in unit.sections]
    data["fields"] = [vars(f) for f in unit.fields]
    return data


def document_from_row(row: tuple) -> Document:
    units = []
    for u in json.loads(row[9]):
        sections = [Section(**s) for s in u.pop("sections")]
        stored = u.pop("fields", None)  # None: stored before front pages were read (index format < 5)
        fields = [Field(**f) for f in stored] if stored is not None else _front_page(row[7], u)
        units.append(Unit(**u, sections=sections, fields=fields))
    return Document(
        doc_id=row[0], source=row[1], kommun=row[2], organ=row[3], doc_type=row[4], date=row[5], title=row[6],
        text=row[7], page_starts=[tuple(p) for p in json.loads(row[8])], units=units,
    )


def _front_page(text: str, unit: dict) -> list[Field]:
    return frontpage.read(text, unit["start"], unit["end"]) if unit["kind"] == "dokument" else []


def chunk_from_row(row: dict) -> Chunk:
    values = {name: row[name] for name in _CHUNK_FIELDS if name in row}
    values["heading_path"] = json.loads(row["heading_path"])
    values["pages"] = json.loads(row["pages"])
    values["span"] = (row["span_start"], row["span_end"])
    return Chunk(**values)

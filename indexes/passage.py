"""A passage as the index returns it: the citation fields once, for every shape that shows or cites it.

A chunk leaves ingest as a `Chunk`; the reader gives it back as a `Passage`. The search hit, the answer's
source extends `Citation`, the search hit and the case passage `Placement`, and each is made with `cited`,
so the list of what an official cites (record, kommun, organ, type, date, §, Dnr, section, page, span) is
written here and nowhere else.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec


class Record(msgspec.Struct, kw_only=True):
    """Which record: the document and its kommun, organ, type and date."""

    doc_id: str
    title: str
    kommun: str
    organ: str
    doc_type: str
    date: str | None


class Citation(Record, kw_only=True):
    """Where a passage stands in the records: what an answer's source cites."""

    chunk_id: str
    paragraf: str | None
    dnr: str | None
    page: int | None
    span: tuple[int, int]


class Placement(Citation, kw_only=True):
    """A citation with the Dnr as the record writes it and the section: how a hit or a case passage is shown."""

    dnr_as_written: str | None
    section: str | None


class Passage(Placement, kw_only=True):
    """A chunk of the index: its citation, its text, and where it sits in the version (row) and record (unit)."""

    text: str
    row: int
    unit: int
    unit_kind: str

    @property
    def context(self) -> str:
        """The words around the text that a reader sees with it: heading, §, Dnr, section, kommun, organ, date."""
        parts = (self.title, self.paragraf, self.dnr_as_written, self.section, self.kommun, self.organ, self.doc_type, self.date)
        return " ".join(str(p or "") for p in parts)


C = TypeVar("C", bound=Citation)
PLACEMENT_FIELDS = Placement.__struct_fields__


def cited(passage: Passage, as_type: type[C], **extra) -> C:
    """`passage` as another shape that extends Citation or Placement (a source, a hit, a case passage)."""
    return as_type(**{name: getattr(passage, name) for name in as_type.__struct_fields__ if name in PLACEMENT_FIELDS}, **extra)


def passage_from_row(row: dict) -> Passage:
    """A row of the metadata store's chunks table as a Passage."""
    return Passage(
        **{name: row[name] for name in PLACEMENT_FIELDS if name != "span"},
        span=(row["span_start"], row["span_end"]),
        text=row["text"],
        row=row["row"],
        unit=row["unit"],
        unit_kind=row["unit_kind"],
    )

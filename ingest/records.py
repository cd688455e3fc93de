"""The records that pass between the ingestion steps and on to the index."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Page:
    """Text as a source format gives it; `number` is None where the format has no pages (text, HTML).
    `ocr`: the text was read from the page's image (a scan), so it may hold OCR misreads."""

    number: int | None
    text: str
    ocr: bool = False


@dataclass
class CleanText:
    """Text with page furniture removed and line-break hyphens joined: what every span points into."""

    text: str
    page_starts: list[tuple[int, int | None]]

    def pages(self, start: int, end: int) -> list[int]:
        """Page numbers that the span [start, end) touches, in order."""
        found: list[int] = []
        for i, (offset, page) in enumerate(self.page_starts):
            next_offset = self.page_starts[i + 1][0] if i + 1 < len(self.page_starts) else len(self.text) + 1
            if offset < end and next_offset > start and page is not None and page not in found:
                found.append(page)
        return found


@dataclass
class Section:
    """A headed part of a unit (beslut, beskrivning av ärendet, beslutsunderlag …)."""

    name: str | None
    start: int
    end: int


@dataclass
class Field:
    """A front-page field of a protocol (frontpage.py): its name and its span in the clean text."""

    name: str
    start: int
    end: int


@dataclass
class Unit:
    """What an official cites: a §, a memo, an agenda item or a numbered report heading."""

    kind: str
    start: int
    end: int
    paragraf: str | None = None
    title: str | None = None
    dnr: str | None = None
    dnr_as_written: str | None = None
    date: str | None = None
    organ: str | None = None
    signatory: str | None = None
    heading_path: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    pages: list[int] = field(default_factory=list)
    fields: list[Field] = field(default_factory=list)
    """A protocol's front page (kind `dokument` before the first §): Plats och tid, Beslutande, … ."""


@dataclass
class Document:
    doc_id: str
    source: str
    kommun: str
    organ: str
    doc_type: str
    date: str | None
    title: str
    text: str
    page_starts: list[tuple[int, int | None]]
    units: list[Unit]


@dataclass
class Chunk:
    """A token-bounded piece of one section of one unit; `span` locates `text` in the document's clean text."""

    chunk_id: str
    doc_id: str
    kommun: str
    organ: str
    doc_type: str
    date: str | None
    title: str
    paragraf: str | None
    dnr: str | None
    dnr_as_written: str | None
    section: str | None
    heading_path: list[str]
    page: int | None
    pages: list[int]
    text: str
    span: tuple[int, int]
    unit_kind: str
    unit: int
    tokens: int
    model_tokens: int

    def to_dict(self) -> dict:
        data = asdict(self)
        data["span"] = list(self.span)
        return data

"""One file through the steps: partition → clean → structure → chunk.

Each step is timed, because ingestion time split by step is what an administrator tunes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from . import structure
from .chunk import Limits, chunk
from .clean import clean
from .partition import FORMATS, partition
from .records import Chunk, Document
from .tokens import counter


@dataclass
class Ingested:
    """`ocr_pages`: pages read from their image by OCR (scans), for the administrator to check."""

    document: Document
    chunks: list[Chunk]
    seconds: dict[str, float] = field(default_factory=dict)
    ocr_pages: int = 0


def ingest_file(path: Path, model_dir: Path, max_bytes: int, limits: Limits = Limits()) -> Ingested:
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    pages = partition(path, max_bytes)
    seconds["partition"] = time.perf_counter() - started

    started = time.perf_counter()
    cleaned = clean(pages, has_pages=any(page.number is not None for page in pages))
    units = structure.units(cleaned)
    raw = "\n".join(page.text for page in pages)
    info = structure.describe(path.stem, raw, units)
    document = Document(
        doc_id=path.stem,
        source=str(path.resolve()),  # the same file whatever the working directory of the ingest
        kommun=info.kommun,
        organ=info.organ,
        doc_type=info.doc_type,
        date=info.date,
        title=info.title,
        text=cleaned.text,
        page_starts=cleaned.page_starts,
        units=units,
    )
    seconds["structure"] = time.perf_counter() - started

    started = time.perf_counter()
    chunks = chunk(document, cleaned, counter(model_dir), limits)
    seconds["chunk"] = time.perf_counter() - started
    return Ingested(document, chunks, seconds, ocr_pages=sum(page.ocr for page in pages))


def find_files(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """Files named, and the supported files inside folders named, in a stable order; and the files inside
    those folders that are not records this can read (named to the user, never skipped silently)."""
    found: list[Path] = []
    unsupported: list[Path] = []
    for path in paths:
        if path.is_dir():
            for p in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
                (found if p.suffix.lower() in FORMATS else unsupported).append(p)
        else:
            found.append(path)
    return found, unsupported

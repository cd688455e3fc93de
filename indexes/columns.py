"""Filter columns of an index version as numpy arrays, one small integer per chunk and column.

At ten million chunks a kommun, organ, type or date filter is a vector comparison of a few milliseconds;
the same filter in SQLite returns up to millions of row ids through Python (bench/index_scale.py measured an
organ filter at 0.12 s for one million chunks). Dnr and § filters stay in SQLite, whose indexes answer them
with the few rows they name. The arrays are written once at build from the metadata store.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from protokollsok.ingest.structure import fold

from .metadata import Filters, parse_date

FILE = "columns.npz"
UNDATED = 0


@dataclass
class Columns:
    kommun: np.ndarray  # index into kommun_names, -1 for none
    organ: np.ndarray
    doc_type: np.ndarray
    date: np.ndarray  # YYYYMMDD as int32, UNDATED when the chunk has no date
    text_hash: np.ndarray  # first 16 hex digits of the text hash as uint64: equal texts, equal numbers
    names: dict[str, list[str]]  # folded values of kommun, organ and doc_type, by index

    @classmethod
    def build(cls, db: sqlite3.Connection) -> "Columns":
        rows = db.execute("SELECT kommun_f, organ_f, doc_type_f, date, text_hash FROM chunks ORDER BY row").fetchall()
        names: dict[str, list[str]] = {}
        codes: dict[str, np.ndarray] = {}
        for at, column in enumerate(("kommun", "organ", "doc_type")):
            values = [r[at] for r in rows]
            names[column] = sorted({v for v in values if v})
            index = {name: i for i, name in enumerate(names[column])}
            codes[column] = np.array([index.get(v, -1) for v in values], dtype=np.int32)
        date = np.array([int(r[3].replace("-", "")) if r[3] else UNDATED for r in rows], dtype=np.int32)
        text_hash = np.array([int(r[4][:16], 16) for r in rows], dtype=np.uint64)
        return cls(codes["kommun"], codes["organ"], codes["doc_type"], date, text_hash, names)

    @classmethod
    def load(cls, folder: Path) -> "Columns":
        with np.load(folder / FILE) as arrays:
            return cls(
                arrays["kommun"],
                arrays["organ"],
                arrays["doc_type"],
                arrays["date"],
                arrays["text_hash"],
                json.loads(arrays["names"].item()),
            )

    def save(self, folder: Path) -> None:
        np.savez(
            folder / FILE,
            kommun=self.kommun,
            organ=self.organ,
            doc_type=self.doc_type,
            date=self.date,
            text_hash=self.text_hash,
            names=np.array(json.dumps(self.names, ensure_ascii=False)),
        )

    def mask(self, filters: Filters) -> np.ndarray | None:
        """Which chunks pass the kommun, organ, type and date filters; None when none of them is set."""
        out = None
        for column in ("kommun", "organ", "doc_type"):
            value = getattr(filters, column)
            if value:
                wanted = fold(value)
                code = self.names[column].index(wanted) if wanted in self.names[column] else -2
                out = _and(out, getattr(self, column) == code)
        if filters.date_from:
            out = _and(out, self.date >= _day(filters.date_from, "date_from"))
        if filters.date_to:
            out = _and(out, (self.date <= _day(filters.date_to, "date_to")) & (self.date != UNDATED))
        return out


def _and(mask: np.ndarray | None, other: np.ndarray) -> np.ndarray:
    return other if mask is None else mask & other


def _day(value: str, name: str) -> int:
    return int(parse_date(value, name).replace("-", ""))

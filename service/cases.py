"""A case as `GET /api/cases/{dnr}` and `protokollsok case DNR --json` show it: every passage that carries or
mentions the Dnr, in date order, and the case's timeline of steps with the decision in force
(indexes/cases.py)."""

from __future__ import annotations

from protokollsok.indexes.cases import Cases
from protokollsok.indexes.metadata import Filters
from protokollsok.indexes.passage import cited
from protokollsok.indexes.reader import Reader
from protokollsok.ingest import dnr as dnrs

from . import personnummer
from .schemas import CasePassage, CaseResponse


def case_key(written: str) -> str | None:
    """The case key (year and serial) of a Dnr as a user wrote it, or None when it is none."""
    matches = dnrs.find_all(written, typed=True)
    return matches[0].dnr.key if len(written) <= 60 and matches else None


def case(reader: Reader, cases: Cases, version: str, key: str) -> CaseResponse:
    """The object the API returns and `case --json` prints: a contract other tools read."""
    rows = reader.select(Filters(dnr=key))
    found = reader.chunks(rows.tolist()) if rows is not None else []
    found.sort(key=lambda p: (p.date or "", p.doc_id, p.span[0]))
    passages = [
        cited(
            p,
            CasePassage,
            text=personnummer.mask(p.text),
            view=f"/documents/{p.doc_id}?highlight={p.span[0]}-{p.span[1]}#citat",
        )
        for p in found
    ]
    documents = list(dict.fromkeys(p.doc_id for p in passages))
    return CaseResponse(key, version, documents, passages, cases.timeline(key).steps)

"""Search results as they leave the system (`search --json`, `GET /api/search`): personnummer masked, and each
hit marked `likely_relevant` by the same evidence test that decides whether `ask` answers."""

from __future__ import annotations

from protokollsok.indexes.search import Result

from . import personnummer
from .evidence import Evidence


def shown(result: Result, evidence: Evidence) -> dict:
    asked = evidence.read(result.query)
    out = result.to_json()
    out["query"] = personnummer.mask(out["query"])
    for hit, data in zip(result.hits, out["hits"]):
        data["text"] = personnummer.mask(data["text"])
        data["likely_relevant"] = evidence.support(asked, hit.chunk).likely
    return out

"""How strongly a passage supports an answer to a question: the signal behind abstention and `likely_relevant`.

Retrieval scores cannot tell an answer from a near miss: the unanswerable questions officials ask are about
topics the records do discuss, so their best hits score as high as real answers (GUIDE §5). What separates
them is whether the passage holds what the question asks for:
- the question's terms, weighted by how rare they are in the index (a term no record uses, such as another
  kommun's name or a supplier, weighs most), found in the passage, its heading or its metadata, directly
  or through the synonym list;
- the kind of answer asked for (an amount, a share, a count, a date, a person), present in the passage;
- a year the question names, in the passage or the record's date;
- a kommun the question names as the one acting ("Piteå kommun", "kommunfullmäktige i Lycksele",
  "Stockholms stad"), or any kommun of the index it names, as the record's kommun: a Kalix record that
  mentions Piteå does not say what Piteå decided;
- an organ the question names as the one deciding ("Vad beslutade kommunfullmäktige …", "Har socialnämnden
  antagit …"), seen deciding in the passage ("Kommunfullmäktige beslutade", "antogs av kommunfullmäktige",
  a § under "Kommunstyrelsens beslut"): a proposal to fullmäktige is not fullmäktige's decision.
The strength is the weighted share of terms found, scaled down for each unmet condition; THRESHOLD, chosen
on eval/dev.jsonl and eval/unanswerable.jsonl (`protokollsok eval --ask` draws the trade-off), decides.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from protokollsok.indexes.analyzer import Analyzer
from protokollsok.indexes.reader import Reader
from protokollsok.indexes.synonyms import Synonyms
from protokollsok.ingest.language import (
    SHOWS_KIND,
    YEAR,
    acting_kommuner,
    asked_kinds,
    asked_organs,
    deciding_organs,
    fold_kommun,
)

THRESHOLD = 0.45
KIND_MISSING = 0.5
YEAR_MISSING = 0.5
KOMMUN_MISSING = 0.3
ORGAN_MISSING = 0.3


@dataclass(frozen=True)
class Asked:
    """A question as evidence is checked against it."""

    text: str
    weights: dict[str, float]
    alternatives: dict[str, frozenset[str]]
    kinds: frozenset[str]
    years: frozenset[str]
    kommuner: frozenset[str]
    organs: frozenset[str]


@dataclass(frozen=True)
class Support:
    strength: float
    found: float
    kinds_met: bool
    year_met: bool
    kommun_met: bool
    organ_met: bool

    @property
    def likely(self) -> bool:
        return self.strength >= THRESHOLD


class Evidence:
    def __init__(
        self, analyzer: Analyzer, reader: Reader, indexed_kommuner: list[str], synonyms: Synonyms | None = None
    ):
        self.analyzer = analyzer
        self.indexed_kommuner = {
            name: re.compile(rf"\b{re.escape(name)}s?\b", re.IGNORECASE) for name in indexed_kommuner
        }
        self.synonyms = synonyms
        self.vocabulary, frequency, documents = reader.frequencies()
        self.idf = np.log1p((documents - frequency + 0.5) / (frequency + 0.5))
        self.unseen_idf = math.log1p((documents + 0.5) / 0.5)

    def read(self, question: str) -> Asked:
        tokens = self.analyzer.tokens(question, typed=True)
        weights = {t: self._idf(t) for t in dict.fromkeys(tokens)}
        alternatives: dict[str, frozenset[str]] = {}
        for typed, group in self.synonyms.matches(question, tokens) if self.synonyms else []:
            for token in typed:
                alternatives[token] = alternatives.get(token, frozenset()) | group
        named = acting_kommuner(question) | {
            fold_kommun(name) for name, pattern in self.indexed_kommuner.items() if pattern.search(question)
        }
        return Asked(
            question,
            weights,
            alternatives,
            asked_kinds(question),
            frozenset(YEAR.findall(question)),
            named,
            asked_organs(question),
        )

    def support(self, asked: Asked, chunk: dict) -> Support:
        """How well one chunk (a metadata row, as search returns it) supports an answer."""
        context = " ".join(
            str(chunk.get(k) or "")
            for k in ("title", "paragraf", "dnr_as_written", "section", "kommun", "organ", "doc_type", "date")
        )
        present = set(self.analyzer.tokens(f"{context}\n{chunk['text']}"))
        total = sum(asked.weights.values()) or 1.0
        found = sum(
            w for t, w in asked.weights.items() if t in present or not present.isdisjoint(asked.alternatives.get(t, ()))
        )
        share = found / total
        text = chunk["text"]
        kinds_met = not asked.kinds or any(SHOWS_KIND[kind].search(text) for kind in asked.kinds)
        year_met = not asked.years or any(y in text or y in (chunk.get("date") or "") for y in asked.years)
        kommun_met = not asked.kommuner or fold_kommun(chunk.get("kommun") or "") in asked.kommuner
        organ_met = not asked.organs or bool(asked.organs & deciding_organs(text, chunk.get("section") or ""))
        strength = share
        for met, factor in (
            (kinds_met, KIND_MISSING),
            (year_met, YEAR_MISSING),
            (kommun_met, KOMMUN_MISSING),
            (organ_met, ORGAN_MISSING),
        ):
            strength *= 1 if met else factor
        return Support(strength, share, kinds_met, year_met, kommun_met, organ_met)

    def _idf(self, token: str) -> float:
        index = self.vocabulary.get(token)
        return float(self.idf[index]) if index is not None else self.unseen_idf

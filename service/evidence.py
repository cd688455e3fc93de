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
The strength is the weighted share of terms found, scaled down for each unmet condition; the recipe's
threshold, chosen on eval/dev.jsonl and eval/unanswerable.jsonl (`protokollsok eval --ask` draws the
trade-off), decides. The question arrives read once (indexes/question.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from protokollsok.indexes.analyzer import Analyzer
from protokollsok.indexes.passage import Passage
from protokollsok.indexes.question import Question
from protokollsok.indexes.reader import Reader
from protokollsok.indexes.recipe import Recipe
from protokollsok.ingest.language import SHOWS_KIND, deciding_organs
from protokollsok.ingest.structure import fold


@dataclass(frozen=True)
class Support:
    strength: float
    found: float
    kinds_met: bool
    year_met: bool
    kommun_met: bool
    organ_met: bool
    likely: bool


class Evidence:
    def __init__(self, analyzer: Analyzer, reader: Reader, recipe: Recipe):
        self.analyzer = analyzer
        self.recipe = recipe
        self.vocabulary, frequency, documents = reader.frequencies()
        self.idf = np.log1p((documents - frequency + 0.5) / (frequency + 0.5))
        self.unseen_idf = math.log1p((documents + 0.5) / 0.5)

    def support(self, question: Question, passage: Passage) -> Support:
        """How well one passage, read with its heading and metadata, supports an answer."""
        return self.text_support(
            question, passage.text, passage.context, passage.kommun, passage.date or "", passage.section or ""
        )

    def text_support(
        self, question: Question, text: str, context: str = "", kommun: str = "", date: str = "", section: str = ""
    ) -> Support:
        """How well `text` supports an answer; a bare sentence has no context, kommun, date or section."""
        weights = {t: self._idf(t) for t in dict.fromkeys(question.tokens)}
        alternatives: dict[str, frozenset[str]] = {}
        for typed, group in question.synonyms:
            for token in typed:
                alternatives[token] = alternatives.get(token, frozenset()) | group
        present = set(self.analyzer.tokens(f"{context}\n{text}"))
        total = sum(weights.values()) or 1.0
        found = sum(w for t, w in weights.items() if t in present or not present.isdisjoint(alternatives.get(t, ())))
        share = found / total
        named = question.named_kommuner
        kinds_met = not question.kinds or any(SHOWS_KIND[kind].search(text) for kind in question.kinds)
        year_met = not question.years or any(y in text or y in date for y in question.years)
        kommun_met = not named or fold(kommun) in named
        organ_met = not question.organs or bool(question.organs & deciding_organs(text, section))
        r = self.recipe
        strength = share
        for met, factor in (
            (kinds_met, r.kind_missing),
            (year_met, r.year_missing),
            (kommun_met, r.kommun_missing),
            (organ_met, r.organ_missing),
        ):
            strength *= 1 if met else factor
        return Support(strength, share, kinds_met, year_met, kommun_met, organ_met, strength >= r.threshold)

    def _idf(self, token: str) -> float:
        index = self.vocabulary.get(token)
        return float(self.idf[index]) if index is not None else self.unseen_idf

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
from functools import cache
from pathlib import Path

import numpy as np

from protokollsok.indexes.analyzer import Analyzer
from protokollsok.indexes.reader import Reader
from protokollsok.indexes.synonyms import Synonyms

THRESHOLD = 0.45
KIND_MISSING = 0.5
YEAR_MISSING = 0.5
KOMMUN_MISSING = 0.3
ORGAN_MISSING = 0.3
KOMMUNER = Path(__file__).parent / "data" / "kommuner.txt"

_AMOUNT = r"\d[\d \u00a0\u202f]*(?:,\d+)?\s?(?:kr\b|kronor|mkr|tkr|mnkr|miljoner|miljarder|msek|ksek)"
_MONTHS = "januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|december"
# (what a question asking for this kind says, what a passage holding it shows)
KINDS = {
    "belopp": (
        r"\b(?:hur mycket|kosta\w*|kostnad\w*|belopp\w*|summa\w*|pengar|kronor|budget\w* på|anslag\w*|bidrag\w* på)\b",
        _AMOUNT,
    ),
    "andel": (r"\b(?:ränta\w*|procent\w*|andel\w*|hur stor del|hur många procent)\b", r"\d(?:,\d+)?\s?(?:%|procent)"),
    "antal": (
        r"\b(?:hur många|antal\w*|hur stort antal)\b",
        r"\b\d+\b|\b(?:två|tre|fyra|fem|sex|sju|åtta|nio|tio|elva|tolv)\b",
    ),
    "datum": (
        r"\b(?:när|vilket datum|vilken dag|vilket år|sedan när|från när|senast|hur länge)\b",
        rf"\b(?:19|20)\d{{2}}\b|\b\d{{1,2}}(?::e)? (?:{_MONTHS})\b",
    ),
    "orsak": (
        r"\b(?:varför|av vilken anledning|vad berodde|vad beror|vad är orsaken|vilka skäl)\b",
        r"(?i)\b(?:eftersom|på grund av|därför|med anledning av|beror på|berodde på|orsak\w*|skäl\w*|till följd av)\b",
    ),
    "person": (
        r"\b(?:vem|vilka personer|vilka ledamöter|vilken ledamot|vilka politiker|vilken tjänsteperson|vilka tjänstepersoner)\b",
        r"\b[A-ZÅÄÖ][a-zåäöéü]+(?:-[A-ZÅÄÖ][a-zåäöéü]+)? [A-ZÅÄÖ][a-zåäöéü]+(?:-[A-ZÅÄÖ][a-zåäöéü]+)?\b",
    ),
}
_ASKS = {kind: re.compile(asks, re.IGNORECASE) for kind, (asks, _) in KINDS.items()}
_SHOWS = {kind: re.compile(shows) for kind, (_, shows) in KINDS.items()}
_YEAR = re.compile(r"\b((?:19|20)\d{2})\b")
_ORGAN = r"((?:kommun)?fullmäktige|kommunstyrelse|[a-zåäö]*nämnd|(?:kommun)?revision|[a-zåäö]*utskott)(?:n|en|et|ns|ens|ets|s)?"
_DECIDES = (
    r"(?:har |hade )?(?:beslutar|beslutade|beslöt|beslutat|antar|antog|antagit|avslår|avslog|avslagit|fastställer|"
    r"fastställde|fastställt|godkänner|godkände|godkänt|beviljar|beviljade|bifaller|biföll|tillstyrker|tillstyrkte|klubbade)\b"
)
_ASKS_ORGAN_DECISION = re.compile(
    rf"\b{_ORGAN}\b(?=.*\b(?:beslut\w*|besl[öu]t\w*|antog|antagit|avslog|ställde sig|gick med på|tog emot|beviljade|fastställde|godkände))"
    rf"|\b(?:beslutade|beslöt|antog|avslog|beviljade|fastställde|godkände|har|gick|tog|ställde)\b[^?]*?\b{_ORGAN}\b",
    re.IGNORECASE,
)


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
        kinds = frozenset(kind for kind, asks in _ASKS.items() if asks.search(question))
        kommuner = {m.group("a") or m.group("b") for m in _acting_kommun().finditer(question)}
        kommuner.update(name for name, pattern in self.indexed_kommuner.items() if pattern.search(question))
        named = frozenset(fold_kommun(name) for name in kommuner)
        return Asked(
            question, weights, alternatives, kinds, frozenset(_YEAR.findall(question)), named, acting_organs(question)
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
        kinds_met = not asked.kinds or any(_SHOWS[kind].search(text) for kind in asked.kinds)
        year_met = not asked.years or any(y in text or y in (chunk.get("date") or "") for y in asked.years)
        kommun_met = not asked.kommuner or fold_kommun(chunk.get("kommun") or "") in asked.kommuner
        organ_met = not asked.organs or bool(asked.organs & _deciding_organs(text, chunk.get("section") or ""))
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


def acting_organs(question: str) -> frozenset[str]:
    """Organs the question asks about as the ones deciding: `Vad beslutade kommunfullmäktige …`."""
    return frozenset(_organ_key(a or b) for a, b in _ASKS_ORGAN_DECISION.findall(question))


def _organ_key(word: str) -> str:
    """`kommunfullmäktiges` and `fullmäktige` → `fullmäktige`; `socialnämnden` → `socialnämnd`."""
    m = re.fullmatch(_ORGAN, word.lower())
    base = m.group(1) if m else word.lower()
    return base.removeprefix("kommun") if base.endswith(("fullmäktige", "revision")) else base


def _deciding_organs(text: str, section: str) -> set[str]:
    """Organs the passage shows deciding: `X beslutar/beslutade/antog …`, `antogs/beslutades av X`, or the
    passage is the decision section of X (`Kommunstyrelsens beslut`)."""
    found = {_organ_key(a) for a in re.findall(rf"\b{_ORGAN}\s+{_DECIDES}", text, re.IGNORECASE)}
    found |= {
        _organ_key(a)
        for a in re.findall(
            rf"\b(?:antogs|beslutades|fastställdes|godkändes|avslogs|beviljades)\s+av\s+{_ORGAN}\b", text, re.IGNORECASE
        )
    }
    found |= {_organ_key(a) for a in re.findall(rf"\b{_ORGAN}\s+beslut$", section, re.IGNORECASE)}
    return found


def fold_kommun(name: str) -> str:
    return name.lower().removesuffix(" kommun").strip()


@cache
def _acting_kommun() -> re.Pattern:
    names = [
        line.strip()
        for line in KOMMUNER.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(
        rf"(?:(?:fullmäktige|styrelse\w*|nämnd\w*|utskott\w*|kommunen) i (?P<a>{alternatives})\b"
        rf"|\b(?P<b>{alternatives})s? (?:kommun|stad)\b)"
    )

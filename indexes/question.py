"""A question, read once: what search, evidence and answers all need from its text.

Search needs its tokens and synonyms (BM25), the Dnr and §§ it names (exact requests), the kommuner of the
index it names (a lead) and the kind of answer asked for (a lead); evidence needs the same and the years,
the kommun it names as acting and the organ it asks to have decided; answers need whether it asks about a
decision. `Vocabulary.question` reads all of it from the text with the index's own vocabulary (its
kommuner) and the Swedish record language of ingest/language.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from protokollsok.ingest import dnr as dnrs
from protokollsok.ingest.language import (
    ASKS_DECIDED,
    ASKS_DECISION,
    ASKS_OUTCOME,
    PARAGRAF_ASKED,
    WHICH,
    WHOLE_YEAR,
    YEAR,
    acting_kommuner,
    asked_front_field,
    asked_kinds,
    asks_what_applies,
    asked_organs,
    places,
)
from protokollsok.ingest.structure import fold

from .analyzer import Analyzer
from .synonyms import Synonyms


@dataclass(frozen=True)
class Question:
    text: str
    """As asked, personnummer masked by the caller."""
    tokens: tuple[str, ...]
    """The analyser's tokens (query spellings of Dnr count), in order, repeats kept."""
    synonyms: tuple[tuple[frozenset[str], frozenset[str]], ...]
    """For each synonym group the question matches: its tokens that matched, and all the group's tokens."""
    derivations: tuple[tuple[frozenset[str], frozenset[str]], ...]
    """The same for the derivation list (försäljning / sälja): evidence reads them, search does not."""
    frame: frozenset[str]
    """Tokens of words common in any Swedish text (`ska`, `fick`, `nya`; Analyzer.frame): evidence weighs them
    little, since they shape the question, not its topic; search reads them as any token."""
    dnr_keys: tuple[str, ...]
    paragrafer: tuple[str, ...]
    """As the index writes them: `§ 218`."""
    kommuner: frozenset[str]
    """Kommuner of the index the question names anywhere, folded (`norsjo`)."""
    acting_kommuner: frozenset[str]
    """Kommuner (of all Sweden's) it names as the one acting (`Piteå kommun`, `nämnd i Lycksele`), as written."""
    places: frozenset[str]
    """Kommuner it names only as a place (`lokalerna i Stockholm`), as written."""
    organs: frozenset[str]
    """Organs it asks to have decided (`Vad beslutade kommunfullmäktige …` → `fullmäktige`)."""
    years: frozenset[str]
    """Years it names, not counting those inside a Dnr (`KS 2023/651`)."""
    kinds: frozenset[str]
    """Kinds of answer asked for (language.ANSWER_KINDS)."""
    decision: bool
    """It asks what was decided or proposed."""
    decided: bool
    """It asks about a decision taken (`beslutade`, `antog`, `vilket beslut`), not one proposed."""
    whole_year: bool
    """It asks about a whole year (`hela 2024`, `bokslut`), not part of one."""
    outcome: bool
    """It asks what came of something (`blev`, `faktiska`, `utfall`), not what was forecast."""
    applies_now: bool
    """It asks what applies now (`vad gäller`, `gällande`, a present tense about a rule or a sum), so the
    decision in force leads its case (cases.py)."""
    which: tuple[tuple[str, str], ...]
    """What it asks `vilken …` about (`Vilken stad …`): each word's stem and the word as asked (language.WHICH)."""
    front_field: str | None
    """The front-page field it asks for (`justerare`, `ordforande`, `beslutande` …; language.ASKS_FRONT_PAGE)."""

    def terms(self, synonym_weight: float) -> dict[str, float]:
        """BM25's query: each token weighted by how often it was typed, synonyms at `synonym_weight`."""
        terms: dict[str, float] = {}
        for token in self.tokens:
            terms[token] = terms.get(token, 0.0) + 1.0
        typed = set(self.tokens)
        extra = dict.fromkeys(t for _, group in self.synonyms for t in group if t not in typed)
        for token in extra:
            terms[token] = terms.get(token, 0.0) + synonym_weight
        return terms

    @property
    def named_kommuner(self) -> frozenset[str]:
        """Every kommun the question names, in the index or as the one acting."""
        return self.kommuner | {fold(name) for name in self.acting_kommuner}


class Vocabulary:
    """What reading a question needs from the index: the analyser, the synonym list, the index's kommuner."""

    def __init__(
        self, analyzer: Analyzer, synonyms: Synonyms | None, kommuner: list[str], derivations: Synonyms | None = None
    ):
        self.analyzer = analyzer
        self.synonyms = synonyms
        self.derivations = derivations
        self._kommuner = {fold(name): re.compile(rf"\b{re.escape(fold(name))}s?\b") for name in kommuner}

    def question(self, text: str) -> Question:
        tokens = self.analyzer.tokens(text, typed=True)
        folded = fold(text)
        dnr_matches = dnrs.find_all(text, typed=True)
        without_dnr = "".join(
            text[start:end] for start, end in zip([0] + [m.end for m in dnr_matches], [m.start for m in dnr_matches] + [len(text)])
        )
        return Question(
            text=text,
            tokens=tuple(tokens),
            synonyms=tuple(self.synonyms.matches(text, tokens)) if self.synonyms else (),
            derivations=tuple(self.derivations.matches(text, tokens)) if self.derivations else (),
            frame=self.analyzer.frame(text),
            dnr_keys=tuple(dict.fromkeys(m.dnr.key for m in dnr_matches)),
            paragrafer=tuple(dict.fromkeys(f"§ {int(n)}" for n in PARAGRAF_ASKED.findall(text))),
            kommuner=frozenset(name for name, pattern in self._kommuner.items() if pattern.search(folded)),
            acting_kommuner=acting_kommuner(text),
            places=places(text),
            organs=asked_organs(text),
            years=frozenset(YEAR.findall(without_dnr)),
            kinds=asked_kinds(text),
            decision=bool(ASKS_DECISION.search(text)),
            decided=bool(ASKS_DECIDED.search(text)),
            whole_year=bool(WHOLE_YEAR.search(text)),
            outcome=bool(ASKS_OUTCOME.search(text)),
            applies_now=asks_what_applies(text),
            which=tuple((self.analyzer.stems(word)[0], word) for word in WHICH.findall(text)),
            front_field=asked_front_field(text),
        )

"""How strongly a passage supports an answer to a question: the signal behind `ask`'s level and `likely_relevant`.

Retrieval scores cannot tell an answer from a near miss: the unanswerable questions officials ask are about
topics the records do discuss, so their best hits score as high as real answers (GUIDE §5), and a reader
trained here did no better (GUIDE §5). What separates them is what the question and the passage say:
- `terms`: the question's terms, weighted by how rare they are in the index (a term no record uses, such as
  another kommun's name or a supplier, weighs most), found in the passage, its heading or its metadata,
  directly, as the parts of a compound, as the start of a longer word, or through the synonym and
  derivation lists (`försäljningen` / `har sålt`), or as the verb of a noun in -ering, -ning or -ing
  (`debiteringen` / `debiteras`); frame words (`ska`, `fick`) weigh little. The passage
  counts half, the whole § or memo section it is part of (`unit_share`) the other half: a question's words
  are spread over the § whose one chunk answers. Years and kommuner the question names are pins with checks
  of their own, not topic words, so they do not count here (a 2019 figure is no answer just for holding
  "2019"). A passage of the case or § the question names by Dnr or number counts as covering it:
  that case's memo or decision is what "vad handlar ärendet om" asks for.
Then the checks the question pins, each scaling the strength down when it fails and named in the trail:
- `answer_kind`: the kind of answer asked for (an amount, a share, a count, a date, a person, a reason);
- `year`: a year the question names, in the passage or the record's date or title;
- `period`: a whole year asked for, only part of one written (a half-year, "januari–oktober");
- `kommun`: a kommun the question names as acting ("Piteå kommun"), or any kommun of the index it names, as
  the record's kommun: a Kalix record that mentions Piteå does not say what Piteå decided; and a kommun or
  region it names only as a place ("strategin för Norrbotten"), spoken of by the passage;
- `organ_decided`: an organ the question asks to have decided, seen deciding in the passage (a proposal to
  fullmäktige is not fullmäktige's decision);
- `decision`: a decision taken asked for, only a proposal written (a kallelse, a memo, "förslag till");
- `outcome`: an outcome asked for ("blev", "faktiska"), only a forecast or plan written;
- `open`: a `vilken …` question the passage itself leaves open ("utreda vilken stad som är lämplig");
- `reader`: a site's reader (indexes/rerank.py, off by default) scores the passage under `reader_threshold`;
- `judge`: the site's chat endpoint, asked whether the best unit answers and to quote the words
  (service/judge.py, off by default), said no or quoted words the unit does not hold (`judged`).
The strength decides the level (recipe.py): `answer` from `threshold`, `possible` from `possible_threshold`
(shown as a possible answer to check), `none` below; `protokollsok eval --ask` draws the trade-off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from protokollsok.indexes.analyzer import Analyzer
from protokollsok.indexes.passage import Passage
from protokollsok.indexes.question import Question
from protokollsok.indexes.reader import Reader
from protokollsok.indexes.recipe import Recipe
from protokollsok.ingest.dnr import parse as parse_dnr
from protokollsok.ingest.language import (
    FORECAST,
    OUTCOME,
    PART_OF_YEAR,
    PROPOSAL_DOC_TYPES,
    PROPOSAL_SECTION,
    SHOWS_KIND,
    WHICH,
    WHOLE_YEAR,
    deciding_organs,
)
from protokollsok.ingest.structure import fold

LEVELS = ("answer", "possible", "none")
_UNDER = 1e-4  # how far under a threshold the judge keeps a strength: the trail, rounded to 4 places, shows it under
UNITS_CACHED = 1024  # ~65 kB a unit on the sample (long §§ and memos): ~65 MB at most
_NOUN_ENDINGS = ("ering", "ning", "ing")
_MIN_VERB = 4  # `plan` from `planering`; shorter stems meet too many other words
_PREFIX = 5  # a question stem this long that starts a passage word counts (`nöjd` → `nöjdhet` is too short)


@dataclass(frozen=True)
class Check:
    """One thing the question pins that the passage does not show: its name, what was asked, what was found."""

    name: str
    asked: str
    found: str


@dataclass(frozen=True)
class Support:
    strength: float
    found: float
    failed: tuple[Check, ...]
    level: str
    case_match: bool = False
    reader: float | None = None

    @property
    def likely(self) -> bool:
        return self.level == "answer"

    def met(self, name: str) -> bool:
        return all(check.name != name for check in self.failed)


class Evidence:
    def __init__(self, analyzer: Analyzer, reader: Reader, recipe: Recipe):
        self.analyzer = analyzer
        self.recipe = recipe
        self.vocabulary, frequency, documents = reader.frequencies()
        self.idf = np.log1p((documents - frequency + 0.5) / (frequency + 0.5))
        self.unseen_idf = math.log1p((documents + 0.5) / 0.5)
        self.reader = reader
        # A unit's words, read once a version: the same §§ and memos answer most questions.
        self._unit = lru_cache(maxsize=UNITS_CACHED)(self._read_unit)

    def support(self, question: Question, passage: Passage, reader: float | None = None) -> Support:
        """How well one passage, read with its heading and metadata, supports an answer; `reader`: a site's
        reader's score of it (search.Hit.reader), None without one."""
        dnr = parse_dnr(passage.dnr) if passage.dnr else None
        paragraf = passage.paragraf and passage.paragraf in question.paragrafer
        case_match = bool((dnr and dnr.key in question.dnr_keys) or paragraf)
        return self._support(question, passage.text, passage, case_match, reader)

    def text_support(self, question: Question, text: str) -> Support:
        """How well a bare sentence supports an answer: its words and kind only, no metadata."""
        return self._support(question, text, None, False)

    def _support(
        self, question: Question, text: str, passage: Passage | None, case_match: bool, reader: float | None = None
    ) -> Support:
        share = self._coverage(question, self._present(f"{passage.context if passage else ''}\n{text}"))
        if passage is not None:
            words = self._unit(passage.doc_id, passage.unit)[0] | self._present(passage.context)
            whole = self._coverage(question, words)
            share = (1.0 - self.recipe.unit_share) * share + self.recipe.unit_share * max(share, whole)
        if case_match:
            share = max(share, self.recipe.case_match_share)
        r = self.recipe
        failed: list[tuple[Check, float]] = []
        if question.kinds and not any(SHOWS_KIND[kind].search(text) for kind in question.kinds):
            failed.append((Check("answer_kind", ", ".join(sorted(question.kinds)), ""), r.kind_missing))
        # The year a record speaks of: its date, or its title's (`Verksamhetsberättelse 2024` has no date).
        record = f"{passage.date or ''} {passage.title}" if passage else ""
        if question.years and not any(y in text or y in record for y in question.years):
            found = (passage.date or "")[:4] if passage else ""
            failed.append((Check("year", ", ".join(sorted(question.years)), found), r.year_missing))
        if question.whole_year and PART_OF_YEAR.search(text) and not WHOLE_YEAR.search(text):
            failed.append((Check("period", "hela året", PART_OF_YEAR.search(text).group(0)), r.period_missing))
        # The whole unit: a motion that asks `vilken stad` leaves it open in every chunk of it.
        asked_in_unit = self._unit(passage.doc_id, passage.unit)[1] if passage else frozenset()
        left_open = self._left_open(question, text, asked_in_unit)
        if left_open:
            failed.append((Check("open", left_open, "öppen fråga"), r.open_missing))
        if question.outcome and FORECAST.search(text) and not OUTCOME.search(text):
            failed.append((Check("outcome", "utfall", FORECAST.search(text).group(0)), r.outcome_missing))
        if passage is not None:
            named = question.named_kommuner
            elsewhere = frozenset(place for place in question.places if fold(place) not in named)
            if named and fold(passage.kommun) not in named:
                asked = ", ".join(sorted(question.acting_kommuner) or sorted(named))  # as written where it can
                failed.append((Check("kommun", asked, passage.kommun), r.kommun_missing))
            elif elsewhere and not _speaks_of(elsewhere, passage):
                asked = ", ".join(sorted(elsewhere))
                failed.append((Check("kommun", asked, passage.kommun), r.kommun_missing))
            # In a proposal section (`Kommunstyrelsens förslag till kommunfullmäktige`) the text is the decision
            # proposed, so only the section's own organ decides there: to propose.
            proposal_section = bool(PROPOSAL_SECTION.search(passage.section or ""))
            deciding = deciding_organs("" if proposal_section else text, passage.section or "")
            if question.organs and not question.organs & deciding:
                found = ", ".join(sorted(deciding)) or passage.organ
                failed.append((Check("organ_decided", ", ".join(sorted(question.organs)), found), r.organ_missing))
            proposal = passage.doc_type in PROPOSAL_DOC_TYPES or proposal_section
            if question.decided and not question.organs and proposal and not deciding:
                failed.append((Check("decision", "beslut", "förslag"), r.decision_missing))
        if reader is not None and reader < r.reader_threshold:
            failed.append((Check("reader", f"{r.reader_threshold:.2f}", f"{reader:.2f}"), r.reader_missing))
        strength = share
        for _, factor in failed:
            strength *= factor
        checks = tuple(check for check, _ in failed)
        if share < r.threshold:
            checks = (Check("terms", f"{share:.2f}", f"{r.threshold:.2f}"), *checks)
        return Support(strength, share, checks, self._level(strength), case_match, reader)

    def judged(self, support: Support, verdict: str) -> Support:
        """The support after the judge's `verdict` failed it (judge.py): its strength scaled by `judge_missing`
        and kept under the threshold of the level it had, so the level drops at least one step."""
        ceiling = self.recipe.threshold if support.level == "answer" else self.recipe.possible_threshold
        strength = min(support.strength * self.recipe.judge_missing, ceiling - _UNDER)
        check = Check("judge", "svar på frågan", verdict)
        return replace(support, strength=strength, failed=(*support.failed, check), level=self._level(strength))

    def _level(self, strength: float) -> str:
        if strength >= self.recipe.threshold:
            return "answer"
        return "possible" if strength >= self.recipe.possible_threshold else "none"

    def _left_open(self, question: Question, text: str, unit: frozenset[str]) -> str:
        """`vilken stad` asked, and the passage or its unit asks the same (`utreda vilken stad som är lämplig`):
        the record leaves open what the question asks. The words as the question has them, or "" when not so."""
        if not question.which:
            return ""
        opened = unit | {self.analyzer.stems(word)[0] for word in WHICH.findall(text)}
        return next((f"vilken {word}" for stem, word in question.which if stem in opened), "")

    def _read_unit(self, doc_id: str, unit: int) -> tuple[frozenset[str], frozenset[str]]:
        """The tokens of the whole § or memo section a passage is part of (its chunks overlap; a set minds not),
        and the stems of what it asks `vilken …` about (`_left_open`)."""
        texts = [p.text for p in self.reader.unit_chunks(doc_id, unit)]
        tokens = frozenset(t for text in texts for t in self.analyzer.tokens(text))
        return tokens, frozenset(self.analyzer.stems(word)[0] for text in texts for word in WHICH.findall(text))

    def _present(self, text: str) -> frozenset[str]:
        return frozenset(self.analyzer.tokens(text))

    def _coverage(self, question: Question, present: frozenset[str]) -> float:
        """The share of the question's terms, weighted by rarity, that a text's tokens hold in some Swedish form."""
        pinned = question.years | question.named_kommuner  # pins with checks of their own below, not topic words
        weights = {
            t: self._idf(t) * (self.recipe.frame_weight if t in question.frame else 1.0)
            for t in dict.fromkeys(question.tokens)
            if fold(t) not in pinned
        }
        alternatives: dict[str, frozenset[str]] = {}
        for typed, group in (*question.synonyms, *question.derivations):
            for token in typed:
                alternatives[token] = alternatives.get(token, frozenset()) | group
        longer = [p for p in present if len(p) > _PREFIX]
        found = 0.0
        for token, weight in weights.items():
            if (
                token in present
                or not present.isdisjoint(alternatives.get(token, ()))
                or self._parts_present(token, present)
                or (len(token) >= _PREFIX and token.isalpha() and any(p.startswith(token) for p in longer))
                or not present.isdisjoint(_verbs(token))
                or (token.isalpha() and len(token) >= _MIN_VERB and any(token + e in present for e in _NOUN_ENDINGS))
            ):
                found += weight
        return found / (sum(weights.values()) or 1.0)

    def _parts_present(self, token: str, present: frozenset[str]) -> bool:
        """A compound asked (`skolbuss`) is held when the text holds each of its parts (`buss`, `skol…`)."""
        if not token.isalpha():
            return False
        parts = self.analyzer.split(token)
        return len(parts) > 1 and all(self.analyzer.stems(part)[0] in present for part in parts)

    def _idf(self, token: str) -> float:
        index = self.vocabulary.get(token)
        return float(self.idf[index]) if index is not None else self.unseen_idf


def _speaks_of(places: frozenset[str], passage: Passage) -> bool:
    """A place the question names is the record's kommun, or the passage speaks of it."""
    folded = fold(passage.text)
    return any(fold(place) == fold(passage.kommun) or fold(place) in folded for place in places)


def _verbs(stem: str) -> tuple[str, ...]:
    """The verb stems a noun stem in -ering, -ning or -ing is made from, as Snowball stems the verb: `planering`
    → `plan`, `granskning` → `gransk`, `förändring` → `förändr`; a noun asked where the record writes the verb
    (`återlämningen` / `återlämnar`), with no list to keep. The other way round, a verb asked and its noun
    written, is the verb's stem with one of the endings (_coverage)."""
    if not stem.isalpha():
        return ()
    return tuple(
        stem[: -len(ending)]
        for ending in _NOUN_ENDINGS
        if stem.endswith(ending) and len(stem) - len(ending) >= _MIN_VERB
    )

"""Swedish text → lexical tokens.

Lower case (å ä ö kept), Swedish stopwords, Snowball Swedish stemming, and what stemming cannot do:
- compounds are split against a vocabulary (wordfreq's list of common Swedish words), so
  `budgetdirektiv` also yields `budget` and `direktiv`, `arbetsmarknadsnämnd` `arbetsmarknad` + `nämnd`;
- coordinated compounds are completed, so `arbets- och personalutskott` also yields `arbetsutskott`;
- a Dnr in any spelling becomes one canonical token (`dnr:2023-00651`), and `§ 218` becomes `§218`,
  so `KS 2023/651`, `2023-00651` and `Diarienr: KS-2023/00651` meet in the index.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_SWEDISH

from protokollsok.ingest import dnr as dnrs
from protokollsok.ingest.language import PARAGRAF

_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*")
_COORDINATED = re.compile(r"\b([^\W\d_]{2,})-\s+(?:och|eller|samt|respektive)\s+([^\W\d_]{4,})", re.IGNORECASE)
_STOPWORDS = frozenset(STOPWORDS_SWEDISH)
_MIN_HEAD, _MIN_PART = 4, 3
# A word this common (~3 per 1,000 words) frames a question: `ska` 6.7, `fick` 6.0, `nya` 5.8; `kommun` 5.2.
FRAME_ZIPF = 5.5
_LINKS = ("", "s", "e", "a", "u")
_VOWELS = "aeiouyåäö"
# Endings a split must not take for a word: `planens` is plan + genitive, not plan + `ens`.
_INFLECTIONS = frozenset({"ens", "ets", "nas", "ans", "ars", "ers", "ors", "ret", "let", "det", "ade", "are", "ern", "arn"})


def dnr_token(key: str) -> str:
    return f"dnr:{key}"


def paragraf_token(number: str) -> str:
    return f"§{int(number)}"


class Analyzer:
    def __init__(self):
        self.stemmer = Stemmer.Stemmer("swedish")
        self.vocabulary = _swedish_words()

    def tokens(self, text: str, typed: bool = False) -> list[str]:
        """`typed`: the text is a query, where the looser Dnr spellings people type count."""
        found = [dnr_token(m.dnr.key) for m in dnrs.find_all(text, typed=typed)]
        found += [paragraf_token(n) for n in PARAGRAF.findall(text)]
        lowered = text.lower()
        for first, second in _COORDINATED.findall(lowered):
            parts = self.split(second)
            if len(parts) > 1:
                found.append(self._stem(first + parts[-1]))
        for word in _WORD.findall(lowered):
            for piece in word.split("-") if "-" in word else (word,):
                if piece in _STOPWORDS or len(piece) < 2:
                    continue
                found.append(self._stem(piece))
                if len(piece) >= _MIN_HEAD + _MIN_PART and piece.isalpha() and piece not in self.vocabulary:
                    parts = self.split(piece)
                    if len(parts) > 1:
                        found.extend(self._stem(part) for part in parts)
        return found

    def frame(self, text: str) -> frozenset[str]:
        """Stems of the words so common in any Swedish text (wordfreq's Zipf scale, `FRAME_ZIPF` and up: `ska`,
        `fick`, `nya`, `står`, `många`) that in a question they shape what is asked rather than name its topic."""
        from wordfreq import zipf_frequency

        words = [piece for word in _WORD.findall(text.lower()) for piece in word.split("-") if piece]
        common = (w for w in words if w.isalpha() and w not in _STOPWORDS and zipf_frequency(w, "sv") >= FRAME_ZIPF)
        return frozenset(self._stem(w) for w in common)

    def stems(self, text: str) -> tuple[str, ...]:
        """Every word stemmed, stopwords kept: the sequence a phrase is matched against."""
        return tuple(self._stem(piece) for word in _WORD.findall(text.lower()) for piece in word.split("-") if piece)

    @lru_cache(maxsize=200_000)
    def split(self, word: str) -> tuple[str, ...]:
        """The compound's parts, found by the split whose rarest part is most common; (word,) if none."""
        best: tuple[str, ...] = (word,)
        best_score = 0
        for i in range(_MIN_HEAD, len(word) - _MIN_PART + 1):
            head = word[:i]
            if head not in self.vocabulary:
                continue
            for link in _LINKS:
                if not word.startswith(link, i):
                    continue
                tail = word[i + len(link) :]
                if len(tail) < _MIN_PART or tail in _INFLECTIONS:
                    continue
                tail_parts = (tail,) if tail in self.vocabulary else self.split(tail)
                if tail_parts == (tail,) and tail not in self.vocabulary:
                    continue
                score = min(len(head), *(len(p) for p in tail_parts))
                if score > best_score:
                    best, best_score = (head, *tail_parts), score
        return best

    @lru_cache(maxsize=500_000)
    def _stem(self, word: str) -> str:
        """Snowball Swedish, run to a fixed point (it stems `kostnaden` to `kostnad` but `kostnad` to
        `kostn`), after folding the definite forms it leaves alone."""
        if not word.isalpha():
            return word
        word = self._indefinite(word)
        for _ in range(3):
            stemmed = self.stemmer.stemWord(word)
            if stemmed == word:
                break
            word = stemmed
        return word

    def _indefinite(self, word: str) -> str:
        """`taxan` → `taxa`, `frånvaron` → `frånvaro`, `ärendet` → `ärende`, `utskottet(s)` → `utskott`, when
        the shorter word is a known one; Snowball strips none of these endings."""
        if len(word) > 4 and word[-1] in "nt" and word[-2] in _VOWELS and word[:-1] in self.vocabulary:
            return word[:-1]
        if len(word) > 5 and word.endswith("et") and word[:-2] in self.vocabulary:
            return word[:-2]
        if len(word) > 5 and word[-1] == "s":
            folded = self._indefinite(word[:-1])
            return folded if folded != word[:-1] else word
        return word


@cache
def _swedish_words(top: int = 60_000) -> frozenset[str]:
    """Common Swedish words (wordfreq's list, shipped in its wheel): parts a compound may be split into."""
    from wordfreq import top_n_list

    return frozenset(w for w in top_n_list("sv", top) if w.isalpha() and len(w) >= _MIN_PART)

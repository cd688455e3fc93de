"""An optional generated summary, off by default: an OpenAI-compatible chat endpoint on the municipality's own
network may rephrase and join the selected extracts, and nothing else.

Only an administrator turns it on (`PROTOKOLLSOK_LLM_URL`, `_MODEL`, `_KEY`); nothing else in Protokollsök
connects anywhere. The endpoint sees the question and the numbered extracts, and must end every sentence with
the numbers it rests on. Each sentence it returns is then checked against the passages it cites: every
number (amounts, dates, §, Dnr) and every capitalised name (a person, place or firm) must stand in them as
written, and most of its words must too. A sentence that fails, or cites nothing, is dropped; when fewer
than half survive, no summary is shown and the verbatim extracts stand alone. The summary goes in its own
field: `answer` always holds the extracts.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import httpx

from protokollsok.indexes.analyzer import Analyzer

from . import personnummer
from .records import Answer, Statement

MIN_WORDS_FOUND = 0.6
MIN_KEPT = 0.5
TIMEOUT_SECONDS = 30
PROMPT = (
    "Du sammanfattar utdrag ur kommunala protokoll på svenska. Använd bara uppgifter som står i utdragen; "
    "lägg aldrig till egna fakta, siffror, datum eller namn. Skriv högst tre korta meningar och avsluta varje "
    "mening med numren på de utdrag den bygger på, till exempel [1] eller [1][2]."
)
_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+|$)")
_CITATION = re.compile(r"\[(\d{1,2})\]")
_CITATION_AFTER_STOP = re.compile(r"([.!?])\s*((?:\[\d{1,2}\]\s*)+)")
_NAME = re.compile(r"(?<=\S )[A-ZÅÄÖ][\wåäöÅÄÖéü-]+")
_NUMBER = re.compile(r"\d[\d\s\u00a0\u202f.,:/–-]*\d|\d")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Generator:
    url: str
    model: str
    key: str = ""

    def summary(self, answer: Answer, analyzer: Analyzer) -> list[Statement]:
        if not answer.answered:
            return []
        extracts = "\n".join(f"[{n}] {s.text}" for s in answer.answer for n in s.citations[:1])
        try:
            text = self.complete(f"Fråga: {answer.question}\n\nUtdrag:\n{extracts}")
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as error:
            log.warning("summary endpoint failed error=%s", type(error).__name__)
            return []
        quotes = {s.n: s.quote for s in answer.sources}
        text = _CITATION_AFTER_STOP.sub(lambda m: f" {m.group(2).strip()}{m.group(1)} ", text)
        proposed = [m.group().strip() for m in _SENTENCE.finditer(text) if m.group().strip()]
        kept = [s for s in (_checked(p, quotes, analyzer) for p in proposed) if s]
        return kept if proposed and len(kept) / len(proposed) >= MIN_KEPT else []

    def complete(self, content: str, prompt: str = PROMPT, timeout: float = TIMEOUT_SECONDS) -> str:
        """The endpoint's reply to `content` under the system `prompt`: the summary's, or the judge's (judge.py)."""
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        body = {
            "model": self.model,
            "temperature": 0,
            "messages": [{"role": "system", "content": prompt}, {"role": "user", "content": content}],
        }
        response = httpx.post(
            f"{self.url.rstrip('/')}/chat/completions", json=body, headers=headers, timeout=timeout
        )
        response.raise_for_status()
        return str(response.json()["choices"][0]["message"]["content"])


def _checked(sentence: str, quotes: dict[int, str], analyzer: Analyzer) -> Statement | None:
    """The sentence with its citations if the cited passages hold it, else None."""
    citations = sorted({int(n) for n in _CITATION.findall(sentence) if int(n) in quotes})
    text = personnummer.mask(_CITATION.sub("", sentence)).strip()
    if not citations or not text:
        return None
    cited = " ".join(quotes[n] for n in citations)
    if not all(quoted(number, cited) for number in _NUMBER.findall(text)):
        return None
    if not all(quoted(name, cited) for name in _NAME.findall(text)):
        return None
    words = analyzer.tokens(text)
    present = set(analyzer.tokens(cited))
    if words and sum(w in present for w in words) / len(words) < MIN_WORDS_FOUND:
        return None
    return Statement(text, citations)


def quoted(words: str, text: str) -> bool:
    """Whether `text` holds `words` as written, whitespace aside: how a generated number or a judge's quote is
    held to the passage it claims to come from."""
    return bool(words.strip()) and _flat(words.strip()) in _flat(text)


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)

"""A judge, off by default: the site's chat endpoint (the summary's, generator.py) asked whether the best
candidate's unit (its § or memo) answers the question, and to quote the words that do.

`PROTOKOLLSOK_JUDGE=1` turns it on where `PROTOKOLLSOK_LLM_URL` is set. Only a quote is trusted, and only when
the unit holds it as written, whitespace aside (generator.quoted, as the summary's numbers are held): a "no",
or a "yes" whose quote the unit does not hold, fails the `judge` check (evidence.judged), which lowers the
level. A verified "yes" changes nothing but the trail: no judge has been measured here, so it may hold an
answer back, never give one. An endpoint that fails, is slow or replies in no verdict's form is logged, and
the answer goes on without it.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

import httpx

from . import personnummer
from .generator import Generator, quoted

# An ask waits this long for the verdict at most; the summary, asked once an answer stands, may take 30 s.
TIMEOUT_SECONDS = 10
# The most of a unit sent: a § runs from two lines to two pages, and the endpoint's window is the site's.
UNIT_CHARS = 6000
PROMPT = (
    "Du granskar om ett utdrag ur ett kommunalt protokoll besvarar en fråga. Svara bara med ett JSON-objekt: "
    '{"svarar": true, "citat": "…"} där citat är de ord i utdraget som besvarar frågan, ordagrant avskrivna, '
    'eller {"svarar": false, "citat": ""} om utdraget inte besvarar frågan.'
)
_OBJECT = re.compile(r"\{.*\}", re.S)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    answers: bool
    quote: str
    verified: bool
    """The unit holds the quote as written."""

    @property
    def failure(self) -> str:
        """What the `judge` check records as found when the verdict fails it; empty when it passes."""
        if not self.answers:
            return "svarar inte"
        return "" if self.verified else "citatet står inte i texten"

    def to_trail(self, chunk_id: str) -> dict:
        return {"chunk_id": chunk_id, "answers": self.answers, "quote": self.quote, "verified": self.verified}


@dataclass(frozen=True)
class Judge:
    generator: Generator
    timeout: float = TIMEOUT_SECONDS

    def verdict(self, question: str, unit: str) -> Verdict | None:
        """The endpoint's verdict on `unit` (personnummer masked), its quote checked; None when there is none."""
        text = personnummer.mask(unit)[:UNIT_CHARS]
        try:
            reply = self.generator.complete(f"Fråga: {question}\n\nUtdrag:\n{text}", PROMPT, self.timeout)
            answers, quote = _parsed(reply)
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as error:
            log.warning("judge endpoint failed error=%s", type(error).__name__)
            return None
        return Verdict(answers, quote, quoted(quote, text))


def _parsed(reply: str) -> tuple[bool, str]:
    """`svarar` and `citat` of the JSON object in the reply (a model may wrap it in a code fence or words)."""
    found = _OBJECT.search(reply)
    if not found:
        raise ValueError("no JSON object in the reply")
    data = json.loads(found.group())
    if not isinstance(data.get("svarar"), bool) or not isinstance(data.get("citat", ""), str):
        raise TypeError("the reply's object has no boolean svarar and string citat")
    return data["svarar"], data.get("citat", "")

"""The answer half of `protokollsok eval --ask`: answers with correct evidence, abstention, verbatim extracts.

Every question of the set is asked, the unanswerable ones too. An answerable question counts as answered
correctly when the answer cites a source holding its gold evidence (questions.relevant); an unanswerable one
when the system abstains. The trade-off curve replays each question's candidates at other thresholds:
a threshold answers with the first max_sources (recipe.py) candidates whose strength reaches it.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from tqdm import tqdm

from protokollsok.indexes.recipe import Recipe
from protokollsok.service.answers import normalise
from protokollsok.service.query import Queries

from . import metrics
from .questions import Question, relevant

CURVE = [round(t, 2) for t in np.arange(0.0, 1.01, 0.05)]


def evaluate_answers(questions: list[Question], queries: Queries) -> list[dict]:
    records = []
    for q in tqdm(questions, desc="ask", unit="q", disable=not sys.stderr.isatty()):
        started = time.perf_counter()
        answer = queries.answerer.ask(queries.read(q.question), q.filters)
        latency = time.perf_counter() - started
        quotes = {s.n: normalise(s.quote) for s in answer.sources}
        cited = [s for s in answer.sources if any(s.n in st.citations for st in answer.answer)]
        records.append(
            {
                "id": q.id,
                "type": q.type,
                "answerable": q.answerable,
                "answered": answer.answered,
                "strength": answer.strength,
                "correct_evidence": q.answerable
                and answer.answered
                and any(_holds(q, s.doc_id, s.quote) for s in cited),
                "verbatim": [all(st.text in quotes[n] for n in st.citations) for st in answer.answer if st.citations],
                "words": sum(len(st.text.split()) for st in answer.answer) if answer.answered else 0,
                "latency_ms": latency * 1000,
                "candidates": [[strength, _holds(q, p.doc_id, p.text)] for strength, p in answer.candidates],
                "question": q.question,
            }
        )
    return records


def summarise_answers(records: list[dict], recipe: Recipe) -> dict:
    answerable = [r for r in records if r["answerable"]]
    unanswerable = [r for r in records if not r["answerable"]]
    statements = [v for r in records for v in r["verbatim"]]
    answered = [r for r in records if r["answered"]]
    return {
        "threshold": recipe.threshold,
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "answered_with_evidence": _share(r["correct_evidence"] for r in answerable),
        "abstained_unanswerable": _share(not r["answered"] for r in unanswerable),
        "false_abstention": _share(not r["answered"] for r in answerable),
        "verbatim": _share(statements),
        "mean_words": float(np.mean([r["words"] for r in answered])) if answered else 0.0,
        "latency_p50_ms": metrics.percentile([r["latency_ms"] for r in records], 50),
        "latency_p95_ms": metrics.percentile([r["latency_ms"] for r in records], 95),
        "curve": [
            {
                "threshold": t,
                "answered_with_evidence": _share(_replay(r, t, recipe.max_sources) for r in answerable),
                "abstained_unanswerable": _share(not _answers(r, t) for r in unanswerable),
            }
            for t in CURVE
        ],
    }


def _holds(q: Question, doc_id: str, text: str) -> bool:
    return any(relevant(e, doc_id, text) for e in q.evidence)


def _answers(record: dict, threshold: float) -> bool:
    return any(strength >= threshold for strength, _ in record["candidates"])


def _replay(record: dict, threshold: float, max_sources: int) -> bool:
    chosen = [holds for strength, holds in record["candidates"] if strength >= threshold][:max_sources]
    return any(chosen)


def _share(flags) -> float:
    flags = list(flags)
    return sum(bool(f) for f in flags) / len(flags) if flags else 0.0

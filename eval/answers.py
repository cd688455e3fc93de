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
                "level": answer.level,
                "gold_shown": q.answerable
                and answer.level != "none"
                and any(_holds(q, s.doc_id, s.quote) for s in answer.sources[:1 if answer.level == "possible" else None]
                        if answer.level == "possible" or any(s.n in st.citations for st in answer.answer)),
                "reason": answer.reason.check if answer.reason else None,
                "strength": answer.strength,
                "correct_evidence": q.answerable
                and answer.answered
                and any(_holds(q, s.doc_id, s.quote) for s in cited),
                "verbatim": [
                    all(st.text in quotes[n] and (st.heads or "") in quotes[n] for n in st.citations)
                    for st in answer.answer
                    if st.citations
                ],
                "words": sum(len(st.text.split()) for st in answer.answer) if answer.answered else 0,
                "latency_ms": latency * 1000,
                "candidates": [[strength, _holds(q, p.doc_id, p.text)] for strength, p in answer.candidates],
                "question": q.question,
            }
        )
    return records


def summarise_answers(records: list[dict], recipe: Recipe, judge: str | None = None) -> dict:
    """`judge`: the model of the judge that ruled on the answers (service/judge.py), None without one."""
    answerable = [r for r in records if r["answerable"]]
    unanswerable = [r for r in records if not r["answerable"]]
    statements = [v for r in records for v in r["verbatim"]]
    answered = [r for r in records if r["answered"]]
    return {
        "threshold": recipe.threshold,
        "judge": judge,
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "answered_with_evidence": _share(r["correct_evidence"] for r in answerable),
        "abstained_unanswerable": _share(not r["answered"] for r in unanswerable),
        "false_abstention": _share(not r["answered"] for r in answerable),
        "gold_shown": _share(r["gold_shown"] for r in answerable),
        "possible": _share(r["level"] == "possible" for r in records),
        "verbatim": _share(statements),
        "mean_words": float(np.mean([r["words"] for r in answered])) if answered else 0.0,
        "latency_p50_ms": metrics.percentile([r["latency_ms"] for r in records], 50),
        "latency_p95_ms": metrics.percentile([r["latency_ms"] for r in records], 95),
        "calibration": calibrate(records, recipe.max_sources),
        "curve": [
            {
                "threshold": t,
                "answered_with_evidence": _share(_replay(r, t, recipe.max_sources) for r in answerable),
                "abstained_unanswerable": _share(not _answers(r, t) for r in unanswerable),
            }
            for t in CURVE
        ],
    }


def calibrate(records: list[dict], max_sources: int, folds: int = 5) -> dict:
    """The threshold chosen by cross-validation: on each fold's complement, the one that best balances answering
    answerable questions with gold evidence against abstaining on unanswerable ones (the lower of the two,
    since both must hold); scored on the fold. A threshold fitted to the whole set would flatter itself."""
    order = sorted(range(len(records)), key=lambda i: records[i]["id"])
    chosen, held = [], []
    for fold in range(folds):
        test = [records[i] for n, i in enumerate(order) if n % folds == fold]
        train = [records[i] for n, i in enumerate(order) if n % folds != fold]
        best = max(CURVE, key=lambda t: (min(_figures(train, t, max_sources)), -abs(t - 0.45)))
        chosen.append(best)
        held.append(_figures(test, best, max_sources))
    return {
        "folds": folds,
        "thresholds": chosen,
        "threshold": round(float(np.median(chosen)), 2),
        "answered_with_evidence": float(np.mean([h[0] for h in held])),
        "abstained_unanswerable": float(np.mean([h[1] for h in held])),
    }


def _figures(records: list[dict], threshold: float, max_sources: int) -> tuple[float, float]:
    return (
        _share(_replay(r, threshold, max_sources) for r in records if r["answerable"]),
        _share(not _answers(r, threshold) for r in records if not r["answerable"]),
    )


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

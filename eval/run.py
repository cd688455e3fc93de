"""`protokollsok eval`: every question through every mode, scored, written as JSON, Markdown and HTML."""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path

from tqdm import tqdm

from protokollsok.indexes.search import Searcher
from protokollsok.service.query import Queries

from . import gate, metrics, report
from .questions import Question, QuestionSetError, load, relevant, validate

CUTOFFS = (1, 3, 5, 10)


def run(args, queries: Queries) -> int:
    searcher = queries.searcher
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    gate.require(args.gate, args.update_gate, modes, args.ask)
    try:
        questions = [q for path in args.questions for q in load(path)]
        if len({q.id for q in questions}) < len(questions):
            raise QuestionSetError("the question files share question ids; give each question set its own ids")
        documents = {doc_id: searcher.reader.document(doc_id).text for doc_id in searcher.reader.document_ids()}
        validate(questions, documents)
    except QuestionSetError as error:
        print(f"protokollsok eval: {error}", file=sys.stderr)
        return 2
    results = evaluate(questions, queries, modes, args.k)
    summary = summarise(results, modes, searcher, " + ".join(str(p) for p in args.questions))
    answer_records: list[dict] = []
    if args.ask:
        from .answers import evaluate_answers, summarise_answers

        answer_records = evaluate_answers(questions, queries)
        judge = queries.answerer.judge
        summary["answers"] = summarise_answers(answer_records, searcher.recipe, judge.generator.model if judge else None)
    folder = args.report or Path("var/eval")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(
        json.dumps({"summary": summary, "questions": results, "answers": answer_records}, ensure_ascii=False, indent=1)
    )
    markdown = report.markdown(summary)
    (folder / "report.md").write_text(markdown)
    (folder / "report.html").write_text(report.html(summary, results))
    print(markdown)
    if args.baseline:
        print(report.comparison(json.loads(args.baseline.read_text()), {"summary": summary, "questions": results}))
    print(f"\nreport: {folder / 'report.html'} · {folder / 'report.json'}")
    if args.gate:
        return gate.check(args.gate, summary, results, answer_records, update=args.update_gate)
    return 0


def evaluate(questions: list[Question], queries: Queries, modes: list[str], k: int) -> list[dict]:
    answerable = [q for q in questions if q.answerable]
    totals = {q.id: _relevant_in_index(q, queries.searcher) for q in answerable}
    records = []
    steps = tqdm(total=len(answerable) * len(modes), desc="eval", unit="q", disable=not sys.stderr.isatty())
    for mode in modes:
        for q in answerable:
            started = time.perf_counter()
            result = queries.result(q.question, max(k, 10), q.filters, mode)
            latency = time.perf_counter() - started
            flags = [any(relevant(e, h.passage.doc_id, h.passage.text) for e in q.evidence) for h in result.hits]
            found = [any(relevant(e, h.passage.doc_id, h.passage.text) for h in result.hits[:10]) for e in q.evidence]
            record = {
                "id": q.id,
                "type": q.type,
                "mode": mode,
                "question": q.question,
                **{f"recall@{c}": metrics.recall_at(flags, c) for c in CUTOFFS},
                "mrr@10": metrics.reciprocal_rank(flags, 10),
                "ndcg@10": metrics.ndcg_at(flags, 10, totals[q.id]),
                "coverage@10": metrics.coverage(found) if len(q.evidence) > 1 else None,
                "first_relevant": next((i + 1 for i, f in enumerate(flags) if f), None),
                "latency_ms": latency * 1000,
                "hits": [
                    {"rank": h.rank, "chunk_id": h.passage.chunk_id, "paragraf": h.passage.paragraf, "relevant": f}
                    for h, f in zip(result.hits[:k], flags)
                ],
            }
            records.append(record)
            steps.update()
    steps.close()
    return records


def summarise(records: list[dict], modes: list[str], searcher: Searcher, questions_path: str) -> dict:
    figures = ["recall@1", "recall@3", "recall@5", "recall@10", "mrr@10", "ndcg@10"]
    by_mode: dict[str, dict] = {}
    for mode in modes:
        rows = [r for r in records if r["mode"] == mode]
        types: dict[str, list[dict]] = defaultdict(list)
        for r in rows:
            types[r["type"]].append(r)
        covered = [r["coverage@10"] for r in rows if r["coverage@10"] is not None]
        by_mode[mode] = {
            "questions": len(rows),
            **{f: _mean(r[f] for r in rows) for f in figures},
            "coverage@10": _mean(covered),
            "latency_p50_ms": metrics.percentile([r["latency_ms"] for r in rows], 50),
            "latency_p95_ms": metrics.percentile([r["latency_ms"] for r in rows], 95),
            "by_type": {
                t: {"questions": len(rs), **{f: _mean(r[f] for r in rs) for f in figures}} for t, rs in sorted(types.items())
            },
            "recall_curve": [_mean(float(r["first_relevant"] is not None and r["first_relevant"] <= k) for r in rows) for k in range(1, 11)],
        }
    return {
        "question_set": questions_path,
        "index_version": searcher.version.name,
        "model": searcher.version.manifest.get("model_path"),
        "fusion": searcher.recipe.fusion,
        "dense_weight": searcher.recipe.dense_weight,
        "synonyms": str(searcher.synonyms.path) if searcher.synonyms else None,
        "reader": str(searcher.reranker.folder) if searcher.reranker else None,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "modes": by_mode,
        "answers": "not measured: run with --ask",
    }


def _relevant_in_index(q: Question, searcher: Searcher) -> int:
    """How many chunks in the whole index are relevant: the ideal list nDCG compares with."""
    count = 0
    for doc in {e.doc for e in q.evidence}:
        for text in searcher.reader.chunk_texts(doc):
            count += any(relevant(e, doc, text) for e in q.evidence)
    return count


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0

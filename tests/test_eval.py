"""Evaluation: metrics on hand-made rankings, the relevance rule, question-set validation, and `eval` end to end."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import math
import re
import sqlite3
from pathlib import Path

import pytest

from protokollsok.cli import main
from protokollsok.eval import gate, metrics, report
from protokollsok.eval.questions import Evidence, QuestionSetError, load, normalise, quote_key, relevant, validate
from protokollsok.indexes.store import Store

KALIX = "kalix-kommunstyrelsen-protokoll-2023-12-11"
NORSJO = "norsjo-allmanna-utskottet-protokoll-2025-02-25"
UMEA = "umea-ks-naringslivs-och-arbetsutskott-tjansteskrivelser-2024"


# --- metrics -------------------------------------------------------------------------------------------

T, F = True, False


def test_recall_at_k():
    ranking = [F, F, T, F, T]
    assert metrics.recall_at(ranking, 1) == 0.0
    assert metrics.recall_at(ranking, 2) == 0.0
    assert metrics.recall_at(ranking, 3) == 1.0
    assert metrics.recall_at(ranking, 10) == 1.0
    assert metrics.recall_at([F, F, F], 10) == 0.0
    assert metrics.recall_at([], 5) == 0.0


def test_reciprocal_rank():
    assert metrics.reciprocal_rank([T, F, F]) == 1.0
    assert metrics.reciprocal_rank([F, T, T]) == 0.5
    assert metrics.reciprocal_rank([F, F, F, T]) == 0.25
    assert metrics.reciprocal_rank([F] * 10 + [T], k=10) == 0.0  # rank 11 is past the cut
    assert metrics.reciprocal_rank([F, F, T], k=2) == 0.0
    assert metrics.reciprocal_rank([]) == 0.0


def test_ndcg_against_hand_computed_values():
    # relevant at ranks 2 and 4, three relevant chunks in the index:
    # DCG = 1/log2(3) + 1/log2(5) = 0.63093 + 0.43068 = 1.06161
    # IDCG (3 relevant at ranks 1-3) = 1 + 1/log2(3) + 1/log2(4) = 1 + 0.63093 + 0.5 = 2.13093
    ranking = [F, T, F, T, F]
    assert metrics.ndcg_at(ranking, 10, total_relevant=3) == pytest.approx(1.06161 / 2.13093, abs=1e-5)
    assert metrics.ndcg_at(ranking, 10, total_relevant=3) == pytest.approx(0.498193, abs=1e-5)

    # cut at 2: DCG = 1/log2(3) = 0.63093; IDCG = 1 + 0.63093 (only two places)
    assert metrics.ndcg_at(ranking, 2, total_relevant=3) == pytest.approx(0.63093 / 1.63093, abs=1e-5)

    # the ideal list holds every relevant chunk in the index, not just those retrieved
    # relevant only at rank 1 with two in the index: 1 / (1 + 1/log2(3)) = 1 / 1.63093
    assert metrics.ndcg_at([T, F, F], 10, total_relevant=2) == pytest.approx(0.613147, abs=1e-5)
    assert metrics.ndcg_at([T, F, F], 10, total_relevant=1) == 1.0

    assert metrics.ndcg_at([T, T, T], 10, total_relevant=3) == pytest.approx(1.0)
    assert metrics.ndcg_at([F, F, F], 10, total_relevant=3) == 0.0
    assert metrics.ndcg_at([F, F, F], 10, total_relevant=0) == 0.0
    # the same two relevant chunks score lower the further down they are
    assert metrics.ndcg_at([T, T, F, F], 10, 2) > metrics.ndcg_at([F, T, T, F], 10, 2) > metrics.ndcg_at([F, F, T, T], 10, 2)
    assert math.isclose(metrics.ndcg_at([F, F, T, T], 10, 2), (1 / math.log2(4) + 1 / math.log2(5)) / (1 + 1 / math.log2(3)))


def test_coverage():
    assert metrics.coverage([T, F, T, T]) == 0.75
    assert metrics.coverage([F, F]) == 0.0
    assert metrics.coverage([T]) == 1.0
    assert metrics.coverage([]) == 0.0


# --- the relevance rule --------------------------------------------------------------------------------


def test_relevance_collapses_whitespace_and_folds_case():
    evidence = Evidence(doc="d", quote="Kommunstyrelsen  beslutar\natt BEVILJA")
    assert relevant(evidence, "d", "§ 1\nKOMMUNSTYRELSEN beslutar\n\n  att bevilja 20 000 kr.")
    assert relevant(Evidence(doc="d", quote="NORSJÖ kommun"), "d", "i norsjö   kommun")
    assert not relevant(evidence, "d", "Kommunstyrelsen beslutar att avslå")


def test_quote_ending_in_line_break_hyphen_matches_the_joined_word():
    evidence = Evidence(doc="d", quote="tecknat avtal med REK AI AB för moln-")
    assert quote_key(evidence.quote) == "tecknat avtal med rek ai ab för moln"
    assert relevant(evidence, "d", "har tecknat avtal med REK AI AB för molnbaserat\nverktyg")
    assert relevant(Evidence(doc="d", quote="för moln-"), "d", "för molnbaserat")
    # a hyphen after a digit is not a line-break hyphen
    assert quote_key("perioden 2024-") == "perioden 2024-"
    assert not relevant(Evidence(doc="d", quote="perioden 2024-"), "d", "perioden 20245")


def test_hyphen_quote_matches_the_ingested_record(ingested):
    """Ingestion joins `moln-\\nbaserat`; the quote as written on the page still finds its chunk."""
    chunks = ingested[KALIX].chunks
    evidence = Evidence(doc=KALIX, quote="tecknat avtal med REK AI AB för moln-")
    matching = [c for c in chunks if relevant(evidence, c.doc_id, c.text)]
    assert matching
    assert all("molnbaserat" in c.text for c in matching)


def test_chunk_of_another_document_is_not_relevant():
    evidence = Evidence(doc=KALIX, quote="budget")
    assert relevant(evidence, KALIX, "Budget 2024")
    assert not relevant(evidence, NORSJO, "Budget 2024")


# --- question-set validation ---------------------------------------------------------------------------

GOOD = {
    "id": "q-good",
    "question": "Vad beviljades i § 231?",
    "type": "paragraf",
    "answerable": True,
    "answer": "Medfinansiering.",
    "evidence": [{"doc": KALIX, "quote": "Kommunstyrelsen beslutar bevilja stiftelsen Kalixbostäder kommunal", "paragraf": "§ 231", "dnr": "2023-00416"}],
}


def _write(tmp_path: Path, *questions: dict) -> Path:
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in questions) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def document_text(ingested) -> dict[str, str]:
    return {doc_id: i.document.text for doc_id, i in ingested.items()}


def test_good_question_set_loads_and_validates(tmp_path, document_text):
    questions = load(_write(tmp_path, GOOD, {**GOOD, "id": "q-two", "filters": {"kommun": "Kalix", "paragraf": "231"}}))
    assert [q.id for q in questions] == ["q-good", "q-two"]
    assert questions[1].filters.kommun == "Kalix" and questions[1].filters.paragraf == "231"
    assert questions[0].evidence[0].paragraf == "§ 231"
    validate(questions, document_text)


@pytest.mark.parametrize("field", ["question", "type", "answerable"])
def test_missing_field_names_the_question(tmp_path, field):
    broken = {k: v for k, v in GOOD.items() if k != field}
    with pytest.raises(QuestionSetError, match=rf"q-good.*'{field}'|'{field}'.*q-good"):
        load(_write(tmp_path, broken))


def test_unknown_filter_names_the_question(tmp_path):
    with pytest.raises(QuestionSetError, match="q-good") as error:
        load(_write(tmp_path, {**GOOD, "filters": {"stad": "Kalix"}}))
    assert "stad" in str(error.value)


def test_duplicate_id_is_named(tmp_path):
    with pytest.raises(QuestionSetError, match="q-good"):
        load(_write(tmp_path, GOOD, {**GOOD, "question": "Något annat?"}))


def test_answerable_without_evidence_names_the_question(tmp_path):
    with pytest.raises(QuestionSetError, match="q-good"):
        load(_write(tmp_path, {**GOOD, "evidence": []}))
    # an unanswerable question needs none
    assert load(_write(tmp_path, {**GOOD, "answerable": False, "answer": None, "evidence": []}))[0].answerable is False


def test_malformed_evidence_names_the_question(tmp_path):
    with pytest.raises(QuestionSetError, match="q-good"):
        load(_write(tmp_path, {**GOOD, "evidence": [{"doc": KALIX, "citat": "budget"}]}))


def test_quote_not_in_its_document_names_the_question(tmp_path, document_text):
    wrong = {**GOOD, "evidence": [{"doc": KALIX, "quote": "Kollektivtrafikplanen 2025-2028 för Norsjö kommun"}]}
    questions = load(_write(tmp_path, wrong))
    with pytest.raises(QuestionSetError, match="q-good"):
        validate(questions, document_text)


def test_unknown_document_names_the_question(tmp_path, document_text):
    questions = load(_write(tmp_path, {**GOOD, "evidence": [{"doc": "pitea-ks-2020", "quote": "budget"}]}))
    with pytest.raises(QuestionSetError, match="q-good") as error:
        validate(questions, document_text)
    assert "pitea-ks-2020" in str(error.value)


def test_empty_question_set_is_an_error(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n")
    with pytest.raises(QuestionSetError):
        load(path)


# --- eval end to end -----------------------------------------------------------------------------------

QUESTIONS = [
    GOOD,
    {
        "id": "q-dnr",
        "question": "Vad gäller ärende KS-25/00213?",
        "type": "dnr",
        "answerable": True,
        "answer": "Kollektivtrafikplan 2025-2028.",
        "evidence": [
            {"doc": NORSJO, "quote": "Kollektivtrafikplanen 2025-2028 för Norsjö kommun är en revidering av", "paragraf": "§ 27", "dnr": "KS-25/00213"},
            {"doc": NORSJO, "quote": "Kollektivtrafikmyndigheten önskar under mars månad att erhålla en plan", "paragraf": "§ 27", "dnr": "KS-25/00213"},
        ],
    },
    {
        "id": "q-filter",
        "question": "Vilka motioner bereds och vad föreslås?",
        "type": "filter",
        "filters": {"kommun": "Umeå", "doc_type": "tjansteskrivelse"},
        "answerable": True,
        "answer": "Ko på rot avslås i nuläget; Taiwan-motionen besvarad.",
        "evidence": [
            {"doc": UMEA, "quote": "Därför föreslås att motionen i nuläget avslås och att frågan utreds", "dnr": "KS-2024/00167"},
            {"doc": UMEA, "quote": "Att kommunfullmäktige beslutar att förklara motionen besvarad i enlighet", "dnr": "KS-2024/00179"},
        ],
    },
    {
        "id": "q-moln",
        "question": "Vilket avtal tecknade enhetschefen med REK AI AB?",
        "type": "fakta",
        "answerable": True,
        "answer": "Avtal om ett molnbaserat verktyg.",
        "evidence": [{"doc": KALIX, "quote": "tecknat avtal med REK AI AB för moln-", "paragraf": "§ 219", "dnr": "2023-00485"}],
    },
    {
        "id": "q-datum",
        "question": "Vilken dag röstar kommunens högsta politiska församling om nästa års ekonomi, alltså budget 2025?",
        "type": "datum",
        "answerable": True,
        "answer": "17 juni 2024.",
        "evidence": [{"doc": UMEA, "quote": "Kommunfullmäktige 17 juni 2024 (debatt och beslut)", "dnr": "KS-2023/00651"}],
    },
    {
        "id": "q-none",
        "question": "Hur många elbussar köpte Luleå kommun år 2019?",
        "type": "obesvarbar",
        "answerable": False,
        "answer": None,
        "evidence": [],
    },
]
ANSWERABLE = [q["id"] for q in QUESTIONS if q["answerable"]]
MODES = ["hybrid", "lexical"]


def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def eval_run(corpus_index, tmp_path_factory):
    folder = tmp_path_factory.mktemp("eval")
    questions = folder / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in QUESTIONS) + "\n", encoding="utf-8")
    out = folder / "report"
    code, stdout, stderr = _cli(["eval", str(questions), "--index", str(corpus_index), "--report", str(out), "--modes", ",".join(MODES)])
    assert code == 0, stderr
    return {"questions": questions, "report": out, "stdout": stdout, "data": json.loads((out / "report.json").read_text())}


def test_eval_writes_json_with_ranked_hits_per_question(eval_run, corpus_index):
    data = eval_run["data"]
    records = data["questions"]
    assert sorted((r["id"], r["mode"]) for r in records) == sorted((q, m) for q in ANSWERABLE for m in MODES)

    meta = sqlite3.connect(Store(corpus_index).current().path / "meta.sqlite")
    try:
        for r in records:
            question = next(q for q in QUESTIONS if q["id"] == r["id"])
            evidence = [Evidence(**e) for e in question["evidence"]]
            assert r["hits"], r["id"]
            assert [h["rank"] for h in r["hits"]] == list(range(1, len(r["hits"]) + 1))
            flags = []
            for h in r["hits"]:
                doc_id, text, paragraf = meta.execute(
                    "SELECT doc_id, text, paragraf FROM chunks WHERE chunk_id = ?", (h["chunk_id"],)
                ).fetchone()
                assert h["paragraf"] == paragraf
                assert h["relevant"] == any(relevant(e, doc_id, text) for e in evidence), (r["id"], h)
                flags.append(h["relevant"])
                if question.get("filters", {}).get("kommun") == "Umeå":
                    assert doc_id == UMEA
            first = next((i + 1 for i, f in enumerate(flags) if f), None)
            assert r["first_relevant"] == first  # k is 10, so the listed hits are all that was scored
            for k in (1, 3, 5, 10):
                assert r[f"recall@{k}"] == float(r["first_relevant"] is not None and r["first_relevant"] <= k)
            assert r["mrr@10"] == (1 / r["first_relevant"] if r["first_relevant"] and r["first_relevant"] <= 10 else 0.0)
            assert 0.0 <= r["ndcg@10"] <= 1.0
            if len(evidence) > 1:
                assert 0.0 <= r["coverage@10"] <= 1.0
            else:
                assert r["coverage@10"] is None
    finally:
        meta.close()


def test_eval_finds_what_the_index_plainly_holds(eval_run):
    by = {(r["id"], r["mode"]): r for r in eval_run["data"]["questions"]}
    assert by[("q-good", "hybrid")]["recall@10"] == 1.0  # the § 231 question
    assert by[("q-dnr", "hybrid")]["recall@5"] == 1.0  # the Dnr question
    assert by[("q-moln", "lexical")]["recall@10"] == 1.0  # found through the hyphen rule
    assert by[("q-filter", "hybrid")]["coverage@10"] == 1.0  # both motions among the top ten


def test_eval_summary_figures_are_the_means_of_the_questions(eval_run, corpus_index):
    summary = eval_run["data"]["summary"]
    assert summary["index_version"] == Store(corpus_index).current().name
    assert summary["question_set"] == str(eval_run["questions"])
    assert set(summary["modes"]) == set(MODES)
    records = eval_run["data"]["questions"]
    for mode in MODES:
        figures = summary["modes"][mode]
        rows = [r for r in records if r["mode"] == mode]
        assert figures["questions"] == len(ANSWERABLE)
        for name in ("recall@1", "recall@3", "recall@5", "recall@10", "mrr@10", "ndcg@10"):
            assert figures[name] == pytest.approx(sum(r[name] for r in rows) / len(rows)), (mode, name)
        covered = [r["coverage@10"] for r in rows if r["coverage@10"] is not None]
        assert figures["coverage@10"] == pytest.approx(sum(covered) / len(covered))
        assert len(figures["recall_curve"]) == 10
        assert figures["recall_curve"] == sorted(figures["recall_curve"])
        assert figures["recall_curve"][0] == pytest.approx(figures["recall@1"])
        assert figures["recall_curve"][4] == pytest.approx(figures["recall@5"])
        assert figures["latency_p95_ms"] >= figures["latency_p50_ms"] > 0
        types = figures["by_type"]
        assert set(types) == {q["type"] for q in QUESTIONS if q["answerable"]}
        assert sum(t["questions"] for t in types.values()) == len(ANSWERABLE)


def test_eval_writes_markdown_and_self_contained_html(eval_run):
    folder = eval_run["report"]
    markdown = (folder / "report.md").read_text()
    summary = eval_run["data"]["summary"]
    for mode in MODES:
        line = next(line for line in markdown.splitlines() if line.startswith(f"| {mode} |"))
        assert f"{summary['modes'][mode]['recall@1']:.3f}" in line
        assert f"| {len(ANSWERABLE)} |" in line
    assert markdown in eval_run["stdout"]

    page = (folder / "report.html").read_text()
    assert page.lstrip().lower().startswith("<!doctype html>")
    images = re.findall(r'<img[^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) >= 2
    for data in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "http://" not in page and "https://" not in page
    assert not re.search(r'(?:src|href)\s*=\s*"(?!data:)', page)
    assert "<script" not in page.lower() and "<link" not in page.lower()
    for mode in MODES:
        assert f"<td>{mode}</td>" in page


def test_eval_baseline_prints_improved_and_regressed(eval_run, corpus_index, tmp_path):
    data = json.loads(json.dumps(eval_run["data"]))
    records = data["questions"]
    better = next(r for r in records if r["first_relevant"] is not None)
    worse = next((r for r in records if r is not better and r["first_relevant"] != 1), None)
    assert worse is not None, "need one question not found at rank 1 to show a regression"
    now_better, now_worse = better["first_relevant"], worse["first_relevant"]
    better["first_relevant"] = None  # the baseline did not find it
    worse["first_relevant"] = 1  # the baseline found it first
    data["summary"]["index_version"] = "v0000"
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(data, ensure_ascii=False))

    code, stdout, stderr = _cli([
        "eval", str(eval_run["questions"]), "--index", str(corpus_index), "--report", str(tmp_path / "again"),
        "--modes", ",".join(MODES), "--baseline", str(baseline),
    ])
    assert code == 0, stderr
    assert "Compared with v0000" in stdout
    assert "improved (1):" in stdout and "regressed (1):" in stdout
    lines = stdout.splitlines()
    assert any(re.search(rf"\+ {better['mode']}\s+{better['id']}: rank none → {now_better}$", line) for line in lines)
    worse_rank = "none" if now_worse is None else now_worse
    assert any(re.search(rf"- {worse['mode']}\s+{worse['id']}: rank 1 → {worse_rank}$", line) for line in lines)


def test_comparison_on_hand_made_reports():
    def rec(qid, mode, first):
        return {"id": qid, "mode": mode, "first_relevant": first}

    def summary(version, r5, mrr):
        return {"index_version": version, "created": "2025-01-01T00:00:00", "modes": {"hybrid": {"recall@5": r5, "mrr@10": mrr}}}

    before = {"summary": summary("v0001", 0.5, 0.4), "questions": [rec("a", "hybrid", 3), rec("b", "hybrid", 1), rec("c", "hybrid", None), rec("d", "hybrid", 2)]}
    after = {"summary": summary("v0002", 0.75, 0.6), "questions": [rec("a", "hybrid", 1), rec("b", "hybrid", None), rec("c", "hybrid", 4), rec("d", "hybrid", 2), rec("e", "hybrid", 1)]}
    text = report.comparison(before, after)
    lines = [line.strip() for line in text.splitlines()]
    assert "Compared with v0001 (2025-01-01T00:00:00):" in lines
    assert "hybrid: recall@5 0.500 → 0.750, MRR@10 0.400 → 0.600" in lines
    assert "improved (2):" in lines and "regressed (1):" in lines
    assert "+ hybrid  a: rank 3 → 1" in lines
    assert "+ hybrid  c: rank none → 4" in lines
    assert "- hybrid  b: rank 1 → none" in lines
    assert not any(" d:" in line or " e:" in line for line in lines)  # unchanged, and new questions


def test_eval_rejects_an_invalid_question_set_naming_the_question(corpus_index, tmp_path):
    wrong = {**GOOD, "id": "q-wrong", "evidence": [{"doc": KALIX, "quote": "Detta citat finns inte i protokollet"}]}
    path = _write(tmp_path, GOOD, wrong)
    out = tmp_path / "report"
    code, stdout, stderr = _cli(["eval", str(path), "--index", str(corpus_index), "--report", str(out), "--modes", "lexical"])
    assert code == 2
    assert "q-wrong" in stderr
    assert not (out / "report.json").exists()


def test_normalise_is_what_relevance_compares():
    assert normalise("  A\tb\n\nC  ") == "a b c"
    assert quote_key("Ett ord-") == "ett ord"
    assert quote_key("Ett ord -") == "ett ord -"


# --- the answer half: eval --ask -------------------------------------------------------------------------


def test_eval_ask_measures_answers_abstention_and_draws_the_tradeoff(eval_run, corpus_index, tmp_path):
    out = tmp_path / "ask-report"
    code, stdout, stderr = _cli(
        ["eval", str(eval_run["questions"]), "--index", str(corpus_index), "--report", str(out), "--modes", "hybrid", "--ask"]
    )
    assert code == 0, stderr
    data = json.loads((out / "report.json").read_text())
    answers = data["summary"]["answers"]
    assert (answers["answerable"], answers["unanswerable"]) == (len(ANSWERABLE), len(QUESTIONS) - len(ANSWERABLE))
    records = {r["id"]: r for r in data["answers"]}
    assert set(records) == {q["id"] for q in QUESTIONS}
    assert answers["verbatim"] == 1.0
    answerable = [records[i] for i in ANSWERABLE]
    assert answers["answered_with_evidence"] == sum(r["correct_evidence"] for r in answerable) / len(answerable)
    assert answers["false_abstention"] == sum(not r["answered"] for r in answerable) / len(answerable)
    assert answers["abstained_unanswerable"] == float(not records["q-none"]["answered"])
    curve = answers["curve"]
    assert curve[0]["threshold"] == 0.0 and curve[-1]["threshold"] == 1.0
    assert all(a["abstained_unanswerable"] <= b["abstained_unanswerable"] for a, b in zip(curve, curve[1:]))
    assert "Answers and abstention" in stdout
    assert "Avvägning mellan att svara och att avstå" in (out / "report.html").read_text()


# --- the quality gate: eval --gate ------------------------------------------------------------------------


def _baseline(answerable: dict[str, tuple[float, float, float]], unanswerable: dict[str, float]) -> dict:
    """A gate baseline by hand: answerable id → (recall@5, MRR@10, correct evidence), unanswerable → abstained."""
    questions = {q: {"answerable": True, "recall@5": r, "mrr@10": m, "correct_evidence": c} for q, (r, m, c) in answerable.items()}
    questions |= {q: {"answerable": False, "abstained": a} for q, a in unanswerable.items()}
    return {"questions": questions}


def test_gate_passes_within_tolerance_and_fails_past_it_naming_the_questions():
    ids = [f"q{i:03d}" for i in range(100)]
    refusals = [f"u{i:02d}" for i in range(20)]
    before = _baseline({q: (1.0, 1.0, 1.0) for q in ids}, {u: 1.0 for u in refusals})

    # two questions lose recall@5 (0.02, not more), one refusal now answers (0.05, not more): passes
    slightly = _baseline(
        {q: ((0.0, 0.0, 1.0) if q in ids[:2] else (1.0, 1.0, 1.0)) for q in ids}, {u: float(u != "u00") for u in refusals}
    )
    verdict = gate.compare(before, slightly)
    assert not verdict.failed
    figures = {f.name: f for f in verdict.figures}
    assert figures["recall@5"].before == 1.0 and figures["recall@5"].after == pytest.approx(0.98)
    assert [q for q, _, _ in figures["recall@5"].regressed] == ids[:2]
    assert [q for q, _, _ in figures["abstention"].regressed] == ["u00"]
    assert gate.conclusion(verdict, Path("b.json")) == "gate passed"

    # three lose recall@5 and MRR, two refusals answer: recall@5, MRR@10 and abstention fail, each named
    worse = _baseline(
        {q: ((0.0, 0.0, 1.0) if q in ids[:3] else (1.0, 1.0, 1.0)) for q in ids}, {u: float(u not in ("u00", "u01")) for u in refusals}
    )
    verdict = gate.compare(before, worse)
    assert [f.name for f in verdict.failed] == ["recall@5", "mrr@10", "abstention"]
    text = gate.report(verdict, Path("b.json")) + "\n" + gate.conclusion(verdict, Path("b.json"))
    assert "recall@5                1.000 → 0.970  (-0.030, tolerance 0.02)  REGRESSED" in text
    assert "answered_with_evidence  1.000 → 1.000  (+0.000, tolerance 0.05)  ok" in text
    for q in ids[:3] + ["u00", "u01"]:
        assert f"- {q}: 1.000 → 0.000" in text
    assert text.splitlines()[-1].startswith("gate FAILED: recall@5, mrr@10, abstention fell past the tolerance; regressed: q000, q001, q002, u00, u01.")

    # an MRR drop alone (rank 1 → 2 on five of 100 questions: -0.025) fails with only MRR named
    ranks = _baseline({q: ((1.0, 0.5, 1.0) if q in ids[:5] else (1.0, 1.0, 1.0)) for q in ids}, {u: 1.0 for u in refusals})
    assert [f.name for f in gate.compare(before, ranks).failed] == ["mrr@10"]


def test_gate_compares_only_the_questions_both_runs_hold():
    before = _baseline({"a": (1.0, 1.0, 1.0), "gone": (1.0, 1.0, 1.0)}, {"u": 1.0})
    after = _baseline({"a": (1.0, 1.0, 1.0), "added": (0.0, 0.0, 0.0)}, {"u": 1.0})
    verdict = gate.compare(before, after)
    assert not verdict.failed and verdict.shared == 2
    assert (verdict.new, verdict.missing) == (["added"], ["gone"])


def test_eval_gate_end_to_end_writes_passes_and_fails_naming_the_question(corpus_index, tmp_path):
    questions = _write(tmp_path, *QUESTIONS)
    baseline = tmp_path / "gate-baseline.json"
    argv = ["eval", str(questions), "--index", str(corpus_index), "--report", str(tmp_path / "r"), "--modes", "hybrid", "--ask", "--gate", str(baseline)]
    code, stdout, stderr = _cli(argv)
    assert code == 2 and "no baseline yet" in stderr and "bash scripts/gate.sh --update" in stderr
    code, stdout, stderr = _cli(argv + ["--update-gate"])
    assert code == 0, stderr
    written = json.loads(baseline.read_text())
    assert set(written["questions"]) == {q["id"] for q in QUESTIONS}
    assert written["questions"]["q-none"] == {"answerable": False, "abstained": 1.0}
    code, stdout, stderr = _cli(argv)
    assert code == 0, stderr
    assert stdout.rstrip().endswith("gate passed")

    # the same question id, asked so that nothing in the records answers it: a real regression
    lost = {**QUESTIONS[1], "question": "Hur många elbussar köpte Luleå kommun år 2019?"}
    (tmp_path / "changed").mkdir()
    changed = _write(tmp_path / "changed", *[lost if q["id"] == lost["id"] else q for q in QUESTIONS])
    code, stdout, stderr = _cli([*argv[:1], str(changed), *argv[2:]])
    assert code == 1, stderr
    assert f"- {lost['id']}: 1.000 → 0.000" in stdout
    assert re.search(rf"^gate FAILED: recall@5, mrr@10.*regressed: .*{lost['id']}", stdout, re.MULTILINE)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--modes", "hybrid"], "add --ask"),
        (["--modes", "lexical", "--ask"], "add it to --modes"),
    ],
)
def test_eval_gate_refuses_a_run_it_cannot_compare(corpus_index, tmp_path, extra, message):
    questions = _write(tmp_path, GOOD)
    code, _, stderr = _cli(["eval", str(questions), "--index", str(corpus_index), "--gate", str(tmp_path / "b.json"), *extra])
    assert code == 2 and message in stderr


def test_update_gate_needs_the_baseline_named(corpus_index, tmp_path):
    code, _, stderr = _cli(["eval", str(_write(tmp_path, GOOD)), "--index", str(corpus_index), "--ask", "--update-gate"])
    assert code == 2 and "--update-gate writes the baseline named by --gate" in stderr


def test_committed_baseline_is_a_gate_baseline_of_the_question_sets_ci_runs():
    root = Path(__file__).resolve().parent.parent
    data = gate.load(root / "eval" / "gate-baseline.json")
    ids = {q.id for name in ("dev.jsonl", "unanswerable.jsonl") for q in load(root / "eval" / name)}
    assert set(data["questions"]) == ids, "eval question sets changed: run `bash scripts/gate.sh --update`"
    assert data["mode"] == gate.MODE and data["question_set"] == "eval/dev.jsonl + eval/unanswerable.jsonl"

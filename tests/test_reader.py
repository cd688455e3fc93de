"""A site's reader and judge, both off by default: a tiny cross-encoder built here reranks a real index and
checks evidence; a stub chat endpoint on loopback judges the best unit, its quote held to the unit."""

from __future__ import annotations

import collections
import contextlib
import io
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from protokollsok.cli import main
from protokollsok.indexes.build import indexed_text
from protokollsok.indexes.rerank import Reranker
from protokollsok.indexes.store import Store
from protokollsok.indexes.synonyms import DEFAULT, Synonyms
from protokollsok.service import judge as judge_module
from protokollsok.service.generator import Generator
from protokollsok.service.judge import Judge
from protokollsok.service.query import Queries
from protokollsok.settings import Settings

from conftest import CORPUS

QUESTIONS = [
    "Vad beslutade kommunstyrelsen i Kalix om e-handel?",
    "Hur stor var sjukfrånvaron i Luleå?",
    "Vilka investeringar i skolor beslutades?",
    "Vad sades om detaljplanen för bostäder?",
]
ANSWERED = QUESTIONS[0]


@pytest.fixture(scope="session")
def cross_encoder(tmp_path_factory) -> Path:
    """A two-layer BERT cross-encoder with random weights and a word-level vocabulary of the sample corpus,
    saved by sentence-transformers' CrossEncoder.save: small and built in seconds, nothing downloaded."""
    import torch
    from sentence_transformers import CrossEncoder
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    raw, folder = tmp_path_factory.mktemp("raw-reader"), tmp_path_factory.mktemp("reader")
    words = collections.Counter(w for p in CORPUS.glob("*.txt") for w in re.findall(r"\w+", p.read_text().lower()))
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(w for w, _ in words.most_common(2000))]
    (raw / "vocab.txt").write_text("\n".join(vocabulary) + "\n")
    torch.manual_seed(20)
    config = BertConfig(
        vocab_size=len(vocabulary), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=256, num_labels=1, initializer_range=0.5,
    )  # fmt: skip
    BertForSequenceClassification(config).save_pretrained(raw)
    BertTokenizerFast(vocab_file=str(raw / "vocab.txt"), model_max_length=256).save_pretrained(raw)
    CrossEncoder(str(raw), device="cpu", local_files_only=True).save(str(folder))
    return folder


@pytest.fixture(scope="session")
def reranker(cross_encoder) -> Reranker:
    return Reranker(cross_encoder)


def _queries(corpus_index, embedder, analyzer, reranker=None, judge=None, **recipe) -> Queries:
    overrides = {"recipe": json.dumps(recipe)} if recipe else {}
    version = Store(corpus_index).current()
    return Queries.open(version, embedder, analyzer, Synonyms.load(DEFAULT, analyzer), overrides, None, reranker, judge)


def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


# The reader


def test_reader_orders_the_top_by_its_own_scores(corpus_index, embedder, analyzer, reranker):
    """At reader weight 1 the top candidates stand in the order of the reader's scores, which are the model's
    own scores of question and indexed text; what is shown comes from the fused top 20, scores unchanged."""
    plain = _queries(corpus_index, embedder, analyzer)
    read = _queries(corpus_index, embedder, analyzer, reranker, reader_weight=1.0)
    changed = 0
    for text in QUESTIONS:
        hits = read.result(text, 10).hits
        fused = {h.passage.chunk_id: h.score for h in plain.result(text, read.searcher.recipe.reader_candidates).hits}
        scores = [h.reader for h in hits]
        assert scores == sorted(scores, reverse=True), text
        expected = reranker.scores(read.read(text).text, [indexed_text(h.passage) for h in hits])
        assert scores == pytest.approx(expected.tolist(), abs=1e-5)
        assert all(fused[h.passage.chunk_id] == h.score for h in hits)
        changed += [h.passage.chunk_id for h in hits] != [h.passage.chunk_id for h in plain.result(text, 10).hits]
    assert changed, "the reader's scores reorder at least one question's hits"


def test_reader_mixes_its_scores_with_the_fused_ones_by_the_recipe_weight(corpus_index, embedder, analyzer, reranker):
    """At the default weight (0.5) the shown order is the fused top 20 sorted by the mean of the two scores,
    each scaled from its lowest (0) to its highest (1) over those 20."""

    def spread(values: list[float]) -> list[float]:
        return [(v - min(values)) / (max(values) - min(values)) for v in values]

    plain = _queries(corpus_index, embedder, analyzer)
    read = _queries(corpus_index, embedder, analyzer, reranker)
    for text in QUESTIONS:
        top = plain.result(text, read.searcher.recipe.reader_candidates).hits
        scores = reranker.scores(read.read(text).text, [indexed_text(h.passage) for h in top]).tolist()
        mixed = [0.5 * f + 0.5 * r for f, r in zip(spread([h.score for h in top]), spread(scores))]
        expected = [top[i].passage.chunk_id for i in sorted(range(len(top)), key=lambda i: -mixed[i])][:10]
        assert [h.passage.chunk_id for h in read.result(text, 10).hits] == expected, text


def test_reader_at_weight_zero_keeps_the_fused_order(corpus_index, embedder, analyzer, reranker):
    plain = _queries(corpus_index, embedder, analyzer)
    read = _queries(corpus_index, embedder, analyzer, reranker, reader_weight=0.0)
    for text in QUESTIONS:
        hits = read.result(text, 10).hits
        assert [h.passage.chunk_id for h in hits] == [h.passage.chunk_id for h in plain.result(text, 10).hits]
        assert all(h.reader is not None for h in hits)


def test_without_a_reader_nothing_changes(corpus_index, embedder, analyzer, monkeypatch):
    """Unset, no reader is loaded, hits carry no reader score and the trail holds no reader field."""
    monkeypatch.delenv("PROTOKOLLSOK_READER", raising=False)
    monkeypatch.delenv("PROTOKOLLSOK_JUDGE", raising=False)
    settings = Settings.load()
    assert settings.reranker() is None and settings.judge_client() is None
    queries = _queries(corpus_index, embedder, analyzer)
    assert all(h.reader is None for h in queries.result(ANSWERED, 10).hits)
    answer = queries.answerer.ask(queries.read(ANSWERED))
    assert "judge" not in answer.trail
    assert all("reader" not in c and all(f["check"] not in ("reader", "judge") for f in c["failed"]) for c in answer.trail["candidates"])


def test_a_reader_under_its_threshold_fails_the_reader_check(corpus_index, embedder, analyzer, reranker):
    """Every passage under the threshold: each candidate fails `reader` and keeps `reader_missing` of its strength."""
    plain = _queries(corpus_index, embedder, analyzer).answerer.ask(_queries(corpus_index, embedder, analyzer).read(ANSWERED))
    queries = _queries(corpus_index, embedder, analyzer, reranker, reader_weight=0.0, reader_threshold=1.0)
    answer = queries.answerer.ask(queries.read(ANSWERED))
    before = {c["chunk_id"]: c["strength"] for c in plain.trail["candidates"]}
    for candidate in answer.trail["candidates"]:
        assert "reader" in candidate and any(f["check"] == "reader" for f in candidate["failed"])
        assert candidate["strength"] == pytest.approx(before[candidate["chunk_id"]] * 0.5, abs=1e-4)
    assert answer.strength == pytest.approx(plain.strength * 0.5, abs=1e-4)


def test_a_folder_that_is_not_a_cross_encoder_is_refused_naming_the_setting(model_dir, tmp_path, corpus_index, monkeypatch):
    with pytest.raises(ValueError, match=r"PROTOKOLLSOK_READER=.*XLMRobertaModel.*PROTOKOLLSOK_MODEL"):
        Reranker(model_dir)  # the embedding model: no classification head
    with pytest.raises(FileNotFoundError, match=r"PROTOKOLLSOK_READER=.*no config.json"):
        Reranker(tmp_path)
    monkeypatch.setenv("PROTOKOLLSOK_READER", str(model_dir))
    code, _, err = _cli(["search", "e-handel", "--index", str(corpus_index)])
    assert code != 0 and "PROTOKOLLSOK_READER" in err and str(model_dir) in err


def test_reader_setting_reranks_search_json(cross_encoder, corpus_index, monkeypatch):
    monkeypatch.delenv("PROTOKOLLSOK_READER", raising=False)
    _, plain, _ = _cli(["search", QUESTIONS[2], "--index", str(corpus_index), "--json"])
    monkeypatch.setenv("PROTOKOLLSOK_READER", str(cross_encoder))
    monkeypatch.setenv("PROTOKOLLSOK_RECIPE", '{"reader_weight": 1.0}')
    code, read, err = _cli(["search", QUESTIONS[2], "--index", str(corpus_index), "--json"])
    assert code == 0, err
    plain_hits, read_hits = json.loads(plain)["hits"], json.loads(read)["hits"]
    assert set(read_hits[0]) == set(plain_hits[0])  # the same fields
    assert [h["chunk_id"] for h in read_hits] != [h["chunk_id"] for h in plain_hits]


def test_eval_says_which_reader_it_measured(cross_encoder, corpus_index, tmp_path, monkeypatch):
    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({
        "id": "q-none", "question": "Hur många elbussar köpte Luleå kommun år 2019?", "type": "obesvarbar",
        "answerable": False, "answer": None, "evidence": [],
    }, ensure_ascii=False) + "\n")  # fmt: skip
    monkeypatch.setenv("PROTOKOLLSOK_READER", str(cross_encoder))
    code, out, err = _cli(["eval", str(questions), "--index", str(corpus_index), "--report", str(tmp_path / "r"), "--modes", "hybrid", "--ask"])
    assert code == 0, err
    summary = json.loads((tmp_path / "r" / "report.json").read_text())["summary"]
    assert summary["reader"] == str(cross_encoder) and summary["answers"]["judge"] is None
    assert f"reader {cross_encoder}" in out


# The judge


class _Endpoint(BaseHTTPRequestHandler):
    """An OpenAI-compatible /chat/completions: the judge's prompt gets `verdict(unit)`, any other an empty reply."""

    verdict = staticmethod(lambda unit: "")
    delay = 0.0
    requests: list[dict] = []

    def do_POST(self):  # noqa: N802 (the standard library's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body)
        system, content = body["messages"][0]["content"], body["messages"][-1]["content"]
        judging = system == judge_module.PROMPT
        time.sleep(type(self).delay if judging else 0)
        reply = type(self).verdict(content.split("Utdrag:\n", 1)[1]) if judging else ""
        data = json.dumps({"choices": [{"message": {"role": "assistant", "content": reply}}]}).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the judge stopped waiting
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Endpoint.requests, _Endpoint.delay = [], 0.0
    yield _Endpoint, f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def _judged(corpus_index, embedder, analyzer, url, timeout=5.0):
    queries = _queries(corpus_index, embedder, analyzer, judge=Judge(Generator(url, "lokal-domare"), timeout))
    return queries.answerer.ask(queries.read(ANSWERED))


def _best(answer) -> dict:
    return max(answer.trail["candidates"], key=lambda c: c["strength"])


def test_plain_answer_stands_at_answer(corpus_index, embedder, analyzer):
    """What the judge tests below start from: without it, the question is answered."""
    queries = _queries(corpus_index, embedder, analyzer)
    assert queries.answerer.ask(queries.read(ANSWERED)).level == "answer"


def test_a_verified_yes_changes_nothing_but_the_trail(endpoint, corpus_index, embedder, analyzer):
    stub, url = endpoint
    stub.verdict = lambda unit: json.dumps({"svarar": True, "citat": "  ".join(unit.split()[:8])}, ensure_ascii=False)
    answer = _judged(corpus_index, embedder, analyzer, url)
    assert answer.level == "answer"
    assert answer.trail["judge"]["answers"] and answer.trail["judge"]["verified"]
    assert answer.trail["judge"]["chunk_id"] == _best(answer)["chunk_id"]
    assert stub.requests[0]["model"] == "lokal-domare" and ANSWERED in stub.requests[0]["messages"][-1]["content"]


@pytest.mark.parametrize(
    "reply, found",
    [
        ('{"svarar": false, "citat": ""}', "svarar inte"),
        ('```json\n{"svarar": true, "citat": "Kommunen köper 400 surfplattor av Visma."}\n```', "citatet står inte i texten"),
    ],
    ids=["no", "unverifiable-quote"],
)
def test_a_no_or_an_unverifiable_quote_lowers_the_level(endpoint, corpus_index, embedder, analyzer, reply, found):
    stub, url = endpoint
    stub.verdict = lambda unit: reply
    answer = _judged(corpus_index, embedder, analyzer, url)
    best_judged = next(c for c in answer.trail["candidates"] if c["chunk_id"] == answer.trail["judge"]["chunk_id"])
    assert {"check": "judge", "asked": "svar på frågan", "found": found} in best_judged["failed"]
    assert best_judged["strength"] < answer.trail["threshold"] and best_judged["level"] == "possible"
    assert len(stub.requests) == 1  # one verdict per ask


def test_a_slow_or_broken_judge_is_logged_and_the_answer_goes_on(endpoint, corpus_index, embedder, analyzer, caplog):
    stub, url = endpoint
    stub.delay, stub.verdict = 2.0, (lambda unit: '{"svarar": false, "citat": ""}')
    started = time.perf_counter()
    answer = _judged(corpus_index, embedder, analyzer, url, timeout=0.3)
    assert time.perf_counter() - started < 2.0
    assert answer.level == "answer" and "judge" not in answer.trail
    assert "judge endpoint failed error=ReadTimeout" in caplog.text
    stub.delay, stub.verdict = 0.0, (lambda unit: "Ja, det gör det.")  # no verdict's form
    assert _judged(corpus_index, embedder, analyzer, url).level == "answer"


def test_judge_setting_needs_the_endpoint(corpus_index, monkeypatch):
    monkeypatch.setenv("PROTOKOLLSOK_JUDGE", "1")
    monkeypatch.delenv("PROTOKOLLSOK_LLM_URL", raising=False)
    code, _, err = _cli(["ask", ANSWERED, "--index", str(corpus_index)])
    assert code != 0 and "PROTOKOLLSOK_JUDGE" in err and "PROTOKOLLSOK_LLM_URL" in err
    monkeypatch.setenv("PROTOKOLLSOK_JUDGE", "kanske")
    with pytest.raises(ValueError, match="PROTOKOLLSOK_JUDGE"):
        Settings.load()


def test_judge_setting_judges_ask(endpoint, corpus_index, monkeypatch):
    stub, url = endpoint
    stub.verdict = lambda unit: '{"svarar": false, "citat": ""}'
    monkeypatch.setenv("PROTOKOLLSOK_LLM_URL", url)
    monkeypatch.setenv("PROTOKOLLSOK_LLM_MODEL", "lokal-modell")
    monkeypatch.setenv("PROTOKOLLSOK_JUDGE", "1")
    code, out, err = _cli(["ask", ANSWERED, "--index", str(corpus_index), "--json"])
    assert code == 0, err
    answer = json.loads(out)
    assert answer["level"] != "answer" and answer["reason"]["check"] == "judge"

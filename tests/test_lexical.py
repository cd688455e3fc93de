"""The lexical index: bm25s's Lucene scores from the numpy build, exact top k by MaxScore, append, files."""

from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np
import pytest

from protokollsok.indexes import lexical as module
from protokollsok.indexes import maxscore
from protokollsok.indexes.lexical import B, FOLDER, K1, Lexical, token_ids

ROOT = Path(__file__).resolve().parents[1]


def _random_documents(count: int, vocabulary: int, seed: int) -> list[list[str]]:
    """Zipf-like tokens, so a few are in most chunks (long posting lists) and many in a few; some chunks
    are empty."""
    rng = np.random.default_rng(seed)
    return [[f"t{x}" for x in (rng.zipf(1.15, rng.integers(0, 50)) % vocabulary).tolist()] for _ in range(count)]


@pytest.fixture(scope="module")
def swedish(analyzer) -> list[list[str]]:
    """Real council text cut into ~40-word chunks, through the real analyser."""
    words = []
    for path in sorted((ROOT / "corpus").glob("*.txt")):
        words.extend(path.read_text(encoding="utf-8").split())
    return [analyzer.tokens(" ".join(words[i : i + 40])) for i in range(0, len(words), 40)]


@pytest.fixture(scope="module")
def questions(analyzer) -> list[dict[str, float]]:
    """eval/dev.jsonl's questions as Searcher._terms weighs them, a synonym-like half weight on some."""
    out = []
    for i, line in enumerate((ROOT / "eval" / "dev.jsonl").read_text(encoding="utf-8").splitlines()[:40]):
        terms: dict[str, float] = {}
        for token in analyzer.tokens(json.loads(line)["question"], typed=True):
            terms[token] = terms.get(token, 0.0) + 1.0
        if terms and i % 3 == 0:
            terms[next(iter(terms))] = 0.5
        out.append(terms)
    return out


def _bm25s(documents: list[list[str]]) -> bm25s.BM25:
    reference = bm25s.BM25(method="lucene", k1=K1, b=B)
    reference.index([tokens or [""] for tokens in documents], show_progress=False)
    return reference


def _assert_same_as_bm25s(documents: list[list[str]]) -> None:
    lexical, reference = Lexical.build(documents), _bm25s(documents)
    vocabulary, df, n = lexical.frequencies()
    assert n == reference.scores["num_docs"] == len(documents)
    expected = set(reference.vocab_dict)
    if all(documents):
        expected.discard("")  # bm25s adds the empty token whether or not a chunk is empty
    assert set(vocabulary) == expected
    reference_df = np.diff(reference.scores["indptr"])
    for token, i in vocabulary.items():
        expected = reference.get_scores_from_ids([reference.vocab_dict[token]])
        got = lexical.scores({token: 1.0})
        assert df[i] == reference_df[reference.vocab_dict[token]]
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=0, err_msg=token)


def test_scores_are_bm25s_lucene_on_random_tokens_and_empty_chunks():
    documents = _random_documents(3000, 400, seed=1)
    assert any(not d for d in documents)
    _assert_same_as_bm25s(documents)


def test_scores_are_bm25s_lucene_on_swedish_chunks(swedish):
    _assert_same_as_bm25s(swedish)


def test_build_in_small_batches_gives_the_same_matrix(monkeypatch):
    documents = _random_documents(500, 100, seed=2)
    whole = Lexical.build(documents)
    monkeypatch.setattr(module, "BATCH_TOKENS", 37)
    monkeypatch.setattr(module, "BATCH_CHUNKS", 7)
    batched = Lexical.build(iter(documents))  # a generator is read a batch at a time
    assert batched.vocabulary == whole.vocabulary
    for a, b in zip(batched.matrix(), whole.matrix()):
        np.testing.assert_array_equal(a, b)


def test_from_tokens_takes_rows_without_tokens_and_rejects_ids_outside_the_vocabulary():
    ids = np.array([0, 1, 1, 0], dtype=np.uint32)
    lexical = Lexical.from_tokens(ids, np.array([0, 2, 2, 4]), {"a": 0, "b": 1})
    assert lexical.n == 3
    assert lexical.scores({"a": 1.0, "b": 1.0})[1] == 0
    indptr, indices, _ = lexical.matrix()
    assert indices[indptr[0] : indptr[1]].tolist() == [0, 2]
    with pytest.raises(ValueError):
        Lexical.from_tokens(np.array([2], dtype=np.uint32), np.array([0, 1]), {"a": 0, "b": 1})


def _exhaustive(lexical: Lexical, terms: dict[str, float], allowed: np.ndarray | None) -> np.ndarray:
    scores = lexical.scores(terms)
    if allowed is not None:
        kept = np.zeros_like(scores)
        kept[allowed] = scores[allowed]
        scores = kept
    return scores


def _assert_top(lexical: Lexical, terms: dict[str, float], allowed: np.ndarray | None, k: int) -> None:
    scores = _exhaustive(lexical, terms, allowed)
    found = lexical.search(terms, allowed, k)
    expected = np.sort(scores[scores > 0])[::-1][:k]
    got = np.array(list(found.top.values()), dtype=np.float32)
    assert np.all(np.diff(got) <= 0), "best first"
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=0)
    rows = np.array(list(found.top), dtype=np.int64)
    if len(expected) == k:  # rows may differ only where they tie with the k-th
        assert np.all(scores[rows] >= expected[-1] * (1 - 1e-6))
    if allowed is not None:
        assert set(rows.tolist()) <= set(allowed.tolist())
    assert found.of(rows).tolist() == got.tolist(), "of() gives the scores search gave"
    others = np.random.default_rng(0).integers(0, lexical.n, 50)
    np.testing.assert_allclose(found.of(others), lexical.scores(terms)[others], rtol=1e-6, atol=0)


def _filters(n: int, seed: int) -> list[np.ndarray | None]:
    rng = np.random.default_rng(seed)
    start = int(rng.integers(0, n - n // 20))
    return [
        None,
        np.arange(start, start + n // 20),  # one kommun: one run
        np.flatnonzero(rng.random(n) < 0.3),  # scattered
        np.sort(rng.choice(n, 5, replace=False)),  # a few rows
        np.concatenate([np.arange(s, s + 40) for s in range(0, n - 40, 400)]),  # a year: a run per document
    ]


# Rows a block: one block, blocks of a few rows (the threshold rises, tokens stop being essential and
# cursors gallop across many blocks), and the default.
BLOCKS = [1 << 20, 7, 1000, maxscore.BLOCK]


@pytest.mark.parametrize("block", BLOCKS)
def test_search_top_k_is_the_exhaustive_top_k_on_random_tokens(monkeypatch, block):
    monkeypatch.setattr(maxscore, "BLOCK", block)
    documents = _random_documents(6000, 800, seed=3)
    lexical = Lexical.build(documents)
    rng = np.random.default_rng(4)
    for q in range(60):
        tokens = (rng.zipf(1.1, rng.integers(1, 12)) % 800).tolist()
        terms = {f"t{x}": float(rng.choice([1.0, 0.5, 2.0])) for x in tokens}
        for allowed in _filters(lexical.n, q)[q % 5 : q % 5 + 1]:
            _assert_top(lexical, terms, allowed, int(rng.choice([1, 10, 100])))


@pytest.mark.parametrize("block", BLOCKS)
def test_search_top_k_is_the_exhaustive_top_k_on_swedish_questions(monkeypatch, block, swedish, questions):
    monkeypatch.setattr(maxscore, "BLOCK", block)
    lexical = Lexical.build(swedish)
    for q, terms in enumerate(questions):
        for allowed in _filters(lexical.n, q):
            _assert_top(lexical, terms, allowed, 10 if q % 2 else 100)


def test_search_without_known_tokens_or_allowed_rows_finds_nothing():
    lexical = Lexical.build([["a", "b"], ["b"]])
    assert lexical.search({"zz": 1.0}, None, 10).top == {}
    assert lexical.search({"a": 1.0}, np.zeros(0, dtype=np.int64), 10).top == {}
    assert lexical.search({"a": 1.0}, None, 0).top == {}
    assert lexical.search({"a": 1.0}, None, 10).of(np.array([1, 0, 1])).tolist()[0] == 0
    with pytest.raises(ValueError):
        lexical.search({"a": -1.0}, None, 10)
    empty = Lexical.build([])
    assert empty.search({"a": 1.0}, None, 10).top == {} and empty.frequencies()[2] == 0


def test_weights_multiply_each_tokens_part():
    lexical = Lexical.build(_random_documents(300, 30, seed=5))
    a, b = lexical.scores({"t1": 1.0}), lexical.scores({"t2": 1.0})
    np.testing.assert_allclose(lexical.scores({"t1": 2.0, "t2": 0.5}), 2 * a + 0.5 * b, rtol=1e-6)
    top = lexical.search({"t1": 2.0, "t2": 0.5}, None, 5).top
    np.testing.assert_allclose(list(top.values()), [2 * a[r] + 0.5 * b[r] for r in top], rtol=1e-6)


def test_append_equals_a_fresh_build_over_all_chunks(tmp_path, swedish):
    old, new = swedish[:-30], swedish[-30:] + [["ett", "helt", "nytt", "ord:xyz"], []]
    Lexical.build(old).save(tmp_path)
    appended = Lexical.load(tmp_path).append(new)
    fresh = Lexical.build(old + new)
    assert appended.vocabulary == fresh.vocabulary and "ord:xyz" in appended.vocabulary
    for a, b in zip(appended.matrix(), fresh.matrix()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(appended.tokens, fresh.tokens)
    np.testing.assert_array_equal(appended.offsets, fresh.offsets)


def test_save_and_load_round_trip_memory_mapped(tmp_path, swedish, questions):
    lexical = Lexical.build(swedish)
    lexical.save(tmp_path)
    loaded = Lexical.load(tmp_path)
    assert isinstance(loaded.data, np.memmap) and isinstance(loaded.tokens, np.memmap)
    assert loaded.vocabulary == lexical.vocabulary
    for a, b in zip(loaded.matrix(), lexical.matrix()):
        np.testing.assert_array_equal(a, b)
    for name in ("tokens", "offsets", "peaks"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(lexical, name))
    for terms in questions[:10]:
        assert loaded.search(terms, None, 20).top == lexical.search(terms, None, 20).top
    # a version written with bm25s's files says what to do
    old = tmp_path / "old"
    _bm25s(swedish[:20]).save(str(old / FOLDER))
    with pytest.raises(FileNotFoundError, match="ingest"):
        Lexical.load(old)


def test_token_ids_number_new_tokens_in_the_order_met():
    vocabulary = {"b": 0}
    ids, offsets = token_ids([["a", "b"], [], ["c", "a"]], vocabulary)
    assert vocabulary == {"b": 0, "a": 1, "": 2, "c": 3}
    assert ids.tolist() == [1, 0, 2, 3, 1] and offsets.tolist() == [0, 2, 3, 5]

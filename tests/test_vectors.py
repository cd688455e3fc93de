"""The dense index on real FAISS files: batched builds, the approximate index with its threshold lowered,
filters on both paths, appending, and the embedding cache that streams vectors into a build."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

import protokollsok.indexes.vectors as vectors_module
from protokollsok.indexes.embed import EmbeddingCache, text_hash
from protokollsok.indexes.vectors import EXACT_FILE, FILE, Vectors

DIMENSION = 64
N = 4_000


def text_like(n: int, seed: int) -> np.ndarray:
    """Unit vectors in a narrow cone, as sentence embeddings are (mean cosine ~0.8), mixed from a few of 60
    topics plus noise, so neighbours are close and near-ties common."""
    rng = np.random.default_rng(42)
    centre = rng.standard_normal(DIMENSION)
    topics = 0.4 * rng.standard_normal((60, DIMENSION)) / np.sqrt(DIMENSION)
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.ones(3), n)
    x = centre / np.linalg.norm(centre) + np.einsum("nm,nmd->nd", weights, topics[rng.integers(0, 60, (n, 3))])
    x += 0.08 * rng.standard_normal(x.shape) / np.sqrt(DIMENSION)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def exact_top(vectors: np.ndarray, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
    rows = np.arange(len(vectors)) if allowed is None else allowed
    return rows[np.argsort(-(vectors[rows] @ query), kind="stable")[:k]]


def batches(vectors: np.ndarray, size: int = 333):
    return (vectors[i : i + size] for i in range(0, len(vectors), size))


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return text_like(N, seed=1), text_like(40, seed=2)


@pytest.fixture(scope="module")
def approximate(data) -> Vectors:
    vectors, _ = data
    return Vectors.build(batches(vectors), N, DIMENSION, approximate_from=1_000)


def recall(index: Vectors, vectors: np.ndarray, queries: np.ndarray, allowed: np.ndarray | None = None) -> float:
    found = [set(index.search(q, 10, allowed)[0].tolist()) for q in queries]
    return float(
        np.mean([len(f & set(exact_top(vectors, q, 10, allowed).tolist())) / 10 for f, q in zip(found, queries)])
    )


def test_batched_exact_build_matches_one_batch_and_brute_force(data):
    vectors, queries = data
    batched = Vectors.build(batches(vectors), N, DIMENSION)
    whole = Vectors.build([vectors], N, DIMENSION)
    assert not batched.approximate and batched.index.ntotal == N
    for query in queries:
        ids, scores = batched.search(query, 10)
        assert ids.tolist() == whole.search(query, 10)[0].tolist() == exact_top(vectors, query, 10).tolist()
        np.testing.assert_allclose(scores, vectors[ids] @ query, rtol=1e-5)


def test_build_checks_the_announced_count(data):
    vectors, _ = data
    with pytest.raises(ValueError, match="expected"):
        Vectors.build(batches(vectors[:500]), 600, DIMENSION)
    with pytest.raises(ValueError, match="announced"):
        Vectors.build(batches(vectors), N - 1, DIMENSION, approximate_from=1_000)


def test_approximate_index_finds_the_exact_neighbours(data, approximate):
    vectors, queries = data
    assert approximate.approximate and isinstance(faiss.downcast_index(approximate.index), faiss.IndexHNSWSQ)
    assert recall(approximate, vectors, queries) >= 0.95
    ids, scores = approximate.search(queries[0], 10)
    np.testing.assert_allclose(scores, vectors[ids] @ queries[0], atol=2e-3)  # re-scored, not 8-bit codes
    assert np.all(np.diff(scores) <= 0)


def test_round_trip_through_real_files(data, approximate, tmp_path):
    vectors, queries = data
    approximate.save(tmp_path)
    on_disk = faiss.read_index(str(tmp_path / FILE))
    assert on_disk.ntotal == N and on_disk.d == DIMENSION
    copy = np.load(tmp_path / EXACT_FILE)
    assert copy.dtype == np.float16 and copy.shape == (N, DIMENSION)
    np.testing.assert_allclose(copy, vectors, atol=1e-3)

    loaded = Vectors.load(tmp_path)
    assert loaded.approximate and isinstance(loaded.exact, np.memmap)
    for query in queries[:10]:
        ids, scores = approximate.search(query, 10)
        again, again_scores = loaded.search(query, 10)
        assert again.tolist() == ids.tolist()
        np.testing.assert_allclose(again_scores, scores)

    exact = Vectors.build(batches(vectors), N, DIMENSION)
    (tmp_path / "exact").mkdir()
    exact.save(tmp_path / "exact")
    assert not (tmp_path / "exact" / EXACT_FILE).exists()
    assert (
        Vectors.load(tmp_path / "exact").search(queries[0], 5)[0].tolist() == exact_top(vectors, queries[0], 5).tolist()
    )


@pytest.mark.parametrize("path", ["exact", "selector"])
@pytest.mark.parametrize("kind", ["exact index", "approximate index"])
def test_filtered_search_stays_within_allowed(data, approximate, path, kind, monkeypatch):
    vectors, queries = data
    index = approximate if kind == "approximate index" else Vectors.build(batches(vectors), N, DIMENSION)
    allowed = np.flatnonzero(np.random.default_rng(5).random(N) < 0.15)
    monkeypatch.setattr(vectors_module, "EXACT_UP_TO", len(allowed) if path == "exact" else 0)
    monkeypatch.setattr(index, "index", counted := CountingSearches(index.index))
    for query in queries:
        ids, _ = index.search(query, 10, allowed)
        assert len(ids) == 10 and np.isin(ids, allowed).all()
    assert counted.searches == (0 if path == "exact" else len(queries))
    floor = 1.0 if kind == "exact index" else 0.99 if path == "exact" else 0.95  # float16 may swap a near-tie
    assert recall(index, vectors, queries, allowed) >= floor
    if path == "exact":  # a graph search finds few of three allowed rows: why small sets take this path
        few = allowed[:3]
        assert sorted(index.search(queries[0], 10, few)[0].tolist()) == few.tolist()


class CountingSearches:
    """The FAISS index, counting its searches: the exact path scores the allowed rows without one."""

    def __init__(self, index: faiss.Index):
        self.inner, self.searches = index, 0

    def search(self, *args, **kwargs):
        self.searches += 1
        return self.inner.search(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def test_vectors_of_returns_the_vectors(data, approximate):
    vectors, _ = data
    rows = np.array([3, 0, 3999, 17])
    np.testing.assert_allclose(approximate.vectors_of(rows), vectors[rows], atol=1e-3)
    assert approximate.vectors_of(rows).dtype == np.float32
    exact = Vectors.build(batches(vectors), N, DIMENSION)
    np.testing.assert_array_equal(exact.vectors_of(rows), vectors[rows])


@pytest.mark.parametrize("approximate_from", [1_000, 10_000])
def test_add_appends_rows_to_a_loaded_index(data, approximate_from, tmp_path):
    vectors, _ = data
    Vectors.build(batches(vectors), N, DIMENSION, approximate_from=approximate_from).save(tmp_path)
    before = (tmp_path / FILE).read_bytes()
    loaded = Vectors.load(tmp_path)
    new = text_like(50, seed=9)
    loaded.add(batches(new, 20))
    assert loaded.index.ntotal == N + 50
    assert (tmp_path / FILE).read_bytes() == before  # the loaded version is not changed in place
    for i in (0, 25, 49):
        assert loaded.search(new[i], 1)[0].tolist() == [N + i]
    np.testing.assert_allclose(
        loaded.vectors_of(np.arange(N - 2, N + 50)), np.concatenate([vectors[-2:], new]), atol=1e-3
    )

    grown = tmp_path / "grown"
    grown.mkdir()
    loaded.save(grown)
    again = Vectors.load(grown)
    assert again.index.ntotal == N + 50 and again.approximate == (approximate_from <= N)
    assert again.search(new[7], 1)[0].tolist() == [N + 7]


class FakeEmbedder:
    model_id = "fake"
    dimension = 3

    def __init__(self):
        self.encoded = 0

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        self.encoded += len(texts)
        return np.array([[len(t), ord(t[0]), 1.0] for t in texts], dtype=np.float32)


def test_cache_encodes_only_what_is_missing_and_streams_in_order(tmp_path):
    cache, embedder = EmbeddingCache(tmp_path / "cache.sqlite"), FakeEmbedder()
    assert cache.ensure(embedder, ["a", "bb", "a", "ccc"]) == 3
    assert cache.ensure(embedder, ["bb", "dddd"]) == 1 and embedder.encoded == 4

    texts = ["dddd", "a", "bb", "a", "ccc"]
    parts = list(cache.batches("fake", [text_hash(t) for t in texts], size=2))
    assert [len(p) for p in parts] == [2, 2, 1]
    assert np.concatenate(parts)[:, 0].tolist() == [4, 1, 2, 1, 3]
    assert cache.encode(embedder, ["ccc", "e"])[:, 1].tolist() == [ord("c"), ord("e")] and embedder.encoded == 5

    with pytest.raises(KeyError, match="no vector cached"):
        list(cache.batches("fake", [text_hash("a"), text_hash("never encoded")]))
    with pytest.raises(KeyError):
        list(cache.batches("another model", [text_hash("a")]))
    cache.close()


def test_cache_feeds_a_batched_build(tmp_path, data):
    vectors, queries = data

    class Stored(FakeEmbedder):
        dimension = DIMENSION

        def encode(self, texts, progress=False):
            return vectors[[int(t) for t in texts]]

    texts = [str(i) for i in range(N)]
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    cache.ensure(Stored(), texts)
    built = Vectors.build(cache.batches("fake", [text_hash(t) for t in texts], size=1_000), N, DIMENSION)
    cache.close()
    assert built.search(queries[0], 10)[0].tolist() == exact_top(vectors, queries[0], 10).tolist()

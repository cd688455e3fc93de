"""The lexical index at millions of chunks: numpy build, append, disk and start, and query latency of
MaxScore (Lexical.search) against scoring every chunk (bm25s's get_scores_from_ids, a mask, argpartition:
FileReader.lexical before), projected to 10 M.

    .venv/bin/python bench/lexical.py --n 1000000 2000000 [--work /tmp/protokollsok-lexical]
    .venv/bin/python bench/lexical.py --report [--work …]     # the table again from saved results
    .venv/bin/python bench/lexical.py --n 10000000 --tile     # 10 M made of a smaller corpus repeated

Chunks are bench/synthetic.py's records through the real Analyzer, as publish indexes them (indexed_text):
their token ids, offsets and vocabulary are made once per N and kept in --work (the analyser does a few
thousand chunks a second, so minutes per million), with each row's kommun and year for the filters.
--tile repeats the largest smaller corpus instead (same vocabulary, posting lists N/base times longer, every
chunk N/base times): right for build and memory, pessimistic for queries, whose k-th best score no longer
rises with N.

Each step is a child process, so its peak RSS (sampled every 10 ms) is its own:
- build: Lexical.from_tokens over all ids, save (disk), load (memory-mapped);
- append: from_tokens over all but the last 1,000 chunks, saved and loaded as a published version would
  be, then append(those 1,000 token lists); the result must equal the full build array for array;
- query: the eval/dev.jsonl questions, tokens as Searcher._terms makes them (typed, synonyms at 0.5),
  top 100 (CANDIDATES) without a filter, within one kommun (~1 % of rows, one run: rows are in doc_id
  order; one run per copy with --tile) and within one year (~10 %, scattered); old and new on the same loaded matrix, each query
  timed three times (median); the top-100 scores must agree (1e-5) and the row sets too, up to ties;
- path: the same questions and filters, the dense half (the real model's query embedding on one torch
  thread, then the nearest vectors of --vectors) beside BM25, as Searcher.search runs them: both at once
  (wall time until both are done), first, so that no run of the same query has warmed the CPU's caches;
  then each alone.
New times are wall (one thread, as a query runs); the old way's are CPU seconds (one thread; the machine
is shared), its wall times saved beside them.
Peak memory is given as RSS and as RSS less file-backed pages (the corpus ids and a loaded version's
matrices are memory-mapped). Without a measured 10 M, the table projects a + b·N through the two largest
sizes (flat where values fall with N); for MaxScore an upper bound, as its lookups grow with log N.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import bm25s
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from memory import Peak, rss  # noqa: E402
from synthetic import Pool, entries  # noqa: E402

from protokollsok.indexes.analyzer import Analyzer  # noqa: E402
from protokollsok.indexes.embed import Embedder  # noqa: E402
from protokollsok.indexes.build import indexed_text  # noqa: E402
from protokollsok.indexes.lexical import B, FOLDER, K1, Lexical, token_ids  # noqa: E402
from protokollsok.indexes.reader import read_ahead  # noqa: E402
from protokollsok.indexes.recipe import DEFAULT as RECIPE  # noqa: E402
from protokollsok.indexes.search import one_thread_per_query  # noqa: E402
from protokollsok.indexes.synonyms import DEFAULT as SYNONYMS, Synonyms  # noqa: E402
from protokollsok.indexes.vectors import Vectors  # noqa: E402
from protokollsok.settings import Settings  # noqa: E402

CANDIDATES = RECIPE.candidates  # as search proposes them
SYNONYM_WEIGHT = RECIPE.synonym_weight

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "eval" / "dev.jsonl"
TARGET = 10_000_000
APPENDED = 1_000
REPEATS = 3
FILTERS = ("none", "kommun ~1%", "year ~10%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", nargs="?", choices=tuple(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, nargs="+", default=[1_000_000, 2_000_000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/protokollsok-lexical"))
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--tile", action="store_true", help="make a corpus by repeating the largest smaller one")
    parser.add_argument("--report", action="store_true", help="print the table from results already in --work")
    parser.add_argument("--rebuild", action="store_true", help="measure again even where results exist")
    parser.add_argument("--vectors", type=Path, help="path: a published version whose vectors the dense half searches")
    args = parser.parse_args()
    if args.step:
        folder = args.work / f"n{args.n[0]}"
        results = STEPS[args.step](folder, args)
        results["load average"] = os.getloadavg()[1]
        (folder / f"{args.step}.json").write_text(json.dumps(results, indent=1))
        return
    if not args.report:
        for n in args.n:
            folder = args.work / f"n{n}"
            folder.mkdir(parents=True, exist_ok=True)
            for step in STEPS:
                if args.rebuild and step != "corpus" or not (folder / f"{step}.json").is_file():
                    print(f"N={n:,}: {step} …", flush=True)
                    common = ["--n", str(n), "--work", str(args.work), "--seed", str(args.seed)]
                    common += ["--tile"] if args.tile else []
                    common += ["--vectors", str(args.vectors)] if args.vectors else []
                    subprocess.run([sys.executable, __file__, step, *common], check=True)
    report(args.work)


# ---------------------------------------------------------------- steps


def corpus(folder: Path, args: argparse.Namespace) -> dict:
    """Token ids of N synthetic chunks (kept as corpus/*.npy), with each row's kommun and year."""
    n = args.n[0]
    out = folder / "corpus"
    out.mkdir(parents=True, exist_ok=True)
    if args.tile:
        return _tile(n, folder, args.work)
    analyzer = Analyzer()
    per_document: list[tuple[str, int, int]] = []

    def chunks():
        for entry in entries(n, args.seed, Pool.load()):
            per_document.append((entry.document.kommun, int(entry.document.date[:4]), len(entry.chunks)))
            for chunk in entry.chunks:
                yield analyzer.tokens(indexed_text(chunk))

    vocabulary: dict[str, int] = {}
    started = time.perf_counter()
    ids, offsets = token_ids(chunks(), vocabulary)
    seconds = time.perf_counter() - started
    names = sorted({k for k, _, _ in per_document})
    counts = [c for _, _, c in per_document]
    kommun = np.repeat(np.array([names.index(k) for k, _, _ in per_document], dtype=np.uint16), counts)
    year = np.repeat(np.array([y for _, y, _ in per_document], dtype=np.uint16), counts)
    _save_corpus(out, ids, offsets, vocabulary, kommun, year)
    return {"n": n, "analyse s (wall)": seconds, "tokens per chunk": len(ids) / n, "vocabulary": len(vocabulary)}


def _tile(n: int, folder: Path, work: Path) -> dict:
    made = [int(p.name[1:]) for p in work.glob("n*") if (p / "corpus" / "tokens.npy").is_file()]
    base = max((m for m in made if m < n), default=0)
    if not base or n % base:
        raise SystemExit(f"--tile: no corpus in {work} whose size divides {n:,}")
    ids, offsets, vocabulary, kommun, year = _load_corpus(work / f"n{base}" / "corpus")
    times = n // base
    lengths = np.tile(np.diff(offsets), times)
    tiled = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=tiled[1:])
    _save_corpus(
        folder / "corpus", np.tile(ids, times), tiled, vocabulary, np.tile(kommun, times), np.tile(year, times)
    )
    return {"n": n, "tiled from": base, "tokens per chunk": len(ids) / base, "vocabulary": len(vocabulary)}


def build(folder: Path, args: argparse.Namespace) -> dict:
    ids, offsets, vocabulary, _, _ = _load_corpus(folder / "corpus")
    before = rss()
    with Peak() as peak:
        lexical, spent = timed(Lexical.from_tokens, ids, offsets, vocabulary)
    _, saving = timed(lexical.save, folder)
    del lexical
    loads = [timed(Lexical.load, folder) for _ in range(3)]  # the first one reads the files from disk
    loaded, loading = loads[-1][0], float(np.median([ms for _, ms in loads]))
    here = folder / FOLDER
    return {
        "n": len(offsets) - 1, "postings": len(loaded.indices), "vocabulary": len(vocabulary),
        "tokens per chunk": len(ids) / (len(offsets) - 1),
        "from_tokens s": spent, "from_tokens peak MiB": peak.mib, "from_tokens peak anonymous MiB": peak.anonymous,
        "RSS before (ids mapped) MiB": before,
        "save s": saving, "load ms": loading,
        "disk matrix MiB": sum(mib(here / f"{name}.npy") for name in ("indptr", "indices", "data", "peaks")),
        "disk tokens MiB": mib(here / "tokens.npy") + mib(here / "offsets.npy"),
        "disk vocabulary MiB": mib(here / "vocabulary.json"),
    }


def append(folder: Path, args: argparse.Namespace) -> dict:
    """The last APPENDED chunks come in through append, onto a version of the others read from disk. Ids are
    numbered in the order tokens were first met, so the prefix's vocabulary is the ids below its largest."""
    ids, offsets, vocabulary, _, _ = _load_corpus(folder / "corpus")
    n = len(offsets) - 1
    cut = int(offsets[n - APPENDED])
    known = int(ids[:cut].max()) + 1
    words = sorted(vocabulary, key=vocabulary.__getitem__)
    base = folder / "append-base"
    Lexical.from_tokens(ids[:cut], offsets[: n - APPENDED + 1], {w: i for i, w in enumerate(words[:known])}).save(base)
    added = [[words[i] for i in ids[offsets[r] : offsets[r + 1]].tolist()] for r in range(n - APPENDED, n)]
    lexical = Lexical.load(base)
    before = rss()
    with Peak() as peak:
        appended, spent = timed(lexical.append, added)
    full = Lexical.load(folder)
    same = appended.vocabulary == full.vocabulary
    same = same and all(np.array_equal(a, b) for a, b in zip(appended.matrix(), full.matrix()))
    return {
        "n": n, "appended": APPENDED, "new tokens": len(vocabulary) - known, "append s": spent,
        "append peak MiB": peak.mib, "append peak anonymous MiB": peak.anonymous, "RSS before MiB": before,
        "equals full build": bool(same),
    }


def query(folder: Path, args: argparse.Namespace) -> dict:
    _, _, _, kommun, year = _load_corpus(folder / "corpus")
    lexical = Lexical.load(folder)
    old = _Old(lexical)
    analyzer = Analyzer()
    synonyms = Synonyms.load(SYNONYMS, analyzer)
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    queries = [_terms(q, analyzer, synonyms) for q in questions]
    filters = _filters(kommun, year, args.seed)
    out: dict = {"n": lexical.n, "queries": len(queries)}
    _, df, n = lexical.frequencies()
    read = np.array([sum(int(df[lexical.vocabulary[t]]) for t in q if t in lexical.vocabulary) for q in queries]) / n
    out["postings of the query's tokens / N"] = {"p50": float(np.median(read)), "p95": float(np.percentile(read, 95))}
    for terms in queries[:20]:  # page cache, first-touch faults
        lexical.search(terms, None, CANDIDATES)
        old.top(terms, None, CANDIDATES)
    for name, draw in filters.items():
        spent: dict[str, list[float]] = {"old": [], "new": [], "old wall": [], "new wall": []}
        same_scores = same_rows = 0
        share_allowed = []
        for terms in queries:
            allowed = draw()
            share_allowed.append(1.0 if allowed is None else len(allowed) / lexical.n)
            for method, run in (("old", old.top), ("new", lambda t, a, k: lexical.search(t, a, k).top)):
                cpu, wall = [], []
                for _ in range(REPEATS):
                    started, started_wall = time.process_time(), time.perf_counter()
                    found = run(terms, allowed, CANDIDATES)
                    cpu.append(time.process_time() - started)
                    wall.append(time.perf_counter() - started_wall)
                spent[method].append(float(np.median(cpu)))
                spent[f"{method} wall"].append(float(np.median(wall)))
                if method == "old":
                    expected = found
            got = found
            a, b = sorted(expected.values(), reverse=True), sorted(got.values(), reverse=True)
            same_scores += len(a) == len(b) and np.allclose(a, b, rtol=1e-5, atol=0)
            same_rows += set(expected) == set(got) or _tied(expected, got)
        out[name] = {
            **{method: latency(values) for method, values in spent.items()},
            "share of rows allowed": float(np.mean(share_allowed)),
            "same top scores": f"{same_scores}/{len(queries)}",
            "same top rows (up to ties)": f"{same_rows}/{len(queries)}",
        }
    return out


def path(folder: Path, args: argparse.Namespace) -> dict:
    """A search's two halves as Searcher.search runs them: the dense half (the real model's query embedding
    on one thread, then the nearest vectors of --vectors, a published version such as bench/scale.py's
    1 M one, searched within a filter's rows below its size: the same share) on a thread while BM25 runs on
    the others; wall time until both are done. Fusion follows, measured by bench/scale.py. The postings and
    vectors are read into the page cache first, as the service's FileReader does when it opens a version."""
    _, _, _, kommun, year = _load_corpus(folder / "corpus")
    lexical = Lexical.load(folder)
    vectors = Vectors.load(args.vectors) if args.vectors else None
    for version in (folder, args.vectors) if args.vectors else (folder,):
        read_ahead(version).join()
    analyzer = Analyzer()
    synonyms = Synonyms.load(SYNONYMS, analyzer)
    one_thread_per_query()
    embedder = Embedder(Settings.load().model)
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    filters = _filters(kommun, year, args.seed)
    threads = ThreadPoolExecutor(max_workers=2)

    def dense(question: str, allowed: np.ndarray | None) -> None:
        vector = embedder.encode_query(question)
        if vectors is not None:
            rows = None if allowed is None else allowed[allowed < vectors.index.ntotal]
            vectors.search(vector, CANDIDATES, rows)

    for question in questions[:20]:
        dense(question, None)
        lexical.search(_terms(question, analyzer, synonyms), None, CANDIDATES)
    out: dict = {"n": lexical.n, "queries": len(questions)}
    out["dense vectors"] = vectors.index.ntotal if vectors is not None else 0
    for name, draw in filters.items():
        spent: dict[str, list[float]] = {"dense half alone": [], "bm25 alone": [], "both, side by side": []}
        for question in questions:
            allowed, terms = draw(), _terms(question, analyzer, synonyms)
            started = time.perf_counter()  # first: the query's postings are not yet in the CPU's caches
            nearest = threads.submit(dense, question, allowed)
            lexical.search(terms, allowed, CANDIDATES)
            nearest.result()
            spent["both, side by side"].append(time.perf_counter() - started)
            started = time.perf_counter()
            dense(question, allowed)
            spent["dense half alone"].append(time.perf_counter() - started)
            started = time.perf_counter()
            lexical.search(terms, allowed, CANDIDATES)
            spent["bm25 alone"].append(time.perf_counter() - started)
        out[name] = {part: latency(values) for part, values in spent.items()}
    return out


def _filters(kommun: np.ndarray, year: np.ndarray, seed: int) -> dict:
    """FILTERS as functions drawing a filter's rows: none, one kommun of about 1 %, one year."""
    rng = np.random.default_rng(seed)
    share = np.bincount(kommun) / len(kommun)
    return {
        "none": lambda: None,
        "kommun ~1%": lambda: np.flatnonzero(kommun == rng.choice(np.flatnonzero((share > 0.006) & (share < 0.015)))),
        "year ~10%": lambda: np.flatnonzero(year == rng.choice(np.unique(year))),
    }


STEPS = {"corpus": corpus, "build": build, "append": append, "query": query, "path": path}


# ---------------------------------------------------------------- the old way, for comparison


class _Old:
    """Lexical.scores and FileReader.lexical as they were: bm25s scores every chunk per weight, a mask for
    the filter, argpartition for the top; on the same matrix (read into memory, as bm25s.BM25.load did)."""

    def __init__(self, lexical: Lexical):
        self.bm25 = bm25s.BM25(method="lucene", k1=K1, b=B)
        indptr, indices, data = lexical.matrix()
        self.bm25.scores = {
            "indptr": np.array(indptr), "indices": np.array(indices), "data": np.array(data), "num_docs": lexical.n,
        }
        self.bm25.nonoccurrence_array = None
        self.vocabulary = lexical.vocabulary
        self.n = lexical.n

    def top(self, terms: dict[str, float], allowed: np.ndarray | None, k: int) -> dict[int, float]:
        scores = np.zeros(self.n, dtype=np.float32)
        by_weight: dict[float, list[int]] = {}
        for term, weight in terms.items():
            if term in self.vocabulary:
                by_weight.setdefault(weight, []).append(self.vocabulary[term])
        for weight, ids in by_weight.items():
            scores += np.float32(weight) * self.bm25.get_scores_from_ids(ids)
        if allowed is not None:
            masked = np.zeros_like(scores)
            masked[allowed] = scores[allowed]
            scores = masked
        top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
        return {int(i): float(scores[i]) for i in top if scores[i] > 0}


def _terms(question: str, analyzer: Analyzer, synonyms: Synonyms) -> dict[str, float]:
    """Searcher._terms."""
    tokens = analyzer.tokens(question, typed=True)
    terms: dict[str, float] = {}
    for token in tokens:
        terms[token] = terms.get(token, 0.0) + 1.0
    for token in synonyms.expand(question, tokens):
        terms[token] = terms.get(token, 0.0) + SYNONYM_WEIGHT
    return terms


def _tied(expected: dict[int, float], got: dict[int, float]) -> bool:
    """The sets differ only in rows scoring (within float32 rounding) the k-th best score."""
    if not expected or len(expected) != len(got):
        return False
    floor = min(expected.values())
    differ = set(expected) ^ set(got)
    return all(abs({**expected, **got}[r] - floor) <= 1e-5 * floor for r in differ)


# ---------------------------------------------------------------- corpus files, measuring tools


def _save_corpus(out: Path, ids, offsets, vocabulary, kommun, year) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, array in (("tokens", ids), ("offsets", offsets), ("kommun", kommun), ("year", year)):
        np.save(out / f"{name}.npy", array)
    words = sorted(vocabulary, key=vocabulary.__getitem__)
    (out / "vocabulary.json").write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")


def _load_corpus(out: Path):
    words = json.loads((out / "vocabulary.json").read_text(encoding="utf-8"))
    arrays = [np.load(out / f"{name}.npy", mmap_mode="r") for name in ("tokens", "offsets", "kommun", "year")]
    tokens, offsets, kommun, year = arrays
    return tokens, np.asarray(offsets), {w: i for i, w in enumerate(words)}, np.asarray(kommun), np.asarray(year)


def mib(path: Path) -> float:
    return path.stat().st_size / 2**20


def timed(function, *args):
    """CPU seconds (ms for load, which is short)."""
    started = time.process_time()
    out = function(*args)
    spent = time.process_time() - started
    return out, spent * 1000 if function.__name__ == "load" else spent


def latency(values: list[float]) -> dict:
    ms = np.array(values) * 1000
    return {"p50": float(np.median(ms)), "p95": float(np.percentile(ms, 95))}


# ---------------------------------------------------------------- report


ROWS = [
    ("build", "tokens per chunk", "{:.1f}"), ("build", "vocabulary", "{:,.0f}"), ("build", "postings", "{:,.0f}"),
    ("build", "from_tokens s", "{:.1f}"), ("build", "from_tokens peak MiB", "{:,.0f}"),
    ("build", "from_tokens peak anonymous MiB", "{:,.0f}"),
    ("build", "RSS before (ids mapped) MiB", "{:,.0f}"), ("build", "save s", "{:.2f}"), ("build", "load ms", "{:.1f}"),
    ("build", "disk matrix MiB", "{:,.0f}"), ("build", "disk tokens MiB", "{:,.0f}"),
    ("build", "disk vocabulary MiB", "{:.1f}"),
    ("append", "append s", "{:.1f}"), ("append", "append peak MiB", "{:,.0f}"),
    ("append", "append peak anonymous MiB", "{:,.0f}"), ("append", "equals full build", "{}"),
]


def report(work: Path) -> None:
    sizes = sorted(int(p.name[1:]) for p in work.glob("n*") if (p / "build.json").is_file())
    results = {n: {s: _read(work / f"n{n}" / f"{s}.json") for s in STEPS} for n in sizes}
    measured = [n for n in sizes if n != TARGET]
    project = TARGET not in sizes and len(measured) >= 2
    head = ["", *(f"{n / 1e6:g} M" for n in sizes), *(["10 M (a + b·N)"] if project else [])]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def row(label: str, values: list, fmt: str) -> None:
        cells = [fmt.format(v) if v is not None else "–" for v in values]
        if project:
            numeric = [(n, v) for n, v in zip(sizes, values) if type(v) in (int, float) and n in measured]
            cells.append(fmt.format(_projected(numeric[-2:])) if len(numeric) >= 2 else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    for step, key, fmt in ROWS:
        row(f"{step}: {key}", [results[n][step].get(key) for n in sizes], fmt)
    for name in FILTERS:
        for method, label in (("old", "old CPU"), ("new wall", "new"), ("new", "new CPU")):
            for p in ("p50", "p95"):
                values = [results[n]["query"].get(name, {}).get(method, {}).get(p) for n in sizes]
                row(f"query {name}: {label} {p} ms", values, "{:.1f}")
        for key in ("same top scores", "same top rows (up to ties)"):
            row(f"query {name}: {key}", [results[n]["query"].get(name, {}).get(key) for n in sizes], "{}")
    for name in FILTERS:
        for part in ("dense half alone", "bm25 alone", "both, side by side"):
            for p in ("p50", "p95"):
                values = [results[n]["path"].get(name, {}).get(part, {}).get(p) for n in sizes]
                row(f"path {name}: {part} {p} ms", values, "{:.1f}")
    print("\n".join(lines))


def _projected(points: list[tuple[int, float]]) -> float:
    """a + b·N through two sizes; flat where the measured values fall with N (noise around a constant)."""
    (n1, v1), (n2, v2) = points
    slope = max((v2 - v1) / (n2 - n1), 0.0)
    return v2 + slope * (TARGET - n2)


def _read(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


if __name__ == "__main__":
    main()

"""Lexical and metadata parts at millions of chunks (issue #13): build, start and query costs, projected to 10 M.

    .venv/bin/python bench/index_scale.py --n 1000000 2000000 [--work /tmp/protokollsok-index-scale]
    .venv/bin/python bench/index_scale.py --report [--work …]      # the table again from saved results

Chunks come from bench/synthetic.py. Each N runs as three child processes, one after another, so each
one's memory is its own: `build` streams the records once through Metadata.add, the Analyzer and
AnswerKinds.build, holding the token lists as publish does, then Lexical.build (each part timed on its
own); `measure` loads the version as Searcher.__init__ does and times the per-query steps of search.py;
`measure --mmap` does the lexical part again with the BM25 matrices memory-mapped. PYTHONPATH may point
at another checkout of the package (a `git archive` of a commit) to measure that one. Steps are timed in
CPU seconds of the process (--clock cpu, the default), so a busy shared machine inflates them less;
--clock wall for wall time.

Beside the project's classes it times prototypes of changes, marked `proto` in the table:
- a mentions table keyed by Dnr instead of `mentions LIKE '%"key"%'`;
- numpy columns (kommun, organ, doc type, date, text hash) saved at build time, so filters are a mask over
  arrays and a Searcher starts with np.load instead of reading every row through Python;
- block-max top-k: the top 100 from the 100 blocks of 1,024 rows with the highest maxima, instead of an
  argpartition over every row (exact);
- a numba kernel that adds the query tokens' postings (synonyms at their weight, one pass per posting list)
  into a buffer kept between queries, skipping rows a filter mask excludes, then block-max top-k, then zeroes
  the blocks it touched: no N-long array is allocated, masked or partitioned per query. With a kommun filter
  over rows stored kommun by kommun it reads only that kommun's stretch of every posting list.

Projection to 10 M, named in the table's last column: `linear` fits a + b·N through the smallest and largest
N (sizes, memory, counts), `prop` scales the largest N's timing by 10 M / N (the steps that grow with N; a
line through two noisy timings would magnify their noise), `flat` takes the largest measured (indexed
lookups, per-query constants). A `prop` row of a step that does not grow with N overstates it.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from protokollsok.indexes.analyzer import Analyzer
from protokollsok.indexes.answers import AnswerKinds
from protokollsok.indexes.build import indexed_text
from protokollsok.indexes.embed import text_hash
from protokollsok.indexes.lexical import FOLDER as LEXICAL
from protokollsok.indexes.lexical import Lexical
from protokollsok.indexes.metadata import FILE as META
from protokollsok.indexes.metadata import Filters, Metadata
from protokollsok.indexes.recipe import DEFAULT as RECIPE
from protokollsok.indexes.synonyms import DEFAULT as SYNONYMS
from protokollsok.indexes.synonyms import Synonyms
from protokollsok.ingest import dnr as dnrs
from protokollsok.ingest.structure import fold
from memory import Peak, rss
from synthetic import Pool, entries

CANDIDATES = RECIPE.candidates  # as search proposes them
SYNONYM_WEIGHT = RECIPE.synonym_weight

ROOT = Path(__file__).resolve().parents[1]
SOURCE = str(Path(inspect.getfile(Metadata)).parents[1])  # the checkout measured (PYTHONPATH may point elsewhere)
QUESTIONS = [ROOT / "eval" / name for name in ("dev.jsonl", "heldout.jsonl", "unanswerable.jsonl")]
PROTO = "proto"
TARGET = 10_000_000
DRAWS = 40  # filter values, Dnr, § and row sets drawn per measurement
SCANS = 15  # of them, for the measurements that scan the whole chunks table
PATH_QUERIES = 60  # questions per kind of filter in the end-to-end comparison (all of them without a filter)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", nargs="?", choices=("build", "measure"), help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, nargs="+", default=[1_000_000, 2_000_000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/protokollsok-index-scale"))
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--mmap", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--report", action="store_true", help="print the table from results already in --work")
    parser.add_argument("--rebuild", action="store_true", help="build again even where results exist")
    parser.add_argument(
        "--clock", choices=("cpu", "wall"), default="cpu", help="time steps in CPU seconds (default) or wall"
    )
    args = parser.parse_args()
    global _CLOCK
    _CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.step:
        folder = args.work / f"n{args.n[0]}"
        if args.step == "build":
            results = build(args.n[0], folder, args.seed)
        else:
            results = measure(folder, args.queries, args.seed, args.mmap)
        results[f"load average during {args.step}{' --mmap' if args.mmap else ''}"] = os.getloadavg()[1]
        results[f"clock ({args.step}{' --mmap' if args.mmap else ''})"] = args.clock
        name = f"{args.step}{'-mmap' if args.mmap else ''}.json"
        (folder / name).write_text(json.dumps(results, indent=1, ensure_ascii=False))
        return
    if not args.report:
        for n in args.n:
            orchestrate(n, args)
    report(args.work)


def orchestrate(n: int, args: argparse.Namespace) -> None:
    folder = args.work / f"n{n}"
    me = [sys.executable, str(Path(__file__).resolve())]
    common = [
        "--n",
        str(n),
        "--work",
        str(args.work),
        "--seed",
        str(args.seed),
        "--queries",
        str(args.queries),
        "--clock",
        args.clock,
    ]
    started = time.perf_counter()
    if args.rebuild or not (folder / "build.json").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        print(f"N={n:,}: building …", flush=True)
        subprocess.run([*me, "build", *common], check=True)
        print(f"N={n:,}: built in {time.perf_counter() - started:.0f} s", flush=True)
    for extra, name in (([], "measure.json"), (["--mmap"], "measure-mmap.json")):
        if args.rebuild or not (folder / name).is_file():
            print(f"N={n:,}: measure {' '.join(extra)}…", flush=True)
            subprocess.run([*me, "measure", *common, *extra], check=True)
    print(f"N={n:,}: done in {time.perf_counter() - started:.0f} s", flush=True)


# ---------------------------------------------------------------- measuring tools


def clock() -> float:
    """CPU seconds of this process by default (--clock cpu): the machine is shared, and a step that waits for
    a core would otherwise count the wait; --clock wall for wall time."""
    return _CLOCK()


_CLOCK = time.process_time


def max_rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def size(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def latency(values: list[float]) -> dict:
    ms = np.array(values) * 1000
    return {
        "p50": float(np.median(ms)),
        "p95": float(np.percentile(ms, 95)),
        "mean": float(ms.mean()),
        "count": len(ms),
    }


def timed(function, *args):
    started = clock()
    out = function(*args)
    return out, clock() - started


# The lexical part is being rewritten beside this bench: HEAD 2179fa4 wraps bm25s (`retriever`, scores per
# token list, search.py's argpartition `_top`), the rewrite keeps its own matrix (`matrix()`, scores over
# weighted terms, `search` with MaxScore). These four functions let the bench measure either.


def matrix(lexical: Lexical) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """indptr, indices, data of the token-major BM25 matrix, and N."""
    if hasattr(lexical, "matrix"):
        indptr, indices, data = lexical.matrix()
        return np.asarray(indptr), indices, data, int(lexical.n)
    scores = lexical.retriever.scores
    return np.asarray(scores["indptr"]), scores["indices"], scores["data"], int(scores["num_docs"])


def weighted(tokens: list[str], extra: list[str]) -> dict[str, float]:
    """A query's tokens as search.py weighs them: each time typed counts 1, a synonym SYNONYM_WEIGHT."""
    terms: dict[str, float] = {}
    for token, weight in [(t, 1.0) for t in tokens] + [(t, SYNONYM_WEIGHT) for t in extra]:
        terms[token] = terms.get(token, 0.0) + weight
    return terms


def lexical_scores(lexical: Lexical, tokens: list[str], extra: list[str]) -> np.ndarray:
    """Every row's score, synonyms included, as Lexical.scores gives it in the checkout."""
    if "terms" in inspect.signature(Lexical.scores).parameters:
        return lexical.scores(weighted(tokens, extra))
    scores = lexical.scores(tokens)
    return scores + SYNONYM_WEIGHT * lexical.scores(extra) if extra else scores


def today_top(lexical: Lexical, tokens: list[str], extra: list[str], allowed: np.ndarray | None) -> dict[int, float]:
    """The lexical top CANDIDATES as the checkout's search takes them: Lexical.search where it has one, else
    scores of every row, the rows a filter leaves out set to 0, and `_top`."""
    if hasattr(lexical, "search"):
        return lexical.search(weighted(tokens, extra), allowed, CANDIDATES).top
    scores = lexical_scores(lexical, tokens, extra)
    if allowed is not None:
        masked = np.zeros_like(scores)
        masked[allowed] = scores[allowed]
        scores = masked
    return _top(scores)


def _top(scores: np.ndarray, k: int = CANDIDATES) -> dict[int, float]:
    """search.py's `_top` at HEAD: the top k by argpartition over every row."""
    if len(scores) == 0:
        return {}
    top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
    return {int(i): float(scores[i]) for i in top if scores[i] > 0}


# ---------------------------------------------------------------- build steps


def build(n: int, folder: Path, seed: int) -> dict:
    """One pass over the records as publish makes it: per document the indexed texts and their hashes into
    Metadata.add, every indexed text through the Analyzer (token lists held for Lexical.build), the chunk
    texts through AnswerKinds.build (a regex per text, so per-document batches give the same masks); then
    the commit, Lexical.build and the saves. Then the prototypes' mentions table and columns."""
    out: dict = {"n": n, "source": SOURCE}
    spent = defaultdict(float)
    analyzer = Analyzer()
    pool = Pool.load()
    meta = Metadata.create(folder)
    tokens: list[list[str]] = []
    masks: list[np.ndarray] = []
    documents = units = characters = 0
    before = rss()
    with Peak() as peak:
        started = clock()
        for entry in entries(n, seed, pool):
            a = clock()
            texts = [indexed_text(c) for c in entry.chunks]
            meta.add(entry.document, entry.chunks, entry.source_hash, [text_hash(t) for t in texts])
            b = clock()
            tokens.extend(analyzer.tokens(t) for t in texts)
            c = clock()
            masks.append(AnswerKinds.build([chunk.text for chunk in entry.chunks]).masks)
            d = clock()
            spent["meta"] += b - a
            spent["analyzer"] += c - b
            spent["answers"] += d - c
            documents += 1
            units += len(entry.document.units)
            characters += sum(len(t) for t in texts)
        total = clock() - started
        _, spent["commit"] = timed(meta.commit)
    meta.close()
    out.update(
        {
            "generate s": total - spent["meta"] - spent["analyzer"] - spent["answers"],
            "meta build s": spent["meta"] + spent["commit"],
            "meta commit s": spent["commit"],
            "analyzer s": spent["analyzer"],
            "analyzer chunks/s": len(tokens) / spent["analyzer"],
            "answer kinds build s": spent["answers"],
            "tokens held MiB": peak.mib - before,
            "analyzer tokens per chunk": sum(map(len, tokens)) / len(tokens),
            "indexed chars per chunk": characters / len(tokens),
            "documents": documents,
            "units": units,
        }
    )
    AnswerKinds(np.concatenate(masks)).save(folder)

    with Peak() as peak:
        lexical, out["lexical build s"] = timed(Lexical.build, tokens)
    out["lexical build peak MiB"] = peak.mib
    del tokens
    _, out["lexical save s"] = timed(lexical.save, folder)
    _, indices, data, _ = matrix(lexical)
    out.update(
        {
            "bm25 nnz": len(data),
            "bm25 vocabulary": len(lexical.vocabulary),
            "lexical data+indices MiB": (data.nbytes + indices.nbytes) / 2**20,
        }
    )
    del lexical, indices, data
    out.update(
        {
            "meta disk MiB": size(folder / META),
            "lexical disk MiB": size(folder / LEXICAL),
            "lexical vocab json MiB": sum(size(p) for p in (folder / LEXICAL).glob("vocab*.json")),
            "answer kinds disk MiB": size(folder / "answer_kinds.npy"),
        }
    )
    out.update(_table_sizes(folder / META))
    out.update(_build_proto(folder))
    out["build process max RSS MiB"] = max_rss()
    return out


def _table_sizes(path: Path) -> dict:
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
        out = {f"sqlite {name} MiB": pages / 2**20 for name, pages in rows}
    except sqlite3.OperationalError:
        out = {}
    stats = db.execute(
        "SELECT COUNT(*), COUNT(dnr_key), COUNT(DISTINCT dnr_key), SUM(mentions != '[]'), COUNT(paragraf), "
        "COUNT(DISTINCT paragraf), COUNT(DISTINCT kommun_f), COUNT(DISTINCT organ_f), AVG(LENGTH(text)) FROM chunks"
    ).fetchone()
    db.close()
    names = (
        "rows",
        "rows with dnr",
        "distinct dnr keys",
        "rows mentioning a dnr",
        "rows with paragraf",
        "distinct paragraf",
        "kommuner",
        "organ",
        "chunk chars",
    )
    out.update(dict(zip(names, stats)))
    return out


def _build_proto(folder: Path) -> dict:
    proto = folder / PROTO
    proto.mkdir(exist_ok=True)
    out = {}
    db = sqlite3.connect(proto / "mentions.sqlite")
    started = clock()
    db.execute("ATTACH DATABASE ? AS m", (f"file:{folder / META}?mode=ro",))
    db.execute("CREATE TABLE mentions (key TEXT, row INTEGER, PRIMARY KEY (key, row)) WITHOUT ROWID")
    db.execute(
        "INSERT INTO mentions SELECT j.value, c.row FROM m.chunks c, json_each(c.mentions) j WHERE c.mentions != '[]'"
    )
    db.commit()
    db.close()
    out["proto mentions table build s"] = clock() - started
    out["proto mentions table disk MiB"] = size(proto / "mentions.sqlite")

    started = clock()
    with Peak() as peak:
        columns = _columns(folder / META)
        for name, array in columns.items():
            if isinstance(array, np.ndarray):
                np.save(proto / f"{name}.npy", array)
        (proto / "names.json").write_text(
            json.dumps({k: v for k, v in columns.items() if not isinstance(v, np.ndarray)}, ensure_ascii=False)
        )
    out["proto columns build s"] = clock() - started
    out["proto columns build peak MiB"] = peak.mib
    out["proto columns disk MiB"] = sum(size(p) for p in proto.glob("*.npy"))
    return out


def _columns(path: Path) -> dict:
    """Per-row filter values as small integer codes, read once, in batches, in row order."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    count = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    codes: dict[str, dict[str, int]] = {"kommun": {}, "organ": {}, "doc_type": {}}
    arrays = {
        "kommun": np.empty(count, np.int16),
        "organ": np.empty(count, np.int16),
        "doc_type": np.empty(count, np.int8),
        "date": np.empty(count, np.int32),
        "text_hash": np.empty(count, np.uint64),
    }
    cursor = db.execute("SELECT row, kommun_f, organ_f, doc_type_f, date, text_hash FROM chunks ORDER BY row")
    while batch := cursor.fetchmany(200_000):
        rows = np.fromiter((r[0] for r in batch), np.int64, len(batch))
        for i, name in ((1, "kommun"), (2, "organ"), (3, "doc_type")):
            table = codes[name]
            arrays[name][rows] = [table.setdefault(r[i], len(table)) for r in batch]
        arrays["date"][rows] = [int(r[4].replace("-", "")) if r[4] else 0 for r in batch]
        arrays["text_hash"][rows] = [int(r[5][:16], 16) for r in batch]
    db.close()
    return {**arrays, **{f"{name} codes": table for name, table in codes.items()}}


# ---------------------------------------------------------------- measuring a built version


def measure(folder: Path, queries: int, seed: int, mmap: bool) -> dict:
    out: dict = {}
    rng = random.Random(seed)
    analyzer = Analyzer()
    synonyms = Synonyms.load(SYNONYMS, analyzer)
    questions = _questions(queries)
    base = rss()
    if mmap:
        lexical, out["mmap lexical load s"] = timed(_load_mapped, folder)
        out["mmap RSS after load MiB"] = rss() - base
        _lexical_latency(out, "mmap ", lexical, analyzer, synonyms, questions)
        out["mmap RSS after queries MiB"] = rss() - base
        kernel = Kernel(lexical)
        kernel.warm()
        _kernel_latency(out, "mmap proto ", kernel, analyzer, synonyms, questions)
        return out

    # What Searcher.__init__ pays at HEAD (search.py), step by step; the rewrite reads per-row facts from
    # columns written at build time instead, so the steps it no longer has are left out.
    with Peak() as start:
        meta, out["start Metadata.load s"] = timed(Metadata.load, folder)
        if hasattr(meta, "kommun_per_row"):
            _, out["start kommun_per_row s"] = timed(meta.kommun_per_row)
            _, out["start text hashes s"] = timed(_text_hashes, meta)
        steady = rss()
        lexical, out["start Lexical.load s"] = timed(Lexical.load, folder)
        out["RSS lexical loaded MiB"] = rss() - steady
        _, out["start AnswerKinds.load s"] = timed(AnswerKinds.load, folder)
    out["start facets s"] = timed(meta.facets)[1]  # service/live.py, once a version
    out["start RSS MiB"] = rss() - base
    out["start peak RSS MiB"] = start.mib - base
    out["start total s"] = sum(v for k, v in out.items() if k.startswith("start ") and k.endswith(" s"))

    columns, out["proto start np.load columns s"] = timed(Columns.load, folder)
    out["proto columns RSS MiB"] = columns.nbytes / 2**20

    samples = _samples(meta, rng)
    _lexical_latency(out, "", lexical, analyzer, synonyms, questions)
    _metadata_latency(out, meta, samples, folder, lexical, analyzer, questions[0])
    _filtered_paths(out, meta, columns, lexical, analyzer, synonyms, questions, samples, rng)
    out["measure process max RSS MiB"] = max_rss()
    return out


def _text_hashes(meta: Metadata) -> np.ndarray:
    """Searcher.__init__'s read of every row's text hash at HEAD."""
    rows = meta.db.execute("SELECT text_hash FROM chunks ORDER BY row")
    return np.array([int(h[:16], 16) for (h,) in rows], dtype=np.uint64)


def _load_mapped(folder: Path) -> Lexical:
    """The lexical part with its matrices memory-mapped: bm25s's own option at HEAD; the rewrite always maps."""
    if (folder / LEXICAL / "params.index.json").is_file():
        import bm25s

        return Lexical(bm25s.BM25.load(str(folder / LEXICAL), mmap=True))
    return Lexical.load(folder)


def _questions(count: int) -> list[str]:
    found = []
    for path in QUESTIONS:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                found.append(json.loads(line)["question"])
    return found[:count]


def _samples(meta: Metadata, rng: random.Random) -> dict:
    """Filter values as users would pick them: from random rows, so a large kommun comes up more often."""
    count = meta.count()
    rows = [rng.randrange(count) for _ in range(DRAWS * 4)]
    got = meta.chunks(rows)
    with_dnr = [c for c in got if c["dnr"]][:DRAWS]
    with_paragraf = [c for c in got if c["paragraf"]][:DRAWS]
    mentioned = [r[0] for r in meta.db.execute("SELECT mentions FROM chunks WHERE mentions != '[]' LIMIT 5000")]
    keys = [k for m in mentioned for k in json.loads(m)]
    return {
        "chunks": got[:DRAWS],
        "dnr": [c["dnr"] for c in with_dnr],
        "mentioned keys": [rng.choice(keys) for _ in range(DRAWS)] if keys else [],
        "paragraf": [c["paragraf"] for c in with_paragraf],
        "rows": [[rng.randrange(count) for _ in range(10)] for _ in range(DRAWS)],
    }


def _rows(db: sqlite3.Connection, sql: str, *args) -> list[tuple]:
    return db.execute(sql, args).fetchall()


def _as_set(rows: np.ndarray) -> set[int]:
    return set(rows.tolist())


def _filters(chunk: dict, kind: str) -> Filters:
    year = (chunk["date"] or "2020")[:4]
    return {
        "kommun": Filters(kommun=chunk["kommun"]),
        "organ": Filters(organ=chunk["organ"]),
        "year": Filters(date_from=f"{year}-01-01", date_to=f"{year}-12-31"),
        "kommun+organ+year": Filters(
            kommun=chunk["kommun"], organ=chunk["organ"], date_from=f"{year}-01-01", date_to=f"{year}-12-31"
        ),
    }[kind]


FILTER_KINDS = ("kommun", "organ", "year", "kommun+organ+year")


def _lexical_latency(
    out: dict, prefix: str, lexical: Lexical, analyzer: Analyzer, synonyms: Synonyms, questions: list[str]
) -> None:
    """Search._lexical_scores and _top without a filter: the analyser, one scores() per token list (the
    synonyms' second), and the top CANDIDATES by argpartition; with the postings each query reads."""
    indptr, _, _, n = matrix(lexical)
    for q in questions[:10]:  # analyser caches, page cache
        lexical_scores(lexical, analyzer.tokens(q, typed=True), [])
    spent = defaultdict(list)
    postings = []
    exact = searched = 0
    for q in questions:
        a = clock()
        tokens = analyzer.tokens(q, typed=True)
        b = clock()
        extra = synonyms.expand(q, tokens)
        scores = lexical_scores(lexical, tokens, extra)
        c = clock()
        expected = _top(scores)
        d = clock()
        spent["analyzer"].append(b - a)
        spent["scores"].append(c - b)
        spent["top"].append(d - c)
        spent["total"].append(d - a)
        padded = _padded(scores)  # a kernel's buffer is padded already; not timed
        got, took = timed(block_top, padded)
        spent["proto block-max top"].append(took)
        exact += _same_top(expected, got)
        if hasattr(lexical, "search"):
            got, took = timed(today_top, lexical, tokens, extra, None)
            spent["search (the checkout's Lexical.search)"].append(took)
            searched += _same_top(expected, got)
        ids = [lexical.vocabulary[t] for t in tokens + extra if t in lexical.vocabulary]
        postings.append(int(sum(indptr[i + 1] - indptr[i] for i in ids)))
    for name, values in spent.items():
        out[f"{prefix}lexical {name} ms"] = latency(values)
    out[f"{prefix}lexical proto block-max top same top-100"] = f"{exact}/{len(questions)}"
    if hasattr(lexical, "search"):
        out[f"{prefix}lexical search same top-100"] = f"{searched}/{len(questions)}"
    out[f"{prefix}postings per query / N"] = {
        "p50": float(np.median(postings)) / n,
        "p95": float(np.percentile(postings, 95)) / n,
    }


def _metadata_latency(
    out: dict, meta: Metadata, samples: dict, folder: Path, lexical: Lexical, analyzer: Analyzer, question: str
) -> None:
    scores = lexical_scores(lexical, analyzer.tokens(question, typed=True), [])
    for kind in FILTER_KINDS:
        times, sizes, masking, permitted = [], [], [], []
        for chunk in samples["chunks"]:
            allowed, spent = timed(meta.filter_rows, _filters(chunk, kind))
            times.append(spent)
            sizes.append(len(allowed))
            started = clock()
            masked = np.zeros_like(scores)
            masked[allowed] = scores[allowed]
            masking.append(clock() - started)
            if kind == "organ":
                permitted.append(timed(_as_set, allowed)[1])  # search._tiers, a Dnr or § and a filter
        out[f"filter_rows {kind} ms"] = latency(times)
        out[f"filter_rows {kind} rows / N"] = float(np.mean(sizes)) / len(scores)
        out[f"mask scores by {kind} ms"] = latency(masking)
        if permitted:
            out[f"set(allowed) {kind} ms"] = latency(permitted)

    times, sizes = [], []
    for value in samples["dnr"][:SCANS]:
        allowed, spent = timed(meta.filter_rows, Filters(dnr=value))
        times.append(spent)
        sizes.append(len(allowed))
    out["filter_rows dnr ms"] = latency(times)
    out["filter_rows dnr rows"] = float(np.mean(sizes))

    own, mentioned, whole, sizes = [], [], [], []
    for value in samples["dnr"][:SCANS]:
        key = dnrs.parse(value).key
        own.append(timed(_rows, meta.db, "SELECT row, doc_id, unit FROM chunks WHERE dnr_key = ? ORDER BY row", key)[1])
        mentioned.append(timed(_rows, meta.db, "SELECT row FROM chunks WHERE mentions LIKE ?", f'%"{key}"%')[1])
        result, spent = timed(meta.rows_with_dnr, key)
        whole.append(spent)
        sizes.append(sum(map(len, result)))
    out["rows_with_dnr ms"] = latency(whole)
    out["rows_with_dnr: dnr_key part ms"] = latency(own)
    out["rows_with_dnr: mentions LIKE part ms"] = latency(mentioned)
    out["rows_with_dnr rows"] = float(np.mean(sizes))

    proto = sqlite3.connect(f"file:{folder / PROTO / 'mentions.sqlite'}?mode=ro", uri=True)
    times, found = [], []
    for key in [dnrs.parse(v).key for v in samples["dnr"]] + samples["mentioned keys"]:
        rows, spent = timed(_rows, proto, "SELECT row FROM mentions WHERE key = ?", key)
        times.append(spent)
        found.append(len(rows))
    proto.close()
    out["proto mentions table lookup ms"] = latency(times)
    out["mentions per key"] = float(np.mean(found))

    times, sizes = [], []
    for paragraf in samples["paragraf"]:
        (first, rest), spent = timed(meta.rows_with_paragraf, paragraf)
        times.append(spent)
        sizes.append(len(first) + len(rest))
    out["rows_with_paragraf ms"] = latency(times)
    out["rows_with_paragraf rows"] = float(np.mean(sizes))

    out["chunks(10 rows) ms"] = latency([timed(meta.chunks, rows)[1] for rows in samples["rows"]])


# ---------------------------------------------------------------- prototypes


class Columns:
    """The prototype's filter columns: a filter is a boolean mask over small integer arrays."""

    def __init__(self, arrays: dict[str, np.ndarray], codes: dict[str, dict[str, int]]):
        self.arrays = arrays
        self.codes = codes
        self.nbytes = sum(a.nbytes for a in arrays.values())

    @classmethod
    def load(cls, folder: Path) -> Columns:
        proto = folder / PROTO
        names = json.loads((proto / "names.json").read_text(encoding="utf-8"))
        arrays = {p.stem: np.load(p) for p in proto.glob("*.npy")}
        return cls(arrays, {k.removesuffix(" codes"): v for k, v in names.items()})

    def mask(self, filters: Filters) -> np.ndarray | None:
        mask = None
        for name, value in (("kommun", filters.kommun), ("organ", filters.organ), ("doc_type", filters.doc_type)):
            if value:
                code = self.codes[name].get(fold(value), -1)
                mask = _and(mask, self.arrays[name] == code)
        if filters.date_from:
            mask = _and(mask, self.arrays["date"] >= int(filters.date_from.replace("-", "")))
        if filters.date_to:
            mask = _and(mask, self.arrays["date"] <= int(filters.date_to.replace("-", "")))
        return mask

    def kommun_range(self, kommun: str) -> tuple[int, int] | None:
        """[first, last + 1) of the kommun's rows when they are contiguous (rows stored kommun by kommun)."""
        rows = np.flatnonzero(self.arrays["kommun"] == self.codes["kommun"].get(fold(kommun), -1))
        if len(rows) and rows[-1] - rows[0] + 1 == len(rows):
            return int(rows[0]), int(rows[-1]) + 1
        return None


def _and(mask: np.ndarray | None, other: np.ndarray) -> np.ndarray:
    return other if mask is None else mask & other


BLOCK = 1024


def block_top(scores: np.ndarray, k: int = CANDIDATES, first: int = 0) -> dict[int, float]:
    """The top k by block maxima: every row of the top k lies in a block whose maximum is among the k highest
    block maxima, so one max per BLOCK rows (a vectorised pass) and a partition over k·BLOCK rows replace the
    argpartition over all rows. Exact. `scores` is a whole number of blocks, row `first` at its start."""
    blocks = scores.reshape(-1, BLOCK)
    head = blocks.max(axis=1)
    held = np.flatnonzero(head > 0)
    if len(held) > k:
        held = held[np.argpartition(-head[held], k - 1)[:k]]
    rows = (held[:, None] * BLOCK + np.arange(BLOCK)).ravel()
    values = scores[rows]
    if len(rows) > k:
        keep = np.argpartition(-values, k - 1)[:k]
        rows, values = rows[keep], values[keep]
    return {int(first + r): float(v) for r, v in zip(rows, values) if v > 0}


def _padded(scores: np.ndarray) -> np.ndarray:
    return np.concatenate([scores, np.zeros(-len(scores) % BLOCK, scores.dtype)]) if len(scores) % BLOCK else scores


class Kernel:
    """BM25 top-k without an N-long array per query: the query's tokens (synonyms at their weight, one pass
    over each posting list) are added into a buffer kept between queries (numba), rows a filter mask
    excludes skipped, then block_top, then the touched blocks are zeroed. A row range (a kommun's rows,
    stored kommun by kommun) reads only that stretch of each posting list (binary search: its rows are
    sorted) and only that stretch of the buffer."""

    def __init__(self, lexical: Lexical):
        from numba import njit

        indptr, indices, data, self.n = matrix(lexical)
        # np.asarray: a memory-mapped matrix as a plain array view, which numba takes
        self.data, self.indices, self.indptr = np.asarray(data), np.asarray(indices), indptr
        self.vocabulary = lexical.vocabulary
        self.buffer = np.zeros(self.n + (-self.n % BLOCK), np.float32)
        self.no_mask = np.ones(1, np.bool_)
        self._scatter = njit(nogil=True)(_scatter)

    def warm(self) -> None:
        self.top([next(iter(self.vocabulary))], [], None, None)

    def top(
        self, tokens: list[str], extra: list[str], mask: np.ndarray | None, span: tuple[int, int] | None
    ) -> dict[int, float]:
        weights: dict[int, float] = {}
        for token, weight in [(t, 1.0) for t in tokens] + [(t, SYNONYM_WEIGHT) for t in extra]:
            if token in self.vocabulary:
                weights[self.vocabulary[token]] = weights.get(self.vocabulary[token], 0.0) + weight
        ids = np.fromiter(weights, np.int64, len(weights))
        w = np.fromiter(weights.values(), np.float32, len(weights))
        lo, hi = span or (0, self.n)
        self._scatter(
            self.data,
            self.indices,
            self.indptr,
            ids,
            w,
            lo,
            hi,
            span is None,
            mask if mask is not None else self.no_mask,
            mask is not None,
            self.buffer,
        )
        first, last = lo // BLOCK * BLOCK, -(-hi // BLOCK) * BLOCK
        window = self.buffer[first:last]
        found = block_top(window, CANDIDATES, first)
        blocks = window.reshape(-1, BLOCK)
        blocks[blocks.max(axis=1) > 0] = 0.0
        return found


def _scatter(data, indices, indptr, ids, weights, lo, hi, whole, mask, use_mask, buffer):
    for i in range(len(ids)):
        start, end = indptr[ids[i]], indptr[ids[i] + 1]
        if not whole:
            column = indices[start:end]
            start, end = start + np.searchsorted(column, lo), start + np.searchsorted(column, hi)
        w = weights[i]
        if use_mask:
            for j in range(start, end):
                if mask[indices[j]]:
                    buffer[indices[j]] += w * data[j]
        else:
            for j in range(start, end):
                buffer[indices[j]] += w * data[j]


def _kernel_latency(
    out: dict, prefix: str, kernel: Kernel, analyzer: Analyzer, synonyms: Synonyms, questions: list[str]
) -> None:
    times = []
    for q in questions:
        started = clock()
        tokens = analyzer.tokens(q, typed=True)
        kernel.top(tokens, synonyms.expand(q, tokens), None, None)
        times.append(clock() - started)
    out[f"{prefix}kernel lexical total ms"] = latency(times)


def _filtered_paths(
    out: dict,
    meta: Metadata,
    columns: Columns,
    lexical: Lexical,
    analyzer: Analyzer,
    synonyms: Synonyms,
    questions: list[str],
    samples: dict,
    rng: random.Random,
) -> None:
    """The lexical half of Searcher.search end to end: today's path (filter_rows, then scores, mask and _top,
    or the checkout's Lexical.search) against the prototypes (column mask and the kernel; with a kommun
    filter, the kommun's row range), without a filter and with each kind of filter drawn per question.
    Top-100 agreement with today's is counted."""
    kernel = Kernel(lexical)
    kernel.warm()
    chunks = samples["chunks"]
    for kind in (None, *FILTER_KINDS):
        spent = defaultdict(list)
        agree = defaultdict(int)
        asked = questions if kind is None else questions[:PATH_QUERIES]
        for q in asked:
            filters = _filters(rng.choice(chunks), kind) if kind else Filters()
            a = clock()
            allowed = meta.filter_rows(filters)
            tokens = analyzer.tokens(q, typed=True)
            expected = today_top(lexical, tokens, synonyms.expand(q, tokens), allowed)
            spent["today"].append(clock() - a)
            a = clock()
            mask = columns.mask(filters)
            tokens = analyzer.tokens(q, typed=True)
            got = kernel.top(tokens, synonyms.expand(q, tokens), mask, None)
            spent["proto kernel"].append(clock() - a)
            agree["proto kernel"] += _same_top(expected, got)
            if kind == "kommun":
                a = clock()
                span = columns.kommun_range(filters.kommun)
                tokens = analyzer.tokens(q, typed=True)
                got = kernel.top(tokens, synonyms.expand(q, tokens), None, span)
                spent["proto kommun row range"].append(clock() - a)
                agree["proto kommun row range"] += _same_top(expected, got)
        label = kind or "none"
        for name, values in spent.items():
            out[f"path filter={label}: {name} ms"] = latency(values)
        for name, count in agree.items():
            out[f"path filter={label}: {name} same top-100"] = f"{count}/{len(asked)}"
    # The mask step of the prototype on its own, beside filter_rows.
    for kind in FILTER_KINDS:
        out[f"proto columns mask {kind} ms"] = latency([timed(columns.mask, _filters(c, kind))[1] for c in chunks])
    out["proto kommun rows contiguous"] = sum(columns.kommun_range(c["kommun"]) is not None for c in chunks) / len(
        chunks
    )


def _same_top(expected: dict[int, float], got: dict[int, float]) -> bool:
    """Same top-100 up to ties at the cut: the scores agree as sorted lists."""
    a, b = sorted(expected.values(), reverse=True), sorted(got.values(), reverse=True)
    return len(a) == len(b) and np.allclose(a, b, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- the table

# (key in the results, how it scales to 10 M: "linear" fits a + b·N, "flat" takes the largest measured)
ROWS = [
    ("section", "build: one pass, each part timed on its own (s, MiB)"),
    ("generate s", "prop"),
    ("meta build s", "prop"),
    ("meta commit s", "prop"),
    ("analyzer s", "prop"),
    ("analyzer chunks/s", "flat"),
    ("answer kinds build s", "prop"),
    ("lexical build s", "prop"),
    ("lexical save s", "prop"),
    ("tokens held MiB", "linear"),
    ("lexical build peak MiB", "linear"),
    ("build process max RSS MiB", "linear"),
    ("proto mentions table build s", "prop"),
    ("proto columns build s", "prop"),
    ("section", "disk (MiB)"),
    ("meta disk MiB", "linear"),
    ("sqlite chunks MiB", "linear"),
    ("sqlite documents MiB", "linear"),
    ("sqlite chunks_filters MiB", "linear"),
    ("sqlite chunks_dnr MiB", "linear"),
    ("sqlite chunks_paragraf MiB", "linear"),
    ("lexical disk MiB", "linear"),
    ("lexical vocab json MiB", "linear"),
    ("answer kinds disk MiB", "linear"),
    ("proto mentions table disk MiB", "linear"),
    ("proto columns disk MiB", "linear"),
    ("section", "corpus"),
    ("documents", "linear"),
    ("units", "linear"),
    ("chunk chars", "flat"),
    ("analyzer tokens per chunk", "flat"),
    ("bm25 nnz", "linear"),
    ("bm25 vocabulary", "linear"),
    ("rows with dnr", "linear"),
    ("distinct dnr keys", "linear"),
    ("rows mentioning a dnr", "linear"),
    ("rows_with_dnr rows", "linear"),
    ("mentions per key", "linear"),
    ("rows_with_paragraf rows", "linear"),
    ("filter_rows dnr rows", "linear"),
    ("section", "Searcher start (search.py __init__; facets: service/live.py) (s, MiB)"),
    ("start Metadata.load s", "flat"),
    ("start kommun_per_row s", "prop"),
    ("start text hashes s", "prop"),
    ("start Lexical.load s", "prop"),
    ("start AnswerKinds.load s", "prop"),
    ("start facets s", "prop"),
    ("start total s", "prop"),
    ("start RSS MiB", "linear"),
    ("start peak RSS MiB", "linear"),
    ("RSS lexical loaded MiB", "linear"),
    ("proto start np.load columns s", "prop"),
    ("proto columns RSS MiB", "linear"),
    ("mmap lexical load s", "prop"),
    ("mmap RSS after load MiB", "linear"),
    ("mmap RSS after queries MiB", "linear"),
    ("section", "per query, lexical without a filter (ms p50 / p95)"),
    ("lexical analyzer ms", "flat"),
    ("lexical scores ms", "prop"),
    ("lexical top ms", "prop"),
    ("lexical total ms", "prop"),
    ("lexical search (the checkout's Lexical.search) ms", "prop"),
    ("mmap lexical total ms", "prop"),
    ("lexical proto block-max top ms", "prop"),
    ("postings per query / N", "flat"),
    ("section", "per query, metadata (ms p50 / p95; rows / N: the share a filter lets through)"),
    ("filter_rows kommun ms", "prop"),
    ("filter_rows organ ms", "prop"),
    ("filter_rows year ms", "prop"),
    ("filter_rows kommun+organ+year ms", "prop"),
    ("filter_rows dnr ms", "prop"),
    ("filter_rows kommun rows / N", "flat"),
    ("filter_rows organ rows / N", "flat"),
    ("filter_rows year rows / N", "flat"),
    ("filter_rows kommun+organ+year rows / N", "flat"),
    ("mask scores by kommun ms", "prop"),
    ("mask scores by organ ms", "prop"),
    ("mask scores by year ms", "prop"),
    ("set(allowed) organ ms", "prop"),
    ("rows_with_dnr ms", "prop"),
    ("rows_with_dnr: dnr_key part ms", "prop"),
    ("rows_with_dnr: mentions LIKE part ms", "prop"),
    ("proto mentions table lookup ms", "flat"),
    ("rows_with_paragraf ms", "prop"),
    ("chunks(10 rows) ms", "flat"),
    ("proto columns mask kommun ms", "prop"),
    ("proto columns mask organ ms", "prop"),
    ("proto columns mask kommun+organ+year ms", "prop"),
    ("section", "lexical half of a search, end to end (ms p50 / p95): today, then prototypes"),
    ("path filter=none: today ms", "prop"),
    ("path filter=none: proto kernel ms", "prop"),
    ("mmap proto kernel lexical total ms", "prop"),
    ("path filter=kommun: today ms", "prop"),
    ("path filter=kommun: proto kernel ms", "prop"),
    ("path filter=kommun: proto kommun row range ms", "prop"),
    ("path filter=organ: today ms", "prop"),
    ("path filter=organ: proto kernel ms", "prop"),
    ("path filter=year: today ms", "prop"),
    ("path filter=year: proto kernel ms", "prop"),
    ("path filter=kommun+organ+year: today ms", "prop"),
    ("path filter=kommun+organ+year: proto kernel ms", "prop"),
]


def report(work: Path) -> None:
    results: dict[int, dict] = {}
    for folder in sorted(work.glob("n*")):
        merged = {}
        for name in ("build.json", "measure.json", "measure-mmap.json"):
            if (folder / name).is_file():
                merged.update(json.loads((folder / name).read_text(encoding="utf-8")))
        if merged:
            results[int(folder.name[1:])] = merged
    if not results:
        print(f"no results in {work}")
        return
    ns = sorted(results)
    header = f"{'':58}" + "".join(f"{f'{n / 1e6:g} M':>20}" for n in ns) + f"{'10 M projected':>20}  model"
    print(header)
    for key, model in ROWS:
        if key == "section":
            print(f"-- {model}")
            continue
        values = [results[n].get(key) for n in ns]
        if all(v is None for v in values):
            continue
        cells = [_cell(v) for v in values]
        projected = _project(ns, values, model)
        print(f"{key:58}" + "".join(f"{c:>20}" for c in cells) + f"{_cell(projected):>20}  {model}")
    for n in ns:
        notes = {
            k: v
            for k, v in results[n].items()
            if k.endswith("same top-100") or k.startswith(("load average", "source", "clock"))
        }
        notes["kommun rows contiguous"] = results[n].get("proto kommun rows contiguous")
        print(f"{n / 1e6:g} M: " + "; ".join(f"{k} {_cell(v)}" for k, v in sorted(notes.items())))


def _cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, dict):
        return f"{_num(value['p50'])} / {_num(value['p95'])}"
    if isinstance(value, str):
        return value
    return _num(value)


def _num(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 0.01:
        return f"{value:.3g}"
    return f"{value:.2e}"


def _project(ns: list[int], values: list, model: str):
    """`linear`: a + b·N through the smallest and largest N (sizes, memory, counts: deterministic);
    `prop`: proportional to N from the largest N (timings: a line through two noisy points would magnify
    their noise ninefold); `flat`: the largest measured."""
    points = [(n, v) for n, v in zip(ns, values) if v is not None and not isinstance(v, str)]
    if not points:
        return None
    if isinstance(points[0][1], dict):
        return {q: _project([n for n, _ in points], [v[q] for _, v in points], model) for q in ("p50", "p95")}
    if model == "flat":
        return max(v for _, v in points)
    (n1, v1), (n2, v2) = points[0], points[-1]
    if model == "prop" or n1 == n2:
        return v2 * TARGET / n2
    return v1 + (v2 - v1) / (n2 - n1) * (TARGET - n1)


if __name__ == "__main__":
    main()

"""The whole index at millions of chunks: publish, start, search, Dnr lookups, then 1,000 documents added.

    .venv/bin/python bench/scale.py [--n 1000000] [--add 1000] [--work /tmp/protokollsok-scale]

Records come from bench/synthetic.py (real-looking chunks: kommuner, organ, dates, Dnr, §). Everything runs
through the project's own code: `build.publish` for the index, `Searcher` for search (query embedding by
the real model included), `build.append` for the added documents. Only the chunks' vectors are not the
model's: encoding millions of chunks would take days on two cores (the model's throughput is measured and
reported instead), so each chunk gets a vector mixed from the sample's real e5 vectors by its text hash,
shaped like real ones for the vector index. Figures: wall seconds, peak RSS of this process, disk.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import random
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from protokollsok.indexes.analyzer import Analyzer
from protokollsok.indexes.build import append, publish
from protokollsok.indexes.embed import Embedder
from protokollsok.indexes.metadata import Filters
from protokollsok.indexes.search import Searcher, one_thread_per_query
from protokollsok.indexes.store import Store
from protokollsok.indexes.synonyms import DEFAULT, Synonyms
from protokollsok.indexes.vectors import Vectors
from protokollsok.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "eval" / "dev.jsonl"


class SampledEmbedder:
    """The real model for queries and identity; chunk vectors mixed from the sample's e5 vectors."""

    def __init__(self, real: Embedder, basis: np.ndarray):
        self.real, self.basis = real, basis
        self.model_id, self.model_path, self.dimension = real.model_id, real.model_path, real.dimension
        self.encoded = 0

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        self.encoded += len(texts)
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            rng = np.random.default_rng(int(hashlib.blake2b(text.encode(), digest_size=8).hexdigest(), 16))
            picks = rng.choice(len(self.basis), 3, replace=False)
            vector = rng.dirichlet(np.ones(3)).astype(np.float32) @ self.basis[picks]
            vector += rng.normal(0, 0.01, self.dimension).astype(np.float32)
            out[i] = vector / np.linalg.norm(vector)
        return out

    def encode_query(self, query: str) -> np.ndarray:
        return self.real.encode_query(query)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--add", type=int, default=1_000, help="documents added afterwards")
    parser.add_argument("--work", type=Path, default=Path("/tmp/protokollsok-scale"))
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--search-only", action="store_true", help="measure search on the index --work already holds")
    args = parser.parse_args()
    figures: dict[str, object] = {"chunks": args.n}
    settings = Settings.load()
    real = Embedder(settings.model)
    basis = Vectors.load(Store(ROOT / "var" / "index").current().path).vectors_of(np.arange(800))
    embedder, analyzer = SampledEmbedder(real, basis), Analyzer()
    root = args.work / f"n{args.n}"
    store = Store(root)
    pool = synthetic.Pool.load()
    if not args.search_only:
        shutil.rmtree(root, ignore_errors=True)
        started = time.perf_counter()
        entries = list(synthetic.entries(args.n, seed=13, pool=pool))
        figures["generate s"] = time.perf_counter() - started
        started = time.perf_counter()
        with store.writing():
            version = publish(store, entries, embedder, analyzer, "scale", keep=2)
        figures["publish s"] = time.perf_counter() - started
        figures["publish peak RSS MiB"] = _peak()
        figures["disk MiB"] = _disk(version.path)
        figures["documents"] = len(entries)
        del entries

    started = time.perf_counter()
    one_thread_per_query()  # as the service answers queries
    searcher = Searcher(store.current(), embedder, analyzer, Synonyms.load(DEFAULT, analyzer))
    searcher.reader.read_ahead()  # as the service does when it starts or switches
    figures["start s"] = time.perf_counter() - started
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines() if line.strip()][
        : args.queries
    ]
    sample = searcher.reader.chunks(random.Random(7).sample(range(args.n), 50))
    filters = {
        "none": [Filters()] * len(questions),
        "kommun": [Filters(kommun=c["kommun"]) for c in sample],
        "organ": [Filters(organ=c["organ"]) for c in sample],
        "year": [
            Filters(date_from=f"{(c['date'] or '2020')[:4]}-01-01", date_to=f"{(c['date'] or '2020')[:4]}-12-31")
            for c in sample
        ],
    }
    for question in questions[:20]:  # page cache, first-touch faults
        searcher.search(searcher.read(question), 10)
    for name, chosen in filters.items():
        totals, parts = [], {"embed": [], "lexical": [], "dense": [], "fusion": []}
        for question, f in zip(questions, chosen * (len(questions) // len(chosen) + 1)):
            t0 = time.perf_counter()
            result = searcher.search(searcher.read(question), 10, f)
            totals.append(time.perf_counter() - t0)
            for part in parts:
                parts[part].append(getattr(result.timings, part))
        figures[f"search {name} ms p50/p95"] = _ms(totals)
        for part, values in parts.items():
            figures[f"  {part} {name} ms p50/p95"] = _ms(values)
    dnrs = [
        c["dnr_as_written"]
        for c in searcher.reader.chunks(random.Random(8).sample(range(args.n), 400))
        if c["dnr_as_written"]
    ][:50]
    lookups = []
    for dnr in dnrs:
        t0 = time.perf_counter()
        hits = searcher.search(searcher.read(dnr), 10).hits
        lookups.append(time.perf_counter() - t0)
        assert hits, dnr
    figures["Dnr search ms p50/p95"] = _ms(lookups)
    figures["serving RSS MiB"] = _rss()
    searcher.close()
    if args.search_only:
        return _report(figures, root / "search.json")
    torch.set_num_threads(os.cpu_count())  # ingest encodes on every core

    added = [_renamed(e) for e in itertools.islice(synthetic.entries(args.add * 300, seed=29, pool=pool), args.add)]
    chunks = sum(len(e.chunks) for e in added)
    before = embedder.encoded
    started = time.perf_counter()
    with store.writing():
        version = append(store, added, embedder, analyzer, f"add {args.add}", keep=2)
    figures[f"append {args.add} documents ({chunks} chunks) s"] = time.perf_counter() - started
    figures["append encoded chunks"] = embedder.encoded - before
    figures["after append chunks"] = version.manifest["chunks"]
    started = time.perf_counter()
    real.encode([synthetic_text for e in added[:3] for synthetic_text in (c.text for c in e.chunks)][:64])
    rate = 64 / (time.perf_counter() - started)
    figures["model chunks/s (real e5, measured)"] = rate
    figures[f"encoding {chunks} new chunks with the model, projected s"] = chunks / rate
    _report(figures, root / "figures.json")


def _report(figures: dict, out: Path) -> None:
    """Printed, and saved as `out`: figures.json for a whole run, search.json for --search-only, which
    leaves the whole run's figures alone."""
    for name, value in figures.items():
        print(f"{name:<55} {value if isinstance(value, str) else f'{value:,.1f}'}")
    out.write_text(json.dumps(figures, indent=1))


def _renamed(entry):
    """A new document id, so the added documents are new to the index."""
    from dataclasses import replace

    doc_id = f"{entry.document.doc_id}-tillagd"
    chunks = [
        replace(c, doc_id=doc_id, chunk_id=c.chunk_id.replace(entry.document.doc_id, doc_id)) for c in entry.chunks
    ]
    return type(entry)(replace(entry.document, doc_id=doc_id), chunks, entry.source_hash + "-tillagd")


def _ms(values: list[float]) -> str:
    return f"{1000 * np.percentile(values, 50):.1f} / {1000 * np.percentile(values, 95):.1f}"


def _peak() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


def _disk(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


if __name__ == "__main__":
    main()

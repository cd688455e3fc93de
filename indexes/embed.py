"""Text → normalised vectors with a sentence-transformers model loaded from a folder, never from a hub.

Queries and documents are encoded with the prompts the folder declares (`config_sentence_transformers.json`):
multilingual-e5 was trained with `query: ` and `passage: ` in front, MiniLM with none.

Vectors are cached by the hash of the text they encode, per model, in one SQLite file beside the index
versions, so re-ingesting an unchanged document, or adding one document to a large index, encodes only
what is new, and an ingest that was killed resumes where it stopped: the cache commits every ENCODE_BATCH
texts.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from tqdm import tqdm

# Texts encoded between commits, so a kill loses at most one batch: e5-small encoded 800 chunks in 29 s on
# 2 idle cores and in 106 s under contention (7.5 a second), so 256 is 9–34 s of work.
ENCODE_BATCH = 256
LOOKUP_BATCH = 65536


class Embedder:
    def __init__(self, model_dir: Path, batch_size: int = 32):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        if not logging.getLogger("protokollsok").isEnabledFor(logging.INFO):
            transformers_logging.disable_progress_bar()

        if not (model_dir / "config.json").is_file():
            raise FileNotFoundError(
                f"{model_dir}: not a sentence-transformers model folder (no config.json); "
                "set PROTOKOLLSOK_MODEL to the folder of a model saved with save_pretrained"
            )
        self.model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        self.model_path = model_dir
        self.query_prompt = self.model.prompts.get("query") or ""
        self.document_prompt = next((self.model.prompts[n] for n in ("document", "passage", "corpus") if self.model.prompts.get(n)), "")
        self.model_id = _model_id(model_dir, self.document_prompt, self.query_prompt)
        self.dimension = int(self.model.get_embedding_dimension())
        self.batch_size = batch_size
        self.encoded = 0

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Documents (chunks), with the document prompt."""
        self.encoded += len(texts)
        return self._encode(texts, self.document_prompt, progress)

    def encode_query(self, query: str) -> np.ndarray:
        return self._encode([query], self.query_prompt, False)[0]

    def _encode(self, texts: list[str], prompt: str, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            prompt=prompt,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class EmbeddingCache:
    """Vectors by (model, text hash) in SQLite. `ensure` encodes what is missing and `batches` streams the
    vectors back in a given order, so an index of millions of chunks never holds all of them as float32."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT, hash TEXT, vector BLOB, PRIMARY KEY (model, hash))"
        )
        self.db.execute("CREATE TEMP TABLE wanted (position INTEGER PRIMARY KEY, hash TEXT)")

    def encode(self, embedder: Embedder, texts: list[str], progress: bool = False) -> np.ndarray:
        """All vectors of `texts` as one array: for small sets; an index build uses `ensure` and `batches`."""
        self.ensure(embedder, texts, progress)
        hashes = [text_hash(t) for t in texts]
        parts = list(self.batches(embedder.model_id, hashes))
        return np.concatenate(parts) if parts else np.zeros((0, embedder.dimension), dtype=np.float32)

    def ensure(self, embedder: Embedder, texts: list[str], progress: bool = False) -> int:
        """Encode and store the texts not cached yet; returns how many were encoded. Stored ENCODE_BATCH at a
        time, so an interrupted build of a large corpus resumes where it stopped; with `progress` it says at
        the start how many are cached already (and draws a bar on a terminal)."""
        by_hash = {text_hash(t): t for t in texts}
        missing = self._missing(embedder.model_id, list(by_hash))
        if progress and missing:
            print(
                f"embedding: {len(by_hash) - len(missing)} of {len(by_hash)} chunk texts already in the cache, "
                f"{len(missing)} to encode",
                file=sys.stderr,
                flush=True,
            )
        bar = tqdm(total=len(missing), unit="text", disable=None if progress and missing else True)
        for i in range(0, len(missing), ENCODE_BATCH):
            batch = missing[i : i + ENCODE_BATCH]
            vectors = embedder.encode([by_hash[h] for h in batch])
            self.db.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                [(embedder.model_id, h, v.tobytes()) for h, v in zip(batch, vectors)],
            )
            self.db.commit()
            bar.update(len(batch))
        bar.close()
        return len(missing)

    def batches(self, model_id: str, hashes: list[str], size: int = 65536) -> Iterator[np.ndarray]:
        """The vectors of `hashes`, in that order, `size` rows at a time; a hash not cached is an error."""
        for start in range(0, len(hashes), size):
            batch = hashes[start : start + size]
            self._want(batch)
            rows = self.db.execute(
                "SELECT wanted.position, vectors.vector FROM wanted JOIN vectors "
                "ON vectors.model = ? AND vectors.hash = wanted.hash",
                [model_id],
            ).fetchall()
            if len(rows) < len(batch):
                found = {position for position, _ in rows}
                absent = next(h for i, h in enumerate(batch) if i not in found)
                raise KeyError(f"no vector cached for text {absent} with model {model_id}")
            positions = np.fromiter((position for position, _ in rows), dtype=np.int64, count=len(rows))
            vectors = np.frombuffer(b"".join(blob for _, blob in rows), dtype=np.float32).reshape(len(rows), -1)
            out = np.empty_like(vectors)
            out[positions] = vectors
            yield out

    def forget(self, keep: set[str]) -> None:
        """Drop vectors of texts no longer in any kept version (a removed record leaves nothing behind)."""
        stored = [row[0] for row in self.db.execute("SELECT DISTINCT hash FROM vectors")]
        self.db.executemany("DELETE FROM vectors WHERE hash = ?", [(h,) for h in stored if h not in keep])
        self.db.commit()

    def _missing(self, model_id: str, hashes: list[str]) -> list[str]:
        """The hashes without a cached vector, in order: one join per LOOKUP_BATCH, not a query per hash."""
        out: list[str] = []
        for start in range(0, len(hashes), LOOKUP_BATCH):
            self._want(hashes[start : start + LOOKUP_BATCH])
            found = self.db.execute(
                "SELECT hash FROM wanted WHERE NOT EXISTS "
                "(SELECT 1 FROM vectors WHERE model = ? AND hash = wanted.hash) ORDER BY position",
                [model_id],
            )
            out += [row[0] for row in found]
        return out

    def _want(self, hashes: list[str]) -> None:
        self.db.execute("DELETE FROM wanted")
        self.db.executemany("INSERT INTO wanted VALUES (?, ?)", enumerate(hashes))

    def close(self) -> None:
        self.db.close()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _model_id(model_dir: Path, *prompts: str) -> str:
    """Identifies the model by its weights' size, config and prompts, so a swapped model or prompt never
    reuses old vectors."""
    digest = hashlib.sha256((model_dir / "config.json").read_bytes())
    digest.update("\0".join(prompts).encode())
    for weights in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return digest.hexdigest()[:16]

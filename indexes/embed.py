"""Text → normalised vectors with a sentence-transformers model loaded from a folder, never from a hub.

Queries and documents are encoded with the prompts the folder declares (`config_sentence_transformers.json`):
multilingual-e5 was trained with `query: ` and `passage: ` in front, MiniLM with none.

Vectors are cached by the hash of the text they encode, per model, in one SQLite file beside the index
versions, so re-ingesting an unchanged document, or adding one document to a large index, encodes only
what is new.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
from pathlib import Path

import numpy as np


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
    """Vectors by (model, text hash) in SQLite; `encode` fills what is missing through the embedder."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT, hash TEXT, vector BLOB, PRIMARY KEY (model, hash))"
        )

    def encode(self, embedder: Embedder, texts: list[str], progress: bool = False) -> np.ndarray:
        hashes = [text_hash(t) for t in texts]
        known = self._lookup(embedder.model_id, set(hashes))
        missing = sorted({h: t for h, t in zip(hashes, texts) if h not in known}.items())
        if missing:
            vectors = embedder.encode([t for _, t in missing], progress=progress)
            rows = [(embedder.model_id, h, v.tobytes()) for (h, _), v in zip(missing, vectors)]
            self.db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)
            self.db.commit()
            known.update({h: v for (h, _), v in zip(missing, vectors)})
        out = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
        for i, h in enumerate(hashes):
            out[i] = known[h]
        return out

    def forget(self, keep: set[str]) -> None:
        """Drop vectors of texts no longer in any kept version (a removed record leaves nothing behind)."""
        stored = [row[0] for row in self.db.execute("SELECT DISTINCT hash FROM vectors")]
        self.db.executemany("DELETE FROM vectors WHERE hash = ?", [(h,) for h in stored if h not in keep])
        self.db.commit()

    def _lookup(self, model_id: str, hashes: set[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        wanted = list(hashes)
        for i in range(0, len(wanted), 500):
            batch = wanted[i : i + 500]
            marks = ",".join("?" * len(batch))
            for h, blob in self.db.execute(
                f"SELECT hash, vector FROM vectors WHERE model = ? AND hash IN ({marks})", [model_id, *batch]
            ):
                found[h] = np.frombuffer(blob, dtype=np.float32)
        return found

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

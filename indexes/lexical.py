"""Lexical part of an index version: BM25 (bm25s, Lucene variant) over the Swedish analyser's tokens.

Scores are precomputed per token at build time, so a query is a lookup and a sum over its tokens.
Length normalisation is softer than Lucene's default (b 0.6, not 0.75): every chunk carries its unit's
title, §, Dnr and section in front of its text, so with full normalisation a short chunk that is little
more than that header outranks the paragraph that answers (eval/dev.jsonl: MRR@10 0.609 → 0.627 lexical).
"""

from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np

FOLDER = "lexical"
K1 = 1.2
B = 0.6


class Lexical:
    def __init__(self, retriever: bm25s.BM25):
        self.retriever = retriever
        self.vocabulary: dict[str, int] = retriever.vocab_dict

    @classmethod
    def build(cls, documents: list[list[str]]) -> "Lexical":
        retriever = bm25s.BM25(method="lucene", k1=K1, b=B)
        retriever.index([tokens or [""] for tokens in documents], show_progress=False)
        return cls(retriever)

    @classmethod
    def load(cls, folder: Path) -> "Lexical":
        return cls(bm25s.BM25.load(str(folder / FOLDER)))

    def save(self, folder: Path) -> None:
        self.retriever.save(str(folder / FOLDER))

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk; tokens the index never saw add nothing."""
        ids = [self.vocabulary[t] for t in tokens if t in self.vocabulary]
        if not ids:
            return np.zeros(self.retriever.scores["num_docs"], dtype=np.float32)
        return self.retriever.get_scores_from_ids(ids)

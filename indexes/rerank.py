"""A site's own reader, off by default: a sentence-transformers cross-encoder that reads the question beside each
of the top candidates and scores how well the passage answers it.

`PROTOKOLLSOK_READER` names the folder; nothing is downloaded. Search (search.py) reranks its top
`reader_candidates` by the recipe's mix of this score and the fused one, and evidence (service/evidence.py)
takes the score as one more check. No reader helped here (issue 20: a cross-encoder trained from e5 on dev
separated answers from near misses with an AUC of 0.40–0.54), so this exists for a site with a better one to
plug it in and measure it with `protokollsok eval … --ask`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

SETTING = "PROTOKOLLSOK_READER"


class Reranker:
    def __init__(self, folder: Path):
        _require_cross_encoder(folder)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import CrossEncoder

        self.model = CrossEncoder(str(folder), device="cpu", local_files_only=True)
        self.folder = folder

    def scores(self, question: str, passages: list[str]) -> np.ndarray:
        """Each passage's score for the question, 0–1 (the model's sigmoid): one batch, no progress bar."""
        if not passages:
            return np.zeros(0)
        pairs = [(question, passage) for passage in passages]
        return np.asarray(self.model.predict(pairs, batch_size=len(pairs), show_progress_bar=False), dtype=np.float64)


def _require_cross_encoder(folder: Path) -> None:
    """A folder that is not a one-score cross-encoder would load with an untrained head and score at random:
    refused here, with what to do."""
    config = folder / "config.json"
    if not config.is_file():
        raise FileNotFoundError(
            f"{SETTING}={folder}: no config.json there; set it to a sentence-transformers cross-encoder folder "
            "(one saved with CrossEncoder.save), or unset it to rank without a reader"
        )
    try:
        data = json.loads(config.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{SETTING}={folder}: {config} is not readable JSON ({error}); save the model again") from None
    architectures = data.get("architectures") or []
    classifier = any(str(name).endswith("ForSequenceClassification") for name in architectures)
    if not classifier and _declared_type(folder) != "CrossEncoder":
        raise ValueError(
            f"{SETTING}={folder}: {config} declares {', '.join(architectures) or 'no architecture'}, not a "
            "cross-encoder (…ForSequenceClassification, or a folder CrossEncoder.save wrote); an embedding model "
            f"belongs in PROTOKOLLSOK_MODEL. Set {SETTING} to a cross-encoder folder, or unset it"
        )
    labels = len(data.get("id2label") or {}) or int(data.get("num_labels", 1))
    if classifier and labels != 1:
        raise ValueError(
            f"{SETTING}={folder}: {config} gives {labels} scores per pair; the reader needs one relevance "
            f"score (num_labels 1). Set {SETTING} to such a cross-encoder, or unset it"
        )


def _declared_type(folder: Path) -> str:
    """The model type sentence-transformers wrote beside the model (`CrossEncoder`, `SentenceTransformer`)."""
    try:
        return str(json.loads((folder / "config_sentence_transformers.json").read_text()).get("model_type", ""))
    except (OSError, json.JSONDecodeError, AttributeError):
        return ""

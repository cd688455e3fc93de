"""The embedding model is a folder: another model, with another dimension and window, works end to end."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import faiss
import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer import modules

from protokollsok.cli import main
from protokollsok.indexes.metadata import Metadata
from protokollsok.indexes.store import Store
from protokollsok.indexes.vectors import FILE
from protokollsok.ingest.chunk import Limits
from protokollsok.ingest.tokens import counter
from samples import TEXT

DIMENSION, WINDOW = 96, 128
PROTOKOLL = TEXT + """
§ 226 Dnr 2023-00651

Riktlinjer för användning av AI

Kommunstyrelsens beslut
Kommunstyrelsen antar riktlinjer för hur medarbetare får använda generativ AI i sitt arbete.
"""


@pytest.fixture(scope="module")
def other_model(tmp_path_factory, embedder) -> Path:
    """The bundled model with a projection to 96 dimensions and a 128-token window, saved as its own folder."""
    transformer, pooling = copy.deepcopy(embedder.model[0]), copy.deepcopy(embedder.model[1])
    torch.manual_seed(0)
    dense = modules.Dense(pooling.get_embedding_dimension(), DIMENSION, activation_function=torch.nn.Identity())
    model = SentenceTransformer(modules=[transformer, pooling, dense, modules.Normalize()], device="cpu")
    model.max_seq_length = WINDOW
    folder = tmp_path_factory.mktemp("model") / "other"
    model.save(str(folder))
    return folder


def test_other_model_folder_indexes_and_searches(other_model, tmp_path, capsys):
    assert counter(other_model).window == WINDOW
    record = tmp_path / "kalix-kommunstyrelsen-protokoll-2023-12-11.txt"
    record.write_text(PROTOKOLL, encoding="utf-8")
    index = tmp_path / "index"
    assert main(["ingest", str(record), "--index", str(index), "--model", str(other_model)]) == 0

    version = Store(index).current()
    assert faiss.read_index(str(version.path / FILE)).d == DIMENSION
    meta = Metadata.load(version.path)
    chunks = [c for _, cs, _ in meta.documents() for c in cs]
    meta.close()
    assert chunks and max(c.model_tokens for c in chunks) <= Limits().model_budget(WINDOW)

    capsys.readouterr()
    assert main(["search", "dnr 2023/651", "--index", str(index), "--model", str(other_model), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)["hits"][0]
    assert (first["paragraf"], first["dnr"]) == ("§ 226", "2023-00651")


def test_index_built_with_one_model_is_not_searched_with_another(other_model, corpus_index, capsys):
    code = main(["search", "budget", "--index", str(corpus_index), "--model", str(other_model), "--json"])
    assert code != 0
    assert "built with model" in capsys.readouterr().err

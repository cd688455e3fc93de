"""Shared fixtures: the sample corpus, the bundled model (loaded once per session) and a real index of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from protokollsok.indexes.analyzer import Analyzer
from protokollsok.indexes.build import Entry, publish
from protokollsok.indexes.embed import Embedder, text_hash
from protokollsok.indexes.store import Store
from protokollsok.ingest.pipeline import ingest_file
from protokollsok.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
MAX_BYTES = 200 * 2**20


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.load()


@pytest.fixture(scope="session")
def model_dir(settings) -> Path:
    return settings.model


@pytest.fixture(scope="session")
def embedder(model_dir) -> Embedder:
    return Embedder(model_dir)


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    return Analyzer()


@pytest.fixture(scope="session")
def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.txt"))


@pytest.fixture(scope="session")
def ingested(corpus_files, model_dir):
    """Each sample record through the ingestion pipeline, by document id."""
    return {path.stem: ingest_file(path, model_dir, MAX_BYTES) for path in corpus_files}


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory, ingested, embedder, analyzer) -> Path:
    """A published index of the sample corpus on disk; tests that change an index copy it first."""
    root = tmp_path_factory.mktemp("index")
    store = Store(root)
    entries = [Entry(i.document, i.chunks, text_hash(i.document.text)) for i in ingested.values()]
    with store.writing():
        publish(store, entries, embedder, analyzer, "sample corpus", keep=5)
    return root


@pytest.fixture
def index_copy(corpus_index, tmp_path) -> Path:
    target = tmp_path / "index"
    shutil.copytree(corpus_index, target, symlinks=True)
    return target

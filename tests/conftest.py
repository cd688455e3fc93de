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
CASES = Path(__file__).resolve().parent / "cases"  # synthetic records of case timelines (tests/test_cases.py)
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


def start_server(app) -> tuple[str, object]:
    """Runs a Litestar app with uvicorn on a free loopback port in a thread; returns its URL and the server."""
    import socket
    import threading
    import time

    import uvicorn

    from protokollsok.service.app import server_config

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(server_config(app, "127.0.0.1", port))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def live_index(root: Path, embedder, analyzer):
    from protokollsok.indexes.backend import FileBackend
    from protokollsok.indexes.synonyms import DEFAULT, Synonyms
    from protokollsok.service.live import LiveIndex

    return LiveIndex(FileBackend(root), embedder, analyzer, Synonyms.load(DEFAULT, analyzer))


def serve_index(root: Path, embedder, analyzer) -> tuple[str, object]:
    """The real service on a loopback port, serving the index at `root` (no API keys)."""
    from protokollsok.service.access import Access
    from protokollsok.service.app import create_app

    settings = Settings.load(index=str(root))
    return start_server(create_app(settings, live_index(root, embedder, analyzer), Access([])))


@pytest.fixture(scope="session")
def live_server(corpus_index, embedder, analyzer):
    """The service serving the sample corpus index."""
    url, server = serve_index(corpus_index, embedder, analyzer)
    yield url
    server.should_exit = True


@pytest.fixture(scope="session")
def case_index(tmp_path_factory, model_dir, embedder, analyzer) -> Path:
    """An index of the synthetic Exempelby records in tests/cases/ alone (about 30 chunks)."""
    root = tmp_path_factory.mktemp("case-index")
    entries = []
    for path in sorted(CASES.glob("*.txt")):
        ingested = ingest_file(path, model_dir, MAX_BYTES)
        entries.append(Entry(ingested.document, ingested.chunks, text_hash(ingested.document.text)))
    store = Store(root)
    with store.writing():
        publish(store, entries, embedder, analyzer, "Exempelby cases", keep=2)
    return root


@pytest.fixture(scope="session")
def case_server(case_index, embedder, analyzer):
    """The service serving the Exempelby case index."""
    url, server = serve_index(case_index, embedder, analyzer)
    yield url
    server.should_exit = True

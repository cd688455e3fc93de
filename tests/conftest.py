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


@pytest.fixture(scope="session")
def live_server(corpus_index, embedder, analyzer):
    """The real service on a loopback port, serving the sample corpus index (no API keys)."""
    from protokollsok.service.access import Access
    from protokollsok.service.app import create_app

    settings = Settings.load(index=str(corpus_index))
    url, server = start_server(create_app(settings, live_index(corpus_index, embedder, analyzer), Access([])))
    yield url
    server.should_exit = True

"""Bad luck, for real: a full disk (a small tmpfs, mounted as root), an ingest killed with SIGKILL while it
encodes, commands racing for the write lock, and the same folder ingested from another working directory."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from conftest import CORPUS, live_index, start_server
from protokollsok.cli import main
from protokollsok.indexes.build import CACHE, current_entries, publish
from protokollsok.indexes.embed import ENCODE_BATCH
from protokollsok.indexes.store import Store
from protokollsok.service.access import Access
from protokollsok.service.app import create_app
from protokollsok.service.querylog import NOT_STORED
from protokollsok.settings import Settings
from samples import TEXT

KALIX = "kalix-kommunstyrelsen-protokoll-2023-12-11"
KALLELSE = "kalix-kommunstyrelsen-kallelse-2025-12-15"


@pytest.fixture
def small_disk(tmp_path):
    """A 30 MB tmpfs that a test can fill; skipped where mounting is not permitted (not root, a container)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=30m", "tmpfs", str(disk)], capture_output=True, text=True
        )
    except FileNotFoundError:
        pytest.skip("no mount command here, so no small disk to fill")
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here (needs root): {mounted.stderr.strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(disk: Path) -> Path:
    """Writes a file until the disk refuses another byte; returns it, so the test can free the space."""
    fill = disk / "fill"
    fd = os.open(fill, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (2**20, 4096, 1):
            try:
                while os.write(fd, b"\0" * size):
                    pass
            except OSError as error:
                assert error.errno == errno.ENOSPC
    finally:
        os.close(fd)
    assert shutil.disk_usage(disk).free < 4096
    return fill


def test_a_full_disk_keeps_search_and_ask_answering_and_health_says_so(small_disk, corpus_index, embedder, analyzer):
    index = small_disk / "index"
    shutil.copytree(corpus_index, index, symlinks=True)
    settings = Settings.load(index=str(index), min_free_mb=5)
    url, server = start_server(create_app(settings, live_index(index, embedder, analyzer), Access([])))
    try:
        healthy = httpx.get(f"{url}/api/health", timeout=60)
        assert healthy.status_code == 200 and healthy.json()["status"] == "ok"
        fill = _fill(small_disk)

        search = httpx.get(f"{url}/api/search", params={"q": "e-handel"}, timeout=60)
        assert search.status_code == 200 and search.json()["hits"]
        assert search.json()["trace_id"].startswith(NOT_STORED) and search.headers["x-trace-id"] == search.json()["trace_id"]
        ask = httpx.post(f"{url}/api/ask", json={"question": "Vad beslutade kommunstyrelsen om e-handel?"}, timeout=60)
        assert ask.status_code == 200 and ask.json()["trace_id"].startswith(NOT_STORED)

        degraded = httpx.get(f"{url}/api/health", timeout=60)
        assert degraded.status_code == 503
        body = degraded.json()
        assert body["status"] == "degraded" and body["query_log_writable"] is False
        assert body["query_log_failures"] == 2 and body["free_disk_mb"] == 0

        fill.unlink()
        stored = httpx.get(f"{url}/api/search", params={"q": "e-handel"}, timeout=60).json()["trace_id"]
        assert not stored.startswith(NOT_STORED)
        recovered = httpx.get(f"{url}/api/health", timeout=60)
        assert recovered.status_code == 200 and recovered.json()["query_log_writable"] is True
    finally:
        server.should_exit = True


def test_an_ingest_on_a_full_disk_names_the_folder_and_the_space_and_leaves_nothing(small_disk, corpus_index, tmp_path, capsys):
    index = small_disk / "index"
    shutil.copytree(corpus_index, index, symlinks=True)
    before = Store(index).current().name
    added = tmp_path / "kalix-kommunstyrelsen-protokoll-2024-03-11.txt"
    added.write_text(TEXT, encoding="utf-8")
    _fill(small_disk)
    capsys.readouterr()

    assert main(["ingest", str(added), "--index", str(index)]) == 2
    err = capsys.readouterr().err
    assert f"{index}: the disk is full" in err and "needs about" in err and " MB there" in err
    assert "Traceback" not in err and "RuntimeError" not in err
    assert not list((index / "versions").glob(".building-*"))
    assert Store(index).current().name == before


def _cached(index: Path) -> int:
    try:
        with sqlite3.connect(f"file:{index / CACHE}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT count(*) FROM vectors").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_an_ingest_killed_while_encoding_resumes_from_the_cache(tmp_path, capsys):
    """297 chunks: the first ENCODE_BATCH are committed, the process is killed with SIGKILL, and the next
    ingest encodes only the rest and removes the half-built folder the kill left."""
    records = tmp_path / "handlingar"
    records.mkdir()
    for name in (KALIX, KALLELSE):
        shutil.copy(CORPUS / f"{name}.txt", records)
    index = tmp_path / "index"
    ingest = subprocess.Popen(
        [sys.executable, "-c", "import sys; from protokollsok.cli import main; sys.exit(main(sys.argv[1:]))",
         "ingest", str(records), "--index", str(index)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        while _cached(index) < ENCODE_BATCH:
            assert ingest.poll() is None, "the ingest ended before anything was committed to the cache"
            time.sleep(0.2)
        os.kill(ingest.pid, signal.SIGKILL)
    finally:
        ingest.kill()
        ingest.wait()
    cached = _cached(index)
    assert ENCODE_BATCH <= cached < 297
    assert list((index / "versions").glob(".building-*")), "the kill left its half-built version"
    capsys.readouterr()

    assert main(["ingest", str(records), "--index", str(index)]) == 0
    err = capsys.readouterr().err
    assert f"embedding: {cached} of 297 chunk texts already in the cache, {297 - cached} to encode" in err
    version = Store(index).current()
    assert version.manifest["encoded"] == 297 - cached and version.manifest["chunks"] == 297
    assert not list((index / "versions").glob(".building-*"))


def _second_version(index: Path, embedder, analyzer) -> None:
    store = Store(index)
    with store.writing():
        publish(store, current_entries(store), embedder, analyzer, "again", keep=5)


def test_rollback_waits_for_a_running_ingest_and_is_not_undone_by_its_publish(index_copy, embedder, analyzer, capsys):
    _second_version(index_copy, embedder, analyzer)  # v0001 and v0002, v0002 current
    store = Store(index_copy)
    done: list[int] = []
    with store.writing("ingest"):
        capsys.readouterr()
        assert main(["rollback", "1", "--no-wait", "--index", str(index_copy)]) == 2
        assert f"another ingest is running (pid {os.getpid()}); nothing was changed" in capsys.readouterr().err

        waiting = threading.Thread(target=lambda: done.append(main(["rollback", "1", "--index", str(index_copy)])))
        waiting.start()
        deadline = time.monotonic() + 30
        err = ""
        while f"waiting for another ingest to finish (pid {os.getpid()})" not in err:
            assert time.monotonic() < deadline, "rollback did not say it waits"
            time.sleep(0.1)
            err += capsys.readouterr().err
        assert store.current().name == "v0002" and not done
        publish(store, current_entries(store), embedder, analyzer, "the ingest publishes", keep=5)  # v0003
    waiting.join(timeout=60)
    assert done == [0] and store.current().name == "v0001"
    assert "v0001 is current" in capsys.readouterr().out


def test_remove_and_ingest_wait_for_the_lock_too(index_copy, capsys):
    with Store(index_copy).writing("rollback"):
        capsys.readouterr()
        assert main(["remove", KALIX, "--yes", "--no-wait", "--index", str(index_copy)]) == 2
        assert main(["ingest", str(CORPUS / f"{KALIX}.txt"), "--no-wait", "--index", str(index_copy)]) == 2
        err = capsys.readouterr().err
        assert err.count(f"another rollback is running (pid {os.getpid()})") == 2


def test_a_changed_file_is_the_same_record_from_any_working_directory(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "handlingar"
    folder.mkdir()
    record = folder / "kalix-kommunstyrelsen-protokoll-2024-03-11.txt"
    record.write_text(TEXT, encoding="utf-8")
    index = tmp_path / "index"
    monkeypatch.chdir(tmp_path)
    assert main(["ingest", "handlingar", "--index", str(index)]) == 0

    record.write_text(TEXT + "\nKommunstyrelsen beslutar även att anta tillägget.\n", encoding="utf-8")
    monkeypatch.chdir(folder)
    capsys.readouterr()
    assert main(["ingest", str(record), "--index", str(index)]) == 0
    out = capsys.readouterr().out
    assert "1 document(s) added or replaced, 1 documents" in out

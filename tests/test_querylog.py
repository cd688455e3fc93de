"""The query log: what was asked, what was shown, by which index; masked, beside the index, kept only so long."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from protokollsok.service.personnummer import MASK
from protokollsok.service.querylog import LogEntry, QueryLog, default_path

PNR_DIGITS = "8507099805"  # valid date and control digit
NOW = datetime(2025, 12, 15, 10, 30, tzinfo=UTC)


@pytest.fixture
def log(tmp_path: Path):
    log = QueryLog.open(default_path(tmp_path / "var" / "index"), retention_days=30)
    yield log
    log.close()


def test_the_log_lies_beside_the_index_folder(tmp_path):
    index_root = tmp_path / "var" / "index"
    index_root.mkdir(parents=True)
    path = default_path(index_root)
    assert path == tmp_path / "var" / "querylog.sqlite"
    QueryLog.open(path, retention_days=30).close()
    assert path.is_file() and list(index_root.iterdir()) == []


def test_record_and_get_round_trip(log):
    trace = log.record(
        "ask",
        "Vad kostar kopiorna?",
        {"kommun": "Kalix", "years": [2023, 2024]},
        ["kalix-2023-12-11#12", "kalix-2023-12-11#13"],
        "20251215T103000-ab12",
        True,
        now=NOW,
    )
    assert len(trace) == 32 and int(trace, 16) >= 0
    assert log.get(trace) == LogEntry(
        trace_id=trace,
        time=NOW,
        kind="ask",
        question="Vad kostar kopiorna?",
        filters={"kommun": "Kalix", "years": [2023, 2024]},
        sources=["kalix-2023-12-11#12", "kalix-2023-12-11#13"],
        index_version="20251215T103000-ab12",
        answered=True,
    )


def test_each_record_gets_its_own_trace_and_answered_may_be_unknown(log):
    first = log.record("search", "bygglov", {}, [], "v1", None)
    second = log.record("search", "bygglov", {}, [], "v1", False)
    assert first != second
    assert log.get(first).answered is None and log.get(second).answered is False
    assert log.get("0" * 32) is None


def test_unknown_kind_refused(log):
    with pytest.raises(ValueError, match="kind"):
        log.record("chat", "hej", {}, [], "v1", None)


@pytest.mark.parametrize("spelling", ["850709-9805", "19850709-9805", "8507099805", "850709 9805"])
def test_personnummer_never_reaches_the_file(tmp_path, spelling):
    path = tmp_path / "querylog.sqlite"
    log = QueryLog.open(path, retention_days=30)
    trace = log.record(
        "ask",
        f"Vilka beslut gäller {spelling}?",
        {"person": spelling, "nested": {"ids": [spelling]}},
        ["norsjo-2025-02-25#4"],
        "v1",
        False,
    )
    entry = log.get(trace)
    log.close()
    assert entry.question == f"Vilka beslut gäller {MASK}?"
    assert entry.filters == {"person": MASK, "nested": {"ids": [MASK]}}
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for needle in {spelling, PNR_DIGITS, PNR_DIGITS[:6]}:  # not the last four: a random trace id may hold them
        assert needle.encode() not in raw


def test_purge_removes_old_rows_and_keeps_new(log):
    log.purge(now=NOW)  # so that recording at NOW does not purge on its own
    old = log.record("search", "gammal fråga", {}, [], "v1", None, now=NOW - timedelta(days=31))
    edge = log.record("search", "precis inom", {}, [], "v1", None, now=NOW - timedelta(days=29, hours=23))
    new = log.record("ask", "ny fråga", {}, [], "v2", True, now=NOW)
    assert log.purge(now=NOW) == 1
    assert log.get(old) is None and log.get(edge) is not None and log.get(new) is not None
    assert log.purge(now=NOW) == 0


def test_record_purges_once_a_day(log):
    old = log.record("search", "gammal", {}, [], "v1", None, now=NOW - timedelta(days=40))
    log.purge(now=NOW - timedelta(days=50))  # last purge long ago, nothing old enough then
    assert log.get(old) is not None
    log.record("search", "ny", {}, [], "v1", None, now=NOW)
    assert log.get(old) is None


def test_retention_enforced_on_open(tmp_path):
    path = tmp_path / "querylog.sqlite"
    log = QueryLog.open(path, retention_days=7)
    stale = log.record("search", "förra månaden", {}, [], "v1", None, now=datetime.now(UTC) - timedelta(days=8))
    fresh = log.record("search", "igår", {}, [], "v1", None, now=datetime.now(UTC) - timedelta(days=1))
    log.close()
    log = QueryLog.open(path, retention_days=7)
    assert log.get(stale) is None and log.get(fresh) is not None
    log.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT count(*) FROM queries").fetchone() == (1,)
    assert "förra".encode() not in path.read_bytes()  # deleted rows are overwritten, not left in free pages


@pytest.mark.parametrize("days", [0, -1, 1.5, "30", None, True])
def test_bad_retention_refused(tmp_path, days):
    with pytest.raises(ValueError, match="PROTOKOLLSOK_LOG_DAYS"):
        QueryLog.open(tmp_path / "querylog.sqlite", retention_days=days)
    assert not (tmp_path / "querylog.sqlite").exists()


def test_naive_time_refused(log):
    with pytest.raises(ValueError, match="now"):
        log.record("search", "fråga", {}, [], "v1", None, now=datetime(2025, 1, 1))


def test_threads_share_one_log(log):
    traces: list[str] = []

    def work() -> None:
        for i in range(25):
            traces.append(log.record("search", f"fråga {i}", {}, [f"c{i}"], "v1", None))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(traces)) == 100 and all(log.get(t) is not None for t in traces)


def test_a_log_from_before_trails_and_scopes_gains_their_columns_and_keeps_its_rows(tmp_path):
    path = tmp_path / "querylog.sqlite"
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TABLE queries (trace_id TEXT PRIMARY KEY, time TEXT NOT NULL, kind TEXT NOT NULL, question TEXT NOT NULL,"
        " filters TEXT NOT NULL, sources TEXT NOT NULL, index_version TEXT NOT NULL, answered INTEGER)"
    )
    old = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    connection.execute("INSERT INTO queries VALUES ('a' , ?, 'search', 'budget', '{}', '[]', 'v0001', NULL)", (old,))
    connection.commit()
    connection.close()
    log = QueryLog.open(path, retention_days=30)
    try:
        assert log.get("a").question == "budget" and log.get("a").scope is None
        trace = log.record("ask", "Vad kostar kopiorna?", {}, [], "v0002", False, trail={"level": "none"}, scope="Norsjö")
        entry = log.get(trace)
        assert entry.trail == {"level": "none"} and entry.scope == "Norsjö"
    finally:
        log.close()

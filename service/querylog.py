"""The query log the municipality's AI guidelines require: what was asked, which sources were shown and which
index version answered, kept no longer than the retention period and never with a raw personnummer in it.

The log is one SQLite file beside the index folder, not inside it: publishing a new index version replaces
that folder, and the log must outlive every version it names.

Answering never depends on the log: a write that fails (a full disk, a read-only file) is logged and counted,
the answer still goes out with a trace id that says it was not stored (NOT_STORED), and `state()` tells
`/api/health` the log is not writable until a later write succeeds.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from protokollsok.service import personnummer

FILE_NAME = "querylog.sqlite"
KINDS = ("search", "ask")
PURGE_EVERY = timedelta(hours=24)
RETENTION_SETTING = "PROTOKOLLSOK_LOG_DAYS"
NOT_STORED = "ej-sparad-"  # the start of the trace id of a query the log could not store
log = logging.getLogger(__name__)

# Fixed width, microseconds always written, always UTC: the text order is the time order, so purging is one
# indexed comparison.
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queries (
    trace_id TEXT PRIMARY KEY,
    time TEXT NOT NULL,
    kind TEXT NOT NULL,
    question TEXT NOT NULL,
    filters TEXT NOT NULL,
    sources TEXT NOT NULL,
    index_version TEXT NOT NULL,
    answered INTEGER,
    trail TEXT,
    scope TEXT
);
CREATE INDEX IF NOT EXISTS queries_time ON queries (time);
"""


def default_path(index_root: Path) -> Path:
    """`var/index` logs to `var/querylog.sqlite`."""
    return Path(index_root).parent / FILE_NAME


@dataclass(frozen=True)
class LogEntry:
    trace_id: str
    time: datetime
    kind: str
    question: str
    filters: dict[str, Any]
    sources: list[str]
    index_version: str
    answered: bool | None
    trail: dict[str, Any] | None = None
    scope: str | None = None
    """The scope of the key or token that asked (service/scopes.py); None: the whole index."""


@dataclass(frozen=True)
class LogState:
    """What `/api/health` reports of the log: can it be written, how many writes failed, how much room is left."""

    writable: bool
    failures: int
    free_mb: int


class QueryLog:
    """One connection shared by the server's threads; a lock keeps its statements from interleaving."""

    def __init__(self, connection: sqlite3.Connection, retention_days: int, folder: Path = Path(".")) -> None:
        self._connection = connection
        self._retention = timedelta(days=retention_days)
        self._lock = threading.Lock()
        self._last_purge: datetime | None = None
        self._folder = folder
        self._writable = True
        self.failures = 0

    @classmethod
    def open(cls, path: Path, retention_days: int) -> QueryLog:
        """Create the log if needed and drop what is already past retention."""
        if isinstance(retention_days, bool) or not isinstance(retention_days, int) or retention_days < 1:
            raise ValueError(
                f"{RETENTION_SETTING}={retention_days!r}: the query log retention must be a whole number of "
                "days, at least 1; set it to how long the guidelines let queries be kept"
            )
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, check_same_thread=False)
        # Purged rows are overwritten on disk, not left in free pages: retention means gone from the file.
        connection.execute("PRAGMA secure_delete = ON")
        connection.executescript(_SCHEMA)
        columns = {row[1] for row in connection.execute("PRAGMA table_info(queries)")}
        for column in ("trail", "scope"):  # in the schema's order: rows are inserted by position
            if column not in columns:
                connection.execute(f"ALTER TABLE queries ADD COLUMN {column} TEXT")  # a log from before the column
        querylog = cls(connection, retention_days, path.parent)
        try:
            querylog.purge()
        except sqlite3.Error as error:  # a full disk must not keep the service from starting
            querylog._failed(error, "purge at start")
        return querylog

    def record(
        self,
        kind: str,
        question: str,
        filters: dict[str, Any],
        sources: list[str],
        index_version: str,
        answered: bool | None,
        now: datetime | None = None,
        trail: dict[str, Any] | None = None,
        scope: str | None = None,
    ) -> str:
        """Store one query, personnummer masked, and return its trace id; purges once a day on the way. When
        the row cannot be written the trace id starts with NOT_STORED and the failure is logged and counted.
        `trail`: how an answer was decided (candidates, strengths, the checks that failed, the thresholds),
        for the administrator asked why it said no. `scope`: the name of the asker's scope, None for all."""
        if kind not in KINDS:
            raise ValueError(f"kind={kind!r}: a query log entry is one of {', '.join(KINDS)}")
        now = _utc(now)
        trace_id = uuid.uuid4().hex
        row = (
            trace_id,
            now.strftime(_TIME_FORMAT),
            kind,
            personnummer.mask(question),
            json.dumps(_masked(filters), ensure_ascii=False),
            json.dumps(list(sources), ensure_ascii=False),
            index_version,
            None if answered is None else int(answered),
            None if trail is None else json.dumps(_masked(trail), ensure_ascii=False),
            scope,
        )
        try:
            if self._last_purge is None or now - self._last_purge > PURGE_EVERY:
                self.purge(now)
            with self._lock, self._connection:
                self._connection.execute("INSERT INTO queries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
        except sqlite3.Error as error:
            self._failed(error, f"kind={kind} trace_id={trace_id}")
            return NOT_STORED + trace_id
        self._writable = True
        return trace_id

    def state(self) -> LogState:
        return LogState(self._writable, self.failures, shutil.disk_usage(self._folder).free // 2**20)

    def _failed(self, error: sqlite3.Error, what: str) -> None:
        with self._lock:
            self._writable = False
            self.failures += 1
        log.error("query log write failed %s failures=%d folder=%s error=%s", what, self.failures, self._folder, error)

    def get(self, trace_id: str) -> LogEntry | None:
        with self._lock:
            row = self._connection.execute(
                "SELECT trace_id, time, kind, question, filters, sources, index_version, answered, trail, scope "
                "FROM queries WHERE trace_id = ?",
                (trace_id,),
            ).fetchone()
        if row is None:
            return None
        trace, time, kind, question, filters, sources, index_version, answered, trail, scope = row
        return LogEntry(
            trace_id=trace,
            time=datetime.fromisoformat(time),
            kind=kind,
            question=question,
            filters=json.loads(filters),
            sources=json.loads(sources),
            index_version=index_version,
            answered=None if answered is None else bool(answered),
            trail=None if trail is None else json.loads(trail),
            scope=scope,
        )

    def purge(self, now: datetime | None = None) -> int:
        """Delete the entries older than the retention period; returns how many went."""
        now = _utc(now)
        cutoff = (now - self._retention).strftime(_TIME_FORMAT)
        with self._lock, self._connection:
            deleted = self._connection.execute("DELETE FROM queries WHERE time < ?", (cutoff,)).rowcount
            self._last_purge = now
        return deleted

    def close(self) -> None:
        with self._lock:
            self._connection.close()


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError(f"now={moment!r}: give the time with a time zone, e.g. datetime.now(UTC)")
    return moment.astimezone(UTC)


def _masked(value: Any) -> Any:
    """Filters nest (lists of organs, date ranges); every string anywhere in them is masked."""
    if isinstance(value, str):
        return personnummer.mask(value)
    if isinstance(value, dict):
        return {_masked(key): _masked(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_masked(item) for item in value]
    return value

"""PostgreSQL backend: index versions as schemas in one database, vectors in pgvector, BM25 as stored postings.

For when one machine is not enough: read replicas carry search, and the chunks can be spread over shard
servers by kommun through `postgres_fdw`, while the command line, the service and eval work unchanged.

- A version is one schema (`protokollsok_<id>`) with the version's documents, chunks, Dnr mentions, BM25
  postings and vectors; the catalogue schema `protokollsok` lists the versions and which is current. A
  version is built and made current in one transaction (PostgreSQL's DDL is transactional), so a failed or
  interrupted publish leaves nothing behind and readers see the old version or the new one, never half.
- Lexical ranking is the project's own: the Swedish analyser's tokens and bm25s's scores, computed at
  publish and stored per (term, row), so a query is a sum over its terms' postings and eval gives the same
  figures on both backends. Vectors are pgvector `halfvec` (half the size; cosines differ from float32 in
  the third decimal) under an HNSW index with iterative scans, so a filter does not starve the top k.
- Reads go to the replicas first and to the primary when none answers; writes go to the primary.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import psycopg

from .analyzer import Analyzer
from .answers import AnswerKinds
from .build import FORMAT, Entry, indexed_text
from .embed import Embedder, EmbeddingCache, text_hash
from .lexical import Lexical
from .metadata import (
    CHUNK_COLUMNS,
    Filters,
    Known,
    Metadata,
    chunk_from_row,
    chunk_rows,
    document_from_row,
    document_row,
    mention_rows,
)
from .reader import LexicalScores, MetadataReads
from .recipe import DEFAULT as RECIPE
from .recipe import Recipe
from .store import Busy, VersionError, _is_version

CATALOGUE = "protokollsok"
LOCK_KEY = 0x70726F74  # "prot": one writer at a time, cluster-wide
log = logging.getLogger(__name__)

_INTEGER = {"row", "page", "span_start", "span_end", "unit", "tokens", "model_tokens"}
_DOCUMENT_COLUMNS = (
    "doc_id",
    "source",
    "kommun",
    "organ",
    "doc_type",
    "date",
    "title",
    "text",
    "page_starts",
    "units",
    "source_hash",
)


class Sql:
    """Metadata's queries are written for SQLite (`?` placeholders); this runs them on PostgreSQL, on the first
    of `dsns` that answers, and moves on to the next when a server goes away."""

    def __init__(self, dsns: list[str], schema: str, ef_search: int = RECIPE.pg_ef_search):
        """`ef_search`: pgvector's HNSW search breadth for this reader's sessions (recipe.pg_ef_search)."""
        self.dsns = dsns
        self.schema = schema
        self.ef_search = ef_search
        self._local = threading.local()
        self._start = itertools.count()

    def execute(self, query: str, args: list | tuple = ()) -> psycopg.Cursor:
        for attempt in range(len(self.dsns) + 1):
            connection = self._connection()
            try:
                return connection.execute(query.replace("?", "%s"), list(args) or None)
            except psycopg.OperationalError as error:
                log.warning("postgres read failed, trying the next server error=%s", error)
                self._local.connection = None
                self._local.turn = getattr(self._local, "turn", 0) + 1
                if attempt == len(self.dsns):
                    raise ConnectionError(f"no PostgreSQL server answered ({error})") from error

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()

    def _connection(self) -> psycopg.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is not None and not connection.closed:
            return connection
        if not hasattr(self._local, "turn"):
            self._local.turn = next(self._start)  # threads spread over the replicas
        errors = []
        for i in range(len(self.dsns)):
            dsn = self.dsns[(self._local.turn + i) % len(self.dsns)]
            try:
                connection = psycopg.connect(
                    dsn, autocommit=True, connect_timeout=3, options=f"-c search_path={self.schema},public"
                )
            except psycopg.OperationalError as error:
                errors.append(f"{_host(dsn)}: {str(error).strip()}")
                continue
            connection.execute(f"SET hnsw.ef_search = {int(self.ef_search)}")
            connection.execute("SET hnsw.iterative_scan = relaxed_order")
            self._local.connection = connection
            return connection
        raise ConnectionError("no PostgreSQL server answered: " + "; ".join(errors))


@dataclass(frozen=True)
class PostgresVersion:
    name: str
    schema: str
    manifest: dict
    current: bool
    read_dsns: tuple[str, ...]

    def open(self, recipe: Recipe | None = None) -> "PostgresReader":
        """A reader whose sessions search with `recipe`'s pg_ef_search, or the version's own. Shards' sessions
        (postgres_fdw) take theirs from each shard database, set when a version is published."""
        ef_search = (recipe or Recipe.from_manifest(self.manifest)).pg_ef_search
        return PostgresReader(Sql(list(self.read_dsns), self.schema, ef_search))


class _Postings:
    def __init__(self, sql: Sql, ids: list[int], weights: list[float], allowed: np.ndarray | None, k: int):
        self.sql, self.ids, self.weights = sql, ids, weights
        self.top = dict(self._scores(allowed, k)) if ids else {}

    def of(self, rows: np.ndarray) -> np.ndarray:
        found = dict(self._scores(rows, None)) if self.ids and len(rows) else {}
        return np.array([found.get(int(r), 0.0) for r in rows], dtype=np.float32)

    def _scores(self, rows: np.ndarray | None, k: int | None) -> list[tuple[int, float]]:
        where = "WHERE p.row = ANY(%s)" if rows is not None else ""
        args: list = [self.ids, self.weights] + ([rows.tolist()] if rows is not None else [])
        limit = f"ORDER BY 2 DESC LIMIT {int(k)}" if k is not None else ""
        query = (
            "SELECT p.row, SUM(p.score * q.w)::real FROM postings p JOIN unnest(%s::int[], %s::real[]) AS q(term, w) "
            f"ON p.term = q.term {where} GROUP BY p.row {limit}"
        )
        return [(row, score) for row, score in self.sql.execute(query, args).fetchall() if score > 0]


class PostgresReader(MetadataReads):
    def __init__(self, sql: Sql):
        self.sql = sql
        self.meta = Metadata(sql)
        self.kommun_names = [
            k for (k,) in sql.execute("SELECT DISTINCT kommun_f FROM chunks WHERE kommun_f != '' ORDER BY 1")
        ]
        self._kommun_index = {name: i for i, name in enumerate(self.kommun_names)}
        self._vocabulary: dict[str, int] | None = None

    def select(self, filters: Filters) -> np.ndarray | None:
        return self.meta.filter_rows(filters)

    def lexical(self, terms: dict[str, float], allowed: np.ndarray | None, k: int) -> LexicalScores:
        vocabulary = self.frequencies()[0]
        known = [(vocabulary[t], w) for t, w in terms.items() if t in vocabulary]
        return _Postings(self.sql, [i for i, _ in known], [w for _, w in known], allowed, k)

    def dense(self, vector: np.ndarray, allowed: np.ndarray | None, k: int) -> dict[int, float]:
        where = "WHERE row = ANY(%s)" if allowed is not None else ""
        args = [_halfvec(vector)] + ([allowed.tolist()] if allowed is not None else []) + [_halfvec(vector), k]
        query = (
            f"SELECT row, -(embedding <#> %s::halfvec) FROM vectors {where} ORDER BY embedding <#> %s::halfvec LIMIT %s"
        )
        return dict(self.sql.execute(query, args).fetchall())

    def similarity(self, vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros(0, np.float32)
        found = dict(
            self.sql.execute(
                "SELECT row, -(embedding <#> %s::halfvec) FROM vectors WHERE row = ANY(%s)",
                [_halfvec(vector), rows.tolist()],
            ).fetchall()
        )
        return np.array([found[int(r)] for r in rows], dtype=np.float32)

    def row_facts(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        found = {
            row: (kommun, text_hash, kinds)
            for row, kommun, text_hash, kinds in self.sql.execute(
                "SELECT row, kommun_f, text_hash, answer_kinds FROM vectors WHERE row = ANY(%s)", [rows.tolist()]
            )
        }
        facts = [found[int(r)] for r in rows]
        return (
            np.array([self._kommun_index.get(k, -1) for k, _, _ in facts], dtype=np.int32),
            np.array([int(h[:16], 16) for _, h, _ in facts], dtype=np.uint64),
            np.array([m for _, _, m in facts], dtype=np.uint8),
        )

    def frequencies(self) -> tuple[dict[str, int], np.ndarray, int]:
        if self._vocabulary is None:
            rows = self.sql.execute("SELECT id, term, df FROM terms ORDER BY id").fetchall()
            self._vocabulary = {term: i for i, term, _ in rows}
            self._frequency = np.array([df for _, _, df in rows], dtype=np.int64)
            self._documents = self.sql.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return self._vocabulary, self._frequency, self._documents

    def read_ahead(self) -> None:
        """Nothing to do here: the servers keep what searches read in their own buffer caches."""

    def close(self) -> None:
        self.sql.close()


class PostgresBackend:
    """Versions in the database at `dsn` (the primary); searches read `replicas` first; with `shards`, each
    version's chunks, vectors and postings are hash-partitioned by kommun over those servers (postgres_fdw).
    Vectors are cached by text hash in `cache` on the ingesting machine, so only new text is encoded."""

    def __init__(self, dsn: str, cache: Path, replicas: list[str] = (), shards: list[str] = ()):
        self.dsn = dsn
        self.read_dsns = (*replicas, dsn)
        self.shards = list(shards)
        self.cache = cache
        self.where = _host(dsn)
        self._readers = Sql(list(self.read_dsns), CATALOGUE)
        self._writer = Sql([dsn], CATALOGUE)
        with self._primary() as connection:
            connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
            connection.execute(_CATALOGUE_SQL)
            if self.shards:
                connection.execute("CREATE EXTENSION IF NOT EXISTS postgres_fdw")
                for number, shard in enumerate(self.shards):
                    _foreign_server(connection, number, shard)
        for shard in self.shards:
            with _connect(shard, "PROTOKOLLSOK_SHARDS") as connection:
                connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
                # postgres_fdw's sessions on a shard take their settings from the database
                connection.execute(f"ALTER DATABASE {connection.info.dbname} SET hnsw.ef_search = {RECIPE.pg_ef_search}")
                connection.execute(f"ALTER DATABASE {connection.info.dbname} SET hnsw.iterative_scan = relaxed_order")

    @contextmanager
    def writing(self, command="ingest", wait=True, on_wait=None) -> Iterator[None]:
        """A cluster-wide advisory lock; one that waits names the server process that holds it."""
        with self._primary() as connection:
            if not connection.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY]).fetchone()[0]:
                row = connection.execute(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = %s", [LOCK_KEY]
                ).fetchone()
                holder = f"PostgreSQL backend pid {row[0]}" if row else "pid ?"
                if not wait:
                    raise Busy(f"{self.where}: another ingest, remove or rollback is running ({holder}); nothing "
                               "was changed (--no-wait). Run it again when that one has finished")
                if on_wait:
                    on_wait(f"waiting for another ingest to finish ({holder})…")
                connection.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
            try:
                yield
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])

    def current_name(self) -> str | None:
        row = self._readers.execute("SELECT name FROM protokollsok.current").fetchone()
        return row[0] if row else None

    def current(self) -> PostgresVersion | None:
        return next((v for v in self.versions() if v.current), None)

    def versions(self) -> list[PostgresVersion]:
        """As the primary has them: a replica may lag a moment behind a publish."""
        rows = self._writer.execute(
            "SELECT v.name, v.schema, v.manifest, v.name = c.name FROM protokollsok.versions v "
            "LEFT JOIN protokollsok.current c ON true ORDER BY v.name"
        ).fetchall()
        return [PostgresVersion(n, s, m, bool(current), self.read_dsns) for n, s, m, current in rows]

    def rollback(self, name: str) -> PostgresVersion:
        with self._primary() as connection:
            if not connection.execute("SELECT 1 FROM protokollsok.versions WHERE name = %s", [name]).fetchone():
                known = ", ".join(v.name for v in self.versions()) or "none"
                raise VersionError(f"version '{name}' does not exist in {self.where} (versions: {known})")
            _point_current(connection, name)
        return self.current()

    def entries(self) -> list[Entry]:
        version = self.current()
        if version is None:
            return []
        sql = Sql([self.dsn], version.schema)
        try:
            out = []
            for row in sql.execute("SELECT * FROM documents ORDER BY doc_id").fetchall():
                document = document_from_row(row)
                cursor = sql.execute(
                    f"SELECT {', '.join(CHUNK_COLUMNS)} FROM chunks WHERE doc_id = ? ORDER BY row", [document.doc_id]
                )
                out.append(
                    Entry(document, [chunk_from_row(dict(zip(CHUNK_COLUMNS, r))) for r in cursor.fetchall()], row[10])
                )
            return out
        finally:
            sql.close()

    def known(self) -> dict[str, Known]:
        version = self.current()
        if version is None:
            return {}
        sql = Sql([self.dsn], version.schema)
        try:
            return Metadata(sql).known()
        finally:
            sql.close()

    def append(self, added, embedder: Embedder, analyzer: Analyzer, note: str, keep: int, progress=False):
        """The whole set written anew: a PostgreSQL version is built in one transaction from all its rows."""
        return self.publish(self.entries() + added, embedder, analyzer, note, keep, progress=progress)

    def publish(
        self, entries, embedder: Embedder, analyzer: Analyzer, note: str, keep: int, purge=frozenset(), progress=False
    ):
        """Write all `entries` as a new version and make it current in one transaction; call inside `writing()`."""
        documents, rows, texts = [], [], []
        for entry in sorted(entries, key=lambda e: e.document.doc_id):
            entry_texts = [indexed_text(c) for c in entry.chunks]
            documents.append(document_row(entry.document, entry.source_hash))
            rows.extend(chunk_rows(entry.chunks, [text_hash(t) for t in entry_texts], len(rows)))
            texts.extend(entry_texts)
        cache = EmbeddingCache(self.cache)
        try:
            before, started = embedder.encoded, time.perf_counter()
            vectors = cache.encode(embedder, texts, progress=progress)
            encoded, seconds = embedder.encoded - before, time.perf_counter() - started
            lexical = Lexical.build(analyzer.tokens(t) for t in texts)
            kinds = AnswerKinds.build([r[CHUNK_COLUMNS.index("text")] for r in rows]).masks
            schema = f"protokollsok_{uuid.uuid4().hex[:12]}"
            self._drop_orphans()
            for shard in self.shards:
                with _connect(shard, "PROTOKOLLSOK_SHARDS") as connection:
                    _create_parts(connection, schema, embedder.dimension)
                    _index_parts(connection, schema)
            with self._primary(autocommit=False) as connection:
                name = _next_name(connection)
                connection.execute(f"CREATE SCHEMA {schema}")
                connection.execute(
                    f"CREATE TABLE {schema}.documents ({', '.join(f'{c} text' for c in _DOCUMENT_COLUMNS)}, PRIMARY KEY (doc_id))"
                )
                connection.execute(f"CREATE TABLE {schema}.dnr_mentions (dnr_key text, row integer)")
                connection.execute(f"CREATE TABLE {schema}.terms (id integer PRIMARY KEY, term text, df integer)")
                if self.shards:
                    _create_partitioned_parts(connection, schema, embedder.dimension, len(self.shards))
                else:
                    _create_parts(connection, schema, embedder.dimension)
                _copy(connection, f"{schema}.documents", _DOCUMENT_COLUMNS, documents)
                _copy(connection, f"{schema}.chunks", CHUNK_COLUMNS, rows)
                _copy(connection, f"{schema}.dnr_mentions", ("dnr_key", "row"), mention_rows(rows))
                hash_at, kommun_at = CHUNK_COLUMNS.index("text_hash"), CHUNK_COLUMNS.index("kommun_f")
                _copy(
                    connection,
                    f"{schema}.vectors",
                    ("row", "kommun_f", "text_hash", "answer_kinds", "embedding"),
                    ((r[0], r[kommun_at], r[hash_at], int(m), _halfvec(v)) for r, m, v in zip(rows, kinds, vectors)),
                )
                vocabulary, frequency, _ = lexical.frequencies()
                terms = ((i, t, int(frequency[i])) for t, i in vocabulary.items() if i < len(frequency))
                _copy(connection, f"{schema}.terms", ("id", "term", "df"), terms)
                _copy(
                    connection,
                    f"{schema}.postings",
                    ("term", "row", "score", "kommun_f"),
                    _postings(lexical, [r[kommun_at] for r in rows]),
                )
                connection.execute(f"CREATE INDEX ON {schema}.dnr_mentions (dnr_key)")
                if not self.shards:
                    _index_parts(connection, schema)
                manifest = {
                    "note": note,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "format": FORMAT,
                    "model": embedder.model_id,
                    "model_path": str(embedder.model_path),
                    "dimension": embedder.dimension,
                    "documents": len(documents),
                    "chunks": len(rows),
                    "encoded": encoded,
                    "encode_seconds": round(seconds, 2),
                    "approximate": True,
                    "recipe": RECIPE.to_manifest(),
                    "backend": "postgres",
                    "shards": len(self.shards),
                    "version": name,
                }
                connection.execute(
                    "INSERT INTO protokollsok.versions (name, schema, manifest, doc_ids) VALUES (%s, %s, %s, %s)",
                    [name, schema, json.dumps(manifest), [d[0] for d in documents]],
                )
                _point_current(connection, name)
                dropped = _drop_versions(connection, purge, keep, name)
                connection.commit()
            for schema in dropped:
                self._drop_on_shards(schema)
            if purge:
                cache.forget({r[hash_at] for r in rows})
        finally:
            cache.close()
        return self.current()

    def _drop_orphans(self) -> None:
        """Shard schemas of a publish that failed before its version was recorded."""
        known = {schema for (schema,) in self._writer.execute("SELECT schema FROM protokollsok.versions")}
        for shard in self.shards:
            with _connect(shard, "PROTOKOLLSOK_SHARDS") as connection:
                found = connection.execute(
                    "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", ["protokollsok\\_%"]
                ).fetchall()
                for (schema,) in found:
                    if schema not in known:
                        connection.execute(f"DROP SCHEMA {schema} CASCADE")

    def _drop_on_shards(self, schema: str) -> None:
        for shard in self.shards:
            with _connect(shard, "PROTOKOLLSOK_SHARDS") as connection:
                connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

    @contextmanager
    def _primary(self, autocommit: bool = True) -> Iterator[psycopg.Connection]:
        with _connect(self.dsn, "PROTOKOLLSOK_DSN", autocommit) as connection:
            yield connection


_CATALOGUE_SQL = """
CREATE SCHEMA IF NOT EXISTS protokollsok;
CREATE TABLE IF NOT EXISTS protokollsok.versions (
    name text PRIMARY KEY, schema text NOT NULL, manifest jsonb NOT NULL, doc_ids text[] NOT NULL
);
CREATE TABLE IF NOT EXISTS protokollsok.current (
    one boolean PRIMARY KEY DEFAULT true CHECK (one), name text NOT NULL REFERENCES protokollsok.versions
);
"""


@contextmanager
def _connect(dsn: str, setting: str, autocommit: bool = True) -> Iterator[psycopg.Connection]:
    try:
        connection = psycopg.connect(dsn, autocommit=autocommit, connect_timeout=5)
    except psycopg.OperationalError as error:
        raise ConnectionError(
            f"{setting}: cannot reach PostgreSQL at {_host(dsn)} ({str(error).strip()}); check that the server runs "
            "and the connection string is right"
        ) from error
    try:
        yield connection
    except BaseException:
        if not autocommit:
            connection.rollback()
        raise
    finally:
        connection.close()


def _foreign_server(connection: psycopg.Connection, number: int, dsn: str) -> None:
    """Shard `number` as a postgres_fdw server; `vector` is shippable, so ranking by distance runs on the shard."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    server = f"protokollsok_shard_{number}"
    options = {
        "host": info.get("host", "localhost"),
        "port": str(info.get("port", 5432)),
        "dbname": info.get("dbname", "postgres"),
    }
    options |= {"extensions": "vector", "fetch_size": "1000", "batch_size": "1000"}
    exists = connection.execute("SELECT 1 FROM pg_foreign_server WHERE srvname = %s", [server]).fetchone()
    if exists:
        settings = ", ".join(f"SET {k} {_literal(v)}" for k, v in options.items())
        connection.execute(f"ALTER SERVER {server} OPTIONS ({settings})")
    else:
        settings = ", ".join(f"{k} {_literal(v)}" for k, v in options.items())
        connection.execute(f"CREATE SERVER {server} FOREIGN DATA WRAPPER postgres_fdw OPTIONS ({settings})")
    login = {"user": info.get("user", "postgres")} | ({"password": info["password"]} if info.get("password") else {})
    connection.execute(f"DROP USER MAPPING IF EXISTS FOR CURRENT_USER SERVER {server}")
    mapping = ", ".join(f"{k} {_literal(v)}" for k, v in login.items())
    connection.execute(f"CREATE USER MAPPING FOR CURRENT_USER SERVER {server} OPTIONS ({mapping})")


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _part_columns(dimension: int) -> dict[str, str]:
    """The three parts that grow with the records, each carrying kommun_f, the key that places it on a shard."""
    return {
        "chunks": ", ".join(f"{c} {'integer' if c in _INTEGER else 'text'}" for c in CHUNK_COLUMNS),
        "vectors": f"row integer, kommun_f text, text_hash text, answer_kinds smallint, embedding halfvec({int(dimension)})",
        "postings": "term integer, row integer, score real, kommun_f text",
    }


def _create_parts(connection: psycopg.Connection, schema: str, dimension: int) -> None:
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for table, columns in _part_columns(dimension).items():
        connection.execute(f"CREATE TABLE {schema}.{table} ({columns})")


def _create_partitioned_parts(connection: psycopg.Connection, schema: str, dimension: int, shards: int) -> None:
    """The parts as tables partitioned by hash of kommun, each partition a foreign table on its shard."""
    for table, columns in _part_columns(dimension).items():
        connection.execute(f"CREATE TABLE {schema}.{table} ({columns}) PARTITION BY HASH (kommun_f)")
        for number in range(shards):
            connection.execute(
                f"CREATE FOREIGN TABLE {schema}.{table}_{number} PARTITION OF {schema}.{table} "
                f"FOR VALUES WITH (MODULUS {shards}, REMAINDER {number}) SERVER protokollsok_shard_{number} "
                f"OPTIONS (schema_name {_literal(schema)}, table_name {_literal(table)})"
            )


def _index_parts(connection: psycopg.Connection, schema: str) -> None:
    """On a shard before its rows arrive; on one node after them (one sorted build, not a million inserts)."""
    for statement in (
        f"CREATE UNIQUE INDEX ON {schema}.chunks (row)",
        f"CREATE INDEX ON {schema}.chunks (kommun_f, organ_f, doc_type_f, date)",
        f"CREATE INDEX ON {schema}.chunks (dnr_key)",
        f"CREATE INDEX ON {schema}.chunks (paragraf)",
        f"CREATE INDEX ON {schema}.chunks (doc_id, unit)",
        f"CREATE UNIQUE INDEX ON {schema}.vectors (row)",
        f"CREATE INDEX ON {schema}.postings (term) INCLUDE (row, score)",
        f"CREATE INDEX ON {schema}.vectors USING hnsw (embedding halfvec_ip_ops) WITH (m = 16, ef_construction = 64)",
    ):
        connection.execute(statement)
    connection.execute(f"ANALYZE {schema}.chunks")


def _copy(connection: psycopg.Connection, table: str, columns: tuple[str, ...], rows) -> None:
    with connection.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _postings(lexical: Lexical, kommun_of_row: list[str]) -> Iterator[tuple[int, int, float, str]]:
    """bm25s's precomputed score of each (term, chunk) pair, column by column of its sparse matrix."""
    indptr, indices, data = lexical.matrix()
    for term in range(len(indptr) - 1):
        for i in range(indptr[term], indptr[term + 1]):
            row = int(indices[i])
            yield term, row, float(data[i]), kommun_of_row[row]


def _next_name(connection: psycopg.Connection) -> str:
    names = [n for (n,) in connection.execute("SELECT name FROM protokollsok.versions") if _is_version(n)]
    return f"v{max((int(n[1:]) for n in names), default=0) + 1:04d}"


def _point_current(connection: psycopg.Connection, name: str) -> None:
    connection.execute(
        "INSERT INTO protokollsok.current (one, name) VALUES (true, %s) ON CONFLICT (one) DO UPDATE SET name = EXCLUDED.name",
        [name],
    )


def _drop_versions(connection: psycopg.Connection, purge: frozenset[str], keep: int, current: str) -> list[str]:
    """Older versions holding a removed record go, then the oldest beyond `keep`; never the current one."""
    rows = connection.execute(
        "SELECT name, schema, doc_ids FROM protokollsok.versions WHERE name != %s ORDER BY name", [current]
    ).fetchall()
    holding = [(n, s) for n, s, ids in rows if purge and not purge.isdisjoint(ids)]
    rest = [(n, s) for n, s, ids in rows if (n, s) not in holding]
    dropped = holding + rest[: max(0, len(rest) - max(keep - 1, 0))]
    for name, schema in dropped:
        connection.execute(f"DROP SCHEMA {schema} CASCADE")
        connection.execute("DELETE FROM protokollsok.versions WHERE name = %s", [name])
    return [schema for _, schema in dropped]


def _halfvec(vector: np.ndarray) -> str:
    return "[" + ",".join(map(str, np.asarray(vector, dtype=np.float32).tolist())) + "]"


def _host(dsn: str) -> str:
    """The server a connection string names, without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "the configured server"
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"

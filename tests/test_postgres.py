"""The PostgreSQL backend against the files backend, on real servers on loopback: one node; and a cluster of a
primary (the coordinator), its streaming replica and two shard servers."""

from __future__ import annotations

import shutil
import time

import psycopg
import msgspec
import pytest

import pgcluster
from conftest import ROOT, start_server
from protokollsok.eval.questions import load
from protokollsok.eval.run import evaluate
from protokollsok.indexes.metadata import Filters
from protokollsok.service.query import Queries
from protokollsok.service.querylog import QueryLog
from protokollsok.indexes.backend import FileBackend
from protokollsok.indexes.build import CACHE
from protokollsok.indexes.postgres import PostgresBackend
from protokollsok.indexes.recipe import DEFAULT
from protokollsok.indexes.search import Searcher
from protokollsok.indexes.store import VersionError

KALLELSE = "kalix-kommunstyrelsen-kallelse-2025-12-15"
QUERIES = [
    ("Vad kostade miljöskjutsen?", {}),
    ("sjukfrånvaro i Luleå", {}),
    ("KS-2024/00457", {}),
    ("§ 4 Norsjö", {}),
    ("beslut om e-handel", {"kommun": "Kalix"}),
    ("budget", {"date_from": "2024-01-01", "date_to": "2024-12-31"}),
]


@pytest.fixture(scope="module")
def servers():
    parent = pgcluster.folder()
    started: list[pgcluster.Server] = []
    try:
        primary = pgcluster.primary(parent, "primary")
        started.append(primary)
        shards = [pgcluster.primary(parent, f"shard{i}") for i in range(2)]
        started.extend(shards)
        replica = pgcluster.replica(primary, parent, "replica")
        started.append(replica)
        with psycopg.connect(primary.dsn, autocommit=True) as connection:
            connection.execute("CREATE DATABASE single")
        yield {"primary": primary, "shards": shards, "replica": replica}
    finally:
        pgcluster.remove(parent, started)


def _dsn(server: pgcluster.Server, dbname: str = "postgres") -> str:
    return server.dsn.replace("dbname=postgres", f"dbname={dbname}")


def _cache(corpus_index, tmp_path):
    """The sample's vectors, so publishing to PostgreSQL encodes nothing again."""
    shutil.copy(corpus_index / CACHE, tmp_path / CACHE)
    return tmp_path / CACHE


def _publish(backend, entries, embedder, analyzer, note: str, purge=frozenset()):
    with backend.writing():
        return backend.publish(entries, embedder, analyzer, note, keep=5, purge=purge)


@pytest.fixture(scope="module")
def single(servers, corpus_index, embedder, analyzer, tmp_path_factory):
    backend = PostgresBackend(_dsn(servers["primary"], "single"), _cache(corpus_index, tmp_path_factory.mktemp("pg")))
    version = _publish(backend, FileBackend(corpus_index).entries(), embedder, analyzer, "sample corpus")
    assert version.manifest["encoded"] == 0
    return backend


@pytest.fixture(scope="module")
def cluster(servers, corpus_index, embedder, analyzer, tmp_path_factory):
    primary, replica = servers["primary"], servers["replica"]
    backend = PostgresBackend(
        _dsn(primary),
        _cache(corpus_index, tmp_path_factory.mktemp("pg")),
        [_dsn(replica)],
        [_dsn(s) for s in servers["shards"]],
    )
    _publish(backend, FileBackend(corpus_index).entries(), embedder, analyzer, "sample corpus")
    return backend


def _top(searcher: Searcher, k: int = 5) -> list[list[str]]:
    from protokollsok.indexes.metadata import Filters

    return [[h.passage.chunk_id for h in searcher.search(searcher.read(q), k, Filters(**f)).hits] for q, f in QUERIES]


def test_eval_figures_match_the_files_backend(single, corpus_index, embedder, analyzer):
    questions = load(ROOT / "eval" / "dev.jsonl")
    figures = {}
    for name, version in (("files", FileBackend(corpus_index).current()), ("postgres", single.current())):
        records = evaluate(questions, Queries.open(version, embedder, analyzer, None, {}), ["hybrid"], 10)
        figures[name] = {
            m: sum(r[m] for r in records) / len(records) for m in ("recall@1", "recall@5", "recall@10", "mrr@10")
        }
    for metric, value in figures["files"].items():
        assert abs(figures["postgres"][metric] - value) <= 0.01, (metric, figures)


def test_search_json_is_the_same_on_both_backends(single, corpus_index, embedder, analyzer, tmp_path):
    log = QueryLog.open(tmp_path / "querylog.sqlite", 30)
    found = {
        name: msgspec.to_builtins(Queries.open(version, embedder, analyzer, None, {}).search("KS-2024/00457", 3, Filters(), log))
        for name, version in (("files", FileBackend(corpus_index).current()), ("postgres", single.current()))
    }
    files, postgres = found["files"], found["postgres"]
    assert [h["chunk_id"] for h in postgres["hits"]] == [h["chunk_id"] for h in files["hits"]]
    assert postgres["hits"][0].keys() == files["hits"][0].keys()
    assert [h["span"] for h in postgres["hits"]] == [h["span"] for h in files["hits"]]


def test_cluster_spreads_chunks_over_the_shards_by_kommun(cluster, servers):
    schema = cluster.current().schema
    counts = []
    for shard in servers["shards"]:
        with psycopg.connect(shard.dsn) as connection:
            kommuner = connection.execute(f"SELECT DISTINCT kommun_f FROM {schema}.chunks").fetchall()
            counts.append(connection.execute(f"SELECT COUNT(*) FROM {schema}.chunks").fetchone()[0])
            assert kommuner, "a shard holds no kommun"
    assert sum(counts) == cluster.current().manifest["chunks"]
    with psycopg.connect(servers["primary"].dsn) as connection:
        local = connection.execute(
            "SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = 'chunks' AND c.relkind = 'p'",
            [schema],
        ).fetchone()[0]
    assert local == 1, "the coordinator's chunks table is not partitioned"


def test_cluster_search_equals_the_files_backend(cluster, corpus_index, embedder, analyzer):
    files = _top(Searcher(FileBackend(corpus_index).current(), embedder, analyzer))
    postgres = _top(Searcher(cluster.current(), embedder, analyzer))
    assert postgres == files


def test_a_write_on_the_primary_is_found_on_the_replica_and_search_survives_losing_it(
    cluster, servers, corpus_index, embedder, analyzer
):
    kept = [e for e in cluster.entries() if e.document.doc_id != KALLELSE]
    version = _publish(cluster, kept, embedder, analyzer, "remove kallelse", purge=frozenset({KALLELSE}))
    replica_only = psycopg.connect(_dsn(servers["replica"]), autocommit=True)
    deadline = time.monotonic() + 30
    while replica_only.execute("SELECT name FROM protokollsok.current").fetchone()[0] != version.name:
        assert time.monotonic() < deadline, "the replica never caught up"
        time.sleep(0.2)
    assert replica_only.execute("SELECT pg_is_in_recovery()").fetchone()[0]
    replica_only.close()

    searcher = Searcher(cluster.current(), embedder, analyzer)
    before = [h.passage.doc_id for h in searcher.search(searcher.read("kallelse till kommunstyrelsen"), 10).hits]
    assert KALLELSE not in before
    servers["replica"].stop()
    try:
        after = [h.passage.doc_id for h in searcher.search(searcher.read("kallelse till kommunstyrelsen"), 10).hits]
        assert after == before
        fresh = Searcher(cluster.current(), embedder, analyzer)
        assert [h.passage.doc_id for h in fresh.search(fresh.read("kallelse till kommunstyrelsen"), 10).hits] == before
    finally:
        servers["replica"].start()


def test_remove_deletes_the_record_from_every_version(servers, corpus_index, embedder, analyzer, tmp_path):
    with psycopg.connect(servers["primary"].dsn, autocommit=True) as connection:
        connection.execute("CREATE DATABASE removal")
    backend = PostgresBackend(_dsn(servers["primary"], "removal"), _cache(corpus_index, tmp_path))
    entries = FileBackend(corpus_index).entries()
    _publish(backend, entries, embedder, analyzer, "first")
    _publish(backend, entries, embedder, analyzer, "second")
    kept = [e for e in entries if e.document.doc_id != KALLELSE]
    _publish(backend, kept, embedder, analyzer, "remove", purge=frozenset({KALLELSE}))
    with psycopg.connect(_dsn(servers["primary"], "removal")) as connection:
        schemas = [
            s for (s,) in connection.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'protokollsok\\_%'")
        ]
        assert len(schemas) == len(backend.versions()) == 1
        for schema in schemas:
            assert not connection.execute(f"SELECT 1 FROM {schema}.chunks WHERE doc_id = %s", [KALLELSE]).fetchone()
    with pytest.raises(VersionError, match="v0001"):
        backend.rollback("v0001")


def test_a_publish_failing_midway_leaves_the_current_version_and_nothing_behind(single, servers, embedder, analyzer):
    before = single.current().name
    entries = single.entries()
    with pytest.raises(psycopg.errors.UniqueViolation):  # the same document twice: refused while copying rows
        _publish(single, entries + entries[:1], embedder, analyzer, "doomed")
    assert single.current().name == before
    assert [v.name for v in single.versions()] == [before]
    with psycopg.connect(_dsn(servers["primary"], "single")) as connection:
        schemas = connection.execute(
            "SELECT COUNT(*) FROM pg_namespace WHERE nspname LIKE 'protokollsok\\_%'"
        ).fetchone()[0]
    assert schemas == 1


def test_the_service_serves_search_from_postgres(single, embedder, analyzer, settings):
    import httpx
    from protokollsok.indexes.synonyms import DEFAULT, Synonyms
    from protokollsok.service.access import Access
    from protokollsok.service.app import create_app
    from protokollsok.service.live import LiveIndex

    live = LiveIndex(single, embedder, analyzer, Synonyms.load(DEFAULT, analyzer))
    url, server = start_server(create_app(settings, live, Access([])))
    try:
        response = httpx.get(f"{url}/api/search", params={"q": "KS-2024/00457", "k": 3}, timeout=60)
        assert response.status_code == 200, response.text
        assert response.json()["index_version"] == single.current().name
        assert response.json()["hits"][0]["dnr"] == "KS-2024-00457"
    finally:
        server.should_exit = True


def test_sessions_search_with_the_versions_breadth_or_the_administrators(single):
    version = single.current()
    for recipe, expected in ((None, DEFAULT.pg_ef_search), (DEFAULT.with_settings(recipe='{"pg_ef_search": 321}'), 321)):
        reader = version.open(recipe)
        try:
            assert reader.sql.execute("SHOW hnsw.ef_search").fetchone()[0] == str(expected)
        finally:
            reader.close()

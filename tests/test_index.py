"""The published index: files on disk, Dnr and § lookup, filters, the JSON contract, versions and publishing."""

from __future__ import annotations

import ctypes
import json
import mmap
import os
import shutil
import sqlite3
import time
from pathlib import Path

import faiss
import numpy as np
import pytest

from protokollsok.cli import main
from protokollsok.indexes import build, store as store_module
from protokollsok.indexes.build import Entry, current_entries, indexed_text, publish
from protokollsok.indexes.embed import text_hash
from protokollsok.indexes.metadata import Filters, Metadata
from protokollsok.indexes import reader
from protokollsok.indexes.reader import READ_AHEAD
from protokollsok.indexes.recipe import Recipe
from protokollsok.indexes.search import Searcher
from protokollsok.indexes.store import Store, Version
from protokollsok.ingest.dnr import parse
from protokollsok.ingest.pipeline import ingest_file

UMEA = "umea-ks-naringslivs-och-arbetsutskott-tjansteskrivelser-2024"
NORSJO = "norsjo-allmanna-utskottet-protokoll-2025-02-25"
KALIX_PROTOKOLL = "kalix-kommunstyrelsen-protokoll-2023-12-11"
MAX_BYTES = 200 * 2**20

CONTRACT_FIELDS = {
    "rank", "score", "chunk_id", "doc_id", "title", "kommun", "organ", "doc_type", "date", "paragraf", "dnr",
    "dnr_as_written", "section", "page", "text", "span",
}


@pytest.fixture(scope="module")
def searcher(corpus_index, embedder, analyzer):
    s = Searcher(Store(corpus_index).current(), embedder, analyzer)
    yield s
    s.close()


def _searcher(root: Path, embedder, analyzer) -> Searcher:
    return Searcher(Store(root).current(), embedder, analyzer)


def _republish(root: Path, embedder, analyzer, entries=None, note="test", purge=frozenset()):
    store = Store(root)
    with store.writing():
        if entries is None:
            entries = current_entries(store)
        return publish(store, entries, embedder, analyzer, note, keep=5, purge=purge)


# --- files on disk -------------------------------------------------------------------------------------


def test_version_folder_holds_real_faiss_sqlite_and_bm25_files(corpus_index, ingested):
    store = Store(corpus_index)
    version = store.current()
    assert version is not None and version.current
    assert (corpus_index / "current").is_symlink()
    assert (corpus_index / "current").resolve() == version.path.resolve()

    folder = version.path
    assert (folder / "meta.sqlite").read_bytes()[:16] == b"SQLite format 3\x00"
    assert (folder / "lexical").is_dir() and any((folder / "lexical").iterdir())
    index = faiss.read_index(str(folder / "vectors.faiss"))

    chunks = sum(len(i.chunks) for i in ingested.values())
    assert index.ntotal == chunks == version.manifest["chunks"]
    assert index.d == version.manifest["dimension"]
    with sqlite3.connect(folder / "meta.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] == chunks
        assert {r[0] for r in db.execute("SELECT doc_id FROM documents")} == set(ingested)
    assert version.manifest["documents"] == len(ingested)
    json.loads((folder / "manifest.json").read_text())  # a real JSON manifest
    assert np.load(folder / "answer_kinds.npy").shape == (chunks,)


def _in_page_cache(path: Path) -> bool:
    """Every page of the file resident, asked with mincore(2) over a mapping of it: reading it, even with
    RWF_NOWAIT, would start the kernel's own readahead."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype, libc.mmap.argtypes = ctypes.c_void_p, [
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long,
    ]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_ubyte)]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    size = path.stat().st_size
    fd = os.open(path, os.O_RDONLY)
    try:
        address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        pages = (ctypes.c_ubyte * -(-size // mmap.PAGESIZE))()
        assert libc.mincore(address, size, pages) == 0, os.strerror(ctypes.get_errno())
        libc.munmap(address, size)
    finally:
        os.close(fd)
    return all(page & 1 for page in pages)


def _drop_from_page_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # written pages cannot be dropped
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _cold_files(folder: Path) -> list[Path]:
    """READ_AHEAD's files in `folder`, large enough that no read of a header pulls one in, out of the page cache."""
    files = [folder / name for name in READ_AHEAD]
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(16 << 20))
        _drop_from_page_cache(path)
    if any(_in_page_cache(path) for path in files):
        pytest.skip(f"{folder}: the page cache is this file system's storage (tmpfs): nothing to read ahead")
    return files


def test_read_ahead_brings_the_files_search_reads_into_the_page_cache(tmp_path):
    files = _cold_files(tmp_path)
    reader.read_ahead(tmp_path).join(timeout=30)
    assert [path.name for path in files if not _in_page_cache(path)] == []


def test_read_ahead_leaves_files_over_half_the_available_memory(tmp_path, monkeypatch):
    files = _cold_files(tmp_path)
    monkeypatch.setattr(reader, "_available", lambda: 2 * (16 << 20) + 1)  # room for the first file only
    reader.read_ahead(tmp_path).join(timeout=30)
    assert [_in_page_cache(path) for path in files] == [True, False, False]


# --- Dnr and § lookup ----------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["KS 2023/651", "2023-00651", "KS-2023/00651", "Dnr KS-2023-00651", "diarienr 2023/651"])
def test_dnr_in_any_spelling_finds_the_umea_memo_first(searcher, query):
    hits = searcher.search(searcher.read(query), k=5).hits
    assert hits, query
    first = hits[0].passage
    assert first.doc_id == UMEA
    assert first.dnr == "KS-2023-00651"


@pytest.mark.parametrize("query", ["KS-25/00213", "KS 2025/213"])
def test_norsjo_dnr_finds_paragraf_27_first(searcher, query):
    first = searcher.search(searcher.read(query), k=5).hits[0].passage
    assert first.doc_id == NORSJO
    assert first.paragraf == "§ 27"
    assert parse(first.dnr).key == "2025-00213"


def test_paragraf_query_finds_kalix_paragraf_231_first(searcher):
    first = searcher.search(searcher.read("§ 231"), k=5).hits[0].passage
    assert first.doc_id == KALIX_PROTOKOLL
    assert first.paragraf == "§ 231"


# --- filters -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kommun", ["norsjo", "NORSJÖ", "Norsjö"])
def test_kommun_filter_is_case_and_diacritic_insensitive(searcher, kommun):
    hits = searcher.search(searcher.read("budget och ekonomi"), k=15, filters=Filters(kommun=kommun)).hits
    assert len(hits) == 15
    assert {h.passage.kommun for h in hits} == {"Norsjö"}


@pytest.mark.parametrize("kommun", ["Umeå", "Norsjö", "Luleå"])
def test_kommun_named_in_the_query_leads_without_a_filter(searcher, kommun):
    """Internkontroll is in three kommuner's records; naming one puts its records first."""
    hits = searcher.search(searcher.read(f"internkontroll {kommun}"), 3).hits
    assert hits[0].passage.kommun == kommun


def test_kommun_filter_spellings_give_identical_results(searcher):
    results = [
        [h.passage.chunk_id for h in searcher.search(searcher.read("budget"), k=10, filters=Filters(kommun=k)).hits]
        for k in ("norsjo", "NORSJÖ", "Norsjö")
    ]
    assert results[0] and results[0] == results[1] == results[2]


def test_organ_filter(searcher):
    hits = searcher.search(searcher.read("budget"), k=15, filters=Filters(organ="allmänna utskottet")).hits
    assert hits
    assert {h.passage.organ for h in hits} == {"Allmänna utskottet"}


def test_doc_type_filter_folds_diacritics(searcher):
    hits = searcher.search(searcher.read("motion"), k=15, filters=Filters(doc_type="tjansteskrivelse")).hits
    assert len(hits) == 15
    assert {h.passage.doc_type for h in hits} == {"tjänsteskrivelse"}


def test_date_filters_restrict_every_hit(searcher):
    hits = searcher.search(searcher.read("budget"), k=20, filters=Filters(date_from="2024-01-01", date_to="2024-12-31")).hits
    assert hits
    assert all(h.passage.date is not None and "2024-01-01" <= h.passage.date <= "2024-12-31" for h in hits)

    later = searcher.search(searcher.read("budget"), k=20, filters=Filters(date_from="2025-01-01")).hits
    assert later and all(h.passage.date >= "2025-01-01" for h in later)

    earlier = searcher.search(searcher.read("budget"), k=20, filters=Filters(date_to="2023-12-31")).hits
    assert earlier and all(h.passage.date <= "2023-12-31" for h in earlier)


def test_date_bounds_are_inclusive(searcher):
    hits = searcher.search(searcher.read("budget"), k=10, filters=Filters(date_from="2025-02-25", date_to="2025-02-25")).hits
    assert hits
    assert {h.passage.date for h in hits} == {"2025-02-25"}


def test_dnr_filter_in_any_spelling(searcher):
    for spelling in ("KS 2023/651", "2023-00651", "KS-2023/00651"):
        hits = searcher.search(searcher.read("budget"), k=30, filters=Filters(dnr=spelling)).hits
        assert hits, spelling
        for h in hits:
            own = h.passage.dnr is not None and parse(h.passage.dnr).key == "2023-00651"
            assert own or "2023-00651" in json.loads(h.passage.mentions), h.passage.chunk_id


def test_paragraf_filter(searcher):
    for spelling in ("231", "§ 231", "§231"):
        hits = searcher.search(searcher.read("budget"), k=30, filters=Filters(paragraf=spelling)).hits
        assert hits, spelling
        assert {h.passage.paragraf for h in hits} == {"§ 231"}
        assert {h.passage.doc_id for h in hits} == {KALIX_PROTOKOLL}


@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_filter_restricts_candidates_before_the_top_k_cut(searcher, mode):
    query = "budgetdirektiv och tidplan till nämnderna"
    unfiltered = searcher.search(searcher.read(query), k=10, mode=mode).hits
    assert sum(h.passage.kommun == "Norsjö" for h in unfiltered) < 5  # the best hits are elsewhere
    filtered = searcher.search(searcher.read(query), k=10, filters=Filters(kommun="Norsjö"), mode=mode).hits
    assert len(filtered) == 10
    assert {h.passage.kommun for h in filtered} == {"Norsjö"}


def test_filter_with_a_dnr_query_keeps_the_filter(searcher):
    hits = searcher.search(searcher.read("KS 2023/651"), k=5, filters=Filters(kommun="Norsjö")).hits
    assert hits and {h.passage.kommun for h in hits} == {"Norsjö"}


@pytest.mark.parametrize("mode", ["hybrid", "lexical", "dense"])
@pytest.mark.parametrize(
    "filters",
    [Filters(kommun="Stockholm"), Filters(kommun="Norsjö", doc_type="kallelse"), Filters(date_from="2030-01-01")],
)
def test_empty_filter_result_returns_no_hits(searcher, filters, mode):
    result = searcher.search(searcher.read("budget KS 2023/651 § 231"), k=10, filters=filters, mode=mode)
    assert result.hits == []


# --- modes ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["hybrid", "lexical", "dense"])
def test_every_mode_returns_ranked_results(searcher, mode):
    result = searcher.search(searcher.read("budgetdirektiv och tidplan"), k=5, mode=mode)
    assert len(result.hits) == 5
    assert [h.rank for h in result.hits] == [1, 2, 3, 4, 5]
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    assert len({h.passage.row for h in result.hits}) == 5


def test_unknown_mode_is_refused(searcher):
    with pytest.raises(ValueError):
        searcher.search(searcher.read("budget"), mode="fuzzy")


def test_rrf_fusion_also_finds_dnr_first(corpus_index, embedder, analyzer):
    s = Searcher(Store(corpus_index).current(), embedder, analyzer, recipe=Recipe(fusion="rrf"))
    try:
        first = s.search(s.read("KS 2023/651"), k=3).hits[0].passage
    finally:
        s.close()
    assert first.doc_id == UMEA and first.dnr == "KS-2023-00651"


def test_searcher_refuses_an_index_built_with_another_model(corpus_index, embedder, analyzer):
    version = Store(corpus_index).current()
    other = Version(version.name, version.path, {**version.manifest, "model": "0123456789abcdef"}, True)
    with pytest.raises(ValueError, match="model"):
        Searcher(other, embedder, analyzer)


# --- the JSON contract ---------------------------------------------------------------------------------


def test_search_json_prints_one_object_with_the_contract_fields(corpus_index, ingested, capsys):
    code = main(["search", "KS 2023/651", "--index", str(corpus_index), "--json", "--k", "3"])
    out = capsys.readouterr().out
    assert code == 0
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert set(data) == {"query", "index_version", "hits", "trace_id"}
    assert data["query"] == "KS 2023/651"
    assert data["index_version"] == Store(corpus_index).current().name
    assert len(data["hits"]) == 3
    for rank, hit in enumerate(data["hits"], 1):
        assert set(hit) == CONTRACT_FIELDS | {"likely_relevant"}
        assert isinstance(hit["likely_relevant"], bool)
        assert hit["rank"] == rank
        assert isinstance(hit["score"], float)
        start, end = hit["span"]
        assert ingested[hit["doc_id"]].document.text[start:end] == hit["text"]
    first = data["hits"][0]
    assert first["doc_id"] == UMEA and first["dnr"] == "KS-2023-00651" and first["dnr_as_written"] == "KS-2023/00651"
    assert first["kommun"] == "Umeå" and first["doc_type"] == "tjänsteskrivelse"


def test_search_queries_file_prints_one_object_per_line_in_order(corpus_index, tmp_path, capsys):
    queries = tmp_path / "queries.jsonl"
    queries.write_text(
        "\n".join([
            json.dumps({"question": "budget", "filters": {"kommun": "norsjo"}}, ensure_ascii=False),
            "§ 231",
            "",
            json.dumps({"question": "motion", "filters": {"doc_type": "tjansteskrivelse", "date_from": "2024-05-01"}}),
            "KS-25/00213",
        ]) + "\n",
        encoding="utf-8",
    )
    code = main(["search", "--queries", str(queries), "--index", str(corpus_index), "--json", "--k", "4"])
    out = capsys.readouterr().out
    assert code == 0
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 4
    results = [json.loads(line) for line in lines]
    assert [r["query"] for r in results] == ["budget", "§ 231", "motion", "KS-25/00213"]
    assert {h["kommun"] for h in results[0]["hits"]} == {"Norsjö"}
    assert results[1]["hits"][0]["paragraf"] == "§ 231" and results[1]["hits"][0]["doc_id"] == KALIX_PROTOKOLL
    assert results[2]["hits"] and all(
        h["doc_type"] == "tjänsteskrivelse" and h["date"] >= "2024-05-01" for h in results[2]["hits"]
    )
    assert results[3]["hits"][0]["paragraf"] == "§ 27" and results[3]["hits"][0]["doc_id"] == NORSJO
    for r in results:
        for hit in r["hits"]:
            assert set(hit) == CONTRACT_FIELDS | {"likely_relevant"}


def test_queries_file_with_unknown_filter_is_an_error(corpus_index, tmp_path, capsys):
    queries = tmp_path / "bad.jsonl"
    queries.write_text(json.dumps({"question": "budget", "filters": {"stad": "Umeå"}}) + "\n")
    assert main(["search", "--queries", str(queries), "--index", str(corpus_index), "--json"]) == 2
    captured = capsys.readouterr()
    assert "stad" in captured.err and captured.out == ""


# --- publishing, interruption, cache --------------------------------------------------------------------


def test_publish_interrupted_before_switching_current_keeps_the_old_version(index_copy, embedder, analyzer, monkeypatch):
    store = Store(index_copy)
    old = store.current().name

    def fail(*args, **kwargs):
        raise OSError("simulated crash before `current` is switched")

    monkeypatch.setattr(store_module.os, "replace", fail)
    with pytest.raises(OSError, match="simulated"):
        _republish(index_copy, embedder, analyzer, note="interrupted")
    monkeypatch.undo()

    assert store.current().name == old
    s = _searcher(index_copy, embedder, analyzer)
    try:
        hits = s.search(s.read("KS 2023/651"), k=3).hits
    finally:
        s.close()
    assert hits and hits[0].passage.doc_id == UMEA

    version = _republish(index_copy, embedder, analyzer, note="after the crash")
    assert store.current().name == version.name != old
    assert store.current().manifest["note"] == "after the crash"
    assert not list(store.versions_dir.glob(".building-*"))
    assert not list(index_copy.glob(".current-*"))
    s = _searcher(index_copy, embedder, analyzer)
    try:
        assert s.search(s.read("§ 231"), k=1).hits[0].passage.paragraf == "§ 231"
    finally:
        s.close()


def test_publish_that_fails_while_writing_removes_its_building_folder(index_copy, embedder, analyzer, monkeypatch):
    """An exception after the manifest is written, before the folder is renamed into place: the folder goes
    on the way out and the old version keeps serving."""
    store = Store(index_copy)
    old = store.current().name

    def fail(*args, **kwargs):
        raise OSError("simulated crash while flushing the new version")

    monkeypatch.setattr(store_module, "_fsync_tree", fail)
    with pytest.raises(OSError, match="simulated"):
        _republish(index_copy, embedder, analyzer, note="interrupted")
    monkeypatch.undo()

    assert not list(store.versions_dir.glob(".building-*"))
    assert store.current().name == old and [v.name for v in store.versions()] == [old]


def _killed_after_the_manifest(store: Store) -> Path:
    """What a process killed while flushing a new version leaves: a `.building-*` folder with a manifest."""
    folder = store.building_folder()
    shutil.copytree(store.current().path, folder, dirs_exist_ok=True)
    return folder


def test_half_written_version_is_neither_listed_nor_a_rollback_target_and_the_next_writer_removes_it(
    index_copy, embedder, analyzer
):
    """A `.building-*` folder with a manifest is not a version: `versions` must not list it and `rollback`
    must not make it current (the next writer deletes it, which would leave `current` dangling)."""
    store = Store(index_copy)
    old = store.current().name
    abandoned = _killed_after_the_manifest(store)

    assert [v.name for v in store.versions()] == [old]
    with pytest.raises(store_module.VersionError):
        store.rollback(abandoned.name)
    assert store.current().name == old

    version = _republish(index_copy, embedder, analyzer, note="after the kill")
    assert store.current().name == version.name
    assert not abandoned.exists() and not list(store.versions_dir.glob(".building-*"))


def test_republishing_unchanged_entries_encodes_nothing(index_copy, embedder, analyzer):
    store = Store(index_copy)
    old = store.current()
    before = embedder.encoded
    version = _republish(index_copy, embedder, analyzer, note="unchanged")
    assert embedder.encoded == before
    assert version.manifest["encoded"] == 0
    assert version.name != old.name and store.current().name == version.name
    assert version.manifest["chunks"] == old.manifest["chunks"]
    assert version.manifest["documents"] == old.manifest["documents"]


NEW_DOCUMENT = """Protokoll
Kommunstyrelsen
Sammanträdesdatum 2024-03-04

§ 12 Dnr KS-2024/00912

Upprustning av badplatsen vid Ostsjön

Beskrivning av ärendet
Badplatsen vid Ostsjön har slitna bryggor och en trasig sandstrand. Fritidsförvaltningen föreslår att
bryggorna byts ut under våren och att sandstranden fylls på inför badsäsongen.

Beslut
Kommunstyrelsen beslutar att avsätta 250 000 kr till nya bryggor vid Ostsjön.

§ 13 Dnr KS-2024/00913

Vinterväghållning av skoterleden mot Gråträsk

Beskrivning av ärendet
Skoterklubben Gråträsk Snöfräsare ansöker om bidrag för att preparera leden mellan byn och sjön.

Beslut
Kommunstyrelsen beslutar att bevilja skoterklubben 18 000 kr för säsongen.
"""


def test_adding_one_document_encodes_only_its_chunks(index_copy, embedder, analyzer, model_dir, tmp_path):
    path = tmp_path / "ostsjo-kommunstyrelsen-protokoll-2024-03-04.txt"
    path.write_text(NEW_DOCUMENT, encoding="utf-8")
    new = ingest_file(path, model_dir, MAX_BYTES)
    assert new.chunks
    new_texts = {text_hash(indexed_text(c)) for c in new.chunks}

    store = Store(index_copy)
    old = store.current()
    with store.writing():
        entries = current_entries(store) + [Entry(new.document, new.chunks, text_hash(new.document.text))]
        before = embedder.encoded
        version = publish(store, entries, embedder, analyzer, "add one", keep=5)
        encoded = embedder.encoded - before

    assert encoded == len(new_texts)
    assert version.manifest["encoded"] == len(new_texts)
    assert version.manifest["chunks"] == old.manifest["chunks"] + len(new.chunks)
    assert encoded < old.manifest["chunks"]

    s = _searcher(index_copy, embedder, analyzer)
    try:
        first = s.search(s.read("bryggor vid Ostsjön"), k=3).hits[0].passage
        dnr = s.search(s.read("KS 2024/912"), k=3).hits[0].passage
        old_doc = s.search(s.read("KS 2023/651"), k=1).hits[0].passage
    finally:
        s.close()
    assert first.doc_id == path.stem
    assert dnr.doc_id == path.stem and dnr.paragraf == "§ 12"
    assert old_doc.doc_id == UMEA


def test_current_entries_round_trip_the_indexed_texts(corpus_index, ingested):
    """What a new version starts from must reproduce the same model input, or the cache would miss."""
    entries = {e.document.doc_id: e for e in current_entries(Store(corpus_index))}
    assert set(entries) == set(ingested)
    for doc_id, fresh in ingested.items():
        stored = entries[doc_id].chunks
        assert [indexed_text(c) for c in stored] == [indexed_text(c) for c in fresh.chunks]
        assert [c.span for c in stored] == [c.span for c in fresh.chunks]
        assert entries[doc_id].document.text == fresh.document.text


# --- versions, rollback, remove ------------------------------------------------------------------------


def test_rollback_switches_current_and_versions_marks_it(index_copy, embedder, analyzer, capsys):
    store = Store(index_copy)
    first = store.current().name
    without_umea = [e for e in current_entries(store) if e.document.doc_id != UMEA]
    second = _republish(index_copy, embedder, analyzer, entries=without_umea, note="without umea").name

    def listed():
        assert main(["versions", "--index", str(index_copy)]) == 0
        lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
        return {line[1:].split()[0]: line[0] == "*" for line in lines}

    assert listed() == {first: False, second: True}

    s = _searcher(index_copy, embedder, analyzer)
    try:
        assert all(h.passage.doc_id != UMEA for h in s.search(s.read("KS 2023/651"), k=10).hits)
    finally:
        s.close()

    assert main(["rollback", first, "--index", str(index_copy)]) == 0
    capsys.readouterr()
    assert store.current().name == first
    assert listed() == {first: True, second: False}
    s = _searcher(index_copy, embedder, analyzer)
    try:
        assert s.search(s.read("KS 2023/651"), k=1).hits[0].passage.doc_id == UMEA
    finally:
        s.close()

    assert main(["rollback", "v9999", "--index", str(index_copy)]) == 1
    assert "v9999" in capsys.readouterr().err
    assert store.current().name == first


def test_remove_leaves_no_trace_of_the_document(index_copy, embedder, analyzer, ingested, capsys):
    store = Store(index_copy)
    first = store.current().name
    # an older version holding the document and a second one, so removal has history to purge
    second = _republish(index_copy, embedder, analyzer, note="second").name
    markers = ["Kollektivtrafikplan", "Holmgren"]
    for other, i in ingested.items():
        if other != NORSJO:
            assert not any(m.lower() in i.document.text.lower() for m in markers)

    assert main(["remove", NORSJO, "--index", str(index_copy), "--yes"]) == 0
    capsys.readouterr()

    current = store.current()
    assert current.name not in (first, second)
    assert [v.name for v in store.versions()] == [current.name]
    assert current.manifest["documents"] == len(ingested) - 1

    meta = Metadata.load(current.path)
    try:
        assert NORSJO not in meta.document_ids()
        assert meta.db.execute("SELECT COUNT(*) FROM chunks WHERE doc_id = ?", (NORSJO,)).fetchone()[0] == 0
        kept_hashes = {r[0] for r in meta.db.execute("SELECT text_hash FROM chunks")}
    finally:
        meta.close()

    s = _searcher(index_copy, embedder, analyzer)
    try:
        for query, filters in [
            ("Kollektivtrafikplan 2025-2028", Filters()),
            ("KS-25/00213", Filters()),
            ("Lars-Åke Holmgren justerare", Filters()),
            ("budget", Filters(kommun="Norsjö")),
        ]:
            for mode in ("hybrid", "lexical", "dense"):
                assert all(h.passage.doc_id != NORSJO for h in s.search(s.read(query), k=20, filters=filters, mode=mode).hits)
    finally:
        s.close()

    # no stored text of the document anywhere under the index folder
    for path in index_copy.rglob("*"):
        if path.is_file():
            data = path.read_bytes().lower()
            for marker in markers:
                assert marker.lower().encode() not in data, f"{marker} still stored in {path}"

    # the embedding cache keeps only vectors the remaining version uses
    with sqlite3.connect(index_copy / build.CACHE) as db:
        cached = {r[0] for r in db.execute("SELECT hash FROM vectors")}
    assert cached <= kept_hashes

    for name in (first, second):
        assert main(["rollback", name, "--index", str(index_copy)]) == 1
        capsys.readouterr()
    assert store.current().name == current.name


def test_remove_unknown_document_changes_nothing(index_copy, capsys):
    store = Store(index_copy)
    before = [v.name for v in store.versions()]
    assert main(["remove", "no-such-document", "--index", str(index_copy)]) == 1
    assert "no-such-document" in capsys.readouterr().err
    assert [v.name for v in store.versions()] == before

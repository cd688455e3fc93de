"""The command line explains itself: ranges, valid filter values, confirmations, and answers that need no model."""

from __future__ import annotations

import pytest

from protokollsok.cli import main
from protokollsok.indexes import embed
from protokollsok.indexes.store import Store

NORSJO = "norsjo-allmanna-utskottet-protokoll-2025-02-25"


@pytest.fixture
def no_model(monkeypatch):
    """Fails the test if anything loads the embedding model."""

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded for an error that needs none")

    monkeypatch.setattr(embed.Embedder, "__init__", refuse)


@pytest.mark.parametrize("k", ["0", "51", "tio"])
def test_k_out_of_range_is_refused(corpus_index, capsys, k):
    with pytest.raises(SystemExit) as exit:
        main(["search", "budget", "--k", k, "--index", str(corpus_index)])
    assert exit.value.code == 2 and "1–50" in capsys.readouterr().err


def test_unknown_filter_value_lists_what_exists_without_loading_the_model(corpus_index, capsys, no_model):
    assert main(["search", "budget", "--kommun", "Göteborg", "--index", str(corpus_index)]) == 2
    err = capsys.readouterr().err
    assert "Göteborg" in err and "Kalix, Luleå, Norsjö, Umeå" in err


def test_long_question_is_refused_with_the_limit(corpus_index, capsys, no_model, monkeypatch):
    monkeypatch.setenv("PROTOKOLLSOK_MAX_QUERY_CHARS", "100")
    assert main(["ask", "budget " * 40, "--index", str(corpus_index)]) == 2
    err = capsys.readouterr().err
    assert "limit is 100" in err and "budget budget budget" not in err


def test_missing_index_and_empty_question_answer_at_once(tmp_path, capsys, no_model):
    for command in (["search", "budget"], ["serve"], ["eval", "eval/dev.jsonl"], ["facets"]):
        assert main([*command, "--index", str(tmp_path / "inget")]) == 2
        assert "no index has been published" in capsys.readouterr().err
    assert main(["ask", "   ", "--index", str(tmp_path / "inget")]) == 2
    assert "give a QUESTION" in capsys.readouterr().err


def test_facets_lists_valid_filter_values(corpus_index, capsys, no_model):
    assert main(["facets", "--index", str(corpus_index)]) == 0
    out = capsys.readouterr().out
    assert "Kalix, Luleå, Norsjö, Umeå" in out and "tjänsteskrivelse" in out and "2023-12-11 – 2025-12-15" in out


def test_remove_asks_before_it_deletes(index_copy, capsys, monkeypatch):
    before = Store(index_copy).current().name
    monkeypatch.setattr("builtins.input", lambda prompt: "nej")
    assert main(["remove", NORSJO, "--index", str(index_copy)]) == 1
    out = capsys.readouterr().out
    assert "Older versions that hold them are deleted" in out and "nothing was changed" in out
    assert Store(index_copy).current().name == before


def test_rollback_takes_a_plain_number(index_copy, capsys, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda prompt: "ja")
    assert main(["remove", NORSJO, "--index", str(index_copy)]) == 0
    store = Store(index_copy)
    assert store.current().name == "v0002"
    assert main(["rollback", "1", "--index", str(index_copy)]) == 1  # v0001 held the removed record: deleted
    assert "v0001" in capsys.readouterr().err
    assert main(["rollback", "2", "--index", str(index_copy)]) == 0
    assert "v0002 is current" in capsys.readouterr().out


def test_folder_with_unsupported_files_names_them(tmp_path, capsys):
    folder = tmp_path / "arkiv"
    folder.mkdir()
    (folder / "bilaga.xyz").write_text("inte ett protokoll", encoding="utf-8")
    (folder / "tabell.xlsx").write_bytes(b"PK\x03\x04")
    assert main(["ingest", str(folder), "--index", str(tmp_path / "index")]) == 1
    err = capsys.readouterr().err
    assert "bilaga.xyz: skipped" in err and "tabell.xlsx: skipped" in err and "no record to ingest" in err


def test_missing_path_is_named_once(tmp_path, capsys):
    assert main(["ingest", str(tmp_path / "finns-inte.pdf"), "--index", str(tmp_path / "index")]) == 1
    captured = capsys.readouterr()
    assert "finns-inte.pdf: no such file" in captured.err and "nothing new to index" not in captured.out


def test_same_record_under_another_name_is_not_indexed_twice(tmp_path, capsys):
    from samples import TEXT

    first = tmp_path / "kalix-kommunstyrelsen-protokoll-2023-12-11.txt"
    copy = tmp_path / "kopia-av-protokollet.txt"
    other = tmp_path / "kalix-kommunstyrelsen-protokoll-2024-01-15.txt"
    first.write_text(TEXT, encoding="utf-8")
    copy.write_text(TEXT, encoding="utf-8")
    other.write_text(TEXT.replace("internbudget", "investeringsbudget").replace("§ 225", "§ 5"), encoding="utf-8")
    index = str(tmp_path / "index")
    assert main(["ingest", str(first), "--index", index]) == 0
    capsys.readouterr()
    assert main(["ingest", str(copy), "--index", index]) == 1
    err = capsys.readouterr().err
    assert "kopia-av-protokollet.txt: the same record as 'kalix-kommunstyrelsen-protokoll-2023-12-11'" in err
    assert main(["ingest", str(copy), str(other), "--index", index]) == 0  # something else was ingested
    assert Store(tmp_path / "index").current().manifest["documents"] == 2


def test_search_never_shows_two_identical_hits(tmp_path, embedder, analyzer, ingested):
    from protokollsok.indexes.build import Entry, publish
    from protokollsok.indexes.search import Searcher

    original = ingested[NORSJO]
    twin = type(original.document)(**{**vars(original.document), "doc_id": "norsjo-kopia"})
    twin_chunks = [
        type(c)(**{**vars(c), "doc_id": "norsjo-kopia", "chunk_id": c.chunk_id.replace(NORSJO, "norsjo-kopia")})
        for c in original.chunks
    ]
    store = Store(tmp_path / "index")
    with store.writing():
        publish(
            store,
            [Entry(original.document, original.chunks, "a"), Entry(twin, twin_chunks, "b")],
            embedder,
            analyzer,
            "twins",
            keep=1,
        )
    searcher = Searcher(store.current(), embedder, analyzer)
    try:
        for query in ("Kollektivtrafikplan 2025-2028", "KS-25/00213", "justerare"):
            hits = searcher.search(searcher.read(query), k=10).hits
            texts = [(h.passage.title, h.passage.text) for h in hits]
            assert len(hits) == 10 and len(set(texts)) == len(texts), query
    finally:
        searcher.close()


def test_every_option_of_every_command_has_help():
    import argparse

    from protokollsok.cli import _parser

    parser = _parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        for action in sub._actions:
            if (
                action.option_strings
                and action.dest != "help"
                or action.dest in ("query", "paths", "file", "version", "doc_ids", "trace_id", "questions")
            ):
                assert action.help, f"{name} {action.option_strings or action.dest} has no --help text"

"""The synonym list: loading, matching words and phrases in any inflection, its weight in search, bad lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from protokollsok.cli import main
from protokollsok.indexes.search import Searcher
from protokollsok.indexes.store import Store
from protokollsok.indexes.synonyms import DEFAULT, Synonyms, SynonymsError


def _list(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "synonyms.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_list_loads_and_every_group_matches_itself(analyzer):
    synonyms = Synonyms.load(DEFAULT, analyzer)
    assert len(synonyms.groups) > 100
    for group in synonyms.groups:
        assert len(group) >= 2 and all(member.tokens for member in group)


def test_compound_part_in_the_query_matches_a_one_word_member(tmp_path, analyzer):
    synonyms = Synonyms.load(_list(tmp_path, "friskvård, träningsbidrag\n"), analyzer)
    query = "Hur mycket kostade friskvårdsbidraget?"
    assert "träningsbidrag" in synonyms.expand(query, analyzer.tokens(query, typed=True))


def test_phrase_matches_in_any_inflection_but_not_word_by_word(tmp_path, analyzer):
    synonyms = Synonyms.load(_list(tmp_path, "# personal\npersonalomsättning, säga upp sig\n\n"), analyzer)
    inflected = "Hur många anställda säger upp sig?"
    unrelated = "Säger rapporten att priset går upp av sig självt?"  # the words, apart
    assert "personalomsättning" in synonyms.expand(inflected, analyzer.tokens(inflected, typed=True))
    assert synonyms.expand(unrelated, analyzer.tokens(unrelated, typed=True)) == []


def test_expansion_leaves_out_tokens_the_query_already_has(tmp_path, analyzer):
    synonyms = Synonyms.load(_list(tmp_path, "underskott, negativ budgetavvikelse\n"), analyzer)
    query = "negativ budgetavvikelse 2023"
    extra = synonyms.expand(query, analyzer.tokens(query, typed=True))
    assert extra == analyzer.tokens("underskott")
    assert not set(extra) & set(analyzer.tokens(query, typed=True))


def test_synonym_finds_the_records_own_word(corpus_index, embedder, analyzer, tmp_path):
    version = Store(corpus_index).current()
    query = "Vilken hästklubb nämns?"
    plain = _search(Searcher(version, embedder, analyzer), query, 5).hits
    assert "Ryttarförening" not in plain[0].passage.text
    synonyms = Synonyms.load(_list(tmp_path, "hästklubb, ryttarförening\n"), analyzer)
    expanded = _search(Searcher(version, embedder, analyzer, synonyms), query, 5).hits
    assert "Ryttarförening" in expanded[0].passage.text


def test_word_typed_outranks_its_synonym(tmp_path, corpus_index, embedder, analyzer):
    """A chunk with the record's own word stays first when the query uses that word."""
    version = Store(corpus_index).current()
    synonyms = Synonyms.load(_list(tmp_path, "hästklubb, ryttarförening\n"), analyzer)
    hits = _search(Searcher(version, embedder, analyzer, synonyms), "ryttarförening miljöcertifiering", 3).hits
    assert "Ryttarförening" in hits[0].passage.text


@pytest.mark.parametrize(
    "text, problem",
    [
        ("budget\n", "two or more"),
        ("underskott => budgetavvikelse\n", "'=>'"),
        ("och, samt\n", "only stopwords"),
    ],
)
def test_bad_line_names_file_and_line(tmp_path, analyzer, text, problem):
    path = _list(tmp_path, "# comment\n" + text)
    with pytest.raises(SynonymsError) as error:
        Synonyms.load(path, analyzer)
    assert f"{path}:2" in str(error.value) and problem in str(error.value)


def test_unreadable_list_is_a_clear_error(tmp_path, analyzer):
    path = tmp_path / "latin1.txt"
    path.write_bytes("häst, ryttare\n".encode("cp1252"))
    with pytest.raises(SynonymsError, match="PROTOKOLLSOK_SYNONYMS"):
        Synonyms.load(path, analyzer)
    with pytest.raises(SynonymsError, match="missing.txt"):
        Synonyms.load(tmp_path / "missing.txt", analyzer)


def test_cli_takes_the_list_from_the_environment(corpus_index, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PROTOKOLLSOK_SYNONYMS", str(_list(tmp_path, "hästklubb, ryttarförening\n")))
    assert main(["search", "Vilken hästklubb fick pengar?", "--index", str(corpus_index), "--json", "--k", "1"]) == 0
    assert "Ryttarförening" in json.loads(capsys.readouterr().out)["hits"][0]["text"]

    monkeypatch.setenv("PROTOKOLLSOK_SYNONYMS", str(_list(tmp_path, "hästklubb\n")))
    assert main(["search", "hästklubb", "--index", str(corpus_index), "--json"]) == 2
    assert "synonyms.txt:1" in capsys.readouterr().err


def test_empty_list_expands_nothing(tmp_path, analyzer):
    synonyms = Synonyms.load(_list(tmp_path, "# no groups\n"), analyzer)
    assert synonyms.groups == [] and synonyms.expand("gå back", analyzer.tokens("gå back", typed=True)) == []


def _search(searcher: Searcher, query: str, k: int):
    return searcher.search(searcher.read(query), k)

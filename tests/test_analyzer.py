"""The Swedish analyser: what a query and a record must share for BM25 to meet them."""

from __future__ import annotations

import pytest


def test_lower_case_keeps_swedish_letters_and_drops_stopwords(analyzer):
    tokens = analyzer.tokens("Överförmyndaren och Älvsbyn")
    assert tokens and all(t == t.lower() for t in tokens)
    assert any(t.startswith("överförmynd") for t in tokens) and any(t.startswith("älvsby") for t in tokens)
    assert "och" not in tokens


def test_compound_yields_its_parts(analyzer):
    tokens = analyzer.tokens("budgetdirektiv")
    assert analyzer.tokens("budget")[0] in tokens and analyzer.tokens("direktiv")[0] in tokens


def test_coordinated_compound_is_completed(analyzer):
    tokens = analyzer.tokens("Kommunstyrelsens arbets- och personalutskott")
    assert analyzer.tokens("arbetsutskott")[0] in tokens
    assert analyzer.tokens("personalutskott")[0] in tokens


@pytest.mark.parametrize(
    "forms",
    [
        ("utskott", "utskottet", "utskottets"),
        ("ärende", "ärendet", "ärendets"),
        ("protokoll", "protokollet"),
        ("taxa", "taxan", "taxans"),
        ("kostnad", "kostnaden", "kostnader"),
        ("frånvaro", "frånvaron"),
    ],
)
def test_inflected_forms_meet(analyzer, forms):
    assert len({tuple(analyzer.tokens(f)) for f in forms}) == 1, {f: analyzer.tokens(f) for f in forms}


@pytest.mark.parametrize("word, base", [("planens", "plan"), ("revisionens", "revision"), ("budgetens", "budget")])
def test_genitive_ending_is_not_a_compound_part(analyzer, word, base):
    assert analyzer.tokens(word) == analyzer.tokens(base)


def test_dnr_spellings_and_paragraf_become_one_token(analyzer):
    record = analyzer.tokens("Diarienr: KS-2023/00651 § 218")
    for typed in ("KS 2023/651", "2023-00651", "ks-2023-00651", "dnr 2023:651"):
        assert set(analyzer.tokens(typed, typed=True)) & set(record) >= {"dnr:2023-00651"}
    assert "§218" in record and "§218" in analyzer.tokens("paragraf § 218", typed=True)

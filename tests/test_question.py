"""A question is read once (indexes/question.py): what it names and asks for, and that search, evidence and
answers all take that one reading."""

from __future__ import annotations

import pytest

from protokollsok.indexes.question import Vocabulary
from protokollsok.indexes.synonyms import DEFAULT, Synonyms
from protokollsok.indexes.store import Store
from protokollsok.service.query import Queries

KOMMUNER = ["kalix", "lulea", "norsjo", "umea"]


@pytest.fixture(scope="module")
def vocabulary(analyzer) -> Vocabulary:
    return Vocabulary(analyzer, Synonyms.load(DEFAULT, analyzer), KOMMUNER)


def test_a_question_names_its_case_paragraf_kommun_and_year(vocabulary):
    q = vocabulary.question("Vad beslutade kommunfullmäktige i Kalix om KS 2024/651 och paragraf 218 år 2024?")
    assert q.dnr_keys == ("2024-00651",)
    assert q.paragrafer == ("§ 218",)
    assert q.kommuner == {"kalix"}
    assert q.acting_kommuner == {"Kalix"}
    assert q.organs == {"fullmäktige"}
    assert q.years == {"2024"}
    assert q.decision


def test_another_kommun_acting_is_named_though_not_indexed(vocabulary):
    q = vocabulary.question("Hur mycket har Piteå kommun sparat sedan de gick över till e-handel?")
    assert q.kommuner == frozenset() and q.acting_kommuner == {"Piteå"}
    assert q.named_kommuner == {"pitea"}
    assert q.kinds == {"belopp"}
    assert not q.decision


@pytest.mark.parametrize(
    "text, kinds",
    [
        ("Hur många platser finns?", {"antal"}),
        ("Hur mycket kostar skolskjutsen?", {"belopp"}),
        ("Vilken ränta fick lånet?", {"andel"}),
        ("När ska budgeten antas?", {"datum"}),
        ("Vem var ordförande?", {"person"}),
        ("Varför ökade sjukfrånvaron?", {"orsak"}),
        ("Vad handlar ärendet om?", set()),
        ("Vilka besparingar räknar enheten med när inköpen digitaliseras?", set()),
        ("Vilket datum klubbas budgeten, och när behandlar styrelsen den?", {"datum"}),
        ("Vad är den totala budgeten för förstudien?", {"belopp"}),
    ],
)
def test_one_answer_kind_table_for_search_and_evidence(vocabulary, text, kinds):
    """`Hur många` asks for a count for both: search once led with amounts while evidence required a count."""
    assert vocabulary.question(text).kinds == kinds


def test_the_words_that_frame_a_question_are_told_from_its_topic(vocabulary, analyzer):
    """`ska`, `fick` and `nya` are in any Swedish text; `budget` and `leverantörsfakturor` name the topic."""
    q = vocabulary.question("När ska det nya systemet för leverantörsfakturor vara igång, och fick budgeten räcka?")
    assert {analyzer.tokens(w)[0] for w in ("ska", "nya", "fick")} <= q.frame
    assert q.frame.isdisjoint(analyzer.tokens("systemet leverantörsfakturor budgeten igång"))


def test_a_region_named_as_a_place_is_read_as_one(vocabulary):
    q = vocabulary.question("Vad svarade Norsjö kommun på remissen om klimatstrategi för Norrbotten?")
    assert q.places == {"Norrbotten"} and q.acting_kommuner == {"Norsjö"}


def test_bm25_terms_weigh_synonyms_below_words_typed(vocabulary, analyzer):
    q = vocabulary.question("Vilken negativ budgetavvikelse prognostiseras?")
    terms = q.terms(0.5)
    assert all(terms[t] >= 1.0 for t in analyzer.tokens(q.text, typed=True))
    extra = {t for t, w in terms.items() if w == 0.5}
    assert extra and extra.isdisjoint(q.tokens)


def test_one_ask_reads_the_question_once(corpus_index, embedder, analyzer, monkeypatch):
    """Search, evidence and answers take the one Question; none of them reads the text again."""
    queries = Queries.open(Store(corpus_index).current(), embedder, analyzer, Synonyms.load(DEFAULT, analyzer), {})
    reads = []
    original = analyzer.tokens

    def counting(text, typed=False):
        if typed:
            reads.append(text)
        return original(text, typed)

    monkeypatch.setattr(analyzer, "tokens", counting)
    try:
        answer = queries.answerer.ask(queries.read("Vad beslutade kommunstyrelsen om e-handel?"))
    finally:
        queries.searcher.close()
    assert answer.sources
    assert reads == ["Vad beslutade kommunstyrelsen om e-handel?"]

"""A case's timeline and the decision in force (issue 22), on real indexes over HTTP and the command line.

tests/cases/ holds synthetic records (indexed by conftest's case_index) of the made-up kommun Exempelby, in the real records' layout:
- Dnr KS-2023/00100, a rule decided, revised, then replaced: the kallelse to 2023-03-27 lists it and carries
  the memo proposing it; fullmäktige decides it 2023-03-27 § 12 (2 kronor a page), revises it 2024-03-25 § 8
  (3 kronor), and replaces it 2025-02-24 § 5 under a new Dnr, KS-2025/00040 (5 kronor), whose decision says
  it "ersätter" the old taxa and names its Dnr; § 6 of the same meeting names that Dnr only in its background
  and "gäller från och med" a date of its own, so it replaces nothing;
- Dnr KS-2024/00077, a proposal that was rejected: allmänna utskottet proposes to approve a medborgarförslag
  2024-02-12 § 14; kommunstyrelsen rejects it 2024-03-04 § 20.
"""

from __future__ import annotations

import json

import httpx
import pytest

from conftest import CASES
from protokollsok.cli import main
from protokollsok.ingest.language import asks_what_applies
from protokollsok.indexes.metadata import Filters
from protokollsok.indexes.search import Searcher
from protokollsok.indexes.store import Store

KALLELSE_2023 = "exempelby-kommunfullmaktige-kallelse-2023-03-27"
DECIDED = "exempelby-kommunfullmaktige-protokoll-2023-03-27"
REVISED = "exempelby-kommunfullmaktige-protokoll-2024-03-25"
REPLACED = "exempelby-kommunfullmaktige-protokoll-2025-02-24"
PROPOSED = "exempelby-allmanna-utskottet-protokoll-2024-02-12"
REJECTED = "exempelby-kommunstyrelsen-protokoll-2024-03-04"
NOTE = f"Beslutet ersattes 2025-02-24 § 5 ({REPLACED})."
NOW = "Vilken avgift gäller för kopiering av allmän handling i Exempelby?"


@pytest.fixture(scope="module")
def api(case_server):
    with httpx.Client(base_url=case_server, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def searcher(case_index, embedder, analyzer):
    s = Searcher(Store(case_index).current(), embedder, analyzer)
    yield s
    s.close()


def _steps(body: dict) -> list[tuple]:
    return [(s["date"], s["kind"], s["doc_id"], s["paragraf"], s["in_force"]) for s in body["steps"]]


def test_a_rule_decided_revised_and_replaced_under_another_dnr(api):
    body = api.get("/api/cases/KS-2023/00100").json()
    assert body["dnr"] == "2023-00100"
    assert _steps(body) == [
        ("2023-02-20", "memo", KALLELSE_2023, None, False),
        ("2023-03-27", "agenda", KALLELSE_2023, None, False),
        ("2023-03-27", "decision", DECIDED, "§ 12", False),
        ("2024-03-25", "decision", REVISED, "§ 8", False),
        ("2025-02-24", "decision", REPLACED, "§ 5", True),
    ]
    by_paragraf = {s["paragraf"]: s for s in body["steps"]}
    for earlier in ("§ 12", "§ 8"):
        later = by_paragraf[earlier]["superseded_by"]
        assert (later["doc_id"], later["paragraf"], later["date"], later["note"]) == (REPLACED, "§ 5", "2025-02-24", NOTE)
    assert by_paragraf["§ 5"]["dnr"] == "KS-2025-00040" and by_paragraf["§ 5"]["superseded_by"] is None
    assert all(s["superseded_by"] is None for s in body["steps"] if s["kind"] != "decision")
    # today's fields are kept: the passages that carry or mention the Dnr, in date order
    assert body["documents"] == [KALLELSE_2023, DECIDED, REVISED, REPLACED]
    assert [p["date"] for p in body["passages"]] == sorted(p["date"] for p in body["passages"])
    # the new case has its own timeline, in which its decision is in force
    assert _steps(api.get("/api/cases/ks 2025/040").json()) == [("2025-02-24", "decision", REPLACED, "§ 5", True)]


def test_a_rejected_proposal_is_never_presented_as_a_decision(api):
    body = api.get("/api/cases/KS-24/00077").json()
    assert _steps(body) == [
        ("2024-02-12", "proposal", PROPOSED, "§ 14", False),
        ("2024-03-04", "decision", REJECTED, "§ 20", True),
    ]
    assert [s["organ"] for s in body["steps"]] == ["Allmänna utskottet", "Kommunstyrelsen"]
    assert body["steps"][0]["superseded_by"] is None  # a proposal is not a decision, so nothing replaces it


def test_case_command_prints_the_api_object_and_a_timeline(api, case_index, capsys):
    assert main(["case", "KS-2023/00100", "--index", str(case_index), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == api.get("/api/cases/2023-00100").json()
    assert main(["case", "KS-2023/00100", "--index", str(case_index)]) == 0
    lines = capsys.readouterr().out.splitlines()
    decided = next(line for line in lines if "§ 12" in line)
    assert decided.split()[:2] == ["2023-03-27", "beslut"] and decided.endswith(NOTE)
    assert next(line for line in lines if "· § 5 ·" in line).endswith("GÄLLER")
    assert sum("GÄLLER" in line for line in lines) == 1
    assert main(["case", "inget diarienummer", "--index", str(case_index)]) == 2
    assert "is not a diarienummer" in capsys.readouterr().err


def test_sample_records_proposals_and_kallelser_are_not_decisions(live_server):
    with httpx.Client(base_url=live_server, timeout=60) as client:

        def steps(dnr: str) -> list[tuple]:
            return [(s["kind"], s["paragraf"], s["in_force"]) for s in client.get(f"/api/cases/{dnr}").json()["steps"]]

        # Norsjö's "Allmänna utskottets förslag till kommunstyrelsen" over "Kommunfullmäktiges beslut"
        assert steps("KS-25/00197") == [("proposal", "§ 42", False)]
        # Kalix § 232 under "Kommunstyrelsens beslut": "Kommunstyrelsen föreslår, att kommunfullmäktige beslutar"
        assert steps("2023-00323") == [("proposal", "§ 232", False)]
        # a § printed in a kallelse is a draft, whatever its heading says
        assert steps("KS-2025-00063") == [("agenda", None, False), ("proposal", "§ 97", False)]
        assert steps("KS-2025-00461") == [("memo", None, False), ("agenda", None, False)]
        assert steps("2023-00495") == [("decision", "§ 228", True)]
        assert client.get("/api/cases/inte-ett-dnr").status_code == 400


QUESTIONS = [json.loads(line) for line in (CASES / "questions.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("question", QUESTIONS, ids=[q["id"] for q in QUESTIONS])
def test_search_puts_the_decision_in_force_first_when_asked_what_applies_now(searcher, question):
    """tests/cases/questions.jsonl: what applies now is answered by the decision in force, ahead of the
    decisions it replaced and the memo that proposed the first; what was decided then, by that decision."""
    gold = question["evidence"][0]
    hits = searcher.search(searcher.read(question["question"]), 5).hits
    assert (hits[0].passage.doc_id, hits[0].passage.paragraf) == (gold["doc"], gold["paragraf"])
    assert asks_what_applies(question["question"]) is (question["type"] == "gallande")
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


def test_filters_keep_a_later_decision_out_of_an_earlier_period(searcher):
    hits = searcher.search(searcher.read(NOW), 5, Filters(date_to="2024-12-31")).hits
    assert hits and all(h.passage.doc_id != REPLACED for h in hits)


def test_the_decision_in_force_is_brought_in_when_search_found_only_a_replaced_one(searcher):
    reader = searcher.reader
    old = next(c for c in reader.chunks(list(range(reader.meta.count()))) if c.doc_id == DECIDED and c.paragraf)
    ranked, chunks = searcher.cases.in_force_first([(old.row, 0.9)], [old], None)
    assert [(c.doc_id, c.section) for c in chunks] == [(REPLACED, "kommunfullmäktiges beslut")]
    assert ranked == [(chunks[0].row, 0.9)]  # as many hits as came in, at the replaced one's score
    ranked, chunks = searcher.cases.in_force_first([(old.row, 0.9), (old.row + 1, 0.5)], [old, old], None)
    assert [c.doc_id for c in chunks] == [REPLACED, DECIDED]
    outside = searcher.cases.in_force_first([(old.row, 0.9)], [old], reader.select(Filters(date_to="2024-12-31")))
    assert outside == ([(old.row, 0.9)], [old])  # the filters keep the later decision out


def test_ask_says_when_a_cited_decision_was_replaced(api, case_index, capsys):
    past = "Vad beslutade kommunfullmäktige i Exempelby 2023 om taxa för kopiering av allmän handling?"
    body = api.post("/api/ask", json={"question": past}).json()
    assert body["answered"] is True
    cited = {s["doc_id"]: s for s in body["sources"]}
    assert cited[DECIDED]["superseded_by"]["note"] == NOTE
    assert cited[DECIDED]["superseded_by"]["paragraf"] == "§ 5"
    assert all(s["superseded_by"] is None for s in body["sources"] if s["doc_id"] == REPLACED)
    assert main(["ask", past, "--index", str(case_index)]) == 0
    assert NOTE in capsys.readouterr().out

    now = api.post("/api/ask", json={"question": NOW}).json()
    assert now["answered"] is True
    assert (now["sources"][0]["doc_id"], now["sources"][0]["paragraf"]) == (REPLACED, "§ 5")


@pytest.mark.parametrize(
    "question, now",
    [
        (NOW, True),
        ("Vad är den nuvarande taxan för kopior?", True),
        ("Hur mycket kostar en kopia av en allmän handling?", True),
        ("Vilken ränta har lånet hos Kommuninvest?", True),
        ("Vad gäller för parkering vid kommunhuset?", True),
        ("Vilken taxa gällde 2023?", False),
        ("Vad beslutade kommunfullmäktige om taxan?", False),
        ("Vad gäller ärende KS-25/00205?", False),  # what the case is about
        ("Vad krävs av en förening när det gäller doping?", False),
        ("Vem utsågs att justera protokollet?", False),
    ],
)
def test_which_questions_ask_what_applies_now(question, now):
    assert asks_what_applies(question) is now

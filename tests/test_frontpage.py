"""A protocol's front page read into fields (ingest/frontpage.py), and front-page questions answered from them."""

from __future__ import annotations

import json

import httpx
import pytest

from protokollsok.cli import main
from protokollsok.ingest.frontpage import chair, read
from protokollsok.service.answers import normalise

NORSJO = "norsjo-allmanna-utskottet-protokoll-2025-02-25"
FRONT = (
    "Plats och tid Stadshuset, måndag den 3 mars kl. 13:00-15:10\n\n"
    "Beslutande Anna Berg (S) ordförande\n\nOlle Lind (M)\n\n"
    "Ersättare Kim Ek (C)\n\n"
    "Övriga deltagande Eva Sten, sekreterare\n\nPer Ås, ekonomichef, § 4\n\n"
    "Utses att justera Olle Lind Paragrafer: 1-9\n\n"
    "Justeringens tid och plats Stadshuset den 5 mars\n\n"
    "Underskrift ........................................\n\nEva Sten, sekreterare\n"
)


def test_the_front_page_is_read_into_its_fields():
    fields = {f.name: FRONT[f.start : f.end] for f in read(FRONT, 0, len(FRONT))}
    assert list(fields) == ["plats_och_tid", "beslutande", "ersattare", "ovriga", "justerare", "paragrafer", "justering"]
    assert fields["justerare"] == "Utses att justera Olle Lind"
    assert fields["paragrafer"] == "Paragrafer: 1-9"
    assert normalise(fields["ovriga"]) == "Övriga deltagande Eva Sten, sekreterare Per Ås, ekonomichef, § 4"
    assert "Underskrift" not in fields["justering"]
    beslutande = next(f for f in read(FRONT, 0, len(FRONT)) if f.name == "beslutande")
    start, end = chair(FRONT, beslutande)
    assert FRONT[start:end] == "Beslutande Anna Berg (S) ordförande"


def test_running_text_with_one_label_is_no_front_page():
    text = "Beslutande organ är kommunstyrelsen, som ska ta ställning till förslaget i april."
    assert read(text, 0, len(text)) == []


def _ask(index, capsys, question: str) -> dict:
    capsys.readouterr()
    assert main(["ask", question, "--index", str(index), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    "question, statement",
    [
        ("Vem utsågs att justera protokollet i Norsjö?", "Utses att justera Lars-Åke Holmgren"),
        ("Vem var ordförande vid allmänna utskottets sammanträde i Norsjö?", "Beslutande Mikael Lindfors (S) ordförande"),
        ("När justerades allmänna utskottets protokoll i Norsjö?", "Justeringens tid och plats Kommunkontoret torsdag den 27 februari"),
    ],
)
def test_front_page_questions_are_answered_from_the_field(corpus_index, ingested, capsys, question, statement):
    answer = _ask(corpus_index, capsys, question)
    assert answer["level"] == "answer"
    assert answer["answer"][0]["text"] == statement
    source = answer["sources"][0]
    assert source["doc_id"] == NORSJO and source["paragraf"] is None
    start, end = source["span"]
    assert ingested[NORSJO].document.text[start:end] == source["quote"]
    assert statement in normalise(source["quote"])


def test_a_front_page_of_another_kommun_does_not_answer(corpus_index, capsys):
    """Kalix's records in the sample have no front page: Norsjö's justerare is not Kalix's."""
    answer = _ask(corpus_index, capsys, "Vem utsågs att justera kommunstyrelsens protokoll i Kalix?")
    assert not any("Lars-Åke Holmgren" in s["text"] for s in answer["answer"] + answer["possible"])


def test_the_document_api_lists_the_front_page_fields(live_server):
    units = httpx.get(f"{live_server}/api/documents/{NORSJO}", timeout=30).json()["units"]
    names = [f["name"] for f in units[0]["fields"]]
    assert names[:2] == ["plats_och_tid", "beslutande"] and "justerare" in names

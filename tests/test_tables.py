"""Tables found in flattened PDF text (ingest/tables.py): rows whole, heads above them, on the records' own shapes."""

from __future__ import annotations

from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from protokollsok.ingest import tables
from protokollsok.ingest.clean import clean
from protokollsok.ingest.partition import partition

# Kalix KS 2023-12-11 § 223, as the clean text holds it: heads over three lines, cells running on.
BUDGET = """Ekonomienheten har upprättat månadsrapport för kommunstyrelsen perioden januari
– oktober 2023.

Kommunstyrelsen

tkr Årsbudget 2023
Prognostiserat
utfall 2023 Budgetavvikelse

Kommunfullmäktige 2 525 2 525 0

Revision       1 308

1 308   0

Arbetsgivarenheten 16 560 17 960
-1 400

Service & kommunikation

8060 7 860

200

Resultat  89 478 91 578
-2 100

Helårsprognos
Ett resultat som innebär en negativ budgetavvikelse med 2,1 mkr prognostiseras
vid årets slut.
"""

# Luleå verksamhetsberättelse 2024, 4 Personalredovisning: one cell a row, a blank line between every line.
SJUKFRANVARO = """verksamhetsplan.
 4 Personalredovisning

Nyckeltal 2024

Tot sjukfrv: Tot ord arbtid 3,03

Sjukfrv > 59 dagar: Tot sjukfrv 35,65

Tot sjukfrv: Tot ord arbtid (30-49 år) 3,65

Totala sjukfrånvaron har ökat något jämfört med 2023 men är fortfarande på låg nivå
jämfört med kommunen som helhet.
"""

# Umeå KSNAU 2024, Miljöskjutsen: ids of six digits, labels wrapped over lines, a text cell after the amounts.
MILJOSTOD = """Sammanställning av inkomna ansökningar Miljöskjutsen 2024

Dnr  Förening  Projekt Sökt
belopp

Beviljat

belopp

Motivering

171027 KFUM Umeå Luftvärmepump 20 024 20 024

Projektet bidrar till att

spara energi.

170104

Umeå

Orienterings-

klubb Hållbarhetsprojekt 20 024 20 024

Projektet bidrar till

inkludering.
"""

# Kalix KS 2023-12-11 § 228: a timetable led by dates and quarters.
TIDPLAN = """ Tidplan införandet av nytt fakturahanterings- samt e-handelssystem.

Datum  Aktivitet  Info
2023-09-01 Nyttoanalys Underlag till tjänsteskrivelsen arbetas fram

2023-11-08
2023-11-20

KS-beredning
Beslut i KS

Tjänsteskrivelse om införandet av nytt fakturahanteringssystem samt
e-handelssystem.

2024-Q1 Upphandling klar Upphandlingsprocessen av systemstöd är klar.

2024-Q3-2025-
Q1

Start implementering e-
handelssystem

Implementeringen av e-handel påbörjas så snart det är möjligt.
 Viktigaste ur projektbeskrivningen för en optimerad inköpsprocess
"""


def _read(text: str) -> list[tuple[str | None, list[str]]]:
    """Each table as its heads and rows, whitespace-normalised."""

    def words(span: tuple[int, int]) -> str:
        return " ".join(text[span[0] : span[1]].split())

    return [(words(t.head) if t.head else None, [words(r) for r in t.rows]) for t in tables.find(text)]


def test_budget_rows_take_their_cells_from_the_next_lines_and_heads_from_above():
    [(heads, rows)] = _read(BUDGET)
    assert heads == "Kommunstyrelsen tkr Årsbudget 2023 Prognostiserat utfall 2023 Budgetavvikelse"
    assert rows == [
        "Kommunfullmäktige 2 525 2 525 0",
        "Revision 1 308 1 308 0",
        "Arbetsgivarenheten 16 560 17 960 -1 400",
        "Service & kommunikation 8060 7 860 200",
        "Resultat 89 478 91 578 -2 100",
    ]
    assert tables.unit(heads) == "tkr"


def test_spans_point_into_the_text():
    [table] = tables.find(BUDGET)
    start, end = table.rows[2]
    assert BUDGET[start:end] == "Arbetsgivarenheten 16 560 17 960\n-1 400"
    assert BUDGET[table.head[0] : table.head[1]].startswith("Kommunstyrelsen")
    offset = 100  # a unit's bounds: spans stay absolute
    [inner] = tables.find("x" * offset + BUDGET, offset)
    assert inner.rows[2] == (start + offset, end + offset)


def test_one_cell_rows_with_a_year_head():
    [(heads, rows)] = _read(SJUKFRANVARO)
    assert heads == "4 Personalredovisning Nyckeltal 2024"
    assert rows[1] == "Sjukfrv > 59 dagar: Tot sjukfrv 35,65"
    assert len(rows) == 3


def test_wrapped_labels_and_application_ids():
    [(heads, rows)] = _read(MILJOSTOD)
    assert heads.endswith("Dnr Förening Projekt Sökt belopp Beviljat belopp Motivering")
    assert rows == [
        "171027 KFUM Umeå Luftvärmepump 20 024 20 024",
        "170104 Umeå Orienterings- klubb Hållbarhetsprojekt 20 024 20 024",
    ]


def test_timetable_rows_run_until_their_text_ends():
    [table] = tables.find(TIDPLAN)
    heads, rows = _read(TIDPLAN)[0]
    assert table.kind == "dated"
    assert heads == "Datum Aktivitet Info"
    assert rows == [
        "2023-09-01 Nyttoanalys Underlag till tjänsteskrivelsen arbetas fram",
        "2023-11-08 2023-11-20 KS-beredning Beslut i KS Tjänsteskrivelse om införandet av nytt "
        "fakturahanteringssystem samt e-handelssystem.",
        "2024-Q1 Upphandling klar Upphandlingsprocessen av systemstöd är klar.",
        "2024-Q3-2025- Q1 Start implementering e- handelssystem Implementeringen av e-handel påbörjas så "
        "snart det är möjligt.",
    ]


def test_running_text_lists_and_headings_are_no_table():
    text = """Kommunen har under året haft 1116 följare på sidan varav 44,50 procent är män och 55,50
procent är kvinnor. Antalet besök ökade till 10 474 under perioden januari till 2023
och sjönk sedan.
• Räckvidd: 10 474
• Inläggsinteraktion: 6 823
att fastställa kommunrevisionens budget för 2025 - bilaga 4
att fastställa budget för lekmannarevisionen 2025 - bilaga 5
 § 223 Dnr 2023-00059 04
1
2
3
"""
    assert tables.find(text) == []


def test_dates_in_running_text_are_no_timetable():
    text = "Beslut 2023-12-11 om budget.\n2024-01-15 Ett möte hölls.\nSedan inget mer.\n"
    assert tables.find(text) == []


def _table_pdf(path: Path) -> Path:
    """A budget table as a word processor prints it: heads over two lines, one row's last cell below it."""
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont("Helvetica", 11)
    c.drawString(60, 780, "Driftredovisning per enhet enligt nedan.")
    columns = (60, 250, 350, 450)
    y = 740
    for cells in (("tkr", "Årsbudget 2023", "Prognostiserat", ""), ("", "", "utfall 2023", "Budgetavvikelse")):
        for x, cell in zip(columns, cells):
            c.drawString(x, y, cell)
        y -= 16
    y -= 10
    for cells in (("Kommunfullmäktige", "2 525", "2 525", "0"), ("Arbetsgivarenheten", "16 560", "17 960", ""), ("", "", "", "-1 400"), ("IT", "11 160", "11 960", "-800")):
        for x, cell in zip(columns, cells):
            c.drawString(x, y, cell)
        y -= 16
    c.drawString(60, y - 20, "Underskottet är hänförligt till arbetsgivarenheten och friskvårdssatsningen.")
    c.showPage()
    c.save()
    return path


def test_table_in_a_generated_pdf(tmp_path):
    text = clean(partition(_table_pdf(tmp_path / "tabell.pdf"), 2**20), True).text
    [(heads, rows)] = _read(text)
    assert "Årsbudget 2023" in heads and "Budgetavvikelse" in heads
    assert rows == ["Kommunfullmäktige 2 525 2 525 0", "Arbetsgivarenheten 16 560 17 960 -1 400", "IT 11 160 11 960 -800"]

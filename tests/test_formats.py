"""Real generated files in every supported format: PDF, DOCX, HTML and plain text in four encodings."""

from __future__ import annotations

import json
from pathlib import Path

import docx
import pytest
from docx.oxml import OxmlElement
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from protokollsok.cli import main
from protokollsok.ingest.partition import partition
from protokollsok.ingest.pipeline import ingest_file

from samples import TEXT

MAX_BYTES = 50 * 2**20
SWEDISH = "åäöÅÄÖ"

# One protocol over four PDF pages; each line is unique so its page is known.
PDF_PAGES = [
    [
        "§ 218 Dnr 2023-00497",
        "",
        "Meddelanden",
        "",
        "Kommunstyrelsens beslut",
        "Kommunstyrelsen lägger meddelandena till handlingarna.",
        "",
        "Beskrivning av ärendet",
        "Till dagens sammanträde har följande meddelanden kommit in från Överkalix och Haparanda.",
        "Länsstyrelsen har överlämnat beslut om tillstånd för vindkraftsetablering i Ängesbyn.",
    ],
    [
        "Räddningstjänsten har redovisat övningar vid Blåbärsskogens förskola under hösten.",
        "Skolförvaltningen har lämnat en rapport om elevhälsan på Furuögrundsskolan.",
        "Kommunens revisorer har granskat årsredovisningen för föregående år.",
        "Beslutet skickas till",
        "Ekonomiavdelningen",
    ],
    [
        "§ 219 Dnr KS-2023/00512",
        "",
        "Återrapportering om skyddsrum",
        "",
        "Kommunstyrelsens beslut",
        "Kommunstyrelsen godkänner återrapporteringen om skyddsrummens skick.",
        "",
        "Bakgrund",
        "Myndigheten för samhällsskydd och beredskap har inventerat skyddsrum i Kalix tätort.",
    ],
    [
        "§ 220",
        "",
        "Övriga frågor",
        "",
        "Kommunstyrelsens beslut",
        "Inga övriga frågor väcktes vid sammanträdet.",
        "Ordföranden förklarade sammanträdet avslutat klockan 15.30.",
    ],
]
FURNITURE_WORDS = ["SAMMANTRÄDESPROTOKOLL", "Sida ", "Sammanträdesdatum", "Justerandes sign", "Utdragsbestyrkande"]


def make_pdf(path: Path, pages: list[list[str]]) -> Path:
    c = canvas.Canvas(str(path), pagesize=A4)
    total = len(pages)
    for number, lines in enumerate(pages, 1):
        c.setFont("Helvetica", 9)
        c.drawString(50, 810, f"Kommunstyrelsen SAMMANTRÄDESPROTOKOLL Sida {number}({total})")
        c.drawString(50, 798, "Sammanträdesdatum 2023-12-11")
        c.setFont("Helvetica", 11)
        y = 760
        for line in lines:
            c.drawString(60, y, line)
            y -= 16
        c.setFont("Helvetica", 8)
        c.drawString(50, 40, "Justerandes sign Utdragsbestyrkande")
        c.showPage()
    c.save()
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("formats")


@pytest.fixture(scope="module")
def pdf(files, model_dir):
    path = make_pdf(files / "kalix-kommunstyrelsen-protokoll-2023-12-11.pdf", PDF_PAGES)
    return ingest_file(path, model_dir, MAX_BYTES)


# --- PDF ---------------------------------------------------------------------------------------


def test_pdf_paragrafer_and_dnr(pdf):
    units = [u for u in pdf.document.units if u.kind == "paragraf"]
    assert [(u.paragraf, u.dnr, u.dnr_as_written) for u in units] == [
        ("§ 218", "2023-00497", "2023-00497"),
        ("§ 219", "KS-2023-00512", "KS-2023/00512"),
        ("§ 220", None, None),
    ]
    assert [u.title for u in units] == ["Meddelanden", "Återrapportering om skyddsrum", "Övriga frågor"]
    assert [u.pages for u in units] == [[1, 2], [3], [4]]


def test_pdf_chunk_pages_match_the_pages_their_lines_were_printed_on(pdf):
    all_lines = [line for lines in PDF_PAGES for line in lines if line]
    page_of = {
        line: n for n, lines in enumerate(PDF_PAGES, 1) for line in lines if line and all_lines.count(line) == 1
    }
    assert pdf.chunks
    for c in pdf.chunks:
        expected = sorted({page_of[line] for line in c.text.split("\n") if line in page_of})
        assert expected, f"{c.chunk_id} holds no known line: {c.text!r}"
        assert c.pages == expected, c.chunk_id
        assert c.page == expected[0], c.chunk_id


def test_pdf_chunks_carry_paragraf_and_dnr(pdf):
    def chunk_with(words):
        found = [c for c in pdf.chunks if words in c.text]
        assert found, words
        return found[0]

    c = chunk_with("Blåbärsskogens förskola")
    assert (c.paragraf, c.dnr, 2 in c.pages) == ("§ 218", "2023-00497", True)
    c = chunk_with("godkänner återrapporteringen")
    assert (c.paragraf, c.dnr, c.page) == ("§ 219", "KS-2023-00512", 3)
    c = chunk_with("Inga övriga frågor")
    assert (c.paragraf, c.dnr, c.page) == ("§ 220", None, 4)


def test_pdf_keeps_swedish_letters(pdf):
    text = pdf.document.text
    for line in ("Kommunstyrelsen lägger meddelandena till handlingarna.", "Återrapportering om skyddsrum", "Övriga frågor"):
        assert line in text
    assert all(ch in text for ch in "åäöÅÖ§")
    assert "\ufffd" not in text


def test_pdf_repeated_page_furniture_is_removed(pdf):
    for c in pdf.chunks:
        for word in FURNITURE_WORDS:
            assert word not in c.text, f"{c.chunk_id}: {word!r} in {c.text!r}"
    assert "SAMMANTRÄDESPROTOKOLL" not in pdf.document.text
    assert pdf.document.date == "2023-12-11"  # read from the furniture before it is removed


def test_short_pdf_furniture_is_removed_too(files, model_dir):
    """A two-page protocol extract prints the same header and footer; it must not end up in chunks either."""
    path = make_pdf(files / "kalix-kommunstyrelsen-utdrag-2023-12-11.pdf", PDF_PAGES[:2])
    result = ingest_file(path, model_dir, MAX_BYTES)
    assert [u.paragraf for u in result.document.units if u.kind == "paragraf"] == ["§ 218"]
    for c in result.chunks:
        for word in FURNITURE_WORDS:
            assert word not in c.text, f"{c.chunk_id}: {word!r} in {c.text!r}"


# --- DOCX --------------------------------------------------------------------------------------

DOCX_PAGE_1 = [
    "§ 41 Dnr KS-25/00143",
    "Tillägg till delegeringsordning – säkerhetsskyddsavtal",
    "Allmänna utskottets beslut",
    "Allmänna utskottet föreslår att kommunstyrelsen beslutar om tillägg i delegeringsordningen för säkerhetsskyddsavtal.",
    "Beskrivning av ärendet",
    "Norsjö kommun behöver kunna teckna säkerhetsskyddsavtal snabbt när en upphandling kräver det i Norsjö och Bastuträsk.",
]
DOCX_PAGE_2 = [
    "Ärendet har beretts av kommunledningskontoret under våren och sommaren.",
    "Beslutsunderlag",
    "Tjänsteskrivelse från kommunchefen om ändrad delegering för säkerhetsskydd.",
]


@pytest.fixture(scope="module")
def docx_file(files) -> Path:
    document = docx.Document()
    for text in DOCX_PAGE_1:
        document.add_paragraph(text)
    first_on_page_2 = document.add_paragraph()
    run = first_on_page_2.add_run(DOCX_PAGE_2[0])
    run._r.insert(0, OxmlElement("w:lastRenderedPageBreak"))  # how Word marks where it broke the page
    for text in DOCX_PAGE_2[1:]:
        document.add_paragraph(text)
    path = files / "norsjo-allmanna-utskottet-protokoll-2025-02-25.docx"
    document.save(str(path))
    return path


def test_docx_pages_from_rendered_page_breaks(docx_file):
    pages = partition(docx_file, MAX_BYTES)
    assert [p.number for p in pages] == [1, 2]
    assert DOCX_PAGE_2[0] in pages[1].text
    assert DOCX_PAGE_2[0] not in pages[0].text
    assert DOCX_PAGE_1[-1] in pages[0].text


def test_docx_ingest(docx_file, model_dir):
    result = ingest_file(docx_file, model_dir, MAX_BYTES)
    (unit,) = [u for u in result.document.units if u.kind == "paragraf"]
    assert (unit.paragraf, unit.dnr, unit.dnr_as_written) == ("§ 41", "KS-2025-00143", "KS-25/00143")
    assert unit.title == "Tillägg till delegeringsordning – säkerhetsskyddsavtal"
    assert unit.pages == [1, 2]
    for c in result.chunks:
        assert (c.paragraf, c.dnr) == ("§ 41", "KS-2025-00143")
        assert result.document.text[c.span[0] : c.span[1]] == c.text
    on_page_2 = [c for c in result.chunks if "Tjänsteskrivelse från kommunchefen" in c.text]
    assert on_page_2 and on_page_2[0].pages == [2]
    on_page_1 = [c for c in result.chunks if "Allmänna utskottet föreslår" in c.text]
    assert on_page_1 and on_page_1[0].pages == [1]
    text = result.document.text
    assert "Norsjö och Bastuträsk" in text and "Ärendet har beretts" in text
    assert result.document.kommun == "Norsjö"


# --- HTML --------------------------------------------------------------------------------------

HTML = """<!DOCTYPE html>
<html lang="sv"><head><meta charset="utf-8"><title>Protokoll</title></head><body>
<h1>Kommunstyrelsens sammanträde</h1>
<p>&sect; 232 Dnr 2023-00323</p>
<h2>Riktlinjer för ekonomistyrning</h2>
<h3>Kommunstyrelsens beslut</h3>
<p>Kommunstyrelsen föreslår kommunfullmäktige att anta riktlinjer för ekonomistyrning i Kalix kommun.</p>
<h3>Beskrivning av ärendet</h3>
<p>Riktlinjerna beskriver hur n&auml;mnderna ska följa upp sina budgetar vid ökade kostnader för äldreomsorg.</p>
</body></html>
"""


def test_html_ingest(files, model_dir):
    path = files / "kalix-kommunstyrelsen-protokoll-2023-12-11.html"
    path.write_text(HTML, encoding="utf-8")
    result = ingest_file(path, model_dir, MAX_BYTES)
    text = result.document.text
    assert "Kommunstyrelsen föreslår kommunfullmäktige att anta riktlinjer" in text
    assert "nämnderna ska följa upp" in text  # entity decoded
    assert "<p>" not in text and "&" not in text
    (unit,) = [u for u in result.document.units if u.kind == "paragraf"]
    assert (unit.paragraf, unit.dnr, unit.title) == ("§ 232", "2023-00323", "Riktlinjer för ekonomistyrning")
    decided = [c for c in result.chunks if "anta riktlinjer" in c.text]
    assert decided and decided[0].paragraf == "§ 232" and decided[0].dnr == "2023-00323"
    assert all(c.page is None and c.pages == [] for c in result.chunks)  # HTML has no pages
    assert result.document.kommun == "Kalix"


# --- plain text in four encodings --------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding, prefix",
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1252", b""), ("latin-1", b"")],
    ids=["utf-8", "utf-8-bom", "cp1252", "latin-1"],
)
def test_text_encodings_give_the_same_clean_text(files, model_dir, encoding, prefix):
    reference_path = files / "reference" / "kalix-kommunstyrelsen-protokoll-2023-12-11.txt"
    reference_path.parent.mkdir(exist_ok=True)
    reference_path.write_bytes(TEXT.encode("utf-8"))
    reference = ingest_file(reference_path, model_dir, MAX_BYTES)

    folder = files / f"enc-{encoding}-{len(prefix)}"
    folder.mkdir(exist_ok=True)
    path = folder / "kalix-kommunstyrelsen-protokoll-2023-12-11.txt"
    data = prefix + TEXT.replace("\n", "\r\n" if encoding == "cp1252" else "\n").encode(encoding)
    path.write_bytes(data)
    result = ingest_file(path, model_dir, MAX_BYTES)

    assert result.document.text == reference.document.text
    assert "\ufeff" not in result.document.text
    assert "Ärendet har beretts av ekonomichefen Åsa Öberg." in result.document.text
    assert "Fördelning av kommunstyrelsens internbudget 2024" in result.document.text
    assert [c.text for c in result.chunks] == [c.text for c in reference.chunks]
    (unit,) = [u for u in result.document.units if u.kind == "paragraf"]
    assert (unit.paragraf, unit.dnr) == ("§ 225", "2023-00513")


# --- inspect --json ----------------------------------------------------------------------------

CHUNK_FIELDS = {
    "chunk_id", "doc_id", "kommun", "organ", "doc_type", "date", "paragraf", "dnr", "dnr_as_written",
    "section", "page", "text", "span",
}


def test_inspect_json(files, capsys):
    path = files / "inspect" / "kalix-kommunstyrelsen-protokoll-2023-12-11.txt"
    path.parent.mkdir(exist_ok=True)
    path.write_text(TEXT, encoding="utf-8")
    code = main(["inspect", str(path), "--json"])
    out = capsys.readouterr().out
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"document", "units", "chunks"}
    document = data["document"]
    assert document["doc_id"] == "kalix-kommunstyrelsen-protokoll-2023-12-11"
    assert (document["kommun"], document["doc_type"], document["date"]) == ("Kalix", "protokoll", "2023-12-11")
    paragraf_units = [u for u in data["units"] if u["kind"] == "paragraf"]
    assert [(u["paragraf"], u["dnr"]) for u in paragraf_units] == [("§ 225", "2023-00513")]
    assert data["chunks"]
    clean = path.read_text(encoding="utf-8")
    for c in data["chunks"]:
        assert CHUNK_FIELDS <= set(c), CHUNK_FIELDS - set(c)
        assert c["doc_id"] == document["doc_id"]
        assert isinstance(c["span"], list) and len(c["span"]) == 2
        assert c["span"][0] < c["span"][1]
        assert all(word in clean for word in c["text"].split())
    decided = [c for c in data["chunks"] if "fastställer fördelningen" in c["text"]]
    assert decided and decided[0]["paragraf"] == "§ 225" and decided[0]["dnr"] == "2023-00513"
    assert decided[0]["dnr_as_written"] == "2023-00513"
    assert "Å" in out and "\\u00c5" not in out  # Swedish letters printed as themselves


def test_text_export_with_form_feeds_keeps_its_page_numbers(tmp_path, model_dir):
    """pdftotext keeps a PDF's page breaks as form feeds: the pages become citation pages."""
    first, second = TEXT.split("Beskrivning av ärendet")
    path = tmp_path / "kalix-kommunstyrelsen-protokoll-2024-04-08.txt"
    path.write_text(first + "\f" + "Beskrivning av ärendet" + second + "\f", encoding="utf-8")
    result = ingest_file(path, model_dir, 2**20)
    pages = {c.section: c.pages for c in result.chunks}
    assert result.document.page_starts[0][1] == 1
    assert [p for c in result.chunks for p in c.pages] and {1, 2} == {p for c in result.chunks for p in c.pages}
    assert pages["beskrivning av ärendet"] == [2]

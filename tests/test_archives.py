"""Records as archives hold them: scanned PDFs read by OCR, and HTML as municipal web exports write it."""

from __future__ import annotations

import os

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from protokollsok.ingest.errors import IngestError
from protokollsok.ingest.partition import INSTALL_OCR, partition, restore_paragraf_signs
from protokollsok.ingest.pipeline import ingest_file

MAX_BYTES = 50 * 2**20
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

# --- scanned PDF ---------------------------------------------------------------------------------

SCANNED_LINES = [
    "Kommunstyrelsen",
    "",
    "§ 12 Dnr 2024-00033",
    "",
    "Renhållningstaxa för år 2025",
    "",
    "Kommunstyrelsens beslut",
    "Kommunstyrelsen föreslår att fullmäktige fastställer taxan.",
    "Äldreomsorgen får ökade anslag.",
]
TEXT_LAYER_LINES = ["Beslutet skickas till", "Miljö- och byggförvaltningen i Överkalix"]


def tesseract_reads_swedish() -> bool:
    command = shutil.which("tesseract")
    if command is None:
        return False
    return "swe" in subprocess.run([command, "--list-langs"], capture_output=True, text=True).stdout.split()


if not tesseract_reads_swedish() and os.environ.get("CI"):
    pytest.fail(f"tesseract with Swedish data is missing in CI ({INSTALL_OCR}; scripts/setup.sh does it)", pytrace=False)
needs_tesseract = pytest.mark.skipif(
    not tesseract_reads_swedish(),
    reason=f"tesseract with Swedish data is missing ({INSTALL_OCR}; scripts/setup.sh does it)",
)


def scan_image(lines: list[str], dpi: int = 150, font_px: int = 28) -> Image.Image:
    """An A4 page as a scanner stores it: black text on white pixels, nothing a PDF reader can select."""
    width, height = round(A4[0] / 72 * dpi), round(A4[1] / 72 * dpi)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), font_px)
    y = dpi
    for line in lines:
        draw.text((round(0.9 * dpi), y), line, fill=0, font=font)
        y += round(1.5 * font_px)
    return image


def make_scanned_pdf(path: Path) -> Path:
    """Page 1 an image only (a scan), page 2 with a text layer: only page 1 may be OCR'd."""
    c = canvas.Canvas(str(path), pagesize=A4)
    c.drawImage(ImageReader(scan_image(SCANNED_LINES)), 0, 0, width=A4[0], height=A4[1])
    c.showPage()
    c.setFont("Helvetica", 11)
    for i, line in enumerate(TEXT_LAYER_LINES):
        c.drawString(72, 760 - 16 * i, line)
    c.showPage()
    c.save()
    return path


@pytest.fixture(scope="module")
def scanned_pdf(tmp_path_factory) -> Path:
    if not FONT.exists():
        pytest.skip(f"{FONT} is missing (apt-get install fonts-dejavu-core)")
    return make_scanned_pdf(tmp_path_factory.mktemp("scanned") / "kalix-kommunstyrelsen-protokoll-2024-11-04.pdf")


@pytest.fixture(scope="module")
def ocr_ingested(scanned_pdf, model_dir):
    return ingest_file(scanned_pdf, model_dir, MAX_BYTES)


@needs_tesseract
def test_scanned_page_is_read_with_swedish_letters(ocr_ingested):
    text = ocr_ingested.document.text
    for line in SCANNED_LINES:
        assert line in text, text  # every line as printed: å ä ö, and § restored
    assert "Miljö- och byggförvaltningen i Överkalix" in text  # page 2's own text layer


@needs_tesseract
def test_only_the_page_without_text_is_ocrd(ocr_ingested):
    assert ocr_ingested.ocr_pages == 1
    assert [page for _, page in ocr_ingested.document.page_starts] == [1, 2]


@needs_tesseract
def test_scanned_paragraf_is_found_with_its_dnr_and_pages(ocr_ingested):
    (unit,) = [u for u in ocr_ingested.document.units if u.kind == "paragraf"]
    assert (unit.paragraf, unit.dnr, unit.title) == ("§ 12", "2024-00033", "Renhållningstaxa för år 2025")
    assert unit.pages == [1, 2]
    decided = [c for c in ocr_ingested.chunks if "Äldreomsorgen" in c.text]
    assert decided and (decided[0].paragraf, decided[0].dnr, decided[0].pages) == ("§ 12", "2024-00033", [1])


def test_misread_paragraf_signs_are_restored_only_at_a_line_start():
    ocr = "$ 12 Dnr 2024-00033\n& 13\nAvgiften höjs med $ 5.\n8 14 Dnr 2024-00035\n8 15\n8 16 kronor per timme\n$ alone"
    expected = "§ 12 Dnr 2024-00033\n§ 13\nAvgiften höjs med $ 5.\n§ 14 Dnr 2024-00035\n§ 15\n8 16 kronor per timme\n$ alone"
    assert restore_paragraf_signs(ocr) == expected


def test_scan_without_tesseract_names_the_file_and_the_install(scanned_pdf, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no tesseract on it
    with pytest.raises(IngestError) as raised:
        partition(scanned_pdf, MAX_BYTES)
    message = str(raised.value)
    assert str(scanned_pdf) in message
    assert "page 1" in message and "no text layer" in message and "not installed" in message
    assert INSTALL_OCR in message


def test_tesseract_without_swedish_data_is_refused(scanned_pdf, monkeypatch, tmp_path):
    fake = tmp_path / "tesseract"
    fake.write_text('#!/bin/sh\necho "List of available languages (1):"\necho eng\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(IngestError) as raised:
        partition(scanned_pdf, MAX_BYTES)
    assert str(scanned_pdf) in str(raised.value)
    assert "no Swedish data" in str(raised.value) and INSTALL_OCR in str(raised.value)


def test_text_pdf_with_a_blank_page_needs_no_tesseract(tmp_path, monkeypatch):
    """A blank back side has nothing to read: it must not make a text PDF depend on OCR."""
    path = tmp_path / "protokoll.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    c.drawString(72, 760, "§ 5 Dnr 2024-00007 Årsredovisning")
    c.showPage()
    c.showPage()
    c.save()
    monkeypatch.setenv("PATH", str(tmp_path))
    pages = partition(path, MAX_BYTES)
    assert [(p.number, p.ocr) for p in pages] == [(1, False), (2, False)]
    assert "Årsredovisning" in pages[0].text and not pages[1].text.strip()


# --- HTML as web exports write it ----------------------------------------------------------------

LEAKS = ["SKRIPTTEXT", "STILTEXT", "HANDLERTEXT", "NOSKRIPTTEXT", "MALLTEXT", "KOMMENTARTEXT", "SIDTITEL"]


def web_export(depth: int, body: str) -> str:
    """A page as a municipal web publisher exports it: scripts and styles everywhere, handlers on elements,
    and the record `depth` <div>s down."""
    return f"""<!DOCTYPE html>
<html lang="sv"><head><meta charset="utf-8"><title>SIDTITEL</title>
<style>.x{{color:red}} /* STILTEXT */</style>
<script>var hemlig = 'SKRIPTTEXT'; if (a < b && c > d) document.write('<p>SKRIPTTEXT</p>');</script>
</head>
<body onload="init('HANDLERTEXT')">
<noscript><p>Aktivera JavaScript NOSKRIPTTEXT</p></noscript>
<!-- KOMMENTARTEXT -->
<template><p>MALLTEXT</p></template>
{"<div class='lager'>" * depth}
<h2 onclick="alert('HANDLERTEXT')">&sect; 12 Dnr 2024-00033</h2>
<h3>Renhållningstaxa för år 2025</h3>
<h4>Kommunstyrelsens beslut</h4>
<p onmouseover="visa('HANDLERTEXT')">Kommun<b>styrelsen</b> föreslår att fullmäktige fastställer taxan.
  Äldreomsorgen får ökade anslag.<script>var x = "SKRIPTTEXT";</script></p>
<style>p {{ font-family: STILTEXT }}</style>
<h4>Beslutsunderlag</h4>
<table><tr><td>Konto</td><td>1011</td><td>-7,9</td></tr></table>
<p>Tjänsteskrivelse<br>från förvaltningschefen</p>
{body}
{"</div>" * depth}
<script type="text/javascript">document.write('SKRIPTTEXT')</script>
</body></html>
"""


@pytest.mark.parametrize("depth", [600, 5000])
def test_deeply_nested_web_export_keeps_its_text_and_no_code(tmp_path, model_dir, depth):
    path = tmp_path / "kalix-kommunstyrelsen-protokoll-2024-11-04.html"
    path.write_text(web_export(depth, ""), encoding="utf-8")
    result = ingest_file(path, model_dir, MAX_BYTES)
    text = result.document.text
    assert "Kommunstyrelsen föreslår att fullmäktige fastställer taxan. Äldreomsorgen får ökade anslag." in text
    assert "Konto 1011 -7,9" in text  # a table row is one line
    assert "Tjänsteskrivelse\nfrån förvaltningschefen" in text  # <br> ends a line
    for leak in LEAKS + ["color:red", "document.write", "alert("]:
        assert leak not in text, leak
        assert all(leak not in c.text for c in result.chunks), leak
    (unit,) = [u for u in result.document.units if u.kind == "paragraf"]
    assert (unit.paragraf, unit.dnr, unit.title) == ("§ 12", "2024-00033", "Renhållningstaxa för år 2025")
    decided = [c for c in result.chunks if "fastställer taxan" in c.text]
    assert decided and (decided[0].paragraf, decided[0].section) == ("§ 12", "kommunstyrelsens beslut")


def test_html_with_only_scripts_and_styles_is_refused(tmp_path):
    path = tmp_path / "tom-sida.html"
    path.write_text(
        "<html><head><title>SIDTITEL</title><style>.x{color:red}</style></head>"
        "<body onload=\"go('HANDLERTEXT')\"><script>var hemlig = 'SKRIPTTEXT';</script>"
        "<noscript>NOSKRIPTTEXT</noscript><!-- KOMMENTARTEXT --><div><div></div></div></body></html>",
        encoding="utf-8",
    )
    with pytest.raises(IngestError) as raised:
        partition(path, MAX_BYTES)
    message = str(raised.value)
    assert str(path) in message and "no extractable text" in message and "record's text" in message


def test_two_megabyte_web_export_is_read_quickly(tmp_path):
    paragrafer = "".join(
        f"<div class='p'><h3 onclick='visa({n})'>&sect; {n} Dnr 2024-{n:05d}</h3>"
        f"<p>Kommunstyrelsen föreslår att fullmäktige fastställer taxan för år {n}. "
        f"Äldreomsorgen får ökade anslag och <b>förskolan</b> nya lokaler.</p><script>var hemlig{n} = 'SKRIPTTEXT';</script></div>"
        for n in range(1, 7501)
    )
    path = tmp_path / "stor-sida.html"
    path.write_text(web_export(50, paragrafer), encoding="utf-8")
    assert path.stat().st_size > 2 * 10**6
    started = time.perf_counter()
    (page,) = partition(path, MAX_BYTES)
    seconds = time.perf_counter() - started
    assert seconds < 5, f"{seconds:.1f} s"  # about 0.5 s when measured
    assert page.text.count("Äldreomsorgen får ökade anslag") == 7501
    assert "§ 7500 Dnr 2024-07500" in page.text and "SKRIPTTEXT" not in page.text

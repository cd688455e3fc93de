"""Source file → pages of text.

PDF text comes from pdfium (pypdfium2) page by page: on a 65-page record it is 20–40× faster than
`unstructured`'s `partition_pdf(strategy="fast")` and gives the same text with exact page numbers
(bench/pdf_text.py measures both). A scanned page, one with no text layer, is rendered and read by
tesseract with its Swedish data; pages that have text keep it. DOCX goes through `unstructured`, which
knows Word's rendered page breaks. HTML is read from lxml's parser events (see `_html`). Plain text is
decoded by `decode`.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

from lxml import etree
from tqdm import tqdm

from .decode import decode
from .errors import IngestError
from .records import Page

FORMATS = {".pdf": "pdf", ".docx": "docx", ".html": "html", ".htm": "html", ".txt": "text", ".text": "text"}
OCR_DPI = 300  # tesseract reads best at about 300 dpi, the resolution scanners usually store
INSTALL_OCR = "apt-get install tesseract-ocr tesseract-ocr-swe"
# tesseract's Swedish model has no `§` in its alphabet: it reads `§ 12` as `& 12` or `$ 12` at a line start.
_MISREAD_PARAGRAF = re.compile(r"^[$&](?=[ \t]*\d)", re.MULTILINE)
# `8 219 Dnr …` or `8 219` alone on its line: tesseract's Swedish model has no `§` and on dense pages reads it
# as `8`; only where a § heading stands (a Dnr or `forts.` after it, or nothing) is it taken back.
_MISREAD_PARAGRAF_EIGHT = re.compile(r"^8(?=[ \t]+\d{1,4}(?:[ \t]+(?:Dnr\b|forts\b)|[ \t]*$))", re.MULTILINE)


def partition(path: Path, max_bytes: int) -> list[Page]:
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise IngestError(
            path,
            f"unsupported format '{path.suffix or 'no extension'}'",
            "Convert it to PDF, DOCX, HTML or plain text (.txt).",
        )
    size = path.stat().st_size
    if size == 0:
        raise IngestError(path, "the file is empty", "Check the export or copy and ingest the complete file.")
    if size > max_bytes:
        raise IngestError(
            path,
            f"the file is {size / 2**20:.3g} MiB ({size:,} bytes), over the limit of "
            f"{max_bytes / 2**20:.3g} MiB ({max_bytes:,} bytes)",
            "Split the record, or raise the limit with --max-mb or PROTOKOLLSOK_MAX_MB.",
        )
    pages = {"pdf": _pdf, "docx": _docx, "html": _html, "text": _text}[kind](path)
    if not any(page.text.strip() for page in pages):
        remedy = (
            "It has no text layer and OCR found no text either: check that the scan is legible and upright, "
            "or OCR it yourself (for example ocrmypdf -l swe) and ingest the result."
            if kind == "pdf"
            else "Check that the file holds the record's text."
        )
        raise IngestError(path, "no extractable text", remedy)
    return pages


def _pdf(path: Path) -> list[Page]:
    pdf = _open_pdf(path)
    try:
        pages = [Page(number, _pdf_page_text(pdf, number - 1)) for number in range(1, len(pdf) + 1)]
        scanned = [page for page in pages if _needs_ocr(pdf, page)]
        if scanned:
            _ocr(path, pdf, scanned)
        return pages
    finally:
        pdf.close()


def _open_pdf(path: Path):
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as error:
        if "password" in str(error).lower():
            raise IngestError(
                path, "the PDF is encrypted", "Ask the sender for an unprotected copy, or remove the password."
            ) from error
        raise IngestError(
            path, f"the PDF is corrupt or not a PDF ({error})", "Export the record again from its source."
        ) from error


def _pdf_page_text(pdf, index: int) -> str:
    page = pdf[index]
    textpage = page.get_textpage()
    try:
        return textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n")
    finally:
        textpage.close()
        page.close()


def _needs_ocr(pdf, page: Page) -> bool:
    """A page with no text layer but something drawn on it (a scan); a page with nothing on it at all (a blank
    back side) has nothing to read and must not make a text PDF depend on tesseract."""
    if page.text.strip():
        return False
    pdf_page = pdf[page.number - 1]
    try:
        return next(iter(pdf_page.get_objects()), None) is not None
    finally:
        pdf_page.close()


def _ocr(path: Path, pdf, pages: list[Page]) -> None:
    """Fills in the text of scanned pages; about 4 s a page, so a progress bar shows on a terminal."""
    tesseract = _tesseract(path, pages)
    for page in tqdm(pages, desc=f"OCR {path.name}", unit="page", leave=False, disable=not sys.stderr.isatty()):
        page.text = restore_paragraf_signs(_ocr_page(path, pdf, page.number, tesseract))
        page.ocr = True


def _tesseract(path: Path, pages: list[Page]) -> str:
    """The tesseract command, checked for its Swedish data before any page is rendered."""
    command = shutil.which("tesseract")
    if command is not None and "swe" in _ocr_languages(command):
        return command
    missing = "tesseract (OCR) is not installed" if command is None else "tesseract (OCR) has no Swedish data"
    raise IngestError(
        path,
        f"no extractable text on {_page_list(pages)}: no text layer, and {missing} to read the scan",
        f"Install it (as root: {INSTALL_OCR}) and ingest the file again.",
    )


def _ocr_languages(command: str) -> list[str]:
    listed = subprocess.run([command, "--list-langs"], capture_output=True, text=True, check=False)
    return (listed.stdout + listed.stderr).split()  # tesseract 3 printed the list on stderr


def _page_list(pages: list[Page]) -> str:
    """`page 3`, `pages 1, 2`; for a whole scanned volume the count and the first ten numbers."""
    numbers = [str(page.number) for page in pages]
    if len(numbers) > 10:
        return f"{len(numbers)} pages ({', '.join(numbers[:10])} …)"
    return f"page {numbers[0]}" if len(numbers) == 1 else f"pages {', '.join(numbers)}"


def _ocr_page(path: Path, pdf, number: int, tesseract: str) -> str:
    page = pdf[number - 1]
    try:
        image = page.render(scale=OCR_DPI / 72, grayscale=True).to_pil()
    finally:
        page.close()
    png = io.BytesIO()
    image.save(png, format="PNG")
    # One thread: tesseract's OpenMP threads made a page slower, not faster, on a busy 2-core machine.
    env = {**os.environ, "OMP_THREAD_LIMIT": os.environ.get("OMP_THREAD_LIMIT", "1")}
    result = subprocess.run(
        [tesseract, "stdin", "stdout", "-l", "swe", "--psm", "3"],
        input=png.getvalue(),
        capture_output=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        reason = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        raise IngestError(
            path,
            f"OCR of page {number} failed (tesseract: {reason[0]})",
            "Check the scan, or OCR it yourself (for example ocrmypdf -l swe) and ingest the result.",
        )
    return result.stdout.decode("utf-8").replace("\f", "")


def restore_paragraf_signs(text: str) -> str:
    """OCR'd text only: `$ 12`, `& 12` or `8 12 Dnr …` at a line start is a `§` heading the Swedish model
    cannot spell."""
    return _MISREAD_PARAGRAF_EIGHT.sub("§", _MISREAD_PARAGRAF.sub("§", text))


def _docx(path: Path) -> list[Page]:
    _offline_unstructured()
    from unstructured.partition.docx import partition_docx

    try:
        elements = partition_docx(filename=str(path), languages=["swe"], include_page_breaks=False)
    except Exception as error:  # python-docx raises zipfile, KeyError or lxml errors on damaged files
        raise IngestError(
            path, f"the DOCX cannot be read ({type(error).__name__}: {error})", "Save it again from Word."
        ) from error
    return _elements_to_pages(elements)


def _html(path: Path) -> list[Page]:
    """Read from lxml's parser events rather than a tree: libxml2 stops building a tree about 255 levels down
    (2048 with huge_tree) and drops everything below it without an error, which lost all the text of web
    exports nested 600 deep (unstructured's partition_html parses that way); events have no depth limit and
    a 2 MB page takes about 0.5 s instead of 5.6 s."""
    text = decode(path.read_bytes(), path)
    parser = etree.HTMLParser(target=_VisibleText(), encoding="utf-8")
    return [Page(None, etree.HTML(text.encode("utf-8"), parser))]


_HIDDEN = frozenset({"script", "style", "noscript", "template", "title"})
_BLOCKS = frozenset(
    "address article aside blockquote body caption center dd details dialog div dl dt fieldset figcaption figure "
    "footer form h1 h2 h3 h4 h5 h6 header hgroup hr html legend li main nav ol p pre section summary table tbody "
    "tfoot thead tr ul".split()
)
_CELLS = frozenset({"td", "th"})
_COLLAPSIBLE = re.compile(r"[ \t\n\r\f]+")
_LINE_SPACE = re.compile(r"[ \t\r\f]+")


class _VisibleText:
    """An lxml parser target that keeps the text a reader sees, in document order: block elements and table
    rows end a block (blocks are separated by a blank line), `<br>` ends a line, inline markup joins words as
    written and whitespace collapses as in a browser, except in `<pre>`. Scripts, styles, noscript and
    template content and the page title are not text; attributes (event handlers) are never read."""

    def __init__(self) -> None:
        self._blocks: list[str] = []
        self._pieces: list[str] = []
        self._hidden = 0
        self._pre = 0

    def start(self, tag: str, attrib: dict) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        if self._hidden:
            return
        if tag in _BLOCKS:
            self._end_block()
        if tag == "pre":
            self._pre += 1
        elif tag == "br":
            self._pieces.append("\n")

    def end(self, tag: str) -> None:
        if self._hidden:
            if tag in _HIDDEN:
                self._hidden -= 1
            return
        if tag in _BLOCKS:
            self._end_block()
        elif tag in _CELLS:
            self._pieces.append(" ")
        if tag == "pre":
            self._pre -= 1

    def data(self, text: str) -> None:
        if not self._hidden:
            self._pieces.append(text if self._pre else _COLLAPSIBLE.sub(" ", text))

    def close(self) -> str:
        self._end_block()
        return "\n\n".join(self._blocks)

    def _end_block(self) -> None:
        lines = (_LINE_SPACE.sub(" ", line).strip() for line in "".join(self._pieces).split("\n"))
        block = "\n".join(line for line in lines if line)
        if block:
            self._blocks.append(block)
        self._pieces.clear()


def _text(path: Path) -> list[Page]:
    """A text export is one page unless it keeps the PDF's page breaks as form feeds (pdftotext does)."""
    text = decode(path.read_bytes(), path).replace("\r\n", "\n").replace("\r", "\n")
    if "\f" not in text.rstrip("\f"):
        return [Page(None, text.replace("\f", ""))]
    return [Page(number, page) for number, page in enumerate(text.rstrip("\f").split("\f"), 1)]


def _elements_to_pages(elements) -> list[Page]:
    pages: list[Page] = []
    for element in elements:
        text = element.text.strip()
        if not text:
            continue
        number = element.metadata.page_number
        if not pages or pages[-1].number != number:
            pages.append(Page(number, ""))
        pages[-1].text += text + "\n\n"
    return pages


@cache
def _offline_unstructured() -> None:
    """Stop `unstructured` from downloading spaCy's English model on every partition (GUIDE §3).

    Offline, the download fails and DOCX/HTML partitioning raises; a blank Swedish pipeline with a
    sentencizer is all its element classification needs. Its usage telemetry is switched off too:
    nothing leaves the host.
    """
    os.environ.setdefault("DO_NOT_TRACK", "true")
    os.environ.setdefault("SCARF_NO_ANALYTICS", "true")
    os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
    import spacy
    import unstructured.nlp.tokenize as tokenize

    def blank_swedish():
        nlp = spacy.blank("sv")
        nlp.add_pipe("sentencizer")
        return nlp

    tokenize._get_nlp = cache(blank_swedish)


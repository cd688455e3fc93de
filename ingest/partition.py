"""Source file → pages of text.

PDF text comes from pdfium (pypdfium2) page by page: on a 65-page record it is 20–40× faster than
`unstructured`'s `partition_pdf(strategy="fast")` and gives the same text with exact page numbers
(bench/pdf_text.py measures both). DOCX and HTML go through `unstructured`, which knows their element
structure and Word's rendered page breaks. Plain text is decoded by `decode`.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from .decode import decode
from .errors import IngestError
from .records import Page

FORMATS = {".pdf": "pdf", ".docx": "docx", ".html": "html", ".htm": "html", ".txt": "text", ".text": "text"}


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
            "It looks scanned: run OCR (for example ocrmypdf -l swe) and ingest the result."
            if kind == "pdf"
            else "Check that the file holds the record's text."
        )
        raise IngestError(path, "no extractable text", remedy)
    return pages


def _pdf(path: Path) -> list[Page]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as error:
        if "password" in str(error).lower():
            raise IngestError(
                path, "the PDF is encrypted", "Ask the sender for an unprotected copy, or remove the password."
            ) from error
        raise IngestError(
            path, f"the PDF is corrupt or not a PDF ({error})", "Export the record again from its source."
        ) from error
    try:
        return [
            Page(number, _pdf_page_text(pdf, number - 1))
            for number in range(1, len(pdf) + 1)
        ]
    finally:
        pdf.close()


def _pdf_page_text(pdf, index: int) -> str:
    page = pdf[index]
    textpage = page.get_textpage()
    try:
        return textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n")
    finally:
        textpage.close()
        page.close()


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
    _offline_unstructured()
    from unstructured.partition.html import partition_html

    text = decode(path.read_bytes(), path)
    try:
        elements = partition_html(text=text, languages=["swe"])
    except Exception as error:  # lxml's parser errors vary by input
        raise IngestError(path, f"the HTML cannot be parsed ({error})", "Save the page again as HTML.") from error
    return _elements_to_pages(elements)


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


"""The document view: a record's clean text as one server-rendered HTML page, the cited passage marked.

The text is the one every span points into, so `?highlight=START-END` marks exactly what an answer quoted
(`<mark id="citat">`; links carry `#citat`, so the browser scrolls to it). Page and § markers are shown where
the record's pages and units begin. Personnummer are masked; the page needs no script and no external asset.
"""

from __future__ import annotations

import html
import re

from protokollsok.ingest.records import Document

from . import personnummer

_HIGHLIGHT = re.compile(r"(\d{1,9})-(\d{1,9})")


def parse_highlight(value: str | None, length: int) -> tuple[int, int] | None:
    """`START-END` within the document, or None; anything else is refused by the caller."""
    if not value:
        return None
    m = _HIGHLIGHT.fullmatch(value)
    if not m or not (0 <= int(m[1]) < int(m[2]) <= length):
        raise ValueError(value)
    return int(m[1]), int(m[2])


def render(document: Document, highlight: tuple[int, int] | None, notice: str) -> str:
    text = document.text
    markers: dict[int, list[str]] = {}
    for offset, page in document.page_starts:
        if page is not None:
            markers.setdefault(offset, []).append(f'<span class="sida" id="sida-{page}">Sida {page}</span>')
    for unit in document.units:
        label = " ".join(x for x in (unit.paragraf, unit.dnr_as_written and f"Dnr {unit.dnr_as_written}") if x)
        if label:
            markers.setdefault(unit.start, []).append(
                f'<span class="paragraf" id="u-{unit.start}">{html.escape(label)}</span>'
            )
    cuts = sorted(set(markers) | ({highlight[0], highlight[1]} if highlight else set()) | {0, len(text)})
    parts: list[str] = []
    for start, end in zip(cuts, cuts[1:]):
        parts.extend(markers.get(start, []))
        if highlight and start == highlight[0]:
            parts.append('<mark id="citat">')
        parts.append(html.escape(personnummer.mask(text[start:end])))
        if highlight and end == highlight[1]:
            parts.append("</mark>")
    meta = " · ".join(
        html.escape(x)
        for x in (f"{document.kommun} kommun", document.organ, document.doc_type, document.date or "datum saknas")
        if x
    )
    return f"""<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(document.title)} – Protokollsök</title><link rel="stylesheet" href="/static/document.css"></head>
<body><a class="hoppa" href="#citat">Till det citerade stället</a>
<header><p><a href="/">Protokollsök</a></p><h1>{html.escape(document.title)}</h1><p>{meta}</p>
<p class="notis">{html.escape(notice)}</p></header>
<main><div class="dokument">{"".join(parts)}</div></main></body></html>"""


def not_found(doc_id: str) -> str:
    return _message(
        "Dokumentet finns inte",
        f"Inget dokument med id <code>{html.escape(personnummer.mask(doc_id))}</code> finns i det index som används "
        "nu. Det kan ha tagits bort eller bytt namn.",
    )


def bad_highlight(doc_id: str) -> str:
    """A link whose `highlight` is not a span of the document: refused, never a page without its mark."""
    return _message(
        "Länken pekar inte på ett ställe i dokumentet",
        f"Markeringen i länken till <code>{html.escape(personnummer.mask(doc_id))}</code> ska vara START-SLUT "
        "inom dokumentets text. Öppna dokumentet från svaret igen. / The link's highlight is not a START-END "
        "span of this document.",
    )


def _message(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – Protokollsök</title><link rel="stylesheet" href="/static/document.css"></head>
<body><main><h1>{title}</h1>
<p>{body} <a href="/">Tillbaka till sökningen</a>.</p></main></body></html>"""

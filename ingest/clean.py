"""Raw pages → clean text: page furniture out, page numbers kept, line-break hyphens joined.

Furniture is what a page prints around the record: `Kommunstyrelsen SAMMANTRÄDESPROTOKOLL Sida 4(52)
Sammanträdesdatum 2023-12-11 Justerandes sign Utdragsbestyrkande`, Norsjö's `NORSJÖ KOMMUN PROTOKOLL
13(35)` with its `K:\\Protokoll\\…docx` path, a memo's running `Tjänsteskrivelse / Dnr:` header, a
letterhead's address block, a report's lone page number. It is recognised by pattern everywhere and, where
the source has real pages (PDF, DOCX), also by repeating at the top or bottom of most pages.

Text exported from PDFs has no page breaks of its own: a page shows as a furniture block or as a line
that starts with one or two spaces mid-sentence. Furniture blocks that print `N(M)` anchor the count;
whether an extractor put the block at the top or the bottom of its page is decided by which reading ends
the document on page M.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from .records import CleanText, Page

_DATE = r"\d{4}-\d{2}-\d{2}"
_FURNITURE = re.compile(
    "|".join(
        rf"(?:{pattern})"
        for pattern in (
            r"(?i:sammanträdesprotokoll|sammanträdesdatum|utdragsbestyrkande|expediering|sida)",
            r"[\wÅÄÖåäö ]{0,60}SAMMANTRÄDESPROTOKOLL(?:\s+(?i:sida)\s*\d{1,3}\s*\(\s*\d{1,3}\s*\))?",
            r"(?i:sammanträdesdatum)\s*\d{4}-\d{2}-\d{2}",
            r"(?i:sida)\s*\d{1,3}\s*(?:\(\s*\d{1,3}\s*\)|(?i:av)\s*\d{1,3})",
            r"\d{1,3}\s*\(\s*\d{1,3}\s*\)",
            r"(?i:justerandes?\s+sign(?:atur)?)\b.*",
            r"(?i:justering\s*\(sign\)).*",
            r"[A-ZÅÄÖ][A-ZÅÄÖ -]*\bKOMMUN\s+(?:SAMMANTRÄDES)?PROTOKOLL(?:\s+\d{1,3}\s*\(\s*\d{1,3}\s*\))?",
            r"[A-Za-z]:\\\S.*",
            r"(?i:telefon(?:växel)?|tfn|tel\.?)\s*:?\s*[\d +()-]{6,}",
            r"[\w.-]+@[\w-]+(?:\.[\w-]+)+(?:\s+www\.\S+)?",
            r"(?i:www\.)\S+",
            r"[\wÅÄÖåäö .-]+ \d+\s?[A-Z]?, \d{3} ?\d{2} [\wÅÄÖåäö]+",
            r"(?i:besöksadress|postadress|org\.?\s*nr|organisationsnummer)\b.*",
        )
    )
)
_PAGE_LABEL = re.compile(r"(?:(?i:sida)\s*)?\b(\d{1,3})\s*(?:\(\s*(\d{1,3})\s*\)|(?i:av)\s*(\d{1,3}))")
_LONE_NUMBER = re.compile(r"\d{1,3}")
_BREAK = re.compile(r"^ {1,2}\S")
_MEMO_RUNNING_HEADER = re.compile(r"(?i:tjänsteskrivelse)")
_MEMO_RUNNING_DNR = re.compile(r"(?i:dnr|diarienr|diarienummer)\s*:\s*\S+")
_ORGAN_DATE = re.compile(rf"[\wÅÄÖåäö ,.-]{{3,60}}\s{_DATE}")
_LETTERHEAD_UNIT = re.compile(r"[\wÅÄÖåäö -]*(?:förvaltningen|kontoret|kansliet)")
_HYPHEN_END = re.compile(r"(?<![\W\d_])([^\W\d_]+)-$")
_CONTINUATION = re.compile(r"^([a-zåäöéü][^\W\d_]*)(.*)$", re.S)
_COORDINATION = {"och", "eller", "samt", "respektive", "resp", "som", "till", "men", "&"}


@dataclass
class _Line:
    raw: str
    page: int | None
    furniture: bool = False
    label: tuple[int, int | None] | None = None


def clean(pages: list[Page], has_pages: bool) -> CleanText:
    """`has_pages`: the source format numbered its pages (PDF, DOCX); text and HTML did not."""
    lines = [_Line(raw.rstrip(), page.number) for page in pages for raw in page.text.split("\n")]
    _mark_furniture(lines)
    if has_pages:
        _mark_repeated(lines)
    else:
        _infer_pages(lines)
    kept = [line for line in lines if not line.furniture]
    texts = _dehyphenate([line.raw.strip() for line in kept], _vocabulary(kept))
    return _assemble(texts, [line.page for line in kept])


def _mark_furniture(lines: list[_Line]) -> None:
    def next_text(i: int) -> int | None:
        for j in range(i + 1, min(i + 6, len(lines))):
            if lines[j].raw.strip():
                return j
        return None

    def previous_text(i: int) -> int | None:
        for j in range(i - 1, max(i - 6, -1), -1):
            if lines[j].raw.strip():
                return j
        return None

    for i, line in enumerate(lines):
        text = " ".join(line.raw.split())
        if not text:
            continue
        if _FURNITURE.fullmatch(text):
            line.furniture = True
            label = _PAGE_LABEL.search(text)
            if label:
                line.label = (int(label.group(1)), int(label.group(2) or label.group(3) or 0) or None)
            j = next_text(i)
            if j is not None and re.fullmatch(r"(?i:sammanträdesdatum)", text) and re.fullmatch(_DATE, lines[j].raw.strip()):
                lines[j].furniture = True
            if j is not None and "KOMMUN" in text and _ORGAN_DATE.fullmatch(" ".join(lines[j].raw.split())):
                lines[j].furniture = True
            k = previous_text(i)
            if k is not None and re.fullmatch(r"(?i:sammanträdesprotokoll)", text):
                before = lines[k].raw.strip()
                if len(before.split()) <= 5 and not re.search(r"[\d.:;§]", before):
                    lines[k].furniture = True
            if k is not None and _LETTERHEAD_UNIT.fullmatch(lines[k].raw.strip()):
                lines[k].furniture = True
        elif _MEMO_RUNNING_HEADER.fullmatch(text):
            j = next_text(i)
            if j is not None and _MEMO_RUNNING_DNR.fullmatch(" ".join(lines[j].raw.split())):
                line.furniture = lines[j].furniture = True


def _mark_repeated(lines: list[_Line], zone: int = 3) -> None:
    """Lines that stand at the top or bottom of most pages, digits aside (`Sida 3 av 9`)."""
    by_page: dict[int | None, list[_Line]] = {}
    for line in lines:
        if line.raw.strip():
            by_page.setdefault(line.page, []).append(line)
    if len(by_page) < 3:
        return
    counts: Counter[str] = Counter()
    for page_lines in by_page.values():
        edge = page_lines[:zone] + page_lines[-zone:]
        counts.update({_shape(line.raw) for line in edge})
    threshold = max(3, len(by_page) // 2)
    for page_lines in by_page.values():
        for line in page_lines[:zone] + page_lines[-zone:]:
            shape = _shape(line.raw)
            if counts[shape] >= threshold and not shape.startswith("§"):
                line.furniture = True


def _shape(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.split()).lower())


def _infer_pages(lines: list[_Line]) -> None:
    """Number the pages of a text export from its furniture labels and its page-start lines."""
    segment_of: list[int] = []
    anchors: list[tuple[int, int, int | None]] = []  # (first segment after the block, page, of pages)
    segment, in_block, started = 0, False, False
    for line in lines:
        if line.furniture:
            if line.label:
                anchors.append((segment + 1, *line.label))
            in_block = True
        elif line.raw.strip():
            if started and (in_block or _BREAK.match(line.raw)):
                segment += 1
            started, in_block = True, False
        segment_of.append(segment)
    if not any(total for _, _, total in anchors):
        anchors = _lone_number_anchors(lines, segment_of)
        if not anchors:
            return
        pages = _fill(anchors, segment + 1, trailing=True)
    else:
        header, trailing = _fill(anchors, segment + 1, False), _fill(anchors, segment + 1, True)
        total = max(t or 0 for _, _, t in anchors)
        pages = trailing if trailing[-1] == total and header[-1] != total else header
    for line, seg in zip(lines, segment_of):
        line.page = pages[seg]


def _lone_number_anchors(
    lines: list[_Line], segment_of: list[int], min_gap: int = 30
) -> list[tuple[int, int, int | None]]:
    """A report's bare page numbers: a number alone between blank lines, rising with the page starts,
    at least a page's worth of lines apart (numbered table cells stand close together), twice or more."""
    anchors: list[tuple[int, int, int | None]] = []
    at: list[int] = []
    for i, line in enumerate(lines):
        text = line.raw.strip()
        if not _LONE_NUMBER.fullmatch(text):
            continue
        blank_around = (i == 0 or not lines[i - 1].raw.strip()) and (i + 1 == len(lines) or not lines[i + 1].raw.strip())
        number = int(text)
        rising = not anchors or (number > anchors[-1][1] and i - at[-1] >= min_gap)
        if blank_around and rising and number > 1:
            anchors.append((segment_of[i] + 1, number, None))
            at.append(i)
    if len(anchors) < 2:
        return []
    for i in at:
        lines[i].furniture = True
    return anchors


def _fill(anchors: list[tuple[int, int, int | None]], segments: int, trailing: bool) -> list[int]:
    fixed: dict[int, int] = {}
    for after, page, _ in anchors:
        at = after - 1 if trailing else after
        if 0 <= at < segments:
            fixed.setdefault(at, page)
    pages = [0] * segments
    known = sorted(fixed)
    for s in range(segments):
        before = [k for k in known if k <= s]
        if before:
            k = before[-1]
            page = fixed[k] + (s - k)
            later = [x for x in known if x > s]
            if later:
                page = min(page, fixed[later[0]] - 1) if fixed[later[0]] > fixed[k] else page
            pages[s] = page
        else:
            first = known[0]
            pages[s] = max(1, fixed[first] - (first - s))
    return pages


def _vocabulary(lines: list[_Line]) -> Counter[str]:
    words: Counter[str] = Counter()
    for line in lines:
        words.update(w.lower() for w in re.findall(r"[^\W\d_]+(?:-[^\W\d_]+)*", line.raw))
    return words


def _dehyphenate(texts: list[str], vocabulary: Counter[str]) -> list[str]:
    """Join `kom-`/`munstyrelsen` and `2026-`/`2028`, but keep `karriär- och` as written.

    The joined word is chosen when the continuation starts in lower case and is not a conjunction that
    makes the hyphen a coordinated compound. The document's own vocabulary decides whether the hyphen
    itself belongs to the word (`e-handel`, `IT-enheten`).
    """
    texts = list(texts)
    for i, text in enumerate(texts):
        j = next((k for k in range(i + 1, min(i + 4, len(texts))) if texts[k]), None)
        if j is None:
            continue
        if re.search(r"\d[-–]$", text) and texts[j][:1].isdigit():
            texts[i], texts[j] = text + texts[j], ""  # a range cut after its dash: `2026-` / `2028`
            continue
        head = _HYPHEN_END.search(text)
        if head is None:
            continue
        tail = _CONTINUATION.match(texts[j])
        if tail is None or tail.group(1).lower() in _COORDINATION:
            continue
        first, rest = head.group(1), tail.group(1)
        joined = first + rest
        hyphenated = f"{first}-{rest}".lower()
        if vocabulary[hyphenated] > vocabulary[joined.lower()]:
            joined = f"{first}-{rest}"
        texts[i] = text[: head.start()] + joined
        texts[j] = tail.group(2).lstrip()
    return texts


def _assemble(texts: list[str], pages: list[int | None]) -> CleanText:
    """Lines joined with single newlines, blank runs folded to one blank line."""
    parts: list[str] = []
    page_starts: list[tuple[int, int | None]] = []
    offset, blank = 0, True
    for text, page in zip(texts, pages):
        if not text:
            if not blank:
                parts.append("\n")
                offset += 1
            blank = True
            continue
        if not page_starts or page_starts[-1][1] != page:
            page_starts.append((offset, page))
        parts.append(text + "\n")
        offset += len(text) + 1
        blank = False
    return CleanText("".join(parts).rstrip("\n"), page_starts or [(0, None)])

"""Tables in a record's text: the rows and the column heads above them, as spans of the clean text.

PDF text flattens a table into lines (GUIDE §1): `Arbetsgivarenheten 16 560 17 960` with its last cell
`-1 400` on the next line, a long label over two lines with its numbers after a blank line, a total row
with no label, and the column heads one cell a line above the first row (`tkr Årsbudget 2023`,
`Prognostiserat`, `utfall 2023 Budgetavvikelse`). A row's numbers mean nothing without its heads, so an
answer that quotes a row quotes the heads with it (service/answers.py); both are spans here, never copies,
so what is quoted stays the record's own words.

Two shapes of row are read:
- a label followed by numeric cells in Swedish formats (`16 560`, `-1 400`, `3,03`, `50 %`), whose cells
  may run over the next lines; a column count taken from the table's fullest line says when a row is
  complete and a lone line of numbers starts a row of its own (a total);
- a line led by a date or period (`2023-08-31`, `2023-10`, `2024-Q1`), as timetables are written, running on
  until its text ends a sentence or the next dated row begins.
A line whose only trailing numbers are years (`Budget 2024`, `jan−april 2023`) is a head, not a row: column
heads name periods. It ends one table and starts the next when it stands between rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# One numeric cell: thousands grouped by a (no-break, narrow) space, a hyphen or Unicode minus, a decimal
# comma, a percent sign; standing alone, so a date (`2023-12-11`) or a Dnr (`KS-2025-00466`) is no cell, and
# five digits or more ungrouped are an id (an application's number `170104`), not an amount.
_NUMBER = r"[-−–]?(?:\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d{1,4})(?:,\d+)?(?:[ \u00a0\u202f]?%)?"
_CELLS = re.compile(rf"(?:(?<=\s)|^)(?:{_NUMBER})(?:[ \t\u00a0\u202f]+(?:{_NUMBER}))*$")
_CELL = re.compile(rf"(?<!\S){_NUMBER}(?!\S)")
_YEAR = re.compile(r"(?:19|20)\d\d")
# A date or period leading a timetable row, possibly a range (`2024-Q2-Q3`, `2024-Q3-2025-`).
_DATE_KEY = re.compile(r"(?:19|20)\d\d-(?:Q[1-4]|[01]\d(?:-[0-3]\d)?)(?:-Q[1-4]|-(?:19|20)\d\d-?(?:Q[1-4])?)*(?=\s|$)")
_BULLET = re.compile(r"[•*▪◦]|[-–]\s|att\s")  # list items, decision items (`att fastställa …`)
_HEADING = re.compile(r"§|\bDnr\b|\bDiarienr", re.IGNORECASE)
_SENTENCE_END = (".", "!", "?", ":", ";")
_UNIT = re.compile(r"\b(?:tkr|mkr|mnkr|kr|kronor|msek|ksek|procent)\b|%", re.IGNORECASE)
_LETTER = re.compile(r"[^\W\d_]")
_SENTENCE_INSIDE = re.compile(r"[.!?]\s+[A-ZÅÄÖ]")  # running text: a sentence ends inside the label

MAX_LABEL_WORDS = 10  # a row's label is a name, not a sentence: prose lines that end in a number are longer
MAX_LABEL_LINES = 3  # lines a label may wrap over
MAX_GAP = 6  # text lines between two rows of one table (a wrapped text cell such as `Motivering`)
MAX_HEAD_LINES = 24  # lines of column heads and caption above the first row: some records put one word a line
MAX_HEAD_WORDS = 10  # a head line longer than this is running text
MIN_ROWS = 2
MIN_DATED_ROWS = 3  # dated lines are common in running text; a timetable has several
MAX_DATED_LINES = 12


@dataclass
class Table:
    """One table: its rows, each from its label's first line to its last cell, and the head block above
    the first row (column heads, possibly with the table's caption), None when nothing stands there."""

    rows: list[tuple[int, int]]
    head: tuple[int, int] | None = None
    kind: str = "numeric"
    """`numeric` (a label and numeric cells) or `dated` (a timetable: a date or period, then text)."""

    @property
    def start(self) -> int:
        return self.head[0] if self.head else self.rows[0][0]

    @property
    def end(self) -> int:
        return self.rows[-1][1]


@dataclass
class _Line:
    start: int
    end: int
    text: str
    kind: str  # blank, text, head (trailing years only), row (label + cells), cells (numbers only), dated
    cells: int = 0
    label_words: int = 0


def find(text: str, start: int = 0, end: int | None = None) -> list[Table]:
    """The tables in text[start:end] (a unit's text), in order; spans are into `text`."""
    lines = _lines(text, start, len(text) if end is None else end)
    found: list[Table] = []
    for table in sorted(_numeric(lines) + _dated(lines), key=lambda t: t.start):
        if not found or table.start >= found[-1].end:  # a timetable's row may end in numbers: one table, not two
            found.append(table)
    return found


def unit(head: str) -> str | None:
    """The unit a table's heads give its cells (`tkr Årsbudget 2023` → `tkr`), as the heads write it."""
    m = _UNIT.search(head)
    return m.group(0) if m else None


def _lines(text: str, start: int, end: int) -> list[_Line]:
    out = []
    at = start
    for raw in text[start:end].split("\n"):
        lead = len(raw) - len(raw.lstrip())
        stripped = raw.strip()
        line = _Line(at + lead, at + lead + len(stripped), stripped, _kind(stripped))
        if line.kind in ("row", "cells", "head"):
            cells = _CELLS.search(stripped)
            label = stripped[: cells.start()].strip()
            line.cells = len(_CELL.findall(cells.group(0)))
            line.label_words = len(label.split())
        out.append(line)
        at += len(raw) + 1
    return out


def _kind(line: str) -> str:
    if not line:
        return "blank"
    if _DATE_KEY.match(line):
        return "dated"
    cells = _CELLS.search(line)
    if cells is None:
        return "text"
    label = line[: cells.start()].strip()
    values = _CELL.findall(cells.group(0))
    if all(_YEAR.fullmatch(v) for v in values):
        return "head"
    if not label:
        return "cells"
    if (
        len(label.split()) > MAX_LABEL_WORDS
        or not _LETTER.search(label)
        or _BULLET.match(label)
        or _HEADING.search(label)
        or _SENTENCE_INSIDE.search(label)
    ):
        return "text"
    return "row"


def _numeric(lines: list[_Line]) -> list[Table]:
    """Tables of label-and-number rows: runs of rows no more than MAX_GAP text lines apart, split where a
    head line stands between rows."""
    runs: list[list[int]] = []
    gap = MAX_GAP + 1
    for i, line in enumerate(lines):
        if line.kind in ("row", "cells"):
            if gap > MAX_GAP:
                runs.append([])
            runs[-1].append(i)
            gap = 0
        elif line.kind == "head":
            gap = MAX_GAP + 1
        elif line.kind in ("text", "dated"):
            gap += 1
    tables = []
    for run in runs:
        rows, first = _rows(lines, run)
        head = _head(lines, first)
        labelled = sum(bool(_LETTER.search(_text(lines, r))) for r in rows)
        if labelled >= MIN_ROWS or (labelled and _under_head(lines, first)):
            tables.append(Table([(lines[a].start, lines[b].end) for a, b in rows], head))
    return tables


def _rows(lines: list[_Line], run: list[int]) -> tuple[list[tuple[int, int]], int]:
    """The rows of one run: a row line starts a row, a line of numbers completes the row before it while that
    row has fewer cells than the table's fullest line, else starts a row of its own (with the short text lines
    above it as its label). Text lines between rows are the wrapped label of the next row when they end no
    sentence."""
    columns = max(lines[i].cells for i in run)
    rows: list[list[int]] = []  # [first line, last line, cells]
    previous = None
    for i in run:
        line = lines[i]
        between = [j for j in range(previous + 1, i) if lines[j].kind != "blank"] if previous is not None else []
        if line.kind == "cells" and rows and rows[-1][2] < columns and not between:
            rows[-1][1], rows[-1][2] = i, rows[-1][2] + line.cells
        else:
            first = _label_start(lines, i, previous, needed=line.kind == "cells" or line.text[:1].islower())
            rows.append([first, i, line.cells])
        previous = i
    return [(a, b) for a, b, _ in rows], rows[0][0]


def _label_start(lines: list[_Line], i: int, previous: int | None, needed: bool) -> int:
    """The first line of the label of the row at line i: the short text lines just above it, back to the
    previous row or a sentence's end. The first row of a table takes them only when it has no label of its own
    (they are its column heads otherwise)."""
    if previous is None and not needed:
        return i
    first = i
    taken = 0
    j = i - 1
    while j >= 0 and (previous is None or j > previous) and taken < MAX_LABEL_LINES:
        line = lines[j]
        if line.kind == "blank":
            j -= 1
            continue
        if (
            line.kind != "text"
            or len(line.text.split()) > MAX_LABEL_WORDS
            or line.text.endswith(_SENTENCE_END)
            or _BULLET.match(line.text)
        ):
            break
        first, taken = j, taken + 1
        if line.text[:1].isdigit():  # the row's number or id, its first cell
            break
        j -= 1
    return first


def _text(lines: list[_Line], row: tuple[int, int]) -> str:
    return " ".join(lines[k].text for k in range(row[0], row[1] + 1))


def _under_head(lines: list[_Line], first: int) -> bool:
    """The line just above is a head naming periods (`Utfall 2024 Budget 2024`): a table of one row."""
    above = next((lines[j] for j in range(first - 1, -1, -1) if lines[j].kind != "blank"), None)
    return above is not None and above.kind == "head"


def _head(lines: list[_Line], first: int) -> tuple[int, int] | None:
    """The head block above the table's first line: the non-numeric short lines back to a sentence's end, a
    row, two blank lines in a row or MAX_HEAD_LINES lines. A lone small number among them is a head cell split
    over lines (`inkl.lönepott -` / `23`)."""
    start = None
    taken = blanks = 0
    j = first - 1
    while j >= 0 and taken < MAX_HEAD_LINES:
        line = lines[j]
        if line.kind == "blank":
            blanks += 1
            if blanks >= 2:
                break
            j -= 1
            continue
        blanks = 0
        small = line.kind == "cells" and line.cells == 1 and len(line.text) <= 2
        if line.kind not in ("text", "head") and not small:
            break
        if line.text.endswith(_SENTENCE_END) or len(line.text.split()) > MAX_HEAD_WORDS:
            break
        start, taken = j, taken + 1
        j -= 1
    if start is None:
        return None
    end = max(lines[k].end for k in range(start, first) if lines[k].kind != "blank")
    return (lines[start].start, end)


def _dated(lines: list[_Line]) -> list[Table]:
    """Timetables: rows led by a date or period, each running on until its text ends a sentence or the next
    dated row starts; consecutive lines of dates alone (`2023-11-08` / `2023-11-20`) lead one row."""
    rows: list[tuple[int, int]] = []
    i = 0
    while i < len(lines):
        if lines[i].kind != "dated":
            i += 1
            continue
        first = i
        while _date_only(lines[i]) and (j := _next_text(lines, i)) is not None and _date_only(lines[j]):
            i = j
        last = i
        j = i
        while (
            not lines[last].text.endswith((".", "!", "?"))
            and (j := _next_text(lines, j)) is not None
            and lines[j].kind != "dated"
            and j - first < MAX_DATED_LINES
        ):
            last = j
        rows.append((first, last))
        i = last + 1
    tables: list[Table] = []
    run: list[tuple[int, int]] = []
    for row in rows:
        if run and _texts_between(lines, run[-1][1], row[0]) > 2:
            tables += _dated_table(lines, run)
            run = []
        run.append(row)
    return tables + _dated_table(lines, run)


def _dated_table(lines: list[_Line], run: list[tuple[int, int]]) -> list[Table]:
    if len(run) < MIN_DATED_ROWS:
        return []
    return [Table([(lines[a].start, lines[b].end) for a, b in run], _head(lines, run[0][0]), "dated")]


def _date_only(line: _Line) -> bool:
    return line.kind == "dated" and _DATE_KEY.fullmatch(line.text) is not None


def _next_text(lines: list[_Line], i: int) -> int | None:
    return next((j for j in range(i + 1, len(lines)) if lines[j].kind != "blank"), None)


def _texts_between(lines: list[_Line], a: int, b: int) -> int:
    return sum(lines[j].kind != "blank" for j in range(a + 1, b))

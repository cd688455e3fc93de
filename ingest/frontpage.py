"""A protocol's front page (försättsblad) read into the fields officials ask about.

`Plats och tid`, `Beslutande` (the chair marked `ordförande`), `Ersättare`, `Övriga deltagande` (officials,
with the §§ they attended), `Utses att justera`, `Justeringens tid och plats` and `Paragrafer` are facts,
not furniture (GUIDE §1), yet a chunk of them has no title or section that a ranker could find. Each field
keeps its span in the clean text, so an answer cites the field itself, word for word.
"""

from __future__ import annotations

import re

from .records import Field

# (field, its label as records write it); the order is the front page's own.
LABELS = (
    ("plats_och_tid", r"Plats och tid"),
    ("beslutande", r"Beslutande(?: ledamöter)?"),
    ("ersattare", r"(?:Tjänstgörande |Närvarande )?[Ee]rsättare"),
    ("ovriga", r"Övriga (?:deltagande|närvarande)|Övriga"),
    ("justerare", r"Utses att justera|Justerare"),
    ("justering", r"Justeringens (?:tid och plats|plats och tid)"),
    ("paragrafer", r"Paragrafer:?"),
)
_LABEL = re.compile(
    "|".join(rf"(?P<{name}>(?:(?<=\n)|^|(?<=\s))\s*{label}\b)" for name, label in LABELS), re.MULTILINE
)
# Where the fields end: the signatures and the notice of posting that follow them.
_END = re.compile(r"\n\s*(?:Underskrift|Underskrifter|Sekreterare\b|BEVIS OM ANSLAG|ANSLAG|_{5,}|\.{10,})", re.IGNORECASE)
_CHAIR = re.compile(r"[^\n]*\b(?:ordförande|ordf\.?)(?![\w-])[^\n]*", re.IGNORECASE)


def read(text: str, start: int, end: int) -> list[Field]:
    """The front-page fields in text[start:end] (a protocol's text before its first §), in order; none when
    the text holds fewer than two of them (a lone `Beslutande` in running text is no front page)."""
    stop = _END.search(text, start, end)
    limit = stop.start() if stop else end
    found = [(m.lastgroup, m.start(m.lastgroup), m.end(m.lastgroup)) for m in _LABEL.finditer(text, start, limit)]
    fields = []
    for i, (name, at, _) in enumerate(found):
        until = found[i + 1][1] if i + 1 < len(found) else limit
        at += len(text[at:until]) - len(text[at:until].lstrip())
        value_end = at + len(text[at:until].rstrip())
        if name not in {f.name for f in fields}:
            fields.append(Field(name, at, value_end))
    return fields if len(fields) >= 2 else []


def chair(text: str, field: Field) -> tuple[int, int] | None:
    """The line of `Beslutande` that names the chair, as a span."""
    m = _CHAIR.search(text, field.start, field.end)
    return (m.start(), m.end()) if m else None

"""Clean text → the document's metadata and the units an official cites.

A protokoll is a run of §§ (`§ 218 Dnr 2023-00497`, Norsjö's `KS-25/00244 § 17`, `§ 28 forts.`);
a file of tjänsteskrivelser is a run of memos, each opened by its `Diarienr:` header; a kallelse is a
numbered agenda (ÄRENDEN) followed by memos and draft §§; a verksamhetsberättelse is a tree of numbered
headings. Every kind of unit is looked for in every document, so a record of unknown type still gets its
structure; text outside any unit (a protocol's front page) becomes a unit of its own, so nothing is lost.
Within a unit, section headings (beslut, beskrivning av ärendet, beslutsunderlag …) mark sections.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from . import dnr as dnrs
from . import frontpage
from .language import ISO_DATE, LONG_DATE, MONTH_NUMBER, ORGAN_WORD, organ_from_genitive
from .records import CleanText, Section, Unit

DOC_TYPES = ("protokoll", "kallelse", "tjänsteskrivelse", "verksamhetsberättelse", "okänd")

_PARAGRAF_LINE = re.compile(r"(?P<pre>.*?)(?<!§)§\s*(?P<num>\d{1,4})?(?P<forts>\s+forts\.?)?(?P<post>.*)")
_SECTION_NAMES = [
    (r".{0,80}\bbeslut", None),
    (r".{0,80}\bförslag till (?:beslut|kommunstyrelsen|kommunfullmäktige|fullmäktige|nämnden)", None),
    (r"(?:beskrivning av ärendet|ärendebeskrivning|ärendet)", "beskrivning av ärendet"),
    (r"sammanfattning(?: av ärendet)?", "sammanfattning"),
    (r"bakgrund", "bakgrund"),
    (r"beslutsunderlag", "beslutsunderlag"),
    (r"reservation(?:er)?", "reservation"),
    (r"(?:protokollsutdrag|beslutet|protokollet)(?: ska)? skickas till", "skickas till"),
    (r"jämställdhetsanalys|barnkonsekvensanalys|barnrättsanalys|konsekvensanalys", None),
    (r"beredningsansvarig[a]?|beredande tjänsteperson(?:er)?", None),
    (r"yrkanden?|propositionsordning|beslutsgång|jäv|särskilt yttrande|protokollsanteckning", None),
    (r"ekonomiska konsekvenser|ekonomi|finansiering|konsekvenser|överväganden|motivering|bedömning", None),
    (r"tidsbegränsningar(?:/tidsperspektiv)?|tidsplan|uppföljning|handlingar|bilagor?", None),
]
_SECTION = re.compile(
    "|".join(f"(?:{p})" for p, _ in _SECTION_NAMES) + r"\s*:?", re.IGNORECASE
)
_MEMO_DNR = re.compile(r"(?i:diarienr|diarienummer)\s*:?(?:\s*\S.*)?")
_AGENDA_ITEM = re.compile(r"(\d{1,2})\.\s+(\S.*)")
_NUMBERED_HEADING = re.compile(r"(\d{1,2}(?:\.\d{1,2}){0,3})\s+([A-ZÅÄÖ][^\n]{1,100})")


@dataclass
class DocumentInfo:
    kommun: str
    organ: str
    doc_type: str
    date: str | None
    title: str


def fold(text: str) -> str:
    """Case and diacritics folded: how filters compare `Norsjö` with `norsjo` and `tjansteskrivelse`."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def describe(doc_id: str, raw: str, units: list[Unit]) -> DocumentInfo:
    """Document metadata from the raw text (furniture included: it often holds organ and date)."""
    doc_type = _doc_type(doc_id, raw)
    kommun = _kommun(doc_id, raw)
    organ = _organ(raw, units)
    date = _date(doc_id, raw, units)
    title = " – ".join(part for part in (f"{kommun} kommun", organ, doc_type, date) if part)
    return DocumentInfo(kommun, organ, doc_type, date, title)


def units(clean: CleanText) -> list[Unit]:
    text = clean.text
    lines = _lines(text)
    found = _paragrafer(text, lines) + _memos(text, lines) + _agenda(text, lines) + _headings(text, lines)
    found.sort(key=lambda u: u.start)
    result: list[Unit] = []
    for unit in found:
        if result and unit.start < result[-1].end:
            result[-1].end = unit.start  # the next unit opens where the one before it ends
        result.append(unit)
    filled = _fill_gaps(result, len(text), text)
    for unit in filled:
        _trim(unit, text)
        unit.sections = _sections(unit, text, lines)
        unit.pages = clean.pages(unit.start, unit.end)
        if unit.kind == "rubrik":
            unit.sections[0].name = unit.title
        if unit.kind == "paragraf" and unit.organ is None:
            unit.organ = _deciding_organ(unit.sections)
        if unit.kind == "dokument":
            unit.fields = frontpage.read(text, unit.start, unit.end)
    return [u for u in filled if u.end > u.start]


@dataclass
class _Line:
    start: int
    end: int
    text: str


def _lines(text: str) -> list[_Line]:
    out, offset = [], 0
    for raw in text.split("\n"):
        out.append(_Line(offset, offset + len(raw), " ".join(raw.split())))
        offset += len(raw) + 1
    return out


def _next_texts(lines: list[_Line], i: int, count: int) -> list[int]:
    return [j for j in range(i + 1, min(i + 1 + 12, len(lines))) if lines[j].text][:count]


def _paragrafer(text: str, lines: list[_Line]) -> list[Unit]:
    found: list[Unit] = []
    for i, line in enumerate(lines):
        if "§" not in line.text or "§§" in line.text:
            continue
        m = _PARAGRAF_LINE.fullmatch(line.text)
        if not m:
            continue
        dnr_matches = dnrs.find_all(line.text)
        if not _only_dnr(f"{m.group('pre')} {m.group('post')}", dnr_matches):
            continue
        number = m.group("num")
        paragraf = f"§ {number}" if number else None
        if m.group("forts") and found and found[-1].paragraf == paragraf:
            continue  # `§ 28 forts.` continues the § before it
        title = _title(lines, i)
        unit = Unit("paragraf", line.start, len(text), paragraf=paragraf, title=title)
        if dnr_matches:
            unit.dnr, unit.dnr_as_written = dnr_matches[0].dnr.canonical, dnr_matches[0].as_written
        if found:
            found[-1].end = line.start
        found.append(unit)
    return found


def _only_dnr(rest: str, matches: list[dnrs.DnrMatch]) -> bool:
    """True when the words around `§ N` are only a Dnr (with `Dnr`, a diary-plan code, `forts.`)."""
    for m in matches:
        rest = rest.replace(m.as_written, " ")
    rest = re.sub(r"(?i)\bdnr\b[:.]?|\bforts\b\.?", " ", rest)
    return re.fullmatch(r"\d{0,3}", rest.strip()) is not None


def _title(lines: list[_Line], i: int) -> str | None:
    after = _next_texts(lines, i, 2)
    if not after:
        return None
    first = lines[after[0]].text
    if _SECTION.fullmatch(first) or "§" in first:
        return None
    title = first
    if len(after) > 1 and after[1] <= after[0] + 2:
        second = lines[after[1]].text
        if (first.endswith((" och", "-", ",", " samt", "s")) or second[:1].islower()) and not _SECTION.fullmatch(second):
            title = f"{first} {second}"
    return title


def _memos(text: str, lines: list[_Line]) -> list[Unit]:
    """Tjänsteskrivelser: a `Diarienr:` header (after `Tjänsteskrivelse`, a date and the organ) opens one."""
    found: list[Unit] = []
    for i, line in enumerate(lines):
        if not _MEMO_DNR.fullmatch(line.text):
            continue
        value_line = line
        if not dnrs.find_all(line.text):
            after = _next_texts(lines, i, 1)
            if not after or not dnrs.find_all("Dnr " + lines[after[0]].text):
                continue
            value_line = lines[after[0]]
        match = dnrs.find_all("Dnr " + value_line.text if value_line is not line else line.text)
        if not match:
            continue
        header = [j for j in range(max(0, i - 12), i) if lines[j].text]
        opener = next((j for j in header if re.fullmatch(r"(?i)tjänsteskrivelse", lines[j].text)), None)
        start = lines[opener].start if opener is not None else line.start
        date = organ = None
        for j in range(opener if opener is not None else i, i):
            iso = ISO_DATE.fullmatch(lines[j].text)
            if iso:
                date = iso.group(0)
            elif opener is not None and j > opener and lines[j].text and not re.fullmatch(r"(?i)datum|diarienummer", lines[j].text):
                organ = f"{organ} {lines[j].text}" if organ else lines[j].text
        title_at = lines.index(value_line)
        unit = Unit("tjänsteskrivelse", start, len(text), title=_title(lines, title_at), date=date, organ=organ)
        unit.dnr, unit.dnr_as_written = match[0].dnr.canonical, match[0].as_written
        if found:
            found[-1].end = start
        found.append(unit)
    for unit in found:
        unit.signatory = _signatory(text[unit.start : unit.end])
    return found


def _signatory(text: str) -> str | None:
    m = re.search(r"(?im)^i tjänsten\s*\n+\s*(\S[^\n]*)\n+\s*(\S[^\n]*)", text)
    if not m:
        return None
    name, role = m.group(1).strip(), m.group(2).strip()
    return f"{name}, {role}" if not re.search(r"\d|@", role) else name


def _agenda(text: str, lines: list[_Line]) -> list[Unit]:
    """A kallelse's ÄRENDEN: numbered items, each with its Dnr on the line after when it has one."""
    found: list[Unit] = []
    in_agenda, expected = False, 1
    for i, line in enumerate(lines):
        if re.fullmatch(r"(?i)ärenden:?", line.text):
            in_agenda = True
            continue
        if not in_agenda or not line.text:
            continue
        m = _AGENDA_ITEM.fullmatch(line.text)
        if m and int(m.group(1)) == expected:
            expected += 1
            title = m.group(2)
            unit = Unit("ärende", line.start, line.end, paragraf=None, title=f"{m.group(1)}. {title}")
            if found:
                found[-1].end = line.start
            found.append(unit)
        elif found and dnrs.find_all(line.text) and line.start - found[-1].start < 400:
            match = dnrs.find_all(line.text)[0]
            found[-1].dnr, found[-1].dnr_as_written = match.dnr.canonical, match.as_written
            found[-1].end = line.end
        elif found and line.start - found[-1].end > 200:
            in_agenda = False
        elif found and not m:
            found[-1].end = line.end
    return found


def _headings(text: str, lines: list[_Line]) -> list[Unit]:
    """Numbered report headings, accepted only in sequence (`3` → `3.1` → `3.2` → `4`): table rows are not."""
    found: list[Unit] = []
    path: list[tuple[list[int], str]] = []
    last: list[int] = []
    for i, line in enumerate(lines):
        m = _NUMBERED_HEADING.fullmatch(line.text)
        if not m or re.search(r"\d[\d ,.%-]*$", m.group(2)) or len(m.group(2).split()) > 14:
            continue
        number = [int(n) for n in m.group(1).split(".")]
        if not _follows(last, number):
            continue
        last = number
        label = f"{m.group(1)} {m.group(2)}"
        after = _next_texts(lines, i, 1)
        if after and after[0] == i + 1 and lines[after[0]].text[:1].islower():
            label = f"{label} {lines[after[0]].text}"
        path = [(n, l) for n, l in path if len(n) < len(number)] + [(number, label)]
        unit = Unit("rubrik", line.start, len(text), title=label, heading_path=[l for _, l in path])
        if found:
            found[-1].end = line.start
        found.append(unit)
    return found if len(found) >= 2 else []


def _follows(last: list[int], number: list[int]) -> bool:
    if not last:
        return number in ([1], [1, 1]) or (len(number) == 1 and number[0] <= 3)
    if number == last + [1]:
        return True
    for depth in range(len(last), 0, -1):
        if number == last[: depth - 1] + [last[depth - 1] + 1]:
            return True
    return False


def _fill_gaps(found: list[Unit], length: int, text: str) -> list[Unit]:
    filled: list[Unit] = []
    cursor = 0
    for unit in found:
        if text[cursor : unit.start].strip():
            filled.append(Unit("dokument", cursor, unit.start))
        filled.append(unit)
        cursor = unit.end
    if text[cursor:length].strip():
        filled.append(Unit("dokument", cursor, length))
    return filled


def _trim(unit: Unit, text: str) -> None:
    while unit.end > unit.start and text[unit.end - 1].isspace():
        unit.end -= 1
    while unit.start < unit.end and text[unit.start].isspace():
        unit.start += 1


def _sections(unit: Unit, text: str, lines: list[_Line]) -> list[Section]:
    sections = [Section(None, unit.start, unit.end)]
    for line in lines:
        if line.start < unit.start or line.start >= unit.end or line.start == unit.start:
            continue
        if _is_section_heading(line.text):
            sections[-1].end = line.start
            sections.append(Section(_section_name(line.text), line.start, unit.end))
    sections = [s for s in sections if text[s.start : s.end].strip()]
    for i in range(len(sections) - 2, -1, -1):
        if len(text[sections[i].start : sections[i].end].strip().splitlines()) == 1 and sections[i].name:
            # A heading with nothing under it before the next heading heads that one too:
            # `Allmänna utskottets förslag till kommunstyrelsen` over `Kommunfullmäktiges beslut`.
            sections[i].end = sections[i + 1].end
            del sections[i + 1]
    sections = [part for section in sections for part in _split_distribution_list(section, text)]
    if len(sections) > 1 and sections[0].name is None and _short(text[sections[0].start : sections[0].end]):
        # A unit's opening lines (§ and Dnr, title; a memo's date and Diarienr) belong with its first
        # section, so that the chunk citing the decision also says which case it decides.
        sections[1].start = sections[0].start
        sections = sections[1:]
    return sections


def _split_distribution_list(section: Section, text: str) -> list[Section]:
    """`Beslutet ska skickas till` heads a list of recipients and the signature; a memo's attachments
    (the motion, a summary of applications) follow with no heading of their own. They become a `bilaga`
    section from the first line of prose on, so they are not cited as the distribution list."""
    if section.name != "skickas till":
        return [section]
    for m in re.finditer(r"[^\n]+", text[section.start : section.end]):
        line = m.group().strip()
        if m.start() and (len(line.split()) >= 8 or (line.endswith(".") and len(line.split()) >= 4)):
            cut = section.start + m.start()
            return [Section(section.name, section.start, cut), Section("bilaga", cut, section.end)]
    return [section]


def _short(text: str, lines: int = 9) -> bool:
    return sum(1 for line in text.splitlines() if line.strip()) <= lines


def _is_section_heading(line: str) -> bool:
    if not line or len(line) > 100 or line.endswith((".", ",")):
        return False
    if _SECTION.fullmatch(line):
        return line[:1].isupper()
    return False


def _section_name(heading: str) -> str:
    heading = heading.rstrip(": ")
    for pattern, name in _SECTION_NAMES:
        if re.fullmatch(pattern, heading, re.IGNORECASE):
            return name or heading[:1].lower() + heading[1:]
    return heading


def _deciding_organ(sections: list[Section]) -> str | None:
    """The organ whose decision or proposal a § records: `Kommunstyrelsens arbets- och personalutskotts beslut`."""
    for section in sections:
        m = re.fullmatch(rf"(.*?{ORGAN_WORD}\w*s) (?:beslut|förslag till .+)", section.name or "", re.IGNORECASE)
        if m:
            organ = organ_from_genitive(m.group(1))
            return organ[:1].upper() + organ[1:]
    return None


def _doc_type(doc_id: str, raw: str) -> str:
    name = fold(doc_id)
    for doc_type in DOC_TYPES[:-1]:
        if fold(doc_type) in name:
            return doc_type
    head = fold(raw[:4000])
    if "kallelse" in head:
        return "kallelse"
    if "protokoll" in head or "justerandes sign" in head:
        return "protokoll"
    if "verksamhetsberattelse" in head:
        return "verksamhetsberättelse"
    if "tjansteskrivelse" in head:
        return "tjänsteskrivelse"
    return "okänd"


def _kommun(doc_id: str, raw: str) -> str:
    names = Counter(
        m.group(1)[:1].upper() + m.group(1)[1:].lower()
        for m in re.finditer(r"\b([A-ZÅÄÖ][a-zåäöA-ZÅÄÖ]+)\s+(?:kommun|KOMMUN)s?\b", raw)
        if m.group(1).lower() not in {"i", "varje", "hela", "en", "din", "vår", "denna", "annan"}
    )
    first = fold(doc_id.split("-")[0])
    for name, _ in names.most_common():
        if fold(name) == first:
            return name
    return names.most_common(1)[0][0] if names else "okänd"


def _organ(raw: str, units: list[Unit]) -> str:
    text = " ".join(raw.split())
    meeting = re.search(rf"\b([A-ZÅÄÖ][a-zåäö]*(?:[ -][a-zåäö]+){{0,5}}?{ORGAN_WORD}\w*?)s sammanträde\b", text)
    if meeting and "kallelse" in fold(text[:3000]):
        return organ_from_genitive(meeting.group(1) + "s")
    decisions = Counter(
        organ_from_genitive(m.group(1))
        for m in re.finditer(rf"(?m)^\s*([A-ZÅÄÖ][\wåäö -]*?{ORGAN_WORD}\w*?s) beslut\s*$", raw)
    )
    if decisions:
        return decisions.most_common(1)[0][0]
    memo_organs = Counter(u.organ for u in units if u.kind == "tjänsteskrivelse" and u.organ)
    if memo_organs:
        return memo_organs.most_common(1)[0][0]
    mentions = Counter(
        m.group(1) for m in re.finditer(rf"\b((?:Kommunstyrelsen|Kommunfullmäktige|[A-ZÅÄÖ][a-zåäö]+{ORGAN_WORD}(?:en|et|n)))\b", text)
    )
    return mentions.most_common(1)[0][0] if mentions else "okänd"


def _date(doc_id: str, raw: str, units: list[Unit]) -> str | None:
    text = " ".join(raw.split())
    labelled = re.search(r"(?i)sammanträdes(?:datum|dag)\s*:?\s*(\d{4}-\d{2}-\d{2})", text)
    if labelled:
        return labelled.group(1)
    spoken = re.search(r"(?i)datum\s*:\s*\w*\s*" + LONG_DATE.pattern, text)
    if spoken:
        return f"{int(spoken.group(3)):04d}-{MONTH_NUMBER[spoken.group(2).lower()]:02d}-{int(spoken.group(1)):02d}"
    in_name = ISO_DATE.search(doc_id)
    if in_name:
        return in_name.group(0)
    memo_dates = sorted(u.date for u in units if u.date)
    return memo_dates[-1] if memo_dates else None

"""Real-looking council records at any size, for measuring the indexes at millions of chunks.

    from synthetic import entries                       # beside the script, as bench/index_scale.py does
    for entry in entries(1_000_000, seed=13): ...       # Entry objects in doc_id order, streamed

The sample index's clean document texts are cut into sentences, and each chunk is ~175 cl100k tokens (55–270) of
those sentences drawn at random (the sample's chunks average 145, the chunker's ceiling is 200), with amounts, years
and the sample's kommun names redrawn, so the vocabulary keeps growing with N the way numbers and place
names do. Around the text is the structure ingest gives: documents of 50–300 chunks (protokoll, kallelse,
tjänsteskrivelse, verksamhetsberättelse) of ~290 kommuner (weighted like their sizes) and ~10 organ each,
dated 2015–2025; units (§, ärende, memo, heading) of 1–12 chunks in named sections, consecutive chunks
sharing a sentence; a Dnr per case unit, distinct within its kommun and year, in the kommun's spelling
(`KS 2023/123`, `KS-2023/00651`, `2023-00497` …), written again in the unit's first chunk now and then, and
other cases of the same kommun mentioned in ~5 % of chunks.

What this does not reproduce: the sample has ~2,800 distinct sentences, so a topic word sits in a larger
share of chunks than it would among 290 kommuner's own topics, and its BM25 posting list is longer. Costs
that grow with posting length are therefore an upper bound; costs that grow with N are exact.
"""

from __future__ import annotations

import hashlib
import random
import re
import sqlite3
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from protokollsok.indexes.build import Entry
from protokollsok.ingest import dnr as dnrs
from protokollsok.ingest.records import Chunk, Document, Section, Unit

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "var" / "index" / "current" / "meta.sqlite"
KOMMUNER = ROOT / "ingest" / "data" / "kommuner.txt"

CHARS_PER_TOKEN = 2.9  # cl100k on the sample's chunks
MODEL_PER_CL100K = 0.67
CHUNK_TOKENS = (170, 230)  # drawn target; chunks end below it, ~175 on average
DOC_CHUNKS = (50, 300)
UNIT_CHUNKS = (1, 12)
YEARS = (2015, 2025)
PAGE_CHARS = 1800

# (name, Dnr prefix, weight): every kommun has the first two; the rest are drawn to ~10 organ.
ORGAN = [
    ("Kommunfullmäktige", "KS", 3),
    ("Kommunstyrelsen", "KS", 5),
    ("Kommunstyrelsens arbetsutskott", "KS", 3),
    ("Barn- och utbildningsnämnden", "BUN", 3),
    ("Socialnämnden", "SN", 3),
    ("Miljö- och byggnadsnämnden", "MBN", 2),
    ("Kultur- och fritidsnämnden", "KFN", 2),
    ("Tekniska nämnden", "TN", 2),
    ("Vård- och omsorgsnämnden", "VON", 2),
    ("Gymnasienämnden", "GN", 1),
    ("Överförmyndarnämnden", "ÖFN", 1),
    ("Samhällsbyggnadsnämnden", "SBN", 2),
    ("Arbetsmarknadsnämnden", "AMN", 1),
    ("Valnämnden", "VN", 1),
    ("Kommunstyrelsens personalutskott", "KS", 1),
    ("Byggnadsnämnden", "BN", 1),
]
ORGAN_PER_KOMMUN = 10
DOC_TYPES = [("protokoll", 45), ("kallelse", 20), ("tjänsteskrivelse", 25), ("verksamhetsberättelse", 10)]
# How a kommun writes its case numbers; every one of these parses (ingest/dnr.py) to year and serial.
DNR_STYLES = ["{p} {y}/{s}", "{p}-{y}/{s:05d}", "{y}-{s:05d}", "{p}-{y}-{s:05d}", "{p}-{yy}/{s:05d}"]
SECTIONS = {
    "protokoll": ["{organ} beslut", "beskrivning av ärendet", "beslutsunderlag", "skickas till"],
    "kallelse": ["förslag till beslut", "beskrivning av ärendet"],
    "tjänsteskrivelse": ["sammanfattning", "bakgrund", "förslag till beslut", "ekonomi", "beslutsunderlag"],
    "verksamhetsberättelse": [None],
}
UNIT_KIND = {
    "protokoll": "paragraf",
    "kallelse": "ärende",
    "tjänsteskrivelse": "tjänsteskrivelse",
    "verksamhetsberättelse": "rubrik",
}
HAS_DNR = {"protokoll": 0.85, "kallelse": 0.8, "tjänsteskrivelse": 1.0, "verksamhetsberättelse": 0.0}
OWN_DNR_IN_TEXT = 0.5
MENTION_RATE = 0.05
SAMPLE_KOMMUNER = ("Kalix", "Luleå", "Norsjö", "Umeå")

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÅÄÖ0-9])")
_NUMBER = re.compile(r"\b\d{1,3}(?:[ \u00a0]\d{3})*(?:,\d+)?\b")
_YEAR = re.compile(r"\b20[12]\d\b")
_LEADING_NUMBER = re.compile(r"^\d+(?:\.\d+)*\.?\s+")


@dataclass(frozen=True)
class Pool:
    """What chunks are made of: the sample's sentences and unit titles, and the names around them."""

    sentences: list[str]
    titles: list[str]
    kommuner: list[str]
    with_numbers: frozenset[str]
    with_names: frozenset[str]

    @classmethod
    def load(cls, sample: Path = SAMPLE, kommuner: Path = KOMMUNER) -> Pool:
        db = sqlite3.connect(f"file:{sample}?mode=ro", uri=True)
        try:
            texts = [r[0] for r in db.execute("SELECT text FROM documents ORDER BY doc_id")]
            titles = sorted(
                {
                    _LEADING_NUMBER.sub("", r[0])
                    for r in db.execute("SELECT DISTINCT title FROM chunks WHERE title != ''")
                }
            )
        finally:
            db.close()
        sentences: set[str] = set()
        for text in texts:
            for paragraph in re.split(r"\n\s*\n", text):
                for sentence in _SENTENCE_END.split(" ".join(paragraph.split())):
                    # a Dnr the sample cites would be cited everywhere: mentions are drawn below instead
                    if 20 <= len(sentence) <= 400 and not dnrs.find_all(sentence):
                        sentences.add(sentence)
        names = [
            line.strip()
            for line in kommuner.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")
        ]
        numbered = frozenset(t for t in sentences if any(c.isdigit() for c in t))
        named = frozenset(t for t in sentences if any(k in t for k in SAMPLE_KOMMUNER))
        return cls(sorted(sentences), titles, names, numbered, named)


@dataclass
class _Plan:
    kommun: str
    organ: str
    prefix: str
    doc_type: str
    day: date
    chunks: int
    style: str

    @property
    def doc_id(self) -> str:
        return f"{slug(self.kommun)}-{slug(self.organ)}-{slug(self.doc_type)}-{self.day.isoformat()}"


def entries(n: int, seed: int = 13, pool: Pool | None = None) -> Iterator[Entry]:
    """Exactly `n` chunks, as documents sorted by doc_id (the order publish adds them in); the same `n`
    and `seed` always give the same records."""
    pool = pool or Pool.load()
    plans = _plans(n, random.Random(seed), pool)
    serials: dict[tuple[str, int], int] = {}
    paragrafer: dict[tuple[str, str, int], int] = {}
    cases: dict[str, list[str]] = {}
    for number, plan in enumerate(plans):
        rng = random.Random(f"{seed}:{number}")
        yield _entry(plan, rng, pool, serials, paragrafer, cases.setdefault(plan.kommun, []))


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def _plans(n: int, rng: random.Random, pool: Pool) -> list[_Plan]:
    """Every document's kommun, organ, type, date and size, small enough to hold for 10 M chunks."""
    kommuner = list(pool.kommuner)
    rng.shuffle(kommuner)
    weights = [1 / (rank + 1) ** 0.7 for rank in range(len(kommuner))]  # a few large kommuner, a long tail
    organ_of = {k: _organ_for(rng) for k in kommuner}
    style_of = {k: rng.choice(DNR_STYLES) for k in kommuner}
    first, days = date(YEARS[0], 1, 1), (date(YEARS[1], 12, 31) - date(YEARS[0], 1, 1)).days
    plans, total, seen = [], 0, set()
    while total < n:
        kommun = rng.choices(kommuner, weights)[0]
        organ, prefix = rng.choices(organ_of[kommun], [w for _, _, w in organ_of[kommun]])[0][:2]
        doc_type = rng.choices([d for d, _ in DOC_TYPES], [w for _, w in DOC_TYPES])[0]
        day = first + timedelta(days=rng.randrange(days + 1))
        size = min(rng.randint(*DOC_CHUNKS), n - total)
        plan = _Plan(kommun, organ, prefix, doc_type, day, size, style_of[kommun])
        if plan.doc_id in seen:
            continue
        seen.add(plan.doc_id)
        plans.append(plan)
        total += size
    return sorted(plans, key=lambda p: p.doc_id)


def _organ_for(rng: random.Random) -> list[tuple[str, str, int]]:
    rest = ORGAN[2:]
    return ORGAN[:2] + rng.sample(rest, ORGAN_PER_KOMMUN - 2)


def _entry(plan: _Plan, rng: random.Random, pool: Pool, serials: dict, paragrafer: dict, cases: list[str]) -> Entry:
    doc_id = plan.doc_id
    text_parts: list[str] = []
    offset = 0
    units: list[Unit] = []
    chunks: list[Chunk] = []
    year = plan.day.year
    title = f"{plan.kommun} kommun – {plan.organ} – {plan.doc_type} – {plan.day.isoformat()}"
    remaining = plan.chunks
    while remaining > 0:
        size = min(remaining, rng.randint(*UNIT_CHUNKS) if units else 1)
        remaining -= size
        kind = UNIT_KIND[plan.doc_type] if units else "dokument"
        unit_title = rng.choice(pool.titles) if units else title
        paragraf = dnr = None
        if kind == "paragraf":
            key = (plan.kommun, plan.organ, year)
            paragrafer[key] = paragrafer.get(key, rng.randint(0, 200)) + 1
            paragraf = f"§ {paragrafer[key]}"
        if units and rng.random() < HAS_DNR[plan.doc_type]:
            case_year = year if rng.random() < 0.7 else year - 1
            key = (plan.kommun, case_year)
            serials[key] = serials.get(key, rng.randint(0, 50)) + rng.randint(1, 3)
            dnr = _write_dnr(plan.style, plan.prefix, case_year, serials[key])
        if kind == "ärende":
            unit_title = f"{len(units)}. {unit_title}"
        unit_date = plan.day.isoformat() if plan.doc_type != "verksamhetsberättelse" else None
        sections_named = (
            [s.format(organ=plan.organ.lower()) if s else None for s in SECTIONS[plan.doc_type]] if units else [None]
        )
        unit_start = offset
        unit_sections: list[Section] = []
        for i in range(size):
            section = sections_named[min(len(sections_named) - 1, i * len(sections_named) // size)]
            # consecutive chunks of a unit share a sentence, as the chunker's overlap does
            shared = chunks[-1].text.rsplit("\n", 1)[-1] if chunks and chunks[-1].unit == len(units) else None
            sentences = _sentences(rng, pool, plan.kommun, year, len(shared) + 1 if shared else 0)
            if i == 0 and dnr and rng.random() < OWN_DNR_IN_TEXT:
                sentences.insert(0, f"Dnr {dnr}")
            if cases and rng.random() < MENTION_RATE:
                sentences.append(f"Ärendet har tidigare behandlats, dnr {rng.choice(cases[-200:])}.")
            if shared:
                sentences.insert(0, shared)
                start = offset - len(shared) - 1
            else:
                start = offset
            text = "\n".join(sentences)
            fresh = text[offset - start :] if start < offset else text
            text_parts.append(fresh + "\n")
            if not unit_sections or unit_sections[-1].name != section:
                unit_sections.append(Section(section, start, start + len(text)))
            else:
                unit_sections[-1].end = start + len(text)
            offset += len(fresh) + 1
            pages = list(range(start // PAGE_CHARS + 1, (start + len(text)) // PAGE_CHARS + 2))
            tokens = round(len(text) / CHARS_PER_TOKEN)
            chunks.append(
                Chunk(
                    chunk_id=f"{doc_id}#{len(chunks):04d}",
                    doc_id=doc_id,
                    kommun=plan.kommun,
                    organ=plan.organ,
                    doc_type=plan.doc_type,
                    date=unit_date or plan.day.isoformat(),
                    title=unit_title,
                    paragraf=paragraf,
                    dnr=dnr,
                    dnr_as_written=dnr,
                    section=section,
                    heading_path=[],
                    page=pages[0],
                    pages=pages,
                    text=text,
                    span=(start, start + len(text)),
                    unit_kind=kind,
                    unit=len(units),
                    tokens=tokens,
                    model_tokens=round(tokens * MODEL_PER_CL100K),
                )
            )
        units.append(
            Unit(
                kind=kind,
                start=unit_start,
                end=offset,
                paragraf=paragraf,
                title=unit_title,
                dnr=dnr,
                dnr_as_written=dnr,
                date=unit_date,
                organ=plan.organ,
                sections=unit_sections,
                pages=sorted({p for c in chunks[-size:] for p in c.pages}),
            )
        )
        if dnr:
            cases.append(dnr)
    text = "".join(text_parts)
    page_starts = [(p * PAGE_CHARS, p + 1) for p in range(len(text) // PAGE_CHARS + 1)]
    document = Document(
        doc_id=doc_id,
        source=f"{doc_id}.pdf",
        kommun=plan.kommun,
        organ=plan.organ,
        doc_type=plan.doc_type,
        date=plan.day.isoformat(),
        title=title,
        text=text,
        page_starts=page_starts,
        units=units,
    )
    return Entry(document, chunks, hashlib.sha256(doc_id.encode()).hexdigest())


def _write_dnr(style: str, prefix: str, year: int, serial: int) -> str:
    return style.format(p=prefix, y=year, yy=f"{year % 100:02d}", s=serial)


def _sentences(rng: random.Random, pool: Pool, kommun: str, year: int, reserved: int) -> list[str]:
    """Sentences up to a drawn length, less `reserved` characters the caller puts in front."""
    target = rng.randint(*CHUNK_TOKENS) * CHARS_PER_TOKEN - reserved
    out, length = [], 0
    while True:
        sentence = rng.choice(pool.sentences)
        if length + len(sentence) > target and out:
            return out
        out.append(_redraw(sentence, rng, pool, kommun, year))
        length += len(sentence) + 1


def _redraw(sentence: str, rng: random.Random, pool: Pool, kommun: str, year: int) -> str:
    """Numbers, years and the sample's kommun names made this chunk's own."""
    if sentence in pool.with_names:
        for name in SAMPLE_KOMMUNER:
            sentence = sentence.replace(name, kommun)
    if sentence in pool.with_numbers:
        sentence = _YEAR.sub(lambda m: str(rng.randint(year - 3, year + 2)), sentence)
        sentence = _NUMBER.sub(
            lambda m: _number_like(m.group(), rng) if not _YEAR.fullmatch(m.group()) else m.group(), sentence
        )
    return sentence


def _number_like(number: str, rng: random.Random) -> str:
    digits = sum(c.isdigit() for c in number.split(",")[0])
    value = rng.randint(10 ** (digits - 1) if digits > 1 else 0, 10**digits - 1)
    whole = f"{value:,}".replace(",", " ")
    return f"{whole},{rng.randint(0, 9)}" if "," in number else whole

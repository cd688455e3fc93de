"""Swedish record language: how records and the questions about them write a month, a §, an organ deciding,
a decision asked for, and the kind of answer wanted.

Ingest reads records with it (dates, §§, the organ of a decision section), the index marks what kind of
answer each chunk holds with it, and indexes/question.py reads a question with it once, so search, evidence
and answers agree on what a question names and asks for. Dnr spellings have their own module (dnr.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from .dnr import find_all as dnr_find_all

MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
          "november", "december")  # fmt: skip
MONTH_NUMBER = {name: i + 1 for i, name in enumerate(MONTHS)}
_MONTH = "|".join(MONTHS)
_MONTH_DAY = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"

ISO_DATE = re.compile(r"\b(20\d{2}|19\d{2})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\b")
LONG_DATE = re.compile(rf"(?i:den)\s+(\d{{1,2}})\s+({_MONTH})\s+(\d{{4}})", re.IGNORECASE)
YEAR = re.compile(r"\b((?:19|20)\d{2})\b")

# `§ 218`, `§218`, and in a question also `paragraf 218`; never `§ 2023/45` (a Dnr) or `§ 12345`.
PARAGRAF = re.compile(r"§\s*(\d{1,4})(?![\d/])")
PARAGRAF_ASKED = re.compile(r"(?:§|(?i:paragraf))\s*(\d{1,4})(?![\d/])")
PARAGRAF_VALUE = re.compile(r"(?:§\s*)?(\d{1,4})")


def paragraf(value: str) -> str | None:
    """`§ 228`, `§228` or `228` as the index writes it (`§ 228`); None for anything else."""
    m = PARAGRAF_VALUE.fullmatch(value.strip())
    return f"§ {int(m.group(1))}" if m else None


# Organs: the word that ends an organ's name, in records (`Allmänna utskottets beslut`) and in questions.
ORGAN_WORD = r"(?:styrelse|nämnd|utskott|fullmäktige|beredning|råd|presidi(?:um|et))"
# An organ named in running text, in any inflection (`kommunfullmäktiges`, `socialnämnden`); `råd` is left
# out here, since in running text it ends too many other words (`områden`).
_ORGAN = r"((?:kommun)?fullmäktige|kommunstyrelse|[a-zåäö]*nämnd|(?:kommun)?revision|[a-zåäö]*utskott)(?:n|en|et|ns|ens|ets|s)?"
_DECIDES = (
    r"(?:har |hade )?(?:beslutar|beslutade|beslöt|beslutat|antar|antog|antagit|avslår|avslog|avslagit|fastställer|"
    r"fastställde|fastställt|godkänner|godkände|godkänt|beviljar|beviljade|bifaller|biföll|tillstyrker|tillstyrkte|klubbade)\b"
)
_ASKS_ORGAN_DECISION = re.compile(
    rf"\b{_ORGAN}\b(?=.*\b(?:beslut\w*|besl[öu]t\w*|antog|antagit|avslog|ställde sig|gick med på|tog emot|beviljade|fastställde|godkände))"
    rf"|\b(?:beslut|beslutade|beslöt|fattade|antog|avslog|beviljade|fastställde|godkände|har|gick|tog|ställde)\b"
    rf"[^?]*?\b{_ORGAN}\b",
    re.IGNORECASE,
)
_DECIDED_BY = re.compile(
    rf"\b(?:antogs|beslutades|fastställdes|godkändes|avslogs|beviljades)\s+av\s+{_ORGAN}\b", re.IGNORECASE
)
_ORGAN_DECIDES = re.compile(rf"\b{_ORGAN}\s+{_DECIDES}", re.IGNORECASE)
_DECISION_HEADING = re.compile(rf"\b{_ORGAN}\s+beslut$", re.IGNORECASE)


def organ_from_genitive(phrase: str) -> str:
    """`Allmänna utskottets` → `Allmänna utskottet`; `Kommunfullmäktiges` → `Kommunfullmäktige`."""
    phrase = " ".join(phrase.split())
    return phrase[:-1] if phrase.endswith("s") else phrase


def organ_key(word: str) -> str:
    """`kommunfullmäktiges` and `fullmäktige` → `fullmäktige`; `socialnämnden` → `socialnämnd`."""
    m = re.fullmatch(_ORGAN, word.lower())
    base = m.group(1) if m else word.lower()
    return base.removeprefix("kommun") if base.endswith(("fullmäktige", "revision")) else base


_ASKS_PROPOSAL = re.compile(r"\b(?:föreslå\w*|förslag till beslut)", re.IGNORECASE)


def asked_organs(question: str) -> frozenset[str]:
    """Organs a question asks about as the ones deciding: `Vad beslutade kommunfullmäktige …`. A question about
    a proposal (`Vad föreslås arbetsutskottet besluta …`) asks for no organ's decision."""
    if _ASKS_PROPOSAL.search(question):
        return frozenset()
    return frozenset(organ_key(a or b) for a, b in _ASKS_ORGAN_DECISION.findall(question))


_PROPOSED_BEFORE = re.compile(r"(?:föreslå\w*|förslag\w*|yrka\w*|rekommendera\w*)\b[^.!?]{0,40}$", re.IGNORECASE)


def deciding_organs(text: str, section: str) -> set[str]:
    """Organs a passage shows deciding: `X beslutar/beslutade/antog …`, `antogs/beslutades av X`, or the
    passage is the decision section of X (`Kommunstyrelsens beslut`). `Kommunstyrelsen föreslår att
    kommunfullmäktige antar …` is a proposal to fullmäktige, not fullmäktige deciding."""
    found = {
        organ_key(m.group(1))
        for m in _ORGAN_DECIDES.finditer(text)
        if not _PROPOSED_BEFORE.search(text, max(0, m.start() - 60), m.start())
    }
    found |= {organ_key(a) for a in _DECIDED_BY.findall(text)}
    found |= {organ_key(a) for a in _DECISION_HEADING.findall(section)}
    return found


# Whether a question asks what was decided or proposed, rather than a fact.
ASKS_DECISION = re.compile(
    r"\b(?:beslut\w*|besl[öu]t\w*|föreslå\w*|förslag\w*|godkän\w*|antog|antagit|klartecken|avslå\w*|ska\b)",
    re.IGNORECASE,
)
DECISION_SECTION = re.compile(r"\bbeslut$|förslag", re.IGNORECASE)
DECISION_TEXT = re.compile(r"\b(?:beslutar|beslöt|beslutade|föreslås|föreslår|förslag till beslut)\b", re.IGNORECASE)

_AMOUNT = r"\d[\d \u00a0\u202f]*(?:,\d+)?\s?(?:kr\b|kronor|mkr|tkr|mnkr|miljoner|miljarder|msek|ksek)"
# The kinds of answer a question asks for: (what a question asking for it says, what a passage holding it
# shows). A chunk's kinds are found once at build time (indexes/answers.py, a bit per kind in this order);
# search leads with the chunks that hold the kind asked for and evidence requires it.
ANSWER_KINDS = {
    "belopp": (
        r"\b(?:hur mycket|hur stor(?!t antal| del)\w*|kosta\w*|kostnad\w*|belopp\w*|summa\w*|pengar|kronor|mkr|budget\w* på|anslag\w*|bidrag\w* på"
        r"|vad (?:är|var|blir|blev) (?:den |det )?(?:\w+a )?budget\w*)\b",
        _AMOUNT,
    ),
    "datum": (
        # `när` asks a date where it opens the question or a clause, not as a conjunction (`… med när inköpen …`)
        r"\b(?:datum\w*|vilket datum|vilken dag|vilket år|sedan när|sedan vilket år|från när|från och med|senast|hur länge)\b"
        r"|(?:^|[,;:]\s*|\b(?:och|samt|men|eller)\s+)när\b",
        rf"\b(?:19|20)\d{{2}}-\d{{2}}-\d{{2}}\b|\b(?:19|20)?\d{{2}}{_MONTH_DAY}\b|\b\d{{1,2}}(?::e)? (?:{_MONTH})\b"
        rf"|\b(?:{_MONTH}|år|året|sedan|från|till|under|i|våren|hösten) (?:19|20)\d{{2}}\b"
        r"|\b(?:19|20)\d{2}[- ]?[QT][1-4]\b|\b[QT][1-4][- ](?:19|20)\d{2}\b"  # a quarter or tertial: `2024-Q1`
        r"|\b\d+ (?:dagar|dygn|veckor|månader|år)\b",  # a duration, for `hur länge`
    ),
    "andel": (r"\b(?:ränta\w*|procent\w*|andel\w*|hur stor del|hur många procent)\b", r"\d(?:,\d+)?\s?(?:%|procent)"),
    "antal": (
        r"\b(?:hur många|antal\w*|hur stort antal)\b",
        # a count: a number that is no year, date, time, §, Dnr, share or sum
        r"(?<![§\d/:.,-])(?<!§ )\b(?!(?:19|20)\d{2}\b)\d{1,3}(?:[ \u00a0]\d{3})*+\b(?![/:.,-]?\d)"
        rf"(?!\s?(?:%|procent|kr\b|kronor|tkr|mkr|mnkr|miljon|miljard|{_MONTH}))"
        r"|\b(?:två|tre|fyra|fem|sex|sju|åtta|nio|tio|elva|tolv)\b",
    ),
    "orsak": (
        r"\b(?:varför|av vilken anledning|vad berodde|vad beror|vad är orsaken|vilka skäl)\b",
        r"(?i)\b(?:eftersom|på grund av|därför|med anledning av|beror på|berodde på|orsak\w*|skäl\w*|till följd av)\b",
    ),
    "person": (
        r"\b(?:vem|vilka personer|vilka ledamöter|vilken ledamot|vilka politiker|vilken tjänsteperson|vilka tjänstepersoner)\b",
        r"\b[A-ZÅÄÖ][a-zåäöéü]+(?:-[A-ZÅÄÖ][a-zåäöéü]+)? [A-ZÅÄÖ][a-zåäöéü]+(?:-[A-ZÅÄÖ][a-zåäöéü]+)?\b",
    ),
}
ASKS_KIND = {kind: re.compile(asks, re.IGNORECASE) for kind, (asks, _) in ANSWER_KINDS.items()}
SHOWS_KIND = {kind: re.compile(shows) for kind, (_, shows) in ANSWER_KINDS.items()}


def asked_kinds(question: str) -> frozenset[str]:
    return frozenset(kind for kind, asks in ASKS_KIND.items() if asks.search(question))


KOMMUNER = Path(__file__).parent / "data" / "kommuner.txt"
REGIONER = Path(__file__).parent / "data" / "regioner.txt"


def _names(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]


def alternation(names: Iterable[str]) -> str:
    """Names as one regex alternation, longest first (`Upplands Väsby` before `Upplands`)."""
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


@cache
def _acting_kommun() -> re.Pattern:
    alternatives = alternation(kommuner())
    return re.compile(
        rf"(?:(?:fullmäktige|styrelse\w*|nämnd\w*|utskott\w*|kommunen) i (?P<a>{alternatives})\b"
        rf"|\b(?P<b>{alternatives})s? (?:kommun|stad)\b"
        rf"|\b(?:i|från|för) (?P<c>{alternatives})s?\b)"
    )


def acting_kommuner(question: str) -> frozenset[str]:
    """Kommuner (of all Sweden's) a question names as the one acting: `Piteå kommun`, `nämnd i Lycksele`."""
    return frozenset(m.group("a") or m.group("b") for m in _acting_kommun().finditer(question) if not m.group("c"))


@cache
def kommuner() -> frozenset[str]:
    """Sweden's 290 kommuner (data/kommuner.txt)."""
    return frozenset(_names(KOMMUNER))


@cache
def regioner() -> frozenset[str]:
    """Sweden's regions and landskap (data/regioner.txt): places a question may name, not kommuner."""
    return frozenset(_names(REGIONER))


@cache
def _region() -> re.Pattern:
    return re.compile(rf"\b(?:i|från|för|inom|över|Region) (?P<c>{alternation(regioner())})s?\b")


def places(question: str) -> frozenset[str]:
    """Kommuner and regions a question names only as a place (`badhuset i Göteborg`, `strategin för
    Norrbotten`): a record of that kommun, or one that speaks of the place, can answer."""
    return frozenset(
        m.group("c") for pattern in (_acting_kommun(), _region()) for m in pattern.finditer(question) if m.group("c")
    )


# The checks a question pins (service/evidence.py): what it asks for, and what a passage shows instead.
# A `vilken …` question (`Vilken stad …`, `Vilka projekt …`), and a record that leaves the same open
# (`utreda vilken stad som är lämplig`, `när det är klart vilken leverantör det blir`).
WHICH = re.compile(r"\b(?:vilken|vilket|vilka)\s+(?!av\b|som\b|det\b|den\b|de\b)([^\W\d_]{3,})", re.IGNORECASE)
# A whole year asked for, a part of one written.
WHOLE_YEAR = re.compile(
    r"\b(?:hela (?:året|år|(?:19|20)\d{2})|helår\w*|helåret|årsbokslut\w*|bokslut\w*|årets resultat|årsresultat\w*"
    r"|januari\s*[–-]\s*december)\b",
    re.IGNORECASE,
)
PART_OF_YEAR = re.compile(
    rf"\b(?:delår\w*|halvår\w*|tertial\w*|kvartal\w*|månadsrapport\w*|månadsuppföljning\w*"
    rf"|(?:de|under de|för de) (?:två|tre|fyra|fem|sex|sju|åtta|nio|tio|elva) första månader\w*"
    rf"|(?:{_MONTH})\s*[–-]\s*(?:{_MONTH})|per (?:den )?\d{{1,2}} (?:{_MONTH}))\b",
    re.IGNORECASE,
)
# An outcome asked for, only a forecast or plan written.
ASKS_OUTCOME = re.compile(r"\b(?:faktisk\w*|blev|slutade|utfall\w*|bokslut\w*|hur gick)\b", re.IGNORECASE)
FORECAST = re.compile(r"\b(?:prognos\w*|beräknas|förväntas|planeras|budgeterad\w*|kommer att|tidplan\w*)\b", re.IGNORECASE)
OUTCOME = re.compile(r"\b(?:utfall\w*|bokslut\w*|blev|redovisade|resulterade|slutade)\b", re.IGNORECASE)
# A decision taken asked for, only a proposal written.
_DECIDED = ("beslutade", "beslöt", "beslutat", "antog", "antagit", "avslog", "avslagit", "fattade", "biföll",
            "godkände", "godkänt", "fastställde", "utsågs", "utsåg", "valdes", "valde", "vilket beslut",
            "vad blev beslutet")  # fmt: skip
ASKS_DECIDED = re.compile(rf"\b(?:{'|'.join(_DECIDED)})\b", re.IGNORECASE)
PROPOSAL_SECTION = re.compile(r"förslag", re.IGNORECASE)
PROPOSAL_DOC_TYPES = frozenset({"kallelse", "tjänsteskrivelse"})


# A question about what applies now: the words that say so, or a present tense about a rule or a sum.
_EXPLICITLY_NOW = re.compile(r"\b(?:gällande|nuvarande|numera|nu|idag|i dag|för närvarande|i kraft)\b", re.IGNORECASE)
_APPLIES = re.compile(r"\b(?:gäller|aktuell[at]?|kostar)\b", re.IGNORECASE)
_REGARDING = re.compile(r"\b(?:när det gäller|vad gäller|det gäller|gäller det)\b", re.IGNORECASE)
_PRESENT = re.compile(r"\b(?:är|har|får|ska|måste|betalar|tar)\b", re.IGNORECASE)
_RULE_OR_SUM = re.compile(
    r"\b(?:taxa\w*|avgift\w*|regel\w*|regl\w+|riktlinj\w*|policy\w*|reglemente\w*|delegationsordning\w*|"
    r"ränt[ae]\w*|lån(?:et|en|ets)?|belopp\w*|arvode\w*|ersättning\w*|bidrag\w*|pris\w*|villkor\w*)\b",
    re.IGNORECASE,
)
_PAST = re.compile(
    r"\b(?:gällde|gällt|beslutade|beslöt|beslutades|antogs|antog|fattade|fattades|var|hade|blev|tidigare)\b",
    re.IGNORECASE,
)
_ABOUT_CASE = re.compile(r"\bvad gäller\b", re.IGNORECASE)


def asks_what_applies(question: str) -> bool:
    """A question about what applies now ("vad gäller", "gällande", "nuvarande", a present tense about a rule
    or a sum) rather than about what was decided once. A past tense ("gällde", "beslutade") asks about then,
    unless a word says now; "vad gäller ärende KS-25/205" and "när det gäller" say what a question is about."""
    if _EXPLICITLY_NOW.search(question):
        return True
    if _PAST.search(question) or (_ABOUT_CASE.search(question) and dnr_find_all(question, typed=True)):
        return False
    if _ABOUT_CASE.search(question):
        return True
    plain = _REGARDING.sub(" ", question)
    return bool(_APPLIES.search(plain) or (_PRESENT.search(plain) and _RULE_OR_SUM.search(plain)))


# Questions a protocol's front page answers (frontpage.py): the field, and how a question asks for it.
# `ordförande` is the line of `Beslutande` that names the chair.
ASKS_FRONT_PAGE = (
    ("justering", re.compile(r"\bnär\b.*\bjuster\w*|\bjusteringen\w*\b", re.IGNORECASE)),
    ("justerare", re.compile(r"\b(?:vem|vilka)\b.*\b(?:justera|justerar|justerade|justerare|justerarna)\b", re.IGNORECASE)),
    ("ordforande", re.compile(r"\bvem\b.*\b(?:var|är|satt som|ledde)\b.*\bordförande\b|\bvem ledde (?:mötet|sammanträdet)\b", re.IGNORECASE)),
    ("beslutande", re.compile(r"\b(?:vilka|vem)\b.*\b(?:beslutande|ledamöter (?:var|deltog)|var beslutande|tjänstgjorde som ledamöter)\b", re.IGNORECASE)),
    ("ersattare", re.compile(r"\bvilka\b.*\bersättare\b.*\b(?:närvarande|deltog|tjänstgjorde|var med)\b", re.IGNORECASE)),
    ("ovriga", re.compile(r"\b(?:vilka|vem)\b.*\b(?:övriga deltagande|tjänstepersoner|tjänstemän)\b.*\b(?:deltog|närvarade|var med|närvarande)\b", re.IGNORECASE)),
    ("plats_och_tid", re.compile(r"\b(?:var|när) (?:hölls|ägde)\b.*\b(?:sammanträdet|mötet)\b|\bplats och tid\b", re.IGNORECASE)),
)


def asked_front_field(question: str) -> str | None:
    return next((field for field, asks in ASKS_FRONT_PAGE if asks.search(question)), None)

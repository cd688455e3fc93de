"""Personnummer masking: every valid number in every spelling goes, no look-alike in the records is touched."""

from __future__ import annotations

import random
import re
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from protokollsok.service.personnummer import MASK, contains, find, mask

CORPUS = Path(__file__).resolve().parent.parent / "corpus"

SENTENCES = [
    "Sökanden, personnummer {}, har inkommit med en ansökan om bistånd.",
    "Ärendet gäller {} som ansöker om färdtjänst.",
    "Beslutet delges {}.",
    "Överklagande från {}, inkommet 2023-12-11, avvisas.",
    "Personnr:{}; handläggare Anna Berg, tel 0923-650 00.",
    "({})",
    "{}",
    "Samordningsnummer {} anges i Dnr 2023-00497 och § 218.",
]

LOOK_ALIKES = [
    "Dnr 2023-00497",
    "KS-2024/00457-2",
    "2023-12-11",
    "20231211",
    "364 700 kr",
    "0923-650 00",
    "070-123 45 67",
    "212000-2742",
    "Dnr 2025\u201300469",
    "§ 218",
    "§ 97 Dnr  KS-2025-0006304",
    "951 85 Luleå",
    "Bankgiro 5050-1055",
    "SE45 5000 0000 0583 9825 7466",
    "0730437612",
]


def luhn_digit(nine: str) -> str:
    """Written out again here, apart from the module, so the two cannot share a mistake."""
    total = 0
    for i, ch in enumerate(nine):
        product = int(ch) * (2 - i % 2)
        total += product // 10 + product % 10
    return str((10 - total % 10) % 10)


def number(day: date, serial: int, *, samordning: bool, twelve: bool, sep: str, check_shift: int = 0) -> str:
    dd = day.day + (60 if samordning else 0)
    yymmdd = f"{day.year % 100:02d}{day.month:02d}{dd:02d}"
    nine = f"{yymmdd}{serial:03d}"
    check = str((int(luhn_digit(nine)) + check_shift) % 10)
    century = f"{day.year // 100}" if twelve else ""
    return f"{century}{yymmdd}{sep}{serial:03d}{check}"


def random_numbers(count: int, seed: int = 20251215) -> list[str]:
    rng = random.Random(seed)
    first, span = date(1905, 1, 1), (date(2024, 12, 31) - date(1905, 1, 1)).days
    numbers = []
    for _ in range(count):
        twelve = rng.random() < 0.5
        sep = rng.choice(["-", "", " "] if twelve else ["-", "+", "", " "])
        day = first + timedelta(days=rng.randrange(span + 1))
        numbers.append(
            number(day, rng.randrange(1000), samordning=rng.random() < 0.4, twelve=twelve, sep=sep)
        )
    return numbers


def test_every_generated_number_is_masked_in_a_sentence():
    numbers = random_numbers(200)
    assert len(set(numbers)) == 200
    rng = random.Random(7)
    for pnr in numbers:
        sentence = rng.choice(SENTENCES).format(pnr)
        masked = mask(sentence)
        assert masked == sentence.replace(pnr, MASK), (pnr, masked)
        assert re.sub(r"\D", "", pnr) not in re.sub(r"\D", "", masked)
        assert pnr not in masked and pnr[-4:] not in masked
        start = sentence.index(pnr)
        assert find(sentence) == [(start, start + len(pnr))]
        assert contains(sentence)


@pytest.mark.parametrize(
    "pnr",
    [
        "850709-9805",  # valid date and control digit
        "850709+9805",  # aged 100 or more
        "19850709-9805",
        "198507099805",
        "8507099805",
        "850709 9805",
        "850709\u00a09805",  # no-break space of typeset records
        "850709\u20139805",  # en dash of word processors
        "000229-0005",  # 29 February 2000
    ],
)
def test_spellings(pnr):
    assert mask(f"Sökande {pnr} bor i Kalix.") == f"Sökande {MASK} bor i Kalix."


def test_samordningsnummer_day_plus_sixty():
    pnr = number(date(1990, 3, 31), 123, samordning=True, twelve=False, sep="-")
    assert pnr.startswith("900391-")
    assert mask(pnr) == MASK


@pytest.mark.parametrize("shift", range(1, 10))
def test_wrong_control_digit_is_not_masked(shift):
    for pnr in [
        number(date(1985, 7, 9), 980, samordning=False, twelve=False, sep="-", check_shift=shift),
        number(date(1985, 7, 9), 980, samordning=True, twelve=True, sep="", check_shift=shift),
    ]:
        text = f"Nummer {pnr} i texten."
        assert mask(text) == text and not contains(text) and find(text) == []


@pytest.mark.parametrize(
    "yymmdd",
    [
        "851309",  # month 13
        "850732",  # day 32
        "850230",  # 30 February
        "850100",  # day 0
        "850009",  # month 0
        "850792",  # samordningsnummer day 32
        "850290",  # samordningsnummer 30 February
        "850760",  # day 60 is neither kind
    ],
)
def test_impossible_date_with_correct_control_digit_is_not_masked(yymmdd):
    nine = f"{yymmdd}123"
    for pnr in [f"{yymmdd}-123{luhn_digit(nine)}", f"19{yymmdd}123{luhn_digit(nine)}"]:
        assert mask(pnr) == pnr and not contains(pnr)


def test_leap_day_needs_a_leap_year_when_the_century_is_written():
    nine = "000229123"
    assert mask(f"19{nine}{luhn_digit(nine)}") != MASK  # 1900 was no leap year
    assert mask(f"20{nine}{luhn_digit(nine)}") == MASK


def test_part_of_a_longer_sequence_is_not_masked():
    pnr = "850709-9805"
    glued = [f"1{pnr}", f"{pnr}1", f"A{pnr}", f"{pnr}b", f"KS-2024/{pnr}", f"{pnr}-2", f"2024-{pnr}", "78507099805"]
    for text in glued:
        assert mask(text) == text, text


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_stay(text):
    sentence = f"Kommunstyrelsen noterar {text} till protokollet."
    assert mask(sentence) == sentence and find(sentence) == []


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.txt")), ids=lambda p: p.name)
def test_the_records_hold_no_personnummer_and_stay_unchanged(path):
    text = path.read_text(encoding="utf-8")
    assert [text[a:b] for a, b in find(text)] == []
    assert mask(text) == text


def test_many_numbers_keep_their_surroundings():
    numbers = random_numbers(20, seed=3)
    text = " och ".join(numbers)
    assert mask(text) == " och ".join([MASK] * 20)
    assert len(find(text)) == 20


def test_a_megabyte_is_fast():
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt")))
    text = (text * (2**20 // len(text) + 1))[: 2**20] + " 850709-9805"
    started = time.perf_counter()
    masked = mask(text)
    assert time.perf_counter() - started < 1.0
    assert masked.endswith(MASK)

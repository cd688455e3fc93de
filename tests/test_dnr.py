"""Diarienummer: every spelling the records and users use maps to one canonical case id (GUIDE §1)."""

from __future__ import annotations

import pytest

from protokollsok.ingest import dnr

# (text as it stands in a record, canonical Dnr, the spelling kept as written)
RECORD_SPELLINGS = [
    ("Dnr 2023-00497", "2023-00497", "2023-00497"),
    ("Dnr 2023-00463 102", "2023-00463", "2023-00463"),  # trailing diary-plan code is not part of the id
    ("Dnr KS-2025-00466", "KS-2025-00466", "KS-2025-00466"),
    ("KS-25/00244", "KS-2025-00244", "KS-25/00244"),
    ("Diarienr: KS-2023/00651", "KS-2023-00651", "KS-2023/00651"),
    ("Diarienummer 2025-00461", "2025-00461", "2025-00461"),
    ("DNR: KS-2024/00457-2", "KS-2024-00457", "KS-2024/00457-2"),
    ("Dnr 2025\u201300469", "2025-00469", "2025\u201300469"),  # en dash
    ("Dnr\n2025\u201300474", "2025-00474", "2025\u201300474"),  # split over lines
    ("(dnr 2023\u2013\n00112)", "2023-00112", "2023\u2013 00112"),  # split inside the number
    ("KS.24/00608", "KS-2024-00608", "KS.24/00608"),
    ("KS 24/01160", "KS-2024-01160", "KS 24/01160"),
    ("KS-25/00001  \u00a7 39", "KS-2025-00001", "KS-25/00001"),
    ("\u00a7 97 Dnr  KS-2025-0006304", "KS-2025-00063", "KS-2025-0006304"),  # class code 04 glued on
]

# what users type into a search box
TYPED_SPELLINGS = [
    ("KS 2025/494", "KS-2025-00494"),
    ("2023-501", "2023-00501"),
    ("\u00e4rende 2023/501", "2023-00501"),
    ("dnr 2022/345", "2022-00345"),
    ("Dnr 2023-00497", "2023-00497"),
    ("KS-25/00244", "KS-2025-00244"),
    ("Dnr 2023:651", "2023-00651"),
    ("dnr 2023.651", "2023-00651"),
    ("diarienummer 2023 651", "2023-00651"),
]

NOT_DNR = [
    "SFS 2018:218",  # a statute, not a case: colon and dot only count after the word Dnr
    "kostar 2023 500 kr",
    "\u00e4rende 2024 2025",
    "dnr 2023.12.18",
    "2023-12-11",
    "Sammanträdesdatum 2023-12-11",
    "2024-11-01-2027-10-31",
    "avtalsperiod 2024-11-01-2027-10-31",
    "0923-650 00",
    "Telefon 0923-650 00",
    "364 700 kr",
    "2026-2028",
    "plan 2026-2028",
    "\u00a7\u00a7 93-100",
    "\u00a7 102/23",
]


@pytest.mark.parametrize("text, canonical, written", RECORD_SPELLINGS, ids=[t for t, _, _ in RECORD_SPELLINGS])
def test_record_spelling_is_found_with_canonical_form(text, canonical, written):
    matches = dnr.find_all(text)
    assert [m.dnr.canonical for m in matches] == [canonical]
    assert matches[0].as_written == written


@pytest.mark.parametrize("text, canonical, written", RECORD_SPELLINGS, ids=[t for t, _, _ in RECORD_SPELLINGS])
def test_record_spelling_parses_as_typed(text, canonical, written):
    parsed = dnr.parse(text)
    assert parsed is not None
    assert parsed.canonical == canonical


@pytest.mark.parametrize("text, canonical", TYPED_SPELLINGS, ids=[t for t, _ in TYPED_SPELLINGS])
def test_typed_spelling_parses(text, canonical):
    parsed = dnr.parse(text)
    assert parsed is not None
    assert parsed.canonical == canonical


@pytest.mark.parametrize("text, canonical", TYPED_SPELLINGS, ids=[t for t, _ in TYPED_SPELLINGS])
def test_typed_spelling_keeps_as_written(text, canonical):
    matches = dnr.find_all(text, typed=True)
    assert matches and matches[0].dnr.canonical == canonical
    written = matches[0].as_written
    # The written form is the user's own text (the keyword aside), not the canonical rewrite.
    assert written in " ".join(text.split())
    assert not written.lower().startswith(("dnr", "\u00e4rende"))


@pytest.mark.parametrize("text", NOT_DNR)
def test_not_a_dnr_with_find_all(text):
    assert dnr.find_all(text) == []
    assert dnr.find_all(text, typed=True) == []


@pytest.mark.parametrize("text", NOT_DNR)
def test_not_a_dnr_with_parse(text):
    assert dnr.parse(text) is None


def test_sub_number_is_kept_apart_from_the_case_id():
    (match,) = dnr.find_all("DNR: KS-2024/00457-2")
    assert match.dnr.sub == 2
    assert match.dnr.canonical == "KS-2024-00457"
    assert match.dnr.key == "2024-00457"


def test_key_ties_prefixed_and_bare_spellings_together():
    agenda = dnr.parse("KS-2025-00461")
    memo = dnr.parse("Diarienummer 2025-00461")
    assert agenda.canonical != memo.canonical
    assert agenda.key == memo.key == "2025-00461"


def test_short_serial_needs_a_marker_in_records_but_not_when_typed():
    assert dnr.find_all("2023-501") == []
    assert dnr.parse("2023-501").canonical == "2023-00501"


def test_spans_and_order_in_running_text():
    text = (
        "Kommunfullmäktige beslutade den 2023-11-27 (dnr 2023\u2013\n00112) att anta planen; "
        "jfr KS-25/00244 samt Diarienr: KS-2023/00651. Ring 0923-650 00."
    )
    matches = dnr.find_all(text)
    assert [m.dnr.canonical for m in matches] == ["2023-00112", "KS-2025-00244", "KS-2023-00651"]
    for m in matches:
        assert m.dnr.key.split("-")[1].lstrip("0") in text[m.start : m.end]
    assert text[matches[1].start : matches[1].end] == "KS-25/00244"


@pytest.mark.parametrize("text", ["ks-2025-00466", "dnr ks-2025-00466", "Ks-25/00244"])
def test_lowercase_prefix_typed_by_user_still_yields_the_case(text):
    """People type case ids in lower case; the year and serial must still be recognised (at least the key)."""
    parsed = dnr.parse(text)
    assert parsed is not None, f"parse({text!r}) found no Dnr"
    assert parsed.key in ("2025-00466", "2025-00244")

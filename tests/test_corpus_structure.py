"""Structure, metadata, cleaning and chunking of the five sample records (GUIDE §1)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from protokollsok.ingest.tokens import cl100k

KALIX = "kalix-kommunstyrelsen-protokoll-2023-12-11"
KALLELSE = "kalix-kommunstyrelsen-kallelse-2025-12-15"
NORSJO = "norsjo-allmanna-utskottet-protokoll-2025-02-25"
UMEA = "umea-ks-naringslivs-och-arbetsutskott-tjansteskrivelser-2024"
LULEA = "lulea-kommunstyrelsen-verksamhetsberattelse-2024"
ALL = [KALIX, KALLELSE, NORSJO, UMEA, LULEA]
CORPUS = Path(__file__).resolve().parent.parent / "corpus"

FURNITURE = [
    "Justerandes sign",
    "Utdragsbestyrkande",
    "K:\\Protokoll",
    "SAMMANTRÄDESPROTOKOLL",
    "Sida 4(52)",
    "NORSJÖ KOMMUN PROTOKOLL",
    "Justering (sign)",
]


def paragrafer(ingested, doc_id):
    return [u for u in ingested[doc_id].document.units if u.kind == "paragraf"]


def unit(ingested, doc_id, paragraf):
    found = [u for u in ingested[doc_id].document.units if u.paragraf == paragraf]
    assert len(found) == 1, f"{doc_id}: {paragraf} found {len(found)} times"
    return found[0]


def chunks_of(ingested, doc_id, paragraf):
    return [c for c in ingested[doc_id].chunks if c.paragraf == paragraf]


def test_all_five_sample_records_are_ingested(ingested):
    assert sorted(ingested) == sorted(ALL)
    for doc_id in ALL:
        assert ingested[doc_id].chunks, doc_id


# --- Kalix protokoll ---------------------------------------------------------------------------


def test_kalix_protokoll_has_paragrafer_215_to_233_exactly(ingested):
    numbers = [u.paragraf for u in paragrafer(ingested, KALIX)]
    assert numbers == [f"§ {n}" for n in range(215, 234)]


@pytest.mark.parametrize(
    "paragraf, dnr",
    [
        ("§ 215", None),
        ("§ 216", None),
        ("§ 217", None),
        ("§ 218", "2023-00497"),
        ("§ 219", None),
        ("§ 220", "2023-00463"),
        ("§ 221", "2021-00079"),
        ("§ 222", "2018-00278"),
        ("§ 233", "2023-00439"),
    ],
)
def test_kalix_paragraf_dnr(ingested, paragraf, dnr):
    assert unit(ingested, KALIX, paragraf).dnr == dnr


def test_kalix_paragraf_titles(ingested):
    assert unit(ingested, KALIX, "§ 215").title == "Upprop"
    assert unit(ingested, KALIX, "§ 218").title == "Meddelanden"
    assert unit(ingested, KALIX, "§ 233").title.startswith("Motionssvar - Skyddsrum")


def test_kalix_pages(ingested):
    assert unit(ingested, KALIX, "§ 215").pages == [4]
    assert all(c.page == 4 for c in chunks_of(ingested, KALIX, "§ 215"))
    last = unit(ingested, KALIX, "§ 233")
    assert last.pages[-1] == 52
    assert chunks_of(ingested, KALIX, "§ 233")[-1].pages[-1] == 52
    # § 219 continues across a page with no header (GUIDE: Kalix § 219 item 7)
    assert len(unit(ingested, KALIX, "§ 219").pages) == 2


def test_kalix_chunk_pages_never_decrease(ingested):
    pages = [c.page for c in ingested[KALIX].chunks]
    assert None not in pages
    assert pages == sorted(pages)
    assert pages[0] >= 1 and pages[-1] == 52


def test_long_paragraf_is_split_and_every_piece_carries_paragraf_and_dnr(ingested):
    pieces = chunks_of(ingested, KALIX, "§ 222")
    assert len(pieces) >= 5
    assert {c.dnr for c in pieces} == {"2018-00278"}
    assert {c.paragraf for c in pieces} == {"§ 222"}
    u = unit(ingested, KALIX, "§ 222")
    assert all(u.start <= c.span[0] and c.span[1] <= u.end for c in pieces)
    # together the pieces cover the whole § (the unit's text is not lost between chunks)
    covered = set()
    for c in pieces:
        covered.update(range(*c.span))
    text = ingested[KALIX].document.text
    missing = [i for i in range(u.start, u.end) if i not in covered and not text[i].isspace()]
    assert missing == []


def test_hyphenated_line_breaks_are_joined_but_compound_hyphens_kept(ingested):
    raw = (CORPUS / f"{KALIX}.txt").read_text(encoding="utf-8")
    assert "delegations-\nordning" in raw
    text = ingested[KALIX].document.text
    assert "kommunstyrelsen delegationsordning punkt 10.1" in " ".join(text.split())
    assert "delegations-\nordning" not in text
    assert "arbets- och personalutskott" in text
    assert "arbetsochpersonalutskott" not in text.replace(" ", "")


# --- Norsjö protokoll --------------------------------------------------------------------------


def test_norsjo_has_paragrafer_16_to_47_exactly(ingested):
    numbers = [u.paragraf for u in paragrafer(ingested, NORSJO)]
    assert numbers == [f"§ {n}" for n in range(16, 48)]


def test_norsjo_paragraf_28_includes_its_continuation(ingested):
    doc = ingested[NORSJO].document
    u = unit(ingested, NORSJO, "§ 28")  # asserts § 28 is a single unit
    forts = doc.text.find("§ 28 forts")
    assert forts != -1
    assert u.start < forts < u.end
    after = doc.text.find("Ärendet överlämnas till kommunstyrelsen utan eget yttrande.", forts)
    assert after != -1
    assert u.start < after < u.end
    send_to = doc.text.find("Beslutet skickas till", forts)
    assert u.start < send_to < u.end
    # the continuation is chunked with § 28, not as an anonymous unit
    holding = [c for c in ingested[NORSJO].chunks if c.span[0] <= after < c.span[1]]
    assert holding and all(c.paragraf == "§ 28" for c in holding)
    assert u.pages == [14, 15]


@pytest.mark.parametrize(
    "paragraf, dnr, written",
    [
        ("§ 17", "KS-2025-00244", "KS-25/00244"),
        ("§ 20", "KS-2025-00207", "KS-25/00207"),
        ("§ 39", "KS-2025-00001", "KS-25/00001"),
        ("§ 40", "KS-2024-00608", "KS.24/00608"),
        ("§ 47", "KS-2024-01160", "KS 24/01160"),
        ("§ 16", None, None),
    ],
)
def test_norsjo_paragraf_dnr(ingested, paragraf, dnr, written):
    u = unit(ingested, NORSJO, paragraf)
    assert (u.dnr, u.dnr_as_written) == (dnr, written)
    assert {c.dnr for c in chunks_of(ingested, NORSJO, paragraf)} == {dnr}


def test_norsjo_dnr_written_before_the_paragraf_is_not_left_in_the_previous_one(ingested):
    """`KS-25/00207 § 20` opens § 20; § 19's chunks must not end with § 20's Dnr."""
    for c in chunks_of(ingested, NORSJO, "§ 19"):
        assert "KS-25/00207" not in c.text


def test_norsjo_pages(ingested):
    assert unit(ingested, NORSJO, "§ 27").pages == [13]
    assert unit(ingested, NORSJO, "§ 41").pages == [29]
    assert {c.page for c in chunks_of(ingested, NORSJO, "§ 27")} == {13}
    assert {c.page for c in chunks_of(ingested, NORSJO, "§ 41")} == {29}


# --- Umeå tjänsteskrivelser --------------------------------------------------------------------


def test_umea_has_ten_memos_each_with_a_dnr(ingested):
    memos = [u for u in ingested[UMEA].document.units if u.kind == "tjänsteskrivelse"]
    assert len(memos) == 10
    assert [u.dnr for u in memos] == [
        "KS-2023-00651",
        "KS-2024-00361",
        "KS-2024-00456",
        "KS-2024-00457",
        "KS-2024-00167",
        "KS-2024-00179",
        "KS-2024-00133",
        "KS-2023-00675",
        "KS-2024-00482",
        "KS-2024-00500",
    ]
    for u in memos[:9]:
        assert u.date is not None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", u.date), u.dnr
    assert (memos[0].dnr, memos[0].date) == ("KS-2023-00651", "2024-05-16")
    assert memos[0].title == "Planeringsdirektiv och budget 2025 samt plan 2026-2028"
    assert memos[1].date == "2024-04-29"


def test_umea_memo_chunks_carry_their_memo_dnr(ingested):
    doc = ingested[UMEA].document
    for c in ingested[UMEA].chunks:
        owner = [u for u in doc.units if u.start <= c.span[0] < u.end]
        assert len(owner) == 1
        assert c.dnr == owner[0].dnr
        assert c.unit_kind == owner[0].kind


# --- Luleå verksamhetsberättelse ---------------------------------------------------------------


def test_lulea_numbered_headings(ingested):
    headings = [u for u in ingested[LULEA].document.units if u.kind == "rubrik"]
    numbers = [u.title.split()[0] for u in headings]
    assert numbers == ["1", "2", "3", "3.1", "3.2", "4", "5", "5.1", "5.1.1", "5.2", "5.2.1"]
    by_number = {u.title.split()[0]: u for u in headings}
    assert by_number["3.1"].title == "3.1 Sammanställning måluppfyllelse"
    assert by_number["5.1.1"].heading_path == [
        "5 Ekonomisk redovisning",
        "5.1 Driftsredovisning",
        "5.1.1 Kommentar till driftsredovisningen",
    ]


def test_lulea_table_rows_are_not_headings(ingested):
    doc = ingested[LULEA].document
    titles = [u.title or "" for u in doc.units]
    assert not any("KC Säkerhet" in t for t in titles)
    assert not any(re.match(r"\d{3,}", t) for t in titles)
    row = doc.text.find("1011 KC Säkerhet")
    assert row != -1
    owner = [u for u in doc.units if u.start <= row < u.end]
    assert [u.title for u in owner] == ["5.1 Driftsredovisning"]


# --- Kalix kallelse ----------------------------------------------------------------------------


def test_kallelse_agenda_items_1_to_20(ingested):
    items = [u for u in ingested[KALLELSE].document.units if u.kind == "ärende"]
    assert [int(u.title.split(".")[0]) for u in items] == list(range(1, 21))
    item13 = items[12]
    assert item13.title.startswith("13. Uppföljning - ANDTS-plan")
    assert item13.dnr == "KS-2025-00461"


def test_kallelse_memo_with_bare_dnr_and_signatory(ingested):
    memos = [u for u in ingested[KALLELSE].document.units if u.kind == "tjänsteskrivelse" and u.dnr == "2025-00461"]
    assert len(memos) == 1
    assert "Malin Åberg" in (memos[0].signatory or "")
    items = [u for u in ingested[KALLELSE].document.units if u.kind == "ärende" and u.dnr == "KS-2025-00461"]
    assert len(items) == 1  # the agenda item and the memo name the same case under different spellings


def test_kallelse_paragraf_97_belongs_to_the_arbetsutskott(ingested):
    u = unit(ingested, KALLELSE, "§ 97")
    assert u.dnr == "KS-2025-00063"
    assert u.dnr_as_written == "KS-2025-0006304"
    assert "arbets- och personalutskott" in (u.organ or "").lower()
    pieces = chunks_of(ingested, KALLELSE, "§ 97")
    assert pieces
    assert all("arbets- och personalutskott" in c.organ.lower() for c in pieces)
    assert ingested[KALLELSE].document.organ == "Kommunstyrelsen"


# --- document metadata ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "doc_id, kommun, doc_type, date",
    [
        (KALIX, "Kalix", "protokoll", "2023-12-11"),
        (KALLELSE, "Kalix", "kallelse", "2025-12-15"),
        (NORSJO, "Norsjö", "protokoll", "2025-02-25"),
        (UMEA, "Umeå", "tjänsteskrivelse", None),
        (LULEA, "Luleå", "verksamhetsberättelse", None),
    ],
)
def test_document_metadata(ingested, doc_id, kommun, doc_type, date):
    doc = ingested[doc_id].document
    assert doc.doc_id == doc_id
    assert doc.kommun == kommun
    assert doc.doc_type == doc_type
    if date is not None:
        assert doc.date == date
    for c in ingested[doc_id].chunks:
        assert (c.doc_id, c.kommun, c.doc_type) == (doc_id, kommun, doc_type)


@pytest.mark.parametrize(
    "doc_id, organ",
    [
        (KALIX, "Kommunstyrelsen"),
        (NORSJO, "Allmänna utskottet"),
        (UMEA, "Kommunstyrelsens näringslivs- och arbetsutskott"),
        (LULEA, "Kommunstyrelsen"),
    ],
)
def test_document_organ(ingested, doc_id, organ):
    assert ingested[doc_id].document.organ == organ


# --- cleaning and chunking, every record -------------------------------------------------------


@pytest.mark.parametrize("doc_id", ALL)
def test_no_page_furniture_in_chunks(ingested, doc_id):
    for c in ingested[doc_id].chunks:
        for furniture in FURNITURE:
            assert furniture not in c.text, f"{c.chunk_id} holds {furniture!r}"
        assert not re.search(r"(?m)^Sida\s*\d+\s*\(\d+\)", c.text), c.chunk_id


def test_furniture_was_there_to_remove(ingested):
    """The check above means something: the raw records do print that furniture."""
    raw = (CORPUS / f"{KALIX}.txt").read_text(encoding="utf-8")
    assert "Justerandes sign" in raw and "SAMMANTRÄDESPROTOKOLL" in raw
    raw = (CORPUS / f"{NORSJO}.txt").read_text(encoding="utf-8")
    assert "K:\\Protokoll" in raw and "Utdragsbestyrkande" in raw


@pytest.mark.parametrize("doc_id", ALL)
def test_chunk_span_reproduces_text(ingested, doc_id):
    doc = ingested[doc_id].document
    for c in ingested[doc_id].chunks:
        start, end = c.span
        assert 0 <= start < end <= len(doc.text)
        assert doc.text[start:end] == c.text, c.chunk_id
        assert c.text.strip() == c.text


@pytest.mark.parametrize("doc_id", ALL)
def test_chunks_never_cross_a_unit(ingested, doc_id):
    doc = ingested[doc_id].document
    units = doc.units
    for a, b in zip(units, units[1:]):
        assert a.end <= b.start, "units overlap"
    for c in ingested[doc_id].chunks:
        owner = [u for u in units if u.start <= c.span[0] < u.end]
        assert len(owner) == 1, c.chunk_id
        u = owner[0]
        assert c.span[1] <= u.end, f"{c.chunk_id} runs past its unit"
        assert (c.paragraf, c.dnr, c.unit_kind) == (u.paragraf, u.dnr, u.kind)
        assert any(s.start <= c.span[0] and c.span[1] <= s.end for s in u.sections), f"{c.chunk_id} crosses a section"


@pytest.mark.parametrize("doc_id", ALL)
def test_chunk_ids_unique_and_ordered(ingested, doc_id):
    chunks = ingested[doc_id].chunks
    ids = [c.chunk_id for c in chunks]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith(doc_id + "#") for i in ids)
    starts = [c.span[0] for c in chunks]
    assert starts == sorted(starts)


@pytest.fixture(scope="module")
def model_tokenizer(model_dir):
    tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


@pytest.fixture(scope="module")
def model_window(embedder) -> int:
    return int(embedder.model.max_seq_length)


@pytest.mark.parametrize("doc_id", ALL)
def test_chunk_token_bounds(ingested, doc_id, model_tokenizer, model_window):
    encoder = cl100k()
    for c in ingested[doc_id].chunks:
        tokens = len(encoder.encode_ordinary(c.text))
        model_tokens = len(model_tokenizer.encode(c.text, add_special_tokens=True).ids)
        assert tokens == c.tokens, c.chunk_id
        assert model_tokens == c.model_tokens, c.chunk_id
        assert tokens <= 200, c.chunk_id
        assert model_tokens < model_window, c.chunk_id


@pytest.mark.parametrize("doc_id", ALL)
def test_every_unit_text_reaches_some_chunk(ingested, doc_id):
    """Nothing of a record's clean text is dropped between units and chunks (whitespace aside)."""
    doc = ingested[doc_id].document
    covered = bytearray(len(doc.text))
    for c in ingested[doc_id].chunks:
        covered[c.span[0] : c.span[1]] = b"\x01" * (c.span[1] - c.span[0])
    lost = [i for i, ch in enumerate(doc.text) if not covered[i] and not ch.isspace()]
    assert lost == [], repr(doc.text[lost[0] : lost[0] + 80]) if lost else ""

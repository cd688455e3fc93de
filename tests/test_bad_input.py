"""Bad input: one clear error per file (what is wrong, what to do), the rest of the batch still indexed."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from reportlab.pdfgen import canvas

from protokollsok.cli import main
from protokollsok.ingest.decode import decode
from protokollsok.ingest.errors import IngestError
from protokollsok.ingest.partition import partition

SWEDISH = (
    "Kommunstyrelsen beslutar att återremittera ärendet om skolskjutsar och äldreomsorg. "
    "Överförmyndaren får yttra sig före årsskiftet. "
) * 5

FIRST = """Kalix kommun
Kommunstyrelsen

§ 301 Dnr 2024-00111

Renhållningstaxa för år 2025

Kommunstyrelsens beslut
Kommunstyrelsen föreslår kommunfullmäktige att anta renhållningstaxan för hushållsavfall.
"""

SECOND = """Kalix kommun
Kommunstyrelsen

§ 302 Dnr 2024-00222

Fjärrvärmeverkets underhållsplan

Kommunstyrelsens beslut
Kommunstyrelsen godkänner underhållsplanen för fjärrvärmeverket i Kalix.
"""


def _pdf(path: Path, text: str | None, **options) -> Path:
    c = canvas.Canvas(str(path), **options)
    if text:
        c.drawString(72, 720, text)
    else:
        c.rect(100, 100, 200, 300, fill=1)  # a drawing, no text: what a scan without OCR gives
    c.showPage()
    c.save()
    return path


# name → (words the problem must use, words of the remedy)
BAD = {
    "korrupt-protokoll.pdf": (["corrupt"], ["export"]),
    "krypterat-protokoll.pdf": (["encrypted"], ["password"]),
    "tom-fil.txt": (["empty"], ["complete file"]),
    "skannat-protokoll.pdf": (["no extractable text"], ["ocr"]),
    "stort-protokoll.txt": (["mib", "limit"], ["--max-mb"]),
    "utf16-protokoll.txt": (["encoding"], ["utf-8"]),
    "cp850-protokoll.txt": (["encoding"], ["utf-8"]),
    "budget.xlsx": (["unsupported"], ["convert"]),
    "arbetsordning.odt": (["unsupported"], ["convert"]),
}


def make_bad_files(folder: Path) -> dict[str, Path]:
    folder.mkdir()
    paths = {name: folder / name for name in BAD}
    paths["korrupt-protokoll.pdf"].write_bytes(random.Random(0).randbytes(900))
    _pdf(paths["krypterat-protokoll.pdf"], "Hemligt protokoll för Kalix kommun", encrypt="secret")
    paths["tom-fil.txt"].write_bytes(b"")
    _pdf(paths["skannat-protokoll.pdf"], None)
    paths["stort-protokoll.txt"].write_bytes((FIRST * 8000).encode("utf-8")[: int(1.5 * 2**20)])
    paths["utf16-protokoll.txt"].write_bytes(SWEDISH.encode("utf-16-le"))  # no BOM
    paths["cp850-protokoll.txt"].write_bytes(SWEDISH.encode("cp850"))
    paths["budget.xlsx"].write_bytes(b"PK\x03\x04" + bytes(200))
    paths["arbetsordning.odt"].write_bytes(b"PK\x03\x04" + bytes(200))
    return paths


def search(index: Path, query: str, capsys) -> list[dict]:
    capsys.readouterr()
    code = main(["search", query, "--index", str(index), "--json", "--k", "5"])
    out = capsys.readouterr().out
    assert code == 0
    (line,) = [line for line in out.splitlines() if line.strip()]
    return json.loads(line)["hits"]


def versions(index: Path, capsys) -> list[str]:
    capsys.readouterr()
    assert main(["versions", "--index", str(index)]) == 0
    return [line for line in capsys.readouterr().out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """One index: a good record ingested alone, then a batch of one good record and every kind of bad file."""
    root = tmp_path_factory.mktemp("bad-input")
    index = root / "index"
    good = root / "good"
    good.mkdir()
    first = good / "kalix-kommunstyrelsen-protokoll-2024-11-04.txt"
    first.write_text(FIRST, encoding="utf-8")
    second = good / "kalix-kommunstyrelsen-protokoll-2024-12-02.txt"
    second.write_text(SECOND, encoding="utf-8")
    bad = make_bad_files(root / "bad")

    capture = pytest.MonkeyPatch()
    import io
    import sys

    def run(argv):
        out, err = io.StringIO(), io.StringIO()
        capture.setattr(sys, "stdout", out)
        capture.setattr(sys, "stderr", err)
        try:
            code = main(argv)
        finally:
            capture.undo()
        return code, out.getvalue(), err.getvalue()

    first_run = run(["ingest", str(first), "--index", str(index)])
    batch_paths = [bad[n] for n in list(BAD)[:4]] + [second] + [bad[n] for n in list(BAD)[4:]]
    batch_run = run(["ingest", *map(str, batch_paths), "--index", str(index), "--max-mb", "1"])
    return {
        "index": index,
        "first": first,
        "second": second,
        "bad": bad,
        "first_run": first_run,
        "batch_run": batch_run,
        "run": run,
    }


def first_name(batch) -> str:
    return batch["first"].name


def test_first_good_record_is_ingested(batch):
    code, out, err = batch["first_run"]
    assert code == 0, err
    assert "published" in out
    problems = [line for line in err.splitlines() if "failed" in line or first_name(batch) in line]
    assert problems == []


def test_batch_with_bad_files_exits_non_zero(batch):
    code, out, err = batch["batch_run"]
    assert code == 1
    assert "published" in out and "1 document(s) added" in out
    assert re.search(rf"\b{len(BAD)} file\(s\) failed", err), err


@pytest.mark.parametrize("name", list(BAD))
def test_each_bad_file_gets_one_clear_error(batch, name):
    _, _, err = batch["batch_run"]
    lines = [line for line in err.splitlines() if name in line]
    assert len(lines) == 1, f"{name}: {lines}"
    line = lines[0].lower()
    assert str(batch["bad"][name]).lower() in line  # names the file, with its path
    problem, remedy = BAD[name]
    for word in problem + remedy:
        assert word in line, f"{name}: {word!r} not in {lines[0]!r}"
    assert "traceback" not in err.lower()


def test_batch_errors_do_not_name_the_good_files(batch):
    _, _, err = batch["batch_run"]
    assert batch["first"].name not in err
    assert batch["second"].name not in err


def test_size_error_gives_size_and_limit(batch):
    _, _, err = batch["batch_run"]
    (line,) = [line for line in err.splitlines() if "stort-protokoll.txt" in line]
    assert "1.5 MiB" in line and "limit of 1 MiB" in line


def test_already_indexed_and_good_batch_records_are_searchable(batch, capsys):
    index = batch["index"]
    hits = search(index, "renhållningstaxa för hushållsavfall", capsys)
    assert hits and hits[0]["doc_id"] == batch["first"].stem
    assert hits[0]["paragraf"] == "§ 301" and hits[0]["dnr"] == "2024-00111"
    hits = search(index, "underhållsplan fjärrvärmeverket", capsys)
    assert hits and hits[0]["doc_id"] == batch["second"].stem
    assert hits[0]["paragraf"] == "§ 302"
    bad_ids = {Path(n).stem for n in BAD}
    for query in ("protokoll", "Kommunstyrelsen beslutar att återremittera ärendet", "Hemligt protokoll"):
        assert not {h["doc_id"] for h in search(index, query, capsys)} & bad_ids


def test_index_holds_exactly_the_good_documents(batch, capsys):
    lines = versions(batch["index"], capsys)
    assert len(lines) == 2
    current = [line for line in lines if line.startswith("*")]
    assert len(current) == 1
    assert re.search(r"\b2 documents\b", current[0])
    assert batch["second"].stem in current[0]
    for name in BAD:
        assert Path(name).stem not in current[0]


def test_batch_of_only_bad_files_changes_nothing(batch, capsys):
    before = versions(batch["index"], capsys)
    bad = batch["bad"]
    code, out, err = batch["run"](
        ["ingest", str(bad["korrupt-protokoll.pdf"]), str(bad["tom-fil.txt"]), "--index", str(batch["index"])]
    )
    assert code == 1
    assert "nothing new to index" in out
    assert "2 file(s) failed" in err
    assert versions(batch["index"], capsys) == before
    hits = search(batch["index"], "renhållningstaxa", capsys)
    assert hits and hits[0]["doc_id"] == batch["first"].stem


def test_missing_file_in_batch(batch):
    missing = batch["bad"]["korrupt-protokoll.pdf"].parent / "finns-inte.pdf"
    code, _, err = batch["run"](["ingest", str(missing), "--index", str(batch["index"])])
    assert code == 1
    assert str(missing) in err and "no such file" in err


# --- single files, without an index -----------------------------------------------------------


def test_tiny_size_limit_message_is_meaningful(tmp_path):
    """`--max-mb 0.001`: the message must not claim a 0.0 MiB file is over a 0 MiB limit."""
    path = tmp_path / "protokoll.txt"
    path.write_text(FIRST * 10, encoding="utf-8")
    assert path.stat().st_size > 0.001 * 2**20
    with pytest.raises(IngestError) as raised:
        partition(path, max_bytes=int(0.001 * 2**20))
    message = str(raised.value)
    assert str(path) in message
    assert "limit of 0 MiB" not in message, message
    assert "is 0.0 MiB" not in message, message


def test_damaged_docx_is_reported(tmp_path):
    path = tmp_path / "trasigt-protokoll.docx"
    path.write_bytes(random.Random(1).randbytes(500))
    with pytest.raises(IngestError) as raised:
        partition(path, max_bytes=2**20)
    assert str(path) in str(raised.value)
    assert "docx" in str(raised.value).lower() and "save it again" in str(raised.value).lower()


@pytest.mark.parametrize(
    "text",
    [
        "Kommunstyrelsen beslutar att bevilja föreningen bidrag för år 2024.",
        "Ärendet gäller förskolans lokaler i Överkalix och ska behandlas av nämnden.",
        "Beslutet skickas till förvaltningschefen för kännedom.",
    ],
    ids=["one-aa", "capital-ae-oe", "ae-oe-only"],
)
def test_cp850_swedish_is_never_silently_misread(tmp_path, text):
    """decode's docstring: cp850 read as cp1252 is refused rather than guessed. Mojibake must not pass."""
    data = text.encode("cp850")
    path = tmp_path / "memo.txt"
    try:
        decoded = decode(data, path)
    except IngestError as error:
        assert "encoding" in str(error)
        return
    assert decoded == text, f"cp850 text accepted as {decoded!r}"

"""Records scoped per kommun (PROTOKOLLSOK_SCOPES), on real loopback servers over the sample corpus: a key
bound to Norsjö, and the widget bound to Umeå, see no record, count or facet value of another kommun at any
endpoint, cannot widen their scope with a filter, and the scope file (hashes only) is read again when it
changes; a broken one names its file and line."""

from __future__ import annotations

import io
import json
import os
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import live_index, start_server
from protokollsok.cli import main
from protokollsok.service.access import Access
from protokollsok.service.app import create_app
from protokollsok.service.querylog import QueryLog, default_path
from protokollsok.service import scopes
from protokollsok.service.scopes import ScopeFileError, Scopes, hash_key, parse
from protokollsok.settings import Settings

NORSJO_KEY = "norsjo-personal-7f3a"
KALIX_KEY = "kalix-ekonomi-91bc"
ADMIN_KEY = "admin-nyckel"
KALIX_DOC = "kalix-kommunstyrelsen-protokoll-2023-12-11"
NORSJO_DOC = "norsjo-allmanna-utskottet-protokoll-2025-02-25"
KALIX_DNR = "2023-00497"
OTHERS = ("Kalix", "Luleå", "Umeå", "kalix-", "lulea-", "umea-")
CHECK_EVERY = 0.2
QUESTIONS = ["budget", "Vad beslutade kommunstyrelsen i Kalix om e-handel?", "Dnr 2023-00497", "sjukfrånvaro Luleå", "§ 5"]


def scope_file(path: Path, norsjo_sees: str = '"Norsjö"') -> Path:
    path.write_text(
        f"""# Vem ser vad: nycklar lagras bara som SHA-256 (protokollsok hash-key)
[widget]
kommuner = ["Umeå"]

[[key]]
name = "Norsjö personalsystem"
sha256 = "{hash_key(NORSJO_KEY)}"
kommuner = [{norsjo_sees}]

[[key]]
name = "Kalix ekonomi"
sha256 = "{hash_key(KALIX_KEY)}"
kommuner = ["kalix"]
doc_types = ["Protokoll"]
""",
        encoding="utf-8",
    )
    return path


def _server(corpus_index, embedder, analyzer, path: Path):
    settings = Settings.load(index=str(corpus_index), api_keys=ADMIN_KEY, rate_per_minute=100_000)
    access = Access([ADMIN_KEY], None, "", Scopes(path, check_every=CHECK_EVERY))
    return start_server(create_app(settings, live_index(corpus_index, embedder, analyzer), access))


@pytest.fixture(scope="module")
def scoped(corpus_index, embedder, analyzer, tmp_path_factory):
    url, server = _server(corpus_index, embedder, analyzer, scope_file(tmp_path_factory.mktemp("scopes") / "scopes.toml"))
    yield url
    server.should_exit = True


def _as(key: str) -> dict:
    return {"X-API-Key": key}


def _no_other_kommun(text: str, *allowed: str) -> None:
    for name in OTHERS:
        if not any(name.lower().startswith(a.lower()) for a in allowed):
            assert name not in text, f"{name} leaked"


def test_the_file_holds_only_hashes_and_refuses_a_key_written_in_it(tmp_path):
    path = scope_file(tmp_path / "scopes.toml")
    assert NORSJO_KEY not in path.read_text() and KALIX_KEY not in path.read_text()
    path.write_text(f'[[key]]\nname = "x"\nsha256 = "{NORSJO_KEY}"\nkommuner = ["Norsjö"]\n', encoding="utf-8")
    with pytest.raises(ScopeFileError, match=rf"{path}:1: sha256 must be the 64 hex digits `protokollsok hash-key`"):
        Scopes(path)


def test_hash_key_prints_the_sha256_of_the_key_on_stdin(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(NORSJO_KEY + "\n"))
    assert main(["hash-key"]) == 0
    assert capsys.readouterr().out.strip() == hash_key(NORSJO_KEY)


@pytest.mark.parametrize(
    "text, line, words",
    [
        ('[[key]]\nname = "a"\nsha256 = "' + "a" * 64 + '"\nkommuner = ["*"]\n[[key]]\nname = "b"\nsha256 = "' + "b" * 64 + '"\n', 5, "needs kommuner"),
        ('[widget]\nkommuner = ["Umeå"]\norgan = "KS"\n', 1, "organ must be a list"),
        ('[widget]\nkommuner = Umeå\n', 2, "not valid TOML"),
        ('[widget]\nkommuner = ["Umeå"\n', 2, "not valid TOML"),
        ('[widgets]\nkommuner = ["Umeå"]\n', 1, "unknown section 'widgets'"),
    ],
)
def test_a_broken_file_is_refused_with_its_file_and_line(tmp_path, text, line, words):
    path = tmp_path / "scopes.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScopeFileError, match=rf"^{path}:{line}: .*{words}"):
        parse(path, text)


def test_facets_version_and_schema_show_only_the_scope(scoped):
    facets = httpx.get(f"{scoped}/api/facets", headers=_as(NORSJO_KEY)).json()
    everything = httpx.get(f"{scoped}/api/facets", headers=_as(ADMIN_KEY)).json()
    assert facets["kommuner"] == ["Norsjö"] and len(everything["kommuner"]) == 4
    assert set(facets["organ"]) < set(everything["organ"])
    assert facets["date_from"] == facets["date_to"] == "2025-02-25"
    version = httpx.get(f"{scoped}/api/version", headers=_as(NORSJO_KEY)).json()
    full = httpx.get(f"{scoped}/api/version", headers=_as(ADMIN_KEY)).json()
    assert version["documents"] == 1 and 0 < version["chunks"] < full["chunks"]
    schema = httpx.get(f"{scoped}/schema/openapi.json", headers=_as(NORSJO_KEY))
    assert schema.status_code == 200 and "Norsjö" in schema.text
    _no_other_kommun(schema.text)
    assert "Kalix" in httpx.get(f"{scoped}/schema/openapi.json", headers=_as(ADMIN_KEY)).text


@pytest.mark.parametrize("question", QUESTIONS)
def test_search_and_ask_bring_nothing_from_outside_the_scope(scoped, question):
    search = httpx.get(f"{scoped}/api/search", params={"q": question, "k": 50}, headers=_as(NORSJO_KEY))
    assert search.status_code == 200
    assert {h["kommun"] for h in search.json()["hits"]} <= {"Norsjö"}
    _no_other_kommun(search.text.replace(question, ""))  # the question is echoed as asked
    ask = httpx.post(f"{scoped}/api/ask", json={"question": question}, headers=_as(NORSJO_KEY))
    assert ask.status_code == 200
    assert {s["kommun"] for s in ask.json()["sources"]} <= {"Norsjö"}
    _no_other_kommun(json.dumps({k: v for k, v in ask.json().items() if k not in ("question", "reason")}, ensure_ascii=False))


def test_a_kommun_outside_the_scope_reads_like_one_the_index_does_not_hold(scoped):
    """The reason of an unanswered question names the kommun as asked; it must say what it says of a kommun
    the index has never held, so that it tells nothing of what lies outside the scope."""

    def answer(kommun: str) -> dict:
        question = f"Vad beslutade kommunstyrelsen i {kommun} om e-handel?"
        body = httpx.post(f"{scoped}/api/ask", json={"question": question}, headers=_as(NORSJO_KEY)).json()
        body.pop("trace_id")
        body.pop("evidence_strength")  # a score: two different words never score alike (README: Scopes)
        return json.loads(json.dumps(body, ensure_ascii=False).replace(kommun, "K").replace(kommun.lower(), "k"))

    assert answer("Kalix") == answer("Pajala")


def test_a_filter_outside_the_scope_cannot_widen_it_nor_tell_that_the_value_exists(scoped):
    def refused(kommun: str) -> dict:
        response = httpx.get(f"{scoped}/api/search", params={"q": "budget", "kommun": kommun}, headers=_as(NORSJO_KEY))
        assert response.status_code == 400
        return response.json()

    assert refused("Kalix") == refused("Atlantis")  # held by the index but not the scope = not held at all
    _no_other_kommun(str(refused("Kalix")))
    ask = httpx.post(f"{scoped}/api/ask", json={"question": "budget", "kommun": "Kalix"}, headers=_as(NORSJO_KEY))
    assert ask.status_code == 400
    dnr = httpx.get(f"{scoped}/api/search", params={"q": "beslut", "dnr": KALIX_DNR}, headers=_as(NORSJO_KEY))
    assert dnr.status_code == 200 and dnr.json()["hits"] == []


def test_documents_and_the_document_view_outside_the_scope_are_not_found(scoped):
    assert httpx.get(f"{scoped}/api/documents/{NORSJO_DOC}", headers=_as(NORSJO_KEY)).status_code == 200
    hidden = httpx.get(f"{scoped}/api/documents/{KALIX_DOC}", headers=_as(NORSJO_KEY))
    missing = httpx.get(f"{scoped}/api/documents/finns-inte", headers=_as(NORSJO_KEY))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace(KALIX_DOC, "X") == missing.json()["detail"].replace("finns-inte", "X")
    view = httpx.get(f"{scoped}/documents/{KALIX_DOC}", headers=_as(NORSJO_KEY))
    assert view.status_code == 404 and "Kalix kommun" not in view.text
    assert httpx.get(f"{scoped}/documents/{KALIX_DOC}", headers=_as(KALIX_KEY)).status_code == 200


def test_a_case_outside_the_scope_has_no_passages_and_no_steps(scoped):
    full = httpx.get(f"{scoped}/api/cases/{KALIX_DNR}", headers=_as(ADMIN_KEY)).json()
    assert full["passages"] and full["steps"]
    case = httpx.get(f"{scoped}/api/cases/{KALIX_DNR}", headers=_as(NORSJO_KEY))
    assert case.status_code == 200
    assert case.json()["passages"] == [] and case.json()["steps"] == [] and case.json()["documents"] == []
    _no_other_kommun(case.text)


def test_organ_and_document_type_narrow_a_scope_too(scoped):
    facets = httpx.get(f"{scoped}/api/facets", headers=_as(KALIX_KEY)).json()
    assert facets["kommuner"] == ["Kalix"] and facets["doc_types"] == ["protokoll"]
    hits = httpx.get(f"{scoped}/api/search", params={"q": "kommunstyrelsen", "k": 50}, headers=_as(KALIX_KEY)).json()
    assert hits["hits"] and {(h["kommun"], h["doc_type"]) for h in hits["hits"]} == {("Kalix", "protokoll")}


def test_the_widget_token_carries_the_widget_scope_and_cannot_be_altered(scoped):
    page = httpx.get(f"{scoped}/")
    token = page.text.split('data-token="')[1].split('"')[0]
    facets = httpx.get(f"{scoped}/api/facets", headers={"X-Widget-Token": token}).json()
    assert facets["kommuner"] == ["Umeå"]
    hits = httpx.get(f"{scoped}/api/search", params={"q": "budget Kalix", "k": 50}, headers={"X-Widget-Token": token})
    assert {h["kommun"] for h in hits.json()["hits"]} == {"Umeå"}
    assert httpx.get(f"{scoped}/documents/{KALIX_DOC}", params={"token": token}).status_code == 404
    expires, _, signature = token.split(".")
    for forged in (f"{expires}.{signature}", f"{expires}.S2FsaXggZWtvbm9taQ.{signature}"):  # no scope; another's
        assert httpx.get(f"{scoped}/api/facets", headers={"X-Widget-Token": forged}).status_code == 401


def test_a_changed_file_applies_without_restart_and_a_broken_one_keeps_the_last_good(
    corpus_index, embedder, analyzer, tmp_path, monkeypatch
):
    logged: list[str] = []
    monkeypatch.setattr(scopes.log, "error", lambda message, *args: logged.append(message % args))
    path = scope_file(tmp_path / "scopes.toml")
    url, server = _server(corpus_index, embedder, analyzer, path)
    try:
        kommuner = lambda: httpx.get(f"{url}/api/facets", headers=_as(NORSJO_KEY)).json()["kommuner"]  # noqa: E731
        assert kommuner() == ["Norsjö"]
        scope_file(path, '"Norsjö", "Kalix"')
        os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
        time.sleep(CHECK_EVERY * 2)
        assert kommuner() == ["Kalix", "Norsjö"]
        path.write_text(path.read_text(encoding="utf-8").replace('kommuner = ["kalix"]', "kommuner = "), encoding="utf-8")
        time.sleep(CHECK_EVERY * 2)
        assert kommuner() == ["Kalix", "Norsjö"]
        assert any(f"{path}:13: not valid TOML" in m and "last good" in m for m in logged)
        assert httpx.get(f"{url}/api/facets", headers=_as(KALIX_KEY)).json()["doc_types"] == ["protokoll"]
    finally:
        server.should_exit = True


def test_a_scope_file_without_a_widget_section_gives_the_widget_page_to_nobody(corpus_index, embedder, analyzer, tmp_path):
    path = tmp_path / "scopes.toml"
    path.write_text(f'[[key]]\nname = "n"\nsha256 = "{hash_key(NORSJO_KEY)}"\nkommuner = ["Norsjö"]\n', encoding="utf-8")
    url, server = _server(corpus_index, embedder, analyzer, path)
    try:
        page = httpx.get(f"{url}/")
        assert page.status_code == 403 and "[widget]" in page.json()["detail"] and "data-token" not in page.text
        assert httpx.get(f"{url}/api/facets", headers=_as(ADMIN_KEY)).json()["kommuner"][0] == "Kalix"
    finally:
        server.should_exit = True


def test_a_page_gets_a_token_with_its_own_keys_scope_and_a_token_gets_none(scoped):
    issued = httpx.get(f"{scoped}/api/widget-token", headers=_as(NORSJO_KEY))
    assert issued.status_code == 200 and issued.json()["expires_in"] == 1800
    token = issued.json()["token"]
    assert httpx.get(f"{scoped}/api/facets", headers={"X-Widget-Token": token}).json()["kommuner"] == ["Norsjö"]
    assert httpx.get(f"{scoped}/api/widget-token", headers={"X-Widget-Token": token}).status_code == 403
    admin = httpx.get(f"{scoped}/api/widget-token", headers=_as(ADMIN_KEY)).json()["token"]
    assert len(httpx.get(f"{scoped}/api/facets", headers={"X-Widget-Token": admin}).json()["kommuner"]) == 4


def test_serve_refuses_a_broken_scope_file_at_start_naming_file_and_line(corpus_index, tmp_path, monkeypatch, capsys):
    path = tmp_path / "scopes.toml"
    path.write_text('[widget]\nkommuner = ["Umeå"]\n\n[[key]]\nname = "n"\nsha256 = "abc"\nkommuner = ["Norsjö"]\n')
    monkeypatch.setenv("PROTOKOLLSOK_SCOPES", str(path))
    assert main(["serve", "--index", str(corpus_index)]) == 2
    assert f"{path}:4: sha256 must be the 64 hex digits" in capsys.readouterr().err


def test_the_query_log_says_whose_scope_asked(scoped, corpus_index):
    question = {"question": "Vad beslutade utskottet om förseningsavgifterna?"}
    norsjo = httpx.post(f"{scoped}/api/ask", json=question, headers=_as(NORSJO_KEY)).headers["x-trace-id"]
    admin = httpx.post(f"{scoped}/api/ask", json=question, headers=_as(ADMIN_KEY)).headers["x-trace-id"]
    searched = httpx.get(f"{scoped}/api/search", params={"q": "budget"}, headers=_as(NORSJO_KEY)).headers["x-trace-id"]
    log = QueryLog.open(default_path(corpus_index), 30)
    try:
        assert log.get(norsjo).scope == log.get(searched).scope == "Norsjö personalsystem"
        assert log.get(admin).scope is None
    finally:
        log.close()

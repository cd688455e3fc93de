"""The Litestar service on a real loopback port: every endpoint, every bad input, access, headers, live switch."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from conftest import live_index, start_server
from protokollsok.cli import main
from protokollsok.indexes import reader
from protokollsok.indexes.build import current_entries, publish
from protokollsok.indexes.store import Store
from protokollsok.service.access import Access
from protokollsok.service.app import create_app
from protokollsok.service.querylog import QueryLog, default_path
from protokollsok.settings import Settings
from samples import personnummer

KALIX = "kalix-kommunstyrelsen-protokoll-2023-12-11"
KALLELSE = "kalix-kommunstyrelsen-kallelse-2025-12-15"
SECURITY = {"content-security-policy", "x-content-type-options", "referrer-policy"}


@pytest.fixture(scope="module")
def api(live_server):
    with httpx.Client(base_url=live_server, timeout=60) as client:
        yield client


def _cli_json(capsys, *argv: str) -> dict:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_search_returns_the_object_search_json_prints(api, corpus_index, capsys):
    response = api.get("/api/search", params={"q": "Dnr KS 2023/651 planeringsdirektiv", "k": 5, "kommun": "umeå"})
    assert response.status_code == 200
    body = response.json()
    cli = _cli_json(
        capsys,
        "search",
        "Dnr KS 2023/651 planeringsdirektiv",
        "--k",
        "5",
        "--kommun",
        "umeå",
        "--index",
        str(corpus_index),
        "--json",
    )
    assert set(body) == set(cli)
    assert [h["chunk_id"] for h in body["hits"]] == [h["chunk_id"] for h in cli["hits"]]
    # The score to within float noise: two processes' torch threads sum the embedding in different orders.
    assert body["hits"][0] == {**cli["hits"][0], "score": pytest.approx(cli["hits"][0]["score"], abs=1e-4)}
    assert response.headers["x-trace-id"] == body["trace_id"] != cli["trace_id"]
    log = QueryLog.open(default_path(corpus_index), 30)
    entry = log.get(body["trace_id"])
    log.close()
    assert (
        entry.kind == "search"
        and entry.sources == [h["chunk_id"] for h in body["hits"]]
        and entry.filters == {"kommun": "umeå"}
    )


def test_ask_returns_the_object_ask_json_prints(api, corpus_index, capsys):
    question = "Vad beslutade kommunstyrelsen i Kalix om e-handel?"
    response = api.post("/api/ask", json={"question": question, "kommun": "Kalix"})
    assert response.status_code == 200
    body = response.json()
    cli = _cli_json(capsys, "ask", question, "--kommun", "Kalix", "--index", str(corpus_index), "--json")
    assert set(body) == set(cli)
    assert body["answered"] is True and body["answer"] == cli["answer"] and body["sources"] == cli["sources"]
    assert response.headers["x-trace-id"] == body["trace_id"]


def test_ask_abstains_for_what_the_records_do_not_hold(api):
    body = api.post("/api/ask", json={"question": "Hur mycket kostar det nya badhuset i Göteborg?"}).json()
    assert body["answered"] is False and body["answer"][0]["citations"] == [] and body["sources"]


def test_document_metadata_and_structure(api):
    body = api.get(f"/api/documents/{KALIX}").json()
    assert (body["kommun"], body["doc_type"], body["date"]) == ("Kalix", "protokoll", "2023-12-11")
    paragrafer = {u["paragraf"]: u for u in body["units"] if u["paragraf"]}
    assert "§ 228" in paragrafer and paragrafer["§ 228"]["pages"] and paragrafer["§ 228"]["dnr"] == "2023-00495"
    assert body["pages"] == sorted(body["pages"]) and len(body["pages"]) > 40
    missing = api.get("/api/documents/finns-inte")
    assert missing.status_code == 404 and "finns inte" in missing.json()["detail"]


@pytest.mark.parametrize("spelling", ["KS-2025-00461", "ks 2025/461", "Dnr 2025-00461", "KS-25/00461"])
def test_case_in_any_spelling_lists_its_passages_in_date_order(api, spelling):
    response = api.get(f"/api/cases/{spelling}")
    assert response.status_code == 200
    body = response.json()
    assert body["dnr"] == "2025-00461" and body["documents"] == [KALLELSE]
    assert len(body["passages"]) >= 2
    dates = [p["date"] or "" for p in body["passages"]]
    assert dates == sorted(dates)
    assert all(p["view"].startswith(f"/documents/{KALLELSE}?highlight=") for p in body["passages"])
    reference = api.get("/api/cases/KS-2025-00461").json()
    assert [p["chunk_id"] for p in body["passages"]] == [p["chunk_id"] for p in reference["passages"]]


def test_facets_health_version_and_openapi(api):
    facets = api.get("/api/facets").json()
    assert facets["kommuner"] == ["Kalix", "Luleå", "Norsjö", "Umeå"]
    assert "protokoll" in facets["doc_types"] and "Allmänna utskottet" in facets["organ"]
    assert facets["date_from"] <= facets["date_to"]
    health = api.get("/api/health").json()
    version = api.get("/api/version").json()
    assert health["status"] == "ok" and health["index_version"] == version["index_version"]
    assert version["documents"] == 5 and version["chunks"] > 500 and version["dimension"] == 384
    schema = api.get("/schema/openapi.json").json()
    for path in (
        "/api/search",
        "/api/ask",
        "/api/documents/{doc_id}",
        "/api/cases/{dnr}",
        "/api/facets",
        "/api/health",
        "/api/version",
    ):
        assert path in schema["paths"], path
    assert api.get("/schema").status_code == 200


@pytest.mark.parametrize(
    "params, field",
    [
        ({"q": ""}, "q"),
        ({"q": "budget", "k": 0}, "k"),
        ({"q": "budget", "k": 51}, "k"),
        ({"q": "budget", "k": "tio"}, "k"),
        ({"q": "budget", "kommun": "Göteborg"}, "kommun"),
        ({"q": "budget", "doc_type": "faktura"}, "doc_type"),
        ({"q": "budget", "date_from": "banan"}, "date_from"),
        ({"q": "budget", "date_to": "2024-13-01"}, "date_to"),
        ({"q": "budget", "dnr": "inget diarienummer"}, "dnr"),
        ({"q": "budget", "paragraf": "§ tjugo"}, "paragraf"),
        ({"q": "x" * 501}, "q"),
        ({"q": "budget\x00\x1b[31m"}, "q"),
    ],
)
def test_bad_search_parameters_are_400_naming_the_field_in_both_languages(api, params, field):
    response = api.get("/api/search", params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == field and " / " in body["detail"]
    assert "Traceback" not in response.text


def test_unknown_filter_value_lists_the_valid_ones(api):
    body = api.get("/api/search", params={"q": "budget", "kommun": "Göteborg"}).json()
    assert "Kalix, Luleå, Norsjö, Umeå" in body["detail"]


@pytest.mark.parametrize(
    "content, field",
    [
        (json.dumps({"question": ""}), "question"),
        (json.dumps({"question": "   "}), "question"),
        (json.dumps({"question": "budget", "stad": "Umeå"}), None),
        (json.dumps({"question": 5}), None),
        ("inte json", None),
        (json.dumps({"question": "budget", "date_from": "igår"}), "date_from"),
    ],
)
def test_bad_ask_bodies_are_400(api, content, field):
    response = api.post("/api/ask", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 400
    body = response.json()
    assert " / " in body["detail"] and "Traceback" not in response.text
    if field:
        assert body["field"] == field


def test_oversized_body_is_refused(api):
    response = api.post("/api/ask", json={"question": "budget " * 5000})
    assert response.status_code == 413 and response.json()["status_code"] == 413


def test_personnummer_in_a_request_is_never_echoed(api):
    pnr = personnummer("811218", "987")
    digits = pnr.replace("-", "")
    for response in (
        api.get("/api/search", params={"q": f"bidrag till {pnr}"}),
        api.get("/api/search", params={"q": f"bidrag till {pnr}", "kommun": pnr}),
        api.post("/api/ask", json={"question": f"Vem är {pnr}?"}),
        api.get(f"/api/documents/{pnr}"),
        api.get(f"/documents/{pnr}"),
    ):
        assert pnr not in response.text and digits not in response.text


def test_internal_error_has_no_stack_trace(corpus_index, embedder, analyzer, monkeypatch):
    live = live_index(corpus_index, embedder, analyzer)
    url, server = start_server(create_app(Settings.load(index=str(corpus_index)), live, Access([])))
    try:
        monkeypatch.setattr(live.current().queries.searcher, "search", lambda *a, **k: 1 / 0)
        response = httpx.get(f"{url}/api/search", params={"q": "budget"}, timeout=30)
        assert response.status_code == 500
        assert response.json()["detail"].startswith("Ett internt fel") and "ZeroDivision" not in response.text
        assert "Traceback" not in response.text
    finally:
        server.should_exit = True


def test_security_headers_on_every_kind_of_response(api):
    for path in (
        "/",
        "/api/health",
        "/api/nothing-here",
        "/static/document.css",
        f"/documents/{KALIX}",
        "/documents/nej",
    ):
        response = api.get(path)
        assert SECURITY <= set(response.headers), path
        assert "'unsafe-inline'" not in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"


def test_document_view_marks_the_cited_passage(api, ingested):
    text = ingested[KALIX].document.text
    start = text.index("Kommunstyrelsen beslutar implementera")
    end = start + len("Kommunstyrelsen beslutar implementera ett nytt arbetssätt")
    page = api.get(f"/documents/{KALIX}", params={"highlight": f"{start}-{end}"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<mark id="citat">Kommunstyrelsen beslutar implementera ett nytt arbetssätt</mark>' in html
    assert "§ 228" in html and 'class="sida"' in html and "Sida 38" in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    missing = api.get("/documents/finns-inte")
    assert missing.status_code == 404 and "Dokumentet finns inte" in missing.text


def test_document_view_masks_personnummer(tmp_path, embedder, analyzer):
    from samples import TEXT

    pnr = personnummer("811218", "987")
    record = tmp_path / "kalix-kommunstyrelsen-protokoll-2024-03-11.txt"
    record.write_text(TEXT + f"\nSökanden ({pnr}) beviljas bidrag.\n", encoding="utf-8")
    index = tmp_path / "index"
    assert main(["ingest", str(record), "--index", str(index)]) == 0
    url, server = start_server(
        create_app(Settings.load(index=str(index)), live_index(index, embedder, analyzer), Access([]))
    )
    try:
        html = httpx.get(f"{url}/documents/{record.stem}", timeout=30).text
        assert "[personnummer]" in html and pnr not in html and pnr.replace("-", "") not in html
    finally:
        server.should_exit = True


@pytest.fixture(scope="module")
def guarded(corpus_index, embedder, analyzer):
    """A server with API keys, one allowed CORS origin and a low rate limit."""
    settings = Settings.load(
        index=str(corpus_index),
        api_keys="nyckel-1,nyckel-2",
        cors_origins="https://intranat.kalix.se",
        rate_per_minute=1000,
    )
    access = Access(settings.api_keys.split(","))
    url, server = start_server(create_app(settings, live_index(corpus_index, embedder, analyzer), access))
    yield url, access
    server.should_exit = True


def test_keys_are_required_when_configured(guarded):
    url, access = guarded
    assert httpx.get(f"{url}/api/health").status_code == 401
    assert httpx.get(f"{url}/api/health", headers={"X-API-Key": "fel"}).status_code == 401
    assert httpx.get(f"{url}/api/health", headers={"X-API-Key": "nyckel-2"}).status_code == 200
    assert httpx.get(f"{url}/static/document.css").status_code == 200


def test_widget_page_gets_a_short_lived_token_not_a_key(guarded):
    url, access = guarded
    page = httpx.get(f"{url}/").text
    assert "nyckel-1" not in page and "nyckel-2" not in page and "__WIDGET_TOKEN__" not in page
    token = next(t for t in (page.split('data-token="')[1].split('"')[0],) if t)
    assert httpx.get(f"{url}/api/health", headers={"X-Widget-Token": token}).status_code == 200
    expired = access.token(now=time.time() - 2 * 3600)
    forged = token.split(".")[0] + ".AAAA"
    for bad in (expired, forged, "abc"):
        assert httpx.get(f"{url}/api/health", headers={"X-Widget-Token": bad}).status_code == 401


def test_cors_only_for_configured_origins(guarded):
    url, _ = guarded
    allowed = httpx.get(f"{url}/api/health", headers={"Origin": "https://intranat.kalix.se", "X-API-Key": "nyckel-1"})
    assert allowed.headers.get("access-control-allow-origin") == "https://intranat.kalix.se"
    other = httpx.get(f"{url}/api/health", headers={"Origin": "https://example.org", "X-API-Key": "nyckel-1"})
    assert "access-control-allow-origin" not in other.headers


def test_rate_limit_answers_429_with_retry_after(corpus_index, embedder, analyzer):
    settings = Settings.load(index=str(corpus_index), rate_per_minute=3)
    url, server = start_server(create_app(settings, live_index(corpus_index, embedder, analyzer), Access([])))
    try:
        codes = [httpx.get(f"{url}/api/health").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = httpx.get(f"{url}/api/health")
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
        assert httpx.get(f"{url}/").status_code == 200
    finally:
        server.should_exit = True


def test_new_version_is_served_without_restart_or_failed_request(index_copy, embedder, analyzer):
    url, server = start_server(
        create_app(Settings.load(index=str(index_copy)), live_index(index_copy, embedder, analyzer), Access([]))
    )
    failures: list[str] = []
    versions: set[str] = set()
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=url, timeout=60) as c:
            while not stop.is_set():
                response = c.get("/api/search", params={"q": "budget 2025", "k": 3})
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")
                else:
                    versions.add(response.json()["index_version"])

    threads = [threading.Thread(target=client) for _ in range(3)]
    try:
        for t in threads:
            t.start()
        time.sleep(1.0)
        store = Store(index_copy)
        with store.writing():
            kept = [e for e in current_entries(store) if e.document.doc_id != KALLELSE]
            new = publish(store, kept, embedder, analyzer, "remove kallelse", keep=5, purge=frozenset({KALLELSE}))
        deadline = time.monotonic() + 10
        while httpx.get(f"{url}/api/version").json()["index_version"] != new.name:
            assert time.monotonic() < deadline, "the service did not switch to the new version"
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
        server.should_exit = True
    assert failures == []
    assert new.name in versions and len(versions) == 2


def test_serve_without_keys_listens_on_loopback_and_refuses_an_open_address_unless_allowed(
    corpus_index, embedder, analyzer, monkeypatch, capsys
):
    import uvicorn

    from protokollsok.cli import _parser
    from protokollsok.service.app import serve

    started = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda server: started.append((server.config.host, server.config.port)))
    assert _parser().parse_args(["serve"]).host == "127.0.0.1"
    live = live_index(corpus_index, embedder, analyzer)
    serve(Settings.load(index=str(corpus_index)), live, "127.0.0.1", 8000)
    out = capsys.readouterr().out
    assert "no API keys set" in out and "loopback only" in out and "http://localhost:8000/" in out
    with pytest.raises(ValueError, match="--allow-open"):
        serve(Settings.load(index=str(corpus_index)), live, "0.0.0.0", 8080)
    serve(Settings.load(index=str(corpus_index)), live, "0.0.0.0", 8080, allow_open=True)
    assert "OPEN TO ANYONE" in capsys.readouterr().out
    serve(Settings.load(index=str(corpus_index), api_keys="nyckel"), live, "0.0.0.0", 8080)
    assert "no API keys" not in capsys.readouterr().out
    assert started == [("127.0.0.1", 8000), ("0.0.0.0", 8080), ("0.0.0.0", 8080)]
    assert main(["serve", "--host", "0.0.0.0", "--index", str(corpus_index)]) == 2
    assert "--allow-open" in capsys.readouterr().err


def test_the_service_reads_a_version_ahead_and_a_single_open_does_not(index_copy, embedder, analyzer, monkeypatch):
    asked = []
    monkeypatch.setattr(reader, "read_ahead", asked.append)
    version = Store(index_copy).current()
    version.open().close()  # as the command line opens one for a single question or its facets
    assert asked == []
    live_index(index_copy, embedder, analyzer)
    assert asked == [version.path]

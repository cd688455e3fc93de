"""The access model and hostile requests, on real loopback servers: who gets the widget page, what needs a
key or token, rate limits that a made-up key cannot dodge, crafted tokens, deep JSON, unknown parameters,
content types and the headers every response carries."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from conftest import live_index, start_server
from protokollsok.service.access import Access
from protokollsok.service.app import create_app
from protokollsok.settings import Settings

KALIX = "kalix-kommunstyrelsen-protokoll-2023-12-11"
KEY = "nyckel-1"


def _server(corpus_index, embedder, analyzer, **settings):
    settings = Settings.load(index=str(corpus_index), **settings)
    access = Access(settings.api_keys.split(","), None, settings.widget_networks)
    url, server = start_server(create_app(settings, live_index(corpus_index, embedder, analyzer), access))
    return url, server, access


@pytest.fixture(scope="module")
def keyed(corpus_index, embedder, analyzer):
    """Keys set, the widget page for this machine only (the default)."""
    url, server, access = _server(corpus_index, embedder, analyzer, api_keys=f"{KEY},nyckel-2", rate_per_minute=100_000)
    yield url, access
    server.should_exit = True


PROTECTED = ["/api/search?q=budget", "/api/facets", f"/api/documents/{KALIX}", f"/documents/{KALIX}", "/schema/openapi.json"]


@pytest.mark.parametrize("path", PROTECTED)
def test_records_api_and_schema_need_a_key_or_token_when_keys_are_set(keyed, path):
    url, access = keyed
    assert httpx.get(url + path).status_code == 401
    assert httpx.get(url + path, headers={"X-API-Key": "gissad"}).status_code == 401
    assert httpx.get(url + path, headers={"X-API-Key": KEY}).status_code == 200
    assert httpx.get(url + path, headers={"X-Widget-Token": access.token()}).status_code == 200


def test_the_document_view_link_carries_the_widget_token(keyed):
    url, _ = keyed
    page = httpx.get(f"{url}/")
    assert page.status_code == 200
    token = page.text.split('data-token="')[1].split('"')[0]
    view = httpx.get(f"{url}/documents/{KALIX}", params={"highlight": "0-20", "token": token})
    assert view.status_code == 200 and '<mark id="citat">' in view.text
    assert httpx.get(f"{url}/documents/{KALIX}", params={"token": token[:-2] + "AA"}).status_code == 401
    assert httpx.get(f"{url}/static/widget.js").status_code == 200  # no records in it: open to all


def test_the_widget_page_and_its_token_only_go_to_the_widget_networks(corpus_index, embedder, analyzer):
    url, server, _ = _server(corpus_index, embedder, analyzer, api_keys=KEY, widget_networks="10.20.0.0/16")
    try:
        page = httpx.get(f"{url}/")
        assert page.status_code == 403 and "data-token" not in page.text
        assert "PROTOKOLLSOK_WIDGET_NETWORKS" in page.json()["detail"]
    finally:
        server.should_exit = True


@pytest.mark.parametrize(
    "token",
    ["9" * 5000 + ".AAAA", "²." + "A" * 43, "4102444800." + "å" * 43, "4102444800.ä", "." * 3, "1" * 13 + "." + "A" * 43],
)
def test_a_crafted_widget_token_is_a_401_never_a_500(keyed, token):
    url, _ = keyed
    response = httpx.get(f"{url}/api/health", headers={"X-Widget-Token": token.encode()})
    assert response.status_code == 401 and "Traceback" not in response.text


def test_a_made_up_key_per_request_counts_against_the_address(corpus_index, embedder, analyzer):
    url, server, _ = _server(corpus_index, embedder, analyzer, api_keys=KEY, rate_per_minute=10)
    try:
        codes = [httpx.get(f"{url}/api/health", headers={"X-API-Key": uuid.uuid4().hex}).status_code for _ in range(12)]
        assert codes == [401] * 10 + [429] * 2
        assert httpx.get(f"{url}/api/health").status_code == 429  # no key: the same address, the same bucket
        assert httpx.get(f"{url}/api/health", headers={"X-API-Key": KEY}).status_code == 200  # a valid key: its own
    finally:
        server.should_exit = True


def test_without_keys_a_key_header_opens_no_bucket_of_its_own(corpus_index, embedder, analyzer):
    url, server, _ = _server(corpus_index, embedder, analyzer, rate_per_minute=10)
    try:
        codes = [httpx.get(f"{url}/api/health", headers={"X-API-Key": uuid.uuid4().hex}).status_code for _ in range(12)]
        assert codes == [200] * 10 + [429] * 2
    finally:
        server.should_exit = True


def test_json_nested_deeper_than_any_request_needs_is_a_400(live_server):
    for depth in (1000, 50_000 // 2):
        body = '{"question": ' + "[" * depth + "]" * depth + "}"
        response = httpx.post(f"{live_server}/api/ask", content=body, headers={"content-type": "application/json"})
        assert response.status_code in (400, 413), depth
        assert response.json()["field"] == "body" and "Traceback" not in response.text
    brackets_in_a_string = json.dumps({"question": "Vad betyder [[[[[[[[[[ budget ]]]]]]]]]] i Kalix?"})
    ok = httpx.post(f"{live_server}/api/ask", content=brackets_in_a_string, headers={"content-type": "application/json"})
    assert ok.status_code == 200


def test_ask_takes_only_json(live_server):
    body = json.dumps({"question": "Vad beslutade kommunstyrelsen om e-handel?"})
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        response = httpx.post(f"{live_server}/api/ask", content=body, headers={"content-type": content_type})
        assert response.status_code == 415, content_type
        assert response.json()["field"] == "content-type" and " / " in response.json()["detail"]


@pytest.mark.parametrize(
    "path, unknown",
    [("/api/search?q=budget&stad=Kalix", "stad"), ("/api/facets?x=1", "x"), ("/api/search?q=budget&K=5", "K")],
)
def test_unknown_query_parameters_are_a_400_naming_them(live_server, path, unknown):
    response = httpx.get(live_server + path)
    assert response.status_code == 400
    assert response.json()["field"] == unknown and unknown in response.json()["detail"]


@pytest.mark.parametrize("highlight", ["abc", "20-10", "0-999999999", "5"])
def test_an_invalid_highlight_is_a_400_page(live_server, highlight):
    response = httpx.get(f"{live_server}/documents/{KALIX}", params={"highlight": highlight})
    assert response.status_code == 400 and response.headers["content-type"].startswith("text/html")
    assert "<mark" not in response.text and "START-SLUT" in response.text


def test_responses_are_not_cached_name_no_server_and_no_path(live_server):
    for path in ("/", "/api/health", "/api/search?q=budget", f"/documents/{KALIX}", "/api/finns-inte"):
        response = httpx.get(live_server + path)
        assert response.headers["cache-control"] == "no-store", path
        assert "camera=()" in response.headers["permissions-policy"], path
        assert "server" not in response.headers, path
    static = httpx.get(f"{live_server}/static/widget.css")
    assert "no-store" not in static.headers.get("cache-control", "") and "server" not in static.headers
    version = httpx.get(f"{live_server}/api/version").json()
    assert version["model"] == "multilingual-e5-small" and "/" not in json.dumps(version)

"""The OpenAPI document is the contract: schemathesis generates requests from the live schema, valid and
invalid, and checks every response against it (status codes, content types, headers, response schemas,
valid data accepted, invalid data refused, never a 5xx). A client generated from the schema must work."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from conftest import live_index, start_server
from protokollsok.service.access import Access
from protokollsok.service.app import create_app
from protokollsok.settings import Settings

EXAMPLES = 50  # per operation and phase: about 600 requests in all, 15 s here


@pytest.fixture(scope="module")
def contract_server(corpus_index, embedder, analyzer):
    """The sample index without keys and without a rate limit that hundreds of generated requests would hit."""
    app_settings = Settings.load(index=str(corpus_index), rate_per_minute=1_000_000)
    url, server = start_server(create_app(app_settings, live_index(corpus_index, embedder, analyzer), Access([])))
    yield url
    server.should_exit = True


def test_schemathesis_with_every_check_finds_nothing_against_the_live_schema(contract_server, tmp_path):
    """Its command line, as an administrator would run it: every phase (examples, coverage, fuzzing) and every
    check, a fixed seed so a failure reproduces."""
    run = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", f"{contract_server}/schema/openapi.json", "--checks", "all",
         "--max-examples", str(EXAMPLES), "--seed", "21", "--workers", "2", "--request-timeout", "120"],
        capture_output=True, text=True, cwd=tmp_path, timeout=1200,
    )
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]


def test_the_schema_says_what_the_service_does(contract_server):
    spec = httpx.get(f"{contract_server}/schema/openapi.json").json()
    ask = spec["paths"]["/api/ask"]["post"]["responses"]
    assert "200" in ask and "201" not in ask
    for code in ("400", "401", "413", "415", "429"):
        assert code in ask, code
    assert "404" in spec["paths"]["/api/documents/{doc_id}"]["get"]["responses"]
    q = next(p for p in spec["paths"]["/api/search"]["get"]["parameters"] if p["name"] == "q")
    assert q["required"] and q["schema"]["minLength"] == 1
    question = spec["components"]["schemas"]["AskRequest"]["properties"]["question"]
    assert question["minLength"] == 1 and question["maxLength"] == 500
    dnr = next(p for p in spec["paths"]["/api/cases/{dnr}"]["get"]["parameters"] if p["name"] == "dnr")
    assert "format" not in dnr["schema"]

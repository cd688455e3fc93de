"""The optional summary: an OpenAI-compatible endpoint on loopback may only rephrase the extracts it is given."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from protokollsok.cli import main
from protokollsok.settings import Settings

QUESTION = "Vad beslutade kommunstyrelsen i Kalix om e-handel?"


class _Endpoint(BaseHTTPRequestHandler):
    """Answers /chat/completions like an OpenAI-compatible server, with text made by `reply` from the extracts."""

    reply = staticmethod(lambda extracts: "")
    requests: list[dict] = []

    def do_POST(self):  # noqa: N802 (the standard library's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(
            {"path": self.path, "body": body, "authorization": self.headers.get("Authorization")}
        )
        extracts = dict(re.findall(r"^\[(\d+)\] (.+)$", body["messages"][-1]["content"], re.M))
        content = type(self).reply({int(k): v for k, v in extracts.items()})
        data = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Endpoint.requests = []
    monkeypatch.setenv("PROTOKOLLSOK_LLM_URL", f"http://127.0.0.1:{server.server_address[1]}/v1")
    monkeypatch.setenv("PROTOKOLLSOK_LLM_MODEL", "lokal-modell")
    monkeypatch.setenv("PROTOKOLLSOK_LLM_KEY", "hemlig")
    yield _Endpoint
    server.shutdown()


def _ask(index, capsys) -> dict:
    capsys.readouterr()
    assert main(["ask", QUESTION, "--index", str(index), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_faithful_summary_is_kept_in_its_own_field(endpoint, corpus_index, capsys):
    endpoint.reply = lambda extracts: f"Enligt beslutet gäller följande: {extracts[1]} [1]"
    answer = _ask(corpus_index, capsys)
    request = endpoint.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["authorization"] == "Bearer hemlig"
    assert request["body"]["model"] == "lokal-modell" and QUESTION in request["body"]["messages"][-1]["content"]
    assert len(answer["summary"]) == 1 and answer["summary"][0]["citations"] == [1]
    assert "e-handelssystem" in answer["summary"][0]["text"]
    assert answer["answer"][0]["text"].startswith("Kommunstyrelsen beslutar")  # the extracts stay as they were


def test_invented_fact_is_dropped_and_the_rest_kept(endpoint, corpus_index, capsys):
    endpoint.reply = lambda extracts: (
        f"{extracts[1]} [1] Systemet kostar 4 800 000 kr och levereras av Visma [1]. Kort sagt: {extracts[1]} [1]"
    )
    answer = _ask(corpus_index, capsys)
    texts = " ".join(s["text"] for s in answer["summary"])
    assert "4 800 000" not in texts and "Visma" not in texts
    assert len(answer["summary"]) == 2


def test_mostly_invented_summary_is_not_shown(endpoint, corpus_index, capsys):
    endpoint.reply = lambda extracts: (
        "Beslutet fattades enhälligt efter votering [1]. Fullmäktige bekräftade det i mars 2024 [1]."
    )
    answer = _ask(corpus_index, capsys)
    assert answer["summary"] == [] and answer["answered"] is True and answer["answer"]


def test_sentence_citing_nothing_is_dropped(endpoint, corpus_index, capsys):
    endpoint.reply = lambda extracts: f"{extracts[1]}"
    assert _ask(corpus_index, capsys)["summary"] == []


def test_no_generator_unless_configured(monkeypatch):
    monkeypatch.delenv("PROTOKOLLSOK_LLM_URL", raising=False)
    assert Settings.load().generator() is None

"""The OpenAPI document as the service answers now, so that a client generated from it works.

Litestar writes the document from the handlers' types; what the types cannot say is filled in here, from the
settings and from the index version being served: a question's length limit (PROTOKOLLSOK_MAX_QUERY_CHARS),
that it holds a visible character and no control character, the shapes of a date, a Dnr and a §, and the
kommuner, organ and document types the filters take (what /api/facets lists; a version published with new
ones shows in the document as soon as the service serves it). Every value the document allows is one the
service accepts, and every request it refuses is one the document refuses (tests/test_contract.py).
"""

from __future__ import annotations

import copy
import threading
from typing import Any, Callable

import msgspec
from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin

from protokollsok.indexes.metadata import Scope

from .live import LiveIndex

# api._question refuses control characters (Unicode Cc) and a question of white space alone.
QUESTION_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
# What ingest.dnr reads in a search box, narrowed to its plainest forms: KS-2024/00457, 2024-457, 2024-00457.
DNR_PATTERN = r"^([A-Z]{1,5}-)?20[0-9]{2}[-/]0{0,2}[1-9][0-9]{2}$"
PARAGRAF_PATTERN = r"^(§ ?)?[0-9]{1,4}$"
_FACETS = {"kommun": "kommuner", "organ": "organ", "doc_type": "doc_types"}


class CurrentSchema(JsonRenderPlugin):
    """Serves `/schema` and `/schema/openapi.json`: Litestar's document, refined once per index version and
    scope, so that a scoped client's document lists only the kommuner, organ and types it may filter on."""

    def __init__(self, live: LiveIndex, max_query_chars: int, scope_of: Callable[[Request], Scope | None]):
        super().__init__(path=["/", "/openapi.json"])
        self.live = live
        self.max_query_chars = max_query_chars
        self.scope_of = scope_of
        self._lock = threading.Lock()
        self._rendered: tuple[str, dict[Scope | None, bytes]] = ("", {})

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        scope = self.scope_of(request)
        loaded = self.live.current().within(scope)
        with self._lock:
            if self._rendered[0] != loaded.version:
                self._rendered = (loaded.version, {})
            rendered = self._rendered[1]
            if scope not in rendered:
                rendered[scope] = msgspec.json.encode(refine(openapi_schema, loaded.facets, self.max_query_chars))
            return rendered[scope]


def refine(openapi_schema: dict[str, Any], facets: dict, max_query_chars: int) -> dict[str, Any]:
    """A copy of Litestar's document with the constraints the service checks at run time."""
    document = copy.deepcopy(openapi_schema)
    question = {"type": "string", "minLength": 1, "maxLength": max_query_chars, "pattern": QUESTION_PATTERN}
    search = document["paths"]["/api/search"]["get"]
    for parameter in search["parameters"]:
        if parameter["name"] == "q":
            parameter["required"] = True
            parameter["schema"] = dict(question)
        else:
            _filter(parameter["name"], parameter, "schema", facets)
    ask = document["components"]["schemas"]["AskRequest"]
    ask["properties"]["question"] = dict(question)
    ask["additionalProperties"] = False
    for name in ask["properties"]:
        if name != "question":
            _filter(name, ask["properties"], name, facets)
    for parameter in document["paths"]["/api/cases/{dnr}"]["get"]["parameters"]:
        if parameter["name"] == "dnr":
            parameter["schema"] = {"type": "string", "pattern": DNR_PATTERN}
    return document


def _filter(name: str, holder: dict, key: str, facets: dict) -> None:
    """A filter's schema in `holder[key]`: optional, empty or null meaning no filter, and otherwise one of
    the values the index holds or of the shape the service reads."""
    if name in _FACETS:
        value: dict[str, Any] = {"type": "string", "enum": list(facets[_FACETS[name]])}
    elif name in ("date_from", "date_to"):
        value = {"type": "string", "format": "date", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
    elif name == "dnr":
        value = {"type": "string", "pattern": DNR_PATTERN}
    elif name == "paragraf":
        value = {"type": "string", "pattern": PARAGRAF_PATTERN}
    else:
        return
    holder[key] = {"anyOf": [value, {"type": "string", "maxLength": 0}, {"type": "null"}]}

"""The Litestar application: the API under /api, the widget page at /, the document view, static files.

`create_app` wires what the handlers need through dependency injection (the live index, the query log, the
settings), what every request must pass (access.py's guard and request checks) and what every response needs
through middleware (security headers, rate limit) and exception handlers (bilingual JSON errors, never a
stack trace). `serve` loads the model and index once and runs it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from litestar import Litestar, MediaType, Request, Response, Router, get
from litestar.config.cors import CORSConfig
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.di import Provide
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi import OpenAPIConfig
from litestar.params import FromPath, FromQuery
from litestar.static_files import create_static_files_router

from protokollsok.indexes.search import one_thread_per_query
from protokollsok.settings import Settings

from . import documents
from .access import (
    KEY_HEADER,
    TOKEN_SECONDS,
    Access,
    check_request,
    errors,
    http_error,
    internal_error,
    security_headers,
)
from .contract import CurrentSchema
from .records import DISCLAIMER
from .api import RecordsController, SearchController, StatusController
from .live import LiveIndex, Loaded
from .querylog import QueryLog, default_path
from .schemas import WidgetToken
from .scopes import Scopes

if TYPE_CHECKING:
    import uvicorn

STATIC = Path(__file__).parent / "static"
MAX_BODY_BYTES = 16 * 1024
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
log = logging.getLogger(__name__)


def create_app(settings: Settings, live: LiveIndex, access: Access) -> Litestar:
    querylog = QueryLog.open(default_path(settings.index), settings.log_days)

    @get("/", media_type=MediaType.HTML, include_in_schema=False, sync_to_thread=False)
    def page() -> str:
        """The widget page; its token lets the widget call the API without ever holding a key. Only the
        widget networks get it (access.py)."""
        token = access.widget_token()
        return (STATIC / "index.html").read_text(encoding="utf-8").replace("__WIDGET_TOKEN__", token)

    @get("/documents/{doc_id:str}", media_type=MediaType.HTML, include_in_schema=False, sync_to_thread=True)
    def document_view(request: Request, doc_id: FromPath[str], highlight: FromQuery[str | None] = None) -> Response[str]:
        document = live.current().within(access.scope_of(request)).reader.document(doc_id)
        if document is None:
            return Response(documents.not_found(doc_id), status_code=404, media_type=MediaType.HTML)
        try:
            span = documents.parse_highlight(highlight, len(document.text))
        except ValueError:
            return Response(documents.bad_highlight(doc_id), status_code=400, media_type=MediaType.HTML)
        return Response(documents.render(document, span, DISCLAIMER), media_type=MediaType.HTML)

    @get(
        "/api/widget-token",
        tags=["access"],
        sync_to_thread=False,
        summary="A widget token with the scope of the key that asks: for the server that renders a page with the widget",
        responses=errors(400, 401, 403, 429),
    )
    def widget_token(request: Request) -> WidgetToken:
        """The page's server asks with its key and writes the token into the widget's `data-token`, so the key
        never sits in the page's source. A token cannot ask: it would renew itself for ever."""
        grant = access.grant(request.headers.get(KEY_HEADER), None)
        if grant is None or not grant.by_key:
            raise PermissionDeniedException(
                detail=f"Bara en API-nyckel kan begära en token / only an API key ({KEY_HEADER}) gets a widget "
                "token; without keys set (PROTOKOLLSOK_API_KEYS, PROTOKOLLSOK_SCOPES) the widget needs none"
            )
        return WidgetToken(access.token(grant.name), TOKEN_SECONDS)

    def current_index(request: Request) -> Loaded:
        """The index version as the request's key or token may see it (its scope, service/scopes.py)."""
        return live.current().within(access.scope_of(request))

    def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        access.guard(connection, handler)

    # Routers are deep-copied when registered: handlers, guards and dependencies are plain functions (copied
    # as themselves), so the one loaded index and the one access policy are what every request sees.
    api = Router(
        path="/api",
        route_handlers=[SearchController, RecordsController, StatusController],
        dependencies={
            "index": Provide(current_index, sync_to_thread=True),
            "querylog": Provide(lambda: querylog, sync_to_thread=False),
            "settings": Provide(lambda: settings, sync_to_thread=False),
        },
    )
    rate_limit = RateLimitConfig(
        rate_limit=("minute", settings.rate_per_minute),
        identifier_for_request=access.client,
        exclude=["^/static", "^/$", "^/documents"],
    )
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    return Litestar(
        route_handlers=[
            page,
            document_view,
            widget_token,
            api,
            create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False),
        ],
        middleware=[rate_limit.middleware],
        guards=[guard],
        before_request=check_request,
        before_send=[security_headers],
        exception_handlers={HTTPException: http_error, Exception: internal_error},
        cors_config=CORSConfig(
            allow_origins=origins,
            allow_headers=["X-API-Key", "X-Widget-Token", "Content-Type"],
            expose_headers=["Retry-After", "X-Trace-Id"],
        )
        if origins
        else None,
        openapi_config=OpenAPIConfig(
            title="Protokollsök",
            version="1",
            path="/schema",
            render_plugins=[CurrentSchema(live, settings.max_query_chars, access.scope_of)],
        ),
        request_max_body_size=MAX_BODY_BYTES,
        on_shutdown=[querylog.close],
        debug=False,
    )


def serve(settings: Settings, live: LiveIndex, host: str, port: int, allow_open: bool = False) -> None:
    """Refuses to listen beyond this machine without keys unless `allow_open` says the network is trusted."""
    import uvicorn

    scopes = Scopes(settings.scopes) if settings.scopes else None
    access = Access(settings.api_keys.split(","), settings.token_secret or None, settings.widget_networks, scopes)
    refuse_open(settings, host, allow_open)
    one_thread_per_query()  # requests run side by side; one query on both cores ran at half speed when busy
    app = create_app(settings, live, access)
    if not access.required:
        where = "loopback only" if host in LOOPBACK_HOSTS else f"{host}, OPEN TO ANYONE WHO CAN REACH IT (--allow-open)"
        print(
            f"protokollsok serve: no API keys set (PROTOKOLLSOK_API_KEYS): the API needs no key; listening on {where}"
        )
    print(
        f"Protokollsök: http://{'localhost' if host == '127.0.0.1' else host}:{port}/  (index {live.current().version})",
        flush=True,
    )
    uvicorn.Server(server_config(app, host, port)).run()


def refuse_open(settings: Settings, host: str, allow_open: bool) -> None:
    """Without keys, every record is open to whoever reaches the address: only loopback, unless told."""
    if not settings.api_keys.strip(",") and not settings.scopes and host not in LOOPBACK_HOSTS and not allow_open:
        raise ValueError(
            f"serve --host {host}: no API keys are set (PROTOKOLLSOK_API_KEYS), so every record would be open to "
            "anyone who can reach this address. Set keys, listen on 127.0.0.1, or give --allow-open if the "
            "network in front of it controls access"
        )


def server_config(app: Litestar, host: str, port: int) -> uvicorn.Config:
    """uvicorn's settings for the service (and the tests' servers): no `Server` banner naming the software."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level="warning", server_header=False)

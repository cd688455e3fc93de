"""Who may call the service, and what every request and response is held to: keys, widget tokens, the
widget's networks, rate limits, request checks, headers, errors.

The access model, with `PROTOKOLLSOK_API_KEYS` set (without keys everything is open, and `serve` then
listens on loopback unless told `--allow-open`):
- `/static/` (the widget's script and styles, no records) is open to all;
- `/` (the widget page, which carries a signed token valid 30 minutes) is served only to addresses in
  `PROTOKOLLSOK_WIDGET_NETWORKS` (default: this machine only), e.g. the intranet's reverse proxy that
  authenticates its users; anyone else gets a 403;
- everything else (`/api/`, the document view `/documents/`, the OpenAPI document `/schema`) needs a key in
  `X-API-Key` or a widget token in `X-Widget-Token`; a link to the document view carries the token as
  `?token=`, since a link cannot carry a header.

With a scope file (`PROTOKOLLSOK_SCOPES`, service/scopes.py) a key or token sees only its scope's records:
`grant` says which, a widget token carries its scope's name under its signature, and `GET /api/widget-token`
gives a page's server a token of its own key's scope (app.py).

Rate limits count a valid key in its own bucket and everything else (no key, a wrong key, a token) by the
client address, so a made-up key per request buys nothing. A 429 says when to retry (`Retry-After`).
Every response carries the security headers: a CSP without inline script, `nosniff`, no referrer, a
Permissions-Policy, and outside `/static/` `Cache-Control: no-store`. Errors are JSON `{status_code, detail,
field}`, the detail in Swedish and English; no stack trace and no personnummer from the request ever goes back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
import time
from dataclasses import dataclass

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException, ValidationException
from litestar.handlers import BaseRouteHandler
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import Message
from litestar.types import Scope as ASGIScope  # not a record scope (protokollsok's Scope)

from protokollsok.indexes.metadata import Scope

from . import personnummer
from .schemas import Error
from .scopes import WIDGET, Scopes, ScopeTable, hash_key

TOKEN_SECONDS = 30 * 60
KEY_HEADER = "X-API-Key"
TOKEN_HEADER = "X-Widget-Token"
TOKEN_PARAMETER = "token"
LOOPBACK = "127.0.0.0/8,::1"
# A widget token as `token()` writes it: a 10-digit expiry, the base64url name of its scope if it has one, and
# an unpadded base64url SHA-256 (43 characters). Checked by its shape first, so no crafted value (5,000 digits,
# `²`, non-ASCII) reaches int(), base64 or hmac.
_TOKEN = re.compile(r"([0-9]{1,12})(?:\.([A-Za-z0-9_-]{1,200}))?\.([A-Za-z0-9_-]{43})", re.ASCII)
_UNAUTHORIZED = (
    "Åtkomsten har gått ut eller saknas: ladda om sidan / missing or invalid API key "
    f"({KEY_HEADER}) or expired widget token ({TOKEN_HEADER})"
)
# An ask body is one flat object; nothing valid nests deeper than this, and the JSON decoders recurse.
MAX_JSON_DEPTH = 8
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'self'; base-uri 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "SAMEORIGIN",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
_ENGLISH = {
    400: "Bad request: the detail says what is wrong, the field names it",
    401: "Missing or invalid API key or widget token",
    403: "Forbidden",
    404: "Not found",
    413: "Request body too large",
    415: "The body must be application/json",
    429: "Too many requests; retry after Retry-After seconds",
    503: "Degraded",
}
_SWEDISH = {
    400: "Ogiltig begäran",
    401: "Nyckel saknas",
    403: "Åtkomst nekad",
    404: "Finns inte",
    405: "Metoden stöds inte",
    415: "Fel innehållstyp",
}
log = logging.getLogger(__name__)


class BadRequest(HTTPException):
    """A parameter the API refuses: `detail` says what is wrong in Swedish and English, `field` names it."""

    status_code = 400

    def __init__(self, field: str, swedish: str, english: str):
        super().__init__(detail=f"{swedish} / {english}", extra={"field": field})


@dataclass(frozen=True)
class Grant:
    """What a valid key or widget token may see: `scope` None is every record. `name` is the scope file's
    name for it (None for a key of PROTOKOLLSOK_API_KEYS), which a token issued for it carries."""

    scope: Scope | None
    name: str | None = None
    by_key: bool = False


class Access:
    """The access model of the module docstring, decided in one place: `guard` for every route, `scope_of`
    for what a request may see, `client` for the rate limit."""

    def __init__(
        self, keys: list[str], secret: str | None = None, widget_networks: str = "", scopes: Scopes | None = None
    ):
        self.keys = [k for k in keys if k]
        self.secret = (secret or secrets.token_hex(32)).encode()
        self.widget_networks = _networks(widget_networks or LOOPBACK)
        self.scopes = scopes

    @property
    def required(self) -> bool:
        return bool(self.keys) or self.scopes is not None

    def token(self, name: str | None = None, now: float | None = None) -> str:
        """A widget token: its expiry time, the name of the scope it sees (none: everything) and an HMAC of
        both, so the server needs to store nothing and nobody can change the scope a token carries."""
        if not self.required:
            return ""
        signed = str(int((now or time.time()) + TOKEN_SECONDS))
        if name is not None:
            signed += "." + base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")
        return f"{signed}.{self._sign(signed)}"

    def widget_token(self) -> str:
        """The widget page's token: everything without a scope file, else the file's [widget] scope; a scope
        file without one gives the page to nobody, so records for one kommun's staff never reach it by default."""
        if self.scopes is None:
            return self.token()
        if not self.scopes.current().has_widget:
            raise PermissionDeniedException(
                detail="Widgeten har ingen behörighet / the scope file "
                f"{self.scopes.path} has no [widget] section: add one, e.g. [widget] kommuner = [\"Norsjö\"]"
            )
        return self.token(WIDGET)

    def grant(self, key: str | None, token: str | None, now: float | None = None) -> Grant | None:
        """What this key or token may see, or None when it is no valid credential. A key in the scope file
        sees its scope, even if PROTOKOLLSOK_API_KEYS lists it too; a key only there sees everything."""
        if not self.required:
            return Grant(None)
        table = self.scopes.current() if self.scopes else ScopeTable()
        if key:
            digest = hash_key(key)
            if digest in table.by_hash:
                name = table.by_hash[digest]
                return Grant(table.by_name[name], name, True)
            if any(hmac.compare_digest(key.encode(), k.encode()) for k in self.keys):
                return Grant(None, None, True)
        m = _TOKEN.fullmatch(token or "")
        if not m or int(m[1]) <= (now or time.time()):
            return None
        signed = m[1] if m[2] is None else f"{m[1]}.{m[2]}"
        if not hmac.compare_digest(m[3], self._sign(signed)):
            return None
        if m[2] is None:
            return Grant(None)
        name = base64.urlsafe_b64decode(m[2] + "=" * (-len(m[2]) % 4)).decode()
        return Grant(table.by_name[name], name) if name in table.by_name else None  # a scope since removed: none

    def allowed(self, key: str | None, token: str | None, now: float | None = None) -> bool:
        return self.grant(key, token, now) is not None

    def valid_key(self, key: str | None) -> bool:
        grant = self.grant(key, None) if key else None
        return grant is not None and grant.by_key

    def scope_of(self, connection: ASGIConnection) -> Scope | None:
        """The scope of the request's key or token (None: every record); the guard has let it in."""
        grant = self.grant(connection.headers.get(KEY_HEADER), _token_of(connection))
        if grant is None:
            raise NotAuthorizedException(detail=_UNAUTHORIZED)
        return grant.scope

    def widget_allowed(self, address: str | None) -> bool:
        if not self.required:
            return True
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in network for network in self.widget_networks)

    def guard(self, connection: ASGIConnection, _: BaseRouteHandler) -> None:
        path = connection.url.path
        if path.startswith("/static/"):
            return
        if path == "/":
            if not self.widget_allowed(connection.client.host if connection.client else None):
                raise PermissionDeniedException(
                    detail="Sidan visas bara inifrån kommunens nät / the widget page is served only to the networks "
                    "in PROTOKOLLSOK_WIDGET_NETWORKS"
                )
            return
        if not self.allowed(connection.headers.get(KEY_HEADER), _token_of(connection)):
            raise NotAuthorizedException(detail=_UNAUTHORIZED)

    def client(self, request: Request) -> str:
        """Whom a rate limit counts: a valid API key, else the address (a wrong key must not open a bucket)."""
        key = request.headers.get(KEY_HEADER)
        if self.required and self.valid_key(key):
            return "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]
        return "address:" + (request.client.host if request.client else "unknown")

    def _sign(self, value: str) -> str:
        digest = hmac.new(self.secret, value.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def check_request(request: Request) -> None:
    """A `before_request` hook, run before any parameter or body is decoded: query parameters the route does
    not take are refused by name (a misspelt filter must not return unfiltered hits), and a body must be JSON
    of no deeper nesting than MAX_JSON_DEPTH (a body nested 1,000 deep made the decoder recurse out)."""
    handler = request.route_handler
    taken = set(handler.parsed_fn_signature.parameters) - set(handler.resolve_dependencies()) - {"self", "data"}
    unknown = sorted(set(request.query_params) - taken - {TOKEN_PARAMETER})
    if unknown and not request.url.path.startswith(("/static/", "/schema")):
        raise BadRequest(
            unknown[0],
            f"Okänd parameter: {', '.join(unknown)}",
            f"unknown parameter(s): {', '.join(unknown)}; see /schema/openapi.json",
        )
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise HTTPException(
            status_code=415,
            detail="Skicka frågan som JSON / send the body as application/json",
            extra={"field": "content-type"},
        )
    if json_depth(await request.body()) > MAX_JSON_DEPTH:
        raise BadRequest(
            "body", "JSON-kroppen är för djupt nästlad", f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels"
        )


def _token_of(connection: ASGIConnection) -> str | None:
    return connection.headers.get(TOKEN_HEADER) or connection.query_params.get(TOKEN_PARAMETER)


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in `body`, strings skipped; malformed JSON is left to the
    decoder, which refuses it."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub(b"", body)):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def errors(*codes: int) -> dict[int, ResponseSpec]:
    """The error responses a route documents in the OpenAPI document, all of them `Error` bodies."""
    return {
        code: ResponseSpec(Error, description=_ENGLISH[code]) for code in codes
    }


def _networks(value: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        return [ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()]
    except ValueError as error:
        raise ValueError(
            f"PROTOKOLLSOK_WIDGET_NETWORKS={value!r}: {error}; give addresses or ranges separated by commas, "
            "e.g. 10.12.0.0/16,192.168.5.10"
        ) from error


async def security_headers(message: Message, scope: ASGIScope) -> None:
    """A `before_send` hook, so the headers go on every response: errors, 404s and static files included.
    Records, answers and the page with its token are never stored by a browser or proxy cache."""
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders(message)
        for name, value in SECURITY_HEADERS.items():
            headers[name] = value
        if not scope["path"].startswith("/static/"):
            headers["cache-control"] = "no-store"


def http_error(request: Request, error: HTTPException) -> Response[Error]:
    field = (error.extra or {}).get("field") if isinstance(error.extra, dict) else None
    detail = personnummer.mask(error.detail)
    if isinstance(error, ValidationException):
        field, detail = _validation_detail(error)
    headers = dict(error.headers or {})
    if error.status_code == 429:
        headers["Retry-After"] = headers.get("RateLimit-Reset", "60")
        detail = "För många frågor på kort tid; försök igen om en stund / too many requests; retry later"
    if error.status_code == 413:
        detail = "Begäran är för stor / request body too large"
        field = "body"
    if " / " not in detail:
        detail = f"{_SWEDISH.get(error.status_code, 'Begäran kunde inte utföras')} / {detail}"
    return Response(Error(error.status_code, detail, field), status_code=error.status_code, headers=headers)


def internal_error(request: Request, error: Exception) -> Response[Error]:
    log.error("request failed path=%s error=%s", request.url.path, type(error).__name__)
    return Response(
        Error(500, "Ett internt fel inträffade; försök igen / internal error; try again"),
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
    )


def _validation_detail(error: ValidationException) -> tuple[str | None, str]:
    """Litestar's own validation (a parameter of the wrong type, a malformed body) in the API's wording."""
    extra = error.extra if isinstance(error.extra, list) else []
    field = next((str(e.get("key")) for e in extra if isinstance(e, dict) and e.get("key")), None)
    if field:
        return field, f"Ogiltigt värde för '{field}' / invalid value for '{field}'"
    return (
        None,
        "Ogiltig begäran: kontrollera parametrarna och JSON-kroppen / invalid request: check the parameters and JSON body",
    )

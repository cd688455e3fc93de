"""Who may call the API, and what every response carries: keys, widget tokens, rate limits, headers, errors.

- With `PROTOKOLLSOK_API_KEYS` set, every `/api/` request needs a key in `X-API-Key`, or the short-lived
  signed token the widget page is given in `X-Widget-Token` (a key never reaches a browser).
- Clients are rate limited per key, else per address; a 429 says when to retry (`Retry-After`).
- Every response carries the security headers: a CSP without inline script, `nosniff`, no referrer.
- Errors are JSON `{status_code, detail, field}`, the detail in Swedish and English; no stack trace and no
  personnummer from the request ever goes back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.handlers import BaseRouteHandler
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import Message, Scope

from . import personnummer
from .schemas import Error

TOKEN_SECONDS = 30 * 60
KEY_HEADER = "X-API-Key"
TOKEN_HEADER = "X-Widget-Token"
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'self'; base-uri 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "SAMEORIGIN",
}
_SWEDISH = {
    400: "Ogiltig begäran",
    401: "Nyckel saknas",
    403: "Åtkomst nekad",
    404: "Finns inte",
    405: "Metoden stöds inte",
}
log = logging.getLogger(__name__)


class BadRequest(HTTPException):
    """A parameter the API refuses: `detail` says what is wrong in Swedish and English, `field` names it."""

    status_code = 400

    def __init__(self, field: str, swedish: str, english: str):
        super().__init__(detail=f"{swedish} / {english}", extra={"field": field})


class Access:
    def __init__(self, keys: list[str], secret: str | None = None):
        self.keys = [k for k in keys if k]
        self.secret = (secret or secrets.token_hex(32)).encode()

    @property
    def required(self) -> bool:
        return bool(self.keys)

    def token(self, now: float | None = None) -> str:
        """A widget token: its expiry time and an HMAC of it, so the server needs to store nothing."""
        if not self.required:
            return ""
        expires = str(int((now or time.time()) + TOKEN_SECONDS))
        return f"{expires}.{self._sign(expires)}"

    def allowed(self, key: str | None, token: str | None, now: float | None = None) -> bool:
        if not self.required:
            return True
        if key and any(hmac.compare_digest(key.encode(), k.encode()) for k in self.keys):
            return True
        if token and token.count(".") == 1:
            expires, signature = token.split(".")
            return (
                expires.isdigit()
                and int(expires) > (now or time.time())
                and hmac.compare_digest(signature, self._sign(expires))
            )
        return False

    def guard(self, connection: ASGIConnection, _: BaseRouteHandler) -> None:
        if not self.allowed(connection.headers.get(KEY_HEADER), connection.headers.get(TOKEN_HEADER)):
            raise NotAuthorizedException(
                detail="Åtkomsten har gått ut eller saknas: ladda om sidan / missing or invalid API key "
                f"({KEY_HEADER}) or expired widget token ({TOKEN_HEADER})"
            )

    def client(self, request: Request) -> str:
        """Whom a rate limit counts: the API key, else the address."""
        key = request.headers.get(KEY_HEADER)
        if key:
            return "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]
        return "address:" + (request.client.host if request.client else "unknown")

    def _sign(self, value: str) -> str:
        digest = hmac.new(self.secret, value.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def security_headers(message: Message, scope: Scope) -> None:
    """A `before_send` hook, so the headers go on every response: errors, 404s and static files included."""
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders(message)
        for name, value in SECURITY_HEADERS.items():
            headers[name] = value


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

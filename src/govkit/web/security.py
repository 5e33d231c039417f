"""Who may ask what of `govkit serve`: methods, Host names, the bearer token and the response headers.

A pure ASGI middleware, so every response (pages, static files, downloads, errors, even a 404 from
the router) leaves through the same gate and carries the same headers.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from govkit.errors import GovkitError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_ENV = "GOVKIT_SERVE_TOKEN"  # noqa: S105 - the name of the variable, not a secret
MIN_TOKEN_LENGTH = 16
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]", "::1")
# Every asset is served by govkit itself; inline SVG charts need no image source and no inline style.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cache-control", b"no-store"),
]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def access_token(host: str, environ: MutableMapping[str, str]) -> str | None:
    """The token requests must carry: required off loopback, optional (but then enforced) on it."""
    token = environ.get(TOKEN_ENV) or None
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise GovkitError(f"{TOKEN_ENV} is shorter than {MIN_TOKEN_LENGTH} characters; use a long random token")
    if token is None and not is_loopback(host):
        raise GovkitError(
            f"{host} is reachable from other machines: set {TOKEN_ENV} to a long random token "
            "(requests must send `Authorization: Bearer <token>`), or serve behind an SSO proxy (docs/web.md)",
            field="--host",
        )
    return token


class Guard:
    """Refuses what a read-only viewer never needs and stamps the security headers on every response.

    - only GET and HEAD (405 otherwise);
    - on a loopback bind, only loopback Host names, so a web page cannot reach the viewer through
      DNS rebinding;
    - with a token, `Authorization: Bearer <token>` compared in constant time (401 otherwise).
    """

    def __init__(self, app: ASGIApp, *, token: str | None, loopback: bool) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.loopback = loopback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            return  # no websockets: closing without accepting refuses them
        headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers", [])}
        if scope["method"] not in ("GET", "HEAD"):
            await _plain(send, 405, "read-only: only GET and HEAD", [(b"allow", b"GET, HEAD")])
            return
        if self.loopback and not _loopback_host(headers.get("host", b"")):
            await _plain(send, 400, "unexpected Host header (this viewer answers only to a loopback name)")
            return
        if self.token is not None and not self._authorised(headers.get("authorization", b"")):
            await _plain(send, 401, "authentication required", [(b"www-authenticate", b'Bearer realm="govkit"')])
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {b"content-security-policy", b"cache-control"}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = kept + HEADERS
            await send(message)

        await self.app(scope, receive, stamped)

    def _authorised(self, value: bytes) -> bool:
        scheme, _, given = value.partition(b" ")
        expected = self.token or b""
        # compare_digest's time depends only on the length of `given`, never on how much of it matches
        return scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), expected)


def _loopback_host(value: bytes) -> bool:
    host = value.decode("latin-1").strip().lower()
    if host.startswith("["):
        host = host[: host.find("]") + 1]
    else:
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return host in LOOPBACK_NAMES


async def _plain(send: Send, status: int, text: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = f"{status} {text}\n".encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or []) + HEADERS})
    await send({"type": "http.response.body", "body": body})

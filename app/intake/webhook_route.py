"""The route of `POST {WEBHOOK_PATH}`: the request's path as it was sent compared with
WEBHOOK_PATH as it is written (docs/BEHAVIOUR.md, "The webhook").

Starlette's routes match the decoded path and read `{name}` as a parameter: there
`WEBHOOK_PATH=/hooks%20x` would take `POST /hooks%2520x` alone, and `/hooks/{id}` any
`/hooks/...`. The path of the App's webhook URL, copied into WEBHOOK_PATH, is what GitHub
sends, so that is what is compared; braces and escapes are characters, never a pattern.
"""

from __future__ import annotations

import re
import string
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote_from_bytes

from starlette.datastructures import URLPath
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Match, NoMatchFound, request_response
from starlette.types import Receive, Scope, Send

_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
# What a path holds as it is besides the unreserved characters (RFC 3986, `pchar` and "/").
_AS_IT_IS = "!$&'()*+,;=:@/"
_ESCAPE_OR_BYTE = re.compile(rb"%[0-9A-Fa-f]{2}|.", re.DOTALL)
# A path without escapes or characters to escape, as most are: already in normal form.
_NORMAL = re.compile(rb"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")


def comparable_path(path: bytes) -> str:
    """`path` as RFC 3986 normalizes it (section 6.2.2): escapes in upper case, the escape
    of an unreserved character (`%7E`) that character, and a character no path holds as it
    is (a space, `é`, `{`) its UTF-8 escape. Any other escape stays one: `/gh%2Fhooks` is
    not `/gh/hooks`."""
    if _NORMAL.fullmatch(path):
        return path.decode()
    return "".join(_normal(piece.group()) for piece in _ESCAPE_OR_BYTE.finditer(path))


def _normal(piece: bytes) -> str:
    if len(piece) == 1:
        return quote_from_bytes(piece, safe=_AS_IT_IS)
    character = chr(int(piece[1:], 16))
    return character if character in _UNRESERVED else piece.decode().upper()


def _sent_path(scope: Scope) -> str:
    # `raw_path` is optional in ASGI; every server hotfix-bot runs on sends it.
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    return comparable_path(raw_path)


def _other_trailing_slash(path: str) -> str:
    """Where Starlette redirects a request for `path` that no route takes: to the path
    without its trailing slashes, or with one."""
    return path.rstrip("/") if path.endswith("/") else path + "/"


class WebhookRoute(BaseRoute):
    """`POST` at `path` alone. Another method there is `405`; the path with its trailing
    slash added or removed is redirected to it (`307`, as Starlette does for the other
    routes), when no other route takes it."""

    def __init__(self, path: str, endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        self.path = comparable_path(path.encode())
        self._app = request_response(endpoint)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        sent = _sent_path(scope)
        if sent == self.path:
            return (Match.FULL if scope["method"] == "POST" else Match.PARTIAL), {}
        if sent != "/" and _other_trailing_slash(sent) == self.path:
            return Match.PARTIAL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)  # it has no name to be found by

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _sent_path(scope) != self.path:
            query = scope["query_string"].decode("latin-1")
            location = f"{self.path}?{query}" if query else self.path
            await RedirectResponse(location, 307)(scope, receive, send)
        elif scope["method"] != "POST":
            raise HTTPException(405, headers={"Allow": "POST"})
        else:
            await self._app(scope, receive, send)

"""Who may see the status page's details: whoever shows ADMIN_TOKEN.

The token is sent as `Authorization: Bearer <token>` (scripts), or entered once on the page
(browsers). A browser then keeps a cookie that proves it without holding the token: an expiry
time and an HMAC of it keyed with the token. Changing ADMIN_TOKEN signs every browser out.
Without ADMIN_TOKEN nobody sees the details.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import time
from collections.abc import Callable
from urllib.parse import parse_qs

from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import Response

from app.pages.html import cookie_attributes

COOKIE = "hotfix-bot-admin"
SESSION_SECONDS = 12 * 3600
# The sign-in form holds one short field; nothing bigger is read into memory.
MAX_FORM_BYTES = 4096


class Access(enum.Enum):
    PUBLIC = enum.auto()  # counts and health only
    DETAILS = enum.auto()  # repositories, pull requests and errors too
    WRONG_TOKEN = enum.auto()  # a bearer token was sent, and it is not ADMIN_TOKEN


def token_matches(offered: str, token: SecretStr) -> bool:
    """Compared in constant time, so the answer's timing tells nothing about the token."""
    return hmac.compare_digest(offered.encode(), token.get_secret_value().encode())


class AdminSessions:
    """Reads a request's proof of ADMIN_TOKEN, and signs a browser in."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def access(self, request: Request, token: SecretStr | None) -> Access:
        if token is None:
            return Access.PUBLIC
        scheme, _, offered = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            return Access.DETAILS if token_matches(offered.strip(), token) else Access.WRONG_TOKEN
        cookie = request.cookies.get(COOKIE, "")
        return Access.DETAILS if self._session_valid(cookie, token) else Access.PUBLIC

    def sign_in(self, request: Request, response: Response, token: SecretStr) -> None:
        """Remember in this browser that it showed the token, for SESSION_SECONDS."""
        expires = str(int(self._clock()) + SESSION_SECONDS)
        response.set_cookie(
            COOKIE,
            f"{expires}.{_mac(token, expires)}",
            max_age=SESSION_SECONDS,
            **cookie_attributes(request, "/", "Strict"),
        )

    def _session_valid(self, cookie: str, token: SecretStr) -> bool:
        expires, _, mac = cookie.partition(".")
        # The expiry is read only once the MAC shows it is one that sign_in wrote.
        signed = hmac.compare_digest(mac.encode(), _mac(token, expires).encode())
        return signed and int(expires) > self._clock()


def _mac(token: SecretStr, expires: str) -> str:
    message = f"hotfix-bot status page until {expires}".encode()
    return hmac.new(token.get_secret_value().encode(), message, hashlib.sha256).hexdigest()


async def offered_token(request: Request) -> str | None:
    """The `token` field of the sign-in form; None when the body is larger than the form."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    fields = parse_qs(body.decode("utf-8", errors="replace"))
    return fields.get("token", [""])[0]

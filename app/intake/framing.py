"""No other site may frame an answer of hotfix-bot and trick a click on it (docs/ADMIN.md):
every answer carries `NOT_FRAMABLE`, those of the app and those the intake's protocol
writes itself (app.intake.connection_limits)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NOT_FRAMABLE = [
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
]


class NotFramable(Starlette):
    """Starlette whose every answer carries `NOT_FRAMABLE`: those of the endpoints, and
    those of Starlette itself (404, 405 and, from outside its error middleware, 500)."""

    def build_middleware_stack(self) -> ASGIApp:
        return _AddHeaders(super().build_middleware_stack())


class _AddHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_not_framable(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *NOT_FRAMABLE]
            await send(message)

        await self._app(scope, receive, send_not_framable)

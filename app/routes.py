"""Which handler runs for which (event, action): one line per handler."""

from __future__ import annotations

from app.router import Router


def build_router() -> Router:
    router = Router()
    return router

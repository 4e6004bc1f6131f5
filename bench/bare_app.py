"""The baseline of bench/ingest: a bare Starlette endpoint that reads the body and answers 202.

Served by `app.cli.run_server`, the very call `hotfix-bot serve` makes, so both run on the
same server stack. Usage: `PORT=8000 python bench/bare_app.py`.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.cli import run_server

WEBHOOK_PATH = "/api/github/webhooks"


async def receive(request: Request) -> Response:
    await request.body()
    return Response(status_code=202)


app = Starlette(routes=[Route(WEBHOOK_PATH, receive, methods=["POST"])])

if __name__ == "__main__":
    run_server(app, "127.0.0.1", int(os.environ["PORT"]))

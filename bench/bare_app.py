"""The baselines of bench/ingest: bare Starlette endpoints that answer 202 without a journal.

- `bare` reads the body and answers 202: the server stack alone.
- `checked` also makes the checks every 202 needs first (docs/BEHAVIOUR.md, 'The webhook':
  the signature over the body, the delivery headers, a body that is a JSON object) with
  hotfix-bot's own code, and answers hotfix-bot's 202 body: the most an intake that
  journals nothing could serve.

Served by `app.cli.run_server`, the very call `hotfix-bot serve` makes, so all run on the
same server stack. Usage: `PORT=8000 python bench/bare_app.py bare|checked`; `checked`
reads `WEBHOOK_SECRET`.
"""

from __future__ import annotations

import os
import sys

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.cli import listen, run_server
from app.intake import delivery as deliveries

WEBHOOK_PATH = "/api/github/webhooks"


async def receive(request: Request) -> Response:
    await request.body()
    return Response(status_code=202)


async def receive_checked(request: Request) -> Response:
    body = await request.body()
    signature = request.headers.get("x-hub-signature-256", "")
    if not deliveries.signature_matches(os.environ["WEBHOOK_SECRET"], body, signature):
        return JSONResponse({"error": "wrong signature"}, 401)
    event = request.headers.get("x-github-event")
    delivery_id = request.headers.get("x-github-delivery")
    if not event or not delivery_id:
        return JSONResponse({"error": "missing headers"}, 400)
    try:
        deliveries.from_body(delivery_id, event, body)
    except deliveries.NotAJsonObject as error:
        return JSONResponse({"error": str(error)}, 400)
    return JSONResponse({"delivery": delivery_id, "status": "queued"}, 202)


ENDPOINTS = {"bare": receive, "checked": receive_checked}

if __name__ == "__main__":
    endpoint = ENDPOINTS[sys.argv[1]]
    app = Starlette(routes=[Route(WEBHOOK_PATH, endpoint, methods=["POST"])])
    run_server(app, listen("127.0.0.1", int(os.environ["PORT"])))

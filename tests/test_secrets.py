"""Secrets and tokens never appear in logs, pages or messages (docs/ADMIN.md): each test
provokes an error whose natural wording would carry one, then looks for it everywhere the
error is shown."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import httpx
import pytest
from support.harness import opening, running_bot
from support.live_server import wait_for

ADMIN_TOKEN = "admin-token-for-tests-0123456789"


class EchoingProxy(httpx.AsyncBaseTransport):
    """A proxy before GitHub that refuses matching requests with an error quoting their
    `Authorization` header, and remembers every credential it saw."""

    def __init__(self, method: str, path_regex: str, status: int) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._method, self._path, self._status = method, re.compile(path_regex), status
        self.credentials: set[str] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        authorization = request.headers.get("authorization", "")
        self.credentials.add(authorization.rpartition(" ")[2])
        if request.method == self._method and self._path.search(request.url.path):
            message = f"Bad credentials: {authorization}"
            return httpx.Response(self._status, json={"message": message})
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.mark.parametrize(
    ("method", "path_regex", "status", "credential_kind", "failing_request"),
    [
        ("GET", r"/pulls/1$", 422, "token", "GET /repos/acme/widgets/pulls/1"),
        ("POST", r"/access_tokens$", 403, "Bearer", "POST /app/installations/1001/access_tokens"),
    ],
)
def test_a_credential_quoted_in_an_error_answer_is_hidden_wherever_the_error_is_shown(
    tmp_path: Path,
    private_key_pem: str,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path_regex: str,
    status: int,
    credential_kind: str,
    failing_request: str,
) -> None:
    caplog.set_level(logging.INFO)
    proxy = EchoingProxy(method, path_regex, status)
    with running_bot(tmp_path, private_key_pem, network=proxy, ADMIN_TOKEN=ADMIN_TOKEN) as bot:
        pull = bot.open_hotfix()
        bot.send("pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "opened"))
        wait_for(lambda: opening(bot).last_error is not None, timeout=20)
        last_error = opening(bot).last_error
        page = bot.client.get("/", headers={"authorization": f"Bearer {ADMIN_TOKEN}"}).text
        sent_to_github = json.dumps([request.json for request in bot.fake.requests])

    assert last_error == (
        f"GitHub answered {status} to {failing_request}: Bad credentials: {credential_kind} ***"
    )
    credentials = proxy.credentials - {""}
    assert credentials, "the app sent no credential"
    for shown in (last_error, page, caplog.text, sent_to_github):
        assert not [credential for credential in credentials if credential in shown]

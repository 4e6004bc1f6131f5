"""The status page (`GET /` once configured): the App, its installations, recent deliveries."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from importlib.metadata import version
from typing import TYPE_CHECKING

from githubkit.exception import RequestError
from starlette.requests import Request
from starlette.responses import Response

from app.delivery import event_label, location
from app.github import GitHubApp, describe
from app.journal import STATUSES
from app.pages import html_page

if TYPE_CHECKING:
    from app.server import Services

# The App's name and installations change rarely; the page should not cost GitHub calls
# each time it is reloaded.
SUMMARY_SECONDS = 60.0
RECENT_DELIVERIES = 8


@dataclass(frozen=True)
class AppSummary:
    name: str
    html_url: str
    installations: int


class StatusPage:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._cached: tuple[GitHubApp, float, AppSummary] | None = None

    async def page(self, _: Request) -> Response:
        github = self._services.github
        assert github is not None, "the status page is for a configured server"
        try:
            app_section = _app_section(await self._summary(github))
        except RequestError as error:
            reason = escape(describe(error))
            app_section = f'<div class="problem"><p>GitHub did not answer: {reason}</p></div>'
        worker_problem = self._services.worker.problem()
        worker_section = (
            f'<div class="problem"><p>{escape(worker_problem)}</p></div>' if worker_problem else ""
        )
        body = f"<h1>hotfix-bot</h1>{app_section}{worker_section}{self._deliveries_section()}"
        return html_page("Status", body)

    async def _summary(self, github: GitHubApp) -> AppSummary:
        if self._cached is not None:
            cached_for, fetched_at, summary = self._cached
            if cached_for is github and time.monotonic() - fetched_at < SUMMARY_SECONDS:
                return summary
        app = (await github.app_request("GET", "/app")).json()
        summary = AppSummary(app["name"], app["html_url"], await _count_installations(github))
        self._cached = (github, time.monotonic(), summary)
        return summary

    def _deliveries_section(self) -> str:
        journal = self._services.journal
        counts = " · ".join(f"{journal.count((status,))} {status}" for status in STATUSES)
        rows = "".join(
            "<tr>"
            f"<td>{datetime.fromtimestamp(entry.received_at, UTC):%Y-%m-%d %H:%M:%S}</td>"
            f"<td>{escape(entry.status)}</td>"
            f"<td><code>{escape(event_label(entry.event, entry.action))}</code></td>"
            f"<td>{escape(location(entry.repository, entry.pr_number))}</td>"
            f"<td>{escape(entry.last_error or '')}</td>"
            "</tr>"
            for entry in journal.recent(None, RECENT_DELIVERIES)
        )
        recent = (
            "<table><tr><th>Received (UTC)</th><th>Status</th><th>Event</th><th>Where</th>"
            f"<th>Last error</th></tr>{rows}</table>"
            if rows
            else "<p>No deliveries yet.</p>"
        )
        return (
            f"<h2>Deliveries</h2><p>{counts}</p>{recent}"
            '<p class="hint"><code>hotfix-bot deliveries --status failed</code> lists failures; '
            "<code>hotfix-bot redeliver ID</code> runs one again.</p>"
            f'<p class="hint">hotfix-bot {escape(version("hotfix-bot"))} · '
            '<a href="/readyz">readiness</a> · <a href="/metrics">metrics</a></p>'
        )


def _app_section(summary: AppSummary) -> str:
    plural = "" if summary.installations == 1 else "s"
    return (
        f'<p>Running as the GitHub App <a href="{escape(summary.html_url)}">'
        f"<strong>{escape(summary.name)}</strong></a>, installed on "
        f"{summary.installations} account{plural}.</p>"
        f'<p><a href="{escape(summary.html_url)}/installations/new">Install it on another '
        "account or repository</a></p>"
    )


async def _count_installations(github: GitHubApp) -> int:
    count = 0
    next_url: str | None = "/app/installations"
    params: dict[str, int] | None = {"per_page": 100}
    while next_url is not None:
        response = await github.app_request("GET", next_url, params=params)
        count += len(response.json())
        next_url = response.links.get("next", {}).get("url")
        params = None  # the next link carries them
    return count

"""The status page (`GET /` once configured): the App, its installations, recent deliveries.

Anyone sees counts and health; repository names, pull requests and errors need ADMIN_TOKEN
(see `app.pages.admin`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

from githubkit.exception import RequestError, RequestFailed, RequestTimeout
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.github.client import AppCredentialsRefused, GitHubApp, describe
from app.handlers import suspensions
from app.intake.delivery import event_label, location
from app.intake.webhook import signature_refusal_advice
from app.journal import STATUSES, JournalEntry, JournalUnavailable, read_aside
from app.metrics import SignatureRefusals, signature_refusals
from app.pages.admin import Access, AdminSessions, offered_token, token_matches
from app.pages.html import html_page, problem_page
from app.pages.setup import enterprise_api_hint
from policies.wording import join_words, plural

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger("hotfix_bot.status")

# The App's name and installations change rarely; the page should not cost GitHub calls
# each time it is reloaded.
SUMMARY_SECONDS = 60.0
# While GitHub hangs, the page answers after this long rather than after the client's own
# timeouts (15 s for each part of an answer), and says so for FAILURE_SECONDS more without
# asking again: an admin reloading it during an outage waits once.
SUMMARY_WAIT_SECONDS = 5.0
FAILURE_SECONDS = 15.0
RECENT_DELIVERIES = 8
JOURNAL_UNREAD = "The journal could not be read, so its deliveries are not shown: the log says why."


@dataclass(frozen=True)
class Suspended:
    """An installation GitHub says is suspended."""

    id: int
    account: str


@dataclass(frozen=True)
class AppSummary:
    name: str
    html_url: str
    installations: int
    suspended: tuple[Suspended, ...]


class _NoAnswer(Exception):
    """GitHub did not answer the page's request within SUMMARY_WAIT_SECONDS."""


class StatusPage:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._sessions = AdminSessions()
        # The summary, or why GitHub would not give it, for the App it was asked of, and when.
        self._cached: tuple[GitHubApp, float, AppSummary | Exception] | None = None

    async def page(self, request: Request) -> Response:
        """`GET /`: the details for whoever shows ADMIN_TOKEN, counts and health for anyone."""
        access = self._sessions.access(request, self._services.settings.admin_token)
        if access is Access.WRONG_TOKEN:
            return problem_page(
                "Not the ADMIN_TOKEN",
                "The bearer token sent is not this server's ADMIN_TOKEN.",
                401,
                headers={"www-authenticate": "Bearer"},
            )
        return await self._render(details=access is Access.DETAILS)

    async def sign_in(self, request: Request) -> Response:
        """`POST /`: ADMIN_TOKEN entered on the page; the browser keeps a cookie for it."""
        token = self._services.settings.admin_token
        offered = await offered_token(request)
        if token is None:
            refusal = "ADMIN_TOKEN is not set on this server, so nobody sees the details."
        elif offered is None or not token_matches(offered, token):
            refusal = "That is not the ADMIN_TOKEN."
        else:
            response = RedirectResponse("/", 303)
            self._sessions.sign_in(request, response, token)
            return response
        return await self._render(details=False, refusal=refusal, status_code=403)

    async def _render(
        self, *, details: bool, refusal: str | None = None, status_code: int = 200
    ) -> Response:
        journal_sections = await self._journal_sections(details, refusal)
        github = self._services.github
        assert github is not None, "the status page is for a configured server"
        try:
            summary = await self._summary(github)
            learnt = await self._suspensions_learnt(summary.suspended)
            app_section = _app_section(summary, learnt, details)
        except (RequestError, _NoAnswer) as error:
            said = escape(self._github_problem(error, details))
            app_section = f'<div class="problem"><p>{said}</p></div>'
        # Said to anyone in /readyz's words; to an admin also why, and what to do. Its large
        # write after a refused delivery is left to /readyz: loading this page costs a write
        # of a few bytes.
        journal_problem = await self._services.journal_problem(probe_room=False, details=details)
        problems = [
            self._services.worker.problem(),
            journal_problem,
            _signature_refusals_problem(
                signature_refusals(), signature_refusal_advice(self._services) if details else None
            ),
        ]
        problem_section = "".join(
            f'<div class="problem"><p>{escape(problem)}</p></div>'
            for problem in problems
            if problem
        )
        body = f"<h1>hotfix-bot</h1>{app_section}{problem_section}{journal_sections}{_footer()}"
        return html_page("Status", body, status_code)

    async def _suspensions_learnt(
        self, suspended: tuple[Suspended, ...]
    ) -> dict[int, datetime | None]:
        """When hotfix-bot learnt that each suspended installation was (None: it did not, or
        the journal cannot say): a hotfix merged after that is released at the
        unsuspension."""
        learnt: dict[int, datetime | None] = {}
        for installation in suspended:
            try:
                since = await suspensions.ongoing_since(self._services.journal, installation.id)
            except JournalUnavailable:
                since = None
            learnt[installation.id] = None if since is None else datetime.fromtimestamp(since, UTC)
        return learnt

    def _github_problem(self, error: BaseException, details: bool) -> str:
        """Why the App's summary is missing: GitHub's answer said as an answer, the want of
        one as that. GitHub's own words may name repositories or installations: details
        only."""
        if not isinstance(error, RequestFailed):
            if not details:
                return "GitHub did not answer."
            if isinstance(error, _NoAnswer):
                return str(error)
            # A timeout's account says so itself (`GitHub did not answer GET /app in time`).
            said = describe(error)
            return said if isinstance(error, RequestTimeout) else f"GitHub did not answer: {said}"
        if not isinstance(error, AppCredentialsRefused):
            if not details:
                return f"GitHub answered {error.response.status_code}."
            # A web page in the API's place (a 404, a 406, the sign-in page): no API answered.
            hint = enterprise_api_hint(
                self._services.settings.github_api_url, error.response.headers
            )
            if hint is not None:
                return f"{describe(error).removesuffix('.')}. {hint}."
            return describe(error)
        # The App's own JWT refused: the key is not the App's (another App's, one deleted on
        # GitHub), or APP_ID names another App. Every delivery fails the same way.
        refused = (
            "GitHub refused hotfix-bot's App credentials (401): check that APP_ID and "
            f"{error.private_key_variable} belong to the same App, and that the key was not "
            "deleted from its settings on GitHub."
        )
        return f"{refused} {error.answer.removesuffix('.')}." if details else refused

    async def _summary(self, github: GitHubApp) -> AppSummary:
        if self._cached is not None:
            cached_for, fetched_at, kept = self._cached
            fresh_for = FAILURE_SECONDS if isinstance(kept, Exception) else SUMMARY_SECONDS
            if cached_for is github and time.monotonic() - fetched_at < fresh_for:
                if isinstance(kept, Exception):
                    raise kept
                return kept
        asking: list[str] = []  # the request under way, last
        try:
            async with asyncio.timeout(SUMMARY_WAIT_SECONDS):
                summary = await _fetch_summary(github, asking)
        except TimeoutError:
            no_answer = _NoAnswer(f"GitHub did not answer {asking[-1]} in time")
            self._cached = (github, time.monotonic(), no_answer)
            raise no_answer from None
        except RequestError as error:
            self._cached = (github, time.monotonic(), error)
            raise
        self._cached = (github, time.monotonic(), summary)
        return summary

    async def _journal_sections(self, details: bool, refusal: str | None) -> str:
        """The deliveries in each state, then the latest ones (`details`) or the sign-in
        form. Read off the event loop and waited for a bounded time: a journal that is down
        or locked is said on the page, and keeps no other request waiting."""
        journal = self._services.journal

        def read() -> tuple[list[int], list[JournalEntry]]:
            counts = [journal.count((status,)) for status in STATUSES]
            return counts, journal.recent(None, RECENT_DELIVERIES) if details else []

        below = "" if details else self._sign_in_section(refusal)
        try:
            counts, latest = await read_aside(read)
        except JournalUnavailable as error:
            log.error("the status page cannot read the journal: %s", error)
            return f'<h2>Deliveries</h2><div class="problem"><p>{JOURNAL_UNREAD}</p></div>{below}'
        shown = " · ".join(
            f"{count} {status}" for count, status in zip(counts, STATUSES, strict=True)
        )
        deliveries = f"<h2>Deliveries</h2><p>{shown}</p>"
        return deliveries + (_recent_section(latest) if details else below)

    def _sign_in_section(self, refusal: str | None) -> str:
        problem = f'<div class="problem"><p>{escape(refusal)}</p></div>' if refusal else ""
        if self._services.settings.admin_token is None:
            return (
                f'{problem}<p class="hint">Repositories, pull requests and errors are shown '
                "only to whoever enters ADMIN_TOKEN. It is not set on this server, so nobody "
                "sees them here: set it to see them.</p>"
            )
        return (
            f"{problem}"
            '<form method="post" action="/">'
            '<label for="token">ADMIN_TOKEN</label>'
            '<input type="password" id="token" name="token" autocomplete="current-password">'
            '<p class="hint">Shows the repositories, pull requests and errors of the latest '
            "deliveries.</p>"
            '<button class="button" type="submit">Show details</button></form>'
        )


def _recent_section(latest: list[JournalEntry]) -> str:
    """The latest deliveries, each with its id: what `hotfix-bot redeliver` takes, and what
    GitHub's *Recent Deliveries* lists."""
    rows = "".join(
        "<tr>"
        f"<td>{datetime.fromtimestamp(entry.received_at, UTC):%Y-%m-%d %H:%M:%S}</td>"
        f"<td>{escape(entry.status)}</td>"
        f"<td><code>{escape(event_label(entry.event, entry.action))}</code></td>"
        f"<td>{escape(location(entry.repository, entry.pr_number))}</td>"
        f"<td>{escape(entry.last_error or '')}</td>"
        f"<td><code>{escape(entry.id)}</code></td>"
        "</tr>"
        for entry in latest
    )
    if not rows:
        return "<p>No deliveries yet.</p>"
    return (
        "<table><tr><th>Received (UTC)</th><th>Status</th><th>Event</th><th>Where</th>"
        f"<th>Last error</th><th>ID</th></tr>{rows}</table>"
    )


def _signature_refusals_problem(refusals: SignatureRefusals, advice: str | None) -> str | None:
    """How many deliveries every intake process of this server refused for their signature
    (a WEBHOOK_SECRET that is not the App's refuses them all); when the last was, and what
    to do (`advice`, given with the details)."""
    if not refusals.count:
        return None
    refused = (
        f"{plural(refusals.count, 'delivery was', 'deliveries were')} refused (401) for a "
        "missing or wrong X-Hub-Signature-256 since this server started"
    )
    if advice is None or refusals.last_at is None:
        return f"{refused}."
    last = datetime.fromtimestamp(refusals.last_at, UTC)
    return f"{refused}, the last at {last:%Y-%m-%d %H:%M:%S} UTC; {advice}."


def _app_section(summary: AppSummary, learnt: dict[int, datetime | None], details: bool) -> str:
    accounts = plural(summary.installations, "account")
    suspended = _suspended_section(summary.suspended, learnt, details)
    if not details:
        return f"<p>Running as a GitHub App installed on {accounts}.</p>{suspended}"
    return (
        f'<p>Running as the GitHub App <a href="{escape(summary.html_url)}">'
        f"<strong>{escape(summary.name)}</strong></a>, installed on {accounts}.</p>"
        f"{suspended}"
        f'<p><a href="{escape(summary.html_url)}/installations/new">Install it on another '
        "account or repository</a></p>"
    )


def _suspended_section(
    suspended: tuple[Suspended, ...], learnt: dict[int, datetime | None], details: bool
) -> str:
    """Why nothing happens on the accounts whose installation is suspended, and what comes
    of it once unsuspended (docs/RELIABILITY.md, *Suspended and reinstalled installations*).
    The accounts, and when hotfix-bot learnt of their suspension, are named to an admin
    alone."""
    if not suspended:
        return ""
    if details:
        names = join_words([escape(installation.account) for installation in suspended])
        which = (
            f"The installation on {names} is"
            if len(suspended) == 1
            else f"The installations on {names} are"
        )
    else:
        which = plural(len(suspended), "installation is", "installations are")
    return (
        f'<div class="problem"><p>{which} suspended: GitHub sends hotfix-bot nothing from '
        "there and lets it do nothing until the account's owner unsuspends it. Then the "
        "timers that came due meanwhile (reminders, deadlines) run by themselves, and the "
        "open hotfix pull requests are checked again, as GitHub never sends what happened "
        "meanwhile; run the deliveries that failed meanwhile again with "
        f"<code>hotfix-bot redeliver ID</code>. {_merged_meanwhile(suspended, learnt, details)}"
        "</p></div>"
    )


def _merged_meanwhile(
    suspended: tuple[Suspended, ...], learnt: dict[int, datetime | None], details: bool
) -> str:
    """What comes of a hotfix merged while suspended: released at the unsuspension when
    merged after hotfix-bot learnt of the suspension, else by hand."""
    by_hand = "(GitHub sent no word of the merge): tag, release and back-merge it by hand."
    known = [installation for installation in suspended if learnt.get(installation.id)]
    if not known:
        return f"A hotfix merged meanwhile got no post-merge steps {by_hand}"
    if details:
        when = "; ".join(
            f"{escape(installation.account)}: {_learnt_at(learnt.get(installation.id))}"
            for installation in suspended
        )
        where = f" ({when})"
    else:
        where = "" if len(known) == len(suspended) else f" (on {len(known)} of them)"
    return (
        f"A hotfix merged after hotfix-bot learnt of the suspension{where} gets its post-merge "
        f"steps then too; one merged before got none {by_hand}"
    )


def _learnt_at(moment: datetime | None) -> str:
    return "never" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def _footer() -> str:
    return (
        '<p class="hint"><code>hotfix-bot deliveries --status failed</code> lists failures; '
        "<code>hotfix-bot redeliver ID</code> runs one again.</p>"
        f'<p class="hint">hotfix-bot {escape(version("hotfix-bot"))} · '
        '<a href="/readyz">readiness</a> · <a href="/metrics">metrics</a></p>'
    )


def account_of(installation: dict[str, Any]) -> str:
    """The login of the account `installation` is on, or an enterprise's slug. GitHub's
    description lets the account be null: the installation's id then says which."""
    account = installation.get("account") or {}
    name = account.get("login") or account.get("slug")
    if isinstance(name, str):
        return name
    return f"an account GitHub does not name (installation {installation['id']})"


async def _fetch_summary(github: GitHubApp, asking: list[str]) -> AppSummary:
    """The App and its installations from GitHub; each request is added to `asking` as it
    is made."""
    asking.append("GET /app")
    app = (await github.app_request("GET", "/app")).json()
    installations = await _installations(github, asking)
    suspended = tuple(
        Suspended(installation["id"], account_of(installation))
        for installation in installations
        if installation.get("suspended_at")
    )
    return AppSummary(app["name"], app["html_url"], len(installations), suspended)


async def _installations(github: GitHubApp, asking: list[str]) -> list[dict[str, Any]]:
    installations: list[dict[str, Any]] = []
    next_url: str | None = "/app/installations"
    params: dict[str, int] | None = {"per_page": 100}
    while next_url is not None:
        asking.append(f"GET {next_url}")
        response = await github.app_request("GET", next_url, params=params)
        installations += response.json()
        next_url = response.links.get("next", {}).get("url")
        params = None  # the next link carries them
    return installations

"""The GitHub client: App JWT -> installation tokens, one shared connection pool, metrics.

githubkit does the auth and the requests. Three things it does not do the way a service
needs are done here:
- it has no default timeout: every request gets `TIMEOUTS` (or the ones `GitHubApp` is
  given), the longest wait for each part of an answer and a deadline for the whole of it;
- it opens a new connection pool per request outside `async with`: all clients share one
  transport whose pool lives as long as the process;
- it retries on its own: that is off, because the worker retries from the durable journal,
  honouring `retry-after` and `x-ratelimit-reset`, without holding a worker slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import math
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
from githubkit import AppAuthStrategy, GitHub, TokenAuthStrategy, UnauthAuthStrategy
from githubkit.cache import MemCacheStrategy
from githubkit.exception import RateLimitExceeded, RequestError, RequestFailed, RequestTimeout

from app.github.cache import Caches
from app.header_numbers import whole_number
from app.metrics import GITHUB_RATE_LIMIT_REMAINING, GITHUB_REQUESTS

USER_AGENT = "hotfix-bot"
# GitHub's advice for a secondary rate limit that names no wait: "at least one minute".
RATE_LIMIT_MINIMUM_WAIT = 60.0
# The longest wait GitHub names that a delivery waits out in line: every later delivery of
# its pull request waits behind it. A longer one is shown with its time instead, and a
# re-run goes on (docs/RELIABILITY.md, "Retries and backoff").
LONGEST_WAIT_IN_LINE = 15 * 60.0
# A token is replaced this long before GitHub says it expires (tokens last an hour).
TOKEN_REFRESH_MARGIN = 300.0


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long a request to GitHub may take, in seconds: `connect` to connect, `read` for
    each part of the answer (and to send each part of the request, or to get a pooled
    connection), `whole` for all of it, from asking for a connection to the answer's last
    byte. `read` alone lets an answer that trickles in a byte at a time hold its delivery,
    and every later one of its pull request, for as long as it trickles."""

    connect: float = 5.0
    read: float = 15.0
    # GitHub ends a request it cannot answer within 10 s; the largest answers read (a page
    # of 100 files with their patches, a compare) then arrive in a second or two.
    whole: float = 30.0

    @property
    def per_part(self) -> httpx.Timeout:
        """What httpx enforces: all but `whole`, which `MeteredTransport` does."""
        return httpx.Timeout(self.read, connect=self.connect)


TIMEOUTS = Timeouts()


class MeteredTransport(httpx.AsyncBaseTransport):
    """One connection pool for every client; counts answers and the rate limit left; gives
    each request `deadline` seconds for the whole of its answer.

    githubkit closes its httpx client after each request; closing must not close the pool.
    Its own retries are off (`GitHubApp`), so a request is one attempt, and the deadline is
    the attempt's.
    """

    def __init__(
        self, inner: httpx.AsyncBaseTransport | None = None, *, deadline: float = TIMEOUTS.whole
    ) -> None:
        self._inner = inner or httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20)
        )
        self._deadline = deadline

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            async with asyncio.timeout(self._deadline):
                response = await self._whole_answer(request)
        except TimeoutError:
            GITHUB_REQUESTS.labels(status="0").inc()
            # The timeout httpx raises for a part too late: githubkit makes it the
            # RequestTimeout the worker retries.
            raise httpx.ReadTimeout(
                f"no whole answer within {self._deadline:g} s", request=request
            ) from None
        except httpx.TransportError:
            GITHUB_REQUESTS.labels(status="0").inc()
            raise
        GITHUB_REQUESTS.labels(status=str(response.status_code)).inc()
        remaining = _whole_number(response.headers.get("x-ratelimit-remaining"))
        if remaining is not None:
            GITHUB_RATE_LIMIT_REMAINING.set(remaining)
        retry_after = response.headers.get("retry-after")
        if retry_after is not None and _whole_number(retry_after) is None:
            # githubkit reads only seconds, and fails on HTTP's other form, a date, which
            # would make a rate limit look like a permanent error.
            seconds = _seconds_until(retry_after)
            if seconds is None:
                del response.headers["retry-after"]
            else:
                response.headers["retry-after"] = str(seconds)
        return response

    async def _whole_answer(self, request: httpx.Request) -> httpx.Response:
        """The answer with its body read: githubkit reads every body whole anyway."""
        response = await self._inner.handle_async_request(request)
        try:
            await response.aread()
        except BaseException:
            await response.aclose()  # its connection, cut off mid-answer, is not reused
            raise
        return response

    async def aclose(self) -> None:
        """Kept open: the pool is shared (see `close_pool`)."""

    async def close_pool(self) -> None:
        await self._inner.aclose()


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    expires_at: float


class NotForGitHub(RuntimeError):
    """A request asked of a client that must not reach GitHub (`GitHubApp.without_token`):
    a mistake in hotfix-bot, which no retry mends (`classify`)."""


class _NoRequests(httpx.AsyncBaseTransport):
    """The transport of a client that must not reach GitHub (`GitHubApp.without_token`)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise NotForGitHub(
            f"{request.method} {request.url.path}: a handler routed `without_github` asked "
            "GitHub something"
        )


class GitHubApp:
    """The App's credentials and a cached installation token per installation."""

    def __init__(
        self,
        app_id: int,
        private_key: str,
        base_url: str,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        timeouts: Timeouts = TIMEOUTS,
        private_key_variable: str = "PRIVATE_KEY",
    ) -> None:
        self._transport = MeteredTransport(transport, deadline=timeouts.whole)
        self._base_url = base_url
        self._timeout = timeouts.per_part
        self._private_key = private_key
        self._private_key_variable = private_key_variable  # named when GitHub refuses the key
        self.app_id = app_id
        self._app_client = self._new_app_client()
        self.caches = Caches()
        self._tokens: dict[int, _Token] = {}
        self._token_locks: dict[int, asyncio.Lock] = {}
        self.tokens_minted = 0

    def _client(
        self,
        auth: AppAuthStrategy | TokenAuthStrategy | UnauthAuthStrategy,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> GitHub[Any]:
        return GitHub(
            auth,
            base_url=self._base_url,
            user_agent=USER_AGENT,
            timeout=self._timeout,
            async_transport=transport if transport is not None else self._transport,
            cache_strategy=MemCacheStrategy(),
            http_cache=False,
            auto_retry=False,
        )

    def _new_app_client(self) -> GitHub[Any]:
        """A client authenticated as the App, whose first request mints a new JWT (githubkit
        keeps one for 8 minutes in its client's cache)."""
        return self._client(AppAuthStrategy(str(self.app_id), self._private_key))

    async def app_request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request authenticated as the App itself (JWT). A JWT GitHub refuses is made anew
        and the request sent once more: one kept from before the system clock was corrected
        may have expired in GitHub's eyes. Refused again, the App's credentials are wrong and
        no retry will change that: `AppCredentialsRefused`."""
        try:
            response = await self._app_client.arequest(method, path, **kwargs)
        except RequestFailed as error:
            if error.response.status_code != 401:
                raise
            self._app_client = self._new_app_client()
            try:
                response = await self._app_client.arequest(method, path, **kwargs)
            except RequestFailed as again:
                if again.response.status_code != 401:
                    raise
                raise AppCredentialsRefused(again, self._private_key_variable) from None
        return response.raw_response

    async def installation(
        self, installation_id: int, *, covering: str | None = None
    ) -> InstallationClient:
        """A client of the installation. With `covering` (a repository), one GitHub no longer
        knows (the App uninstalled and installed again on the account) gives way to the one
        that covers that repository now: the client's `installation_id` says which, and its
        `minted` whether GitHub minted its token for it."""
        try:
            token, minted = await self._token(installation_id)
        except InstallationGone:
            now_covering = None if covering is None else await self._installation_of(covering)
            if now_covering is None or now_covering == installation_id:
                raise
            installation_id = now_covering
            token, minted = await self._token(now_covering)
        return InstallationClient(
            self._client(TokenAuthStrategy(token)),
            installation_id,
            self.caches,
            self.app_id,
            minted=minted,
        )

    def without_token(self, installation_id: int) -> InstallationClient:
        """A client of the installation that mints no token, for a handler that acts on the
        journal alone (`Router.add`'s `without_github`): GitHub mints none for a suspended
        installation. It sends nothing: a request asked of it, which GitHub would answer as
        to anyone, fails the delivery instead."""
        client = self._client(UnauthAuthStrategy(), _NoRequests())
        return InstallationClient(client, installation_id, self.caches, self.app_id)

    async def _token(self, installation_id: int) -> tuple[str, bool]:
        """The installation's token, and whether GitHub minted it now (not one cached)."""
        # One lock per installation: many deliveries arriving at once mint one token.
        lock = self._token_locks.setdefault(installation_id, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(installation_id)
            if cached and cached.expires_at - time.time() > TOKEN_REFRESH_MARGIN:
                return cached.value, False
            try:
                response = await self.app_request(
                    "POST", f"/app/installations/{installation_id}/access_tokens"
                )
            except RequestFailed as error:
                unavailable = unavailable_installation(installation_id, error)
                if unavailable is None:
                    raise
                raise unavailable from error
            body = response.json()
            expires_at = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
            self._tokens[installation_id] = _Token(body["token"], expires_at.timestamp())
            self.tokens_minted += 1
            return str(body["token"]), True

    async def _installation_of(self, repository: str) -> int | None:
        """The id of the App's installation that covers `repository` now; None when none
        does (the App is not installed there)."""
        try:
            response = await self.app_request("GET", f"/repos/{repository}/installation")
        except RequestFailed as error:
            if error.response.status_code == 404:
                return None
            raise
        return int(json_of(response)["id"])

    def forget_token(self, installation_id: int) -> None:
        """Drop a token GitHub refused (revoked, or the installation changed)."""
        self._tokens.pop(installation_id, None)

    async def aclose(self) -> None:
        await self._transport.close_pool()


class InstallationUnavailable(Exception):
    """GitHub will mint no token for an installation: it is suspended, or gone."""

    def __init__(self, installation_id: int, state: str, answer: RequestFailed) -> None:
        super().__init__(f"installation {installation_id} is {state}: {describe(answer)}")
        self.installation_id = installation_id


class InstallationSuspended(InstallationUnavailable):
    """Its owner, or the App's, suspended it: nothing can be done there until it is
    unsuspended (an `installation` delivery, action `unsuspend`)."""


# GitHub's words for the installation's suspension ("This installation has been suspended";
# "This installation owned by acme is suspended"). Not any "suspended": a suspended user's
# account, say, is "Sorry. Your account was suspended.", and is no suspension of the
# installation, whose end a token granted would be taken for.
INSTALLATION_SUSPENDED = re.compile(r"\binstallation\b.*\bsuspended\b", re.IGNORECASE)


def says_suspended(error: Exception) -> bool:
    """Whether `error` is GitHub saying the installation is suspended: refusing it a token,
    or refusing a request made with a token minted before the suspension (`403`, "This
    installation has been suspended")."""
    if isinstance(error, InstallationSuspended):
        return True
    return (
        isinstance(error, RequestFailed)
        and error.response.status_code == 403
        and INSTALLATION_SUSPENDED.search(error_message(error)) is not None
    )


class InstallationGone(InstallationUnavailable):
    """GitHub knows no installation of that id: the App was uninstalled (and maybe installed
    again, under a new id)."""


def unavailable_installation(
    installation_id: int, answer: RequestFailed
) -> InstallationUnavailable | None:
    """What GitHub's refusal to mint a token for an installation means: suspended (`403`,
    "This installation has been suspended"), gone (`404`); None for any other answer."""
    status = answer.response.status_code
    if says_suspended(answer):
        return InstallationSuspended(installation_id, "suspended", answer)
    if status == 404:
        return InstallationGone(installation_id, "gone", answer)
    return None


class InstallationClient:
    """Requests as one installation; answers are plain JSON, githubkit's models stay unloaded."""

    def __init__(
        self,
        client: GitHub[Any],
        installation_id: int,
        caches: Caches,
        app_id: int,
        *,
        minted: bool = False,
    ) -> None:
        self._client = client
        self.installation_id = installation_id
        # GitHub minted its token for it: the installation is not suspended (any longer).
        self.minted = minted
        self.caches = caches
        self.app_id = app_id  # the App whose check runs this one may update
        # The fetches of immutable answers under way, by path (`get_immutable`).
        self._fetching: dict[str, asyncio.Future[Any]] = {}

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        """One httpx client for every request inside (githubkit makes one per request
        otherwise). The tasks a handler starts inherit it; the pool stays shared."""
        async with self._client:
            yield

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        response = await self._client.arequest(
            method, path, params=params, json=body, headers=headers
        )
        return response.raw_response

    async def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return json_of(await self.request("GET", path, params=params))

    async def get_optional(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """The JSON at `path`, or None when GitHub answers 404, or 410 (Gone: an issue
        deleted)."""
        try:
            return await self.get_json(path, params)
        except RequestFailed as error:
            if error.response.status_code in (404, 410):
                return None
            raise

    async def get_immutable(self, path: str) -> Any:
        """An answer that never changes (an object named by its SHA), fetched once: asked for
        again while it is being fetched (one blob in the trees of two commits read side by
        side), the fetch under way is waited for."""
        cached = self.caches.immutable.get(path)
        if cached is not None:
            return cached
        fetching = self._fetching.get(path)
        if fetching is None:
            fetching = self._fetching[path] = asyncio.ensure_future(self._fetch_immutable(path))
            fetching.add_done_callback(lambda fetched: self._fetched(path, fetched))
        # Shielded: one of those waiting being cancelled (a read ahead nobody needed) must
        # not cancel the fetch for the others.
        return await asyncio.shield(fetching)

    async def _fetch_immutable(self, path: str) -> Any:
        answer = await self.get_json(path)
        self.caches.immutable.put(path, answer)
        return answer

    def _fetched(self, path: str, fetched: asyncio.Future[Any]) -> None:
        del self._fetching[path]
        if not fetched.cancelled():
            # Retrieved here, so that a failure everyone stopped waiting for goes unlogged.
            fetched.exception()

    async def get_revalidated(self, path: str) -> Any:
        """An answer that may change, revalidated by ETag: a 304 reuses the last one."""
        data, _ = await self._revalidated(path)
        return data

    async def get_all(
        self, path: str, *, page_size: int | None = 100, listed_in: str | None = None
    ) -> list[Any]:
        """Every page of a list, each page revalidated by ETag. `page_size` None for a list
        whose operation takes no `per_page`: GitHub may page it all the same, and says so with
        a `link` header. `listed_in`: the key of the list in an answer that wraps it in an
        object (`check_runs` in a commit's check runs)."""
        return [item async for page in self.pages(path, page_size, listed_in) for item in page]

    async def pages(
        self, path: str, page_size: int | None = 100, listed_in: str | None = None
    ) -> AsyncGenerator[list[Any], None]:
        """The pages of a list one by one, as `get_all` reads them: a reader that has seen
        enough (a list in the order it needs) stops asking for the next."""
        url: str | None = path
        if page_size is not None:
            url = f"{path}{'&' if '?' in path else '?'}per_page={page_size}"
        while url is not None:
            page, url = await self._revalidated(url)
            yield page if listed_in is None else page.get(listed_in) or []

    async def _revalidated(self, url: str) -> tuple[Any, str | None]:
        """The JSON at `url` and the URL of its next page, revalidated by ETag."""
        cached = self.caches.etagged.get(url)
        headers = {"If-None-Match": cached[0]} if cached else None
        response = await self.request("GET", url, headers=headers)
        if response.status_code == 304 and cached is not None:
            page: tuple[Any, str | None] = cached[1]
            return page
        answer = (json_of(response), response.links.get("next", {}).get("url"))
        if etag := response.headers.get("etag"):
            self.caches.etagged.put(url, (etag, answer))
        return answer


class AppCredentialsRefused(RequestFailed):
    """GitHub refused the App's own JWT (`401`) twice, the second freshly made: `APP_ID`
    names another App, or the private key is not (or no longer) one of the App's. Unlike an
    installation token GitHub refuses, which a new one replaces, this does not pass by
    trying again: the settings must change."""

    def __init__(self, refused: RequestFailed, private_key_variable: str) -> None:
        super().__init__(refused.response)
        self.private_key_variable = private_key_variable
        self.answer = describe(refused)  # GitHub's answer, naming the request it refused

    def __str__(self) -> str:
        answered = " ".join(filter(None, [str(self.response.status_code), error_message(self)]))
        return (
            f"GitHub refused the App's credentials ({answered}): "
            f"check APP_ID and {self.private_key_variable}"
        )


class MalformedAnswer(ValueError):
    """GitHub answered with a body that is not JSON (truncated, or a proxy's error page)."""


def json_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as error:  # JSONDecodeError, or a body that is not UTF-8
        request = response.request
        raise MalformedAnswer(
            f"GitHub's answer to {request.method} {request.url.path} is not JSON: {error}"
        ) from None


@dataclass(frozen=True, slots=True)
class LongWait:
    """A wait GitHub asked for that is too long to wait out in line."""

    until: datetime  # rounded up to the minute: coming back at the time shown is not early
    span: str  # `24h`, `2h30m`, `16m`
    rate_limited: bool

    @property
    def when(self) -> str:
        return f"{self.until:%Y-%m-%d %H:%M} UTC"

    def __str__(self) -> str:
        return f"GitHub asked to wait until {self.when} ({self.span})"


@dataclass(frozen=True, slots=True)
class Transience:
    """Whether an error may pass, and how long GitHub asked us to wait (None = back off)."""

    transient: bool
    wait: float | None = None
    rate_limited: bool = False

    @property
    def retriable(self) -> bool:
        """Worth another attempt in line: it may pass within `LONGEST_WAIT_IN_LINE`."""
        return self.transient and not self._too_long

    @property
    def _too_long(self) -> bool:
        return self.wait is not None and self.wait > LONGEST_WAIT_IN_LINE

    def long_wait(self, now: float) -> LongWait | None:
        """The wait GitHub asked for, from `now`, when it is too long to wait out in line."""
        if self.wait is None or not self._too_long:
            return None
        hours, minutes = divmod(math.ceil(self.wait / 60), 60)
        span = "".join(f"{count}{unit}" for count, unit in ((hours, "h"), (minutes, "m")) if count)
        until = datetime.fromtimestamp(math.ceil((now + self.wait) / 60) * 60, UTC)
        return LongWait(until, span, self.rate_limited)


def classify(error: BaseException, now: float | None = None) -> Transience:
    """Network errors, timeouts, 5xx and rate limits pass; other GitHub answers do not.
    Waits until a reset time are measured from `now` (default: the system clock)."""
    if isinstance(error, RequestFailed):
        status = error.response.status_code
        if status >= 500:
            return Transience(True, _retry_after(error.response.raw_response, now))
        if (
            isinstance(error, RateLimitExceeded)
            or status == 429
            or (status == 403 and "rate limit" in error_message(error).lower())
        ):
            # Read from the answer rather than githubkit's RateLimitExceeded, whose wait for
            # a reset is measured on its own clock. A reset time alone is honoured; with
            # nothing named, GitHub asks for at least a minute before trying again.
            wait = _retry_after(error.response.raw_response, now, rate_limited=True)
            wait = RATE_LIMIT_MINIMUM_WAIT if wait is None else wait
            return Transience(True, wait, rate_limited=True)
        # 401 to an installation token: it may have been revoked between mint and use, and
        # a new one is minted. The App's own credentials refused are for people to fix.
        return Transience(status == 401 and not isinstance(error, AppCredentialsRefused))
    if isinstance(error, RequestError) and isinstance(error.__cause__, NotForGitHub):
        return Transience(False)  # githubkit wraps what the transport raised
    if isinstance(error, RequestTimeout | RequestError | httpx.TransportError | TimeoutError):
        return Transience(True)
    if isinstance(error, MalformedAnswer | json.JSONDecodeError):
        return Transience(True)  # a truncated or garbled answer from GitHub
    return Transience(False)


def _retry_after(
    response: httpx.Response, now: float | None, rate_limited: bool = False
) -> float | None:
    seconds = _whole_number(response.headers.get("retry-after"))
    if seconds is not None:
        return float(seconds)
    reset = _whole_number(response.headers.get("x-ratelimit-reset"))
    # Every answer of GitHub's carries the reset time; it is a wait once the limit is used
    # up, or for a rate limit that does not say how much is left.
    remaining = response.headers.get("x-ratelimit-remaining")
    if reset is not None and remaining == "0":
        return max(reset - (now if now is not None else time.time()), 0.0)
    if reset is not None and rate_limited and remaining is None:
        wait = reset - (now if now is not None else time.time())
        # A reset already past says nothing of when to come back: GitHub's minute holds.
        return wait if wait > 0 else None
    return None


def path_part(text: str) -> str:
    """A branch or tag name inside a URL path (slashes kept, as GitHub's routes expect; a
    `#` or `?` quoted, or the name would end at it)."""
    return quote(text, safe="/")


def timestamp(value: object) -> datetime | None:
    """GitHub's `2026-11-27T15:28:00Z`; None when absent or not of that form, as a time
    without its offset is: it could not be compared with the times that have one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def retry_after_seconds(value: str | None) -> int | None:
    """The wait a `retry-after` header asks for, in whole seconds, in either of HTTP's forms
    (seconds, or a date); None when it names none."""
    if value is None:
        return None
    seconds = _whole_number(value)
    return seconds if seconds is not None else _seconds_until(value)


# Digits of the longest number a header of GitHub's or chat's holds: a count, or seconds.
_LONGEST_HEADER_NUMBER = 18


def _whole_number(header: str | None) -> int | None:
    """A header's whole number (`retry-after: 60`), as long as any GitHub sends at most."""
    return whole_number(header, _LONGEST_HEADER_NUMBER)


def _seconds_until(http_date: str) -> int | None:
    """Whole seconds from now until an HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`), at
    least 0; None when it is no date."""
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": UTC as well
        when = when.replace(tzinfo=UTC)
    return max(math.ceil((when - datetime.now(UTC)).total_seconds()), 0)


def describe(error: BaseException) -> str:
    """A one-line account of an error for the journal and logs; never contains a token."""
    if isinstance(error, AppCredentialsRefused):
        return str(error)  # what to fix, rather than which request it stopped
    if isinstance(error, RequestFailed):
        request = error.request
        message = error_message(error)
        return (
            f"GitHub answered {error.response.status_code} to {request.method} "
            f"{request.url.path}{f': {message}' if message else ''}"
        )
    if isinstance(error, RequestTimeout):
        return f"GitHub did not answer {error.request.method} {error.request.url.path} in time"
    if isinstance(error, RequestError):
        return _unreached(error.exc)
    if isinstance(error, MalformedAnswer | InstallationUnavailable):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _unreached(error: Exception) -> str:
    """Where GitHub was looked for and why it did not answer (a name that does not resolve,
    a connection refused, a certificate): what an admin checks GITHUB_API_URL and the
    network against. The host and port alone, never more of the URL."""
    where = ""
    if isinstance(error, httpx.RequestError):
        with contextlib.suppress(RuntimeError):  # an error raised outside a request
            url = error.request.url
            where = f" at {url.host}" + (f":{url.port}" if url.port else "")
    reason = f" ({error})" if str(error) else ""
    return f"could not reach GitHub{where}: {type(error).__name__}{reason}"


def from_github(error: BaseException) -> bool:
    """Whether `error` is GitHub's answer, or the want of one (no answer, or one that is not
    JSON), rather than a fault of hotfix-bot's own."""
    return isinstance(error, RequestError | MalformedAnswer)


def describe_with_wait(error: BaseException, now: float) -> str:
    """`describe`, and the wait GitHub asked for when that is too long to wait in line (and
    so the reason the error is reported rather than retried)."""
    long_wait = classify(error, now).long_wait(now)
    if long_wait is None:
        return describe(error)
    # GitHub's message may end a sentence: the wait follows it as a clause all the same.
    return f"{describe(error).removesuffix('.')}; {long_wait}"


# GitHub's token formats (installation ghs_, user ghu_/gho_, personal ghp_ and
# github_pat_, refresh ghr_) and a JWT's three base64url parts, the first a JSON header.
_CREDENTIAL = re.compile(
    r"\b(?:gh[opsur]_[A-Za-z0-9_]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)"
)
HIDDEN = "***"
# GitHub's tokens and JWTs are far longer; hiding a string this short would garble the words
# around it, which the refusal's reason is read from ("rate limit", "conflict").
_SHORTEST_CREDENTIAL = 16


def error_message(error: RequestFailed) -> str:
    """What GitHub's error answer says, without any credential in it: its `message`, then
    the details of its `errors` (`Validation Failed: No commits between develop and
    backmerge/v1.2.4`); "" when the body carries neither. It is quoted in logs, the journal
    and on GitHub itself, and a proxy's error page may echo the request's `Authorization`
    header into it. The message comes first and whole, so the words a refusal is told by
    ("rate limit", "conflict", "does not exist") are found in it as GitHub wrote them."""
    try:
        body = error.response.raw_response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    credential = error.request.headers.get("authorization", "").rpartition(" ")[2]
    message = body.get("message")
    message = _hidden(message, credential) if isinstance(message, str) else ""
    details = _details(body.get("errors"), credential, message)
    if not details:
        return message
    if not message.strip():
        return details
    message = message.rstrip()
    # After a sentence, the details are the next one; after a heading, they follow a colon.
    return f"{message}{' ' if message.endswith(('.', '!', '?', ':')) else ': '}{details}"


# A 422 may list an error per field, each quoting the value refused: enough of them to act
# on, not a page of them in a table's cell.
_LONGEST_DETAILS = 300


def _details(errors: object, credential: str, message: str) -> str:
    """The entries of an error answer's `errors`, each in words, joined with "; ": a plain
    string as it is, an object by its `message`, else its field, code and resource
    (`tag_name already_exists (Release)`). Entries of other types, and words the message
    says already, are left out."""
    if not isinstance(errors, list):
        return ""
    said: list[str] = []
    for entry in errors:
        words = " ".join(_hidden(_entry_words(entry), credential).split())
        if words and words not in said and words not in message:
            said.append(words)
    details = "; ".join(said)
    if len(details) > _LONGEST_DETAILS:
        details = details[: _LONGEST_DETAILS - 1].rstrip() + "…"
    return details


def _entry_words(entry: object) -> str:
    if isinstance(entry, str):
        return entry
    if not isinstance(entry, dict):
        return ""
    if isinstance(message := entry.get("message"), str) and message.strip():
        return message
    named = [entry.get(key) for key in ("field", "code")]
    words = [word for word in named if isinstance(word, str) and word]
    resource = entry.get("resource")
    if isinstance(resource, str) and resource and words:
        words.append(f"({resource})")
    return " ".join(words)


def _hidden(text: str, credential: str) -> str:
    """`text` with the request's own `credential` and anything of a credential's form hidden."""
    if len(credential) >= _SHORTEST_CREDENTIAL:
        text = text.replace(credential, HIDDEN)
    return _CREDENTIAL.sub(HIDDEN, text)

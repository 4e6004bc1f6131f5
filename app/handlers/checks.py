"""Writing check runs: one run per name and head commit, created once and then updated. The
pull requests whose branches point at one commit share its run, which shows the result of the
one that matters most (`write_pull_request_run`)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any
from urllib.parse import urlencode

from githubkit.exception import RequestFailed

from app.github.client import describe, describe_with_wait
from app.github.reads import Reads, reading_ahead
from app.handlers.check_output import CheckOutput, error_output, long_wait_output
from app.handlers.routing import Context, transience_of
from policies.wording import sentence

# Whether a write may replace what a commit's run shows, told by its title: None when this App
# has no run there (or one that shows no title).
Replaces = Callable[[str | None], bool]


async def write_check_run(
    context: Context,
    name: str,
    head_sha: str,
    output: CheckOutput,
    *,
    conclusion: str | None,
    details_url: str | None = None,
    reads: Reads | None = None,
    only_over: Replaces | None = None,
) -> int | None:
    """Create or update the `name` run on `head_sha`, and return its id; `conclusion=None`
    means in progress. With `reads`, the look-up of the run that `find_check_run` started
    there is used. The pull request the journal names as the run's writer stays named.

    With `only_over`, the run is written only when it accepts the title the run shows, read
    in the same turn of the run's lock as the write (not from `reads`): a report another
    delivery writes meanwhile is never replaced unseen. None when it was not written."""
    shows = _Shows(output, conclusion, details_url)
    state_key = _state_key(context, name, head_sha)
    # Pull requests whose branches point at the same commit share its check run: their
    # evaluations must not both find no run and both create one.
    async with context.locks.lock(state_key), reading_ahead() as looks:
        kept = await context.state.get_state(state_key)
        stored = _Stored.read(kept)
        writer = stored.writer if stored is not None else None
        if only_over is not None:
            reads = looks  # the run is looked up once, for its title and for the write
            if not only_over(await _shown_title(context, reads, name, head_sha)):
                return None
        return await _create_or_update(
            context, name, head_sha, stored, writer, shows, reads, kept == _CREATING
        )


@dataclass(frozen=True, slots=True)
class Writer:
    """The pull request whose result a shared run shows, and how much that result matters
    to the commit: of the open pull requests on it, the one of the highest rank is shown."""

    number: int
    rank: int


class Concluded(Enum):
    """A run that was to be written only while it waits, and that is concluded already."""

    LEFT_ALONE = "left alone"


async def write_pull_request_run(
    context: Context,
    name: str,
    head_sha: str,
    output: CheckOutput,
    *,
    conclusion: str | None,
    writer: Writer,
    merged: bool = False,
    only_while_waiting: bool = False,
    reads: Reads | None = None,
) -> Writer | Concluded | None:
    """Write `writer`'s result to the `name` run on its head commit `head_sha`, as
    `write_check_run` does, unless the run shows a pull request of a higher rank still open
    on that commit: then nothing is written, and that pull request is returned. A `merged`
    writer's result gates nothing any more: it gives way to any pull request still open on
    the commit. `only_while_waiting`: nor is anything written over a run the journal does
    not know as last written in progress by `writer`'s pull request (`waiting_writer`),
    decided in the same turn of the run's lock as the write."""
    shows = _Shows(output, conclusion)
    state_key = _state_key(context, name, head_sha)
    async with context.locks.lock(state_key):
        kept = await context.state.get_state(state_key)
        stored = _Stored.read(kept)
        if only_while_waiting and (
            stored is None
            or not stored.waiting
            or stored.writer is None
            or stored.writer.number != writer.number
        ):
            return Concluded.LEFT_ALONE
        shown = stored.writer if stored is not None else None
        if shown is not None and await _keeps_the_run(context, shown, writer, merged, head_sha):
            return shown
        await _create_or_update(
            context, name, head_sha, stored, writer, shows, reads, kept == _CREATING
        )
        return None


async def _keeps_the_run(
    context: Context, shown: Writer, writer: Writer, merged: bool, head_sha: str
) -> bool:
    """Whether the run's `shown` writer keeps it from `writer`: it is still open on the
    commit, and ranks higher or `writer` is merged. Asked of GitHub only then, so that the
    evaluations of a pull request alone on its commit make no request for it."""
    if shown.number == writer.number or (shown.rank <= writer.rank and not merged):
        return False
    pull = await context.github.get_optional(f"/repos/{context.repository}/pulls/{shown.number}")
    return pull is not None and pull["state"] == "open" and pull["head"]["sha"] == head_sha


async def waiting_writer(context: Context, name: str, head_sha: str) -> Writer | None:
    """The pull request whose result the `name` run on `head_sha` shows, when the journal
    knows the run as last written in progress (waiting, say, for approval); None when it
    was last written concluded, or the journal names no such pull request. No request."""
    stored = _Stored.read(await context.state.get_state(_state_key(context, name, head_sha)))
    return stored.writer if stored is not None and stored.waiting else None


@dataclass(frozen=True, slots=True)
class _Shows:
    """What a write makes a run show."""

    output: CheckOutput
    conclusion: str | None  # None: in progress
    details_url: str | None = None

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"output": self.output.as_json()}
        if self.conclusion is None:
            body["status"] = "in_progress"
        else:
            body.update(status="completed", conclusion=self.conclusion)
        if self.details_url is not None:
            body["details_url"] = self.details_url
        return body

    def noting(self, note: str) -> _Shows:
        """This, with `note` at the end of the summary."""
        output = CheckOutput(self.output.title, f"{self.output.summary}\n\n{note}")
        return dataclasses.replace(self, output=output)


def find_check_run(
    reads: Reads,
    context: Context,
    name: str,
    head_sha: str,
    *,
    opened_at: datetime | None = None,
) -> asyncio.Task[_LookedUp]:
    """Start looking for the `name` run on `head_sha`, as one of `reads`, so that the look-up
    overlaps the work whose result the run will show. `opened_at`: when the pull request whose
    head it is was opened, if known (`_look_up`)."""
    return reads.start(
        ("check run", context.repository, name, head_sha),
        lambda: _look_up(context, name, head_sha, opened_at),
    )


@dataclass(frozen=True, slots=True)
class _LookedUp:
    stored: str | None  # the run the journal named when looked up
    run_id: str | None  # the run to update; None when there is none yet, or none was found
    # GitHub's answer when it refused to list the commit's runs: a run of this App's may be
    # there unseen.
    unlisted: str | None = None


@dataclass(frozen=True, slots=True)
class _Stored:
    """What the journal keeps of a commit's run: its id, the pull request whose result it
    shows, if one is known, and whether it was last written in progress ("<run id>" or
    "<run id> <number> <rank>", then " waiting" when it was)."""

    run_id: str
    writer: Writer | None
    waiting: bool = False

    @classmethod
    def read(cls, value: str | None) -> _Stored | None:
        """What `value` names; None when it names no run (`_CREATING`, or nothing)."""
        words = (value or "").split()
        waiting = words[-1:] == [_WAITING]
        match words[:-1] if waiting else words:
            case [run_id, number, rank]:
                return cls(run_id, Writer(int(number), int(rank)), waiting)
            case [run_id] if run_id != _CREATING:
                return cls(run_id, None, waiting)
            case _:
                return None

    def __str__(self) -> str:
        writer = self.writer
        words = (
            [self.run_id] if writer is None else [self.run_id, str(writer.number), str(writer.rank)]
        )
        return " ".join([*words, _WAITING] if self.waiting else words)


_WAITING = "waiting"
# Kept before a run is created where the journal names none: if the run's id is not kept
# after (a crash in between), the next look-up asks GitHub, rather than create another.
_CREATING = "creating"
# How far (seconds) GitHub's clock and this machine's may be apart: a pull request opened within
# this of the repository's first look-up is looked up as if opened before it.
_CLOCKS_APART = 5.0


def _state_key(context: Context, name: str, head_sha: str) -> str:
    return f"check-run:{context.repository}:{name}:{head_sha}"


async def _look_up(
    context: Context, name: str, head_sha: str, opened_at: datetime | None = None
) -> _LookedUp:
    """The run to write on `head_sha`. GitHub is asked unless this process wrote it, or the
    journal knows there is none: it names none, and the commit is the head of a pull request
    opened after it began keeping the repository's runs (`_opened_since_known`)."""
    state_key = _state_key(context, name, head_sha)
    known = context.github.caches.check_runs.get(state_key)
    if known is not None:  # written by this process: no need to ask
        return _LookedUp(None, known)
    value = await context.state.get_state(state_key)
    if (
        value is None
        and opened_at is not None
        and await _opened_since_known(context, name, opened_at)
    ):
        return _LookedUp(None, None)  # none there, as the journal knows
    # First written by this process: trust only what GitHub confirms.
    stored = _Stored.read(value)
    named = run_id = stored.run_id if stored is not None else None
    if run_id is not None and await _is_run_of(context, run_id, name, head_sha):
        return _LookedUp(named, run_id)
    # None named, or the journal outlived the run, or names another GitHub's.
    try:
        return _LookedUp(named, await _existing_run(context, name, head_sha))
    except RequestFailed as error:
        if not refused_by_github(context, error):
            raise
        # What the run is to show matters more than an older run left as it was: the new
        # run is written all the same, and says so.
        context.log.warning("could not list the check runs of %s: %s", head_sha, describe(error))
        return _LookedUp(named, None, unlisted=describe(error))


async def _opened_since_known(context: Context, name: str, opened_at: datetime) -> bool:
    """Whether a pull request opened at `opened_at` was opened after this journal began
    keeping the repository's `name` runs under its name: noted at the first look-up that
    asks this, any run written since is named in the journal. One written before was written
    under another journal (one started anew) or another name (a delivery of a renamed
    repository's new name that runs before the keys of the old one are moved): its pull
    request, opened before, has it looked for."""
    key = f"check-runs-known-since:{context.repository}:{name}"
    since = await context.state.get_state(key)
    if since is None:
        await context.state.set_state(key, repr(context.clock()))
        return False
    try:
        return opened_at.timestamp() > float(since) + _CLOCKS_APART
    except ValueError:  # not a time: nothing is known from it
        return False


async def _create_or_update(
    context: Context,
    name: str,
    head_sha: str,
    stored: _Stored | None,
    writer: Writer | None,
    shows: _Shows,
    reads: Reads | None,
    being_created: bool,
) -> int:
    """Make the run show `shows`, as `writer`'s result. `stored`: what the journal kept of
    the run, read under the lock: it names the run any instance wrote last, as another
    instance may have started a newer one since this process remembered its own;
    `being_created`: it said `_CREATING` instead."""
    state_key = _state_key(context, name, head_sha)
    named = stored.run_id if stored is not None else None
    waiting = shows.conclusion is None
    run_id = context.github.caches.check_runs.get(state_key)
    unlisted = None
    if run_id is None:
        looked_up = await (
            find_check_run(reads, context, name, head_sha)
            if reads is not None
            else _look_up(context, name, head_sha)
        )
        if looked_up.run_id is None and being_created:
            # An attempt (another pull request's on the commit, since the look-up) began to
            # create the run and stopped: it may be there, so GitHub is asked (again).
            looked_up = await _look_up(context, name, head_sha)
        run_id, unlisted = looked_up.run_id, looked_up.unlisted
        # Looked up before this turn, maybe: a run written since is the one named now.
        if named is not None and named != looked_up.stored:
            run_id = named
    elif named is not None and named != run_id:
        run_id = named
    if run_id is not None and await _updated(context, name, run_id, shows):
        await _remember(context, state_key, stored, _Stored(run_id, writer, waiting))
        return int(run_id)
    if unlisted is not None:
        shows = shows.noting(
            f"**This commit's check runs could not be read**: {sentence(unlisted)} This "
            f"`{name}` run was created without looking for one hotfix-bot made before: any "
            f"other `{name}` run of hotfix-bot's on this commit is out of date."
        )
    if stored is None:
        await context.state.set_state(state_key, _CREATING, durable=True)
    created = await context.github.request(
        "POST",
        f"/repos/{context.repository}/check-runs",
        body={"name": name, "head_sha": head_sha, **shows.body},
    )
    new_id = str(created.json()["id"])
    await _remember(context, state_key, stored, _Stored(new_id, writer, waiting))
    return int(new_id)


async def _updated(context: Context, name: str, run_id: str, shows: _Shows) -> bool:
    """Whether the run `run_id` was made to show `shows`. Not when GitHub does not move it
    from completed back to in progress, nor, some say, change a completed run's conclusion;
    nor when GitHub refuses the update (the run was deleted, or its check suite is not this
    App's to change): a new run takes its place then."""
    body, path = shows.body, f"/repos/{context.repository}/check-runs/{run_id}"
    try:
        updated = (await context.github.request("PATCH", path, body=body)).json()
    except RequestFailed as error:
        if not refused_by_github(context, error):
            raise
        context.log.warning(
            "the %s run %s could not be updated, a new one takes its place: %s",
            name,
            run_id,
            describe(error),
        )
        return False
    return (updated.get("status"), updated.get("conclusion")) == (
        body["status"],
        body.get("conclusion"),
    )


def refused_by_github(context: Context, error: Exception) -> bool:
    """Whether `error` is GitHub refusing a request, which asking again will not change (not a
    rate limit, nor an outage)."""
    return isinstance(error, RequestFailed) and not transience_of(error, context.clock()).transient


async def _shown_title(context: Context, reads: Reads, name: str, head_sha: str) -> str | None:
    """The title the `name` run of this App on `head_sha` shows now; None when it has none."""
    run_id = (await find_check_run(reads, context, name, head_sha)).run_id
    if run_id is None:
        return None
    run = await context.github.get_optional(f"/repos/{context.repository}/check-runs/{run_id}")
    title = ((run or {}).get("output") or {}).get("title")
    return title if isinstance(title, str) else None


async def _is_run_of(context: Context, run_id: str, name: str, head_sha: str) -> bool:
    run = await context.github.get_optional(f"/repos/{context.repository}/check-runs/{run_id}")
    return (
        run is not None
        and (run.get("head_sha"), run.get("name")) == (head_sha, name)
        and _is_ours(context, run)
    )


def _is_ours(context: Context, run: dict[str, Any]) -> bool:
    """Whether this App made the run: GitHub refuses to update another App's, and a CI job
    or a second installation of hotfix-bot may have one of the same name on the commit."""
    app = run.get("app")
    return not isinstance(app, dict) or app.get("id") in (None, context.github.app_id)


async def _remember(
    context: Context, state_key: str, stored: _Stored | None, written: _Stored
) -> None:
    """The commit's run, for this process and (through the journal, with its writer) the
    next; the journal is written only when that changed."""
    context.github.caches.check_runs.put(state_key, written.run_id)
    if written != stored:
        await context.state.set_state(state_key, str(written))


async def _existing_run(context: Context, name: str, head_sha: str) -> str | None:
    """A run made before this process knew of it (say, the journal was moved). Other Apps (a
    CI job, another installation of hotfix-bot) may have runs of the same name on the commit,
    listed before this App's: every page is read, 100 runs a page (`filter=latest` leaves out
    the older runs of each check suite)."""
    query = urlencode({"check_name": name, "filter": "latest"})
    runs = await context.github.get_all(
        f"/repos/{context.repository}/commits/{head_sha}/check-runs?{query}",
        listed_in="check_runs",
    )
    ours = [run for run in runs if _is_ours(context, run)]
    return str(ours[0]["id"]) if ours else None


def is_final(context: Context, error: Exception) -> bool:
    """Whether `error` ends the delivery: it will not pass (a refusal), or it may but this is
    the last attempt, or GitHub asked for a wait too long to take in line. Any other is left
    to the next attempt."""
    return context.last_attempt or not transience_of(error, context.clock()).retriable


@dataclass(frozen=True, slots=True)
class Refusal:
    """GitHub's answer, in words, to something a check run tells of rather than fails on (a
    review request, a notice). `for_good`: it will not pass, so that thing is not tried
    again; otherwise (a 5xx, a rate limit still there on the last attempt) the next
    evaluation tries it again."""

    words: str
    for_good: bool


def refusal_shown(context: Context, error: Exception) -> Refusal | None:
    """GitHub's answer to something a check run tells of rather than fails on; None when
    `error` is to be raised: one that may pass is retried with the delivery (until its last
    attempt, see `post_later`), and one that is not GitHub's answer is a bug."""
    now = context.clock()
    transience = transience_of(error, now)
    if transience.retriable and not context.last_attempt:
        return None
    if not isinstance(error, RequestFailed) and not transience.transient:
        return None
    return Refusal(describe_with_wait(error, now), for_good=not transience.transient)


@dataclass(frozen=True, slots=True)
class PostLater:
    """Something a check run tells of (a review request, the P0 alert) that GitHub failed
    with an error that may pass (`error`), on an attempt that is not the last: the delivery
    is to be tried again for it once the run is written. (Returned, not raised: a run held
    back through every retry would tell of nothing meanwhile.)"""

    error: Exception


def post_later(context: Context, error: Exception) -> PostLater | None:
    """`error` as a `PostLater` when the delivery's next attempt is to try again; None when
    it ends the delivery (`is_final`): then it is shown as a refusal, or raised."""
    return None if is_final(context, error) else PostLater(error)


async def report_failure(
    context: Context,
    name: str,
    head_sha: str | None,
    error: Exception,
    title: str,
    *,
    only_over: Replaces | None = None,
) -> None:
    """Show why a handler stopped on the `name` run, from its `except` block (the delivery
    is recorded as failed too): a refusal that will not pass (permissions, a missing team),
    GitHub still failing on the last attempt, or GitHub asking for a wait too long to take
    in line. An error that will be retried is left to the next attempt. `only_over`: as
    `write_check_run` takes it."""
    if head_sha is None or not is_final(context, error):
        return
    now = context.clock()
    long_wait = transience_of(error, now).long_wait(now)
    if long_wait is not None:
        output = long_wait_output(title, describe(error), long_wait)
    else:
        output = error_output(title, describe(error))
    try:
        await write_check_run(
            context, name, head_sha, output, conclusion="failure", only_over=only_over
        )
    except Exception as write_error:
        # The error being shown stays the delivery's cause, in the journal and the log: a
        # report refused as well (an installation whose access was revoked refuses both)
        # must not take its place.
        context.log.warning(
            "%s; the %s check run could not show it: %s",
            describe(error),
            name,
            describe(write_error),
        )

"""The `hotfix-policy` check: gather one pull request's facts, evaluate, write the run.

The pull request is always read from the API, never from the delivery, so deliveries that
arrive late or out of order still end in the result for its current state; a merged one's,
as it stood at its merge (docs/BEHAVIOUR.md, 'As of the merge'). Independent
requests run concurrently, and what the delivery names (the base branch, the head commit)
is read beside the pull request, to be used once the pull request as read confirms it:
(pull request, reviews, base tree and the organization's file revalidated, head tree, the
check run's look-up) -> (a hotfix's head version files, unless cached or named by the head
tree as the base's with the next patch) -> (tag; team members and review requests) -> check
run. With warm caches that is 3 sequential round trips, and 4 for the first evaluation of a
head commit whose version files hold more than that; a rollback reads the pull request it
reverts after the base tree, one more. A pull request that is no hotfix, or one under a
repository's config file that cannot be used, reads its head's config file alone, from the
head tree: nothing more while its `.github` tree is the base's. One whose file differs from
the base's (a branch cut before the file changed on the base, too) asks for its compare once
per head commit and base tree, not at each evaluation.

A hotfix pull request's evaluation also keeps its incident clock going (docs/BEHAVIOUR.md,
'The incident clock'): it schedules the clock's timers in the journal and asks the approval
groups waited for (docs/BEHAVIOUR.md, 'Approval groups') for reviews, each only the first
time; later evaluations make no request for either. A P0's evaluation posts its alert beside
the review requests, before the run is written, so that the run tells of GitHub refusing
either; either GitHub failed with an error that may pass is tried again after the run is
written, by the delivery's next attempt.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import Enum, IntEnum
from typing import Any

from githubkit.exception import RequestFailed

from app.github.client import (
    InstallationClient,
    classify,
    describe,
    path_part,
    says_suspended,
    timestamp,
)
from app.github.files import know_blobs, read_files, start_reading_files, start_reading_tree
from app.github.objects import first_parent, peeled
from app.github.pulls import labels_of
from app.github.reads import Reads, both, reading_ahead
from app.github.teams import TeamLookup, look_up_team, owned_by_a_person
from app.handlers import timeline
from app.handlers.check_output import (
    CHECK_NAME,
    CheckOutput,
    ConfigChange,
    closed_while_waiting_output,
    config_error_output,
    policy_output,
    replaced_while_waiting_output,
)
from app.handlers.checks import (
    Concluded,
    PostLater,
    Writer,
    find_check_run,
    refused_by_github,
    report_failure,
    waiting_writer,
    write_pull_request_run,
)
from app.handlers.config_files import ConfigFiles, start_reading_org_file
from app.handlers.notices import alert_p0, refused_notices
from app.handlers.policy_result import PolicyResult
from app.handlers.queued_group import fail_waiting_groups
from app.handlers.records import BreakGlassRecord, PullRecords, Waived
from app.handlers.review_requests import request_reviews
from app.handlers.routing import Context
from policies.accounts import login_of
from policies.clock import RequestOutcome, clock_timers, review_requests
from policies.config import CONFIG_PATH, ConfigError, HotfixConfig
from policies.evaluate import (
    Verdict,
    config_error_verdict,
    evaluate,
    is_hotfix,
    needed_lookups,
)
from policies.facts import PullRequestFacts, RevertedPull, Review, ReviewState
from policies.files import FileText
from policies.notices import RefusedNotice
from policies.rollback import is_rollback, reverted_number, reverted_numbers, rollback_refusal
from policies.rule import Lookups
from policies.timeline import EarlierRollback
from policies.versions import DEFAULT_VERSION_FILES, patch_bumped_text

log = logging.getLogger("hotfix_bot.policy")

PULL_REQUEST_ACTIONS = (
    "opened",
    "reopened",
    "synchronize",
    "edited",
    "labeled",
    "unlabeled",
    "ready_for_review",
)
REVIEW_ACTIONS = ("submitted", "edited", "dismissed")
CLOSED_ACTIONS = ("closed",)
# What the base branch is read for first: the config, and the usual version files beside it.
_BASE_FILES = (CONFIG_PATH, *DEFAULT_VERSION_FILES)


async def on_pull_request(context: Context) -> None:
    """pull_request and pull_request_review deliveries."""
    if context.delivery.pr_number is not None:
        await evaluate_pull_request(context, context.delivery.pr_number, show_merged=True)


async def on_pull_request_closed(context: Context) -> None:
    """pull_request `closed`: the head's run, when it still waits for this pull request, is
    concluded (docs/BEHAVIOUR.md, 'Closed while waiting'): a merged one's as of the merge,
    one closed without a merge's as closed. A run concluded already is left as it is, told
    by the journal, without a request; so is a redelivery's, the first having concluded it."""
    number, head_sha = context.delivery.pr_number, _head_named_by(context.payload)
    if number is None or head_sha is None:
        return
    if context.delivery.merged:
        await conclude_merged_while_waiting(context, number, head_sha)
        return
    waiting = await waiting_writer(context, CHECK_NAME, head_sha)
    if waiting is not None and waiting.number == number:
        await _conclude_closed(context, number, head_sha, waiting)


async def conclude_merged_while_waiting(context: Context, number: int, head_sha: str) -> None:
    """Pull request `number`, merged with `head_sha` its head: that head's run, when it still
    waits for this pull request, concluded as of the merge (the merge's `closed`, or the
    unsuspension of an installation GitHub sent no `closed` to)."""
    waiting = await waiting_writer(context, CHECK_NAME, head_sha)
    if waiting is not None and waiting.number == number:
        await evaluate_pull_request(context, number, show_merged=True, only_while_waiting=True)


async def _conclude_closed(context: Context, number: int, head_sha: str, writer: Writer) -> None:
    """Pull request `number`, closed without a merge while its run on `head_sha` waited:
    nothing waits for that run any more. One reopened since (its delivery late) is left to
    its own deliveries."""
    pull = await context.github.get_json(f"/repos/{context.repository}/pulls/{number}")
    if pull["state"] != "closed" or pull.get("merged") or pull["head"]["sha"] != head_sha:
        return
    await _cancel_waiting_run(
        context, head_sha, closed_while_waiting_output(number), writer, f"pull request #{number}"
    )


async def _conclude_the_replaced_head(context: Context, number: int, head_sha: str) -> None:
    """When pull request `number`'s head is no longer the one its last evaluation wrote the
    run of, a push replaced that commit: its run, when it still waits for this pull request,
    waits for nothing any more (docs/BEHAVIOUR.md, 'Replaced while waiting'). Told by the
    journal, not by the push's delivery, which a later one may supersede. A run concluded
    already is left as it is, without a request; one of a commit another open pull request
    still has as its head is that pull request's to write."""
    key = f"evaluated-head:{context.repository}#{number}"
    replaced = await context.state.get_state(key)
    if replaced == head_sha:
        return
    if replaced is not None:
        await _conclude_replaced(context, number, replaced, head_sha)
    await context.state.set_state(key, head_sha)


async def _conclude_replaced(context: Context, number: int, replaced: str, head_sha: str) -> None:
    waiting = await waiting_writer(context, CHECK_NAME, replaced)
    if waiting is None or waiting.number != number:
        return
    try:
        pulls = await context.github.get_all(
            f"/repos/{context.repository}/commits/{replaced}/pulls"
        )
    except RequestFailed as error:
        if not refused_by_github(context, error):
            raise
        # Whether another open pull request has that head is unknown (GitHub answers 422 for
        # a commit a force push dropped): its run is left as it is, and the push's evaluation
        # done.
        context.log.warning("the run of %s is left as it is: %s", replaced, describe(error))
        return
    if any(pull["state"] == "open" and pull["head"]["sha"] == replaced for pull in pulls):
        return
    output = replaced_while_waiting_output(number, replaced, head_sha)
    await _cancel_waiting_run(
        context, replaced, output, waiting, f"pull request #{number}, {replaced}"
    )


async def _cancel_waiting_run(
    context: Context, head_sha: str, output: CheckOutput, writer: Writer, subject: str
) -> None:
    """Conclude the run of `head_sha` `cancelled`, showing `output`, when it still waits for
    `writer`'s pull request: nothing waits for it any more."""
    left = await write_pull_request_run(
        context,
        CHECK_NAME,
        head_sha,
        output,
        conclusion="cancelled",
        writer=writer,
        only_while_waiting=True,
    )
    if left is None:
        context.log.info("%s: %s", subject, output.title)


def rerun_check(payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """The check run or suite a `rerequested` delivery re-runs `hotfix-policy` in; None when
    it re-runs another check."""
    check: dict[str, Any] = payload.get("check_run") or payload.get("check_suite") or {}
    return None if "check_run" in payload and check.get("name") != CHECK_NAME else check


async def on_rerequest(context: Context) -> None:
    """check_run / check_suite `rerequested` on a pull request's commit: evaluate the pull
    requests of that head (a merged one as it stood at its merge)."""
    check = rerun_check(context.payload)
    if check is None:
        return
    head_sha = check.get("head_sha")
    numbers = _pulls_named_here(context.payload, check)
    if not numbers and head_sha:
        # GitHub names none for pull requests from forks, nor for one no longer open.
        pulls = await context.github.get_all(
            f"/repos/{context.repository}/commits/{head_sha}/pulls"
        )
        numbers = [pull["number"] for pull in pulls if _evaluated_on(pull, head_sha)]
    for number in numbers:
        await evaluate_pull_request(context, number, show_merged=True)


def _pulls_named_here(payload: Mapping[str, Any], check: Mapping[str, Any]) -> list[int]:
    """The numbers of the pull requests into this repository that `check` names: a fork's
    check suite also names those into the repository it was forked from, whose numbers are
    another repository's."""
    here = (payload.get("repository") or {}).get("id")
    return [
        pull["number"]
        for pull in check.get("pull_requests") or []
        if ((pull.get("base") or {}).get("repo") or {}).get("id", here) == here
    ]


def _evaluated_on(pull: dict[str, Any], sha: str) -> bool:
    """Whether a re-run on commit `sha` evaluates `pull`, one GitHub lists for it: an open
    pull request containing it, or one merged with it as its head (not the one GitHub lists
    for its merge commit, whose run there is `hotfix-release`)."""
    return pull["state"] == "open" or (bool(pull.get("merged_at")) and pull["head"]["sha"] == sha)


@dataclass(frozen=True)
class Evaluation:
    """A pull request as one evaluation found it: as it is, or a merged one as it stood at
    its merge."""

    verdict: Verdict
    config_files: ConfigFiles  # which files made the config, read from which branch
    config: HotfixConfig | None = None  # None: the config files cannot be used
    config_error: ConfigError | None = None
    facts: PullRequestFacts | None = None  # None when the config is unusable
    merged: bool = False  # judged as it stood at its merge
    # An open pull request that changes the repository's file: what its file does.
    config_change: ConfigChange | None = None

    def output(
        self,
        review_requests: Sequence[RequestOutcome],
        refused: Sequence[RefusedNotice] = (),
        rolled_back_already: EarlierRollback | None = None,
    ) -> CheckOutput:
        if self.config_error is not None:
            return config_error_output(
                self.verdict,
                self.config_error,
                self.config_files.used,
                self.config_files.ref,
                self.merged,
                self.config_change,
            )
        return policy_output(
            self.verdict,
            self.config_files.used,
            review_requests,
            refused,
            rolled_back_already,
            self.config_change,
        )


async def _record(context: Context, evaluation: Evaluation) -> None:
    await timeline.record_evaluation(
        context, evaluation.config, evaluation.verdict, evaluation.facts
    )


# What is done with an evaluation as soon as the approvals are judged (see `policy_evaluation`).
ApprovalsJudged = Callable[[Evaluation], Awaitable[None]]
# What is done with an open pull request's evaluation before its run is written, so that the
# run tells of it (an escalation step's comment GitHub refused).
BeforeWriting = Callable[[Evaluation], Awaitable[None]]


class NotOpen(Enum):
    """What became of a pull request that is not open, and so was not evaluated."""

    MERGED = "merged"
    CLOSED = "closed"  # without a merge: it may be reopened


async def evaluate_pull_request(
    context: Context,
    number: int,
    before_writing: BeforeWriting | None = None,
    *,
    show_merged: bool = False,
    only_while_waiting: bool = False,
) -> Evaluation | NotOpen:
    """Evaluate pull request `number` and write its check run, when it is open. A merged one
    is evaluated as it stood at its merge, for the incident's timeline; with `show_merged`
    (a delivery of its own, a command, a re-run of its check, not a timer, whose reason
    went with the merge) its run is written so too. A closed one is left alone.
    `only_while_waiting`: a run concluded already is not written over."""
    async with reading_ahead() as reads:
        _read_what_the_delivery_names(context, reads, number)
        return await _evaluate(
            context, number, reads, before_writing, show_merged, only_while_waiting
        )


async def _evaluate(
    context: Context,
    number: int,
    reads: Reads,
    before_writing: BeforeWriting | None,
    show_merged: bool,
    only_while_waiting: bool,
) -> Evaluation | NotOpen:
    github, repository = context.github, context.repository
    head_sha = _head_named_by(context.payload)  # until the API says otherwise
    requested: list[RequestOutcome] = []
    # What GitHub failed with an error that may pass, on this attempt (a review request, the
    # P0 alert): raised once the run is written, so that the next attempt tries it again.
    failed_for_now: list[Exception] = []
    merged = False

    async def keep_the_clock(judged: Evaluation) -> None:
        await _record(context, judged)
        (made, not_asked), not_alerted = await both(
            _keep_the_clock(context, number, judged),
            alert_p0(context, judged.config, judged.verdict, judged.facts),
        )
        requested.extend(made)
        failed_for_now.extend(later.error for later in (not_asked, not_alerted) if later)

    try:
        pull, reviews, records = await read_pull_request(context, number)
        if pull["state"] == "open":
            head_sha = pull["head"]["sha"]
            now = datetime.fromtimestamp(context.clock(), UTC)
            evaluation = await policy_evaluation(
                github, repository, pull, reviews, records, now, reads, keep_the_clock
            )
        elif not pull.get("merged"):
            context.log.info("pull request #%d is closed; nothing to check", number)
            return NotOpen.CLOSED
        elif not show_merged:
            # A timer's reason went with the merge; the incident's timeline still takes what
            # the merge went with (a review whose delivery is queued behind the timer).
            await _record(context, await _as_merged(context, pull, reviews, records, reads))
            context.log.info("pull request #%d is merged; its run is left as it is", number)
            return NotOpen.MERGED
        else:
            merged = True
            head_sha = pull["head"]["sha"]
            evaluation = await _as_merged(context, pull, reviews, records, reads)
            await _record(context, evaluation)
    except Exception as error:
        await report_failure(
            context, CHECK_NAME, head_sha, error, "Could not evaluate the hotfix policy"
        )
        raise
    if before_writing is not None and not merged:
        await before_writing(evaluation)
    if evaluation.facts is not None:
        # Shown in the approvals row as well: logged for whoever grants the permission.
        for slug, answer in evaluation.facts.unreadable_teams.items():
            context.log.warning("pull request #%d: team %s not readable: %s", number, slug, answer)
    refused = await refused_notices(context, number)
    earlier = await _earlier_rollback(context, number, evaluation.verdict, pull)
    output = evaluation.output(requested, refused, earlier)
    conclusion = evaluation.verdict.conclusion
    writer = Writer(number, _rank(evaluation, pull["base"]["ref"]))
    shown = await write_pull_request_run(
        context,
        CHECK_NAME,
        head_sha,
        output,
        conclusion=conclusion,
        writer=writer,
        merged=merged,
        only_while_waiting=only_while_waiting,
        reads=reads,
    )
    # Only a break-glass in force waives anything: one not in force under the severity
    # labelled now keeps what it waived while it was.
    if records.break_glass is not None and evaluation.verdict.break_glass is not None:
        await _remember_what_was_waived(context, number, records.break_glass, evaluation.verdict)
    as_of = " (as of its merge)" if merged else ""
    if shown is None:
        context.log.info("pull request #%d%s: %s", number, as_of, output.title)
    elif isinstance(shown, Concluded):
        context.log.info(
            "pull request #%d%s: %s; not written: the %s run of %s is concluded already",
            number,
            as_of,
            output.title,
            CHECK_NAME,
            head_sha,
        )
    else:
        context.log.info(
            "pull request #%d%s: %s; not written: the %s run of %s shows #%d, %s still open on it",
            number,
            as_of,
            output.title,
            CHECK_NAME,
            head_sha,
            shown.number,
            Rank(shown.rank).described,
        )
    if not merged and shown is None:
        # What the run showed while the pull request could still be merged: the post-merge
        # run tells of a merge while it failed.
        await PolicyResult.of(evaluation.verdict, head_sha).keep(context, number)
    if not merged:
        await _conclude_the_replaced_head(context, number, head_sha)
        await fail_waiting_groups(context, pull, evaluation.verdict, evaluation.output(()))
    if failed_for_now:
        # The run did not wait for them: the delivery is tried again for them.
        raise failed_for_now[0]
    return NotOpen.MERGED if merged else evaluation


class Rank(IntEnum):
    """How much a pull request's result matters to its head commit's run, which every pull
    request on that commit shares: it shows the open one of the highest rank (docs/BEHAVIOUR.md,
    'Triggers')."""

    NOT_A_HOTFIX = 0
    HOTFIX = 1  # into another branch, or under a config that cannot be read
    PRODUCTION_HOTFIX = 2  # rollbacks included: the production branch requires the check

    @property
    def described(self) -> str:
        return _RANKS_DESCRIBED[self]


_RANKS_DESCRIBED = {
    Rank.NOT_A_HOTFIX: "a pull request that is no hotfix",
    Rank.HOTFIX: "a hotfix pull request",
    Rank.PRODUCTION_HOTFIX: "a hotfix pull request into the production branch",
}


def _rank(evaluation: Evaluation, base_ref: str) -> Rank:
    config, verdict = evaluation.config, evaluation.verdict
    if config is None:  # a failure that may be a hotfix's: no pull request that is none hides it
        return Rank.HOTFIX
    if not verdict.results:  # judged by no rule
        return Rank.NOT_A_HOTFIX
    return Rank.PRODUCTION_HOTFIX if base_ref == config.branches.production else Rank.HOTFIX


async def read_pull_request(
    context: Context, number: int
) -> tuple[dict[str, Any], list[Any], PullRecords]:
    """The pull request and its reviews as they are now, and what commands left on it."""
    github, repository = context.github, context.repository
    pull, reviews, records = await asyncio.gather(
        github.get_json(f"/repos/{repository}/pulls/{number}"),
        github.get_all(f"/repos/{repository}/pulls/{number}/reviews"),
        PullRecords.load(context, number),
    )
    return pull, reviews, records


@dataclass(frozen=True, slots=True)
class Merge:
    """Where a merged pull request is judged as it stood at its merge."""

    base_sha: str  # the base branch then: the merge commit's first parent
    # Its merge commit: a tag on it was made after the merge (its own release's).
    merge_sha: str


async def _as_merged(
    context: Context,
    pull: dict[str, Any],
    reviews: list[Any],
    records: PullRecords,
    reads: Reads,
) -> Evaluation:
    """Merged `pull` evaluated as it stood at its merge (docs/BEHAVIOUR.md, 'As of the
    merge'): on the base branch of then, with the reviews submitted by then, its clock stopped
    then. Commands are already judged as of the merge when they are recorded."""
    github, repository = context.github, context.repository
    merged_at = timestamp(pull.get("merged_at")) or context.now()
    merge_sha = pull["merge_commit_sha"]
    base_sha = await first_parent(reads, github, repository, merge_sha)
    before = [review for review in reviews if _submitted_by(review, merged_at)]
    merge = Merge(base_sha, merge_sha)
    return await policy_evaluation(
        github, repository, pull, before, records, merged_at, reads, merge=merge
    )


async def _earlier_rollback(
    context: Context, number: int, verdict: Verdict, pull: dict[str, Any]
) -> EarlierRollback | None:
    """For rollback `pull`, of number `number`: the rollback of the same hotfix merged before
    it, which its run tells of (docs/BEHAVIOUR.md, 'Rollbacks'); None for any other."""
    reverted = verdict.rollback.reverted if verdict.rollback is not None else None
    if reverted is None:
        return None
    merged_at = timestamp(pull.get("merged_at"))
    return await timeline.earlier_rollback(context, reverted.number, number, merged_at)


async def _remember_what_was_waived(
    context: Context, number: int, glass: BreakGlassRecord, verdict: Verdict
) -> None:
    """After the merge, the retroactive review asks about what the break-glass waived; for a
    rollback, under the rolled-back hotfix's severity, whose groups its approvals come from."""
    rolled_back = verdict.rollback.severity if verdict.rollback is not None else None
    severity = verdict.severity or rolled_back
    waived = Waived(severity, verdict.waived_rules, verdict.waived_groups)
    if await Waived.load(context, number, glass) != waived:
        await waived.save(context, number, glass)


async def _keep_the_clock(
    context: Context, number: int, evaluation: Evaluation
) -> tuple[list[RequestOutcome], PostLater | None]:
    """The incident clock of a hotfix pull request: its timers kept in the journal, and
    reviews asked for. Returns the review requests made for its severity, and what GitHub
    failed to ask for now (`request_reviews`)."""
    config, facts, verdict = evaluation.config, evaluation.facts, evaluation.verdict
    if config is None or facts is None:
        return [], None
    for timer in clock_timers(config, verdict, facts):
        await context.timers.schedule(timer.kind, timer.key, timer.due, timer.data, number=number)
    requests = review_requests(config, verdict, facts)
    if requests is None or verdict.severity is None:
        return [], None
    return await request_reviews(context, number, verdict.severity, requests)


def _read_what_the_delivery_names(context: Context, reads: Reads, number: int) -> None:
    """Start the reads of the base branch and head commit the delivery's pull request names
    (and of the organization's config), and the look-up of the check run on that head:
    `policy_evaluation` and `write_check_run` use them when the pull request read from the
    API names the same (a delivery that is not the latest names an older head, and its reads
    are left unused)."""
    pull = context.payload.get("pull_request")
    if not isinstance(pull, dict) or pull.get("number") != number:
        return
    base_ref = (pull.get("base") or {}).get("ref")
    head_sha = (pull.get("head") or {}).get("sha")
    github, repository = context.github, context.repository
    start_reading_org_file(reads, github, repository)
    if isinstance(base_ref, str):
        start_reading_files(reads, github, repository, base_ref, _BASE_FILES)
    if isinstance(head_sha, str):
        start_reading_tree(reads, github, repository, head_sha)
        # A pull request's opening time never changes: the delivery's is the current one.
        opened_at = timestamp(pull.get("created_at"))
        find_check_run(reads, context, CHECK_NAME, head_sha, opened_at=opened_at)


def _submitted_by(review: dict[str, Any], moment: datetime | None) -> bool:
    """Whether `review` was submitted by `moment` (GitHub's times are whole seconds: its own
    second counts as before it)."""
    submitted_at = timestamp(review.get("submitted_at"))
    return moment is None or submitted_at is None or submitted_at <= moment


def _head_named_by(payload: dict[str, Any]) -> str | None:
    """The head commit the delivery names: possibly stale, but where an error can be shown
    when GitHub does not give the current one."""
    for key in ("pull_request", "check_run", "check_suite"):
        item = payload.get(key)
        if isinstance(item, dict):
            head = item.get("head")
            sha = head.get("sha") if isinstance(head, dict) else item.get("head_sha")
            if isinstance(sha, str):
                return sha
    return None


async def policy_evaluation(
    github: InstallationClient,
    repository: str,
    pull: dict[str, Any],
    reviews: list[Any],
    records: PullRecords,
    now: datetime,
    reads: Reads | None = None,
    approvals_judged: ApprovalsJudged | None = None,
    *,
    merge: Merge | None = None,
) -> Evaluation:
    """The hotfix policy on `pull` (as `read_pull_request` gave it) on its head commit.
    `reads`: those started before, of which the ones of this base and head are used.
    `approvals_judged` is given the evaluation as soon as the approvals are judged, beside
    the reads of the version files and the tag: its verdict says the severity and the
    approval groups waited for, and cannot be shown (the version bump is not judged yet).
    `merge`: where a merged `pull` is judged as it stood at its merge."""
    base_ref, head_sha = pull["base"]["ref"], pull["head"]["sha"]
    # The base branch's files are read where it stands, or stood at the merge.
    base_at = merge.base_sha if merge is not None else base_ref
    default_branch = pull["base"]["repo"]["default_branch"]
    reads = reads or Reads()
    # The config and the usual version files come from one base tree, the organization's
    # defaults alongside; the head's files only once it is known to be a hotfix's.
    base_files, org_file = await asyncio.gather(
        start_reading_files(reads, github, repository, base_at, _BASE_FILES),
        start_reading_org_file(reads, github, repository),
    )
    config_files = ConfigFiles(repository, base_ref, org_file, base_files.get(CONFIG_PATH))
    try:
        config = config_files.config(default_branch)
    except ConfigError as error:
        # One changing the file is told whether its file fixes it; not under a broken
        # organization's file, which no change of the repository's fixes.
        change = None
        if merge is None and error.file is None:
            change = await _config_change_at_head(github, config_files, pull, now, reads)
        evaluation = Evaluation(
            config_error_verdict(error),
            config_files,
            config_error=error,
            merged=merge is not None,
            config_change=change,
        )
        return await _judged(evaluation, approvals_judged)
    facts = _facts(pull, reviews, records, now)
    if is_rollback(config, facts.head_ref, facts.labels):
        number = reverted_number(facts.head_ref, facts.body, repository)
        if number is not None:
            facts = replace(facts, reverted=await read_reverted_pull(github, repository, number))
    elif not is_hotfix(config, facts.head_ref, facts.labels):
        # The usual way the file is edited: told what it would do once merged, like a hotfix.
        change = None
        if merge is None:
            change = await _config_change_at_head(github, config_files, pull, now, reads)
        evaluation = Evaluation(
            evaluate(config, facts), config_files, config, facts=facts, config_change=change
        )
        return await _judged(evaluation, approvals_judged)

    # The rules say what to look up: the version files they read, then the tag those name;
    # and, beside them, the teams of those approving (the approvals read no file).
    lookups = needed_lookups(config, facts)

    # The head's config file once read (an open pull request's), until then the base's.
    head_config: FileText = base_files.get(CONFIG_PATH)

    async def versions() -> PullRequestFacts:
        nonlocal head_config
        paths = lookups.version_files
        # version.files may name files other than the usual ones, read beside the head's.
        missing = [path for path in paths if path not in base_files]
        # What a head that only bumps the patch holds is not fetched (its blob's SHA says so).
        bumped = (patch_bumped_text(path, base_files.get(path)) for path in paths)
        know_blobs(github, repository, [text for text in bumped if text is not None])
        # An open one's config file too, to say what a change of it does: a head that leaves
        # it as it is shares the base's tree and blob, read already.
        head_paths = paths if merge is not None else [*paths, CONFIG_PATH]
        extra_base, head = await asyncio.gather(
            read_files(github, repository, base_at, missing),
            read_files(github, repository, head_sha, head_paths, reads),
        )
        head_config = head.get(CONFIG_PATH, head_config)
        base = {**base_files, **extra_base}
        versioned = replace(
            facts,
            base_version_files={path: base.get(path) for path in paths},
            head_version_files={path: head.get(path) for path in paths},
        )
        tags = needed_lookups(config, versioned).tags
        made_since = merge.merge_sha if merge is not None else None
        existing = await _existing_tags(github, repository, tags, made_since)
        return replace(versioned, existing_tags=existing)

    async def approvals() -> _TeamsRead:
        teams = await _approvers_by_team(github, repository.split("/")[0], lookups)
        judged = teams.into(facts)
        await _judged(
            Evaluation(evaluate(config, judged), config_files, config, facts=judged),
            approvals_judged,
        )
        return teams

    versioned, teams = await both(versions(), approvals())
    facts = teams.into(versioned)
    change = await _config_change(github, config_files, head_config, pull, now, reads)
    return Evaluation(
        evaluate(config, facts), config_files, config, facts=facts, config_change=change
    )


# GitHub's compare lists at most this many files: one as long may leave the file out.
_COMPARE_FILES_SHOWN = 300


async def _changes_config(
    github: InstallationClient,
    repository: str,
    base_ref: str,
    head_sha: str,
    now: datetime,
    reads: Reads,
) -> bool:
    """Whether the pull request's diff (from the merge base, as GitHub shows it) touches the
    config file; False when GitHub cannot say (refused for good, too long a list), rather
    than a note that may be wrong. Asked
    once per head commit and base tree: the base branch is read by name, and the tree read
    is what tells that it still stands where it stood when GitHub answered (a pull
    request's `base.sha` does not: GitHub does not move it with the base branch)."""
    base_tree = await _tree_sha(reads, github, repository, base_ref)
    key = (repository, base_ref, base_tree, head_sha)
    known = github.caches.config_changed.get(key) if base_tree is not None else None
    if known is not None:
        return known
    try:
        compare = await github.get_json(
            f"/repos/{repository}/compare/{path_part(base_ref)}...{head_sha}"
        )
    except RequestFailed as error:
        _no_note(error, now, head_sha, "the compare is refused")
        files: list[Any] = []  # refused for good: asked no more for this head and base
    else:
        files = compare.get("files") or []
    if len(files) >= _COMPARE_FILES_SHOWN:
        log.info("%s: no note on %s, the compare lists only the first files", head_sha, CONFIG_PATH)
        changes = False
    else:
        changes = any(
            CONFIG_PATH in (entry.get("filename"), entry.get("previous_filename"))
            for entry in files
        )
    if base_tree is not None:
        github.caches.config_changed.put(key, changes)
    return changes


def _no_note(error: RequestFailed, now: datetime, head_sha: str, why: str) -> None:
    """A read the note needs failed: raised again when it may pass (the worker retries the
    delivery), else logged, and the run goes without the note rather than fail for it."""
    if classify(error, now.timestamp()).transient:
        raise error
    log.info("%s: no note on %s, %s: %s", head_sha, CONFIG_PATH, why, describe(error))


async def _tree_sha(
    reads: Reads, github: InstallationClient, repository: str, ref: str
) -> str | None:
    """The SHA of `ref`'s root tree, as the evaluation read it; None when it was read
    through the contents API instead (where the git trees API is not served)."""
    try:
        tree = await start_reading_tree(reads, github, repository, ref)
    except RequestFailed as error:
        if error.response.status_code != 404:
            raise
        return None
    sha = tree.get("sha")
    return sha if isinstance(sha, str) else None


async def _config_change_at_head(
    github: InstallationClient,
    config_files: ConfigFiles,
    pull: dict[str, Any],
    now: datetime,
    reads: Reads,
) -> ConfigChange | None:
    """`_config_change` of open pull request `pull`, its head's file read from the head tree
    (read ahead when the delivery names that head): a head whose file is the base's shares
    its blob, read already. None, rather than a failed run, when GitHub refuses the head:
    the evaluation reads nothing else of it."""
    head_sha = pull["head"]["sha"]
    try:
        head = await read_files(github, config_files.repository, head_sha, [CONFIG_PATH], reads)
    except RequestFailed as error:
        _no_note(error, now, head_sha, "its head is refused")
        return None
    return await _config_change(github, config_files, head.get(CONFIG_PATH), pull, now, reads)


async def _config_change(
    github: InstallationClient,
    config_files: ConfigFiles,
    head_text: FileText,
    pull: dict[str, Any],
    now: datetime,
    reads: Reads,
) -> ConfigChange | None:
    """What the config file as open pull request `pull` leaves it (`head_text`) would do once
    merged; None when its own diff does not change the file. `reads`: the evaluation's,
    which read the base branch's files."""
    # A head whose file differs from the base's may only lag behind a change on the base,
    # which a merge keeps: only the pull request's own diff is its change.
    if head_text == config_files.own or not await _changes_config(
        github, config_files.repository, config_files.ref, pull["head"]["sha"], now, reads
    ):
        return None
    default_branch = pull["base"]["repo"]["default_branch"]
    try:
        config = replace(config_files, own=head_text).config(default_branch)
    except ConfigError as error:
        problems, rechecks = tuple(error.problems), False
    else:
        # The push of its merge evaluates the open hotfixes into the branch again when the
        # file it pushes names that branch production (docs/BEHAVIOUR.md, 'Triggers').
        problems, rechecks = (), config.branches.production == config_files.ref
    org_wide = config_files.holds_org_defaults(default_branch)
    return ConfigChange(config_files.ref, pull["head"]["ref"], problems, org_wide, rechecks)


async def _judged(evaluation: Evaluation, approvals_judged: ApprovalsJudged | None) -> Evaluation:
    if approvals_judged is not None:
        await approvals_judged(evaluation)
    return evaluation


def _facts(
    pull: dict[str, Any], reviews: list[Any], records: PullRecords, now: datetime
) -> PullRequestFacts:
    head_repo = pull["head"].get("repo") or {}
    base_repo = pull["base"]["repo"]
    return PullRequestFacts(
        number=pull["number"],
        title=pull["title"],
        author=login_of(pull["user"]),
        head_ref=pull["head"]["ref"],
        head_sha=pull["head"]["sha"],
        base_ref=pull["base"]["ref"],
        base_sha=pull["base"]["sha"],
        head_repo_full_name=head_repo.get("full_name", ""),
        head_is_same_repo=head_repo.get("id") == base_repo["id"],
        labels=frozenset(labels_of(pull)),
        default_branch=base_repo["default_branch"],
        reviews=reviews_of(reviews),
        opened_at=timestamp(pull.get("created_at")),
        verbal_approvals=records.verbal_approvals,
        break_glass=records.break_glass.glass if records.break_glass else None,
        evaluated_at=now,
        merged_at=timestamp(pull.get("merged_at")) if pull.get("merged") else None,
        repository=base_repo["full_name"],
        clone_url=base_repo.get("clone_url", ""),
        personal_account=owned_by_a_person(base_repo),
        body=pull.get("body") or "",
    )


def reviews_of(listed: list[Any]) -> list[Review]:
    """The reviews of a pull request as GitHub lists them, as the rules read them (those of a
    deleted account, without a user, and of a state the rules do not know are left out)."""
    return [
        Review(
            review["user"]["login"],
            ReviewState(review["state"]),
            review.get("commit_id"),
            timestamp(review.get("submitted_at")),
        )
        for review in listed
        if review.get("user") and review.get("state") in ReviewState.__members__
    ]


async def read_reverted_pull(
    github: InstallationClient, repository: str, number: int
) -> RevertedPull | None:
    """Pull request `number`, which a rollback names as the one it reverts; None when there
    is no such pull request."""
    pull = await github.get_optional(f"/repos/{repository}/pulls/{number}")
    if pull is None:
        return None
    return RevertedPull(
        number=number,
        title=pull["title"],
        author=login_of(pull["user"]),
        head_ref=pull["head"]["ref"],
        base_ref=pull["base"]["ref"],
        labels=frozenset(labels_of(pull)),
        state=pull["state"],
        merged=bool(pull.get("merged")),
        merge_commit_sha=pull.get("merge_commit_sha") if pull.get("merged") else None,
    )


async def read_rolled_back_hotfix(
    github: InstallationClient, repository: str, config: HotfixConfig, pull: dict[str, Any]
) -> RevertedPull | None:
    """The merged hotfix pull request that `pull` (as the API gives it) rolls back; None when
    `pull` is no rollback: it does not look like one, is not into the production branch, or
    reverts no merged hotfix (docs/BEHAVIOUR.md, "Rollbacks")."""
    head_ref, labels = pull["head"]["ref"], labels_of(pull)
    if not is_rollback(config, head_ref, labels):
        return None
    body = pull.get("body") or ""
    number = reverted_number(head_ref, body, repository)
    reverted = await read_reverted_pull(github, repository, number) if number is not None else None
    named = reverted_numbers(head_ref, body, repository)
    refused = rollback_refusal(config, repository, pull["base"]["ref"], named, reverted)
    return reverted if refused is None else None


def several_reverted(
    config: HotfixConfig, repository: str, pull: dict[str, Any]
) -> tuple[int, ...]:
    """The pull requests that `pull` (as the API gives it), a rollback into the production
    branch, names as the ones it reverts, when more than one: its check fails, and its merge
    rolls back none (docs/BEHAVIOUR.md, "Rollback pull requests"). () for any other."""
    head_ref = pull["head"]["ref"]
    if not is_rollback(config, head_ref, labels_of(pull)):
        return ()
    named = reverted_numbers(head_ref, pull.get("body") or "", repository)
    refused = rollback_refusal(config, repository, pull["base"]["ref"], named, None)
    return named if refused is None else ()


async def _existing_tags(
    github: InstallationClient, repository: str, tags: Sequence[str], made_since: str | None
) -> frozenset[str]:
    """Those of `tags` that exist, less those on commit `made_since`, a merged pull request's
    merge commit: made after its merge, they did not exist as it stood then."""
    refs = await asyncio.gather(
        *(github.get_optional(f"/repos/{repository}/git/ref/tags/{path_part(tag)}") for tag in tags)
    )
    found = {tag: ref for tag, ref in zip(tags, refs, strict=True) if ref is not None}
    if made_since is None or not found:
        return frozenset(found)
    commits = await asyncio.gather(
        *(peeled(github, repository, ref["object"]) for ref in found.values())
    )
    return frozenset(
        tag for tag, commit in zip(found, commits, strict=True) if commit != made_since
    )


@dataclass(frozen=True, slots=True)
class _TeamsRead:
    """What `_approvers_by_team` found: the facts' `team_members`, `unreadable_teams` and
    `unlisted_teams`."""

    members: dict[str, frozenset[str]]
    unreadable: dict[str, str]
    unlisted: frozenset[str]

    def into(self, facts: PullRequestFacts) -> PullRequestFacts:
        return replace(
            facts,
            team_members=self.members,
            unreadable_teams=self.unreadable,
            unlisted_teams=self.unlisted,
        )


async def _approvers_by_team(github: InstallationClient, org: str, needs: Lookups) -> _TeamsRead:
    """Team slug -> those of `needs.approvers` who are in that team; the teams GitHub
    refuses for good to list (a missing permission), with its answer, for the approvals rule
    to say what to grant rather than the whole evaluation failing; and those it lists no
    members of, for it to ask whether the slug is right."""
    approvers = needs.approvers

    async def members(slug: str) -> TeamLookup | str:
        try:
            return await look_up_team(github, org, slug, approvers)
        except RequestFailed as error:
            refused = error.response.status_code == 403 and not classify(error).transient
            if not refused or says_suspended(error):
                raise
            return describe(error)

    read = dict(zip(needs.teams, await asyncio.gather(*map(members, needs.teams)), strict=True))
    # GitHub logins are case-insensitive.
    return _TeamsRead(
        {
            slug: frozenset(login for login in approvers if login.casefold() in team.among)
            for slug, team in read.items()
            if isinstance(team, TeamLookup)
        },
        {slug: team for slug, team in read.items() if isinstance(team, str)},
        frozenset(
            slug for slug, team in read.items() if isinstance(team, TeamLookup) and not team.listed
        ),
    )

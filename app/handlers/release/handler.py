"""After a hotfix merges into production: run the steps of `steps.STEPS`, then report.

The pull request is read from the API, never from the delivery. Every run of one merge
follows what its first run planned by (docs/BEHAVIOUR.md, "Re-runs"): the config of the
commit the journal keeps, and the labels it keeps. The first run reads the config at the
merge commit's first parent; the one the merge commit holds, read beside the pull request,
is the same unless the hotfix changed it, so the steps' reads start on it meanwhile. Each
step runs as soon as the steps it needs have ended, so steps that need nothing of each other
run at once; what they look at before acting (their looks) is read as soon as the plan is
known, beside the listing of the release branches. The report lists them in the registry's
order. Each step's outcome is kept in the journal as soon as it is known, so a retry, a
redelivery or a re-run of the `hotfix-release` check resumes with what is not done. The
report (one comment on the pull request and the check run on the merge commit, written
together) is written once, at the end of a run; whether the comment and the run exist
already is looked up while the steps run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from githubkit.exception import RequestError, RequestFailed

from app.github.client import (
    InstallationClient,
    MalformedAnswer,
    describe_with_wait,
    path_part,
    timestamp,
)
from app.github.files import start_reading_files, start_reading_tree
from app.github.issues import issues_turned_off
from app.github.objects import first_parent, start_reading_commit
from app.github.pulls import labels_of, merged_as
from app.github.reads import Reads, both, reading_ahead
from app.handlers import timeline
from app.handlers.checks import (
    Replaces,
    find_check_run,
    is_final,
    report_failure,
    write_check_run,
)
from app.handlers.config_files import base_config, config_at, start_reading_config
from app.handlers.policy import read_rolled_back_hotfix, several_reverted
from app.handlers.policy_result import PolicyResult
from app.handlers.records import PullRecords, Waived
from app.handlers.release import steps
from app.handlers.release.comment import look_for_comment, write_comment
from app.handlers.release.plan import CHECK_NAME, ReleasePlan, RolledBack, TagOfAnother
from app.handlers.release.production import is_production_hotfix, recheck_after_tag, tagged
from app.handlers.release.report import (
    Report,
    StepOutcomes,
    comment_body,
    config_problem_report,
    several_reverted_report,
    steps_report,
    waited_for,
    without_comment,
)
from app.handlers.release.step import (
    Link,
    Step,
    StepCommandsKnown,
    StepOutcome,
    StepRun,
    StepStatus,
)
from app.handlers.release.steps import back_merge, incident_report, tag, verbal_approvals
from app.handlers.routing import Context, transience_of
from app.intake.delivery import Delivery
from app.journal.timers import FiredTimer
from policies.accounts import login_of
from policies.config import ConfigError, HotfixConfig, SeverityPolicy, load_config
from policies.evaluate import allows_break_glass, is_hotfix
from policies.facts import RevertedPull
from policies.files import FileText
from policies.rollback import rollback_reason
from policies.rules.common import labelled_severities, single_severity
from policies.timeline import glass_not_in_force, merged_into, opened, step_finished
from policies.versions import (
    Version,
    declared_version,
    head_version,
    tag_name,
    version_files_to_read,
)

PULL_REQUEST_ACTIONS = ("closed",)
# The timer that runs a pull request's post-merge steps again once a wait GitHub asked a step
# for, too long to wait in line, is over (`on_resume`).
RESUME = "resume-release"


def merged(delivery: Delivery) -> bool:
    """A `closed` that merged: only that one has anything to do (the API confirms it); one
    that did not is answered `ignored`."""
    return delivery.merged


async def on_pull_request_closed(context: Context) -> None:
    """pull_request `closed` with `merged: true` (see `merged`)."""
    number = context.payload["pull_request"].get("number")
    if isinstance(number, int):
        await release_pull_request(context, number)


async def on_rerequest(context: Context) -> None:
    """A re-run on a merge commit: of `hotfix-release` alone (check_run `rerequested`), or
    of all the App's checks there ("Re-run all checks", check_suite `rerequested`)."""
    check = context.payload.get("check_run")
    if isinstance(check, dict) and check.get("name") != CHECK_NAME:
        return  # another check's re-run: the policy handler's
    head_sha = (check or context.payload.get("check_suite") or {}).get("head_sha")
    if not isinstance(head_sha, str):
        return
    # Not the open pull requests containing the commit (the back-merge one).
    for pull in await merged_as(context.github, context.repository, head_sha):
        await release_pull_request(context, pull["number"], listed=pull)


async def on_resume(context: Context) -> None:
    """GitHub's wait is over (`_resume_after_the_wait`), or its installation's unsuspension
    found the pull request merged meanwhile (`production.catch_up_after_suspension`): the
    post-merge run, as a re-run of the check runs it."""
    await release_pull_request(context, FiredTimer.of(context.delivery).number)


async def _resume_after_the_wait(context: Context, number: int, outcomes: StepOutcomes) -> None:
    """When GitHub asked a step to wait longer than is waited in line, the timer that runs the
    steps not done again at the time it gave (the latest, when it gave several): kept once
    per time, however often the run is repeated before then."""
    until = waited_for(outcomes)
    if until is not None:
        await context.timers.schedule(RESUME, f"{until:%Y-%m-%dT%H:%MZ}", until, number=number)


def release_key(repository: str, hotfix: int | str) -> str:
    """Where a hotfix's run keeps its state, and the lock its runs take turns by; `hotfix` is
    a pull request's number, or the SHA of a commit pushed to the trunk."""
    return (
        f"release:{repository}#{hotfix}"
        if isinstance(hotfix, int)
        else f"release:{repository}@{hotfix}"
    )


@dataclass(slots=True)
class ReleaseState:
    """What a run leaves in the journal for the next one: step outcomes, the comment id, and
    what the first run that planned the steps followed: the commit whose config it read and
    the pull request's labels."""

    key: str
    steps: dict[str, StepOutcome] = field(default_factory=dict)
    comment_id: int | None = None
    config_commit: str | None = None
    labels: list[str] | None = None
    # Steps side by side save as they end: one write at a time, each made of what is known
    # when its turn comes, so that none is overwritten by an older one.
    _saving: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False, compare=False)

    @classmethod
    async def load(cls, context: Context, key: str) -> ReleaseState:
        """The state kept under `key`: `release_key` of the hotfix."""
        stored = await context.state.get_state(key)
        if stored is None:
            return cls(key)
        data = json.loads(stored)
        steps = {name: StepOutcome.from_json(value) for name, value in data["steps"].items()}
        # A state kept by an older version holds neither: the next run that plans keeps them.
        return cls(key, steps, data["comment_id"], data.get("config_commit"), data.get("labels"))

    async def save(self, context: Context) -> None:
        async with self._saving:
            steps = {name: outcome.as_json() for name, outcome in self.steps.items()}
            data = {
                "steps": steps,
                "comment_id": self.comment_id,
                "config_commit": self.config_commit,
                "labels": self.labels,
            }
            await context.state.set_state(self.key, json.dumps(data))


async def release_pull_request(
    context: Context,
    number: int,
    listed: dict[str, Any] | None = None,
    *,
    look_again: Step | None = None,
) -> None:
    """The post-merge run of pull request `number`, one at a time; `listed` is the pull
    request as a re-run found it, which stands in for the delivery's until GitHub answers.
    `look_again`: a step done that this run runs again, as what it made must change (an
    incident report lacking an approval GitHub told of late)."""
    # A re-run is queued under its merge commit and the merge's delivery under the pull
    # request, so the journal's ordering alone would let the two run their steps at once,
    # on one instance or two: the journal's lock takes them in turn.
    async with context.locks.lock(release_key(context.repository, number)):
        if look_again is not None:
            await _look_again(context, number, look_again)
        await _release(context, number, listed)


async def _look_again(context: Context, number: int, step: Step) -> None:
    """Keep `step`'s outcome as waiting, as one waiting for people is kept, so that the run
    runs it again from what it recorded (the issue it opened)."""
    state = await ReleaseState.load(context, release_key(context.repository, number))
    kept = state.steps.get(step.key)
    if kept is not None and kept.status.finished and kept.status.happened:
        state.steps[step.key] = dataclasses.replace(kept, status=StepStatus.WAITING)
        await state.save(context)


async def _release(context: Context, number: int, listed: dict[str, Any] | None) -> None:
    pull = listed or context.payload.get("pull_request")
    merge_sha = pull.get("merge_commit_sha") if isinstance(pull, dict) else None
    state = await ReleaseState.load(context, release_key(context.repository, number))
    async with reading_ahead() as reads:
        config_commit = state.config_commit or merge_sha
        if isinstance(config_commit, str):
            start_reading_config(reads, context.github, context.repository, config_commit)
        if isinstance(merge_sha, str):
            # The tree the version files are read from and the commit naming the base's,
            # beside the pull request (a merged one's merge commit never changes); which
            # files, the config says.
            start_reading_tree(reads, context.github, context.repository, merge_sha)
            start_reading_commit(reads, context.github, context.repository, merge_sha)
        try:
            pull = await context.github.get_json(f"/repos/{context.repository}/pulls/{number}")
            if not pull["merged"]:
                return
            merge_sha = pull["merge_commit_sha"]
            if state.labels is not None:
                # Relabelled since: the severity, the notices and the record stay the first's.
                pull = {**pull, "labels": [{"name": name} for name in state.labels]}
            plan = await _plan_for(context, pull, reads, state)
        except Exception as error:
            # A merge that is no hotfix gets no hotfix-release run.
            if (
                isinstance(pull, dict)
                and is_final(context, error)
                and await _is_hotfix_merge(context, pull, reads)
            ):
                await report_failure(
                    context, CHECK_NAME, merge_sha, error, "Could not run the post-merge steps"
                )
            raise
        if plan is None:
            return
        if isinstance(plan, Report):
            # Published outside the `try`: a report comment GitHub refuses is said on the
            # run, which must keep naming the config's problem rather than the refusal.
            await _publish(context, number, merge_sha, plan, reads)
            context.log.warning("pull request #%d: %s", number, plan.output.title)
            return
        if plan.merged_at is not None:
            production = plan.config.branches.production
            # Opened too: an evaluation writes it, but a pull request may merge before any ran.
            events = [] if plan.opened_at is None else [opened(plan.opened_at, plan.author)]
            dormant = plan.dormant_break_glass
            if dormant is not None:
                # Its own row says the glass was broken; this one, that it waived nothing here.
                events.append(glass_not_in_force(dormant.glass, dormant.comment_id, plan.merged_at))
            events.append(merged_into(production, plan.merged_by, plan.short_sha, plan.merged_at))
            await timeline.record(context, number, events)
        merged_at = timestamp(pull.get("merged_at")) or context.now()
        await verbal_approvals.schedule_confirmation_reminder(context, plan, merged_at)
        _look_up_report_places(context, reads, number, plan.merge_sha, state)
        outcomes = await run_steps(context, plan, state, steps.STEPS, reads)
        await _resume_after_the_wait(context, number, outcomes)
        report = steps_report(plan, outcomes, resumes_by_itself=True)
        await _publish(context, number, plan.merge_sha, report, reads, state)
        context.log.info("pull request #%d: %s", number, report.output.title)
        if tagged(outcomes):
            await recheck_after_tag(context, plan)


async def _plan_for(
    context: Context, pull: dict[str, Any], reads: Reads, state: ReleaseState
) -> ReleasePlan | Report | None:
    """What the post-merge run will do; None when there is nothing to do, or the report to
    publish when the config of a hotfix's merge cannot be used. The looks of the steps
    `state` does not keep finished are started in `reads` as soon as they can be. The first
    run keeps in `state` the commit of the config and the labels it planned by."""
    as_merged = asyncio.ensure_future(_config_as_merged(context, pull, reads, state))
    try:
        guess = None if state.config_commit else await _config_left_by_merge(context, pull, reads)
        # The steps' reads start on the file the merge left while the one it was judged by
        # is read: the same, unless the hotfix changed it.
        guessed = None if guess is None else await _plan_by(context, pull, guess, reads, state)
        config, config_commit = await as_merged
    except ConfigError as error:
        if not await _is_hotfix_merge(context, pull, reads):
            return None
        return config_problem_report(pull["html_url"], pull["base"]["ref"], error)
    finally:
        as_merged.cancel()  # the guess's plan failed first: the run stops here
    plan = guessed if config == guess else await _plan_by(context, pull, config, reads, state)
    if isinstance(plan, ReleasePlan) and (state.config_commit is None or state.labels is None):
        # Kept before any step runs: a retry after a crash follows them too.
        state.config_commit, state.labels = config_commit, labels_of(pull)
        await state.save(context)
    return plan


async def _config_left_by_merge(
    context: Context, pull: dict[str, Any], reads: Reads
) -> HotfixConfig | None:
    """The config at the merge commit, whose tree is read ahead; None when it cannot be used."""
    default_branch = pull["base"]["repo"]["default_branch"]
    try:
        return await config_at(
            context.github, context.repository, pull["merge_commit_sha"], default_branch, reads
        )
    except ConfigError:
        return None


async def _plan_by(
    context: Context,
    pull: dict[str, Any],
    config: HotfixConfig,
    reads: Reads,
    state: ReleaseState,
) -> ReleasePlan | Report | None:
    """`_plan_for` by `config`."""
    number = pull["number"]
    if not is_production_hotfix(config, pull):
        context.log.info("pull request #%d is not a hotfix merged into production", number)
        return None
    several = several_reverted(config, context.repository, pull)
    if several:
        return several_reverted_report(pull, pull["base"]["ref"], several)
    # One that looks like a rollback but is none is judged as any pull request.
    reverted = await read_rolled_back_hotfix(context.github, context.repository, config, pull)
    rolled_back = await _rolled_back(context, pull, config, reverted, reads)
    if rolled_back is None and not is_hotfix(config, pull["head"]["ref"], labels_of(pull)):
        context.log.info("pull request #%d is neither a hotfix nor a rollback", number)
        return None
    severity = verbal_approvals.approvals_severity(config, pull, reverted)
    return await _plan(context, pull, config, reads, state, rolled_back, severity)


async def _config_as_merged(
    context: Context, pull: dict[str, Any], reads: Reads, state: ReleaseState
) -> tuple[HotfixConfig, str]:
    """The config the post-merge run of `pull` follows, and the commit it is read at
    (docs/BEHAVIOUR.md, "Where it is read"): the one `state` keeps, when a run planned the
    steps already; else the production branch's as of the merge, at the merge commit's first
    parent, which the hotfix-policy check read. When that file cannot be used, the production
    branch's now: the file of then can never be fixed, the branch's can. `ConfigError` when
    neither can be used, naming the problems of the branch's now."""
    github, repository = context.github, context.repository
    default_branch = pull["base"]["repo"]["default_branch"]
    if state.config_commit is not None:
        commit = state.config_commit
        return await config_at(github, repository, commit, default_branch, reads), commit
    commit = await first_parent(reads, github, repository, pull["merge_commit_sha"])
    try:
        return await config_at(github, repository, commit, default_branch, reads), commit
    except ConfigError:
        branch = path_part(pull["base"]["ref"])
        ref = await github.get_json(f"/repos/{repository}/git/ref/heads/{branch}")
        commit = ref["object"]["sha"]
        return await config_at(github, repository, commit, default_branch, reads), commit


async def _is_hotfix_merge(context: Context, pull: dict[str, Any], reads: Reads) -> bool:
    """Whether `pull`, merged, is a hotfix into the production branch, when the run cannot go
    on (docs/BEHAVIOUR.md, "Which merges"): judged by the production branch's config as of
    the merge (at the merge commit's first parent), which its hotfix-policy check read; when
    that cannot be used, by the branch's now; by the defaults only when neither can be read.
    An unusable file must not hide a hotfix merge, nor may the defaults make a hotfix of
    another merge."""
    github, repository = context.github, context.repository
    default_branch = pull["base"]["repo"]["default_branch"]

    async def as_merged() -> HotfixConfig:
        before = await first_parent(reads, github, repository, pull["merge_commit_sha"])
        return await config_at(github, repository, before, default_branch, reads)

    async def now() -> HotfixConfig:
        return await base_config(github, repository, pull, reads)

    for config in (as_merged, now):
        try:
            return is_production_hotfix(await config(), pull)
        except (ConfigError, RequestError, MalformedAnswer):
            continue  # the next best evidence
    return is_production_hotfix(load_config(None, default_branch), pull)


async def has_post_merge_run(context: Context, config: HotfixConfig, pull: dict[str, Any]) -> bool:
    """Whether `pull` (as the API gives it), merged, gets a post-merge run of its own: a
    hotfix into the production branch, or a rollback of a merged hotfix (what `_plan_for`
    finds), or of more than one (its report); one that only looks like a rollback gets none."""
    if not is_production_hotfix(config, pull):
        return False
    if is_hotfix(config, pull["head"]["ref"], labels_of(pull)):
        return True
    if several_reverted(config, context.repository, pull):
        return True  # its run says why it rolls back none
    return (
        await read_rolled_back_hotfix(context.github, context.repository, config, pull) is not None
    )


async def _rolled_back(
    context: Context,
    pull: dict[str, Any],
    config: HotfixConfig,
    reverted: RevertedPull | None,
    reads: Reads,
) -> RolledBack | None:
    """The hotfix a rollback reverts (`reverted`, as `read_rolled_back_hotfix` reads it), with
    its tag; None when the pull request is no rollback of a hotfix merged into the production
    branch."""
    repository, body = context.repository, pull.get("body") or ""
    if reverted is None or reverted.merge_commit_sha is None:
        return None
    merge_sha = reverted.merge_commit_sha
    merged_at = timestamp(pull.get("merged_at"))
    version, its_run, earlier = await asyncio.gather(
        _released_version(context.github, repository, config, merge_sha, reads),
        ReleaseState.load(context, release_key(repository, reverted.number)),
        timeline.earlier_rollback(context, reverted.number, pull["number"], merged_at),
    )
    version_tag = None if version is None else tag_name(config, str(version))
    tag_of_another = await _tag_of_another(
        context.github, repository, version_tag, its_run, merge_sha
    )
    labelled = single_severity(config, reverted.labels)
    return RolledBack(
        number=reverted.number,
        title=reverted.title,
        author=reverted.author,
        severity=labelled[0] if labelled else None,
        merge_sha=merge_sha,
        tag=None if tag_of_another is not None else version_tag,
        tag_of_another=tag_of_another,
        reason=rollback_reason(body),
        report=incident_report.recorded_report(its_run.steps.get(incident_report.STEP.key)),
        earlier=earlier,
    )


async def _tag_of_another(
    github: InstallationClient,
    repository: str,
    version_tag: str | None,
    its_run: ReleaseState,
    merge_sha: str,
    reads: Reads | None = None,
) -> TagOfAnother | None:
    """`version_tag`, the tag of the version a hotfix merged as `merge_sha` released, when it
    names another commit: the hotfix was never released under it. None when it is the hotfix's
    own: its run's tag step (as `its_run` keeps it) made it or found it there; it names the
    merge commit (made by hand, before hotfix-bot ran, or the journal is gone); or it is not
    made yet (the hotfix's run is still to come, and will make it)."""
    if version_tag is None:
        return None
    made = its_run.steps.get(tag.STEP.key)
    if made is not None and made.status.finished:
        return None
    commit = await tag.tagged_commit(github, repository, version_tag, reads)
    if commit is None or commit == merge_sha:
        return None
    return TagOfAnother(version_tag, commit)


async def _plan(
    context: Context,
    pull: dict[str, Any],
    config: HotfixConfig,
    reads: Reads,
    state: ReleaseState,
    rolled_back: RolledBack | None,
    severity: SeverityPolicy | None,
) -> ReleasePlan:
    """`severity`: the one the verbal approvals and the break-glass were counted under
    (`verbal_approvals.approvals_severity`)."""
    github, repository, merge_sha = context.github, context.repository, pull["merge_commit_sha"]
    # Keyed by what of `config` each read depends on: a plan begun on the config the merge
    # left shares them with the plan of the config judged by only where the two agree.
    prefix = config.branches.release_prefix if config.workflow == "gitflow" else None
    release_branches = reads.start(
        ("release branches", repository, prefix),
        lambda: back_merge.release_branches(github, repository, config),
    )
    released = reads.start(
        ("released version", repository, merge_sha, tuple(version_files_to_read(config))),
        lambda: _released_version(github, repository, config, merge_sha, reads),
    )
    merged_files, records, last_result = await asyncio.gather(
        start_reading_files(reads, github, repository, merge_sha, version_files_to_read(config)),
        PullRecords.load(context, pull["number"]),
        PolicyResult.load(context, pull["number"]),
    )
    # Only a break-glass in force at the merge waived anything: one the merged severity allows
    # none of left the rules to decide, whatever it waived while it was in force.
    recorded_glass = records.break_glass
    glass = recorded_glass if allows_break_glass(severity) else None
    waived = await Waived.load(context, pull["number"], glass) if glass else Waived()
    verbal = await verbal_approvals.counted_at_merge(context, pull, records.verbal, severity)
    base_repo, head_repo = pull["base"]["repo"], pull["head"].get("repo")
    labelled = labelled_severities(config, labels_of(pull))
    plan = ReleasePlan(
        repository=repository,
        repository_url=base_repo["html_url"],
        number=pull["number"],
        title=pull["title"],
        author=login_of(pull["user"]),
        hotfix_url=pull["html_url"],
        merge_sha=merge_sha,
        head_ref=pull["head"]["ref"],
        head_sha=pull["head"]["sha"],
        head_repository=head_repo["full_name"] if head_repo else None,
        head_in_repository=head_repo is not None and head_repo["id"] == base_repo["id"],
        default_branch=base_repo["default_branch"],
        config=config,
        # Until the version files before the merge are read: the merge commit's first
        # readable one, the version released unless the hotfix added a version file. The
        # looks start on it; run_steps starts those of another.
        version=declared_version(config, merged_files),
        # Until the release branches are listed: no look of a step reads the back-merge
        # target, and one that did would be of the development branch, not used for another.
        back_merge_target=config.branches.development,
        verbal_approvals=tuple(verbal),
        break_glass=glass,
        dormant_break_glass=recorded_glass if glass is None else None,
        waived=waived,
        rolled_back=rolled_back,
        # With several severity labels, the record takes the first in the config's order (the
        # most severe in the defaults') and says so: a hotfix merged still gets its report.
        severity=labelled[0] if labelled else None,
        labelled_severities=tuple(labelled),
        opened_at=timestamp(pull.get("created_at")),
        merged_at=timestamp(pull.get("merged_at")),
        merged_by=(pull.get("merged_by") or {}).get("login"),
        failing_at_merge=(
            last_result
            if last_result is not None and last_result.failed_on(pull["head"]["sha"])
            else None
        ),
    )
    start_looks(context, plan, state, steps.STEPS, reads)
    plan = dataclasses.replace(plan, version=await released)
    names_another = await _tag_names_another(github, plan, state, reads)
    plan = dataclasses.replace(plan, tag_names_another=names_another)
    previous = state.steps.get(back_merge.STEP.key)
    return await back_merge.with_target(github, reads, plan, previous, await release_branches)


async def _tag_names_another(
    github: InstallationClient, plan: ReleasePlan, state: ReleaseState, reads: Reads
) -> bool:
    """Whether the tag of the version `plan` releases names another commit than its merge
    commit (`_tag_of_another`), with the tag step's look, started with the run. GitHub
    refusing it is the tag step's failure to report, which stops no other step
    (docs/BEHAVIOUR.md, section 5): planned as if the tag were its own."""
    try:
        named = await _tag_of_another(
            github, plan.repository, plan.tag, state, plan.merge_sha, reads
        )
    except RequestFailed:
        return False
    return named is not None


async def _released_version(
    github: InstallationClient, repository: str, config: HotfixConfig, merge_sha: str, reads: Reads
) -> Version | None:
    """The version the hotfix merged as `merge_sha` releases, read as `version-bump` read the
    head's: of the version files the production branch had before the merge (in the merge
    commit's first parent; one the hotfix added is not one), the first readable at the merge
    commit. The tag made is the one the check approved."""
    paths = version_files_to_read(config)

    async def base_files() -> dict[str, FileText]:
        before = await first_parent(reads, github, repository, merge_sha)
        return await start_reading_files(reads, github, repository, before, paths)

    before, after = await asyncio.gather(
        base_files(), start_reading_files(reads, github, repository, merge_sha, paths)
    )
    return head_version(config, before, after)


async def run_steps(
    context: Context,
    plan: ReleasePlan,
    state: ReleaseState,
    registered: Sequence[Step],
    reads: Reads,
) -> StepOutcomes:
    """`registered` steps, each resumed from its journaled outcome, each started as soon as
    the steps it needs have ended (those that need nothing of each other run at once);
    listed in `registered`'s order. Those whose `applies` refuses the plan neither run nor
    are reported, and a step that needs one of them does not wait for it. The looks of the
    steps still to run start at once, in `reads`.

    A failure that may pass stops nothing already started: the steps under way end, and
    what they did is kept, before it is raised (the worker retries the whole run, and
    finished steps are not redone); the steps that need the failed one do not start."""
    start_looks(context, plan, state, registered, reads)
    started: dict[str, asyncio.Task[StepOutcome]] = {}
    for step in registered:
        if step.applies(plan):
            # Each task looks its needs up in `started` once it runs: by then all are in it.
            started[step.key] = asyncio.create_task(
                _run_step(context, plan, state, step, started, reads)
            )
    try:
        await asyncio.gather(*started.values(), return_exceptions=True)
    finally:
        for task in started.values():
            task.cancel()  # the run itself was cancelled: none of its steps goes on
    for task in started.values():  # the first failure in the list's order
        error = task.exception()
        if error is not None and not isinstance(error, _NeedNotRun):
            raise error
    return [(step, started[step.key].result()) for step in registered if step.key in started]


class _NeedNotRun(Exception):
    """A step that needs another did not run: that one stopped the run with an error that
    may pass."""


async def _run_step(
    context: Context,
    plan: ReleasePlan,
    state: ReleaseState,
    step: Step,
    started: dict[str, asyncio.Task[StepOutcome]],
    reads: Reads,
) -> StepOutcome:
    if _finished(state, step):
        kept = state.steps[step.key]
        # Its row again (a row is added once): a run stopped between the outcome and the row
        # would have lost it for good.
        await _record_in_timeline(context, plan, step, kept)
        return kept
    previous = state.steps.get(step.key)
    # The steps it needs, and theirs: it may read the outcome of any of them.
    needed = {key: started[key] for key in step.all_needs & started.keys()}
    if needed:
        await asyncio.wait(needed.values())
    if any(task.exception() is not None for task in needed.values()):
        raise _NeedNotRun
    earlier = {key: task.result() for key, task in needed.items()}
    outstanding_needs = tuple(
        need.key
        for need in step.needs
        if need.key in earlier and earlier[need.key].status.outstanding
    )
    try:
        run = StepRun(context.github, plan, previous, outstanding_needs, context, earlier, reads)
        outcome = await step.action(run)
    except StepCommandsKnown as known:
        outcome = _failed(context, step, known.error, known.commands, known.link)
    except Exception as error:
        outcome = _failed(context, step, error)
    state.steps[step.key] = outcome
    await _record_in_timeline(context, plan, step, outcome)
    await state.save(context)
    return outcome


def _failed(
    context: Context,
    step: Step,
    error: Exception,
    commands: tuple[str, ...] | None = None,
    link: Link | None = None,
) -> StepOutcome:
    """The outcome of `step` stopped by `error`, with the `commands` that finish it by hand
    when it knew them, linking the `link` it was changing; `error` itself when it may pass and
    the run has attempts left."""
    now = context.clock()
    transience = transience_of(error, now)
    if transience.retriable and not context.last_attempt:
        raise error  # the worker retries the whole run; finished steps are not redone
    # A failure that is not GitHub's answer is a bug: keep its traceback.
    reason = describe_with_wait(error, now)
    context.log.warning(
        "step %s failed: %s",
        step.key,
        reason,
        exc_info=not transience.transient and not isinstance(error, RequestFailed),
    )
    long_wait = transience.long_wait(now)
    waits_until = None if long_wait is None else long_wait.until
    if (turned_off := issues_turned_off(error)) is not None:
        # `gh issue` commands would fail the same way: say what to turn on instead.
        by_hand = (
            f"Issues are turned off in `{context.repository}` (GitHub: *{turned_off}*), so "
            "neither hotfix-bot nor `gh issue` can open or comment on an issue there. Turn them "
            "on (the repository's *Settings*, *General*, *Features*, *Issues*), then re-run "
            f"the `{CHECK_NAME}` check: it does what waits for them."
        )
        return StepOutcome(StepStatus.FAILED, reason, link, by_hand, waits_until=waits_until)
    return StepOutcome(StepStatus.FAILED, reason, link, commands=commands, waits_until=waits_until)


async def _record_in_timeline(
    context: Context, plan: ReleasePlan, step: Step, outcome: StepOutcome
) -> None:
    """The row of `step` in the hotfix's timeline, when it is one the timeline records."""
    if plan.number is not None and step in steps.IN_TIMELINE and outcome.status.happened:
        event = step_finished(step.key, step.title, outcome.status, outcome.detail, context.now())
        await timeline.record(context, plan.number, [event])


def start_looks(
    context: Context,
    plan: ReleasePlan,
    state: ReleaseState,
    registered: Sequence[Step],
    reads: Reads,
) -> None:
    """Start the looks (`Step.looks`) of the `registered` steps that apply to `plan` and are
    still to run, in `reads`, where their actions will find them."""
    for step in registered:
        if step.applies(plan) and not _finished(state, step):
            for look in step.looks(plan):
                look.start(reads, context.github)


def _finished(state: ReleaseState, step: Step) -> bool:
    """Whether the journal keeps an outcome of `step` that a re-run does not look at again."""
    previous = state.steps.get(step.key)
    return previous is not None and previous.status.finished


def _look_up_report_places(
    context: Context, reads: Reads, number: int, merge_sha: str, state: ReleaseState
) -> None:
    """Start looking for the report's comment (unless its id is kept) and check run, so that
    `_publish` finds them looked up while the steps ran."""
    if state.comment_id is None:
        look_for_comment(reads, context, number)
    find_check_run(reads, context, CHECK_NAME, merge_sha)


async def _publish(
    context: Context,
    number: int,
    merge_sha: str,
    report: Report,
    reads: Reads,
    state: ReleaseState | None = None,
) -> None:
    """The comment and the check run, written at once; the comment's id is kept as soon as
    it is known, whatever happens to the check run. When GitHub will not take the comment (a
    refusal, or a failure on the last attempt), the run is written once more to say so: it is
    then the only copy of the report. The delivery still fails, with the comment's error."""
    state = state or await ReleaseState.load(context, release_key(context.repository, number))

    async def comment() -> None:
        body = comment_body(report)
        try:
            state.comment_id = await write_comment(context, number, body, state.comment_id, reads)
        except Exception as error:
            if is_final(context, error):
                raise _CommentNotPosted(error) from error
            raise
        await state.save(context)

    try:
        await both(comment(), write_report_run(context, merge_sha, report, reads))
    except _CommentNotPosted as not_posted:
        answer = describe_with_wait(not_posted.error, context.clock())
        await write_report_run(context, merge_sha, without_comment(report, number, answer), reads)
        raise not_posted.error from None


class _CommentNotPosted(Exception):
    """GitHub will not take the report comment, for the reason `error` gives."""

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


async def write_report_run(
    context: Context,
    head_sha: str,
    report: Report,
    reads: Reads | None = None,
    *,
    only_over: Replaces | None = None,
) -> int | None:
    """The `hotfix-release` run of `head_sha`, showing `report`; with `reads`, the look-up
    of the run `find_check_run` started there is used. `only_over`: as `write_check_run`
    takes it."""
    return await write_check_run(
        context,
        CHECK_NAME,
        head_sha,
        report.output,
        conclusion=report.conclusion,
        details_url=report.details_url,
        reads=reads,
        only_over=only_over,
    )

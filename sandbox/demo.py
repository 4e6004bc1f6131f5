"""`hotfix-bot demo`: one hotfix through the seed's Git Flow, rehearsed on this machine.

The real service (`create_app`, served by uvicorn) runs against the project's fake GitHub,
both on loopback, and receives signed webhooks over HTTP as GitHub would send them. No
GitHub account and no settings are needed: nothing is read from the environment or `.env`,
and the temporary directory with the journal is removed at the end. The service and the
fake keep one clock, which the incident story moves on instead of waiting for hours, and
every story a few minutes between its steps. Each story ends with the incident report issue,
read back from the fake GitHub and printed as GitHub shows it.
"""

from __future__ import annotations

import io
import itertools
import re
import secrets
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from app import logs
from app.cli import list_timers
from app.handlers.check_output import CHECK_NAME as POLICY_CHECK
from app.handlers.check_output import CheckOutput
from app.handlers.release.plan import CHECK_NAME as RELEASE_CHECK
from app.handlers.release.report import COMMENT_MARKER, Report, comment_body
from app.handlers.release.steps.incident_report import LABEL as INCIDENT_LABEL
from app.handlers.release.steps.verbal_approvals import (
    CONFIRMATION_REMINDER,
    CONFIRMATION_REMINDER_AFTER,
)
from app.intake.delivery import event_label
from app.intake.server import create_app
from app.journal import Journal, open_journal
from app.settings import Settings
from policies.clock import ESCALATION
from policies.config import load_config
from policies.rules import RULES
from policies.wording import duration_words, join_words
from sandbox import (
    FakeCheckRun,
    FakeComment,
    FakeGitHub,
    FakeIssue,
    FakePull,
    FakeRepo,
    serve_asgi,
    serve_fake,
)
from sandbox.markdown import render, section
from sandbox.repo import Role
from sandbox.scenarios import SCENARIOS, Scenario
from sandbox.webhooks import post_delivery, wait_until_settled

OWNER = "acme"
REPOSITORY = f"{OWNER}/widgets"
DEVELOPER, LEAD, PRODUCT_MANAGER = "dana", "lena", "pat"
TEAMS = {"engineering-leads": [LEAD], "product-managers": [PRODUCT_MANAGER]}
# The incident story's people: its on-call manager, and a maintainer on the incident bridge.
ON_CALL, MAINTAINER = "omar", "maya"
INCIDENT_TEAMS = {**TEAMS, "on-call-managers": [ON_CALL]}
COLLABORATORS: dict[str, Role] = {
    DEVELOPER: "write",
    LEAD: "write",
    ON_CALL: "write",
    MAINTAINER: "maintain",
}
BAD_BRANCH, BRANCH = "hotfix/Security_Patch", "hotfix/security-patch"
TITLE = "Fix SQL injection in the user lookup"
TAG = "v1.2.4"
ROLLBACK_VERSION, ROLLBACK_TAG = "1.2.5", "v1.2.5"
ROLLBACK_REASON = "user lookups timing out on the production database since v1.2.4."
# The rollback notice's first line (docs/BEHAVIOUR.md, "Rollbacks").
ROLLBACK_NOTICE = "🔄 ROLLBACK COMPLETE"
PASSING = f"All {len(RULES)} rules pass"
# Generous: on a loaded CI machine one evaluation still takes well under a second.
SETTLE_TIMEOUT = 20.0
# How far short of a timer's due time the demo sets the clocks: the worker looks at the
# journal at least once a second, so it then fires the timer within moments of its time.
SHORT_OF_DUE = 0.5
# Between two steps of a story, on the demo's clock: short of any escalation step's time.
STEP_PAUSE = timedelta(minutes=3)
INDENT = "      "

VULNERABLE_LOOKUP = """def find_user(cursor, name):
    return cursor.execute(f"SELECT * FROM users WHERE name = '{name}'").fetchone()
"""
FIXED_LOOKUP = """def find_user(cursor, name):
    return cursor.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
"""


class DemoFailure(Exception):
    """A step did not end as expected; the message says which step and what was seen."""


class DemoClock:
    """The time hotfix-bot's journal and the fake GitHub both keep: this machine's, moved on
    by what the demo skips, so that the wait for a timer costs none."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return time.time() + self.skipped

    def moment(self) -> datetime:
        """The time as the fake GitHub stamps pull requests, reviews and comments."""
        return datetime.fromtimestamp(self(), UTC)


class DemoSettings(Settings):
    """Settings given in code only: the demo reads neither the environment nor `.env`."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def run(scenario_name: str = "quickstart") -> int:
    """The whole rehearsal; 0 only when every step ended as expected."""
    scenario = SCENARIOS[scenario_name]
    logs.configure("warning", "console")  # only problems reach the terminal
    try:
        with (
            tempfile.TemporaryDirectory(prefix="hotfix-bot-demo-") as workdir,
            rehearsal(Path(workdir), scenario) as demo,
        ):
            walk_hotfix(demo, scenario)
    except DemoFailure as failure:
        print(f"\nhotfix-bot demo FAILED: {failure}", file=sys.stderr)
        return 1
    print("\nEvery step ended as expected.")
    return 0


@dataclass
class Rehearsal:
    """The fake GitHub's state, and the way deliveries reach the running service."""

    fake: FakeGitHub
    repo: FakeRepo
    journal: Journal
    client: httpx.Client
    webhook_url: str
    webhook_secret: str
    settings: Settings
    clock: DemoClock
    steps: int  # how many the story has
    step: str = "setup"
    _delivery_numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def begin(self, number: int, headline: str) -> None:
        if number > 1:
            # People take minutes between one step and the next; without them every time
            # hotfix-bot records, and the incident report shows, would fall in one second.
            self.clock.skipped += STEP_PAUSE.total_seconds()
        self.step = f"step {number}"
        print(f"\n== Step {number}/{self.steps}: {headline} ==\n")

    def expect(self, condition: bool, what: str) -> None:
        if not condition:
            raise DemoFailure(f"{self.step}: expected {what}")

    def deliver(self, event: str, payload: dict[str, Any]) -> None:
        """Send one delivery signed as GitHub signs it; the service journals it (202)."""
        delivery_id = f"demo-{next(self._delivery_numbers)}"
        answer = post_delivery(
            self.client, self.webhook_url, self.webhook_secret, event, payload, delivery_id
        )
        label = event_label(event, payload.get("action"))
        self.expect(answer.status_code == 202, f"202 for {label}, got {answer.status_code}")
        number = (payload.get("pull_request") or payload["issue"])["number"]
        print(f"  -> {label:<29} #{number}  {answer.status_code} {answer.json()['status']}")

    def skip_to_timer(self, kind: str) -> None:
        """Move hotfix-bot's clock, and GitHub's, on to the soonest timer of `kind`, and wait
        until it has fired and run: a wait of hours costs a moment."""
        waiting = [entry for entry in self.journal.timers("scheduled") if entry.timer.kind == kind]
        self.expect(bool(waiting), f"a {kind} timer scheduled in the journal")
        entry = waiting[0]
        due = datetime.fromtimestamp(entry.timer.due_at, UTC)
        print(f"  (the demo moves the clocks on to {due:%Y-%m-%d %H:%M:%S} UTC: {entry.timer.id})")
        # Just short of it, so that it fires on time, as it would have after the real wait.
        self.clock.skipped += entry.timer.due_at - SHORT_OF_DUE - self.clock()
        time.sleep(SHORT_OF_DUE)
        self.settle()

    def comments_when_timer_fires(self, kind: str, pull: FakePull) -> list[FakeComment]:
        """The comments on `pull` that the soonest timer of `kind` posts (`skip_to_timer`)."""
        seen = len(self.repo.comments_on(pull.number))
        self.skip_to_timer(kind)
        return self.repo.comments_on(pull.number)[seen:]

    def settle(self) -> None:
        """Wait until the service has run every delivery, and none of them failed."""
        try:
            wait_until_settled(self.journal, SETTLE_TIMEOUT)
        except TimeoutError as error:
            raise DemoFailure(f"{self.step}: {error}") from None
        failed = self.journal.recent("failed", 1)
        if failed:
            raise DemoFailure(
                f"{self.step}: delivery {failed[0].id} failed: {failed[0].last_error}"
            )

    def check_run(self, name: str, head_sha: str) -> FakeCheckRun:
        runs = self.repo.runs_named(name, head_sha)
        self.expect(len(runs) == 1, f"one {name} check run on {head_sha[:7]}, found {len(runs)}")
        return runs[0]

    def pull_request_event(self, pull: FakePull, action: str, **extra: Any) -> None:
        self.deliver(
            "pull_request", self.fake.pull_request_event(self.repo, pull.number, action, **extra)
        )

    def approve(self, pull: FakePull, login: str) -> None:
        self.repo.review(pull.number, login, "APPROVED", body="Approved for the hotfix.")
        self.deliver("pull_request_review", self.fake.review_event(self.repo, pull.number))


@contextmanager
def rehearsal(workdir: Path, scenario: Scenario) -> Iterator[Rehearsal]:
    """The fake GitHub and hotfix-bot, each served on a free loopback port."""
    clock = DemoClock()
    fake = FakeGitHub()
    fake.clock = clock.moment
    github_app = fake.create_app()  # a fresh RSA key for this run
    installation_id = fake.add_installation(github_app.id, account=OWNER)
    for slug, members in teams_of(scenario).items():
        fake.add_team(OWNER, slug, members)
    repo = seed_repository(fake, installation_id, scenario)
    webhook_secret = secrets.token_hex(20)
    with serve_fake(fake) as api_url:
        settings = DemoSettings(
            APP_ID=github_app.id,
            PRIVATE_KEY=github_app.private_key_pem,
            WEBHOOK_SECRET=webhook_secret,
            GITHUB_API_URL=api_url,
            DATABASE_URL=f"sqlite:///{workdir / 'journal.db'}",
            LOG_LEVEL="warning",
        )
        # The journal is passed in so the demo can see when every delivery has run, and
        # keeps the demo's clock, by which the worker fires timers.
        journal = open_journal(settings.database_url, clock=clock)
        service = create_app(settings, journal=journal)
        with (
            serve_asgi(service, thread_name="hotfix-bot") as service_url,
            httpx.Client(timeout=10) as client,
        ):
            print_setting(repo, api_url, service_url, scenario)
            yield Rehearsal(
                fake,
                repo,
                journal,
                client,
                service_url + settings.webhook_path,
                webhook_secret,
                settings,
                clock,
                scenario.steps,
            )


def teams_of(scenario: Scenario) -> dict[str, list[str]]:
    return INCIDENT_TEAMS if scenario.incident else TEAMS


def seed_repository(fake: FakeGitHub, installation_id: int, scenario: Scenario) -> FakeRepo:
    """`main` released as 1.2.3; `develop` a feature ahead, so the back-merge is a real merge,
    and with the scenario's own version."""
    repo = fake.add_repo(
        REPOSITORY,
        installation_id,
        files={
            "README.md": "# widgets\n",
            "VERSION": "1.2.3\n",
            "widgets/users.py": VULNERABLE_LOOKUP,
        },
    )
    repo.create_tag("v1.2.3", "main", "Release 1.2.3")
    repo.collaborators[DEVELOPER] = "write"  # she pushes the hotfix branch
    repo.create_branch("develop", "main")
    repo.commit(
        "develop",
        {"widgets/search.py": "def search(cursor, text): ...\n"},
        "feat: search widgets by name",
        author=DEVELOPER,
    )
    if scenario.develop_version is not None:
        repo.commit(
            "develop",
            {"VERSION": scenario.develop_version},
            f"chore: start {scenario.develop_version.strip()}",
            author=DEVELOPER,
        )
    if scenario.incident:  # comment commands need write access
        repo.collaborators.update(COLLABORATORS)
    return repo


def print_setting(repo: FakeRepo, api_url: str, service_url: str, scenario: Scenario) -> None:
    print("hotfix-bot demo: one hotfix through Git Flow, against a fake GitHub on this machine\n")
    print(f"  fake GitHub    {api_url}  (an App with a fresh key, installed on {OWNER})")
    print(f"  hotfix-bot     {service_url}  (the real service; deliveries are signed webhooks)")
    teams = "; ".join(
        f"{slug}: {', '.join(members)}" for slug, members in teams_of(scenario).items()
    )
    print(f"  teams          {teams}")
    if scenario.incident:
        roles = "; ".join(f"{login}: {role}" for login, role in COLLABORATORS.items())
        print(f"  collaborators  {roles}")
    print(f"  {REPOSITORY:<14} {branch_line(repo, 'main')}, VERSION 1.2.3, tagged v1.2.3")
    print(f"  {'':<14} {branch_line(repo, 'develop')}, {scenario.develop_setting}")


def branch_line(repo: FakeRepo, name: str) -> str:
    commit = repo.get_commit(name)
    return f"{name} {commit.sha[:7]} ({commit.message.splitlines()[0]})"


def print_check_run(run: FakeCheckRun, branch: str) -> None:
    """A check run as GitHub's Checks tab shows it: name, state, title, then the summary."""
    state = run.status if run.conclusion is None else f"{run.status}: {run.conclusion}"
    print(f"\n  {run.name} on {run.head_sha[:7]} ({branch}) is {state}")
    print(f"  {run.output.get('title', '')}\n")
    print(textwrap.indent(run.output.get("summary", ""), INDENT))


def print_comment(comment: FakeComment) -> None:
    """A comment as GitHub shows it: its author, then its text without the hidden markers."""
    print(f"\n  {comment.author} commented on #{comment.issue_number}:\n")
    print(textwrap.indent(re.sub(r"<!--.*?-->\n?", "", comment.body, flags=re.DOTALL), INDENT))


def walk_hotfix(demo: Rehearsal, scenario: Scenario) -> None:
    if scenario.incident:
        walk_incident(demo)
    else:
        first = open_with_bad_branch(demo)
        pull = rename_label_and_bump(demo, first)
        waiting_for_manager = ("in_progress", "Waiting for approval: Product Manager")
        approval_step(demo, pull, 3, LEAD, "Engineering Lead", waiting_for_manager)
        approval_step(demo, pull, 4, PRODUCT_MANAGER, "Product Manager", ("success", PASSING))
        merge_and_release(demo, pull, scenario)
        if scenario.rollback:
            walk_rollback(demo, pull)
    print_final_refs(demo.repo)
    print_incident_reports(demo.repo)


def commit_the_fix(repo: FakeRepo, branch: str) -> None:
    """The developer's fix of the SQL injection, on `branch`, made from main."""
    repo.create_branch(branch, "main")
    repo.commit(
        branch,
        {"widgets/users.py": FIXED_LOOKUP},
        "fix: resolve SQL injection vulnerability",
        author=DEVELOPER,
    )


def open_with_bad_branch(demo: Rehearsal) -> FakePull:
    repo = demo.repo
    demo.begin(1, f"{DEVELOPER} opens a pull request from {BAD_BRANCH}, no labels, no bump")
    commit_the_fix(repo, BAD_BRANCH)
    pull = repo.open_pull(BAD_BRANCH, "main", title=TITLE, author=DEVELOPER)
    demo.pull_request_event(pull, "opened", sender=DEVELOPER)
    demo.settle()
    run = demo.check_run(POLICY_CHECK, pull.head_sha)
    print_check_run(run, BAD_BRANCH)
    title, summary = run.output.get("title", ""), run.output.get("summary", "")
    demo.expect(run.conclusion == "failure", f"a failing {POLICY_CHECK}, got {run.conclusion}")
    for rule in ("branch-name", "labels", "version-bump"):
        demo.expect(rule in title, f"the title to name the failing rule {rule}: {title!r}")
    demo.expect("## How to fix" in summary, "a How to fix section in the summary")
    return pull


def rename_label_and_bump(demo: Rehearsal, first: FakePull) -> FakePull:
    """What the check's how-to-fix says: a new pull request from the renamed branch."""
    repo = demo.repo
    demo.begin(2, f"{DEVELOPER} renames to {BRANCH}, bumps VERSION to 1.2.4, labels hotfix + P1")
    repo.create_branch(BRANCH, first.head_sha)
    repo.commit(BRANCH, {"VERSION": "1.2.4\n"}, "chore: bump version to 1.2.4", author=DEVELOPER)
    pull = repo.open_pull(BRANCH, "main", title=TITLE, author=DEVELOPER)
    demo.pull_request_event(pull, "opened", sender=DEVELOPER)
    repo.close_pull(first.number)
    demo.pull_request_event(first, "closed", sender=DEVELOPER)
    repo.delete_branch(BAD_BRANCH)  # git push origin --delete, after the rename
    for label in ("hotfix", "P1"):
        repo.add_labels(pull.number, label)
        demo.pull_request_event(pull, "labeled", sender=DEVELOPER, label=label)
    demo.settle()
    run = demo.check_run(POLICY_CHECK, pull.head_sha)
    print_check_run(run, BRANCH)
    title = run.output.get("title", "")
    expected_title = "Waiting for approval: Engineering Lead and Product Manager"
    demo.expect(
        (run.status, title) == ("in_progress", expected_title),
        f"{POLICY_CHECK} in_progress: {expected_title!r}, got {run.status}: {title!r}",
    )
    return pull


def approval_step(
    demo: Rehearsal,
    pull: FakePull,
    step: int,
    login: str,
    role: str,
    expected: tuple[str, str],
) -> None:
    """`login` approves; the check is then `expected`: (conclusion or status, title)."""
    demo.begin(step, f"{login} approves as {role}")
    demo.approve(pull, login)
    demo.settle()
    show_policy_check(demo, pull, expected)


def show_policy_check(demo: Rehearsal, pull: FakePull, expected: tuple[str, str]) -> None:
    """Print the pull request's `hotfix-policy` run, which must be `expected`: (conclusion or
    status, title)."""
    run = demo.check_run(POLICY_CHECK, pull.head_sha)
    print_check_run(run, pull.head_ref)
    seen = (run.conclusion or run.status, run.output.get("title", ""))
    demo.expect(seen == expected, f"{POLICY_CHECK} {expected}, got {seen}")


def merge_and_release(demo: Rehearsal, pull: FakePull, scenario: Scenario) -> None:
    repo = demo.repo
    demo.begin(5, f"{DEVELOPER} merges #{pull.number} into main")
    develop_before = repo.branches["develop"].sha
    merge_sha = repo.merge_pull(pull.number, "merge", merged_by=DEVELOPER)
    demo.pull_request_event(pull, "closed", sender=DEVELOPER)
    demo.settle()
    run = show_release(demo, merge_sha, TAG)
    expect_back_merged(demo, scenario, develop_before, merge_sha)
    demo.expect(BRANCH not in repo.branches, f"{BRANCH} deleted")
    output = CheckOutput(run.output.get("title", ""), run.output.get("summary", ""))
    report = Report(output, run.conclusion or "", run.details_url or "")
    comments = [comment.body for comment in repo.comments_on(pull.number)]
    demo.expect(
        [body for body in comments if body.startswith(COMMENT_MARKER)] == [comment_body(report)],
        f"one report comment on #{pull.number} saying what the check run says",
    )
    print(f"\n  hotfix-bot posted the same report as a comment on #{pull.number}.")
    reports = [issue for issue in repo.issues.values() if INCIDENT_LABEL in issue.labels]
    demo.expect(
        [(issue.title, issue.assignees) for issue in reports]
        == [(f"Incident report: {pull.title}", [DEVELOPER])],
        f"one incident report issue assigned to {DEVELOPER}",
    )
    print(
        f"  It opened the incident report #{reports[0].number}, assigned to {DEVELOPER}, and "
        f"posted the resolution notice on #{pull.number}."
    )


def show_release(demo: Rehearsal, merge_sha: str, tag: str) -> FakeCheckRun:
    """Print the `hotfix-release` run of the merge commit, which must have tagged it `tag`
    and published its release."""
    repo = demo.repo
    run = demo.check_run(RELEASE_CHECK, merge_sha)
    print_check_run(run, "main")
    demo.expect(
        (run.conclusion, run.output.get("title")) == ("success", f"All steps done for {tag}"),
        f"{RELEASE_CHECK} success, got {run.conclusion}: {run.output.get('title')!r}",
    )
    demo.expect(
        repo.tag_object(tag) is not None and repo.resolve(tag) == merge_sha,
        f"an annotated tag {tag} on the merge commit {merge_sha[:7]}",
    )
    demo.expect(tag in repo.releases, f"a release {tag}")
    return run


def expect_back_merged(
    demo: Rehearsal, scenario: Scenario, develop_before: str, merge_sha: str
) -> None:
    repo = demo.repo
    develop = repo.get_commit("develop")
    if scenario.develop_version is None:
        demo.expect(
            develop.parents == (develop_before, merge_sha),
            "develop to be a merge of its old head and the merge commit",
        )
        return
    demo.expect(
        develop.parents[0] == develop_before and repo.objects.is_ancestor(merge_sha, develop.sha),
        "develop to be a merge of its old head and the hotfix, through backmerge/" + TAG,
    )
    demo.expect(
        develop.tree.get("VERSION") == scenario.develop_version,
        f"develop to keep its VERSION {scenario.develop_version.strip()}",
    )
    demo.expect(f"backmerge/{TAG}" not in repo.branches, f"backmerge/{TAG} deleted")


# --- the incident story (--scenario p0) ---------------------------------------------------


def walk_incident(demo: Rehearsal) -> None:
    """A P0 under the default policy (the demo has no `.github/hotfix.yml`)."""
    first_escalation = load_config(None, "main").severities["P0"].escalation[0].after.value
    pull = open_p0_hotfix(demo)
    escalate(demo, pull, first_escalation)
    approve_on_the_bridge(demo, pull)
    merge_on_a_verbal_approval(demo, pull)
    remind_to_confirm(demo, pull)


def open_p0_hotfix(demo: Rehearsal) -> FakePull:
    repo = demo.repo
    demo.begin(1, f"{DEVELOPER} opens {BRANCH}, VERSION bumped to 1.2.4, labelled hotfix + P0")
    commit_the_fix(repo, BRANCH)
    repo.commit(BRANCH, {"VERSION": "1.2.4\n"}, "chore: bump version to 1.2.4", author=DEVELOPER)
    pull = repo.open_pull(BRANCH, "main", title=TITLE, author=DEVELOPER, labels=["hotfix", "P0"])
    demo.pull_request_event(pull, "opened", sender=DEVELOPER)
    demo.settle()
    run = demo.check_run(POLICY_CHECK, pull.head_sha)
    print_check_run(run, BRANCH)
    expected_title = "Waiting for approval: Engineering Lead and On-call Manager"
    title = run.output.get("title", "")
    demo.expect(
        (run.status, title) == ("in_progress", expected_title),
        f"{POLICY_CHECK} in_progress: {expected_title!r}, got {run.status}: {title!r}",
    )
    asked = ["engineering-leads", "on-call-managers"]
    demo.expect(
        pull.requested_teams == asked,
        f"reviews requested from the teams {asked}, got {pull.requested_teams}",
    )
    teams = join_words([f"@{OWNER}/{slug}" for slug in pull.requested_teams])
    print(f"\n  GitHub shows #{pull.number} awaiting review from {teams}.")
    return pull


def escalate(demo: Rehearsal, pull: FakePull, after: timedelta) -> None:
    demo.begin(2, f"{duration_words(after)} pass without a review: the first escalation step")
    comments = demo.comments_when_timer_fires(ESCALATION, pull)
    mentions = f"@{OWNER}/engineering-leads @{OWNER}/on-call-managers: "
    demo.expect(
        len(comments) == 1 and mentions in comments[0].body,
        f"one escalation comment on #{pull.number} mentioning {mentions.rstrip(': ')}, "
        f"got {len(comments)} comments",
    )
    print_comment(comments[0])


def approve_on_the_bridge(demo: Rehearsal, pull: FakePull) -> None:
    demo.begin(
        3, f"{ON_CALL} approves; {LEAD} approves on the incident bridge, {MAINTAINER} records it"
    )
    demo.approve(pull, ON_CALL)
    line = f"/hotfix verbal-approval @{LEAD} Approved on the incident bridge"
    command = demo.repo.add_comment(pull.number, MAINTAINER, line)
    demo.deliver("issue_comment", demo.fake.issue_comment_event(demo.repo, command.id))
    demo.settle()
    print(f"\n  {MAINTAINER} commented on #{pull.number}: {line}")
    reactions = [reaction.content for reaction in demo.repo.reactions_to(command.id)]
    demo.expect(reactions == ["+1"], f"a +1 reaction to the command, got {reactions}")
    print("  hotfix-bot reacted with +1: the approval is recorded.")
    run = demo.check_run(POLICY_CHECK, pull.head_sha)
    print_check_run(run, BRANCH)
    seen = (run.conclusion, run.output.get("title", ""))
    demo.expect(seen == ("success", PASSING), f"{POLICY_CHECK} success: {PASSING}, got {seen}")
    verbal = f"{LEAD} (verbal, recorded by @{MAINTAINER} at "
    demo.expect(verbal in run.output.get("summary", ""), f"the approvals row to show {verbal!r}")


def merge_on_a_verbal_approval(demo: Rehearsal, pull: FakePull) -> None:
    repo = demo.repo
    demo.begin(4, f"{DEVELOPER} merges #{pull.number} into main")
    merge_sha = repo.merge_pull(pull.number, "merge", merged_by=DEVELOPER)
    demo.pull_request_event(pull, "closed", sender=DEVELOPER)
    demo.settle()
    run = demo.check_run(RELEASE_CHECK, merge_sha)
    print_check_run(run, "main")
    unconfirmed = f"**unconfirmed**; @{LEAD}, approve the pull request or comment"
    demo.expect(
        unconfirmed in run.output.get("summary", ""),
        f"the report to list {LEAD}'s verbal approval as unconfirmed",
    )
    print("\n  $ hotfix-bot timers")
    listing = io.StringIO()
    with redirect_stdout(listing):
        list_timers(demo.settings, None, 50)
    print(textwrap.indent(listing.getvalue().rstrip(), INDENT))
    reminders = [
        datetime.fromtimestamp(entry.timer.due_at, UTC)
        for entry in demo.journal.timers("scheduled")
        if entry.timer.kind == CONFIRMATION_REMINDER
    ]
    assert pull.merged_at is not None  # merge_pull set it
    after = duration_words(CONFIRMATION_REMINDER_AFTER)
    # GitHub gives the merge time to the second.
    demo.expect(
        len(reminders) == 1
        and abs(reminders[0] - pull.merged_at - CONFIRMATION_REMINDER_AFTER) < timedelta(seconds=1),
        f"one {CONFIRMATION_REMINDER} timer, due {after} after the merge, found {len(reminders)}",
    )
    due = f"{reminders[0]:%Y-%m-%d %H:%M:%S} UTC"
    print(f"\n  The reminder to confirm is due {due}, {after} after the merge.")


def remind_to_confirm(demo: Rehearsal, pull: FakePull) -> None:
    demo.begin(5, f"a day later {LEAD} has still not confirmed: the reminder")
    comments = demo.comments_when_timer_fires(CONFIRMATION_REMINDER, pull)
    reminder = f"@{LEAD}: a verbal approval recorded for you let hotfix #{pull.number} merge"
    demo.expect(
        len(comments) == 1 and reminder in comments[0].body,
        f"one reminder on #{pull.number} mentioning @{LEAD}, got {len(comments)} comments",
    )
    print_comment(comments[0])


def print_final_refs(repo: FakeRepo) -> None:
    print(f"\n== {REPOSITORY} at the end ==\n")
    for name in sorted(repo.branches):
        print(f"  branch   {branch_line(repo, name)}")
    for name in sorted(repo.tags):
        print_tag(repo, name)
    for name in repo.releases:
        print_release(repo, name)
    open_pulls = [pull for pull in repo.pulls.values() if pull.state == "open"]
    for pull in open_pulls:
        print(f"  open PR  #{pull.number} {pull.head_ref} -> {pull.base_ref}: {pull.title}")
    if not open_pulls:
        print("  open PRs none")


def print_tag(repo: FakeRepo, name: str) -> None:
    tag_object = repo.tag_object(name)
    message = f", annotated: {tag_object.message.strip()}" if tag_object else ""
    print(f"  tag      {name} -> {repo.get_commit(name).sha[:7]}{message}")


def print_release(repo: FakeRepo, tag: str) -> None:
    """A release and its notes, their further lines (not the blank ones) under the first."""
    release = repo.releases[tag]
    heading = f"  release  {release.name} (tag {release.tag_name}): "
    first, *more = [line for line in (release.body or "").splitlines() if line.strip()] or [""]
    print(heading + first)
    for line in more:
        print(" " * len(heading) + line)


# --- the rollback (--scenario rollback) -----------------------------------------------------


def walk_rollback(demo: Rehearsal, hotfix: FakePull) -> None:
    """The quickstart's hotfix undone, as a repository does when a release goes wrong."""
    revert = click_revert(demo, hotfix)
    bump_and_approve_rollback(demo, hotfix, revert)
    merge_rollback(demo, hotfix, revert)


def click_revert(demo: Rehearsal, hotfix: FakePull) -> FakePull:
    demo.begin(6, f"{DEVELOPER} clicks Revert on #{hotfix.number} to roll {TAG} back")
    revert = demo.repo.revert_pull(hotfix.number, author=DEVELOPER)
    # Typed into the form the Revert button opens; the rollback notice gives it as the reason.
    revert.body = f"{revert.body or ''}\n\n{ROLLBACK_REASON}\n"
    demo.pull_request_event(revert, "opened", sender=DEVELOPER)
    demo.settle()
    # The revert takes VERSION back to 1.2.3 too.
    failing = f"1 of 3 rules fails: version-bump (rollback of #{hotfix.number})"
    show_policy_check(demo, revert, ("failure", failing))
    return revert


def bump_and_approve_rollback(demo: Rehearsal, hotfix: FakePull, revert: FakePull) -> None:
    demo.begin(7, f"{DEVELOPER} sets VERSION to {ROLLBACK_VERSION}, {LEAD} approves the rollback")
    demo.repo.commit(
        revert.head_ref,
        {"VERSION": f"{ROLLBACK_VERSION}\n"},
        f"chore: ship the rollback as {ROLLBACK_VERSION}",
        author=DEVELOPER,
    )
    demo.pull_request_event(revert, "synchronize", sender=DEVELOPER)
    demo.approve(revert, LEAD)  # one approval, from any approval group of P1
    demo.settle()
    passing = f"All 3 rules pass (rollback of #{hotfix.number})"
    show_policy_check(demo, revert, ("success", passing))


def merge_rollback(demo: Rehearsal, hotfix: FakePull, revert: FakePull) -> None:
    repo = demo.repo
    demo.begin(8, f"{DEVELOPER} merges the rollback #{revert.number} into main")
    merge_sha = repo.merge_pull(revert.number, "merge", merged_by=DEVELOPER)
    demo.pull_request_event(revert, "closed", sender=DEVELOPER)
    demo.settle()
    show_release(demo, merge_sha, ROLLBACK_TAG)
    rolled_back = f"Rolled back in {ROLLBACK_TAG}"
    demo.expect(
        (repo.releases[TAG].body or "").endswith(rolled_back),
        f"the notes of {TAG} to end {rolled_back!r}",
    )
    print("\n  The new tag, its release, and the notes of the release it rolls back:\n")
    print_tag(repo, ROLLBACK_TAG)
    print_release(repo, ROLLBACK_TAG)
    print_release(repo, TAG)
    notices = [c for c in repo.comments_on(hotfix.number) if ROLLBACK_NOTICE in c.body]
    demo.expect(len(notices) == 1, f"one rollback notice on #{hotfix.number}, found {len(notices)}")
    print_comment(notices[0])


# --- the incident report, at the end of every story -----------------------------------------


def print_incident_reports(repo: FakeRepo) -> None:
    """Each incident report issue as GitHub shows it: its title, labels and assignees, its
    summary and timeline, then every comment on it."""
    for issue in repo.issues.values():
        if INCIDENT_LABEL in issue.labels:
            print_incident_report(repo, issue)


def print_incident_report(repo: FakeRepo, issue: FakeIssue) -> None:
    print(f"\n== Incident report issue #{issue.number} ==\n")
    print(f"  {issue.title} #{issue.number} ({issue.state})")
    print(f"  labels     {', '.join(issue.labels)}")
    print(f"  assignees  {', '.join(issue.assignees) or 'none'}")
    for heading in ("Summary", "Timeline"):
        print(f"\n  {heading}\n")
        print(textwrap.indent(render(section(issue.body, heading)), INDENT))
    for comment in repo.comments_on(issue.number):
        print_comment(comment)

"""The post-merge automation (`hotfix-release`), end to end against the fake GitHub.

Every test asserts the state GitHub is left in: refs, the tag object, releases, pull
requests, the report comment and the `hotfix-release` check run.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from support.harness import (
    REFUSAL,
    Bot,
    pulls_of_the_commit_on_a_later_page,
    run_on_last_attempt,
    sequential_round_trips,
)
from support.titles import all_rules_pass, rules_fail

from app.handlers import release
from app.handlers.release import steps
from app.handlers.release.plan import ReleasePlan
from app.handlers.release.step import (
    Step,
    StepOutcome,
    StepRun,
    StepStatus,
    with_text_on_stdin,
)
from app.journal import JournalUnavailable
from sandbox import Author, FakeCheckRun, FakeComment, FakePull, RecordedRequest
from sandbox.git import blob_sha
from sandbox.repo import MergeMethod
from sandbox.shapes import git_ref

BRANCH = "hotfix/fix-login"
TAG = "v1.2.4"
BACKMERGE = f"backmerge/{TAG}"
WEB = "https://github.com/acme/widgets"
BOT_LOGIN = "hotfix-bot[bot]"
MARKER = "<!-- hotfix-bot:hotfix-release -->"
APP_PY = "def login(): ...\n"


def merged_hotfix(
    bot: Bot,
    method: MergeMethod = "merge",
    *,
    hotfix_files: dict[str, str] | None = None,
    earlier_hotfix_files: dict[str, str] | None = None,
    develop_files: dict[str, str] | None = None,
    main_files: Mapping[str, str | None] | None = None,
    with_develop: bool = True,
    from_fork: str | None = None,
    through_queue: bool = False,
    severity: str = "P1",
    evaluated: bool = False,
    into: str = "main",
) -> FakePull:
    """A hotfix by `dev` of `severity` bumping VERSION to 1.2.4, merged into `into` (by
    `method`, or through its merge queue), a branch from main; develop from main.
    `earlier_hotfix_files`: a commit on the branch before the one bumping VERSION.
    `evaluated`: hotfix-policy ran on it while it was open, and the approval groups of a P1
    approved it, so that its run had concluded when it merged, as a hotfix's usually has."""
    repo = bot.repo
    repo.collaborators["dev"] = "write"  # who pushed the branch: their report is assigned to them
    repo.commit("main", {"app.py": APP_PY, **(main_files or {})}, "Base")
    if with_develop:
        repo.create_branch("develop", "main")
        if develop_files:
            repo.commit("develop", develop_files, "Work on develop")
    if into != "main":
        repo.create_branch(into, "main")
    repo.create_branch(BRANCH, into)
    if earlier_hotfix_files:
        repo.commit(BRANCH, earlier_hotfix_files, "Fix login")
    repo.commit(BRANCH, {"VERSION": "1.2.4\n", **(hotfix_files or {})}, "Fix login, 1.2.4")
    pull = repo.open_pull(
        BRANCH,
        into,
        title="Fix login",
        author="dev",
        labels=["hotfix", severity],
        from_fork=from_fork,
    )
    if evaluated:
        bot.pull_request(pull.number, "opened")
        for slug, login in (("engineering-leads", "lead"), ("product-managers", "pm")):
            bot.fake.add_team("acme", slug, [login])
            repo.review(pull.number, login, "APPROVED")
            bot.deliver("pull_request_review", bot.fake.review_event(repo, pull.number))
    if through_queue:
        repo.merge_group(repo.enqueue(pull.number))
    else:
        repo.merge_pull(pull.number, method)
    return pull


def merge_sha(pull: FakePull) -> str:
    assert pull.merge_commit_sha is not None
    return pull.merge_commit_sha


def before_merge(bot: Bot, pull: FakePull) -> str:
    """The merge commit's first parent: the production branch the hotfix merged into."""
    return bot.repo.get_commit(merge_sha(pull)).parents[0]


def release_run(bot: Bot, pull: FakePull) -> FakeCheckRun:
    [run] = bot.repo.runs_named("hotfix-release", merge_sha(pull))
    return run


def could_not_run(bot: Bot, pull: FakePull) -> str:
    """The summary of `pull`'s release run, which failed before any step."""
    run = release_run(bot, pull)
    assert (run.status, run.conclusion, run.output["title"]) == (
        "completed",
        "failure",
        "Could not run the post-merge steps",
    )
    return str(run.output["summary"])


def rerun(bot: Bot, pull: FakePull, event: str = "check_run") -> None:
    """A click on "Re-run" of the `hotfix-release` check, or on "Re-run all checks" of the
    merge commit (`event` check_suite)."""
    if event == "check_suite":
        bot.deliver(event, bot.fake.check_suite_event(bot.repo, merge_sha(pull)))
    else:
        bot.deliver(event, bot.fake.check_run_event(bot.repo, release_run(bot, pull).id))


def closed_on_last_attempt(bot: Bot, private_key_pem: str, pull: FakePull) -> None:
    """The merge of `pull` handled as its delivery's last attempt, which retries nothing."""
    payload = bot.fake.pull_request_event(bot.repo, pull.number, "closed")
    asyncio.run(
        run_on_last_attempt(
            bot, private_key_pem, release.on_pull_request_closed, "pull_request", payload
        )
    )


def test_a_rerun_finds_the_pull_request_of_its_merge_commit_on_a_page_github_names(
    bot: Bot,
) -> None:
    """GitHub pages the pull requests of a commit, which lists the open ones containing it
    too: the merged one may come on a later page."""
    pull = merged_hotfix(bot)
    bot.fake.inject("POST", r"/git/tags$", status=403)
    bot.pull_request(pull.number, "closed")
    assert (release_run(bot, pull).conclusion, bot.repo.tags) == ("failure", {})
    merge = merge_sha(pull)
    pulls_of_the_commit_on_a_later_page(bot, merge)

    rerun(bot, pull)

    assert bot.repo.tags.keys() == {TAG}


# --- the report, as text ---------------------------------------------------------------------


def row(step: str, outcome: str, details: str, link: str = " ") -> str:
    return f"| {step} | {outcome} | {details} | {link} |"


def summary(
    bot: Bot, pull: FakePull, *rows: str, tail: str = "", record: tuple[str, ...] | None = None
) -> str:
    """The report of `pull`'s steps: `rows`, then those of its incident report and
    resolution notice, which every P1 hotfix gets (`record`, when they did not end done, or
    none for a P2)."""
    sha = merge_sha(pull)
    return (
        "\n".join(
            [
                f"Hotfix #{pull.number} (Fix login) was merged into `main` as "
                f"[`{sha[:7]}`]({WEB}/commit/{sha}).",
                "",
                "| Step | Outcome | Details | Link |",
                "| --- | --- | --- | --- |",
                *rows,
                *(
                    (incident_report_done(bot, pull), RESOLUTION_NOTICE_DONE)
                    if record is None
                    else record
                ),
            ]
        )
        + tail
    )


def incident_report_done(
    bot: Bot,
    pull: FakePull,
    outcome: str = "✅ done",
    detail: str = "opened issue #{number} (assigned to @dev), due {due}",
) -> str:
    [issue] = [issue for issue in bot.repo.issues.values() if "incident-report" in issue.labels]
    assert pull.merged_at is not None
    due = f"{pull.merged_at + timedelta(hours=48):%Y-%m-%d %H:%M} UTC"  # a P1's report
    return row(
        "Incident report",
        outcome,
        detail.format(number=issue.number, due=due),
        f"[#{issue.number}]({WEB}/issues/{issue.number})",
    )


def assert_done_once_merged_back(bot: Bot, pull: FakePull, back_merge_row: str) -> None:
    """The report of a re-run that found the back-merge done, `back_merge_row` its row: every
    step done, the incident report given the back-merge's row in its timeline."""
    added = incident_report_done(
        bot, pull, detail="issue #{number} has the back-merge in its timeline now, due {due}"
    )
    rows = (tag_done(pull), RELEASE_DONE, back_merge_row, DELETE_DONE)
    text = summary(bot, pull, *rows, record=(added, RESOLUTION_NOTICE_DONE))
    assert_report(bot, pull, "success", f"All steps done for {TAG}", text)


def merged_back_row(backmerge: FakePull) -> str:
    """The Back-merge row of a re-run that found `backmerge` merged into develop by people."""
    return row(
        "Back-merge",
        "✅ already done",
        f"pull request #{backmerge.number} merged into `develop`",
        f"[#{backmerge.number}]({WEB}/pull/{backmerge.number})",
    )


RESOLUTION_NOTICE_DONE = row(
    "Resolution notice", "✅ done", "posted the resolution notice on the pull request"
)


OPENED = "opened issue #{number} (assigned to @dev), due {due}"
FOUND = "issue #{number} already holds the incident report, due {due}"


def record_waiting_for_the_back_merge(
    bot: Bot, pull: FakePull, report: str = OPENED
) -> tuple[str, str]:
    """The rows of the incident report (`report` says what its run did) and the resolution
    notice while the back-merge is not done: the report waits to add it to its timeline."""
    detail = f"{report}; it waits for the back-merge to add it to its timeline"
    return incident_report_done(bot, pull, "⏳ waiting", detail), RESOLUTION_NOTICE_DONE


def tag_done(pull: FakePull) -> str:
    return row(
        "Tag",
        "✅ done",
        f"annotated tag `{TAG}` on the merge commit `{merge_sha(pull)[:7]}`",
        f"[{TAG}]({WEB}/tree/{TAG})",
    )


RELEASE_DONE = row(
    "Release", "✅ done", f"published release `{TAG}`", f"[{TAG}]({WEB}/releases/tag/{TAG})"
)
DELETE_DONE = row("Delete branch", "✅ done", f"deleted `{BRANCH}`")


def back_merge_done(bot: Bot) -> str:
    sha = bot.repo.branches["develop"].sha
    return row(
        "Back-merge",
        "✅ done",
        f"merged into `develop` as `{sha[:7]}`",
        f"[{sha[:7]}]({WEB}/commit/{sha})",
    )


def waiting_tail(number: int) -> str:
    return (
        "\n\n## Waiting for people\n\nGitHub did not take the back-merge into `develop` "
        f"directly. Review and merge [#{number}]({WEB}/pull/{number}), then re-run the "
        "`hotfix-release` check to turn it green."
    )


def assert_report(
    bot: Bot, pull: FakePull, conclusion: str, title: str, text: str, details_url: str = ""
) -> None:
    """One completed run on the merge commit and one bot comment on the PR, saying the same."""
    run = release_run(bot, pull)
    assert (run.status, run.conclusion) == ("completed", conclusion)
    assert run.output["title"] == title
    assert run.output["summary"] == text
    assert run.details_url == (details_url or f"{WEB}/pull/{pull.number}")
    [comment] = report_comments(bot, pull)
    assert comment.author == BOT_LOGIN
    assert comment.body == f"{MARKER}\n### `hotfix-release`: {title}\n\n{text}"


def stored_timeline(bot: Bot, pull: FakePull) -> list[dict[str, str]]:
    """The rows of `pull`'s timeline as the state store keeps them."""
    stored = asyncio.run(bot.journal.get_state(f"timeline:acme/widgets#{pull.number}"))
    assert stored is not None
    rows: list[dict[str, str]] = json.loads(stored)
    return rows


def report_comments(bot: Bot, pull: FakePull) -> list[FakeComment]:
    """The report comments on `pull` (its notices aside)."""
    return [c for c in bot.repo.comments_on(pull.number) if c.body.startswith(MARKER)]


# --- GitHub's state ----------------------------------------------------------------------------


def assert_all_done(bot: Bot, pull: FakePull, **rows: str) -> None:
    """The report of a run of `pull` whose every step is done: as a first run does it, or as
    the step's row in `rows` says (tag, release, back_merge, delete)."""
    first_run = {
        "tag": tag_done(pull),
        "release": RELEASE_DONE,
        "back_merge": back_merge_done(bot),
        "delete": DELETE_DONE,
    }
    assert rows.keys() <= first_run.keys()
    text = summary(bot, pull, *(first_run | rows).values())
    assert_report(bot, pull, "success", f"All steps done for {TAG}", text)


def assert_tagged(bot: Bot, pull: FakePull) -> None:
    """An annotated tag object with the configured message, on the merge commit."""
    tag_object = bot.repo.tag_object(TAG)
    assert tag_object is not None
    assert bot.repo.tags[TAG] == tag_object.sha
    assert (tag_object.tag, tag_object.message) == (TAG, "Hotfix: Fix login")
    assert (tag_object.object_sha, tag_object.object_type) == (merge_sha(pull), "commit")


def assert_released(bot: Bot, pull: FakePull) -> None:
    [release] = bot.repo.releases.values()
    assert (release.tag_name, release.name, release.body, release.author) == (
        TAG,
        TAG,
        f"Hotfix #{pull.number}: Fix login",
        BOT_LOGIN,
    )
    assert (release.draft, release.prerelease) == (False, False)


def assert_merged_back(bot: Bot, pull: FakePull, develop_before: str) -> None:
    develop = bot.repo.get_commit("develop")
    assert develop.parents == (develop_before, merge_sha(pull))
    assert develop.message == f"Merge hotfix {TAG} back into develop"
    assert develop.tree["VERSION"] == "1.2.4\n"


def assert_released_as_usual(bot: Bot, pull: FakePull, develop_before: str) -> None:
    """Tagged, released and merged back as a first run does it, and its report says so."""
    assert_tagged(bot, pull)
    assert_released(bot, pull)
    assert_merged_back(bot, pull, develop_before)
    assert_all_done(bot, pull)


def assert_only_pull(bot: Bot, pull: FakePull) -> None:
    assert list(bot.repo.pulls) == [pull.number]


# --- the tests ---------------------------------------------------------------------------------


def assert_waiting_for_backmerge(
    bot: Bot,
    pull: FakePull,
    backmerge: FakePull,
    why: str,
    report: str = OPENED,
    *,
    stays: str = "",
) -> None:
    """The report while the back-merge pull request waits for the hotfix author; `report`
    says what the run did of the incident report; `stays`, what the row adds when the
    back-merge stays with that pull request rather than going into a release branch."""
    backmerge_url = f"{WEB}/pull/{backmerge.number}"
    waiting = row(
        "Back-merge",
        "⏳ waiting",
        f"{why}: pull request #{backmerge.number} from `{BACKMERGE}` waits for @dev{stays}",
        f"[#{backmerge.number}]({backmerge_url})",
    )
    text = summary(
        bot,
        pull,
        tag_done(pull),
        RELEASE_DONE,
        waiting,
        DELETE_DONE,
        tail=waiting_tail(backmerge.number),
        record=record_waiting_for_the_back_merge(bot, pull, report),
    )
    title = f"Back-merge into develop waits for review in #{backmerge.number}"
    assert_report(bot, pull, "action_required", title, text, backmerge_url)


def test_clean_path_tags_releases_merges_back_deletes_and_reports(bot: Bot) -> None:
    pull = merged_hotfix(bot)
    develop_before = bot.repo.branches["develop"].sha

    with bot.counting() as requests:
        bot.pull_request(pull.number, "closed")

    assert_released_as_usual(bot, pull, develop_before)
    assert set(bot.repo.branches) == {"main", "develop"}
    assert_only_pull(bot, pull)
    # One installation token, the pull request and the version it merged (3: the merge
    # commit's tree and VERSION), the config and the version files main had before the merge
    # (3: the merge commit, the tree before it, which holds no config, and VERSION there), the
    # organization's config (1), tag (3), release (3), back-merge (3: release branches,
    # develop, the merge), deletion (2), incident report (2), resolution notice (1: its look
    # at the comments is the report comment's), comment (2), check run (2). Then, in a
    # delivery of its own, the open pull requests into main, to evaluate again (1).
    assert len(requests) == 26 + 1


def test_repeated_delivery_and_rerun_create_nothing_twice(bot: Bot) -> None:
    pull = merged_hotfix(bot)
    bot.pull_request(pull.number, "closed")
    first_run = release_run(bot, pull)
    [first_comment] = report_comments(bot, pull)
    refs = (dict(bot.repo.tags), {name: b.sha for name, b in bot.repo.branches.items()})

    with bot.counting() as requests:
        bot.pull_request(pull.number, "closed")
        rerun(bot, pull)

    assert (dict(bot.repo.tags), {name: b.sha for name, b in bot.repo.branches.items()}) == refs
    assert_released(bot, pull)
    assert_only_pull(bot, pull)
    assert release_run(bot, pull).id == first_run.id
    assert [c.id for c in report_comments(bot, pull)] == [first_comment.id]
    # Finished steps are not looked at again: only the report is rewritten in place.
    writes = {f"{r.method} {r.path}" for r in requests if r.method != "GET"}
    assert writes == {
        f"PATCH /repos/acme/widgets/issues/comments/{first_comment.id}",
        f"PATCH /repos/acme/widgets/check-runs/{first_run.id}",
    }
    assert_all_done(bot, pull)


def test_develop_already_containing_the_merge_is_done(bot: Bot) -> None:
    pull = merged_hotfix(bot)
    bot.repo.merge_refs("develop", merge_sha(pull), "Merge main into develop", "dev")
    develop = bot.repo.branches["develop"].sha

    bot.pull_request(pull.number, "closed")

    assert bot.repo.branches["develop"].sha == develop
    assert_tagged(bot, pull)
    already = row(
        "Back-merge",
        "✅ already done",
        f"`develop` already contains the merge commit `{merge_sha(pull)[:7]}`",
    )
    assert_all_done(bot, pull, back_merge=already)


def test_conflict_opens_one_back_merge_pull_request_until_people_merge_it(bot: Bot) -> None:
    pull = merged_hotfix(
        bot,
        hotfix_files={"app.py": "def login(): fixed\n"},
        develop_files={"app.py": "def login(): new feature\n", "feature.py": "x = 1\n"},
    )
    develop_before = bot.repo.branches["develop"].sha
    sha = merge_sha(pull)

    bot.pull_request(pull.number, "closed")

    backmerge = waiting_back_merge(bot, pull, develop_before)
    assert BRANCH not in bot.repo.branches
    assert (backmerge.head_ref, backmerge.base_ref, backmerge.state) == (
        BACKMERGE,
        "develop",
        "open",
    )
    assert (backmerge.author, backmerge.title) == (BOT_LOGIN, f"Back-merge {TAG} into develop")
    assert backmerge.requested_reviewers == ["dev"]
    assert backmerge.body == lone_conflict_body(pull)
    assert_waiting_for_backmerge(bot, pull, backmerge, "the hotfix conflicts with `develop`")

    # A redelivery and a re-run while it waits: the same branch and pull request, asked once.
    with bot.counting() as requests:
        bot.pull_request(pull.number, "closed")
        rerun(bot, pull)
    assert list(bot.repo.pulls) == [pull.number, backmerge.number]
    assert bot.repo.branches[BACKMERGE].sha == sha
    assert not [r for r in requests if r.method == "POST" and "/merges" not in r.path]
    assert backmerge.requested_reviewers == ["dev"]
    assert_waiting_for_backmerge(bot, pull, backmerge, "the hotfix conflicts with `develop`", FOUND)

    # People resolve the conflict on the branch and merge; a re-run then turns green.
    resolve_and_merge(bot, backmerge)
    rerun(bot, pull, "check_suite")
    # Its branch, at the head people merged, goes with it.
    assert sorted(bot.repo.branches) == ["develop", "main"]
    assert_done_once_merged_back(bot, pull, merged_back_row(backmerge))
    assert len(bot.repo.tags) == 1
    assert len(bot.repo.releases) == 1
    # The timeline records how it was done, and the incident report, opened while the pull
    # request waited, gets that row in one comment.
    timeline = stored_timeline(bot, pull)
    back_merge_rows = [event for event in timeline if event["key"].startswith("step:back-merge:")]
    assert [event["text"] for event in back_merge_rows] == [
        f"Back-merge: the hotfix conflicts with `develop`: pull request #{backmerge.number} from "
        f"`{BACKMERGE}` waits for @dev",
        f"Back-merge: pull request #{backmerge.number} merged into `develop`",
    ]
    merged_at = datetime.fromisoformat(back_merge_rows[-1]["at"])
    [issue] = [issue for issue in bot.repo.issues.values() if "incident-report" in issue.labels]
    [continued] = bot.repo.comments_on(issue.number)
    assert continued.body == (
        "<!-- hotfix-bot:incident-timeline back-merge -->\n**Timeline, continued**\n\n"
        "| Time | Event |\n|------|-------|\n"
        f"| {merged_at:%Y-%m-%d %H:%M} UTC | Back-merge: pull request #{backmerge.number} merged "
        "into `develop` |"
    )

    # Written once: a later re-run changes nothing.
    rerun(bot, pull)
    assert bot.repo.comments_on(issue.number) == [continued]
    assert stored_timeline(bot, pull) == timeline
    assert_done_once_merged_back(bot, pull, merged_back_row(backmerge))


def resolve_and_merge(bot: Bot, backmerge: FakePull) -> None:
    """People merge develop into the back-merge branch of a hotfix changing `app.py` beside
    develop, resolving the conflict, then merge its pull request."""
    resolution = bot.repo.objects.make_commit(
        {**bot.repo.get_commit(BACKMERGE).tree, "app.py": "def login(): fixed, new feature\n"},
        (bot.repo.branches[BACKMERGE].sha, bot.repo.branches["develop"].sha),
        "Merge develop, resolving app.py",
        Author.for_login("dev"),
        bot.fake.now(),
    )
    bot.repo.set_branch(BACKMERGE, resolution.sha)
    bot.repo.merge_pull(backmerge.number, "merge", merged_by="dev")


def lone_conflict_body(pull: FakePull) -> str:
    """The description of the back-merge pull request of `pull`, conflicting with develop
    in app.py, when no earlier hotfix's back-merge is still open."""
    sha = merge_sha(pull)
    return (
        f"This merges hotfix #{pull.number} (Fix login), merge commit `{sha[:7]}`, back into "
        "`develop`.\n\n"
        "**Why a pull request:** the hotfix conflicts with `develop`, so GitHub could not "
        "merge it automatically.\n\n"
        "Files changed on both sides since they diverged (the conflicts are in these):\n\n"
        "- `app.py`\n\n"
        f"@dev, please resolve the conflicts on `{BACKMERGE}`, keeping both the hotfix and the "
        "work on `develop`, then merge:\n\n"
        "```sh\ngit fetch origin\n"
        f"git checkout {BACKMERGE}\ngit merge origin/develop\n# resolve, commit\n"
        f"git push origin {BACKMERGE}\n```"
    )


def next_hotfix(bot: Bot) -> FakePull:
    """A second hotfix, by `dev2`, releasing 1.2.5 from main as it stands: it changes only
    b.py, and VERSION."""
    repo = bot.repo
    repo.collaborators["dev2"] = "write"
    repo.create_branch("hotfix/next", "main")
    repo.commit("hotfix/next", {"VERSION": "1.2.5\n", "b.py": "b = 1\n"}, "Fix b, 1.2.5")
    pull = repo.open_pull(
        "hotfix/next", "main", title="Fix b", author="dev2", labels=["hotfix", "P1"]
    )
    repo.merge_pull(pull.number)
    return pull


def the_back_merge(bot: Bot, pull: FakePull) -> FakePull:
    """The one pull request besides the hotfix `pull`: its back-merge."""
    [backmerge] = [p for p in bot.repo.pulls.values() if p.number != pull.number]
    return backmerge


def waiting_back_merge(bot: Bot, pull: FakePull, develop_before: str) -> FakePull:
    """`the_back_merge` of `pull`, from BACKMERGE at its merge commit, develop left as it was
    before."""
    assert bot.repo.branches["develop"].sha == develop_before
    assert bot.repo.branches[BACKMERGE].sha == merge_sha(pull)
    return the_back_merge(bot, pull)


def back_merge_of(bot: Bot, branch: str) -> FakePull:
    [backmerge] = [p for p in bot.repo.pulls.values() if p.head_ref == branch]
    return backmerge


def behind_an_open_back_merge_body(pull: FakePull, earlier: FakePull) -> str:
    """The description of the back-merge pull request of `next_hotfix`'s `pull`, whose
    conflict in app.py is the earlier hotfix's, still waiting in `earlier`."""
    sha = merge_sha(pull)
    return (
        f"This merges hotfix #{pull.number} (Fix b), merge commit `{sha[:7]}`, back into "
        "`develop`.\n\n"
        "**Why a pull request:** the hotfix conflicts with `develop`, so GitHub could not "
        "merge it automatically.\n\n"
        "Files changed on both sides since they diverged (the conflicts are in these):\n\n"
        "- `app.py`\n\n"
        f"**Another back-merge is still open:** `{BACKMERGE}` (#{earlier.number}). Merge it "
        "first: its changes are in this branch too, so this pull request may then have nothing "
        "left to resolve.\n\n"
        "This hotfix did not change `app.py`: that conflict comes from the earlier hotfix still "
        f"waiting in #{earlier.number}, not from this one.\n\n"
        "@dev2, please resolve the conflicts on `backmerge/v1.2.5`, keeping both the hotfix and "
        "the work on `develop`, then merge:\n\n"
        "```sh\ngit fetch origin\ngit checkout backmerge/v1.2.5\ngit merge origin/develop\n"
        "# resolve, commit\ngit push origin backmerge/v1.2.5\n```"
    )


def conflicting_hotfix(bot: Bot) -> FakePull:
    """`merged_hotfix` changing app.py, which develop changed too: its back-merge conflicts."""
    return merged_hotfix(
        bot,
        hotfix_files={"app.py": "def login(): fixed\n"},
        develop_files={"app.py": "def login(): new feature\n"},
    )


def the_later_back_merge_first(bot: Bot) -> tuple[FakePull, FakePull, FakePull]:
    """`conflicting_hotfix`, then `next_hotfix`, whose run comes first: the two hotfixes and
    the second's back-merge pull request."""
    first = conflicting_hotfix(bot)
    second = next_hotfix(bot)
    bot.pull_request(second.number, "closed")
    return first, second, back_merge_of(bot, "backmerge/v1.2.5")


def test_a_back_merge_behind_one_still_open_names_it_and_the_conflict_that_is_its(
    bot: Bot,
) -> None:
    first = conflicting_hotfix(bot)
    bot.pull_request(first.number, "closed")
    earlier = back_merge_of(bot, BACKMERGE)
    assert earlier.body == lone_conflict_body(first)

    second = next_hotfix(bot)
    bot.pull_request(second.number, "closed")

    backmerge = back_merge_of(bot, "backmerge/v1.2.5")
    assert (backmerge.base_ref, backmerge.requested_reviewers) == ("develop", ["dev2"])
    assert backmerge.body == behind_an_open_back_merge_body(second, earlier)
    # The first hotfix's re-run names no later back-merge: that one holds its changes, not
    # the other way round.
    with bot.counting() as requests:
        rerun(bot, first)
    assert not [r for r in requests if r.path == f"/repos/acme/widgets/issues/{earlier.number}"]
    assert earlier.body == lone_conflict_body(first)


def test_a_back_merge_found_again_names_an_earlier_one_opened_since(bot: Bot) -> None:
    """The second hotfix's run came first: its re-run rewrites its pull request's
    description once the first hotfix's back-merge waits too."""
    first, second, backmerge = the_later_back_merge_first(bot)
    assert backmerge.body is not None
    assert "still open" not in backmerge.body
    bot.pull_request(first.number, "closed")
    earlier = back_merge_of(bot, BACKMERGE)
    assert earlier.body == lone_conflict_body(first)

    rerun(bot, second)

    assert back_merge_of(bot, "backmerge/v1.2.5") is backmerge
    assert backmerge.body == behind_an_open_back_merge_body(second, earlier)


def test_a_back_merge_description_people_edited_is_left_as_they_wrote_it(bot: Bot) -> None:
    first, second, backmerge = the_later_back_merge_first(bot)
    assert backmerge.body is not None
    backmerge.body += "\n\nNote from @dev2: waiting for the release manager."
    edited = backmerge.body
    bot.pull_request(first.number, "closed")

    with bot.counting() as requests:
        rerun(bot, second)

    assert backmerge.body == edited
    edits = f"/repos/acme/widgets/issues/{backmerge.number}"
    assert not [r for r in requests if r.method == "PATCH" and r.path == edits]


@pytest.mark.parametrize("refusal_status", [409, 403])
def test_protected_develop_gets_a_back_merge_pull_request(bot: Bot, refusal_status: int) -> None:
    bot.fake.protected_merge_status = refusal_status
    pull = merged_hotfix(bot)
    bot.repo.protect("develop")
    develop_before = bot.repo.branches["develop"].sha
    sha = merge_sha(pull)

    bot.pull_request(pull.number, "closed")

    backmerge = waiting_back_merge(bot, pull, develop_before)
    assert (backmerge.head_ref, backmerge.base_ref, backmerge.author) == (
        BACKMERGE,
        "develop",
        BOT_LOGIN,
    )
    assert backmerge.requested_reviewers == ["dev"]
    assert backmerge.body == (
        f"This merges hotfix #{pull.number} (Fix login), merge commit `{sha[:7]}`, back into "
        "`develop`.\n\n"
        '**Why a pull request:** `develop` is protected (GitHub: "Protected branch update '
        'failed for develop."), so hotfix-bot may not merge into it directly.\n\n'
        "@dev, please review and merge it."
    )
    assert_waiting_for_backmerge(bot, pull, backmerge, "`develop` is protected")


def test_the_back_merge_of_a_hotfix_whose_author_was_deleted_asks_nobody_and_names_nobody(
    bot: Bot,
) -> None:
    """GitHub gives a deleted account as `ghost`: nobody GitHub can ask to review, nor an
    `@` mention that reaches anyone."""
    pull = merged_hotfix(bot)
    bot.repo.protect("develop")
    bot.fake.delete_account("dev")
    sha = merge_sha(pull)

    with bot.counting() as requests:
        bot.pull_request(pull.number, "closed")

    backmerge = the_back_merge(bot, pull)
    assert backmerge.requested_reviewers == []
    assert [r.path for r in requests if r.path.endswith("/requested_reviewers")] == []
    assert backmerge.body == (
        f"This merges hotfix #{pull.number} (Fix login), merge commit `{sha[:7]}`, back into "
        "`develop`.\n\n"
        '**Why a pull request:** `develop` is protected (GitHub: "Protected branch update '
        'failed for develop."), so hotfix-bot may not merge into it directly.\n\n'
        "Nobody was asked to review: the author's account was deleted. Whoever knows the "
        "change, please review and merge it."
    )
    summary = release_run(bot, pull).output["summary"]
    assert (
        row(
            "Back-merge",
            "⏳ waiting",
            f"`develop` is protected: pull request #{backmerge.number} from `{BACKMERGE}` waits "
            "for review (nobody was asked: the author's account was deleted)",
            f"[#{backmerge.number}]({WEB}/pull/{backmerge.number})",
        )
        in summary
    )
    assert "@ghost" not in summary


def test_a_back_merge_done_by_hand_beside_its_closed_pull_request_names_no_pull_request(
    bot: Bot,
) -> None:
    pull = merged_hotfix(bot)
    bot.repo.protect("develop")
    bot.pull_request(pull.number, "closed")
    backmerge = the_back_merge(bot, pull)

    # Someone closes it and merges back by hand.
    bot.repo.close_pull(backmerge.number)
    bot.repo.merge_refs("develop", merge_sha(pull), "Merge main into develop", "dev")
    rerun(bot, pull)

    # Its branch, still at the merge commit, holds nothing develop lacks: it goes.
    assert sorted(bot.repo.branches) == ["develop", "main"]

    already = row(
        "Back-merge",
        "✅ already done",
        f"`develop` already contains the merge commit `{merge_sha(pull)[:7]}`",
    )
    assert_done_once_merged_back(bot, pull, already)
    [issue] = [issue for issue in bot.repo.issues.values() if "incident-report" in issue.labels]
    [continued] = bot.repo.comments_on(issue.number)
    assert continued.body.endswith(
        f" UTC | Back-merge: `develop` already contains the merge commit `{merge_sha(pull)[:7]}` |"
    )


CLOSING_MARKER = "<!-- hotfix-bot:back-merge-closed -->"


def waiting_behind_protected_develop(bot: Bot) -> tuple[FakePull, FakePull]:
    """A merged hotfix whose back-merge waits in a pull request, develop being protected;
    then the admin lets hotfix-bot merge into develop."""
    pull = merged_hotfix(bot)
    bot.repo.protect("develop")
    bot.pull_request(pull.number, "closed")
    backmerge = the_back_merge(bot, pull)
    assert_waiting_for_backmerge(bot, pull, backmerge, "`develop` is protected")
    bot.repo.protect("develop", False)
    return pull, backmerge


def assert_closed_by_the_back_merge(
    bot: Bot, pull: FakePull, backmerge: FakePull, how: str, link: str = " "
) -> FakeComment:
    """The back-merge pull request closed unmerged with one comment saying `how` the
    back-merge was done, and the report's row saying so too; its one comment."""
    assert (backmerge.state, backmerge.merged) == ("closed", False)
    [comment] = bot.repo.comments_on(backmerge.number)
    assert comment.author == BOT_LOGIN
    assert comment.body == (
        f"{CLOSING_MARKER}\nThe back-merge is done: {how}; closing this pull request."
    )
    done = "✅ done" if how.endswith(" by hotfix-bot") else "✅ already done"
    detail = f"{how.removesuffix(' by hotfix-bot')}; closed #{backmerge.number}"
    assert_done_once_merged_back(bot, pull, row("Back-merge", done, detail, link))
    return comment


def test_a_back_merge_pull_request_left_open_is_closed_when_hotfix_bot_merges_back(
    bot: Bot,
) -> None:
    pull, backmerge = waiting_behind_protected_develop(bot)
    develop_before = bot.repo.branches["develop"].sha

    rerun(bot, pull)

    assert_merged_back(bot, pull, develop_before)
    merged = bot.repo.branches["develop"].sha
    how = f"merged into `develop` as `{merged[:7]}` by hotfix-bot"
    link = f"[{merged[:7]}]({WEB}/commit/{merged})"
    comment = assert_closed_by_the_back_merge(bot, pull, backmerge, how, link)
    assert sorted(bot.repo.branches) == ["develop", "main"]

    # Closed once: a later re-run asks nothing of the pull request nor of its branch.
    with bot.counting() as requests:
        rerun(bot, pull)
    repo_path = "/repos/acme/widgets"
    untouched = (f"{repo_path}/pulls", f"{repo_path}/merges")
    about = (f"/pulls/{backmerge.number}", f"/issues/{backmerge.number}", BACKMERGE)
    asked = [r.path for r in requests]
    assert not [p for p in asked if p in untouched or any(part in p for part in about)], asked
    assert bot.repo.comments_on(backmerge.number) == [comment]
    assert_closed_by_the_back_merge(bot, pull, backmerge, how, link)


def test_a_back_merge_pull_request_is_closed_after_a_failed_run_too(bot: Bot) -> None:
    """A failure's outcome replaces the one that waited on the pull request: the re-run after
    it still finds that pull request and closes it."""
    pull, backmerge = waiting_behind_protected_develop(bot)
    bot.fake.inject("POST", r"/merges$", status=404, body={"message": "Not Found"})
    rerun(bot, pull)
    assert release_run(bot, pull).conclusion == "failure"
    assert backmerge.state == "open"

    rerun(bot, pull)

    merged = bot.repo.branches["develop"].sha
    how = f"merged into `develop` as `{merged[:7]}` by hotfix-bot"
    assert_closed_by_the_back_merge(
        bot, pull, backmerge, how, f"[{merged[:7]}]({WEB}/commit/{merged})"
    )
    assert BACKMERGE not in bot.repo.branches


def test_closing_the_back_merge_pull_request_is_retried_with_one_comment(bot: Bot) -> None:
    """The run is retried after the comment: the merge it made is found, and the comment is
    not posted again."""
    pull, backmerge = waiting_behind_protected_develop(bot)
    bot.fake.inject("PATCH", rf"/issues/{backmerge.number}$", status=502)

    rerun(bot, pull)

    closes = bot.fake.requests_to("PATCH", f"/repos/acme/widgets/issues/{backmerge.number}")
    assert [request.status for request in closes] == [502, 200]
    merged = bot.repo.branches["develop"].sha
    [comment] = bot.repo.comments_on(backmerge.number)
    assert comment.body == (
        f"{CLOSING_MARKER}\nThe back-merge is done: merged into `develop` as `{merged[:7]}` by "
        "hotfix-bot; closing this pull request."
    )
    assert (backmerge.state, BACKMERGE in bot.repo.branches) == ("closed", False)
    # The retry's words: it found develop containing the merge commit.
    how = f"`develop` already contains the merge commit `{merge_sha(pull)[:7]}`"
    closed = row("Back-merge", "✅ already done", f"{how}; closed #{backmerge.number}")
    assert closed in release_run(bot, pull).output["summary"].splitlines()


def test_a_back_merge_branch_people_added_to_is_kept_when_its_pull_request_is_closed(
    bot: Bot,
) -> None:
    pull, backmerge = waiting_behind_protected_develop(bot)
    added = bot.repo.commit(BACKMERGE, {"NOTES.md": "notes\n"}, "Notes on the hotfix")

    rerun(bot, pull)

    merged = bot.repo.branches["develop"].sha
    how = f"merged into `develop` as `{merged[:7]}` by hotfix-bot"
    assert (backmerge.state, bot.repo.branches[BACKMERGE].sha) == ("closed", added)
    [comment] = bot.repo.comments_on(backmerge.number)
    assert comment.body == (
        f"{CLOSING_MARKER}\nThe back-merge is done: {how}; closing this pull request. "
        f"`{BACKMERGE}` is kept: it has commits besides the merge commit (at `{added[:7]}`)."
    )
    closed = row(
        "Back-merge",
        "✅ done",
        f"merged into `develop` as `{merged[:7]}`; closed #{backmerge.number}",
        f"[{merged[:7]}]({WEB}/commit/{merged})",
    )
    assert closed in release_run(bot, pull).output["summary"].splitlines()


def test_a_back_merge_pull_request_github_refuses_is_reported_with_githubs_reason(
    bot: Bot,
) -> None:
    """GitHub's "Validation Failed" says nothing a maintainer can act on; the reason it gives
    in its answer's `errors` is what the report quotes."""
    pull = merged_hotfix(bot)
    bot.repo.protect("develop")
    reason = f"No commits between develop and {BACKMERGE}"
    bot.fake.inject(
        "POST",
        r"/pulls$",
        status=422,
        body={
            "message": "Validation Failed",
            "errors": [{"resource": "PullRequest", "code": "custom", "message": reason}],
        },
    )

    bot.pull_request(pull.number, "closed")

    failed = row(
        "Back-merge",
        "❌ failed",
        f"GitHub answered 422 to POST /repos/acme/widgets/pulls: Validation Failed: {reason}",
    )
    run = release_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == ("failure", "1 of 6 steps failed: back-merge")
    [comment] = report_comments(bot, pull)
    assert failed in run.output["summary"].splitlines()
    assert failed in comment.body.splitlines()


@pytest.mark.parametrize("merged_back_by", ["hotfix-bot", "people"])
def test_a_back_merge_branch_left_without_its_pull_request_is_deleted_once_merged_back(
    bot: Bot, merged_back_by: str
) -> None:
    """GitHub refused to open the back-merge pull request, after its branch was pushed: the
    re-run that finds the back-merge needs none deletes the branch."""
    pull = merged_hotfix(bot)
    bot.repo.protect("develop")
    bot.fake.inject("POST", r"/pulls$", status=422, body={"message": "Validation Failed"})
    bot.pull_request(pull.number, "closed")
    assert (bot.repo.branches[BACKMERGE].sha, list(bot.repo.pulls)) == (
        merge_sha(pull),
        [pull.number],
    )
    assert release_run(bot, pull).conclusion == "failure"

    bot.repo.protect("develop", False)
    if merged_back_by == "people":
        bot.repo.merge_refs("develop", merge_sha(pull), "Merge main into develop", "dev")
    rerun(bot, pull)

    assert sorted(bot.repo.branches) == ["develop", "main"]
    if merged_back_by == "people":
        how = f"`develop` already contains the merge commit `{merge_sha(pull)[:7]}`"
        back_merge_row = row("Back-merge", "✅ already done", how)
    else:
        back_merge_row = back_merge_done(bot)
    run = release_run(bot, pull)
    assert (run.conclusion, list(bot.repo.pulls)) == ("success", [pull.number])
    assert back_merge_row in run.output["summary"].splitlines()


def test_a_back_merge_branch_an_attempt_pushed_before_stopping_is_deleted_by_the_retry(
    bot: Bot,
) -> None:
    """The first attempt's merge was refused, and it stopped on GitHub failing to open the
    pull request; the retry's merge goes through: the branch goes, no pull request opened."""
    pull = merged_hotfix(bot)
    bot.fake.inject("POST", r"/merges$", status=409, body={"message": "Merge conflict"})
    bot.fake.inject("POST", r"/pulls$", status=502)

    bot.pull_request(pull.number, "closed")

    merges = bot.fake.requests_to("POST", "/repos/acme/widgets/merges")
    opened = bot.fake.requests_to("POST", "/repos/acme/widgets/pulls")
    assert ([m.status for m in merges], [o.status for o in opened]) == ([409, 201], [502])
    assert sorted(bot.repo.branches) == ["develop", "main"]
    run = release_run(bot, pull)
    assert (run.conclusion, list(bot.repo.pulls)) == ("success", [pull.number])
    assert back_merge_done(bot) in run.output["summary"].splitlines()


@pytest.mark.parametrize(
    "deleted_by_github",
    ["no", "on the merge", "between the look and the delete (422)", "... (404)"],
)
def test_the_branch_of_a_merged_back_merge_pull_request_is_deleted(
    bot: Bot, deleted_by_github: str
) -> None:
    pull, backmerge = waiting_behind_protected_develop(bot)
    bot.repo.protect("develop")
    bot.repo.merge_pull(backmerge.number, "merge", merged_by="dev")
    if deleted_by_github == "on the merge":
        bot.repo.delete_branch(BACKMERGE)
    elif deleted_by_github != "no":
        status = 404 if "404" in deleted_by_github else 422
        message = "Not Found" if status == 404 else "Reference does not exist"
        bot.fake.inject(
            "DELETE",
            "/git/refs/heads/backmerge",
            status=status,
            body={"message": message},
            apply=True,
        )

    rerun(bot, pull)

    assert sorted(bot.repo.branches) == ["develop", "main"]
    assert_done_once_merged_back(bot, pull, merged_back_row(backmerge))
    assert bot.repo.comments_on(backmerge.number) == []


def test_a_rerun_that_comes_while_the_merge_runs_waits_for_it(bot: Bot) -> None:
    """A re-run is queued under the merge commit, the merge under the pull request: the two
    must still not run the steps at the same time."""
    pull = merged_hotfix(bot)
    develop_before = bot.repo.branches["develop"].sha
    bot.fake.latency = 0.05  # each run's requests interleave with the other's

    bot.send("pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "closed"))
    bot.send("check_suite", bot.fake.check_suite_event(bot.repo, merge_sha(pull)))
    bot.settle()

    for path in ("git/tags", "releases", "merges"):
        assert len(bot.fake.requests_to("POST", f"/repos/acme/widgets/{path}")) == 1, path
    # The report and the resolution notice, once each.
    assert len(bot.fake.requests_to("POST", f"/repos/acme/widgets/issues/{pull.number}/")) == 2
    assert len(report_comments(bot, pull)) == 1
    assert_released_as_usual(bot, pull, develop_before)


REFUSALS = {
    "409 required check": (409, 'Required status check "ci" is expected.'),
    "422 required check": (422, 'Required status check "ci" is expected.'),
    "422 pull request required": (422, "Changes must be made through a pull request."),
    "403 push restriction": (403, "You're not authorized to push to this branch."),
}


@pytest.mark.parametrize(("status", "message"), REFUSALS.values(), ids=REFUSALS.keys())
def test_a_refusal_in_other_words_is_a_protected_branch_too(
    bot: Bot, status: int, message: str
) -> None:
    """GitHub words the refusals of a branch's protection and rules in many ways; only a
    409 about a conflict is a conflict."""
    pull = merged_hotfix(bot)
    bot.fake.inject("POST", r"/merges$", status=status, times=None, body={"message": message})
    sha = merge_sha(pull)

    bot.pull_request(pull.number, "closed")

    assert bot.repo.branches[BACKMERGE].sha == sha
    backmerge = the_back_merge(bot, pull)
    assert backmerge.requested_reviewers == ["dev"]
    assert backmerge.body is not None
    assert backmerge.body.split("\n\n")[1] == (
        f'**Why a pull request:** `develop` is protected (GitHub: "{message}"), so hotfix-bot '
        "may not merge into it directly."
    )
    assert_waiting_for_backmerge(bot, pull, backmerge, "`develop` is protected")


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (422, "Review cannot be requested from pull request author."),
        (403, "Resource not accessible by integration"),
    ],
)
def test_a_refused_review_request_leaves_the_back_merge_waiting(
    bot: Bot, status: int, message: str
) -> None:
    pull = merged_hotfix(bot)
    bot.repo.protect("develop")
    bot.fake.inject(
        "POST", r"/requested_reviewers$", status=status, times=None, body={"message": message}
    )

    bot.pull_request(pull.number, "closed")

    backmerge = the_back_merge(bot, pull)
    assert (backmerge.head_ref, backmerge.requested_reviewers) == (BACKMERGE, [])
    assert_waiting_for_backmerge(bot, pull, backmerge, "`develop` is protected")
    [delivery] = [entry for entry in bot.journal.recent() if entry.event == "pull_request"]
    assert (delivery.status, delivery.attempts) == ("done", 1)


def test_a_rate_limit_on_the_back_merge_is_retried_not_taken_for_a_refusal(bot: Bot) -> None:
    pull = merged_hotfix(bot)
    develop_before = bot.repo.branches["develop"].sha
    bot.fake.inject(
        "POST",
        r"/merges$",
        status=403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 1)},
        body={"message": "API rate limit exceeded for installation ID 1."},
    )

    bot.pull_request(pull.number, "closed")

    merges = bot.fake.requests_to("POST", "/repos/acme/widgets/merges")
    assert [request.status for request in merges] == [403, 201]
    assert BACKMERGE not in bot.repo.branches
    assert_merged_back(bot, pull, develop_before)
    assert_all_done(bot, pull)


# --- release branches and version files (docs/BEHAVIOUR.md, 'Steps', 3. Back-merge) --------

KEEP_MESSAGE = f"chore: keep develop's version after {TAG}"
DEVELOP_VERSION = "1.3.0-dev\n"


def with_release_branches(bot: Bot, *names: str) -> None:
    """Release branches cut from develop, each with a commit of its own."""
    for name in names:
        bot.repo.create_branch(name, "develop")
        bot.repo.commit(name, {"RELEASE_NOTES.md": f"{name}\n"}, f"Start {name}")


def assert_merged_into_release_branch(
    bot: Bot, pull: FakePull, branch: str, before: dict[str, str]
) -> None:
    """`branch`, alone of all branches, merged the merge commit; the report says so."""
    merged = bot.repo.get_commit(branch)
    assert merged.parents == (before[branch], merge_sha(pull))
    assert merged.message == f"Merge hotfix {TAG} back into {branch}"
    assert merged.tree["VERSION"] == "1.2.4\n"
    after = {name: ref.sha for name, ref in bot.repo.branches.items()}
    assert after == {**before, branch: merged.sha}
    row_merged = row(
        "Back-merge",
        "✅ done",
        f"merged into the release branch `{branch}` as `{merged.sha[:7]}`",
        f"[{merged.sha[:7]}]({WEB}/commit/{merged.sha})",
    )
    assert_all_done(bot, pull, back_merge=row_merged)


def test_the_back_merge_goes_into_the_latest_release_branch(bot: Bot) -> None:
    pull = merged_hotfix(bot)
    with_release_branches(bot, "release/1.3", "release/1.4")
    before = {name: branch.sha for name, branch in bot.repo.branches.items() if name != BRANCH}

    with bot.counting() as requests:
        bot.pull_request(pull.number, "closed")

    assert_merged_into_release_branch(bot, pull, "release/1.4", before)
    # The release branches are listed once, with one request; their names tell which is open.
    assert [r.path for r in requests if "/git/matching-refs/" in r.path] == [
        "/repos/acme/widgets/git/matching-refs/heads/release"
    ]
    assert not [r.path for r in requests if "/compare/" in r.path]


def test_release_branches_github_lists_on_a_second_page_are_read(bot: Bot) -> None:
    """GitHub's description of the matching-refs list gives it a `link` header: a next page
    it names is read too."""
    pull = merged_hotfix(bot)
    with_release_branches(bot, "release/1.3", "release/1.4")
    before = {name: branch.sha for name, branch in bot.repo.branches.items() if name != BRANCH}
    first_page = [git_ref(bot.fake, bot.repo, "refs/heads/release/1.3", before["release/1.3"])]
    next_page = f"{bot.fake.api_url}/repos/acme/widgets/git/matching-refs/heads/release/1.4"
    bot.fake.inject(
        "GET",
        r"/git/matching-refs/heads/release$",
        status=200,
        body=first_page,
        headers={"link": f'<{next_page}>; rel="next"'},
    )

    bot.pull_request(pull.number, "closed")

    assert_merged_into_release_branch(bot, pull, "release/1.4", before)


def test_a_release_branch_with_no_commit_of_its_own_yet_is_open(bot: Bot) -> None:
    pull = merged_hotfix(bot)
    # Just cut from develop, which holds nothing main does not: it is behind main.
    bot.repo.create_branch("release/1.3.0", "develop")
    before = {name: branch.sha for name, branch in bot.repo.branches.items() if name != BRANCH}

    bot.pull_request(pull.number, "closed")

    assert_merged_into_release_branch(bot, pull, "release/1.3.0", before)


@pytest.mark.parametrize(
    "release_branches", [["release/1.2.0"], ["release/1.2.0", "release/1.2.4"]]
)
def test_a_release_branch_at_or_below_the_hotfix_version_is_passed_over(
    bot: Bot, release_branches: list[str]
) -> None:
    pull = merged_hotfix(bot)
    # Released already and kept (merged into main by squash, say): with commits main lacks.
    with_release_branches(bot, *release_branches)
    before = {name: branch.sha for name, branch in bot.repo.branches.items()}

    bot.pull_request(pull.number, "closed")

    assert {name: bot.repo.branches[name].sha for name in release_branches} == {
        name: before[name] for name in release_branches
    }
    assert_merged_back(bot, pull, before["develop"])
    assert_all_done(bot, pull)


def test_of_two_open_release_branches_the_higher_version_gets_the_back_merge(bot: Bot) -> None:
    pull = merged_hotfix(bot)
    with_release_branches(bot, "release/1.3.0")
    bot.repo.create_branch("release/2.0.0", "develop")  # no commit of its own yet
    before = {name: branch.sha for name, branch in bot.repo.branches.items() if name != BRANCH}

    bot.pull_request(pull.number, "closed")

    assert_merged_into_release_branch(bot, pull, "release/2.0.0", before)


def test_a_repositorys_release_prefix_names_its_release_branches(bot: Bot) -> None:
    config = {".github/hotfix.yml": "branches:\n  release_prefix: releases/\n"}
    pull = merged_hotfix(bot, main_files=config)
    with_release_branches(bot, "releases/1.3.0", "release/1.4.0")  # the second: no prefix now
    before = {name: branch.sha for name, branch in bot.repo.branches.items() if name != BRANCH}

    bot.pull_request(pull.number, "closed")

    assert_merged_into_release_branch(bot, pull, "releases/1.3.0", before)


def test_a_production_branch_named_like_a_release_branch_is_no_release_branch(bot: Bot) -> None:
    # A maintenance line: production is `release/2024.06`, whose name reads as version 2024.6.
    config = {".github/hotfix.yml": "branches:\n  production: release/2024.06\n"}
    pull = merged_hotfix(bot, main_files=config, into="release/2024.06", severity="P2")
    develop_before = bot.repo.branches["develop"].sha

    bot.pull_request(pull.number, "closed")

    assert_merged_back(bot, pull, develop_before)
    run = release_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == ("success", f"All steps done for {TAG}")
    assert f"\n{back_merge_done(bot)}\n" in run.output["summary"]


def test_finishing_by_hand_names_the_release_branch(bot: Bot, private_key_pem: str) -> None:
    pull = merged_hotfix(bot)
    with_release_branches(bot, "release/1.3")
    bot.fake.inject("POST", r"/merges$", status=502, times=None)

    closed_on_last_attempt(bot, private_key_pem, pull)

    run = release_run(bot, pull)
    assert run.output["title"] == "1 of 6 steps failed: back-merge"
    assert run.output["summary"].endswith(
        f"```sh\ngit fetch origin\n{back_merge_commands(pull, 'release/1.3')}\n```"
    )


def waiting_on_a_conflict_with_develop(bot: Bot) -> tuple[FakePull, FakePull]:
    """A merged hotfix whose back-merge conflicts with develop (app.py) and waits in its pull
    request, opened with no release branch yet."""
    pull = conflicting_hotfix(bot)
    bot.pull_request(pull.number, "closed")
    backmerge = the_back_merge(bot, pull)
    assert_waiting_for_backmerge(bot, pull, backmerge, "the hotfix conflicts with `develop`")
    return pull, backmerge


KEPT_FROM_RELEASE = (
    "; the back-merge keeps to its pull request's base rather than the release branch "
    "`release/1.3.0`"
)


def pulls_now(bot: Bot) -> list[tuple[int, str, str, str, bool]]:
    return [(p.number, p.head_ref, p.base_ref, p.state, p.merged) for p in bot.repo.pulls.values()]


@pytest.mark.parametrize("conflicting", [True, False], ids=["conflicting", "merging cleanly"])
def test_a_back_merge_waiting_in_its_pull_request_stays_there_once_a_release_branch_is_cut(
    bot: Bot, conflicting: bool
) -> None:
    """Whether the release branch conflicts with the hotfix too (cut from develop) or would
    take it cleanly (cut from main before the hotfix), the back-merge stays with the pull
    request into develop: no second pull request from its branch, no report reading done
    beside it."""
    pull, backmerge = waiting_on_a_conflict_with_develop(bot)
    bot.repo.create_branch("release/1.3.0", "develop" if conflicting else before_merge(bot, pull))
    bot.repo.commit("release/1.3.0", {"RELEASE_NOTES.md": "1.3.0\n"}, "Start release/1.3.0")
    branches = {name: branch.sha for name, branch in bot.repo.branches.items()}

    rerun(bot, pull)

    assert {name: branch.sha for name, branch in bot.repo.branches.items()} == branches
    assert pulls_now(bot) == [
        (pull.number, BRANCH, "main", "closed", True),
        (backmerge.number, BACKMERGE, "develop", "open", False),
    ]
    reviews = f"/repos/acme/widgets/pulls/{backmerge.number}/requested_reviewers"
    assert len(bot.fake.requests_to("POST", reviews)) == 1  # asked once, by the first run
    assert_waiting_for_backmerge(
        bot, pull, backmerge, "the hotfix conflicts with `develop`", FOUND, stays=KEPT_FROM_RELEASE
    )


def test_a_back_merge_pull_request_merged_after_a_release_branch_was_cut_is_found_done(
    bot: Bot,
) -> None:
    """People merge develop into the back-merge branch, resolving the conflict, once a
    release branch was cut: the re-run names their pull request, and opens none from that
    branch (which holds develop's work now) into the release branch."""
    pull, backmerge = waiting_on_a_conflict_with_develop(bot)
    with_release_branches(bot, "release/1.3.0")
    release_before = bot.repo.branches["release/1.3.0"].sha
    resolve_and_merge(bot, backmerge)

    rerun(bot, pull)

    assert pulls_now(bot) == [
        (pull.number, BRANCH, "main", "closed", True),
        (backmerge.number, BACKMERGE, "develop", "closed", True),
    ]
    assert sorted(bot.repo.branches) == ["develop", "main", "release/1.3.0"]
    assert bot.repo.branches["release/1.3.0"].sha == release_before
    assert_done_once_merged_back(bot, pull, merged_back_row(backmerge))


def test_a_back_merge_pull_request_closed_unmerged_is_opened_again_into_its_base(
    bot: Bot,
) -> None:
    """Closed without merging while a release branch was cut: the re-run opens a pull request
    from the same branch into develop again, not into the release branch, which would take
    whatever people merged onto the branch from develop."""
    pull, backmerge = waiting_on_a_conflict_with_develop(bot)
    bot.repo.close_pull(backmerge.number)
    with_release_branches(bot, "release/1.3.0")

    rerun(bot, pull)

    [again] = [
        p for p in bot.repo.pulls.values() if p.number not in (pull.number, backmerge.number)
    ]
    assert pulls_now(bot) == [
        (pull.number, BRANCH, "main", "closed", True),
        (backmerge.number, BACKMERGE, "develop", "closed", False),
        (again.number, BACKMERGE, "develop", "open", False),
    ]
    assert_waiting_for_backmerge(
        bot, pull, again, "the hotfix conflicts with `develop`", FOUND, stays=KEPT_FROM_RELEASE
    )


def resolved_row(resolution: str, kept: str = "`VERSION`") -> str:
    return row(
        "Back-merge",
        "✅ done",
        f"merged into `develop`; the version conflict was resolved by keeping `develop`'s "
        f"version in {kept}",
        f"[{resolution[:7]}]({WEB}/commit/{resolution})",
    )


def assert_develop_kept_its_version(bot: Bot, pull: FakePull, develop_before: str) -> str:
    """develop merged `backmerge/v1.2.4`, whose one commit on the merge commit put back
    develop's VERSION; the branch is gone. Returns that commit's SHA."""
    develop = bot.repo.get_commit("develop")
    assert develop.message == f"Merge hotfix {TAG} back into develop"
    assert develop.parents[0] == develop_before
    resolution = bot.repo.objects.commits[develop.parents[1]]
    assert (resolution.parents, resolution.message) == ((merge_sha(pull),), KEEP_MESSAGE)
    merged = bot.repo.get_commit(merge_sha(pull)).tree
    assert resolution.tree == {**merged, "VERSION": DEVELOP_VERSION}
    assert develop.tree == {**merged, "VERSION": DEVELOP_VERSION, "feature.py": "x = 1\n"}
    assert set(bot.repo.branches) == {"main", "develop"}
    assert_only_pull(bot, pull)
    return resolution.sha


def test_a_conflict_in_thousands_of_files_opens_the_pull_request_listing_the_first_100(
    bot: Bot,
) -> None:
    """Every path listed, the body would pass the 65,536 characters GitHub takes."""
    paths = [f"src/services/generated/module_{index:04}.py" for index in range(2500)]
    pull = merged_hotfix(
        bot,
        hotfix_files=dict.fromkeys(paths, "fixed\n"),
        develop_files=dict.fromkeys(paths, "new feature\n"),
    )

    bot.pull_request(pull.number, "closed")

    backmerge = the_back_merge(bot, pull)
    assert backmerge.head_ref == BACKMERGE
    assert backmerge.body is not None
    listing = backmerge.body.split("\n\n")[3].splitlines()
    assert listing == [
        *(f"- `{path}`" for path in paths[:100]),
        "- and 2400 more, which `git merge` below lists",
    ]
    assert len(backmerge.body) < 10_000
    assert release_run(bot, pull).output["title"] == (
        f"Back-merge into develop waits for review in #{backmerge.number}"
    )

    # A second hotfix behind it meets those conflicts too, which are not its own.
    second = next_hotfix(bot)
    bot.pull_request(second.number, "closed")

    behind = back_merge_of(bot, "backmerge/v1.2.5")
    assert behind.body is not None
    not_its_own = next(p for p in behind.body.split("\n\n") if p.startswith("This hotfix"))
    named = ", ".join(f"`{path}`" for path in paths[:100])
    assert not_its_own == (
        f"This hotfix did not change {named} or 2400 more files: those conflicts come from "
        f"the earlier hotfix still waiting in #{backmerge.number}, not from this one."
    )
    assert len(behind.body) < 20_000


def test_a_conflict_in_version_files_alone_keeps_develops_version(bot: Bot) -> None:
    pull = merged_hotfix(
        bot,
        hotfix_files={"app.py": "def login(): fixed\n"},
        develop_files={"VERSION": DEVELOP_VERSION, "feature.py": "x = 1\n"},
    )
    develop_before = bot.repo.branches["develop"].sha

    bot.pull_request(pull.number, "closed")

    resolution = assert_develop_kept_its_version(bot, pull, develop_before)
    assert bot.repo.read_file("develop", "app.py") == "def login(): fixed\n"
    assert_all_done(bot, pull, back_merge=resolved_row(resolution))


def test_a_version_file_the_hotfix_made_a_symbolic_link_is_compared_where_it_points(
    bot: Bot,
) -> None:
    """The hotfix made VERSION a symbolic link to app/VERSION, which holds 1.2.4: on its side
    VERSION changed in its version alone, as the hotfix-policy check reads it, so develop
    keeps its own."""
    pull = merged_hotfix(
        bot,
        hotfix_files={"VERSION": "app/VERSION", "app/VERSION": "1.2.4\n"},
        develop_files={"VERSION": DEVELOP_VERSION},
    )
    bot.list_as_symbolic_link(merge_sha(pull), "VERSION")
    develop_before = bot.repo.branches["develop"].sha

    bot.pull_request(pull.number, "closed")

    develop = bot.repo.get_commit("develop")
    assert develop.parents[0] == develop_before
    resolution = bot.repo.objects.commits[develop.parents[1]]
    assert (resolution.parents, resolution.message) == ((merge_sha(pull),), KEEP_MESSAGE)
    assert (develop.tree["VERSION"], develop.tree["app/VERSION"]) == (DEVELOP_VERSION, "1.2.4\n")
    assert set(bot.repo.branches) == {"main", "develop"}
    assert_only_pull(bot, pull)
    assert_all_done(bot, pull, back_merge=resolved_row(resolution.sha))


def test_develop_keeps_every_version_file_of_its_own_not_only_the_conflicting_one(
    bot: Bot,
) -> None:
    """package.json merges without a conflict (develop never changed it), yet develop keeps
    its own: its version files are all put back, not only VERSION."""
    package = '{"version": "%s"}\n'
    pull = merged_hotfix(
        bot,
        main_files={"package.json": package % "1.2.3"},
        hotfix_files={"package.json": package % "1.2.4"},
        develop_files={"VERSION": DEVELOP_VERSION, "feature.py": "x = 1\n"},
    )
    develop_before = bot.repo.branches["develop"].sha

    bot.pull_request(pull.number, "closed")

    develop = bot.repo.get_commit("develop")
    assert develop.parents[0] == develop_before
    assert develop.tree == {
        "VERSION": DEVELOP_VERSION,
        "package.json": package % "1.2.3",
        "app.py": APP_PY,
        "feature.py": "x = 1\n",
    }
    resolution = bot.repo.objects.commits[develop.parents[1]]
    assert (resolution.parents, resolution.message) == ((merge_sha(pull),), KEEP_MESSAGE)
    assert set(bot.repo.branches) == {"main", "develop"}
    assert_only_pull(bot, pull)
    kept = resolved_row(resolution.sha, "`VERSION` and `package.json`")
    assert_all_done(bot, pull, back_merge=kept)


PACKAGE = '{\n  "name": "w",\n  "version": "%s",\n  "dependencies": {\n    "lodash": "%s"\n  }\n}\n'
PYPROJECT = '[project]\nname = "w"\nversion = "%s"\ndependencies = ["%s"]\n'


@pytest.mark.parametrize(
    ("case", "conflicts", "not_settled"),
    [
        ("in the conflicting file", ["package.json"], "`package.json` changed beyond its version"),
        (
            "in files beside the conflict",
            ["VERSION"],
            "`package.json` and `pyproject.toml` changed beyond their versions",
        ),
        # The merge commit's parent holds the earlier commit: only the merge base shows it.
        (
            "in an earlier commit, rebased",
            ["package.json"],
            "`package.json` changed beyond its version",
        ),
    ],
)
def test_a_version_conflict_is_left_to_people_when_keeping_develops_would_drop_a_change(
    bot: Bot, case: str, conflicts: list[str], not_settled: str
) -> None:
    """The hotfix also bumped lodash (a security fix) in package.json: keeping develop's
    version files would leave develop without it."""
    main = {
        "package.json": PACKAGE % ("1.2.3", "4.17.20"),
        "pyproject.toml": PYPROJECT % ("1.2.3", "a"),
    }
    fixed = PACKAGE % ("1.2.4", "4.17.21")
    if case == "in the conflicting file":
        pull = merged_hotfix(
            bot,
            main_files=main,
            hotfix_files={"package.json": fixed},
            develop_files={"package.json": PACKAGE % ("1.3.0-dev", "4.17.20")},
        )
    elif case == "in files beside the conflict":
        pull = merged_hotfix(
            bot,
            main_files=main,
            hotfix_files={"package.json": fixed, "pyproject.toml": PYPROJECT % ("1.2.4", "b")},
            develop_files={"VERSION": DEVELOP_VERSION},
        )
    else:
        pull = merged_hotfix(
            bot,
            "rebase",
            main_files=main,
            earlier_hotfix_files={"package.json": PACKAGE % ("1.2.3", "4.17.21")},
            hotfix_files={"package.json": fixed},
            develop_files={"package.json": PACKAGE % ("1.3.0-dev", "4.17.20")},
        )
    develop_before = bot.repo.branches["develop"].sha
    sha = merge_sha(pull)

    bot.pull_request(pull.number, "closed")

    backmerge = waiting_back_merge(bot, pull, develop_before)
    assert (backmerge.head_ref, backmerge.base_ref) == (BACKMERGE, "develop")
    listed = "\n".join(f"- `{path}`" for path in conflicts)
    kept = " and ".join(f"`{path}`" for path in conflicts)
    assert backmerge.body == (
        f"This merges hotfix #{pull.number} (Fix login), merge commit `{sha[:7]}`, back into "
        "`develop`.\n\n"
        "**Why a pull request:** the hotfix conflicts with `develop`, so GitHub could not "
        "merge it automatically.\n\n"
        "Files changed on both sides since they diverged (the conflicts are in these):\n\n"
        f"{listed}\n\n"
        "hotfix-bot settles a conflict in version files alone by keeping `develop`'s, but that "
        f"would drop more than the version: {not_settled} on the hotfix's side.\n\n"
        f"@dev, please resolve the conflicts on `{BACKMERGE}`, keeping both the hotfix and the "
        f"work on `develop` (but `develop`'s own version in {kept}, not the hotfix's 1.2.4), "
        "then merge:\n\n"
        "```sh\ngit fetch origin\n"
        f"git checkout {BACKMERGE}\ngit merge origin/develop\n# resolve, commit\n"
        f"git push origin {BACKMERGE}\n```"
    )
    assert_waiting_for_backmerge(bot, pull, backmerge, "the hotfix conflicts with `develop`")


APP_LINES = [f"line {number}\n" for number in range(1, 31)]


def app_py(**changed: str) -> str:
    """app.py of 30 lines with `line_N` replaced."""
    return "".join(changed.get(f"line_{number}", line) for number, line in enumerate(APP_LINES, 1))


def test_a_file_both_sides_changed_in_different_places_merges_with_the_version_resolution(
    bot: Bot,
) -> None:
    """GitHub merges a file line by line, so only VERSION conflicts: develop keeps its own
    version and gets the hotfix's line of app.py next to its own."""
    pull = merged_hotfix(
        bot,
        main_files={"app.py": app_py()},
        hotfix_files={"app.py": app_py(line_1="line 1, fixed\n")},
        develop_files={"VERSION": DEVELOP_VERSION, "app.py": app_py(line_20="line 20, new\n")},
    )
    develop_before = bot.repo.branches["develop"].sha

    with bot.counting() as requests:
        bot.pull_request(pull.number, "closed")

    develop = bot.repo.get_commit("develop")
    assert develop.parents[0] == develop_before
    assert develop.tree == {
        "VERSION": DEVELOP_VERSION,
        "app.py": app_py(line_1="line 1, fixed\n", line_20="line 20, new\n"),
    }
    assert set(bot.repo.branches) == {"main", "develop"}
    assert_only_pull(bot, pull)
    # app.py's three sides were read to tell, once each; of VERSION only main's before the
    # merge and the merge commit's, for the tag.
    read = [r.path.rpartition("/")[2] for r in requests if "/git/blobs/" in r.path]
    sides = [app_py(), app_py(line_1="line 1, fixed\n"), app_py(line_20="line 20, new\n")]
    assert sorted(read) == sorted(blob_sha(text) for text in ["1.2.3\n", "1.2.4\n", *sides])
    resolution = develop.parents[1]
    assert_all_done(bot, pull, back_merge=resolved_row(resolution))


def test_beyond_fifty_other_files_changed_on_both_sides_people_merge(bot: Bot) -> None:
    """Three blob reads each: past 50 such files the step does not look inside them."""
    paths = [f"src/module_{number:02}.py" for number in range(51)]
    pull = merged_hotfix(
        bot,
        main_files=dict.fromkeys(paths, app_py()),
        hotfix_files=dict.fromkeys(paths, app_py(line_1="line 1, fixed\n")),
        develop_files={
            "VERSION": DEVELOP_VERSION,
            **dict.fromkeys(paths, app_py(line_20="line 20, new\n")),
        },
    )

    bot.pull_request(pull.number, "closed")

    # Only VERSION on main before the merge and at the merge commit, for the tag.
    blobs = bot.fake.requests_to("GET", "/repos/acme/widgets/git/blobs/")
    read = sorted(r.path.rpartition("/")[2] for r in blobs)
    assert read == sorted(blob_sha(text) for text in ["1.2.3\n", "1.2.4\n"])
    backmerge = the_back_merge(bot, pull)
    assert (backmerge.head_ref, backmerge.base_ref) == (BACKMERGE, "develop")
    assert backmerge.body is not None
    listed = [line for line in backmerge.body.splitlines() if line.startswith("- `")]
    assert listed == ["- `VERSION`", *(f"- `{path}`" for path in paths)]
    assert_waiting_for_backmerge(bot, pull, backmerge, "the hotfix conflicts with `develop`")


CRASHED_AFTER = ["the branch was made", "the commit was made", "the branch was merged"]


@pytest.mark.parametrize("crashed_after", CRASHED_AFTER)
def test_a_rerun_finishes_a_version_resolution_without_doing_anything_twice(
    bot: Bot, crashed_after: str
) -> None:
    """What an earlier run left on GitHub before it stopped is found and kept."""
    pull = merged_hotfix(bot, develop_files={"VERSION": DEVELOP_VERSION, "feature.py": "x = 1\n"})
    develop_before = bot.repo.branches["develop"].sha
    bot.repo.create_branch(BACKMERGE, merge_sha(pull))
    left_behind = None
    if crashed_after != "the branch was made":
        left_behind = bot.repo.commit(BACKMERGE, {"VERSION": DEVELOP_VERSION}, KEEP_MESSAGE)
    if crashed_after == "the branch was merged":
        bot.repo.merge_refs("develop", BACKMERGE, f"Merge hotfix {TAG} back into develop", "bot")

    with bot.counting() as requests:
        bot.pull_request(pull.number, "closed")

    resolution = assert_develop_kept_its_version(bot, pull, develop_before)
    if left_behind is not None:
        assert resolution == left_behind  # found again, not made twice
    writes = [
        f"{r.method} {r.path.removeprefix('/repos/acme/widgets')}"
        for r in requests
        if r.method != "GET" and "/access_tokens" not in r.path
    ]
    # The hotfix's own merge (409, or 204 once develop holds it) comes first.
    resumed = {
        "the branch was made": [
            "POST /git/trees",
            "POST /git/commits",
            f"PATCH /git/refs/heads/{BACKMERGE}",
            "POST /merges",
        ],
        "the commit was made": ["POST /merges"],
        "the branch was merged": [],
    }[crashed_after]
    # The tag and the back-merge need nothing of each other and run at once, each with what
    # needs it after it; the report is written once every step has ended.
    steps_writes, report_writes = writes[:-2], writes[-2:]
    assert interleaves(
        steps_writes,
        [
            "POST /git/tags",
            "POST /git/refs",
            "POST /releases",
            "POST /issues",  # the incident report
            f"POST /issues/{pull.number}/comments",  # the resolution notice
        ],
        [
            "POST /merges",
            *resumed,
            f"DELETE /git/refs/heads/{BACKMERGE}",
            f"DELETE /git/refs/heads/{BRANCH}",  # the branch deletion, after the back-merge
        ],
    ), writes
    assert sorted(report_writes) == ["POST /check-runs", f"POST /issues/{pull.number}/comments"]
    assert_all_done(bot, pull, back_merge=resolved_row(resolution))


def interleaves(writes: list[str], *sequences: list[str]) -> bool:
    """Whether `writes` are exactly `sequences` run side by side: each in its own order."""
    left = [list(sequence) for sequence in sequences]
    for write in writes:
        sequence = next((one for one in left if one and one[0] == write), None)
        if sequence is None:
            return False
        sequence.pop(0)
    return not any(left)


def test_a_crash_after_merging_the_version_resolution_is_finished_by_the_retry(
    bot: Bot,
) -> None:
    pull = merged_hotfix(bot, develop_files={"VERSION": DEVELOP_VERSION, "feature.py": "x = 1\n"})
    develop_before = bot.repo.branches["develop"].sha
    bot.fake.inject("DELETE", rf"/git/refs/heads/{BACKMERGE}$", status=502, times=1)

    bot.pull_request(pull.number, "closed")

    [delivery] = [entry for entry in bot.journal.recent() if entry.event == "pull_request"]
    assert (delivery.status, delivery.attempts) == ("done", 2)
    resolution = assert_develop_kept_its_version(bot, pull, develop_before)

    def statuses(method: str, path: str) -> list[int | None]:
        return [r.status for r in bot.fake.requests_to(method, f"/repos/acme/widgets/{path}")]

    assert statuses("POST", "git/trees") == [201]
    assert statuses("POST", "git/commits") == [201]
    assert statuses("PATCH", f"git/refs/heads/{BACKMERGE}") == [200]
    assert statuses("POST", "merges") == [409, 201, 204]
    assert statuses("DELETE", f"git/refs/heads/{BACKMERGE}") == [502, 204]
    assert_all_done(bot, pull, back_merge=resolved_row(resolution))


def test_a_back_merge_branch_with_other_work_is_left_to_people(bot: Bot) -> None:
    pull = merged_hotfix(bot, develop_files={"VERSION": DEVELOP_VERSION})
    develop_before = bot.repo.branches["develop"].sha
    bot.repo.create_branch(BACKMERGE, merge_sha(pull))
    by_hand = bot.repo.commit(BACKMERGE, {"VERSION": "1.3.0-dev.1\n"}, "Pick a version", "dev")

    bot.pull_request(pull.number, "closed")

    assert bot.repo.branches[BACKMERGE].sha == by_hand
    assert bot.repo.branches["develop"].sha == develop_before
    assert not bot.fake.requests_to("POST", "/repos/acme/widgets/git/commits")
    backmerge = the_back_merge(bot, pull)
    assert (backmerge.head_ref, backmerge.base_ref) == (BACKMERGE, "develop")
    assert_waiting_for_backmerge(bot, pull, backmerge, "the hotfix conflicts with `develop`")


@pytest.mark.parametrize("target", ["develop", "release/1.3"])
def test_a_conflict_beyond_version_files_still_opens_the_back_merge_pull_request(
    bot: Bot, target: str
) -> None:
    pull = merged_hotfix(bot, hotfix_files={"app.py": "def login(): fixed\n"})
    if target != "develop":
        with_release_branches(bot, target)
    bot.repo.commit(
        target, {"VERSION": DEVELOP_VERSION, "app.py": "def login(): new feature\n"}, "Work"
    )
    target_before = bot.repo.branches[target].sha
    sha = merge_sha(pull)

    bot.pull_request(pull.number, "closed")

    assert bot.repo.branches[target].sha == target_before
    assert bot.repo.branches[BACKMERGE].sha == sha  # nothing committed on it
    assert not bot.fake.requests_to("POST", "/repos/acme/widgets/git/trees")
    assert not bot.fake.requests_to("POST", "/repos/acme/widgets/git/commits")
    backmerge = the_back_merge(bot, pull)
    assert (backmerge.head_ref, backmerge.base_ref, backmerge.title) == (
        BACKMERGE,
        target,
        f"Back-merge {TAG} into {target}",
    )
    assert backmerge.body is not None
    assert backmerge.body.split("\n\n")[1:4] == [
        f"**Why a pull request:** the hotfix conflicts with `{target}`, so GitHub could not "
        "merge it automatically.",
        "Files changed on both sides since they diverged (the conflicts are in these):",
        "- `VERSION`\n- `app.py`",
    ]
    run = release_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == (
        "action_required",
        f"Back-merge into {target} waits for review in #{backmerge.number}",
    )
    where = "`develop`" if target == "develop" else f"the release branch `{target}`"
    assert (
        f"| Back-merge | ⏳ waiting | the hotfix conflicts with {where}: pull "
        f"request #{backmerge.number} from `{BACKMERGE}` waits for @dev |"
    ) in run.output["summary"]
    assert f"GitHub did not take the back-merge into `{target}` directly." in run.output["summary"]


def test_no_develop_branch_skips_the_back_merge(bot: Bot) -> None:
    pull = merged_hotfix(bot, with_develop=False)

    bot.pull_request(pull.number, "closed")

    assert set(bot.repo.branches) == {"main"}
    assert_tagged(bot, pull)
    assert_released(bot, pull)
    skipped = row("Back-merge", "➖ skipped", "there is no branch `develop`")
    text = summary(bot, pull, tag_done(pull), RELEASE_DONE, skipped, DELETE_DONE)
    assert_report(bot, pull, "success", f"All steps done for {TAG} (1 skipped)", text)


def test_github_flow_skips_the_back_merge(bot: Bot) -> None:
    pull = merged_hotfix(bot, main_files={".github/hotfix.yml": "workflow: github-flow\n"})
    develop_before = bot.repo.branches["develop"].sha

    bot.pull_request(pull.number, "closed")

    assert bot.repo.branches["develop"].sha == develop_before
    assert_tagged(bot, pull)
    skipped = row(
        "Back-merge",
        "➖ skipped",
        "`workflow: github-flow` has no development branch to merge into",
    )
    text = summary(bot, pull, tag_done(pull), RELEASE_DONE, skipped, DELETE_DONE)
    assert_report(bot, pull, "success", f"All steps done for {TAG} (1 skipped)", text)


def test_release_and_delete_branch_false_tag_merge_back_and_keep_the_branch(bot: Bot) -> None:
    config = "release: false\ndelete_branch: false\n"
    pull = merged_hotfix(bot, main_files={".github/hotfix.yml": config})
    develop_before = bot.repo.branches["develop"].sha

    bot.pull_request(pull.number, "closed")

    assert_tagged(bot, pull)
    assert bot.repo.releases == {}
    assert_merged_back(bot, pull, develop_before)
    assert bot.repo.branches[BRANCH].sha == pull.head_sha
    in_config = "in `.github/hotfix.yml`"
    no_release = row("Release", "➖ skipped", f"`release: false` {in_config}")
    branch_kept = row("Delete branch", "➖ skipped", f"`delete_branch: false` {in_config}")
    text = summary(bot, pull, tag_done(pull), no_release, back_merge_done(bot), branch_kept)
    assert_report(bot, pull, "success", f"All steps done for {TAG} (2 skipped)", text)


@pytest.mark.parametrize("message", ["Hotfix by hand", None], ids=["annotated", "lightweight"])
def test_tag_already_on_the_merge_commit_is_done(bot: Bot, message: str | None) -> None:
    pull = merged_hotfix(bot)
    tag_ref = bot.repo.create_tag(TAG, merge_sha(pull), message)

    bot.pull_request(pull.number, "closed")

    assert bot.repo.tags == {TAG: tag_ref}
    assert_released(bot, pull)
    already = row(
        "Tag",
        "✅ already done",
        f"`{TAG}` was already on the merge commit `{merge_sha(pull)[:7]}`",
        f"[{TAG}]({WEB}/tree/{TAG})",
    )
    assert_all_done(bot, pull, tag=already)


@pytest.mark.parametrize("event", ["check_run", "check_suite"])
def test_tag_on_another_commit_fails_is_never_moved_and_a_rerun_resumes(
    bot: Bot, event: str
) -> None:
    old_main = bot.repo.branches["main"].sha
    pull = merged_hotfix(bot)
    sha = merge_sha(pull)
    wrong_tag = bot.repo.create_tag(TAG, old_main, "Premature tag")
    # GitHub slow to show the tag found, so that the tag step ends late.
    bot.fake.inject("GET", r"/git/tags/[0-9a-f]+$", delay=0.5)

    bot.pull_request(pull.number, "closed")

    assert bot.repo.tags == {TAG: wrong_tag}
    assert bot.repo.releases == {}
    # The steps that need nothing the tag made still ran, once the tag step had ended.
    assert BRANCH not in bot.repo.branches
    [peel] = bot.fake.requests_to("GET", "/repos/acme/widgets/git/tags/")
    [merge] = bot.fake.requests_to("POST", "/repos/acme/widgets/merges")
    assert peel.answered_at is not None and peel.answered_at <= merge.received_at
    tagged = bot.repo.objects.peel(wrong_tag)[:7]
    tag_failed = row(
        "Tag",
        "❌ failed",
        f"`{TAG}` already names `{tagged}`, not the merge commit `{sha[:7]}`, so this hotfix's "
        "change needs a version of its own: open a hotfix pull request into `main` bumping the "
        "version in `VERSION` to 1.2.5",
        f"[{TAG}]({WEB}/tree/{TAG})",
    )
    blocked = row("Release", "➖ skipped", "needs the tag, which failed")
    # No command to delete the tag, nor any that would release or announce it as this one's.
    by_hand = (
        f"\n\n## Finish by hand\n\nLeave `{TAG}` as it is: it names `{tagged}`. To release "
        "this hotfix's change, open a hotfix pull request into `main` bumping the version in "
        "`VERSION` to 1.2.5, which hotfix-bot tags `v1.2.5`."
    )
    back_merged = back_merge_done(bot)
    # The incident report is opened all the same, and waits for the tag to name it; the
    # resolution notice, which names it, waits too.
    waiting_for_the_tag = incident_report_done(
        bot,
        pull,
        "⏳ waiting",
        "opened issue #{number} (assigned to @dev), due {due}; it waits for the tag and "
        "release to name them",
    )
    notice_blocked = row(
        "Resolution notice", "➖ skipped", "needs the tag, which failed: the notice names it"
    )
    text = summary(
        bot,
        pull,
        tag_failed,
        blocked,
        back_merged,
        DELETE_DONE,
        tail=by_hand,
        record=(waiting_for_the_tag, notice_blocked),
    )
    assert_report(bot, pull, "failure", "1 of 6 steps failed: tag", text)

    # Someone removes the premature tag; the re-run retries only what is not done.
    del bot.repo.tags[TAG]
    with bot.counting() as requests:
        rerun(bot, pull, event)
    assert_tagged(bot, pull)
    assert_released(bot, pull)
    assert not [r for r in requests if r.path.endswith(("/merges", f"/heads/{BRANCH}"))]
    named = incident_report_done(
        bot, pull, detail=f"issue #{{number}} names {TAG} now, due {{due}}"
    )
    rows = (tag_done(pull), RELEASE_DONE, back_merged, DELETE_DONE)
    text = summary(bot, pull, *rows, record=(named, RESOLUTION_NOTICE_DONE))
    assert_report(bot, pull, "success", f"All steps done for {TAG}", text)


def test_a_tag_another_hotfix_released_first_is_kept_and_this_one_is_told_to_bump_again(
    bot: Bot,
) -> None:
    """Two hotfixes bumped 1.2.3 to 1.2.4 side by side; the second merged after the first
    was released."""
    bot.repo.collaborators["dev"] = "write"
    bot.repo.create_branch("develop", "main")
    first = bot.open_hotfix("hotfix/first")
    second = bot.open_hotfix("hotfix/second", files={"second.py": "x = 2\n"})
    bot.repo.merge_pull(first.number)
    bot.pull_request(first.number, "closed")
    released = (dict(bot.repo.tags), list(bot.repo.releases.values()))

    bot.repo.merge_pull(second.number)
    bot.pull_request(second.number, "closed")

    assert (dict(bot.repo.tags), list(bot.repo.releases.values())) == released
    first_sha, second_sha = merge_sha(first)[:7], merge_sha(second)[:7]
    run = release_run(bot, second)
    assert (run.conclusion, run.output["title"]) == ("failure", "1 of 6 steps failed: tag")
    report = run.output["summary"]
    assert (
        row(
            "Tag",
            "❌ failed",
            f"`{TAG}` already names `{first_sha}`, the release of #{first.number}, not the merge "
            f"commit `{second_sha}`, so this hotfix's change needs a version of its own: open a "
            "hotfix pull request into `main` bumping the version in `VERSION` to 1.2.5",
            f"[{TAG}]({WEB}/tree/{TAG})",
        )
        in report
    )
    assert row("Release", "➖ skipped", "needs the tag, which failed") in report
    # Nothing that would delete the first hotfix's tag, or release it again as this one's.
    assert report.endswith(
        f"\n\n## Finish by hand\n\nLeave `{TAG}` as it is: it names `{first_sha}`, the "
        f"release of #{first.number}. To release this hotfix's change, open a hotfix pull "
        "request into `main` bumping the version in `VERSION` to 1.2.5, which hotfix-bot tags "
        "`v1.2.5`."
    )


def test_two_hotfixes_of_one_version_merged_together_tag_it_once_and_the_other_is_told_to_bump(
    bot: Bot,
) -> None:
    """Both runs look for the tag before either has made it (each holds its own hotfix's
    lock): the one whose ref GitHub refuses as existing reads it again."""
    bot.repo.create_branch("develop", "main")
    first = bot.open_hotfix("hotfix/first")
    second = bot.open_hotfix("hotfix/second", files={"second.py": "x = 2\n"})
    bot.repo.merge_pull(first.number)
    bot.repo.merge_pull(second.number)
    bot.fake.inject("POST", r"/git/tags$", delay=0.5, times=2)

    for pull in (first, second):
        bot.send("pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "closed"))
    bot.settle()

    assert len(bot.fake.requests_to("POST", "/repos/acme/widgets/git/tags")) == 2
    tagged = bot.repo.objects.peel(bot.repo.tags[TAG])
    winner, loser = (first, second) if tagged == merge_sha(first) else (second, first)
    assert tagged == merge_sha(winner)
    run = release_run(bot, loser)
    assert (run.conclusion, run.output["title"]) == ("failure", "1 of 6 steps failed: tag")
    assert (
        f"`{TAG}` already names `{merge_sha(winner)[:7]}`, the release of #{winner.number}, not "
        f"the merge commit `{merge_sha(loser)[:7]}`, so this hotfix's change needs a version of "
        "its own: open a hotfix pull request into `main` bumping the version in `VERSION` to 1.2.5"
    ) in run.output["summary"]
    assert "git push origin" not in run.output["summary"]
    assert release_run(bot, winner).conclusion == "success"


def test_an_open_hotfix_bumping_to_the_version_just_tagged_is_evaluated_again(bot: Bot) -> None:
    """Its `version-bump` passed while the tag did not exist, and nothing on it changes when
    another hotfix is tagged with that version."""
    first = bot.open_hotfix("hotfix/first")
    second = bot.open_hotfix("hotfix/second", files={"second.py": "x = 2\n"})
    bot.repo.create_branch("feature/search", "main")
    feature = bot.repo.open_pull("feature/search", "main", title="Search", author="dev")
    bot.pull_request(second.number, "opened")

    def version_bump_row() -> str:
        summary: str = bot.policy_run(second.head_sha).output["summary"]
        [line] = [line for line in summary.splitlines() if line.startswith("| `version-bump` |")]
        return line

    assert version_bump_row() == (
        "| `version-bump` | ✅ pass | VERSION: 1.2.3 on main, 1.2.4 on hotfix/second | 1.2.4 "
        "(1.2.3 + 1 patch) in VERSION, and no tag v1.2.4 yet |"
    )

    bot.repo.merge_pull(first.number)
    bot.pull_request(first.number, "closed")  # nothing is delivered for the second

    assert bot.repo.tags.keys() == {TAG}
    run = bot.policy_run(second.head_sha)
    assert (run.status, run.conclusion) == ("completed", "failure")
    assert version_bump_row() == (
        "| `version-bump` | ❌ fail | VERSION: 1.2.4 on main, 1.2.4 on hotfix/second | 1.2.5 "
        "(1.2.4 + 1 patch) in VERSION, and no tag v1.2.5 yet |"
    )
    assert bot.repo.runs_named("hotfix-policy", feature.head_sha) == []  # no hotfix
    # Once for the tag: a re-run of the first's report evaluates nothing again.
    with bot.counting() as requests:
        rerun(bot, first)
    listed_or_read = ("/repos/acme/widgets/pulls", f"/repos/acme/widgets/pulls/{second.number}")
    assert not [r for r in requests if r.path in listed_or_read]


def test_release_already_there_is_done(bot: Bot) -> None:
    pull = merged_hotfix(bot)
    # Released by hand: GitHub made a lightweight tag on the merge commit.
    bot.repo.create_release(TAG, merge_sha(pull), name="1.2.4 by hand")

    bot.pull_request(pull.number, "closed")

    assert bot.repo.tags == {TAG: merge_sha(pull)}
    [release] = bot.repo.releases.values()
    assert (release.name, release.author) == ("1.2.4 by hand", "octocat")
    tag_already = row(
        "Tag",
        "✅ already done",
        f"`{TAG}` was already on the merge commit `{merge_sha(pull)[:7]}`",
        f"[{TAG}]({WEB}/tree/{TAG})",
    )
    release_already = row(
        "Release",
        "✅ already done",
        f"a release for `{TAG}` already existed",
        f"[1.2.4 by hand]({WEB}/releases/tag/{TAG})",
    )
    assert_all_done(bot, pull, tag=tag_already, release=release_already)


def releases_requested(bot: Bot) -> list[tuple[str, str | None]]:
    """The tag and `make_latest` of each request to create a release, in the order GitHub
    received them (those it failed included)."""
    return [
        (request.json["tag_name"], request.json.get("make_latest"))
        for request in bot.fake.requests_to("POST", "/repos/acme/widgets/releases")
    ]


def latest_tag(bot: Bot) -> str | None:
    """The tag of the release GitHub calls the repository's latest."""
    latest = bot.repo.latest_release()
    return None if latest is None else latest.tag_name


def hotfixes_to_1_2_4_then_1_2_5(bot: Bot) -> tuple[FakePull, FakePull]:
    """#1 bumps 1.2.3 to 1.2.4 and merges; #2, from main after it, bumps to 1.2.5."""
    bot.repo.create_branch("develop", "main")
    first = bot.open_hotfix("hotfix/first")
    bot.repo.merge_pull(first.number)
    bot.repo.create_branch("hotfix/second", "main")
    bot.repo.commit("hotfix/second", {"VERSION": "1.2.5\n"}, "Fix again, 1.2.5")
    second = bot.repo.open_pull(
        "hotfix/second", "main", title="Fix again", author="dev", labels=["hotfix", "P1"]
    )
    return first, second


def test_a_release_becomes_the_latest(bot: Bot) -> None:
    pull = merged_hotfix(bot)

    bot.pull_request(pull.number, "closed")

    assert releases_requested(bot) == [(TAG, "true")]
    assert latest_tag(bot) == TAG


def test_an_older_hotfix_released_after_a_newer_one_leaves_the_newer_one_latest(
    bot: Bot,
) -> None:
    first, second = hotfixes_to_1_2_4_then_1_2_5(bot)
    bot.repo.merge_pull(second.number)

    # GitHub delivers the second merge first.
    bot.pull_request(second.number, "closed")
    bot.pull_request(first.number, "closed")

    assert releases_requested(bot) == [("v1.2.5", "true"), ("v1.2.4", "false")]
    assert latest_tag(bot) == "v1.2.5"
    assert [release.make_latest for release in bot.repo.releases.values()] == [True, False]
    run = release_run(bot, first)
    assert (run.conclusion, run.output["title"]) == ("success", "All steps done for v1.2.4")


def test_an_older_hotfixs_release_retried_after_a_newer_one_leaves_the_newer_one_latest(
    bot: Bot, private_key_pem: str
) -> None:
    first, second = hotfixes_to_1_2_4_then_1_2_5(bot)
    bot.fake.inject("POST", r"/releases$", status=502, times=1)
    closed_on_last_attempt(bot, private_key_pem, first)
    bot.repo.merge_pull(second.number)
    bot.pull_request(second.number, "closed")
    # Retried with 1.2.5 released, and failing again on its last attempt: by hand, it is
    # released as not the latest.
    bot.fake.inject("POST", r"/releases$", status=502, times=1)
    check_run = bot.fake.check_run_event(bot.repo, release_run(bot, first).id)
    asyncio.run(
        run_on_last_attempt(bot, private_key_pem, release.on_rerequest, "check_run", check_run)
    )
    assert (
        release_run(bot, first)
        .output["summary"]
        .endswith(
            "```sh\n"
            "git fetch origin\n"
            "gh release create v1.2.4 --verify-tag --title v1.2.4 --notes "
            f"'Hotfix #{first.number}: Fix' --latest=false\n```"
        )
    )

    rerun(bot, first)

    assert releases_requested(bot) == [
        ("v1.2.4", "true"),  # failed: no release was latest yet
        ("v1.2.5", "true"),
        ("v1.2.4", "false"),  # failed
        ("v1.2.4", "false"),
    ]
    assert latest_tag(bot) == "v1.2.5"
    assert release_run(bot, first).conclusion == "success"


def test_a_latest_release_whose_tag_names_no_version_is_not_compared(bot: Bot) -> None:
    pull = merged_hotfix(bot)
    bot.repo.create_release("release-2024", "main")

    bot.pull_request(pull.number, "closed")

    assert releases_requested(bot) == [(TAG, "true")]
    assert latest_tag(bot) == TAG


def test_branch_already_deleted_is_done(bot: Bot) -> None:
    pull = merged_hotfix(bot)
    bot.repo.delete_branch(BRANCH)

    bot.pull_request(pull.number, "closed")

    assert set(bot.repo.branches) == {"main", "develop"}
    deleted = row("Delete branch", "✅ already done", f"`{BRANCH}` was already deleted")
    assert_all_done(bot, pull, delete=deleted)


def test_branch_deleted_between_the_look_and_the_delete_is_done(bot: Bot) -> None:
    pull = merged_hotfix(bot)
    # Someone else deletes it first: GitHub refuses the delete of a ref no longer there.
    gone = {"message": "Reference does not exist"}
    bot.fake.inject("DELETE", r"/git/refs/heads/", status=422, body=gone, apply=True)

    bot.pull_request(pull.number, "closed")

    assert set(bot.repo.branches) == {"main", "develop"}
    deleted = row("Delete branch", "✅ already done", f"`{BRANCH}` was already deleted")
    assert_all_done(bot, pull, delete=deleted)


def assert_done_but_the_branch_kept(bot: Bot, pull: FakePull, why: str) -> None:
    """Every step done but the branch's deletion, skipped for `why`."""
    kept = row("Delete branch", "➖ skipped", why)
    text = summary(bot, pull, tag_done(pull), RELEASE_DONE, back_merge_done(bot), kept)
    assert_report(bot, pull, "success", f"All steps done for {TAG} (1 skipped)", text)


def test_a_branch_pushed_to_after_the_merge_is_kept(bot: Bot) -> None:
    pull = merged_hotfix(bot)
    pushed = bot.repo.commit(BRANCH, {"notes.md": "follow-up\n"}, "Follow-up")

    bot.pull_request(pull.number, "closed")

    assert set(bot.repo.branches) == {"main", "develop", BRANCH}
    assert bot.repo.branches[BRANCH].sha == pushed
    assert_done_but_the_branch_kept(
        bot,
        pull,
        f"`{BRANCH}` has moved to `{pushed[:7]}` since the merge; "
        "it is kept so its new commits are not lost",
    )


def test_a_hotfix_from_the_default_branch_leaves_it_in_place(bot: Bot) -> None:
    # Production is `live`; the fix was made on the default branch and opened from there.
    repo = bot.repo
    repo.commit("main", {".github/hotfix.yml": "branches:\n  production: live\n"}, "Base")
    repo.create_branch("develop", "main")
    repo.create_branch("live", "main")
    repo.commit("main", {"VERSION": "1.2.4\n"}, "Fix login, 1.2.4")
    pull = repo.open_pull("main", "live", title="Fix login", author="dev", labels=["hotfix", "P2"])
    repo.merge_pull(pull.number)

    bot.pull_request(pull.number, "closed")

    assert set(bot.repo.branches) == {"main", "develop", "live"}
    kept = row("Delete branch", "➖ skipped", "`main` is a long-lived branch")
    assert f"\n{kept}" in release_run(bot, pull).output["summary"]


def test_a_transient_failure_in_the_middle_is_retried_without_redoing_steps(bot: Bot) -> None:
    pull = merged_hotfix(bot)
    develop_before = bot.repo.branches["develop"].sha
    bot.fake.inject("POST", r"/merges$", status=502, times=1)

    bot.pull_request(pull.number, "closed")

    [delivery] = [entry for entry in bot.journal.recent() if entry.event == "pull_request"]
    assert (delivery.status, delivery.attempts) == ("done", 2)
    assert [r.status for r in bot.fake.requests_to("POST", "/repos/acme/widgets/merges")] == [
        502,
        201,
    ]
    assert len(bot.fake.requests_to("POST", "/repos/acme/widgets/git/tags")) == 1
    assert len(bot.fake.requests_to("POST", "/repos/acme/widgets/releases")) == 1
    # The resolution notice and the report.
    assert len(bot.fake.requests_to("POST", "/repos/acme/widgets/issues/")) == 2
    assert_released_as_usual(bot, pull, develop_before)


def test_a_failure_that_may_pass_stops_what_needs_it_and_lets_the_steps_beside_it_end(
    bot: Bot,
) -> None:
    pull = merged_hotfix(bot)
    develop_before = bot.repo.branches["develop"].sha
    bot.fake.inject("POST", r"/releases$", status=502, times=1)

    bot.pull_request(pull.number, "closed")

    [delivery] = [entry for entry in bot.journal.recent() if entry.event == "pull_request"]
    assert (delivery.status, delivery.attempts) == ("done", 2)
    writes = [
        (r.method, r.path.removeprefix("/repos/acme/widgets"), r.status)
        for r in bot.fake.requests
        if r.method != "GET" and "/access_tokens" not in r.path
    ]
    first_attempt = writes[: writes.index(("POST", "/releases", 201))]
    # The back-merge, and the branch deletion after it, need nothing of the release: they
    # ended in the first attempt, beside it, and the retry did not do them again, nor the tag.
    # What needs the release (the incident report, then the resolution notice) waited for the
    # retry.
    assert sorted(first_attempt) == [
        ("DELETE", f"/git/refs/heads/{BRANCH}", 204),
        ("POST", "/git/refs", 201),
        ("POST", "/git/tags", 201),
        ("POST", "/merges", 201),
        ("POST", "/releases", 502),
    ]
    second_attempt = writes[len(first_attempt) :]
    assert second_attempt[:-2] == [
        ("POST", "/releases", 201),
        ("POST", "/issues", 201),  # the incident report
        ("POST", f"/issues/{pull.number}/comments", 201),  # the resolution notice
    ]
    assert sorted(second_attempt[-2:]) == [  # the report, written at once
        ("POST", "/check-runs", 201),
        ("POST", f"/issues/{pull.number}/comments", 201),
    ]
    assert_released_as_usual(bot, pull, develop_before)


def test_a_retry_looks_again_at_its_start_and_finds_what_github_made_before_failing(
    bot: Bot,
) -> None:
    pull = merged_hotfix(bot, evaluated=True)
    bot.fake.latency = 0.2  # makes concurrent requests overlap visibly, even on a busy machine
    # GitHub makes the tag's ref, then the resolution notice, and answers 502 each time.
    bot.fake.inject("POST", r"/git/refs$", status=502, apply=True)
    bot.fake.inject("POST", rf"/issues/{pull.number}/comments$", status=502, apply=True)

    with bot.counting() as requests:
        bot.pull_request(pull.number, "closed")

    [delivery] = [entry for entry in bot.journal.recent() if entry.action == "closed"]
    assert (delivery.status, delivery.attempts) == ("done", 3)
    attempts: list[list[RecordedRequest]] = []
    for request in requests:
        if (request.method, request.path) == ("GET", f"/repos/acme/widgets/pulls/{pull.number}"):
            attempts.append([])
        if attempts:
            attempts[-1].append(request)
    assert len(attempts) == 3

    def made(attempt: list[RecordedRequest], method: str, path: str) -> list[RecordedRequest]:
        wanted = (method, f"/repos/acme/widgets{path}")
        return [r for r in attempt if (r.method, r.path) == wanted]

    def overlap(one: RecordedRequest, other: RecordedRequest) -> bool:
        assert one.answered_at is not None and other.answered_at is not None
        return one.received_at < other.answered_at and other.received_at < one.answered_at

    # The second attempt looked at the tag, the release and the incident report at once, at
    # its start: after the first attempt's writes, so it found the tag on the merge commit.
    second = attempts[1]
    [tag_look] = made(second, "GET", f"/git/ref/tags/{TAG}")
    [release_look] = made(second, "GET", f"/releases/tags/{TAG}")
    [report_look] = made(second, "GET", "/issues")
    assert tag_look.status == 200
    assert overlap(tag_look, release_look) and overlap(tag_look, report_look)
    assert made(second, "POST", "/git/tags") == made(second, "POST", "/git/refs") == []
    # The third looked again at the comments, and found the notice the second had posted;
    # it did not look at the steps the journal kept finished.
    third = attempts[2]
    assert [r.status for r in made(third, "GET", f"/issues/{pull.number}/comments")] == [200]
    assert made(third, "GET", f"/git/ref/tags/{TAG}") == made(third, "GET", "/issues") == []
    notice_marker = f"<!-- hotfix-bot notice resolution:acme/widgets#{pull.number} -->"
    notices = [c for c in bot.repo.comments_on(pull.number) if notice_marker in c.body]
    assert len(notices) == 1
    tag_already = row(
        "Tag",
        "✅ already done",
        f"`{TAG}` was already on the merge commit `{merge_sha(pull)[:7]}`",
        f"[{TAG}]({WEB}/tree/{TAG})",
    )
    notice_already = row(
        "Resolution notice", "✅ already done", "the resolution notice was posted before"
    )
    text = summary(bot, pull, tag_already, RELEASE_DONE, back_merge_done(bot), DELETE_DONE)
    text = text.replace(RESOLUTION_NOTICE_DONE, notice_already)
    assert_report(bot, pull, "success", f"All steps done for {TAG}", text)
    assert_tagged(bot, pull)
    assert_released(bot, pull)


def test_each_step_starts_once_the_steps_it_needs_have_ended_beside_the_others(
    bot: Bot,
) -> None:
    # Evaluated while open, as every hotfix is: the version file was read then.
    pull = merged_hotfix(bot, evaluated=True)
    bot.fake.latency = 0.2  # makes concurrent requests overlap visibly, even on a busy machine

    with bot.counting() as requests:
        bot.pull_request(pull.number, "closed")

    def made(method: str, path: str) -> list[RecordedRequest]:
        return [r for r in requests if (r.method, r.path) == (method, f"/repos/acme/widgets{path}")]

    def first(method: str, path: str) -> RecordedRequest:
        return made(method, path)[0]

    def last(method: str, path: str) -> RecordedRequest:
        return made(method, path)[-1]

    def before(earlier: RecordedRequest, later: RecordedRequest) -> bool:
        assert earlier.answered_at is not None
        return earlier.answered_at <= later.received_at

    def overlap(one: RecordedRequest, other: RecordedRequest) -> bool:
        return not before(one, other) and not before(other, one)

    tag_look, tag_object = first("GET", f"/git/ref/tags/{TAG}"), first("POST", "/git/tags")
    tag_ref = first("POST", "/git/refs")
    release_look, release = first("GET", f"/releases/tags/{TAG}"), first("POST", "/releases")
    back_merge_look, merge = first("GET", "/git/ref/heads/develop"), first("POST", "/merges")
    delete_look = first("GET", f"/git/ref/heads/{BRANCH}")
    report_look, report_issue = first("GET", "/issues"), first("POST", "/issues")
    # One look at the comments: the resolution notice's, and the report comment's.
    [comments_look] = made("GET", f"/issues/{pull.number}/comments")
    notice, report_comment = made("POST", f"/issues/{pull.number}/comments")
    # The looks of the tag, the release, the back-merge, the incident report and the
    # resolution notice at once, beside the listing of the release branches and the read of
    # which version files main had before the merge, before any step acts.
    release_branches = first("GET", "/git/matching-refs/heads/release")
    main_before = first("GET", f"/git/trees/{before_merge(bot, pull)}")
    for look in (tag_look, release_look, back_merge_look, report_look, comments_look):
        assert overlap(look, release_branches) and overlap(look, main_before)
    # Then the tag; the check run looked up meanwhile.
    assert before(release_branches, tag_object) and before(main_before, tag_object)
    assert overlap(tag_object, first("GET", f"/commits/{merge_sha(pull)}/check-runs"))
    # The release and the back-merge at once, after the tag; the branch deletion after the
    # back-merge.
    assert before(tag_ref, release) and before(tag_ref, merge) and overlap(release, merge)
    assert before(merge, delete_look)
    # The incident report after the tag, the release and the back-merge; the resolution
    # notice after the report; the report comment last.
    assert before(release, report_issue) and before(merge, report_issue)
    assert before(report_issue, notice) and before(notice, report_comment)
    assert_all_done(bot, pull)


def test_a_slow_tag_exists_before_the_branch_is_merged_back_or_deleted(bot: Bot) -> None:
    pull = merged_hotfix(bot)
    develop_before = bot.repo.branches["develop"].sha
    bot.fake.inject("POST", r"/git/tags$", delay=0.5)  # GitHub slow to make the tag object

    bot.pull_request(pull.number, "closed")

    [tag_ref] = bot.fake.requests_to("POST", "/repos/acme/widgets/git/refs")
    [merge] = bot.fake.requests_to("POST", "/repos/acme/widgets/merges")
    [delete] = bot.fake.requests_to("DELETE", "/repos/acme/widgets/git/refs/heads/")
    assert tag_ref.answered_at is not None
    assert tag_ref.answered_at <= merge.received_at
    assert tag_ref.answered_at <= delete.received_at
    assert_tagged(bot, pull)
    assert_merged_back(bot, pull, develop_before)
    assert BRANCH not in bot.repo.branches
    assert_all_done(bot, pull)


# The pull request, its base's config, the merge commit and its tree; the release branches
# and the tree before the merge (which version files main had) beside the looks of the tag,
# the release (of the tag, and the latest) and the back-merge; then the tag object, while the
# comment and the check run are looked up; the tag's ref; the release and the merge side by
# side; the branch's look (after the back-merge); the branch's deletion; then the comment and
# the check run at once.
POST_MERGE_REQUESTS = [
    "GET /pulls/{number}",
    "GET /repos/acme/.github/contents/.github/hotfix.yml",
    "GET /git/trees/{sha}",
    "GET /git/commits/{sha}",
    "GET /git/trees/{before}",
    "GET /git/matching-refs/heads/release",
    f"GET /git/ref/tags/{TAG}",
    f"GET /releases/tags/{TAG}",
    "GET /releases/latest",
    "GET /git/ref/heads/develop",
    "GET /issues/{number}/comments",
    "GET /commits/{sha}/check-runs",
    "POST /git/tags",
    "POST /git/refs",
    "POST /releases",
    "POST /merges",
    f"GET /git/ref/heads/{BRANCH}",
    f"DELETE /git/refs/heads/{BRANCH}",
    "POST /issues/{number}/comments",
    "POST /check-runs",
]


@pytest.mark.parametrize(
    ("severity", "incident_requests", "round_trips"),
    [
        ("P2", [], 8),
        # The looks of the incident report and the resolution notice (the comments, looked
        # at once for the notice and the report) beside the release branches; the issue
        # after the release and the merge, beside the branch's look; the notice after the
        # issue, beside the branch's deletion; then the report.
        ("P1", ["GET /issues", "POST /issues", "POST /issues/{number}/comments"], 8),
    ],
)
def test_a_post_merge_run_takes_8_sequential_round_trips_with_or_without_an_incident_report(
    bot: Bot, severity: str, incident_requests: list[str], round_trips: int
) -> None:
    # Evaluated while open, as every hotfix is: the version file was read then.
    pull = merged_hotfix(bot, severity=severity, evaluated=True)
    bot.fake.latency = 0.2  # makes concurrent requests overlap visibly, even on a busy machine
    bot.transport.spans.clear()

    bot.pull_request(pull.number, "closed")

    # The open pull requests into main, listed once the run has ended, in a delivery of its
    # own (to evaluate them again after the tag): not the run's. On a busy machine that
    # delivery may be tried again (a lock waited for too long): its first try is the one.
    listings = [span for span in bot.transport.spans if span.path == "/repos/acme/widgets/pulls"]
    listed = min(listings, key=lambda span: span.started)
    spans = [
        span
        for span in bot.transport.spans
        if "/access_tokens" not in span.path and span not in listings
    ]
    assert listed.started > max(span.ended for span in spans)
    calls = sorted(
        f"{span.method} {span.path.removeprefix('/repos/acme/widgets')}" for span in spans
    )
    expected = [
        call.format(number=pull.number, sha=merge_sha(pull), before=before_merge(bot, pull))
        for call in POST_MERGE_REQUESTS + incident_requests
    ]
    assert calls == sorted(expected)
    assert sequential_round_trips(spans) == round_trips, calls


def read_once_while_slow(bot: Bot, pull: FakePull, path: str) -> None:
    """GitHub answers a read of `path` half a second late: the merge's run asks for it once,
    and succeeds."""
    bot.fake.inject("GET", f"{path}$", delay=0.5)

    with bot.counting() as requests:
        bot.pull_request(pull.number, "closed")

    assert [request.path for request in requests if request.path == path] == [path]
    assert release_run(bot, pull).conclusion == "success"


def test_the_merge_commits_tree_is_read_once_though_its_read_ahead_is_still_under_way(
    bot: Bot,
) -> None:
    pull = merged_hotfix(bot, evaluated=True)
    # Still under way when the config names the version files to read in it.
    read_once_while_slow(bot, pull, f"/repos/acme/widgets/git/trees/{merge_sha(pull)}")


def test_the_config_file_is_read_once_though_two_commits_holding_it_are_read_side_by_side(
    bot: Bot,
) -> None:
    """The run reads the config at the merge commit and at its first parent at once: the
    one blob they both hold is fetched once."""
    config = "release: true\n"
    # Merged unevaluated: no evaluation read the config's blob before.
    pull = merged_hotfix(bot, main_files={".github/hotfix.yml": config})
    # Still under way when the other commit's tree names it.
    read_once_while_slow(bot, pull, f"/repos/acme/widgets/git/blobs/{blob_sha(config)}")


def test_the_comment_and_the_check_run_are_written_at_once_and_a_failed_run_keeps_the_comment(
    bot: Bot,
) -> None:
    pull = merged_hotfix(bot)
    bot.fake.latency = 0.2  # makes concurrent requests overlap visibly, even on a busy machine
    bot.fake.inject("POST", r"/check-runs$", status=502, times=1)

    bot.pull_request(pull.number, "closed")

    [*_, posted] = bot.fake.requests_to(
        "POST", f"/repos/acme/widgets/issues/{pull.number}/comments"
    )
    failed, created = bot.fake.requests_to("POST", "/repos/acme/widgets/check-runs")
    assert (failed.status, created.status) == (502, 201)
    assert failed.answered_at is not None and posted.answered_at is not None
    assert posted.received_at < failed.answered_at and failed.received_at < posted.answered_at
    # The retry found the comment's id kept, and edited the comment rather than post another.
    [edited] = bot.fake.requests_to("PATCH", "/repos/acme/widgets/issues/comments/")
    assert edited.received_at > failed.answered_at
    assert_all_done(bot, pull)


def test_on_the_last_attempt_a_transient_failure_is_a_failed_step(
    bot: Bot, private_key_pem: str
) -> None:
    pull = merged_hotfix(bot)
    develop_before = bot.repo.branches["develop"].sha
    bot.fake.inject("POST", r"/merges$", status=502, times=None)

    closed_on_last_attempt(bot, private_key_pem, pull)

    assert bot.repo.branches["develop"].sha == develop_before
    assert BACKMERGE not in bot.repo.branches
    assert_tagged(bot, pull)
    assert_released(bot, pull)
    assert BRANCH not in bot.repo.branches  # the step after the failed one still ran
    failed = row(
        "Back-merge",
        "❌ failed",
        "GitHub answered 502 to POST /repos/acme/widgets/merges: Bad Gateway",
    )
    tail = back_merge_by_hand(pull)
    record = record_waiting_for_the_back_merge(bot, pull)
    rows = (tag_done(pull), RELEASE_DONE, failed, DELETE_DONE)
    text = summary(bot, pull, *rows, tail=tail, record=record)
    assert_report(bot, pull, "failure", "1 of 6 steps failed: back-merge", text)


def resumes_after(time: str) -> str:
    """What *Finish by hand* says first when GitHub asked a step to wait until `time`."""
    return (
        f"GitHub asked hotfix-bot to wait until {time}: hotfix-bot runs the steps not done "
        "again by itself then, as a re-run of the `hotfix-release` check does."
    )


def test_a_wait_over_15_minutes_in_a_step_is_shown_as_its_failure_and_a_rerun_resumes(
    clocked_bot: Bot,
) -> None:
    """Not waited for in line (the delivery ends): the report names until when, and a re-run
    before then finishes the steps; the timer that would have resumed them does nothing more
    when it comes."""
    bot = clocked_bot
    pull = merged_hotfix(bot)
    develop_before = bot.repo.branches["develop"].sha
    bot.fake.inject("POST", r"/merges$", status=429, times=1, headers={"retry-after": "86400"})

    bot.pull_request(pull.number, "closed")

    [delivery] = [entry for entry in bot.journal.recent() if entry.event == "pull_request"]
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("done", 1, None)
    assert bot.repo.branches["develop"].sha == develop_before
    failed = row(
        "Back-merge",
        "❌ failed",
        "GitHub answered 429 to POST /repos/acme/widgets/merges: Too Many Requests; GitHub "
        "asked to wait until 2026-12-05 20:31 UTC (24h)",
    )
    tail = back_merge_by_hand(pull, first=resumes_after("2026-12-05 20:31 UTC"))
    record = record_waiting_for_the_back_merge(bot, pull)
    rows = (tag_done(pull), RELEASE_DONE, failed, DELETE_DONE)
    text = summary(bot, pull, *rows, tail=tail, record=record)
    assert_report(bot, pull, "failure", "1 of 6 steps failed: back-merge", text)

    rerun(bot, pull)

    assert_merged_back(bot, pull, develop_before)
    assert_done_once_merged_back(bot, pull, back_merge_done(bot))
    merged_back = bot.repo.branches["develop"].sha
    bot.advance(24 * 3600 + 60)  # past 20:31 UTC the next day
    [resume] = [entry for entry in bot.journal.timers() if entry.timer.kind == release.RESUME]
    assert resume.status == "fired"
    assert bot.repo.branches["develop"].sha == merged_back
    assert_done_once_merged_back(bot, pull, back_merge_done(bot))


def test_a_wait_over_15_minutes_in_a_step_is_resumed_by_itself_at_the_time_github_gave(
    clocked_bot: Bot,
) -> None:
    """A secondary rate limit on the release for 20 minutes: no re-run and no delivery
    needed; not a minute early."""
    bot = clocked_bot
    pull = merged_hotfix(bot)
    bot.fake.inject(
        "POST",
        r"/releases$",
        status=403,
        headers={"retry-after": "1200"},
        body={"message": "You have exceeded a secondary rate limit. Please wait a few minutes."},
    )

    bot.pull_request(pull.number, "closed")  # at 20:30:30 UTC

    run = release_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == ("failure", "1 of 6 steps failed: release")
    assert run.output["summary"].split("## Finish by hand\n\n")[1] == (
        f"{resumes_after('2026-12-04 20:51 UTC')}\n\n"
        "Run these in a clone of `acme/widgets`, then re-run the `hotfix-release` check to "
        "confirm:\n\n```sh\ngit fetch origin\n"
        f"gh release create {TAG} --verify-tag --title {TAG} --notes 'Hotfix #1: Fix login'\n```"
    )
    [resume] = [entry for entry in bot.journal.timers() if entry.timer.kind == release.RESUME]
    assert (resume.timer.id, resume.status) == (
        "resume-release:acme/widgets#1:2026-12-04T20:51Z",
        "scheduled",
    )
    assert resume.timer.due_at == datetime(2026, 12, 4, 20, 51, tzinfo=UTC).timestamp()

    bot.advance(20 * 60)  # 20:50:30
    assert bot.repo.releases == {}
    bot.advance(60)

    assert_released(bot, pull)
    run = release_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == ("success", f"All steps done for {TAG}")
    [resume] = [entry for entry in bot.journal.timers() if entry.timer.kind == release.RESUME]
    assert resume.status == "fired"


@pytest.mark.parametrize(
    "text",
    [
        "EOF",
        "a line\nEOF\n  EOF_ \nlast",  # the lines a delimiter could be taken for
        "it's `$(false)` $HOME \\n and \\",  # nothing the shell would read
        "<!-- hotfix-bot:marker -->\n\n```sh\necho\n```\n\n- a list",
    ],
)
@pytest.mark.parametrize("piped_to", [None, "tr a-z A-Z"])
def test_a_text_the_commands_give_by_hand_reaches_its_command_as_written(
    text: str, piped_to: str | None
) -> None:
    shown = with_text_on_stdin("cat", text, piped_to)
    ran = subprocess.run(["sh", "-c", shown], capture_output=True, text=True, timeout=10)
    # A here-document ends in a newline; what reads the command's output comes after it.
    printed = f"{text}\n" if piped_to is None else f"{text}\n".upper()
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, printed, "")


def back_merge_by_hand(pull: FakePull, first: str = "") -> str:
    """The report's commands for a back-merge that failed, after the paragraph `first`."""
    return (
        "\n\n## Finish by hand\n\n"
        + (f"{first}\n\n" if first else "")
        + "Run these in a clone of `acme/widgets`, then re-run the `hotfix-release` check to "
        f"confirm:\n\n```sh\ngit fetch origin\n{back_merge_commands(pull, 'develop')}\n```"
    )


def back_merge_commands(pull: FakePull, target: str) -> str:
    """The commands that merge hotfix `pull` back into `target` in a clone, a conflict in the
    version files alone settled keeping `target`'s version."""
    merge = f"{merge_sha(pull)} -m 'Merge hotfix {TAG} back into {target}'"
    return (
        f"git checkout {target}\n"
        f"git pull origin {target}\n"
        f"git merge --no-ff {merge} ||\n"
        f"  # Version files alone in conflict: keep {target}'s version of them\n"
        "  { ! git diff --name-only --diff-filter=U | grep -vxF -e VERSION -e pyproject.toml"
        " -e package.json -e Cargo.toml &&\n"
        f"    git merge --abort && git merge --no-ff -X ours {merge}; }}\n"
        f"git push origin {target}"
    )


@pytest.mark.parametrize("version", ["1.2.4-rc.1", "1.2.4-rc.1+build.5"])
def test_a_pre_release_is_tagged_and_released_exactly_as_written(bot: Bot, version: str) -> None:
    pull = merged_hotfix(
        bot,
        main_files={".github/hotfix.yml": "version: {allow_prerelease: true}\n"},
        hotfix_files={"VERSION": f"{version}\n"},
    )

    bot.pull_request(pull.number, "closed")

    tag = f"v{version}"
    tag_object = bot.repo.tag_object(tag)
    assert tag_object is not None
    assert bot.repo.tags == {tag: tag_object.sha}
    assert (tag_object.tag, tag_object.message) == (tag, "Hotfix: Fix login")
    assert (tag_object.object_sha, tag_object.object_type) == (merge_sha(pull), "commit")
    [published] = bot.repo.releases.values()
    # Marked a pre-release, so GitHub does not make it the repository's latest release.
    assert (published.tag_name, published.name, published.prerelease) == (tag, tag, True)
    run = release_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == ("success", f"All steps done for {tag}")


def test_finishing_a_pre_release_by_hand_publishes_it_as_one(
    bot: Bot, private_key_pem: str
) -> None:
    pull = merged_hotfix(
        bot,
        main_files={".github/hotfix.yml": "version: {allow_prerelease: true}\n"},
        hotfix_files={"VERSION": "1.2.4-rc.1\n"},
    )
    bot.fake.inject("POST", r"/releases$", status=502, times=None)

    closed_on_last_attempt(bot, private_key_pem, pull)

    run = release_run(bot, pull)
    assert run.output["title"] == "1 of 6 steps failed: release"
    assert run.output["summary"].endswith(
        "```sh\n"
        "git fetch origin\n"
        "gh release create v1.2.4-rc.1 --verify-tag --title v1.2.4-rc.1 --notes "
        f"'Hotfix #{pull.number}: Fix login' --prerelease --latest=false\n```"
    )


def test_the_tag_is_the_version_the_check_approved_not_that_of_a_file_the_hotfix_added(
    bot: Bot,
) -> None:
    """main's one version file is package.json; the hotfix bumps it and adds VERSION 2.0.0,
    which `version-bump` does not take for a version file, since main has none."""
    pull = merged_hotfix(
        bot,
        main_files={"VERSION": None, "package.json": '{"version": "1.2.3"}\n'},
        hotfix_files={"package.json": '{"version": "1.2.4"}\n', "VERSION": "2.0.0\n"},
        evaluated=True,
    )
    assert (
        "| `version-bump` | ✅ pass | VERSION: missing on main, 2.0.0 on hotfix/fix-login; "
        "package.json: 1.2.3 on main, 1.2.4 on hotfix/fix-login | 1.2.4 (1.2.3 + 1 patch) in "
        "package.json, and no tag v1.2.4 yet |"
    ) in bot.policy_run(pull.head_sha).output["summary"].splitlines()

    bot.pull_request(pull.number, "closed")

    assert set(bot.repo.tags) == {TAG}
    assert_tagged(bot, pull)
    assert_released(bot, pull)
    assert release_run(bot, pull).output["title"] == f"All steps done for {TAG}"


def test_a_version_file_only_the_hotfix_added_names_no_tag(bot: Bot) -> None:
    pull = merged_hotfix(bot, main_files={"VERSION": None})  # the hotfix adds VERSION 1.2.4

    bot.pull_request(pull.number, "closed")

    assert bot.repo.tags == {}
    run = release_run(bot, pull)
    assert run.output["title"] == "1 of 6 steps failed: tag"
    assert (
        row(
            "Tag",
            "❌ failed",
            f"no version file `main` had before the merge declares a version at the merge "
            f"commit `{merge_sha(pull)[:7]}` (looked at `VERSION`, `pyproject.toml`, "
            "`package.json`, `Cargo.toml`; one the hotfix added does not count), so there is "
            "no tag name",
        )
        in run.output["summary"].splitlines()
    )
    # By hand, the tag's name is left to the reader, and the commands say so first.
    by_hand = run.output["summary"].split("## Finish by hand\n\n")[1]
    assert by_hand.startswith(
        "Run these in a clone of `acme/widgets`, then re-run the `hotfix-release` check to "
        "confirm:\n\n```sh\ngit fetch origin\n"
        "# No version file declares the version: replace <tag> with the hotfix's tag.\n"
        f"git tag -a <tag> -m 'Hotfix: Fix login' {merge_sha(pull)}\n"
        "git push origin <tag>\n"
    )


@pytest.mark.parametrize("method", ["squash", "rebase"])
def test_squash_and_rebase_merges_tag_the_merge_commit_sha(bot: Bot, method: MergeMethod) -> None:
    pull = merged_hotfix(bot, method)
    develop_before = bot.repo.branches["develop"].sha
    assert len(bot.repo.get_commit(merge_sha(pull)).parents) == 1

    bot.pull_request(pull.number, "closed")

    assert_released_as_usual(bot, pull, develop_before)
    assert set(bot.repo.branches) == {"main", "develop"}


def test_a_hotfix_merged_through_the_merge_queue_is_tagged_on_its_groups_commit(
    bot: Bot,
) -> None:
    pull = merged_hotfix(bot, through_queue=True)
    develop_before = bot.repo.branches["develop"].sha
    # The queue fast-forwards main to the group's commit: that is the merge commit.
    group_commit = bot.repo.get_commit(merge_sha(pull))
    assert group_commit.sha == bot.repo.branches["main"].sha
    assert group_commit.message.startswith(f"Merge pull request #{pull.number} from acme/")

    bot.pull_request(pull.number, "closed")

    assert_released_as_usual(bot, pull, develop_before)
    assert set(bot.repo.branches) == {"main", "develop"}


def test_a_head_branch_in_a_fork_is_never_deleted(bot: Bot) -> None:
    bot.fake.add_repo("contributor/widgets", bot.repo.installation_id)
    pull = merged_hotfix(bot, from_fork="contributor/widgets")
    # The base repository has a branch of the same name; it is not the pull request's head.
    same_name = bot.repo.branches[BRANCH].sha

    bot.pull_request(pull.number, "closed")

    assert bot.repo.branches[BRANCH].sha == same_name
    assert not bot.fake.requests_to("DELETE", "/repos/")
    assert_tagged(bot, pull)
    assert_done_but_the_branch_kept(
        bot,
        pull,
        f"`{BRANCH}` is in the fork `contributor/widgets`; hotfix-bot never deletes a fork's "
        "branch",
    )


def test_merges_that_are_not_production_hotfixes_are_left_alone(bot: Bot) -> None:
    repo = bot.repo
    repo.create_branch("develop", "main")
    repo.commit("feature/search", {"search.py": "x = 1\n"})
    feature = repo.open_pull("feature/search", "main", title="Search")
    repo.merge_pull(feature.number)
    repo.commit("hotfix/into-develop", {"VERSION": "1.2.4\n"})
    into_develop = repo.open_pull("hotfix/into-develop", "develop", labels=["hotfix", "P1"])
    repo.merge_pull(into_develop.number)
    repo.commit("hotfix/abandoned", {"VERSION": "1.2.4\n"})
    abandoned = repo.open_pull("hotfix/abandoned", "main", labels=["hotfix", "P1"])
    repo.close_pull(abandoned.number)
    branches = set(repo.branches)

    with bot.counting() as requests:
        for pull in (feature, into_develop):
            bot.pull_request(pull.number, "closed")
        closed = bot.fake.pull_request_event(repo, abandoned.number, "closed")
        answer = bot.send("pull_request", closed).json()
        bot.settle()

    # Closed without a merge: queued for a run that may wait (docs/BEHAVIOUR.md, 'Closed
    # while waiting'), of which it has none.
    assert answer["status"] == "queued"
    assert bot.journal.recent()[0].status == "done"

    assert (repo.tags, repo.releases, repo.comments, repo.check_runs) == ({}, {}, {}, {})
    assert set(repo.branches) == branches
    assert not [r for r in requests if r.method != "GET" and "/access_tokens" not in r.path]
    # Closed without a merge: the delivery says so, nothing is read.
    assert not [r for r in requests if r.path.endswith(f"/pulls/{abandoned.number}")]


def test_an_unusable_config_fails_the_release_check_and_names_the_problem(bot: Bot) -> None:
    pull = merged_hotfix(bot, main_files={".github/hotfix.yml": "workflow: trunk-based\n"})

    bot.pull_request(pull.number, "closed")

    problem = "workflow: must be 'gitflow', 'github-flow' or 'trunk' (got \"trunk-based\")"
    assert_nothing_ran_for_the_config(bot, pull, "main", problem)


def assert_nothing_ran_for_the_config(bot: Bot, pull: FakePull, branch: str, problem: str) -> None:
    """Nothing released or deleted, and the run and its comment name the `problem` of the
    config on `branch`."""
    assert (bot.repo.tags, bot.repo.releases) == ({}, {})
    assert BRANCH in bot.repo.branches
    title = f"Invalid .github/hotfix.yml: {problem}"
    text = (
        f"`.github/hotfix.yml` on `{branch}` cannot be used, so no post-merge step ran:\n\n"
        f"- {problem}\n\n"
        f"Fix the file on `{branch}`, then re-run this check."
    )
    run = release_run(bot, pull)
    assert (run.status, run.conclusion, run.output["title"]) == ("completed", "failure", title)
    assert run.output["summary"] == text
    [comment] = bot.repo.comments_on(pull.number)
    assert comment.body == f"{MARKER}\n### `hotfix-release`: {title}\n\n{text}"


def test_a_refusal_before_the_steps_fails_the_release_check_with_the_reason(bot: Bot) -> None:
    pull = merged_hotfix(bot)
    before = before_merge(bot, pull)
    bot.refuse_tree_reads(rf"/git/trees/{before}$")

    bot.pull_request(pull.number, "closed")

    assert (bot.repo.tags, bot.repo.releases) == ({}, {})
    assert BRANCH in bot.repo.branches
    assert could_not_run(bot, pull) == (
        "hotfix-bot could not finish: GitHub answered 403 to GET "
        f"/repos/acme/widgets/git/trees/{before}: Resource not accessible by integration.\n\n"
        "Re-run this check once the cause is fixed; `hotfix-bot deliveries --status failed` "
        "lists what failed on the server."
    )
    [entry] = bot.journal.recent(None, 1)
    assert entry.status == "failed"


@pytest.mark.parametrize("event", ["pull_request", "check_suite"])
def test_github_failing_before_the_steps_on_the_last_attempt_fails_the_release_check(
    bot: Bot, private_key_pem: str, event: str
) -> None:
    pull = merged_hotfix(bot)
    bot.fake.inject("GET", rf"/pulls/{pull.number}$", status=502, times=None)
    # The merge itself, or "Re-run all checks" on the merge commit.
    payload, handler = (
        (
            bot.fake.pull_request_event(bot.repo, pull.number, "closed"),
            release.on_pull_request_closed,
        )
        if event == "pull_request"
        else (bot.fake.check_suite_event(bot.repo, merge_sha(pull)), release.on_rerequest)
    )

    with pytest.raises(Exception, match="502"):
        asyncio.run(run_on_last_attempt(bot, private_key_pem, handler, event, payload))

    run = release_run(bot, pull)
    expected = (
        "failure",
        "Could not run the post-merge steps",
        "hotfix-bot could not finish: GitHub answered 502 to GET "
        f"/repos/acme/widgets/pulls/{pull.number}: Bad Gateway.\n\nRe-run this check once "
        "the cause is fixed; `hotfix-bot deliveries --status failed` lists what failed on "
        "the server.",
    )
    assert (run.conclusion, run.output["title"], run.output["summary"]) == expected
    assert (bot.repo.tags, bot.repo.releases) == ({}, {})


def test_a_refusal_after_a_merge_that_is_no_hotfix_writes_no_release_check(bot: Bot) -> None:
    bot.repo.create_branch("feature/search", "main")
    bot.repo.commit("feature/search", {"search.py": "print('search')\n"}, "Search")
    pull = bot.repo.open_pull("feature/search", "main", title="Search", author="dev")
    bot.repo.merge_pull(pull.number, "merge")
    bot.refuse_tree_reads(rf"/git/trees/{before_merge(bot, pull)}$")

    bot.pull_request(pull.number, "closed")

    assert bot.repo.runs_named("hotfix-release") == []
    [entry] = bot.journal.recent(None, 1)
    assert entry.status == "failed"


OTHER_TAGS = {".github/hotfix.yml": 'tag: {format: "release-{version}"}\n'}


def test_a_rerun_after_the_config_changed_on_production_follows_the_config_of_the_merge(
    bot: Bot,
) -> None:
    pull = merged_hotfix(bot)
    bot.fake.inject("POST", r"/git/tags$", status=403, body={"message": REFUSAL})
    bot.pull_request(pull.number, "closed")
    assert bot.repo.tags == {}
    bot.repo.commit("main", OTHER_TAGS, "Tag as release-<version>")

    rerun(bot, pull)

    # The tag and release of the merge's config, which the first run would have made.
    assert list(bot.repo.tags) == [TAG]
    assert_tagged(bot, pull)
    assert_released(bot, pull)
    run = release_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == ("success", f"All steps done for {TAG}")


def test_a_hotfix_changing_the_config_is_released_by_the_config_it_was_judged_by(
    bot: Bot,
) -> None:
    pull = merged_hotfix(bot, hotfix_files=OTHER_TAGS)

    bot.pull_request(pull.number, "closed")

    assert list(bot.repo.tags) == [TAG]
    assert_tagged(bot, pull)
    assert_released(bot, pull)
    # The next hotfix follows it: it is production's config now.
    assert bot.repo.read_file("main", ".github/hotfix.yml") == OTHER_TAGS[".github/hotfix.yml"]


def test_a_hotfix_changing_the_workflow_is_merged_back_as_the_config_it_was_judged_by_says(
    bot: Bot,
) -> None:
    """The steps start on the file the merge left (github-flow: no release branches) while
    the one the check judged by is read: gitflow's release branches are then looked up anew,
    not taken from the first look."""
    pull = merged_hotfix(bot, hotfix_files={".github/hotfix.yml": "workflow: github-flow\n"})
    with_release_branches(bot, "release/1.3", "release/1.4")
    before = {name: branch.sha for name, branch in bot.repo.branches.items() if name != BRANCH}

    bot.pull_request(pull.number, "closed")

    assert_merged_into_release_branch(bot, pull, "release/1.4", before)


def test_a_config_unusable_at_the_merge_and_fixed_since_is_followed_by_the_rerun(
    bot: Bot,
) -> None:
    pull = merged_hotfix(bot, main_files={".github/hotfix.yml": "workflow: trunk-based\n"})
    bot.pull_request(pull.number, "closed")
    problem = "workflow: must be 'gitflow', 'github-flow' or 'trunk' (got \"trunk-based\")"
    assert_nothing_ran_for_the_config(bot, pull, "main", problem)
    bot.repo.commit("main", {".github/hotfix.yml": "workflow: gitflow\n"}, "Fix the config")

    rerun(bot, pull)

    # The file of the merge can never be fixed: the one fixed on main since is followed.
    assert_tagged(bot, pull)
    assert_released(bot, pull)
    run = release_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == ("success", f"All steps done for {TAG}")


# Production is `prod`, not the default branch (main).
PROD_CONFIG = "branches:\n  production: prod\n"


def test_a_hotfix_into_another_production_branch_breaking_its_config_is_released_by_the_old(
    bot: Bot,
) -> None:
    # The config before the merge, which hotfix-policy read, names prod production: the
    # merge is a hotfix, released by it, though the file it leaves cannot be used.
    typo = {".github/hotfix.yml": PROD_CONFIG + "relase: true\n"}
    pull = merged_hotfix(
        bot, main_files={".github/hotfix.yml": PROD_CONFIG}, into="prod", hotfix_files=typo
    )

    bot.pull_request(pull.number, "closed")

    assert_tagged(bot, pull)
    assert_released(bot, pull)
    run = release_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == ("success", f"All steps done for {TAG}")


@pytest.mark.parametrize(
    "refused",
    [
        # After the config was read: it says the merge is a hotfix.
        "/repos/acme/widgets/git/commits/{sha}",
        # The config as of the merge itself: the production branch's now says so.
        "/repos/acme/widgets/git/trees/{before}",
    ],
)
def test_a_refusal_before_the_steps_of_a_hotfix_into_another_production_branch_is_shown(
    bot: Bot, refused: str
) -> None:
    pull = merged_hotfix(bot, main_files={".github/hotfix.yml": PROD_CONFIG}, into="prod")
    path = refused.format(sha=merge_sha(pull), before=before_merge(bot, pull))
    bot.refuse_tree_reads(f"{path}$")

    bot.pull_request(pull.number, "closed")

    assert (bot.repo.tags, bot.repo.releases) == ({}, {})
    assert could_not_run(bot, pull) == (
        f"hotfix-bot could not finish: GitHub answered 403 to GET {path}: Resource not "
        "accessible by integration.\n\nRe-run this check once the cause is fixed; "
        "`hotfix-bot deliveries --status failed` lists what failed on the server."
    )
    [entry] = bot.journal.recent(None, 1)
    assert entry.status == "failed"


def comment_not_posted_report(bot: Bot, pull: FakePull, answer: str) -> tuple[str, str]:
    """The title and text of a P2 hotfix's run whose steps were done and whose report comment
    GitHub answered `answer`."""
    steps_done = summary(
        bot, pull, tag_done(pull), RELEASE_DONE, back_merge_done(bot), DELETE_DONE, record=()
    )
    text = (
        f"{steps_done}\n\n## Report comment not posted\n\n"
        f"The comment with this report could not be posted on #{pull.number}: GitHub answered "
        f"{answer}. This check run is the only copy of the report: once the cause is fixed, "
        "re-run the `hotfix-release` check to post it."
    )
    return f"All steps done for {TAG}; the report comment could not be posted", text


def test_a_refused_listing_of_the_merge_commits_runs_is_said_on_the_release_check(
    bot: Bot,
) -> None:
    """GitHub refuses to list the check runs of the merge commit, where the report's run is
    looked for: the steps run all the same, and the report's run is created, saying what it
    could not read. A re-run updates that run."""
    pull = merged_hotfix(bot)
    listing = f"/repos/acme/widgets/commits/{merge_sha(pull)}/check-runs"
    bot.fake.inject("GET", f"^{listing}$", status=403, times=None, body={"message": REFUSAL})

    bot.pull_request(pull.number, "closed")

    assert {entry.status for entry in bot.journal.recent()} == {"done"}
    assert_tagged(bot, pull)
    assert_released(bot, pull)
    text = summary(bot, pull, tag_done(pull), RELEASE_DONE, back_merge_done(bot), DELETE_DONE)
    title = f"All steps done for {TAG}"
    run = release_run(bot, pull)
    assert (run.status, run.conclusion, run.output["title"]) == ("completed", "success", title)
    assert run.output["summary"] == (
        f"{text}\n\n**This commit's check runs could not be read**: GitHub answered 403 to "
        f"GET {listing}: {REFUSAL}. This `hotfix-release` run was created without looking for "
        "one hotfix-bot made before: any other `hotfix-release` run of hotfix-bot's on this "
        "commit is out of date."
    )
    [comment] = report_comments(bot, pull)
    assert comment.body == f"{MARKER}\n### `hotfix-release`: {title}\n\n{text}"

    rerun(bot, pull)

    assert release_run(bot, pull).id == run.id
    assert_report(bot, pull, "success", title, text)


def test_a_refused_report_comment_fails_the_release_check_which_says_so(bot: Bot) -> None:
    pull = merged_hotfix(bot, severity="P2")  # no resolution notice: one comment to post
    comments = f"/repos/acme/widgets/issues/{pull.number}/comments"
    refusal = bot.fake.inject(
        "POST", f"{comments}$", status=403, times=None, body={"message": REFUSAL}
    )

    bot.pull_request(pull.number, "closed")

    assert_tagged(bot, pull)
    assert bot.repo.comments_on(pull.number) == []
    title, text = comment_not_posted_report(bot, pull, f"403 to POST {comments}: {REFUSAL}")
    run = release_run(bot, pull)
    assert (run.status, run.conclusion, run.output["title"]) == ("completed", "failure", title)
    assert run.output["summary"] == text
    [entry] = bot.journal.recent(None, 1)
    assert (entry.status, entry.last_error) == (
        "failed",
        f"GitHub answered 403 to POST {comments}: {REFUSAL}",
    )

    # Once GitHub takes it, a re-run posts the comment and the run is the steps' again.
    bot.fake.faults.remove(refusal)
    rerun(bot, pull)

    steps_done = summary(
        bot, pull, tag_done(pull), RELEASE_DONE, back_merge_done(bot), DELETE_DONE, record=()
    )
    assert_report(bot, pull, "success", f"All steps done for {TAG}", steps_done)


def test_a_refused_report_comment_leaves_the_run_naming_the_configs_problem(bot: Bot) -> None:
    pull = merged_hotfix(bot, main_files={".github/hotfix.yml": "workflow: trunk-based\n"})
    comments = f"/repos/acme/widgets/issues/{pull.number}/comments"
    bot.fake.inject("POST", f"{comments}$", status=403, times=None, body={"message": REFUSAL})

    bot.pull_request(pull.number, "closed")

    assert bot.repo.comments_on(pull.number) == []
    run = release_run(bot, pull)
    problem = "workflow: must be 'gitflow', 'github-flow' or 'trunk' (got \"trunk-based\")"
    assert (run.conclusion, run.output["title"]) == (
        "failure",
        f"Invalid .github/hotfix.yml: {problem}; the report comment could not be posted",
    )
    assert f"- {problem}\n" in run.output["summary"]


def test_github_failing_on_the_report_comment_on_the_last_attempt_fails_the_release_check(
    bot: Bot, private_key_pem: str
) -> None:
    pull = merged_hotfix(bot, severity="P2")
    comments = f"/repos/acme/widgets/issues/{pull.number}/comments"
    bot.fake.inject("POST", f"{comments}$", status=502, times=None)

    with pytest.raises(Exception, match="502"):
        closed_on_last_attempt(bot, private_key_pem, pull)

    title, text = comment_not_posted_report(bot, pull, f"502 to POST {comments}: Bad Gateway")
    run = release_run(bot, pull)
    assert (run.conclusion, run.output["title"], run.output["summary"]) == ("failure", title, text)


# --- adding a step ----------------------------------------------------------------------------


def test_the_steps_run_in_their_order_each_after_what_it_needs() -> None:
    assert [step.key for step in steps.STEPS] == [
        "tag",
        "release",
        "old-release",
        "back-merge",
        "delete-branch",
        "rollback-notice",
        "rollback-in-report",
        "verbal-approvals",
        "retro-review",
        "incident-report",
        "resolution-notice",
    ]
    for position, step in enumerate(steps.STEPS):
        assert all(need in steps.STEPS[:position] for need in step.needs), step.key


def test_a_step_added_to_the_list_runs_in_its_place_and_its_failure_shows_its_commands(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step is one `Step` and one line in `steps.STEPS`: nothing else learns of it."""
    pull = merged_hotfix(bot)
    develop_before = bot.repo.branches["develop"].sha
    writes_before: list[list[str]] = []  # what GitHub had been asked to change, per run
    outcomes = iter(
        [
            StepOutcome(StepStatus.FAILED, "the team channel refused the notice"),
            StepOutcome(StepStatus.DONE, "the team was told"),
        ]
    )

    async def announce(run: StepRun) -> StepOutcome:
        writes = [r for r in bot.fake.requests if r.method != "GET" and "/repos/" in r.path]
        writes_before.append([f"{r.method} {r.path}" for r in writes])
        return next(outcomes)

    def announce_commands(plan: ReleasePlan) -> list[str]:
        return [f"notify-team 'Released {plan.tag}'"]

    tag_step, release_step = steps.STEPS[:2]
    announce_step = Step("announce", "Announce", announce, announce_commands, (release_step,))
    # Listed after the release, before the back-merge; run once the release it needs is out.
    monkeypatch.setattr(steps, "STEPS", [tag_step, release_step, announce_step, *steps.STEPS[2:]])

    bot.pull_request(pull.number, "closed")

    # The back-merge and the branch deletion need nothing of it and run beside it.
    assert [
        [write for write in writes if "/merges" not in write and "/refs/heads/" not in write]
        for writes in writes_before
    ] == [
        [
            "POST /repos/acme/widgets/git/tags",
            "POST /repos/acme/widgets/git/refs",
            "POST /repos/acme/widgets/releases",
        ]
    ]
    assert_merged_back(bot, pull, develop_before)
    assert BRANCH not in bot.repo.branches
    failed = row("Announce", "❌ failed", "the team channel refused the notice")
    commands = (
        "\n\n## Finish by hand\n\n"
        "Run these in a clone of `acme/widgets`, then re-run the `hotfix-release` check to "
        "confirm:\n\n```sh\n"
        "git fetch origin\n"
        f"notify-team 'Released {TAG}'\n```"
    )
    back_merged = back_merge_done(bot)
    text = summary(
        bot, pull, tag_done(pull), RELEASE_DONE, failed, back_merged, DELETE_DONE, tail=commands
    )
    assert_report(bot, pull, "failure", "1 of 7 steps failed: announce", text)

    # A re-run retries the new step alone, as it does the others.
    with bot.counting() as requests:
        rerun(bot, pull)
    assert len(writes_before) == 2
    [comment] = report_comments(bot, pull)
    assert {f"{r.method} {r.path}" for r in requests if r.method != "GET"} == {
        f"PATCH /repos/acme/widgets/issues/comments/{comment.id}",
        f"PATCH /repos/acme/widgets/check-runs/{release_run(bot, pull).id}",
    }
    done = row("Announce", "✅ done", "the team was told")
    text = summary(bot, pull, tag_done(pull), RELEASE_DONE, done, back_merged, DELETE_DONE)
    assert_report(bot, pull, "success", f"All steps done for {TAG}", text)


def test_a_step_the_journal_refuses_once_is_retried_not_reported_failed(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A journal locked for a moment passes as GitHub's outages do: the worker tries the run
    again, and the report never shows the step failed."""
    pull = merged_hotfix(bot)
    refusals = [JournalUnavailable("journal write failed: database is locked")]

    async def announce(run: StepRun) -> StepOutcome:
        if refusals:
            raise refusals.pop()
        return StepOutcome(StepStatus.DONE, "the team was told")

    announce_step = Step("announce", "Announce", announce, lambda plan: [])
    monkeypatch.setattr(steps, "STEPS", [*steps.STEPS[:2], announce_step, *steps.STEPS[2:]])

    bot.pull_request(pull.number, "closed")

    [delivery] = [entry for entry in bot.journal.recent() if entry.event == "pull_request"]
    assert (delivery.status, delivery.attempts) == ("done", 2)
    announced = row("Announce", "✅ done", "the team was told")
    text = summary(
        bot,
        pull,
        tag_done(pull),
        RELEASE_DONE,
        announced,
        back_merge_done(bot),
        DELETE_DONE,
    )
    assert_report(bot, pull, "success", f"All steps done for {TAG}", text)


def test_without_a_config_the_default_branch_is_production_and_its_hotfixes_are_released(
    bot: Bot,
) -> None:
    repo = bot.fake.add_repo(
        "acme/gadgets", bot.repo.installation_id, "trunk", files={"VERSION": "1.2.3\n"}
    )
    for branch in ("main", "develop"):  # main: a branch of that name, not production
        repo.create_branch(branch, "trunk")
    pulls = {}
    for base in ("trunk", "main"):
        branch = f"hotfix/into-{base}"
        repo.create_branch(branch, base)
        repo.commit(branch, {"VERSION": "1.2.4\n"}, f"Fix for {base}")
        pulls[base] = repo.open_pull(branch, base, title="Fix", labels=["hotfix", "P1"])
        repo.merge_pull(pulls[base].number)
        closed = bot.fake.pull_request_event(repo, pulls[base].number, "closed")
        bot.deliver("pull_request", closed)

    into_trunk = merge_sha(pulls["trunk"])
    [run] = repo.runs_named("hotfix-release")
    assert (run.head_sha, run.conclusion, run.output["title"]) == (
        into_trunk,
        "success",
        f"All steps done for {TAG}",
    )
    assert repo.tags == {TAG: repo.tags[TAG]}
    assert repo.objects.peel(repo.tags[TAG]) == into_trunk
    assert list(repo.releases) == [TAG]
    assert repo.objects.is_ancestor(into_trunk, repo.branches["develop"].sha)
    assert set(repo.branches) == {"trunk", "main", "develop", "hotfix/into-main"}


CUSTOM_CONFIG = """\
workflow: gitflow
branches:
  production: stable
  development: dev
  hotfix_prefix: "fix/"
  hotfix_pattern: '^fix/[A-Z]+-[0-9]+$'
labels:
  hotfix: urgent
  severities: {P1: sev-1}
severities:
  P1:
    approvals:
      - {name: Reviewer, users: [rita]}
version:
  files: [app/VERSION]
tag:
  format: "release-{version}"
  message: "Urgent {version}: {title}"
"""


def test_every_branch_label_version_and_tag_key_of_the_config_is_obeyed(bot: Bot) -> None:
    repo = bot.repo
    repo.create_branch("stable", "main")
    repo.commit("stable", {".github/hotfix.yml": CUSTOM_CONFIG, "app/VERSION": "2.0.0\n"})
    repo.create_branch("dev", "stable")
    heads = {}
    for branch, labels in (
        ("fix/OPS-12", ["urgent", "sev-1"]),  # the hotfix
        ("FIX/ops-13", ["sev-1"]),  # a hotfix by its prefix in any case, misnamed
        ("hotfix/ops-14", ["sev-1"]),  # the default prefix makes no hotfix here
    ):
        repo.create_branch(branch, "stable")
        heads[branch] = repo.commit(branch, {"app/VERSION": "2.0.1\n"}, f"Fix {branch}")
        pull = repo.open_pull(branch, "stable", title="Fix login", author="dev", labels=labels)
        bot.pull_request(pull.number, "opened")

    def title(branch: str) -> str:
        return str(bot.policy_run(heads[branch]).output["title"])

    assert title("fix/OPS-12") == "Waiting for approval: Reviewer"
    assert title("FIX/ops-13") == rules_fail("branch-name", "labels")
    assert title("hotfix/ops-14") == "Not a hotfix pull request"

    [hotfix] = [pull for pull in repo.pulls.values() if pull.head_ref == "fix/OPS-12"]
    repo.review(hotfix.number, "rita", "APPROVED")
    bot.deliver("pull_request_review", bot.fake.review_event(repo, hotfix.number))
    assert title("fix/OPS-12") == all_rules_pass()

    repo.merge_pull(hotfix.number)
    dev_before = repo.branches["dev"].sha
    bot.pull_request(hotfix.number, "closed")

    tag = "release-2.0.1"
    tag_object = repo.tag_object(tag)
    assert tag_object is not None
    assert (tag_object.object_sha, tag_object.message) == (
        merge_sha(hotfix),
        "Urgent 2.0.1: Fix login",
    )
    assert list(repo.releases) == [tag]
    assert repo.objects.is_ancestor(merge_sha(hotfix), repo.branches["dev"].sha)
    assert repo.branches["dev"].sha != dev_before
    assert "fix/OPS-12" not in repo.branches
    [run] = repo.runs_named("hotfix-release", merge_sha(hotfix))
    assert (run.conclusion, run.output["title"]) == ("success", f"All steps done for {tag}")

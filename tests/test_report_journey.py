"""A maintainer of a Git Flow repository with release branches reads the `hotfix-release`
report after each merge and does what it says, literally, when a step fails
(docs/BEHAVIOUR.md, 'After the merge'): GitHub refuses the steps as it really does (a
protected release branch, a ruleset on tags, a branch protected against deletion, a missing
permission), and the repository must end right, the report telling the truth at each point.

`acme/widgets`: `main` at 1.2.3, `develop` from it, `release/1.3.0` cut from `develop` at
1.3.0-rc.1; the hotfix `hotfix/fix-login` bumps to 1.2.4 and fixes `app.py`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.by_hand import apply, run_by_hand
from support.harness import REFUSAL, Bot

from sandbox import FakeCheckRun, FakePull

RELEASE = "release/1.3.0"
BACKMERGE = "backmerge/v1.2.4"
BRANCH = "hotfix/fix-login"
WEB = "https://github.com/acme/widgets"
FIXED = "def login(): fixed\n"


def merged_hotfix(
    bot: Bot, release_files: dict[str, str] | None = None, *, protected: tuple[str, ...] = ()
) -> FakePull:
    """The hotfix merged into `main` once `release/1.3.0` was cut with `release_files` (by
    default its own version alone), the `protected` branches protected; GitHub tells
    hotfix-bot."""
    repo = bot.repo
    repo.collaborators["dev"] = "write"
    repo.commit("main", {"app.py": "def login(): ...\n"}, "Base")
    repo.create_branch("develop", "main")
    repo.create_branch(RELEASE, "develop")
    repo.commit(RELEASE, release_files or {"VERSION": "1.3.0-rc.1\n"}, "Start 1.3.0")
    repo.create_branch(BRANCH, "main")
    repo.commit(BRANCH, {"VERSION": "1.2.4\n", "app.py": FIXED}, "Fix login, 1.2.4")
    pull = repo.open_pull(BRANCH, "main", title="Fix login", author="dev", labels=["hotfix", "P1"])
    repo.merge_pull(pull.number)
    for branch in protected:
        repo.protect(branch)
    bot.pull_request(pull.number, "closed")
    return pull


def merge_sha(pull: FakePull) -> str:
    assert pull.merge_commit_sha is not None
    return pull.merge_commit_sha


def release_run(bot: Bot, pull: FakePull) -> FakeCheckRun:
    [run] = bot.repo.runs_named("hotfix-release", merge_sha(pull))
    return run


def back_merge_row(run: FakeCheckRun) -> str:
    summary: str = run.output["summary"]
    [line] = [line for line in summary.splitlines() if line.startswith("| Back-")]
    return line


def back_merge_pull(bot: Bot, pull: FakePull) -> FakePull:
    [backmerge] = [p for p in bot.repo.pulls.values() if p.head_ref == BACKMERGE]
    return backmerge


def rerun(bot: Bot, pull: FakePull) -> None:
    """The *Re-run* button of the `hotfix-release` check."""
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, release_run(bot, pull).id))


def merged_back(bot: Bot, pull: FakePull) -> bool:
    return bot.repo.objects.is_ancestor(merge_sha(pull), bot.repo.branches[RELEASE].sha)


def test_a_protected_release_branch_gets_a_pull_request_that_merges_without_a_conflict(
    bot: Bot,
) -> None:
    """The release branch is protected and its version conflicts with the hotfix's: the pull
    request hotfix-bot opens holds the settlement it makes of such a conflict when it may merge
    (the release branch's version kept), and says so; merged as it is, the release branch has
    the fix and keeps its version, and the re-run turns the check green."""
    pull = merged_hotfix(bot, protected=(RELEASE,))

    backmerge = back_merge_pull(bot, pull)
    assert backmerge.base_ref == RELEASE
    kept = bot.repo.get_commit(BACKMERGE)
    assert kept.parents == (merge_sha(pull),)
    assert kept.message == f"chore: keep {RELEASE}'s version after v1.2.4"
    assert bot.repo.read_file(BACKMERGE, "VERSION") == "1.3.0-rc.1\n"
    assert backmerge.body is not None
    assert backmerge.body.split("\n\n", 1)[1] == "\n\n".join(
        [
            f'**Why a pull request:** `{RELEASE}` is protected (GitHub: "Protected branch update '
            f'failed for {RELEASE}."), so hotfix-bot may not merge into it directly.',
            f"The hotfix's version conflicts with `{RELEASE}`'s own: hotfix-bot kept "
            f"`{RELEASE}`'s version in `VERSION`, in [`{kept.sha[:7]}`]({WEB}/commit/{kept.sha}) "
            f"on `{BACKMERGE}`, so this pull request merges without a conflict.",
            "@dev, please review and merge it.",
        ]
    )
    run = release_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == (
        "action_required",
        f"Back-merge into {RELEASE} waits for review in #{backmerge.number}",
    )

    rerun(bot, pull)  # while it waits: the same branch, commit and pull request
    assert back_merge_pull(bot, pull).number == backmerge.number
    assert bot.repo.branches[BACKMERGE].sha == kept.sha
    assert release_run(bot, pull).conclusion == "action_required"

    bot.repo.merge_pull(backmerge.number, merged_by="dev")  # no conflict left to resolve
    rerun(bot, pull)

    assert merged_back(bot, pull)
    assert bot.repo.read_file(RELEASE, "VERSION") == "1.3.0-rc.1\n"
    assert bot.repo.read_file(RELEASE, "app.py") == FIXED
    run = release_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == ("success", "All steps done for v1.2.4")
    assert back_merge_row(run) == (
        f"| Back-merge | ✅ already done | pull request #{backmerge.number} merged into the "
        f"release branch `{RELEASE}` | [#{backmerge.number}]({WEB}/pull/{backmerge.number}) |"
    )
    assert BACKMERGE not in bot.repo.branches


def test_a_protected_release_branch_that_conflicts_in_code_gets_the_conflicts_listed(
    bot: Bot,
) -> None:
    """The release branch is protected and reworked `app.py` too: the pull request cannot be
    merged until people resolve the conflicts, so its description lists them and says how,
    as it does when the merge was refused for the conflict. Done as it says, and merged, the
    release branch has the fix and its own version, and the re-run turns the check green."""
    pull = merged_hotfix(
        bot,
        {"VERSION": "1.3.0-rc.1\n", "app.py": "def login(): reworked\n"},
        protected=(RELEASE,),
    )

    backmerge = back_merge_pull(bot, pull)
    assert bot.repo.branches[BACKMERGE].sha == merge_sha(pull)
    assert backmerge.body is not None
    assert backmerge.body.split("\n\n", 1)[1] == "\n\n".join(
        [
            f'**Why a pull request:** `{RELEASE}` is protected (GitHub: "Protected branch update '
            f'failed for {RELEASE}."), so hotfix-bot may not merge into it directly.',
            "Files changed on both sides since they diverged (the conflicts are in these):\n\n"
            "- `VERSION`\n- `app.py`",
            f"@dev, please resolve the conflicts on `{BACKMERGE}`, keeping both the hotfix and the "
            f"work on `{RELEASE}` (but `{RELEASE}`'s own version in `VERSION`, not the hotfix's "
            "1.2.4), then merge:",
            f"```sh\ngit fetch origin\ngit checkout {BACKMERGE}\ngit merge origin/{RELEASE}\n"
            f"# resolve, commit\ngit push origin {BACKMERGE}\n```",
        ]
    )
    assert release_run(bot, pull).conclusion == "action_required"

    # As the description says: merge the release branch in, resolve, commit, push, merge.
    repo, head = bot.repo, bot.repo.get_commit(BACKMERGE)
    resolved = {**head.tree, "VERSION": "1.3.0-rc.1\n", "app.py": "def login(): both\n"}
    parents = (head.sha, repo.branches[RELEASE].sha)
    merge = repo.objects.make_commit(resolved, parents, "Merge", head.author, bot.fake.now())
    repo.set_branch(BACKMERGE, merge.sha)
    repo.merge_pull(backmerge.number, merged_by="dev")
    rerun(bot, pull)

    assert merged_back(bot, pull)
    assert repo.read_file(RELEASE, "VERSION") == "1.3.0-rc.1\n"
    run = release_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == ("success", "All steps done for v1.2.4")
    assert back_merge_row(run) == (
        f"| Back-merge | ✅ already done | pull request #{backmerge.number} merged into the "
        f"release branch `{RELEASE}` | [#{backmerge.number}]({WEB}/pull/{backmerge.number}) |"
    )


def test_finishing_a_back_merge_into_a_protected_branch_by_hand_opens_its_pull_request(
    bot: Bot, tmp_path: Path
) -> None:
    """GitHub refuses the App the back-merge pull request (a permission it lacks): the
    maintainer may not push to the protected release branch either, so *Finish by hand* opens
    the pull request hotfix-bot would have. Followed literally, the re-run waits on it, and
    once it is merged the check turns green."""
    refused = {"message": REFUSAL}
    bot.fake.inject("POST", r"/repos/acme/widgets/pulls$", status=403, times=None, body=refused)
    pull = merged_hotfix(bot, protected=(RELEASE,))

    run = release_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == ("failure", "1 of 6 steps failed: back-merge")
    assert back_merge_row(run) == (
        "| Back-merge | ❌ failed | GitHub answered 403 to POST /repos/acme/widgets/pulls: "
        f"{REFUSAL} |   |"
    )
    assert "git push origin release/1.3.0" not in run.output["summary"]
    calls = run_by_hand(run.output["summary"], tmp_path, bot.repo)
    apply(calls, bot.repo, "maintainer")
    [opened] = [call for call in calls if call.argv[:2] == ["pr", "create"]]
    assert opened.argv[2:] == [
        "--base", RELEASE, "--head", BACKMERGE, "--title", f"Back-merge v1.2.4 into {RELEASE}",
        "--body-file", "-",
    ]  # fmt: skip
    rerun(bot, pull)

    backmerge = back_merge_pull(bot, pull)
    assert backmerge.body is not None
    assert "so this pull request merges without a conflict" in backmerge.body
    run = release_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == (
        "action_required",
        f"Back-merge into {RELEASE} waits for review in #{backmerge.number}",
    )
    bot.repo.merge_pull(backmerge.number, merged_by="dev")
    rerun(bot, pull)

    assert merged_back(bot, pull)
    assert bot.repo.read_file(RELEASE, "VERSION") == "1.3.0-rc.1\n"
    run = release_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == ("success", "All steps done for v1.2.4")


RULESET_DELETION = "Repository rule violations found\n\nCannot delete this branch\n\n"


@pytest.mark.parametrize(
    ("by", "github_says"),
    [
        ("protection rule", f"Protected branch update failed for refs/heads/{BRANCH}."),
        ("ruleset", "Repository rule violations found Cannot delete this branch"),
    ],
)
def test_a_hotfix_branch_protected_against_deletion_is_kept_and_the_report_says_why(
    bot: Bot, by: str, github_says: str
) -> None:
    """A protection rule or a ruleset on `hotfix/*` forbids deleting the branch (a protected
    branch's default), to people and to `git push --delete` as much as to the App: nothing
    done by hand would delete it, so the report keeps it as the repository asks, saying so,
    rather than failing with a command that GitHub refuses again."""
    if by == "ruleset":
        refused = {"message": RULESET_DELETION}
        bot.fake.inject("DELETE", f"/git/refs/heads/{BRANCH}$", status=422, body=refused)
    pull = merged_hotfix(bot, protected=(BRANCH,) if by == "protection rule" else ())

    assert BRANCH in bot.repo.branches
    run = release_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == (
        "success",
        "All steps done for v1.2.4 (1 skipped)",
    )
    assert (
        f'| Delete branch | ➖ skipped | `{BRANCH}` is protected against deletion (GitHub: "'
        f'{github_says}"), so it is kept |   |'
    ) in run.output["summary"].splitlines()
    assert "## Finish by hand" not in run.output["summary"]


def test_a_back_merge_refused_for_a_missing_permission_is_not_taken_for_a_protected_branch(
    bot: Bot,
) -> None:
    """The App lacks `contents: write` (its new permission not yet accepted): GitHub refuses
    every write with 403 "Resource not accessible by integration", the merge included. Nothing
    protects the release branch, so the report names that refusal and the maintainer merges
    back by hand with a push, not a pull request; once the permission is accepted, the
    re-run finds all done."""
    refused = {"message": REFUSAL}
    writes = r"/repos/acme/widgets/(merges|git/refs|git/tags)$"
    bot.fake.inject("POST", writes, status=403, times=None, body=refused)
    bot.fake.inject("DELETE", r"/git/refs/heads/", status=403, times=None, body=refused)
    pull = merged_hotfix(bot, {"NOTES.md": "1.3.0\n"})

    run = release_run(bot, pull)
    assert run.output["title"] == "3 of 6 steps failed: tag, back-merge and delete-branch"
    assert back_merge_row(run) == (
        "| Back-merge | ❌ failed | GitHub answered 403 to POST /repos/acme/widgets/merges: "
        f"{REFUSAL} |   |"
    )
    assert BACKMERGE not in bot.repo.branches
    assert "protected" not in run.output["summary"]
    # The commands as the report gives them, done on GitHub.
    block = run.output["summary"]
    sha = merge_sha(pull)
    for line in (
        f"git tag -a v1.2.4 -m 'Hotfix: Fix login' {sha}",
        f"git merge --no-ff {sha} -m 'Merge hotfix v1.2.4 back into {RELEASE}' ||",
        f"git push origin {RELEASE}",
        f"git push origin --delete {BRANCH}",
    ):
        assert f"\n{line}\n" in block, line
    bot.repo.create_tag("v1.2.4", sha, "Hotfix: Fix login")
    bot.repo.create_release("v1.2.4", name="v1.2.4", body="Hotfix #1: Fix login")
    bot.repo.merge_refs(RELEASE, sha, f"Merge hotfix v1.2.4 back into {RELEASE}", "maintainer")
    bot.repo.delete_branch(BRANCH)
    bot.fake.faults.clear()  # the permission accepted
    rerun(bot, pull)

    run = release_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == ("success", "All steps done for v1.2.4")
    assert back_merge_row(run) == (
        f"| Back-merge | ✅ already done | the release branch `{RELEASE}` already contains the "
        f"merge commit `{sha[:7]}` |   |"
    )


def test_a_hotfix_whose_version_another_released_first_merges_back_on_a_branch_of_its_own(
    bot: Bot,
) -> None:
    """Two hotfixes bump to 1.2.4 while the release branch is protected; #1 merges first and
    is released as `v1.2.4`, its back-merge waiting in a pull request from `backmerge/v1.2.4`.
    #2's tag step fails (`v1.2.4` is #1's), and its back-merge must not be taken for that pull
    request, which does not hold #2's change: it gets a branch and a pull request of its own,
    and once both are merged the release branch holds both fixes."""
    repo = bot.repo
    repo.collaborators["dev"] = "write"
    repo.commit("main", {"app.py": "def login(): ...\n"}, "Base")
    repo.create_branch("develop", "main")
    repo.create_branch(RELEASE, "develop")
    repo.commit(RELEASE, {"VERSION": "1.3.0-rc.1\n"}, "Start 1.3.0")
    repo.protect(RELEASE)
    hotfixes = []
    for name in ("a", "b"):
        repo.create_branch(f"hotfix/{name}", "main")
        repo.commit(f"hotfix/{name}", {"VERSION": "1.2.4\n", f"{name}.py": "fixed\n"}, name)
        labels = ["hotfix", "P1"]
        hotfixes.append(repo.open_pull(f"hotfix/{name}", "main", f"Fix {name}", "dev", labels))
    first, second = hotfixes
    for pull in hotfixes:
        repo.merge_pull(pull.number)
        bot.pull_request(pull.number, "closed")

    firsts = back_merge_pull(bot, first)
    [seconds] = [p for p in repo.pulls.values() if p.head_ref == f"backmerge/pr-{second.number}"]
    assert (seconds.base_ref, seconds.title) == (RELEASE, f"Back-merge hotfix #2 into {RELEASE}")
    assert repo.objects.is_ancestor(merge_sha(second), seconds.head_sha)
    assert back_merge_row(release_run(bot, second)) == (
        f"| Back-merge | ⏳ waiting | the release branch `{RELEASE}` is protected: pull request "
        f"#{seconds.number} from `backmerge/pr-{second.number}` waits for @dev | "
        f"[#{seconds.number}]({WEB}/pull/{seconds.number}) |"
    )
    repo.merge_pull(firsts.number, merged_by="dev")
    repo.merge_pull(seconds.number, merged_by="dev")
    rerun(bot, second)

    assert (repo.read_file(RELEASE, "a.py"), repo.read_file(RELEASE, "b.py")) == ("fixed\n",) * 2
    assert repo.read_file(RELEASE, "VERSION") == "1.3.0-rc.1\n"
    assert back_merge_row(release_run(bot, second)) == (
        f"| Back-merge | ✅ already done | pull request #{seconds.number} merged into the "
        f"release branch `{RELEASE}` | [#{seconds.number}]({WEB}/pull/{seconds.number}) |"
    )


def test_a_back_merge_branch_an_earlier_attempt_left_without_the_hotfix_is_not_used(
    bot: Bot,
) -> None:
    """Someone began the back-merge by hand and left `backmerge/v1.2.4` at the release
    branch's tip, without the hotfix. A pull request from it would not hold the hotfix (GitHub
    refuses one with no commits): the report says what is wrong with the branch rather than
    GitHub's "Validation Failed", and what to do; done, the re-run opens the pull request."""
    repo = bot.repo
    protect = repo.protect

    def protect_after_an_attempt(branch: str, protected: bool = True) -> None:
        protect(branch, protected)
        repo.create_branch(BACKMERGE, RELEASE)

    repo.protect = protect_after_an_attempt  # type: ignore[method-assign]
    pull = merged_hotfix(bot, {"NOTES.md": "1.3.0\n"}, protected=(RELEASE,))

    run, stale, sha = release_run(bot, pull), repo.branches[BACKMERGE].sha, merge_sha(pull)
    assert (run.conclusion, run.output["title"]) == ("failure", "1 of 6 steps failed: back-merge")
    assert back_merge_row(run) == (
        f"| Back-merge | ❌ failed | `{BACKMERGE}` is there already, at `{stale[:7]}`, and does "
        f"not hold the merge commit `{sha[:7]}`: it is not this hotfix's back-merge |   |"
    )
    assert run.output["summary"].endswith(
        "## Finish by hand\n\n"
        f"`{BACKMERGE}` is left from an earlier attempt and does not hold this hotfix. Merge "
        f"the merge commit into it (`git fetch origin && git checkout {BACKMERGE} && git merge "
        f"{sha} && git push origin {BACKMERGE}`), or delete it if nothing on it is needed "
        f"(`git push origin --delete {BACKMERGE}`), then re-run the `hotfix-release` check."
    )
    assert [p.head_ref for p in repo.pulls.values()] == [BRANCH]
    repo.delete_branch(BACKMERGE)  # nothing on it was needed
    rerun(bot, pull)

    backmerge = back_merge_pull(bot, pull)
    assert backmerge.head_sha == sha
    assert release_run(bot, pull).conclusion == "action_required"


RULESET_CREATION = (
    "Repository rule violations found\n\nCannot create ref due to creations being restricted.\n\n"
)


def test_a_tag_a_ruleset_refuses_is_made_by_hand_as_the_report_says_and_found_by_the_rerun(
    bot: Bot,
) -> None:
    """A ruleset lets only maintainers create tags: the tag fails with GitHub's words, the
    release waits for it, the back-merge and the branch deletion go on. The maintainer runs
    the report's commands (a tag and a release of the same name, message and notes); the
    re-run finds both made and turns the check green."""
    bot.fake.inject("POST", r"/git/refs$", status=422, body={"message": RULESET_CREATION})
    pull = merged_hotfix(bot)

    run, sha = release_run(bot, pull), merge_sha(pull)
    assert (run.conclusion, run.output["title"]) == ("failure", "1 of 6 steps failed: tag")
    assert (
        "| Tag | ❌ failed | GitHub answered 422 to POST /repos/acme/widgets/git/refs: "
        in (run.output["summary"])
    )
    assert merged_back(bot, pull)
    assert BRANCH not in bot.repo.branches
    assert run.output["summary"].split("```sh\n")[1].split("\n")[:5] == [
        "git fetch origin",
        f"git tag -a v1.2.4 -m 'Hotfix: Fix login' {sha}",
        "git push origin v1.2.4",
        "# With a release of a higher version the repository's latest, add --latest=false.",
        "gh release create v1.2.4 --verify-tag --title v1.2.4 --notes 'Hotfix #1: Fix login'",
    ]
    bot.repo.create_tag("v1.2.4", sha, "Hotfix: Fix login")
    bot.repo.create_release("v1.2.4", name="v1.2.4", body="Hotfix #1: Fix login")
    rerun(bot, pull)

    run = release_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == ("success", "All steps done for v1.2.4")
    assert bot.repo.tag_object("v1.2.4") is not None


def test_a_back_merge_branch_people_rebased_while_its_pull_request_waits_is_kept(
    bot: Bot,
) -> None:
    """People resolved the conflict by rebasing `backmerge/v1.2.4` onto the release branch,
    which drops the merge commit: with its pull request open, it is their work on the
    back-merge, and a re-run keeps waiting on it rather than calling it an earlier attempt's."""
    pull = merged_hotfix(
        bot,
        {"VERSION": "1.3.0-rc.1\n", "app.py": "def login(): reworked\n"},
        protected=(RELEASE,),
    )
    backmerge = back_merge_pull(bot, pull)
    repo = bot.repo
    release = repo.get_commit(RELEASE)
    rebased_tree = {**release.tree, "app.py": "def login(): both\n"}
    rebased = repo.objects.make_commit(
        rebased_tree, (release.sha,), "Fix login", release.author, bot.fake.now()
    )
    repo.set_branch(BACKMERGE, rebased.sha)

    rerun(bot, pull)

    run = release_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == (
        "action_required",
        f"Back-merge into {RELEASE} waits for review in #{backmerge.number}",
    )
    assert repo.branches[BACKMERGE].sha == rebased.sha


def test_a_protected_target_whose_conflicts_cannot_be_read_gets_its_pull_request_as_it_is(
    bot: Bot,
) -> None:
    """GitHub refuses to compare the branches ("this diff is taking too long"): a protected
    target's pull request needs no look at the conflicts, so it is opened from the merge
    commit all the same, as for any protected branch."""
    too_long = {"message": "Sorry, this diff is taking too long to generate."}
    bot.fake.inject("GET", r"/repos/acme/widgets/compare/", status=422, times=None, body=too_long)
    pull = merged_hotfix(bot, protected=(RELEASE,))

    backmerge = back_merge_pull(bot, pull)
    assert bot.repo.branches[BACKMERGE].sha == merge_sha(pull)
    run = release_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == (
        "action_required",
        f"Back-merge into {RELEASE} waits for review in #{backmerge.number}",
    )


def test_a_refused_look_up_of_the_tag_fails_the_tag_step_alone(bot: Bot) -> None:
    """GitHub refuses to say whether the tag exists: the tag and the release that needs it
    fail, and the steps that do not need it still run (the back-merge, the branch's
    deletion)."""
    forbidden = {"message": "Resource not accessible by integration"}
    bot.fake.inject("GET", r"/git/ref/tags/v1\.2\.4$", status=403, times=None, body=forbidden)
    pull = merged_hotfix(bot, {"NOTES.md": "1.3.0\n"})

    run = release_run(bot, pull)
    assert run.conclusion == "failure"
    assert run.output["title"] == "1 of 6 steps failed: tag"
    assert merged_back(bot, pull)
    assert BRANCH not in bot.repo.branches

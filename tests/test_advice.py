"""The advice hotfix-bot gives, followed literally (docs/BEHAVIOUR.md): each test brings a
problem about from outside (the fake GitHub and deliveries), reads what hotfix-bot tells
people to do where they read it (the check run, a reply, the report, `config validate`), does
exactly that on the fake GitHub, and finds the problem gone.

The repository renames everything its config can rename, so that advice naming a default
(`hotfix/`, `hotfix`, `P1`, `main`, `v1.2.4`, `develop`) where the config names another fails.
"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest
from support.harness import REFUSAL, Bot
from support.titles import all_rules_pass, rules_fail

from app.cli import main
from sandbox import FakeCheckRun, FakePull
from sandbox.git import Author

CONFIG = """\
branches:
  production: stable
  development: next
  hotfix_prefix: "fix/"
  hotfix_pattern: '^fix/[a-z0-9]+(-[a-z0-9]+)*$'
labels:
  hotfix: emergency
  severities: {P0: sev0, P1: sev1, P2: sev2}
severities:
  P1:
    approvals:
      - {name: Release Owner, users: [carol, dave]}
      - {name: Engineering Lead, team: engineering-leads}
tag:
  format: "release-{version}"
rollback:
  pattern: '^revert-[0-9]+-fix/'
"""
TEAMS = {"engineering-leads": ["lead"], "on-call-managers": ["oncall"]}
P1_WAITING = "Waiting for approval: Release Owner and Engineering Lead"
P0_WAITING = "Waiting for approval: Engineering Lead and On-call Manager"
BOT = "hotfix-bot[bot]"


@pytest.fixture(autouse=True)
def renamed(bot: Bot) -> None:
    """acme/widgets with the config above on `main` (the default branch) and on `stable` (the
    production branch), at version 1.2.3; its teams and who may write to it."""
    for slug, members in TEAMS.items():
        bot.fake.add_team("acme", slug, members)
    bot.repo.collaborators.update({"lead": "write", "oncall": "write", "dev": "write"})
    bot.repo.commit("main", {".github/hotfix.yml": CONFIG}, "The hotfix policy")
    bot.repo.create_branch("stable", "main")


def open_pull(
    bot: Bot,
    branch: str = "fix/fix-login",
    labels: tuple[str, ...] = ("emergency", "sev1"),
    files: dict[str, str] | None = None,
    base: str = "stable",
) -> FakePull:
    """`dev`'s pull request from `branch`, made from `stable` with `files` (by default the
    bump to 1.2.4) committed on it, into `base`; GitHub tells hotfix-bot it was opened."""
    bot.repo.create_branch(branch, "stable")
    bot.repo.commit(branch, {"VERSION": "1.2.4\n"} if files is None else files, f"Fix {branch}")
    pull = bot.repo.open_pull(
        branch, base, title="Fix login", author="dev", labels=labels, body="The login fails."
    )
    bot.pull_request(pull.number, "opened")
    return pull


def policy_run(bot: Bot, pull: FakePull) -> FakeCheckRun:
    """The `hotfix-policy` run of the pull request's head commit as GitHub has it now."""
    return bot.policy_run(bot.repo.pulls[pull.number].head_sha)


def how_to_fix(run: FakeCheckRun, rule: str) -> str:
    """What the run's *How to fix* says under `rule`, as people read it."""
    summary: str = run.output["summary"]
    section = summary.split(f"\n### `{rule}`\n\n", 1)[1]
    return section.split("\n\n### `", 1)[0].split("\n\n## ", 1)[0]


def waiting_row(bot: Bot, pull: FakePull, rule: str) -> str:
    """The row of `rule` on the pull request's run, which waits for approvals alone."""
    run = policy_run(bot, pull)
    assert run.output["title"] == P1_WAITING
    return row(run, rule)


def replaced(bot: Bot, old: FakePull, new: FakePull) -> None:
    """The pull request `new`, opened in place of `old`, which is closed; GitHub says so."""
    bot.pull_request(new.number, "opened")
    bot.repo.close_pull(old.number)
    bot.pull_request(old.number, "closed")


def fails_on(bot: Bot, pull: FakePull, rule: str) -> str:
    """What the *How to fix* of the pull request's run says under `rule`, the one rule it
    fails."""
    run = policy_run(bot, pull)
    assert run.output["title"] == rules_fail(rule)
    return how_to_fix(run, rule)


def row(run: FakeCheckRun, rule: str) -> str:
    """The rule's row of the run's table."""
    summary: str = run.output["summary"]
    [line] = [line for line in summary.splitlines() if line.startswith(f"| `{rule}` |")]
    return line


def shell_block(text: str) -> list[str]:
    """The lines of the one shell block in `text`, without the `&&` that chains them."""
    [block] = re.findall(r"```sh\n(.*?)\n```", text, re.DOTALL)
    return [line.strip().removesuffix(" &&") for line in block.splitlines()]


def label(bot: Bot, pull: FakePull, name: str) -> None:
    """Add label `name` on the pull request's page."""
    bot.repo.add_labels(pull.number, name)
    bot.deliver(
        "pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "labeled", label=name)
    )


def unlabel(bot: Bot, pull: FakePull, name: str) -> None:
    bot.repo.remove_label(pull.number, name)
    bot.deliver(
        "pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "unlabeled", label=name)
    )


def rerun(bot: Bot, run: FakeCheckRun) -> None:
    """The run's *Re-run* button."""
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id))


def comment(bot: Bot, pull: FakePull, author: str, body: str) -> int:
    """`author` comments `body` on the pull request; the comment's id."""
    posted = bot.repo.add_comment(pull.number, author, body)
    bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, posted.id))
    return posted.id


def reply_to(bot: Bot, comment_id: int) -> str:
    """hotfix-bot's reply to the comment, without its hidden first line."""
    [reply] = [
        c.body
        for c in bot.repo.comments.values()
        if c.author == BOT and f"reply to comment {comment_id} " in c.body
    ]
    return reply.split("\n", 1)[1]


def run_bump(bot: Bot, lines: list[str]) -> None:
    """The lines of a version-bump fix run as a shell would run them against GitHub: the files
    it writes, committed on the branch it checks out and pushed there, which GitHub tells
    hotfix-bot of."""
    branch, message = "", ""
    files: dict[str, str] = {}
    for line in lines:
        words = shlex.split(line)
        if words[:2] == ["git", "checkout"]:
            [branch] = words[2:]
        elif words[0] == "echo" and words[2] == ">":
            files[words[3]] = f"{words[1]}\n"
        elif words[:2] == ["git", "commit"]:
            message = words[3]
        elif words[:3] == ["git", "push", "origin"]:
            bot.repo.commit(words[3], files, message)
        elif words[:3] == ["git", "merge", "--no-edit"]:
            # The base merged in as git merges it (a conflict raises), pushed with the bump;
            # nothing to merge where the branch holds it already.
            [base] = [
                p.base_ref
                for p in bot.repo.pulls.values()
                if p.head_ref == branch and p.state == "open"
            ]
            assert words[3] == f"origin/{base}", line
            bot.repo.merge_refs(branch, base, f"Merge {base} into {branch}", "dev")
        else:  # fetching, fast-forwarding and adding change nothing on GitHub
            assert words[:2] in (["git", "fetch"], ["git", "merge"], ["git", "add"]), line
            assert words[-1] in ("origin", f"origin/{branch}", *files), line
    [pull] = [p for p in bot.repo.pulls.values() if p.head_ref == branch and p.state == "open"]
    bot.pull_request(pull.number, "synchronize")


def bumped(bot: Bot, pull: FakePull, fix: str) -> str:
    """The version-bump row of the pull request's run once the commands of `fix` are run."""
    run_bump(bot, shell_block(fix))
    return waiting_row(bot, pull, "version-bump")


def test_a_branch_renamed_as_branch_name_says_gets_a_new_pull_request_that_passes_it(
    bot: Bot,
) -> None:
    pull = open_pull(bot, "fix/Fix_Login")
    commands = shell_block(fails_on(bot, pull, "branch-name"))
    assert commands == [
        "git branch -m fix/Fix_Login fix/fix-login",
        "git push origin -u fix/fix-login",
        f"gh pr view {pull.number} --json body --jq .body |",
        "gh pr create --base stable --head fix/fix-login --title 'Fix login' --label emergency "
        "--label sev1 --body-file -",
        f"gh pr close {pull.number}",
    ]

    # The renamed branch pushed is the old one's commit under the new name; the new pull
    # request is opened as `gh pr create` is told, with the old one's description.
    create = shlex.split(commands[3])
    options = dict(zip(create[3::2], create[4::2], strict=True))
    given_labels = [
        value for flag, value in zip(create[3::2], create[4::2], strict=True) if flag == "--label"
    ]
    bot.repo.create_branch(options["--head"], "fix/Fix_Login")
    new = bot.repo.open_pull(
        options["--head"],
        options["--base"],
        title=options["--title"],
        author="dev",
        labels=given_labels,
        body=bot.repo.pulls[pull.number].body,
    )
    replaced(bot, pull, new)

    assert waiting_row(bot, new, "branch-name").startswith(
        "| `branch-name` | ✅ pass | fix/fix-login |"
    )


def test_the_base_changed_as_target_branch_says_passes_it(bot: Bot) -> None:
    pull = open_pull(bot, base="main")
    fix = fails_on(bot, pull, "target-branch")
    assert fix == (
        "Targets main, but a hotfix must target the production branch stable\n\n"
        f"gh pr edit {pull.number} --base stable"
    )

    # `gh pr edit --base` changes the base on GitHub, which tells of it as an edit.
    with bot.fake.lock:
        bot.repo.pulls[pull.number].base_ref = shlex.split(fix.rsplit("\n", 1)[1])[-1]
    bot.pull_request(pull.number, "edited")

    assert (
        waiting_row(bot, pull, "target-branch") == "| `target-branch` | ✅ pass | stable | stable |"
    )


def test_the_labels_added_as_labels_says_pass_it(bot: Bot) -> None:
    pull = open_pull(bot, labels=())
    assert fails_on(bot, pull, "labels") == (
        "The label emergency is missing; no severity label (sev0, sev1, sev2)\n\n"
        "Add the label `emergency`; add one severity label: `sev0` or `sev1`"
    )

    label(bot, pull, "emergency")
    label(bot, pull, "sev1")

    assert waiting_row(bot, pull, "labels") == (
        "| `labels` | ✅ pass | labels emergency, sev1 | emergency and exactly one of sev0, sev1, "
        "sev2 |"
    )


def test_the_severity_labels_removed_as_labels_says_leave_the_one_kept(bot: Bot) -> None:
    pull = open_pull(bot, labels=("emergency", "sev0", "sev1"))
    assert fails_on(bot, pull, "labels") == (
        "Several severity labels (sev0, sev1)\n\n"
        "Keep one of the labels `sev0`, `sev1` and remove the others"
    )

    unlabel(bot, pull, "sev1")

    run = policy_run(bot, pull)
    assert run.output["title"] == P0_WAITING


def test_the_severity_label_replaced_as_severity_says_passes_it(bot: Bot) -> None:
    pull = open_pull(bot, labels=("emergency", "sev2"))
    fix = fails_on(bot, pull, "severity")
    assert fix.endswith("; if the issue is more severe, replace the label sev2 with sev0 or sev1")

    unlabel(bot, pull, "sev2")
    label(bot, pull, "sev1")

    assert waiting_row(bot, pull, "severity").startswith(
        "| `severity` | ✅ pass | sev1 (severity P1) |"
    )


def test_a_change_moved_to_the_next_release_as_severity_says_is_no_hotfix_there(bot: Bot) -> None:
    """The other way out of a severity that allows no hotfix: the change goes into the
    development branch, as a regular change that no hotfix rule judges."""
    bot.repo.create_branch("next", "stable")
    pull = open_pull(bot, labels=("emergency", "sev2"))
    fix = how_to_fix(policy_run(bot, pull), "severity")
    assert fix == (
        "P2 is not allowed as a hotfix; it goes into the next regular release\n\n"
        "Close this pull request and open the change again into next as a regular change, "
        "from a branch that does not start with `fix/` and without the `emergency` label, to "
        "ship in the next release; if the issue is more severe, replace the label sev2 with "
        "sev0 or sev1"
    )

    bot.repo.close_pull(pull.number)
    bot.pull_request(pull.number, "closed")
    bot.repo.create_branch("login-timeout", pull.head_sha)
    regular = bot.repo.open_pull("login-timeout", "next", title="Fix login", author="dev")
    bot.pull_request(regular.number, "opened")

    run = policy_run(bot, regular)
    assert (run.conclusion, run.output["title"]) == ("neutral", "Not a hotfix pull request")


def test_the_people_approvals_names_approving_pass_it(bot: Bot) -> None:
    pull = open_pull(bot)
    run = policy_run(bot, pull)
    assert run.output["title"] == P1_WAITING
    fix = how_to_fix(run, "approvals")
    assert fix == (
        "Waiting for approval: Release Owner and Engineering Lead\n\n"
        "Release Owner: ask carol or dave to approve the latest commit; Engineering Lead: ask "
        "someone from team engineering-leads to approve the latest commit"
    )

    bot.approve(pull.number, "carol", "lead")  # the first named, and the team's member

    run = policy_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == ("success", all_rules_pass())


def test_the_commands_version_bump_gives_pushed_pass_it(bot: Bot) -> None:
    pull = open_pull(bot, files={"app.py": "fixed\n"})
    fix = fails_on(bot, pull, "version-bump")
    assert fix.startswith(
        "VERSION is 1.2.3 on fix/fix-login, expected 1.2.4\n\n"
        "fix/fix-login does not go past stable's version, 1.2.3: the commands bring it up to "
        "date with stable first, so that the bump merges cleanly. "
        "Set the version to 1.2.4 on fix/fix-login, commit it and push it:\n\n```sh\n"
    )

    assert bumped(bot, pull, fix) == (
        "| `version-bump` | ✅ pass | VERSION: 1.2.3 on stable, 1.2.4 on fix/fix-login "
        "| 1.2.4 (1.2.3 + 1 patch) in VERSION, and no tag release-1.2.4 yet |"
    )


def test_a_base_behind_the_latest_release_is_told_which_version_to_set_where(bot: Bot) -> None:
    """Released from elsewhere: the tag of stable's next patch exists, stable says 1.2.3."""
    bot.repo.create_tag("release-1.2.4", "stable")
    pull = open_pull(bot)
    fix = fails_on(bot, pull, "version-bump")
    assert fix.startswith(
        "The tag release-1.2.4 already exists, so stable (1.2.3) is behind the latest release\n\n"
        "Set VERSION on stable to 1.2.4, the version tagged release-1.2.4, first (if a later "
        "version was released, use that one, and its next patch instead of 1.2.5).\n\n"
        "Once stable holds it, the commands bring fix/fix-login up to date with stable first, "
        "so that the bump merges cleanly. If stable then holds another version than "
        "fix/fix-login in VERSION (a later release, say), the merge stops on a conflict there: "
        "keep stable's version "
        "(`git checkout --theirs -- VERSION && git add VERSION && git commit --no-edit`), "
        "and run the commands after the merge. "
        "Then set the version to 1.2.5 on fix/fix-login, commit it and push it:\n\n```sh\n"
    )

    bot.repo.commit("stable", {"VERSION": "1.2.4\n"}, "Catch up with release-1.2.4")
    assert bumped(bot, pull, fix) == (
        "| `version-bump` | ✅ pass | VERSION: 1.2.4 on stable, 1.2.5 on fix/fix-login "
        "| 1.2.5 (1.2.4 + 1 patch) in VERSION, and no tag release-1.2.5 yet |"
    )


def test_a_pull_request_labelled_as_not_a_hotfix_says_becomes_one(bot: Bot) -> None:
    pull = open_pull(bot, "hotfix/fix-login", labels=())
    run = policy_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == ("neutral", "Not a hotfix pull request")
    assert run.output["summary"].startswith(
        "This pull request is not a hotfix: its head branch does not start with `fix/` and it "
        "has no `emergency` label, so `.github/hotfix.yml` does not apply.\n\n"
    )

    label(bot, pull, "emergency")

    run = policy_run(bot, pull)
    # A hotfix now, judged by every rule: those its branch and labels fail say what next.
    assert run.output["title"] == rules_fail("branch-name", "labels")


def test_a_command_refused_for_want_of_a_severity_label_is_taken_once_it_is_added(
    bot: Bot,
) -> None:
    pull = open_pull(bot, labels=("emergency",))
    refused = comment(bot, pull, "lead", "/hotfix verbal-approval @oncall")
    assert reply_to(bot, refused).startswith(
        "> `/hotfix verbal-approval @oncall`\n\n"
        "@lead, hotfix-bot did not carry this out: the pull request needs exactly one severity "
        "label first; add one severity label: `sev0` or `sev1`.\n\n"
    )

    label(bot, pull, "sev0")
    again = comment(bot, pull, "lead", "/hotfix verbal-approval @oncall")

    assert [(r.content, r.user) for r in bot.repo.reactions_to(again)] == [("+1", BOT)]
    run = policy_run(bot, pull)
    assert run.output["title"] == "Waiting for approval: Engineering Lead"
    assert "On-call Manager: oncall (verbal, recorded by @lead at " in row(run, "approvals")


def test_a_command_refused_on_a_pull_request_that_is_no_hotfix_is_taken_once_it_is_one(
    bot: Bot,
) -> None:
    pull = open_pull(bot, "hotfix/fix-login", labels=())
    refused = comment(bot, pull, "lead", "/hotfix break-glass the database is down")
    assert reply_to(bot, refused).startswith(
        "> `/hotfix break-glass the database is down`\n\n"
        "@lead, hotfix-bot did not carry this out: this is not a hotfix pull request: its head "
        "branch does not start with `fix/` and it has no `emergency` label; add that label to "
        "make it one.\n\n"
    )

    label(bot, pull, "emergency")
    refused = comment(bot, pull, "lead", "/hotfix break-glass the database is down")
    assert "add one severity label: `sev0` or `sev1`." in reply_to(bot, refused)

    label(bot, pull, "sev0")
    taken = comment(bot, pull, "lead", "/hotfix break-glass the database is down")

    assert [(r.content, r.user) for r in bot.repo.reactions_to(taken)] == [("+1", BOT)]
    run = policy_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == (
        "success",
        "Break-glass by @lead: the database is down",
    )


TYPO = CONFIG.replace("  severities: {P0: sev0", "  severity: {P0: sev0")
PROBLEM = 'unknown key "severity" in labels (did you mean "severities"?)'


def test_a_config_fixed_as_the_check_and_config_validate_say_is_used_once_re_run(
    bot: Bot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bot.repo.commit("stable", {".github/hotfix.yml": TYPO}, "Rename the severity labels")
    pull = open_pull(bot)
    run = policy_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == (
        "failure",
        f"Invalid .github/hotfix.yml: {PROBLEM}",
    )
    assert run.output["summary"].endswith(
        "then re-run this check. `hotfix-bot config validate` checks a file offline."
    )

    # The file checked offline, as the run says, names the same problem, and what to write.
    checked = tmp_path / "hotfix.yml"
    checked.write_text(TYPO, encoding="utf-8")
    assert main(["config", "validate", str(checked)]) == 1
    assert capsys.readouterr().out == f"{checked}: {PROBLEM}\n"
    fixed = TYPO.replace("  severity:", "  severities:")
    checked.write_text(fixed, encoding="utf-8")
    assert main(["config", "validate", str(checked)]) == 0
    assert capsys.readouterr().out.startswith(f"OK: {checked} is valid")

    bot.repo.commit("stable", {".github/hotfix.yml": fixed}, "severities, not severity")
    rerun(bot, run)

    assert policy_run(bot, pull).output["title"] == P1_WAITING


def merged(bot: Bot, pull: FakePull) -> FakeCheckRun:
    """The hotfix approved by the people its check asks, merged: its `hotfix-release` run."""
    for login in ("carol", "lead"):
        bot.repo.review(pull.number, login, "APPROVED")
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))
    sha = bot.repo.merge_pull(pull.number, merged_by="dev")
    bot.pull_request(pull.number, "closed")
    [run] = bot.repo.runs_named("hotfix-release", sha)
    return run


def test_the_next_version_a_taken_tag_asks_for_is_released_under_its_tag(bot: Bot) -> None:
    """A premature release-1.2.4 names another commit: the report asks for the next patch."""
    bot.repo.create_tag("release-1.2.4", "main")
    run = merged(bot, open_pull(bot))
    assert (run.conclusion, run.output["title"]) == ("failure", "1 of 6 steps failed: tag")
    assert run.output["summary"].endswith(
        "\n\n## Finish by hand\n\nLeave `release-1.2.4` as it is: it names "
        f"`{bot.repo.objects.peel(bot.repo.tags['release-1.2.4'])[:7]}`. To release this "
        "hotfix's change, open a hotfix pull request into `stable` bumping the version in "
        "`VERSION` to 1.2.5, which hotfix-bot tags `release-1.2.5`."
    )

    again = open_pull(bot, "fix/release-the-login-fix", files={"VERSION": "1.2.5\n"})
    assert policy_run(bot, again).output["title"] == P1_WAITING
    run = merged(bot, again)

    assert (run.conclusion, run.output["title"]) == (
        "success",
        "All steps done for release-1.2.5 (1 skipped)",  # no branch next to merge back into
    )
    assert bot.repo.objects.peel(bot.repo.tags["release-1.2.5"]) == run.head_sha


def test_a_back_merge_resolved_and_merged_as_its_pull_request_says_turns_the_report_green(
    bot: Bot,
) -> None:
    bot.repo.create_branch("next", "stable")
    bot.repo.commit("next", {"app.py": "def login(): new feature\n"}, "A feature for later")
    run = merged(
        bot, open_pull(bot, files={"VERSION": "1.2.4\n", "app.py": "def login(): fixed\n"})
    )
    assert (run.conclusion, run.output["title"]) == (
        "action_required",
        "Back-merge into next waits for review in #2",
    )
    [backmerge] = [p for p in bot.repo.pulls.values() if p.head_ref.startswith("backmerge/")]
    assert backmerge.body is not None
    commands = shell_block(backmerge.body)
    assert commands == [
        "git fetch origin",
        "git checkout backmerge/release-1.2.4",
        "git merge origin/next",
        "# resolve, commit",
        "git push origin backmerge/release-1.2.4",
    ]

    # The merge of next, with the conflict resolved keeping both, pushed; then merged.
    resolution = bot.repo.objects.make_commit(
        {**bot.repo.get_commit(backmerge.head_ref).tree, "app.py": "def login(): both\n"},
        (bot.repo.branches[backmerge.head_ref].sha, bot.repo.branches["next"].sha),
        "Merge next into the back-merge",
        Author.for_login("dev"),
        bot.fake.now(),
    )
    bot.repo.set_branch(backmerge.head_ref, resolution.sha)
    bot.repo.merge_pull(backmerge.number, merged_by="dev")
    bot.pull_request(backmerge.number, "closed")
    assert run.output["summary"].endswith(
        "Review and merge [#2](https://github.com/acme/widgets/pull/2), then re-run the "
        "`hotfix-release` check to turn it green."
    )
    rerun(bot, run)

    [run] = bot.repo.runs_named("hotfix-release", run.head_sha)
    assert (run.conclusion, run.output["title"]) == ("success", "All steps done for release-1.2.4")


def test_a_rollback_opened_with_the_revert_button_as_a_refused_rollback_says_is_one(
    bot: Bot,
) -> None:
    hotfix = open_pull(bot)
    merged(bot, hotfix)
    bot.repo.create_branch("undo-login", "stable")
    head = bot.repo.commit("undo-login", {"VERSION": "1.2.5\n"}, "Undo the login fix")
    undo = bot.repo.open_pull("undo-login", "stable", title="Undo", labels=["rollback"])
    bot.pull_request(undo.number, "opened")
    summary = bot.policy_run(head).output["summary"]
    assert summary.endswith(
        "or close it and use the **Revert** button of that pull request, which names it."
    )

    bot.repo.close_pull(undo.number)
    bot.pull_request(undo.number, "closed")
    rollback = bot.repo.revert_pull(hotfix.number, author="dev")
    bot.pull_request(rollback.number, "opened")

    run = policy_run(bot, rollback)
    assert run.output["summary"].startswith(
        f"**Rollback of #{hotfix.number}** (Fix login), a P1 hotfix: this pull request is a "
        f"rollback because its head branch `revert-{hotfix.number}-fix/fix-login` matches "
        "`rollback.pattern` (`^revert-[0-9]+-fix/`)."
    )
    assert run.output["title"] == f"1 of 3 rules fails: version-bump (rollback of #{hotfix.number})"
    fix = how_to_fix(run, "version-bump")
    run_bump(bot, shell_block(fix))

    run = policy_run(bot, rollback)
    assert run.output["title"] == (
        f"Waiting for approval: Release Owner or Engineering Lead (rollback of #{hotfix.number})"
    )


# The options of `gh release create` that the report's commands give.
RELEASE_CREATE = argparse.ArgumentParser(exit_on_error=False)
RELEASE_CREATE.add_argument("tag")
RELEASE_CREATE.add_argument("--verify-tag", action="store_true")
RELEASE_CREATE.add_argument("--title")
RELEASE_CREATE.add_argument("--notes")
RELEASE_CREATE.add_argument("--latest")


def test_a_tag_and_release_made_by_hand_as_the_report_says_turn_it_green(bot: Bot) -> None:
    refusal = bot.fake.inject(
        "POST", r"/git/tags$", status=403, times=None, body={"message": REFUSAL}
    )
    run = merged(bot, open_pull(bot))
    assert (run.conclusion, run.output["title"]) == ("failure", "1 of 6 steps failed: tag")
    by_hand = run.output["summary"].split("\n\n## Finish by hand\n\n", 1)[1]
    assert by_hand.startswith(
        "Run these in a clone of `acme/widgets`, then re-run the `hotfix-release` check to "
        "confirm:\n\n```sh\n"
    )
    commands = shell_block(by_hand)
    assert commands[:3] == [
        "git fetch origin",
        f"git tag -a release-1.2.4 -m 'Hotfix: Fix login' {run.head_sha}",
        "git push origin release-1.2.4",
    ]

    # Run with the permission hotfix-bot lacked, as a shell would: `gh release create
    # --verify-tag` releases the tag pushed before it.
    pending: dict[str, tuple[str, str]] = {}
    for line in commands:
        words = shlex.split(line, comments=True)
        if words[:3] == ["git", "tag", "-a"]:
            pending[words[3]] = (words[6], words[5])
        elif words[:3] == ["git", "push", "origin"]:
            bot.repo.create_tag(words[3], *pending.pop(words[3]))
        elif words[:3] == ["gh", "release", "create"]:
            given = RELEASE_CREATE.parse_args(words[3:])
            assert given.tag in bot.repo.tags and given.verify_tag, line
            bot.repo.create_release(
                given.tag, name=given.title, body=given.notes, make_latest=given.latest != "false"
            )
        else:
            assert words in ([], ["git", "fetch", "origin"]), line
    bot.fake.faults.remove(refusal)
    rerun(bot, run)

    [run] = bot.repo.runs_named("hotfix-release", run.head_sha)
    assert (run.conclusion, run.output["title"]) == (
        "success",
        "All steps done for release-1.2.4 (1 skipped)",
    )
    assert bot.repo.releases["release-1.2.4"].name == "release-1.2.4"


def test_a_hotfix_queued_again_once_approved_as_its_failed_merge_group_says_passes(
    bot: Bot,
) -> None:
    pull = open_pull(bot)

    def queued() -> FakeCheckRun:
        group = bot.repo.enqueue(pull.number)
        bot.deliver("merge_group", bot.fake.merge_group_event(bot.repo, group))
        return bot.policy_run(group.head_sha)

    run = queued()
    assert (run.conclusion, run.output["title"]) == (
        "failure",
        f"Pull request #{pull.number}: {P1_WAITING}",
    )
    assert run.output["summary"].startswith(
        f"Pull request #{pull.number} (Fix login) still waits for approval on its head commit "
        f"`{pull.head_sha[:7]}`. A merge group cannot wait, so the merge queue removes it: "
        "add it to the queue again once the approvals below are in."
    )
    assert run.output["summary"].endswith(
        "Release Owner: ask carol or dave to approve the latest commit; Engineering Lead: ask "
        "someone from team engineering-leads to approve the latest commit"
    )

    bot.approve(pull.number, "dave", "lead")
    run = queued()

    assert (run.conclusion, run.output["title"]) == (
        "success",
        f"Pull request #{pull.number}: {all_rules_pass()}",
    )


def test_a_version_file_added_to_the_base_as_version_bump_says_is_read_once_re_run(
    bot: Bot,
) -> None:
    bot.repo.commit("stable", {"VERSION": None}, "The version lives in the build system")
    pull = open_pull(bot)
    run = policy_run(bot, pull)
    assert run.output["title"] == rules_fail("version-bump")
    fix = how_to_fix(run, "version-bump")
    assert fix == (
        "No version file on stable (looked for VERSION, pyproject.toml, package.json, "
        "Cargo.toml)\n\n"
        'Add a `VERSION` file holding the current version to stable (`echo "1.2.3" > VERSION` '
        "if 1.2.4, on fix/fix-login, is its next patch), or set `version.files` in "
        "`.github/hotfix.yml` to the file that holds it; then re-run this check"
    )

    [command] = re.findall(r"`(echo [^`]*)`", fix)
    words = shlex.split(command)
    bot.repo.commit("stable", {words[3]: f"{words[1]}\n"}, "Keep the version in VERSION")
    rerun(bot, run)

    assert waiting_row(bot, pull, "version-bump").startswith(
        "| `version-bump` | ✅ pass | VERSION: 1.2.3 on stable, 1.2.4 on fix/fix-login |"
    )


def test_a_verbal_approval_refused_by_the_config_is_taken_once_the_key_it_names_is_set(
    bot: Bot,
) -> None:
    pull = open_pull(bot)
    refused = comment(bot, pull, "lead", "/hotfix verbal-approval @carol")
    assert reply_to(bot, refused).startswith(
        "> `/hotfix verbal-approval @carol`\n\n"
        "@lead, hotfix-bot did not carry this out: severity P1 does not take verbal approvals "
        "(`severities.P1.verbal_approval` in `.github/hotfix.yml`).\n\n"
    )

    allowed = CONFIG.replace("  P1:\n", "  P1:\n    verbal_approval: true\n")
    bot.repo.commit("stable", {".github/hotfix.yml": allowed}, "P1 takes verbal approvals")
    taken = comment(bot, pull, "lead", "/hotfix verbal-approval @carol")

    assert [(r.content, r.user) for r in bot.repo.reactions_to(taken)] == [("+1", BOT)]
    assert policy_run(bot, pull).output["title"] == "Waiting for approval: Engineering Lead"


def test_a_break_glass_refused_to_someone_else_is_taken_from_whom_the_reply_names(
    bot: Bot,
) -> None:
    pull = open_pull(bot, labels=("emergency", "sev0"))
    refused = comment(bot, pull, "dev", "/hotfix break-glass the database is down")
    assert reply_to(bot, refused).startswith(
        "> `/hotfix break-glass the database is down`\n\n"
        "@dev, hotfix-bot did not carry this out: only members of team engineering-leads or "
        "members of team on-call-managers may break the glass for severity P0.\n\n"
    )

    taken = comment(bot, pull, "oncall", "/hotfix break-glass the database is down")

    assert [(r.content, r.user) for r in bot.repo.reactions_to(taken)] == [("+1", BOT)]
    run = policy_run(bot, pull)
    assert (run.conclusion, run.output["title"]) == (
        "success",
        "Break-glass by @oncall: the database is down",
    )


def test_a_branch_the_pattern_asks_for_gets_a_new_pull_request_that_passes_branch_name(
    bot: Bot,
) -> None:
    """A pattern no tidying of the name meets: the advice says what to move to, in words."""
    ticketed = CONFIG.replace("'^fix/[a-z0-9]+(-[a-z0-9]+)*$'", "'^fix/OPS-[0-9]+$'")
    bot.repo.commit("stable", {".github/hotfix.yml": ticketed}, "Hotfix branches name a ticket")
    pull = open_pull(bot, "fix/login", labels=("emergency", "sev1"))
    assert fails_on(bot, pull, "branch-name") == (
        "Branch fix/login does not match `^fix/OPS-[0-9]+$`\n\n"
        "Push the work to a branch whose name fully matches `^fix/OPS-[0-9]+$`, open a new pull "
        "request from it into stable with this one's labels (`emergency`, `sev1`) and close "
        "this one"
    )

    bot.repo.create_branch("fix/OPS-4711", "fix/login")
    new = bot.repo.open_pull(
        "fix/OPS-4711", "stable", title="Fix login", author="dev", labels=["emergency", "sev1"]
    )
    replaced(bot, pull, new)

    assert waiting_row(bot, new, "branch-name").startswith(
        "| `branch-name` | ✅ pass | fix/OPS-4711 |"
    )

"""A repository admin writing `.github/hotfix.yml` by hand (docs/ADMIN.md, section 4),
getting it wrong the ways people do, reading what `hotfix-bot config validate` and the
`hotfix-policy` run say, and doing exactly that until the file works: both say the same,
name the file and the key or line, and say what to write; once the file is fixed on the
base branch, re-running the check evaluates the pull requests again.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.harness import Bot

from app.cli import main
from sandbox import FakeCheckRun

FILE = ".github/hotfix.yml"
TEAMS = {"engineering-leads": ["lead"], "product-managers": ["pm"]}


@pytest.fixture(autouse=True)
def teams(bot: Bot) -> None:
    for slug, members in TEAMS.items():
        bot.fake.add_team("acme", slug, members)


def pushed(bot: Bot, text: str, message: str = "The hotfix policy") -> None:
    """The admin's file pushed to `main`, the base branch of every hotfix."""
    bot.repo.commit("main", {FILE: text}, message)


def rerun(bot: Bot, run: FakeCheckRun) -> None:
    """The run's *Re-run* button."""
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id))


def validated(text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`hotfix-bot config validate` on the admin's checkout holding `text`: its exit code and
    what it printed."""
    path = Path(FILE)
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(text.encode())
    code = main(["config", "validate"])
    printed = capsys.readouterr()
    return code, printed.out + printed.err


def test_a_hotfix_merged_under_a_broken_file_says_what_fixing_the_file_changes(
    bot: Bot,
) -> None:
    pushed(bot, "relase: false\n")
    pull = bot.open_hotfix()
    bot.pull_request(pull.number, "opened")
    problem = 'unknown key "relase" at top level (did you mean "release"?)'
    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("failure", f"Invalid {FILE}: {problem}")
    # Someone with the right to bypass the check merges it all the same.
    merge = bot.repo.merge_pull(pull.number)
    bot.pull_request(pull.number, "closed")
    [release] = bot.repo.runs_named("hotfix-release", merge)
    assert release.output["summary"].endswith("Fix the file on `main`, then re-run this check.")

    # The admin does as both runs say: fixes the file on main, then re-runs them.
    pushed(bot, "release: false\n", "Fix the hotfix policy")
    rerun(bot, release)
    rerun(bot, bot.policy_run(pull.head_sha))

    [release] = bot.repo.runs_named("hotfix-release", merge)
    assert release.conclusion == "success"
    assert list(bot.repo.tags) == ["v1.2.4"]
    # The pull request was judged by the file as it stood at the merge, which no fix can
    # change: its run stays a failure, and says so rather than asking for a fix that does
    # nothing to it.
    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("failure", f"Invalid {FILE}: {problem}")
    assert run.output["summary"] == (
        f"`{FILE}` on the base branch `main` cannot be used, so no rule was checked:\n\n"
        f"- {problem}\n\n"
        f"Config: {FILE} on main\n\n"
        "This pull request merged while the file could not be used: it is judged by the "
        "file as it stood at its merge, which fixing the file does not change, so re-running "
        "this check changes nothing. The file on `main` applies to the pull requests to "
        "come, and re-running the merge commit's `hotfix-release` check runs the post-merge "
        "steps by it."
    )


def invalid_run(bot: Bot) -> FakeCheckRun:
    """The run of a P1 hotfix opened under the file on `main` as it is now."""
    pull = bot.open_hotfix()
    bot.pull_request(pull.number, "opened")
    return bot.policy_run(pull.head_sha)


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        (
            'hotfix_prefix: "fix/"\n',
            ['unknown key "hotfix_prefix" at top level (it belongs in branches)'],
        ),
        (
            "branches:\n  production: main\n  deadline: 2h\n",
            ['unknown key "deadline" in branches (it belongs in severities.NAME)'],
        ),
        (
            # `team` one level too far out: it reads as a key of the severity.
            "severities:\n  P1:\n    approvals:\n    - name: Lead\n    team: engineering-leads\n",
            [
                "severities.P1.approvals[0]: must name who approves: team: SLUG or users: "
                "[login, ...]",
                'unknown key "team" in severities.P1 (it belongs in each entry of '
                "severities.P1.approvals)",
            ],
        ),
        (
            "approvals:\n  - {name: Lead, team: engineering-leads}\n",
            ['unknown key "approvals" at top level (it belongs in severities.NAME or in rollback)'],
        ),
        (
            # `deadline` as far out as `P1`: it reads as a severity's name.
            "severities:\n  P1:\n  deadline: 2h\n",
            [
                'severities.deadline: must be a mapping of keys (got "2h"); deadline is a key '
                "of severities.NAME, not a NAME: indent it under the one it is for"
            ],
        ),
    ],
    ids=["top level", "another section", "an entry's", "two places", "a name's"],
)
def test_a_key_at_the_wrong_level_is_told_where_it_belongs(
    bot: Bot, capsys: pytest.CaptureFixture[str], text: str, problems: list[str]
) -> None:
    assert validated(text, capsys) == (1, "".join(f"{FILE}: {p}\n" for p in problems))

    pushed(bot, text)
    run = invalid_run(bot)
    assert run.output["summary"].startswith(
        f"`{FILE}` on the base branch `main` cannot be used, so no rule was checked:\n\n"
        + "".join(f"- {problem}\n" for problem in problems)
        + "\n"
    )

"""More of the advice hotfix-bot gives, followed literally, in the renamed repository of
test_advice (docs/BEHAVIOUR.md): each problem is brought about from outside, the advice read
where people read it, and the problem found gone once it is followed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.harness import Bot
from test_advice import (
    CONFIG,
    P1_WAITING,
    PROBLEM,
    TYPO,
    how_to_fix,
    merged,
    open_pull,
    policy_run,
    renamed,
    rerun,
    row,
)

from app.cli import main

__all__ = ["renamed"]  # the repository every test here starts from


def test_a_config_that_cannot_be_used_is_fixed_on_the_branch_the_check_names(bot: Bot) -> None:
    bot.repo.commit("stable", {".github/hotfix.yml": TYPO}, "Rename the severity labels")
    pull = open_pull(bot)
    run = policy_run(bot, pull)
    assert run.output["summary"] == (
        "`.github/hotfix.yml` on the base branch `stable` cannot be used, so no rule was "
        f"checked:\n\n- {PROBLEM}\n\nConfig: .github/hotfix.yml on stable\n\n"
        "Fix the file on `stable` (a pull request cannot change its own policy), then re-run "
        "this check. `hotfix-bot config validate` checks a file offline."
    )

    bot.repo.commit("stable", {".github/hotfix.yml": CONFIG}, "severities, not severity")
    rerun(bot, run)

    assert policy_run(bot, pull).output["title"] == P1_WAITING


UNLABELLED = CONFIG.replace(
    "severities:\n  P1:\n", "severities:\n  P3:\n    hotfix_allowed: true\n  P1:\n"
)


def test_a_severity_labelled_as_config_validate_says_is_valid_and_labels_hotfixes(
    bot: Bot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checked = tmp_path / "hotfix.yml"
    checked.write_text(UNLABELLED, encoding="utf-8")
    assert main(["config", "validate", str(checked)]) == 1
    problem = capsys.readouterr().out
    assert problem == (
        f"{checked}: severities.P3: has no label; add one under labels.severities, such as "
        '"P3: P3" for a label named P3\n'
    )

    # The example added to the map as it stands, in the file's own style.
    [example] = re.findall(r'such as "([^"]*)"', problem)
    fixed = UNLABELLED.replace("sev2}", f"sev2, {example}}}")
    checked.write_text(fixed, encoding="utf-8")
    assert main(["config", "validate", str(checked)]) == 0
    bot.repo.commit("stable", {".github/hotfix.yml": fixed}, "A severity P3")
    pull = open_pull(bot, labels=("emergency", "P3"))

    assert row(policy_run(bot, pull), "severity") == (
        "| `severity` | ✅ pass | P3 | a severity that allows a hotfix (sev0, sev1, P3) |"
    )


def package(version: str) -> str:
    return f'{{\n  "name": "widgets",\n  "version": "{version}"\n}}\n'


def test_a_taken_tag_names_every_version_file_the_next_hotfix_bumps(bot: Bot) -> None:
    """stable keeps its version in two files; a premature release-1.2.4 names another commit.
    The next hotfix bumps the files the report names, and is released under the next tag."""
    bot.repo.commit("stable", {"package.json": package("1.2.3")}, "The web app's version")
    bot.repo.create_tag("release-1.2.4", "main")
    run = merged(
        bot, open_pull(bot, files={"VERSION": "1.2.4\n", "package.json": package("1.2.4")})
    )
    assert (run.conclusion, run.output["title"]) == ("failure", "1 of 6 steps failed: tag")
    by_hand = run.output["summary"].split("\n\n## Finish by hand\n\n", 1)[1]
    assert by_hand.endswith(
        "To release this hotfix's change, open a hotfix pull request into `stable` bumping the "
        "version in `VERSION` and `package.json` to 1.2.5, which hotfix-bot tags `release-1.2.5`."
    )

    named = re.findall(r"`([^`]+)`", by_hand.split(" bumping the version in ", 1)[1])[:2]
    again = open_pull(
        bot,
        "fix/release-the-login-fix",
        files={name: package("1.2.5") if name.endswith(".json") else "1.2.5\n" for name in named},
    )
    assert policy_run(bot, again).output["title"] == P1_WAITING
    run = merged(bot, again)

    assert (run.conclusion, run.output["title"]) == (
        "success",
        "All steps done for release-1.2.5 (1 skipped)",
    )


PATTERN_LINE = "  hotfix_pattern: '^fix/[a-z0-9]+(-[a-z0-9]+)*$'\n"


def test_a_prefix_set_without_a_pattern_is_fixed_by_setting_the_pattern_as_advised(
    bot: Bot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only `hotfix_prefix` is set: the default pattern, `^hotfix/…`, fits no branch with the
    prefix. The file is valid; the check and `config validate` name the key to set."""
    no_pattern = CONFIG.replace(PATTERN_LINE, "")
    bot.repo.commit("stable", {".github/hotfix.yml": no_pattern}, "No pattern")
    advice = (
        "No branch starting with `fix/` can match `^hotfix/[a-z0-9]+(-[a-z0-9]+)*$`: set "
        "`branches.hotfix_pattern` in .github/hotfix.yml on stable to one that can, such as "
        "`^fix/[a-z0-9]+(-[a-z0-9]+)*$`"
    )
    pull = open_pull(bot)
    run = policy_run(bot, pull)
    assert row(run, "branch-name") == (
        "| `branch-name` | ❌ fail | fix/fix-login | a branch name that fully matches "
        "`^hotfix/[a-z0-9]+(-[a-z0-9]+)*$` |"
    )
    assert how_to_fix(run, "branch-name") == (
        f"Branch fix/fix-login does not match `^hotfix/[a-z0-9]+(-[a-z0-9]+)*$`\n\n{advice}"
    )
    checked = tmp_path / "hotfix.yml"
    checked.write_text(no_pattern, encoding="utf-8")
    assert main(["config", "validate", str(checked)]) == 0
    assert capsys.readouterr().out == (
        f"warning: {advice}\nOK: {checked} is valid (workflow gitflow, production branch stable, "
        "hotfix severities P0, P1)\n"
    )

    [pattern] = re.findall(r"such as `([^`]*)`", advice)
    fixed = no_pattern.replace(
        '  hotfix_prefix: "fix/"\n', f"  hotfix_prefix: \"fix/\"\n  hotfix_pattern: '{pattern}'\n"
    )
    assert fixed == CONFIG
    bot.repo.commit("stable", {".github/hotfix.yml": fixed}, "The pattern fits the prefix")
    rerun(bot, run)

    run = policy_run(bot, pull)
    assert row(run, "branch-name").startswith("| `branch-name` | ✅ pass | fix/fix-login |")
    assert run.output["title"] == P1_WAITING

"""More of the advice hotfix-bot gives, followed literally, in the renamed repository of
test_advice (docs/BEHAVIOUR.md): each problem is brought about from outside, the advice read
where people read it, and the problem found gone once it is followed."""

from __future__ import annotations

from support.harness import Bot
from test_advice import CONFIG, P1_WAITING, PROBLEM, TYPO, open_pull, policy_run, renamed, rerun

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

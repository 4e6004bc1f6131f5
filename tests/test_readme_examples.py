"""The README's two `hotfix-policy` examples are what the check run says: each is made again
against the fake GitHub, at the README's times, and compared with the README's text."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.harness import Bot, Clock

README = Path(__file__).parent.parent / "README.md"
OPENED = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
TEAMS = {"engineering-leads": ["lena"], "on-call-managers": ["omar"], "product-managers": ["pat"]}


@pytest.fixture
def clock() -> Clock:
    return Clock(OPENED.timestamp())


@pytest.fixture(autouse=True)
def teams(clocked_bot: Bot) -> None:
    for slug, members in TEAMS.items():
        clocked_bot.fake.add_team("acme", slug, members)


def readme_example(heading: str) -> tuple[str, str]:
    """The title and summary the README shows under `heading`, its quoting taken off."""
    text = README.read_text(encoding="utf-8")
    found = re.search(rf"^#### {heading}\n\n\*\*(.+)\*\*\n\n((?:>.*\n)+)", text, re.MULTILINE)
    assert found is not None, heading
    quoted = found.group(2).splitlines()
    summary = "\n".join(line.removeprefix(">").removeprefix(" ") for line in quoted).rstrip("\n")
    # The README wraps the first paragraph, the time line, which the run writes as one line.
    time_line, rest = summary.split("\n\n", 1)
    return found.group(1), time_line.replace("\n", " ") + "\n\n" + rest


def evaluated_at(bot: Bot, clock: Clock, number: int, minutes: int) -> None:
    clock.now = OPENED.timestamp() + minutes * 60
    bot.pull_request(number, "synchronize")


def test_the_failing_example(clocked_bot: Bot, clock: Clock) -> None:
    bot = clocked_bot
    bot.repo.create_branch("hotfix/Fix_Login", "main")
    head = bot.repo.commit("hotfix/Fix_Login", {"app.py": "fixed\n"}, "Fix the login")
    pull = bot.repo.open_pull(
        "hotfix/Fix_Login", "main", title="Fix login", author="dana", labels=["P1"]
    )

    evaluated_at(bot, clock, pull.number, 15)

    run = bot.policy_run(head)
    title, summary = readme_example("A failing check")
    assert (run.output["title"], run.output["summary"]) == (title, summary)


def test_the_passing_example(clocked_bot: Bot, clock: Clock) -> None:
    bot = clocked_bot
    bot.repo.create_branch("hotfix/fix-login", "main")
    head = bot.repo.commit("hotfix/fix-login", {"VERSION": "1.2.4\n"}, "Fix the login")
    pull = bot.repo.open_pull(
        "hotfix/fix-login", "main", title="Fix login", author="dana", labels=["hotfix", "P0"]
    )
    bot.pull_request(pull.number, "opened")  # reviews are asked for
    for login in ("lena", "omar"):
        bot.repo.review(pull.number, login, "APPROVED")

    evaluated_at(bot, clock, pull.number, 20)

    run = bot.policy_run(head)
    title, summary = readme_example("A passing check")
    assert (run.output["title"], run.output["summary"]) == (title, summary)

"""A team on `workflow: trunk` with pre-releases allowed and organization defaults, pushing
hotfixes straight to production (docs/BEHAVIOUR.md, "Trunk-based hotfixes"), end to end
against the fake GitHub."""

from __future__ import annotations

from typing import Any

import pytest
from support.harness import Bot

from sandbox import FakeCheckRun

WEB = "https://github.com/acme/widgets"
ORG_TRUNK = "workflow: trunk\nversion: {allow_prerelease: true}\n"


def org_defaults(bot: Bot, text: str = ORG_TRUNK) -> None:
    bot.fake.add_repo("acme/.github", bot.repo.installation_id, files={".github/hotfix.yml": text})


def pushed(
    bot: Bot, files: dict[str, str | None], message: str = "Fix login crash", sender: str = "dev"
) -> dict[str, Any]:
    before = bot.repo.resolve("main")
    after = bot.repo.commit("main", files, message, author=sender)
    return bot.fake.push_event(bot.repo, "refs/heads/main", before, after, sender=sender)


def release_runs(bot: Bot) -> list[FakeCheckRun]:
    return bot.repo.runs_named("hotfix-release")


PACKAGE = '{\n  "name": "widgets",\n  "version": "%s"\n}\n'
LOCK = '{\n  "name": "widgets",\n  "version": "%s",\n  "lockfileVersion": 3\n}\n'
PYPROJECT = '[project]\nname = "widgets"\nversion = "%s"\n'
CARGO = '[package]\nname = "widgets"\nversion = "%s"\n'


@pytest.mark.parametrize("method", ["merge", "squash"])
def test_a_pull_request_merged_as_the_pushed_hotfix_gives_it_its_title(
    bot: Bot, method: str
) -> None:
    """Not named as a hotfix, the pull request leaves the release to its push: the tag and
    the release read the pull request's title, not the merge commit's first line."""
    org_defaults(bot)
    before = bot.repo.resolve("main")
    bot.repo.create_branch("fix/login", "main")
    bot.repo.commit("fix/login", {"VERSION": "1.2.4\n"}, "wip")
    pull = bot.repo.open_pull("fix/login", "main", title="Fix login crash", author="dev")
    merge = bot.repo.merge_pull(pull.number, method)

    bot.deliver("push", bot.fake.push_event(bot.repo, "refs/heads/main", before, merge))
    bot.pull_request(pull.number, "closed")

    tag_object = bot.repo.tag_object("v1.2.4")
    assert tag_object is not None
    assert (tag_object.object_sha, tag_object.message) == (merge, "Hotfix: Fix login crash")
    [release] = bot.repo.releases.values()
    assert release.body == f"Hotfix {merge[:7]}: Fix login crash"
    [run] = release_runs(bot)
    assert run.output["summary"].startswith(
        f"[`{merge[:7]}`]({WEB}/commit/{merge}) (Fix login crash) was pushed to `main` and "
        "raises the version by one patch, to 1.2.4: a hotfix."
    )

"""Builders for the policy tests: a passing P0 hotfix pull request, changed per test."""

from dataclasses import replace
from typing import Any

from policies.config import HotfixConfig, load_config
from policies.facts import PullRequestFacts, Review, ReviewState

HEAD_SHA = "a" * 40
OLD_SHA = "b" * 40
BASE_SHA = "c" * 40


def config(text: str | None = None) -> HotfixConfig:
    return load_config(text, "main")


def review(login: str, state: str = "APPROVED", commit_id: str = HEAD_SHA) -> Review:
    return Review(login, ReviewState(state), commit_id)


BASE_FACTS = PullRequestFacts(
    number=7,
    title="Fix login",
    author="dev",
    head_ref="hotfix/fix-login",
    head_sha=HEAD_SHA,
    base_ref="main",
    base_sha=BASE_SHA,
    head_repo_full_name="acme/shop",
    head_is_same_repo=True,
    labels=frozenset({"hotfix", "P0"}),
    default_branch="main",
    reviews=[review("lead"), review("manager")],
    team_members={
        "engineering-leads": frozenset({"lead"}),
        "on-call-managers": frozenset({"manager"}),
    },
    base_version_files={"VERSION": "1.2.3\n"},
    head_version_files={"VERSION": "1.2.4\n"},
    repository="acme/shop",
    clone_url="https://github.com/acme/shop.git",
)


def facts(**changes: Any) -> PullRequestFacts:
    if "labels" in changes:
        changes["labels"] = frozenset(changes["labels"])
    return replace(BASE_FACTS, **changes)

"""The `hotfix-policy` check: gather one pull request's facts, evaluate, write the run.

The pull request is always read from the API, never from the delivery, so deliveries that
arrive late or out of order still end in the result for its current state. Independent
requests run concurrently; with warm caches an evaluation is 4 sequential round trips:
(pull request, reviews) -> (base tree and the organization's file, revalidated) -> (tag,
team members) -> check run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from githubkit.exception import RequestFailed

from app.github.client import InstallationClient
from app.github.files import read_files
from app.handlers.check_output import CheckOutput, config_error_output, policy_output
from app.handlers.checks import report_failure, write_check_run
from app.handlers.config_files import ConfigFiles, read_org_file
from app.handlers.routing import Context
from policies.config import CONFIG_PATH, ConfigError
from policies.evaluate import (
    Conclusion,
    config_error_verdict,
    evaluate,
    is_hotfix,
    needed_lookups,
)
from policies.facts import PullRequestFacts, Review, ReviewState
from policies.rule import Lookups
from policies.versions import DEFAULT_VERSION_FILES

CHECK_NAME = "hotfix-policy"

PULL_REQUEST_ACTIONS = (
    "opened",
    "reopened",
    "synchronize",
    "edited",
    "labeled",
    "unlabeled",
    "ready_for_review",
)
REVIEW_ACTIONS = ("submitted", "edited", "dismissed")


async def on_pull_request(context: Context) -> None:
    """pull_request and pull_request_review deliveries."""
    if context.delivery.pr_number is not None:
        await evaluate_pull_request(context, context.delivery.pr_number)


async def on_rerequest(context: Context) -> None:
    """check_run / check_suite `rerequested`: evaluate the pull requests of that head."""
    check = context.payload.get("check_run") or context.payload.get("check_suite") or {}
    if "check_run" in context.payload and check.get("name") != CHECK_NAME:
        return
    head_sha = check.get("head_sha")
    numbers = [pull["number"] for pull in check.get("pull_requests") or []]
    if not numbers and head_sha:
        # GitHub leaves pull_requests empty for pull requests from forks.
        pulls = await context.github.get_json(
            f"/repos/{context.repository}/commits/{head_sha}/pulls"
        )
        numbers = [pull["number"] for pull in pulls if pull.get("state") == "open"]
    for number in numbers:
        await evaluate_pull_request(context, number)


async def evaluate_pull_request(context: Context, number: int) -> None:
    github, repository = context.github, context.repository
    head_sha = _head_named_by(context.payload)  # until the API says otherwise
    try:
        pull, reviews = await read_pull_request(github, repository, number)
        if pull["state"] != "open":
            context.log.info("pull request #%d is %s; nothing to check", number, pull["state"])
            return
        head_sha = pull["head"]["sha"]
        conclusion, output = await policy_verdict(github, repository, pull, reviews)
    except Exception as error:
        await report_failure(
            context, CHECK_NAME, head_sha, error, "Could not evaluate the hotfix policy"
        )
        raise
    await write_check_run(context, CHECK_NAME, head_sha, output, conclusion=conclusion)
    context.log.info("pull request #%d: %s", number, output.title)


def _head_named_by(payload: dict[str, Any]) -> str | None:
    """The head commit the delivery names: possibly stale, but where an error can be shown
    when GitHub does not give the current one."""
    for key in ("pull_request", "check_run", "check_suite"):
        item = payload.get(key)
        if isinstance(item, dict):
            head = item.get("head")
            sha = head.get("sha") if isinstance(head, dict) else item.get("head_sha")
            if isinstance(sha, str):
                return sha
    return None


async def read_pull_request(
    github: InstallationClient, repository: str, number: int
) -> tuple[dict[str, Any], list[Any]]:
    """The pull request and its reviews as they are now."""
    pull, reviews = await asyncio.gather(
        github.get_json(f"/repos/{repository}/pulls/{number}"),
        github.get_all(f"/repos/{repository}/pulls/{number}/reviews"),
    )
    return pull, reviews


async def policy_verdict(
    github: InstallationClient, repository: str, pull: dict[str, Any], reviews: list[Any]
) -> tuple[Conclusion | None, CheckOutput]:
    """The hotfix-policy result of `pull` (as `read_pull_request` gave it) on its head
    commit: the conclusion (None while approvals are outstanding) and the run's output."""
    base_ref, head_sha = pull["base"]["ref"], pull["head"]["sha"]
    default_branch = pull["base"]["repo"]["default_branch"]
    # The config and the usual version files come from one base tree; the head's version
    # files and the organization's defaults are read alongside so that none waits.
    base_files, head_files, org_file = await asyncio.gather(
        read_files(github, repository, base_ref, [CONFIG_PATH, *DEFAULT_VERSION_FILES]),
        read_files(github, repository, head_sha, DEFAULT_VERSION_FILES),
        read_org_file(github, repository),
    )
    config_files = ConfigFiles(repository, base_ref, org_file, base_files.get(CONFIG_PATH))
    try:
        config = config_files.config(default_branch)
    except ConfigError as error:
        verdict = config_error_verdict(error)
        return Conclusion.FAILURE, config_error_output(verdict, error, config_files.used)
    facts = _facts(pull, reviews)
    if not is_hotfix(config, facts.head_ref, facts.labels):
        return Conclusion.NEUTRAL, policy_output(evaluate(config, facts), config_files.used)

    # The rules say what to look up: first the version files they read...
    version_paths = needed_lookups(config, facts).version_files
    missing = [path for path in version_paths if path not in head_files]
    if missing:  # version.files names files other than the usual ones
        extra_base, extra_head = await asyncio.gather(
            read_files(github, repository, base_ref, missing),
            read_files(github, repository, head_sha, missing),
        )
        base_files, head_files = {**base_files, **extra_base}, {**head_files, **extra_head}
    facts = replace(
        facts,
        base_version_files={path: base_files.get(path) for path in version_paths},
        head_version_files={path: head_files.get(path) for path in version_paths},
    )
    # ...then what those files and the reviews decide: the tag, the approvers' teams.
    needs = needed_lookups(config, facts)
    existing_tags, team_members = await asyncio.gather(
        _existing_tags(github, repository, needs.tags),
        _approvers_by_team(github, repository.split("/")[0], needs),
    )
    verdict = evaluate(
        config, replace(facts, team_members=team_members, existing_tags=existing_tags)
    )
    return verdict.conclusion, policy_output(verdict, config_files.used)


def _facts(pull: dict[str, Any], reviews: list[Any]) -> PullRequestFacts:
    head_repo = pull["head"].get("repo") or {}
    base_repo = pull["base"]["repo"]
    return PullRequestFacts(
        number=pull["number"],
        title=pull["title"],
        author=pull["user"]["login"],
        head_ref=pull["head"]["ref"],
        head_sha=pull["head"]["sha"],
        base_ref=pull["base"]["ref"],
        base_sha=pull["base"]["sha"],
        head_repo_full_name=head_repo.get("full_name", ""),
        head_is_same_repo=head_repo.get("id") == base_repo["id"],
        labels=frozenset(label["name"] for label in pull["labels"]),
        default_branch=base_repo["default_branch"],
        reviews=[
            Review(review["user"]["login"], ReviewState(review["state"]), review.get("commit_id"))
            for review in reviews
            if review.get("user") and review.get("state") in ReviewState.__members__
        ],
        opened_at=_timestamp(pull.get("created_at")),
    )


def _timestamp(value: object) -> datetime | None:
    """GitHub's `2026-11-27T15:28:00Z`; None when absent or not of that form."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


async def _existing_tags(
    github: InstallationClient, repository: str, tags: Sequence[str]
) -> frozenset[str]:
    found = await asyncio.gather(
        *(github.get_optional(f"/repos/{repository}/git/ref/tags/{tag}") for tag in tags)
    )
    return frozenset(tag for tag, ref in zip(tags, found, strict=True) if ref is not None)


async def _approvers_by_team(
    github: InstallationClient, org: str, needs: Lookups
) -> dict[str, frozenset[str]]:
    """Team slug -> those of `needs.approvers` who are in that team."""
    approvers = needs.approvers
    members = await asyncio.gather(
        *(_team_members(github, org, slug, approvers) for slug in needs.teams)
    )
    # GitHub logins are case-insensitive.
    return {
        slug: frozenset(login for login in approvers if login.casefold() in team)
        for slug, team in zip(needs.teams, members, strict=True)
    }


async def _team_members(
    github: InstallationClient, org: str, slug: str, approvers: frozenset[str]
) -> frozenset[str]:
    """The team's members (casefolded), or, where the members list is not served, those of
    `approvers` whose membership is active."""
    try:
        members = await github.get_all(f"/orgs/{org}/teams/{slug}/members")
    except RequestFailed as error:
        if error.response.status_code != 404:
            raise
        # No such team, a personal account, or a server without the members list: ask for
        # each approver instead (never cached: it says nothing of the others).
        memberships = await asyncio.gather(
            *(
                github.get_optional(f"/orgs/{org}/teams/{slug}/memberships/{login}")
                for login in approvers
            )
        )
        return frozenset(
            login.casefold()
            for login, membership in zip(approvers, memberships, strict=True)
            if membership is not None and membership.get("state") == "active"
        )
    return frozenset(member["login"].casefold() for member in members)

"""Organization defaults: `.github/hotfix.yml` of the organization's `.github` repository is
the base a repository's own file is laid over, end to end against the fake GitHub
(docs/BEHAVIOUR.md, 'Organization defaults')."""

from __future__ import annotations

import pytest
from support.harness import REFUSAL, Bot, sequential_round_trips
from support.titles import all_rules_pass

from sandbox import FakePull, FakeRepo

TEAMS = {"engineering-leads": ["lead"], "product-managers": ["pm"]}
ORG_FILE = "acme/.github:.github/hotfix.yml"
ORG_CONFIG = """\
severities:
  P1:
    deadline: 4h
    approvals:
      - {name: Release Manager, users: [rm], count: 1}
tag:
  format: "release-{version}"
"""
DEFAULTS_USED = "Config: the defaults (no .github/hotfix.yml on main or in acme/.github)"


@pytest.fixture(autouse=True)
def teams(bot: Bot) -> None:
    for slug, members in TEAMS.items():
        bot.fake.add_team("acme", slug, members)


def org_repository(bot: Bot, text: str | None, installation: int | None = None) -> FakeRepo:
    """The organization's `.github` repository, with `text` as its `.github/hotfix.yml`."""
    files = {"README.md": "# .github\n"} if text is None else {".github/hotfix.yml": text}
    return bot.fake.add_repo("acme/.github", installation or bot.repo.installation_id, files=files)


def evaluated_hotfix(bot: Bot) -> FakePull:
    """A P1 hotfix pull request by dev bumping VERSION, evaluated once."""
    pull = bot.open_hotfix()
    bot.pull_request(pull.number, "opened")
    return pull


def test_the_repository_file_is_laid_over_the_organizations_and_the_run_names_both(
    bot: Bot,
) -> None:
    org_repository(bot, ORG_CONFIG)
    bot.repo.commit("main", {".github/hotfix.yml": "severities:\n  P1:\n    deadline: 8h\n"})

    pull = evaluated_hotfix(bot)

    run = bot.policy_run(pull.head_sha)
    # The organization's approval group and tag format, the repository's deadline.
    assert (run.status, run.output["title"]) == (
        "in_progress",
        "Waiting for approval: Release Manager",
    )
    summary = run.output["summary"]
    assert summary.startswith("**Severity P1**: merge within 8h of opening, by ")
    assert (
        "\n\nConfig: acme/.github .github/hotfix.yml, then .github/hotfix.yml on main\n\n"
        "| Rule | Result | Found | Expected |\n"
    ) in summary
    assert (
        "| `approvals` | ⏳ waiting | Release Manager: nobody yet | "
        "Release Manager: 1 approval from users rm |"
    ) in summary
    assert "and no tag release-1.2.4 yet |" in summary

    bot.repo.review(pull.number, "rm", "APPROVED")
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))

    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("success", all_rules_pass())


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "severities: [\n",
            "invalid YAML at line 2, column 1: expected the node content, but found '<stream end>'",
        ),
        (
            "# padding\n" + "#" * 300_000 + "\n",
            "the file is 300,011 bytes, more than the 256 KiB hotfix-bot reads",
        ),
        ("branchs: {}\n", 'unknown key "branchs" at top level (did you mean "branches"?)'),
    ],
    ids=["invalid YAML", "too large", "unknown key"],
)
def test_an_unusable_organization_file_is_named_in_the_check_run(
    bot: Bot, text: str, problem: str
) -> None:
    org_repository(bot, text)

    run = bot.policy_run(evaluated_hotfix(bot).head_sha)
    assert (run.status, run.conclusion) == ("completed", "failure")
    assert run.output["title"] == f"Invalid {ORG_FILE}: {problem}"
    assert run.output["summary"] == (
        f"`{ORG_FILE}`, the organization's defaults, cannot be used, so no rule was checked:\n\n"
        f"- {problem}\n\n"
        "Config: acme/.github .github/hotfix.yml\n\n"
        f"Fix `{ORG_FILE}` on its repository's default branch, then re-run this check. "
        "`hotfix-bot config validate --org-file` checks it offline."
    )
    [entry] = bot.journal.recent()
    assert (entry.status, entry.attempts) == ("done", 1)


def test_an_unusable_organization_file_stops_the_post_merge_steps_and_is_named(bot: Bot) -> None:
    org_repository(bot, "branchs: {}\n")
    pull = bot.open_hotfix()
    merge = bot.repo.merge_pull(pull.number)

    bot.pull_request(pull.number, "closed")

    assert (bot.repo.tags, bot.repo.releases) == ({}, {})
    [run] = bot.repo.runs_named("hotfix-release", merge)
    problem = 'unknown key "branchs" at top level (did you mean "branches"?)'
    assert (run.conclusion, run.output["title"]) == ("failure", f"Invalid {ORG_FILE}: {problem}")
    assert run.output["summary"] == (
        f"`{ORG_FILE}` cannot be used, so no post-merge step ran:\n\n- {problem}\n\n"
        f"Fix `{ORG_FILE}`, then re-run this check."
    )


NOT_READABLE = (
    f"acme/.github: .github/hotfix.yml not readable (GitHub answered 403: {REFUSAL}), not used"
)


@pytest.mark.parametrize(
    ("own_file", "used"),
    [
        (
            "severities:\n  P1:\n    deadline: 8h\n",
            f"Config: .github/hotfix.yml on main; {NOT_READABLE}",
        ),
        (None, f"Config: the defaults (no .github/hotfix.yml on main); {NOT_READABLE}"),
    ],
    ids=["own file", "no own file"],
)
def test_an_organization_file_the_installation_may_not_read_is_no_base_and_the_run_says_so(
    bot: Bot, own_file: str | None, used: str
) -> None:
    org_repository(bot, ORG_CONFIG)
    bot.fake.inject(
        "GET", r"/repos/acme/\.github/contents/", status=403, times=None, body={"message": REFUSAL}
    )
    if own_file is not None:
        bot.repo.commit("main", {".github/hotfix.yml": own_file})

    pull = evaluated_hotfix(bot)

    # The defaults' approval groups, not the organization's Release Manager.
    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.output["title"]) == (
        "in_progress",
        "Waiting for approval: Engineering Lead and Product Manager",
    )
    deadline = "8h" if own_file else "24h"
    assert run.output["summary"].startswith(f"**Severity P1**: merge within {deadline} of ")
    assert f"\n\n{used}\n\n| Rule |" in run.output["summary"]

    for login in ("lead", "pm"):
        bot.repo.review(pull.number, login, "APPROVED")
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))
    assert bot.policy_run(pull.head_sha).conclusion == "success"

    group = bot.repo.enqueue(pull.number)
    bot.deliver("merge_group", bot.fake.merge_group_event(bot.repo, group))
    group_run = bot.policy_run(group.head_sha)
    assert (group_run.conclusion, group_run.output["title"]) == (
        "success",
        f"Pull request #{pull.number}: {all_rules_pass()}",
    )

    merge = bot.repo.merge_pull(pull.number)
    bot.pull_request(pull.number, "closed")

    # Tagged by the defaults' format, not the organization's release-{version}.
    assert list(bot.repo.tags) == ["v1.2.4"]
    [release_run] = bot.repo.runs_named("hotfix-release", merge)
    assert release_run.conclusion == "success"
    # The fifth: the open hotfix pull requests into main, looked up after the tag.
    assert [entry.status for entry in bot.journal.recent()] == ["done"] * 5


@pytest.mark.parametrize(
    ("status", "headers", "message"),
    [
        (502, {}, "Bad Gateway"),
        (403, {"retry-after": "1"}, "You have exceeded a secondary rate limit."),
    ],
    ids=["502", "403 rate limit"],
)
def test_an_organization_file_github_fails_to_answer_is_read_again_by_the_retry(
    bot: Bot, status: int, headers: dict[str, str], message: str
) -> None:
    org_repository(bot, ORG_CONFIG)
    bot.fake.inject(
        "GET",
        r"/repos/acme/\.github/contents/",
        status=status,
        times=1,
        headers=headers,
        body={"message": message},
    )

    pull = evaluated_hotfix(bot)

    run = bot.policy_run(pull.head_sha)
    assert run.output["title"] == "Waiting for approval: Release Manager"
    assert "\n\nConfig: acme/.github .github/hotfix.yml\n\n| Rule |" in run.output["summary"]
    [entry] = bot.journal.recent()
    assert (entry.status, entry.attempts) == ("done", 2)


@pytest.mark.parametrize("where", ["no repository", "another installation's", "no file"])
def test_without_an_organization_file_the_defaults_apply(bot: Bot, where: str) -> None:
    if where == "another installation's":
        [app_id] = bot.fake.apps
        org_repository(bot, ORG_CONFIG, bot.fake.add_installation(app_id, account="acme"))
    elif where == "no file":
        org_repository(bot, None)

    run = bot.policy_run(evaluated_hotfix(bot).head_sha)
    assert run.output["title"] == "Waiting for approval: Engineering Lead and Product Manager"
    assert f"\n\n{DEFAULTS_USED}\n\n| Rule |" in run.output["summary"]
    assert [entry.status for entry in bot.journal.recent()] == ["done"]


def test_a_warm_evaluation_revalidates_the_organization_file_beside_the_base_tree(
    bot: Bot,
) -> None:
    org_repository(bot, 'tag:\n  format: "release-{version}"\n')
    pull = bot.open_hotfix()
    bot.pull_request(pull.number, "opened")
    bot.repo.review(pull.number, "lead", "APPROVED")
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))
    bot.repo.review(pull.number, "pm", "APPROVED")
    bot.fake.latency = 0.2  # makes concurrent requests overlap visibly, even on a busy machine
    bot.transport.spans.clear()

    with bot.counting() as requests:
        bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))

    assert bot.policy_run(pull.head_sha).conclusion == "success"
    org_reads = [r.status for r in requests if r.path.startswith("/repos/acme/.github/")]
    assert org_reads == [304]
    calls = [f"{span.method} {span.path}" for span in bot.transport.spans]
    assert len(calls) <= 8, calls
    assert sequential_round_trips(bot.transport.spans) <= 4, calls


def test_the_organizations_repository_reads_its_file_once_as_its_own(bot: Bot) -> None:
    org = org_repository(bot, ORG_CONFIG)
    org.commit("main", {"VERSION": "1.2.3\n"}, "Version 1.2.3")
    org.commit("hotfix/fix-login", {"VERSION": "1.2.4\n"}, "Fix", author="dev")
    pull = org.open_pull("hotfix/fix-login", "main", "Fix", "dev", labels=["hotfix", "P1"])

    with bot.counting() as requests:
        bot.deliver("pull_request", bot.fake.pull_request_event(org, pull.number, "opened"))

    [run] = org.runs_named("hotfix-policy", pull.head_sha)
    assert run.output["title"] == "Waiting for approval: Release Manager"
    assert "\n\nConfig: .github/hotfix.yml on main\n\n| Rule |" in run.output["summary"]
    assert not [request for request in requests if "/contents/" in request.path]


@pytest.mark.parametrize(
    ("base", "whose"),
    [("main", "of the organization's repositories"), ("draft", "into `draft`")],
    ids=["the defaults", "another branch"],
)
def test_a_pull_request_breaking_the_organizations_file_is_told_whose_pull_requests_fail(
    bot: Bot, base: str, whose: str
) -> None:
    """The `.github` repository's file on its default branch is every repository's base: a
    pull request breaking it there is told that all of theirs would fail."""
    org = org_repository(bot, ORG_CONFIG)
    org.create_branch(base, "main")
    org.create_branch("policy/edit", base)
    org.commit("policy/edit", {".github/hotfix.yml": "tag:\n  format: release\n"}, "Tags")
    pull = org.open_pull("policy/edit", base, "Tags", "admin")

    bot.deliver("pull_request", bot.fake.pull_request_event(org, pull.number, "opened"))

    [run] = org.runs_named("hotfix-policy", pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("neutral", "Not a hotfix pull request")
    assert run.output["summary"].endswith(
        f"Config: .github/hotfix.yml on {base}\n\n"
        "This pull request changes `.github/hotfix.yml`, but is judged by the file on "
        f"`{base}`: a pull request cannot change its own policy. As it leaves the file, the "
        f"file cannot be used, and every pull request {whose} after its merge would fail on "
        'it:\n\n- tag.format: must contain {version} (got "release")\n\n'
        "Fix it on `policy/edit` before the merge; `hotfix-bot config validate` checks it "
        "offline."
    )


def test_a_pull_request_fixing_the_organizations_file_says_whose_hotfixes_are_evaluated_again(
    bot: Bot,
) -> None:
    """Fixed, the `.github` repository's file applies to every repository's pull requests,
    but the push of its merge evaluates again only that repository's hotfixes."""
    org = org_repository(bot, "relase: false\n")
    org.create_branch("policy/fix", "main")
    org.commit("policy/fix", {".github/hotfix.yml": "release: false\n"}, "Fix")
    pull = org.open_pull("policy/fix", "main", "Fix", "admin")

    bot.deliver("pull_request", bot.fake.pull_request_event(org, pull.number, "opened"))

    [run] = org.runs_named("hotfix-policy", pull.head_sha)
    assert run.conclusion == "failure"
    assert run.output["summary"].endswith(
        "Once merged, its file applies to the pull requests of the organization's "
        "repositories: the open hotfix pull requests into this repository's `main` are "
        "evaluated again at its merge, any other at its next event or when its check is "
        "re-run."
    )

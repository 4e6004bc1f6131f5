"""Rollback pull requests as plain data: the `rollback` config, recognising one, the pull
request it names, the verdict (docs/BEHAVIOUR.md, "Rollbacks")."""

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from policy_factories import HEAD_SHA, config, facts, review

from policies.config import ConfigError, OrgDefaults, config_as_yaml, load_config
from policies.evaluate import Conclusion, evaluate, needed_lookups
from policies.facts import BreakGlass, PullRequestFacts, RevertedPull, VerbalApproval
from policies.result import Status
from policies.rollback import is_rollback, reverted_number, reverted_numbers, rollback_reason
from policies.rule import Lookups

HOTFIX = RevertedPull(
    number=7,
    title="Fix login",
    author="dev",
    head_ref="hotfix/fix-login",
    base_ref="main",
    labels=frozenset({"hotfix", "P0"}),
    state="closed",
    merged=True,
    merge_commit_sha="d" * 40,
)


def rollback_facts(**changes: Any) -> PullRequestFacts:
    """The Revert button's pull request for hotfix #7 (P0, v1.2.4), shipping 1.2.5, approved
    by an on-call manager."""
    revert = facts(
        number=8,
        title='Revert "Fix login"',
        head_ref="revert-7-hotfix/fix-login",
        labels=set(),
        reviews=[review("manager")],
        base_version_files={"VERSION": "1.2.4\n"},
        head_version_files={"VERSION": "1.2.5\n"},
        repository="acme/shop",
        body="Reverts acme/shop#7",
        reverted=HOTFIX,
    )
    if "labels" in changes:
        changes["labels"] = frozenset(changes["labels"])
    return replace(revert, **changes)


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_config(text, "main")
    return raised.value.problems


# --- the config ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("org_text", "text", "pattern"),
    [
        # The default stays as written when a file changes the prefix.
        (None, 'branches: {hotfix_prefix: "fix/"}', "^revert-[0-9]+-hotfix/"),
        ('branches: {hotfix_prefix: "fix/"}', None, "^revert-[0-9]+-hotfix/"),
        ('rollback: {pattern: "^undo/"}', 'branches: {hotfix_prefix: "fix/"}', "^undo/"),
        (None, 'branches: {hotfix_prefix: "fix/"}\nrollback: {pattern: "^undo/"}', "^undo/"),
    ],
)
def test_the_rollback_pattern_is_the_default_unless_a_file_sets_it(
    org_text: str | None, text: str | None, pattern: str
) -> None:
    org = None if org_text is None else OrgDefaults("acme/.github:.github/hotfix.yml", org_text)
    assert load_config(text, "main", org).rollback.pattern == pattern


def test_the_rollback_defaults_and_config_show_lists_them() -> None:
    rollback = config().rollback
    assert (rollback.pattern, rollback.label, rollback.approvals) == (
        "^revert-[0-9]+-hotfix/",
        "rollback",
        None,
    )
    assert "\nrollback:\n  pattern: ^revert-[0-9]+-hotfix/\n  label: rollback\n" in (
        config_as_yaml(config())
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "rollback: {label: Hotfix}",
            'rollback.label: "Hotfix" is already labels.hotfix; a rollback needs its own label',
        ),
        (
            "rollback: {label: p1}",
            'rollback.label: "p1" is already labels.severities.P1; a rollback needs its own label',
        ),
        ("rollback: {label: ''}", 'rollback.label: must be a non-empty text (got "")'),
        (
            "rollback: {aprovals: []}",
            'unknown key "aprovals" in rollback (did you mean "approvals"?)',
        ),
        (
            "rollback: {approvals: [{name: A, users: [x]}, {name: A, team: t}]}",
            "rollback.approvals: approval group names must differ (repeated: A)",
        ),
        (
            "rollback: {approvals: [{name: A}]}",
            "rollback.approvals[0]: must name who approves: team: SLUG or users: [login, ...]",
        ),
        (
            "rollback: {approvals: release-owners}",
            'rollback.approvals: must be a list (got "release-owners")',
        ),
    ],
)
def test_rollback_problems_name_the_key(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_a_rollback_pattern_must_be_one_re2_runs() -> None:
    (problem,) = problems("rollback: {pattern: '^revert-(?=[0-9])'}")
    assert problem.startswith("rollback.pattern: is not a pattern hotfix-bot can use")


# --- recognising one, and what it names ------------------------------------------------------


@pytest.mark.parametrize(
    ("head_ref", "labels", "expected"),
    [
        ("revert-12-hotfix/fix-login", [], True),
        ("revert-12-feature/search", [], False),  # the revert of something else
        ("hotfix/revert-12-hotfix/x", [], False),  # the pattern is anchored
        ("undo-login", ["Rollback"], True),
        ("undo-login", ["hotfix"], False),
    ],
)
def test_is_rollback(head_ref: str, labels: list[str], expected: bool) -> None:
    assert is_rollback(config(), head_ref, labels) is expected


@pytest.mark.parametrize(
    ("head_ref", "body", "expected"),
    [
        # The Revert button's: the branch and the line name the same pull request.
        ("revert-7-hotfix/fix-login", "Reverts acme/shop#7", (7,)),
        ("revert-12-hotfix/fix-login", "", (12,)),
        ("revert-12-hotfix/fix-login", "Reverts other/shop#7", (12,)),
        # A line wins over a branch's number: #2 may be an issue, #3 the rollback reverted.
        ("revert-2-login-fix", "SSO broke.\n\nReverts acme/shop#7\n", (7,)),
        ("revert-3-revert-1-hotfix/fix-login", "Reverts acme/shop#1", (1,)),
        ("undo", "Reverts acme/shop#7", (7,)),
        ("undo", "SSO users are locked out.\r\n\r\nReverts ACME/Shop#7\r\n", (7,)),
        ("undo", "reverts #7", (7,)),
        ("undo", "Reverts other/shop#7", ()),  # another repository's pull request
        ("undo", "Reverts acme/shop#7 and #9", ()),
        ("undo", "This reverts acme/shop#7", ()),
        ("undo", "", ()),
        # Each named once, in the order named.
        ("revert-5-x", "Reverts acme/shop#7\nReverts #9\nReverts acme/shop#07\n", (7, 9)),
    ],
)
def test_the_reverted_pull_requests_are_named_by_the_reverts_lines_else_the_branch(
    head_ref: str, body: str, expected: tuple[int, ...]
) -> None:
    assert reverted_numbers(head_ref, body, "acme/shop") == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [("Reverts acme/shop#7", 7), ("", None), ("Reverts acme/shop#7\nReverts #9", None)],
)
def test_the_app_reads_the_reverted_pull_request_only_when_one_is_named(
    body: str, expected: int | None
) -> None:
    assert reverted_number("undo", body, "acme/shop") == expected


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("Reverts acme/shop#7", None),
        ("Reverts acme/shop#7\n\nSSO users are locked out.\n", "SSO users are locked out"),
        (
            "SSO users\n  are locked out.\n\nSee the incident.\nReverts acme/shop#7",
            "SSO users are locked out",
        ),
        ("", None),
        # What a pull request template leaves is not the author's reason.
        (
            "## Summary\n<!-- Describe the change -->\n\n- [ ] Tests added\n\n"
            "Checkout times out.\n\nReverts acme/shop#7",
            "Checkout times out",
        ),
        ("## Summary\n<!-- Why? -->\n- [x] Tests added\nReverts acme/shop#7", None),
    ],
)
def test_the_reason_is_the_first_paragraph_besides_the_reverts_line(
    body: str, reason: str | None
) -> None:
    assert rollback_reason(body) == reason


# --- the verdict -----------------------------------------------------------------------------


def test_a_rollback_of_a_merged_hotfix_is_judged_by_three_rules_and_one_approval() -> None:
    verdict = evaluate(config(), rollback_facts())

    assert verdict.conclusion is Conclusion.SUCCESS
    assert verdict.title == "All 3 rules pass (rollback of #7)"
    assert [result.rule for result in verdict.results] == [
        "target-branch",
        "approvals",
        "version-bump",
    ]
    approvals = verdict.results[1]
    assert (approvals.found, approvals.expected, approvals.summary) == (
        "Engineering Lead or On-call Manager: manager",
        "Engineering Lead or On-call Manager: 1 approval from team engineering-leads or team "
        "on-call-managers",
        "Every approval group of a rollback of a P0 hotfix is filled",
    )
    assert verdict.rollback is not None and verdict.rollback.severity == "P0"


def test_a_rollback_looks_up_the_teams_of_the_reverted_hotfixs_severity() -> None:
    lookups = needed_lookups(config(), rollback_facts())
    assert lookups.teams == ("engineering-leads", "on-call-managers")
    assert lookups.approvers == frozenset({"manager"})
    assert lookups.version_files == ("VERSION", "pyproject.toml", "package.json", "Cargo.toml")


def test_the_author_of_a_rollback_does_not_approve_it() -> None:
    verdict = evaluate(config(), rollback_facts(author="manager"))
    assert verdict.conclusion is None
    assert verdict.title == (
        "Waiting for approval: Engineering Lead or On-call Manager (rollback of #7)"
    )


def test_configured_rollback_approvals_replace_the_severitys() -> None:
    owners = config("rollback: {approvals: [{name: Release Owner, users: [rita]}]}")
    verdict = evaluate(owners, rollback_facts())
    assert verdict.title == "Waiting for approval: Release Owner (rollback of #7)"
    verdict = evaluate(owners, rollback_facts(reviews=[review("rita")]))
    assert verdict.title == "All 3 rules pass (rollback of #7)"


def test_a_rollback_of_a_hotfix_without_one_severity_label_fails_approvals_saying_why() -> None:
    unlabelled = replace(HOTFIX, labels=frozenset({"hotfix"}))
    verdict = evaluate(config(), rollback_facts(reverted=unlabelled))
    assert verdict.title == "1 of 3 rules fails: approvals (rollback of #7)"
    approvals = verdict.results[1]
    assert (approvals.status, approvals.summary, approvals.how_to_fix) == (
        Status.FAIL,
        "#7 has no single severity label, so no approval group applies to its rollback",
        "Label #7 with its severity, or set `rollback.approvals` in `.github/hotfix.yml` on "
        "main; then re-run this check",
    )


def test_a_rollback_is_one_even_with_the_hotfix_label() -> None:
    verdict = evaluate(config(), rollback_facts(labels={"hotfix", "P0"}))
    assert verdict.title == "All 3 rules pass (rollback of #7)"


@pytest.mark.parametrize(
    ("changes", "problem", "fix"),
    [
        (
            {"base_ref": "develop"},
            "it is into develop, not the production branch main",
            "A hotfix is rolled back where it shipped: change the base branch to main",
        ),
        (
            {"head_ref": "undo-login", "labels": {"rollback"}, "body": "", "reverted": None},
            "it names no pull request it reverts",
            "Add the line `Reverts acme/shop#N` to this pull request's description",
        ),
        (
            {"head_ref": "revert-70-hotfix/x", "body": "", "reverted": None},
            "there is no pull request #70",
            "Add",
        ),
        (
            {"head_ref": "revert-2-undo", "labels": {"rollback"}, "reverted": None},
            "there is no pull request #7",  # the description's, not the branch's
            "Add the line `Reverts acme/shop#N` to this pull request's description, in place "
            "of any other `Reverts` line",
        ),
        (
            {"base_ref": "develop", "body": "Reverts acme/shop#7\nReverts acme/shop#9"},
            "it is into develop, not the production branch main",
            "A hotfix is rolled back where it shipped",
        ),
        (
            {"reverted": replace(HOTFIX, state="open", merged=False, merge_commit_sha=None)},
            "#7 is still open",
            "Nothing of #7 is in main yet: close #7 instead of rolling it back",
        ),
        (
            {"reverted": replace(HOTFIX, merged=False, merge_commit_sha=None)},
            "#7 was closed without being merged",
            "#7 never reached main",
        ),
        (
            {"reverted": replace(HOTFIX, head_ref="feature/login", labels=frozenset())},
            "#7 is not a hotfix pull request",
            "Only a hotfix is rolled back",
        ),
        (
            {"reverted": replace(HOTFIX, base_ref="develop")},
            "#7 was merged into develop, not the production branch main",
            "#7 shipped in no hotfix release of main",
        ),
    ],
)
def test_what_looks_like_a_rollback_of_anything_but_a_merged_hotfix_is_no_hotfix_saying_why(
    changes: dict[str, Any], problem: str, fix: str
) -> None:
    refused = rollback_facts(**changes)

    verdict = evaluate(config(), refused)

    assert (verdict.conclusion, verdict.title, verdict.results) == (
        Conclusion.NEUTRAL,
        "Not a hotfix pull request",
        (),
    )
    assert verdict.rollback is None
    assert verdict.not_a_rollback is not None and verdict.not_a_rollback.refusal is not None
    assert verdict.not_a_rollback.refusal.problem == problem
    assert verdict.not_a_rollback.refusal.how_to_fix.startswith(fix)
    assert needed_lookups(config(), refused) == Lookups()  # nothing to look up for no rule


def test_a_rollback_naming_more_than_one_pull_request_fails_in_a_row_of_its_own() -> None:
    two = rollback_facts(
        head_ref="undo-both",
        labels={"rollback"},
        body="Both broke SSO.\n\nReverts acme/shop#7\nReverts #9\nReverts acme/shop#7\n",
        reverted=None,
    )

    verdict = evaluate(config(), two)

    assert (verdict.conclusion, verdict.title) == (
        Conclusion.FAILURE,
        "A rollback reverts one hotfix: this one names #7 and #9",
    )
    [row] = verdict.results
    assert (row.rule, row.status, row.found, row.expected, row.summary, row.how_to_fix) == (
        "rollback",
        Status.FAIL,
        "#7 and #9",
        "one merged hotfix pull request",
        "It names more than one pull request it reverts: #7 and #9",
        "A rollback reverts one hotfix: open one rollback pull request for each of #7 and #9, "
        "or keep one `Reverts` line in this pull request's description",
    )
    assert verdict.rollback is not None and verdict.rollback.several == (7, 9)
    assert (verdict.rollback.reverted, verdict.not_a_rollback, verdict.severity) == (
        None,
        None,
        None,
    )
    assert needed_lookups(config(), two) == Lookups()  # no hotfix, so no approver to look up
    # No severity is known to allow a break-glass, so none waives it.
    glass = BreakGlass("lead", "SSO is down for everyone", RECORDED_AT)
    broken = evaluate(config(), replace(two, break_glass=glass))
    assert (broken.conclusion, broken.title) == (verdict.conclusion, verdict.title)


def test_what_looks_like_a_rollback_but_is_none_is_judged_as_the_hotfix_it_is() -> None:
    hotfix = rollback_facts(
        head_ref="hotfix/undo-login", labels={"rollback", "hotfix", "P0"}, body=""
    )

    verdict = evaluate(config(), hotfix)

    assert (verdict.conclusion, verdict.title) == (Conclusion.SUCCESS, "All 6 rules pass")
    assert (verdict.severity, verdict.rollback) == ("P0", None)
    assert verdict.not_a_rollback is not None and verdict.not_a_rollback.refusal is not None
    assert verdict.not_a_rollback.refusal.problem == "it names no pull request it reverts"
    assert needed_lookups(config(), hotfix).teams == ("engineering-leads", "on-call-managers")


# --- comment commands on a rollback ------------------------------------------------------------

RECORDED_AT = datetime(2026, 12, 4, 14, 32, tzinfo=UTC)


def spoken(approver: str) -> VerbalApproval:
    return VerbalApproval(approver, "dana", RECORDED_AT, HEAD_SHA)


def test_a_verbal_approval_counts_on_a_rollback_where_the_hotfixs_severity_takes_them() -> None:
    verdict = evaluate(config(), rollback_facts(reviews=[], verbal_approvals=[spoken("manager")]))

    assert verdict.title == "All 3 rules pass (rollback of #7)"
    assert verdict.results[1].found == (
        "Engineering Lead or On-call Manager: manager (verbal, recorded by @dana at 14:32 UTC)"
    )
    assert verdict.rollback is not None and verdict.rollback.verbal_approval is True
    # The verbal approver's teams are looked up as a reviewer's would be.
    lookups = needed_lookups(config(), rollback_facts(reviews=[], verbal_approvals=[spoken("x")]))
    assert lookups.approvers == frozenset({"x"})


def test_a_verbal_approval_on_a_rollback_of_a_severity_without_them_does_not_count() -> None:
    p1_hotfix = replace(HOTFIX, labels=frozenset({"hotfix", "P1"}))
    verdict = evaluate(
        config(),
        rollback_facts(reviews=[], reverted=p1_hotfix, verbal_approvals=[spoken("lead")]),
    )

    assert verdict.title == (
        "Waiting for approval: Engineering Lead or Product Manager (rollback of #7)"
    )
    assert verdict.results[1].found == (
        "Engineering Lead or Product Manager: nobody yet; the verbal approval of lead does not "
        "count: severity P1 (of the rolled-back hotfix) does not take verbal approvals "
        "(`severities.P1.verbal_approval`)"
    )
    assert verdict.rollback is not None and verdict.rollback.verbal_approval is False


def test_configured_rollback_approvals_take_verbal_approvals_as_the_hotfixs_severity_does() -> None:
    owners = config("rollback: {approvals: [{name: Release Owner, users: [rita]}]}")
    verdict = evaluate(owners, rollback_facts(reviews=[], verbal_approvals=[spoken("rita")]))
    assert verdict.title == "All 3 rules pass (rollback of #7)"

    unlabelled = replace(HOTFIX, labels=frozenset({"hotfix"}))
    verdict = evaluate(
        owners,
        rollback_facts(reviews=[], reverted=unlabelled, verbal_approvals=[spoken("rita")]),
    )
    assert verdict.title == "Waiting for approval: Release Owner (rollback of #7)"
    assert verdict.results[1].found.endswith(
        "the verbal approval of rita does not count: the rolled-back hotfix has no single "
        "severity label that could allow them"
    )


def test_a_break_glass_waives_what_a_rollback_fails_or_waits_for() -> None:
    glass = BreakGlass("lead", "SSO is down for everyone", RECORDED_AT)
    verdict = evaluate(
        config(),
        rollback_facts(reviews=[], head_version_files={"VERSION": "1.2.3\n"}, break_glass=glass),
    )

    assert verdict.conclusion is Conclusion.SUCCESS
    assert verdict.title == "Break-glass by @lead: SSO is down for everyone (rollback of #7)"
    assert verdict.waived_rules == ("approvals", "version-bump")
    assert verdict.waived_groups == (("Engineering Lead or On-call Manager",),)
    assert (verdict.break_glass, verdict.severity, verdict.time_left) == (glass, None, None)


def test_a_break_glass_is_not_in_force_on_a_rollback_of_a_severity_that_allows_none() -> None:
    glass = BreakGlass("lead", "SSO is down for everyone", RECORDED_AT)
    p1_hotfix = replace(HOTFIX, labels=frozenset({"hotfix", "P1"}))
    verdict = evaluate(config(), rollback_facts(reviews=[], reverted=p1_hotfix, break_glass=glass))

    assert verdict.conclusion is None
    assert verdict.title == (
        "Waiting for approval: Engineering Lead or Product Manager (rollback of #7)"
    )
    assert (verdict.break_glass, verdict.dormant_break_glass) == (None, glass)

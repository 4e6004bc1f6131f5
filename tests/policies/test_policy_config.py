from datetime import timedelta

import pytest
from policy_factories import config

from policies.config import ConfigError, config_as_yaml, load_config


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_config(text, "main")
    return raised.value.problems


def test_missing_file_gives_the_documented_defaults() -> None:
    loaded = load_config(None, "trunk")
    assert loaded.workflow == "gitflow"
    assert loaded.branches.production == "trunk"
    assert loaded.branches.development == "develop"
    assert loaded.branches.hotfix_prefix == "hotfix/"
    assert loaded.branches.hotfix_pattern == "^hotfix/[a-z0-9]+(-[a-z0-9]+)*$"
    assert loaded.labels.hotfix == "hotfix"
    assert loaded.labels.severities == {"P0": "P0", "P1": "P1", "P2": "P2"}
    p0, p1, p2 = (loaded.severities[name] for name in ("P0", "P1", "P2"))
    assert p0.hotfix_allowed and p1.hotfix_allowed and not p2.hotfix_allowed
    assert p0.deadline is not None and p0.deadline.value == timedelta(hours=2)
    assert p1.deadline is not None and str(p1.deadline) == "24h"
    assert [(g.name, g.team, g.count) for g in p0.approvals] == [
        ("Engineering Lead", "engineering-leads", 1),
        ("On-call Manager", "on-call-managers", 1),
    ]
    assert [g.name for g in p1.approvals] == ["Engineering Lead", "Product Manager"]
    assert p2.approvals == []
    assert loaded.version.files == [] and loaded.version.bump == "patch"
    assert loaded.tag.format == "v{version}" and loaded.tag.message == "Hotfix: {title}"
    assert loaded.release is True and loaded.delete_branch is True


def test_the_incident_clock_defaults_escalate_p0_and_p1_and_request_reviews() -> None:
    p0, p1, p2 = (load_config(None, "main").severities[name] for name in ("P0", "P1", "P2"))

    assert [(str(step.after), step.notify) for step in p0.escalation] == [
        ("15m", ["approvers"]),
        ("4h", ["approvers", "author"]),
    ]
    assert [(str(step.after), step.notify) for step in p1.escalation] == [
        ("30m", ["approvers"]),
        ("2h", ["approvers", "author"]),
    ]
    assert p2.escalation == []
    assert p0.request_reviews and p1.request_reviews


def test_escalation_steps_take_every_kind_of_mention() -> None:
    loaded = config(
        "severities: {P1: {escalation: [{after: 1d2h3m4s, notify: "
        "[approvers, author, '@octo-cat', '@acme/sre_team-2']}]}}"
    )

    [step] = loaded.severities["P1"].escalation
    assert step.after.value == timedelta(days=1, hours=2, minutes=3, seconds=4)
    assert step.notify == ["approvers", "author", "@octo-cat", "@acme/sre_team-2"]
    shown = config_as_yaml(loaded)  # what `hotfix-bot config show` prints
    assert "  - after: 1d2h3m4s\n" in shown and "- '@acme/sre_team-2'\n" in shown
    assert load_config(shown, "main") == loaded


@pytest.mark.parametrize("text", ["", "# only a comment\n", "branches:\n"])
def test_empty_file_or_section_keeps_defaults(text: str) -> None:
    assert load_config(text, "main") == load_config(None, "main")


def test_severity_entries_merge_key_by_key() -> None:
    loaded = config("severities: {P0: {deadline: 1h}}")
    assert str(loaded.severities["P0"].deadline) == "1h"
    assert [g.name for g in loaded.severities["P0"].approvals] == [
        "Engineering Lead",
        "On-call Manager",
    ]
    assert loaded.severities["P1"] == config().severities["P1"]
    assert loaded.severities["P2"] == config().severities["P2"]


def test_label_names_merge_key_by_key() -> None:
    loaded = config("labels: {severities: {P0: sev0}}")
    assert loaded.labels.severities == {"P0": "sev0", "P1": "P1", "P2": "P2"}
    assert loaded.labels.hotfix == "hotfix"


def test_a_given_list_replaces_the_default_list() -> None:
    loaded = config("severities: {P0: {approvals: [{name: Boss, users: [alice]}]}}")
    (group,) = loaded.severities["P0"].approvals
    assert (group.name, group.users, group.team, group.count) == ("Boss", ["alice"], None, 1)


def test_a_new_severity_is_not_a_hotfix_severity_unless_it_says_so() -> None:
    loaded = config("labels: {severities: {P3: low}}\nseverities: {P3: {deadline: 7d}}")
    assert loaded.severities["P3"].hotfix_allowed is False
    assert loaded.severities["P3"].deadline is not None
    assert loaded.severities["P3"].deadline.value == timedelta(days=7)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2h", 7200), ("30m", 1800), ("1d", 86400), ("90s", 90), ("1h30m", 5400), ("30d", 2592000)],
)
def test_deadlines_parse_and_keep_their_text(text: str, seconds: int) -> None:
    deadline = config(f"severities: {{P0: {{deadline: {text}}}}}").severities["P0"].deadline
    assert deadline is not None
    assert deadline.value.total_seconds() == seconds
    assert str(deadline) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "severities: {P0: {approvals: [{name: A, team: t, count: two}]}}",
            'severities.P0.approvals[0].count: must be a whole number of at least 1 (got "two")',
        ),
        (
            "severities: {P0: {approvals: [{name: A, team: t, count: 0}]}}",
            "severities.P0.approvals[0].count: must be a whole number of at least 1 (got 0)",
        ),
        ("brnches: {}", 'unknown key "brnches" at top level (did you mean "branches"?)'),
        (
            "branches: {prodution: main}",
            'unknown key "prodution" in branches (did you mean "production"?)',
        ),
        (
            "severities: {P0: {approvals: [{name: A, tem: t}]}}",
            'unknown key "tem" in severities.P0.approvals[0] (did you mean "team"?)',
        ),
        ("workflow: trunk", "workflow: must be 'gitflow' or 'github-flow' (got \"trunk\")"),
        ("release: maybe", 'release: must be true or false (got "maybe")'),
        ("version: {files: VERSION}", 'version.files: must be a list (got "VERSION")'),
        ("version: {bump: minor}", "version.bump: must be 'patch' (got \"minor\")"),
        ("labels: {hotfix: ''}", 'labels.hotfix: must be a non-empty text (got "")'),
        (
            "severities: {P0: {deadline: soon}}",
            'severities.P0.deadline: must be a duration such as 2h, 30m, 1d or 90s (got "soon")',
        ),
        (
            "severities: {P0: {deadline: 0h}}",
            'severities.P0.deadline: must be longer than zero (got "0h")',
        ),
        (
            "severities: {P0: {deadline: 31d}}",
            'severities.P0.deadline: must be at most 30d (got "31d")',
        ),
        (
            "severities: {P0: {deadline: 30m2h}}",
            "severities.P0.deadline: must give its units largest first, each once, as in 1h30m "
            '(got "30m2h")',
        ),
        (
            "severities: {P0: {escalation: [{after: 0m, notify: [author]}]}}",
            'severities.P0.escalation[0].after: must be longer than zero (got "0m")',
        ),
        (
            "severities: {P0: {escalation: [{after: 721h, notify: [author]}]}}",
            'severities.P0.escalation[0].after: must be at most 30d (got "721h")',
        ),
        (
            "severities: {P0: {escalation: [{after: 1h1h, notify: [author]}]}}",
            "severities.P0.escalation[0].after: must give its units largest first, each once, "
            'as in 1h30m (got "1h1h")',
        ),
        (
            "severities: {P0: {escalation: [{after: soon, notify: [author]}]}}",
            "severities.P0.escalation[0].after: must be a duration such as 2h, 30m, 1d or 90s "
            '(got "soon")',
        ),
        (
            "severities: {P0: {escalation: [{notify: [author]}]}}",
            "severities.P0.escalation[0].after: is required",
        ),
        (
            "severities: {P0: {escalation: [{after: 1h, notify: [approvers, bob]}]}}",
            "severities.P0.escalation[0].notify[1]: must be @login, @org/team-slug, approvers "
            'or author (got "bob")',
        ),
        (
            "severities: {P0: {escalation: [{after: 1h, notify: ['@-bob']}]}}",
            "severities.P0.escalation[0].notify[0]: must be @login, @org/team-slug, approvers "
            'or author (got "@-bob")',
        ),
        (
            "severities: {P0: {escalation: [{after: 1h, notify: []}]}}",
            "severities.P0.escalation[0].notify: must name whom to notify (@login, "
            "@org/team-slug, approvers, author)",
        ),
        (
            "severities: {P0: {escalation: [{after: 1h, notify: [author], aftr: 2h}]}}",
            'unknown key "aftr" in severities.P0.escalation[0] (did you mean "after"?)',
        ),
        (
            "severities: {P0: {escalation: [{after: 1h, notify: [author]}, "
            "{after: 60m, notify: [approvers]}]}}",
            "severities.P0.escalation: two steps come after the same time (1h, 60m); give each "
            "step its own time",
        ),
        (
            "severities: {P0: {request_reviews: yes please}}",
            'severities.P0.request_reviews: must be true or false (got "yes please")',
        ),
        (
            "severities: {P0: {approvals: [{name: A}]}}",
            "severities.P0.approvals[0]: must name who approves: team: SLUG or users: [login, ...]",
        ),
        (
            "severities: {P0: {approvals: [{name: A, team: t, users: [x]}]}}",
            "severities.P0.approvals[0]: names both team and users; keep only one of them",
        ),
        (
            "severities: {P0: {approvals: [{team: t}]}}",
            "severities.P0.approvals[0].name: is required",
        ),
        (
            "severities: {P0: {approvals: [{name: A, users: [x, X], count: 2}]}}",
            "severities.P0.approvals[0]: needs 2 approvals but users lists only "
            "1 distinct login(s)",
        ),
        ("tag: {format: 'release'}", 'tag.format: must contain {version} (got "release")'),
        ("a: [1\nb: 2\n", "invalid YAML at line 2, column 2: expected ',' or ']', but got ':'"),
        ("a: 1\na: 2\n", 'invalid YAML at line 2, column 1: the key "a" is given twice'),
        ("- P0\n- P1\n", "the file must be a mapping of keys"),
        ("just words", "the file must be a mapping of keys"),
        (
            "labels: {severities: {P9: urgent}}",
            "labels.severities.P9: there is no severity P9 under severities",
        ),
        (
            "severities: {P9: {hotfix_allowed: true}}",
            'severities.P9: has no label; add "P9: LABEL" under labels.severities',
        ),
        (
            "labels: {severities: {P1: hotfix}}",
            'labels: severity P1 uses the label "hotfix", which is already the hotfix label; '
            "each needs its own label",
        ),
        ("labels: {severities: {1: one}}", "labels.severities: the key 1 must be text"),
    ],
)
def test_problems_name_the_key_and_the_problem(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_every_problem_is_collected() -> None:
    found = problems("brnches: {}\nrelease: maybe\nseverities: {P0: {deadline: soon}}")
    assert len(found) == 3
    assert ConfigError(found).problems == found


def test_alias_bombs_are_refused() -> None:
    lines = ["a: &a [1,1,1,1,1,1,1,1,1,1]"]
    for name, previous in zip("bcd", "abc", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 10) + "]")
    assert problems("\n".join(lines)) == [
        "the file holds more than 10000 values once aliases expand"
    ]


def test_backreferences_are_refused_at_load() -> None:
    (problem,) = problems("branches: {hotfix_pattern: '^hotfix/(a)\\1$'}")
    assert problem.startswith("branches.hotfix_pattern: is not a pattern hotfix-bot can use")
    assert "backreferences and lookarounds are not supported" in problem


def test_pathological_pattern_is_accepted_and_matched_in_linear_time() -> None:
    # RE2 never backtracks, so this pattern is harmless; it must load and match promptly.
    from policies.pattern import full_match

    loaded = config("branches: {hotfix_pattern: '^(a+)+$'}")
    assert full_match(loaded.branches.hotfix_pattern, "a" * 40 + "!") is False
    assert full_match(loaded.branches.hotfix_pattern, "a" * 40) is True


def test_config_as_yaml_round_trips_the_effective_config() -> None:
    loaded = config("severities: {P0: {deadline: 90m, approvals: [{name: X, users: [a, b]}]}}")
    shown = config_as_yaml(loaded)
    assert "deadline: 90m" in shown
    assert "production: main" in shown
    assert load_config(shown, "other") == loaded


def test_approval_teams_lists_each_team_of_a_severity_once() -> None:
    defaults = config()
    assert defaults.severities["P0"].approval_teams() == ["engineering-leads", "on-call-managers"]
    assert defaults.severities["P1"].approval_teams() == ["engineering-leads", "product-managers"]
    assert defaults.severities["P2"].approval_teams() == []
    twice = config(
        "severities: {P1: {approvals: [{name: A, team: leads}, {name: B, team: leads}]}}"
    )
    assert twice.severities["P1"].approval_teams() == ["leads"]


def test_a_group_name_may_mean_other_people_in_another_severity() -> None:
    # Overriding P1's groups with `users:` keeps the default names, which P0 gives to teams.
    loaded = config(
        "severities: {P1: {approvals: [{name: Engineering Lead, users: [alice]}, "
        "{name: Product Manager, users: [bob]}]}}"
    )
    [p0_lead, _] = loaded.severities["P0"].approvals
    [p1_lead, _] = loaded.severities["P1"].approvals
    assert (p0_lead.name, p0_lead.team, p0_lead.users) == (
        "Engineering Lead",
        "engineering-leads",
        None,
    )
    assert (p1_lead.name, p1_lead.team, p1_lead.users) == ("Engineering Lead", None, ["alice"])
    assert loaded.severities["P1"].approval_teams() == []

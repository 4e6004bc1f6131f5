import re
import tracemalloc
from datetime import timedelta

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_factories import config

from policies.config import (
    ConfigError,
    HotfixConfig,
    OrgDefaults,
    config_as_yaml,
    load_config,
    unmatchable_prefix_advice,
)
from policies.notices import PLACEHOLDERS


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
    assert loaded.branches.release_prefix == "release/"
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
    assert loaded.version.allow_prerelease is False
    assert loaded.tag.format == "v{version}" and loaded.tag.message == "Hotfix: {title}"
    assert loaded.release is True and loaded.delete_branch is True
    assert (p0.verbal_approval, p1.verbal_approval, p2.verbal_approval) == (True, False, False)
    assert p0.break_glass is not None
    assert (p0.break_glass.teams, p0.break_glass.users) == (
        ["engineering-leads", "on-call-managers"],
        [],
    )
    assert (p1.break_glass, p2.break_glass) == (None, None)


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


def test_break_glass_merges_key_by_key_and_null_lets_nobody() -> None:
    p0 = config("severities: {P0: {break_glass: {users: [alice]}}}").severities["P0"]
    assert p0.break_glass is not None
    assert (p0.break_glass.teams, p0.break_glass.users) == (
        ["engineering-leads", "on-call-managers"],
        ["alice"],
    )
    assert config("severities: {P0: {break_glass: null}}").severities["P0"].break_glass is None
    p1 = config("severities: {P1: {break_glass: {teams: [sre]}, verbal_approval: true}}")
    assert p1.severities["P1"].break_glass is not None
    assert p1.severities["P1"].break_glass.teams == ["sre"]
    assert p1.severities["P1"].verbal_approval is True


def test_a_new_severity_takes_no_verbal_approval_and_no_break_glass() -> None:
    loaded = config("labels: {severities: {P3: low}}\nseverities: {P3: {hotfix_allowed: true}}")
    assert (loaded.severities["P3"].verbal_approval, loaded.severities["P3"].break_glass) == (
        False,
        None,
    )


def test_incident_reports_are_due_a_day_after_a_p0_two_after_a_p1_and_none_for_p2() -> None:
    defaults = config()
    p0, p1, p2 = (defaults.severities[name].incident_report for name in ("P0", "P1", "P2"))
    assert p0 is not None and p0.due.value == timedelta(hours=24)
    assert p1 is not None and str(p1.due) == "48h"
    assert p2 is None
    assert defaults.notify.chat is True
    assert [defaults.notices.template(name) for name in PLACEHOLDERS] == [None] * 4


def test_incident_report_null_opens_none_and_a_new_severity_has_none() -> None:
    loaded = config(
        "labels: {severities: {P3: low}}\n"
        "severities: {P0: {incident_report: null}, P2: {incident_report: {due: 3d}}, P3: {}}"
    )
    assert loaded.severities["P0"].incident_report is None
    p2 = loaded.severities["P2"].incident_report
    assert p2 is not None and str(p2.due) == "3d"
    assert loaded.severities["P3"].incident_report is None
    assert "    incident_report: null\n" in config_as_yaml(loaded)
    assert load_config(config_as_yaml(loaded), "other") == loaded


def test_a_template_may_use_its_own_placeholders_and_chat_can_be_turned_off() -> None:
    loaded = config(
        "notify: {chat: false}\n"
        "notices:\n  templates:\n"
        '    p0_alert: "{severity} #{number} by {author}: {title}, {started}, {deadline}"\n'
        '    resolution: "{tag} {timeline} {report} {report_due} {resolved_at}"\n'
        '    escalation: "{mentions}: {open_for} {deadline} {check} {unused"\n'
    )
    assert loaded.notify.chat is False
    escalation = loaded.notices.template("escalation")
    assert escalation == "{mentions}: {open_for} {deadline} {check} {unused"
    assert loaded.notices.template("rollback") is None


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
        (
            "workflow: trunk-based",
            "workflow: must be 'gitflow', 'github-flow' or 'trunk' (got \"trunk-based\")",
        ),
        ("release: maybe", 'release: must be true or false (got "maybe")'),
        ("version: {files: VERSION}", 'version.files: must be a list (got "VERSION")'),
        ("version: {bump: minor}", "version.bump: must be 'patch' (got \"minor\")"),
        (
            "version: {allow_prerelease: 'true'}",
            'version.allow_prerelease: must be true or false (got "true")',
        ),
        (
            "version: {allow_prerelease: 1}",
            "version.allow_prerelease: must be true or false (got 1)",
        ),
        (
            "version: {allow_prereleases: true}",
            'unknown key "allow_prereleases" in version (did you mean "allow_prerelease"?)',
        ),
        ("labels: {hotfix: ''}", 'labels.hotfix: must be a non-empty text (got "")'),
        (
            "branches: {release_prefix: ''}",
            'branches.release_prefix: must be a non-empty text (got "")',
        ),
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
            "severities: {P0: {incident_report: {due: 31d}}}",
            'severities.P0.incident_report.due: must be at most 30d (got "31d")',
        ),
        (
            "severities: {P0: {incident_report: {due: 1d, remind: 2d}}}",
            'unknown key "remind" in severities.P0.incident_report',
        ),
        ("notify: {chat: 1}", "notify.chat: must be true or false (got 1)"),
        (
            "notices: {templates: {resolutoin: x}}",
            'unknown key "resolutoin" in notices.templates (did you mean "resolution"?)',
        ),
        (
            "notices: {templates: {resolution: 'Fixed in {tag} by {commander}'}}",
            "notices.templates.resolution: unknown placeholder {commander} (the resolution "
            "template may use {repository}, {number}, {title}, {author}, {severity}, "
            "{resolved_at}, {resolution_time}, {timeline}, {tag}, {report}, {report_due})",
        ),
        (
            "notices: {templates: {escalation: ''}}",
            'notices.templates.escalation: must be a non-empty text (got "")',
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
        (
            "severities: {P0: {verbal_approval: yes please}}",
            'severities.P0.verbal_approval: must be true or false (got "yes please")',
        ),
        (
            "severities: {P0: {break_glass: {teams: [], users: []}}}",
            "severities.P0.break_glass: must name at least one team or user; "
            "break_glass: null lets nobody break the glass",
        ),
        (
            "severities: {P0: {break_glass: {team: [sre]}}}",
            'unknown key "team" in severities.P0.break_glass (did you mean "teams"?)',
        ),
        (
            "severities: {P1: {break_glass: [sre]}}",
            "severities.P1.break_glass: must be a mapping of keys (got a list)",
        ),
        (
            "severities: {P0: {break_glass: {users: alice}}}",
            'severities.P0.break_glass.users: must be a list (got "alice")',
        ),
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
            'severities.P9: has no label; add one under labels.severities, such as "P9: P9" '
            "for a label named P9",
        ),
        (
            "severities: {p0: {deadline: 1h}}",
            'severities.p0: has no label (did you mean "P0"?); add one under '
            'labels.severities, such as "p0: p0" for a label named p0',
        ),
        (
            "labels: {severities: {p1: sev1}}",
            'labels.severities.p1: there is no severity p1 under severities (did you mean "P1"?)',
        ),
        (
            "labels: {severities: {P1: hotfix}}",
            'labels: severity P1 uses the label "hotfix", which is already the hotfix label; '
            "each needs its own label",
        ),
        (
            "labels: {severities: {1: one}}",
            "labels.severities: the key 1 at line 1, column 23 must be text",
        ),
        ("true: x", "the top level: the key true at line 1, column 1 must be text"),
        ("~: x", "the top level: the key ~ at line 1, column 1 must be text"),
        (
            "severities:\n  2024-01-01: {}\n",
            "severities: the key 2024-01-01 at line 2, column 3 must be text",
        ),
        (
            "labels:\n  severities:\n    ? [a, b]\n    : x\n",
            "labels.severities: the key [a, b] at line 3, column 7 must be text",
        ),
        (
            "tag:\n  ? !!python/tuple [a]\n  : x\n",
            "tag: the key !!python/tuple [a] at line 2, column 5 must be text",
        ),
        (
            'tag:\n  format: !!binary "not base64!!"\n',
            'tag.format: cannot be represented as binary data (got "not base64!!")',
        ),
        (
            "tag:\n  format: !!python/object:os.system echo\n",
            "tag.format: the tag !!python/object:os.system is not supported",
        ),
        ("workflow: !foo bar", "workflow: the tag !foo is not supported"),
        ("tag: !!merge x", "tag: the tag !!merge is not supported"),
        ("tag: {format: !!str [a]}", "tag.format: cannot be represented as text (got a list)"),
        ("version: {files: !!set x}", 'version.files: cannot be represented as a set (got "x")'),
        ("tag: \x07", "invalid YAML at line 1, column 6: the character #x0007 is not allowed"),
        (
            "severities: {P0: {deadline: 31d}}",
            'severities.P0.deadline: must be at most 30d (got "31d")',
        ),
        (
            "severities: {P0: {deadline: 720h1s}}",
            'severities.P0.deadline: must be at most 30d (got "720h1s")',
        ),
        (
            "severities: {P0: {deadline: 1000000000d}}",
            'severities.P0.deadline: must be at most 30d (got "1000000000d")',
        ),
        (
            # Too many digits for Python to convert; the message quotes the start of it.
            f"severities: {{P0: {{deadline: {'9' * 5000}s}}}}",
            f'severities.P0.deadline: must be at most 30d (got "{"9" * 78}…)',
        ),
        (
            f"severities: {{P0: {{approvals: [{{name: A, team: t, count: {'9' * 5000}}}]}}}}",
            "severities.P0.approvals[0].count: cannot be represented as a whole number "
            f'(got "{"9" * 78}…)',
        ),
        ("release: 2024-13-45", 'release: cannot be represented as a date (got "2024-13-45")'),
        (
            "release: 2024-01-02 10:00:00 +99:00",
            'release: cannot be represented as a date (got "2024-01-02 10:00:00 +99:00")',
        ),
        ("release: !!bool maybe", 'release: cannot be represented as true or false (got "maybe")'),
        ("release: !!int ''", 'release: cannot be represented as a whole number (got "")'),
        (
            'tag: {message: "\\ud800"}',
            'tag.message: cannot be represented as text (got "\\ud800")',
        ),
        (
            "severities: {P0: {<<: 1}}",
            "severities.P0: << at line 1, column 19 merges only mappings: <<: *name or "
            "<<: [*a, *b]",
        ),
    ],
)
def test_problems_name_the_key_and_the_problem(text: str, expected: str) -> None:
    assert problems(text) == [expected]


@pytest.mark.parametrize(
    "written", ["deadline:   # to be decided", "deadline: ~", "deadline: null"]
)
def test_a_deadline_written_with_nothing_is_an_error_not_no_deadline(written: str) -> None:
    assert problems(f"severities:\n  P0:\n    {written}\n") == [
        "severities.P0.deadline: must be a duration such as 2h, 30m, 1d or 90s (got nothing)"
    ]


def test_a_severity_that_leaves_out_its_deadline_has_none_and_show_keeps_it_so() -> None:
    loaded = config("severities: {P2: {hotfix_allowed: true}}")
    assert loaded.severities["P2"].deadline is None
    assert "deadline" not in yaml.safe_load(config_as_yaml(loaded))["severities"]["P2"]
    assert load_config(config_as_yaml(loaded), "main") == loaded


PATH_FORM = (
    'a path from the repository\'s root has no "." part and no "/" at its start, at its end '
    "or twice in a row"
)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ("[./VERSION]", f'version.files[0]: write "VERSION": {PATH_FORM} (got "./VERSION")'),
        ("[/VERSION]", f'version.files[0]: write "VERSION": {PATH_FORM} (got "/VERSION")'),
        (
            "[VERSION, app//package.json]",
            f'version.files[1]: write "app/package.json": {PATH_FORM} (got "app//package.json")',
        ),
        (
            "[app/./VERSION]",
            f'version.files[0]: write "app/VERSION": {PATH_FORM} (got "app/./VERSION")',
        ),
        ("[app/]", f'version.files[0]: write "app": {PATH_FORM} (got "app/")'),
        ("['/']", f'version.files[0]: must name a file: {PATH_FORM} (got "/")'),
        (
            "[../VERSION]",
            'version.files[0]: must be a path inside the repository, without ".." '
            '(got "../VERSION")',
        ),
        (
            "[app/../VERSION]",
            'version.files[0]: must be a path inside the repository, without ".." '
            '(got "app/../VERSION")',
        ),
        (
            "[VERSION, package.json, VERSION]",
            'version.files: names "VERSION" more than once; name each file once',
        ),
    ],
)
def test_a_version_file_is_named_once_by_its_path_from_the_root(files: str, expected: str) -> None:
    assert problems(f"version: {{files: {files}}}") == [expected]


def test_version_files_as_git_names_them_are_accepted() -> None:
    files = config("version: {files: [VERSION, app/package.json, a..b/.VERSION]}").version.files
    assert files == ["VERSION", "app/package.json", "a..b/.VERSION"]


@pytest.mark.parametrize(("written", "quoted"), [("''", '""'), ("' '", '" "')])
def test_a_severity_without_a_name_is_refused_in_both_sections(written: str, quoted: str) -> None:
    assert problems(
        f"labels: {{severities: {{{written}: sevx}}}}\n"
        f"severities: {{{written}: {{hotfix_allowed: true, deadline: 1h}}}}\n"
    ) == [
        f"labels.severities: a severity needs a name, not an empty or blank one (got {quoted})",
        f"severities: a severity needs a name, not an empty or blank one (got {quoted})",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "branches:\n  production: 010\n",
            "branches.production: must be a non-empty text (got 010, which YAML reads as 8; "
            'quote it: "010")',
        ),
        (
            "branches:\n  development: 1.10\n",
            "branches.development: must be a non-empty text (got 1.10, which YAML reads as 1.1; "
            'quote it: "1.10")',
        ),
        (
            "labels:\n  severities: {P0: 2024-01-01}\n",
            "labels.severities.P0: must be a non-empty text (got 2024-01-01; "
            'quote it: "2024-01-01")',
        ),
        (
            "severities:\n  P0:\n    approvals: [{name: Lead, users: [off]}]\n",
            "severities.P0.approvals[0].users[0]: must be a non-empty text (got off, which YAML "
            'reads as false; quote it: "off")',
        ),
        (
            "severities:\n  P0:\n    deadline: 1:30\n",
            "severities.P0.deadline: must be a duration such as 2h, 30m, 1d or 90s "
            "(got 1:30, which YAML reads as 90)",
        ),
        ("release: 0x1\n", "release: must be true or false (got 0x1, which YAML reads as 1)"),
    ],
)
def test_a_value_yaml_converts_is_quoted_as_written(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_a_value_an_alias_brings_in_is_quoted_as_read() -> None:
    # The file wrote it at another key: only there is it quoted as written.
    assert problems("branches: {production: &v 010, development: *v}\n") == [
        "branches.production: must be a non-empty text (got 010, which YAML reads as 8; "
        'quote it: "010")',
        "branches.development: must be a non-empty text (got 8)",
    ]


def test_every_problem_is_collected() -> None:
    found = problems("brnches: {}\nrelease: maybe\nseverities: {P0: {deadline: soon}}")
    assert len(found) == 3
    assert ConfigError(found).problems == found


IN_THE_ORGANIZATION = "the slug of the team in the repository's organization"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "severities: {P1: {approvals: [{name: Maintainers, users: ['@alice']}]}}",
            'severities.P1.approvals[0].users[0]: write alice, without @ (got "@alice")',
        ),
        (
            "severities: {P1: {approvals: [{name: Maintainers, users: [bob, '@']}]}}",
            'severities.P1.approvals[0].users[1]: must be a login (got "@")',
        ),
        (
            "severities: {P1: {approvals: [{name: Maintainers, users: ['@acme/leads']}]}}",
            'severities.P1.approvals[0].users[0]: must be a login, not a team (got "@acme/leads")',
        ),
        (
            "severities: {P1: {approvals: [{name: Leads, team: '@acme/leads'}]}}",
            f"severities.P1.approvals[0].team: write leads: {IN_THE_ORGANIZATION}"
            ' (got "@acme/leads")',
        ),
        (
            "severities: {P1: {approvals: [{name: Leads, team: acme/leads}]}}",
            f"severities.P1.approvals[0].team: write leads: {IN_THE_ORGANIZATION}"
            ' (got "acme/leads")',
        ),
        (
            "severities: {P1: {approvals: [{name: Leads, team: '@leads'}]}}",
            f'severities.P1.approvals[0].team: write leads: {IN_THE_ORGANIZATION} (got "@leads")',
        ),
        (
            "severities: {P1: {approvals: [{name: Leads, team: '@Acme/Engineering Leads'}]}}",
            f"severities.P1.approvals[0].team: write engineering-leads: {IN_THE_ORGANIZATION} "
            '(got "@Acme/Engineering Leads")',
        ),
        (
            "severities: {P1: {approvals: [{name: Leads, team: '@acme/'}]}}",
            "severities.P1.approvals[0].team: must be the slug of a team in the repository's "
            'organization (got "@acme/")',
        ),
        (
            "severities: {P1: {approvals: [{name: Leads, team: Engineering Leads}]}}",
            'severities.P1.approvals[0].team: "Engineering Leads" looks like a team\'s name; '
            "its slug is lowercase, like engineering-leads",
        ),
        (
            "severities: {P1: {approvals: [{name: Leads, team: on call}]}}",
            'severities.P1.approvals[0].team: "on call" looks like a team\'s name; its slug is '
            "lowercase, like on-call",
        ),
        (
            "rollback: {approvals: [{name: Leads, team: '@acme/leads'}]}",
            f'rollback.approvals[0].team: write leads: {IN_THE_ORGANIZATION} (got "@acme/leads")',
        ),
        (
            "severities: {P0: {break_glass: {teams: [sre, '@acme/dba']}}}",
            f"severities.P0.break_glass.teams[1]: write dba: {IN_THE_ORGANIZATION}"
            ' (got "@acme/dba")',
        ),
        (
            "severities: {P0: {break_glass: {users: ['@bob']}}}",
            'severities.P0.break_glass.users[0]: write bob, without @ (got "@bob")',
        ),
    ],
)
def test_a_team_or_login_written_otherwise_says_what_to_write(text: str, expected: str) -> None:
    assert problems(text) == [expected]


NOT_A_LOGIN = (
    "must be a GitHub login: letters, digits and single hyphens, at most 39 characters, "
    "not beginning or ending with a hyphen"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "severities: {P1: {approvals: [{name: Owner, users: [alice, 'bob smith']}]}}",
            f'severities.P1.approvals[0].users[1]: {NOT_A_LOGIN} (got "bob smith")',
        ),
        (
            "severities: {P0: {break_glass: {users: ['x!']}}}",
            f'severities.P0.break_glass.users[0]: {NOT_A_LOGIN} (got "x!")',
        ),
        (
            "rollback: {approvals: [{name: R, users: [-bob]}]}",
            f'rollback.approvals[0].users[0]: {NOT_A_LOGIN} (got "-bob")',
        ),
        (
            "severities: {P1: {approvals: [{name: Owner, users: [bob--smith]}]}}",
            f'severities.P1.approvals[0].users[0]: {NOT_A_LOGIN} (got "bob--smith")',
        ),
        (
            f"severities: {{P1: {{approvals: [{{name: Owner, users: [{'a' * 40}]}}]}}}}",
            f'severities.P1.approvals[0].users[0]: {NOT_A_LOGIN} (got "{"a" * 40}")',
        ),
        (
            f"severities: {{P0: {{escalation: [{{after: 1h, notify: ['@{'a-' * 20}a']}}]}}}}",
            "severities.P0.escalation[0].notify[0]: must be @login, @org/team-slug, approvers "
            f'or author (got "@{"a-" * 20}a")',
        ),
        (
            "severities: {P0: {break_glass: {users: ['renovate[bot]']}}}",
            "severities.P0.break_glass.users[0]: a GitHub App's comments are not commands, so "
            'it cannot break the glass (got "renovate[bot]")',
        ),
    ],
)
def test_a_login_github_cannot_have_is_named(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_a_github_app_may_fill_an_approval_group_as_its_reviews_name_it() -> None:
    text = (
        "severities:\n  P1:\n    approvals:\n      - name: Bots\n"
        f"        users: ['dependabot[bot]', {'a' * 39}]\n"
    )
    [group] = config(text).severities["P1"].approvals
    assert group.users == ["dependabot[bot]", "a" * 39]


def test_team_slugs_and_logins_as_github_writes_them_are_accepted() -> None:
    loaded = config(
        "severities:\n"
        "  P0:\n"
        "    approvals:\n"
        "      - {name: A, team: sre_team-2}\n"
        "      - {name: B, users: [octo-cat, Dev, a1]}\n"
        "    break_glass: {teams: [engineering-leads, '42', SRE], users: [Octo-Cat]}\n"
    )

    p0 = loaded.severities["P0"]
    assert [(group.team, group.users) for group in p0.approvals] == [
        ("sre_team-2", None),
        (None, ["octo-cat", "Dev", "a1"]),
    ]
    assert p0.break_glass is not None
    assert (p0.break_glass.teams, p0.break_glass.users) == (
        ["engineering-leads", "42", "SRE"],
        ["Octo-Cat"],
    )


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (
            '"v {version}"',
            'tag.format: would make tags such as "v 1.2.4", but '
            'a tag name cannot contain a space (got "v {version}")',
        ),
        (
            '"v~{version}"',
            'tag.format: would make tags such as "v~1.2.4", but '
            'a tag name cannot contain "~" (got "v~{version}")',
        ),
        (
            '"v^{version}"',
            'tag.format: would make tags such as "v^1.2.4", but '
            'a tag name cannot contain "^" (got "v^{version}")',
        ),
        (
            '"v:{version}"',
            'tag.format: would make tags such as "v:1.2.4", but '
            'a tag name cannot contain ":" (got "v:{version}")',
        ),
        (
            '"v?{version}"',
            'tag.format: would make tags such as "v?1.2.4", but '
            'a tag name cannot contain "?" (got "v?{version}")',
        ),
        (
            '"v*{version}"',
            'tag.format: would make tags such as "v*1.2.4", but '
            'a tag name cannot contain "*" (got "v*{version}")',
        ),
        (
            '"v[{version}]"',
            'tag.format: would make tags such as "v[1.2.4]", but '
            'a tag name cannot contain "[" (got "v[{version}]")',
        ),
        (
            '"v\\\\{version}"',
            'tag.format: would make tags such as "v\\\\1.2.4", but '
            'a tag name cannot contain a backslash (got "v\\\\{version}")',
        ),
        (
            '"v\\t{version}"',
            'tag.format: would make tags such as "v\\t1.2.4", but '
            'a tag name cannot contain the control character "\\t" (got "v\\t{version}")',
        ),
        (
            '"v\\u007f{version}"',
            'tag.format: would make tags such as "v\\u007f1.2.4", but '
            'a tag name cannot contain the control character "\\u007f" (got "v\\u007f{version}")',
        ),
        (
            '"release..{version}"',
            'tag.format: would make tags such as "release..1.2.4", but '
            'a tag name cannot contain ".." (got "release..{version}")',
        ),
        (
            '"v@{{version}}"',
            'tag.format: would make tags such as "v@{1.2.4}", but '
            'a tag name cannot contain "@{" (got "v@{{version}}")',
        ),
        (
            '"release//{version}"',
            'tag.format: would make tags such as "release//1.2.4", but '
            'a tag name cannot contain "//" (got "release//{version}")',
        ),
        (
            '"-{version}"',
            'tag.format: would make tags such as "-1.2.4", but '
            'a tag name cannot begin with "-" (got "-{version}")',
        ),
        (
            '"/v{version}"',
            'tag.format: would make tags such as "/v1.2.4", but '
            'a tag name cannot begin with "/" (got "/v{version}")',
        ),
        (
            '"v{version}/"',
            'tag.format: would make tags such as "v1.2.4/", but '
            'a tag name cannot end with "/" (got "v{version}/")',
        ),
        (
            '"v{version}."',
            'tag.format: would make tags such as "v1.2.4.", but '
            'a tag name cannot end with "." (got "v{version}.")',
        ),
        (
            '"v{version}.lock"',
            'tag.format: would make tags such as "v1.2.4.lock", but '
            'a tag name cannot have a part between slashes that ends with ".lock"'
            ' (got "v{version}.lock")',
        ),
        (
            '"v{version}.lock/x"',
            'tag.format: would make tags such as "v1.2.4.lock/x", but '
            'a tag name cannot have a part between slashes that ends with ".lock"'
            ' (got "v{version}.lock/x")',
        ),
        (
            '".v{version}"',
            'tag.format: would make tags such as ".v1.2.4", but '
            'a tag name cannot have a part between slashes that begins with "."'
            ' (got ".v{version}")',
        ),
        (
            '"release/.{version}"',
            'tag.format: would make tags such as "release/.1.2.4", but '
            'a tag name cannot have a part between slashes that begins with "."'
            ' (got "release/.{version}")',
        ),
    ],
)
def test_a_tag_format_git_refuses_names_the_rule(written: str, expected: str) -> None:
    assert problems(f"tag: {{format: {written}}}") == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "branches: {production: refs/heads/main}",
            'branches.production: write "main": a branch\'s name, without "refs/heads/" '
            '(got "refs/heads/main")',
        ),
        (
            "branches: {development: refs/tags/develop}",
            'branches.development: must be a branch\'s name, without "refs/heads/" '
            '(got "refs/tags/develop")',
        ),
        (
            "branches: {production: 'main '}",
            'branches.production: a branch name cannot contain a space (got "main ")',
        ),
        (
            "branches: {development: dev elop}",
            'branches.development: a branch name cannot contain a space (got "dev elop")',
        ),
        (
            "branches: {production: main.lock}",
            "branches.production: a branch name cannot have a part between slashes that ends "
            'with ".lock" (got "main.lock")',
        ),
        (
            "branches: {development: -develop}",
            'branches.development: a branch name cannot begin with "-" (got "-develop")',
        ),
        (
            "branches: {hotfix_prefix: 'hot fix/'}",
            "branches.hotfix_prefix: no branch begins with it, as a branch name cannot contain "
            'a space (got "hot fix/")',
        ),
        (
            "branches: {release_prefix: /release/}",
            "branches.release_prefix: no branch begins with it, as a branch name cannot begin "
            'with "/" (got "/release/")',
        ),
        (
            "branches: {hotfix_prefix: refs/heads/hotfix/}",
            'branches.hotfix_prefix: write "hotfix/": a branch\'s name, without "refs/heads/" '
            '(got "refs/heads/hotfix/")',
        ),
        (
            "tag: {format: 'refs/tags/v{version}'}",
            'tag.format: write "v{version}": a tag\'s name, without "refs/tags/" '
            '(got "refs/tags/v{version}")',
        ),
    ],
)
def test_a_branch_or_tag_name_git_refuses_or_written_as_a_ref_is_named(
    text: str, expected: str
) -> None:
    assert problems(text) == [expected]


def test_branch_names_and_prefixes_git_accepts_are_taken_as_written() -> None:
    branches = config(
        "branches: {production: release/2024.x, development: dev@team, "
        "hotfix_prefix: fix., release_prefix: rel-}"
    ).branches
    assert (branches.production, branches.development) == ("release/2024.x", "dev@team")
    assert (branches.hotfix_prefix, branches.release_prefix) == ("fix.", "rel-")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'tag: {message: "Hotfix {titel}"}',
            "tag.message: unknown placeholder {titel} (the tag message may use {title}, {version})",
        ),
        (
            'tag: {message: "{version}: {title} by {author} ({number})"}',
            "tag.message: unknown placeholders {author}, {number} (the tag message may use "
            "{title}, {version})",
        ),
        (
            'tag: {format: "{version}-{titel}"}',
            "tag.format: unknown placeholder {titel} (the tag format may use {version})",
        ),
    ],
)
def test_a_tag_placeholder_that_does_not_exist_is_named(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_tag_formats_git_accepts_and_known_placeholders_load() -> None:
    for tag_format in ("{version}", "release/{version}", "v{version}+hotfix", "hotfix@{version}"):
        assert config(f'tag: {{format: "{tag_format}"}}').tag.format == tag_format
    message = "Hotfix {version}: {title} ({0} and {x y} are no placeholders)"
    assert config(f'tag: {{message: "{message}"}}').tag.message == message


def test_alias_bombs_are_refused() -> None:
    lines = ["a: &a [1,1,1,1,1,1,1,1,1,1]"]
    for name, previous in zip("bcd", "abc", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 10) + "]")
    assert problems("\n".join(lines)) == [
        "the file holds more than 10000 values once aliases expand"
    ]


def test_merge_bombs_are_refused() -> None:
    # Each mapping merges the previous one ten times: 2 * 10 ** 9 entries for P9.
    labels = ", ".join(f"P{level}: P{level}" for level in range(10))
    lines = [f"labels: {{severities: {{{labels}}}}}", "severities:"]
    lines.append("  P0: &s0 {deadline: 1h, hotfix_allowed: true}")
    for level in range(1, 10):
        merged = ", ".join([f"*s{level - 1}"] * 10)
        lines.append(f"  P{level}: &s{level} {{<<: [{merged}]}}")
    assert problems("\n".join(lines)) == [
        "the file holds more than 10000 values once aliases expand"
    ]


def test_many_merges_of_a_large_mapping_are_refused_before_they_are_made() -> None:
    keys = ", ".join(f"k{number}: 1" for number in range(2000))
    text = f"severities:\n  P0: &big {{{keys}}}\n" + "".join(
        f"  S{number}: {{<<: *big}}\n" for number in range(6000)
    )
    tracemalloc.start()
    try:
        found = problems(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert found == ["the file holds more than 10000 values once aliases expand"]
    # 12 million merged entries would take gigabytes
    assert peak < 100 * 1024 * 1024


def test_aliases_of_a_long_text_are_refused() -> None:
    # Each alias is one shared string to the loader, but a copy in `config show`.
    long_name = "x" * 100_000
    files = ", ".join(["*name"] * 11)
    text = f"tag: {{message: &name {long_name}}}\nversion: {{files: [{files}]}}\n"
    assert problems(text) == [
        "the file holds more than 1,000,000 characters of text once aliases expand"
    ]


def lists_under_approvals(levels: int) -> str:
    """A file whose `severities.P0.approvals` holds lists in lists, `levels` levels in all
    (the file's own mapping, severities and P0 are the first three)."""
    lists = levels - 3
    return "severities: {P0: {approvals: " + "[" * lists + "]" * lists + "}}"


def test_50_levels_are_read_and_51_are_refused() -> None:
    assert problems(lists_under_approvals(50)) == [
        "severities.P0.approvals[0]: must be a mapping of keys (got a list)"
    ]
    assert problems(lists_under_approvals(51)) == [
        "severities.P0.approvals" + "[0]" * 47 + ": is nested more than 50 levels deep"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: " + "[" * 900 + "]" * 900, "a" + "[0]" * 49 + ": is nested more than 50 levels deep"),
        (
            "a: " + "{b: " * 900 + "1" + "}" * 900,
            "a" + ".b" * 49 + ": is nested more than 50 levels deep",
        ),
        (
            # 40 levels under `a`, used 11 levels deep under `b`
            "a: &deep " + "[" * 40 + "]" * 40 + "\nb: " + "[" * 11 + "*deep" + "]" * 11,
            "b" + "[0]" * 11 + ": is nested more than 50 levels deep",
        ),
        ("a: &loop [1, *loop]", "a[1]: the alias *loop is inside the value it names"),
        ("a: &loop {<<: *loop}", "a.<<: the alias *loop is inside the value it names"),
    ],
    ids=["900-lists", "900-mappings", "through-an-alias", "alias-loop", "merge-loop"],
)
def test_nesting_deeper_than_50_levels_is_refused_naming_the_key(text: str, expected: str) -> None:
    assert problems(text) == [expected]


MERGED = """\
labels: {severities: {P0: P0, P1: P1, P2: P2, P3: sev3, P4: sev4, P5: sev5}}
severities:
  P3: &fast {hotfix_allowed: true, deadline: 1h}
  P4: &guarded
    deadline: 8h
    approvals: [{name: Lead, users: [alice]}]
  P5: {<<: [*fast, *guarded], approvals: [{name: Boss, users: [bob]}]}
"""


def test_merge_keys_add_entries_the_mapping_does_not_write() -> None:
    loaded = config(MERGED + "  P2: {<<: *fast, deadline: 30m}\n")
    p2 = loaded.severities["P2"]
    assert (p2.hotfix_allowed, str(p2.deadline)) == (True, "30m")


def test_of_several_merged_mappings_the_earlier_wins() -> None:
    p5 = config(MERGED).severities["P5"]
    # hotfix_allowed and deadline from *fast (over *guarded's 8h); approvals as written
    assert (p5.hotfix_allowed, str(p5.deadline)) == (True, "1h")
    assert [(group.name, group.users) for group in p5.approvals] == [("Boss", ["bob"])]


def test_a_key_written_twice_beside_a_merge_is_still_refused() -> None:
    assert problems(MERGED + "  P2: {<<: *fast, deadline: 1h, deadline: 2h}\n") == [
        'invalid YAML at line 8, column 33: the key "deadline" is given twice'
    ]


# Keys and scalars the fuzzing below combines: the config's own keys, so that it reaches
# validation, keys that are no text, and every kind of scalar PyYAML converts, well-formed or
# not, and tags it does not.
FUZZ_KEYS = [
    *("workflow", "branches", "production", "labels", "hotfix", "severities", "P0", "P9"),
    *("hotfix_allowed", "deadline", "approvals", "name", "team", "users", "count", "version"),
    *("files", "bump", "tag", "format", "message", "release", "delete_branch", "<<", "? [k]"),
    *("true", "~", "1", ".nan", "2024-01-01", "? {k: 1}", "!!binary aGVsbG8=", "!foo k"),
    *("!!python/tuple [k]", "!!str k", "'1'", "!!merge k"),
]
FUZZ_SCALARS = [
    *("gitflow", "hotfix/", "true", "no", "~", "1", "-1", "0x1F", "0b", "0o7", "1:30", "1_0"),
    *("9" * 5000, "1e400", "1.0e400", ".inf", "-.nan", "2h", "30d", "31d", "1000000000d"),
    *("0h", "2001-12-14", "2001-13-45", "2001-12-14t21:59:43.10-05:00", "!!binary aGVsbG8="),
    *("2001-12-14 21:59:43 +99:00", "!!binary '***'", "!!python/object:os.system x"),
    *("!!python/name:os.system ''", "!!int abc", "!!int ''", "!!float x", "!!bool maybe"),
    *("!!timestamp soon", "!!str 1", "!!null ''", "!!set {a}", "!!omap [a: 1]", "!!seq x"),
    *("!!map x", "!local x", "=", '"\\ud800"', "'{version}'", "x" * 300),
    *('!!binary "not base64!!"', "!!python/tuple [a]", "!foo bar", "!!merge x", "!!str [a]"),
    *("!!str {a: 1}", "!!set x", "!!omap {a: 1}", "!!pairs x", "!!int [1]", "!!null [x]"),
]


@st.composite
def yaml_documents(draw: st.DrawFn) -> str:
    """Flow-style YAML: nested lists and mappings, anchors, aliases and merge keys."""
    anchors: list[str] = []

    def value(depth: int) -> str:
        kind = draw(st.sampled_from(["scalar", "list", "mapping"] if depth < 6 else ["scalar"]))
        if kind == "scalar":
            if bool(anchors) and draw(st.booleans()):
                return "*" + draw(st.sampled_from(anchors))
            return draw(st.sampled_from(FUZZ_SCALARS))
        if kind == "list":
            body = "[" + ", ".join(value(depth + 1) for _ in range(draw(st.integers(0, 3)))) + "]"
        else:
            keys = draw(st.lists(st.sampled_from(FUZZ_KEYS), max_size=3, unique=True))
            body = "{" + ", ".join(f"{key}: {value(depth + 1)}" for key in keys) + "}"
        if draw(st.booleans()):
            anchors.append(f"a{len(anchors)}")
            body = f"&{anchors[-1]} {body}"
        wrapping = draw(st.sampled_from([0, 0, 0, 0, 0, 1, 30, 60]))
        return "[" * wrapping + body + "]" * wrapping

    keys = draw(st.lists(st.sampled_from(FUZZ_KEYS), max_size=4, unique=True))
    return "\n".join(f"{key}: {value(1)}" for key in keys)


YAML_TOKENS = [
    *("[", "]", "{", "}", ", ", ": ", "- ", "\n", "  ", "? ", "&a ", "*a", "<<: ", "#", "'"),
    *('"', "|", ">", "%", "@", "`", "~", "=", "x", "P0", "deadline: ", "severities: ", ":"),
    *("!!int ", "!!float ", "!!bool ", "!!timestamp ", "!!binary ", "!!str ", "!!set "),
    *("!!python/object:os.system ", "9" * 5000, "1e400", "2001-13-45", "\\ud800", "0b", "0x"),
    *("!foo ", "!!merge ", "!!python/tuple ", "!!omap ", "true: ", "~: ", "2024-01-01: ", "1: "),
]
yaml_text = st.lists(st.sampled_from(YAML_TOKENS), max_size=40).map("".join)
structures = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.binary(max_size=8)
    | st.dates()
    | st.datetimes(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FUZZ_KEYS) | st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


# What PyYAML, pydantic or Python say where a problem does not name its key.
NAMING_NO_KEY: tuple[str, ...] = (
    "Keys should be strings",
    "could not determine a constructor",
    "unhashable",
)
NAMING_NO_KEY += ("tag:yaml.org,2002:", "datetime.", "while constructing", "<unicode string>")


def assert_loads_or_names_problems(text: str) -> None:
    try:
        loaded = load_config(text, "main")
    except ConfigError as error:
        assert error.problems
        for problem in error.problems:
            problem.encode("utf-8")  # printable, in the check run and in a terminal
            assert "\n" not in problem
            assert not any(words in problem for words in NAMING_NO_KEY), problem
            if problem.startswith("invalid YAML"):
                assert re.match(r"invalid YAML at line \d+, column \d+: ", problem), problem
    else:
        assert isinstance(loaded, HotfixConfig)


FUZZ = settings(max_examples=300, deadline=None, database=None)


@FUZZ
@given(yaml_documents())
def test_any_yaml_document_loads_or_is_a_config_error(text: str) -> None:
    assert_loads_or_names_problems(text)


@FUZZ
@given(yaml_text | st.text(max_size=80))
def test_any_text_loads_or_is_a_config_error(text: str) -> None:
    assert_loads_or_names_problems(text)


@settings(FUZZ, suppress_health_check=[HealthCheck.too_slow])
@given(structures, st.integers(0, 60) | st.just(3000))
def test_any_structure_loads_or_is_a_config_error(data: object, levels: int) -> None:
    flow = yaml.safe_dump(data, default_flow_style=True, width=10**9).removesuffix("...\n")
    # A bracket a line: on one long line PyYAML's scanner takes quadratic time to look for keys
    nested = "[\n" * levels + flow.strip() + "\n]" * levels
    assert_loads_or_names_problems(nested)
    assert_loads_or_names_problems(f"severities: {{P0: {nested}}}")


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


def test_config_as_yaml_shows_a_break_glass_turned_off() -> None:
    loaded = config("severities: {P0: {break_glass: null}}")
    shown = config_as_yaml(loaded)
    assert "    break_glass: null\n" in shown
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


ORG_FILE = "acme/.github:.github/hotfix.yml"
ORG = OrgDefaults(
    ORG_FILE,
    """\
workflow: github-flow
labels:
  severities: {P0: P0, P1: P1, P2: P2, P3: sev3}
severities:
  P1:
    deadline: 4h
    approvals:
      - {name: Release Manager, users: [rm]}
  P3: {hotfix_allowed: true}
""",
)


def test_a_file_is_laid_over_the_organizations_as_over_the_defaults() -> None:
    loaded = load_config(
        "severities:\n"
        "  P1:\n    approvals:\n      - {name: Lead, team: leads}\n"
        "  P3: {deadline: 1h}\n",
        "main",
        ORG,
    )

    assert loaded.workflow == "github-flow"  # the organization's: the file leaves it out
    p1, p3 = loaded.severities["P1"], loaded.severities["P3"]
    assert str(p1.deadline) == "4h"  # mappings merge key by key...
    assert [(group.name, group.team) for group in p1.approvals] == [("Lead", "leads")]  # lists go
    assert (p3.hotfix_allowed, str(p3.deadline)) == (True, "1h")
    assert loaded.labels.severities == {"P0": "P0", "P1": "P1", "P2": "P2", "P3": "sev3"}
    assert loaded.severities["P0"] == config().severities["P0"]
    assert load_config(None, "main", ORG).severities["P1"].approvals[0].users == ["rm"]


def test_a_problem_is_reported_against_the_file_that_has_it() -> None:
    unusable_org = OrgDefaults(ORG_FILE, "release: maybe\n")
    with pytest.raises(ConfigError) as in_org:
        load_config("release: false\n", "main", unusable_org)
    with pytest.raises(ConfigError) as in_repository:
        load_config("release: maybe\n", "main", ORG)

    assert (in_org.value.file, in_org.value.problems) == (
        ORG_FILE,
        ['release: must be true or false (got "maybe")'],
    )
    assert (in_repository.value.file, in_repository.value.problems) == (
        None,
        ['release: must be true or false (got "maybe")'],
    )


def test_trunk_based_the_production_branch_is_the_default_branch_unless_named() -> None:
    assert load_config("workflow: trunk\n", "trunk").branches.production == "trunk"
    named = load_config("workflow: trunk\nbranches: {production: stable}\n", "main")
    assert (named.workflow, named.branches.production) == ("trunk", "stable")


@pytest.mark.parametrize(
    ("prefix", "pattern"),
    [
        ("fix/", "^fix/[a-z]+$"),
        ("fix/", "^FIX/[a-z]+$"),  # the prefix is compared in any case
        ("Ops/", "ops/[0-9]+"),  # a full match is anchored without `^`
        ("hotfix/", "^hot[a-z]+$"),  # spells out less than the prefix
        ("hotfix", "^hotfix/?[a-z]+$"),  # the `/` is optional
        ("fix/", "^hot/x|fix/y"),  # either alternative may begin the name
        ("fix/", "^(?i)HOT/x"),  # flags: unsure, taken as it is
        ("fix/", r"^\Qhot\E"),
        ("fix/", "^[a-z]+/x$"),
        ("fix/", "fi[a-z]"),  # unsure past `[`
        ("fix-", r"^fix\-[a-z]+$"),
    ],
)
def test_a_pattern_that_may_match_a_name_with_the_prefix_gets_no_advice(
    prefix: str, pattern: str
) -> None:
    text = yaml.safe_dump({"branches": {"hotfix_prefix": prefix, "hotfix_pattern": pattern}})
    assert unmatchable_prefix_advice(load_config(text, "main")) is None


@pytest.mark.parametrize(
    ("prefix", "pattern"),
    [
        ("fix/", "^hotfix/[a-z0-9]+(-[a-z0-9]+)*$"),
        ("fix/", "^fixes/[a-z]+$"),
        ("fix/", r"^fax\/x?"),
        ("hotfix/", "^hotfix-[a-z0-9]+$"),
    ],
)
def test_a_pattern_no_name_with_the_prefix_can_match_is_valid_with_advice(
    prefix: str, pattern: str
) -> None:
    text = yaml.safe_dump({"branches": {"hotfix_prefix": prefix, "hotfix_pattern": pattern}})
    loaded = load_config(text, "main")
    assert loaded.branches.hotfix_pattern == pattern
    assert unmatchable_prefix_advice(loaded) == (
        f"No branch starting with `{prefix}` can match `{pattern}`: set "
        "`branches.hotfix_pattern` in .github/hotfix.yml on main to one that can, such as "
        f"`^{prefix}[a-z0-9]+(-[a-z0-9]+)*$`"
    )


def test_the_default_patterns_are_as_written_whatever_the_prefix() -> None:
    org = OrgDefaults("acme/.github:.github/hotfix.yml", 'branches: {hotfix_prefix: "ops."}')
    for loaded in (
        load_config('branches: {hotfix_prefix: "fix/"}', "main"),
        load_config(None, "main", org),
    ):
        assert (loaded.branches.hotfix_pattern, loaded.rollback.pattern) == (
            "^hotfix/[a-z0-9]+(-[a-z0-9]+)*$",
            "^revert-[0-9]+-hotfix/",
        )
    assert unmatchable_prefix_advice(load_config(None, "stable", org)) == (
        "No branch starting with `ops.` can match `^hotfix/[a-z0-9]+(-[a-z0-9]+)*$`: set "
        "`branches.hotfix_pattern` in .github/hotfix.yml on stable to one that can, such as "
        "`^ops\\.[a-z0-9]+(-[a-z0-9]+)*$`"
    )

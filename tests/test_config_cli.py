"""`hotfix-bot config validate|show`: offline, the check run's model and messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.cli import main
from policies.config import ConfigError, load_config

INVALID = """\
workflow: trunk-based
branches:
  prodution: release
severities:
  P0:
    approvals:
      - {name: Engineering Lead}
"""


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".github" / "hotfix.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_validate_reads_the_default_path_and_says_ok(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(tmp_path, "workflow: github-flow\nrelease: false\n")

    assert main(["config", "validate"]) == 0

    assert capsys.readouterr().out == (
        "OK: .github/hotfix.yml is valid "
        "(workflow github-flow, production branch main, hotfix severities P0, P1)\n"
    )


def test_validate_accepts_a_trunk_whose_production_branch_is_not_the_default_branch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(tmp_path, "workflow: trunk\nbranches: {production: stable}\n")

    assert main(["config", "validate"]) == 0

    assert capsys.readouterr().out == (
        "OK: .github/hotfix.yml is valid "
        "(workflow trunk, production branch stable, hotfix severities P0, P1)\n"
    )


def test_validate_prints_every_problem_with_the_check_runs_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, INVALID)
    with pytest.raises(ConfigError) as check_run:
        load_config(INVALID, "main")

    assert main(["config", "validate", str(path)]) == 1

    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"{path}: {problem}" for problem in check_run.value.problems]
    assert len(printed) == 3
    assert f'{path}: unknown key "prodution" in branches (did you mean "production"?)' in printed


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "severities:\n  P0:\n    approvals: " + "[" * 900 + "]" * 900 + "\n",
            "severities.P0.approvals" + "[0]" * 47 + ": is nested more than 50 levels deep",
        ),
        (
            "severities:\n  P0:\n    deadline: 1000000000d\n",
            'severities.P0.deadline: must be at most 30d (got "1000000000d")',
        ),
    ],
    ids=["900-levels", "1000000000d"],
)
def test_validate_names_the_key_of_a_value_nested_too_deep_or_too_long(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, problem: str
) -> None:
    path = write_config(tmp_path, text)

    assert main(["config", "validate", str(path)]) == 1

    assert capsys.readouterr().out == f"{path}: {problem}\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            'tag:\n  format: !!binary "not base64!!"\n',
            'tag.format: cannot be represented as binary data (got "not base64!!")',
        ),
        ("tag:\n  format: !foo bar\n", "tag.format: the tag !foo is not supported"),
        (
            "labels:\n  severities:\n    ? [a, b]\n    : x\n",
            "labels.severities: the key [a, b] at line 3, column 7 must be text",
        ),
        ("true: x\n", "the top level: the key true at line 1, column 1 must be text"),
    ],
    ids=["binary", "unknown-tag", "list-key", "true-key"],
)
def test_validate_names_the_key_of_a_tag_or_a_key_that_is_not_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, problem: str
) -> None:
    path = write_config(tmp_path, text)

    assert main(["config", "validate", str(path)]) == 1

    assert capsys.readouterr().out == f"{path}: {problem}\n"


def test_validate_reads_merge_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_config(
        tmp_path,
        "labels:\n  severities: {P3: sev3, P4: sev4}\n"
        "severities:\n"
        "  P3: &urgent {hotfix_allowed: true, deadline: 1h}\n"
        "  P4: {<<: *urgent, deadline: 4h}\n",
    )

    assert main(["config", "validate"]) == 0

    assert capsys.readouterr().out == (
        "OK: .github/hotfix.yml is valid "
        "(workflow gitflow, production branch main, hotfix severities P0, P1, P3, P4)\n"
    )


def test_validate_names_an_escalation_step_that_cannot_be_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(
        tmp_path, "severities:\n  P1:\n    escalation:\n      - {after: 45d, notify: [oncall]}\n"
    )

    assert main(["config", "validate", str(path)]) == 1

    assert capsys.readouterr().out.splitlines() == [
        f'{path}: severities.P1.escalation[0].after: must be at most 30d (got "45d")',
        f"{path}: severities.P1.escalation[0].notify[0]: must be @login, @org/team-slug, "
        'approvers or author (got "oncall")',
    ]


def test_validate_names_an_unknown_placeholder_and_a_report_that_cannot_be_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(
        tmp_path,
        "severities:\n  P1:\n    incident_report: {due: 60d}\n"
        "notify: {chat: sometimes}\n"
        'notices:\n  templates:\n    p0_alert: "{title} broke prod, {pager} is paged"\n',
    )

    assert main(["config", "validate", str(path)]) == 1

    assert capsys.readouterr().out.splitlines() == [
        f'{path}: severities.P1.incident_report.due: must be at most 30d (got "60d")',
        f'{path}: notify.chat: must be true or false (got "sometimes")',
        f"{path}: notices.templates.p0_alert: unknown placeholder {{pager}} (the p0_alert "
        "template may use {repository}, {number}, {title}, {author}, {severity}, {started}, "
        "{commander}, {deadline}, {reminders})",
    ]


def test_validate_names_a_team_login_or_tag_that_would_never_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(
        tmp_path,
        "severities:\n"
        "  P1:\n"
        "    approvals:\n"
        "      - {name: Leads, team: '@acme/leads'}\n"
        "      - {name: Managers, team: Product Managers}\n"
        "      - {name: Maintainers, users: ['@alice']}\n"
        "tag:\n"
        '  format: "v {version}"\n'
        '  message: "Hotfix {titel}"\n',
    )

    assert main(["config", "validate", str(path)]) == 1

    assert capsys.readouterr().out.splitlines() == [
        f"{path}: severities.P1.approvals[0].team: write leads: the slug of the team in the "
        'repository\'s organization (got "@acme/leads")',
        f'{path}: severities.P1.approvals[1].team: "Product Managers" looks like a team\'s name; '
        "its slug is lowercase, like product-managers",
        f'{path}: severities.P1.approvals[2].users[0]: write alice, without @ (got "@alice")',
        f'{path}: tag.format: would make tags such as "v 1.2.4", but a tag name cannot contain '
        'a space (got "v {version}")',
        f"{path}: tag.message: unknown placeholder {{titel}} (the tag message may use {{title}}, "
        "{version})",
    ]


# A comment-heavy file: valid YAML, yet more than the check run reads.
RUNBOOK = "release: true\n" + "# a long comment line of the team's runbook notes\n" * 6000


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            RUNBOOK.encode(),
            "the file is 300,014 bytes, more than the 256 KiB hotfix-bot reads",
        ),
        (
            "release: true\n# caf\xe9\n".encode("latin-1"),
            "the file is not UTF-8 text (byte 20, on line 2, cannot be read): save it as UTF-8",
        ),
    ],
    ids=["over-256-KiB", "latin-1"],
)
@pytest.mark.parametrize("org_file", [False, True], ids=["own", "org"])
def test_validate_refuses_a_file_the_check_run_would_not_read_in_its_words(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    problem: str,
    org_file: bool,
) -> None:
    path = tmp_path / ("org-hotfix.yml" if org_file else "hotfix.yml")
    path.write_bytes(content)
    arguments = ["--org-file", str(path), str(tmp_path / "none.yml")] if org_file else [str(path)]

    assert main(["config", "validate", *arguments]) == 1
    assert capsys.readouterr().out == f"{path}: {problem}\n"


def test_validate_needs_no_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("APP_ID", "not-a-number")
    (tmp_path / ".env").write_text("DATABASE_URL=postgres://nope\n")
    write_config(tmp_path, "{}\n")

    assert main(["config", "validate"]) == 0
    assert capsys.readouterr().out.startswith("OK: ")


def test_validate_reports_a_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "validate", "nowhere.yml"]) == 2
    assert "nowhere.yml does not exist" in capsys.readouterr().err


def test_show_prints_the_effective_config_with_defaults_filled_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(
        tmp_path,
        "branches: {development: dev}\nseverities: {P2: {hotfix_allowed: true}}\n"
        "version: {allow_prerelease: true}\n",
    )

    assert main(["config", "show", "--default-branch", "trunk"]) == 0

    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["branches"]["production"] == "trunk"
    assert shown["branches"]["development"] == "dev"
    assert shown["branches"]["hotfix_prefix"] == "hotfix/"
    assert shown["severities"]["P2"] == {
        "hotfix_allowed": True,
        "approvals": [],
        "verbal_approval": False,
        "break_glass": None,
        "request_reviews": True,
        "escalation": [],
        "incident_report": None,
    }
    assert shown["severities"]["P0"]["deadline"] == "2h"
    assert shown["severities"]["P0"]["incident_report"] == {"due": "24h"}
    assert shown["severities"]["P1"]["incident_report"] == {"due": "48h"}
    assert shown["notify"] == {"chat": True}
    assert shown["notices"] == {"templates": {}}
    assert shown["version"] == {"files": [], "bump": "patch", "allow_prerelease": True}
    assert shown["severities"]["P0"]["verbal_approval"] is True
    assert shown["severities"]["P0"]["break_glass"] == {
        "teams": ["engineering-leads", "on-call-managers"],
        "users": [],
    }
    assert shown["severities"]["P0"]["request_reviews"] is True
    assert shown["severities"]["P0"]["escalation"] == [
        {"after": "15m", "notify": ["approvers"]},
        {"after": "4h", "notify": ["approvers", "author"]},
    ]
    assert load_config(yaml.safe_dump(shown), "other") == load_config(
        "branches: {development: dev, production: trunk}\n"
        "severities: {P2: {hotfix_allowed: true}}\nversion: {allow_prerelease: true}\n",
        "other",
    )


def test_show_without_a_file_prints_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "show"]) == 0

    printed = capsys.readouterr()
    assert yaml.safe_load(printed.out)["workflow"] == "gitflow"
    assert yaml.safe_load(printed.out)["version"]["allow_prerelease"] is False
    assert "does not exist; these are the defaults" in printed.err


def test_show_refuses_an_invalid_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_config(tmp_path, "release: maybe\n")

    assert main(["config", "show"]) == 1
    assert capsys.readouterr().out == (
        '.github/hotfix.yml: release: must be true or false (got "maybe")\n'
    )


ORG_DEFAULTS = """\
workflow: trunk
severities:
  P1:
    deadline: 4h
    approvals:
      - {name: Release Manager, users: [rm]}
"""


def test_an_organization_file_is_the_base_the_file_is_laid_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    org = tmp_path / "org-hotfix.yml"
    org.write_text(ORG_DEFAULTS)
    write_config(tmp_path, "severities:\n  P1:\n    deadline: 8h\n")

    assert main(["config", "validate", "--org-file", str(org)]) == 0
    assert capsys.readouterr().out == (
        f"OK: {org}, then .github/hotfix.yml are valid "
        "(workflow trunk, production branch main, hotfix severities P0, P1)\n"
    )

    assert main(["config", "show", "--org-file", str(org)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"# Config: {org}, then .github/hotfix.yml\n")
    shown = yaml.safe_load(printed)
    assert shown["workflow"] == "trunk"
    assert shown["severities"]["P1"] == {
        "hotfix_allowed": True,
        "deadline": "8h",
        "approvals": [{"name": "Release Manager", "count": 1, "users": ["rm"]}],
        "request_reviews": True,
        "escalation": [
            {"after": "30m", "notify": ["approvers"]},
            {"after": "2h", "notify": ["approvers", "author"]},
        ],
        "verbal_approval": False,
        "break_glass": None,
        "incident_report": {"due": "48h"},
    }


def test_show_says_which_files_it_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    org = tmp_path / "org-hotfix.yml"
    org.write_text(ORG_DEFAULTS)

    assert main(["config", "show"]) == 0
    assert capsys.readouterr().out.startswith("# Config: the defaults\n")

    assert main(["config", "show", "--org-file", str(org)]) == 0
    printed = capsys.readouterr()
    assert printed.out.startswith(f"# Config: {org}\nworkflow: trunk\n")
    assert printed.err == (
        "hotfix-bot: .github/hotfix.yml does not exist; "
        "these are the organization's file over the defaults\n"
    )

    write_config(tmp_path, "release: false\n")
    assert main(["config", "show"]) == 0
    assert capsys.readouterr().out.startswith("# Config: .github/hotfix.yml\n")


def test_validate_checks_an_organization_file_alone_when_the_repository_has_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    org = tmp_path / "org-hotfix.yml"
    org.write_text(ORG_DEFAULTS)

    assert main(["config", "validate", "--org-file", str(org)]) == 0

    printed = capsys.readouterr()
    assert printed.out == (
        f"OK: {org} is valid (workflow trunk, production branch main, hotfix severities P0, P1)\n"
    )
    assert printed.err == (
        "hotfix-bot: .github/hotfix.yml does not exist; a repository without it gets "
        "the organization's file over the defaults\n"
    )


def test_validate_names_the_file_each_problem_is_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    org = tmp_path / "org-hotfix.yml"
    org.write_text("branchs: {}\n")
    path = write_config(tmp_path, "release: maybe\n")

    assert main(["config", "validate", "--org-file", str(org)]) == 1
    assert capsys.readouterr().out == (
        f'{org}: unknown key "branchs" at top level (did you mean "branches"?)\n'
    )

    org.write_text(ORG_DEFAULTS)
    assert main(["config", "validate", "--org-file", str(org), str(path)]) == 1
    assert capsys.readouterr().out == f'{path}: release: must be true or false (got "maybe")\n'

    assert main(["config", "validate", "--org-file", str(tmp_path / "nowhere.yml")]) == 2
    assert capsys.readouterr().err == (
        f"hotfix-bot: cannot read {tmp_path / 'nowhere.yml'}: No such file or directory\n"
    )

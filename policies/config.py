"""The repository configuration `.github/hotfix.yml` (docs/BEHAVIOUR.md, "Repository
configuration").

Loading merges the file onto the defaults (maps key by key, lists replaced whole) and
then validates the result, so every problem is reported against the key the admin wrote.
"""

import difflib
import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import UnionType
from typing import Annotated, Any, Literal, Self, Union, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails
from yaml.constructor import ConstructorError

from policies.files import UnreadableText
from policies.notices import PLACEHOLDERS, unknown_placeholders
from policies.pattern import PatternError, check_pattern, leading_literal
from policies.refs import ref_name_problem
from policies.tags import FORMAT_PLACEHOLDERS, MESSAGE_PLACEHOLDERS, fill_format

CONFIG_PATH = ".github/hotfix.yml"

# The defaults as docs/ADMIN.md's reference lists them; `branches.production` is filled in at
# load time with the repository's default branch.
_DEFAULTS_YAML = """
workflow: gitflow
branches:
  development: develop
  hotfix_prefix: "hotfix/"
  hotfix_pattern: '^hotfix/[a-z0-9]+(-[a-z0-9]+)*$'
  release_prefix: "release/"
labels:
  hotfix: hotfix
  severities: {P0: P0, P1: P1, P2: P2}
severities:
  P0:
    hotfix_allowed: true
    deadline: 2h
    approvals:
      - {name: Engineering Lead, team: engineering-leads, count: 1}
      - {name: On-call Manager, team: on-call-managers, count: 1}
    verbal_approval: true
    break_glass: {teams: [engineering-leads, on-call-managers]}
    request_reviews: true
    escalation:
      - {after: 15m, notify: [approvers]}
      - {after: 4h, notify: [approvers, author]}
    incident_report: {due: 24h}
  P1:
    hotfix_allowed: true
    deadline: 24h
    approvals:
      - {name: Engineering Lead, team: engineering-leads, count: 1}
      - {name: Product Manager, team: product-managers, count: 1}
    verbal_approval: false
    break_glass: null
    request_reviews: true
    escalation:
      - {after: 30m, notify: [approvers]}
      - {after: 2h, notify: [approvers, author]}
    incident_report: {due: 48h}
  P2:
    hotfix_allowed: false
    verbal_approval: false
    break_glass: null
    incident_report: null
version:
  files: []
  bump: patch
  allow_prerelease: false
tag:
  format: "v{version}"
  message: "Hotfix: {title}"
release: true
delete_branch: true
rollback:
  pattern: '^revert-[0-9]+-hotfix/'
  label: rollback
notify:
  chat: true
notices:
  templates: {}
"""

# Aliases (`*name`) and merge keys (`<<: *name`) can make a short file expand enormously;
# refuse before validating.
_MAX_VALUES = 10_000
_MAX_TEXT_CHARACTERS = 1_000_000
_TOO_MANY_VALUES = f"the file holds more than {_MAX_VALUES} values once aliases expand"
# The YAML composer recurses once per level; this keeps it far from Python's recursion limit.
_MAX_DEPTH = 50
# A value quoted in a message is cut to this: an alias can repeat a long value in every one.
_MAX_SHOWN_CHARACTERS = 80

# A duration: whole numbers with units, largest first, each unit once (`1h30m`).
_DURATION = re.compile(r"(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?")
_DURATION_ANY_ORDER = re.compile(r"(?:[0-9]+[dhms])+")
_UNIT_SECONDS = (86_400, 3_600, 60, 1)
# A duration as people write it in words or by halves (`2 hours`, `90 min`, `1h30`, `1.5h`):
# amounts, each with a unit word, but for a last amount after a unit, in the next unit down.
_WORDED_AMOUNT = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)\s*(?:,|and)?", re.IGNORECASE)
_UNIT_WORDS = {
    **dict.fromkeys(("d", "day", "days"), 86_400),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3_600),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
}
LONGEST_DURATION = timedelta(days=30)
# A GitHub login: letters, digits and single hyphens, neither first nor last, at most
# `_LONGEST_LOGIN` characters. A GitHub App reviews as its slug with `_APP_SUFFIX` after it.
_LOGIN = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9])*")
_LONGEST_LOGIN = 39
_APP_SUFFIX = "[bot]"
# A mention in a notify list: `@login`, `@org/team-slug`, or one of MENTION_WORDS.
_TEAM_IN_MENTION = re.compile(r"[A-Za-z0-9_-]+")
MENTION_WORDS = ("approvers", "author")
# The version a tag format is tried with. Every version is digits, letters, ".", "-" and "+",
# begins with a digit and ends with neither "." nor "/": a tag name git refuses with this one
# it refuses with any.
_EXAMPLE_VERSION = "1.2.4"


class ConfigError(Exception):
    """`.github/hotfix.yml` cannot be used; `problems` lists every reason found. `file` names
    the organization's file when the problems are in it, None for the repository's own."""

    def __init__(self, problems: list[str], file: str | None = None) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
        self.file = file

    def file_named(self, branch: str) -> str:
        """The file with the problems as a message names it (Markdown): the organization's by
        its repository, the repository's own by the `branch` it was read from."""
        return f"`{CONFIG_PATH}` on `{branch}`" if self.file is None else f"`{self.file}`"


@dataclass(frozen=True)
class OrgDefaults:
    """The organization's `.github/hotfix.yml`: the base its repositories' own files are laid
    over (docs/BEHAVIOUR.md, "Organization defaults")."""

    file: str  # how messages name it: acme/.github:.github/hotfix.yml
    text: str | UnreadableText


@dataclass(frozen=True)
class Duration:
    """A duration such as `2h`, keeping the text the admin wrote for display."""

    text: str
    value: timedelta

    def __str__(self) -> str:
        return self.text


def _at(mark: yaml.Mark) -> str:
    return f"at line {mark.line + 1}, column {mark.column + 1}"


def _cut(text: str) -> str:
    """`text`, cut to `_MAX_SHOWN_CHARACTERS`."""
    if len(text) > _MAX_SHOWN_CHARACTERS:
        return text[: _MAX_SHOWN_CHARACTERS - 1] + "…"
    return text


def _describe(value: object) -> str:
    """How a YAML value reads in an error message, cut to `_MAX_SHOWN_CHARACTERS`."""
    if isinstance(value, str):
        text = json.dumps(value)
    elif value is None:
        text = "nothing"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, Mapping):
        text = "a mapping"
    elif isinstance(value, list):
        text = "a list"
    else:
        text = str(value)
    return _cut(text)


def _duration_amount(digits: str) -> int:
    # Python refuses to convert a number of thousands of digits. An amount of 8 significant
    # digits is longer than `LONGEST_DURATION` (2,592,000 s) in any unit, so no more are read.
    return int(digits.lstrip("0")[:8] or "0")


def _parse_duration(value: object) -> Duration:
    """A positive duration of at most 30 days (docs/ADMIN.md, 'Durations')."""
    if isinstance(value, Duration):
        return value
    text = value.strip() if isinstance(value, str) else ""
    amounts = _DURATION.fullmatch(text)
    if amounts is None or not text:
        if _DURATION_ANY_ORDER.fullmatch(text):
            raise ValueError(
                "must give its units largest first, each once, as in 1h30m "
                f"(got {_describe(value)})"
            )
        meant = _duration_meant(text)
        write = f"; write {meant}" if meant else ""
        raise ValueError(
            f"must be a duration such as 2h, 30m, 1d or 90s (got {_describe(value)}{write})"
        )
    seconds = sum(
        _duration_amount(amount) * unit
        for amount, unit in zip(amounts.groups(), _UNIT_SECONDS, strict=True)
        if amount
    )
    if seconds == 0:
        raise ValueError(f"must be longer than zero (got {_describe(value)})")
    if seconds > LONGEST_DURATION.total_seconds():
        raise ValueError(f"must be at most {LONGEST_DURATION.days}d (got {_describe(value)})")
    return Duration(text=text, value=timedelta(seconds=seconds))


def _duration_meant(text: str) -> str | None:
    """The duration `text` means, written as a duration, when it is one in other words."""
    amounts = list(_WORDED_AMOUNT.finditer(text))
    if not amounts or "".join(amount[0] for amount in amounts) != text:
        return None
    if any(len(amount[1]) > 12 for amount in amounts):
        return None  # longer than the longest duration in any unit (and than a float holds)
    units: list[int] = []
    for amount in amounts:
        word = amount[2].lower()
        if word:
            unit = _UNIT_WORDS.get(word)
        elif units and amount is amounts[-1] and units[-1] in _UNIT_SECONDS[:-1]:
            unit = _UNIT_SECONDS[_UNIT_SECONDS.index(units[-1]) + 1]
        else:
            unit = None
        if unit is None or (units and unit >= units[-1]):
            return None  # not a unit, or not largest first
        units.append(unit)
    if any("." in amount[1] for amount in amounts):
        total = round(sum(float(a[1]) * unit for a, unit in zip(amounts, units, strict=True)))
        parts = []
        for unit, letter in zip(_UNIT_SECONDS, "dhms", strict=True):
            if total >= unit:
                parts.append(f"{total // unit}{letter}")
                total %= unit
        meant = "".join(parts)
    else:
        letters = dict(zip(_UNIT_SECONDS, "dhms", strict=True))
        meant = "".join(f"{a[1]}{letters[unit]}" for a, unit in zip(amounts, units, strict=True))
    try:
        _parse_duration(meant)
    except ValueError:
        return None  # zero, or longer than the longest
    return meant


def _is_login(text: str) -> bool:
    return len(text) <= _LONGEST_LOGIN and _LOGIN.fullmatch(text) is not None


def _mention(value: object) -> object:
    if isinstance(value, str):
        login, slash, team = value.removeprefix("@").partition("/")
        if value in MENTION_WORDS or (
            value.startswith("@")
            and _is_login(login)
            and (not slash or _TEAM_IN_MENTION.fullmatch(team))
        ):
            return value
    raise ValueError(
        f"must be @login, @org/team-slug, approvers or author (got {_describe(value)})"
    )


def _login(login: str) -> str:
    if "/" in login:
        raise ValueError(f"must be a login, not a team (got {_describe(login)})")
    if login.startswith("@"):
        # GitHub's logins have no @: "@alice" is compared with reviewers and never matches.
        fix = f"write {login[1:]}, without @" if login[1:].strip() else "must be a login"
        raise ValueError(f"{fix} (got {_describe(login)})")
    if not _is_login(login.removesuffix(_APP_SUFFIX)):
        raise ValueError(
            f"must be a GitHub login: letters, digits and single hyphens, at most "
            f"{_LONGEST_LOGIN} characters, not beginning or ending with a hyphen "
            f"(got {_describe(login)})"
        )
    return login


def _person(login: str) -> str:
    """A login that can comment a command: GitHub Apps' comments are not commands."""
    if login.endswith(_APP_SUFFIX):
        raise ValueError(
            f"a GitHub App's comments are not commands, so it cannot break the glass "
            f"(got {_describe(login)})"
        )
    return login


def _team_slug(team: str) -> str:
    """A team of the repository's organization, named by its slug. GitHub makes the slug from
    the team's name: lowercase, special characters replaced, spaces as "-" ("Engineering
    Leads" is engineering-leads). Only what no slug holds (@, /, spaces) is refused."""
    name = team.rsplit("/", 1)[-1].lstrip("@")
    slug = "-".join(name.lower().split())
    if name != team:  # @acme/leads, acme/leads, @leads
        if not slug:
            raise ValueError(
                "must be the slug of a team in the repository's organization "
                f"(got {_describe(team)})"
            )
        raise ValueError(
            f"write {slug}: the slug of the team in the repository's organization "
            f"(got {_describe(team)})"
        )
    # Only a space tells a name from a slug for certain; the case is left for GitHub to judge.
    if any(character.isspace() for character in team):
        raise ValueError(
            f"{_describe(team)} looks like a team's name; its slug is lowercase, like {slug}"
        )
    return team


def _repository_path(path: str) -> str:
    """A file's path from the repository's root as git's trees name it (`app/package.json`):
    the app looks it up part by part, and shows it in the check run as written."""
    parts = path.split("/")
    if ".." in parts:
        raise ValueError(
            f'must be a path inside the repository, without ".." (got {_describe(path)})'
        )
    as_git_names_it = "/".join(part for part in parts if part not in ("", "."))
    if as_git_names_it != path:
        fix = f"write {_describe(as_git_names_it)}" if as_git_names_it else "must name a file"
        raise ValueError(
            f'{fix}: a path from the repository\'s root has no "." part and no "/" at its start, '
            f"at its end or twice in a row (got {_describe(path)})"
        )
    return path


def _whole_number_at_least_one(value: object) -> object:
    # bool is an int in Python, but `count: true` is a mistake in YAML.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"must be a whole number of at least 1 (got {_describe(value)})")
    return value


def _non_empty_text(value: object) -> object:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be a non-empty text (got {_describe(value)})")
    return value


NonEmptyText = Annotated[str, BeforeValidator(_non_empty_text)]
PositiveDuration = Annotated[
    Duration, BeforeValidator(_parse_duration), PlainSerializer(lambda duration: duration.text)
]
Mention = Annotated[str, BeforeValidator(_mention)]
Login = Annotated[NonEmptyText, AfterValidator(_login)]
PersonLogin = Annotated[Login, AfterValidator(_person)]
TeamSlug = Annotated[NonEmptyText, AfterValidator(_team_slug)]
RepositoryPath = Annotated[NonEmptyText, AfterValidator(_repository_path)]


class _Section(BaseModel):
    # strict: YAML types are taken as written, so `count: "2"` is an error, not 2.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _unprefixed(name: str, kind: str) -> str:
    """`name`, or an error when it is written as a ref (`refs/heads/main`): GitHub names a
    pull request's branches, and the app its tags, without `refs/heads/` or `refs/tags/`."""
    if name.startswith("refs/"):
        prefix = f"refs/{'heads' if kind == 'branch' else 'tags'}/"
        name_in_it = name.removeprefix(prefix)
        fix = f"write {_describe(name_in_it)}: " if name_in_it not in ("", name) else "must be "
        raise ValueError(f'{fix}a {kind}\'s name, without "{prefix}" (got {_describe(name)})')
    return name


def _branch_name(branch: str) -> str:
    """A name git accepts for a branch: no other can be the production or development one."""
    problem = ref_name_problem(_unprefixed(branch, "branch"))
    if problem is not None:
        raise ValueError(f"a branch name {problem} (got {_describe(branch)})")
    return branch


def _branch_prefix(prefix: str) -> str:
    """The start of names git accepts for a branch: the check is of a name that only adds a
    letter, which git refuses exactly when it refuses every name beginning with `prefix`."""
    problem = ref_name_problem(_unprefixed(prefix, "branch") + "x")
    if problem is not None:
        raise ValueError(
            f"no branch begins with it, as a branch name {problem} (got {_describe(prefix)})"
        )
    return prefix


class BranchesConfig(_Section):
    production: Annotated[NonEmptyText, AfterValidator(_branch_name)]
    development: Annotated[NonEmptyText, AfterValidator(_branch_name)]
    hotfix_prefix: Annotated[NonEmptyText, AfterValidator(_branch_prefix)]
    hotfix_pattern: NonEmptyText
    # A branch starting with this is a release branch; the back-merge prefers the latest one.
    release_prefix: Annotated[NonEmptyText, AfterValidator(_branch_prefix)]

    @field_validator("hotfix_pattern")
    @classmethod
    def _pattern_compiles(cls, pattern: str) -> str:
        return _usable_pattern(pattern)


def _usable_pattern(pattern: str) -> str:
    try:
        check_pattern(pattern)
    except PatternError as error:
        raise ValueError(str(error)) from None
    return pattern


def _check_severity_names(names: Iterable[str]) -> None:
    """An error when a severity has an empty or blank name: the check run, the notices and
    the timers name a severity by it."""
    for name in names:
        if not name.strip():
            raise ValueError(
                f"a severity needs a name, not an empty or blank one (got {_describe(name)})"
            )


class LabelsConfig(_Section):
    hotfix: NonEmptyText
    severities: dict[str, NonEmptyText]

    @field_validator("severities")
    @classmethod
    def _severities_have_names(cls, severities: dict[str, str]) -> dict[str, str]:
        _check_severity_names(severities)
        return severities

    @model_validator(mode="after")
    def _labels_are_distinct(self) -> Self:
        seen: dict[str, str] = {"hotfix label": self.hotfix}
        for severity, label in self.severities.items():
            for owner, other in seen.items():
                if label.casefold() == other.casefold():
                    raise ValueError(
                        f'severity {severity} uses the label "{label}", '
                        f"which is already the {owner}; each needs its own label"
                    )
            seen[f"label of severity {severity}"] = label
        return self


class ApprovalGroup(_Section):
    name: NonEmptyText
    count: Annotated[int, BeforeValidator(_whole_number_at_least_one)] = 1
    team: TeamSlug | None = None
    users: list[Login] | None = None

    @model_validator(mode="after")
    def _exactly_one_source(self) -> Self:
        if self.team is None and self.users is None:
            raise ValueError("must name who approves: team: SLUG or users: [login, ...]")
        if self.team is not None and self.users is not None:
            raise ValueError("names both team and users; keep only one of them")
        if self.users is not None:
            distinct = {login.casefold() for login in self.users}
            if len(distinct) < self.count:
                raise ValueError(
                    f"needs {self.count} approvals but users lists only "
                    f"{len(distinct)} distinct login(s)"
                )
        return self

    @property
    def source(self) -> str:
        """Who can fill the group, in words."""
        if self.team is not None:
            return f"team {self.team}"
        return "users " + ", ".join(self.users or [])


def _distinct_group_names(groups: list[ApprovalGroup]) -> list[ApprovalGroup]:
    names = [group.name for group in groups]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"approval group names must differ (repeated: {', '.join(repeated)})")
    return groups


class BreakGlassConfig(_Section):
    """Who may waive the hotfix-policy rules with `/hotfix break-glass`."""

    teams: list[TeamSlug] = []
    users: list[PersonLogin] = []

    @model_validator(mode="after")
    def _names_someone(self) -> Self:
        if not self.teams and not self.users:
            raise ValueError(
                "must name at least one team or user; break_glass: null lets nobody break the glass"
            )
        return self


class EscalationStep(_Section):
    """A reminder `after` the pull request opened, mentioning `notify` (docs/BEHAVIOUR.md,
    'The incident clock')."""

    after: PositiveDuration
    notify: list[Mention]

    @field_validator("notify")
    @classmethod
    def _someone_is_notified(cls, notify: list[str]) -> list[str]:
        if not notify:
            raise ValueError("must name whom to notify (@login, @org/team-slug, approvers, author)")
        return notify


class IncidentReportConfig(_Section):
    """The incident report issue opened after a hotfix of the severity merges
    (docs/BEHAVIOUR.md, 'The incident report')."""

    due: PositiveDuration  # after the merge; then one reminder if the issue is still open


class SeverityPolicy(_Section):
    # A severity added by a repository is not a hotfix severity unless it says so, and allows
    # no emergency approvals.
    hotfix_allowed: bool = False
    deadline: PositiveDuration | None = None
    approvals: list[ApprovalGroup] = []
    verbal_approval: bool = False
    break_glass: BreakGlassConfig | None = None
    request_reviews: bool = True
    escalation: list[EscalationStep] = []
    incident_report: IncidentReportConfig | None = None

    @field_validator("deadline", mode="before")
    @classmethod
    def _deadline_written_is_a_duration(cls, deadline: object) -> Duration:
        # Left out, a severity has none (P2's default); `deadline:` with nothing after it is
        # an unfinished line, not a way to drop the deadline the defaults give.
        return _parse_duration(deadline)

    @field_validator("escalation")
    @classmethod
    def _steps_come_at_different_times(cls, steps: list[EscalationStep]) -> list[EscalationStep]:
        # A step is kept apart from the others by its time (its timer's name says it).
        times = [step.after.value for step in steps]
        repeated = sorted({step.after.text for step in steps if times.count(step.after.value) > 1})
        if repeated:
            raise ValueError(
                f"two steps come after the same time ({', '.join(repeated)}); "
                "give each step its own time"
            )
        return steps

    @field_validator("approvals")
    @classmethod
    def _group_names_are_distinct(cls, groups: list[ApprovalGroup]) -> list[ApprovalGroup]:
        return _distinct_group_names(groups)

    def approval_teams(self) -> list[str]:
        """The slug of every team an approval group names, once each: the app looks these up."""
        return list(dict.fromkeys(group.team for group in self.approvals if group.team))


class VersionConfig(_Section):
    files: list[RepositoryPath]
    bump: Literal["patch"]
    # A hotfix may ship a pre-release of the next patch (1.2.4-rc.1), tagged as written.
    allow_prerelease: bool

    @field_validator("files")
    @classmethod
    def _each_file_once(cls, files: list[str]) -> list[str]:
        repeated = [path for path in dict.fromkeys(files) if files.count(path) > 1]
        if repeated:
            named = ", ".join(_describe(path) for path in repeated)
            raise ValueError(f"names {named} more than once; name each file once")
        return files


class TagConfig(_Section):
    format: NonEmptyText
    message: NonEmptyText

    @field_validator("format")
    @classmethod
    def _format_makes_valid_tag_names(cls, tag_format: str) -> str:
        if "{version}" not in tag_format:
            raise ValueError(f'must contain {{version}} (got "{tag_format}")')
        _only_known_placeholders(tag_format, FORMAT_PLACEHOLDERS, "tag format")
        example = fill_format(_unprefixed(tag_format, "tag"), _EXAMPLE_VERSION)
        problem = ref_name_problem(example)
        if problem is not None:
            raise ValueError(
                f"would make tags such as {_describe(example)}, but a tag name {problem} "
                f"(got {_describe(tag_format)})"
            )
        return tag_format

    @field_validator("message")
    @classmethod
    def _message_placeholders_are_known(cls, message: str) -> str:
        return _only_known_placeholders(message, MESSAGE_PLACEHOLDERS, "tag message")


def _only_known_placeholders(template: str, known: Sequence[str], user: str) -> str:
    """`template`, or an error naming its placeholders that are not among `known`, those
    `user` ("tag message", "p0_alert template") may use."""
    unknown = unknown_placeholders(template, known)
    if unknown:
        words = "placeholder" if len(unknown) == 1 else "placeholders"
        named = ", ".join(f"{{{placeholder}}}" for placeholder in unknown)
        known_words = ", ".join(f"{{{placeholder}}}" for placeholder in known)
        raise ValueError(f"unknown {words} {named} (the {user} may use {known_words})")
    return template


class RollbackConfig(_Section):
    """Rollback pull requests (docs/BEHAVIOUR.md, "Rollbacks")."""

    # Searched in the head branch, so `^` anchors it; the default is the branch GitHub's
    # Revert button makes for a hotfix branch.
    pattern: NonEmptyText
    label: NonEmptyText
    # None: one approval from anyone in an approval group of the rolled-back hotfix's severity.
    approvals: list[ApprovalGroup] | None = None

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, pattern: str) -> str:
        return _usable_pattern(pattern)

    @field_validator("approvals")
    @classmethod
    def _group_names_are_distinct(
        cls, groups: list[ApprovalGroup] | None
    ) -> list[ApprovalGroup] | None:
        return None if groups is None else _distinct_group_names(groups)


class NotifyConfig(_Section):
    # Notices go to NOTIFY_WEBHOOK_URL too, when the service has one.
    chat: bool


class TemplatesConfig(_Section):
    """Templates replacing the notices' built-in ones (policies/notices.py), by name."""

    p0_alert: NonEmptyText | None = None
    resolution: NonEmptyText | None = None
    escalation: NonEmptyText | None = None
    rollback: NonEmptyText | None = None

    @field_validator(*PLACEHOLDERS)
    @classmethod
    def _placeholders_are_known(cls, template: str | None, info: ValidationInfo) -> str | None:
        name = info.field_name
        assert name is not None  # a field validator's
        if template is None:
            return None
        return _only_known_placeholders(template, PLACEHOLDERS[name], f"{name} template")


class NoticesConfig(_Section):
    templates: TemplatesConfig

    def template(self, name: str) -> str | None:
        """The repository's template `name` (a key of `notices.PLACEHOLDERS`); None: the
        built-in one."""
        template: str | None = getattr(self.templates, name)
        return template


class HotfixConfig(_Section):
    workflow: Literal["gitflow", "github-flow", "trunk"]
    branches: BranchesConfig
    labels: LabelsConfig
    severities: dict[str, SeverityPolicy]
    version: VersionConfig
    tag: TagConfig
    release: bool
    delete_branch: bool
    rollback: RollbackConfig
    notify: NotifyConfig
    notices: NoticesConfig

    @field_validator("severities")
    @classmethod
    def _severities_have_names(
        cls, severities: dict[str, SeverityPolicy]
    ) -> dict[str, SeverityPolicy]:
        _check_severity_names(severities)
        return severities


def _consistency_problems(config: HotfixConfig) -> list[str]:
    """Problems that span sections, found once each section is valid on its own."""
    return [
        f"labels.severities.{name}: there is no severity {name} under severities"
        + _same_but_for_case(name, config.severities)
        for name in config.labels.severities
        if name not in config.severities
    ] + [
        f"severities.{name}: has no label{_same_but_for_case(name, config.labels.severities)}; "
        f'add one under labels.severities, such as "{name}: {name}" for a label named {name}'
        for name in config.severities
        if name not in config.labels.severities
    ]


def _same_but_for_case(name: str, names: Iterable[str]) -> str:
    """A hint naming the one of `names` that `name` differs from only in case (`p0` for
    `P0`): a severity written so is a new one, which no label or rule refers to."""
    same = [other for other in names if other != name and other.casefold() == name.casefold()]
    return f' (did you mean "{same[0]}"?)' if same else ""


def unmatchable_prefix_advice(config: HotfixConfig) -> str | None:
    """What to set when the hotfix pattern, where it spells out how names begin, cannot match
    a name that begins with the hotfix prefix (compared in any case, as a hotfix's branch is):
    every hotfix branch would fail `branch-name`. None when some such name may match. Advice,
    not a config error: the file is valid, and the patterns are the defaults as written."""
    pattern, prefix = config.branches.hotfix_pattern, config.branches.hotfix_prefix
    begins = leading_literal(pattern).casefold()
    if begins.startswith(prefix.casefold()) or prefix.casefold().startswith(begins):
        return None
    return (
        f"No branch starting with `{prefix}` can match `{pattern}`: set "
        f"`branches.hotfix_pattern` in {CONFIG_PATH} on {config.branches.production} to one "
        f"that can, such as `^{re.escape(prefix)}[a-z0-9]+(-[a-z0-9]+)*$`"
    )


# Sections where null is a value, not an empty section: `break_glass: null` lets nobody,
# `incident_report: null` opens no report.
_NULL_IS_A_VALUE = frozenset({"break_glass", "incident_report"})


def _rollback_label_problems(config: HotfixConfig) -> list[str]:
    """The rollback label would make hotfixes rollbacks, or the other way round, if another
    label were the same."""
    rollback_label = config.rollback.label
    taken = {"labels.hotfix": config.labels.hotfix} | {
        f"labels.severities.{name}": label for name, label in config.labels.severities.items()
    }
    return [
        f'rollback.label: "{rollback_label}" is already {key}; a rollback needs its own label'
        for key, label in taken.items()
        if label.casefold() == rollback_label.casefold()
    ]


def _deep_merge(defaults: object, given: object) -> object:
    """`given` over `defaults`: mappings merge key by key, anything else replaces."""
    if isinstance(defaults, dict) and given is None:
        return defaults  # an empty section (`branches:` with nothing under it)
    if isinstance(defaults, dict) and isinstance(given, dict):
        merged = dict(defaults)
        for key, value in given.items():
            if key in defaults and not (value is None and key in _NULL_IS_A_VALUE):
                merged[key] = _deep_merge(defaults[key], value)
            else:
                merged[key] = value
        return merged
    return given


_YAML_TAG = "tag:yaml.org,2002:"
_MERGE_TAG = f"{_YAML_TAG}merge"
_STR_TAG = f"{_YAML_TAG}str"
_NULL_TAG = f"{_YAML_TAG}null"
# What a value of these tags was to become, for the message when it cannot.
_KINDS = {
    _NULL_TAG: "nothing",
    f"{_YAML_TAG}bool": "true or false",
    f"{_YAML_TAG}int": "a whole number",
    f"{_YAML_TAG}float": "a number",
    f"{_YAML_TAG}timestamp": "a date",
    f"{_YAML_TAG}binary": "binary data",
    _STR_TAG: "text",
    f"{_YAML_TAG}seq": "a list",
    f"{_YAML_TAG}map": "a mapping",
    f"{_YAML_TAG}set": "a set",
    f"{_YAML_TAG}omap": "an ordered mapping",
    f"{_YAML_TAG}pairs": "a list of pairs",
}


def _tag_as_written(tag: str) -> str:
    """`!!binary` for YAML's own tags, as a file writes them; others as they are."""
    return "!!" + tag.removeprefix(_YAML_TAG) if tag.startswith(_YAML_TAG) else tag


def _node_described(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return _describe(node.value)


class _Refused(Exception):
    """The loader refuses the file; `problem` says why, naming the key."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML with YAML 1.1 merge keys that refuses, naming the key: a key given twice,
    nesting deeper than `_MAX_DEPTH` levels, and a value Python cannot represent."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._path: list[str | int | None] = []  # of the nodes being composed; None: a key
        self._locations: dict[yaml.Node, tuple[str | int | None, ...]] = {}
        self._heights: dict[yaml.Node, int] = {}  # levels of collections, 0 for a scalar
        self._merged_entries = 0
        # By key path, each plain scalar YAML reads as other than text (010, 1:30, yes), and
        # each `{placeholder}` it reads as a mapping, as written: a message quotes that, not
        # the number, boolean or mapping it became.
        self.written: dict[tuple[str | int, ...], str] = {}

    def _where(self, path: Iterable[str | int | None]) -> str:
        return _key_path(tuple(part for part in path if part is not None)) or "the top level"

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        # `index` is the position in a sequence, the key node in a mapping, None for a key.
        if isinstance(index, yaml.ScalarNode):
            self._path.append(index.value)
        else:
            self._path.append(index if isinstance(index, int) else None)
        enclosing = len(self._path) - 1
        anchor = self.peek_event().anchor  # type: ignore[no-untyped-call]
        is_alias = self.check_event(yaml.AliasEvent)
        opens_level = self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent)
        if opens_level and enclosing >= _MAX_DEPTH:
            raise self._too_deep()
        node = super().compose_node(parent, index)  # type: ignore[arg-type]
        assert node is not None  # a node follows: the parser checked the stream
        if is_alias:
            # What an alias brings in counts where it is used; so does a merged mapping,
            # which also bounds how deep merging recurses.
            height = self._heights.get(node)
            if height is None:  # still being composed: the alias is inside its own value
                where = self._where(self._path)
                raise _Refused(f"{where}: the alias *{anchor} is inside the value it names")
            if enclosing + height > _MAX_DEPTH:
                raise self._too_deep()
        else:
            self._heights[node] = self._height(node)
            self._locations[node] = tuple(self._path)
            key_path = tuple(part for part in self._path if part is not None)
            if self._read_as_other_than_text(node):
                self.written[key_path] = node.value
            elif self._placeholder_read_as_a_mapping(node):
                self.written[key_path] = self._as_written(node)
        self._path.pop()
        return node

    def _read_as_other_than_text(self, node: yaml.Node) -> bool:
        """Whether `node` is a plain scalar that YAML's own rules, not a tag, made a number,
        a boolean or a date: quoted, it would be the text written."""
        return (
            isinstance(node, yaml.ScalarNode)
            and node.style is None
            and node.tag not in (_STR_TAG, _NULL_TAG)
            and node.tag == self.resolve(yaml.ScalarNode, node.value, (True, False))  # type: ignore[no-untyped-call]
        )

    @staticmethod
    def _placeholder_read_as_a_mapping(node: yaml.Node) -> bool:
        """Whether `node` is `{version}` unquoted: YAML's mapping of `version` to nothing,
        where a placeholder was meant."""
        return (
            isinstance(node, yaml.MappingNode)
            and bool(node.flow_style)
            and bool(node.value)
            and all(
                isinstance(value, yaml.ScalarNode) and value.tag == _NULL_TAG and not value.value
                for _, value in node.value
            )
        )

    def _as_written(self, node: yaml.Node) -> str:
        written = " ".join(self.buffer[node.start_mark.index : node.end_mark.index].split())
        return _cut(written) or "(empty)"

    def _too_deep(self) -> _Refused:
        return _Refused(f"{self._where(self._path)}: is nested more than {_MAX_DEPTH} levels deep")

    def _height(self, node: yaml.Node) -> int:
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        else:
            return 0
        return 1 + max((self._heights[child] for child in children), default=0)

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        # Checked as written, before merge keys add entries: a key given both here and in
        # a merged mapping is not given twice.
        node = super().compose_mapping_node(anchor)
        seen: set[str] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STR_TAG:
                # A key of another kind (1, true, ~, a date, a list, a tag) has no name to
                # report a problem with: named as written, and where.
                raise _Refused(
                    f"{self._where(self._path)}: the key {self._as_written(key_node)} "
                    f"{_at(key_node.start_mark)} must be text"
                )
            if key_node.value in seen:
                raise yaml.composer.ComposerError(
                    None, None, f'the key "{key_node.value}" is given twice', key_node.start_mark
                )
            seen.add(key_node.value)
        return node

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        """Resolve merge keys: `<<: *a` or `<<: [*a, *b]` adds the entries of those mappings;
        an entry written in the mapping wins over a merged one, and an earlier merged mapping
        over a later one (YAML 1.1). PyYAML's own lets the later one win for most keys, and
        copies without bound."""
        written: list[tuple[yaml.Node, yaml.Node]] = []
        sources: list[tuple[yaml.Node, yaml.Node]] = []  # (the `<<` key, a mapping it merges)
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                written.append((key_node, value_node))
            elif isinstance(value_node, yaml.SequenceNode):
                sources += [(key_node, source) for source in value_node.value]
            else:
                sources.append((key_node, value_node))
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        # The mapping is built entry by entry, the last of equal keys winning: so the
        # latest source comes first and what is written last.
        for merge_key, source in reversed(sources):
            if not isinstance(source, yaml.MappingNode):
                raise _Refused(
                    f"{self._where(self._locations[node])}: << {_at(merge_key.start_mark)} "
                    "merges only mappings: <<: *name or <<: [*a, *b]"
                )
            self.flatten_mapping(source)
            merged += source.value
        self._merged_entries += len(merged)
        if self._merged_entries > _MAX_VALUES:
            raise _Refused(_TOO_MANY_VALUES)
        node.value = merged + written

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        where = self._where(self._locations[node])
        if node.tag not in self.yaml_constructors:  # `!foo`, `!!python/tuple`, `!!merge x`
            raise _Refused(f"{where}: the tag {_tag_as_written(node.tag)} is not supported")
        try:
            # Deep: a mapping or list is built whole here, so that what fails in it is
            # reported against it, and not after the document was built.
            value = super().construct_object(node, deep=True)
            if isinstance(value, str):
                value.encode("utf-8")  # a lone surrogate ("\ud800") can be written nowhere
        # PyYAML's constructors fail in these ways on a value they cannot convert: a number
        # of thousands of digits, 2024-13-45, `!!bool maybe`, `!!timestamp soon`, `!!binary`
        # that is not base64, `!!str [a]`.
        except (ArithmeticError, AttributeError, LookupError, ValueError, ConstructorError):
            raise _Refused(
                f"{where}: cannot be represented as {_KINDS[node.tag]} "
                f"(got {_node_described(node)})"
            ) from None
        return value


def _expansion_problem(data: object) -> str | None:
    """Why `data` is too large once aliases are expanded, or None. An alias is one shared
    object here, but a copy in everything that reads or prints the config."""
    values = characters = 0
    pending = [data]
    while pending:
        item = pending.pop()
        values += 1
        if values > _MAX_VALUES:
            return _TOO_MANY_VALUES
        if isinstance(item, str | bytes):
            characters += len(item)
            if characters > _MAX_TEXT_CHARACTERS:
                return (
                    f"the file holds more than {_MAX_TEXT_CHARACTERS:,} characters of text "
                    "once aliases expand"
                )
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


def _key_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def _section_keys(section_location: tuple[int | str, ...]) -> tuple[str, ...]:
    """The key names valid in the section at `section_location`, for spelling hints."""
    for place, keys in _sections():
        if len(place) == len(section_location) and _in_place(place, section_location)[1]:
            return keys
    return ()


# In a section's place: any key the admin names (a severity's), any entry of a list.
_ANY_NAME = None
_ANY_ENTRY = -1
_Place = tuple[str | int | None, ...]


@functools.cache
def _sections() -> tuple[tuple[_Place, tuple[str, ...]], ...]:
    """Every section of the config, where it is and the keys it takes: where a key written
    in the wrong one belongs."""
    found: list[tuple[_Place, tuple[str, ...]]] = []
    pending: list[tuple[_Place, type[BaseModel]]] = [((), HotfixConfig)]
    while pending:
        place, model = pending.pop(0)
        found.append((place, tuple(model.model_fields)))
        for name, field in model.model_fields.items():
            annotation = _without_none(field.annotation)
            step: _Place = ()
            if get_origin(annotation) in (list, dict):
                step = (_ANY_ENTRY,) if get_origin(annotation) is list else (_ANY_NAME,)
                annotation = get_args(annotation)[-1]
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                pending.append(((*place, name, *step), annotation))
    return tuple(found)


def _in_place(place: _Place, location: tuple[int | str, ...]) -> tuple[_Place, bool]:
    """`place` with the parts it shares with `location` named as there, and whether it lies
    within the section at `location`."""
    shared = 0
    for part, written in zip(place, location, strict=False):
        any_key = part is _ANY_NAME and isinstance(written, str)
        any_entry = part == _ANY_ENTRY and isinstance(written, int)
        if part != written and not any_key and not any_entry:
            break
        shared += 1
    return (*location[:shared], *place[shared:]), shared == len(location)


def _place_named(place: _Place) -> str:
    if not place:
        return "the top level"
    if place[-1] == _ANY_ENTRY:
        return f"each entry of {_place_named(place[:-1])}"
    return ".".join("NAME" if part is None else str(part) for part in place)


def _belongs_in(key: str, parent: tuple[int | str, ...]) -> str:
    """Where `key`, unknown in the section at `parent`, belongs: the sections within that
    one that take it (a key written one level too far out), else any that do."""
    places = [_in_place(place, parent) for place, keys in _sections() if key in keys]
    within = [place for place, inside in places if inside]
    named = [_place_named(place) for place in within or [place for place, _ in places]]
    return f" (it belongs in {' or in '.join(named)})" if named else ""


def _named_as_a_key(error: ErrorDetails) -> str:
    """For a value that must be a mapping, an entry the admin names (`severities.deadline`)
    whose name is one of the entries' own keys: that it is written one level too far out."""
    location = tuple(error["loc"])
    if error["type"] != "model_type" or not location:
        return ""
    for place, keys in _sections():
        named_entry = len(place) == len(location) and place[-1] is _ANY_NAME
        if named_entry and location[-1] in keys and _in_place(place, location)[1]:
            named = _place_named((*location[:-1], _ANY_NAME))
            return (
                f"; {location[-1]} is a key of {named}, not a NAME: "
                "indent it under the one it is for"
            )
    return ""


def _without_none(annotation: object) -> object:
    """`X | None` -> X: a section that may be null has X's keys."""
    if get_origin(annotation) not in (Union, UnionType):
        return annotation
    present = [argument for argument in get_args(annotation) if argument is not type(None)]
    return present[0] if len(present) == 1 else annotation


_TYPE_WORDS = {
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of keys",
    "model_type": "must be a mapping of keys",
}


def _problem(error: ErrorDetails) -> str:
    """One validation error in words a repository admin understands."""
    *parent, last = error["loc"]
    kind = error["type"]
    if kind == "extra_forbidden":
        where = f"in {_key_path(tuple(parent))}" if parent else "at top level"
        guess = difflib.get_close_matches(str(last), _section_keys(tuple(parent)), n=1)
        hint = f' (did you mean "{guess[0]}"?)' if guess else _belongs_in(str(last), tuple(parent))
        # JSON's quoting: a key with a line break or a quote in it stays on one line.
        return f"unknown key {json.dumps(str(last), ensure_ascii=False)} {where}{hint}"
    path = _key_path(error["loc"])
    if kind == "value_error" and "ctx" in error:
        # Our validators word the problem themselves; drop pydantic's "Value error, ".
        return f"{path}: {error['ctx']['error']}"
    if kind == "missing":
        return f"{path}: is required"
    if kind == "literal_error":
        words = f"must be {error['ctx']['expected']}"
    else:
        words = _TYPE_WORDS.get(kind, error["msg"])
    return f"{path}: {words} (got {_describe(error['input'])})"


# Key path -> a scalar as written where YAML read it as other than text (`_StrictLoader`).
_Written = Mapping[tuple[str | int, ...], str]


def _quoting_as_written(problem: str, error: ErrorDetails, written: _Written) -> str:
    """`problem`, quoting the value as the file wrote it where YAML read it as a number, a
    boolean or a date (`010` is 8, `1:30` is 90); where text was wanted, with the fix."""
    source = written.get(tuple(error["loc"]))
    read_as = _describe(error["input"])
    if source is None or not problem.endswith(f"(got {read_as})"):
        return problem
    shown = _cut(source)
    if read_as != shown:
        shown += f", which YAML reads as {read_as}"
    if ": must be text " in problem or ": must be a non-empty text " in problem:
        shown += f"; quote it: {_cut(json.dumps(source))}"
    return problem.removesuffix(f"(got {read_as})") + f"(got {shown})"


def _defaults(default_branch: str) -> dict[str, Any]:
    defaults: dict[str, Any] = yaml.safe_load(_DEFAULTS_YAML)  # a fresh copy every time
    defaults["branches"]["production"] = default_branch
    return defaults


# PyYAML's words for the mistakes people make writing the file by hand, and what to write.
_SYNTAX_HINTS = {
    "found character '\\t' that cannot start any token": (
        "YAML indents with spaces, not tabs: replace the tab with spaces"
    ),
    "found character '@' that cannot start any token": (
        'a value beginning with "@" must be quoted ("@alice"), and a team slug or a login is '
        "written without it"
    ),
    "mapping values are not allowed here": (
        'a line above may lack the ":" after its key, or this one be indented too far, or a '
        'value hold ": " unquoted (write message: "Hotfix: {title}")'
    ),
}


def _syntax_problem(error: yaml.MarkedYAMLError) -> str:
    """Invalid YAML, where the mistake is and, for the usual ones, what to write."""
    mark = error.problem_mark or error.context_mark
    problem = error.problem or error.context or ""
    if error.context_mark is not None:
        # PyYAML finds these only where it runs out of the key or the quoted value, lines
        # later: the mistake is where that key or value begins.
        if error.context == "while scanning a simple key":
            mark = error.context_mark
            problem += '; the key that begins here needs a ":" after it'
        elif error.context == "while scanning a quoted scalar":
            mark = error.context_mark
            problem = f"the quoted value that begins here is not closed ({problem})"
    if hint := _SYNTAX_HINTS.get(problem):
        problem += f"; {hint}"
    where = f" {_at(mark)}" if mark else ""
    return f"invalid YAML{where}: {problem}"


def _parse_yaml(text: str) -> tuple[object, _Written]:
    """The file's data, and its scalars YAML read as other than text, as written."""
    try:
        loader = _StrictLoader(text)
        try:
            return loader.get_single_data(), loader.written
        finally:
            loader.dispose()
    except _Refused as error:
        problem = error.problem
    except yaml.MarkedYAMLError as error:
        problem = _syntax_problem(error)
    except yaml.reader.ReaderError as error:  # a character YAML does not allow
        line = text.count("\n", 0, error.position) + 1
        column = error.position - text.rfind("\n", 0, error.position)
        problem = (
            f"invalid YAML at line {line}, column {column}: "
            f"the character #x{error.character:04x} is not allowed"
        )
    except yaml.YAMLError as error:
        problem = f"invalid YAML: {error}"
    # A key may hold a lone surrogate ("\ud800"): escaped, the message can be printed.
    raise ConfigError([problem.encode("utf-8", "backslashreplace").decode("utf-8")])


# The same files are read for every evaluation of a repository; the model is frozen, so one
# parse can serve them all.
@functools.lru_cache(maxsize=256)
def load_config(
    text: str | UnreadableText | None, default_branch: str, org: OrgDefaults | None = None
) -> HotfixConfig:
    """The effective config from the file's text (None: no file) laid over the organization's
    defaults (None: none), and those over the built-in defaults. Each file must be valid
    over what lies beneath it, so each problem is reported against the file that has it; a
    file that could not be read (too large, not UTF-8) is one such problem."""
    base = _defaults(default_branch)
    if org is not None:
        try:
            base, _ = _laid_over(base, org.text)
        except ConfigError as error:
            raise ConfigError(error.problems, org.file) from None
    _, config = _laid_over(base, text)
    return config


def _laid_over(
    base: dict[str, Any], text: str | UnreadableText | None
) -> tuple[dict[str, Any], HotfixConfig]:
    """The file's data laid over `base`, and the config it makes."""
    if isinstance(text, UnreadableText):
        raise ConfigError([f"the file {text.problem}"])
    given, written = (None, {}) if text is None else _parse_yaml(text)
    if given is not None and not isinstance(given, dict):
        raise ConfigError(["the file must be a mapping of keys"])
    if too_large := _expansion_problem(given):
        raise ConfigError([too_large])
    merged = _deep_merge(base, given)
    assert isinstance(merged, dict)  # a mapping (or nothing) laid over a mapping
    try:
        config = HotfixConfig.model_validate(merged)
    except ValidationError as error:
        # dict.fromkeys: one line per problem, in the order found.
        problems = [
            _quoting_as_written(_problem(details), details, written) + _named_as_a_key(details)
            for details in error.errors()
        ]
        raise ConfigError(list(dict.fromkeys(problems))) from None
    problems = _consistency_problems(config) + _rollback_label_problems(config)
    if problems:
        raise ConfigError(problems)
    return merged, config


def config_as_yaml(config: HotfixConfig) -> str:
    """The effective config, defaults filled in, as `.github/hotfix.yml` text."""
    data = config.model_dump(mode="json", exclude_none=True)
    # Every other null is a key left unset; these say that nobody may break the glass, or
    # that no incident report is opened.
    for name, policy in config.severities.items():
        for key in sorted(_NULL_IS_A_VALUE):
            if getattr(policy, key) is None:
                data["severities"][name][key] = None
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)

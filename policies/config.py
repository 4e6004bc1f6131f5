"""The repository configuration `.github/hotfix.yml` (CONTRACT §3).

Loading merges the file onto the defaults (maps key by key, lists replaced whole) and
then validates the result, so every problem is reported against the key the admin wrote.
"""

import difflib
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal, Self, get_args

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from policies.pattern import PatternError, check_pattern

CONFIG_PATH = ".github/hotfix.yml"

# The defaults of docs/ADMIN.md's reference; `branches.production` is filled in at
# load time with the repository's default branch.
_DEFAULTS_YAML = """
workflow: gitflow
branches:
  development: develop
  hotfix_prefix: "hotfix/"
  hotfix_pattern: '^hotfix/[a-z0-9]+(-[a-z0-9]+)*$'
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
    request_reviews: true
    escalation:
      - {after: 15m, notify: [approvers]}
      - {after: 4h, notify: [approvers, author]}
  P1:
    hotfix_allowed: true
    deadline: 24h
    approvals:
      - {name: Engineering Lead, team: engineering-leads, count: 1}
      - {name: Product Manager, team: product-managers, count: 1}
    request_reviews: true
    escalation:
      - {after: 30m, notify: [approvers]}
      - {after: 2h, notify: [approvers, author]}
  P2:
    hotfix_allowed: false
version:
  files: []
  bump: patch
tag:
  format: "v{version}"
  message: "Hotfix: {title}"
release: true
delete_branch: true
"""

# Aliases (`*name`) can make a short file expand enormously; refuse before validating.
_MAX_VALUES = 10_000

# A duration: whole numbers with units, largest first, each unit once (`1h30m`).
_DURATION = re.compile(r"(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?")
_DURATION_ANY_ORDER = re.compile(r"(?:[0-9]+[dhms])+")
_UNIT_SECONDS = (86_400, 3_600, 60, 1)
LONGEST_DURATION = timedelta(days=30)
# A mention in a notify list: `@login`, `@org/team-slug`, or one of MENTION_WORDS.
_MENTION = re.compile(r"@[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}(?:/[A-Za-z0-9_-]+)?")
MENTION_WORDS = ("approvers", "author")


class ConfigError(Exception):
    """`.github/hotfix.yml` cannot be used; `problems` lists every reason found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Duration:
    """A duration such as `2h`, keeping the text the admin wrote for display."""

    text: str
    value: timedelta

    def __str__(self) -> str:
        return self.text


def _describe(value: object) -> str:
    """How a YAML value reads in an error message."""
    if isinstance(value, str):
        return json.dumps(value)
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


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
        raise ValueError(f"must be a duration such as 2h, 30m, 1d or 90s (got {_describe(value)})")
    seconds = sum(
        int(amount) * unit
        for amount, unit in zip(amounts.groups(), _UNIT_SECONDS, strict=True)
        if amount
    )
    if seconds == 0:
        raise ValueError(f"must be longer than zero (got {_describe(value)})")
    if seconds > LONGEST_DURATION.total_seconds():
        raise ValueError(f"must be at most 30d (got {_describe(value)})")
    return Duration(text=text, value=timedelta(seconds=seconds))


def _mention(value: object) -> object:
    if isinstance(value, str) and (value in MENTION_WORDS or _MENTION.fullmatch(value)):
        return value
    raise ValueError(
        f"must be @login, @org/team-slug, approvers or author (got {_describe(value)})"
    )


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


class _Section(BaseModel):
    # strict: YAML types are taken as written, so `count: "2"` is an error, not 2.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class BranchesConfig(_Section):
    production: NonEmptyText
    development: NonEmptyText
    hotfix_prefix: NonEmptyText
    hotfix_pattern: NonEmptyText

    @field_validator("hotfix_pattern")
    @classmethod
    def _pattern_compiles(cls, pattern: str) -> str:
        try:
            check_pattern(pattern)
        except PatternError as error:
            raise ValueError(str(error)) from None
        return pattern


class LabelsConfig(_Section):
    hotfix: NonEmptyText
    severities: dict[str, NonEmptyText]

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
    team: NonEmptyText | None = None
    users: list[NonEmptyText] | None = None

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


class SeverityPolicy(_Section):
    # A severity added by a repository is not a hotfix severity unless it says so.
    hotfix_allowed: bool = False
    deadline: PositiveDuration | None = None
    approvals: list[ApprovalGroup] = []
    request_reviews: bool = True
    escalation: list[EscalationStep] = []

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
        names = [group.name for group in groups]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"approval group names must differ (repeated: {', '.join(repeated)})")
        return groups

    def approval_teams(self) -> list[str]:
        """The slug of every team an approval group names, once each: the app looks these up."""
        return list(dict.fromkeys(group.team for group in self.approvals if group.team))


class VersionConfig(_Section):
    files: list[NonEmptyText]
    bump: Literal["patch"]


class TagConfig(_Section):
    format: NonEmptyText
    message: NonEmptyText

    @field_validator("format")
    @classmethod
    def _format_names_the_version(cls, tag_format: str) -> str:
        if "{version}" not in tag_format:
            raise ValueError(f'must contain {{version}} (got "{tag_format}")')
        return tag_format


class HotfixConfig(_Section):
    workflow: Literal["gitflow", "github-flow"]
    branches: BranchesConfig
    labels: LabelsConfig
    severities: dict[str, SeverityPolicy]
    version: VersionConfig
    tag: TagConfig
    release: bool
    delete_branch: bool


def _consistency_problems(config: HotfixConfig) -> list[str]:
    """Problems that span sections, found once each section is valid on its own."""
    return [
        f"labels.severities.{name}: there is no severity {name} under severities"
        for name in config.labels.severities
        if name not in config.severities
    ] + [
        f'severities.{name}: has no label; add "{name}: LABEL" under labels.severities'
        for name in config.severities
        if name not in config.labels.severities
    ]


def _deep_merge(defaults: object, given: object) -> object:
    """`given` over `defaults`: mappings merge key by key, anything else replaces."""
    if isinstance(defaults, dict) and given is None:
        return defaults  # an empty section (`branches:` with nothing under it)
    if isinstance(defaults, dict) and isinstance(given, dict):
        merged = dict(defaults)
        for key, value in given.items():
            merged[key] = _deep_merge(defaults[key], value) if key in defaults else value
        return merged
    return given


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice instead of silently keeping the last."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                continue  # validation reports keys that are not text
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f'the key "{key}" is given twice', key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _count_values(data: object, limit: int) -> int:
    """How many values `data` holds once aliases are expanded, stopping past `limit`."""
    count = 0
    pending = [data]
    while pending and count <= limit:
        item = pending.pop()
        count += 1
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return count


def _key_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def _section_keys(section_location: tuple[int | str, ...]) -> list[str]:
    """The key names valid in the section at `section_location`, for spelling hints."""
    annotation: object = HotfixConfig
    for part in section_location:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            annotation = field.annotation if field else None
        else:
            # list[X] and dict[str, X] hold their sections as the last type argument.
            arguments = get_args(annotation)
            annotation = arguments[-1] if arguments else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


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
        hint = f' (did you mean "{guess[0]}"?)' if guess else ""
        return f'unknown key "{last}" {where}{hint}'
    if last == "[key]":
        return f"{_key_path(tuple(parent[:-1]))}: the key {_describe(parent[-1])} must be text"
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


def _defaults(default_branch: str) -> dict[str, Any]:
    defaults: dict[str, Any] = yaml.safe_load(_DEFAULTS_YAML)  # a fresh copy every time
    defaults["branches"]["production"] = default_branch
    return defaults


def _parse_yaml(text: str) -> object:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506  # a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError([f"invalid YAML{where}: {error.problem or error.context}"]) from None
    except yaml.YAMLError as error:
        raise ConfigError([f"invalid YAML: {error}"]) from None


# The same file is read for every evaluation of a repository; the model is frozen, so one
# parse can serve them all.
@functools.lru_cache(maxsize=256)
def load_config(text: str | None, default_branch: str) -> HotfixConfig:
    """The effective config from the file's text (None: no file, so all defaults)."""
    given = None if text is None else _parse_yaml(text)
    if given is not None and not isinstance(given, dict):
        raise ConfigError(["the file must be a mapping of keys"])
    if _count_values(given, _MAX_VALUES) > _MAX_VALUES:
        raise ConfigError([f"the file holds more than {_MAX_VALUES} values once aliases expand"])
    merged = _deep_merge(_defaults(default_branch), given)
    try:
        config = HotfixConfig.model_validate(merged)
    except ValidationError as error:
        # dict.fromkeys: one line per problem, in the order found.
        raise ConfigError(list(dict.fromkeys(map(_problem, error.errors())))) from None
    problems = _consistency_problems(config)
    if problems:
        raise ConfigError(problems)
    return config


def config_as_yaml(config: HotfixConfig) -> str:
    """The effective config, defaults filled in, as `.github/hotfix.yml` text."""
    data = config.model_dump(mode="json", exclude_none=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)

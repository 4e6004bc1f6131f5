"""What README.md and docs/ tell an administrator to run and to set is what the code takes:
every `hotfix-bot` command line they show parses, every variable their tables name is one the
settings read (each with the default given), and every metric they name is served."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from prometheus_client import Counter, Gauge, Histogram
from pydantic import AliasChoices, BaseModel

from app import metrics
from app.cli import build_parser, main, plugin_commands
from app.journal import STATUSES, TIMER_STATUSES
from app.metrics import generate_latest
from app.settings import Settings
from policies.config import HotfixConfig, SeverityPolicy, load_config

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
ADMIN = ROOT / "docs" / "ADMIN.md"
BEHAVIOUR = ROOT / "docs" / "BEHAVIOUR.md"
# The pages an administrator reads commands from (PERFORMANCE.md runs benchmarks).
COMMAND_PAGES = [
    README,
    ADMIN,
    BEHAVIOUR,
    ROOT / "docs/RELIABILITY.md",
    ROOT / "docs/ARCHITECTURE.md",
]

SUBCOMMAND = r"hotfix-bot (?:serve|deliveries|redeliver|timers|journal|config|demo)\b"
# A command line: code that begins with one, or runs one in a container or a Fly machine.
COMMAND = re.compile(
    rf"(?:^|exec (?:-T )?hotfix-bot )({SUBCOMMAND}.*)|-C ([\"'])({SUBCOMMAND}.*?)\2"
)
# The docs' placeholders, each given a value the command takes.
PLACEHOLDERS = {"ID": "d-1", "DELIVERY_ID": "d-1", "N": "5"}
STATUS_PLACEHOLDER = {"deliveries": "failed", "timers": "fired"}


def code_in(page: Path) -> list[str]:
    """The page's code: each inline span (one line, however the paragraph wraps it) and each
    line of its code blocks (continuation lines joined); quoted blocks read as any other."""
    prose: list[str] = []
    blocks: list[str] = []
    fenced = False
    for line in page.read_text(encoding="utf-8").splitlines():
        line = re.sub(r"^(?:> ?)+", "", line)
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced:
            blocks.append(line)
        else:
            prose.append(line)
    paragraphs = "\n".join(prose).split("\n\n")  # a span never leaves its paragraph
    spans = [
        " ".join(span.split()) for text in paragraphs for span in re.findall(r"`([^`]+)`", text)
    ]
    return spans + "\n".join(blocks).replace("\\\n", " ").splitlines()


def documented_command_lines() -> list[tuple[str, str]]:
    """Each page's `hotfix-bot` command lines, without their comments."""
    found: dict[tuple[str, str], None] = {}
    for page in COMMAND_PAGES:
        for code in code_in(page):
            for command in COMMAND.finditer(code.strip()):
                line = re.sub(r"\s#.*", "", command.group(1) or command.group(3))
                found[(page.name, " ".join(line.split()))] = None
    return list(found)


def arguments(command_line: str) -> list[str]:
    """The command line's arguments after `hotfix-bot`, a synopsis's optional parts written
    out and its placeholders filled in."""
    words = shlex.split(command_line.replace("[", "").replace("]", ""))[1:]
    status = STATUS_PLACEHOLDER.get(words[0], "S")
    return [status if word == "S" else PLACEHOLDERS.get(word, word) for word in words]


def test_the_docs_show_the_command_lines_an_administrator_runs() -> None:
    """The search below finds them: a change to how the docs write them must not leave the
    next test checking nothing."""
    lines = {line for _, line in documented_command_lines()}

    assert {
        "hotfix-bot deliveries [--status S] [--limit N]",
        "hotfix-bot timers [--status S] [--limit N]",
        "hotfix-bot redeliver DELIVERY_ID",
        "hotfix-bot config validate --org-file ../.github/.github/hotfix.yml",
        "hotfix-bot journal copy --from sqlite:////data/hotfix-bot.db --to "
        '"postgresql://hotfix:PASSWORD@db.example.com:5432/hotfix"',
        "hotfix-bot demo --scenario rollback",
    } <= lines


@pytest.mark.parametrize(("page", "command_line"), documented_command_lines())
def test_every_command_line_in_the_docs_parses(
    page: str, command_line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A command written without arguments (`hotfix-bot redeliver`, `hotfix-bot journal
    copy`) is named, not run: it must have a --help of its own."""
    parser = build_parser(plugin_commands())
    words = arguments(command_line)
    if not all(re.fullmatch("[a-z]+", word) for word in words):
        try:
            parser.parse_args(words)
        except SystemExit as error:
            pytest.fail(f"{page}: `{command_line}` does not parse (exit {error.code})")
        return
    with pytest.raises(SystemExit) as stopped:
        parser.parse_args([*words, "--help"])
    assert stopped.value.code == 0, f"{page}: no command `{command_line}`"
    assert capsys.readouterr().out.startswith(f"usage: {command_line} ")


def table_under(page: Path, heading: str) -> list[list[str]]:
    """The cells of each row of the first table under `heading` (a `\\|` is no border)."""
    text = page.read_text(encoding="utf-8").split(f"\n{heading}\n", 1)[1]
    table = re.search(r"^\|.*?(?=\n\n)", text, re.MULTILINE | re.DOTALL)
    assert table is not None, heading
    return [
        [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip().strip("|"))]
        for row in table.group(0).splitlines()[2:]
    ]


def variable_table(page: Path, heading: str) -> dict[str, str]:
    """Each variable the table under `heading` names, and its default column."""
    defaults: dict[str, str] = {}
    for names, _, default in table_under(page, heading):
        variables = re.findall(r"`([A-Z_]+)`", names)
        values = re.findall(r"`([^`]+)`", default)
        for index, variable in enumerate(variables):
            # `HOST`, `PORT` | `127.0.0.1`, `3000`: a default each, in order.
            one_each = len(values) == len(variables) and not default.startswith("unset")
            defaults[variable] = values[index] if one_each else default
    return defaults


VARIABLE_TABLES = [(README, "## Configuration"), (BEHAVIOUR, "## 1. Environment")]


def settings_defaults() -> dict[str, object]:
    """Each variable the settings read, and its default."""
    read: dict[str, object] = {}
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        assert isinstance(alias, AliasChoices)
        [variable] = alias.choices
        assert isinstance(variable, str)
        read[variable] = field.default
    return read


@pytest.mark.parametrize(
    ("page", "heading"), VARIABLE_TABLES, ids=[page.name for page, _ in VARIABLE_TABLES]
)
def test_the_variables_a_table_names_are_the_ones_the_settings_read_with_their_defaults(
    page: Path, heading: str
) -> None:
    documented = variable_table(page, heading)
    read = settings_defaults()

    assert sorted(documented) == sorted(read)
    for variable, default in read.items():
        written = documented[variable]
        if default is None:  # unset, and what that means, or nothing
            assert written == "" or written.startswith("unset"), variable
        else:
            assert written == str(default), variable


def test_the_statuses_the_readme_lists_are_the_ones_the_commands_take() -> None:
    text = README.read_text(encoding="utf-8")
    listed = [
        re.findall(r"`([a-z]+)`", sentence)
        for sentence in re.findall(r"`S` is (.*?)(?:\.| \()", text, re.DOTALL)
    ]

    assert listed == [list(STATUSES), list(TIMER_STATUSES)]


def served_labels() -> dict[str, list[str]]:
    """Each metric app.metrics keeps, by the name /metrics serves it under, and its labels."""
    served: dict[str, list[str]] = {}
    for metric in vars(metrics).values():
        if isinstance(metric, Counter | Gauge | Histogram):
            name = f"{metric._name}_total" if isinstance(metric, Counter) else metric._name
            served[name] = list(metric._labelnames)
    return served


def test_every_metric_the_docs_name_is_served_with_the_labels_they_give() -> None:
    served = generate_latest(0).decode()
    labels_of = served_labels()
    named = 0
    for page in (README, ADMIN, BEHAVIOUR):
        text = page.read_text(encoding="utf-8")
        for name, labels in re.findall(r"`(hotfix_bot_[a-z_]+)(?:\{([a-z_,]+)\})?", text):
            named += 1
            assert re.search(rf"^# TYPE {name} ", served, re.MULTILINE), (page.name, name)
            if labels:
                assert labels_of[name] == labels.split(","), (page.name, name)
    assert named >= 7


@pytest.mark.parametrize("command", ["deliveries", "timers", "redeliver"])
def test_the_help_of_a_command_that_reads_the_journal_says_where_it_looks(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run in another directory than the server's, it finds no journal, or another .env."""
    with pytest.raises(SystemExit) as stopped:
        build_parser(plugin_commands()).parse_args([command, "--help"])

    assert stopped.value.code == 0
    assert (
        "It reads the journal at DATABASE_URL (default sqlite:///hotfix-bot.db, relative to the "
        "working directory): run it where `hotfix-bot serve` runs, with the same environment "
        "and .env."
    ) in " ".join(capsys.readouterr().out.split())


def test_the_help_of_serve_says_where_its_settings_come_from(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        build_parser(plugin_commands()).parse_args(["serve", "--help"])

    assert (
        "Settings are read from the environment, then from .env in the working directory "
        "(README.md, Configuration)."
    ) in " ".join(capsys.readouterr().out.split())


def reference_keys() -> dict[str, str]:
    """The keys docs/ADMIN.md's configuration reference names, and their default column."""
    return {key.strip("`"): default for key, default, _ in table_under(ADMIN, "### Reference")}


def config_keys() -> set[str]:
    """Every key .github/hotfix.yml takes, as the reference writes them: a section's keys
    under its name, a severity's under `severities.NAME`, a notice's template as
    `notices.templates.NAME`."""
    keys: set[str] = set()
    for name, field in HotfixConfig.model_fields.items():
        kind = field.annotation
        if name == "severities":
            keys |= {f"severities.NAME.{key}" for key in SeverityPolicy.model_fields}
        elif name == "notices":
            keys.add("notices.templates.NAME")
        elif isinstance(kind, type) and issubclass(kind, BaseModel):
            keys |= {f"{name}.{key}" for key in kind.model_fields}
        else:
            keys.add(name)
    return keys


def test_the_configuration_reference_names_every_key_the_config_takes() -> None:
    assert sorted(reference_keys()) == sorted(config_keys())


def test_the_configuration_references_plain_defaults_are_the_configs() -> None:
    """A default written as one value (`gitflow`, `true`, `[]`) is the one a repository
    without the file gets."""
    defaults = load_config(None, "main", None).model_dump(mode="json")
    checked = 0
    for key, written in reference_keys().items():
        value = re.fullmatch(r"`([^`]+)`", written)
        if value is None or "NAME" in key:
            continue
        default: object = defaults
        for part in key.split("."):
            assert isinstance(default, dict), key
            default = default[part]
        # Text as it is written; anything else as YAML reads it.
        read = value.group(1) if isinstance(default, str) else yaml.safe_load(value.group(1))
        assert read == default, key
        checked += 1
    assert checked >= 15


def test_the_line_the_readme_quotes_for_a_bad_value_is_what_serve_prints(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its Client ID taken for the App ID, the mistake the line is for."""
    quoted = re.search(r"`(hotfix-bot: APP_ID: [^`]+)`", README.read_text(encoding="utf-8"))
    assert quoted is not None
    monkeypatch.setenv("APP_ID", "Iv1.0123456789abcdef")

    assert main(["serve"]) == 2
    assert capsys.readouterr().err == " ".join(quoted.group(1).split()) + "\n"

"""Properties of the text people hand hotfix-bot: comment commands (docs/BEHAVIOUR.md,
'Comment commands'), durations and mentions ('Times', 'Escalation') and notice templates
('Notices'). Whatever is written is read as it says, or refused with a reason naming where;
never a traceback."""

import re
import string
from datetime import timedelta
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from app.handlers.commands import COMMANDS
from policies.commands import Parsed, ParseError, command_line, parse
from policies.config import ConfigError, load_config
from policies.notices import PLACEHOLDERS, fill
from policies.release_branches import open_release_branch
from policies.rollback import rollback_reason
from policies.versions import Version
from policies.wording import REASON_LIMIT, cell, duration_words

SYNTAXES = [command.syntax for command in COMMANDS]
PROPERTY = settings(max_examples=300, deadline=None, database=None)
# Loading a config takes milliseconds: fewer examples keep each property within 2 s.
LOADING = settings(PROPERTY, max_examples=120)


def loaded_or_problems(data: dict[str, Any]) -> list[str]:
    """The problems of `.github/hotfix.yml` holding `data`; [] when it loads."""
    try:
        load_config(yaml.safe_dump(data, allow_unicode=True), "main")
    except ConfigError as error:
        assert error.problems
        return error.problems
    return []


# --- comment commands -------------------------------------------------------------------

# Words that make up commands, and the characters that sit between and around them.
COMMAND_WORDS = ["/hotfix", "/Hotfix", "/HOTFIX ", "/hotfix ", "verbal-approval", "confirm"]
COMMAND_WORDS += ["break-glass", "break-glass:", "off", "Off.", "@lena", "@lena,", "@lead"]
COMMAND_WORDS += ["@", "@-x", "@org/team", "note", "`", " ", "  ", "\t", "\u00a0", "\r", "\n"]
COMMAND_WORDS += ["\r\n", "\u2028", "\x85", ",", "!", "x" * 600]
command_texts = st.lists(st.sampled_from(COMMAND_WORDS) | st.text(max_size=8), max_size=12).map(
    "".join
)
# Commands as people write them: a name, then words.
commands = st.builds(
    "{} {}{}{}".format,
    st.sampled_from(["/hotfix", "/Hotfix"]),
    st.sampled_from([syntax.name for syntax in SYNTAXES]) | st.text(max_size=6),
    st.sampled_from([" ", "\t", ": "]),
    st.lists(st.sampled_from(COMMAND_WORDS) | st.text(max_size=8), max_size=6).map(" ".join),
)
command_texts |= commands
logins = st.from_regex(r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}", fullmatch=True)
separators = st.text(st.sampled_from(" \t\u00a0\u3000"), min_size=1, max_size=3)
# A line's text after a command's name: it holds no line break, and whitespace around it is
# no part of it.
line_texts = st.text(st.characters(exclude_characters="\n\r"), min_size=1, max_size=40).filter(
    lambda text: text.strip() == text
)


@PROPERTY
@given(command_texts)
def test_any_comment_is_a_command_or_refused_with_a_reason(body: str) -> None:
    parsed = parse(body, SYNTAXES)
    assert isinstance(parsed, Parsed | ParseError)
    assert parsed.line == command_line(body)
    if isinstance(parsed, ParseError):
        assert parsed.reason.strip() and "\n" not in parsed.reason


def outside_code_spans(markdown: str) -> str:
    """`markdown` without its code spans, as CommonMark reads them: a run of backticks opens
    one that the next run of as many closes; without one, the run is text. A backslash
    escapes the punctuation after it."""
    outside, at = [], 0
    while at < len(markdown):
        if markdown[at] == "\\" and markdown[at + 1 : at + 2] in string.punctuation:
            outside.append(markdown[at : at + 2])
            at += 2
            continue
        run = re.match(r"`+", markdown[at:])
        if run is None:
            outside.append(markdown[at])
            at += 1
            continue
        fence = run[0]
        closing = re.compile(f"(?<!`){fence}(?!`)").search(markdown, at + len(fence))
        if closing is None:
            outside.append(fence)
            at += len(fence)
        else:
            at = closing.end()
    return "".join(outside)


@PROPERTY
@given(command_texts)
def test_a_refusal_mentions_nobody(body: str) -> None:
    """A reply's reason quotes what was written as code, so that GitHub notifies nobody it
    names (docs/BEHAVIOUR.md, 'Comment commands')."""
    parsed = parse(body, SYNTAXES)
    if isinstance(parsed, ParseError):
        assert re.search(r"(?<!\w)@[A-Za-z0-9]", outside_code_spans(parsed.reason)) is None


def test_a_refusal_quotes_a_word_holding_backticks_as_code() -> None:
    refused = parse("/hotfix `@lena", SYNTAXES)
    assert refused == ParseError("/hotfix `@lena", "`` `@lena `` is not a hotfix-bot command")


# Where a line ends in a comment as GitHub shows it (CommonMark).
LINE_ENDS = ["\n", "\r\n", "\r"]


@PROPERTY
@given(command_texts, st.sampled_from(LINE_ENDS), command_texts)
def test_the_first_line_alone_decides(first: str, line_end: str, rest: str) -> None:
    line = re.split(r"\r\n?|\n", first, maxsplit=1)[0]
    assert parse(f"{line}{line_end}{rest}", SYNTAXES) == parse(line, SYNTAXES)


def test_a_carriage_return_alone_ends_the_command_s_line_as_github_shows_it() -> None:
    parsed = parse("/hotfix break-glass checkout is down\rlead is on the bridge", SYNTAXES)
    assert isinstance(parsed, Parsed)
    assert (parsed.arguments, parsed.line) == (
        "checkout is down",
        "/hotfix break-glass checkout is down",
    )
    assert parse("/hotfix\rwhat can you do?", SYNTAXES) == ParseError(
        "/hotfix", "it names no command"
    )


@PROPERTY
@given(
    logins,
    st.sampled_from(["", ",", ".", ":", "!?"]),
    st.none() | st.tuples(separators, line_texts),
    st.sampled_from(["/hotfix", "/Hotfix"]),
)
def test_a_verbal_approval_reads_its_approver_as_written(
    login: str, punctuation: str, note: tuple[str, str] | None, prefix: str
) -> None:
    if note is not None and note[1].startswith("@"):
        note = (note[0], f"said {note[1]}")  # a mention right after the approver: refused
    line = f"{prefix} verbal-approval @{login}{punctuation}"
    line += "".join(note or ())
    parsed = parse(f"{line}\n@dana, more words", SYNTAXES)
    assert isinstance(parsed, Parsed), parsed
    assert (parsed.syntax.name, parsed.arguments, parsed.line) == ("verbal-approval", login, line)


def begins_with_off(reason: str) -> bool:
    """Whether a reason's first word is `off`, in any case and with trailing punctuation."""
    return reason.split()[0].rstrip(string.punctuation).casefold() == "off"


@PROPERTY
@given(line_texts | line_texts.map(lambda text: text * (REASON_LIMIT // len(text) + 1)), separators)
def test_a_break_glass_reads_its_reason_as_written(reason: str, space: str) -> None:
    line = f"/hotfix break-glass{space}{reason}"
    parsed = parse(f"{line}\nlater lines", SYNTAXES)
    assert parsed.line == line
    if begins_with_off(reason):  # a withdrawal, or refused: a reason cannot begin so
        assert parsed.arguments is None if isinstance(parsed, Parsed) else "`off`" in parsed.reason
    else:
        assert isinstance(parsed, Parsed), parsed
        # Cut to the characters the issues and comments showing it take.
        cut = reason if len(reason) <= REASON_LIMIT else reason[: REASON_LIMIT - 1] + "…"
        assert parsed.arguments == cut


# --- durations and mentions -------------------------------------------------------------

UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
LONGEST = 30 * 86_400


@st.composite
def durations(draw: st.DrawFn) -> tuple[str, int]:
    """A duration as `.github/hotfix.yml` takes it, and its seconds."""
    parts = [
        (unit, draw(st.integers(0, 3 * LONGEST // seconds)), draw(st.integers(0, 2)))
        for unit, seconds in UNITS.items()
        if draw(st.booleans())
    ]
    total = sum(amount * UNITS[unit] for unit, amount, _ in parts)
    if not 0 < total <= LONGEST:
        parts, total = [("m", 15, 0)], 900
    return "".join(f"{'0' * zeros}{amount}{unit}" for unit, amount, zeros in parts), total


def seconds_of(text: str) -> int | None:
    """The seconds a duration says, written largest unit first, each once; None for any other
    text."""
    pieces = re.fullmatch(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text, re.ASCII)
    if not text or pieces is None:
        return None
    amounts = [int(amount or 0) for amount in pieces.groups()]
    return sum(amount * seconds for amount, seconds in zip(amounts, UNITS.values(), strict=True))


DURATION_WORDS = ["1", "2", "30", "90", "0", "00", "31", "720", "2592000", "2592001", "9" * 30]
DURATION_WORDS += ["d", "h", "m", "s", "D", "H", " ", "hours", "min", ".", "5", "-", "+", "1e3"]
duration_like = st.lists(st.sampled_from(DURATION_WORDS), min_size=1, max_size=6).map("".join)
other_values = st.integers() | st.floats() | st.booleans() | st.none() | st.lists(st.text())


def deadline_of(written: object) -> dict[str, Any]:
    return {"severities": {"P0": {"deadline": written}}}


@LOADING
@given(durations())
def test_a_duration_reads_as_the_seconds_it_says_and_shows_as_written(
    duration: tuple[str, int],
) -> None:
    text, seconds = duration
    config = load_config(yaml.safe_dump(deadline_of(text)), "main")
    deadline = config.severities["P0"].deadline
    assert deadline is not None
    assert (deadline.value.total_seconds(), str(deadline)) == (seconds, text)


@LOADING
@given(duration_like | st.text(max_size=10) | other_values)
def test_anything_else_is_a_config_error_naming_the_key(written: object) -> None:
    seconds = seconds_of(written.strip()) if isinstance(written, str) else None
    problems = loaded_or_problems(deadline_of(written))
    if seconds is not None and 0 < seconds <= LONGEST:
        assert problems == []
    else:
        assert problems, written
        assert all(problem.startswith("severities.P0.deadline: ") for problem in problems)


def mention_is_valid(mention: str) -> bool:
    """`@login`, `@org/team-slug`, `approvers` or `author` (docs/BEHAVIOUR.md, 'Escalation')."""
    if mention in ("approvers", "author"):
        return True
    login, slash, team = mention.removeprefix("@").partition("/")
    return (
        mention.startswith("@")
        and len(login) <= 39
        and re.fullmatch(r"[A-Za-z0-9](?:-?[A-Za-z0-9])*", login) is not None
        and (not slash or re.fullmatch(r"[A-Za-z0-9_-]+", team) is not None)
    )


MENTION_WORDS = ["@", "approvers", "author", "@acme", "/", "leads", "-", "_", "a" * 39, "b"]
MENTION_WORDS += ["@@", " ", "\n", "é", "@org/team", ".", "Author"]
mention_like = st.lists(st.sampled_from(MENTION_WORDS), min_size=1, max_size=5).map("".join)


def notified(mention: object) -> dict[str, Any]:
    return {"severities": {"P0": {"escalation": [{"after": "15m", "notify": [mention]}]}}}


@LOADING
@given(mention_like | st.text(max_size=12) | other_values)
def test_a_mention_is_taken_as_written_or_is_a_config_error_naming_it(mention: object) -> None:
    problems = loaded_or_problems(notified(mention))
    if isinstance(mention, str) and mention_is_valid(mention):
        assert problems == []
        config = load_config(yaml.safe_dump(notified(mention)), "main")
        assert config.severities["P0"].escalation[0].notify == [mention]
    else:
        assert problems, mention
        key = "severities.P0.escalation[0].notify"
        assert all(problem.startswith(key) for problem in problems), problems


# --- notice templates -------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
TEMPLATE_WORDS = ["{", "}", "{{", "}}", "{title}", "{pager}", "{ title }", "{0}", "{title!r}"]
TEMPLATE_WORDS += ["{reason}", "{_x}", "{repository}", "{number}", "{deadline}", "{Title}", "x"]
template_texts = st.lists(
    st.sampled_from(TEMPLATE_WORDS) | st.text(max_size=6), min_size=1, max_size=8
).map("".join)


@LOADING
@given(st.sampled_from(sorted(PLACEHOLDERS)), template_texts | other_values)
def test_a_template_loads_or_is_a_config_error_naming_its_unknown_placeholder(
    name: str, template: object
) -> None:
    problems = loaded_or_problems({"notices": {"templates": {name: template}}})
    if template is None:  # the built-in template
        assert problems == []
    elif not isinstance(template, str) or not template.strip():
        (problem,) = problems
        assert problem.startswith(f"notices.templates.{name}: must be a non-empty text")
    elif unknown := [w for w in PLACEHOLDER.findall(template) if w not in PLACEHOLDERS[name]]:
        (problem,) = problems
        assert problem.startswith(f"notices.templates.{name}: unknown placeholder")
        assert all(f"{{{word}}}" in problem for word in unknown)
    else:
        assert problems == []


@st.composite
def filled_templates(draw: st.DrawFn) -> tuple[str, dict[str, str], str]:
    """A template of `name`'s placeholders and text without braces, values that may hold any,
    and the text the template says."""
    name = draw(st.sampled_from(sorted(PLACEHOLDERS)))
    values = {
        placeholder: draw(template_texts | st.text(max_size=6))
        for placeholder in PLACEHOLDERS[name]
    }
    pieces = draw(
        st.lists(
            st.sampled_from(PLACEHOLDERS[name]).map(lambda word: ("{" + word + "}", values[word]))
            | st.text(st.characters(exclude_characters="{"), max_size=6).map(lambda t: (t, t)),
            max_size=8,
        )
    )
    return "".join(written for written, _ in pieces), values, "".join(said for _, said in pieces)


@PROPERTY
@given(filled_templates())
def test_a_value_holding_braces_is_inserted_as_it_is(
    filled: tuple[str, dict[str, str], str],
) -> None:
    template, values, said = filled
    assert fill(template, values) == said


# --- text shown in a table --------------------------------------------------------------


@PROPERTY
@given(
    st.text(max_size=20) | st.lists(st.sampled_from(["|", "\\", "\r", "\n", " ", "x"])).map("".join)
)
def test_any_text_is_one_table_cell_that_reads_as_written(text: str) -> None:
    """A row's cell (a reason, a title): on one line, its pipes no column's end, and read as
    written but for its line ends and the spaces around it."""
    shown = cell(text)
    assert re.fullmatch(r"(?:[^\\|\r\n]|\\\\|\\\|)+", shown), shown
    read = re.sub(r"\\(.)", r"\1", shown)
    assert read == (re.sub(r"\r\n?|\n", " ", text).strip() or " ")


def test_a_carriage_return_alone_does_not_end_a_table_row() -> None:
    assert cell("checkout is down\rlead is on it") == "checkout is down lead is on it"


# --- what else people write -------------------------------------------------------------


@PROPERTY
@given(st.integers(0, 10**8), st.booleans())
def test_the_times_hotfix_bot_writes_read_back_as_durations(seconds: int, exact: bool) -> None:
    """In the notation of durations (docs/BEHAVIOUR.md, 'Times'), to the minute from one on."""
    written = duration_words(timedelta(seconds=seconds), to_the_second=exact)
    shown = seconds if exact or seconds < 60 else seconds - seconds % 60
    assert seconds_of(written) == shown


DESCRIPTION_WORDS = ["Reverts acme/widgets#7", "Reverts #7", "<!--", "-->", "## Why", "- [ ] ok"]
DESCRIPTION_WORDS += ["\n", "\r\n", "\n\n", " ", "\t", ".", "checkout broke", "x" * 600]
descriptions = st.lists(st.sampled_from(DESCRIPTION_WORDS) | st.text(max_size=8), max_size=10)


@PROPERTY
@given(descriptions.map("".join))
def test_a_rollback_s_reason_is_one_line_of_its_description(description: str) -> None:
    reason = rollback_reason(description)
    if reason is not None:
        assert reason == " ".join(reason.split()) and reason
        assert len(reason) <= REASON_LIMIT and not reason.endswith(".")


def test_a_rollback_s_reason_ends_with_neither_its_full_stop_nor_the_space_before_it() -> None:
    assert rollback_reason("Reverts acme/widgets#7\n\nCheckout broke .") == "Checkout broke"


BRANCH_WORDS = ["1", "2", "10", "0", ".", "-", "rc", "x", "9" * 300, "9" * 5000, "+", "/"]
branch_names = st.builds(
    "{}{}".format,
    st.sampled_from(["release/", "release/v", "release/2", "hotfix/", "main"]),
    st.lists(st.sampled_from(BRANCH_WORDS), max_size=6).map("".join),
)


@PROPERTY
@given(st.lists(branch_names, max_size=5))
def test_a_back_merge_goes_into_one_of_the_release_branches_or_none(branches: list[str]) -> None:
    chosen = open_release_branch(
        "release/", branches, Version(1, 2, 3), production="main", development="release/2"
    )
    assert chosen is None or (chosen in branches and chosen.startswith("release/"))
    assert chosen != "release/2"


def test_a_release_branch_named_after_a_version_longer_than_any_is_none() -> None:
    """A version is at most MAX_VERSION_LENGTH characters (policies/versions.py); a name
    with more digits is not read as a number at all."""
    huge = "release/" + "9" * 5000
    kwargs = {"production": "main", "development": "develop"}
    assert open_release_branch("release/", [huge], Version(1, 2, 3), **kwargs) is None
    assert open_release_branch("release/", [huge, "release/2.0"], Version(1, 2, 3), **kwargs) == (
        "release/2.0"
    )

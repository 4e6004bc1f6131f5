"""Reading comment commands (docs/BEHAVIOUR.md, 'Comment commands'): pure text in, a command
and its arguments, or why it is none, out."""

from typing import Any

import pytest

from policies.commands import (
    CommandError,
    Parsed,
    ParseError,
    Syntax,
    accepted_forms,
    is_command,
    login_of,
    parse,
)


def read_greeting(text: str) -> str:
    if not text:
        raise CommandError("it needs someone to greet")
    return login_of(text.split()[0], "whom to greet")


GREET = Syntax("greet", ("/hotfix greet @login",), read_greeting)
PING = Syntax("ping", ("/hotfix ping", "/hotfix ping loudly"), lambda text: text == "loudly")
SYNTAXES: list[Syntax[Any]] = [GREET, PING]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/hotfix ping", True),
        ("/hotfix ping\nand more", True),
        ("/hotfix", True),  # names no command: answered with the accepted forms
        ("/hotfix  \r\nwhat can you do?", True),
        ("/Hotfix ping", True),  # written in a hurry, still a command
        ("/HOTFIX", True),
        ("/hotfixing", False),
        (" /hotfix ping", False),
        ("  /hotfix", False),
        ("please /hotfix ping", False),
        ("> /hotfix ping", False),
    ],
)
def test_a_command_is_a_comment_whose_first_line_starts_with_the_prefix_or_is_it_alone(
    body: str, expected: bool
) -> None:
    assert is_command(body) is expected


def test_a_command_is_its_first_line_read_against_the_syntaxes() -> None:
    parsed = parse("/hotfix greet @Lena  thanks on the call\r\nMore words.", SYNTAXES)

    assert parsed == Parsed(GREET, "Lena", "/hotfix greet @Lena  thanks on the call")


@pytest.mark.parametrize("space", ["\t", "\u00a0", "\t "])
def test_any_whitespace_ends_the_command_s_name(space: str) -> None:
    line = f"/hotfix greet{space}@lena on the call"

    assert parse(line, SYNTAXES) == Parsed(GREET, "lena", line)


def test_command_names_ignore_case() -> None:
    parsed = parse("/hotfix PING loudly", SYNTAXES)
    assert isinstance(parsed, Parsed)
    assert (parsed.syntax, parsed.arguments) == (PING, True)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("/hotfix approve @lena", "`approve` is not a hotfix-bot command"),
        ("/hotfix  ", "it names no command"),
        ("/hotfix", "it names no command"),
        ("/hotfix greet", "it needs someone to greet"),
        (
            "/hotfix greet lena",
            "whom to greet must be a GitHub login after @, such as `@lena` (got `lena`)",
        ),
        (
            "/hotfix greet @-lena",
            "whom to greet must be a GitHub login after @, such as `@lena` (got `@-lena`)",
        ),
    ],
)
def test_what_is_not_a_command_says_why(body: str, reason: str) -> None:
    assert parse(body, SYNTAXES) == ParseError(body.strip(), reason)


@pytest.mark.parametrize("body", ["greet @lena", "ping: is anyone there?", "> /hotfix ping"])
def test_a_comment_that_is_no_command_is_read_as_none_even_when_it_begins_with_a_name(
    body: str,
) -> None:
    assert parse(body, SYNTAXES) == ParseError(body, "its first line does not start with `/hotfix`")


def test_the_accepted_forms_are_every_syntaxs_forms_in_order() -> None:
    assert accepted_forms(SYNTAXES) == [
        "/hotfix greet @login",
        "/hotfix ping",
        "/hotfix ping loudly",
    ]

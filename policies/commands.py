"""Comment commands: a pull request comment whose first line is `/hotfix <command> ...`
(docs/BEHAVIOUR.md, 'Comment commands').

Pure: the comment's text in, the command it names with its arguments (or why it is none)
out. Each command declares its `Syntax` beside the code that carries it out; `parse` reads
a comment against the syntaxes it is given.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from policies.wording import LINE_END, code_span, shortened

PREFIX = "/hotfix "
_NAME = PREFIX.strip()
QUOTED_WORD = 100  # characters of a word of the command a refusal quotes
QUOTED_LINE = 1_000  # characters of the command line a reply quotes

# GitHub logins: letters, digits and single hyphens between them, at most 39 characters.
_LOGIN = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}")
# Punctuation a sentence may put right after a word: after a command's name or a mention, it
# is no part of either (`/hotfix break-glass: checkout is down`, `@lena, on the call`).
_PUNCTUATION = ",.:;!?"

Arguments = TypeVar("Arguments")


class CommandError(ValueError):
    """The words after a command's name do not fit its form; the message says how."""


@dataclass(frozen=True)
class Syntax(Generic[Arguments]):
    """How one command is written."""

    name: str  # the word after `/hotfix`, e.g. "verbal-approval"
    forms: tuple[str, ...]  # as replies list them: "/hotfix verbal-approval @login [note]"
    # The text after the name (stripped) -> the arguments; raises CommandError.
    read: Callable[[str], Arguments]


@dataclass(frozen=True)
class Parsed(Generic[Arguments]):
    syntax: Syntax[Arguments]
    arguments: Arguments
    line: str  # the command as written


@dataclass(frozen=True)
class ParseError:
    line: str  # the command as written
    reason: str  # why it is not a command hotfix-bot carries out, as a clause


def is_command(body: str) -> bool:
    """Whether a comment is a command: its first line starts with `/hotfix ` in any case
    (`/Hotfix`, written in a hurry, is still a command, and a command is never left
    unanswered), or is `/hotfix` alone (which names no command, and is answered with the
    accepted forms). A space before `/hotfix` makes it no command: it was not written as one."""
    return (
        body[: len(PREFIX)].casefold() == PREFIX
        or _first_line(body).rstrip(" ").casefold() == _NAME
    )


def command_line(body: str) -> str:
    """The first line of a comment: the command; what follows is free text."""
    return _first_line(body).strip()


def _first_line(body: str) -> str:
    """The first line as GitHub shows the comment: a carriage return alone ends a line as
    well (CommonMark), so what follows one is no part of the command people read."""
    return LINE_END.split(body, maxsplit=1)[0]


def parse(body: str, syntaxes: Sequence[Syntax[Any]]) -> Parsed[Any] | ParseError:
    line = command_line(body)
    if not is_command(body):
        # A comment people wrote about a command (`break-glass: lead is on it`) is none.
        return ParseError(line, "its first line does not start with `/hotfix`")
    # Any whitespace ends the name, as it separates the arguments (a tab, a no-break space).
    words = line[len(_NAME) :].split(maxsplit=1)
    if not words:
        return ParseError(line, "it names no command")
    name, rest = words[0], "".join(words[1:])
    wanted = name.rstrip(_PUNCTUATION).casefold()
    syntax = next((s for s in syntaxes if s.name == wanted), None)
    if syntax is None:
        quoted = code_span(shortened(name, QUOTED_WORD))
        return ParseError(line, f"{quoted} is not a hotfix-bot command")
    try:
        return Parsed(syntax, syntax.read(rest.strip()), line)
    except CommandError as error:
        return ParseError(line, str(error))


def accepted_forms(syntaxes: Sequence[Syntax[Any]]) -> list[str]:
    return [form for syntax in syntaxes for form in syntax.forms]


def login_of(word: str, what: str) -> str:
    """The login of an `@login` mention; `what` names it in the error ("the approver").
    Punctuation right after it (`@lena, on the call`) is no part of it: no login ends so, and
    GitHub mentions `lena` there too."""
    login = word.removeprefix("@").rstrip(_PUNCTUATION)
    if not word.startswith("@") or not _LOGIN.fullmatch(login):
        raise CommandError(
            f"{what} must be a GitHub login after @, such as `@lena` "
            f"(got {code_span(shortened(word, QUOTED_WORD))})"
        )
    return login

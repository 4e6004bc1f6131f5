"""Branch-name patterns from repository config, matched in linear time.

`hotfix_pattern` is written by whoever administers a repository, so a pattern such as
`^(a+)+$` must not be able to stall the service. RE2 guarantees matching in time linear
in the input and refuses constructs that would need backtracking (backreferences,
lookarounds) when the pattern is compiled, which is when the config is loaded.
"""

from functools import lru_cache
from typing import Any

import re2  # type: ignore[import-untyped]  # google-re2 ships no type information


class PatternError(ValueError):
    """The pattern cannot be used; the message says why in plain words."""


def _options() -> Any:
    options = re2.Options()
    # RE2 otherwise writes every rejected pattern to stderr; the caller reports it instead.
    options.log_errors = False
    return options


@lru_cache(maxsize=256)
def _compile(pattern: str) -> Any:
    try:
        return re2.compile(pattern, options=_options())
    except re2.error as error:
        reason = error.args[0] if error.args else error
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(
            f"is not a pattern hotfix-bot can use: {reason} "
            "(backreferences and lookarounds are not supported)"
        ) from None


def check_pattern(pattern: str) -> None:
    """Raise PatternError when `pattern` does not compile."""
    _compile(pattern)


def full_match(pattern: str, text: str) -> bool:
    """True when the whole of `text` matches `pattern`."""
    return _compile(pattern).fullmatch(text) is not None


def search(pattern: str, text: str) -> bool:
    """True when `pattern` matches anywhere in `text` (`^` anchors it at the start)."""
    return _compile(pattern).search(text) is not None


# What stands for something other than itself in RE2 outside a character class.
_SPECIAL = frozenset("\\.+*?()|[]{}^$")
_QUANTIFIERS = frozenset("?*+{")


def leading_literal(pattern: str) -> str:
    """Text that every name `pattern` fully matches begins with, as far as it can be read for
    sure: the characters it spells out at its start (after a `^`), letters and the like or
    escaped punctuation, up to its first other construct; a character a quantifier makes
    optional or repeats is not counted. "" when an alternation (`|`) or a quoted part (`\\Q`)
    makes that unsure."""
    if "|" in pattern or "\\Q" in pattern:
        return ""
    literal: list[str] = []
    position = 1 if pattern.startswith("^") else 0
    while position < len(pattern):
        character = pattern[position]
        if character == "\\" and position + 1 < len(pattern):
            escaped = pattern[position + 1]
            if escaped.isalnum() or escaped == "_" or not escaped.isascii():
                break  # a class (`\d`), an assertion (`\b`) or a code (`\x41`)
            literal.append(escaped)
            position += 2
        elif character in _SPECIAL:
            break
        else:
            literal.append(character)
            position += 1
    if position < len(pattern) and pattern[position] in _QUANTIFIERS and literal:
        literal.pop()
    return "".join(literal)

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

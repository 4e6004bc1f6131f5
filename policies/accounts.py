"""People's accounts as GitHub names them. A deleted account is `ghost` where GitHub's
description requires a user (a pull request's author), and null where it lets one be: it is
nobody hotfix-bot can assign, ask to review or mention (docs/BEHAVIOUR.md, 'The record and
the notices')."""

from collections.abc import Mapping
from typing import Any

# GitHub's login for every deleted account.
GHOST = "ghost"
# Said wherever the text would name or ask the author.
AUTHOR_DELETED = "the author's account was deleted"
# Said after the people a text names instead: `@acme/leads; not the author, whose ...`.
NOT_THE_DELETED_AUTHOR = "not the author, whose account was deleted"


def login_of(user: Mapping[str, Any] | None) -> str:
    """The login of a user as GitHub gives it; `GHOST` for a null one."""
    return GHOST if user is None else str(user["login"])


def is_deleted(login: str) -> bool:
    return login.casefold() == GHOST


def named(login: str) -> str:
    """`@dev`, or `a deleted account`, which no `@` mention reaches."""
    return "a deleted account" if is_deleted(login) else f"@{login}"

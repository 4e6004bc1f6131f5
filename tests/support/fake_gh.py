"""The `git` and `gh` that the commands of a *Finish by hand* run in tests (`by_hand`): each
records the calls it takes, and `gh` refuses what the real one refuses before it acts on
GitHub. It looks a label and an assignee up first, and stops at one it does not find (where
GitHub's API makes a missing label, and leaves an assignee it will not take out): here as
the state file (`BY_HAND_STATE`) says the repository stands, which the calls it takes keep
up to date. Only the standard library: it runs in a process of its own for each call."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any


def options() -> argparse.ArgumentParser:
    """The options of the `gh` commands *Finish by hand* gives (after their two words)."""
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("target", nargs="?")  # a number, an address or a label's name
    parser.add_argument("--title")
    parser.add_argument("--base")
    parser.add_argument("--head")
    parser.add_argument("--label", action="append", default=[])
    parser.add_argument("--assignee", action="append", default=[])
    parser.add_argument("--add-assignee", action="append", default=[])
    parser.add_argument("--body-file")
    return parser


def _refusal(state: dict[str, Any], command: list[str], argv: list[str]) -> str | None:
    """What `gh` says when it refuses `command` (its two words) with `argv`, as the
    repository stands in `state`; None when it takes it."""
    labels = {label.casefold() for label in state["labels"]}
    if command == ["label", "create"]:
        name = options().parse_args(argv).target
        if name.casefold() in labels:
            return (
                f'label with name "{name}" already exists; use `--force` to update its color '
                "and description"
            )
    if command in (["issue", "create"], ["issue", "edit"]):
        given = options().parse_args(argv)
        assignable = {login.casefold() for login in state["assignable"]}
        for login in given.assignee + given.add_assignee:
            if login.casefold() not in assignable:
                return f"could not assign user: '{login}' not found"
        for label in given.label:
            if label.casefold() not in labels:
                return f"could not add label: '{label}' not found"
    return None


def _take(state: dict[str, Any], command: list[str], argv: list[str]) -> str:
    """What the state becomes once `gh` did `command`; what it prints."""
    if command == ["label", "create"]:
        state["labels"].append(options().parse_args(argv).target)
    elif command in (["issue", "create"], ["pr", "create"]):
        number = state["next_number"]
        state["next_number"] += 1
        kind = "issues" if command[0] == "issue" else "pull"
        return f"https://github.com/{state['repository']}/{kind}/{number}\n"
    elif command == ["issue", "list"]:
        return f"{state['issue_list']}\n"
    return ""


def main(tool: str, argv: list[str]) -> int:
    stdin = sys.stdin.read()
    state_file = Path(os.environ["BY_HAND_STATE"])
    state = json.loads(state_file.read_text(encoding="utf-8"))
    command = argv[:2]
    if tool == "gh":
        refusal = _refusal(state, command, argv[2:])
        if refusal is not None:
            print(refusal, file=sys.stderr)
            return 1
        sys.stdout.write(_take(state, command, argv[2:]))
        state_file.write_text(json.dumps(state), encoding="utf-8")
    call = {"tool": tool, "argv": argv, "stdin": stdin}
    with open(os.environ["BY_HAND_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(call) + "\n")
    return 0

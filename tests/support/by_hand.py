"""The `hotfix-release` report's *Finish by hand*, followed as people would: its shell block run
by `sh`, with a `git` and a `gh` that record what they are given (their arguments, and what
reaches their standard input) instead of acting; `apply` then does on the fake GitHub what
each `gh` would have done there."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sandbox import FakeRepo

# Records one call a line; `gh issue list` answers what the test says it finds.
_RECORDER = f"""#!{sys.executable}
import json, os, sys
call = {{"tool": os.path.basename(sys.argv[0]), "argv": sys.argv[1:], "stdin": sys.stdin.read()}}
with open(os.environ["BY_HAND_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(call) + "\\n")
if sys.argv[1:3] == ["issue", "list"]:
    print(os.environ["BY_HAND_ISSUE_LIST"])
"""


@dataclass(frozen=True, slots=True)
class Call:
    argv: list[str]
    stdin: str


def commands_block(summary: str) -> str:
    """The shell block of a report's *Finish by hand*, fenced with three backticks or more."""
    found = re.search(r"^(`{3,})sh\n(.*?)\n\1$", summary, re.DOTALL | re.MULTILINE)
    assert found is not None, summary
    return found.group(2)


def run_by_hand(summary: str, directory: Path, issue_list: str = "") -> list[Call]:
    """The `gh` calls the report's commands make, run in `directory`; `gh issue list` finds
    `issue_list`."""
    tools = directory / "tools"
    tools.mkdir()
    for name in ("git", "gh"):
        (tools / name).write_text(_RECORDER, encoding="utf-8")
        (tools / name).chmod(0o755)
    log = directory / "calls.jsonl"
    environment = {
        **os.environ,
        "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}",
        "BY_HAND_LOG": str(log),
        "BY_HAND_ISSUE_LIST": issue_list,
    }
    subprocess.run(
        ["sh", "-c", commands_block(summary)],
        cwd=directory,
        env=environment,
        stdin=subprocess.DEVNULL,
        check=True,
        timeout=20,
    )
    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    return [Call(call["argv"], call["stdin"]) for call in calls if call["tool"] == "gh"]


def _options() -> argparse.ArgumentParser:
    """The options of `gh issue create`, `gh issue edit`, `gh issue comment` and
    `gh pr comment` the commands use."""
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("number", nargs="?", type=int)
    parser.add_argument("--title")
    parser.add_argument("--label", action="append", default=[])
    parser.add_argument("--assignee", action="append", default=[])
    parser.add_argument("--body-file")
    return parser


def apply(calls: list[Call], repo: FakeRepo, author: str) -> None:
    """Do on `repo`, as `author`, what `gh` would have done for each of `calls`; the body of
    each is what reached its standard input (`--body-file -`)."""
    for call in calls:
        command = call.argv[:2]
        if command == ["issue", "list"]:
            continue  # it only looks
        options = _options().parse_args(call.argv[2:])
        assert options.body_file == "-", call
        if command == ["issue", "create"]:
            repo.open_issue(
                options.title,
                author=author,
                body=call.stdin,
                labels=options.label,
                assignees=options.assignee,
            )
        elif command == ["issue", "edit"]:
            repo.edit_issue(options.number, repo.issues[options.number].title, call.stdin)
        elif command in (["issue", "comment"], ["pr", "comment"]):
            repo.add_comment(options.number, author, call.stdin)
        else:
            raise AssertionError(f"no such gh command in the report: {call.argv}")

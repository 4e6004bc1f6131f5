"""The `hotfix-release` report's *Finish by hand*, followed as people would: its shell block run
by `sh`, with a `git` and a `gh` that record what they are given (their arguments, and what
reaches their standard input) instead of acting, `gh` refusing what the real one would on the
test's repository (`support.fake_gh`); `apply` then does on the fake GitHub what each `gh`
would have done there."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sandbox import FakeRepo
from support.fake_gh import options


def _tool(name: str) -> str:
    """The program `name` (`git`, `gh`): `support.fake_gh`, in a process of its own, as the
    real one would run."""
    return (
        f"#!{sys.executable}\n"
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "import fake_gh\n"
        f"sys.exit(fake_gh.main({name!r}, sys.argv[1:]))\n"
    )


@dataclass(frozen=True, slots=True)
class Call:
    argv: list[str]
    stdin: str


def commands_block(summary: str) -> str:
    """The shell block of a report's *Finish by hand*, fenced with three backticks or more."""
    found = re.search(r"^(`{3,})sh\n(.*?)\n\1$", summary, re.DOTALL | re.MULTILINE)
    assert found is not None, summary
    return found.group(2)


def run_by_hand(
    summary: str, directory: Path, repo: FakeRepo, issue_list: str = "", *, fails: bool = False
) -> list[Call]:
    """The `gh` calls the report's commands make, run in `directory`, that `gh` takes as
    `repo` stands (its labels, and its collaborators as the people it may assign); `gh issue
    list` finds `issue_list`. The block's last command fails when `fails` says so."""
    tools = directory / "tools"
    tools.mkdir()
    for name in ("git", "gh"):
        (tools / name).write_text(_tool(name), encoding="utf-8")
        (tools / name).chmod(0o755)
    log, state = directory / "calls.jsonl", directory / "github.json"
    log.touch()
    repository = {
        "repository": repo.full_name,
        "labels": sorted(repo.labels),
        "assignable": sorted(repo.collaborators),
        "next_number": repo.next_number,
        "issue_list": issue_list,
    }
    state.write_text(json.dumps(repository), encoding="utf-8")
    environment = {
        **os.environ,
        "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}",
        "BY_HAND_LOG": str(log),
        "BY_HAND_STATE": str(state),
    }
    ran = subprocess.run(
        ["sh", "-c", commands_block(summary)],
        cwd=directory,
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert (ran.returncode != 0) == fails, ran.stderr
    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    return [Call(call["argv"], call["stdin"]) for call in calls if call["tool"] == "gh"]


def apply(calls: list[Call], repo: FakeRepo, author: str) -> None:
    """Do on `repo`, as `author`, what `gh` did for each of `calls` (the ones it took); the
    body of each is what reached its standard input (`--body-file -`)."""
    for call in calls:
        command = call.argv[:2]
        if command == ["issue", "list"]:
            continue  # it only looks
        given = options().parse_args(call.argv[2:])
        if command == ["label", "create"]:
            repo.create_label(given.target)
        elif command == ["issue", "edit"] and given.add_assignee:
            # The address `gh issue create` printed.
            repo.assign(int(given.target.rsplit("/", 1)[1]), *given.add_assignee)
        elif command == ["issue", "edit"]:
            number = int(given.target)
            repo.edit_issue(number, repo.issues[number].title, call.stdin)
        elif command == ["issue", "create"]:
            assert given.body_file == "-", call
            repo.open_issue(
                given.title,
                author=author,
                body=call.stdin,
                labels=given.label,
                assignees=given.assignee,
            )
        elif command == ["pr", "create"]:
            assert given.body_file == "-", call
            repo.open_pull(
                given.head, given.base, title=given.title, author=author, body=call.stdin
            )
        elif command in (["issue", "comment"], ["pr", "comment"]):
            assert given.body_file == "-", call
            repo.add_comment(int(given.target), author, call.stdin)
        else:
            raise AssertionError(f"no such gh command in the report: {call.argv}")

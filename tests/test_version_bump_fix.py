"""The `version-bump` check's *How to fix* followed literally (docs/BEHAVIOUR.md, 'Rules'): its
shell block run by `sh` with real git (and npm), in a clone of a bare repository that stands
in for the one on GitHub."""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from support.git_shell import run_in_shell

from policies.config import load_config
from policies.evaluate import evaluate
from policies.facts import PullRequestFacts
from policies.files import FileText
from policies.result import Status
from policies.rules import version_bump

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

HEAD = "hotfix/fix-login"
BUMPED = "Bump the version to 1.2.4"
PACKAGE = '{\n  "name": "web",\n  "version": "1.2.3",\n  "private": true\n}\n'
# As `npm install --package-lock-only` writes it for PACKAGE.
LOCKFILE = (
    '{\n  "name": "web",\n  "version": "1.2.3",\n  "lockfileVersion": 3,\n  "requires": true,\n'
    '  "packages": {\n    "": {\n      "name": "web",\n      "version": "1.2.3"\n    }\n  }\n}\n'
)


# A `gh` that records what it is given (`home/gh.jsonl`), shows the pull request's
# description to `gh pr view` and, in a clone of the fork the pull request's branch is in,
# checks that branch out for `gh pr checkout` as gh does: GitHub itself is not reached.
GH = f"""#!{sys.executable}
import json, os, subprocess, sys
with open(os.path.join(os.environ["HOME"], "gh.jsonl"), "a") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "stdin": sys.stdin.read()}}) + "\\n")
if sys.argv[1:3] == ["pr", "view"]:
    print("Fixes the login.")
if sys.argv[1:3] == ["pr", "checkout"]:
    subprocess.run(["git", "fetch", "-q", "origin", "{HEAD}"], check=True)
    subprocess.run(["git", "checkout", "-q", "-B", "{HEAD}", "origin/{HEAD}"], check=True)
"""


def run(script: str, directory: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """`script` run by `sh` in `directory`, git and npm keeping their settings in `home`, and
    `gh` recording its calls there."""
    return run_in_shell(
        script,
        directory,
        home,
        {
            "PATH": f"{home / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "npm_config_cache": str(home / "npm"),
            "npm_config_offline": "true",
            "npm_config_update_notifier": "false",
        },
    )


class Repository:
    """`origin.git`, as on GitHub: `main` holds `files`, the head branch `head` a fix on top;
    and `clone`, where the head branch was checked out once, now on `main`."""

    def __init__(self, root: Path, files: dict[str, str], head: str = HEAD) -> None:
        self.root, self.home = root, root / "home"
        (self.home / "bin").mkdir(parents=True)
        (self.home / "bin" / "gh").write_text(GH, encoding="utf-8")
        (self.home / "bin" / "gh").chmod(0o755)
        self.git("init -q --bare -b main origin.git")
        self.git("clone -q origin.git author")
        for path, text in files.items():
            (root / "author" / path).parent.mkdir(parents=True, exist_ok=True)
            (root / "author" / path).write_text(text, encoding="utf-8")
        self.git("add -A && git commit -qm Base && git push -q origin main", "author")
        self.git(f"checkout -qb {head} && git commit -q --allow-empty -m Fix", "author")
        self.git(f"push -q origin {head}", "author")
        self.git("clone -q origin.git clone")
        self.git(f"checkout -q {head} && git checkout -q main", "clone")

    def git(self, arguments: str, directory: str = "") -> str:
        done = run(f"git {arguments}", self.root / directory, self.home)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def colleague_pushes(self) -> None:
        """The head branch moves on on GitHub, as when GitHub's "Update branch" is used."""
        self.git(f"commit -q --allow-empty -m Colleague && git push -q origin {HEAD}", "author")

    def follow(self, how_to_fix: str, clone: str = "clone") -> subprocess.CompletedProcess[str]:
        """The fix's one block of commands, pasted in `clone`."""
        [block] = how_to_fix.split("```sh\n")[1:]
        return run(block.removesuffix("\n```"), self.root / clone, self.home)

    def release_elsewhere(self) -> None:
        """Another hotfix cut from 1.2.3 bumps it to 1.2.4 and is merged into main."""
        self.git("checkout -q -b hotfix/first main && printf '1.2.4\\n' > VERSION", "author")
        self.git("commit -qam 'Fix first, 1.2.4' && git checkout -q main", "author")
        self.git("merge -q --no-ff --no-edit hotfix/first && git push -q origin main", "author")

    def merge_conflicts(self, head: str = HEAD) -> str:
        """What conflicts when GitHub merges the pull request from `head` into main: nothing
        when they merge cleanly."""
        merged = run(
            f"git --git-dir=origin.git merge-tree --write-tree --name-only main {head}",
            self.root,
            self.home,
        )
        return "" if merged.returncode == 0 else merged.stdout

    def on_github(self, path: str, branch: str = HEAD) -> str:
        return self.git(f"--git-dir=origin.git show {branch}:{path}")

    def history(self, where: str = "origin.git", branch: str = HEAD) -> list[str]:
        return self.git(f"--git-dir={where} log --format=%s {branch}").splitlines()

    def changes_left(self) -> str:
        return self.git("status --porcelain", "clone")

    def gh_calls(self) -> list[tuple[list[str], str]]:
        """What `gh` was given: its arguments, and what reached its standard input."""
        log = self.home / "gh.jsonl"
        lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
        return [(call["argv"], call["stdin"]) for call in map(json.loads, lines)]


def pull_request(files: dict[str, str], head: str = HEAD) -> PullRequestFacts:
    """A hotfix pull request from `head` whose head holds the base's `files` as they are."""
    versions: dict[str, FileText] = {**files}
    return PullRequestFacts(
        number=7,
        title="Fix login",
        author="dev",
        head_ref=head,
        head_sha="a" * 40,
        base_ref="main",
        base_sha="c" * 40,
        head_repo_full_name="acme/shop",
        head_is_same_repo=True,
        labels=frozenset({"hotfix", "P0"}),
        default_branch="main",
        reviews=[],
        base_version_files=versions,
        head_version_files=versions,
    )


def how_to_fix(files: dict[str, str], config: str | None = None) -> str:
    """The fix for a pull request from `HEAD` whose head holds the base's `files` as they
    are: it sets them to 1.2.4."""
    return version_bump.check(load_config(config, "main"), pull_request(files)).how_to_fix


def test_the_fix_commits_on_the_branch_as_github_has_it_and_is_pushed(tmp_path: Path) -> None:
    """The clone's copy of the head branch is behind GitHub's: the commit goes on top of
    GitHub's, so the push is taken."""
    repository = Repository(tmp_path, {"VERSION": "1.2.3\n"})
    repository.colleague_pushes()

    done = repository.follow(how_to_fix({"VERSION": "1.2.3\n"}))

    assert done.returncode == 0, done.stderr
    assert repository.on_github("VERSION") == "1.2.4\n"
    assert repository.history() == [BUMPED, "Colleague", "Fix", "Base"]
    assert repository.changes_left() == ""


def test_the_fix_stops_rather_than_drop_commits_github_does_not_have(tmp_path: Path) -> None:
    """The clone's head branch has a commit of its own, GitHub's another: both are kept, and
    nothing is changed, committed or pushed."""
    repository = Repository(tmp_path, {"VERSION": "1.2.3\n"})
    repository.git(f"checkout -q {HEAD} && git commit -q --allow-empty -m Mine", "clone")
    repository.git("checkout -q main", "clone")
    repository.colleague_pushes()

    done = repository.follow(how_to_fix({"VERSION": "1.2.3\n"}))

    assert done.returncode != 0
    assert "Not possible to fast-forward" in done.stderr
    assert repository.history("clone/.git") == ["Mine", "Fix", "Base"]
    assert repository.history() == ["Colleague", "Fix", "Base"]
    assert (tmp_path / "clone" / "VERSION").read_text(encoding="utf-8") == "1.2.3\n"
    assert repository.changes_left() == ""


def test_the_branch_name_fix_then_the_bump_leave_the_new_branch_bumped(tmp_path: Path) -> None:
    """A hotfix from a wrongly named branch that lacks the bump: `branch-name`'s fix moves the
    work to a renamed branch (where the new pull request is), then `version-bump`'s, followed
    next, bumps that branch, not the one left behind."""
    repository = Repository(tmp_path, {"VERSION": "1.2.3\n"}, head="hotfix/Fix_Login")
    verdict = evaluate(
        load_config(None, "main"), pull_request({"VERSION": "1.2.3\n"}, "hotfix/Fix_Login")
    )
    fixes = {result.rule: result.how_to_fix for result in verdict.results}

    for rule in ("branch-name", "version-bump"):
        done = repository.follow(fixes[rule])
        assert done.returncode == 0, (rule, done.stderr)

    assert repository.on_github("VERSION", "hotfix/fix-login") == "1.2.4\n"
    assert repository.history(branch="hotfix/fix-login") == [BUMPED, "Fix", "Base"]
    assert repository.history(branch="hotfix/Fix_Login") == ["Fix", "Base"]
    assert repository.changes_left() == ""
    # The new pull request as this one is: its title, description and labels.
    assert repository.gh_calls() == [
        (["pr", "view", "7", "--json", "body", "--jq", ".body"], ""),
        (
            ["pr", "create", "--base", "main", "--head", "hotfix/fix-login", "--title",
             "Fix login", "--label", "P0", "--label", "hotfix", "--body-file", "-"],
            "Fixes the login.\n",
        ),
        (["pr", "close", "7"], ""),
    ]  # fmt: skip


def test_the_fix_after_the_base_released_the_same_version_leaves_a_branch_that_merges(
    tmp_path: Path,
) -> None:
    """Two hotfixes cut from 1.2.3 both bump it to 1.2.4; the first is merged into main. The
    second's fix, followed literally, takes main's 1.2.4 in (the same change on both sides)
    before setting 1.2.5: the branch then merges into main without a conflict, and passes."""
    repository = Repository(tmp_path, {"VERSION": "1.2.3\n"})
    repository.git(f"checkout -q {HEAD} && printf '1.2.4\\n' > VERSION", "author")
    repository.git(f"commit -qam 'Fix login, 1.2.4' && git push -q origin {HEAD}", "author")
    repository.release_elsewhere()

    fix = how_to_fix({"VERSION": "1.2.4\n"})
    assert fix.startswith(
        f"{HEAD} does not go past main's version, 1.2.4: the commands bring it up to date with "
        f"main first, so that the bump merges cleanly. Set the version to 1.2.5 on {HEAD}, "
        "commit it and push it:\n\n"
    )
    done = repository.follow(fix)

    assert done.returncode == 0, done.stderr
    assert repository.changes_left() == ""
    on_main, on_head = repository.on_github("VERSION", "main"), repository.on_github("VERSION")
    assert (on_main, on_head) == ("1.2.4\n", "1.2.5\n")
    passed = version_bump.check(
        load_config(None, "main"),
        replace(pull_request({"VERSION": on_main}), head_version_files={"VERSION": on_head}),
    )
    assert passed.status is Status.PASS
    assert repository.merge_conflicts() == ""


def test_the_fix_of_a_pull_request_from_a_fork_brings_in_this_repository_s_main(
    tmp_path: Path,
) -> None:
    """The fork was made at 1.2.3 and its main stays there while another hotfix takes this
    repository's main to 1.2.4. Followed in a clone of the fork, whose `origin` is the fork,
    the fix takes this repository's 1.2.4 in, not the fork's stale main, before setting
    1.2.5: the branch then merges into main without a conflict."""
    repository = Repository(tmp_path, {"VERSION": "1.2.3\n"})
    repository.git("clone -q --bare origin.git fork.git")
    repository.git(f"checkout -q {HEAD} && printf '1.2.4\\n' > VERSION", "author")
    repository.git(f"commit -qam 'Fix login, 1.2.4' && git push -q ../fork.git {HEAD}", "author")
    repository.release_elsewhere()
    repository.git("clone -q fork.git fork-clone")

    facts = replace(
        pull_request({"VERSION": "1.2.4\n"}),
        head_is_same_repo=False,
        head_repo_full_name="octo/shop",
        clone_url=str(tmp_path / "origin.git"),
    )
    done = repository.follow(
        version_bump.check(load_config(None, "main"), facts).how_to_fix, "fork-clone"
    )

    assert done.returncode == 0, done.stderr
    assert repository.on_github("VERSION", "main") == "1.2.4\n"
    assert repository.git(f"--git-dir=fork.git show {HEAD}:VERSION") == "1.2.5\n"
    # GitHub's merge of the pull request, whose head it keeps as refs/pull/12/head.
    repository.git(f"--git-dir=origin.git fetch -q fork.git {HEAD}:refs/pull/12/head")
    assert repository.merge_conflicts("refs/pull/12/head") == ""


def test_the_fix_after_the_base_caught_up_with_the_latest_release_leaves_a_branch_that_merges(
    tmp_path: Path,
) -> None:
    """v1.2.4 was released from elsewhere while main says 1.2.3, and the hotfix bumps it to
    1.2.4. Followed literally, main set to 1.2.4 first, the fix takes main's 1.2.4 in (the
    same change on both sides) before setting 1.2.5: the branch then merges into main without
    a conflict, and passes."""
    repository = Repository(tmp_path, {"VERSION": "1.2.3\n"})
    repository.git(f"checkout -q {HEAD} && printf '1.2.4\\n' > VERSION", "author")
    repository.git(f"commit -qam 'Fix login, 1.2.4' && git push -q origin {HEAD}", "author")
    released = frozenset({"v1.2.4"})
    behind = replace(
        pull_request({"VERSION": "1.2.3\n"}),
        head_version_files={"VERSION": "1.2.4\n"},
        existing_tags=released,
    )
    fix = version_bump.check(load_config(None, "main"), behind).how_to_fix
    assert fix.startswith(
        "Set VERSION on main to 1.2.4, the version tagged v1.2.4, first (if a later version "
        "was released, use that one, and its next patch instead of 1.2.5).\n\n"
        f"Once main holds it, the commands bring {HEAD} up to date with main first, so that "
        f"the bump merges cleanly. If main then holds another version than {HEAD} in VERSION "
        "(a later release, say), the merge stops on a conflict there: keep main's version "
        "(`git checkout --theirs -- VERSION && git add VERSION && git commit --no-edit`), "
        "and run the commands after the merge. "
        f"Then set the version to 1.2.5 on {HEAD}, commit it and push it:\n\n"
    )

    repository.git("checkout -q main && printf '1.2.4\\n' > VERSION", "author")
    repository.git("commit -qam 'Catch up with v1.2.4' && git push -q origin main", "author")
    done = repository.follow(fix)

    assert done.returncode == 0, done.stderr
    assert repository.changes_left() == ""
    on_main, on_head = repository.on_github("VERSION", "main"), repository.on_github("VERSION")
    assert (on_main, on_head) == ("1.2.4\n", "1.2.5\n")
    caught_up = replace(
        behind, base_version_files={"VERSION": on_main}, head_version_files={"VERSION": on_head}
    )
    assert version_bump.check(load_config(None, "main"), caught_up).status is Status.PASS
    assert repository.merge_conflicts() == ""


def test_a_head_that_holds_the_next_patch_of_the_release_is_told_the_conflict_to_resolve(
    tmp_path: Path,
) -> None:
    """v1.2.4 was released from elsewhere while main says 1.2.3, and the hotfix holds 1.2.5
    already: no commands are needed, but main set to 1.2.4 conflicts with it at GitHub's
    merge. Merged in as the fix says, keeping 1.2.5 where VERSION conflicts, the branch then
    merges into main without a conflict."""
    repository = Repository(tmp_path, {"VERSION": "1.2.3\n"})
    repository.git(f"checkout -q {HEAD} && printf '1.2.5\\n' > VERSION", "author")
    repository.git(f"commit -qam 'Fix login, 1.2.5' && git push -q origin {HEAD}", "author")
    behind = replace(
        pull_request({"VERSION": "1.2.3\n"}),
        head_version_files={"VERSION": "1.2.5\n"},
        existing_tags=frozenset({"v1.2.4"}),
    )
    fix = version_bump.check(load_config(None, "main"), behind).how_to_fix
    assert fix.endswith(
        f"; {HEAD} holds 1.2.5 already, but GitHub would then find VERSION conflicting with "
        f"main's: merge main into {HEAD}, keep 1.2.5 there, commit the merge and push it (the "
        "push runs this check again)"
    )
    repository.git("checkout -q main && printf '1.2.4\\n' > VERSION", "author")
    repository.git("commit -qam 'Catch up with v1.2.4' && git push -q origin main", "author")
    assert repository.merge_conflicts() != ""

    merged = run(
        f"git fetch -q origin && git checkout -q {HEAD} && git merge -q --ff-only origin/{HEAD} "
        "&& git merge -q origin/main",
        tmp_path / "clone",
        repository.home,
    )
    assert "CONFLICT (content): Merge conflict in VERSION" in merged.stdout
    assert repository.git("diff --name-only --diff-filter=U", "clone") == "VERSION\n"
    repository.git("checkout -q --ours VERSION && git add VERSION", "clone")
    repository.git(f"commit -q --no-edit && git push -q origin {HEAD}", "clone")

    assert repository.on_github("VERSION") == "1.2.5\n"
    assert repository.merge_conflicts() == ""


@pytest.mark.skipif(shutil.which("npm") is None, reason="needs npm")
@pytest.mark.parametrize("lockfile", ["package-lock.json", "npm-shrinkwrap.json"])
def test_the_fix_commits_the_lockfile_npm_sets_beside_package_json(
    tmp_path: Path, lockfile: str
) -> None:
    """npm sets the version in the lockfile beside package.json too, where there is one:
    pushed with it, the two agree on GitHub and nothing is left to commit."""
    packages = {"package.json": PACKAGE, "web/package.json": PACKAGE}
    repository = Repository(tmp_path, {**packages, f"web/{lockfile}": LOCKFILE})

    done = repository.follow(
        how_to_fix(packages, "version: {files: [package.json, web/package.json]}")
    )

    assert done.returncode == 0, done.stderr
    for package in packages:
        assert json.loads(repository.on_github(package))["version"] == "1.2.4"
    locked = json.loads(repository.on_github(f"web/{lockfile}"))
    assert (locked["version"], locked["packages"][""]["version"]) == ("1.2.4", "1.2.4")
    assert repository.history() == [BUMPED, "Fix", "Base"]
    assert repository.changes_left() == ""

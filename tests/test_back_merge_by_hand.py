"""The back-merge's *Finish by hand* followed literally (docs/BEHAVIOUR.md, 'After the merge'):
its commands run by `sh` with real git, in a clone of a bare repository that stands in for
the one on GitHub, where the hotfix is merged into production and the release branch has
moved on with a version of its own."""

import shutil
import subprocess
from pathlib import Path

import pytest
from support.git_shell import run_in_shell as run

from app.handlers.release.plan import ReleasePlan
from app.handlers.release.steps.back_merge import back_merge_commands
from policies.config import load_config
from policies.versions import parse_version

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

TARGET = "rel/1.5.0"
CONFIG = "version:\n  files: [VERSION, web/package.json]\ntag:\n  format: 'widgets-{version}'\n"
MERGED_BACK = f"Merge hotfix widgets-1.4.3 back into {TARGET}"


def package(version: str, lodash: str = "4.17.20") -> str:
    return (
        f'{{\n  "name": "web",\n  "version": "{version}",\n'
        f'  "private": true,\n\n  "dependencies": {{\n    "lodash": "{lodash}"\n  }}\n}}\n'
    )


class Repository:
    """`origin.git`: `live` with the hotfix merged into it, `rel/1.5.0` cut from `live` before
    that with its own version and `feature.txt`; and `clone`, made before either moved."""

    def __init__(self, root: Path, hotfix: dict[str, str], release: dict[str, str]) -> None:
        self.root, self.home = root, root / "home"
        self.home.mkdir()
        self.git("init -q --bare -b live origin.git")
        self.git("clone -q origin.git author")
        self.commit({"VERSION": "1.4.2\n", "web/package.json": package("1.4.2")}, "Base")
        self.git("push -q origin live", "author")
        self.git("clone -q origin.git clone")
        self.git(f"checkout -qb {TARGET}", "author")
        self.commit(release, "Start 1.5.0")
        self.git(f"push -q origin {TARGET} && git checkout -q -b urgent/fix-api live", "author")
        self.commit(hotfix, "Fix the api")
        self.git("checkout -q live && git merge -q --no-ff urgent/fix-api -m Merged", "author")
        self.git("push -q origin live", "author")
        self.merge_sha = self.git("rev-parse live", "author").strip()

    def commit(self, files: dict[str, str], message: str) -> None:
        for path, text in files.items():
            (self.root / "author" / path).parent.mkdir(parents=True, exist_ok=True)
            (self.root / "author" / path).write_text(text, encoding="utf-8")
        self.git(f"add -A && git commit -qm '{message}'", "author")

    def git(self, arguments: str, directory: str = "") -> str:
        done = run(f"git {arguments}", self.root / directory, self.home)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def finish_by_hand(self) -> subprocess.CompletedProcess[str]:
        """The report's block for this back-merge, `git fetch origin` first, pasted in
        `clone`."""
        plan = ReleasePlan(
            repository="acme/widgets",
            repository_url="https://github.com/acme/widgets",
            number=7,
            title="Fix the api",
            author="dev",
            hotfix_url="https://github.com/acme/widgets/pull/7",
            merge_sha=self.merge_sha,
            head_ref="urgent/fix-api",
            head_sha="a" * 40,
            head_repository="acme/widgets",
            head_in_repository=True,
            default_branch="live",
            config=load_config(CONFIG, "live"),
            version=parse_version("1.4.3"),
            back_merge_target=TARGET,
        )
        script = "\n".join(["git fetch origin", *back_merge_commands(plan)])
        return run(script, self.root / "clone", self.home)

    def on_github(self, path: str) -> str:
        return self.git(f"--git-dir=origin.git show {TARGET}:{path}")

    def merged_back(self) -> bool:
        ancestor = f"merge-base --is-ancestor {self.merge_sha} {TARGET}"
        return run(f"git --git-dir=origin.git {ancestor}", self.root, self.home).returncode == 0


def test_a_conflict_in_version_files_alone_is_settled_keeping_the_targets_version(
    tmp_path: Path,
) -> None:
    """Both sides moved the version: the release branch keeps 1.5.0-rc.1, and gets the fix
    and the hotfix's other change to `web/package.json` (lodash) all the same."""
    repository = Repository(
        tmp_path,
        hotfix={
            "VERSION": "1.4.3\n",
            "web/package.json": package("1.4.3", lodash="4.17.21"),
            "api.py": "fixed\n",
        },
        release={"VERSION": "1.5.0-rc.1\n", "web/package.json": package("1.5.0-rc.1")},
    )

    done = repository.finish_by_hand()

    assert done.returncode == 0, done.stderr
    assert repository.merged_back()
    assert repository.on_github("VERSION") == "1.5.0-rc.1\n"
    assert repository.on_github("web/package.json") == package("1.5.0-rc.1", lodash="4.17.21")
    assert repository.on_github("api.py") == "fixed\n"
    assert repository.git(f"--git-dir=origin.git log -1 --format=%s {TARGET}") == (
        f"{MERGED_BACK}\n"
    )


def test_any_other_conflict_is_left_in_the_clone_for_people_to_resolve(tmp_path: Path) -> None:
    """`api.py` conflicts beside the version: nothing is settled, committed or pushed, and
    the clone is left mid-merge with both conflicts."""
    repository = Repository(
        tmp_path,
        hotfix={"VERSION": "1.4.3\n", "web/package.json": package("1.4.3"), "api.py": "fixed\n"},
        release={"VERSION": "1.5.0-rc.1\n", "api.py": "reworked\n"},
    )

    repository.finish_by_hand()

    assert not repository.merged_back()
    assert repository.on_github("VERSION") == "1.5.0-rc.1\n"
    unmerged = repository.git("diff --name-only --diff-filter=U", "clone")
    assert unmerged == "VERSION\napi.py\n"

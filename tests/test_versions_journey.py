"""Developers of several ecosystems bump the version of a hotfix as the `version-bump` check
tells them (docs/BEHAVIOUR.md, 'Rules'), its commands run by `sh` on the files of the branch;
the hotfix then merges, is tagged and released, and its back-merge into develop keeps
develop's version files (section 'Steps', 3. Back-merge)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from support.harness import Bot

from sandbox import FakePull

BRANCH = "hotfix/fix-login"
APP_PY = "def login(): ...\n"
FIXED = "def login(): fixed\n"


def how_to_fix(bot: Bot, pull: FakePull, rule: str = "version-bump") -> str:
    """What the run of the pull request's head commit says under `rule`, as people read it."""
    summary: str = bot.policy_run(bot.repo.pulls[pull.number].head_sha).output["summary"]
    section = summary.split(f"\n### `{rule}`\n\n", 1)[1]
    return section.split("\n\n### `", 1)[0].split("\n\n## ", 1)[0]


def row(bot: Bot, pull: FakePull, rule: str = "version-bump") -> str:
    summary: str = bot.policy_run(bot.repo.pulls[pull.number].head_sha).output["summary"]
    [line] = [line for line in summary.splitlines() if line.startswith(f"| `{rule}` |")]
    return line


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)\n```", text, re.DOTALL)


def tracked_listed(command: str, tracked: Mapping[str, str]) -> str:
    """`command` with each `$(git ls-files ...)` replaced as the shell does: by the paths it
    names that git tracks (`tracked`, the files of the branch checked out)."""

    def listed(found: re.Match[str]) -> str:
        return " ".join(path for path in shlex.split(found[1]) if path in tracked)

    return re.sub(r"\$\(git ls-files ([^)]*)\)", listed, command)


def write_tree(work: Path, tree: Mapping[str, str]) -> None:
    """`work` holds the files of `tree`, and only those."""
    shutil.rmtree(work, ignore_errors=True)
    for path, content in tree.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_bytes(content.encode())


def follow(bot: Bot, tmp_path: Path, text: str, by_hand: dict[str, str] | None = None) -> None:
    """The fix's commands run as a developer runs them: git's effects done on the fake GitHub
    (the base merged in, the files committed and pushed), every other command run by `sh` on
    the branch's files; `by_hand` (path -> text) is what they change by hand between blocks."""
    work = tmp_path / "clone"
    branch = ""
    added: list[str] = []
    for block in shell_blocks(text):
        for written in block.split(" &&\n"):
            # Listed here: the clone has no .git for the shell's `git ls-files`.
            tracked = bot.repo.get_commit(branch).tree if branch else {}
            command = tracked_listed(written, tracked)
            words = shlex.split(command)
            if words[:2] == ["git", "checkout"]:
                [branch] = words[2:]
                write_tree(work, bot.repo.get_commit(branch).tree)
            elif words[:3] == ["git", "merge", "--no-edit"]:
                base = words[3].removeprefix("origin/")
                bot.repo.merge_refs(branch, base, f"Merge {base} into {branch}", "dev")
                write_tree(work, bot.repo.get_commit(branch).tree)
            elif words[:2] == ["git", "add"]:
                added += words[2:]
            elif words[:3] == ["git", "push", "origin"]:
                files = {path: (work / path).read_bytes().decode() for path in added}
                bot.repo.commit(branch, files, "Bump the version", "dev")
            elif words[0] == "git":
                continue  # fetching, fast-forwarding, adding, committing: nothing on GitHub
            else:
                done = subprocess.run(
                    ["sh", "-c", command],
                    cwd=work,
                    env={
                        **os.environ,
                        "npm_config_offline": "true",
                        "CARGO_NET_OFFLINE": "true",
                        "UV_OFFLINE": "true",
                    },
                    capture_output=True,
                    text=True,
                    timeout=25,
                )
                assert done.returncode == 0, (command, done.stderr)
        if by_hand:
            for path, content in by_hand.items():
                (work / path).write_bytes(content.encode())
            by_hand = None


def open_hotfix(bot: Bot, main: dict[str, str], develop: dict[str, str]) -> FakePull:
    """main holds `main` (VERSION removed unless given), develop cut from it holds `develop`
    too; `dev`'s hotfix fixes app.py and leaves the version as it is."""
    bot.repo.collaborators["dev"] = "write"
    bot.repo.commit("main", {"VERSION": None, "app.py": APP_PY, **main}, "Base")
    bot.repo.create_branch("develop", "main")
    bot.repo.commit("develop", develop, "Work on develop")
    bot.repo.create_branch(BRANCH, "main")
    bot.repo.commit(BRANCH, {"app.py": FIXED}, "Fix login", "dev")
    pull = bot.repo.open_pull(
        BRANCH, "main", title="Fix login", author="dev", labels=["hotfix", "P1"]
    )
    bot.pull_request(pull.number, "opened")
    return pull


def merged_after_following(
    bot: Bot, tmp_path: Path, pull: FakePull, by_hand: dict[str, str] | None = None
) -> None:
    """The fix followed, the pull request merged, and GitHub tells hotfix-bot of both."""
    follow(bot, tmp_path, how_to_fix(bot, pull), by_hand)
    bot.pull_request(pull.number, "synchronize")
    assert "| ✅ pass |" in row(bot, pull), how_to_fix(bot, pull)
    bot.repo.merge_pull(pull.number)
    bot.pull_request(pull.number, "closed")


def assert_released_and_develop_kept(bot: Bot, pull: FakePull, develop: dict[str, str]) -> None:
    """v1.2.4 tagged and released on the merge commit; develop holds the fix and, byte for
    byte, its own version files, by the commit that keeps them."""
    merge_commit = bot.repo.pulls[pull.number].merge_commit_sha
    tag = bot.repo.tag_object("v1.2.4")
    assert tag is not None and tag.object_sha == merge_commit
    assert [release.tag_name for release in bot.repo.releases.values()] == ["v1.2.4"]
    assert [p.number for p in bot.repo.pulls.values()] == [pull.number], (
        "the back-merge went to people"
    )
    tree = bot.repo.get_commit("develop").tree
    assert tree["app.py"] == FIXED
    assert {path: tree.get(path) for path in develop} == develop
    kept = bot.repo.objects.commits[bot.repo.get_commit("develop").parents[1]]
    assert kept.message == "chore: keep develop's version after v1.2.4"


def rerun_the_check(bot: Bot, pull: FakePull) -> None:
    """**Re-run** clicked on the `hotfix-policy` check of the pull request's head, as its
    summary says to once the base is fixed."""
    [run] = bot.repo.runs_named("hotfix-policy", bot.repo.pulls[pull.number].head_sha)
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id))


@pytest.mark.parametrize(
    ("main", "develop"),
    [
        ("1.2.3\r\n", "1.3.0-dev\r\n"),  # written on Windows
        ("\ufeff1.2.3\n", "\ufeff1.3.0-dev\n"),  # with the byte order mark
        ("1.2.3  \n", "1.3.0-dev  \n"),  # trailing whitespace
        ("1.2.3", "1.3.0-dev"),  # no newline
    ],
    ids=["crlf", "bom", "trailing-whitespace", "no-newline"],
)
def test_a_version_file_written_its_own_way_is_bumped_and_merged_back(
    bot: Bot, tmp_path: Path, main: str, develop: str
) -> None:
    pull = open_hotfix(bot, {"VERSION": main}, {"VERSION": develop})

    merged_after_following(bot, tmp_path, pull)

    assert_released_and_develop_kept(bot, pull, {"VERSION": develop})


def test_a_version_written_with_a_v_keeps_it(bot: Bot, tmp_path: Path) -> None:
    """The repository writes its version `v1.2.3`: the fix sets `v1.2.4`, which is tagged
    `v1.2.4` (not `vv1.2.4`), and develop keeps its own."""
    pull = open_hotfix(bot, {"VERSION": "v1.2.3\n"}, {"VERSION": "v1.3.0-dev\n"})
    assert 'echo "v1.2.4" > VERSION' in how_to_fix(bot, pull)

    merged_after_following(bot, tmp_path, pull)

    assert bot.repo.read_file("main", "VERSION") == "v1.2.4\n"
    assert_released_and_develop_kept(bot, pull, {"VERSION": "v1.3.0-dev\n"})


CARGO = '[package]\nname = "shop"\nversion = "%s"\nedition = "2021"\n'
# As cargo writes it for CARGO.
CARGO_LOCK = (
    "# This file is automatically @generated by Cargo.\n"
    "# It is not intended for manual editing.\n"
    'version = 4\n\n[[package]]\nname = "shop"\nversion = "%s"\n'
)


@pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")
def test_a_rust_crate_s_lockfile_is_bumped_with_its_manifest(bot: Bot, tmp_path: Path) -> None:
    """Cargo.lock records the crate at its version: the fix brings it up to 1.2.4 with
    Cargo.toml, so that `cargo build --locked` takes the hotfix."""
    main = {"Cargo.toml": CARGO % "1.2.3", "Cargo.lock": CARGO_LOCK % "1.2.3"}
    pull = open_hotfix(bot, {**main, "src/main.rs": "fn main() {}\n"}, {"feature.rs": "\n"})

    merged_after_following(bot, tmp_path, pull, by_hand={"Cargo.toml": CARGO % "1.2.4"})

    assert bot.repo.read_file("main", "Cargo.lock") == CARGO_LOCK % "1.2.4"
    assert bot.repo.read_file("develop", "Cargo.lock") == CARGO_LOCK % "1.2.4"
    assert bot.repo.tag_object("v1.2.4") is not None


@pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")
def test_a_rust_library_that_keeps_no_lockfile_gets_none(bot: Bot, tmp_path: Path) -> None:
    """A library crate whose repository keeps no Cargo.lock: cargo is not asked to make one,
    which would resolve every dependency for a file left behind untracked."""
    main = {"Cargo.toml": CARGO % "1.2.3", "src/lib.rs": "\n"}
    pull = open_hotfix(bot, main, {"feature.rs": "\n"})

    merged_after_following(bot, tmp_path, pull, by_hand={"Cargo.toml": CARGO % "1.2.4"})

    assert not (tmp_path / "clone" / "Cargo.lock").exists()
    assert bot.repo.read_file("main", "Cargo.toml") == CARGO % "1.2.4"
    assert bot.repo.tag_object("v1.2.4") is not None


PYPROJECT = '[project]\nname = "shop"\nversion = "%s"\ndependencies = ["requests"]\n'
POETRY = (
    '[tool.poetry]\nname = "shop"\nversion = "%s"\n\n[tool.poetry.dependencies]\npython = "^3.12"\n'
)
BOTH = '[project]\nname = "shop"\nversion = "%s"\n\n[tool.poetry]\nversion = "%s"\n'
WORKSPACE = '[workspace]\nmembers = ["api"]\n\n[workspace.package]\nversion = "%s"\n'
PACKAGE = '{\n  "name": "shop",\n  "version": "%s",\n  "private": true\n}\n'


@pytest.mark.parametrize(
    ("path", "text", "by_hand"),
    [
        ("pyproject.toml", PYPROJECT, True),
        ("pyproject.toml", POETRY, True),
        ("pyproject.toml", BOTH, True),
        ("Cargo.toml", CARGO, True),
        ("Cargo.toml", WORKSPACE, True),
        ("package.json", PACKAGE, False),
    ],
    ids=["pep621", "poetry", "both-tables", "cargo", "cargo-workspace", "npm"],
)
def test_each_kind_of_version_file_is_bumped_released_and_merged_back(
    bot: Bot, tmp_path: Path, path: str, text: str, by_hand: bool
) -> None:
    def version(number: str) -> str:
        return text % ((number,) * text.count("%s"))

    # What cargo needs to read the crate, or the workspace, at the root.
    crates = {"api/Cargo.toml": CARGO % "0.1.0", "api/src/lib.rs": "", "src/main.rs": ""}
    pull = open_hotfix(bot, {path: version("1.2.3"), **crates}, {path: version("1.3.0-dev")})
    # By hand, the version is set where the fix says: in each table that holds it.
    typed = {path: version("1.2.4")} if by_hand else None

    merged_after_following(bot, tmp_path, pull, typed)

    assert_released_and_develop_kept(bot, pull, {path: version("1.3.0-dev")})


# As `npm install --package-lock-only` writes it for PACKAGE.
PACKAGE_LOCK = (
    '{\n  "name": "shop",\n  "version": "%s",\n  "lockfileVersion": 3,\n  "requires": true,\n'
    '  "packages": {\n    "": {\n      "name": "shop",\n      "version": "%s"\n    }\n  }\n}\n'
)


def package_lock(version: str) -> str:
    return PACKAGE_LOCK % (version, version)


@pytest.mark.parametrize(
    ("tool", "manifest", "lockfile", "by_hand"),
    [
        ("npm", PACKAGE, "package-lock.json", False),
        ("cargo", CARGO, "Cargo.lock", True),
    ],
)
def test_a_lockfile_bumped_with_its_manifest_is_named_in_the_back_merge(
    bot: Bot, tmp_path: Path, tool: str, manifest: str, lockfile: str, by_hand: bool
) -> None:
    """npm and cargo set the version in the lockfile too, committed with the manifest as the
    fix says; develop's lockfile holds its own version. The lockfile is no version file, so
    the back-merge goes to people (docs/BEHAVIOUR.md, 'Steps', 3. Back-merge): they are
    asked to keep develop's version in both files."""
    if shutil.which(tool) is None:
        pytest.skip(f"needs {tool}")
    path = "package.json" if tool == "npm" else "Cargo.toml"
    locked: Callable[[str], str] = {
        "npm": package_lock,
        "cargo": lambda version: CARGO_LOCK % version,
    }[tool]
    pull = open_hotfix(
        bot,
        {path: manifest % "1.2.3", lockfile: locked("1.2.3"), "src/main.rs": ""},
        {path: manifest % "1.3.0-dev", lockfile: locked("1.3.0-dev")},
    )

    merged_after_following(bot, tmp_path, pull, {path: manifest % "1.2.4"} if by_hand else None)

    assert bot.repo.read_file("main", lockfile) == locked("1.2.4")
    assert_asked_to_keep_develops_version(bot, pull, path, lockfile)


def assert_asked_to_keep_develops_version(
    bot: Bot, pull: FakePull, manifest: str, lockfile: str
) -> None:
    """The back-merge of `pull` went to people, who are asked to keep develop's version in
    both `manifest` and `lockfile`, which conflict."""
    [backmerge] = [p for p in bot.repo.pulls.values() if p.number != pull.number]
    assert backmerge.body is not None
    files = sorted([manifest, lockfile])
    assert (
        f"- `{files[0]}`\n- `{files[1]}`\n\n"
        "@dev, please resolve the conflicts on `backmerge/v1.2.4`, keeping both the hotfix and "
        f"the work on `develop` (but `develop`'s own version in `{files[0]}` and "
        f"`{files[1]}`, not the hotfix's 1.2.4), then merge:"
    ) in backmerge.body


UV_PYPROJECT = '[project]\nname = "shop"\nversion = "%s"\nrequires-python = ">=3.11"\n'
# As uv 0.13 writes it for UV_PYPROJECT: uv writes versions as Python does (1.3.0.dev0).
UV_LOCK = (
    'version = 1\nrevision = 5\nrequires-python = ">=3.11"\n\n'
    '[[package]]\nname = "shop"\nversion = "%s"\nsource = { virtual = "." }\n'
)


def test_a_uv_lock_bumped_with_its_pyproject_is_named_in_the_back_merge(bot: Bot) -> None:
    """uv.lock records the project's version: the fix has `uv lock` bring it up to 1.2.4 and
    commits it with pyproject.toml, as done here; develop's lockfile holds its own version.
    The lockfile is no version file, so the back-merge goes to people (docs/BEHAVIOUR.md,
    'Steps', 3. Back-merge), who are asked to keep develop's version in both files."""
    develop = {"pyproject.toml": UV_PYPROJECT % "1.3.0-dev", "uv.lock": UV_LOCK % "1.3.0.dev0"}
    pull = open_hotfix(
        bot, {"pyproject.toml": UV_PYPROJECT % "1.2.3", "uv.lock": UV_LOCK % "1.2.3"}, develop
    )
    assert '{ [ -z "$(git ls-files uv.lock)" ] || uv lock; }' in how_to_fix(bot, pull)
    bumped = {"pyproject.toml": UV_PYPROJECT % "1.2.4", "uv.lock": UV_LOCK % "1.2.4"}
    bot.repo.commit(BRANCH, bumped, "Bump the version to 1.2.4", "dev")
    bot.pull_request(pull.number, "synchronize")
    assert "| ✅ pass |" in row(bot, pull), how_to_fix(bot, pull)
    bot.repo.merge_pull(pull.number)
    bot.pull_request(pull.number, "closed")

    assert bot.repo.tag_object("v1.2.4") is not None
    assert_asked_to_keep_develops_version(bot, pull, "pyproject.toml", "uv.lock")


# The test extra installs uv beside the interpreter, which need not be on PATH.
UV = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(UV is None, reason="needs uv")
def test_a_uv_project_s_lockfile_is_bumped_with_its_pyproject(
    bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fix followed as written: `uv lock`, offline, records the project at 1.2.4 in
    uv.lock, which is committed with pyproject.toml, so that `uv lock --locked` (as CI runs
    it) takes the released tree."""
    assert UV is not None
    monkeypatch.setenv("PATH", f"{Path(UV).parent}{os.pathsep}{os.environ['PATH']}")
    main = {"pyproject.toml": UV_PYPROJECT % "1.2.3", "uv.lock": UV_LOCK % "1.2.3"}
    pull = open_hotfix(bot, main, {"feature.py": "\n"})

    merged_after_following(bot, tmp_path, pull, {"pyproject.toml": UV_PYPROJECT % "1.2.4"})

    tree = bot.repo.get_commit("v1.2.4").tree
    locked = tomllib.loads(tree["uv.lock"])
    assert [(package["name"], package["version"]) for package in locked["package"]] == [
        ("shop", "1.2.4")
    ]
    released = tmp_path / "released"
    write_tree(released, tree)
    checked = subprocess.run(
        ["uv", "lock", "--locked", "--offline"],
        cwd=released,
        capture_output=True,
        text=True,
        timeout=25,
    )
    assert checked.returncode == 0, checked.stderr


@pytest.mark.skipif(shutil.which("npm") is None, reason="needs npm")
@pytest.mark.parametrize(
    "written",
    ["\ufeff" + PACKAGE, PACKAGE.removesuffix("\n")],
    ids=["byte-order-mark", "no-final-newline"],
)
def test_a_package_json_npm_wrote_its_own_way_keeps_develops_version(
    bot: Bot, tmp_path: Path, written: str
) -> None:
    """package.json was saved by an editor that begins it with a byte order mark, or ends it
    with no newline; npm drops the one and adds the other when the fix runs it: that is no
    change beyond the version, so develop keeps its own package.json."""
    pull = open_hotfix(
        bot, {"package.json": written % "1.2.3"}, {"package.json": written % "2.0.0"}
    )

    merged_after_following(bot, tmp_path, pull)

    assert bot.repo.read_file("main", "package.json") == PACKAGE % "1.2.4"
    assert_released_and_develop_kept(bot, pull, {"package.json": written % "2.0.0"})


def test_a_python_project_with_a_dynamic_version_is_told_to_configure_its_version_file(
    bot: Bot, tmp_path: Path
) -> None:
    """hatch reads the version from VERSION (`dynamic = ["version"]`): pyproject.toml is no
    file to fix, the config is. Done on main and the check re-run, the hotfix is bumped."""
    dynamic = '[project]\nname = "shop"\ndynamic = ["version"]\n\n[tool.hatch.version]\n'
    dynamic += 'path = "VERSION"\n'
    pull = open_hotfix(bot, {"pyproject.toml": dynamic, "VERSION": "1.2.3\n"}, {})

    assert how_to_fix(bot, pull) == (
        "On main, pyproject.toml: the version is dynamic (project.dynamic lists it), so it is not "
        "in the file; set version.files in .github/hotfix.yml to the file(s) that hold the "
        "version, e.g. files: [VERSION]\n\n"
        "Leave pyproject.toml as it is and set `version.files` in `.github/hotfix.yml` on main, "
        "where the config is read from; then re-run this check"
    )
    bot.repo.commit("main", {".github/hotfix.yml": "version:\n  files: [VERSION]\n"}, "Config")
    rerun_the_check(bot, pull)

    merged_after_following(bot, tmp_path, pull)

    assert bot.repo.read_file("main", "VERSION") == "1.2.4\n"
    assert bot.repo.tag_object("v1.2.4") is not None


MONOREPO = '{\n  "name": "shop",\n  "private": true,\n  "workspaces": ["packages/*"]\n}\n'


@pytest.mark.skipif(shutil.which("npm") is None, reason="needs npm")
def test_an_npm_workspace_is_told_to_name_the_package_that_holds_the_version(
    bot: Bot, tmp_path: Path
) -> None:
    """The root package.json of an npm workspace holds no version, its packages do: the
    check says to name one in the config, not to fix the root. Done on main and the check
    re-run, the package is bumped, released and merged back."""
    web = "packages/web/package.json"
    pull = open_hotfix(
        bot, {"package.json": MONOREPO, web: PACKAGE % "1.2.3"}, {web: PACKAGE % "1.3.0-dev"}
    )

    assert how_to_fix(bot, pull) == (
        "On main, package.json: declares no version, as the root of an npm workspace does: "
        "its packages (in workspaces) hold theirs; set version.files in .github/hotfix.yml to "
        "the file(s) that hold the version, e.g. a package's package.json\n\n"
        "Leave package.json as it is and set `version.files` in `.github/hotfix.yml` on main, "
        "where the config is read from; then re-run this check"
    )
    bot.repo.commit("main", {".github/hotfix.yml": f"version:\n  files: [{web}]\n"}, "Config")
    rerun_the_check(bot, pull)

    merged_after_following(bot, tmp_path, pull)

    assert bot.repo.read_file("main", web) == PACKAGE % "1.2.4"
    assert_released_and_develop_kept(bot, pull, {web: PACKAGE % "1.3.0-dev"})


def test_a_hotfix_of_a_version_released_already_catches_main_up_and_ships_the_next(
    bot: Bot, tmp_path: Path
) -> None:
    """v1.2.4 is out (tagged from a branch of its own) while main still says 1.2.3, and the
    hotfix bumps to 1.2.4. As the check says: main set to 1.2.4 first, the check re-run, the
    commands followed; the hotfix ships 1.2.5."""
    pull = open_hotfix(bot, {"VERSION": "1.2.3\n"}, {"VERSION": "1.3.0-dev\n"})
    follow(bot, tmp_path, how_to_fix(bot, pull))
    bot.repo.create_branch("support/1.2.4", "main")
    bot.repo.commit("support/1.2.4", {"VERSION": "1.2.4\n"}, "1.2.4")
    bot.repo.create_tag("v1.2.4", "support/1.2.4", "1.2.4")
    bot.pull_request(pull.number, "synchronize")
    assert how_to_fix(bot, pull).startswith(
        "The tag v1.2.4 already exists, so main (1.2.3) is behind the latest release\n\n"
        "Set VERSION on main to 1.2.4, the version tagged v1.2.4, first"
    )

    bot.repo.commit("main", {"VERSION": "1.2.4\n"}, "Catch up with v1.2.4")
    rerun_the_check(bot, pull)
    merged_after_following(bot, tmp_path, pull)

    tag = bot.repo.tag_object("v1.2.5")
    assert tag is not None and tag.object_sha == bot.repo.pulls[pull.number].merge_commit_sha
    assert [release.tag_name for release in bot.repo.releases.values()] == ["v1.2.5"]
    assert bot.repo.get_commit("develop").tree["VERSION"] == "1.3.0-dev\n"


@pytest.mark.parametrize(
    ("on_main", "tag"), [("1.3.0-rc.1\n", "v1.3.1"), ("1.2.3+build.5\n", "v1.2.4")]
)
def test_a_pre_release_or_a_build_on_main_ships_the_next_patch(
    bot: Bot, tmp_path: Path, on_main: str, tag: str
) -> None:
    """Main is at a pre-release, or a build: the hotfix ships the next patch release, as
    docs/BEHAVIOUR.md says (`1.2.4-rc.1` wants `1.2.5`), tagged and released as such."""
    pull = open_hotfix(bot, {"VERSION": on_main}, {"VERSION": "2.0.0-dev\n"})
    assert f'echo "{tag[1:]}" > VERSION' in how_to_fix(bot, pull)

    merged_after_following(bot, tmp_path, pull)

    tagged = bot.repo.tag_object(tag)
    assert tagged is not None
    assert tagged.object_sha == bot.repo.pulls[pull.number].merge_commit_sha
    [release] = bot.repo.releases.values()
    assert (release.tag_name, release.prerelease) == (tag, False)
    assert bot.repo.get_commit("develop").tree["VERSION"] == "2.0.0-dev\n"


@pytest.mark.skipif(shutil.which("npm") is None, reason="needs npm")
def test_a_head_bumped_a_minor_or_twice_is_set_back_to_the_next_patch(
    bot: Bot, tmp_path: Path
) -> None:
    """The hotfix bumped VERSION a minor and package.json twice: each is named with its
    value, and the one block of commands sets both to 1.2.4."""
    main = {"VERSION": "1.2.3\n", "package.json": PACKAGE % "1.2.3"}
    pull = open_hotfix(bot, main, {"VERSION": "1.3.0-dev\n"})
    bot.repo.commit(BRANCH, {"VERSION": "1.3.0\n", "package.json": PACKAGE % "1.2.5"}, "Bump")
    bot.pull_request(pull.number, "synchronize")

    assert row(bot, pull) == (
        "| `version-bump` | ❌ fail | VERSION: 1.2.3 on main, 1.3.0 on hotfix/fix-login; "
        "package.json: 1.2.3 on main, 1.2.5 on hotfix/fix-login | 1.2.4 (1.2.3 + 1 patch) in "
        "VERSION, package.json, and no tag v1.2.4 yet |"
    )
    assert how_to_fix(bot, pull).startswith(
        "VERSION is 1.3.0 on hotfix/fix-login, expected 1.2.4 (and 1 more)\n\n"
    )
    merged_after_following(bot, tmp_path, pull)

    assert bot.repo.read_file("main", "package.json") == PACKAGE % "1.2.4"
    assert_released_and_develop_kept(bot, pull, {"VERSION": "1.3.0-dev\n"})

"""Which release branch a hotfix is merged back into (docs/ADMIN.md, `branches.release_prefix`)."""

from collections.abc import Iterable

import pytest

from policies.release_branches import open_release_branch
from policies.versions import Version

HOTFIX = Version.parse("1.2.4")


def open_one(
    branches: Iterable[str], released: Version = HOTFIX, prefix: str = "release/"
) -> str | None:
    """The open release branch among `branches`, production and development being main and
    develop."""
    return open_release_branch(prefix, branches, released, production="main", development="develop")


@pytest.mark.parametrize(
    ("branches", "latest"),
    [
        (["release/1.3", "release/1.4"], "release/1.4"),
        (["release/1.10", "release/1.3"], "release/1.10"),
        (["release/1.3", "release/1.3.0"], "release/1.3.0"),
        (["release/v2.0", "release/1.9.9"], "release/v2.0"),
        (["release/next", "release/1.3"], "release/1.3"),
        # The leading version counts, whatever follows it.
        (["release/1.9.x", "release/1.10.x"], "release/1.10.x"),
        (["release/1.9", "release/2.0.0-rc.1"], "release/2.0.0-rc.1"),
        (["release/2.0-rc", "release/1.3"], "release/2.0-rc"),
        # A pre-release ranks below its release, and pre-releases as SemVer orders them.
        (["release/2.0.0-rc.1", "release/2.0.0"], "release/2.0.0"),
        (["release/2.0.0-rc.2", "release/2.0.0-rc.10"], "release/2.0.0-rc.10"),
        (["release/2.0.0-beta", "release/2.0.0-rc.1"], "release/2.0.0-rc.1"),
        (["release/2.0.0-rc.1", "release/2.0.0-rc"], "release/2.0.0-rc.1"),
        (["release/2.0.0-1", "release/2.0.0-alpha"], "release/2.0.0-alpha"),
    ],
)
def test_the_highest_version_in_the_name_is_the_open_one(branches: list[str], latest: str) -> None:
    assert open_one(branches) == latest
    assert open_one(reversed(branches)) == latest


@pytest.mark.parametrize(
    "branch",
    [
        "release/1.2",  # 1.2.0
        "release/1.2.x",
        "release/1.2.4",  # the hotfix's own version
        "release/1.2.4.0",
        "release/v1.2.4-rc.1",  # a pre-release of it
        "release/1.1.9",
        "release/next",  # no version: none can be told open
        "release/candidate",
    ],
)
def test_a_release_branch_at_or_below_the_released_version_is_not_open(branch: str) -> None:
    assert open_one([branch]) is None
    assert open_one([branch, "release/1.2.5"]) == "release/1.2.5"


@pytest.mark.parametrize(
    ("released", "branch", "is_open"),
    [
        ("1.2.4-rc.1", "release/1.2.4", True),
        ("1.2.4-rc.1", "release/1.2.4-rc.2", True),
        ("1.2.4-rc.1", "release/1.2.4-rc.1", False),
        ("1.2.4+build.7", "release/1.2.4", False),  # build metadata has no precedence
        ("1.9.1", "release/1.10", True),
        ("1.10.1", "release/1.9.9", False),
    ],
)
def test_versions_compare_as_semver(released: str, branch: str, is_open: bool) -> None:
    expected = branch if is_open else None
    assert open_one([branch], Version.parse(released)) == expected


def test_only_branches_starting_with_the_prefix_count() -> None:
    branches = ["main", "develop", "releases/9.0", "hotfix/release-2.0", "9.0"]
    assert open_one(branches) is None
    assert open_one(["rel-1.4", "release/2.0"], prefix="rel-") == "rel-1.4"


@pytest.mark.parametrize(
    ("production", "development"),
    [("release/2024.06", "develop"), ("main", "release/2.0-next"), ("release/3.0", "release/4.0")],
)
def test_the_production_and_development_branches_are_never_release_branches(
    production: str, development: str
) -> None:
    # A maintenance line, say, whose production branch is named like a release branch.
    def open_release(*others: str) -> str | None:
        branches = [production, development, *others]
        return open_release_branch(
            "release/", branches, HOTFIX, production=production, development=development
        )

    assert open_release() is None
    assert open_release("release/1.3") == "release/1.3"

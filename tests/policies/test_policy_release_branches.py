"""Which release branch a hotfix is merged back into (docs/ADMIN.md, `branches.release_prefix`)."""

import pytest

from policies.release_branches import release_branches_newest_first


@pytest.mark.parametrize(
    ("branches", "latest"),
    [
        (["release/1.2", "release/1.3"], "release/1.3"),
        (["release/1.10", "release/1.3"], "release/1.10"),
        (["release/1.3", "release/1.3.0"], "release/1.3.0"),
        (["release/v2.0", "release/1.9.9"], "release/v2.0"),
        (["release/next", "release/1.3"], "release/1.3"),
        (["release/next", "release/candidate"], "release/next"),
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
def test_the_highest_version_in_the_name_comes_first(branches: list[str], latest: str) -> None:
    assert release_branches_newest_first("release/", branches)[0] == latest
    assert release_branches_newest_first("release/", list(reversed(branches)))[0] == latest


def test_every_release_branch_is_listed_from_the_highest_version_down() -> None:
    branches = ["release/next", "release/1.3", "release/2.0.0-rc.1", "release/1.10.x", "main"]
    assert release_branches_newest_first("release/", branches) == [
        "release/2.0.0-rc.1",
        "release/1.10.x",
        "release/1.3",
        "release/next",
    ]


def test_only_branches_starting_with_the_prefix_count() -> None:
    branches = ["main", "develop", "releases/9.0", "hotfix/release-2.0"]
    assert release_branches_newest_first("release/", branches) == []
    assert release_branches_newest_first("rel-", ["rel-1.4", "release/2.0"]) == ["rel-1.4"]

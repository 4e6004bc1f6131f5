"""Which release branch a hotfix is merged back into (docs/ADMIN.md, `branches.release_prefix`)."""

import pytest

from policies.release_branches import latest_release_branch


@pytest.mark.parametrize(
    ("branches", "latest"),
    [
        (["release/1.2", "release/1.3"], "release/1.3"),
        (["release/1.10", "release/1.3"], "release/1.10"),
        (["release/1.3", "release/1.3.0"], "release/1.3.0"),
        (["release/v2.0", "release/1.9.9"], "release/v2.0"),
        (["release/next", "release/1.3"], "release/1.3"),
        (["release/next", "release/candidate"], "release/next"),
        (["release/2.0-rc", "release/1.3"], "release/1.3"),
    ],
)
def test_the_highest_version_in_the_name_wins(branches: list[str], latest: str) -> None:
    assert latest_release_branch("release/", branches) == latest
    assert latest_release_branch("release/", list(reversed(branches))) == latest


def test_only_branches_starting_with_the_prefix_count() -> None:
    branches = ["main", "develop", "releases/9.0", "hotfix/release-2.0"]
    assert latest_release_branch("release/", branches) is None
    assert latest_release_branch("rel-", ["rel-1.4", "release/2.0"]) == "rel-1.4"

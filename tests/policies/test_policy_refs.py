"""The names git accepts for a branch or a tag (policies/refs.py); config.py's tests show
each refusal's words for `tag.format` and the branch keys."""

import pytest

from policies.refs import ref_name_problem


@pytest.mark.parametrize(
    "name",
    ["v1.2.4", "release/1.2.4", "v1.2.4-rc.1+build.5", "@", "a@b", "é-1.2.4", "v1.lock.2", "{1}"],
)
def test_names_git_accepts_have_no_problem(name: str) -> None:
    assert ref_name_problem(name) is None

"""The commit graph: three-way merges, merge bases, and merging pull requests."""

from __future__ import annotations

import pytest
from support.fake_world import World

from sandbox import FakeGitHub, FakeRepo, MergeConflictError, merge_trees
from sandbox.git import blob_sha


@pytest.fixture
def repo() -> FakeRepo:
    fake = FakeGitHub()
    app = fake.create_app()
    return fake.add_repo("acme/widgets", fake.add_installation(app.id), files={"VERSION": "1\n"})


def test_merge_trees_takes_each_side_change_and_reports_conflicts() -> None:
    base = {"same": "x", "ours": "a", "theirs": "a", "both": "a", "gone": "a"}
    ours = {"same": "x", "ours": "b", "theirs": "a", "both": "b", "added": "n"}
    theirs = {"same": "x", "ours": "a", "theirs": "c", "both": "c", "gone": "a"}
    tree, conflicts = merge_trees(base, ours, theirs)
    assert conflicts == ["both"]
    assert tree == {"same": "x", "ours": "b", "theirs": "c", "both": "b", "added": "n"}


def test_blob_sha_matches_git() -> None:
    # `printf 'hello\n' | git hash-object --stdin`
    assert blob_sha("hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_commits_form_a_graph_with_content_addressed_shas(repo: FakeRepo) -> None:
    root = repo.branches["main"].sha
    feature = repo.commit("feature", {"a.txt": "a\n"}, "add a")
    assert repo.objects.commits[feature].parents == (root,)
    assert repo.read_file("feature", "a.txt") == "a\n"
    assert repo.read_file("main", "a.txt") is None
    removed = repo.commit("feature", {"a.txt": None}, "remove a")
    assert "a.txt" not in repo.objects.commits[removed].tree
    assert repo.objects.merge_base(removed, root) == root


def test_merge_pull_makes_a_two_parent_merge_commit(repo: FakeRepo) -> None:
    repo.commit("main", {"main.txt": "m\n"}, "main moves")
    head = repo.commit("hotfix/x", {"VERSION": "2\n"}, "bump")
    base = repo.branches["main"].sha
    pull = repo.open_pull("hotfix/x", "main", "Hotfix", author="dev")
    sha = repo.merge_pull(pull.number)
    merge = repo.objects.commits[sha]
    assert merge.parents == (base, head)
    assert merge.tree == {"VERSION": "2\n", "main.txt": "m\n"}
    assert repo.branches["main"].sha == sha
    assert pull.merged and pull.state == "closed" and pull.merge_commit_sha == sha


def test_squash_and_rebase_merges(repo: FakeRepo) -> None:
    repo.commit("a", {"a1": "1"}, "a1")
    repo.commit("a", {"a2": "2"}, "a2")
    squash = repo.merge_pull(repo.open_pull("a", "main", "A").number, method="squash")
    assert len(repo.objects.commits[squash].parents) == 1
    assert repo.objects.commits[squash].message == "A (#1)"
    repo.create_branch("b", "main")
    repo.commit("b", {"b1": "1"}, "b1")
    repo.commit("b", {"b2": "2"}, "b2")
    repo.commit("main", {"other": "o"}, "other")
    rebased = repo.merge_pull(repo.open_pull("b", "main", "B").number, method="rebase")
    replayed = repo.objects.commits[rebased]
    assert replayed.message == "b2"
    assert repo.objects.commits[replayed.parents[0]].message == "b1"
    assert set(replayed.tree) == {"VERSION", "a1", "a2", "b1", "b2", "other"}


def test_a_merge_queue_builds_each_group_on_the_one_ahead_and_merges_by_fast_forward(
    repo: FakeRepo,
) -> None:
    main = repo.branches["main"].sha
    first_head = repo.commit("a", {"a.txt": "a\n"}, "a")
    second_head = repo.commit("b", {"b.txt": "b\n"}, "b")
    first_pull = repo.open_pull("a", "main", "A")
    second_pull = repo.open_pull("b", "main", "B")

    first, second = repo.enqueue(first_pull.number), repo.enqueue(second_pull.number)

    assert (first.base_sha, second.base_sha) == (main, first.head_sha)
    assert repo.objects.commits[first.head_sha].parents == (main, first_head)
    assert repo.objects.commits[second.head_sha].parents == (first.head_sha, second_head)
    assert set(repo.objects.commits[second.head_sha].tree) == {"VERSION", "a.txt", "b.txt"}
    assert first.branch == f"gh-readonly-queue/main/pr-{first_pull.number}-{main}"
    assert repo.branches[first.branch].sha == first.head_sha
    assert repo.branches["main"].sha == main  # nothing merges before its checks pass
    with pytest.raises(ValueError, match="not the oldest group"):
        repo.merge_group(second)

    repo.merge_group(first)

    assert repo.branches["main"].sha == first.head_sha
    assert first.branch not in repo.branches
    assert (first_pull.state, first_pull.merged) == ("closed", True)
    assert first_pull.merge_commit_sha == first.head_sha
    assert second_pull.state == "open"
    assert repo.merge_queues["main"] == [second]


def test_conflicting_merge_lists_paths_and_changes_nothing(repo: FakeRepo) -> None:
    repo.commit("hotfix/x", {"VERSION": "2\n"}, "bump")
    repo.commit("main", {"VERSION": "3\n"}, "other bump")
    before = repo.branches["main"].sha
    pull = repo.open_pull("hotfix/x", "main", "Hotfix")
    with pytest.raises(MergeConflictError) as raised:
        repo.merge_pull(pull.number)
    assert raised.value.paths == ["VERSION"]
    assert repo.branches["main"].sha == before
    assert pull.state == "open"


def test_open_pulls_follow_their_branches(repo: FakeRepo) -> None:
    repo.commit("hotfix/x", {"VERSION": "2\n"}, "bump")
    pull = repo.open_pull("hotfix/x", "main", "Hotfix")
    moved = repo.commit("hotfix/x", {"NOTES": "n\n"}, "notes")
    assert pull.head_sha == moved
    review = repo.review(pull.number, "alice", "APPROVED")
    assert review.commit_id == moved


def test_merges_api(world: World) -> None:
    repo = world.repo
    repo.create_branch("develop", "main")
    repo.commit("develop", {"dev.txt": "d\n"}, "dev work")
    hotfix = repo.commit("hotfix/x", {"VERSION": "1.2.4\n"}, "bump")
    develop_before = repo.branches["develop"].sha

    merged = world.client.post(
        "/repos/acme/widgets/merges", json={"base": "develop", "head": hotfix}
    )
    assert merged.status_code == 201
    body = merged.json()
    assert [p["sha"] for p in body["parents"]] == [develop_before, hotfix]
    assert repo.branches["develop"].sha == body["sha"]
    assert repo.read_file("develop", "VERSION") == "1.2.4\n"

    again = world.client.post(
        "/repos/acme/widgets/merges", json={"base": "develop", "head": hotfix}
    )
    assert again.status_code == 204


def test_merges_api_conflict_missing_and_protected(world: World) -> None:
    repo = world.repo
    repo.create_branch("develop", "main")
    repo.commit("develop", {"VERSION": "1.3.0-dev\n"}, "dev version")
    hotfix = repo.commit("hotfix/x", {"VERSION": "1.2.4\n"}, "bump")
    merges = "/repos/acme/widgets/merges"

    conflict = world.client.post(merges, json={"base": "develop", "head": hotfix})
    assert conflict.status_code == 409
    assert conflict.json()["message"] == "Merge conflict"

    assert world.client.post(merges, json={"base": "nope", "head": hotfix}).status_code == 404
    assert world.client.post(merges, json={"base": "develop", "head": "nope"}).status_code == 404
    assert world.client.post(merges, json={"base": "develop"}).status_code == 422

    repo.commit("develop", {"VERSION": "1.2.4\n"}, "align")
    repo.protect("develop")
    protected = world.client.post(merges, json={"base": "develop", "head": hotfix})
    assert protected.status_code == 409
    world.fake.protected_merge_status = 403
    assert world.client.post(merges, json={"base": "develop", "head": hotfix}).status_code == 403


def test_compare(world: World) -> None:
    repo = world.repo
    repo.create_branch("develop", "main")
    repo.commit("develop", {"dev.txt": "d\n"}, "dev")
    repo.commit("hotfix/x", {"VERSION": "1.2.4\n"}, "bump")
    diverged = world.client.get("/repos/acme/widgets/compare/develop...hotfix/x").json()
    assert (diverged["status"], diverged["ahead_by"], diverged["behind_by"]) == ("diverged", 1, 1)
    assert [(f["filename"], f["status"]) for f in diverged["files"]] == [("VERSION", "modified")]
    ahead = world.client.get("/repos/acme/widgets/compare/main...hotfix/x").json()
    assert (ahead["status"], ahead["ahead_by"]) == ("ahead", 1)
    same = world.client.get("/repos/acme/widgets/compare/main...main").json()
    assert same["status"] == "identical"
    assert world.client.get("/repos/acme/widgets/compare/main...nope").status_code == 404


def test_merges_api_merges_three_way_per_path(world: World) -> None:
    """A path changed on one side takes that side; changed alike on both is no conflict;
    changed differently on both (a deletion too) is GitHub's 409 "Merge conflict"."""
    repo = world.repo
    merges = "/repos/acme/widgets/merges"
    repo.commit("main", {"app.py": "v1\n", "notes.txt": "n\n"}, "base")
    repo.create_branch("develop", "main")
    repo.commit("develop", {"VERSION": "1.2.4\n", "dev.txt": "d\n"}, "develop bumps too")
    hotfix = repo.commit("hotfix/x", {"VERSION": "1.2.4\n", "app.py": "v2\n"}, "bump and fix")

    merged = world.client.post(merges, json={"base": "develop", "head": hotfix})

    assert merged.status_code == 201
    assert repo.get_commit("develop").tree == {
        "VERSION": "1.2.4\n",
        "app.py": "v2\n",
        "dev.txt": "d\n",
        "notes.txt": "n\n",
    }

    repo.create_branch("release/1.3", "main")
    repo.commit("release/1.3", {"VERSION": "1.3.0\n"}, "release version")
    version_only = world.client.post(merges, json={"base": "release/1.3", "head": hotfix})
    assert (version_only.status_code, version_only.json()["message"]) == (409, "Merge conflict")

    repo.create_branch("cleanup", "main")
    repo.commit("cleanup", {"app.py": None}, "remove app.py")
    deleted = world.client.post(merges, json={"base": "cleanup", "head": hotfix})
    assert deleted.status_code == 409
    assert "app.py" not in repo.get_commit("cleanup").tree


def test_merges_api_merges_a_file_both_sides_changed_line_by_line(world: World) -> None:
    """As GitHub does: changes in different places of one file both apply; changes that
    overlap or touch are a 409 "Merge conflict"."""
    repo = world.repo
    merges = "/repos/acme/widgets/merges"
    lines = [f"line {number}\n" for number in range(1, 21)]
    repo.commit("main", {"app.py": "".join(lines)}, "base")
    repo.create_branch("develop", "main")
    repo.commit("develop", {"app.py": "".join([*lines[:19], "line 20, feature\n"])}, "feature")
    repo.create_branch("release/1.3", "main")
    repo.commit("release/1.3", {"app.py": "".join(["line 1, other\n", *lines[1:]])}, "other")
    fixed = "".join(["line 1, fixed\n", *lines[1:]])
    hotfix = repo.commit("hotfix/x", {"app.py": fixed}, "fix")

    merged = world.client.post(merges, json={"base": "develop", "head": hotfix})

    assert merged.status_code == 201
    assert repo.read_file("develop", "app.py") == "".join(
        ["line 1, fixed\n", *lines[1:19], "line 20, feature\n"]
    )
    release_before = repo.branches["release/1.3"].sha
    overlapping = world.client.post(merges, json={"base": "release/1.3", "head": hotfix})
    assert (overlapping.status_code, overlapping.json()["message"]) == (409, "Merge conflict")
    assert repo.branches["release/1.3"].sha == release_before


def test_recursive_tree_lists_every_path_with_its_blob(world: World) -> None:
    repo = world.repo
    repo.commit("main", {"src/app/main.py": "x = 1\n"}, "nested")
    listed = world.client.get("/repos/acme/widgets/git/trees/main", params={"recursive": "1"})
    assert listed.status_code == 200
    entries = [(e["path"], e["type"], e["sha"]) for e in listed.json()["tree"]]
    assert entries == [
        ("VERSION", "blob", blob_sha("1.2.3\n")),
        ("src", "tree", entries[1][2]),
        ("src/app", "tree", entries[2][2]),
        ("src/app/main.py", "blob", blob_sha("x = 1\n")),
    ]
    assert listed.json()["truncated"] is False
    top = world.client.get("/repos/acme/widgets/git/trees/main").json()
    assert [e["path"] for e in top["tree"]] == ["VERSION", "src"]


def test_a_commit_made_with_the_git_data_api(world: World) -> None:
    """A tree on a base tree (a blob by SHA, new content, a deletion), a commit of it, the
    branch moved to it: as a client without a clone commits."""
    repo = world.repo
    git = "/repos/acme/widgets/git"
    repo.commit("main", {"old.txt": "old\n"}, "old")
    kept = repo.commit("develop", {"VERSION": "1.3.0-dev\n"}, "develop's version")
    main = repo.get_commit("main")
    base_tree = world.client.get(f"{git}/trees/{main.sha}").json()["sha"]

    tree = world.client.post(
        f"{git}/trees",
        json={
            "base_tree": base_tree,
            "tree": [
                {
                    "path": "VERSION",
                    "mode": "100644",
                    "type": "blob",
                    "sha": blob_sha("1.3.0-dev\n"),
                },
                {"path": "docs/new.md", "mode": "100644", "type": "blob", "content": "new\n"},
                {"path": "old.txt", "mode": "100644", "type": "blob", "sha": None},
            ],
        },
    )
    assert tree.status_code == 201
    commit = world.client.post(
        f"{git}/commits",
        json={"message": "chore: keep", "tree": tree.json()["sha"], "parents": [main.sha]},
    )
    assert commit.status_code == 201
    body = commit.json()
    assert (body["message"], body["tree"]["sha"]) == ("chore: keep", tree.json()["sha"])
    assert [parent["sha"] for parent in body["parents"]] == [main.sha]
    assert body["author"]["name"] == "hotfix-bot[bot]"
    moved = world.client.patch(f"{git}/refs/heads/main", json={"sha": body["sha"]})
    assert moved.status_code == 200
    assert repo.get_commit("main").tree == {"VERSION": "1.3.0-dev\n", "docs/new.md": "new\n"}
    assert repo.branches["develop"].sha == kept

    unknown_blob = {"path": "x", "mode": "100644", "type": "blob", "sha": "0" * 40}
    refusals = [
        (f"{git}/trees", {"base_tree": "f" * 40, "tree": []}),
        (f"{git}/trees", {"tree": [unknown_blob]}),
        (f"{git}/commits", {"message": "m", "tree": "f" * 40, "parents": []}),
        (f"{git}/commits", {"message": "m", "tree": base_tree, "parents": ["0" * 40]}),
    ]
    for path, payload in refusals:
        assert world.client.post(path, json=payload).status_code == 422, payload


def test_a_commit_read_with_the_git_data_api_names_its_parents(world: World) -> None:
    repo = world.repo
    repo.create_branch("hotfix/x", "main")
    repo.commit("hotfix/x", {"VERSION": "1.2.4\n"}, "Fix")
    before = repo.branches["main"].sha
    merged = repo.merge_pull(repo.open_pull("hotfix/x", "main").number)

    answer = world.client.get(f"/repos/acme/widgets/git/commits/{merged}")

    assert answer.status_code == 200
    body = answer.json()
    assert (body["sha"], body["tree"]["sha"]) == (merged, repo.get_commit(merged).tree_sha)
    parents = [parent["sha"] for parent in body["parents"]]
    assert parents == [before, repo.branches["hotfix/x"].sha]
    assert world.client.get(f"/repos/acme/widgets/git/commits/{'0' * 40}").status_code == 404


def test_matching_refs_answers_every_match_at_once(world: World) -> None:
    """GitHub does not page this list: a client asks once."""
    for minor in range(35):
        world.repo.create_branch(f"release/1.{minor}", "main")
    world.repo.create_branch("releases", "main")
    answer = world.client.get("/repos/acme/widgets/git/matching-refs/heads/release")
    assert answer.status_code == 200
    assert "link" not in answer.headers
    refs = [ref["ref"] for ref in answer.json()]
    assert len(refs) == 36
    assert refs[0] == "refs/heads/release/1.0" and refs[-1] == "refs/heads/releases"

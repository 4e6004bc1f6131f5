"""REST routes: contents, refs, tags, releases, pulls, reviews, checks, comments, teams."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from support.fake_world import World

from sandbox.git import blob_sha

REPO = "/repos/acme/widgets"


def test_contents_are_base64_with_blob_sha_and_etag(world: World) -> None:
    answer = world.client.get(f"{REPO}/contents/VERSION", params={"ref": "main"})
    assert answer.status_code == 200
    body = answer.json()
    assert base64.b64decode(body["content"]).decode() == "1.2.3\n"
    assert body["sha"] == blob_sha("1.2.3\n")
    assert body["encoding"] == "base64"
    etag = answer.headers["etag"]
    cached = world.client.get(
        f"{REPO}/contents/VERSION", params={"ref": "main"}, headers={"if-none-match": etag}
    )
    assert cached.status_code == 304
    assert cached.content == b""
    world.repo.commit("main", {"VERSION": "1.2.4\n"}, "bump")
    changed = world.client.get(
        f"{REPO}/contents/VERSION", params={"ref": "main"}, headers={"if-none-match": etag}
    )
    assert changed.status_code == 200


def test_missing_contents_and_unknown_routes_are_github_404s(world: World) -> None:
    missing = world.client.get(f"{REPO}/contents/.github/hotfix.yml", params={"ref": "main"})
    assert missing.status_code == 404
    assert missing.json()["message"] == "Not Found"
    assert "documentation_url" in missing.json()
    assert world.client.get(f"{REPO}/no/such/route").status_code == 404


def test_directory_listing(world: World) -> None:
    world.repo.commit("main", {".github/hotfix.yml": "workflow: gitflow\n"}, "config")
    listing = world.client.get(f"{REPO}/contents/.github").json()
    assert [(entry["name"], entry["type"]) for entry in listing] == [("hotfix.yml", "file")]


def test_refs_lifecycle_and_errors(world: World) -> None:
    main_sha = world.repo.branches["main"].sha
    created = world.client.post(
        f"{REPO}/git/refs", json={"ref": "refs/heads/backmerge/v1.2.4", "sha": main_sha}
    )
    assert created.status_code == 201
    assert created.json()["object"] == {
        "sha": main_sha,
        "type": "commit",
        "url": f"{world.fake.api_url}{REPO}/git/commits/{main_sha}",
    }
    duplicate = world.client.post(
        f"{REPO}/git/refs", json={"ref": "refs/heads/backmerge/v1.2.4", "sha": main_sha}
    )
    assert (duplicate.status_code, duplicate.json()["message"]) == (422, "Reference already exists")
    assert world.client.get(f"{REPO}/git/ref/heads/backmerge/v1.2.4").status_code == 200
    matching = world.client.get(f"{REPO}/git/matching-refs/heads/back").json()
    assert [ref["ref"] for ref in matching] == ["refs/heads/backmerge/v1.2.4"]

    assert world.client.delete(f"{REPO}/git/refs/heads/backmerge/v1.2.4").status_code == 204
    gone = world.client.delete(f"{REPO}/git/refs/heads/backmerge/v1.2.4")
    assert (gone.status_code, gone.json()["message"]) == (422, "Reference does not exist")
    assert world.client.get(f"{REPO}/git/ref/heads/backmerge/v1.2.4").status_code == 404
    assert "backmerge/v1.2.4" not in world.repo.branches


def test_ref_updates_must_fast_forward_unless_forced(world: World) -> None:
    old = world.repo.branches["main"].sha
    new = world.repo.commit("main", {"a": "a"}, "a")
    refused = world.client.patch(f"{REPO}/git/refs/heads/main", json={"sha": old})
    assert (refused.status_code, refused.json()["message"]) == (422, "Update is not a fast forward")
    forced = world.client.patch(f"{REPO}/git/refs/heads/main", json={"sha": old, "force": True})
    assert forced.status_code == 200
    assert world.repo.branches["main"].sha == old != new
    world.repo.protect("main")
    assert world.client.delete(f"{REPO}/git/refs/heads/main").status_code == 422


def test_annotated_tags(world: World) -> None:
    head = world.repo.branches["main"].sha
    tag = world.client.post(
        f"{REPO}/git/tags",
        json={"tag": "v1.2.4", "message": "Hotfix: x", "object": head, "type": "commit"},
    )
    assert tag.status_code == 201
    tag_sha = tag.json()["sha"]
    ref = world.client.post(f"{REPO}/git/refs", json={"ref": "refs/tags/v1.2.4", "sha": tag_sha})
    assert ref.json()["object"]["type"] == "tag"
    fetched = world.client.get(f"{REPO}/git/tags/{tag_sha}").json()
    assert fetched["object"]["sha"] == head
    assert fetched["message"] == "Hotfix: x"
    assert world.repo.resolve("v1.2.4") == head
    assert world.repo.tag_object("v1.2.4") is not None
    assert world.client.get(f"{REPO}/git/tags/{'0' * 40}").status_code == 404
    unknown = world.client.post(
        f"{REPO}/git/tags", json={"tag": "v9", "message": "m", "object": "0" * 40, "type": "commit"}
    )
    assert unknown.status_code == 422


def test_releases(world: World) -> None:
    assert world.client.get(f"{REPO}/releases/tags/v1.2.4").status_code == 404
    created = world.client.post(f"{REPO}/releases", json={"tag_name": "v1.2.4", "name": "v1.2.4"})
    assert created.status_code == 201
    assert created.json()["author"]["login"] == "hotfix-bot[bot]"
    assert "v1.2.4" in world.repo.tags  # GitHub tags target_commitish when the tag is new
    again = world.client.post(f"{REPO}/releases", json={"tag_name": "v1.2.4"})
    assert again.status_code == 422
    assert again.json()["errors"][0]["code"] == "already_exists"
    assert world.client.get(f"{REPO}/releases/tags/v1.2.4").json()["tag_name"] == "v1.2.4"


def test_branch_shows_protection(world: World) -> None:
    world.repo.protect("main")
    branch = world.client.get(f"{REPO}/branches/main").json()
    assert branch["protected"] is True
    assert branch["commit"]["sha"] == world.repo.branches["main"].sha
    assert world.client.get(f"{REPO}/branches/hotfix/none").status_code == 404


def test_pulls_get_list_create(world: World) -> None:
    repo = world.repo
    head = repo.commit("hotfix/fix-login", {"VERSION": "1.2.4\n"}, "bump")
    pull = repo.open_pull("hotfix/fix-login", "main", "Fix login", "dev", labels=["hotfix", "P1"])
    shape = world.client.get(f"{REPO}/pulls/{pull.number}").json()
    assert shape["head"] == {**shape["head"], "ref": "hotfix/fix-login", "sha": head}
    assert shape["head"]["repo"]["full_name"] == "acme/widgets"
    assert [label["name"] for label in shape["labels"]] == ["hotfix", "P1"]
    assert (shape["user"]["login"], shape["merged"], shape["draft"]) == ("dev", False, False)
    listed = world.client.get(
        f"{REPO}/pulls", params={"head": "acme:hotfix/fix-login", "state": "open"}
    ).json()
    assert [p["number"] for p in listed] == [pull.number]
    assert world.client.get(f"{REPO}/pulls", params={"head": "acme:other"}).json() == []

    repo.create_branch("develop", "main")
    created = world.client.post(
        f"{REPO}/pulls", json={"title": "Back-merge", "head": "hotfix/fix-login", "base": "develop"}
    )
    assert created.status_code == 201
    assert created.json()["user"]["login"] == "hotfix-bot[bot]"
    duplicate = world.client.post(
        f"{REPO}/pulls", json={"title": "Again", "head": "hotfix/fix-login", "base": "develop"}
    )
    assert duplicate.status_code == 422
    assert "already exists" in duplicate.json()["errors"][0]["message"]
    assert world.client.get(f"{REPO}/pulls/999").status_code == 404


def test_reviews_paginate_with_link_headers(world: World) -> None:
    world.repo.commit("hotfix/x", {"VERSION": "1.2.4\n"}, "bump")
    pull = world.repo.open_pull("hotfix/x", "main", "x", "dev")
    for index in range(5):
        world.repo.review(pull.number, f"reviewer{index}", "APPROVED")
    first = world.client.get(f"{REPO}/pulls/{pull.number}/reviews", params={"per_page": 2})
    assert [r["user"]["login"] for r in first.json()] == ["reviewer0", "reviewer1"]
    assert first.json()[0]["commit_id"] == pull.head_sha
    assert 'rel="next"' in first.headers["link"] and 'rel="last"' in first.headers["link"]
    logins = []
    url: str | None = f"{REPO}/pulls/{pull.number}/reviews?per_page=2"
    while url:
        page = world.client.get(url)
        logins += [r["user"]["login"] for r in page.json()]
        url = page.links.get("next", {}).get("url")
    assert logins == [f"reviewer{index}" for index in range(5)]


def test_requested_reviewers_and_commit_pulls(world: World) -> None:
    head = world.repo.commit("hotfix/x", {"VERSION": "1.2.4\n"}, "bump")
    pull = world.repo.open_pull("hotfix/x", "main", "x", "dev")
    answer = world.client.post(
        f"{REPO}/pulls/{pull.number}/requested_reviewers", json={"reviewers": ["alice"]}
    )
    assert answer.status_code == 201
    assert pull.requested_reviewers == ["alice"]
    author = world.client.post(
        f"{REPO}/pulls/{pull.number}/requested_reviewers", json={"reviewers": ["dev"]}
    )
    assert author.status_code == 422
    assert [p["number"] for p in world.client.get(f"{REPO}/commits/{head}/pulls").json()] == [1]
    merge_sha = world.repo.merge_pull(pull.number)
    assert [p["number"] for p in world.client.get(f"{REPO}/commits/{merge_sha}/pulls").json()] == [
        1
    ]


def test_a_commit_a_merge_brought_into_the_default_branch_names_its_merged_pull_request(
    world: World,
) -> None:
    world.repo.create_branch("develop", "main")
    head = world.repo.commit("hotfix/x", {"VERSION": "1.2.4\n"}, "bump")
    world.repo.merge_pull(world.repo.open_pull("hotfix/x", "main", "x", "dev").number)
    world.repo.create_branch("feature/y", "develop")
    feature = world.repo.commit("feature/y", {"y.py": "y\n"}, "y")
    world.repo.merge_pull(world.repo.open_pull("feature/y", "develop", "y", "dev").number)

    def listed(sha: str) -> list[tuple[int, bool]]:
        pulls = world.client.get(f"{REPO}/commits/{sha}/pulls").json()
        return [(p["number"], p["merged_at"] is not None) for p in pulls]

    assert listed(head) == [(1, True)]
    # Not on the default branch: GitHub lists only the open pull requests of the commit.
    assert listed(feature) == []


def test_a_team_of_the_organization_can_be_requested_and_another_is_refused(
    world: World,
) -> None:
    world.repo.commit("hotfix/x", {"VERSION": "1.2.4\n"}, "bump")
    pull = world.repo.open_pull("hotfix/x", "main", "x", "dev")
    world.fake.add_team("acme", "engineering-leads", ["lead"])
    url = f"{REPO}/pulls/{pull.number}/requested_reviewers"

    refused = world.client.post(url, json={"team_reviewers": ["engineering-leads", "nobody"]})
    asked = world.client.post(url, json={"team_reviewers": ["engineering-leads"]})

    assert refused.status_code == 422
    assert refused.json()["message"] == (
        "Reviews may only be requested from collaborators. One or more of the teams you "
        "specified is not a collaborator of the acme/widgets repository."
    )
    assert asked.status_code == 201
    [team] = asked.json()["requested_teams"]
    assert (team["slug"], team["html_url"]) == (
        "engineering-leads",
        "https://github.com/orgs/acme/teams/engineering-leads",
    )
    assert pull.requested_teams == ["engineering-leads"]


def test_check_runs_keep_history_and_list_latest(world: World) -> None:
    sha = world.repo.branches["main"].sha
    waiting = {"title": "Waiting", "summary": "for approvals"}
    created = world.client.post(
        f"{REPO}/check-runs",
        json={"name": "hotfix-policy", "head_sha": sha, "status": "in_progress", "output": waiting},
    )
    assert created.status_code == 201
    run_id = created.json()["id"]
    updated = world.client.patch(
        f"{REPO}/check-runs/{run_id}",
        json={"conclusion": "success", "output": {"title": "Done", "summary": "ok"}},
    )
    assert (updated.json()["status"], updated.json()["conclusion"]) == ("completed", "success")
    run = world.repo.check_runs[run_id]
    assert [(h["status"], h["output"]["title"]) for h in run.history] == [
        ("in_progress", "Waiting"),
        ("completed", "Done"),
    ]
    world.client.post(f"{REPO}/check-runs", json={"name": "hotfix-policy", "head_sha": sha})
    listed = world.client.get(
        f"{REPO}/commits/main/check-runs", params={"check_name": "hotfix-policy"}
    ).json()
    assert listed["total_count"] == 1
    every = world.client.get(f"{REPO}/commits/{sha}/check-runs", params={"filter": "all"}).json()
    assert every["total_count"] == 2
    bad = world.client.post(
        f"{REPO}/check-runs", json={"name": "x", "head_sha": sha, "status": "completed"}
    )
    assert bad.status_code == 422
    assert world.client.post(f"{REPO}/check-runs", json={"name": "x"}).status_code == 422
    assert world.client.get(f"{REPO}/check-runs/1").status_code == 404


def test_comments(world: World) -> None:
    world.repo.commit("hotfix/x", {"VERSION": "1.2.4\n"}, "bump")
    pull = world.repo.open_pull("hotfix/x", "main", "x", "dev")
    created = world.client.post(f"{REPO}/issues/{pull.number}/comments", json={"body": "Done"})
    assert created.status_code == 201
    comment_id = created.json()["id"]
    edited = world.client.patch(f"{REPO}/issues/comments/{comment_id}", json={"body": "Edited"})
    assert edited.json()["body"] == "Edited"
    listed = world.client.get(f"{REPO}/issues/{pull.number}/comments").json()
    assert [c["body"] for c in listed] == ["Edited"]
    assert [c.body for c in world.repo.comments_on(pull.number)] == ["Edited"]
    assert world.client.post(f"{REPO}/issues/99/comments", json={"body": "x"}).status_code == 404


def test_the_issues_api_closes_a_pull_request(world: World) -> None:
    world.repo.commit("hotfix/x", {"VERSION": "1.2.4\n"}, "bump")
    pull = world.repo.open_pull("hotfix/x", "main", "x", "dev")
    closed = world.client.patch(f"{REPO}/issues/{pull.number}", json={"state": "closed"})
    assert closed.status_code == 200
    assert (closed.json()["state"], "pull_request" in closed.json()) == ("closed", True)
    assert (pull.state, pull.merged, pull.closed_at is not None) == ("closed", False, True)
    listed = world.client.get(f"{REPO}/pulls", params={"state": "closed"}).json()
    assert [(p["number"], p["state"], p["merged_at"]) for p in listed] == [
        (pull.number, "closed", None)
    ]


def test_pull_requests_are_listed_newest_first_or_by_their_last_update(world: World) -> None:
    """GitHub's orders: by creation, newest first, unless asked to sort by the last update,
    oldest first unless the direction says otherwise."""
    moment = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)
    world.fake.clock = lambda: moment
    numbers: list[int] = []
    for branch in ("a", "b", "c"):
        world.repo.create_branch(branch, "main")
        numbers.append(world.repo.open_pull(branch, "main", branch, "dev").number)
        moment += timedelta(minutes=1)
    world.repo.edit_pull(numbers[0], "a, edited", "")

    def listed(**params: str) -> list[int]:
        return [p["number"] for p in world.client.get(f"{REPO}/pulls", params=params).json()]

    first, second, third = numbers
    assert listed() == [third, second, first]
    assert listed(sort="updated", direction="desc") == [first, third, second]
    assert listed(sort="updated") == [second, third, first]


def test_team_members_and_memberships(world: World) -> None:
    world.fake.add_team("acme", "engineering-leads", members=[f"lead{i}" for i in range(35)])
    teams = "/orgs/acme/teams/engineering-leads"
    first = world.client.get(f"{teams}/members")
    assert len(first.json()) == 30
    assert first.links["next"]["url"].endswith("page=2")
    assert len(world.client.get(f"{teams}/members", params={"page": 2}).json()) == 5
    assert world.client.get(f"{teams}/memberships/lead3").json() == {
        "url": f"{world.fake.api_url}{teams}/memberships/lead3",
        "role": "member",
        "state": "active",
    }
    assert world.client.get(f"{teams}/memberships/mallory").status_code == 404
    assert world.client.get("/orgs/acme/teams/nope/members").status_code == 404
    assert world.client.get("/orgs/globex/teams/engineering-leads/members").status_code == 404

"""Serving over HTTP, request recording, fault injection, latency, validation, webhooks."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
from support.fake_world import World

from sandbox import FakeGitHub, serve_fake

REPO = "/repos/acme/widgets"


def test_served_over_loopback_and_recorded(served_world: World) -> None:
    assert str(served_world.client.base_url).startswith("http://127.0.0.1:")
    answer = served_world.client.get(REPO, params={"x": "1"}, headers={"X-Custom": "yes"})
    assert answer.status_code == 200
    assert answer.json()["url"] == f"{served_world.fake.api_url}{REPO}"
    recorded = served_world.fake.requests_to("GET", REPO)[-1]
    assert (recorded.method, recorded.path, recorded.query) == ("GET", REPO, {"x": "1"})
    assert recorded.headers["x-custom"] == "yes"
    assert (recorded.status, recorded.installation_id) == (200, served_world.installation_id)
    posted = served_world.client.post(f"{REPO}/check-runs", json={"name": "n"})
    assert posted.status_code == 422
    assert served_world.fake.requests[-1].json == {"name": "n"}


def test_faults_count_down_in_registration_order(world: World) -> None:
    world.fake.inject("GET", r"/pulls/\d+$", status=502, times=2, headers={"retry-after": "1"})
    world.fake.inject("GET", r"/pulls/\d+$", status=403, times=1, body={"message": "limited"})
    world.repo.commit("hotfix/x", {"VERSION": "1.2.4\n"}, "bump")
    world.repo.open_pull("hotfix/x", "main", "x")
    answers = [world.client.get(f"{REPO}/pulls/1") for _ in range(4)]
    assert [a.status_code for a in answers] == [502, 502, 403, 200]
    assert answers[0].headers["retry-after"] == "1"
    assert "x-ratelimit-remaining" in answers[0].headers
    assert answers[2].json() == {"message": "limited"}
    assert [f.hits for f in world.fake.faults] == [2, 1]
    assert [r.status for r in world.fake.requests_to("GET", f"{REPO}/pulls")] == [
        502,
        502,
        403,
        200,
    ]


def test_forever_faults_and_method_filter(world: World) -> None:
    world.fake.inject("POST", r"/check-runs$", status=500, times=None)
    sha = world.repo.branches["main"].sha
    for _ in range(3):
        answer = world.client.post(f"{REPO}/check-runs", json={"name": "n", "head_sha": sha})
        assert answer.status_code == 500
    assert world.client.get(REPO).status_code == 200
    assert world.repo.check_runs == {}


def test_delays_and_global_latency(world: World) -> None:
    world.fake.inject("GET", "^/repos/acme/widgets$", delay=0.1)
    started = time.monotonic()
    assert world.client.get(REPO).status_code == 200
    assert time.monotonic() - started >= 0.1
    world.fake.latency = 0.05
    started = time.monotonic()
    world.client.get(REPO)
    assert 0.05 <= time.monotonic() - started < 0.1


def test_inject_needs_something_to_do() -> None:
    with pytest.raises(ValueError, match="fault needs"):
        FakeGitHub().inject("GET", ".*")


def test_a_hang_times_the_client_out_and_shutdown_still_works() -> None:
    fake = FakeGitHub()
    fake.inject("GET", "/hang", hang=True, times=None)
    outcomes: list[int | str] = []

    def patient_client(base_url: str) -> None:
        try:
            outcomes.append(httpx.get(f"{base_url}/hang", timeout=30).status_code)
        except httpx.HTTPError as error:
            outcomes.append(type(error).__name__)

    with serve_fake(fake) as base_url:
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{base_url}/hang", timeout=0.2)
        waiter = threading.Thread(target=patient_client, args=(base_url,))
        waiter.start()
        while len(fake.requests) < 2:
            time.sleep(0.01)
        stopping_at = time.monotonic()
    # The server stopped although a patient client was still waiting on a hang.
    assert time.monotonic() - stopping_at < 3
    waiter.join(timeout=5)
    assert outcomes in ([504], ["RemoteProtocolError"])
    assert fake.requests[0].status == 504  # answered (to nobody) once the client left


def test_an_applied_fault_answers_an_error_for_what_github_did(world: World) -> None:
    world.fake.inject("POST", f"^{REPO}/issues$", status=502)
    world.fake.inject("POST", f"^{REPO}/issues$", status=502, apply=True)

    answers = [world.client.post(f"{REPO}/issues", json={"title": t}) for t in ("One", "Two")]

    assert [answer.status_code for answer in answers] == [502, 502]
    assert [issue.title for issue in world.repo.issues.values()] == ["Two"]


def test_an_applied_hang_does_the_work_and_holds_the_answer_until_the_client_leaves(
    served_world: World,
) -> None:
    fake, client = served_world.fake, served_world.client
    fake.inject("POST", f"^{REPO}/issues$", hang=True, apply=True)
    report = {"title": "Incident report: Fix", "labels": ["incident-report"]}

    with pytest.raises(httpx.ReadTimeout):
        client.post(f"{REPO}/issues", json=report, timeout=0.3)

    [issue] = served_world.repo.issues.values()
    assert (issue.title, issue.labels) == ("Incident report: Fix", ["incident-report"])
    [held] = fake.requests_to("POST", f"{REPO}/issues")
    deadline = time.monotonic() + 5
    while held.status is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert held.status == 504  # answered, to nobody, once the client had gone
    again = client.post(f"{REPO}/issues", json={"title": "Again"})  # the fault is spent
    assert (again.status_code, again.json()["number"]) == (201, issue.number + 1)


def test_request_validator_refuses_and_records_violations(world: World) -> None:
    def no_empty_bodies(method: str, path: str, query: dict[str, str], body: Any) -> list[str]:
        return ["POST needs a JSON body"] if method == "POST" and body is None else []

    world.fake.request_validator = no_empty_bodies
    answer = world.client.post(f"{REPO}/check-runs")
    assert answer.status_code == 422
    assert answer.json()["message"] == "Invalid request"
    assert answer.json()["errors"] == ["POST needs a JSON body"]
    assert [v.errors for v in world.fake.violations] == [["POST needs a JSON body"]]
    assert world.fake.violations[0].request.path == f"{REPO}/check-runs"


def test_webhook_payloads_come_from_state(world: World) -> None:
    repo = world.repo
    repo.commit("hotfix/x", {"VERSION": "1.2.4\n"}, "bump")
    pull = repo.open_pull("hotfix/x", "main", "x", "dev", labels=["hotfix"])
    opened = world.fake.pull_request_event(repo, pull.number, "labeled", label="hotfix")
    assert opened["installation"]["id"] == world.installation_id
    assert opened["repository"]["full_name"] == "acme/widgets"
    assert opened["repository"]["owner"]["login"] == "acme"
    assert opened["pull_request"]["head"]["sha"] == pull.head_sha
    assert (opened["number"], opened["action"], opened["label"]["name"]) == (1, "labeled", "hotfix")

    review = repo.review(pull.number, "alice", "APPROVED")
    submitted = world.fake.review_event("acme/widgets", pull.number)
    assert submitted["review"]["id"] == review.id
    assert submitted["sender"]["login"] == "alice"

    run = world.client.post(
        f"{REPO}/check-runs", json={"name": "hotfix-policy", "head_sha": pull.head_sha}
    ).json()
    rerun = world.fake.check_run_event(repo, run["id"])
    assert rerun["check_run"]["pull_requests"][0]["number"] == pull.number
    assert rerun["check_run"]["check_suite"]["head_sha"] == pull.head_sha
    suite = world.fake.check_suite_event(repo, pull.head_sha)
    assert suite["check_suite"]["id"] == run["check_suite"]["id"]
    assert suite["check_suite"]["head_branch"] == "hotfix/x"

    repo.merge_pull(pull.number)
    closed = world.fake.pull_request_event(repo, pull.number, "closed")
    assert closed["pull_request"]["merged"] is True
    assert closed["pull_request"]["merge_commit_sha"] == repo.branches["main"].sha

"""Every answer of the webhook intake (docs/BEHAVIOUR.md, 'The webhook'), in process."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import respx
from httpx import Response
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.types import Message, Scope
from support.harness import Bot, Clock, services_of
from support.webhooks import (
    WEBHOOK_SECRET,
    journal_file,
    make_settings,
    pull_request_payload,
    signed_headers,
)

from app.github.client import GitHubApp
from app.handlers.routing import Context, Router
from app.intake.bodies import MAX_BODY_BYTES
from app.intake.delivery import Delivery
from app.intake.server import create_app
from app.journal import (
    JournalUnavailable,
    RecordOutcome,
    SqliteJournal,
)
from app.journal.base import HEARTBEAT_KEY, ROOM_PROBE_BYTES
from app.services import ROOM_PROBE_REUSE_SECONDS, Services

PATH = "/api/github/webhooks"


class Harness:
    def __init__(self, client: TestClient, journal: SqliteJournal, handled: list[str]) -> None:
        self.client = client
        self.journal = journal
        self.handled = handled

    def post(self, body: bytes, headers: dict[str, str]) -> Any:
        return self.client.post(PATH, content=body, headers=headers)

    def wait_handled(self, count: int) -> None:
        deadline = time.monotonic() + 5
        while len(self.handled) < count and time.monotonic() < deadline:
            time.sleep(0.01)

    def assert_nothing_kept(self) -> None:
        assert self.journal.recent() == []
        assert self.handled == []


def recording_router(handled: list[str]) -> Router:
    router = Router()

    async def record(context: Context) -> None:
        handled.append(context.delivery.id)

    router.add("pull_request", ["opened", "synchronize"], record)
    return router


@pytest.fixture
def harness(tmp_path: Path, private_key_pem: str) -> Iterator[Harness]:
    yield from _harness(tmp_path, private_key_pem)


def _harness(tmp_path: Path, private_key_pem: str | None, **values: Any) -> Iterator[Harness]:
    settings = make_settings(tmp_path, private_key_pem, **values)
    journal = SqliteJournal(journal_file(settings))
    handled: list[str] = []
    app = create_app(settings, router=recording_router(handled), journal=journal)
    with respx.mock(assert_all_called=False) as github:
        github.post("http://github.invalid/app/installations/11/access_tokens").mock(
            return_value=Response(
                201, json={"token": "ghs_test", "expires_at": "2099-01-01T00:00:00Z"}
            )
        )
        with TestClient(app) as client:
            yield Harness(client, journal, handled)


def test_a_signed_pull_request_is_journaled_answered_202_and_processed(harness: Harness) -> None:
    body = pull_request_payload()
    response = harness.post(body, signed_headers(body, "pull_request", "d-1"))

    assert response.status_code == 202
    assert response.json() == {"delivery": "d-1", "status": "queued"}
    harness.wait_handled(1)
    assert harness.handled == ["d-1"]
    [entry] = harness.journal.recent()
    assert (entry.id, entry.event, entry.action, entry.installation_id) == (
        "d-1",
        "pull_request",
        "opened",
        11,
    )
    assert (entry.repository, entry.pr_number, entry.payload) == ("acme/widgets", 7, body)


def test_valid_json_msgspec_refuses_is_still_taken_and_processed(harness: Harness) -> None:
    odd = b'"x": 1e400,'  # beyond msgspec's numbers
    body = pull_request_payload(action="synchronize").replace(b'"number": 7,', odd, 1)
    assert odd in body
    response = harness.post(body, signed_headers(body, "pull_request", "d-odd"))

    assert (response.status_code, response.json()["status"]) == (202, "queued")
    harness.wait_handled(1)
    assert harness.handled == ["d-odd"]
    deadline = time.monotonic() + 5
    while harness.journal.recent()[0].status == "running" and time.monotonic() < deadline:
        time.sleep(0.01)
    [entry] = harness.journal.recent()
    assert (entry.status, entry.attempts, entry.last_error) == ("done", 1, None)


@pytest.mark.parametrize(
    "value",
    [b"NaN", b"Infinity", b"-Infinity", b'"\\ud800"', b'1e400, "action": "\\ud800"'],
    ids=["NaN", "Infinity", "-Infinity", "lone surrogate", "lone surrogate where read"],
)
def test_the_values_json_text_cannot_hold_are_refused(harness: Harness, value: bytes) -> None:
    """NaN and Infinity are no JSON; no UTF-8 text holds a lone surrogate."""
    body = b'{"action": "synchronize", "x": ' + value + b"}"
    response = harness.post(body, signed_headers(body, "pull_request", "d-nan"))

    assert (response.status_code, response.json()) == (400, {"error": "the body is not JSON"})
    harness.assert_nothing_kept()


def test_a_delivery_seen_before_is_a_duplicate_and_never_processed_twice(
    harness: Harness,
) -> None:
    body = pull_request_payload()
    first = harness.post(body, signed_headers(body, "pull_request", "d-1"))
    harness.wait_handled(1)
    again = harness.post(body, signed_headers(body, "pull_request", "d-1"))

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == {"delivery": "d-1", "status": "duplicate"}
    time.sleep(0.2)
    assert harness.handled == ["d-1"]
    assert len(harness.journal.recent()) == 1


def test_an_event_the_app_does_not_act_on_is_ignored(harness: Harness) -> None:
    body = pull_request_payload(action="assigned")
    response = harness.post(body, signed_headers(body, "pull_request", "d-2"))

    assert response.status_code == 202
    assert response.json() == {"delivery": "d-2", "status": "ignored"}
    [entry] = harness.journal.recent()
    assert (entry.status, entry.payload) == ("ignored", None)
    time.sleep(0.2)
    assert harness.handled == []


def test_healthz_and_metrics_answer_without_asking_github(bot: Bot) -> None:
    with bot.counting() as requests:
        alive = bot.client.get("/healthz")
        exposition = bot.client.get("/metrics")

    assert requests == []
    assert (alive.status_code, alive.json()) == (
        200,
        {"status": "ok", "version": version("hotfix-bot")},
    )
    assert exposition.status_code == 200
    assert exposition.headers["content-type"].startswith("text/plain; version=")
    families = {family.name for family in text_string_to_metric_families(exposition.text)}
    assert {"hotfix_bot_deliveries", "hotfix_bot_queue_depth"} <= families


def test_ping_is_answered_200_and_not_journaled(harness: Harness) -> None:
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    response = harness.post(body, signed_headers(body, "ping", "d-ping"))

    assert response.status_code == 200
    harness.assert_nothing_kept()


def test_ping_is_503_while_the_journal_file_is_replaced_as_deliveries_are(
    harness: Harness, tmp_path: Path
) -> None:
    """A ping says whether the next delivery would be taken: not into a file gone from its
    path (docs/RELIABILITY.md, the journal file deleted or replaced)."""
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    path, moved = tmp_path / "journal.db", tmp_path / "journal.db.moved"
    path.rename(moved)
    shutil.copy(moved, path)  # say, a backup restored over it

    refused = harness.post(body, signed_headers(body, "ping", "d-ping-1"))
    moved.replace(path)  # the file the server opened, put back
    answered = harness.post(body, signed_headers(body, "ping", "d-ping-2"))

    error = "the delivery journal file was deleted or replaced; GitHub will let you redeliver"
    assert (refused.status_code, refused.json()) == (503, {"error": error})
    assert (answered.status_code, answered.json()) == (
        200,
        {"delivery": "d-ping-2", "status": "pong"},
    )
    harness.assert_nothing_kept()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"x-hub-signature-256": None}, 401),
        ({"x-hub-signature-256": "sha256=" + "0" * 64}, 401),
        ({"x-hub-signature-256": "sha1=" + "0" * 40}, 401),
        # The legacy SHA-1 header alone is not enough.
        ({"x-hub-signature-256": None, "x-hub-signature": "sha1=whatever"}, 401),
        ({"x-github-event": None}, 400),
        ({"x-github-delivery": None}, 400),
    ],
    ids=["no-signature", "wrong-signature", "sha1-in-sha256", "sha1-only", "no-event", "no-id"],
)
def test_refused_deliveries_keep_nothing(
    harness: Harness, change: dict[str, str | None], expected: int
) -> None:
    body = pull_request_payload()
    headers: dict[str, str] = signed_headers(body, "pull_request", "d-3")
    for name, value in change.items():
        headers.pop(name, None)
        if value is not None:
            headers[name] = value

    assert harness.post(body, headers).status_code == expected
    time.sleep(0.1)
    harness.assert_nothing_kept()


@pytest.mark.parametrize(
    ("body", "change"),
    [
        (b"not json", {}),
        (b"[1, 2]", {}),
        (pull_request_payload(), {"x-github-event": None}),
        (pull_request_payload(), {"x-github-delivery": None}),
        (pull_request_payload(), {"x-github-delivery": "d" * 129}),
    ],
    ids=["not-json", "not-an-object", "no-event", "no-id", "long-id"],
)
def test_the_signature_is_checked_before_anything_else_in_the_request(
    harness: Harness, body: bytes, change: dict[str, str | None]
) -> None:
    headers: dict[str, str] = signed_headers(body, "pull_request", "d-8", secret="not-ours")
    for name, value in change.items():
        headers.pop(name, None)
        if value is not None:
            headers[name] = value

    answer = harness.post(body, headers)

    assert (answer.status_code, answer.json()) == (
        401,
        {"error": "missing or wrong X-Hub-Signature-256"},
    )
    harness.assert_nothing_kept()


SIGNATURE_ADVICE = (
    "(401) for a missing or wrong X-Hub-Signature-256; if GitHub's Recent Deliveries (the "
    "App's settings, Advanced) show 401, the App's webhook secret there is not this server's "
    "WEBHOOK_SECRET: set the same value in both (said once a minute at most)"
)


def test_deliveries_refused_for_their_signature_are_logged_once_a_minute_with_the_fix(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """GitHub shows its 401s in the App's settings alone; the server's log says what they
    mean, without filling up when anyone posts unsigned requests."""
    now = [1000.0]
    services_of(harness.client).clock = lambda: now[0]
    body = pull_request_payload()

    def post_signed_with(secret: str, seconds_later: float) -> int:
        now[0] += seconds_later
        headers = signed_headers(body, "pull_request", "d-9", secret=secret)
        return int(harness.post(body, headers).status_code)

    with caplog.at_level(logging.WARNING, logger="hotfix_bot.intake"):
        answers = [post_signed_with("github-has-another", seconds) for seconds in (0, 1, 58)]
        answers.append(post_signed_with("github-has-another", 1))

    assert answers == [401, 401, 401, 401]
    assert [record.getMessage() for record in caplog.records] == [
        f"a delivery was refused {SIGNATURE_ADVICE}",
        f"3 deliveries were refused since the last line like this {SIGNATURE_ADVICE}",
    ]
    assert all("github-has-another" not in record.getMessage() for record in caplog.records)


def test_a_webhook_secret_with_a_line_break_kept_from_a_file_is_named_when_refusing(
    tmp_path: Path, private_key_pem: str, caplog: pytest.LogCaptureFixture
) -> None:
    """`echo secret > file` keeps a line break the secret typed into GitHub has not, and then
    every delivery is refused: the log says where to look. The signature stays the contract's,
    with WEBHOOK_SECRET as set."""
    body = pull_request_payload()
    harness = _harness(tmp_path, private_key_pem, WEBHOOK_SECRET=f"{WEBHOOK_SECRET}\n")
    with caplog.at_level(logging.WARNING, logger="hotfix_bot.intake"):
        for padded in harness:
            typed_in = padded.post(body, signed_headers(body, "pull_request", "d-10"))
            as_set = signed_headers(body, "pull_request", "d-11", secret=f"{WEBHOOK_SECRET}\n")
            assert (typed_in.status_code, padded.post(body, as_set).status_code) == (401, 202)

    assert [record.getMessage() for record in caplog.records] == [
        f"a delivery was refused {SIGNATURE_ADVICE[: -len(' (said once a minute at most)')]}; "
        "this server's WEBHOOK_SECRET begins or ends with whitespace (a line break kept from a "
        "file?), which the secret typed into GitHub most likely does not: remove it (said once "
        "a minute at most)"
    ]


def test_a_delivery_id_over_128_characters_is_400_and_kept_nowhere(harness: Harness) -> None:
    body = pull_request_payload()
    too_long = harness.post(body, signed_headers(body, "pull_request", "d" * 129))

    assert (too_long.status_code, too_long.json()) == (
        400,
        {"error": "X-GitHub-Delivery is longer than 128 characters"},
    )
    harness.assert_nothing_kept()
    longest = harness.post(body, signed_headers(body, "pull_request", "d" * 128))
    assert (longest.status_code, longest.json()["status"]) == (202, "queued")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"[1, 2]", "the body is not a JSON object"),
        (b'"text"', "the body is not a JSON object"),
        (b"not json", "the body is not JSON"),
        (b"\xff\xfe", "the body is not JSON"),
        # Broken where the intake reads nothing: the whole body is still checked.
        (b'{"action": "opened", "pull_request": {"title": "\xff"}}', "the body is not JSON"),
        (b'{"action": "opened", "sender": {"login": [1, 2,}}', "the body is not JSON"),
        (b'{"action": "opened"} {}', "the body is not JSON"),
        (b'{"installation": "odd", "sender": {"login": [1, 2,}}', "the body is not JSON"),
        ('{"action": "opened"}'.encode("utf-16-le"), "the body is not JSON"),
        (b'\xef\xbb\xbf{"action": "opened"}', "the body is not JSON"),
    ],
    ids=[
        "array",
        "string",
        "not-json",
        "not-utf8",
        "not-utf8-inside",
        "broken-inside",
        "trailing",
        "odd-then-broken",
        "utf-16",
        "utf-8-bom",
    ],
)
def test_a_body_that_is_not_a_json_object_is_400(harness: Harness, body: bytes, error: str) -> None:
    response = harness.post(body, signed_headers(body, "pull_request", "d-4"))

    assert (response.status_code, response.json()) == (400, {"error": error})
    harness.assert_nothing_kept()


def test_githubs_published_test_vector_passes_the_signature_check(
    tmp_path: Path, private_key_pem: str
) -> None:
    # docs.github.com "Validating webhook deliveries": the body is not JSON, so a 400 (and
    # not a 401) shows the signature was accepted.
    body = b"Hello, World!"
    signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    headers = {
        "x-hub-signature-256": signature,
        "x-github-event": "push",
        "x-github-delivery": "vector",
    }
    for secret, expected in (("It's a Secret to Everybody", 400), ("another secret", 401)):
        settings = make_settings(tmp_path / secret, private_key_pem, WEBHOOK_SECRET=secret)
        app = create_app(settings, router=Router())
        with TestClient(app) as client:
            assert client.post(PATH, content=body, headers=headers).status_code == expected


def test_a_body_over_25_mib_by_content_length_is_413(harness: Harness) -> None:
    headers = signed_headers(b"{}", "pull_request", "d-5")
    headers["content-length"] = str(MAX_BODY_BYTES + 1)

    response = harness.client.post(PATH, content=b"{}", headers=headers)

    assert response.status_code == 413
    harness.assert_nothing_kept()


def test_a_chunked_body_without_content_length_over_25_mib_is_413(harness: Harness) -> None:
    chunk = b" " * (1024 * 1024)
    headers = signed_headers(b"", "pull_request", "d-6")
    response = harness.client.post(PATH, content=iter([chunk] * 26), headers=headers)

    assert response.status_code == 413
    assert response.json() == {"error": "the body is larger than 25 MiB"}
    harness.assert_nothing_kept()


@pytest.mark.parametrize(
    ("values", "missing"),
    [
        ({"WEBHOOK_SECRET": None}, "WEBHOOK_SECRET"),
        ({"APP_ID": None, "PRIVATE_KEY": None}, "APP_ID and PRIVATE_KEY"),
        (
            {"APP_ID": None, "PRIVATE_KEY": None, "WEBHOOK_SECRET": None},
            "APP_ID, PRIVATE_KEY and WEBHOOK_SECRET",
        ),
    ],
    ids=["no secret", "setup mode with a secret", "setup mode"],
)
def test_without_secret_or_credentials_every_delivery_is_503_naming_what_to_set(
    tmp_path: Path, private_key_pem: str, values: dict[str, Any], missing: str
) -> None:
    body = pull_request_payload()
    for harness in _harness(tmp_path, private_key_pem, **values):
        response = harness.post(body, signed_headers(body, "pull_request", "d-7"))
        assert (response.status_code, response.json()) == (
            503,
            {"error": f"hotfix-bot is not configured yet: set {missing}"},
        )
        harness.assert_nothing_kept()
        ready = harness.client.get("/readyz")
        if "APP_ID" not in values:  # ready as docs/BEHAVIOUR.md defines it, saying why not
            warning = "no WEBHOOK_SECRET: every delivery is refused with 503"
            expected = (200, {"status": "ready", "warnings": [warning]})
        else:
            problem = (
                "no GitHub App credentials (APP_ID, PRIVATE_KEY): register the App on this "
                "server's setup page, /, or set them"
            )
            expected = (503, {"status": "unavailable", "problems": [problem]})
        assert (ready.status_code, ready.json()) == expected


class BrokenJournal(SqliteJournal):
    async def record(
        self,
        delivery: Delivery,
        body: bytes | bytearray,
        *,
        handled: bool,
        supersedable: bool = False,
    ) -> RecordOutcome:
        raise JournalUnavailable("journal write failed: database or disk is full")


def test_a_delivery_the_journal_cannot_take_is_refused_503_not_acknowledged(
    tmp_path: Path, private_key_pem: str
) -> None:
    settings = make_settings(tmp_path, private_key_pem)
    app = create_app(settings, router=Router(), journal=BrokenJournal(journal_file(settings)))
    body = pull_request_payload()
    with TestClient(app) as client:
        response = client.post(PATH, content=body, headers=signed_headers(body, "push", "d-8"))
    assert response.status_code == 503
    assert "GitHub will let you redeliver" in response.json()["error"]


class NearlyFullDisk(SqliteJournal):
    """A journal whose disk has room for `room` bytes: a delivery, or a state value, larger
    is refused, as SQLite refuses a write that does not fit. `heartbeats`: the length of
    each heartbeat it was asked to write, fitting or not. Its clock stands at 1000.0."""

    room = 64

    def __init__(self, path: Path) -> None:
        super().__init__(path, clock=lambda: 1000.0)
        self.heartbeats: list[int] = []

    async def record(
        self,
        delivery: Delivery,
        body: bytes | bytearray,
        *,
        handled: bool,
        supersedable: bool = False,
    ) -> RecordOutcome:
        self._fits(len(body))
        return await super().record(delivery, body, handled=handled, supersedable=supersedable)

    async def set_state(self, key: str, value: str, *, durable: bool = False) -> None:
        if key == HEARTBEAT_KEY:
            self.heartbeats.append(len(value))
        self._fits(len(value))
        await super().set_state(key, value, durable=durable)

    def _fits(self, size: int) -> None:
        if size > self.room:
            raise JournalUnavailable("journal write failed: database or disk is full")


# What NearlyFullDisk's heartbeats hold: the time, and after it what shows room for `size`.
SHORT_HEARTBEAT = len("1000.0")


def room_probe(size: int) -> int:
    return len("1000.0 ") + size


def probed_app(tmp_path: Path, private_key_pem: str) -> tuple[Starlette, NearlyFullDisk, Clock]:
    """The intake on a NearlyFullDisk, and the clock by which it reuses a failed room probe."""
    settings = make_settings(tmp_path, private_key_pem)
    journal = NearlyFullDisk(journal_file(settings))
    app = create_app(settings, router=Router(), journal=journal)
    app.state.services.clock = clock = Clock()
    return app, journal, clock


UNWRITABLE = (503, {"status": "unavailable", "problems": ["the journal is not writable"]})
PING = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()


def test_readyz_is_503_after_a_refused_delivery_until_a_write_that_large_fits(
    tmp_path: Path, private_key_pem: str
) -> None:
    """The heartbeat /readyz writes is a few bytes, which still fit on a disk too full for a
    delivery: after a refusal, /readyz and a ping write as much as the refused delivery."""
    app, journal, clock = probed_app(tmp_path, private_key_pem)
    delivery = pull_request_payload()
    with TestClient(app) as client:
        ready = client.get("/readyz")
        refused = client.post(
            PATH, content=delivery, headers=signed_headers(delivery, "push", "d-1")
        )
        ready_after = client.get("/readyz")
        pong_after = client.post(PATH, content=PING, headers=signed_headers(PING, "ping", "p-1"))
        journal.room = len(delivery) + 64  # room made, and no delivery since
        clock.now += ROOM_PROBE_REUSE_SECONDS
        ready_again = client.get("/readyz")
        heartbeat = asyncio.run(journal.get_state(HEARTBEAT_KEY))
        taken = client.post(PATH, content=delivery, headers=signed_headers(delivery, "push", "d-1"))

    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert refused.status_code == 503
    assert (ready_after.status_code, ready_after.json()) == UNWRITABLE
    assert pong_after.status_code == 503
    assert (ready_again.status_code, ready_again.json()) == (200, {"status": "ready"})
    assert heartbeat == "1000.0"  # not kept as large
    assert (taken.status_code, taken.json()) == (202, {"delivery": "d-1", "status": "ignored"})


def test_readyz_is_200_again_once_the_journal_takes_a_delivery(
    tmp_path: Path, private_key_pem: str
) -> None:
    """What counts is the last delivery: one that fits clears an earlier refusal."""
    app, _, _ = probed_app(tmp_path, private_key_pem)
    large, small = pull_request_payload(), b'{"zen": "Half measures are as bad as nothing."}'
    with TestClient(app) as client:
        refused = client.post(PATH, content=large, headers=signed_headers(large, "push", "d-1"))
        ready_after = client.get("/readyz")
        taken = client.post(PATH, content=small, headers=signed_headers(small, "push", "d-2"))
        ready_again = client.get("/readyz")

    assert (refused.status_code, ready_after.status_code) == (503, 503)
    assert (taken.status_code, taken.json()) == (202, {"delivery": "d-2", "status": "ignored"})
    assert (ready_again.status_code, ready_again.json()) == (200, {"status": "ready"})


def test_after_a_refused_25_mib_delivery_readyz_writes_one_mib_and_keeps_the_time_alone(
    tmp_path: Path, private_key_pem: str
) -> None:
    """However large the refused body, /readyz looks for room with a write of
    ROOM_PROBE_BYTES (1 MiB, far above a typical delivery's row) and then writes the time
    alone over it: a disk with room for that is ready, and nothing that large is kept."""
    app, journal, _ = probed_app(tmp_path, private_key_pem)
    largest = json.dumps({"zen": "x" * (MAX_BODY_BYTES - 11)}).encode()
    with TestClient(app) as client:
        refused = client.post(PATH, content=largest, headers=signed_headers(largest, "push", "d"))
        journal.room = 2 * ROOM_PROBE_BYTES  # room for a typical delivery, not for that one
        ready = client.get("/readyz")
        heartbeat = asyncio.run(journal.get_state(HEARTBEAT_KEY))

    assert (len(largest), refused.status_code) == (MAX_BODY_BYTES, 503)
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert journal.heartbeats == [room_probe(ROOM_PROBE_BYTES), SHORT_HEARTBEAT]
    assert heartbeat == "1000.0"


def test_readyz_asked_by_many_at_once_after_a_refusal_makes_one_large_write(
    tmp_path: Path, private_key_pem: str
) -> None:
    """Eight probes at once share one write, whether it fits or not, and one answer."""
    app, journal, clock = probed_app(tmp_path, private_key_pem)
    services: Services = app.state.services
    delivery = pull_request_payload()

    async def asked_at_once() -> list[str | None]:
        return await asyncio.gather(*(services.journal_problem() for _ in range(8)))

    with TestClient(app) as client:
        refused = client.post(PATH, content=delivery, headers=signed_headers(delivery, "push", "d"))
        while_full = asyncio.run(asked_at_once())
        journal.room = len(delivery) + 64
        clock.now += ROOM_PROBE_REUSE_SECONDS
        with_room = asyncio.run(asked_at_once())

    assert refused.status_code == 503
    assert while_full == ["the journal is not writable"] * 8
    assert with_room == [None] * 8
    probe = room_probe(len(delivery))
    assert journal.heartbeats == [probe, probe, SHORT_HEARTBEAT]


def test_a_large_write_that_did_not_fit_is_the_answer_for_a_second_then_tried_again(
    tmp_path: Path, private_key_pem: str
) -> None:
    """Anyone may ask /readyz in a loop: after a refusal, it writes the large heartbeat at
    most once in ROOM_PROBE_REUSE_SECONDS; /readyz and pings meanwhile answer as it did."""
    app, journal, clock = probed_app(tmp_path, private_key_pem)
    delivery = pull_request_payload()
    with TestClient(app) as client:
        client.post(PATH, content=delivery, headers=signed_headers(delivery, "push", "d-1"))
        first = client.get("/readyz")
        clock.now += ROOM_PROBE_REUSE_SECONDS / 2
        reused = client.get("/readyz")
        pong = client.post(PATH, content=PING, headers=signed_headers(PING, "ping", "p-1"))
        written_meanwhile = list(journal.heartbeats)
        clock.now += ROOM_PROBE_REUSE_SECONDS / 2
        asked_again = client.get("/readyz")

    assert [(r.status_code, r.json()) for r in (first, reused, asked_again)] == [UNWRITABLE] * 3
    assert pong.status_code == 503
    assert written_meanwhile == [room_probe(len(delivery))]
    assert journal.heartbeats == [room_probe(len(delivery))] * 2


def test_a_delivery_refused_while_a_large_write_runs_is_asked_about_anew(
    tmp_path: Path, private_key_pem: str
) -> None:
    """A large write that fits answers for the deliveries refused before it began: after
    one refused meanwhile, the next /readyz writes as large again."""
    app, journal, _ = probed_app(tmp_path, private_key_pem)
    services: Services = app.state.services
    delivery = pull_request_payload()

    async def refused_while_probing() -> str | None:
        probing = asyncio.create_task(services.journal_problem())
        await asyncio.sleep(0)  # the probe has begun
        services.delivery_refused(len(delivery))  # what the intake does on a refusal
        return await probing

    with TestClient(app) as client:
        refused = client.post(PATH, content=delivery, headers=signed_headers(delivery, "push", "d"))
        journal.room = len(delivery) + 64
        answer = asyncio.run(refused_while_probing())
        ready = client.get("/readyz")

    assert (refused.status_code, answer, ready.status_code) == (503, None, 200)
    probe = room_probe(len(delivery))
    assert journal.heartbeats == [probe, SHORT_HEARTBEAT, probe, SHORT_HEARTBEAT]


def test_the_secret_never_appears_in_an_answer(harness: Harness) -> None:
    body = pull_request_payload()
    answers = [
        harness.post(body, {"x-hub-signature-256": "sha256=00"}),
        harness.post(b"[]", signed_headers(b"[]", "pull_request", "d-9")),
        harness.post(body, signed_headers(body, "pull_request", "d-10")),
    ]
    assert all(WEBHOOK_SECRET not in answer.text for answer in answers)


def test_a_sender_that_goes_away_mid_body_is_let_go_without_an_error(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    body = pull_request_payload()
    headers = {**signed_headers(body, "pull_request", "d-gone"), "content-length": str(len(body))}
    messages: Iterator[Message] = iter(
        [
            {"type": "http.request", "body": body[:100], "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[Message] = []

    async def receive() -> Message:
        return next(messages)

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 3000),
    }
    assert harness.client.portal is not None
    harness.client.portal.call(harness.client.app, scope, receive, send)

    assert sent[0]["status"] == 400
    assert [record.levelname for record in caplog.records if record.levelno >= 30] == []
    assert "a delivery's sender went away before its body arrived" in caplog.messages
    harness.assert_nothing_kept()


class Idle:
    """Runs nothing: a journaled delivery stays as the intake left it."""

    def wake(self) -> None:
        pass

    def attach(self, github: GitHubApp) -> None:
        pass

    async def run(self) -> None:
        await asyncio.Event().wait()

    def problem(self) -> str | None:
        return None


BEYOND_64_BITS = 2**63
INSTALLATION = {"id": 11}
REPOSITORY = {"full_name": "acme/widgets", "default_branch": "main"}
COMMAND = {"body": "/hotfix help", "user": {"login": "dana", "type": "User"}}
# Values GitHub never sends; each is not read, as a value of another type is not.
UNSENDABLE: dict[str, tuple[str, dict[str, Any], str, tuple[object, ...]]] = {
    "pull request number": (
        "pull_request",
        {
            "action": "opened",
            "installation": INSTALLATION,
            "repository": REPOSITORY,
            "pull_request": {"number": BEYOND_64_BITS},
        },
        "queued",  # as one without a number: the policy check has nothing to evaluate
        ("opened", 11, "acme/widgets", None, "delivery:d-1"),
    ),
    "installation id": (
        "pull_request",
        {
            "action": "opened",
            "installation": {"id": BEYOND_64_BITS},
            "repository": REPOSITORY,
            "pull_request": {"number": 7},
        },
        "ignored",
        ("opened", None, "acme/widgets", 7, "acme/widgets#7"),
    ),
    "number of the commented pull request": (
        "issue_comment",
        {
            "action": "created",
            "installation": INSTALLATION,
            "repository": REPOSITORY,
            "issue": {"number": BEYOND_64_BITS, "pull_request": {}},
            "comment": COMMAND,
        },
        "ignored",  # a command needs the pull request it is on
        ("created", 11, "acme/widgets", None, "delivery:d-1"),
    ),
    "pull request of a re-run": (
        "check_run",
        {
            "action": "rerequested",
            "installation": INSTALLATION,
            "repository": REPOSITORY,
            "check_run": {"head_sha": "a" * 40, "pull_requests": [{"number": -BEYOND_64_BITS - 1}]},
        },
        "queued",  # as a re-run on a fork's commit, which names no pull request
        ("rerequested", 11, "acme/widgets", None, f"acme/widgets@{'a' * 40}"),
    ),
    "NUL in the repository's name": (
        "pull_request",
        {
            "action": "opened",
            "installation": INSTALLATION,
            "repository": {"full_name": "acme/wid\u0000gets"},
            "pull_request": {"number": 7},
        },
        "ignored",
        ("opened", 11, None, 7, "delivery:d-1"),
    ),
    "NUL in the action": (
        "pull_request",
        {
            "action": "open\u0000ed",
            "installation": INSTALLATION,
            "repository": REPOSITORY,
            "pull_request": {"number": 7},
        },
        "ignored",
        (None, 11, "acme/widgets", 7, "acme/widgets#7"),
    ),
}


@pytest.mark.parametrize(
    ("event", "payload", "status", "routing"), UNSENDABLE.values(), ids=UNSENDABLE.keys()
)
def test_a_value_github_never_sends_is_answered_alike_by_both_journals(
    tmp_path: Path,
    private_key_pem: str,
    journal_url: str,
    event: str,
    payload: dict[str, Any],
    status: str,
    routing: tuple[object, ...],
) -> None:
    """A number beyond the journal's 64 bits, or text holding a NUL (which PostgreSQL's text
    cannot): answered `202` and journaled without it, never a 500 or a 503 that a
    redelivery would meet again."""
    settings = make_settings(tmp_path, private_key_pem, DATABASE_URL=journal_url)
    body = json.dumps(payload).encode()
    headers = signed_headers(body, event, "d-1")
    app = create_app(settings, runner=Idle())
    with TestClient(app, raise_server_exceptions=False) as client:
        first = client.post(PATH, content=body, headers=headers)
        again = client.post(PATH, content=body, headers=headers)
        [entry] = app.state.services.journal.recent()

    assert (first.status_code, first.json()) == (202, {"delivery": "d-1", "status": status})
    assert (again.status_code, again.json()) == (202, {"delivery": "d-1", "status": "duplicate"})
    kept = (entry.action, entry.installation_id, entry.repository, entry.pr_number)
    assert (*kept, entry.ordering_key) == routing
    assert entry.status == status

"""Properties of the webhook intake's reading of a body (docs/BEHAVIOUR.md, 'The webhook'):
whatever bytes arrive, signed, they are a delivery or a `400`, never a traceback; and the
fields routing reads are those a whole parse gives, of the types they claim."""

from __future__ import annotations

import itertools
import json
from dataclasses import fields
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.harness import WEBHOOK_PATH, Bot
from support.webhooks import signed_headers

from app.intake.delivery import Delivery, NotAJsonObject, from_body, from_payload, parse

INT64 = 2**63
EVENTS = ["pull_request", "pull_request_review", "issue_comment", "push", "check_run"]
EVENTS += ["check_suite", "merge_group", "installation", "repository"]

# Leaves of any JSON type, and numbers at and beyond the 64 bits the journal keeps.
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(INT64 - 2, INT64 + 2).flatmap(lambda n: st.sampled_from([n, -n]))
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
# What GitHub sends there, so that routing is reached, not only refused.
TYPICAL = [7, 42, "opened", "created", "closed", "acme/widgets", "main", "refs/heads/main"]
TYPICAL += ["refs/tags/v1", "/hotfix confirm", "/Hotfix", "dana", "Bot", "User", "abc123"]
TYPICAL += ["gh-readonly-queue/main/pr-7-abc123", "2026-12-04T20:30:30Z", True, False, "\x00"]
leaves = json_values | st.sampled_from(TYPICAL)

# The fields routing reads (docs/BEHAVIOUR.md, 'The webhook'): a list of one object is a
# check's pull requests; {} an object of any keys.
ROUTED: dict[str, Any] = {
    "action": None,
    "installation": {"id": None},
    "repository": {"full_name": None, "default_branch": None},
    "pull_request": {"number": None, "merged": None, "merged_at": None},
    "check_run": {
        "head_sha": None,
        "pull_requests": [{"number": None}],
        "check_suite": {"head_branch": None},
    },
    "check_suite": {"head_sha": None, "head_branch": None, "pull_requests": [{"number": None}]},
    "merge_group": {"head_ref": None, "head_sha": None},
    "issue": {"number": None, "pull_request": {}},
    "comment": {"body": None, "user": {"login": None, "type": None}},
    "sender": {"login": None, "type": None},
    "ref": None,
    "created": None,
    "deleted": None,
    "forced": None,
}


def shaped(shape: Any) -> st.SearchStrategy[Any]:
    """A value where routing reads `shape`: of that shape, its fields of any JSON type, or
    itself of any JSON type."""
    if isinstance(shape, list):
        return st.lists(shaped(shape[0]), max_size=3) | leaves
    if isinstance(shape, dict):
        optional = {name: shaped(field) for name, field in shape.items()}
        return st.fixed_dictionaries({}, optional=optional) | leaves
    return leaves


def encoded(payload: object, ascii_only: bool) -> bytes:
    return json.dumps(payload, ensure_ascii=ascii_only).encode()


routed_payloads = st.fixed_dictionaries(
    {}, optional={name: shaped(field) for name, field in ROUTED.items()}
)
# A key may come twice in a body: the last is the one read, by the intake and the worker.
routed_pairs = st.lists(
    st.sampled_from(sorted(ROUTED)).flatmap(
        lambda name: st.tuples(st.just(name), shaped(ROUTED[name]))
    ),
    max_size=6,
)


def object_of(pairs: list[tuple[str, object]]) -> bytes:
    members = ",".join(f"{json.dumps(name)}:{json.dumps(value)}" for name, value in pairs)
    return f"{{{members}}}".encode()


routed_bodies = st.builds(encoded, routed_payloads, st.booleans()) | routed_pairs.map(object_of)
# Bytes of any kind, and bodies broken here and there.
broken_bodies = st.binary(max_size=64) | st.builds(
    lambda body, at, junk: body[:at] + junk + body[at + len(junk) :],
    routed_bodies,
    st.integers(0, 200),
    st.sampled_from([b"\xff", b"\x00", b"\\ud800", b"NaN", b"1e400", b"{", b'"', b"\xc3"]),
)
bodies = routed_bodies | json_values.map(lambda value: encoded(value, True)) | broken_bodies


def assert_fields_are_of_their_types(delivery: Delivery) -> None:
    for number in (delivery.installation_id, delivery.pr_number):
        assert number is None or (type(number) is int and -INT64 <= number < INT64)
    texts = (delivery.action, delivery.repository, delivery.pushed_branch, delivery.default_branch)
    for text in texts:
        assert text is None or (type(text) is str and text and "\x00" not in text)
    flags = (delivery.merged, delivery.issue_is_pull_request, delivery.comment_is_command)
    for flag in (*flags, delivery.comment_by_person, delivery.on_merge_group):
        assert type(flag) is bool
    assert type(delivery.payload) is dict
    assert type(delivery.ordering_key) is str


def routing_fields(delivery: Delivery) -> dict[str, object]:
    """All a delivery says but the payload, which the intake reads only in part."""
    named = {field.name: getattr(delivery, field.name) for field in fields(delivery)}
    return {**named, "payload": None, "ordering_key": delivery.ordering_key}


INTAKE = settings(max_examples=300, deadline=None, database=None)


@INTAKE
@given(bodies, st.sampled_from(EVENTS))
def test_any_body_is_a_delivery_or_not_a_json_object(body: bytes, event: str) -> None:
    try:
        delivery = from_body("d1", event, body)
    except NotAJsonObject as error:
        assert str(error) in ("the body is not JSON", "the body is not a JSON object")
    else:
        assert_fields_are_of_their_types(delivery)


@INTAKE
@given(bodies, st.sampled_from(EVENTS))
def test_the_intake_reads_what_a_whole_parse_of_the_body_gives(body: bytes, event: str) -> None:
    """The worker reads the journaled body whole (`parse`): it must route it as the intake
    did, and take what the intake took."""
    try:
        whole = parse(body)
    except NotAJsonObject:
        whole = None
    if not isinstance(whole, dict):
        try:
            from_body("d1", event, body)
        except NotAJsonObject:
            return
        raise AssertionError(f"the intake took a body that is no JSON object: {body!r}")
    read = routing_fields(from_body("d1", event, body))
    assert read == routing_fields(from_payload("d1", event, whole))


_delivery_ids = (f"property-{n}" for n in itertools.count())
# A header's text as HTTP carries it: visible ASCII and spaces inside.
header_texts = (
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=140)
    .map(str.strip)
    .filter(bool)
)


REFUSALS = (
    "the body is not JSON",
    "the body is not a JSON object",
    "X-GitHub-Delivery is longer than 128 characters",
)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(bodies, st.sampled_from(EVENTS) | header_texts, st.none() | header_texts)
def test_any_signed_body_is_taken_or_refused_with_400(
    bot: Bot, body: bytes, event: str, delivery_id: str | None
) -> None:
    headers = signed_headers(body, event, delivery_id or next(_delivery_ids))
    response = bot.client.post(WEBHOOK_PATH, content=body, headers=headers)
    assert response.status_code in (202, 400, *([200] if event == "ping" else [])), response.text
    if response.status_code == 400:
        assert response.json()["error"] in REFUSALS


def test_a_string_that_is_not_utf_8_is_no_json_to_the_whole_parse_either() -> None:
    with pytest.raises(NotAJsonObject, match=r"^the body is not JSON: "):
        parse(b'"\x80"')


@pytest.mark.parametrize("user", [7, "dana", [], {"login": 5, "type": "User"}, {"login": ""}])
def test_a_comment_s_user_naming_no_login_is_read_as_absent_by_the_worker_too(user: object) -> None:
    """The sender wrote it, as when GitHub gives the user as null: the worker runs the command
    the intake queued."""
    body = encoded(
        {
            "action": "created",
            "issue": {"number": 7, "pull_request": {}},
            "comment": {"body": "/hotfix confirm", "user": user},
            "sender": {"login": "dana", "type": "User"},
        },
        True,
    )
    assert from_body("d1", "issue_comment", body).comment_by_person is True
    assert from_payload("d1", "issue_comment", parse(body)).comment_by_person is True


@pytest.mark.parametrize(
    "body", [b'{"x": {"\\ud800": 0}, "x": {}}', b'{"a": NaN}', b'{"a": 1, "a": Infinity}']
)
def test_what_the_intake_refuses_the_whole_parse_refuses_too(body: bytes) -> None:
    """A lone surrogate under a key that comes again is dropped by the standard library's
    parse, yet the body is no JSON."""
    with pytest.raises(NotAJsonObject):
        from_body("d1", "pull_request", body)
    with pytest.raises(NotAJsonObject, match=r"^the body is not JSON: "):
        parse(body)


@pytest.mark.parametrize("declared", ["9" * 5000, "0" * 5000 + "2"])
def test_a_content_length_of_thousands_of_digits_is_read_as_a_length(
    bot: Bot, declared: str
) -> None:
    """Python's int() refuses more than 4,300 digits: the length is judged without it."""
    body = b"{}"
    headers = {**signed_headers(body, "push", "d-long-length"), "content-length": declared}
    response = bot.client.post(WEBHOOK_PATH, content=body, headers=headers)
    expected = 413 if declared.lstrip("0") != "2" else 202
    assert response.status_code == expected, response.text

"""A webhook delivery and the few fields the router needs, read from the JSON directly.

githubkit's webhook models are kept off the intake path: parsing one pull_request payload
with them costs ~18 ms and importing them seconds and ~70 MB. The intake does not build the
payload at all (`from_body`): msgspec checks the whole body and builds only the fields
routing reads, ~30 us for a 28 KB pull_request delivery where a full parse takes ~90 us and
leaves thousands of objects to the garbage collector.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

import msgspec

from policies.commands import is_command


def signature_for(secret: str, body: bytes | bytearray) -> str:
    """The `X-Hub-Signature-256` GitHub sends for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str, body: bytes | bytearray, signature: str) -> bool:
    """Whether `signature` (the header as received) is GitHub's for `body`, compared in
    constant time."""
    return hmac.compare_digest(signature.encode(), signature_for(secret, body).encode())


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    event: str
    action: str | None
    installation_id: int | None
    repository: str | None
    pr_number: int | None
    # The body's JSON; from the intake (`from_body`), only the fields routing reads. Route
    # conditions read the named fields above and below, which both ways of reading fill
    # alike, never the payload.
    payload: dict[str, Any]
    merged: bool = False  # a pull request (or review) delivery whose pull request has merged
    # An issue_comment: on a pull request, not an issue; its first line is a command
    # (`/hotfix `); its author is a bot (hotfix-bot's own replies among them).
    issue_is_pull_request: bool = False
    comment_is_command: bool = False
    comment_by_bot: bool = False
    # A push that moved a branch forward (one that created, deleted or forced it is not):
    # the branch; and the repository's default branch, as the payload names it.
    pushed_branch: str | None = None
    default_branch: str | None = None

    @property
    def ordering_key(self) -> str:
        """Deliveries with the same key run one at a time, in arrival order."""
        if self.repository and self.pr_number is not None:
            return f"{self.repository}#{self.pr_number}"
        if self.repository and self.pushed_branch is not None:
            return f"{self.repository}:refs/heads/{self.pushed_branch}"
        head_sha = _head_sha(self.payload)
        if self.repository and head_sha:
            return f"{self.repository}@{head_sha}"
        return f"delivery:{self.id}"

    @property
    def label(self) -> str:
        return event_label(self.event, self.action)


def event_label(event: str, action: str | None) -> str:
    """`pull_request.opened`, or the bare event when it has no action."""
    return f"{event}.{action}" if action else event


def location(repository: str | None, pr_number: int | None) -> str:
    """Where a delivery happened, as people write it: `acme/widgets#7`."""
    where = repository or "-"
    return f"{where}#{pr_number}" if pr_number is not None else where


class NotAJsonObject(ValueError):
    """The body is not JSON, or not a JSON object: the delivery is refused with 400."""


class _PullRequest(msgspec.Struct):
    number: Any = None
    merged: Any = None  # a `closed` that merged runs the post-merge steps; others are ignored
    merged_at: Any = None  # what review deliveries say of a merge (they carry no `merged`)


class _User(msgspec.Struct):
    type: Any = None


class _Comment(msgspec.Struct):
    body: Any = None
    user: _User | None = None


class _Issue(msgspec.Struct):
    number: Any = None
    pull_request: Any = None  # present when the issue is a pull request


class _Installation(msgspec.Struct):
    id: Any = None


class _Repository(msgspec.Struct):
    full_name: Any = None
    default_branch: Any = None


class _Check(msgspec.Struct):
    head_sha: Any = None
    pull_requests: Any = None


class _MergeGroup(msgspec.Struct):
    head_ref: Any = None
    head_sha: Any = None


class _Routing(msgspec.Struct):
    """What `from_payload` reads; msgspec validates and skips everything else."""

    action: Any = None
    installation: _Installation | None = None
    repository: _Repository | None = None
    pull_request: _PullRequest | None = None
    check_run: _Check | None = None
    check_suite: _Check | None = None
    merge_group: _MergeGroup | None = None
    issue: _Issue | None = None
    comment: _Comment | None = None
    # push
    ref: Any = None
    created: Any = None
    deleted: Any = None
    forced: Any = None


_ROUTING = msgspec.json.Decoder(_Routing)


def from_body(delivery_id: str, event: str, body: bytes | bytearray) -> Delivery:
    """The delivery as the intake needs it, from the body as received."""
    try:
        body.decode()  # JSON is UTF-8 (RFC 8259); msgspec does not check what it skips
        routing = _ROUTING.decode(body)
    except UnicodeDecodeError:
        raise NotAJsonObject("the body is not JSON") from None
    except (msgspec.DecodeError, RecursionError):
        # Not the shape GitHub sends (say, "installation" is not an object), or JSON msgspec
        # does not take: read it all, which also checks what comes after where msgspec
        # stopped.
        try:
            payload = parse(body)
        except NotAJsonObject:
            raise NotAJsonObject("the body is not JSON") from None
        if not isinstance(payload, dict):
            raise NotAJsonObject("the body is not a JSON object") from None
        return from_payload(delivery_id, event, payload)
    return from_payload(delivery_id, event, msgspec.to_builtins(routing))


def parse(body: bytes | bytearray) -> Any:
    """The body's JSON, whole: what handlers read.

    msgspec first, as it is fast; the standard library for the valid JSON msgspec refuses,
    numbers out of its range (1e400). A lone surrogate escape ("\\ud800") stays refused:
    no UTF-8 text holds one, so nothing could store or show it.
    """
    try:
        return msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError):
        pass
    try:
        # From text: given bytes, the standard library would also take UTF-16 and a BOM.
        payload = json.loads(body.decode(), parse_constant=_not_json)
        json.dumps(payload, ensure_ascii=False).encode()  # a lone surrogate fails here
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeError
        raise NotAJsonObject(f"the body is not JSON: {error}") from None
    return payload


def _not_json(constant: str) -> Any:
    """The standard library reads NaN and Infinity, which JSON does not have."""
    raise ValueError(f"{constant} is not JSON")


def from_payload(delivery_id: str, event: str, payload: dict[str, Any]) -> Delivery:
    action = payload.get("action")
    installation = payload.get("installation")
    repository = payload.get("repository")
    comment = _dict(payload.get("comment"))
    body = comment.get("body")
    return Delivery(
        id=delivery_id,
        event=event,
        action=action if isinstance(action, str) else None,
        installation_id=_int(installation.get("id")) if isinstance(installation, dict) else None,
        repository=_str(repository.get("full_name")) if isinstance(repository, dict) else None,
        pr_number=_pr_number(payload),
        payload=payload,
        merged=_pull_request_merged(payload),
        issue_is_pull_request=_issue_is_pull_request(payload),
        comment_is_command=isinstance(body, str) and is_command(body),
        comment_by_bot=_dict(comment.get("user")).get("type") == "Bot",
        pushed_branch=_pushed_branch(payload) if event == "push" else None,
        default_branch=(
            _str(repository.get("default_branch")) if isinstance(repository, dict) else None
        ),
    )


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _issue_is_pull_request(payload: dict[str, Any]) -> bool:
    return isinstance(_dict(payload.get("issue")).get("pull_request"), dict)


def _pr_number(payload: dict[str, Any]) -> int | None:
    # A timer that came due (app/journal/timers.py) names its pull request as `timer.number`.
    for key in ("pull_request", "timer"):
        item = payload.get(key)
        if isinstance(item, dict):
            return _int(item.get("number"))
    if _issue_is_pull_request(payload):  # a comment on a pull request's conversation
        return _int(payload["issue"].get("number"))
    for key in ("check_run", "check_suite"):
        check = payload.get(key)
        if isinstance(check, dict):
            pulls = check.get("pull_requests")
            # A re-run concerns one pull request when GitHub names exactly one.
            if isinstance(pulls, list) and len(pulls) == 1 and isinstance(pulls[0], dict):
                return _int(pulls[0].get("number"))
    merge_group = payload.get("merge_group")
    if isinstance(merge_group, dict):
        return _queued_pull_number(merge_group.get("head_ref"))
    return None


# A merge group's branch: `gh-readonly-queue/<base>/pr-<number>-<sha of the commit it was
# built on>`; the base may hold slashes. At most 18 digits: the journal keeps the number
# as a 64-bit integer.
_QUEUE_REF = re.compile(r"refs/heads/gh-readonly-queue/.+/pr-([1-9][0-9]{0,17})-[0-9a-f]+")


def _queued_pull_number(head_ref: object) -> int | None:
    """The pull request a merge group adds to the queue, from its `head_ref`; None when the
    ref is not of that form."""
    match = _QUEUE_REF.fullmatch(head_ref) if isinstance(head_ref, str) else None
    return int(match.group(1)) if match else None


def _pull_request_merged(payload: dict[str, Any]) -> bool:
    pull_request = _dict(payload.get("pull_request"))
    return pull_request.get("merged") is True or isinstance(pull_request.get("merged_at"), str)


def _pushed_branch(payload: dict[str, Any]) -> str | None:
    ref = payload.get("ref")
    if not isinstance(ref, str) or not ref.startswith("refs/heads/"):
        return None  # a tag, or another kind of ref
    if any(payload.get(flag) is not False for flag in ("created", "deleted", "forced")):
        return None
    return _str(ref.removeprefix("refs/heads/"))


def _head_sha(payload: dict[str, Any]) -> str | None:
    for key in ("check_run", "check_suite", "merge_group"):
        check = payload.get(key)
        if isinstance(check, dict):
            return _str(check.get("head_sha"))
    return None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None

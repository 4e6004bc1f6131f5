"""A webhook delivery and the few fields the router needs, read from the JSON directly.

githubkit's webhook models are kept off the intake path: parsing one pull_request payload
with them costs ~18 ms and importing them seconds and ~70 MB. The intake does not build the
payload at all (`from_body`): msgspec checks the whole body and builds only the fields
routing reads, ~30 us for a 28 KB pull_request delivery where a full parse takes ~90 us and
leaves thousands of objects to the garbage collector; and whatever a body holds, reading it
takes a few MiB, not a multiple of it.
"""

from __future__ import annotations

import codecs
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
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
    # (`/hotfix `); its author is a person: not a bot (hotfix-bot's own replies among
    # them), nor a deleted account, which GitHub sends as `user: null`.
    issue_is_pull_request: bool = False
    comment_is_command: bool = False
    comment_by_person: bool = False
    # A push that moved a branch forward (one that created, deleted or forced it is not):
    # the branch; and the repository's default branch, as the payload names it.
    pushed_branch: str | None = None
    default_branch: str | None = None
    # A check run's or suite's delivery on a merge group's commit: its pull request
    # (`pr_number`) is the one the group adds.
    on_merge_group: bool = False

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
        if self.event == "installation" and self.installation_id is not None:
            # An installation's own: its unsuspension reads what its suspension kept.
            return f"installation:{self.installation_id}"
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


# What routing reads of a body: for each key, the type of its value, the keys read inside it
# (an object; {} for any object), or [keys] for a list of exactly one such object.
_Shape = Mapping[str, "type | _Shape | list[_Shape]"]
# A check suite's `head_branch` is a merge queue's branch on a merge group's commit.
_CHECK_SUITE: _Shape = {"head_sha": str, "head_branch": str, "pull_requests": [{"number": int}]}
_CHECK_RUN: _Shape = {
    "head_sha": str,
    "pull_requests": [{"number": int}],
    "check_suite": {"head_branch": str},
}
_ROUTING: _Shape = {
    "action": str,
    "installation": {"id": int},
    "repository": {"full_name": str, "default_branch": str},
    # A `closed` that merged runs the post-merge steps; review deliveries carry no `merged`,
    # but `merged_at`.
    "pull_request": {"number": int, "merged": bool, "merged_at": str},
    "check_run": _CHECK_RUN,
    "check_suite": _CHECK_SUITE,
    "merge_group": {"head_ref": str, "head_sha": str},
    "issue": {"number": int, "pull_request": {}},  # an object when the issue is a pull request
    "comment": {"body": str, "user": {"login": str, "type": str}},
    "sender": {"login": str, "type": str},  # a comment's author when its user is null
    # A push: the ref it moved, and whether it created, deleted or forced it.
    "ref": str,
    "created": bool,
    "deleted": bool,
    "forced": bool,
}
# A value longer than this is none GitHub sends (the longest, a comment's body of at most
# 65,536 characters, is under 400 KiB of JSON): it is not read, so that no body makes the
# intake build a large value. Objects are read key by key; a list of one item is read up to
# its second item.
_MAX_VALUE_BYTES = 512 * 1024
_ABSENT = msgspec.Raw()
_NOT_READ = object()  # absent, of another type, or too long: of no use to routing


class _Reader:
    """Reads one shape from JSON. msgspec validates all of it and builds none of what the
    shape leaves out; each value read is decoded on its own, so one of another type is not
    read (as a whole parse would find it no use to routing) and the others still are."""

    def __init__(self, shape: type | _Shape | list[_Shape]) -> None:
        self._fields: dict[str, _Reader] | None = None  # of an object
        self._item: _Reader | None = None  # of a list of one
        decoded_as: Any = shape
        if isinstance(shape, list):
            [item] = shape
            self._item = _Reader(item)
            decoded_as = tuple[msgspec.Raw]
        elif isinstance(shape, Mapping):
            self._fields = {name: _Reader(field) for name, field in shape.items()}
            raw_fields = [(name, msgspec.Raw, _ABSENT) for name in shape]
            decoded_as = msgspec.defstruct("Fields", raw_fields)
        self._decoder = msgspec.json.Decoder(decoded_as)

    def decode(self, json_text: bytes | bytearray | msgspec.Raw) -> Any:
        """The value, or `_NOT_READ`; `msgspec.DecodeError` when the text is not of the shape
        or not JSON."""
        decoded = self._decoder.decode(json_text)
        if self._item is not None:
            item = self._item.read(decoded[0])
            return _NOT_READ if item is _NOT_READ else [item]
        if self._fields is not None:
            values = (
                (name, reader.read(getattr(decoded, name))) for name, reader in self._fields.items()
            )
            return {name: value for name, value in values if value is not _NOT_READ}
        return decoded

    def read(self, raw: msgspec.Raw) -> Any:
        """A value inside the body (already validated with it), or `_NOT_READ`."""
        is_value = self._fields is None and self._item is None
        if not raw or (is_value and len(raw) > _MAX_VALUE_BYTES):
            return _NOT_READ
        try:
            return self.decode(raw)
        except msgspec.DecodeError:
            return _NOT_READ


_ROUTING_READER = _Reader(_ROUTING)
_ANY_JSON = msgspec.json.Decoder(msgspec.Raw)  # validates, and builds nothing
# A body that is not ASCII is checked for UTF-8 this much at a time.
_UTF8_SLICE_BYTES = 1024 * 1024


def from_body(delivery_id: str, event: str, body: bytes | bytearray) -> Delivery:
    """The delivery as the intake needs it, from the body as received: all of it checked,
    only the fields routing reads built (docs/RELIABILITY.md, "The intake's own limits")."""
    if not _is_utf8(body):
        raise NotAJsonObject("the body is not JSON")
    try:
        payload = _ROUTING_READER.decode(body)
    except msgspec.ValidationError:
        # The top level is no object; msgspec says so from its first character.
        try:
            _ANY_JSON.decode(body)
        except (msgspec.DecodeError, RecursionError):
            raise NotAJsonObject("the body is not JSON") from None
        raise NotAJsonObject("the body is not a JSON object") from None
    except (msgspec.DecodeError, RecursionError):
        # Numbers out of msgspec's range (1e400) are read past, not refused: what is
        # refused is no JSON (NaN, a lone surrogate such as "\\ud800", a BOM, UTF-16), or
        # nested deeper than Python's recursion limit, which the standard library's parser
        # keeps to as well.
        raise NotAJsonObject("the body is not JSON") from None
    return from_payload(delivery_id, event, payload)


def _is_utf8(body: bytes | bytearray) -> bool:
    """JSON is UTF-8 (RFC 8259), and msgspec checks the UTF-8 of the strings it builds
    only. Checked a slice at a time: decoded whole, the body would take up to 4 times its
    size."""
    if body.isascii():
        return True
    decoder = codecs.getincrementaldecoder("utf-8")()
    with memoryview(body) as view:
        try:
            for start in range(0, len(view), _UTF8_SLICE_BYTES):
                decoder.decode(view[start : start + _UTF8_SLICE_BYTES])
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def parse(body: bytes | bytearray) -> Any:
    """The body's JSON, whole: what handlers read.

    msgspec first, as it is fast; the standard library for the JSON msgspec reads but cannot
    build, numbers out of its range (1e400). What msgspec refuses as no JSON stays refused,
    as the intake refuses it (`from_body`): NaN, or a lone surrogate escape ("\\ud800"),
    which no UTF-8 text holds, so nothing could store or show it; also where the standard
    library would drop it, under a key that comes again later.
    """
    try:
        return msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        # msgspec refuses a string that is not UTF-8 with a UnicodeDecodeError: the standard
        # library below refuses the body too, as no JSON.
        pass
    try:
        _ANY_JSON.decode(body)
        # From text: given bytes, the standard library would also take UTF-16 and a BOM.
        return json.loads(body.decode())
    except (msgspec.DecodeError, ValueError, RecursionError) as error:  # UnicodeError too
        raise NotAJsonObject(f"the body is not JSON: {error}") from None


def from_payload(delivery_id: str, event: str, payload: dict[str, Any]) -> Delivery:
    installation = payload.get("installation")
    repository = payload.get("repository")
    comment = _dict(payload.get("comment"))
    body = comment.get("body")
    group_pull_number = _merge_group_pull_number(payload)
    return Delivery(
        id=delivery_id,
        event=event,
        action=_str(payload.get("action")),
        installation_id=_int(installation.get("id")) if isinstance(installation, dict) else None,
        repository=_str(repository.get("full_name")) if isinstance(repository, dict) else None,
        pr_number=_pr_number(payload, group_pull_number),
        payload=payload,
        merged=_pull_request_merged(payload),
        issue_is_pull_request=_issue_is_pull_request(payload),
        comment_is_command=isinstance(body, str) and is_command(body),
        comment_by_person=_is_person(author_of(comment, payload)),
        pushed_branch=_pushed_branch(payload) if event == "push" else None,
        default_branch=(
            _str(repository.get("default_branch")) if isinstance(repository, dict) else None
        ),
        on_merge_group=group_pull_number is not None,
    )


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def author_of(written: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """The account that wrote `written`, a delivery's comment or review: its `user`, or the
    delivery's `sender` when GitHub gives the user as null (an account deleted since). A
    user naming no login is none GitHub sends, and is read as absent, as the intake reads
    it (`from_body`): so the intake and the handlers take the same author."""
    user = _dict(written.get("user"))
    return user if _str(user.get("login")) is not None else _dict(payload.get("sender"))


def _is_person(account: dict[str, Any]) -> bool:
    """Whether a comment's author is a person's account."""
    return _str(account.get("login")) is not None and account.get("type") != "Bot"


def _issue_is_pull_request(payload: dict[str, Any]) -> bool:
    return isinstance(_dict(payload.get("issue")).get("pull_request"), dict)


def _pr_number(payload: dict[str, Any], group_pull_number: int | None) -> int | None:
    """`group_pull_number`: the pull request a merge group adds, for a check on its commit."""
    # A timer that came due (app/journal/timers.py) names its pull request as `timer.number`.
    for key in ("pull_request", "timer"):
        item = payload.get(key)
        if isinstance(item, dict):
            return _int(item.get("number"))
    if _issue_is_pull_request(payload):  # a comment on a pull request's conversation
        return _int(payload["issue"].get("number"))
    if group_pull_number is not None:  # a check on a merge group's commit: its pull request
        return group_pull_number
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
# built on>`, as a full ref or a bare branch name; the base may hold slashes, the sha either
# case. At most 18 digits: the journal keeps the number as a 64-bit integer.
_QUEUE_REF = re.compile(
    r"(?:refs/heads/)?gh-readonly-queue/.+/pr-([1-9][0-9]{0,17})-([0-9a-fA-F]+)"
)


def _merge_group_pull_number(payload: dict[str, Any]) -> int | None:
    """For a check run or suite on a merge group's commit, the pull request the group adds,
    from the suite's `head_branch`; None for any other delivery."""
    check_run = _dict(payload.get("check_run"))
    suite = _dict(check_run.get("check_suite")) if check_run else _dict(payload.get("check_suite"))
    return _queued_pull_number(suite.get("head_branch"))


def _queued_pull_number(head_ref: object) -> int | None:
    """The pull request a merge group adds to the queue, from its `head_ref`; None when the
    ref is not of that form."""
    match = _QUEUE_REF.fullmatch(head_ref) if isinstance(head_ref, str) else None
    return int(match.group(1)) if match else None


def queued_group_base(head_ref: object) -> str | None:
    """The commit a merge group was built on (the queue ahead of it, or its base branch),
    from its `head_ref`; None when the ref is not of that form."""
    match = _QUEUE_REF.fullmatch(head_ref) if isinstance(head_ref, str) else None
    return match.group(2).lower() if match else None


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


# The journal keeps ids and numbers as 64-bit integers, as GitHub does: one beyond them is
# none GitHub sends, and is not read.
_INT64_BOUND = 2**63


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if -_INT64_BOUND <= value < _INT64_BOUND else None
    return None


def _str(value: object) -> str | None:
    # No text GitHub sends holds a NUL, and PostgreSQL's cannot: such a value is not read.
    return value if isinstance(value, str) and value and "\x00" not in value else None

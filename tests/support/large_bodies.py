"""Deliveries of 25 MiB shaped to cost the intake the most to read: decoded whole, one
emoji makes a mostly-ASCII body 4 times its size as text, and a parse of the whole body
builds millions of objects (over 600 MB for one delivery)."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable

from app.intake.bodies import MAX_BODY_BYTES

EMOJI = "\U0001f600".encode()
ROUTED = b'"installation": {"id": 1}, "repository": {"full_name": "acme/widgets"}'


def padded(head: bytes, filler: bytes, tail: bytes) -> bytes:
    """`head`, `filler` repeated, then `tail`: MAX_BODY_BYTES in all."""
    room = MAX_BODY_BYTES - len(head) - len(tail)
    return head + filler * (room // len(filler)) + b" " * (room % len(filler)) + tail


def incompressible(head: bytes, tail: bytes) -> bytes:
    """A text of random base64 between `head` and `tail`: what zstd hardly compresses."""
    room = MAX_BODY_BYTES - len(head) - len(tail)
    return head + base64.b64encode(os.urandom(room))[:room] + tail


# name -> (event, a function making the body)
LARGE_BODIES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "mostly ASCII, one emoji": (
        "issues",
        lambda: padded(b'{"action": "opened", "e": "' + EMOJI + b'", "pad": "', b"a", b'"}'),
    ),
    "one emoji, a number msgspec refuses": (
        "issues",
        lambda: padded(
            b'{"action": "opened", "installation": {"id": 1}, "x": 1e400, "e": "'
            + EMOJI
            + b'", "pad": "',
            b"a",
            b'"}',
        ),
    ),
    "an action of 25 MiB starting with an emoji": (
        "issues",
        lambda: padded(b"{" + ROUTED + b', "action": "' + EMOJI, b"a", b'"}'),
    ),
    "installation of another type, 8 million objects": (
        "issues",
        lambda: padded(b'{"installation": 1, "a": [', b"{},", b"{}]}"),
    ),
    "a check run naming 8 million pull requests": (
        "check_run",
        lambda: padded(
            b'{"action": "rerequested", ' + ROUTED + b', "check_run": {"pull_requests": [',
            b"{},",
            b"{}]}}",
        ),
    ),
    "a command of 25 MiB": (
        "issue_comment",
        lambda: padded(
            b'{"action": "created", '
            + ROUTED
            + b', "issue": {"number": 7, "pull_request": {}}, "comment": {"body": "/hotfix '
            + EMOJI,
            b"a",
            b'"}}',
        ),
    ),
    "a pull request that does not compress": (
        "pull_request",
        lambda: incompressible(
            b'{"action": "opened", ' + ROUTED + b', "pull_request": {"number": 7}, "pad": "',
            b'"}',
        ),
    ),
    "a pull request that does not compress, one emoji": (
        "pull_request",
        lambda: incompressible(
            b'{"action": "opened", '
            + ROUTED
            + b', "pull_request": {"number": 8}, "e": "'
            + EMOJI
            + b'", "pad": "',
            b'"}',
        ),
    ),
}

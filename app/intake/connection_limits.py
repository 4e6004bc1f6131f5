"""uvicorn's HTTP/1.1 protocol (httptools) with the limits it lacks: the size of a request's
headers and the number of its fields, the connections open at once, and how long a sender
may take with its headers or leave its body idle.

uvicorn offers none of these with httptools, which it runs by default (it parses as fast as the
intake needs): llhttp has no header limit, and the only timer is keep-alive, armed after a
response. Its h11 protocol limits headers (to 16 KiB by default, answering `400`) but has no
read timeouts either, and parses in Python. docs/RELIABILITY.md, "The intake's own limits",
says which layer enforces what.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.intake.framing import NOT_FRAMABLE
from app.metrics import CONNECTIONS_CLOSED

MAX_HEADER_BYTES = 64 * 1024
# As common servers do (Apache, nginx's default buffers): uvicorn keeps a Python object per
# field, so 64 KiB of 5-byte fields cost 1.5 MB a connection.
MAX_HEADER_FIELDS = 100
# Open at once, whatever each is doing: with what each may hold (the headers of two
# requests, and a few hundred KiB of body that the intake has not asked for), the intake
# stays under 256 MiB (docs/RELIABILITY.md, "The intake's own limits").
MAX_CONNECTIONS = 256
# After a refusal sent before the request was read, what the sender still sends is read and
# dropped for this long: closing with its bytes unread would reset the connection, and the
# sender could lose the answer.
LINGER_SECONDS = 2.0
RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True, slots=True)
class OwnAnswer:
    """A whole plain-text response that closes the connection, which the protocol writes
    itself, before any endpoint sees the request."""

    status: bytes
    message: bytes
    extra_headers: bytes = b""

    def written(self, default_headers: Iterable[tuple[bytes, bytes]]) -> bytes:
        """The answer's bytes, with the headers uvicorn gives every answer (`default_headers`:
        `date`), as the endpoints' answers and uvicorn's own 400 have them."""
        return b"".join(
            [
                b"HTTP/1.1 %s\r\n" % self.status,
                *(b"%s: %s\r\n" % header for header in default_headers),
                b"content-type: text/plain; charset=utf-8\r\n",
                b"content-length: %d\r\n" % len(self.message),
                self.extra_headers,
                *(b"%s: %s\r\n" % header for header in NOT_FRAMABLE),
                b"connection: close\r\n\r\n",
                self.message,
            ]
        )


HEADERS_TOO_LARGE = OwnAnswer(
    b"431 Request Header Fields Too Large", b"the request line and headers are larger than 64 KiB"
)
TOO_MANY_HEADER_FIELDS = OwnAnswer(
    b"431 Request Header Fields Too Large", b"the request has more than 100 header fields"
)
TOO_MANY_CONNECTIONS = OwnAnswer(
    b"503 Service Unavailable",
    b"hotfix-bot has as many connections open as it serves at once; try again shortly",
    b"retry-after: %d\r\n" % RETRY_AFTER_SECONDS,
)


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_header_bytes: int = MAX_HEADER_BYTES  # request line plus headers, or 431
    max_header_fields: int = MAX_HEADER_FIELDS  # or 431
    max_connections: int = MAX_CONNECTIONS  # a connection opened past it is answered 503
    header_timeout: float = 10.0  # from the connection opening (or the request's first byte)
    body_idle_timeout: float = 10.0  # a body with no byte for this long is abandoned


def limited_protocol(limits: ConnectionLimits) -> type[asyncio.Protocol]:
    """The protocol class to give uvicorn (`http=`) for these limits."""

    class Limited(LimitedHttpToolsProtocol):
        pass

    Limited.limits = limits
    return Limited


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """Per request it adds a few integer operations and one timer (armed, then cancelled)."""

    limits: ClassVar[ConnectionLimits] = ConnectionLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Bytes the current request's line and headers may still take; None once they
        # are complete.
        self._header_allowance: int | None = self.limits.max_header_bytes
        self._header_fields = 0  # of the current request
        # Why the request being parsed is refused: the parser's callbacks then do nothing
        # for the rest of the data at hand, and the refusal follows.
        self._refused_as: str | None = None
        self._reading_body = False
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # uvicorn's own `limit_concurrency` would answer 503 only once a request's headers
        # were complete: the connections, and the headers they hold meanwhile, are bounded
        # here instead, before anything is read.
        if len(self.connections) > self.limits.max_connections:
            self._refuse(TOO_MANY_CONNECTIONS, "too_many_connections")
            return
        self._arm(self.limits.header_timeout, "header_timeout")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        allowance = self._header_allowance
        if allowance is not None:
            if len(data) > allowance:
                self._receive_past_allowance(data, allowance)
                return
            self._header_allowance = allowance - len(data)
        self._parse(data)
        if self._reading_body and not self.transport.is_closing():
            self._arm(self.limits.body_idle_timeout, "body_timeout")

    def send_400_response(self, msg: str) -> None:
        # In place of uvicorn's own 400 for what httptools cannot parse, which lacks
        # NOT_FRAMABLE.
        self._write(OwnAnswer(b"400 Bad Request", msg.encode("ascii")))
        self.transport.close()

    def _parse(self, data: bytes) -> None:
        super().data_received(data)
        if self._refused_as == "too_many_header_fields":
            self._refuse(TOO_MANY_HEADER_FIELDS, self._refused_as)
        elif self._refused_as == "too_many_pipelined":
            # The requests before it are owed their answers first: none can be sent for it.
            CONNECTIONS_CLOSED.labels(reason=self._refused_as).inc()
            self._disarm()
            self.transport.close()

    def _receive_past_allowance(self, data: bytes, allowance: int) -> None:
        """`data` holds more than the headers may still take: they must end within it."""
        view = memoryview(data)  # httptools parses any buffer: the parts are not copied
        self._header_allowance = 0
        self._parse(view[:allowance])  # type: ignore[arg-type]
        if self._refused_as or self.transport.is_closing():
            return
        if self._header_allowance == 0:  # neither complete nor a new request begun
            self._refuse(HEADERS_TOO_LARGE, "headers_too_large")
            return
        self.data_received(view[allowance:])  # type: ignore[arg-type]

    def _write(self, answer: OwnAnswer) -> None:
        self.transport.write(answer.written(self.server_state.default_headers))

    def _refuse(self, answer: OwnAnswer, reason: str) -> None:
        """Answer before the request was read (or while its headers are), and close."""
        CONNECTIONS_CLOSED.labels(reason=reason).inc()
        self._disarm()
        self._write(answer)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        # The parser is left behind: it would keep what comes as part of a request.
        self.transport.set_protocol(_Draining(self, LINGER_SECONDS))

    # Parser callbacks
    def on_message_begin(self) -> None:
        if self._refused_as:
            return
        self._header_fields = 0
        super().on_message_begin()
        if self._timer is None:  # a later request on a kept-alive connection
            self._arm(self.limits.header_timeout, "header_timeout")

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._refused_as:
            return
        self._header_fields += 1
        if self._header_fields > self.limits.max_header_fields:
            self._refused_as = "too_many_header_fields"
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused_as:
            return
        if self.pipeline:
            # A request already waits behind the one being answered. uvicorn stops reading
            # then, but parses the rest of the data at hand, each request with its headers:
            # a sender that never reads its answers would make it hold any number.
            self._refused_as = "too_many_pipelined"
            return
        self._header_allowance = None
        self._reading_body = True
        self._disarm()
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused_as:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused_as:
            return
        self._header_allowance = self.limits.max_header_bytes
        self._reading_body = False
        self._disarm()
        super().on_message_complete()
        if self.cycle.response_complete:
            # Answered before its body was read (a 413, a 503): uvicorn's keep-alive timer
            # was cancelled by the body's bytes and is not armed again.
            self._arm(self.limits.header_timeout, "header_timeout")

    # Timers
    def _arm(self, seconds: float, reason: str) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._time_out, seconds, reason)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _time_out(self, seconds: float, reason: str) -> None:
        self._timer = None
        if self.flow.read_paused:
            # Not reading is ours (the app has not asked for more, or answers an earlier
            # request first), not the sender's.
            self._arm(seconds, reason)
            return
        CONNECTIONS_CLOSED.labels(reason=reason).inc()
        self.transport.close()


class _Draining(asyncio.Protocol):
    """A connection refused (431, 503): what the sender still sends is dropped until it stops
    or `linger` seconds pass."""

    def __init__(self, refused: HttpToolsProtocol, linger: float) -> None:
        self._refused = refused
        self._timer = refused.loop.call_later(linger, refused.transport.close)

    def data_received(self, data: bytes) -> None:
        pass

    def eof_received(self) -> bool:
        return False  # the sender is done: close

    def connection_lost(self, exc: Exception | None) -> None:
        self._timer.cancel()
        self._refused.connection_lost(exc)

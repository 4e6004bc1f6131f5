"""uvicorn's HTTP/1.1 protocol (httptools) with the limits it lacks: the size of a request's
headers, and how long a sender may take with them or leave its body idle.

uvicorn offers neither with httptools, which it runs by default (it parses as fast as the
intake needs): llhttp has no header limit, and the only timer is keep-alive, armed after a
response. Its h11 protocol limits headers (to 16 KiB by default, answering `400`) but has no
read timeouts either, and parses in Python. docs/RELIABILITY.md, "The intake's own limits",
says which layer enforces what.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.metrics import CONNECTIONS_CLOSED

MAX_HEADER_BYTES = 64 * 1024
# After a 431, what the sender still sends is read and dropped for this long: closing with
# its bytes unread would reset the connection, and the sender could lose the answer.
LINGER_SECONDS = 2.0

_MESSAGE = b"the request line and headers are larger than 64 KiB"
HEADERS_TOO_LARGE = b"".join(
    [
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
        b"content-type: text/plain; charset=utf-8\r\n",
        b"content-length: %d\r\n" % len(_MESSAGE),
        b"connection: close\r\n\r\n",
        _MESSAGE,
    ]
)


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_header_bytes: int = MAX_HEADER_BYTES  # request line plus headers, or 431
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
        self._reading_body = False
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
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
        super().data_received(data)
        if self._reading_body and not self.transport.is_closing():
            self._arm(self.limits.body_idle_timeout, "body_timeout")

    def _receive_past_allowance(self, data: bytes, allowance: int) -> None:
        """`data` holds more than the headers may still take: they must end within it."""
        view = memoryview(data)  # httptools parses any buffer: the parts are not copied
        self._header_allowance = 0
        super().data_received(view[:allowance])  # type: ignore[arg-type]
        if self.transport.is_closing():
            return
        if self._header_allowance == 0:  # neither complete nor a new request begun
            self._refuse_headers()
            return
        self.data_received(view[allowance:])  # type: ignore[arg-type]

    def _refuse_headers(self) -> None:
        CONNECTIONS_CLOSED.labels(reason="headers_too_large").inc()
        self._disarm()
        self.transport.write(HEADERS_TOO_LARGE)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        # The parser is left behind: it would keep what comes as part of a header.
        self.transport.set_protocol(_Draining(self, LINGER_SECONDS))

    # Parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._timer is None:  # a later request on a kept-alive connection
            self._arm(self.limits.header_timeout, "header_timeout")

    def on_headers_complete(self) -> None:
        self._header_allowance = None
        self._reading_body = True
        self._disarm()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
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
    """A connection refused with 431: what the sender still sends is dropped until it stops
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

"""The intake's own limits (docs/RELIABILITY.md, "The intake's own limits"): header size, read
timeouts and the bytes of bodies held at once, on real servers over loopback sockets.

Timeouts are 1 s on the uvicorn server run in a thread here; `hotfix-bot serve`, run as a
subprocess, shows the defaults.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from support.large_bodies import LARGE_BODIES
from support.live_server import Server, undated
from support.webhooks import (
    WEBHOOK_SECRET,
    journal_file,
    make_settings,
    pull_request_payload,
    signed_headers,
)

from app.handlers.routing import Router
from app.intake.bodies import MAX_BODY_BYTES, BodyBudget
from app.intake.connection_limits import (
    MAX_CONNECTIONS,
    MAX_HEADER_BYTES,
    ConnectionLimits,
    limited_protocol,
)
from app.intake.server import create_app
from app.journal import SqliteJournal
from sandbox import serve_asgi

PATH = "/api/github/webhooks"
SHORT = ConnectionLimits(header_timeout=1.0, body_idle_timeout=1.0)
MIB = 1024 * 1024
# What no answer is without (docs/ADMIN.md), the intake's own included.
NOT_FRAMABLE_LINES = b"x-frame-options: DENY\r\ncontent-security-policy: frame-ancestors 'none'\r\n"
# After `date`, on every answer of the server run in a thread here (`serve` leaves it out).
SERVER_LINE = b"server: uvicorn\r\n"


def serve_in_thread(
    tmp_path: Path,
    private_key_pem: str,
    limits: ConnectionLimits = SHORT,
    bodies: BodyBudget | None = None,
) -> Iterator[str]:
    settings = make_settings(tmp_path, private_key_pem)
    app = create_app(
        settings,
        router=Router(),
        journal=SqliteJournal(journal_file(settings)),
        bodies=bodies,
    )
    with serve_asgi(app, thread_name="hotfix-bot", http=limited_protocol(limits)) as url:
        yield url


@pytest.fixture
def url(tmp_path: Path, private_key_pem: str) -> Iterator[str]:
    """hotfix-bot served by uvicorn in a thread, its timeouts 1 s."""
    yield from serve_in_thread(tmp_path, private_key_pem)


@pytest.fixture
def serve(tmp_path: Path, private_key_pem: str) -> Iterator[Server]:
    """`hotfix-bot serve` as a subprocess, with its default limits."""
    environment = {
        **os.environ,
        "APP_ID": "1",
        "PRIVATE_KEY": private_key_pem,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "GITHUB_API_URL": "http://127.0.0.1:9",  # never called: nothing here is journaled
        "DATABASE_URL": f"sqlite:///{tmp_path / 'journal.db'}",
        "LOG_FORMAT": "json",
    }
    command = [sys.executable, "-m", "app.cli", "serve"]
    server = Server(command, environment, cwd=tmp_path, log=tmp_path / "server.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        server.client.close()


def connect(base_url: str) -> socket.socket:
    host, port = base_url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def closed_by_server(sock: socket.socket, within: float, drip: bytes = b"") -> float | None:
    """Seconds until the server closed `sock`, sending `drip` a byte every 0.2 s meanwhile;
    None if it was still open after `within` seconds."""
    start = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - start < within:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - start
        except TimeoutError:
            pass
        except ConnectionResetError:
            return time.monotonic() - start
        if drip:
            try:
                sock.sendall(drip[:1])
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - start
            drip = drip[1:]
    return None


def first_line(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    return sock.recv(65536).split(b"\r\n", 1)[0]


def answer(sock: socket.socket) -> bytes:
    """What the server sent until it closed the connection."""
    sock.settimeout(10)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def once_admitted(base_url: str) -> httpx.Response:
    """`GET /healthz` once the server has let go of enough connections to take one more."""
    deadline = time.monotonic() + 5
    while (response := httpx.get(f"{base_url}/healthz")).status_code == 503:
        assert time.monotonic() < deadline, "no connection was taken for 5 s"
        time.sleep(0.05)
    return response


def closed_connections(base_url: str, reason: str) -> float:
    metrics = httpx.get(f"{base_url}/metrics").text
    found = re.search(rf'hotfix_bot_connections_closed_total{{reason="{reason}"}} (\S+)', metrics)
    return float(found.group(1)) if found else 0.0


def peak_rss_mib(pid: int) -> float:
    """The process's resident set size at its highest so far (VmHWM)."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    [peak] = [line for line in status if line.startswith("VmHWM:")]
    return int(peak.split()[1]) / 1024


def request_head(content_length: int, padding: int = 0) -> bytes:
    head = f"POST {PATH} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: {content_length}\r\n"
    if padding:
        head += "x-padding: " + "a" * padding + "\r\n"
    return head.encode() + b"\r\n"


# -- headers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"),
    [(64 * 1024, b"HTTP/1.1 401 Unauthorized\r\n"), (64 * 1024 + 1, b"HTTP/1.1 431 ")],
    ids=["64 KiB", "64 KiB + 1"],
)
def test_request_line_and_headers_over_64_kib_are_431(url: str, size: int, expected: bytes) -> None:
    padding = size - len(request_head(2, padding=1)) + 1
    head = request_head(2, padding)
    assert len(head) == size
    with connect(url) as sock:
        sock.sendall(head + b"{}")
        assert sock.recv(65536).startswith(expected)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (100, b"HTTP/1.1 401 Unauthorized\r\n"),
        (
            101,
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            + SERVER_LINE
            + b"content-type: text/plain; charset=utf-8\r\ncontent-length: 43\r\n"
            + NOT_FRAMABLE_LINES
            + b"connection: close\r\n\r\n"
            b"the request has more than 100 header fields",
        ),
    ],
    ids=["100", "101"],
)
def test_more_than_100_header_fields_are_431(url: str, fields: int, expected: bytes) -> None:
    before = closed_connections(url, "too_many_header_fields")
    # host and content-length are two of them
    padding = b"".join(b"x-field-%d: a\r\n" % number for number in range(fields - 2))
    head = request_head(2).removesuffix(b"\r\n") + padding + b"\r\n"
    with connect(url) as sock:
        sock.sendall(head + b"{}")
        received = answer(sock) if fields > 100 else sock.recv(65536)

    assert (undated(received) if fields > 100 else received).startswith(expected)
    assert closed_connections(url, "too_many_header_fields") == before + (fields > 100)


def test_a_connection_past_the_bound_is_503_with_retry_after(
    tmp_path: Path, private_key_pem: str
) -> None:
    limits = ConnectionLimits(max_connections=3, header_timeout=5.0)
    for url in serve_in_thread(tmp_path, private_key_pem, limits):
        # Connections the server holds: each waits for the rest of its headers.
        held = [connect(url) for _ in range(3)]
        for sock in held:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n")
        time.sleep(0.2)
        with connect(url) as refused:
            refused.sendall(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
            assert undated(answer(refused)) == (
                b"HTTP/1.1 503 Service Unavailable\r\n"
                + SERVER_LINE
                + b"content-type: text/plain; charset=utf-8\r\ncontent-length: 79\r\n"
                b"retry-after: 5\r\n" + NOT_FRAMABLE_LINES + b"connection: close\r\n\r\n"
                b"hotfix-bot has as many connections open as it serves at once; try again shortly"
            )

        held.pop().close()
        assert once_admitted(url).status_code == 200
        for sock in held:
            sock.close()


def test_a_second_request_queued_behind_an_answer_closes_the_connection(url: str) -> None:
    """One request may wait behind the one being answered (HTTP/1.1 pipelining), not two."""
    before = closed_connections(url, "too_many_pipelined")
    healthz = b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"
    last = b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"
    with connect(url) as sock:
        sock.sendall(healthz + last)
        assert answer(sock).count(b"HTTP/1.1 200 OK\r\n") == 2
    with connect(url) as sock:
        sock.sendall(healthz * 2 + last)
        assert answer(sock) == b""  # closed before its answers: none may be skipped
    assert closed_connections(url, "too_many_pipelined") == before + 1


def test_600_connections_of_64_kib_of_headers_keep_the_intake_under_256_mib(
    serve: Server,
) -> None:
    """Half send 64 KiB of 5-byte fields (a Python object each in uvicorn), half 100 long
    ones and stay open; those past the bound on connections are turned away."""
    line = f"POST {PATH} HTTP/1.1\r\nhost: 127.0.0.1\r\n".encode()
    tiny_fields = line + b"a:b\r\n" * ((MAX_HEADER_BYTES - len(line)) // 5)
    long_fields = line + b"".join(b"x-%02d: %s\r\n" % (n, b"a" * 640) for n in range(98))
    socks = [connect(serve.url) for _ in range(600)]
    try:
        for number, sock in enumerate(socks):
            sock.sendall(tiny_fields if number % 2 else long_fields)
        answers = [first_line(sock) for sock in socks[1::2]]
        assert serve.process is not None
        peak = peak_rss_mib(serve.process.pid)
    finally:
        for sock in socks:
            sock.close()

    assert peak < 256
    assert set(answers) == {
        b"HTTP/1.1 431 Request Header Fields Too Large",
        b"HTTP/1.1 503 Service Unavailable",
    }
    assert once_admitted(serve.url).status_code == 200
    assert closed_connections(serve.url, "too_many_connections") >= 600 - MAX_CONNECTIONS


def test_a_100_mib_header_is_431_at_once_and_costs_no_memory(serve: Server) -> None:
    assert serve.process is not None
    before = peak_rss_mib(serve.process.pid)
    sent = time.monotonic()
    with connect(serve.url) as sock:

        def send_forever() -> None:
            try:
                sock.sendall(f"POST {PATH} HTTP/1.1\r\nx-big: ".encode())
                for _ in range(100):
                    sock.sendall(b"a" * MIB)
            except OSError:
                pass  # closed on it, once it stopped reading

        sender = threading.Thread(target=send_forever)
        sender.start()
        received = answer(sock)
        answered = time.monotonic() - sent
        sender.join(timeout=10)

    assert undated(received) == (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
        b"content-type: text/plain; charset=utf-8\r\ncontent-length: 51\r\n"
        + NOT_FRAMABLE_LINES
        + b"connection: close\r\n\r\n"
        b"the request line and headers are larger than 64 KiB"
    )
    assert answered < 5
    assert peak_rss_mib(serve.process.pid) - before < 16
    assert closed_connections(serve.url, "headers_too_large") == 1
    assert serve.client.get(f"{serve.url}/healthz").status_code == 200


# -- read timeouts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "drip",
    [b"", f"POST {PATH} HTTP/1.1\r\nhost: 127.0.0.1\r\n".encode()],
    ids=["nothing sent", "a byte every 0.2 s"],
)
def test_headers_not_complete_1_s_after_the_connection_opened_close_it(
    url: str, drip: bytes
) -> None:
    before = closed_connections(url, "header_timeout")
    with connect(url) as sock:
        elapsed = closed_by_server(sock, within=5, drip=drip)

    assert elapsed is not None, "the connection was still open after 5 s"
    assert 0.9 <= elapsed < 3
    assert closed_connections(url, "header_timeout") == before + 1


def test_a_later_request_on_a_kept_alive_connection_has_1_s_for_its_headers(url: str) -> None:
    with connect(url) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        sock.settimeout(10)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
        elapsed = closed_by_server(sock, within=5, drip=b"GET /healthz HTTP/1.1\r\nhost: x\r\n")

    assert elapsed is not None, "the connection was still open after 5 s"
    assert 0.9 <= elapsed < 3


@pytest.mark.parametrize(
    "sent", [b"", b'{"action": '], ids=["no body at all", "less than it promised"]
)
def test_a_body_idle_for_1_s_closes_the_connection(url: str, sent: bytes) -> None:
    before = closed_connections(url, "body_timeout")
    with connect(url) as sock:
        sock.sendall(request_head(1000) + sent)
        elapsed = closed_by_server(sock, within=5)

    assert elapsed is not None, "the connection was still open after 5 s"
    assert 0.9 <= elapsed < 3
    assert closed_connections(url, "body_timeout") == before + 1


def test_a_slow_body_that_is_never_idle_for_1_s_is_read(url: str) -> None:
    body = b'{"a": 1}'
    with connect(url) as sock:
        sock.sendall(request_head(len(body)))
        for byte in body:  # 8 bytes over 2.8 s, 0.4 s apart
            time.sleep(0.4)
            sock.sendall(bytes([byte]))
        sock.settimeout(10)
        assert sock.recv(65536).startswith(b"HTTP/1.1 401 Unauthorized\r\n")


def test_serve_closes_stalled_connections_after_10_s_and_counts_them(serve: Server) -> None:
    silent, stalled = connect(serve.url), connect(serve.url)
    stalled.sendall(request_head(1000) + b"{")
    with silent, stalled, ThreadPoolExecutor(2) as pool:
        closed = pool.map(lambda sock: closed_by_server(sock, within=20), [silent, stalled])
        elapsed = list(closed)

    assert all(seconds is not None and 9.5 <= seconds < 13 for seconds in elapsed), elapsed
    assert closed_connections(serve.url, "header_timeout") == 1
    assert closed_connections(serve.url, "body_timeout") == 1


# -- bodies held at once -----------------------------------------------------------------


@pytest.fixture
def small_budget(tmp_path: Path, private_key_pem: str) -> Iterator[str]:
    """hotfix-bot holding 1,000 bytes of bodies at once (3,000 with their copies); one that
    does not fit waits 1 s."""
    budget = BodyBudget(limit=3000, wait=1.0)
    yield from serve_in_thread(tmp_path, private_key_pem, ConnectionLimits(), budget)


def deliver(base_url: str, delivery_id: str) -> httpx.Response:
    body = pull_request_payload()
    headers = signed_headers(body, "pull_request", delivery_id)
    return httpx.post(f"{base_url}{PATH}", content=body, headers=headers, timeout=10)


def test_a_body_over_the_bound_waits_then_is_503_with_retry_after(small_budget: str) -> None:
    with connect(small_budget) as holder:
        holder.sendall(request_head(900) + b"{")  # 900 of the 1,000 bytes, while it lasts
        time.sleep(0.2)
        started = time.monotonic()
        refused = deliver(small_budget, "d-over")
        waited = time.monotonic() - started

        assert (refused.status_code, refused.headers["retry-after"]) == (503, "5")
        assert refused.json() == {
            "error": "hotfix-bot is receiving as many bodies as it holds at once; try again shortly"
        }
        assert 0.9 <= waited < 3

        holder.sendall(b" " * 899)
        assert holder.recv(65536).startswith(b"HTTP/1.1 401 Unauthorized\r\n")

    accepted = deliver(small_budget, "d-after")
    assert (accepted.status_code, accepted.json()["status"]) == (202, "ignored")


def test_a_body_over_the_bound_is_read_once_room_is_made(small_budget: str) -> None:
    with connect(small_budget) as holder, ThreadPoolExecutor(1) as pool:
        holder.sendall(request_head(900) + b"{")
        time.sleep(0.2)
        waiting = pool.submit(deliver, small_budget, "d-waits")
        time.sleep(0.3)
        holder.sendall(b" " * 899)
        assert holder.recv(65536).startswith(b"HTTP/1.1 401 Unauthorized\r\n")

        accepted = waiting.result()
    assert (accepted.status_code, accepted.json()["status"]) == (202, "ignored")


def post_whole_then_read(base_url: str, body: bytes, delivery_id: str) -> http.client.HTTPResponse:
    """A signed delivery sent as http.client sends it: the whole body, and only then the
    answer read; on a connection the sender asks to close."""
    host, port = base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    headers = {**signed_headers(body, "pull_request", delivery_id), "connection": "close"}
    connection.request("POST", PATH, body, headers)
    return connection.getresponse()


def test_a_413_reaches_a_sender_that_asked_to_close(url: str) -> None:
    """Answered before the body was read, and the rest of the body read and dropped before
    the connection closes: closed with the body unread, the connection was reset while the
    sender was still sending, and it never read the answer."""
    refused = post_whole_then_read(url, b" " * (MAX_BODY_BYTES + 1), "d-413")

    assert (refused.status, json.loads(refused.read())) == (
        413,
        {"error": "the body is larger than 25 MiB"},
    )


def test_a_503_for_want_of_room_reaches_a_sender_that_asked_to_close(
    small_budget: str,
) -> None:
    with connect(small_budget) as holder:
        holder.sendall(request_head(900) + b"{")  # 900 of the 1,000 bytes, while it lasts
        time.sleep(0.2)

        refused = post_whole_then_read(small_budget, b" " * (8 * MIB), "d-503")

    assert (refused.status, refused.getheader("retry-after")) == (503, "5")
    assert json.loads(refused.read()) == {
        "error": "hotfix-bot is receiving as many bodies as it holds at once; try again shortly"
    }


def test_20_senders_of_25_mib_unsigned_bodies_keep_the_intake_under_256_mib(
    serve: Server,
) -> None:
    body = b"x" * MAX_BODY_BYTES
    headers = {"x-github-event": "push", "x-github-delivery": "big"}

    def send(_: int) -> tuple[int, str | None]:
        response = httpx.post(f"{serve.url}{PATH}", content=body, headers=headers, timeout=30)
        return response.status_code, response.headers.get("retry-after")

    with ThreadPoolExecutor(20) as pool:
        answers = set(pool.map(send, range(20)))

    assert answers <= {(401, None), (503, "5")}
    assert serve.process is not None
    assert peak_rss_mib(serve.process.pid) < 256


def test_8_signed_deliveries_of_25_mib_at_once_keep_the_intake_under_256_mib(
    serve: Server,
) -> None:
    """Shaped to cost the most to read (support.large_bodies) and signed, so that each is
    read, checked, and journaled."""
    deliveries = [(event, make()) for event, make in LARGE_BODIES.values()]

    def send(number: int) -> tuple[int, str | None]:
        event, body = deliveries[number]
        headers = signed_headers(body, event, f"large-{number}")
        response = httpx.post(f"{serve.url}{PATH}", content=body, headers=headers, timeout=30)
        return response.status_code, response.headers.get("retry-after")

    with ThreadPoolExecutor(len(deliveries)) as pool:
        answers = list(pool.map(send, range(len(deliveries))))

    assert serve.process is not None
    assert peak_rss_mib(serve.process.pid) < 256
    assert set(answers) <= {(202, None), (503, "5")}
    assert (202, None) in answers

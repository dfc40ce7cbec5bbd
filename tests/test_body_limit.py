"""Request bodies are bounded before they are read into memory: 413 with a message,
on the declared length and while the body streams, in the ASGI app and in the
server's own protocol (workshop/serve.py); and the access log keeps no join token."""

from __future__ import annotations

import socket
import time

import pytest
from servers import make_stack, seed_workshop, start_worker

from workshop.asgi import application
from workshop.bodylimit import KiB, MiB

pytestmark = pytest.mark.django_db(transaction=True)


async def call(path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]]):
    """One HTTP request through the whole ASGI app; the status and body it answered."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver")] + headers,
             "client": ("127.0.0.1", 1), "server": ("testserver", 80)}
    messages = [{"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
                for i, chunk in enumerate(chunks)]
    pulled = 0
    answer: dict = {"status": None, "body": b""}

    async def receive():
        nonlocal pulled
        if pulled < len(messages):
            pulled += 1
            return messages[pulled - 1]
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        else:
            answer["body"] += message.get("body", b"")

    await application(scope, receive, send)
    return answer["status"], answer["body"].decode(), pulled


async def test_a_declared_length_over_the_limit_is_a_413_before_a_byte_is_read(settings):
    settings.REQUEST_BODY_MAX_KB = 64
    status, text, pulled = await call("/accounts/login/", [b"x" * 10],
                                      [(b"content-length", str(65 * KiB).encode())])
    assert status == 413
    assert "larger than Attune accepts here (64 KB)" in text
    assert pulled == 0


async def test_a_body_that_streams_past_the_limit_is_a_413(settings):
    settings.REQUEST_BODY_MAX_KB = 64
    status, text, pulled = await call("/accounts/login/", [b"x" * (40 * KiB)] * 5, [])
    assert status == 413 and "64 KB" in text
    assert pulled == 2  # stopped at the chunk that went past the limit


async def test_the_import_takes_its_larger_limit(settings):
    settings.REQUEST_BODY_MAX_KB = 64
    status, _, _ = await call("/import/", [b"x" * (100 * KiB)],
                              [(b"content-length", str(100 * KiB).encode())])
    assert status != 413  # past the limit into Django (which refuses it for CSRF)


async def test_a_2_gb_data_sample_is_refused_before_a_byte_is_read(settings):
    settings.PROFILE_SAMPLE_MAX_MB = 20
    status, text, pulled = await call("/w/1/s/data_sources/2/sample/", [b"x" * 10],
                                      [(b"content-length", str(2 * 1024 * MiB).encode())])
    assert status == 413 and "larger than Attune accepts here" in text
    assert pulled == 0


async def test_a_sample_streaming_past_twice_its_limit_is_stopped_as_it_arrives(settings):
    settings.PROFILE_SAMPLE_MAX_MB = 1  # the form's own message covers up to twice that
    status, _, pulled = await call("/w/1/s/data_sources/2/sample/", [b"x" * MiB] * 5, [])
    assert status == 413
    assert pulled == 3


# The server's own protocol, on a real daphne ------------------------------------------

@pytest.fixture
def server(tmp_path):
    stack = make_stack(tmp_path)
    stack.env["REQUEST_BODY_MAX_KB"] = "64"
    stack.env["EXPORTS_IMPORT_MAX_MB"] = "1"
    stack.env["PROFILE_SAMPLE_MAX_MB"] = "1"
    links = seed_workshop(stack)
    worker = start_worker(stack, tmp_path)
    yield worker, links
    stack.close()


def raw_request(port: int, head: str, body_parts: list[bytes]) -> str:
    """Send the head and as much of the body as the server takes; what it answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head.encode())
        try:
            for part in body_parts:
                conn.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: that is the point
        received = b""
        while True:
            try:
                data = conn.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            received += data
    return received.decode(errors="replace")


@pytest.mark.own_servers
def test_the_server_refuses_a_huge_declared_body_without_receiving_it(server):
    worker, _ = server
    head = ("POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {200 * MiB}\r\n\r\n")
    # Only 256 KB of the 200 MB ever goes out; the answer comes anyway.
    answer = raw_request(worker.port, head, [b"x" * (64 * KiB)] * 4)
    assert answer.startswith("HTTP/1.1 413")
    assert "larger than Attune accepts here" in answer


@pytest.mark.own_servers
def test_the_server_refuses_a_chunked_body_that_grows_past_the_largest_limit(server):
    worker, _ = server
    head = ("POST /import/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"x" * (256 * KiB)
    # 3 MB: past the largest limit, a data sample's (twice 1 MB, and slack)
    parts = [f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"] * 12
    answer = raw_request(worker.port, head, parts)
    assert answer.startswith("HTTP/1.1 413")


@pytest.mark.own_servers
def test_the_access_log_keeps_no_join_token(server):
    worker, links = server
    answer = raw_request(worker.port, f"GET /join/{links['join']}/ HTTP/1.1\r\n"
                                      "Host: 127.0.0.1\r\nConnection: close\r\n\r\n", [])
    assert answer.startswith("HTTP/1.1 200")
    deadline = time.monotonic() + 5
    while "/join/" not in worker.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = worker.log.read_text()
    assert "GET /join/[token]/" in log
    assert links["join"] not in log

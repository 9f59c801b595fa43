"""Slow, idle and too many connections against a real uvicorn on 127.0.0.1 (in a thread, the fake embedder),
run with `api.protocol.server_options`: a request head not complete within CITEQA_HEADER_TIMEOUT is dropped, a
stalled body within CITEQA_BODY_TIMEOUT, an idle kept-alive connection after CITEQA_KEEPALIVE_TIMEOUT, and
past CITEQA_MAX_CONNECTIONS a request answers 503; /health keeps answering throughout."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.config import ApiConfig
from api.protocol import server_options
from tests.test_edges import KEY, small_engine

pytestmark = pytest.mark.slow

SLOW = 20  # the full-size run (300) is `make fuzz`, recorded in docs/BENCHMARKS.md


@contextmanager
def serving(root: Path, config: ApiConfig) -> Iterator[int]:
    app = create_app(small_engine(root), config)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, **server_options(config)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def connect(port: int, send: bytes = b"") -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if send:
        s.sendall(send)
    return s


def closed_after(s: socket.socket, limit: float) -> tuple[float, bytes]:
    """Reads until the server closes; -> (seconds until then, what it sent). `limit` seconds at most."""
    started, got = time.monotonic(), b""
    s.settimeout(0.2)
    while time.monotonic() - started < limit:
        try:
            chunk = s.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            break
        if not chunk:
            break
        got += chunk
    else:
        return float("inf"), got
    return time.monotonic() - started, got


def health(port: int) -> int:
    return httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code


def test_half_heads_and_silent_connections_are_dropped_while_health_answers(tmp_path: Path) -> None:
    config = ApiConfig(header_timeout=1.0, keep_alive_timeout=30.0)
    with serving(tmp_path, config) as port:
        t0 = time.monotonic()
        slow = [connect(port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ") for _ in range(SLOW)]
        silent = [connect(port) for _ in range(5)]
        assert health(port) == 200
        for s in slow:
            seconds, got = closed_after(s, 5.0)
            assert time.monotonic() - t0 < 1.0 + 2.0 and got.startswith(b"HTTP/1.1 408 "), (seconds, got[:60])
        for s in silent:
            seconds, got = closed_after(s, 5.0)
            assert time.monotonic() - t0 < 1.0 + 2.5 and got == b""
        assert health(port) == 200


def test_a_stalled_body_is_cut_off_and_the_index_is_intact(tmp_path: Path) -> None:
    config = ApiConfig(api_key=KEY, header_timeout=1.0, body_timeout=1.0)
    with serving(tmp_path, config) as port:
        body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.txt"\r\n\r\nhalf a file'
        s = connect(
            port,
            b"POST /v1/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + KEY.encode()
            + b"\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 5000\r\n\r\n"
            + body,
        )
        seconds, _ = closed_after(s, 6.0)
        assert seconds < 1.0 + 2.0
        docs = httpx.get(f"http://127.0.0.1:{port}/v1/documents", timeout=5).json()
        assert docs["count"] == 2


def test_idle_kept_alive_connections_close_after_the_keep_alive_timeout(tmp_path: Path) -> None:
    config = ApiConfig(header_timeout=5.0, keep_alive_timeout=1.0)
    with serving(tmp_path, config) as port:
        s = connect(port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        seconds, got = closed_after(s, 6.0)
        assert got.startswith(b"HTTP/1.1 200 ") and 0.8 < seconds < 1.0 + 2.0


def test_past_the_connection_cap_requests_answer_503(tmp_path: Path) -> None:
    config = ApiConfig(header_timeout=10.0, max_connections=4)
    with serving(tmp_path, config) as port:
        held = [connect(port) for _ in range(4)]
        time.sleep(0.3)
        r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
        assert r.status_code == 503
        for s in held:
            s.close()
        time.sleep(0.3)
        assert health(port) == 200


def test_an_unauthenticated_upload_is_answered_401_before_its_body_is_sent(tmp_path: Path) -> None:
    with serving(tmp_path, ApiConfig(api_key=KEY)) as port:
        s = connect(
            port,
            b"POST /v1/documents HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 19000000\r\n\r\n",
        )  # 19 MB announced, not a byte of it sent
        seconds, got = closed_after(s, 5.0)
        assert got.startswith(b"HTTP/1.1 401 ") and seconds < 2.0

"""A real `qa serve` process on 127.0.0.1 on a free port, over a fresh copy of the default corpus with no index:
the first start builds the index; then ask, upload, ask again (the new document is cited), a restart that keeps
the upload, delete, and stop. Also: oversized uploads are refused on their Content-Length before the body is
sent, the log is JSON lines with request ids, and a busy port fails at once with one line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
KEY = "serve-key-0b7e"
AUTH = {"Authorization": f"Bearer {KEY}"}
START_TIMEOUT = 300.0  # the first start loads the model and embeds the corpus
NOTE = (
    b"The Quetzal Observatory opened near Antigua Guatemala in 2019. It measures volcanic ash plumes from the "
    b"Fuego volcano with lidar instruments. The director of the Quetzal Observatory is the physicist Lucia "
    b"Ixchel Perez.\n"
)
QUESTION = {"question": "Who is the director of the Quetzal Observatory?"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def qa_serve(root: Path, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")}
    env["CITEQA_API_KEY"] = KEY
    cmd = [
        sys.executable,
        "-m",
        "cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--corpus",
        str(root / "corpus"),
        "--index",
        str(root / ".citeqa"),
    ]
    with open(log, "ab") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def wait_healthy(proc: subprocess.Popen[bytes], base: str, log: Path) -> dict[str, Any]:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"qa serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            r = httpx.get(f"{base}/health", timeout=2)
            if r.status_code == 200:
                return r.json()  # type: ignore[no-any-return]
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    pytest.fail(f"qa serve did not answer /health within {START_TIMEOUT}s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    """SIGTERM -> uvicorn shuts down gracefully, then re-raises the signal (exit status -15), or exits 0."""
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    assert json.loads(log.read_text().splitlines()[-1])["event"].startswith("Finished server process")


def cited(body: dict[str, Any], doc_id: str) -> bool:
    return any(p["doc_id"] == doc_id for p in body["passages"])


def declared_too_large(port: int) -> bytes:
    """Send only the headers of a 25 MB upload and read the answer; the body is never sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(
            b"POST /v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
            + KEY.encode()
            + b"\r\nContent-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 26214400\r\n\r\n"
        )
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data


def test_qa_serve_builds_answers_uploads_restarts_and_deletes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(ROOT / "corpus", tmp_path / "corpus")
    log = tmp_path / "serve.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    t0 = time.perf_counter()
    with qa_serve(tmp_path, port, log) as proc:
        health = wait_healthy(proc, base, log)
        first = httpx.post(
            f"{base}/v1/ask",
            json={"question": "Which free trade agreement are the United States and Guatemala parties to?"},
            timeout=60,
        )
        first_answer_s = time.perf_counter() - t0
        assert first.status_code == 200
        assert first.json()["answer"]["doc_id"] == "us-guatemala-relations-state-dept"
        assert health["documents"] == 5 and (tmp_path / ".citeqa" / "citeqa.db").exists()
        ask_id = first.headers["x-request-id"]

        assert not cited(httpx.post(f"{base}/v1/ask", json=QUESTION, timeout=60).json(), "quetzal-observatory")
        r = httpx.post(
            f"{base}/v1/documents", files={"file": ("quetzal-observatory.txt", NOTE)}, headers=AUTH, timeout=120
        )
        assert r.status_code == 201, r.text
        after = httpx.post(f"{base}/v1/ask", json=QUESTION, timeout=60).json()
        assert after["answer"]["doc_id"] == "quetzal-observatory" and "Lucia Ixchel Perez" in after["answer"]["text"]

        raw = declared_too_large(port)
        assert raw.startswith(b"HTTP/1.1 413") and b"20 MB" in raw, raw[:300]
        assert httpx.get(f"{base}/health", timeout=10).status_code == 200  # still serving
        stop(proc, log)

    t1 = time.perf_counter()
    with qa_serve(tmp_path, port, log) as proc:
        health = wait_healthy(proc, base, log)
        restart_answer = httpx.post(f"{base}/v1/ask", json=QUESTION, timeout=60).json()
        restart_s = time.perf_counter() - t1
        assert health["documents"] == 6
        assert restart_answer["answer"]["doc_id"] == "quetzal-observatory"

        busy = subprocess.run(
            [
                sys.executable,
                "-m",
                "cli",
                "serve",
                "--port",
                str(port),
                "--corpus",
                str(tmp_path / "corpus"),
                "--index",
                str(tmp_path / ".citeqa"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert busy.returncode == 1
        assert busy.stderr.startswith("qa: error: cannot listen on") and busy.stderr.count("\n") == 1

        assert httpx.delete(f"{base}/v1/documents/quetzal-observatory", headers=AUTH, timeout=120).status_code == 200
        assert not cited(httpx.post(f"{base}/v1/ask", json=QUESTION, timeout=60).json(), "quetzal-observatory")
        assert httpx.get(f"{base}/v1/documents", timeout=10).json()["count"] == 5
        stop(proc, log)
    assert not (tmp_path / "corpus" / "quetzal-observatory.txt").exists()
    assert not (tmp_path / ".citeqa" / "uploads" / "quetzal-observatory.txt").exists()

    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    access = [x for x in lines if x["logger"] == "citeqa.access"]
    mine = next(x for x in access if x["request_id"] == ask_id)
    assert mine["route"] == "/v1/ask" and mine["status"] == 200 and mine["client"] == "127.0.0.1"
    assert any(x["status"] == 413 and x["route"] == "/v1/documents" for x in access)
    assert any(x["event"] == "index ready" for x in lines)
    with capsys.disabled():
        print(
            f"\nqa serve: first answer {first_answer_s:.1f}s after start (index built on first start); "
            f"{restart_s:.1f}s after a restart with the index on disk"
        )

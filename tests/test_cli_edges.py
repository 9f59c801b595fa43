"""The `qa` command's edges (issue 13, item 10) and `make run`'s key (issue 11, item 6), as a user runs them:
real processes, the real model on a two-document corpus."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.test_cli import ROOT, assert_one_line_error, qa
from tests.test_edges import RIVERS, VOLCANO
from tests.test_serve_process import free_port

pytestmark = pytest.mark.slow


def env_for(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")}
    return {**env, "CITEQA_CORPUS": str(root / "corpus"), "CITEQA_INDEX": str(root / ".citeqa"), **extra}


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-edges")
    (root / "corpus").mkdir()
    (root / "corpus" / "volcanoes.txt").write_text(VOLCANO, encoding="utf-8")
    (root / "corpus" / "rivers.txt").write_text(RIVERS, encoding="utf-8")
    done = qa("index", "--quiet", env=env_for(root))
    assert done.returncode == 0, done.stderr
    return root


def test_ask_list_names_the_documents_that_an_unknown_doc_error_points_to(small_index: Path) -> None:
    env = env_for(small_index)
    wrong = qa("ask", "--doc", "nosuchdoc", "Which volcano erupts ash?", env=env)
    assert_one_line_error(wrong, "nosuchdoc", "qa ask --list")
    listed = qa("ask", "--list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert [ln.split()[0] for ln in listed.stdout.splitlines()] == ["rivers", "volcanoes"]
    assert "Rivers of the highlands" in listed.stdout
    right = qa("ask", "--doc", "volcanoes", "Which volcano erupts ash plumes?", env=env)
    assert right.returncode == 0 and "Fuego" in right.stdout
    assert_one_line_error(qa("ask", env=env), "no question")


def test_an_index_path_that_is_a_file_is_one_line(tmp_path: Path, small_index: Path) -> None:
    afile = tmp_path / "not-a-folder"
    afile.write_text("x")
    for command in (("index",), ("ask", "Which volcano?"), ("serve", "--port", "1")):
        assert_one_line_error(qa(*command, "--index", str(afile), env=env_for(small_index)), str(afile), "folder")


@pytest.mark.parametrize(
    "files",
    [{}, {"notes.xyz": b"words", "tool.exe": b"MZ\x90", "picture.bmp": b"BM"}],
    ids=["empty", "unsupported-only"],
)
def test_a_corpus_without_documents_is_an_error_with_a_hint(tmp_path: Path, files: dict[str, bytes]) -> None:
    (tmp_path / "corpus").mkdir()
    for name, data in files.items():
        (tmp_path / "corpus" / name).write_bytes(data)
    env = env_for(tmp_path)
    indexed = qa("index", "--quiet", env=env)
    assert indexed.returncode == 1 and "Traceback" not in indexed.stderr
    lines = indexed.stderr.strip().splitlines()  # a warning per skipped file, then the one error
    assert all(ln.startswith("qa: warning: skipped ") for ln in lines[:-1]) and len(lines) == len(files) + 1
    assert lines[-1].startswith("qa: error: no documents") and ".txt" in lines[-1] and "qa index" in lines[-1]
    for name in files:
        assert name in lines[-1]
    asked = qa("ask", "Which volcano erupts?", env=env)
    assert "The closest passages" not in asked.stdout
    assert_one_line_error(asked, "no documents") if asked.returncode else pytest.fail(asked.stdout)


def _start(root: Path, port: int, **extra: str) -> tuple[subprocess.Popen[str], list[str]]:
    """`qa serve --create-key` as `make run` starts it; -> (process, its stdout lines up to the address)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--port", str(port), "--create-key"],
        cwd=ROOT,
        env=env_for(root, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline().rstrip("\n") for _ in range(2)]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc, lines
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    pytest.fail(f"qa serve did not start: {proc.stderr.read() if proc.stderr else ''}")


def _response(s: socket.socket) -> bytes:
    """One whole response (it has a Content-Length) read off a kept-alive socket; b"" if the server closed it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(ln.split(b":")[1] for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length")))
    while len(body) < length:
        body += s.recv(4096)
    return data


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    return err


def test_make_run_prints_the_address_and_a_kept_key_once(small_index: Path) -> None:
    port = free_port()
    proc, lines = _start(small_index, port, CITEQA_HEADER_TIMEOUT="1")
    try:
        assert lines[0] == f"citeqa is ready: open http://127.0.0.1:{port}"
        assert "shown once" in lines[1] and str(small_index / ".citeqa" / "api-key") in lines[1]
        key = lines[1].rsplit(" ", 1)[1]
        assert (small_index / ".citeqa" / "api-key").read_text().strip() == key
        assert (small_index / ".citeqa" / "api-key").stat().st_mode & 0o077 == 0
        up = httpx.post(
            f"http://127.0.0.1:{port}/v1/documents",
            headers={"Authorization": f"Bearer {key}"},
            files={"file": ("lakes.txt", b"Lake Atitlan is a caldera lake in the highlands.")},
        )
        assert up.status_code == 201, up.text
        # CITEQA_HEADER_TIMEOUT reaches the server: a silent connection is dropped after about a second
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            t0 = time.monotonic()
            assert s.recv(100) == b"" and time.monotonic() - t0 < 3.0
        # the keep-alive timeout outlives clients' usual 5 s idle expiry: a kept connection still serves after 6 s
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            for pause in (0, 6):
                time.sleep(pause)
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                assert _response(s).startswith(b"HTTP/1.1 200 ")
    finally:
        err = _stop(proc)
    assert all(line.startswith("{") for line in err.splitlines() if line.strip()), err[-2000:]

    proc, lines = _start(small_index, port)
    try:
        assert lines[0] == f"citeqa is ready: open http://127.0.0.1:{port}"
        assert key not in "\n".join(lines) and "kept in" in lines[1]
        gone = httpx.delete(f"http://127.0.0.1:{port}/v1/documents/lakes", headers={"Authorization": f"Bearer {key}"})
        assert gone.status_code == 200, gone.text
    finally:
        _stop(proc)
    explicit = {"CITEQA_API_KEY": "explicit-key-wins"}
    proc, lines = _start(small_index, port, **explicit)
    try:
        assert "CITEQA_API_KEY" in lines[1]
        r = httpx.delete(f"http://127.0.0.1:{port}/v1/documents/rivers", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 401
    finally:
        _stop(proc)

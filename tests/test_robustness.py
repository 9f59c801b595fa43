"""Crash safety of the saved index: a `qa index` killed with SIGKILL half-way leaves the previous index live
and answering, and the next `qa index` completes; damaged index files end in one clear line naming the fix
(`qa index`), never a traceback, and `qa index` repairs them."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from index import storage

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
TOPICS = "coffee harvest rainfall exports border customs tariffs schools clinics elections courts roads ports".split()


def qa(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def env(default_corpus: Path, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "CITEQA_CORPUS": str(default_corpus), "CITEQA_INDEX": str(tmp_path / ".citeqa"),
            "PYTHONUNBUFFERED": "1"}


def add_filler_documents(corpus: Path, n: int) -> None:
    """Enough extra text that embedding takes a few seconds, so a kill lands half-way."""
    for i in range(n):
        sentences = [f"Report {i} on {TOPICS[(i + j) % len(TOPICS)]} notes change number {j} in district {i * 7 + j}."
                     for j in range(40)]
        (corpus / f"filler-{i:03d}.txt").write_text(f"Filler report {i}\n\n" + " ".join(sentences), encoding="utf-8")


def ask_json(env: dict[str, str], question: str) -> dict:
    out = qa("ask", "--json", question, env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_kill_during_rebuild_keeps_previous_index(default_corpus: Path, env: dict[str, str], tmp_path: Path) -> None:
    first = qa("index", "--quiet", env=env)
    assert first.returncode == 0, first.stderr
    index_dir = Path(env["CITEQA_INDEX"])
    before = storage.read_manifest(index_dir)["documents"]
    live_before = storage.live_generation(index_dir)

    add_filler_documents(default_corpus, 40)
    # stderr on a pseudo-terminal, so `qa index` draws its progress bar: the kill lands while it embeds
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a width, or tqdm draws nothing
    proc = subprocess.Popen([sys.executable, "-m", "cli", "index", "--force"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = ""
    try:
        deadline = time.monotonic() + 240
        progress: list[tuple[str, str]] = []
        while time.monotonic() < deadline and proc.poll() is None:
            if select.select([master], [], [], 0.05)[0]:
                try:
                    seen += os.read(master, 65536).decode(errors="replace")
                except OSError:
                    break
            progress = re.findall(r"(\d+)/(\d+) \[", seen)
            if progress and 0 < int(progress[-1][0]) < int(progress[-1][1]) // 2:
                break
        assert proc.poll() is None, f"the rebuild finished before it could be killed half-way: {seen[-300:]!r}"
        assert progress and 0 < int(progress[-1][0]) < int(progress[-1][1])
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        os.close(master)
    assert proc.returncode == -signal.SIGKILL

    # the previous generation is still the live one, whole: every document it had, and it answers
    assert storage.live_generation(index_dir) == live_before
    assert storage.read_manifest(index_dir)["documents"] == before
    result = ask_json(env, "What is the Safe Third Country Agreement?")
    assert result["passages"]
    for p in result["passages"]:
        text = (default_corpus / f"{p['doc_id']}.txt").read_text(encoding="utf-8")
        assert p["doc_id"] in before
        assert p["text"] in text  # offsets are into normalised text; the cited passage is in the document

    done = qa("index", "--quiet", env=env)
    assert done.returncode == 0, done.stderr
    after = storage.read_manifest(index_dir)["documents"]
    assert set(before) < set(after) and len(after) == len(before) + 40
    assert not [p for p in index_dir.iterdir() if p.name.startswith(".tmp-gen-")]
    assert [p.name for p in index_dir.iterdir() if p.name.startswith("gen-")] == [storage.live_generation(index_dir).name]


def test_leftovers_of_a_crash_during_save_are_ignored_then_cleaned(env: dict[str, str]) -> None:
    assert qa("index", "--quiet", env=env).returncode == 0
    index_dir = Path(env["CITEQA_INDEX"])
    live = storage.live_generation(index_dir)
    half = index_dir / ".tmp-gen-99"  # what a crash between writing files and switching CURRENT leaves
    half.mkdir()
    (half / "documents.jsonl").write_text('{"doc_id": "x", "ti')
    (index_dir / ".CURRENT.tmp").write_text("gen-99")
    assert ask_json(env, "Who met in February 2025?")["passages"]
    assert storage.live_generation(index_dir) == live
    assert qa("index", "--quiet", "--force", env=env).returncode == 0
    assert not half.exists() and storage.live_generation(index_dir) != live


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


DAMAGE = {
    "truncated chunk vectors": lambda gen: _truncate(gen / "chunk_vectors.npy"),
    "truncated chunks table": lambda gen: _truncate(gen / "chunks.jsonl"),
    "missing sentence vectors": lambda gen: (gen / "sentence_vectors.npy").unlink(),
    "garbage manifest": lambda gen: (gen / "manifest.json").write_bytes(b"\x00\xff{not json"),
    "empty documents table": lambda gen: (gen / "documents.jsonl").write_text(""),
    "pointer to a missing generation": lambda gen: (gen.parent / "CURRENT").write_text("gen-1\n"),
    "empty pointer": lambda gen: (gen.parent / "CURRENT").write_text(""),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(corpus, index) built once for the damage cases; each case damages its own copy."""
    import shutil

    base = tmp_path_factory.mktemp("built")
    shutil.copytree(ROOT / "corpus", base / "corpus")
    env = {**os.environ, "CITEQA_CORPUS": str(base / "corpus"), "CITEQA_INDEX": str(base / ".citeqa")}
    out = qa("index", "--quiet", env=env)
    assert out.returncode == 0, out.stderr
    return base / "corpus", base / ".citeqa"


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_index_is_one_clear_line(damage: str, built: tuple[Path, Path], tmp_path: Path) -> None:
    import shutil

    corpus, index_dir = built
    shutil.copytree(index_dir, tmp_path / ".citeqa")
    env = {**os.environ, "CITEQA_CORPUS": str(corpus), "CITEQA_INDEX": str(tmp_path / ".citeqa")}
    DAMAGE[damage](storage.live_generation(tmp_path / ".citeqa"))

    out = qa("ask", "What is the Safe Third Country Agreement?", env=env)
    assert out.returncode == 1 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qa: error:"), out.stderr
    assert "qa index" in lines[0] and "Traceback" not in out.stderr
    if damage in ("truncated chunk vectors", "pointer to a missing generation"):  # the fix it names works
        fixed = qa("index", "--quiet", env=env)
        assert fixed.returncode == 0, fixed.stderr
        assert ask_json(env, "What is the Safe Third Country Agreement?")["passages"]


def test_serve_on_a_damaged_index_exits_with_one_line(built: tuple[Path, Path], tmp_path: Path) -> None:
    """A server does not start on a damaged index and does not loop: it exits at once naming the fix."""
    import shutil

    corpus, index_dir = built
    shutil.copytree(index_dir, tmp_path / ".citeqa")
    _truncate(storage.live_generation(tmp_path / ".citeqa") / "chunks.jsonl")
    env = {**os.environ, "CITEQA_CORPUS": str(corpus), "CITEQA_INDEX": str(tmp_path / ".citeqa")}
    out = qa("serve", "--host", "127.0.0.1", "--port", "0", env=env, timeout=120)
    assert out.returncode == 1
    errors = [ln for ln in out.stderr.splitlines() if "error" in ln.lower()]
    assert len(errors) == 1 and "qa index" in errors[0] and "Traceback" not in out.stderr, out.stderr

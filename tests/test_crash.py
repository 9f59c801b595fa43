"""Crash safety of the local store: a writer process killed with SIGKILL at a named point (index/faults.py) during
an upload, a delete, a batch of `qa index` and a merge; then a restart checks that every acknowledged write is
there, nothing unacknowledged comes back, and a deleted document never returns. Also: `qa index` beside a running
`qa serve`, then an upload: nothing lost, and the server sees the new documents within seconds without a restart.
Damaged index files end in one line naming the fix; a read-only folder is one line too."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from index.local_store import LocalStore
from qa.engine import Engine, Settings, sync
from tests.conftest import FakeEmbedder
from tests.test_serve_process import AUTH, free_port, qa_serve, wait_healthy

ROOT = Path(__file__).resolve().parent.parent
NOTE = b"The Quetzal Observatory is directed by Lucia Ixchel Perez. It opened in 2019 near Lake Atitlan."
WRITER = """
import sys, time, os
from pathlib import Path
from tests.conftest import FakeEmbedder
from qa.engine import Engine, Settings
from qa.sync import sync_folder
settings = Settings(corpus=Path(sys.argv[1]), index=Path(sys.argv[2]))
op = sys.argv[3]
if op == "sync":
    sync_folder(settings, FakeEmbedder(), batch=2)
    print("ACK", flush=True)
else:
    e = Engine.open(settings, embedder=FakeEmbedder())
    if op == "add":
        doc, _ = e.add(Path(sys.argv[4]).read_bytes(), sys.argv[5])
        print("ACK", doc.doc_id, flush=True)
    elif op == "delete":
        e.delete(sys.argv[4])
        print("ACK", flush=True)
    elif op == "merge":
        e.store.dense.merge()
        print("ACK", flush=True)
time.sleep(float(os.environ.get("HOLD", "0")))
"""


@pytest.fixture
def settings(default_corpus: Path, tmp_path: Path) -> Settings:
    s = Settings(corpus=default_corpus, index=tmp_path / ".citeqa")
    sync(s, FakeEmbedder())
    return s


def writer(
    settings: Settings, *args: str, fault: str | None = None, hold: float = 0
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")}
    env.update({"HOLD": str(hold), "PYTHONUNBUFFERED": "1"})
    if fault:
        env["CITEQA_FAULT"] = fault
    cmd = [sys.executable, "-c", WRITER, str(settings.corpus), str(settings.index), *args]
    if not hold:
        return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # acknowledged ...
    proc.send_signal(signal.SIGKILL)  # ... then killed at once
    proc.wait(timeout=30)
    return subprocess.CompletedProcess(cmd, proc.returncode, line, "")


def reopen(settings: Settings) -> Engine:
    return Engine.open(settings, embedder=FakeEmbedder())


def ids(engine: Engine) -> set[str]:
    return {d["doc_id"] for d in engine.list_documents()}


def found_by_words(engine: Engine, words: str) -> set[str]:
    from index.lexical import terms

    return {c.chunk.doc_id for c in engine.store.candidates(None, terms(words), 50)}


def upload(settings: Settings, tmp_path: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    src = tmp_path / "note.txt"
    src.write_bytes(NOTE)
    return writer(settings, "add", str(src), "quetzal-observatory.txt", **kw)  # type: ignore[arg-type]


def test_upload_killed_before_its_commit_leaves_nothing(settings: Settings, tmp_path: Path) -> None:
    out = upload(settings, tmp_path, fault="upload:file-written")
    assert out.returncode == -signal.SIGKILL and "ACK" not in out.stdout
    assert (settings.index / "uploads" / "quetzal-observatory.txt").is_file()  # the file was written first ...
    engine = reopen(settings)
    assert "quetzal-observatory" not in ids(engine)
    assert list((settings.index / "uploads").iterdir()) == []  # ... and, never acknowledged, removed at open
    assert sync(settings, FakeEmbedder(), store=engine.store).embedded == []


def test_upload_killed_between_the_commit_and_the_lexical_index_is_caught_up(
    settings: Settings, tmp_path: Path
) -> None:
    out = upload(settings, tmp_path, fault="put:committed")
    assert out.returncode == -signal.SIGKILL
    engine = reopen(settings)  # committed in SQLite: present, and tantivy replays the missing generation
    assert "quetzal-observatory" in ids(engine)
    assert found_by_words(engine, "Quetzal Observatory Lucia Ixchel") >= {"quetzal-observatory"}
    assert (settings.index / "uploads" / "quetzal-observatory.txt").read_bytes() == NOTE


def test_an_acknowledged_upload_survives_a_kill(settings: Settings, tmp_path: Path) -> None:
    out = upload(settings, tmp_path, hold=60)
    assert out.stdout.startswith("ACK quetzal-observatory")
    engine = reopen(settings)
    assert "quetzal-observatory" in ids(engine)
    assert engine.ask("Who directs the Quetzal Observatory?").passages[0].doc_id == "quetzal-observatory"


def test_a_delete_killed_after_its_commit_never_comes_back(settings: Settings, tmp_path: Path) -> None:
    assert upload(settings, tmp_path).returncode == 0
    out = writer(settings, "delete", "quetzal-observatory", fault="delete:committed")
    assert out.returncode == -signal.SIGKILL
    engine = reopen(settings)
    assert "quetzal-observatory" not in ids(engine)
    assert "quetzal-observatory" not in found_by_words(engine, "Quetzal Observatory Lucia Ixchel")
    assert list((settings.index / "uploads").iterdir()) == []  # the owned file went at the next open
    sync(settings, FakeEmbedder(), store=engine.store)
    assert "quetzal-observatory" not in ids(reopen(settings))


@pytest.mark.parametrize("fault", ["remove:committed", None])
def test_a_deleted_corpus_document_stays_deleted_and_the_users_file_stays(
    settings: Settings, fault: str | None
) -> None:
    doc = "landau-arevalo-migration-drug-trafficking"
    out = writer(settings, "delete", doc, fault=fault, hold=0 if fault else 60)
    assert out.returncode == -signal.SIGKILL
    assert (settings.corpus / f"{doc}.txt").is_file()
    assert doc not in ids(reopen(settings))
    r = sync(settings, FakeEmbedder())  # `qa index` honours the recorded exclusion
    assert doc not in ids(reopen(settings)) and r.embedded == []


def test_qa_index_killed_after_a_batch_resumes_from_it(settings: Settings) -> None:
    for i in range(6):
        (settings.corpus / f"filler-{i}.txt").write_text(
            f"Filler report {i}. Coffee harvest number {i} rose in the district of Solola, the report says."
        )
    out = writer(settings, "sync", fault="sync:batch-committed")
    assert out.returncode == -signal.SIGKILL
    engine = reopen(settings)
    assert {"filler-0", "filler-1"} <= ids(engine) and "filler-5" not in ids(engine)  # the first batch is in
    emb = FakeEmbedder()
    r = sync(settings, emb, store=engine.store)
    assert sorted(r.embedded) == [f"filler-{i}" for i in range(2, 6)]  # the rest, not from zero
    assert len(ids(reopen(settings))) == 11


def test_a_merge_killed_half_way_changes_no_answer(settings: Settings, tmp_path: Path) -> None:
    assert upload(settings, tmp_path).returncode == 0
    before = reopen(settings).ask("Who directs the Quetzal Observatory?").to_dict()
    out = writer(settings, "merge", fault="merge:written")
    assert out.returncode == -signal.SIGKILL
    assert list((settings.index / "vectors").glob(".*.tmp"))  # what the kill left
    engine = reopen(settings)
    after = engine.ask("Who directs the Quetzal Observatory?").to_dict()
    assert [p["doc_id"] for p in after["passages"]] == [p["doc_id"] for p in before["passages"]]
    assert isinstance(engine.store, LocalStore)
    engine.store.dense.merge()
    assert not list((settings.index / "vectors").glob(".*.tmp"))


def qa_cli(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


DAMAGE = {
    "garbage database": lambda idx: (idx / "citeqa.db").write_bytes(b"\x00\xff not a database" * 100),
    "truncated database": lambda idx: (idx / "citeqa.db").write_bytes((idx / "citeqa.db").read_bytes()[:100]),
}


@pytest.mark.slow
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_index_is_one_line_and_qa_index_repairs_it(damage: str, default_corpus: Path, tmp_path: Path) -> None:
    env = {**os.environ, "CITEQA_CORPUS": str(default_corpus), "CITEQA_INDEX": str(tmp_path / ".citeqa")}
    assert qa_cli("index", "--quiet", env=env).returncode == 0
    for f in ("citeqa.db-wal", "citeqa.db-shm"):
        (tmp_path / ".citeqa" / f).unlink(missing_ok=True)
    DAMAGE[damage](tmp_path / ".citeqa")
    out = qa_cli("ask", "What is the Safe Third Country Agreement?", env=env)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 1 and len(lines) == 1 and lines[0].startswith("qa: error:") and "qa index" in lines[0], (
        out.stderr
    )
    assert qa_cli("index", "--quiet", env=env).returncode == 0
    assert json.loads(qa_cli("ask", "--json", "What is the Safe Third Country Agreement?", env=env).stdout)["passages"]


def test_derived_indexes_are_rebuilt_from_the_rows(settings: Settings) -> None:
    shutil.rmtree(settings.index / "lexical")
    shutil.rmtree(settings.index / "vectors")
    engine = reopen(settings)
    assert found_by_words(engine, "Safe Third Country Agreement")
    assert engine.ask("What is the Safe Third Country Agreement?").passages


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_empty_index_folder_is_one_line(default_corpus: Path, tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        env = {**os.environ, "CITEQA_CORPUS": str(default_corpus), "CITEQA_INDEX": str(ro)}
        out = qa_cli("serve", "--port", "0", env=env, timeout=120)
        lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
        assert out.returncode == 1 and len(lines) == 1 and "not writable" in lines[0], out.stderr
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


@pytest.mark.slow
def test_qa_index_beside_a_running_server_then_an_upload_loses_nothing(default_corpus: Path, tmp_path: Path) -> None:
    shutil.move(str(default_corpus), tmp_path / "corpus")
    port, log = free_port(), tmp_path / "serve.log"
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")}
    env.update({"CITEQA_CORPUS": str(tmp_path / "corpus"), "CITEQA_INDEX": str(tmp_path / ".citeqa")})
    with qa_serve(tmp_path, port, log) as proc:
        assert wait_healthy(proc, base, log)["documents"] == 5
        for i in range(20):
            (tmp_path / "corpus" / f"report-{i:02d}.txt").write_text(
                f"Field report {i}\n\nThe cooperative Xelaju{i:02d}q shipped {100 + i} sacks of coffee in 2024. "
                "Its members repaired two roads.",
                encoding="utf-8",
            )
        out = qa_cli("index", "--quiet", env=env)
        assert out.returncode == 0, out.stderr
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and httpx.get(f"{base}/v1/documents", timeout=10).json()["total"] != 25:
            time.sleep(0.2)
        assert httpx.get(f"{base}/v1/documents", timeout=10).json()["total"] == 25  # seen without a restart
        r = httpx.post(
            f"{base}/v1/documents", files={"file": ("quetzal-observatory.txt", NOTE)}, headers=AUTH, timeout=120
        )
        assert r.status_code == 201, r.text
        listed = httpx.get(f"{base}/v1/documents", params={"limit": 1000}, timeout=10).json()
        assert listed["total"] == 26 and {f"report-{i:02d}" for i in range(20)} <= {
            d["doc_id"] for d in listed["documents"]
        }
        body = httpx.post(
            f"{base}/v1/ask", json={"question": "How many sacks did cooperative Xelaju07q ship?"}, timeout=60
        ).json()
        top = body["passages"][0]  # found by its one rare word: the server's lexical index has the new documents
        assert top["doc_id"] == "report-07" and top["scores"]["lexical"] > 0
        assert qa_cli("index", "--quiet", env=env).returncode == 0  # a second `qa index` keeps the upload
        assert httpx.get(f"{base}/v1/documents/quetzal-observatory", timeout=10).status_code == 200
        assert httpx.get(f"{base}/v1/documents", timeout=10).json()["total"] == 26


def test_a_read_only_index_folder_is_one_line_simulated(
    default_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same as above where the tests run as root (read-only by EROFS from the file system, simulated)."""
    import errno
    import sqlite3

    import index.rows
    from cli.main import main

    def read_only(*a: object, **kw: object) -> None:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(index.rows.sqlite3, "connect", read_only)
    status = main(["serve", "--port", "0", "--corpus", str(default_corpus), "--index", str(tmp_path / "ro")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and len(err) == 1 and err[0].startswith("qa: error:") and "not writable" in err[0], err
    assert not (tmp_path / "ro").exists() or list((tmp_path / "ro").iterdir()) == []  # nothing left behind
    from index.rows import storage_error

    assert "not writable" in str(storage_error(OSError(errno.EROFS, "Read-only file system"), tmp_path))

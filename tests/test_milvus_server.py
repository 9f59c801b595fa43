"""citeqa against a real Milvus standalone server (Milvus 2.3.5 from the `milvus` package's `milvus-server`,
started once per session on free loopback ports; see tests/milvus_server.py): the schema's fallback on a server
without BM25 functions, two round trips per question, the gold set within the tolerance of the milvus-lite
test, uploads and deletes, two `qa serve` replicas sharing the server, a replica with another model refused, and
the server frozen, killed and started again under live replicas (503 in one line while it is away; nothing
acknowledged lost, nothing deleted back, once it returns; last, since it restarts the session's server).
Skips where the `milvus` package is missing, except under CI=true.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.errors import DocumentNotFound, DuplicateDocument, IndexMismatch
from index.settings import StoreAddress
from qa.engine import Engine, Settings, open_engine
from tests import milvus_server
from tests.milvus_server import Counting
from tests.test_milvus import (
    NEW_DOC,
    QUESTIONS,
    _free_port,
    agree_then_upload,
    gold_like_faiss,
    replicas,
    sync,
)

pytest.importorskip("pymilvus")
pytestmark = pytest.mark.milvus

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def milvus_proc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[milvus_server.MilvusServer]:
    if milvus_server.executable() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("milvus-server is missing under CI=true: the dev extra installs it (`milvus` on PyPI)")
        pytest.skip("milvus-server not installed (pip install 'citeqa[dev]' brings the `milvus` package)")
    server = milvus_server.start(tmp_path_factory.mktemp("milvus-server"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def milvus_uri(milvus_proc: milvus_server.MilvusServer) -> str:
    return milvus_proc.uri


_prefixes = iter(f"t{i}" for i in range(1000))


@pytest.fixture
def server_settings(milvus_uri: str, default_corpus: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CITEQA_MILVUS_PREFIX", next(_prefixes))  # each test its own collections
    return Settings(corpus=default_corpus, index=default_corpus.parent / "idx", store=StoreAddress.parse(milvus_uri))


def test_a_2_3_server_gets_the_fallback_schema(server_settings: Settings, fake_embedder) -> None:
    counts, embedded, _ = sync(server_settings, fake_embedder)
    assert len(embedded) == 5 and counts["documents"] == 5
    engine = open_engine(server_settings, embedder=fake_embedder)
    store = engine.health()["store"]
    assert store["server"].startswith("v2.3") and store["lexical"] == "candidates" and store["index"] == "HNSW"
    result = engine.ask("Safe Third Country Agreement").to_dict()
    assert result["passages"] and any(p["scores"]["lexical"] > 0 for p in result["passages"])
    names = engine.store.client.list_collections()
    assert sorted(n for n in names if n.startswith(engine.store.prefix + "_")) == sorted(engine.store.names.values())


def test_a_question_costs_two_round_trips(server_settings: Settings, fake_embedder) -> None:
    sync(server_settings, fake_embedder)
    engine = open_engine(server_settings, embedder=fake_embedder)
    engine.store.client = counter = Counting(engine.store.client)  # type: ignore[assignment]
    for q in QUESTIONS:
        counter.calls.clear()
        assert engine.ask(q).passages
        assert counter.calls == ["search", "get"], (q, counter.calls)
    counter.calls.clear()
    engine.ask(QUESTIONS[0], doc_ids=["us-strategy-for-central-america"])
    assert counter.calls == ["search", "get"]


def test_uploads_and_deletes_on_the_server(server_settings: Settings, fake_embedder) -> None:
    sync(server_settings, fake_embedder)
    engine = open_engine(server_settings, embedder=fake_embedder)
    engine.store.client = counter = Counting(engine.store.client)  # type: ignore[assignment]
    doc, _ = engine.add(NEW_DOC, "Quetzal compact.txt", title="Quetzal Harbour Compact")
    writes = [c for c in counter.calls if c in ("insert", "upsert", "delete")]
    assert len(writes) <= 9, counter.calls  # the document's rows, not the corpus: 4 inserts, 4 deletes, 1 upsert
    result = engine.ask("What tariff does the Quetzal Harbour Compact set?").to_dict()
    assert result["answer"]["doc_id"] == doc.doc_id  # seen by the next read of the process that wrote it
    assert "eleven dollars" in result["passages"][0]["text"]
    with pytest.raises(DuplicateDocument):
        engine.add(NEW_DOC, "again.txt")
    engine.delete(doc.doc_id)
    with pytest.raises(DocumentNotFound):
        engine.document(doc.doc_id)
    top = engine.ask("What tariff does the Quetzal Harbour Compact set?").to_dict()["passages"]
    assert all(p["doc_id"] != doc.doc_id for p in top)


def test_a_replica_with_another_model_is_refused_by_the_server(server_settings: Settings, fake_embedder) -> None:
    from tests.conftest import FakeEmbedder

    sync(server_settings, fake_embedder)
    with pytest.raises(IndexMismatch, match="built with embedder"):
        open_engine(server_settings, embedder=FakeEmbedder(dim=32))


@pytest.mark.slow
def test_gold_metrics_on_the_server_match_faiss(
    default_engine: Engine,
    default_corpus_session: Path,
    milvus_uri: str,
    real_embedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CITEQA_MILVUS_PREFIX", "gold")
    gold_like_faiss(
        default_engine, Settings(corpus=default_corpus_session, store=StoreAddress.parse(milvus_uri)), real_embedder
    )


@pytest.mark.slow
def test_two_replicas_share_the_server(
    milvus_uri: str, default_corpus_session: Path, tmp_path: Path, real_embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITEQA_MILVUS_PREFIX", "replicas")
    sync(Settings(corpus=default_corpus_session, store=StoreAddress.parse(milvus_uri)), real_embedder)
    key = "replica-test-key"
    with replicas(milvus_uri, tmp_path, key, CITEQA_MILVUS_PREFIX="replicas") as (a, b, env):
        doc_id, auth = agree_then_upload(a, b, key)
        question = {"question": "What tariff does the Quetzal Harbour Compact set?"}
        deadline = time.monotonic() + 10  # another replica's write shows within a time tick
        ans = b.post("/v1/ask", json=question).json()
        while not (ans["answer"] and ans["answer"]["doc_id"] == doc_id) and time.monotonic() < deadline:
            time.sleep(0.25)
            ans = b.post("/v1/ask", json=question).json()
        assert ans["answer"] and ans["answer"]["doc_id"] == doc_id
        assert ans["passages"][0]["doc_id"] == doc_id and "eleven dollars per tonne" in ans["passages"][0]["text"]
        text = b.get(f"/v1/documents/{doc_id}").json()["text"]
        assert text[ans["answer"]["start"] : ans["answer"]["end"]] == ans["answer"]["text"]
        assert text[ans["passages"][0]["start"] : ans["passages"][0]["end"]] == ans["passages"][0]["text"]
        assert b.delete(f"/v1/documents/{doc_id}", headers=auth).status_code == 200
        deadline = time.monotonic() + 10  # as above: the delete shows on the other replica within a time tick
        while (status := a.get(f"/v1/documents/{doc_id}").status_code) != 404 and time.monotonic() < deadline:
            time.sleep(0.25)
        assert status == 404
        # a third replica with another embedder (fp32 ONNX, not int8) refuses to start, in one line
        other = subprocess.run(
            [sys.executable, "-m", "cli", "serve", "--port", str(_free_port())],
            cwd=ROOT,
            env={**env, "CITEQA_EMBEDDER": "onnx"},
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert other.returncode != 0 and "Traceback" not in other.stderr, other.stderr
        assert "was built with embedder" in other.stderr.strip().splitlines()[-1]


HARBOURS = [
    "Puerto Barrios",
    "Santo Tomás",
    "Livingston",
    "Champerico",
    "Puerto Quetzal",
    "San José",
    "Belize City",
    "Dangriga",
    "Puerto Cortés",
    "La Ceiba",
]


@pytest.mark.slow
def test_qa_index_resumes_after_a_kill(milvus_uri: str, tmp_path: Path) -> None:
    """40 files: the first batch of 32 commits, the process is SIGKILLed there, the rerun embeds only the 8 left."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(40):
        port = HARBOURS[i % len(HARBOURS)]
        (corpus / f"harbour-notice-{i:02d}.txt").write_text(
            f"Harbour notice {i} for {port}\n\nThe port authority of {port} announced on {i % 28 + 1} May 2031 that "
            f"berth {i + 3} will close for {i % 9 + 2} days of dredging. Vessels above {120 + i} metres must book a "
            f"pilot {i % 5 + 1} days ahead. Fees for the notice period rise to {30 + i} dollars per tonne.\n",
            encoding="utf-8",
        )
    env = {
        **os.environ,
        "CITEQA_STORE": milvus_uri,
        "CITEQA_MILVUS_PREFIX": "resume",
        "CITEQA_CORPUS": str(corpus),
        "CITEQA_INDEX": str(tmp_path / "idx"),
        "CITEQA_FAULT": "sync:batch-committed",
    }
    cmd = [sys.executable, "-m", "cli", "index"]
    first = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == -9, first.stderr[-2000:]
    del env["CITEQA_FAULT"]
    second = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "indexed 40 documents" in second.stdout and "(8 documents embedded, 32 unchanged)" in second.stdout, (
        second.stdout
    )


def test_a_question_within_documents_finds_all_their_passages_on_the_server(milvus_uri: str) -> None:
    from tests.test_milvus import within_documents_check

    within_documents_check(milvus_uri, "within")
    # and the merge left both collections a question reads sealed and handed over: its search and its sentence
    # fetch are served from indexed segments, not growing copies (slower, and for passages less accurate)
    from pymilvus import MilvusClient
    from pymilvus.grpc_gen import common_pb2

    client = MilvusClient(uri=milvus_uri)
    try:
        for kind in ("chunks", "sentences"):
            infos = client._get_connection().get_query_segment_info(f"within_{kind}")
            sealed = sum(i.num_rows for i in infos if i.state != common_pb2.SegmentState.Growing)
            assert sealed == 6000, (kind, infos)
    finally:
        client.close()


# Last in this file on purpose: it kills the session's server (the fixture's teardown then has nothing to stop).
@pytest.mark.slow
def test_a_server_crash_answers_503_in_one_line(
    milvus_proc: milvus_server.MilvusServer,
    default_corpus_session: Path,
    tmp_path: Path,
    real_embedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under two live `qa serve` replicas the Milvus server first freezes (SIGSTOP): a question and /health answer
    503 once the read deadline (3 s here) passes, instead of waiting out pymilvus's 70 s of retries; then it is
    SIGKILLed: questions, /health, reads, uploads and deletes answer 503 with a one-line JSON detail naming the
    server, not a 500. Then it is started again on the same data, the replicas still running: both answer again,
    with the upload acknowledged before the crash, without the document deleted before it, and without the upload
    refused during it. No traceback reaches the replicas' logs."""
    monkeypatch.setenv("CITEQA_MILVUS_PREFIX", "crash")
    sync(Settings(corpus=default_corpus_session, store=StoreAddress.parse(milvus_proc.uri)), real_embedder)
    key = "crash-test-key"
    question = {"question": "What tariff does the Quetzal Harbour Compact set?"}
    auth = {"Authorization": f"Bearer {key}"}
    env = {"CITEQA_MILVUS_PREFIX": "crash", "CITEQA_MILVUS_READ_TIMEOUT": "3"}
    with replicas(milvus_proc.uri, tmp_path, key, **env) as (a, b, _env):
        up = a.post("/v1/documents", headers=auth, files={"file": ("quetzal.txt", NEW_DOC, "text/plain")})
        assert up.status_code == 201, up.text
        doc_id = up.json()["doc_id"]
        text = b.get(f"/v1/documents/{doc_id}").json()["text"]
        gone = "rubio-arevalo-meeting-feb-2025"
        assert b.delete(f"/v1/documents/{gone}", headers=auth).status_code == 200
        assert a.post("/v1/ask", json=question).status_code == 200
        os.killpg(milvus_proc.proc.pid, signal.SIGSTOP)  # the clients' httpx timeout is 60 s
        for r in (a.post("/v1/ask", json=question), b.get("/health")):
            assert r.status_code == 503, (r.request.method, r.request.url, r.status_code, r.text)
            assert f"Milvus server {milvus_proc.uri} is unreachable" in r.json()["detail"], r.text
        milvus_proc.kill()
        refused = b"Berth Notice\n\nBerth four at Puerto Barrios closes for dredging from 2 to 9 June 2031.\n"
        for r in (
            a.post("/v1/ask", json=question),
            b.get("/health"),
            b.get(f"/v1/documents/{doc_id}"),
            b.get("/v1/documents"),
            b.post("/v1/documents", headers=auth, files={"file": ("berth.txt", refused, "text/plain")}),
            a.delete(f"/v1/documents/{doc_id}", headers=auth),
        ):
            assert r.status_code == 503, (r.request.method, r.request.url, r.status_code, r.text)
            detail = r.json()["detail"]
            assert f"Milvus server {milvus_proc.uri} is unreachable" in detail and "\n" not in detail, detail

        milvus_proc.restart()
        deadline = time.monotonic() + 120  # each replica reconnects on its own; the first read reloads collections
        while a.post("/v1/ask", json=question).status_code != 200 and time.monotonic() < deadline:
            time.sleep(2)
        for client in (a, b):
            assert client.get("/health").status_code == 200
            answer = client.post("/v1/ask", json=question)
            assert answer.status_code == 200, answer.text
            assert answer.json()["passages"][0]["doc_id"] == doc_id and "eleven" in answer.json()["answer"]["text"]
            assert client.get(f"/v1/documents/{doc_id}").json()["text"] == text
            assert client.get(f"/v1/documents/{gone}").status_code == 404
            listed = {d["doc_id"] for d in client.get("/v1/documents", params={"limit": 100}).json()["documents"]}
            assert doc_id in listed and gone not in listed and not any(d.startswith("berth") for d in listed), listed
    logs = list(tmp_path.glob("replica-*.log"))
    assert len(logs) == 2
    for log in logs:
        assert "Traceback" not in log.read_text(), log.read_text()[-3000:]

"""Many asks in parallel while documents are uploaded and deleted, against a real uvicorn on 127.0.0.1 (in a
thread of this process, real model, private copy of the default corpus). No request fails, every answer is
consistent (each citation's offsets give exactly its text in the document it names), each upload is answerable
as soon as its call returns, and the end state is the start state."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.config import ApiConfig
from qa.engine import Engine
from tests.conftest import private_engine

pytestmark = pytest.mark.slow

KEY = "concurrency-key-5d1"
AUTH = {"Authorization": f"Bearer {KEY}"}
READERS = 6
MIN_ASKS = 8  # per reader, even if the writers finish first
MAX_ASKS = 200  # per reader: a bound on traffic if the writers are slow

UPLOADS = {  # file name -> (text, a question it answers, words the answer sentence contains)
    "copan-honey.txt": (
        "The Copan beekeeping cooperative produced four tonnes of honey in 2024. Its members keep "
        "stingless Melipona bees in log hives.\n",
        "How much honey did the Copan beekeeping cooperative produce?",
        "four tonnes",
    ),
    "peten-rangers.txt": (
        "The Peten ranger corps has 140 rangers. They patrol the Maya Biosphere Reserve on foot and by river boat.\n",
        "How many rangers does the Peten ranger corps have?",
        "140 rangers",
    ),
    "xela-library.txt": (
        "The Xela public library lends 9,000 books a month. Its reading room opens at seven in the morning.\n",
        "How many books does the Xela public library lend each month?",
        "9,000 books",
    ),
    "izabal-ferry.txt": (
        "The Izabal ferry crosses the lake twice a day. Each crossing takes about ninety minutes.\n",
        "How often does the Izabal ferry cross the lake?",
        "twice a day",
    ),
}
QUESTIONS = [
    "Which free trade pact binds Washington and Guatemala?",
    "What goods does the US buy from Guatemala?",
    "When was the Safe Third Country Agreement suspended?",
    "What did Rubio and Arevalo agree on migration?",
    *[q for _, q, _ in UPLOADS.values()],
]


@pytest.fixture(scope="module")
def engine(default_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return private_engine(default_engine, tmp_path_factory.mktemp("api-concurrency"))


@pytest.fixture(scope="module")
def base_url(engine: Engine) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(engine, ApiConfig(api_key=KEY)),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


def check_consistent(body: dict[str, Any], texts: dict[str, str]) -> None:
    for p in body["passages"]:
        assert texts[p["doc_id"]][p["start"] : p["end"]] == p["text"], p
    a = body["answer"]
    if a is not None:
        assert texts[a["doc_id"]][a["start"] : a["end"]] == a["text"], a
        # every returned passage that contains the answer sentence highlights it (the sentence may also come
        # from a passage ranked below top_k, which then is not returned)
        for p in body["passages"]:
            holds = p["doc_id"] == a["doc_id"] and p["start"] <= a["start"] and a["end"] <= p["end"]
            assert (p["highlight"] == {"start": a["start"], "end": a["end"]}) == holds, p


def test_parallel_asks_during_uploads_and_deletes(base_url: str, engine: Engine) -> None:
    texts = {d["doc_id"]: engine.document(d["doc_id"]).text for d in engine.list_documents()}
    texts.update({name.removesuffix(".txt"): text for name, (text, _, _) in UPLOADS.items()})
    corpus_before = sorted(p.name for p in engine.settings.corpus.iterdir())
    failures: list[str] = []
    asked = [0] * READERS
    writers_done = threading.Event()

    def reader(i: int) -> None:
        with httpx.Client(base_url=base_url, timeout=120) as c:
            n = 0
            while n < MAX_ASKS and (n < MIN_ASKS or not writers_done.is_set()):
                question = QUESTIONS[(i + n) % len(QUESTIONS)]
                r = c.post("/v1/ask", json={"question": question, "top_k": 5})
                n += 1
                if r.status_code != 200:
                    failures.append(f"ask {question!r}: {r.status_code} {r.text[:200]}")
                    continue
                try:
                    check_consistent(r.json(), texts)
                except (AssertionError, KeyError) as exc:
                    failures.append(f"inconsistent answer to {question!r}: {exc!r}")
            asked[i] = n

    def writer(names: list[str]) -> None:
        with httpx.Client(base_url=base_url, timeout=300, headers=AUTH) as c:
            for name in names:
                text, question, words = UPLOADS[name]
                r = c.post("/v1/documents", files={"file": (name, text.encode())})
                if r.status_code != 201:
                    failures.append(f"upload {name}: {r.status_code} {r.text[:200]}")
                    continue
                body = c.post("/v1/ask", json={"question": question}).json()  # answerable at once
                if (
                    body["answer"] is None
                    or body["answer"]["doc_id"] != r.json()["doc_id"]
                    or words not in body["answer"]["text"]
                ):
                    failures.append(f"{name} not answered right after upload: {body['answer']}")
            for name in names:
                r = c.delete(f"/v1/documents/{name.removesuffix('.txt')}")
                if r.status_code != 200:
                    failures.append(f"delete {name}: {r.status_code} {r.text[:200]}")

    names = sorted(UPLOADS)
    writers = [threading.Thread(target=writer, args=(names[i::2],)) for i in range(2)]
    readers = [threading.Thread(target=reader, args=(i,)) for i in range(READERS)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join(timeout=600)
    writers_done.set()
    for t in readers:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in readers + writers)

    assert failures == []
    assert all(n >= MIN_ASKS for n in asked), asked
    assert sorted(p.name for p in engine.settings.corpus.iterdir()) == corpus_before
    final = httpx.get(f"{base_url}/v1/documents", timeout=30).json()
    assert {d["doc_id"] for d in final["documents"]} == set(texts) - {n.removesuffix(".txt") for n in UPLOADS}
    print(f"\nconcurrency: {sum(asked)} asks by {READERS} readers during {len(UPLOADS)} uploads and deletes")

"""The documents API over the local store: paging, the upload cost cap (413), a full disk (507) and an unwritable
index folder (503), each answered as JSON with a detail and changing nothing."""

from __future__ import annotations

import errno
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import ApiConfig
from qa.engine import Engine

KEY = "storage-key-5d1e"
AUTH = {"Authorization": f"Bearer {KEY}"}
LONG = " ".join(f"Sentence number {i} of the long report describes the harvest." for i in range(50)).encode()


@pytest.fixture
def client(default_engine_fake: Engine):
    with TestClient(create_app(default_engine_fake, ApiConfig(api_key=KEY))) as c:
        yield c


def state(engine: Engine) -> tuple[Any, ...]:
    uploads = engine.uploads
    return (
        engine.store.generation(),
        engine.list_documents(),
        sorted(p.name for p in uploads.iterdir()) if uploads.is_dir() else [],
    )


def test_documents_page(client: TestClient) -> None:
    everything = client.get("/v1/documents").json()
    assert everything["count"] == everything["total"] == 5 and everything["offset"] == 0 and everything["limit"] == 100
    ids = [d["doc_id"] for d in everything["documents"]]
    assert ids == sorted(ids)
    page = client.get("/v1/documents", params={"offset": 2, "limit": 2}).json()
    assert page["count"] == 2 and page["total"] == 5 and [d["doc_id"] for d in page["documents"]] == ids[2:4]
    assert all(d["origin"] == "corpus" and d["status"] == "indexed" and d["type"] == "txt" for d in page["documents"])
    assert client.get("/v1/documents", params={"offset": 9}).json()["documents"] == []
    for bad in ({"offset": -1}, {"limit": 0}, {"limit": 100_000}, {"limit": "ten"}):
        r = client.get("/v1/documents", params=bad)
        assert r.status_code == 422 and r.json()["detail"]


def test_an_upload_over_the_sentence_cap_is_413(
    client: TestClient, default_engine_fake: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITEQA_MAX_UPLOAD_SENTENCES", "20")
    before = state(default_engine_fake)
    r = client.post("/v1/documents", headers=AUTH, files={"file": ("long-report.txt", LONG, "text/plain")})
    assert r.status_code == 413 and "CITEQA_MAX_UPLOAD_SENTENCES" in r.json()["detail"]
    assert state(default_engine_fake) == before
    monkeypatch.setenv("CITEQA_MAX_UPLOAD_SENTENCES", "100")
    assert (
        client.post("/v1/documents", headers=AUTH, files={"file": ("long-report.txt", LONG, "text/plain")}).status_code
        == 201
    )


@pytest.mark.parametrize("err, status, words", [(errno.ENOSPC, 507, "full"), (errno.EROFS, 503, "not writable")])
def test_a_full_or_read_only_disk_is_a_clear_error_that_changes_nothing(
    client: TestClient, default_engine_fake: Engine, monkeypatch: pytest.MonkeyPatch, err: int, status: int, words: str
) -> None:
    import qa.engine

    def fail(*a: object, **kw: object) -> None:
        raise OSError(err, "simulated")

    engine = default_engine_fake
    before = state(engine)
    monkeypatch.setattr(qa.engine.os, "fsync", fail)  # the upload file cannot be made durable
    r = client.post(
        "/v1/documents", headers=AUTH, files={"file": ("note.txt", b"A short note about coffee prices.", "text/plain")}
    )
    assert r.status_code == status and words in r.json()["detail"]
    assert state(engine) == before
    monkeypatch.undo()

    import sqlite3

    def full(*a: object, **kw: object) -> None:
        raise sqlite3.OperationalError(
            "database or disk is full" if err == errno.ENOSPC else "attempt to write a readonly database"
        )

    monkeypatch.setattr(engine.store.rows, "retire", full)  # type: ignore[attr-defined]
    r = client.delete("/v1/documents/landau-arevalo-migration-drug-trafficking", headers=AUTH)
    assert r.status_code == status and words in r.json()["detail"]
    assert state(engine) == before

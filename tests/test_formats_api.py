"""Formats through the engine, the store, the API and the CLI (fake embedder: plumbing, not quality):
parts persist, documents report type and pages, the original file comes back with its media type, uploads of
unknown types are 415 naming what is read, unreadable ones 422, and `qa index` ends with what it skipped."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import ApiConfig
from qa.engine import Engine, Settings
from tests import format_files as ff
from tests.conftest import FakeEmbedder

KEY = "formats-key-1"
AUTH = {"Authorization": f"Bearer {KEY}"}
PAGES = [
    ["The dredging contract for Puerto Barrios was signed in January."],
    ["Dredging of the north basin reached fourteen metres in June."],
]


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "harbour.pdf").write_bytes(ff.pdf_file(PAGES))
    (corpus / "deck.pptx").write_bytes(ff.pptx_file())
    (corpus / "drawing.svg").write_bytes(b"<svg/>")
    return Engine.open(
        Settings(corpus=corpus, index=tmp_path / ".citeqa"), build_if_missing=True, embedder=FakeEmbedder()
    )


@pytest.fixture
def client(engine: Engine):
    with TestClient(create_app(engine, ApiConfig(api_key=KEY))) as c:
        yield c


def test_parts_survive_save_and_load(engine: Engine) -> None:
    again = Engine.open(engine.settings, embedder=engine.embedder)
    assert again.document("harbour").parts == engine.document("harbour").parts
    assert [p.label for p in again.document("harbour").parts] == ["p. 1", "p. 2"]


def test_document_type_pages_and_original_file(client: TestClient) -> None:
    body = client.get("/v1/documents/harbour").json()
    assert body["type"] == "pdf"
    assert [(p["number"], p["label"], p["ocr"]) for p in body["pages"]] == [(1, "p. 1", False), (2, "p. 2", False)]
    second = body["pages"][1]
    assert body["text"][second["start"] : second["end"]] == PAGES[1][0]
    r = client.get("/v1/documents/harbour/file")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content == (client.app.state.engine.settings.corpus / "harbour.pdf").read_bytes()  # type: ignore[attr-defined]
    assert client.get("/v1/documents/nope/file").status_code == 404
    listing = client.get("/v1/documents").json()
    summary = {d["doc_id"]: d for d in listing["documents"]}
    assert summary["deck"]["type"] == "pptx" and summary["deck"]["pages"] == 3 and summary["harbour"]["pages"] == 2
    assert (
        listing["skipped"] == [{"source": "drawing.svg", "reason": listing["skipped"][0]["reason"]}]
        and ".pdf" in listing["skipped"][0]["reason"]
    )


def test_answers_and_passages_carry_page_and_location(client: TestClient) -> None:
    body = client.post("/v1/ask", json={"question": "How deep was the north basin dredged in June?", "top_k": 5}).json()
    by_doc = [p for p in body["passages"] if p["doc_id"] == "harbour"]
    assert by_doc, body
    for p in body["passages"]:
        assert {"page", "page_end", "location", "ocr"} <= set(p)
    june = next(p for p in by_doc if "June" in p["text"])
    doc = client.get("/v1/documents/harbour").json()
    on = [pg["number"] for pg in doc["pages"] if pg["start"] < june["end"] and june["start"] < pg["end"]]
    assert 2 in on and (june["page"], june["page_end"]) == (on[0], on[-1])
    assert june["location"] == ("p. 2" if on == [2] else f"pp. {on[0]}–{on[-1]}") and june["ocr"] is False


def test_uploads_unknown_type_415_unreadable_422_office_201(client: TestClient) -> None:
    r = client.post("/v1/documents", headers=AUTH, files={"file": ("plan.key", b"PK\x03\x04")})
    assert r.status_code == 415 and ".docx" in r.json()["detail"] and ".pptx" in r.json()["detail"]
    r = client.post("/v1/documents", headers=AUTH, files={"file": ("plan.xlsx", b"PK\x03\x04 damaged")})
    assert r.status_code == 422 and "Excel" in r.json()["detail"]
    data = ff.xlsx_file()
    r = client.post("/v1/documents", headers=AUTH, files={"file": ("sales.xlsx", data)})
    assert r.status_code == 201, r.text
    doc = client.get("/v1/documents/sales").json()
    assert doc["type"] == "xlsx" and [p["label"] for p in doc["pages"]] == ["sheet Notes", "sheet Sales"]
    r = client.get("/v1/documents/sales/file")  # the upload, kept in the folder citeqa owns
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert r.content == data


def test_qa_index_ends_with_a_summary_of_skipped_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import index.embed
    from cli.main import main

    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "ports.csv").write_bytes(ff.csv_file())
    (corpus / "notes.txt").write_bytes("Notas: café de Cobán".encode("utf-16"))
    (corpus / "photo.heic").write_bytes(b"\x00\x00\x00\x18ftypheic")
    (corpus / "broken.pptx").write_bytes(b"PK\x03\x04")
    monkeypatch.setattr(index.embed, "load_embedder", lambda name=None: FakeEmbedder())
    assert main(["index", "--corpus", str(corpus), "--index", str(tmp_path / "ix"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "indexed 2 documents" in out
    summary = out[out.index("skipped 2 files") :]
    assert "broken.pptx: could not read the PowerPoint file" in summary
    assert "photo.heic: unsupported file type '.heic'" in summary

"""A corpus folder with subfolders, as a user keeps a real pile of documents: every file below it is indexed, a
file's `source` is its path inside the folder, same-named files in different folders are different documents,
and hidden folders and an index kept inside the corpus are left out."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import ApiConfig
from index.documents import MAX_ID, corpus_files, doc_id_for, read_corpus
from index.embed import Embedder
from qa.engine import Engine, Settings, sync
from tests.conftest import FakeEmbedder

FILES = {
    "notice.md": "# Pool notice\n\nThe Harmon Street pool closes on 3 June for tile repairs.\n",
    "minutes/2024/summary.md": (
        "# Board summary 2024\n\nThe board approved a budget of $2.1 million for road resurfacing in 2024.\n"
    ),
    "minutes/2025/summary.md": (
        "# Board summary 2025\n\nThe board hired Odile Varga as the new parks director in March 2025.\n"
    ),
    "minutes/2025/attachments/letter.txt": "Residents of Quarry Lane asked for a crosswalk near the school.\n",
    ".drafts/unfinished.md": "This draft mentions a secret zeppelin hangar.\n",
    "minutes/.cache/note.md": "A cached note about the zeppelin hangar.\n",
}


def write_corpus(root: Path) -> Path:
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_every_file_below_the_folder_is_listed_by_its_path_inside_it(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "index-here").mkdir()
    (corpus / "index-here" / "citeqa.db").write_bytes(b"SQLite format 3\x00")
    names = [n for n, _ in corpus_files(corpus, skip=corpus / "index-here")]
    assert names == [
        "minutes/2024/summary.md",
        "minutes/2025/attachments/letter.txt",
        "minutes/2025/summary.md",
        "notice.md",
    ]
    (corpus / "metadata.json").write_text('{"minutes/2025/summary.md": {"date": "2025-03-20"}}', encoding="utf-8")
    docs, warnings = read_corpus(corpus)  # no index named here: its files are reported, not indexed
    assert [w.split(":")[0] for w in warnings] == ["skipped index-here/citeqa.db"]
    by_id = {d.doc_id: d for d in docs}
    assert by_id["minutes-2025-summary"].metadata["date"] == "2025-03-20"  # the sidecar names a file by its path
    assert by_id["minutes-2024-summary"].source == "minutes/2024/summary.md"
    assert by_id["minutes-2025-summary"].source == "minutes/2025/summary.md"
    assert by_id["notice"].source == "notice.md"  # a top-level file keeps the id it always had


def test_qa_index_keeps_nested_documents_apart_and_follows_moves(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    settings = Settings(corpus=corpus, index=corpus / "index-here")  # an index kept inside the corpus folder
    emb = FakeEmbedder()
    r = sync(settings, emb)
    assert sorted(r.embedded) == [
        "minutes-2024-summary",
        "minutes-2025-attachments-letter",
        "minutes-2025-summary",
        "notice",
    ]
    assert r.warnings == []  # the index's own files are not read as documents
    again = sync(settings, emb, store=r.store)
    assert again.embedded == [] and again.removed == [] and again.unchanged == 4
    shutil.move(str(corpus / "minutes" / "2024"), str(corpus / "archive-2024"))
    moved = sync(settings, emb, store=r.store)
    assert moved.embedded == ["archive-2024-summary"] and moved.removed == ["minutes-2024-summary"]
    engine = Engine.open(settings, embedder=emb, store=r.store)
    assert engine.original("archive-2024-summary") == corpus / "archive-2024" / "summary.md"


def test_deleting_a_nested_document_keeps_the_file_and_keeps_it_out(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    settings = Settings(corpus=corpus, index=tmp_path / ".citeqa")
    engine = Engine.open(settings, build_if_missing=True, embedder=FakeEmbedder())
    engine.delete("minutes-2025-summary")
    assert (corpus / "minutes" / "2025" / "summary.md").is_file()
    r = sync(settings, engine.embedder, store=engine.store)
    assert r.embedded == [] and "minutes-2025-summary" not in {d["doc_id"] for d in engine.list_documents()}
    assert engine.skipped() == []


def test_a_damaged_nested_file_is_reported_by_its_path(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "minutes" / "2025" / "scan.pdf").write_bytes(b"%PDF-1.4 broken")
    settings = Settings(corpus=corpus, index=tmp_path / ".citeqa")
    r = sync(settings, FakeEmbedder())
    assert any(w.startswith("skipped minutes/2025/scan.pdf: ") for w in r.warnings)
    engine = Engine.open(settings, embedder=FakeEmbedder(), store=r.store)
    assert [s.source for s in engine.skipped()] == ["minutes/2025/scan.pdf"]


@pytest.mark.slow
def test_a_question_is_answered_from_a_nested_file_and_its_original_is_served(
    tmp_path: Path, real_embedder: Embedder
) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    engine = Engine.open(
        Settings(corpus=corpus, index=tmp_path / ".citeqa"), build_if_missing=True, embedder=real_embedder
    )
    with TestClient(create_app(engine, ApiConfig())) as client:
        body = client.post("/v1/ask", json={"question": "Who is the new parks director?"}).json()
        assert body["answered"] and body["answer"]["doc_id"] == "minutes-2025-summary"
        assert body["answer"]["span"]["text"] == "Odile Varga"
        doc = client.get("/v1/documents/minutes-2025-summary").json()
        assert doc["source"] == "minutes/2025/summary.md"
        r = client.get("/v1/documents/minutes-2025-summary/file")
        assert r.status_code == 200 and r.content == (corpus / "minutes/2025/summary.md").read_bytes()
        hidden = client.post("/v1/ask", json={"question": "Where is the zeppelin hangar?"}).json()
        assert all(p["doc_id"] not in ("unfinished", "note") for p in hidden["passages"])


def test_a_deep_path_gets_a_short_distinct_id() -> None:
    deep = "/".join(f"folder-{i:03d}" for i in range(40))
    a, b = doc_id_for(f"{deep}/a/report.pdf"), doc_id_for(f"{deep}/b/report.pdf")
    assert a != b and len(a) <= MAX_ID and len(b) <= MAX_ID and a.endswith("a-report")

"""The saved index: round trip, incremental rebuilds, refusal of mismatched indexes, atomic writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from index import storage
from index.build import build, chunking_manifest
from index.chunk import ChunkParams
from index.documents import read_corpus
from index.errors import IndexCorrupt, IndexMismatch, IndexMissing
from qa.engine import Settings, sync
from tests.conftest import FakeEmbedder


def test_save_load_round_trip(default_corpus: Path, tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    docs, _ = read_corpus(default_corpus)
    index, embedded = build(docs, fake_embedder)
    assert sorted(embedded) == sorted(d.doc_id for d in docs)
    storage.save(index, tmp_path / "idx")
    loaded = storage.load(tmp_path / "idx", fake_embedder.identity(), chunking_manifest(ChunkParams()))
    assert loaded.chunks == index.chunks and loaded.sentences == index.sentences
    assert np.array_equal(loaded.chunk_vectors, index.chunk_vectors)
    assert loaded.lexical.tokens == index.lexical.tokens
    assert {d: x.text for d, x in loaded.documents.items()} == {d: x.text for d, x in index.documents.items()}
    m = json.loads((storage.live_generation(tmp_path / "idx") / "manifest.json").read_text())
    assert m["embedder"]["model"] == "fake-hash" and m["embedder"]["dim"] == 64
    assert set(m["documents"]) == {d.doc_id for d in docs} and m["corpus_hash"]
    assert m["chunking"]["max_words"] == ChunkParams().max_words
    assert "numpy" in m["versions"]


def test_rebuild_embeds_only_changed_documents(default_corpus: Path, tmp_path: Path) -> None:
    settings = Settings(corpus=default_corpus, index=tmp_path / "idx")
    emb = FakeEmbedder()
    _, embedded, _ = sync(settings, emb)
    assert len(embedded) == 5
    first = emb.texts_embedded

    _, embedded, _ = sync(settings, emb)
    assert embedded == [] and emb.texts_embedded == first

    path = default_corpus / "landau-arevalo-migration-drug-trafficking.txt"
    path.write_text(path.read_text() + "\nA new closing sentence about regional cooperation was added.\n")
    (default_corpus / "extra.txt").write_text("An extra note about coffee exports from Guatemala in 2024.")
    (default_corpus / "us-strategy-for-central-america.txt").unlink()
    index, embedded, _ = sync(settings, emb)
    assert sorted(embedded) == ["extra", "landau-arevalo-migration-drug-trafficking"]
    assert "us-strategy-for-central-america" not in index.documents
    reloaded = storage.load(settings.index)
    for row, c in enumerate(reloaded.chunks):  # reused rows still point at the right text and vector
        assert reloaded.documents[c.doc_id].text[c.start : c.end]
        assert np.allclose(reloaded.chunk_vectors[row], index.chunk_vectors[row])


def test_index_built_with_another_model_is_refused(default_corpus: Path, tmp_path: Path) -> None:
    settings = Settings(corpus=default_corpus, index=tmp_path / "idx")
    sync(settings, FakeEmbedder(dim=64))
    with pytest.raises(IndexMismatch, match="qa index"):
        storage.load(settings.index, FakeEmbedder(dim=32).identity(), chunking_manifest(ChunkParams()))
    with pytest.raises(IndexMismatch, match="qa index"):
        storage.load(settings.index, FakeEmbedder().identity(), chunking_manifest(ChunkParams(max_words=50)))
    # a rebuild with the other model re-embeds everything and then loads
    _, embedded, _ = sync(settings, FakeEmbedder(dim=32))
    assert len(embedded) == 5


def test_missing_and_corrupt_indexes_name_the_fix(default_corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(IndexMissing, match="qa index"):
        storage.load(tmp_path / "none")
    settings = Settings(corpus=default_corpus, index=tmp_path / "idx")
    sync(settings, FakeEmbedder())
    gen = storage.live_generation(settings.index)
    chunks = gen / "chunks.jsonl"
    chunks.write_text("\n".join(chunks.read_text().splitlines()[:-3]) + "\n")  # truncated
    with pytest.raises(IndexCorrupt, match="qa index"):
        storage.load(settings.index)
    (gen / "chunk_vectors.npy").write_bytes(b"garbage")
    with pytest.raises(IndexCorrupt, match="qa index"):
        storage.load(settings.index)
    (settings.index / "CURRENT").write_text("gen-0\n")
    with pytest.raises(IndexCorrupt, match="qa index"):
        storage.load(settings.index)


def test_a_save_that_dies_half_way_leaves_the_previous_index_live(
    default_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(corpus=default_corpus, index=tmp_path / "idx")
    before, _, _ = sync(settings, FakeEmbedder())
    (default_corpus / "extra.txt").write_text("Coffee exports from Guatemala grew in 2024, a new report says.")

    real_save = np.save
    calls = {"n": 0}

    def dying_save(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        real_save(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(np, "save", dying_save)
    with pytest.raises(OSError, match="disk full"):
        sync(settings, FakeEmbedder())
    monkeypatch.setattr(np, "save", real_save)

    after = storage.load(settings.index)
    assert set(after.documents) == set(before.documents) and "extra" not in after.documents
    index, embedded, _ = sync(settings, FakeEmbedder())
    assert embedded == ["extra"] and "extra" in index.documents
    leftovers = [p.name for p in settings.index.iterdir() if p.name.startswith((".tmp-", "gen-"))]
    assert leftovers == [storage.live_generation(settings.index).name]


def test_index_folder_copy_is_self_contained(default_corpus: Path, tmp_path: Path) -> None:
    settings = Settings(corpus=default_corpus, index=tmp_path / "idx")
    sync(settings, FakeEmbedder())
    shutil.copytree(settings.index, tmp_path / "copy")
    shutil.rmtree(default_corpus)
    loaded = storage.load(tmp_path / "copy")
    assert len(loaded.documents) == 5  # texts live in the index: citations resolve without the corpus

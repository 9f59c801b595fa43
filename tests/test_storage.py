"""The local store on disk: round trip, incremental `qa index`, refusal of mismatched or old indexes, writes that
fail half-way, exclusions, paging, and the per-write cost (a spy on the lexical and vector layers)."""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from index.build import chunking_manifest, prepare
from index.chunk import ChunkParams
from index.documents import read_corpus
from index.errors import IndexMismatch, IndexMissing, StorageFull
from index.local_store import LocalStore
from qa.engine import Engine, Settings, sync
from tests.conftest import FakeEmbedder


def open_store(root: Path, emb: FakeEmbedder, **kw: object) -> LocalStore:
    return LocalStore.open(root, emb.identity(), chunking_manifest(ChunkParams()), **kw)  # type: ignore[arg-type]


def test_round_trip(default_corpus: Path, tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    docs, _ = read_corpus(default_corpus)
    prepared = prepare(docs, fake_embedder)
    store = open_store(tmp_path / "idx", fake_embedder, create=True)
    store.put(prepared)
    again = open_store(tmp_path / "idx", fake_embedder)
    for p in prepared:
        d = again.document(p.document.doc_id)
        assert (d.text, d.title, d.source, d.metadata) == (
            p.document.text,
            p.document.title,
            p.document.source,
            p.document.metadata,
        )
    assert again.counts() == {"documents": 5, "chunks": sum(len(p.chunks) for p in prepared)}
    m = again.manifest()
    assert m["embedder"]["model"] == "fake-hash" and m["embedder"]["dim"] == 64
    assert m["chunking"]["max_words"] == ChunkParams().max_words
    q = prepared[0].chunk_vectors[0]
    top = again.candidates(q, [], 1)[0]
    assert top.chunk.doc_id == prepared[0].document.doc_id and top.dense == pytest.approx(1.0, abs=1e-5)
    assert top.chunk.text == prepared[0].document.text[top.chunk.start : top.chunk.end]
    sents = again.sentences([top.chunk.chunk_id])[top.chunk.chunk_id]
    s0, s1 = prepared[0].chunks[0][2:]
    assert [(s.start, s.end) for s in sents] == [x[:2] for x in prepared[0].sentences[s0:s1]]
    assert sents[0].vector is not None and np.allclose(
        sents[0].vector, prepared[0].sentence_vectors[s0], atol=2e-3
    )  # float16 on disk
    assert again.vocabulary()["guatemala"] > 0


def test_qa_index_embeds_only_changed_documents(default_corpus: Path, tmp_path: Path) -> None:
    settings = Settings(corpus=default_corpus, index=tmp_path / "idx")
    emb = FakeEmbedder()
    assert len(sync(settings, emb).embedded) == 5
    first = emb.texts_embedded
    r = sync(settings, emb)
    assert r.embedded == [] and r.unchanged == 5 and emb.texts_embedded == first

    path = default_corpus / "landau-arevalo-migration-drug-trafficking.txt"
    path.write_text(path.read_text() + "\nA new closing sentence about regional cooperation was added.\n")
    (default_corpus / "extra.txt").write_text("An extra note about coffee exports from Guatemala in 2024.")
    (default_corpus / "us-strategy-for-central-america.txt").unlink()
    r = sync(settings, emb)
    assert sorted(r.embedded) == ["extra", "landau-arevalo-migration-drug-trafficking"]
    assert r.removed == ["us-strategy-for-central-america"] and r.documents == 5
    store = r.store
    for c in store.candidates(None, ["guatemala"], 100):  # every chunk still points at its text
        assert c.chunk.text == store.document(c.chunk.doc_id).text[c.chunk.start : c.chunk.end]
    # a touched file with the same text is read, but not split or embedded again
    path.touch()
    texts = emb.texts_embedded
    assert sync(settings, emb).embedded == [] and emb.texts_embedded == texts


def test_an_index_built_with_another_model_is_refused_then_rebuilt(default_corpus: Path, tmp_path: Path) -> None:
    settings = Settings(corpus=default_corpus, index=tmp_path / "idx")
    sync(settings, FakeEmbedder(dim=64))
    with pytest.raises(IndexMismatch, match="qa index"):
        open_store(settings.index, FakeEmbedder(dim=32))
    with pytest.raises(IndexMismatch, match="qa index"):
        LocalStore.open(settings.index, FakeEmbedder().identity(), chunking_manifest(ChunkParams(max_words=50)))
    r = sync(settings, FakeEmbedder(dim=32))  # `qa index` with the other model rebuilds, then it opens
    assert len(r.embedded) == 5 and any("not reused" in w for w in r.warnings)
    assert open_store(settings.index, FakeEmbedder(dim=32)).counts()["documents"] == 5


def test_an_index_with_vectors_made_another_way_is_refused(
    default_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.build as build

    settings = Settings(corpus=default_corpus, index=tmp_path / "idx")
    monkeypatch.setattr(build, "SENTENCE_VECTORS", "late")
    sync(settings, FakeEmbedder())
    monkeypatch.setattr(build, "SENTENCE_VECTORS", "sentences")  # CITEQA_SENTENCE_VECTORS changed
    with pytest.raises(IndexMismatch, match="sentence_vectors.*qa index"):
        open_store(settings.index, FakeEmbedder())
    sync(settings, FakeEmbedder())
    monkeypatch.setattr(build, "VECTORS_VERSION", build.VECTORS_VERSION - 1)  # an index of an older pooling
    with pytest.raises(IndexMismatch, match="vectors_version.*qa index"):
        open_store(settings.index, FakeEmbedder())
    monkeypatch.setattr(build, "SENTENCE_VECTORS", "separate")  # whose vectors did not change: no rebuild asked
    assert "vectors_version" not in build.chunking_manifest(ChunkParams())


def test_missing_and_old_format_indexes_name_the_fix(default_corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(IndexMissing, match="qa index"):
        open_store(tmp_path / "none", FakeEmbedder())
    old = tmp_path / "old"
    (old / "gen-1").mkdir(parents=True)
    (old / "CURRENT").write_text("gen-1\n")
    with pytest.raises(IndexMissing, match="older format.*qa index"):
        open_store(old, FakeEmbedder())
    r = sync(Settings(corpus=default_corpus, index=old), FakeEmbedder())
    assert r.documents == 5 and not (old / "CURRENT").exists() and not (old / "gen-1").exists()


def test_a_full_disk_changes_nothing(default_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOSPC in the middle of a write (simulated at SQLite's insert): a domain error, nothing half-written."""
    settings = Settings(corpus=default_corpus, index=tmp_path / "idx")
    emb = FakeEmbedder()
    store = sync(settings, emb).store
    gen, counts = store.generation(), store.counts()
    (default_corpus / "extra.txt").write_text("Coffee exports from Guatemala grew in 2024, a new report says.")
    real = store.rows.insert

    def full(*a: object, **kw: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store.rows, "insert", full)
    with pytest.raises(StorageFull, match="full"):
        sync(settings, emb, store=store)
    assert store.generation() == gen and store.counts() == counts
    monkeypatch.setattr(store.rows, "insert", real)
    leftovers = [p.name for p in settings.index.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    assert sync(settings, emb, store=store).embedded == ["extra"]


def test_an_upload_file_that_cannot_be_written_changes_nothing(
    default_engine_fake: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = default_engine_fake
    before = (engine.store.generation(), engine.list_documents())
    import qa.engine as eng

    real_replace = eng.os.replace

    def no_space(*a: object, **kw: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(eng.os, "replace", no_space)
    with pytest.raises(StorageFull):
        engine.add(b"Tikal rangers counted 312 howler monkeys in the 2022 canopy census.", "tikal.txt")
    monkeypatch.setattr(eng.os, "replace", real_replace)
    assert (engine.store.generation(), engine.list_documents()) == before
    assert not (engine.uploads.is_dir() and list(engine.uploads.iterdir()))


def test_deleting_a_corpus_document_keeps_the_users_file_and_keeps_it_out(default_engine_fake: Engine) -> None:
    engine = default_engine_fake
    path = engine.settings.corpus / "landau-arevalo-migration-drug-trafficking.txt"
    engine.delete("landau-arevalo-migration-drug-trafficking")
    assert path.is_file()  # the user's file is theirs
    r = sync(engine.settings, engine.embedder, store=engine.store)
    assert r.embedded == [] and "landau-arevalo-migration-drug-trafficking" not in {
        d["doc_id"] for d in engine.list_documents()
    }


def test_documents_page_in_id_order(default_engine_fake: Engine) -> None:
    engine = default_engine_fake
    everything = engine.list_documents()
    ids = [d["doc_id"] for d in everything]
    assert ids == sorted(ids) and len(ids) == 5
    total, page = engine.page(1, 2)
    assert total == 5 and [d["doc_id"] for d in page] == ids[1:3]
    assert engine.page(5, 2) == (5, [])
    assert {d["origin"] for d in everything} == {"corpus"} and {d["type"] for d in everything} == {"txt"}


def test_one_write_touches_only_its_document(default_engine_fake: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-write cost: the lexical index is given only the new document's chunks, the vector layer reads only
    the new rows, and nothing corpus-sized (a merge, a full read of the vectors) runs."""
    engine = default_engine_fake
    store = engine.store
    assert isinstance(store, LocalStore)  # its layers are spied on below
    seen: dict[str, list[object]] = {"lexical": [], "dense_rows": [], "merge": []}
    real_apply, real_vectors = store.lexical.apply, store.rows.vectors_where

    def spy_apply(gen: int, removed: object, added: list[tuple[int, str, str]]) -> None:
        seen["lexical"].append((list(removed), {d for _, d, _ in added}))  # type: ignore[call-overload]
        real_apply(gen, removed, added)  # type: ignore[arg-type]

    def spy_vectors(where: str, args: object, con: object = None) -> tuple[np.ndarray, np.ndarray]:
        ids, vecs = real_vectors(where, args, con)  # type: ignore[arg-type]
        seen["dense_rows"].append(len(ids))
        return ids, vecs

    monkeypatch.setattr(store.lexical, "apply", spy_apply)
    monkeypatch.setattr(store.rows, "vectors_where", spy_vectors)
    monkeypatch.setattr(store.dense, "merge", lambda *a, **k: seen["merge"].append(1))
    doc, _ = engine.add(b"Tikal rangers counted 312 howler monkeys in the 2022 canopy census.", "tikal.txt")
    new_chunks = store.counts()["chunks"]
    assert seen["lexical"] == [(["tikal"], {"tikal"})]
    assert seen["dense_rows"] == [1] and new_chunks > 1
    engine.delete(doc.doc_id)
    assert seen["lexical"][-1] == (["tikal"], set())
    assert seen["dense_rows"][-1] == 0 and seen["merge"] == []


def test_index_folder_copy_is_self_contained(default_corpus: Path, tmp_path: Path) -> None:
    settings = Settings(corpus=default_corpus, index=tmp_path / "idx")
    sync(settings, FakeEmbedder())
    shutil.copytree(settings.index, tmp_path / "copy")
    shutil.rmtree(default_corpus)
    assert open_store(tmp_path / "copy", FakeEmbedder()).counts()["documents"] == 5  # texts live in the index


def test_piled_up_writes_are_merged_in_the_background(
    default_engine_fake: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.dense

    engine = default_engine_fake
    monkeypatch.setattr(index.dense, "DELTA_MIN", 0)
    monkeypatch.setattr(index.dense, "DELTA_SHARE", 0.0)
    doc, _ = engine.add(b"Tikal rangers counted 312 howler monkeys in the 2022 canopy census.", "tikal.txt")
    assert engine._merging is not None
    engine._merging.join(timeout=60)
    d = engine.store.describe()
    assert d["delta"] == 0 and d["watermark"] == engine.store.generation()  # the new vector is in the saved structure
    assert engine.ask("How many howler monkeys did the Tikal census count?").passages[0].doc_id == doc.doc_id

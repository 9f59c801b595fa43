"""Size-aware vector stores: the type chosen from the corpus size, recall against exact search, and writes
(add, delete) through the copy-on-write Index for every type."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from index import storage
from index.build import build
from index.documents import make_document
from index.errors import CiteqaError
from index.vectors import FLAT_MAX, HNSW_MAX, AnnStore, FaissStore, choose_kind, make_store, spec_for
from tests.conftest import FakeEmbedder

KINDS = ["flat", "hnsw", "ivf"]


def clustered(n: int, dim: int = 64, centers: int = 40, seed: int = 0) -> np.ndarray:
    """Unit vectors around a few centres: neighbours are meaningful, like real embeddings."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centers, dim))
    x = c[rng.integers(0, centers, n)] + 0.6 * rng.normal(size=(n, dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def exact_top(x: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(x @ q))[:k]


def test_kind_follows_corpus_size_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CITEQA_VECTOR_INDEX", raising=False)
    assert choose_kind(0) == choose_kind(FLAT_MAX - 1) == "flat"
    assert choose_kind(FLAT_MAX) == choose_kind(HNSW_MAX - 1) == "hnsw"
    assert choose_kind(HNSW_MAX) == choose_kind(10_000_000) == "ivf"
    assert spec_for(1_000_000)["storage"] == "pq" and spec_for(1_000_000)["nlist"] <= 2048
    monkeypatch.setenv("CITEQA_VECTOR_INDEX", "hnsw")
    assert choose_kind(10) == "hnsw"
    monkeypatch.setenv("CITEQA_VECTOR_INDEX", "annoy")
    with pytest.raises(CiteqaError, match="CITEQA_VECTOR_INDEX"):
        choose_kind(10)


@pytest.mark.parametrize("kind", KINDS)
def test_recall_and_exact_scores(kind: str) -> None:
    x = clustered(4000)
    store = make_store(x, kind=kind)
    assert isinstance(store, FaissStore if kind == "flat" else AnnStore)
    queries = clustered(30, seed=1)
    recall = []
    for q in queries:
        scores, rows = store.search(q, 10)
        assert len(rows) == 10 and list(scores) == sorted(scores, reverse=True)
        assert np.allclose(scores, x[rows] @ q, atol=1e-5)  # scores are exact cosines for every type
        recall.append(len(set(rows) & set(exact_top(x, q, 10))) / 10)
    assert np.mean(recall) >= (1.0 if kind == "flat" else 0.9)
    allowed = np.arange(100, 200)
    _, rows = store.search(queries[0], 5, rows=allowed)  # a document filter is exact over its rows
    assert set(rows) <= set(allowed) and list(rows) == list(allowed[exact_top(x[allowed], queries[0], 5)])


def _docs(n: int) -> list:
    words = "coffee exports migration border trade tariffs rainfall harvest election court police schools".split()
    rng = np.random.default_rng(3)
    docs = []
    for i in range(n):
        text = " ".join(
            " ".join(rng.choice(words, 9)).capitalize() + f" item{i}x{j}." for j in range(12)
        )
        docs.append(make_document(text.encode(), f"doc{i:02d}.txt", {"title": f"Doc {i}"}))
    return docs


@pytest.mark.parametrize("kind", KINDS)
def test_add_and_delete_for_every_type(kind: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CITEQA_VECTOR_INDEX", kind)
    emb = FakeEmbedder()
    docs = _docs(30)
    first, _ = build(docs[:29], emb)
    assert first.store.describe()["index"].startswith("flat" if kind == "flat" else kind)

    gone = docs[3].doc_id
    after_delete, _ = build([d for d in docs[:29] if d.doc_id != gone], emb, previous=first)
    after_add, _ = build([d for d in docs if d.doc_id != gone], emb, previous=after_delete)
    for index in (after_delete, after_add):
        store = index.store
        assert store.count() == len(index.chunks)
        for row in range(0, len(index.chunks), 7):  # every chunk is found by its own vector, none of `gone`
            _, rows = store.search(index.chunk_vectors[row], 10)
            assert row in rows
            assert all(index.chunks[r].doc_id != gone for r in rows)
    new_rows = range(after_add.spans[docs[29].doc_id].c0, after_add.spans[docs[29].doc_id].c1)
    assert all(r in after_add.store.search(after_add.chunk_vectors[r], 3)[1] for r in new_rows)
    if kind != "flat":  # the structure was shared, not rebuilt: the deletion masked, the addition in the delta
        d = after_add.store.describe()
        assert d["masked"] == first.spans[gone].c1 - first.spans[gone].c0
        assert d["delta"] == len(new_rows)

    storage.save(after_add, tmp_path / "idx")
    manifest = json.loads((storage.live_generation(tmp_path / "idx") / "manifest.json").read_text())
    assert manifest["vector_index"]["type"] == kind


class RolledEmbedder(FakeEmbedder):
    """Same shape as FakeEmbedder, other vectors (stands for another backend)."""

    def embed_batch(self, texts):  # type: ignore[no-untyped-def]
        return np.roll(super().embed_batch(texts), 1, axis=1)


def test_no_sharing_between_different_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITEQA_VECTOR_INDEX", "hnsw")
    docs = _docs(6)
    a, _ = build(docs, FakeEmbedder())
    assert a.store.describe()["masked"] == 0
    b, _ = build(docs[:5], RolledEmbedder())  # same documents and ids, other vectors: built fresh, not shared
    assert b.store.describe()["masked"] == 0 and b.store.describe()["vectors"] == len(b.chunks)
    c, _ = build(docs[:5], FakeEmbedder(), previous=a)  # same vectors: shared, the deleted one masked
    assert c.store.describe()["masked"] == a.spans[docs[5].doc_id].c1 - a.spans[docs[5].doc_id].c0


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_structure_saved_and_read_back(kind: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CITEQA_VECTOR_INDEX", kind)
    emb = FakeEmbedder()
    docs = _docs(12)
    first, _ = build(docs, emb)
    assert first.store.count() == len(first.chunks)
    index, _ = build(docs[1:], emb, previous=first)  # a shared structure with masked rows
    storage.save(index, tmp_path / "idx")
    gen = storage.live_generation(tmp_path / "idx")
    assert (gen / "vector_index.faiss").is_file()
    loaded = storage.load(tmp_path / "idx")
    assert "store" in loaded.__dict__  # read, not rebuilt
    assert loaded.store.describe()["masked"] == index.store.describe()["masked"] > 0
    for row in range(0, len(index.chunks), 5):
        assert list(loaded.store.search(index.chunk_vectors[row], 5)[1]) == list(index.store.search(index.chunk_vectors[row], 5)[1])

    (gen / "vector_index.faiss").write_bytes(b"not a faiss index")  # damaged: rebuilt lazily, answers the same
    again = storage.load(tmp_path / "idx")
    assert "store" not in again.__dict__
    assert again.chunks[int(again.store.search(index.chunk_vectors[0], 1)[1][0])] == index.chunks[0]

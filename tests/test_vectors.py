"""Size-aware vector stores: the type chosen from the corpus size, recall against exact search, and writes
(add, delete) through the local store's saved structure + delta + mask for every type."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.build import chunking_manifest, prepare
from index.chunk import ChunkParams
from index.documents import make_document
from index.errors import CiteqaError
from index.local_store import LocalStore
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
        text = " ".join(" ".join(rng.choice(words, 9)).capitalize() + f" item{i}x{j}." for j in range(12))
        docs.append(make_document(text.encode(), f"doc{i:02d}.txt", {"title": f"Doc {i}"}))
    return docs


def _store(root: Path, emb: FakeEmbedder) -> LocalStore:
    return LocalStore.open(root, emb.identity(), chunking_manifest(ChunkParams()), create=True)


def _own_vectors(store: LocalStore) -> dict[int, tuple[str, np.ndarray]]:
    rows = store.rows.con().execute("SELECT id, doc_id, vec FROM chunks").fetchall()
    return {int(i): (d, np.frombuffer(v, np.float32)) for i, d, v in rows}


@pytest.mark.parametrize("kind", KINDS)
def test_add_and_delete_for_every_type(kind: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The saved structure is never rebuilt per write: a deletion is masked, an addition lives in the delta."""
    monkeypatch.setenv("CITEQA_VECTOR_INDEX", kind)
    emb = FakeEmbedder()
    docs = _docs(30)
    store = _store(tmp_path / "idx", emb)
    store.put(prepare(docs[:29], emb))
    store.merge()
    d = store.describe()
    assert d["index"].startswith(kind) and d["delta"] == 0 and d["masked"] == 0
    gone = docs[3].doc_id
    before = store.counts()["chunks"]
    store.remove([gone])
    gone_chunks = before - store.counts()["chunks"]
    store.put(prepare([docs[29]], emb))
    d = store.describe()
    assert d["masked"] == gone_chunks > 0 and d["delta"] == store.counts()["chunks"] - (before - gone_chunks)
    assert list((tmp_path / "idx" / "vectors").glob("*.faiss")) and d["watermark"] < store.generation()
    for index in (store, _store(tmp_path / "idx", emb)):  # and after a reopen, from the saved structure + delta
        own = _own_vectors(index)
        for cid, (_doc, vec) in list(own.items())[::5] + [x for x in own.items() if x[1][0] == docs[29].doc_id]:
            found = index.dense.search(vec, 10)
            assert cid in found[:10] if kind == "flat" else cid in found
            assert all(own[int(f)][0] != gone for f in found if int(f) in own)
            assert all(int(f) in own for f in found)  # nothing of the deleted document comes back


def test_a_damaged_structure_costs_time_never_an_answer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CITEQA_VECTOR_INDEX", "hnsw")
    emb = FakeEmbedder()
    store = _store(tmp_path / "idx", emb)
    store.put(prepare(_docs(12), emb))
    store.merge()
    for f in (tmp_path / "idx" / "vectors").glob("*.faiss"):
        f.write_bytes(b"not a faiss index")
    again = _store(tmp_path / "idx", emb)
    assert again.describe()["delta"] == again.counts()["chunks"]  # every vector read from the rows, exact
    for cid, (_, vec) in _own_vectors(again).items():
        assert again.dense.search(vec, 1)[0] == cid


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_an_approximate_structure_rescores_its_candidates_from_its_float16_rows(
    kind: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The store reads only the k passages it keeps: the structure's candidates are rescored from `<W>.f16.npy`."""
    monkeypatch.setenv("CITEQA_VECTOR_INDEX", kind)
    emb = FakeEmbedder()
    store = _store(tmp_path / "idx", emb)
    store.put(prepare(_docs(30), emb))
    store.merge()
    w = store.describe()["watermark"]
    assert (tmp_path / "idx" / "vectors" / f"{w}.f16.npy").is_file()
    monkeypatch.setenv("CITEQA_VECTOR_INDEX", "flat")  # the size rule now says flat: the saved structure is what it is
    for index in (store, _store(tmp_path / "idx", emb)):
        assert index.describe()["index"].startswith(kind)
        own = _own_vectors(index)
        ids = np.array(list(own))
        mat = np.stack([v for _, v in own.values()])
        for cid, (_doc, vec) in list(own.items())[::7]:
            found = index.dense.search(vec, 5)
            assert len(found) <= 5 and found[0] == cid  # its own vector first, and no more than k
            exact = ids[np.argsort(-(mat @ vec), kind="stable")]
            assert set(found[:3]) <= set(exact[:8])  # the order is cosine order (to float16), not the codes'

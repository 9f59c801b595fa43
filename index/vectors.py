"""Vector search behind one interface, sized to the corpus.

`make_store(vectors)` picks the index type from the number of chunk vectors (`spec_for`), unless
CITEQA_VECTOR_INDEX=flat|hnsw|ivf says otherwise:
    flat   exact inner product (cosine on unit rows)              while n < FLAT_MAX
    hnsw   HNSW graph over 8-bit scalar-quantised vectors          up to HNSW_MAX
    ivf    inverted lists over product-quantised codes (IVF-PQ)    beyond (IVF-SQ8 when too small to train PQ)
The approximate types fetch `refine` x k candidates and re-score them with the exact float32 rows held beside
them, so their scores are exact cosines and only the candidate set is approximate.

These are the building blocks (`spec_for`, `build_ann`, `_one_thread`) the local store's vector layer
(index/dense.py: saved structure + exact delta + deletion mask, merged off the write path) is made of, and
the in-memory stores the scale benchmark measures.
"""

from __future__ import annotations

import contextlib
import importlib
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

import numpy as np

FLAT_MAX = 50_000
HNSW_MAX = 1_000_000  # 100k documents (545,839 passages): HNSW 2.7 ms a search against IVF-PQ's 13.7 ms (CPU, p50)
KINDS = ("flat", "hnsw", "ivf")


class VectorStore(ABC):
    @abstractmethod
    def search(self, query: np.ndarray, k: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows) of the k nearest chunk rows, best first; `rows` restricts the search."""

    @abstractmethod
    def count(self) -> int: ...

    @abstractmethod
    def describe(self) -> dict[str, Any]: ...


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """A single query runs on the calling thread alone: with an OpenMP team per query, concurrent requests
    on 2 cores oversubscribe and wait on each other (measured 2.5x slower under load). Restored after, so
    builds keep every core."""
    faiss: Any = importlib.import_module("faiss")

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, np.float32), np.zeros(0, np.int64)


def _exact(vectors: np.ndarray, q: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k among `rows` (a document filter, a delta, or refined candidates)."""
    if not len(rows) or k <= 0:
        return _empty()
    scores = vectors[rows] @ q
    k = min(k, len(rows))
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return scores[top].astype(np.float32), np.asarray(rows, dtype=np.int64)[top]


def choose_kind(n: int, override: str | None = None) -> str:
    from index.errors import CiteqaError
    from index.settings import Settings

    kind = (override or Settings.from_env().vector_index).strip().lower()
    if kind == "auto":
        return "flat" if n < FLAT_MAX else "hnsw" if n < HNSW_MAX else "ivf"
    if kind not in KINDS:
        raise CiteqaError(f"CITEQA_VECTOR_INDEX={kind!r} is not one of auto, {', '.join(KINDS)}")
    return kind


def spec_for(n: int, dim: int = 384, kind: str | None = None) -> dict[str, Any]:
    """What would be built for n vectors, e.g. {"type": "hnsw", "storage": "sq8", "M": 32, ...}; the manifest
    records it."""
    kind = choose_kind(n, kind)
    if kind == "flat" or n == 0:
        return {"type": "flat"}
    if kind == "hnsw":
        return {"type": "hnsw", "storage": "sq8", "M": 32, "ef_construction": 64, "ef_search": 96, "refine": 4}
    nlist = 1 << max(0, round(math.log2(max(1.0, 4 * math.sqrt(n)))))
    nlist = max(1, min(2048, nlist, n // 39))
    spec: dict[str, Any] = {"type": "ivf", "nlist": nlist, "nprobe": min(nlist, max(8, nlist // 16)), "refine": 20}
    if n >= 20_000 and dim % 8 == 0:
        return {**spec, "storage": "pq", "m": dim // 8, "nbits": 8}
    return {**spec, "storage": "sq8"}


class FaissStore(VectorStore):
    """Exact search (the small-corpus default)."""

    def __init__(self, vectors: np.ndarray) -> None:
        faiss: Any = importlib.import_module("faiss")

        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.index = faiss.IndexFlatIP(self.vectors.shape[1])
        if len(self.vectors):
            self.index.add(self.vectors)

    def search(self, query: np.ndarray, k: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(query, dtype=np.float32).reshape(1, -1)
        if rows is not None:
            return _exact(self.vectors, q[0], np.asarray(rows, dtype=np.int64), k)
        k = min(k, self.index.ntotal)
        if k <= 0:
            return _empty()
        with _one_thread():
            scores, ids = self.index.search(q, k)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep].astype(np.int64)

    def count(self) -> int:
        return int(self.index.ntotal)

    def describe(self) -> dict[str, Any]:
        return {"type": "faiss", "index": "flat-ip", "vectors": self.count(), "dim": int(self.vectors.shape[1])}


def build_ann(vectors: np.ndarray, spec: dict[str, Any]) -> Any:
    """A trained, filled faiss index for `spec` (inner product); ids are row numbers of `vectors`."""
    index = empty_ann(vectors.shape[1], spec)
    index.train(np.ascontiguousarray(vectors[training_rows(len(vectors), spec)]))
    index.add(vectors)
    return index


def empty_ann(dim: int, spec: dict[str, Any]) -> Any:
    """The untrained faiss structure for `spec`: train it on the rows `training_rows` picks, then add rows
    in as many calls as suit (index/dense.py streams them from SQLite)."""
    faiss: Any = importlib.import_module("faiss")
    ip = faiss.METRIC_INNER_PRODUCT
    if spec["type"] == "hnsw":
        index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, spec["M"], ip)
        index.hnsw.efConstruction = spec["ef_construction"]
        return index
    quantizer = faiss.IndexFlatIP(dim)
    if spec["storage"] == "pq":
        index = faiss.IndexIVFPQ(quantizer, dim, spec["nlist"], spec["m"], spec["nbits"], ip)
    else:
        index = faiss.IndexIVFScalarQuantizer(quantizer, dim, spec["nlist"], faiss.ScalarQuantizer.QT_8bit, ip)
    index.cp.niter = 12  # k-means iterations for the coarse lists (faiss default 25: twice the build time)
    return index  # (faiss's wrapper keeps `quantizer` alive with the index)


def training_rows(n: int, spec: dict[str, Any]) -> np.ndarray:
    """Sorted row numbers to train on: IVF's k-means wants 40 per list (at least 20,000); the 8-bit scalar
    quantiser of HNSW only learns each dimension's range, which 100,000 rows give."""
    sample = min(n, 100_000) if spec["type"] == "hnsw" else min(n, max(spec["nlist"] * 40, 20_000))
    if sample >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, sample, replace=False))


class AnnStore(VectorStore):
    """An approximate index (shared, never mutated) + a mask of dead base ids + an exact delta of new rows.

    row_base[r] is the base id of chunk row r in the shared index, or -1 when row r lives in the delta.
    """

    def __init__(
        self, vectors: np.ndarray, spec: dict[str, Any], base: Any = None, row_base: np.ndarray | None = None
    ) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.spec = spec
        if base is None:
            base = build_ann(self.vectors, spec)
            row_base = np.arange(len(self.vectors), dtype=np.int64)
        assert row_base is not None
        self.base = base
        self.row_base = row_base
        nbase = int(base.ntotal)
        self.base_row = np.full(nbase, -1, dtype=np.int64)  # base id -> chunk row, -1 when masked
        live = row_base >= 0
        self.base_row[row_base[live]] = np.flatnonzero(live)
        self.delta = np.flatnonzero(~live).astype(np.int64)
        self.masked = int(nbase - live.sum())
        self._bitmap: np.ndarray | None = None
        if self.masked:
            self._bitmap = np.packbits(self.base_row >= 0, bitorder="little")

    def _params(self) -> Any:
        faiss: Any = importlib.import_module("faiss")

        sel = faiss.IDSelectorBitmap(len(self.base_row), faiss.swig_ptr(self._bitmap)) if self.masked else None
        if self.spec["type"] == "hnsw":
            return faiss.SearchParametersHNSW(sel=sel, efSearch=self.spec["ef_search"]), sel
        return faiss.SearchParametersIVF(sel=sel, nprobe=self.spec["nprobe"]), sel

    def search(self, query: np.ndarray, k: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(query, dtype=np.float32).reshape(1, -1)
        if rows is not None:
            return _exact(self.vectors, q[0], np.asarray(rows, dtype=np.int64), k)
        live = len(self.base_row) - self.masked
        depth = min(live, max(k, k * self.spec["refine"]))
        candidates = self.delta
        if depth > 0:
            params, _sel = self._params()  # _sel must outlive the search call
            with _one_thread():
                _, ids = self.base.search(q, depth, params=params)
            found = self.base_row[ids[0][ids[0] >= 0]]
            candidates = np.concatenate([found[found >= 0], self.delta])
        return _exact(self.vectors, q[0], candidates, k)

    def count(self) -> int:
        return len(self.vectors)

    def describe(self) -> dict[str, Any]:
        return {
            "type": "faiss",
            "index": f"{self.spec['type']}-{self.spec['storage']}",
            "vectors": self.count(),
            "dim": int(self.vectors.shape[1]),
            "params": self.spec,
            "delta": len(self.delta),
            "masked": self.masked,
        }


def make_store(vectors: np.ndarray, kind: str | None = None) -> VectorStore:
    """An in-memory store over these unit rows, of the type `spec_for` picks for their number (or `kind`)."""
    n, dim = (vectors.shape[0], vectors.shape[1]) if vectors.ndim == 2 else (0, 384)
    spec = spec_for(n, dim, kind)
    if spec["type"] == "flat":
        return FaissStore(vectors)
    return AnnStore(vectors, spec)

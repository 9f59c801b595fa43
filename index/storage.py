"""Save and load an Index as a folder of plain files, atomically.

Layout of the index folder (default `.citeqa/`, or CITEQA_INDEX):
    CURRENT                 the name of the live generation, e.g. "gen-1763791234123456789"
    gen-<ns>/manifest.json  what built it: embedder identity, chunking, one hash per document, versions
    gen-<ns>/documents.jsonl, chunks.jsonl, sentences.jsonl, tokens.jsonl
    gen-<ns>/chunk_vectors.npy, sentence_vectors.npy
A save writes a new generation beside the live one, fsyncs it, then replaces CURRENT (os.replace is atomic):
a crash at any point leaves the previous generation live. Old generations are removed after the switch.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from index.chunk import ChunkParams
from index.documents import Document, parts_from_json, parts_to_json
from index.errors import IndexCorrupt, IndexMismatch, IndexMissing
from index.lexical import Lexical
from index.model import ChunkRow, DocSpan, Index, SentenceRow
from index.vectors import load_structure, save_structure, spec_for

CURRENT = "CURRENT"
FIX = "run `qa index` to rebuild it"


def _write_jsonl(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def write_lock(root: Path) -> Iterator[None]:
    """One writer at a time per index folder, across processes."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def save(index: Index, root: str | Path) -> Path:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    gen = root / f"gen-{time.time_ns()}"
    tmp = root / f".tmp-{gen.name}"
    tmp.mkdir()
    _write_jsonl(
        tmp / "documents.jsonl",
        (
            {"doc_id": d.doc_id, "title": d.title, "source": d.source, "metadata": d.metadata, "text": d.text,
             "parts": parts_to_json(d.parts)}
            for d in index.documents.values()
        ),
    )
    _write_jsonl(tmp / "chunks.jsonl", ({"doc_id": c.doc_id, "start": c.start, "end": c.end, "s0": c.s0, "s1": c.s1} for c in index.chunks))
    _write_jsonl(
        tmp / "sentences.jsonl",
        ({"doc_id": s.doc_id, "start": s.start, "end": s.end, "heading": s.heading, "chunk": s.chunk} for s in index.sentences),
    )
    _write_jsonl(tmp / "tokens.jsonl", ({"t": t} for t in index.lexical.tokens))
    for name, arr in (("chunk_vectors.npy", index.chunk_vectors), ("sentence_vectors.npy", index.sentence_vectors)):
        np.save(tmp / name, np.ascontiguousarray(arr, dtype=np.float32))
        _fsync_file(tmp / name)
    spec = spec_for(len(index.chunks), int(index.chunk_vectors.shape[1]))
    if spec["type"] != "flat":  # the approximate structure is built now and saved, so a start-up only reads it
        for path in save_structure(index.store, tmp):
            _fsync_file(path)
    manifest = {**index.manifest, "vector_index": spec}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    _fsync_file(tmp / "manifest.json")
    _fsync_dir(tmp)
    os.replace(tmp, gen)
    pointer = root / f".{CURRENT}.tmp"
    pointer.write_text(gen.name + "\n", encoding="utf-8")
    _fsync_file(pointer)
    os.replace(pointer, root / CURRENT)
    _fsync_dir(root)
    _collect_garbage(root, keep=gen.name)
    return gen


def _collect_garbage(root: Path, keep: str) -> None:
    for child in root.iterdir():
        if child.is_dir() and child.name != keep and (child.name.startswith("gen-") or child.name.startswith(".tmp-gen-")):
            shutil.rmtree(child, ignore_errors=True)


def exists(root: str | Path) -> bool:
    return (Path(root) / CURRENT).is_file()


def live_generation(root: str | Path) -> Path:
    root = Path(root)
    pointer = root / CURRENT
    if not pointer.is_file():
        raise IndexMissing(f"no index at {root}: {FIX}")
    name = pointer.read_text(encoding="utf-8").strip()
    gen = root / name
    if not name.startswith("gen-") or not gen.is_dir():
        raise IndexCorrupt(f"the index at {root} points to a missing generation {name!r}: {FIX}")
    return gen


def read_manifest(root: str | Path) -> dict[str, Any]:
    gen = live_generation(root)
    try:
        return dict(json.loads((gen / "manifest.json").read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"the index manifest at {gen} is unreadable ({exc}): {FIX}") from exc


def check_compatible(manifest: dict[str, Any], identity: dict[str, Any] | None, chunking: dict[str, Any] | None) -> None:
    if identity is not None and manifest.get("embedder") != identity:
        raise IndexMismatch(
            f"the index was built with embedder {manifest.get('embedder')}, not the current {identity}: {FIX}"
        )
    if chunking is not None and manifest.get("chunking") != chunking:
        raise IndexMismatch(f"the index was built with chunking {manifest.get('chunking')}, not {chunking}: {FIX}")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load(root: str | Path, identity: dict[str, Any] | None = None, chunking: dict[str, Any] | None = None) -> Index:
    """Load the live generation; refuse one built with another embedder or chunking (IndexMismatch)."""
    manifest = read_manifest(root)
    check_compatible(manifest, identity, chunking)
    gen = live_generation(root)
    try:
        docs = [
            Document(r["doc_id"], r["title"], r["text"], r["source"], dict(r.get("metadata") or {}), parts_from_json(r.get("parts")))
            for r in _read_jsonl(gen / "documents.jsonl")
        ]
        chunks = tuple(ChunkRow(r["doc_id"], r["start"], r["end"], r["s0"], r["s1"]) for r in _read_jsonl(gen / "chunks.jsonl"))
        sentences = tuple(
            SentenceRow(r["doc_id"], r["start"], r["end"], r["heading"], r["chunk"]) for r in _read_jsonl(gen / "sentences.jsonl")
        )
        tokens = [list(r["t"]) for r in _read_jsonl(gen / "tokens.jsonl")]
        cvec = np.load(gen / "chunk_vectors.npy", allow_pickle=False)
        svec = np.load(gen / "sentence_vectors.npy", allow_pickle=False)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorrupt(f"the index at {gen} is damaged ({type(exc).__name__}: {exc}): {FIX}") from exc
    counts = manifest.get("counts", {})
    if not (
        len(chunks) == len(cvec) == len(tokens) == counts.get("chunks")
        and len(sentences) == len(svec) == counts.get("sentences")
        and len(docs) == counts.get("documents")
    ):
        raise IndexCorrupt(f"the index at {gen} is truncated (row counts disagree with its manifest): {FIX}")
    spans: dict[str, DocSpan] = {}
    for i, c in enumerate(chunks):
        sp = spans.get(c.doc_id)
        spans[c.doc_id] = DocSpan(sp.c0 if sp else i, i + 1, sp.s0 if sp else c.s0, max(c.s1, sp.s1 if sp else 0))
    documents = {d.doc_id: d for d in docs}
    for d in documents:
        spans.setdefault(d, DocSpan(0, 0, 0, 0))
    index = Index(manifest, documents, chunks, sentences, spans, cvec, svec, Lexical(tokens))
    store = load_structure(gen, cvec, index.layout(), dict(manifest.get("vector_index") or {}))
    if store is not None:
        index.__dict__["store"] = store  # the cached `Index.store`, read instead of rebuilt
    return index


def default_chunking() -> dict[str, Any]:
    from index.build import chunking_manifest

    return chunking_manifest(ChunkParams())

"""The long-lived state a service or a CLI command works on: one Index in memory, one embedder, the corpus
folder, and the write path (add or delete a document, then save atomically).

Reads take `engine.index` once and work on that object; a write builds a new Index and swaps the reference,
so a query that started before the write finishes on the old, consistent state. Writes are serialised by a
lock (threads) and by the index folder's file lock (processes).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.build import build, chunking_manifest
from index.chunk import ChunkParams
from index.documents import Document, Skipped, corpus_files, doc_id_for, make_document, read_corpus, read_metadata
from index.embed import Embedder, load_embedder
from index.errors import BadDocument, CorpusNotFound, DocumentNotFound, DuplicateDocument, IndexMismatch, UnsupportedType
from index.formats import format_for
from index.model import Index
from index.storage import exists, load, read_manifest, save, write_lock
from qa.answer import Answer, AnswerConfig, answer
from qa.retrieve import RetrievalConfig


@dataclass(frozen=True)
class Settings:
    corpus: Path = Path("corpus")
    index: Path = Path(".citeqa")
    embedder: str | None = None  # CITEQA_EMBEDDER; None = the default backend
    store: str = "faiss"  # CITEQA_STORE: faiss | milvus:///path/file.db | milvus://host:19530 | https://...

    @classmethod
    def from_env(cls, corpus: str | None = None, index: str | None = None, embedder: str | None = None,
                 store: str | None = None) -> Settings:
        return cls(
            corpus=Path(corpus or os.environ.get("CITEQA_CORPUS") or "corpus"),
            index=Path(index or os.environ.get("CITEQA_INDEX") or ".citeqa"),
            embedder=embedder or os.environ.get("CITEQA_EMBEDDER") or None,
            store=store or os.environ.get("CITEQA_STORE") or "faiss",
        )


def sync(
    settings: Settings, embedder: Embedder, progress: Callable[[int, int], Any] | None = None, force: bool = False
) -> tuple[Index, list[str], list[str]]:
    """Rebuild the index from the corpus folder, embedding only changed documents.
    -> (index, ids embedded, warnings about unreadable files)."""
    docs, warnings = read_corpus(settings.corpus)
    with write_lock(settings.index):
        previous = None
        if exists(settings.index) and not force:
            try:
                previous = load(settings.index)
            except Exception as exc:  # a damaged or older index is rebuilt from scratch
                warnings.append(f"previous index not reused: {exc}")
        index, embedded = build(docs, embedder, ChunkParams(), previous, progress)
        if previous is None or embedded or set(previous.documents) != set(index.documents):
            save(index, settings.index)
        else:
            index = previous
    return index, embedded, warnings


@dataclass
class Engine:
    settings: Settings
    embedder: Embedder
    index: Index
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    answering: AnswerConfig = field(default_factory=AnswerConfig)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _skipped: dict[tuple[str, int, int], Skipped] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, settings: Settings, build_if_missing: bool = False, embedder: Embedder | None = None) -> Engine:
        embedder = embedder or load_embedder(settings.embedder)
        if build_if_missing and not exists(settings.index):
            if not settings.corpus.is_dir():
                raise CorpusNotFound(f"corpus folder not found: {settings.corpus} (set --corpus or CITEQA_CORPUS)")
            index, _, _ = sync(settings, embedder)
        else:
            index = load(settings.index, embedder.identity(), chunking_manifest(ChunkParams()))
        return cls(settings, embedder, index)

    def ask(self, question: str, top_k: int = 5, doc_ids: list[str] | None = None,
            history: list[str] | None = None) -> Answer:
        return answer(question, self.index, self.embedder, top_k, doc_ids, history, self.retrieval, self.answering)

    def list_documents(self) -> list[dict[str, Any]]:
        """One summary per document: id, title, metadata, character and chunk counts (no text)."""
        index = self.index
        return [
            {"doc_id": d.doc_id, "title": d.title, "source": d.source, "metadata": dict(d.metadata),
             "characters": len(d.text), "chunks": index.spans[d.doc_id].c1 - index.spans[d.doc_id].c0,
             "type": d.type, "pages": page_count(d), "status": "indexed"}
            for d in index.documents.values()
        ]

    def original(self, doc_id: str) -> Path:
        """The file a document was read from (corpus folder, or where uploads are kept). DocumentNotFound if gone."""
        doc = self.document(doc_id)
        path = self.settings.corpus / doc.source
        if not path.is_file():
            raise DocumentNotFound(f"the original file of {doc_id!r} ({doc.source}) is no longer in {self.settings.corpus}")
        return path

    def skipped(self) -> list[Skipped]:
        """Files in the corpus folder that are not indexed, each with the reason (re-read only when they change)."""
        if not self.settings.corpus.is_dir():
            return []
        indexed = {d.source for d in self.index.documents.values()}
        out = []
        for path in corpus_files(self.settings.corpus):
            if path.name in indexed:
                continue
            st = path.stat()
            key = (path.name, st.st_mtime_ns, st.st_size)
            if key not in self._skipped:
                self._skipped[key] = _why_not_indexed(path, self.index.documents)
            out.append(self._skipped[key])
        return out

    def document(self, doc_id: str) -> Document:
        doc = self.index.documents.get(doc_id)
        if doc is None:
            raise DocumentNotFound(f"no document {doc_id!r}")
        return doc

    def add(self, data: bytes, filename: str, title: str | None = None) -> tuple[Document, bool]:
        """Add one file to the corpus and the index. -> (document, True). Text already indexed raises
        DuplicateDocument naming the existing doc_id (the API answers 409)."""
        suffix = Path(filename).suffix.lower()
        format_for(suffix)  # UnsupportedType naming the types citeqa reads (HTTP 415)
        with self._lock, write_lock(self.settings.index):
            current = self.index
            base = doc_id_for(filename)
            doc_id, n = base, 1
            while doc_id in current.documents or (self.settings.corpus / f"{doc_id}{suffix}").exists():
                n += 1
                doc_id = f"{base}-{n}"
            doc = make_document(data, f"{doc_id}{suffix}", {"title": title} if title else None, doc_id=doc_id)
            for other in current.documents.values():
                if other.content_hash == doc.content_hash:
                    raise DuplicateDocument(f"the same text is already indexed as {other.doc_id!r}", other.doc_id)
            new, _ = build([*current.documents.values(), doc], self.embedder, ChunkParams(), current)
            self.settings.corpus.mkdir(parents=True, exist_ok=True)
            _atomic_write(self.settings.corpus / doc.source, data)
            if title:
                _set_metadata(self.settings.corpus, doc.source, {"title": title})
            try:
                save(new, self.settings.index)
            except Exception:
                (self.settings.corpus / doc.source).unlink(missing_ok=True)
                raise
            self.index = new
            return doc, True

    def delete(self, doc_id: str) -> Document:
        with self._lock, write_lock(self.settings.index):
            current = self.index
            doc = current.documents.get(doc_id)
            if doc is None:
                raise DocumentNotFound(f"no document {doc_id!r}")
            new, _ = build([d for d in current.documents.values() if d.doc_id != doc_id], self.embedder,
                           ChunkParams(), current)
            save(new, self.settings.index)
            self.index = new
            (self.settings.corpus / doc.source).unlink(missing_ok=True)
            _set_metadata(self.settings.corpus, doc.source, None)
            return doc

    def health(self) -> dict[str, Any]:
        m = self.index.manifest
        return {
            "status": "ok",
            "documents": len(self.index.documents),
            "chunks": len(self.index.chunks),
            "model": m.get("embedder", {}).get("model"),
            "embedder": m.get("embedder", {}),
            "store": self.index.store.describe(),
            "built_at": m.get("built_at"),
        }


def page_count(doc: Document) -> int | None:
    """Pages or slides of a document that has them (a PDF, a deck, a scanned image), else None."""
    numbers = {p.number for p in doc.parts if p.kind in ("page", "slide")}
    return max(numbers) if numbers else None


def _why_not_indexed(path: Path, documents: dict[str, Document]) -> Skipped:
    try:
        doc = make_document(path.read_bytes(), path.name)
    except (BadDocument, UnsupportedType) as exc:
        return Skipped(path.name, str(exc))
    except OSError as exc:
        return Skipped(path.name, f"could not read the file: {exc.strerror or exc}")
    other = documents.get(doc.doc_id)
    if other is not None:
        return Skipped(path.name, f"its id {doc.doc_id!r} is taken by {other.source}")
    return Skipped(path.name, "readable, not indexed yet: run `qa index` (or restart `qa serve`)")


def open_engine(settings: Settings, build_if_missing: bool = False, embedder: Embedder | None = None) -> Any:
    """Engine for the FAISS default, MilvusEngine (qa/milvus_engine.py) when settings.store names Milvus."""
    if (settings.store or "faiss") == "faiss":
        return Engine.open(settings, build_if_missing=build_if_missing, embedder=embedder)
    from qa.milvus_engine import MilvusEngine

    return MilvusEngine.open(settings, build_if_missing=build_if_missing, embedder=embedder)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _set_metadata(corpus: Path, source: str, meta: dict[str, str] | None) -> None:
    import json

    path = corpus / "metadata.json"
    if meta is None and not path.exists():
        return
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if meta is None:
        if source not in raw:
            return
        raw.pop(source)
    else:
        raw[source] = {**raw.get(source, {}), **meta}
    _atomic_write(path, (json.dumps(raw, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


__all__ = ["Engine", "Settings", "open_engine", "sync", "IndexMismatch", "read_manifest", "read_metadata"]

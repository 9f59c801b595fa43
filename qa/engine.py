"""The long-lived state a service or a CLI command works on: one Store, one embedder, and the write path.

Reads go through the Store (`engine.store`); before a question the engine looks (at most every
POLL_SECONDS) whether another process committed, and serves that state without a restart. A write prepares
the document (extract, chunk, embed) before taking the store's write lock, then commits once.

Uploads live in `<index>/uploads/` (citeqa owns that folder): the file is written durably first, then the
document is committed; an upload file with no committed document (a crash in between) is removed at the next
open. Deleting commits first, then removes the owned file; a document from the user's corpus folder is only
excluded (recorded in the store, so `qa index` leaves it out), never deleted from their folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index import faults
from index.build import chunking_manifest, prepare, split_document
from index.chunk import ChunkParams
from index.documents import Document, Skipped, corpus_files, doc_id_for, make_document, read_metadata
from index.embed import Embedder, load_embedder
from index.errors import (
    BadDocument,
    CorpusNotFound,
    DocumentNotFound,
    DocumentTooLarge,
    DuplicateDocument,
    IndexMismatch,
    UnsupportedType,
)
from index.formats import format_for
from index.rows import fsync_dir, storage_error
from index.settings import Settings
from index.store import Store
from qa.answer import Answer, AnswerConfig, answer
from qa.retrieve import RetrievalConfig

POLL_SECONDS = 1.0
UPLOADS = "uploads"


def open_local_store(settings: Settings, embedder: Embedder, create: bool = False) -> Store:
    from index.local_store import LocalStore

    return LocalStore.open(settings.index, embedder.identity(), chunking_manifest(ChunkParams()), create=create)


def sync(
    settings: Settings, embedder: Embedder, progress: Any = None, force: bool = False, store: Store | None = None
) -> Any:
    """`qa index`: bring the store up to date with the corpus folder (qa/sync.py). -> SyncReport."""
    from qa.sync import sync_folder

    return sync_folder(settings, embedder, progress=progress, force=force, store=store)


@dataclass
class Engine:
    settings: Settings
    embedder: Embedder
    store: Store
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    answering: AnswerConfig = field(default_factory=AnswerConfig)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _looked: float = 0.0
    _merging: threading.Thread | None = field(default=None, repr=False)
    _skipped: dict[tuple[str, int, int], Skipped] = field(default_factory=dict, repr=False)

    @classmethod
    def open(
        cls,
        settings: Settings,
        build_if_missing: bool = False,
        embedder: Embedder | None = None,
        store: Store | None = None,
    ) -> Engine:
        embedder = embedder or load_embedder(settings.embedder)
        if store is None:
            from index.rows import exists

            if build_if_missing and not exists(settings.index):
                if not settings.corpus.is_dir():
                    raise CorpusNotFound(f"corpus folder not found: {settings.corpus} (set --corpus or CITEQA_CORPUS)")
                store = sync(settings, embedder).store
            else:
                store = open_local_store(settings, embedder)
        engine = cls(settings, embedder, store)
        engine.remove_unacknowledged_uploads()
        return engine

    # -- reads ----------------------------------------------------------------------------------------------
    def fresh(self) -> None:
        """Serve what other processes committed (a cheap generation check, at most every POLL_SECONDS)."""
        now = time.monotonic()
        if now - self._looked >= POLL_SECONDS:
            self._looked = now
            self.store.refresh()

    def ask(
        self, question: str, top_k: int = 5, doc_ids: list[str] | None = None, history: list[str] | None = None
    ) -> Answer:
        self.fresh()
        return answer(question, self.store, self.embedder, top_k, doc_ids, history, self.retrieval, self.answering)

    def page(self, offset: int = 0, limit: int = 100) -> tuple[int, list[dict[str, Any]]]:
        """(total, one summary per document of the page, by doc_id): id, title, metadata, sizes, type, origin."""
        self.fresh()
        total, docs = self.store.documents(offset, limit)
        return total, [
            {
                "doc_id": d.doc_id,
                "title": d.title,
                "source": d.source,
                "metadata": dict(d.metadata),
                "characters": d.characters,
                "chunks": d.chunks,
                **dict(d.extra),
            }
            for d in docs
        ]

    def list_documents(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            total, page = self.page(len(out), 1000)
            out += page
            if not page or len(out) >= total:
                return out

    def original(self, doc_id: str) -> Path:
        """The file a document was read from: `<index>/uploads/` for an upload, else the corpus folder.
        DocumentNotFound when the file is gone."""
        doc = self.document(doc_id)
        state = self.store.state(doc_id)
        folder = self.uploads if state is not None and state.origin == "upload" else self.settings.corpus
        path = folder / doc.source
        if not path.is_file():
            raise DocumentNotFound(f"the original file of {doc_id!r} ({doc.source}) is no longer in {folder}")
        return path

    def skipped(self) -> list[Skipped]:
        """Files in the corpus folder that are not indexed (nor deleted through citeqa), each with the reason;
        a file is re-read only when it changes."""
        if not self.settings.corpus.is_dir():
            return []
        self.fresh()
        done = self.store.sources("corpus") | self.store.exclusions()
        waiting = [(n, p) for n, p in corpus_files(self.settings.corpus, self.settings.index) if n not in done]
        if not waiting:
            return []
        taken = {st.doc_id: st.source for st in self.store.inventory().values()}
        out = []
        for name, path in waiting:
            try:
                st = path.stat()
            except OSError:
                continue  # removed meanwhile
            key = (name, st.st_mtime_ns, st.st_size)
            if key not in self._skipped:
                self._skipped[key] = _why_not_indexed(name, path, taken)
            out.append(self._skipped[key])
        return out

    def document(self, doc_id: str) -> Document:
        self.fresh()
        return self.store.document(doc_id)

    def health(self) -> dict[str, Any]:
        self.fresh()
        m = self.store.manifest()
        return {
            "status": "ok",
            **self.store.counts(),
            "model": m.get("embedder", {}).get("model"),
            "embedder": m.get("embedder", {}),
            "store": self.store.describe(),
            "built_at": m.get("built_at"),
        }

    # -- writes ---------------------------------------------------------------------------------------------
    @property
    def uploads(self) -> Path:
        return self.settings.index / UPLOADS

    def add(self, data: bytes, filename: str, title: str | None = None) -> tuple[Document, bool]:
        """Store one uploaded file and index it. -> (document, True). Text already indexed raises
        DuplicateDocument naming the existing doc_id (the API answers 409)."""
        suffix = Path(filename).suffix.lower()
        format_for(suffix)  # UnsupportedType naming the types citeqa reads (HTTP 415)
        base = doc_id_for(Path(filename).name)  # an upload's id is its file name's, whatever folder it names
        doc = make_document(data, f"{base}{suffix}", {"title": title} if title else None, doc_id=base)
        self._refuse_duplicate(doc)
        params = ChunkParams()
        sp = split_document(doc, params)
        cap = Settings.from_env().max_upload_sentences  # read per upload: the cap may change while serving
        if len(sp.sentences) > cap:
            raise DocumentTooLarge(
                f"the document has {len(sp.sentences)} sentences; uploads are capped at {cap} "
                "(CITEQA_MAX_UPLOAD_SENTENCES): add it to the corpus folder and run `qa index` instead"
            )
        prepared = prepare([doc], self.embedder, params, "upload", splits=[sp])[0]  # the long part, before the lock
        with self._lock, self.store.writing():
            self._refuse_duplicate(doc)
            doc_id, n = base, 1
            while self._taken(doc_id, suffix):
                n += 1
                doc_id = f"{base}-{n}"
            doc = dataclasses.replace(doc, doc_id=doc_id, source=f"{doc_id}{suffix}")
            path = self.uploads / doc.source
            _durable_write(path, data, self.settings.index)
            faults.point("upload:file-written")
            try:
                self.store.put([dataclasses.replace(prepared, document=doc)])
            except BaseException:
                path.unlink(missing_ok=True)
                raise
        self._maybe_merge()
        return doc, True

    def _refuse_duplicate(self, doc: Document) -> None:
        other = self.store.find_hash(doc.content_hash)
        if other is not None:
            raise DuplicateDocument(f"the same text is already indexed as {other!r}", other)

    def _taken(self, doc_id: str, suffix: str) -> bool:
        if (self.uploads / f"{doc_id}{suffix}").exists():
            return True
        try:
            self.store.document(doc_id)
            return True
        except DocumentNotFound:
            return False

    def delete(self, doc_id: str) -> Document:
        """Commit the removal, then remove the file if citeqa owns it; a corpus-folder file stays (excluded)."""
        with self._lock, self.store.writing():
            doc = self.store.document(doc_id)
            state = self.store.state(doc_id)
            origin = state.origin if state else None
            self.store.remove([doc_id], exclude=True)
            faults.point("delete:committed")
            if origin == "upload":
                (self.uploads / doc.source).unlink(missing_ok=True)
        self._maybe_merge()
        return doc

    def _maybe_merge(self) -> None:
        """Rebuild the vector structure in the background once enough writes piled up beside it (the store
        decides; a no-op otherwise). Never on the request's path, one at a time."""
        if self._merging is not None and self._merging.is_alive():
            return

        def run() -> None:
            with contextlib.suppress(Exception):  # a failed merge costs speed, never an answer; the next write retries
                self.store.merge()

        self._merging = threading.Thread(target=run, name="citeqa-merge", daemon=True)
        self._merging.start()

    def remove_unacknowledged_uploads(self) -> None:
        """Upload files that no committed document names (a crash between the file and the commit)."""
        if not self.uploads.is_dir():
            return
        with contextlib.suppress(OSError), self.store.writing_if_free() as held:
            if not held:
                return
            owned = self.store.sources("upload")
            for p in self.uploads.iterdir():
                if p.is_file() and p.name not in owned:
                    p.unlink(missing_ok=True)


def _durable_write(path: Path, data: bytes, root: Path) -> None:
    """tmp + fsync + rename + fsync of the folder; on failure nothing is left behind."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise storage_error(exc, root) from exc


def _why_not_indexed(name: str, path: Path, taken: dict[str, str]) -> Skipped:
    try:
        doc = make_document(path.read_bytes(), name)
    except (BadDocument, UnsupportedType) as exc:
        return Skipped(name, str(exc))
    except OSError as exc:
        return Skipped(name, f"could not read the file: {exc.strerror or exc}")
    other = taken.get(doc.doc_id)
    if other is not None:
        return Skipped(name, f"its id {doc.doc_id!r} is taken by {other}")
    return Skipped(name, "readable, not indexed yet: run `qa index` (or restart `qa serve`)")


def open_engine(settings: Settings, build_if_missing: bool = False, embedder: Embedder | None = None) -> Any:
    """Engine over the local store (the default), or over the Milvus store settings.store names (qa/milvus_engine.py)."""
    if settings.store.kind == "faiss":
        return Engine.open(settings, build_if_missing=build_if_missing, embedder=embedder)
    from qa.milvus_engine import open_milvus_engine

    return open_milvus_engine(settings, build_if_missing=build_if_missing, embedder=embedder)


__all__ = ["Engine", "Settings", "open_engine", "sync", "IndexMismatch", "read_metadata"]

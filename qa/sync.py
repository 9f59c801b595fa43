"""`qa index`: stream the corpus folder into the store in batches, one commit per batch.

A file whose fingerprint (size, mtime, its metadata.json entry) matches the stored one is skipped without being
read; a file whose text hash matches is skipped without being split or embedded. After `kill -9`, the batches
already committed are skipped the same way, so indexing resumes where it stopped. Files the user deleted
through citeqa (exclusions) stay out; documents whose file left the folder are removed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index import faults
from index.build import prepare
from index.chunk import ChunkParams
from index.documents import Document, corpus_files, make_document, make_document_noting, read_metadata
from index.embed import Embedder
from index.errors import BadDocument, CorpusNotFound, IndexCorrupt, IndexMismatch, IndexMissing, UnsupportedType
from index.store import DocumentState, PreparedDocument, Store

BATCH = 32  # documents per commit


@dataclass
class SyncReport:
    store: Store
    documents: int = 0
    chunks: int = 0
    embedded: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def fingerprint(path: Path, meta: dict[str, Any] | None) -> str:
    st = path.stat()
    mh = hashlib.sha1(json.dumps(meta or {}, sort_keys=True).encode()).hexdigest()[:12]
    return f"{st.st_size}:{st.st_mtime_ns}:{mh}"


def _open(settings: Any, embedder: Embedder, force: bool, warnings: list[str]) -> tuple[Store, bool]:
    """(store, rebuilt from scratch). An index of another embedder, chunking or format is replaced."""
    from qa.engine import open_local_store

    root = settings.index
    if not force:
        try:
            return open_local_store(settings, embedder, create=True), False
        except (IndexMismatch, IndexMissing, IndexCorrupt) as exc:
            warnings.append(f"previous index not reused: {exc}")
    for name in ("citeqa.db", "citeqa.db-wal", "citeqa.db-shm", "CURRENT"):
        (root / name).unlink(missing_ok=True)
    for child in list(root.iterdir()) if root.is_dir() else []:
        if child.is_dir() and (child.name in ("lexical", "vectors") or child.name.startswith(("gen-", ".tmp-gen-"))):
            shutil.rmtree(child, ignore_errors=True)
    return open_local_store(settings, embedder, create=True), True


def sync_folder(
    settings: Any,
    embedder: Embedder,
    progress: Callable[[int, int], Any] | None = None,
    force: bool = False,
    store: Store | None = None,
    batch: int = BATCH,
) -> SyncReport:
    """`progress(documents done, documents to do)`: the CLI draws documents/s and the time left from it."""
    folder = Path(settings.corpus)
    if not folder.is_dir():
        raise CorpusNotFound(f"corpus folder not found: {folder} (set --corpus or CITEQA_CORPUS)")
    warnings: list[str] = []
    rebuilt = False
    if store is None:
        store, rebuilt = _open(settings, embedder, force, warnings)
    report = SyncReport(store, warnings=warnings)
    metadata = read_metadata(folder)
    files = corpus_files(folder, settings.index)
    excluded = store.exclusions()
    inv = store.inventory()
    by_source = {st.source: st for st in inv.values() if st.origin == "corpus"}
    taken = {st.doc_id: st.source for st in inv.values()}
    todo: list[tuple[str, Path, str]] = []  # (name inside the corpus folder, path, fingerprint)
    for name, path in files:
        if name in excluded:
            continue
        fp = fingerprint(path, metadata.get(name))
        st = by_source.get(name)
        if st is not None and st.fingerprint == fp:
            report.unchanged += 1
            continue
        todo.append((name, path, fp))
    if progress:
        progress(0, len(todo))
    params = ChunkParams()
    claimed: dict[str, str] = {}
    # a batch's write overlaps the next batch's reading and embedding; writes stay in order, one at a time
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qa-index-write")
    pending: Future[None] | None = None

    def commit(prepared: list[PreparedDocument], done: int) -> None:
        if prepared:
            store.put(prepared)
            faults.point("sync:batch-committed")
        if progress:
            progress(done, len(todo))

    try:
        for i in range(0, len(todo), batch):
            docs, fps = _read_batch(todo[i : i + batch], metadata, claimed, taken, by_source, report)
            prepared = (
                [_with_fp(p, fp) for p, fp in zip(prepare(docs, embedder, params, "corpus"), fps)] if docs else []
            )
            if pending is not None:
                pending.result()  # the previous batch is committed before this one is written
            pending = writer.submit(commit, prepared, min(len(todo), i + batch))
            report.embedded += [d.doc_id for d in docs]
        if pending is not None:
            pending.result()
    finally:
        writer.shutdown(wait=True)
    present = {name for name, _ in files} - excluded
    gone = [st.doc_id for st in inv.values() if st.origin == "corpus" and st.source not in present]
    if gone:
        store.remove(gone)
        report.removed = gone
    if rebuilt:
        _readd_uploads(settings, embedder, store, report)
    store.merge()
    c = store.counts()
    report.documents, report.chunks = c["documents"], c["chunks"]
    return report


def _read_batch(
    todo: list[tuple[str, Path, str]],
    metadata: dict[str, Any],
    claimed: dict[str, str],
    taken: dict[str, str],
    by_source: dict[str, DocumentState],
    report: SyncReport,
) -> tuple[list[Document], list[str]]:
    """The files of one batch that need embedding, read: (documents, their fingerprints)."""
    docs: list[Document] = []
    fps: list[str] = []
    for name, path, fp in todo:
        try:
            doc, notes = make_document_noting(path.read_bytes(), name, metadata.get(name))
        except (BadDocument, UnsupportedType, OSError) as exc:  # reported, never skipped silently
            report.warnings.append(f"skipped {name}: {exc}")
            continue
        report.warnings += [f"{name}: {note}" for note in notes]  # e.g. a scanned page without OCR
        owner = claimed.get(doc.doc_id) or (taken.get(doc.doc_id) if taken.get(doc.doc_id) != name else None)
        if owner and owner != name:
            report.warnings.append(f"skipped {name}: its id {doc.doc_id!r} is taken by {owner}")
            continue
        claimed[doc.doc_id] = name
        st = by_source.get(name)
        if (
            st is not None
            and st.content_hash == doc.content_hash
            and st.fingerprint
            and st.fingerprint.rsplit(":", 1)[-1] == fp.rsplit(":", 1)[-1]
        ):
            report.unchanged += 1  # same text and metadata: not split, not embedded
            continue
        docs.append(doc)
        fps.append(fp)
    return docs, fps


def _with_fp(p: Any, fp: str) -> Any:
    import dataclasses

    return dataclasses.replace(p, fingerprint=fp)


def _readd_uploads(settings: Any, embedder: Embedder, store: Store, report: SyncReport) -> None:
    """After a rebuild from scratch, the files citeqa owns (uploads) are indexed again."""
    from qa.engine import UPLOADS

    folder = Path(settings.index) / UPLOADS
    if not folder.is_dir():
        return
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        try:
            doc = make_document(path.read_bytes(), path.name)
        except (BadDocument, UnsupportedType, OSError) as exc:
            report.warnings.append(f"skipped upload {path.name}: {exc}")
            continue
        store.put(prepare([doc], embedder, ChunkParams(), "upload"))
        report.embedded.append(doc.doc_id)

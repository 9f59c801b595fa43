"""The local store (the embedded default): SQLite rows (the truth) + tantivy (BM25) + FAISS (vectors).

Index folder (default `.citeqa/`, CITEQA_INDEX):
    citeqa.db (+ -wal, -shm)   every row, text and vector; the generation counter (index/rows.py)
    lexical/                   tantivy segments + GENERATION (index/lexindex.py), derived
    vectors/<W>.faiss, .ids.npy  the vector structure up to generation W (index/dense.py), derived
    uploads/                   files uploaded over HTTP (citeqa owns them; the engine writes them)
    .lock                      one writer at a time
A write commits SQLite first (fsync), then brings tantivy and the in-memory vector delta up to that generation.
A crash after the SQLite commit leaves the derived indexes behind; the next opener or writer replays the
logged changes (index/rows.py `changes`) into them, so they can never disagree with the rows for long.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index import faults
from index.dense import DenseIndex
from index.documents import Document
from index.errors import IndexCorrupt, IndexMismatch, IndexMissing
from index.lexindex import LexicalIndex
from index.lock import WriteLock
from index.rows import FORMAT, Rows, exists, in_clause, storage_error
from index.store import Candidate, ChunkRecord, DocumentState, DocumentSummary, PreparedDocument, SentenceRecord

FIX = "run `qa index` to rebuild it"
_CHUNK_SQL = (
    'SELECT c.id, c.doc_id, c.start, c."end", c.vec, c.text, d.title, '
    "d.metadata FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE c.id IN "
)


class LocalStore:
    kind = "faiss"

    def __init__(self, root: Path, rows: Rows, dim: int) -> None:
        self.root = root
        self.rows = rows
        self.lock = WriteLock(root)
        self.lexical = self._open_lexical()
        self._catch_up_lexical(blocking=False)
        self._lex_loaded = self.lexical.applied()  # the generation the searcher shows
        self.dense = DenseIndex(root, rows, dim)
        self._vocab: tuple[int, dict[str, int]] | None = None
        self._refresh_lock = threading.Lock()

    def _open_lexical(self) -> LexicalIndex:
        """tantivy is derived: a damaged or missing folder is rebuilt from the rows (replayed from generation 0)."""
        folder = self.root / "lexical"
        try:
            return LexicalIndex(folder, create=True)
        except (ValueError, OSError):
            with self.lock.hold(blocking=True):
                shutil.rmtree(folder, ignore_errors=True)
                return LexicalIndex(folder, create=True)

    @classmethod
    def open(
        cls, root: str | Path, identity: dict[str, Any], chunking: dict[str, Any], create: bool = False
    ) -> LocalStore:
        """Open (or, with create, make) the store; refuse one built with another embedder or chunking."""
        root = Path(root)
        if not exists(root):
            if (root / "CURRENT").is_file():
                raise IndexMissing(f"the index at {root} is in an older format: {FIX}")
            if not create:
                raise IndexMissing(f"no index at {root}: {FIX}")
        try:
            rows = Rows(root, create=create)
            manifest = rows.manifest()
            rows.con().execute("SELECT count(*) FROM documents").fetchone()
        except sqlite3.DatabaseError as exc:
            if "not a database" in str(exc) or "malformed" in str(exc) or "no such table" in str(exc):
                raise IndexCorrupt(f"the index at {root} is damaged ({exc}): {FIX}") from exc
            raise storage_error(exc, root) from exc
        want = {"format": FORMAT, "embedder": identity, "chunking": chunking}
        if manifest is None:
            if not create:
                raise IndexMissing(f"no index at {root}: {FIX}")
            try:
                with rows.write() as con:
                    con.execute("INSERT OR REPLACE INTO meta VALUES('manifest', ?)", (json.dumps(want),))
            except Exception as exc:
                raise storage_error(exc, root) from exc
        else:
            for key in ("format", "embedder", "chunking"):
                if manifest.get(key) != want[key]:
                    raise IndexMismatch(
                        f"the index at {root} was built with {key} {manifest.get(key)}, not the current "
                        f"{want[key]}: {FIX} (or `qa index --force`)"
                    )
        try:
            return cls(root, rows, int(identity.get("dim") or 384))
        except OSError as exc:
            raise storage_error(exc, root) from exc

    # -- keeping the derived indexes current --------------------------------------------------------------------
    def _catch_up_lexical(self, blocking: bool = True) -> None:
        gen = self.rows.generation()
        applied = self.lexical.applied()
        if applied >= gen:
            return
        try:
            ctx = self.lock.hold(blocking=blocking)
            with ctx as held:
                if not held:
                    return  # the writer holding the lock will bring it up to date
                applied = self.lexical.applied()
                gen = self.rows.generation()
                if applied >= gen:
                    self.lexical.reload()
                    return
                docs, _ = self.rows.changed_since(applied)
                added = self._lexical_rows(docs)
                self.lexical.apply(gen, docs, added)
        except OSError:  # a read-only folder: serve what tantivy has
            return

    def _lexical_rows(self, doc_ids: Sequence[str]) -> list[tuple[int, str, str]]:
        out: list[tuple[int, str, str]] = []
        for i in range(0, len(doc_ids), 500):
            part = list(doc_ids[i : i + 500])
            out += (
                self.rows.con()
                .execute(f"SELECT id, doc_id, terms FROM chunks WHERE doc_id IN {in_clause(part)}", part)
                .fetchall()
            )
        return out

    def refresh(self) -> bool:
        """Serve commits made since the last look, by this or another process (cheap when there are none)."""
        with self._refresh_lock:
            gen, applied = self.rows.generation(), self.lexical.applied()
            if gen == self.dense.seen and applied == self._lex_loaded:
                return False
            if applied < gen:
                self._catch_up_lexical(blocking=False)  # a writer died between its commit and tantivy's
                applied = self.lexical.applied()
            if applied != self._lex_loaded:
                self.lexical.reload()
                self._lex_loaded = applied
            self.dense.catch_up()
            return True

    # -- reads --------------------------------------------------------------------------------------------------
    def generation(self) -> int:
        return self.rows.generation()

    def _records(self, ids: Sequence[int], con: Any) -> dict[int, ChunkRecord]:
        out: dict[int, ChunkRecord] = {}
        for i in range(0, len(ids), 900):
            part = [int(x) for x in ids[i : i + 900]]
            metas: dict[str, dict[str, str]] = {}
            for cid, doc_id, start, end, vec, text, title, meta in con.execute(_CHUNK_SQL + in_clause(part), part):
                if doc_id not in metas:
                    metas[doc_id] = json.loads(meta)
                out[int(cid)] = ChunkRecord(
                    int(cid), doc_id, start, end, text, title, np.frombuffer(vec, np.float32), metas[doc_id]
                )
        return out

    def candidates(
        self, qvec: np.ndarray | None, query_terms: Sequence[str], k: int, doc_ids: Sequence[str] | None = None
    ) -> list[Candidate]:
        terms = list(dict.fromkeys(query_terms))
        with self.rows.snapshot() as con:
            allowed: list[int] | None = None
            if doc_ids is not None:
                ids_of = list(doc_ids)
                allowed = [
                    r[0] for r in con.execute(f"SELECT id FROM chunks WHERE doc_id IN {in_clause(ids_of)}", ids_of)
                ]
                if not allowed:
                    return []
            lex = dict(
                self.lexical.search(terms, k, restrict=allowed)
                if allowed is not None
                else self.lexical.search(terms, k)
            )
            if allowed is not None:
                lex = dict(sorted(lex.items(), key=lambda x: -x[1])[:k])
            dense_ids: list[int] = []
            if qvec is not None:
                if allowed is not None:
                    dense_ids = allowed
                else:
                    dense_ids = [int(i) for i in self.dense.search(qvec, k)]
            records = self._records(list(dict.fromkeys([*lex, *dense_ids])), con)
        dense = {cid: float(r.vector @ qvec) for cid, r in records.items()} if qvec is not None else {}
        top_dense = sorted((c for c in dense_ids if c in records), key=lambda c: -dense[c])[:k]
        chosen = [c for c in dict.fromkeys([*top_dense, *lex]) if c in records]
        missing = [c for c in chosen if c not in lex]
        if missing and terms:
            lex.update(self.lexical.search(terms, len(missing), restrict=missing))
        return [Candidate(records[c], dense.get(c, 0.0), float(lex.get(c, 0.0))) for c in chosen]

    def sentences(self, chunk_ids: Sequence[int]) -> dict[int, list[SentenceRecord]]:
        out: dict[int, list[SentenceRecord]] = {}
        ids = [int(c) for c in chunk_ids]
        if not ids:
            return out
        sql = (
            'SELECT c.id, s.doc_id, s.ord, s.start, s."end", s.heading, s.vec, s.text FROM chunks c JOIN sentences s '
            f"ON s.doc_id = c.doc_id AND s.ord >= c.s0 AND s.ord < c.s1 WHERE c.id IN {in_clause(ids)} ORDER BY c.id, s.ord"
        )
        with self.rows.snapshot() as con:
            rows = con.execute(sql, ids).fetchall()
        if not rows:
            return out
        vecs = np.frombuffer(b"".join(r[6] for r in rows), dtype=np.float16).reshape(len(rows), -1).astype(np.float32)
        for r, v in zip(rows, vecs):
            out.setdefault(int(r[0]), []).append(SentenceRecord(r[1], r[2], r[3], r[4], r[7], bool(r[5]), v))
        return out

    def idf(self, terms: Iterable[str]) -> dict[str, float]:
        """BM25 idf over chunks: log(1 + (n - df + 0.5) / (df + 0.5)); e.g. 75 chunks, "guatemala" in 60 -> 0.25."""
        n, df = self.lexical.stats(set(terms))
        return {t: math.log(1.0 + (max(n, d) - d + 0.5) / (d + 0.5)) for t, d in df.items()}

    def vocabulary(self) -> dict[str, int]:
        gen = self.generation()
        if self._vocab is None or self._vocab[0] != gen:
            self._vocab = (gen, dict(self.rows.con().execute("SELECT word, n FROM vocabulary")))
        return self._vocab[1]

    def document(self, doc_id: str) -> Document:
        from index.errors import DocumentNotFound

        row = (
            self.rows.con()
            .execute("SELECT title, text, source, metadata, parts FROM documents WHERE doc_id=?", (doc_id,))
            .fetchone()
        )
        if row is None:
            raise DocumentNotFound(f"no document {doc_id!r}")
        return make_doc(doc_id, *row)

    def documents(self, offset: int = 0, limit: int = 100) -> tuple[int, list[DocumentSummary]]:
        con = self.rows.con()
        total = int(con.execute("SELECT count(*) FROM documents").fetchone()[0])
        rows = con.execute(
            "SELECT doc_id, title, source, metadata, characters, chunks, origin, parts FROM documents ORDER BY doc_id LIMIT ? OFFSET ?",
            (max(0, limit), max(0, offset)),
        ).fetchall()
        out = []
        for doc_id, title, source, meta, chars, chunks, origin, parts in rows:
            pages = [p for p in json.loads(parts) if p.get("kind") in ("page", "slide", "sheet")]
            extra = {
                "type": Path(source).suffix.lstrip(".").lower() or None,
                "pages": len(pages) or None,
                "origin": origin,
                "status": "indexed",
            }
            out.append(DocumentSummary(doc_id, title, source, json.loads(meta), chars, chunks, extra))
        return total, out

    def counts(self) -> dict[str, int]:
        con = self.rows.con()
        return {
            "documents": int(con.execute("SELECT count(*) FROM documents").fetchone()[0]),
            "chunks": int(con.execute("SELECT count(*) FROM chunks").fetchone()[0]),
        }

    def manifest(self) -> dict[str, Any]:
        return {**(self.rows.manifest() or {}), "built_at": self.rows.meta("built_at"), "generation": self.generation()}

    def inventory(self) -> dict[str, DocumentState]:
        rows = self.rows.con().execute("SELECT doc_id, source, origin, content_hash, fingerprint FROM documents")
        return {r[0]: DocumentState(*r) for r in rows}

    def state(self, doc_id: str) -> DocumentState | None:
        r = (
            self.rows.con()
            .execute(
                "SELECT doc_id, source, origin, content_hash, fingerprint FROM documents WHERE doc_id=?", (doc_id,)
            )
            .fetchone()
        )
        return None if r is None else DocumentState(*r)

    def sources(self, origin: str) -> set[str]:
        return {r[0] for r in self.rows.con().execute("SELECT source FROM documents WHERE origin=?", (origin,))}

    def exclusions(self) -> set[str]:
        return {r[0] for r in self.rows.con().execute("SELECT source FROM exclusions")}

    def find_hash(self, content_hash: str) -> str | None:
        row = (
            self.rows.con()
            .execute("SELECT doc_id FROM documents WHERE content_hash=? LIMIT 1", (content_hash,))
            .fetchone()
        )
        return None if row is None else str(row[0])

    def describe(self) -> dict[str, Any]:
        return {**self.dense.describe(), "lexical": "tantivy", "generation": self.generation()}

    # -- writes -------------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        try:
            with self.lock.hold():
                self._catch_up_lexical()
                yield
        except OSError as exc:
            raise storage_error(exc, self.root) from exc

    @contextlib.contextmanager
    def writing_if_free(self) -> Iterator[bool]:
        with self.lock.hold(blocking=False) as held:
            yield held

    def _commit(self, work: Any, point: str) -> int:
        import datetime as dt

        with self.writing():
            try:
                with self.rows.write() as con:
                    gen = self.rows.bump(con)
                    docs = work(con, gen)
                    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
                    con.execute("INSERT OR REPLACE INTO meta VALUES('built_at', ?)", (now,))
                    faults.point(f"{point}:before-commit")
            except (OSError, sqlite3.Error) as exc:
                raise storage_error(exc, self.root) from exc
            faults.point(f"{point}:committed")
            try:
                self.lexical.apply(gen, docs, self._lexical_rows(docs))
            except (OSError, ValueError):
                pass  # committed: tantivy catches up by replay at the next write or open
            self.dense.catch_up()
            return gen

    def put(self, docs: Sequence[PreparedDocument]) -> int:
        def work(con: Any, gen: int) -> list[str]:
            for p in docs:
                self.rows.retire(con, p.document.doc_id, gen)
                self.rows.insert(con, p, gen, p.fingerprint)
            return [p.document.doc_id for p in docs]

        return self._commit(work, "put")

    def remove(self, doc_ids: Sequence[str], exclude: bool = False) -> int:
        def work(con: Any, gen: int) -> list[str]:
            for doc_id in doc_ids:
                row = con.execute("SELECT source, origin FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
                if row and exclude and row[1] == "corpus":
                    con.execute("INSERT OR REPLACE INTO exclusions VALUES(?, ?)", (row[0], doc_id))
                self.rows.retire(con, doc_id, gen)
            return list(doc_ids)

        return self._commit(work, "remove")

    def merge(self) -> None:
        """Rebuild the vector structure when none is saved or its delta/masked share grew too large."""
        if self.dense.base is not None and not self.dense.needs_merge():
            return
        faults.point("merge:start")
        try:
            self.dense.merge()
        except OSError as exc:
            raise storage_error(exc, self.root) from exc

    def close(self) -> None:
        self.rows.close()


def make_doc(doc_id: str, title: str, text: str, source: str, metadata: str, parts: str) -> Document:
    """A Document from its row; `parts` (pages, slides) go back on it when Document has them."""
    fields = getattr(Document, "__dataclass_fields__", {})
    kwargs: dict[str, Any] = {}
    if "parts" in fields:
        from index import documents as docmod

        part_cls = getattr(docmod, "Part", None)
        raw = json.loads(parts)
        kwargs["parts"] = tuple(part_cls(**p) for p in raw) if part_cls else tuple(raw)
    return Document(doc_id, title, text, source, dict(json.loads(metadata)), **kwargs)

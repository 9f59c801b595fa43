"""The source of truth: one SQLite database (`<index>/citeqa.db`, WAL) holding every row of the local store.

Tables (one write transaction per put/remove, `generation` bumped in each):
    meta(key, value)              "generation", "next_chunk_id", "manifest" (JSON: embedder, chunking, format)
    documents(doc_id, ...)        title, source, origin corpus|upload, metadata/parts JSON, content_hash, text,
                                  fingerprint (size:mtime of the corpus file), gen (last put)
    chunks(id, doc_id, start, end, s0, s1, gen, terms, text, vec)   terms: stemmed lexical terms joined by
                                  spaces; text == document text[start:end] (kept, so a read never slices a long
                                  document); vec: float32 unit vector. Ids come from a counter, never reused.
    sentences(doc_id, ord, start, end, heading, text, vec)    vec: float16
    changes(gen, doc_id, first_id, end_id)  every put/remove: the chunk-id range it retired (lets derived
                                  indexes - tantivy, FAISS - catch up from any generation by replay)
    vocabulary(word, n)           lower-case surface word -> chunks holding it (spelling correction)
    exclusions(source, doc_id)    corpus files the user deleted through citeqa: `qa index` leaves them out
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import StorageFull, StorageUnavailable

DB_FILE = "citeqa.db"
FORMAT = 3
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents(doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT NULL,
  origin TEXT NOT NULL, metadata TEXT NOT NULL, parts TEXT NOT NULL, content_hash TEXT NOT NULL, text TEXT NOT NULL,
  fingerprint TEXT, chunks INTEGER NOT NULL, characters INTEGER NOT NULL, gen INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS documents_hash ON documents(content_hash);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE TABLE IF NOT EXISTS chunks(id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, start INTEGER NOT NULL,
  "end" INTEGER NOT NULL, s0 INTEGER NOT NULL, s1 INTEGER NOT NULL, gen INTEGER NOT NULL, terms TEXT NOT NULL,
  text TEXT NOT NULL, vec BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE INDEX IF NOT EXISTS chunks_gen ON chunks(gen);
CREATE TABLE IF NOT EXISTS sentences(doc_id TEXT NOT NULL, ord INTEGER NOT NULL, start INTEGER NOT NULL,
  "end" INTEGER NOT NULL, heading INTEGER NOT NULL, text TEXT NOT NULL, vec BLOB NOT NULL,
  PRIMARY KEY(doc_id, ord)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes(gen INTEGER NOT NULL, doc_id TEXT NOT NULL, first_id INTEGER, end_id INTEGER);
CREATE INDEX IF NOT EXISTS changes_gen ON changes(gen);
CREATE TABLE IF NOT EXISTS vocabulary(word TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS exclusions(source TEXT PRIMARY KEY, doc_id TEXT NOT NULL);
"""
_WORD = re.compile(r"(?u)\b[^\W\d_]{2,}\b")


def surface_words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def storage_error(exc: BaseException, root: Path) -> Exception:
    """OSError/sqlite3 errors -> the domain error the CLI and API explain (disk full, read-only)."""
    msg = str(exc).lower()
    errno = getattr(exc, "errno", None)
    if errno == 28 or "full" in msg or "no space" in msg:
        return StorageFull(
            f"the disk holding the index folder {root} is full: free some space and retry (nothing was changed)"
        )
    if errno in (13, 30) or "readonly" in msg or "read-only" in msg or "permission" in msg or "unable to open" in msg:
        return StorageUnavailable(f"the index folder {root} is not writable ({exc}): nothing was changed")
    return StorageUnavailable(f"the index folder {root} cannot be written ({exc}): nothing was changed")


class Rows:
    """Thread-safe access to the database: one connection per thread, reads never block on the writer (WAL)."""

    def __init__(self, root: Path, create: bool = True) -> None:
        self.root = root
        self.path = root / DB_FILE
        self._local = threading.local()
        if create:
            try:
                root.mkdir(parents=True, exist_ok=True)
                with self.write() as con:
                    for stmt in SCHEMA.split(";"):
                        if stmt.strip():
                            con.execute(stmt)
                    con.execute("INSERT OR IGNORE INTO meta VALUES('generation', '0')")
                    con.execute("INSERT OR IGNORE INTO meta VALUES('next_chunk_id', '0')")
            except sqlite3.DatabaseError as exc:
                if "not a database" in str(exc) or "malformed" in str(exc):
                    raise
                raise storage_error(exc, root) from exc
            except (OSError, sqlite3.Error) as exc:
                raise storage_error(exc, root) from exc

    def con(self) -> sqlite3.Connection:
        c = getattr(self._local, "con", None)
        if c is None:
            c = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=60)
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=FULL")
            self._local.con = c
        return c

    def close(self) -> None:
        c = getattr(self._local, "con", None)
        if c is not None:
            c.close()
            self._local.con = None

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction: BEGIN IMMEDIATE ... COMMIT (fsynced), or ROLLBACK on any error."""
        c = self.con()
        c.execute("BEGIN IMMEDIATE")
        try:
            yield c
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A consistent read over several statements."""
        c = self.con()
        c.execute("BEGIN")
        try:
            yield c
        finally:
            c.execute("COMMIT")

    # -- meta ---------------------------------------------------------------------------------------------
    def meta(self, key: str, con: sqlite3.Connection | None = None) -> str | None:
        row = (con or self.con()).execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def generation(self) -> int:
        return int(self.meta("generation") or 0)

    def manifest(self) -> dict[str, Any] | None:
        raw = self.meta("manifest")
        return None if raw is None else dict(json.loads(raw))

    def bump(self, con: sqlite3.Connection) -> int:
        gen = int(self.meta("generation", con) or 0) + 1
        con.execute("UPDATE meta SET value=? WHERE key='generation'", (str(gen),))
        return gen

    # -- writes (inside `write()`) -----------------------------------------------------------------------
    def retire(self, con: sqlite3.Connection, doc_id: str, gen: int) -> bool:
        """Delete a document's rows, log the chunk ids it frees, take its words off the vocabulary."""
        row = con.execute("SELECT min(id), max(id) FROM chunks WHERE doc_id=?", (doc_id,)).fetchone()
        text_row = con.execute("SELECT title FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        if text_row is None:
            return False
        words: Counter[str] = Counter()
        for (text,) in con.execute("SELECT text FROM chunks WHERE doc_id=?", (doc_id,)):
            words.update(surface_words(f"{text_row[0]}\n{text}"))
        con.executemany("UPDATE vocabulary SET n = n - ? WHERE word=?", [(n, w) for w, n in words.items()])
        con.execute(
            "DELETE FROM vocabulary WHERE n <= 0 AND word IN (SELECT value FROM json_each(?))",
            (json.dumps(list(words)),),
        )
        con.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
        con.execute("DELETE FROM sentences WHERE doc_id=?", (doc_id,))
        con.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))
        first, last = row if row and row[0] is not None else (None, None)
        con.execute("INSERT INTO changes VALUES(?,?,?,?)", (gen, doc_id, first, None if last is None else last + 1))
        return True

    def insert(self, con: sqlite3.Connection, prepared: Any, gen: int, fingerprint: str | None) -> None:
        doc = prepared.document
        next_id = int(self.meta("next_chunk_id", con) or 0)
        n = len(prepared.chunks)
        parts = [
            dataclasses.asdict(p) if dataclasses.is_dataclass(p) and not isinstance(p, type) else dict(p)
            for p in getattr(doc, "parts", ()) or ()
        ]
        con.execute(
            "INSERT INTO documents VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                doc.doc_id,
                doc.title,
                doc.source,
                prepared.origin,
                json.dumps(dict(doc.metadata), ensure_ascii=False),
                json.dumps(parts, ensure_ascii=False),
                doc.content_hash,
                doc.text,
                fingerprint,
                n,
                len(doc.text),
                gen,
            ),
        )
        cvec = np.ascontiguousarray(prepared.chunk_vectors, dtype=np.float32)
        con.executemany(
            "INSERT INTO chunks VALUES(?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    next_id + i,
                    doc.doc_id,
                    s,
                    e,
                    s0,
                    s1,
                    gen,
                    " ".join(prepared.chunk_terms[i]),
                    doc.text[s:e],
                    cvec[i].tobytes(),
                )
                for i, (s, e, s0, s1) in enumerate(prepared.chunks)
            ],
        )
        svec = np.ascontiguousarray(prepared.sentence_vectors, dtype=np.float16)
        con.executemany(
            "INSERT INTO sentences VALUES(?,?,?,?,?,?,?)",
            [
                (doc.doc_id, i, s, e, int(h), doc.text[s:e], svec[i].tobytes())
                for i, (s, e, h) in enumerate(prepared.sentences)
            ],
        )
        words: Counter[str] = Counter()
        for s, e, _, _ in prepared.chunks:
            words.update(surface_words(f"{doc.title}\n{doc.text[s:e]}"))
        con.executemany(
            "INSERT INTO vocabulary VALUES(?, ?) ON CONFLICT(word) DO UPDATE SET n = n + excluded.n",
            list(words.items()),
        )
        con.execute("UPDATE meta SET value=? WHERE key='next_chunk_id'", (str(next_id + n),))
        con.execute("INSERT INTO changes VALUES(?,?,?,?)", (gen, doc.doc_id, None, None))

    # -- reads ------------------------------------------------------------------------------------------
    def changed_since(self, gen: int, con: sqlite3.Connection | None = None) -> tuple[list[str], list[tuple[int, int]]]:
        """(doc ids put or removed after `gen`, chunk-id ranges retired after `gen`)."""
        rows = (
            (con or self.con()).execute("SELECT doc_id, first_id, end_id FROM changes WHERE gen > ?", (gen,)).fetchall()
        )
        docs = list(dict.fromkeys(r[0] for r in rows))
        return docs, [(int(a), int(b)) for _, a, b in rows if a is not None]

    def chunk_vectors(self, ids: Sequence[int], con: sqlite3.Connection | None = None) -> dict[int, np.ndarray]:
        out: dict[int, np.ndarray] = {}
        c = con or self.con()
        for i in range(0, len(ids), 900):
            part = [int(x) for x in ids[i : i + 900]]
            q = f"SELECT id, vec FROM chunks WHERE id IN ({','.join('?' * len(part))})"
            for cid, blob in c.execute(q, part):
                out[int(cid)] = np.frombuffer(blob, dtype=np.float32)
        return out

    def vectors_where(
        self, where: str, args: Iterable[Any], con: sqlite3.Connection | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(ids, (n, dim) float32) of the chunks matching a WHERE clause."""
        # no ORDER BY: SQLite would walk the whole table by id instead of using the WHERE's index
        rows = (con or self.con()).execute(f"SELECT id, vec FROM chunks WHERE {where}", tuple(args)).fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return ids, np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])


def in_clause(values: Sequence[Any]) -> str:
    return f"({','.join('?' * len(values))})"


def exists(root: Path) -> bool:
    return (root / DB_FILE).is_file()


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

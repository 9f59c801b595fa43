"""The lexical index over chunks: tantivy (BM25 k1=1.2, b=0.75), derived from the SQLite rows.

One tantivy document per chunk: {"chunk_id": 412, "doc_id": "safe-third-country", "body": "deport flight rose ..."}
(`body` holds our own stemmed terms from index.lexical.terms, split on whitespace). `<index>/lexical/GENERATION`
names the last SQLite generation applied; it is written after the tantivy commit, so a crash in between only
makes the next opener replay that generation again (delete the document's chunks by doc id, re-add: idempotent).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import tantivy

GEN_FILE = "GENERATION"


def _schema() -> Any:
    sb = tantivy.SchemaBuilder()
    sb.add_unsigned_field("chunk_id", stored=True, indexed=True, fast=True)
    sb.add_text_field("doc_id", stored=False, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("body", stored=False, tokenizer_name="whitespace", index_option="freq")
    return sb.build()


class LexicalIndex:
    def __init__(self, folder: Path, create: bool = True) -> None:
        self.folder = folder
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        self.schema = _schema()
        self.index = tantivy.Index(self.schema, path=str(folder), reuse=True)
        self._lock = threading.Lock()
        self._searcher = self.index.searcher()

    # -- state ----------------------------------------------------------------------------------------------
    def applied(self) -> int:
        try:
            return int((self.folder / GEN_FILE).read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def reload(self) -> None:
        self.index.reload()
        with self._lock:
            self._searcher = self.index.searcher()

    def searcher(self) -> Any:
        with self._lock:
            return self._searcher

    # -- writes (the caller holds the index folder's write lock) --------------------------------------------
    def apply(self, gen: int, removed: Iterable[str], added: Sequence[tuple[int, str, str]]) -> None:
        """Delete every chunk of the `removed` doc ids, add `added` (chunk_id, doc_id, body), commit, note `gen`."""
        writer = self.index.writer(heap_size=15_000_000, num_threads=1)
        try:
            for doc_id in removed:
                writer.delete_documents_by_term("doc_id", doc_id)
            for cid, doc_id, body in added:
                d = tantivy.Document()
                d.add_unsigned("chunk_id", int(cid))
                d.add_text("doc_id", doc_id)
                d.add_text("body", body)
                writer.add_document(d)
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise
        tmp = self.folder / f".{GEN_FILE}.tmp"
        with open(tmp, "w") as fh:
            fh.write(f"{gen}\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.folder / GEN_FILE)
        self.reload()

    # -- reads --------------------------------------------------------------------------------------------
    def _terms_query(self, terms: Sequence[str]) -> Any:
        uniq = list(dict.fromkeys(terms))
        if len(uniq) == 1:
            return tantivy.Query.term_query(self.schema, "body", uniq[0])
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "body", t)) for t in uniq]
        )

    def _run(self, query: Any, k: int) -> list[tuple[int, float]]:
        s = self.searcher()
        res = s.search(query, limit=max(1, k), count=False)
        return [(int(s.doc(addr)["chunk_id"][0]), float(score)) for score, addr in res.hits]

    def search(self, terms: Sequence[str], k: int, restrict: Sequence[int] | None = None) -> list[tuple[int, float]]:
        """[(chunk_id, bm25)] best first: the top k, or (restrict) the scores of those chunks that match."""
        if not terms or k <= 0:
            return []
        q = self._terms_query(terms)
        if restrict is not None:
            if not len(restrict):
                return []
            ids = tantivy.Query.term_set_query(self.schema, "chunk_id", [int(i) for i in restrict])
            q = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, q), (tantivy.Occur.Must, tantivy.Query.boost_query(ids, 0.0))]
            )
            k = len(restrict)
        return self._run(q, k)

    def stats(self, terms: Iterable[str]) -> tuple[int, dict[str, int]]:
        """(documents, {term: documents holding it}); deleted chunks count until their segment is merged."""
        s = self.searcher()
        return int(s.num_docs), {t: int(s.doc_freq("body", t)) for t in terms}

"""citeqa's Store (index/store.py) on Milvus, so that API replicas hold no state of their own.

Four collections share a prefix (default "citeqa"; index/milvus_schema.py makes them):
    {p}_chunks     id "doc#c3": doc_id, ord, start, end, s0, s1 (sentence ordinals in the document), title,
                   text (the passage, verbatim), terms (stemmed BM25 tokens), doc ({"source", "chars",
                   "metadata"}), vector, and on Milvus >= 2.5 sparse (BM25 of `terms`, made by Milvus)
    {p}_sentences  id "doc#s7": doc_id, ord, start, end, heading, vector
    {p}_documents  id "doc#p0": the document text in parts of PART_CHARS characters; part 0 also carries
                   title, source, metadata, origin ("corpus" | "upload"), content_hash, chars, chunks
    {p}_manifest   id "manifest": embedder identity, dimension, chunking, lexical mode; id "generation"

A question costs two round trips: `candidates` (one hybrid search, dense + BM25, on >= 2.5; one dense search
before) returns the passage rows with everything the answer step reads, and `sentences` fetches the sentences
of the top passages. Lexical scores come from the chunks' stored terms and corpus statistics cached in the
process (index/milvus_stats.py). Reads use Session consistency (no wait for the server's next time tick unless
this process has just written); the duplicate check and the writer's own reads are Strong.

A batch is written sentences -> text parts -> chunks -> part 0 of each text last: part 0 is the commit marker
of listings and of `qa index`'s resume (a document without it is rewritten). `remove` takes part 0 first.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.documents import Document, parts_from_json
from index.errors import CiteqaError, DocumentNotFound, IndexMismatch, IndexMissing
from index.formats import Part
from index.local_store import make_doc
from index.milvus_address import StoreSpec, chunk_id, locked, parse_store
from index.milvus_guard import guard
from index.milvus_inproc import inproc
from index.milvus_insert import insert_rows
from index.milvus_rows import PART_CHARS, document_rows, fit, sentence_record, summary_state
from index.milvus_schema import DUMMY_DIM, Capabilities, create_collections, detect
from index.milvus_stats import CorpusStats
from index.settings import Settings
from index.store import Candidate, ChunkRecord, DocumentState, DocumentSummary, PreparedDocument, SentenceRecord

__all__ = ["MilvusStore", "StoreSpec", "parse_store", "chunk_id", "PART_CHARS"]
PREFIX_ENV = "CITEQA_MILVUS_PREFIX"
BATCH = 2000  # rows per insert call (2,000 sentences with 384-float vectors: about 3.2 MB)
DENSE_POOL = 3  # "candidates" mode: dense passages searched per passage asked for (`_search`)
PART_BATCH = 256  # text parts per insert call: PART_CHARS each, at most 16 MB (a server takes 64 MB a call)
REFRESH_S = 5.0  # how often a reader checks whether another process wrote (in the background)
READ = "Session"  # reads see this process's own writes at once, other processes' within a time tick
QUERY_LIMIT = 16384  # the most rows one query may return on a server
_WORD = re.compile(r"(?u)\b[^\W\d_]{2,}\b")  # a surface word for spelling: letters only, two or more
# what a question reads of a passage row and of a sentence row (a sentence's doc_id and ordinal are in its id "doc#s7");
# milvus-lite converts and packs each returned field of each hit in Python, so nothing else is asked for
CHUNK_FIELDS = ["doc_id", "start", "end", "s0", "s1", "title", "text", "terms", "doc", "vector"]
SENTENCE_FIELDS = ["start", "end", "heading", "vector"]
HEADER = [
    "doc_id",
    "title",
    "source",
    "origin",
    "content_hash",
    "fingerprint",
    "chars",
    "chunks",
    "metadata",
    "parts",
    "layout",
]


def _quote(values: Iterable[str]) -> str:
    return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


def _eq(field: str, value: str) -> str:
    return f"{field} == {json.dumps(value, ensure_ascii=False)}"


# how long pymilvus waits for an embedded milvus-lite to accept the first connection (its default, 10 s, is what
# a server gets): milvus-lite 2.x starts a C++ server in a subprocess, which once took longer on a loaded machine
LITE_CONNECT_S = 60
SEAL_AFTER = 64  # documents written before `merge` seals them (milvus-lite otherwise scans unsealed rows per search)


class MilvusStore:
    kind = "milvus"
    # whether a dense-only search also returns the passages' vectors (retrieve's pseudo-relevance feedback,
    # off by default, reads them); a hybrid search always does: its distance is a fused rank, not the cosine
    with_vectors = False

    def __init__(self, spec: StoreSpec, prefix: str | None = None) -> None:
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException

        self.spec = spec
        env = Settings.from_env()  # read once: the prefix (unless given) and the read deadline
        self.prefix = prefix or env.milvus_prefix
        self.names = {k: f"{self.prefix}_{k}" for k in ("chunks", "sentences", "documents", "manifest")}
        self._manifest: dict[str, Any] | None = None
        self._write = threading.RLock()
        # doc_ids in the store as of the last `inventory` that found no leftover rows (None: unknown); a put of
        # other ids then asks for no delete: `qa index` streams new documents with inserts only
        self._known: set[str] | None = None
        self.caps: Capabilities | None = None
        self._stats: CorpusStats | None = None
        self._words: Counter[str] = Counter()  # lower-case surface word -> chunks holding it
        self._rows: OrderedDict[int, dict[str, Any]] = OrderedDict()  # recent candidates, for sentences()
        self._parts: dict[str, dict[tuple[int, int], dict[str, Any]]] = {}  # doc_id -> parts seen with its passages
        self._unsealed = 0  # documents written since the last flush
        self._fields: dict[str, list[dict[str, Any]]] = {}  # collection -> its insert fields (index/milvus_insert.py)
        self._checked = 0.0
        self._refreshing = threading.Lock()
        logging.getLogger("pymilvus.client.iterator.query_iterator").setLevel(logging.ERROR)
        if spec.local:
            Path(spec.uri).parent.mkdir(parents=True, exist_ok=True)
            # milvus-lite logs a traceback when it cannot open the folder; the error below says it in one line
            logging.getLogger("milvus_lite.server_manager").setLevel(logging.CRITICAL)
        busy = (
            "another process has it open (milvus-lite opens a .db in one process at a time); to share "
            "it run `milvus-lite server --data-dir DIR --port 19530` and use milvus://127.0.0.1:19530"
        )
        # asked first: milvus-lite 2.x, failing to lock a .db another process holds, deletes that process's lock file
        if spec.local and locked(Path(spec.uri)):
            raise CiteqaError(f"cannot open the Milvus store {spec.redacted()}: {busy}")
        try:
            client = MilvusClient(uri=spec.uri, token=spec.token or "", timeout=LITE_CONNECT_S if spec.local else None)
            self._collections = set(client.list_collections())
        except MilvusException as exc:
            reason = busy if spec.local and locked(Path(spec.uri)) else exc.message
            raise CiteqaError(f"cannot open the Milvus store {spec.redacted()}: {reason}") from exc
        # from here on, a server lost mid-run answers StorageUnavailable (503), one line (index/milvus_guard.py)
        self.client = guard(client, spec.redacted(), env.milvus_read_timeout)
        if spec.local:  # a question's search and get on milvus-lite 3.x's engine, not over loopback gRPC
            self.client = inproc(self.client, spec.uri)
        # pymilvus logs a traceback for each such failure, and every ~10 s while it reconnects: said once, above
        logging.getLogger("pymilvus.decorators").setLevel(logging.CRITICAL)
        logging.getLogger("pymilvus.client.connection_manager").setLevel(logging.ERROR)

    # -- manifest -----------------------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.names["manifest"] in self._collections

    def require(self) -> None:
        if not self.exists():
            raise IndexMissing(
                f"no citeqa collections ({self.prefix}_*) in the Milvus store {self.spec.redacted()}: run `qa index --store ...` first"
            )

    def read_manifest(self) -> dict[str, Any] | None:
        if not self.exists():
            return None
        self.client.load_collection(self.names["manifest"])  # a reopened milvus-lite store starts released
        rows = self.client.get(
            self.names["manifest"], ids=["manifest"], output_fields=["value"], consistency_level="Strong"
        )
        return dict(rows[0]["value"]) if rows else None

    def connect(self, expected: dict[str, Any], create: bool) -> dict[str, Any]:
        """Check the stored manifest against `expected` (embedder, dim, chunking), or create the collections.
        -> the stored manifest. A store built with another model or chunking is refused."""
        self.caps = detect(self.client, self.spec.local)
        found = self.read_manifest()
        if found is None:
            if not create:
                self.require()
            found = create_collections(self.client, self.names, expected, self.spec.local, self.caps)
            self._collections = set(self.client.list_collections())
        for key in ("embedder", "dim", "chunking"):
            if found.get(key) != expected.get(key):
                raise IndexMismatch(
                    f"the Milvus store {self.spec.redacted()} ({self.prefix}_*) was built with {key} "
                    f"{json.dumps(found.get(key), sort_keys=True)}, this process has "
                    f"{json.dumps(expected.get(key), sort_keys=True)}: use the same model and chunking, "
                    f"another {PREFIX_ENV}, or re-index into an empty store"
                )
        for name in self.names.values():
            self.client.load_collection(name)
        self._manifest = found
        return found

    @property
    def full_text(self) -> bool:
        return (self._manifest or {}).get("lexical") == "milvus-bm25"

    # -- corpus statistics ----------------------------------------------------------------------------------

    def generation(self) -> int:
        """Nanoseconds of the last committed write, from any process (0 for a store never written), as this
        process last saw it: its own writes at once, others' within REFRESH_S (no round trip per call)."""
        return self.stats().generation

    def _server_generation(self) -> int:
        rows = self.client.get(
            self.names["manifest"], ids=["generation"], output_fields=["value"], consistency_level="Strong"
        )
        return int(rows[0]["value"]["g"]) if rows else 0

    def _bump(self) -> int:
        g = max(time.time_ns(), (self._stats.generation + 1) if self._stats else 0)
        self.client.upsert(
            self.names["manifest"], [{"id": "generation", "value": {"g": g}, "dummy": [0.0] * DUMMY_DIM}]
        )
        if self._stats is not None:
            self._stats.generation = g
        return g

    def refresh(self) -> bool:
        """Never a round trip on the caller's thread: True when the background check (every REFRESH_S) has
        reloaded the statistics since the last call, because another process wrote."""
        before = self._stats.generation if self._stats else None
        self.stats()
        return self._stats is not None and self._stats.generation != before

    def stats(self) -> CorpusStats:
        """The cached statistics; loaded on first use, then refreshed in the background every REFRESH_S when
        another process has written."""
        if self._stats is None:
            self._reload()
        elif time.monotonic() - self._checked > REFRESH_S and self._refreshing.acquire(blocking=False):
            self._checked = time.monotonic()
            threading.Thread(target=self._refresh_in_background, daemon=True).start()
        assert self._stats is not None
        return self._stats

    def _refresh_in_background(self) -> None:
        try:
            if self._stats is None or self._server_generation() != self._stats.generation:
                self._known = None  # another process wrote: ids it added are not known here
                self._reload()
        except CiteqaError as exc:  # a lost server: said in its one line, as the requests meanwhile say it
            logging.getLogger(__name__).warning("refreshing Milvus corpus statistics failed: %s", exc)
        except Exception:  # noqa: BLE001 - a failed refresh keeps the old numbers; the next one retries
            logging.getLogger(__name__).warning("refreshing Milvus corpus statistics failed", exc_info=True)
        finally:
            self._refreshing.release()

    def _reload(self) -> None:
        self._parts.clear()  # documents may have been replaced: their parts come again with their passages
        g = self._server_generation()
        # Strong: a Session read of a process that has not written lags other processes' writes by a time tick,
        # and statistics loaded without another replica's new passages would keep generation g until the next write
        rows = self._scan("chunks", "", ["terms", "text"], strong=True)
        words, self._words = self._words, Counter()
        self._count_words(r["text"] for r in rows)
        del words
        self._stats = CorpusStats.of((r["terms"].split() for r in rows), g)
        self._checked = time.monotonic()

    def idf(self, terms: Iterable[str]) -> dict[str, float]:
        s = self.stats()
        return {t: s.idf(t) for t in terms}

    def vocabulary(self) -> Mapping[str, int]:
        """Lower-case surface word -> chunks holding it (spelling), kept with the statistics: no round trip."""
        self.stats()
        return self._words

    def _count_words(self, texts: Iterable[str], sign: int = 1) -> None:
        for text in texts:
            for w in set(_WORD.findall(text.lower())):
                self._words[w] += sign
                if self._words[w] <= 0:
                    del self._words[w]

    # -- writes -------------------------------------------------------------------------------------------
    # Milvus has no transactions and no locks: writes are serialised within a process (`writing`); replicas
    # writing at the same instant are not serialised against each other (docs/DEPLOY.md, Limits).

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        with self._write:
            yield

    @contextlib.contextmanager
    def writing_if_free(self) -> Iterator[bool]:
        got = self._write.acquire(blocking=False)
        try:
            yield got
        finally:
            if got:
                self._write.release()

    def put(self, docs: Sequence[PreparedDocument], fresh: bool = False) -> int:
        """Write documents, replacing earlier versions and leftovers of an interrupted write (`fresh`: the
        caller knows there are none). -> the new generation."""
        if not docs:
            return self.generation()
        ids = [p.document.doc_id for p in docs]
        with self._write:
            if not fresh and (self._known is None or not self._known.isdisjoint(ids)):
                self._delete(ids)
            if self._known is not None:
                self._known.update(ids)
            rows: dict[str, list[dict[str, Any]]] = {"sentences": [], "parts": [], "chunks": [], "heads": []}
            for p in docs:
                for kind, got in document_rows(p).items():
                    rows[kind] += got
            self._insert("sentences", rows["sentences"])
            self._insert("documents", rows["parts"])
            self._insert("chunks", rows["chunks"])
            self._insert("documents", rows["heads"])
            self._unsealed += len(docs)
            if self._stats is not None:
                self._stats.add(p.chunk_terms[i] for p in docs for i in range(len(p.chunks)))
                self._count_words(p.document.text[c[0] : c[1]] for p in docs for c in p.chunks)
            return self._bump()

    def remove(self, doc_ids: Sequence[str], exclude: bool = False) -> int:
        """One commit; `exclude`: corpus-folder documents among them are recorded so `qa index` leaves them out."""
        with self._write:
            if exclude:
                heads = [h for h in self.headers(doc_ids, strong=True) if h["origin"] == "corpus"]
                if heads:
                    self.client.upsert(
                        self.names["manifest"],
                        [
                            {
                                "id": fit(f"exclude:{h['source']}", 512),
                                "value": {"source": h["source"]},
                                "dummy": [0.0] * DUMMY_DIM,
                            }
                            for h in heads
                        ],
                    )
            if doc_ids:
                self._delete(list(doc_ids))
            if self._known is not None:
                self._known.difference_update(doc_ids)
            return self._bump()

    def _delete(self, doc_ids: list[str]) -> None:
        """Part 0 first (the document leaves listings), then passages (it leaves answers), then the rest.
        Asks for no delete when neither a committed document nor a leftover row exists."""
        for d in doc_ids:
            self._parts.pop(d, None)
        flt = f"doc_id in {_quote(doc_ids)}"
        old = self._scan("chunks", flt, ["terms", "text"], strong=True)
        if not old and not self.headers(doc_ids, strong=True):
            return
        if self._stats is not None:
            self._stats.add((r["terms"].split() for r in old), sign=-1)
            self._count_words((r["text"] for r in old), sign=-1)
        self.client.delete(self.names["documents"], filter=f"{flt} and part == 0")
        for kind in ("chunks", "sentences", "documents"):
            self.client.delete(self.names[kind], filter=flt)

    def _insert(self, kind: str, rows: list[dict[str, Any]]) -> None:
        step = PART_BATCH if kind == "documents" else BATCH
        for lo in range(0, len(rows), step):
            insert_rows(self.client, self.names[kind], rows[lo : lo + step], self._fields)

    def merge(self) -> None:
        """Seal what was written once a bulk load's worth piled up (the engine calls this after every write).
        milvus-lite: every collection (it otherwise scans its unsealed rows in Python per search). A server: the
        passages, searched by vector, and the sentences, read by id on every question; then wait for their
        indexes and their hand-over to the query nodes (`_wait_indexed`). Milvus 2.3 searches unindexed passages
        through an interim IVF index that lost 0.03 nDCG@10 on 5,183 abstracts (0.7031 against 0.7334 once
        indexed), and fetches 136 sentences from sealed segments in 8.5 ms, from growing ones in 11.8 ms; a
        hand-over left to the server comes later and slows the questions asked meanwhile. Texts and the manifest are
        read rarely and stay unsealed (flushing all four cost a load of 1,000 abstracts 5 s of 11; an acknowledged
        insert is durable without a flush)."""
        if self._unsealed >= SEAL_AFTER:
            self.flush(None if self.lite else ["chunks", "sentences"])
            if not self.lite:
                self._wait_indexed(["chunks", "sentences"])

    def _wait_indexed(self, kinds: Sequence[str], timeout: float = 600, settle: float = 10) -> None:
        """Until the query nodes serve the sealed rows of `kinds` from their built vector indexes. Milvus 2.3 serves
        a flushed segment from its growing copy (for passages through an interim IVF index: SciFact nDCG@10 0.70
        against 0.73) until the index is built and the query coordinator hands the sealed segment over; left to
        itself that hand-over came 17 s after the index (4,456 passages), and until it came the query node listed
        no sealed segment at all. A refresh load asks for it at once: about 10 s on 5,183 abstracts, for both
        collections together (asked one after the other, 20 s). A segment too small to be indexed leaves rows
        unindexed for good: the index wait ends when nothing is pending and the count has not moved for `settle` s."""
        from pymilvus.exceptions import MilvusException
        from pymilvus.grpc_gen import common_pb2

        deadline = time.monotonic() + timeout
        totals = {kind: self._index_built(self.names[kind], deadline, settle) for kind in kinds}
        for kind in kinds:
            with contextlib.suppress(MilvusException):  # a server without refresh loads hands over on its own
                self.client.load_collection(self.names[kind], refresh=True, _async=True)
        # then until the query nodes hold sealed segments for every sealed row (not the growing copies)
        conn, growing = self.client._get_connection(), common_pb2.SegmentState.Growing
        handoff = min(deadline, time.monotonic() + 60)
        waiting = dict(totals)
        while waiting and time.monotonic() < handoff:
            for kind, total in list(waiting.items()):
                infos = conn.get_query_segment_info(self.names[kind])
                if sum(i.num_rows for i in infos if i.state != growing) >= total:
                    del waiting[kind]
            if waiting:
                time.sleep(0.2)

    def _index_built(self, name: str, deadline: float, settle: float) -> int:
        """Until the vector index of `name` covers its sealed rows (or stops moving) -> the rows it counts."""
        last, since, total = -1, time.monotonic(), 0
        while time.monotonic() < deadline:
            info = self.client.describe_index(name, "vector") or {}
            total, indexed = int(info.get("total_rows", 0)), int(info.get("indexed_rows", 0))
            if indexed >= total:
                break
            if indexed != last or int(info.get("pending_index_rows", 0)):
                last, since = indexed, time.monotonic()
            elif time.monotonic() - since > settle:
                break
            time.sleep(0.2)
        return total

    @property
    def lite(self) -> bool:
        """milvus-lite, embedded or behind its own gRPC server (`milvus_lite server`)."""
        return self.spec.local or (self.caps is not None and self.caps.version.startswith("milvus_lite"))

    def flush(self, kinds: Sequence[str] | None = None) -> None:
        for kind, name in self.names.items():
            if kinds is None or kind in kinds:
                self.client.flush(name)
        self._unsealed = 0

    def close(self) -> None:
        self.client.close()

    # -- reads: a question ---------------------------------------------------------------------------------

    def candidates(
        self, qvec: np.ndarray | None, query_terms: Sequence[str], k: int, doc_ids: Sequence[str] | None = None
    ) -> list[Candidate]:
        """The dense top-k and (>= 2.5) the BM25 top-k, in one call; each scored on both sides here."""
        if doc_ids is not None and not doc_ids:
            return []
        stats = self.stats()
        flt = "" if doc_ids is None else f"doc_id in {_quote(sorted(set(doc_ids)))}"
        hits = self._search(qvec, list(query_terms), k, flt)
        q = None if qvec is None else np.asarray(qvec, np.float32)
        bm25 = stats.scorer(query_terms)
        out = []
        for h in hits:
            e = h["entity"]
            cid = chunk_id(h["id"])
            vec = np.asarray(e["vector"], np.float32) if "vector" in e else None
            self._remember(cid, e)
            meta = dict((e.get("doc") or {}).get("metadata") or {})
            rec = ChunkRecord(cid, e["doc_id"], int(e["start"]), int(e["end"]), e["text"], e["title"], vec, meta)
            # a dense-only search's distance is the exact inner product (HNSW and FLAT keep raw float vectors)
            dense = 0.0 if q is None else float(vec @ q) if vec is not None else float(h["distance"])
            out.append(Candidate(rec, dense, bm25(e["terms"])))
        return out

    def _search(self, qvec: np.ndarray | None, query_terms: list[str], k: int, flt: str) -> list[dict[str, Any]]:
        lexical = self.full_text and bool(query_terms)
        # "candidates" mode: BM25 ranks a dense pool DENSE_POOL times deeper than k, so that lexical matches the
        # dense top-k misses still compete (SciFact, 5,183 abstracts: nDCG@10 -0.010 against FAISS at 1x, -0.005 at 3x)
        pool = k * DENSE_POOL if query_terms else k
        depth = k if self.full_text else pool
        dense_params = {"metric_type": "IP", "params": {"ef": max(64, 2 * depth)}}  # HNSW's ef; FLAT ignores it
        if qvec is None and not lexical:
            return []
        if flt and qvec is not None and self.lite:
            return self._exact(qvec, pool, flt)
        if qvec is not None and lexical and self.caps is not None and self.caps.hybrid:
            from pymilvus import AnnSearchRequest, RRFRanker

            reqs = [
                AnnSearchRequest([np.asarray(qvec, np.float32).tolist()], "vector", dense_params, limit=k, expr=flt),
                AnnSearchRequest([" ".join(query_terms)], "sparse", {"metric_type": "BM25"}, limit=k, expr=flt),
            ]
            res = self.client.hybrid_search(
                self.names["chunks"], reqs, RRFRanker(), limit=2 * k, output_fields=CHUNK_FIELDS, consistency_level=READ
            )
            return list(res[0])
        if qvec is not None:
            data: list[Any] = [np.asarray(qvec, np.float32).tolist()]
            field, params = "vector", dense_params
        else:
            data, field, params = [" ".join(query_terms)], "sparse", {"metric_type": "BM25"}
        fields = [f for f in CHUNK_FIELDS if f != "vector" or self.with_vectors]  # the distance is the dense score
        res = self.client.search(
            self.names["chunks"],
            data=data,
            anns_field=field,
            limit=depth if field == "vector" else k,
            filter=flt,
            output_fields=fields,
            search_params=params,
            consistency_level=READ,
        )
        return list(res[0])

    def _exact(self, qvec: np.ndarray, depth: int, flt: str) -> list[dict[str, Any]]:
        """The `depth` passages matching `flt` (a question asked within some documents) closest to `qvec`, as hits,
        on milvus-lite: its HNSW skips filtered-out rows while it walks the graph and, with few rows left, comes
        back short (SciFact, 11,695 passages, 1-20 documents: 26 of 30 searches short, 6 empty). One query reads
        the filtered passages (at most QUERY_LIMIT) and they are ranked here by their exact inner product."""
        rows = self._scan("chunks", flt, CHUNK_FIELDS, bound=QUERY_LIMIT)
        if not rows:
            return []
        scores = np.asarray([r["vector"] for r in rows], np.float32) @ np.asarray(qvec, np.float32)
        hits = []
        for i in np.argsort(-scores, kind="stable")[:depth]:
            row = rows[int(i)]
            if not self.with_vectors:
                del row["vector"]
            hits.append({"id": row.pop("id"), "distance": float(scores[i]), "entity": row})
        return hits

    def _remember(self, cid: int, entity: dict[str, Any]) -> None:
        self._rows[cid] = entity  # doc_id, s0, s1, start, text, doc: what sentences() and document_parts() read
        self._rows.move_to_end(cid)
        while len(self._rows) > 4096:
            self._rows.popitem(last=False)
        seen = self._parts.setdefault(entity["doc_id"], {})  # a document without parts is known to have none
        for part in (entity.get("doc") or {}).get("parts") or []:
            seen[(int(part["start"]), int(part["end"]))] = part
        while len(self._parts) > 4096:
            self._parts.pop(next(iter(self._parts)))

    def document_parts(self, doc_id: str) -> tuple[Part, ...]:
        """The pages (slides, sheets) of a document that the passages of recent candidates overlap, as they
        travelled with those passages (qa/locate.py places citations with them): no round trip. A document no
        recent candidate came from is read whole."""
        if doc_id in self._parts:
            return parts_from_json(sorted(self._parts[doc_id].values(), key=lambda p: int(str(p["start"]))))
        return tuple(self.document(doc_id).parts)

    def sentences(self, chunk_ids: Sequence[int]) -> dict[int, list[SentenceRecord]]:
        """The sentences of chunks returned by a recent `candidates`, in document order: one call."""
        want: dict[int, list[str]] = {}
        for cid in chunk_ids:
            r = self._rows.get(cid)
            if r is not None:
                want[cid] = [f"{r['doc_id']}#s{j}" for j in range(int(r["s0"]), int(r["s1"]))]
        ids = sorted({i for v in want.values() for i in v})
        got: dict[str, dict[str, Any]] = {}
        for level in (READ, "Strong"):  # the second call only when another replica's sentences lag its passages
            missing = [i for i in ids if i not in got]
            for lo in range(0, len(missing), QUERY_LIMIT):
                rows = self.client.get(
                    self.names["sentences"],
                    ids=missing[lo : lo + QUERY_LIMIT],
                    output_fields=SENTENCE_FIELDS,
                    consistency_level=level,
                    strict_float32=True,  # vectors as numpy rows of one array, not Python lists (136 rows: -3 ms)
                )
                got.update({r["id"]: r for r in rows})
        return {cid: [sentence_record(got[i], self._rows[cid]) for i in v if i in got] for cid, v in want.items()}

    # -- reads: documents ------------------------------------------------------------------------------------

    def headers(
        self, doc_ids: Iterable[str] | None = None, where: str = "", strong: bool = False
    ) -> list[dict[str, Any]]:
        """Part-0 rows (no text) of the given documents, or of all, in doc_id order."""
        flt = "part == 0"
        bound: int | None = None  # at most this many rows: one plain query instead of an iterator
        if doc_ids is not None:
            ids = sorted(set(doc_ids))
            if not ids:
                return []
            flt += f" and doc_id in {_quote(ids)}"
            bound = len(ids) if len(ids) <= QUERY_LIMIT else None
        if where:
            flt += f" and ({where})"
        return sorted(self._scan("documents", flt, HEADER, strong, bound), key=lambda r: r["doc_id"])

    def find_hash(self, content_hash: str) -> str | None:
        """doc_id of an indexed document with this text (a Strong read: it must see the last write)."""
        found = self._scan("documents", f"part == 0 and {_eq('content_hash', content_hash)}", ["doc_id"], True, 1)
        return found[0]["doc_id"] if found else None

    def document(self, doc_id: str) -> Document:
        # Session reads may lag another replica's write by a time tick, and collections tick apart: a passage
        # can show before its document's part 0. A miss is read again at Strong before it is called absent.
        for strong in (False, True):
            parts = self._scan("documents", _eq("doc_id", doc_id), ["part", "text", *HEADER], strong, QUERY_LIMIT)
            head = next((p for p in parts if p["part"] == 0), None)
            if head is not None and len(parts) == head["parts"]:
                break
        else:
            raise DocumentNotFound(f"no document {doc_id!r}")
        assert head is not None
        text = "".join(p["text"] for p in sorted(parts, key=lambda p: p["part"]))
        return make_doc(
            doc_id,
            head["title"],
            text,
            head["source"],
            json.dumps(head.get("metadata") or {}),
            json.dumps((head.get("layout") or {}).get("parts") or []),
        )

    def documents(self, offset: int = 0, limit: int = 100) -> tuple[int, list[DocumentSummary]]:
        rows = self.headers()
        out = []
        for h in rows[max(0, offset) : max(0, offset) + max(0, limit)]:
            pages = [
                p for p in (h.get("layout") or {}).get("parts") or [] if p.get("kind") in ("page", "slide", "sheet")
            ]
            extra = {
                "type": Path(h["source"]).suffix.lstrip(".").lower() or None,
                "pages": len(pages) or None,
                "origin": h["origin"],
                "status": "indexed",
            }
            out.append(
                DocumentSummary(
                    h["doc_id"],
                    h["title"],
                    h["source"],
                    dict(h.get("metadata") or {}),
                    int(h["chars"]),
                    int(h["chunks"]),
                    extra,
                )
            )
        return len(rows), out

    def counts(self) -> dict[str, int]:
        return {"documents": self.count("documents", "part == 0"), "chunks": self.count()}

    def manifest(self) -> dict[str, Any]:
        m = dict(self._manifest or {})
        return {**m, "built_at": m.get("created_at"), "generation": self._stats.generation if self._stats else None}

    def inventory(self) -> dict[str, DocumentState]:
        heads = self.headers(strong=True)
        clean = self.count() == sum(int(h["chunks"]) for h in heads)  # no rows of an interrupted write
        self._known = {h["doc_id"] for h in heads} if clean else None
        return {h["doc_id"]: summary_state(h) for h in heads}

    def state(self, doc_id: str) -> DocumentState | None:
        found = self.headers([doc_id], strong=True)
        return summary_state(found[0]) if found else None

    def sources(self, origin: str) -> set[str]:
        return {h["source"] for h in self.headers(where=_eq("origin", origin), strong=True)}

    def exclusions(self) -> set[str]:
        rows = self._scan("manifest", 'id like "exclude:%"', ["value"], strong=True)
        return {r["value"]["source"] for r in rows}

    def count(self, kind: str = "chunks", flt: str = "") -> int:
        res = self.client.query(self.names[kind], filter=flt, output_fields=["count(*)"], consistency_level="Strong")
        return int(res[0]["count(*)"]) if res else 0

    def _scan(
        self, kind: str, flt: str, fields: list[str], strong: bool = False, bound: int | None = None
    ) -> list[dict[str, Any]]:
        """Rows matching `flt`: one plain query when at most `bound` can match, else pages of an iterator. (A CI run
        saw the duplicate check, then a Strong read through the iterator, miss a document this process had just
        inserted into a 2.3 server; the one-row checks and document reads now take the plain query.)"""
        level = "Strong" if strong else READ
        if bound is not None:
            rows = self.client.query(
                self.names[kind],
                filter=flt,
                output_fields=fields,
                limit=bound,
                consistency_level=level,
                strict_float32=True,
            )
            return [dict(r) for r in rows]
        if self.spec.local:  # milvus-lite has no query-result cap, and no timestamp service for iterators
            # milvus-lite 2.4/2.5 (Milvus's own engine) refuse an empty filter without a limit: match every row
            every = flt or 'id != ""'
            return [
                dict(r)
                for r in self.client.query(
                    self.names[kind], filter=every, output_fields=fields, consistency_level=level
                )
            ]
        return list(self._iterate(kind, flt, fields, level))

    def _iterate(self, kind: str, flt: str, fields: list[str], level: str) -> Iterator[dict[str, Any]]:
        it = self.client.query_iterator(
            self.names[kind], batch_size=QUERY_LIMIT // 2, filter=flt, output_fields=fields, consistency_level=level
        )
        try:
            while batch := it.next():
                yield from (dict(r) for r in batch)
        finally:
            it.close()

    def describe(self) -> dict[str, Any]:
        m = self._manifest or {}
        return {
            "type": "milvus",
            "uri": self.spec.redacted(),
            "lite": self.spec.local,
            "prefix": self.prefix,
            "server": self.caps.version if self.caps else None,
            "vectors": self.count(),
            "dim": m.get("dim"),
            "lexical": m.get("lexical"),
            "index": m.get("vector_index"),
        }

    def drop(self) -> None:
        for name in self.names.values():
            if self.client.has_collection(name):
                self.client.drop_collection(name)
        self._collections = set(self.client.list_collections())
        self._manifest, self._stats = None, None
        self._fields.clear()

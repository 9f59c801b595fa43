"""Vector search over the chunk vectors of the SQLite rows: a derived cache, never the truth.

    base    a FAISS structure (exact IndexFlatIP below index.vectors.FLAT_MAX vectors, HNSW/IVF beyond) over
            every chunk vector up to a watermark generation W, saved as `<index>/vectors/W.faiss` + `W.ids.npy`
            (row -> chunk id) by `merge`, never rewritten per write; beside an approximate one, `W.f16.npy`:
            its rows in float16, memory-mapped, to rescore the structure's candidates here (at 545,839 passages
            an IVF-PQ search returns 20 x k of them, and reading their float32 rows from SQLite took ~50 ms)
    delta   chunk vectors committed after W, exact (numpy), read from SQLite at open and on every catch-up
    masked  base rows whose chunks were retired after W (a faiss ID selector hides them)
Scores here only choose candidates; the store rescores the k it is given exactly from the float32 rows.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from index.rows import Rows, fsync_dir, in_clause
from index.vectors import _one_thread, empty_ann, spec_for, training_rows

DELTA_MIN, DELTA_SHARE, MASKED_SHARE = 4096, 0.10, 0.25
STREAM = 16_384  # rows a merge reads and adds at a time


def _faiss() -> Any:
    return importlib.import_module("faiss")


def _add(base: Any, out16: np.ndarray | None, buf: np.ndarray, m: int, done: int) -> int:
    """Add the first m rows of buf to the structure (and to the float16 rows at `done`); the new `done`."""
    if m:
        base.add(buf[:m])
        if out16 is not None:
            out16[done : done + m] = buf[:m]
    return done + m


def _kind_of(base: Any) -> str:
    """ "hnsw", "ivf" or "flat" for a loaded faiss structure (read_index gives the concrete class)."""
    name = type(base).__name__
    return "hnsw" if "HNSW" in name else "ivf" if "IVF" in name else "flat"


class DenseIndex:
    def __init__(self, root: Path, rows: Rows, dim: int) -> None:
        self.folder = root / "vectors"
        self.rows = rows
        self.dim = dim
        self._lock = threading.Lock()
        self.base: Any = None
        self.base_ids = np.zeros(0, np.int64)
        self.rows16: np.ndarray | None = None  # base rows in float16 (memory-mapped), for an approximate base
        self.spec: dict[str, Any] = {"type": "flat"}
        self.watermark = 0
        self.seen = 0  # generation the delta and mask are current with
        self.masked = np.zeros(0, dtype=bool)  # per base row
        self.delta_ids = np.zeros(0, np.int64)
        self.delta = np.zeros((0, dim), np.float32)
        self._load()

    # -- open / catch up -------------------------------------------------------------------------------------
    def _saved(self) -> list[int]:
        if not self.folder.is_dir():
            return []
        gens = [
            int(p.stem)
            for p in self.folder.glob("*.faiss")
            if p.stem.isdigit() and (self.folder / f"{p.stem}.ids.npy").is_file()
        ]
        return sorted(gens, reverse=True)

    def _load(self) -> None:
        for w in self._saved():
            try:
                base = _faiss().read_index(str(self.folder / f"{w}.faiss"))
                ids = np.load(self.folder / f"{w}.ids.npy", allow_pickle=False).astype(np.int64)
                if base.ntotal != len(ids) or base.d != self.dim:
                    continue
            except Exception:  # damaged cache file: an older one, or everything in the delta
                continue
            self.base, self.base_ids, self.watermark = base, ids, w
            self.spec = spec_for(len(ids), self.dim, kind=_kind_of(base))  # what was built, whatever the sizes say now
            self.rows16 = self._rows16(w, len(ids))
            break
        self.masked = np.zeros(len(self.base_ids), dtype=bool)
        self.seen = self.watermark
        self.catch_up()

    def _rows16(self, w: int, n: int) -> np.ndarray | None:
        path = self.folder / f"{w}.f16.npy"
        if not path.is_file():  # flat, or a structure saved before the file existed: the store rescores all
            return None
        try:
            rows = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError):
            return None
        return rows if rows.shape == (n, self.dim) and rows.dtype == np.float16 else None

    def catch_up(self) -> None:
        """Apply every commit after `seen`: mask retired chunk ids, load newly committed vectors."""
        with self.rows.snapshot() as con:
            gen = int(self.rows.meta("generation", con) or 0)
            if gen == self.seen:
                return
            _, retired = self.rows.changed_since(self.seen, con)
            new_ids, new_vecs = self.rows.vectors_where("gen > ?", (self.seen,), con)
        with self._lock:
            delta_ids, delta = self.delta_ids, self.delta
            if retired:
                dead_base = np.zeros(len(self.base_ids), dtype=bool)
                dead_delta = np.zeros(len(delta_ids), dtype=bool)
                for a, b in retired:
                    dead_base |= (self.base_ids >= a) & (self.base_ids < b)
                    dead_delta |= (delta_ids >= a) & (delta_ids < b)
                self.masked = self.masked | dead_base
                delta_ids, delta = delta_ids[~dead_delta], delta[~dead_delta]
            if len(new_ids):
                keep = ~np.isin(new_ids, delta_ids)
                delta_ids = np.concatenate([delta_ids, new_ids[keep]])
                delta = np.vstack([delta, new_vecs[keep]]) if len(delta) else new_vecs[keep]
            self.delta_ids, self.delta, self.seen = delta_ids, np.ascontiguousarray(delta, np.float32), gen

    # -- search ------------------------------------------------------------------------------------------------
    def search(self, q: np.ndarray, k: int) -> np.ndarray:
        """Chunk ids of (about) the k nearest vectors, best first (more than k from an approximate base: the
        store rescores them exactly and keeps k)."""
        with self._lock:
            base, base_ids, masked, delta_ids, delta, spec, rows16 = (
                self.base,
                self.base_ids,
                self.masked,
                self.delta_ids,
                self.delta,
                self.spec,
                self.rows16,
            )
        q = np.asarray(q, dtype=np.float32).reshape(1, -1)
        found: list[np.ndarray] = []
        scores: list[np.ndarray] = []
        if base is not None and base.ntotal:
            live = int(len(base_ids) - masked.sum())
            depth = min(live, k * int(spec.get("refine", 1)))
            if depth > 0:
                params, _bits = self._params(masked, spec)  # _bits must outlive the search
                with _one_thread():
                    sc, rows = base.search(q, depth, params=params)
                ok = rows[0] >= 0
                hit, hit_scores = rows[0][ok], sc[0][ok]
                if rows16 is not None:  # exact (to float16) scores; rows sorted so the reads go in file order
                    hit = np.sort(hit)
                    hit_scores = np.asarray(rows16[hit], dtype=np.float32) @ q[0]
                found.append(base_ids[hit])
                scores.append(hit_scores)
        if len(delta_ids):
            sc = delta @ q[0]
            top = np.argpartition(-sc, min(k, len(sc)) - 1)[:k] if len(sc) > k else np.arange(len(sc))
            found.append(delta_ids[top])
            scores.append(sc[top])
        if not found:
            return np.zeros(0, np.int64)
        ids, sc = np.concatenate(found), np.concatenate(scores)
        exact = spec["type"] == "flat" or rows16 is not None
        keep = k if exact else len(ids)  # approximate scores: the caller rescores them all
        return ids[np.argsort(-sc, kind="stable")[:keep]]

    def _params(self, masked: np.ndarray, spec: dict[str, Any]) -> tuple[Any, Any]:
        faiss = _faiss()
        bits, sel = None, None
        if masked.any():
            bits = np.packbits(~masked, bitorder="little")
            sel = faiss.IDSelectorBitmap(len(masked), faiss.swig_ptr(bits))
        if spec["type"] == "hnsw":
            return faiss.SearchParametersHNSW(sel=sel, efSearch=spec["ef_search"]), bits
        if spec["type"] == "ivf":
            return faiss.SearchParametersIVF(sel=sel, nprobe=spec["nprobe"]), bits
        return faiss.SearchParameters(sel=sel), bits

    # -- merge ---------------------------------------------------------------------------------------------------
    def needs_merge(self) -> bool:
        nbase = len(self.base_ids)
        unscored = self.base is not None and self.spec["type"] != "flat" and self.rows16 is None  # saved before f16
        return (
            unscored
            or len(self.delta_ids) > max(DELTA_MIN, DELTA_SHARE * nbase)
            or int(self.masked.sum()) > MASKED_SHARE * max(1, nbase)
        )

    def merge(self, keep: int = 1) -> None:
        """Build the structure over every vector of the current generation, save it (tmp + rename), swap it in.
        Safe beside readers and writers: it reads one snapshot and never touches the rows; one merge at a time
        per folder (its own lock), and the temporary files of a merge killed half-way are removed by the next."""
        import fcntl

        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".merge-lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            for leftover in self.folder.glob(".*.tmp"):
                leftover.unlink(missing_ok=True)
            self._merge(keep)

    def _merge(self, keep: int) -> None:
        """Streams the rows from one snapshot into the structure (and the float16 file) STREAM at a time, so a
        merge holds the structure, a training sample and one batch: not every vector (838 MB at 545,839)."""
        from index import faults

        faiss = _faiss()
        with self.rows.snapshot() as con:
            w = int(self.rows.meta("generation", con) or 0)
            n = int(con.execute("SELECT count(*) FROM chunks").fetchone()[0])
            spec = spec_for(n, self.dim)
            current = spec["type"] == self.spec["type"] and (spec["type"] == "flat" or self.rows16 is not None)
            if w == self.watermark and self.base is not None and current:
                return
            tmp_ids, tmp_idx, tmp16 = (
                self.folder / f".{w}.{kind}.{os.getpid()}.tmp" for kind in ("ids", "faiss", "f16")
            )
            self.folder.mkdir(parents=True, exist_ok=True)
            try:
                ids = np.fromiter((r[0] for r in con.execute("SELECT id FROM chunks ORDER BY id")), np.int64, n)
                approximate = spec["type"] != "flat" and n > 0
                base = empty_ann(self.dim, spec) if approximate else faiss.IndexFlatIP(self.dim)
                out16 = None
                if approximate:
                    pick = [int(x) for x in ids[training_rows(n, spec)]]
                    parts = [pick[lo : lo + 900] for lo in range(0, len(pick), 900)]
                    base.train(np.vstack([self.rows.vectors_where(f"id IN {in_clause(p)}", p, con)[1] for p in parts]))
                    out16 = np.lib.format.open_memmap(tmp16, mode="w+", dtype=np.float16, shape=(n, self.dim))
                buf, m, done = np.zeros((STREAM, self.dim), np.float32), 0, 0
                for _cid, blob in con.execute("SELECT id, vec FROM chunks ORDER BY id"):
                    buf[m] = np.frombuffer(blob, dtype=np.float32)
                    m += 1
                    if m == STREAM:
                        done = _add(base, out16, buf, m, done)
                        m = 0
                done = _add(base, out16, buf, m, done)
                del buf
                if out16 is not None:
                    out16.flush()
                    del out16
                    with open(tmp16, "rb+") as fh:
                        os.fsync(fh.fileno())
                with open(tmp_ids, "wb") as fh:
                    np.save(fh, ids)
                    fh.flush()
                    os.fsync(fh.fileno())
                faiss.write_index(base, str(tmp_idx))
                with open(tmp_idx, "rb") as fh:
                    os.fsync(fh.fileno())
                faults.point("merge:written")
                if tmp16.exists():  # before the structure: a saved structure never lacks its rows
                    os.replace(tmp16, self.folder / f"{w}.f16.npy")
                os.replace(tmp_ids, self.folder / f"{w}.ids.npy")
                os.replace(tmp_idx, self.folder / f"{w}.faiss")
                fsync_dir(self.folder)
            finally:
                for p in (tmp_ids, tmp_idx, tmp16):
                    with contextlib.suppress(OSError):
                        p.unlink()
        rows16 = self._rows16(w, n)
        with self._lock:
            self.base, self.base_ids, self.watermark, self.spec, self.rows16 = base, ids, w, spec, rows16
            self.masked = np.zeros(n, dtype=bool)
            keep_delta = self.delta_ids > (ids.max() if n else -1)  # ids are never reused: newer ids are newer chunks
            self.delta_ids, self.delta = self.delta_ids[keep_delta], self.delta[keep_delta]
            self.seen = w  # commits after w are re-applied to the new base below
        self.catch_up()
        for old in self._saved()[keep:]:
            for p in (self.folder / f"{old}.faiss", self.folder / f"{old}.ids.npy", self.folder / f"{old}.f16.npy"):
                with contextlib.suppress(OSError):
                    p.unlink()

    def describe(self) -> dict[str, Any]:
        return {
            "type": "faiss",
            "index": f"{self.spec['type']}" + (f"-{self.spec['storage']}" if "storage" in self.spec else ""),
            "vectors": int(len(self.base_ids) - self.masked.sum() + len(self.delta_ids)),
            "dim": self.dim,
            "watermark": self.watermark,
            "delta": int(len(self.delta_ids)),
            "masked": int(self.masked.sum()),
        }

"""Where a citeqa store lives: the address forms of CITEQA_STORE / --store, and milvus-lite's file lock.

parse_store("faiss")                        -> StoreSpec("faiss")
parse_store("milvus:///var/lib/x/store.db") -> StoreSpec("milvus", "/var/lib/x/store.db")   (milvus-lite)
parse_store("milvus://milvus.internal:19530") -> StoreSpec("milvus", "http://milvus.internal:19530", token)
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from index.errors import CiteqaError

TOKEN_ENV = "CITEQA_MILVUS_TOKEN"


@dataclass(frozen=True)
class StoreSpec:
    kind: str  # "faiss" | "milvus"
    uri: str = ""  # pymilvus uri: a local path ending in .db (milvus-lite) or http(s)://host:port
    token: str | None = None

    @property
    def local(self) -> bool:
        return self.kind == "milvus" and not self.uri.startswith(("http://", "https://"))

    def redacted(self) -> str:
        return self.uri if self.local else self.uri.split("@")[-1]


def parse_store(value: str | None, token: str | None = None) -> StoreSpec:
    """ "faiss" | "milvus:///abs/file.db" | "milvus://rel/file.db" | "milvus://host:19530" | "https://host:443"."""
    v = (value or "faiss").strip()
    token = token if token is not None else (os.environ.get(TOKEN_ENV) or None)
    if v == "faiss":
        return StoreSpec("faiss")
    if v.startswith(("http://", "https://")):
        return StoreSpec("milvus", v.rstrip("/"), token)
    if v.startswith("milvus://"):
        rest = v[len("milvus://") :]
        if rest.startswith("/") or rest.endswith(".db"):
            if not rest.endswith(".db"):
                raise CiteqaError(f"a milvus-lite store is a path ending in .db, got {v!r}")
            return StoreSpec("milvus", rest, None)
        if rest:
            return StoreSpec("milvus", f"http://{rest.rstrip('/')}", token)
    raise CiteqaError(f"unknown store {v!r}: use faiss, milvus:///path/to/file.db, milvus://host:19530 or https://host:port")


def chunk_id(row_id: str) -> int:
    """Store-wide integer id of a chunk row "doc#c3": 63 bits of its hash (stable across processes)."""
    return int.from_bytes(hashlib.blake2b(row_id.encode("utf-8"), digest_size=8).digest(), "big") >> 1


def locked(folder: Path) -> bool:
    """Whether another process holds milvus-lite's lock on this .db folder."""
    import fcntl

    lock = folder / "LOCK"
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)

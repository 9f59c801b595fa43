"""Where a Milvus store lives (pymilvus's uri and token for a parsed CITEQA_STORE / --store), and milvus-lite's
file lock.

parse_store("faiss")                        -> StoreSpec("faiss")
parse_store("milvus:///var/lib/x/store.db") -> StoreSpec("milvus", "/var/lib/x/store.db")   (milvus-lite)
parse_store("milvus://milvus.internal:19530") -> StoreSpec("milvus", "http://milvus.internal:19530", token)
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from index.settings import Settings, StoreAddress


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


def parse_store(value: str | StoreAddress | None, token: str | None = None) -> StoreSpec:
    """What pymilvus connects to for a store address (index/settings.py's StoreAddress parses the forms:
    "faiss" | "milvus:///abs/file.db" | "milvus://rel/file.db" | "milvus://host:19530" | "https://host:443");
    `token` defaults to CITEQA_MILVUS_TOKEN, and a milvus-lite file takes none."""
    address = value if isinstance(value, StoreAddress) else StoreAddress.parse(value)
    if address.kind == "faiss":
        return StoreSpec("faiss")
    if address.kind == "milvus-lite":
        return StoreSpec("milvus", address.uri, None)
    return StoreSpec("milvus", address.uri, token if token is not None else Settings.from_env().milvus_token)


def chunk_id(row_id: str) -> int:
    """Store-wide integer id of a chunk row "doc#c3": 63 bits of its hash (stable across processes)."""
    return int.from_bytes(hashlib.blake2b(row_id.encode("utf-8"), digest_size=8).digest(), "big") >> 1


def locked(db: Path) -> bool:
    """Whether another process holds milvus-lite's lock on this .db: milvus-lite 3.x flocks `<db>/LOCK` (the .db is
    a folder), milvus-lite 2.4/2.5 lockf `.<name>.lock` beside the .db file. Read from /proc/locks, without taking
    the lock: a POSIX lock taken and released here would drop this process's own milvus-lite lock (and stop its
    milvus-lite 2.x); elsewhere, by trying the lock."""
    files = [f for f in (db / "LOCK", db.parent / f".{db.name}.lock") if f.is_file()]
    if not files:
        return False
    try:
        table = Path("/proc/locks").read_text()
    except OSError:
        return any(_try_lock(f) for f in files)
    inodes = {f.stat().st_ino for f in files}
    for line in table.splitlines():  # "1: POSIX  ADVISORY  WRITE 4242 08:01:1311847 0 EOF"
        fields = line.split()  # a waiter's line reads "1: -> POSIX ...": its fields are shifted, and it holds nothing
        if len(fields) > 5 and fields[1] != "->" and fields[4] != str(os.getpid()):
            inode = fields[5].rsplit(":", 1)[-1]
            if inode.isdigit() and int(inode) in inodes:
                return True
    return False


def _try_lock(lock: Path) -> bool:
    import fcntl

    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)

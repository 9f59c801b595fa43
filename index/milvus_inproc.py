"""A question's two reads on an embedded milvus-lite 3.x store, made on its engine in this process instead of
through the gRPC server that pymilvus starts for a `.db` path.

    client = inproc(guarded_client, "/data/store.db")
    client.search("citeqa_chunks", data=[vec], anns_field="vector", limit=300, output_fields=[...], ...)
        # -> [[{"id": "doc#c3", "distance": 0.41, "entity": {"doc_id": ..., "doc": {...}, ...}}, ...]]
    client.get("citeqa_sentences", ids=["doc#s7", ...], output_fields=[...], strict_float32=True)
        # -> [{"id": "doc#s7", "start": ..., "vector": ndarray(float32)}, ...]

milvus-lite 3.x is pure Python and serves a `.db` from threads of this process (milvus_lite.server_manager): a
read through pymilvus is encoded to protobuf, sent over loopback, decoded by that server, answered by the same
engine, encoded again and decoded again by pymilvus. On SciFact's 5,183 abstracts the 300-row passage search
took 26.8-27.6 ms that way and 17.9-19.6 ms on the engine (docs/DEPLOY.md). The rows are the same: ids, order,
distances and fields were equal for all 300 SciFact test questions, once JSON fields are decoded and vectors made
arrays, as pymilvus does.

Everything else (writes, queries, a hybrid or BM25 search, a filtered search) goes to the client unchanged, and
so does a read the engine refuses (a missing collection, a bad filter): the client then raises what it always
has. milvus-lite 2.x (a C++ server in a subprocess), a `milvus_lite server` and a real server are left alone.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np


def inproc(client: Any, path: str) -> Any:
    """`client`, reading dense searches and gets on the engine when `path` is an embedded milvus-lite 3.x store
    that this process serves; else `client` itself."""
    db = _engine(path)
    return client if db is None else _InProcess(client, db)


def _engine(path: str) -> Any:
    try:
        import milvus_lite
        from milvus_lite import server_manager_instance
    except ImportError:
        return None
    if not str(getattr(milvus_lite, "__version__", "")).startswith("3."):
        return None
    # (grpc server, MilvusLite, port) per absolute .db path, once pymilvus has opened it
    entry = getattr(server_manager_instance, "_servers", {}).get(os.path.abspath(path))
    db = entry[1] if isinstance(entry, tuple) and len(entry) == 3 else None
    return db if callable(getattr(db, "get_collection", None)) else None


class _InProcess:
    def __init__(self, client: Any, db: Any) -> None:
        from milvus_lite import MilvusLiteError

        self._client, self._db, self._refused = client, db, MilvusLiteError
        self._fields: dict[str, tuple[frozenset[str], frozenset[str]]] = {}  # collection -> (JSON, vector) fields

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def search(self, collection_name: str, data: list[Any], **kw: Any) -> Any:
        params = kw.get("search_params") or {}
        if kw.get("anns_field") != "vector" or kw.get("filter") or "metric_type" not in params:
            return self._client.search(collection_name, data=data, **kw)
        try:
            col = self._db.get_collection(collection_name)
            res = col.search(
                query_vectors=data,
                top_k=kw.get("limit", 10),
                metric_type=params["metric_type"],
                output_fields=kw.get("output_fields"),
                anns_field="vector",
                # as milvus-lite's gRPC server passes them: {"ef": 600, "metric_type": "IP"}, not pymilvus's nesting
                search_params={**(params.get("params") or {}), "metric_type": params["metric_type"]},
            )
        except self._refused:
            return self._client.search(collection_name, data=data, **kw)
        json_fields, _ = self._kinds(collection_name, col)
        for hits in res:
            for h in hits:
                _decode(h["entity"], json_fields)
        return res

    def get(self, collection_name: str, ids: list[Any], **kw: Any) -> Any:
        try:
            col = self._db.get_collection(collection_name)
            rows = col.get(list(ids), output_fields=kw.get("output_fields"))
        except self._refused:
            return self._client.get(collection_name, ids=ids, **kw)
        json_fields, vectors = self._kinds(collection_name, col)
        for r in rows:
            _decode(r, json_fields)
            for f in vectors & r.keys():
                r[f] = np.asarray(r[f], np.float32)
        return rows

    def _kinds(self, name: str, col: Any) -> tuple[frozenset[str], frozenset[str]]:
        if name not in self._fields:
            fields = [(f.name, getattr(f.dtype, "name", str(f.dtype))) for f in col.schema.fields]
            self._fields[name] = (
                frozenset(n for n, t in fields if t == "JSON"),
                frozenset(n for n, t in fields if t == "FLOAT_VECTOR"),
            )
        return self._fields[name]


def _decode(row: dict[str, Any], json_fields: frozenset[str]) -> None:
    for f in json_fields & row.keys():
        if isinstance(row[f], str):
            row[f] = json.loads(row[f])

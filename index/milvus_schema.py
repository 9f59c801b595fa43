"""The collections of a citeqa Milvus store (see index/milvus_store.py for what each row holds).

Every collection has a VARCHAR primary key "id" and Strong consistency (a write is visible to the next read
from any process). Vectors: FLAT inner product on milvus-lite (exact), HNSW on a server. Collections without
vectors of their own carry a 2-dimension dummy vector: Milvus wants one in every collection.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

BM25_K1, BM25_B = 1.2, 0.75  # as index.lexical.Lexical
MAX_VARCHAR = 65535
DUMMY_DIM = 2


def create_collections(client: Any, names: dict[str, str], expected: dict[str, Any], local: bool) -> dict[str, Any]:
    """Make the five collections and write the manifest. -> the manifest."""
    from pymilvus.exceptions import MilvusException

    dim = int(expected["dim"])
    lexical = "milvus-bm25"
    if os.environ.get("CITEQA_MILVUS_LEXICAL") == "candidates":
        lexical = "candidates"
    else:
        try:
            _create_chunks(client, names["chunks"], dim, True, local)
        except MilvusException:  # a server without full-text search: BM25 over the dense candidates
            lexical = "candidates"
    if lexical == "candidates":
        _create_chunks(client, names["chunks"], dim, False, local)
    _create_sentences(client, names["sentences"], dim, local)
    _create_terms(client, names["terms"])
    _create_documents(client, names["documents"])
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    manifest = {**expected, "format": 1, "created_at": created, "lexical": lexical,
                "vector_index": "FLAT" if local else "HNSW"}
    _simple(client, names["manifest"], [("value", "json")])
    client.insert(names["manifest"], [{"id": "manifest", "value": manifest, "dummy": [0.0] * DUMMY_DIM}])
    return manifest


def _schema(client: Any) -> Any:
    from pymilvus import DataType

    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=512)
    return s


def _vector_index(params: Any, field: str, local: bool) -> None:
    if local:
        params.add_index(field, index_type="FLAT", metric_type="IP")
    else:
        params.add_index(field, index_type="HNSW", metric_type="IP", params={"M": 16, "efConstruction": 200})


def _create_chunks(client: Any, name: str, dim: int, bm25: bool, local: bool) -> None:
    from pymilvus import DataType, Function, FunctionType

    if client.has_collection(name):
        client.drop_collection(name)
    s = _schema(client)
    s.add_field("doc_id", DataType.VARCHAR, max_length=512)
    for f in ("ord", "start", "end", "s0", "s1"):
        s.add_field(f, DataType.INT64)
    s.add_field("title", DataType.VARCHAR, max_length=MAX_VARCHAR)
    s.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR)
    s.add_field("terms", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=bm25,
                **({"analyzer_params": {"tokenizer": "standard"}} if bm25 else {}))
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    params = client.prepare_index_params()
    _vector_index(params, "vector", local)
    if bm25:
        s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        s.add_function(Function(name="terms_bm25", function_type=FunctionType.BM25,
                                input_field_names=["terms"], output_field_names=["sparse"]))
        params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                         params={"bm25_k1": BM25_K1, "bm25_b": BM25_B})
    params.add_index("doc_id", index_type="INVERTED")
    client.create_collection(name, schema=s, index_params=params, consistency_level="Strong")


def _create_sentences(client: Any, name: str, dim: int, local: bool) -> None:
    from pymilvus import DataType

    s = _schema(client)
    s.add_field("doc_id", DataType.VARCHAR, max_length=512)
    for f in ("ord", "start", "end"):
        s.add_field(f, DataType.INT64)
    s.add_field("heading", DataType.BOOL)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    params = client.prepare_index_params()
    _vector_index(params, "vector", local)
    params.add_index("doc_id", index_type="INVERTED")
    client.create_collection(name, schema=s, index_params=params,
                                  consistency_level="Strong")


def _create_terms(client: Any, name: str) -> None:
    _simple(client, name, [("term", "str"), ("doc_id", "str"), ("chunks", "int")], index="term")


def _create_documents(client: Any, name: str) -> None:
    _simple(client, name, [
        ("doc_id", "str"), ("part", "int"), ("parts", "int"), ("title", "text"), ("source", "text"),
        ("origin", "str"), ("content_hash", "str"), ("chars", "int"), ("chunks", "int"), ("metadata", "json"),
        ("text", "text"),
    ])


def _simple(client: Any, name: str, fields: list[tuple[str, str]], index: str | None = None) -> None:
    from pymilvus import DataType

    s = _schema(client)
    for f, kind in fields:
        if kind == "json":
            s.add_field(f, DataType.JSON)
        elif kind == "int":
            s.add_field(f, DataType.INT64)
        else:
            s.add_field(f, DataType.VARCHAR, max_length=MAX_VARCHAR if kind == "text" else 512)
    s.add_field("dummy", DataType.FLOAT_VECTOR, dim=DUMMY_DIM)
    params = client.prepare_index_params()
    params.add_index("dummy", index_type="FLAT", metric_type="L2")
    if index:
        params.add_index(index, index_type="INVERTED")
    client.create_collection(name, schema=s, index_params=params, consistency_level="Strong")

"""The collections of a citeqa Milvus store, made to fit the server they are made on.

What a server can do, by version (`detect`):
    Milvus 2.3          no BM25 function, no hybrid search; scalar index on VARCHAR: Trie
    Milvus 2.4          hybrid search; scalar index: INVERTED; no BM25 function
    Milvus 2.5 and up   BM25 full-text search (a function over an analysed VARCHAR) as well
    milvus-lite 3.x     as 2.5 and up
Without a BM25 function the chunks collection is made without it and the manifest says lexical="candidates":
BM25 is then computed over the dense candidates only (docs/DEPLOY.md). A failed creation drops whatever it made,
so no half-made store is left behind.

Collections default to Bounded consistency; the store asks for Strong where a write must see itself.
Vectors: the passages' HNSW (inner product, M 16, efConstruction 200) on a server and on milvus-lite 3.x (faiss),
FLAT on milvus-lite 2.x (it builds no HNSW); the sentences' FLAT (they are read by id, never searched by vector:
no graph to build). Collections without vectors of their own carry a 2-dimension dummy vector: Milvus wants one in
every collection.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from index.errors import CiteqaError
from index.settings import Settings

MAX_VARCHAR = 65535
DUMMY_DIM = 2
CONSISTENCY = "Bounded"


@dataclass(frozen=True)
class Capabilities:
    version: str  # as the server says it: "v2.3.5-lite", "2.5.10", "milvus_lite-3.2.2"
    bm25: bool  # BM25 function (full-text search)
    hybrid: bool  # hybrid_search (several ANN requests, one call)
    scalar_index: str | None  # index type for VARCHAR filter fields: "INVERTED", "Trie" or None
    searched_index: str = "HNSW"  # the passages' vector index; milvus-lite 2.x builds only FLAT, IVF_FLAT, AUTOINDEX


def detect(client: Any, local: bool) -> Capabilities:
    """e.g. "v2.3.5-lite" -> Capabilities("v2.3.5-lite", bm25=False, hybrid=False, scalar_index="Trie").
    milvus-lite is asked nothing (2.x does not implement the call, and pymilvus logs a traceback): its package
    version decides, "milvus-lite 2.4.12" -> no BM25 function (it came with 2.5)."""
    if local:
        lite = _lite_version()
        m = re.match(r"(\d+)\.(\d+)", lite)
        at = (int(m.group(1)), int(m.group(2))) if m else (3, 0)
        return Capabilities(f"milvus-lite {lite}", at >= (2, 5), True, "INVERTED", "HNSW" if at >= (3, 0) else "FLAT")
    try:
        version = str(client.get_server_version())
    except Exception:  # noqa: BLE001 - a server too old or too locked-down to say: assume the least
        version = "unknown"
    if version.startswith("milvus_lite"):
        return Capabilities(version, True, True, "INVERTED")
    m = re.search(r"(\d+)\.(\d+)", version)
    major, minor = (int(m.group(1)), int(m.group(2))) if m else (2, 3)
    at_least = (major, minor) >= (2, 5)
    return Capabilities(version, at_least, (major, minor) >= (2, 4), "INVERTED" if (major, minor) >= (2, 4) else "Trie")


def _lite_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("milvus-lite")
    except PackageNotFoundError:
        return "unknown"


def lexical_mode(caps: Capabilities, lite: bool, asked: str = "") -> str:
    """How a new store finds its lexical candidates: "milvus-bm25" (Milvus's BM25 function, one hybrid search)
    or "candidates" (one dense search; BM25 in the process over the candidates' stored terms).
    `asked` is CITEQA_MILVUS_LEXICAL: "" (the default below), "candidates", or "milvus-bm25" (where supported).
    Default: milvus-bm25 on servers that have it (2.5+); candidates on milvus-lite, whose pure-Python hybrid
    search costs several dense searches (docs/DEPLOY.md, Measured) for an nDCG@10 no better."""
    if asked == "candidates" or not caps.bm25:
        return "candidates"
    if asked == "milvus-bm25":
        return "milvus-bm25"
    return "candidates" if lite else "milvus-bm25"


def create_collections(
    client: Any, names: dict[str, str], expected: dict[str, Any], local: bool, caps: Capabilities
) -> dict[str, Any]:
    """Make the four collections and write the manifest (last: a store without it does not exist).
    -> the manifest. Leftovers of an earlier failed creation are dropped first."""
    from pymilvus.exceptions import MilvusException

    dim = int(expected["dim"])
    _drop(client, names)
    lite = local or caps.version.startswith("milvus_lite")  # embedded, or behind `milvus_lite server`
    lexical = lexical_mode(caps, lite, Settings.from_env().milvus_lexical)
    try:
        if lexical == "milvus-bm25":
            try:
                _create_chunks(client, names["chunks"], dim, True, caps)
            except MilvusException:  # a server that says 2.5 but refuses the function: the documented fallback
                _drop(client, {"chunks": names["chunks"]})
                lexical = "candidates"
        if lexical == "candidates":
            _create_chunks(client, names["chunks"], dim, False, caps)
        _create_sentences(client, names["sentences"], dim, caps)
        _create_documents(client, names["documents"], caps)
        created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        manifest = {
            **expected,
            "format": 3,
            "created_at": created,
            "lexical": lexical,
            "vector_index": caps.searched_index,
            "server": caps.version,
            "scalar_index": caps.scalar_index,
        }
        _simple(client, names["manifest"], [("value", "json")], caps)
        client.insert(names["manifest"], [{"id": "manifest", "value": manifest, "dummy": [0.0] * DUMMY_DIM}])
        for name in names.values():
            client.load_collection(name)  # waits until it is loaded (at once when it already is)
        return manifest
    except MilvusException as exc:
        _drop(client, names)
        raise CiteqaError(f"cannot create the citeqa collections on Milvus {caps.version}: {exc.message}") from exc


def _drop(client: Any, names: dict[str, str]) -> None:
    for name in names.values():
        if client.has_collection(name):
            client.drop_collection(name)


def _schema(client: Any) -> Any:
    from pymilvus import DataType

    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=512)
    return s


def _vector_index(params: Any, field: str, searched: bool, caps: Capabilities) -> None:
    """HNSW for vectors searched by similarity (passages), FLAT for those only read by id (sentences). milvus-lite
    3.2 searches FLAT by copying every stored vector of a segment per question (11,695 passages: 4 ms a search,
    against well under 1 ms for its faiss HNSW at ef 600, with the same SciFact nDCG@10)."""
    if searched and caps.searched_index == "HNSW":
        params.add_index(field, index_type="HNSW", metric_type="IP", params={"M": 16, "efConstruction": 200})
    else:
        params.add_index(field, index_type="FLAT", metric_type="IP")


def _scalar_index(params: Any, field: str, caps: Capabilities) -> None:
    if caps.scalar_index:
        params.add_index(field, index_type=caps.scalar_index)


def _create(client: Any, name: str, schema: Any, params: Any) -> None:
    """Made, indexed and set loading; create_collections waits for the four loads together (one by one, each
    waited about 4 s on a 2.3 server: 16 s before a new store took its first document)."""
    client.create_collection(name, schema=schema, consistency_level=CONSISTENCY)
    client.create_index(name, params)
    client.load_collection(name, _async=True)


def _create_chunks(client: Any, name: str, dim: int, bm25: bool, caps: Capabilities) -> None:
    """One row per passage; `doc` carries what the answer step needs of its document: {"source", "chars",
    "metadata"}, so a question reads no document row."""
    from pymilvus import DataType

    s = _schema(client)
    s.add_field("doc_id", DataType.VARCHAR, max_length=512)
    for f in ("ord", "start", "end", "s0", "s1"):
        s.add_field(f, DataType.INT64)
    s.add_field("title", DataType.VARCHAR, max_length=MAX_VARCHAR)
    s.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR)
    if bm25:
        s.add_field(
            "terms",
            DataType.VARCHAR,
            max_length=MAX_VARCHAR,
            enable_analyzer=True,
            analyzer_params={"tokenizer": "standard"},
        )
    else:
        s.add_field("terms", DataType.VARCHAR, max_length=MAX_VARCHAR)
    s.add_field("doc", DataType.JSON)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    params = client.prepare_index_params()
    _vector_index(params, "vector", True, caps)
    if bm25:
        from pymilvus import Function, FunctionType

        s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        s.add_function(
            Function(
                name="terms_bm25",
                function_type=FunctionType.BM25,
                input_field_names=["terms"],
                output_field_names=["sparse"],
            )
        )
        params.add_index(
            "sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params={"bm25_k1": 1.2, "bm25_b": 0.75}
        )
    _scalar_index(params, "doc_id", caps)
    _create(client, name, s, params)


def _create_sentences(client: Any, name: str, dim: int, caps: Capabilities) -> None:
    from pymilvus import DataType

    s = _schema(client)
    s.add_field("doc_id", DataType.VARCHAR, max_length=512)
    for f in ("ord", "start", "end"):
        s.add_field(f, DataType.INT64)
    s.add_field("heading", DataType.BOOL)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    params = client.prepare_index_params()
    _vector_index(params, "vector", False, caps)
    _scalar_index(params, "doc_id", caps)
    _create(client, name, s, params)


def _create_documents(client: Any, name: str, caps: Capabilities) -> None:
    _simple(
        client,
        name,
        [
            ("doc_id", "str"),
            ("part", "int"),
            ("parts", "int"),
            ("title", "text"),
            ("source", "text"),
            ("origin", "str"),
            ("content_hash", "str"),
            ("fingerprint", "str"),
            ("chars", "int"),
            ("chunks", "int"),
            ("metadata", "json"),
            ("layout", "json"),
            ("text", "text"),
        ],
        caps,
        index="doc_id",
    )


def _simple(
    client: Any, name: str, fields: list[tuple[str, str]], caps: Capabilities, index: str | None = None
) -> None:
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
        _scalar_index(params, index, caps)
    _create(client, name, s, params)

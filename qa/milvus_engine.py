"""The Engine over Milvus is `qa.engine.Engine` over a MilvusStore (index/milvus_store.py): this module only
opens the store for a process, checks its manifest against the process's embedder and chunking, and builds it
from the corpus folder when asked to (`qa serve` on an empty store, as on the local store).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from index.build import chunking_manifest
from index.chunk import ChunkParams
from index.embed import Embedder, load_embedder
from index.milvus_store import MilvusStore, parse_store


def expected_manifest(embedder: Embedder, params: ChunkParams | None = None) -> dict[str, Any]:
    return {
        "embedder": embedder.identity(),
        "dim": int(embedder.dim),
        "chunking": chunking_manifest(params or ChunkParams()),
    }


def open_milvus_store(settings: Any, embedder: Embedder, create: bool = False) -> MilvusStore:
    """The store CITEQA_STORE names, connected (`create`: make the collections when there are none); a store built
    with another model or chunking raises IndexMismatch, a missing one IndexMissing."""
    store = MilvusStore(parse_store(settings.store, settings.milvus_token))
    store.connect(expected_manifest(embedder), create=create)
    store.stats()  # corpus statistics load with the process, not with its first question
    return store


def open_milvus_engine(settings: Any, build_if_missing: bool = False, embedder: Embedder | None = None) -> Any:
    """-> qa.engine.Engine over the Milvus store."""
    from qa.engine import Engine, sync

    store = MilvusStore(
        parse_store(settings.store, settings.milvus_token)
    )  # before the model loads: a wrong address fails at once
    if not build_if_missing:
        store.require()
    embedder = embedder or load_embedder(settings.embedder)
    store.connect(expected_manifest(embedder), create=build_if_missing)
    if build_if_missing and not store.counts()["documents"] and Path(settings.corpus).is_dir():
        sync(settings, embedder, store=store)
    store.stats()
    engine = Engine(settings, embedder, store)
    engine.remove_unacknowledged_uploads()
    return engine

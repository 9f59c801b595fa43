"""Every environment variable citeqa reads, read here and only here (tests/test_settings.py fails on an
`os.environ` anywhere else in index, qa, api, cli). The lowest layer, so every layer may import it.

    s = Settings.from_env()                          # os.environ, now
    s = Settings.from_env(corpus="docs", store=None) # flags win over the environment; None = not given
    s = Settings.from_env({"CITEQA_STORE": "milvus:///srv/store.db"})   # a mapping of your own (tests)
    s = Settings(corpus=Path("docs"), store="milvus://host:19530")     # no environment at all
    s.store.kind                                     # "faiss" | "milvus-lite" | "milvus"

variable                     field                 default
CITEQA_CORPUS                corpus                corpus
CITEQA_INDEX                 index                 .citeqa
CITEQA_EMBEDDER              embedder              None: the default backend (index/embed.py)
CITEQA_CACHE                 cache                 ~/.cache/citeqa (the ONNX export, BEIR index caches)
CITEQA_THREADS               threads               None: the CPU count (ONNX embedding workers)
CITEQA_VECTOR_INDEX          vector_index          auto | flat | hnsw | ivf
CITEQA_SPLITTER              splitter              rules | pysbd (sentence boundaries: index/splitter.py or pysbd)
CITEQA_SENTENCE_VECTORS      sentence_vectors      sentences | separate | late (index/vectorize.py)
CITEQA_STORE                 store                 faiss | milvus:///path/file.db | milvus://host:19530 | https://...
CITEQA_MILVUS_TOKEN          milvus_token          None
CITEQA_MILVUS_PREFIX         milvus_prefix         citeqa (collection names' prefix)
CITEQA_MILVUS_LEXICAL        milvus_lexical        "" | candidates | milvus-bm25 (a new Milvus store's lexical mode:
                                                   index/milvus_schema.py lexical_mode; "" its default)
CITEQA_MILVUS_READ_TIMEOUT   milvus_read_timeout   30 (seconds a Milvus search, get or query may take, its retries
                                                   included, before it answers 503: a frozen server)
CITEQA_MAX_UPLOAD_SENTENCES  max_upload_sentences  20000 (an upload's cost cap: about 2 minutes of embedding)
CITEQA_API_KEY               api_key               None: writes answer 403
CITEQA_CORS_ORIGINS          cors_origins          (): no CORS headers; "https://a.example,https://b.example"
CITEQA_HEADER_TIMEOUT        header_timeout        None: api/config.py's default (seconds for a request head)
CITEQA_BODY_TIMEOUT          body_timeout          None: api/config.py's default (seconds a body may stall)
CITEQA_KEEPALIVE_TIMEOUT     keepalive_timeout     None: api/config.py's default
CITEQA_MAX_CONNECTIONS       max_connections       None: api/config.py's default
CITEQA_FAULT                 fault                 "" (crash tests: "put:committed" kills the process there)
CITEQA_FAULT_SLEEP           fault_sleep           "" (crash tests: "put:committed:2.5" sleeps there)
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from index.errors import CiteqaError

StoreKind = Literal["faiss", "milvus-lite", "milvus"]


@dataclass(frozen=True)
class StoreAddress:
    """A parsed CITEQA_STORE / --store:

    "faiss"                          -> StoreAddress("faiss")
    "milvus:///var/lib/x/store.db"   -> StoreAddress("milvus-lite", "/var/lib/x/store.db")
    "milvus://data/store.db"         -> StoreAddress("milvus-lite", "data/store.db")
    "milvus://milvus.internal:19530" -> StoreAddress("milvus", "http://milvus.internal:19530")
    "https://in01.example.cloud:443" -> StoreAddress("milvus", "https://in01.example.cloud:443")
    """

    kind: StoreKind = "faiss"
    uri: str = ""  # pymilvus's uri: the .db path (milvus-lite) or http(s)://host:port (milvus); "" for faiss

    @classmethod
    def parse(cls, value: str | None) -> StoreAddress:
        v = (value or "faiss").strip()
        if v == "faiss":
            return cls("faiss")
        if v.startswith(("http://", "https://")):
            return cls("milvus", v.rstrip("/"))
        if v.startswith("milvus://"):
            rest = v[len("milvus://") :]
            if rest.startswith("/") or rest.endswith(".db"):
                if not rest.endswith(".db"):
                    raise CiteqaError(f"a milvus-lite store is a path ending in .db, got {v!r}")
                return cls("milvus-lite", rest)
            if rest:
                return cls("milvus", f"http://{rest.rstrip('/')}")
        raise CiteqaError(
            f"unknown store {v!r}: use faiss, milvus:///path/to/file.db, milvus://host:19530 or https://host:port"
        )

    @property
    def milvus(self) -> bool:
        """Milvus in any form (milvus-lite or a server)."""
        return self.kind != "faiss"

    def redacted(self) -> str:
        """For messages: the uri without any user:password@."""
        return self.uri.split("@")[-1] if self.kind == "milvus" else self.uri or self.kind

    def __str__(self) -> str:
        return {"faiss": "faiss", "milvus-lite": f"milvus://{self.uri}"}.get(self.kind, self.uri)


def _default_cache() -> Path:
    return Path.home() / ".cache" / "citeqa"


@dataclass(frozen=True)
class Settings:
    corpus: Path = Path("corpus")
    index: Path = Path(".citeqa")
    embedder: str | None = None
    cache: Path = field(default_factory=_default_cache)
    threads: int | None = None
    vector_index: str = "auto"
    splitter: str = "rules"
    sentence_vectors: str = "sentences"
    store: StoreAddress = StoreAddress()
    milvus_token: str | None = None
    milvus_prefix: str = "citeqa"
    milvus_lexical: str = ""
    milvus_read_timeout: float = 30.0
    max_upload_sentences: int = 20_000
    api_key: str | None = None
    cors_origins: tuple[str, ...] = ()
    header_timeout: float | None = None
    body_timeout: float | None = None
    keepalive_timeout: float | None = None
    max_connections: int | None = None
    fault: str = ""
    fault_sleep: str = ""

    def __post_init__(self) -> None:
        # accept the forms a caller has at hand: str paths, a store address as text
        for name in ("corpus", "index", "cache"):
            if not isinstance(getattr(self, name), Path):
                object.__setattr__(self, name, Path(getattr(self, name)))
        if not isinstance(self.store, StoreAddress):
            object.__setattr__(self, "store", StoreAddress.parse(self.store))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **flags: Any) -> Settings:
        """The settings the environment gives (unset or empty variables take the defaults), then `flags` that are
        not None (command-line options: corpus="docs", store="faiss"). A malformed number or store address
        raises CiteqaError naming the variable."""
        return cls._read(os.environ if env is None else env).replace(**flags)

    @classmethod
    def _read(cls, e: Mapping[str, str]) -> Settings:

        def get(name: str) -> str:
            return e.get(f"CITEQA_{name}", "").strip()

        return cls(
            corpus=Path(get("CORPUS") or "corpus"),
            index=Path(get("INDEX") or ".citeqa"),
            embedder=get("EMBEDDER") or None,
            cache=Path(get("CACHE")) if get("CACHE") else _default_cache(),
            threads=_whole("CITEQA_THREADS", get("THREADS")),
            vector_index=get("VECTOR_INDEX").lower() or "auto",
            splitter=get("SPLITTER") or cls.splitter,
            sentence_vectors=get("SENTENCE_VECTORS") or cls.sentence_vectors,
            store=StoreAddress.parse(get("STORE")),
            milvus_token=get("MILVUS_TOKEN") or None,
            milvus_prefix=get("MILVUS_PREFIX") or "citeqa",
            milvus_lexical=_choice(
                "CITEQA_MILVUS_LEXICAL", get("MILVUS_LEXICAL").lower(), ("", "candidates", "milvus-bm25")
            ),
            milvus_read_timeout=_seconds("CITEQA_MILVUS_READ_TIMEOUT", get("MILVUS_READ_TIMEOUT"))
            or cls.milvus_read_timeout,
            max_upload_sentences=_lenient_whole(get("MAX_UPLOAD_SENTENCES"), cls.max_upload_sentences),
            api_key=get("API_KEY") or None,
            cors_origins=tuple(o.strip() for o in get("CORS_ORIGINS").split(",") if o.strip()),
            header_timeout=_seconds("CITEQA_HEADER_TIMEOUT", get("HEADER_TIMEOUT")),
            body_timeout=_seconds("CITEQA_BODY_TIMEOUT", get("BODY_TIMEOUT")),
            keepalive_timeout=_seconds("CITEQA_KEEPALIVE_TIMEOUT", get("KEEPALIVE_TIMEOUT")),
            max_connections=_whole("CITEQA_MAX_CONNECTIONS", get("MAX_CONNECTIONS")),
            fault=get("FAULT"),
            fault_sleep=get("FAULT_SLEEP"),
        )

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed; None values are ignored, so unset flags keep the environment's."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def _seconds(name: str, raw: str) -> float | None:
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if not 0 < value < 1e6:
        raise CiteqaError(f"{name}={raw!r} is not valid: use a number of seconds above 0")
    return value


def _choice(name: str, raw: str, allowed: tuple[str, ...]) -> str:
    if raw not in allowed:
        raise CiteqaError(f"{name}={raw!r} is not valid: use one of {', '.join(a for a in allowed if a)}")
    return raw


def _whole(name: str, raw: str) -> int | None:
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 < value < 1e6:
        raise CiteqaError(f"{name}={raw!r} is not valid: use a whole number above 0")
    return value


def _lenient_whole(raw: str, default: int) -> int:
    try:
        return int(raw) if raw else default
    except ValueError:
        return default


def offline_libraries() -> None:
    """Tell Hugging Face libraries (transformers, tokenizers, the hub) to stay offline and quiet, unless the
    user's environment already says otherwise: nothing is downloaded at run time."""
    for name, value in (
        ("HF_HUB_OFFLINE", "1"),
        ("TRANSFORMERS_OFFLINE", "1"),
        ("TRANSFORMERS_VERBOSITY", "error"),
        ("TOKENIZERS_PARALLELISM", "false"),
    ):
        os.environ.setdefault(name, value)


def omp_threads_set() -> bool:
    """Whether the user chose OpenMP's thread count (OMP_NUM_THREADS); otherwise `qa serve` picks one for torch."""
    return "OMP_NUM_THREADS" in os.environ

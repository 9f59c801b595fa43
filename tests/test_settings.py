"""One settings object reads the environment (index/settings.py): what each variable gives, the parsed store
address, and that no other module of index, qa, api or cli reads os.environ."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from index.errors import CiteqaError
from index.settings import Settings, StoreAddress

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_when_nothing_is_set() -> None:
    s = Settings.from_env({})
    assert (s.corpus, s.index, s.embedder, s.store.kind) == (Path("corpus"), Path(".citeqa"), None, "faiss")
    assert s.cache == Path.home() / ".cache" / "citeqa"
    assert (s.threads, s.vector_index, s.api_key, s.cors_origins) == (None, "auto", None, ())
    assert (s.milvus_prefix, s.max_upload_sentences) == ("citeqa", 20_000)


def test_each_variable_lands_in_its_field() -> None:
    s = Settings.from_env(
        {
            "CITEQA_CORPUS": "/data/docs",
            "CITEQA_INDEX": "/data/ix",
            "CITEQA_EMBEDDER": "torch",
            "CITEQA_CACHE": "/tmp/c",
            "CITEQA_THREADS": "3",
            "CITEQA_VECTOR_INDEX": " HNSW ",
            "CITEQA_STORE": "milvus://milvus.internal:19530",
            "CITEQA_MILVUS_TOKEN": "root:pw",
            "CITEQA_MILVUS_PREFIX": "t1",
            "CITEQA_MILVUS_LEXICAL": "candidates",
            "CITEQA_MAX_UPLOAD_SENTENCES": "50",
            "CITEQA_API_KEY": "k",
            "CITEQA_CORS_ORIGINS": "http://localhost:5173, https://example.org,",
            "CITEQA_HEADER_TIMEOUT": "2.5",
            "CITEQA_MAX_CONNECTIONS": "64",
            "CITEQA_FAULT": "put:committed",
        }
    )
    assert (s.corpus, s.index, s.embedder, s.cache) == (Path("/data/docs"), Path("/data/ix"), "torch", Path("/tmp/c"))
    assert (s.threads, s.vector_index) == (3, "hnsw")
    assert s.store == StoreAddress("milvus", "http://milvus.internal:19530")
    assert (s.milvus_token, s.milvus_prefix, s.milvus_lexical) == ("root:pw", "t1", "candidates")
    assert (s.max_upload_sentences, s.api_key) == (50, "k")
    assert s.cors_origins == ("http://localhost:5173", "https://example.org")
    assert (s.header_timeout, s.body_timeout, s.max_connections, s.fault) == (2.5, None, 64, "put:committed")


@pytest.mark.parametrize(
    "value, address",
    [
        (None, StoreAddress("faiss")),
        ("faiss", StoreAddress("faiss")),
        ("milvus:///var/lib/citeqa/store.db", StoreAddress("milvus-lite", "/var/lib/citeqa/store.db")),
        ("milvus://data/store.db", StoreAddress("milvus-lite", "data/store.db")),
        ("milvus://milvus.internal:19530", StoreAddress("milvus", "http://milvus.internal:19530")),
        ("https://in01.example.cloud:443/", StoreAddress("milvus", "https://in01.example.cloud:443")),
    ],
)
def test_store_addresses_parse_to_a_kind(value: str | None, address: StoreAddress) -> None:
    parsed = StoreAddress.parse(value)
    assert parsed == address
    assert parsed.milvus == (address.kind != "faiss")
    assert StoreAddress.parse(str(parsed)) == parsed  # str() gives an address that parses back the same


@pytest.mark.parametrize(
    "env",
    [
        {"CITEQA_STORE": "sqlite:///x"},
        {"CITEQA_STORE": "milvus:///var/lib/x"},
        {"CITEQA_THREADS": "many"},
        {"CITEQA_HEADER_TIMEOUT": "0"},
        {"CITEQA_MAX_CONNECTIONS": "1.5"},
        {"CITEQA_MILVUS_LEXICAL": "bm42"},
    ],
)
def test_malformed_values_are_one_line_errors_naming_them(env: dict[str, str]) -> None:
    with pytest.raises(CiteqaError) as err:
        Settings.from_env(env)
    assert next(iter(env.values())) in str(err.value) and "\n" not in str(err.value)


def test_flags_win_over_the_environment_and_unset_flags_keep_it() -> None:
    env = {"CITEQA_CORPUS": "env-corpus", "CITEQA_INDEX": "env-index", "CITEQA_STORE": "milvus:///x.db"}
    s = Settings.from_env(env, corpus="flag-corpus", index=None, store="faiss")
    assert (s.corpus, s.index, s.store.kind) == (Path("flag-corpus"), Path("env-index"), "faiss")
    t = s.replace(store="milvus://host:19530", embedder=None)
    assert (t.store.kind, t.embedder) == ("milvus", None)
    assert s.store.kind == "faiss"  # frozen: the original is unchanged


def test_built_directly_from_text() -> None:
    s = Settings(corpus="docs", index="ix", store="milvus://data/store.db")  # type: ignore[arg-type]
    assert (s.corpus, s.index, s.store) == (Path("docs"), Path("ix"), StoreAddress("milvus-lite", "data/store.db"))
    with pytest.raises(CiteqaError):
        Settings(store="nowhere")  # type: ignore[arg-type]


ENV_READ = re.compile(r"\bos\.environ\b|\bos\.getenv\b|\bgetenv\(|from os import[^\n]*\benviron\b")


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = sorted(
        str(p.relative_to(ROOT))
        for layer in ("index", "qa", "api", "cli")
        for p in (ROOT / layer).rglob("*.py")
        if ENV_READ.search(p.read_text(encoding="utf-8")) and p != ROOT / "index" / "settings.py"
    )
    assert not readers, f"read the environment through index.settings.Settings instead: {readers}"


STORE_TEXT_COMPARE = re.compile(
    r"""\bstore\)?\s*[!=]=\s*["']"""  # settings.store == "faiss"
    r"""|\bstore or ["'][^"']*["']\)\s*[!=]="""  # (settings.store or "faiss") == "faiss"
    r"""|["']\s*[!=]=\s*[\w.]*\bstore\b(?!\.)"""  # "faiss" == settings.store
)


def test_store_addresses_are_compared_by_kind_never_as_text() -> None:
    offenders = sorted(
        f"{p.relative_to(ROOT)}:{n}"
        for layer in ("index", "qa", "api", "cli")
        for p in (ROOT / layer).rglob("*.py")
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if STORE_TEXT_COMPARE.search(line)
    )
    assert not offenders, f"compare StoreAddress.kind (index/settings.py), not the address text: {offenders}"

"""SciFact in BEIR layout, as the indexing and scale benchmarks read it."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.system import ROOT

DEFAULT_SCIFACT = ROOT.parent / "shared" / "bench" / "scifact"  # developer/CI copy; --scifact overrides


@dataclass(frozen=True)
class Scifact:
    docs: list[tuple[str, str, str]]  # (doc_id, title, text)
    queries: dict[str, str]  # query id -> text, only those with judgements
    qrels: dict[str, dict[str, int]]  # query id -> {doc_id: gain}


def load_scifact(folder: Path, limit: int | None = None) -> Scifact:
    """BEIR layout: corpus.jsonl(.gz), queries.jsonl, qrels/test.tsv. `limit` keeps the first N documents and
    the queries whose relevant documents are all among them."""
    path = folder / "corpus.jsonl.gz"
    opener: Any = gzip.open if path.exists() else open
    path = path if path.exists() else folder / "corpus.jsonl"
    docs = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)
                docs.append((str(r["_id"]), r.get("title") or "", r.get("text") or ""))
    docs = docs[:limit] if limit else docs
    kept = {d for d, _, _ in docs}
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / "test.tsv", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            parts = line.rstrip("\n").split("\t")
            if i == 0 and not parts[-1].isdigit():
                continue
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    qrels = {q: r for q, r in qrels.items() if set(r) <= kept}
    queries = {}
    with open(folder / "queries.jsonl", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if str(r["_id"]) in qrels:
                queries[str(r["_id"])] = r["text"]
    return Scifact(docs, queries, {q: qrels[q] for q in queries})


def doc_text(title: str, text: str) -> str:
    """How both baseline and backends embed an abstract (the BEIR convention: title, then text)."""
    return f"{title}. {text}" if title else text


def write_corpus(data: Scifact, corpus: Path) -> None:
    """The abstracts as a user's corpus folder: `<doc_id>.txt` each, titles in metadata.json."""
    corpus.mkdir(parents=True, exist_ok=True)
    meta = {}
    for doc_id, title, text in data.docs:
        name = f"{doc_id}.txt"
        (corpus / name).write_text(text, encoding="utf-8")
        meta[name] = {"title": title}
    (corpus / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")

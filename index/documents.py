"""The corpus folder -> Documents: verbatim text, id, title and the metadata the document states.

A corpus is a folder of .txt/.md/.html/.pdf files plus an optional `metadata.json` sidecar:
    {"file-name.txt": {"title": "...", "author": "...", "publisher": "...", "date": "2025-02-05"}, ...}
Keys starting with "_" are notes, not documents.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from index.errors import BadDocument, CorpusNotFound
from index.extract import SUFFIXES, extract

METADATA_FILE = "metadata.json"


@dataclass(frozen=True)
class Document:
    doc_id: str  # file name without suffix, e.g. "rubio-arevalo-meeting-feb-2025"
    title: str
    text: str  # every citation offset indexes this string
    source: str  # file name inside the corpus folder
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        return text_hash(self.text)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def doc_id_for(file_name: str) -> str:
    stem = Path(file_name).stem
    slug = re.sub(r"[^a-z0-9._-]+", "-", stem.lower()).strip("-.")
    return slug or "document"


def _fallback_title(text: str, source: str) -> str:
    for line in text.split("\n"):
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= 120 else Path(source).stem.replace("-", " ").replace("_", " ")
    return Path(source).stem


def make_document(data: bytes, source: str, meta: dict[str, str] | None = None, doc_id: str | None = None) -> Document:
    """One file's bytes -> Document. Title: metadata, else the file's own heading/<title>, else first line."""
    text, found_title = extract(data, Path(source).suffix)
    meta = {k: str(v) for k, v in (meta or {}).items() if v not in (None, "")}
    title = meta.pop("title", None) or found_title or _fallback_title(text, source)
    return Document(doc_id=doc_id or doc_id_for(source), title=title, text=text, source=source, metadata=meta)


def read_metadata(folder: Path) -> dict[str, dict[str, str]]:
    path = folder / METADATA_FILE
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CorpusNotFound(f"{path} is not valid JSON: {exc}") from exc
    return {k: v for k, v in raw.items() if not k.startswith("_") and isinstance(v, dict)}


def corpus_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith("."))


def read_corpus(folder: str | Path) -> tuple[list[Document], list[str]]:
    """(documents sorted by id, one warning per file that could not be read). Unreadable files are skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusNotFound(f"corpus folder not found: {folder} (set --corpus or CITEQA_CORPUS)")
    metadata = read_metadata(folder)
    docs: dict[str, Document] = {}
    warnings: list[str] = []
    for path in corpus_files(folder):
        try:
            doc = make_document(path.read_bytes(), path.name, metadata.get(path.name))
        except BadDocument as exc:
            warnings.append(f"skipped {path.name}: {exc}")
            continue
        if doc.doc_id in docs:
            warnings.append(f"skipped {path.name}: its id {doc.doc_id!r} is taken by {docs[doc.doc_id].source}")
            continue
        docs[doc.doc_id] = doc
    return [docs[k] for k in sorted(docs)], warnings

"""The corpus folder -> Documents: verbatim text, id, title, the metadata the document states, and its parts.

A corpus is a folder of documents (index/formats/registry.py lists the types) plus an optional `metadata.json` sidecar:
    {"file-name.txt": {"title": "...", "author": "...", "publisher": "...", "date": "2025-02-05"}, ...}
Keys starting with "_" are notes, not documents.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from index.errors import BadDocument, CorpusNotFound, UnsupportedType
from index.formats import Part, doc_type, read

METADATA_FILE = "metadata.json"
MAX_ID = 160  # characters of a document id (the Milvus store keys rows "<doc_id>#s<n>" in 512)


@dataclass(frozen=True)
class Document:
    doc_id: str  # file name without suffix, e.g. "rubio-arevalo-meeting-feb-2025"
    title: str
    text: str  # every citation offset indexes this string
    source: str  # file name inside the corpus folder
    metadata: dict[str, str] = field(default_factory=dict)
    parts: tuple[Part, ...] = ()  # pages, slides, sheets: offsets into text, in order, non-overlapping

    @property
    def content_hash(self) -> str:
        return text_hash(self.text)

    @property
    def type(self) -> str | None:
        """ "pdf", "docx", ... from the source's suffix."""
        return doc_type(self.source)


@dataclass(frozen=True)
class Skipped:
    """A corpus file that was not indexed, and why: Skipped("scan.bmp", "unsupported file type '.bmp': ...")."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"skipped {self.source}: {self.reason}"


def parts_to_json(parts: tuple[Part, ...]) -> list[dict[str, object]]:
    return [
        {"kind": p.kind, "number": p.number, "label": p.label, "start": p.start, "end": p.end, "ocr": p.ocr}
        for p in parts
    ]


def parts_from_json(rows: list[dict[str, Any]] | None) -> tuple[Part, ...]:
    return tuple(
        Part(
            str(r["kind"]),
            int(r["number"]),
            str(r["label"]),
            int(r["start"]),
            int(r["end"]),
            bool(r.get("ocr", False)),
        )
        for r in rows or ()
    )


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def doc_id_for(file_name: str) -> str:
    """ "Annual Report.pdf" -> "annual-report"; a file in a subfolder keeps its folders apart from other files of
    the same name: "2024/q3/summary.docx" -> "2024-q3-summary"."""
    path = PurePosixPath(file_name)
    stem = str(path.with_suffix("")) if path.suffix else file_name
    slug = re.sub(r"[^a-z0-9._-]+", "-", stem.lower()).strip("-.")
    if len(slug) > MAX_ID:  # a deep path: the end of it, kept apart from others by a hash of the whole
        slug = f"{hashlib.sha256(slug.encode()).hexdigest()[:10]}-{slug[-(MAX_ID - 11) :].strip('-.')}"
    return slug or "document"


def _fallback_title(text: str, source: str) -> str:
    for line in text.split("\n"):
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= 120 else Path(source).stem.replace("-", " ").replace("_", " ")
    return Path(source).stem


def make_document(data: bytes, source: str, meta: dict[str, str] | None = None, doc_id: str | None = None) -> Document:
    """One file's bytes -> Document. Title: metadata, else the file's own heading/<title>/subject, else first line.
    Metadata: the sidecar's, over what the file states (author, date, e-mail sender)."""
    return make_document_noting(data, source, meta, doc_id)[0]


def make_document_noting(
    data: bytes, source: str, meta: dict[str, str] | None = None, doc_id: str | None = None
) -> tuple[Document, tuple[str, ...]]:
    """make_document, plus the reader's warnings about what it left out ("page 4 is a scanned image: ...")."""
    got = read(data, Path(source).suffix)
    if not got.text.strip():
        raise BadDocument("the document has no text")
    meta = {**got.metadata, **{k: str(v) for k, v in (meta or {}).items() if v not in (None, "")}}
    title = meta.pop("title", None) or got.title or _fallback_title(got.text, source)
    doc = Document(
        doc_id=doc_id or doc_id_for(source), title=title, text=got.text, source=source, metadata=meta, parts=got.parts
    )
    return doc, got.warnings


def read_metadata(folder: Path) -> dict[str, dict[str, str]]:
    path = folder / METADATA_FILE
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CorpusNotFound(f"{path} is not valid JSON: {exc}") from exc
    return {k: v for k, v in raw.items() if not k.startswith("_") and isinstance(v, dict)}


def corpus_files(folder: Path, skip: Path | None = None) -> list[tuple[str, Path]]:
    """Every file a user put in the folder or its subfolders, readable or not, as (name, path) sorted by name; the
    name is the path inside the folder ("reports/2024/q3.pdf"), the document's `source`. Left out: hidden files and
    folders, the metadata sidecar at the top, and `skip` (an index folder kept inside the corpus). Symbolic links
    to files are read; links to folders are not followed (no loops)."""
    skip_at = skip.resolve() if skip is not None else None
    out: list[tuple[str, Path]] = []
    for here, dirs, files in os.walk(folder):
        at = Path(here)
        dirs[:] = [d for d in dirs if not d.startswith(".") and (skip_at is None or (at / d).resolve() != skip_at)]
        for f in files:
            path = at / f
            name = path.relative_to(folder).as_posix()
            if f.startswith(".") or name == METADATA_FILE or not path.is_file():
                continue
            out.append((name, path))
    return sorted(out)


def scan_corpus(folder: str | Path) -> tuple[list[Document], list[Skipped], list[str]]:
    """(documents sorted by id, files not indexed with the reason, notes about parts left out of indexed files)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusNotFound(f"corpus folder not found: {folder} (set --corpus or CITEQA_CORPUS)")
    metadata = read_metadata(folder)
    docs: dict[str, Document] = {}
    skipped: list[Skipped] = []
    notes: list[str] = []
    for name, path in corpus_files(folder):
        try:
            doc, warnings = make_document_noting(path.read_bytes(), name, metadata.get(name))
        except (BadDocument, UnsupportedType) as exc:
            skipped.append(Skipped(name, str(exc)))
            continue
        except OSError as exc:
            skipped.append(Skipped(name, f"could not read the file: {exc.strerror or exc}"))
            continue
        if doc.doc_id in docs:
            skipped.append(Skipped(name, f"its id {doc.doc_id!r} is taken by {docs[doc.doc_id].source}"))
            continue
        docs[doc.doc_id] = doc
        notes.extend(f"{name}: {w}" for w in warnings)
    return [docs[k] for k in sorted(docs)], skipped, notes


def read_corpus(folder: str | Path) -> tuple[list[Document], list[str]]:
    """(documents sorted by id, one warning per file not indexed or part left out). Nothing is skipped silently."""
    docs, skipped, notes = scan_corpus(folder)
    return docs, [str(s) for s in skipped] + notes

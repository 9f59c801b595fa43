"""Bytes of a file -> (document text, title); kept for callers of the old API. Readers live in index/formats/."""

from __future__ import annotations

from index.errors import BadDocument
from index.formats import SUFFIXES, read


def extract(data: bytes, suffix: str) -> tuple[str, str | None]:
    """(text, title found in the file or None). Raises UnsupportedType or BadDocument."""
    got = read(data, suffix)
    if not got.text.strip():
        raise BadDocument("the document has no text")
    return got.text, got.title


__all__ = ["SUFFIXES", "extract"]

"""File formats -> document text with titles, metadata and page/slide/sheet parts (one module per family)."""

from index.formats.base import Extracted, Part
from index.formats.registry import SUFFIXES, doc_type, format_for, read, supported

__all__ = ["Extracted", "Part", "SUFFIXES", "doc_type", "format_for", "read", "supported"]

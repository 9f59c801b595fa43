"""The name table: file suffix -> reader, document type and media type. `read(data, suffix)` -> Extracted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from index.errors import UnsupportedType
from index.formats import html, misc, ocr, office, pdf, text
from index.formats.base import Extracted


@dataclass(frozen=True)
class Format:
    type: str  # "pdf", "docx", ... (what GET /v1/documents reports)
    media_type: str
    reader: Callable[[bytes], Extracted]
    library: str  # what reads it (README "Your documents")


_TABLE: dict[str, Format] = {
    ".txt": Format("txt", "text/plain; charset=utf-8", text.read_txt, "charset-normalizer (encoding)"),
    ".md": Format("md", "text/markdown; charset=utf-8", html.read_markdown, "markdown-it-py"),
    ".markdown": Format("md", "text/markdown; charset=utf-8", html.read_markdown, "markdown-it-py"),
    ".html": Format("html", "text/html; charset=utf-8", html.read_html, "html.parser + main-content rules"),
    ".htm": Format("html", "text/html; charset=utf-8", html.read_html, "html.parser + main-content rules"),
    ".pdf": Format("pdf", "application/pdf", pdf.read_pdf, "pypdf (+ pypdfium2 and tesseract for scanned pages)"),
    ".docx": Format(
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        office.read_docx,
        "python-docx",
    ),
    ".pptx": Format(
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        office.read_pptx,
        "python-pptx",
    ),
    ".xlsx": Format(
        "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", office.read_xlsx, "openpyxl"
    ),
    ".csv": Format("csv", "text/csv; charset=utf-8", text.read_csv, "csv (stdlib) + charset-normalizer"),
    ".tsv": Format(
        "csv", "text/tab-separated-values; charset=utf-8", text.read_csv, "csv (stdlib) + charset-normalizer"
    ),
    ".odt": Format("odt", "application/vnd.oasis.opendocument.text", office.read_odt, "odfpy"),
    ".rtf": Format("rtf", "application/rtf", misc.read_rtf, "striprtf"),
    ".epub": Format("epub", "application/epub+zip", misc.read_epub, "ebooklib"),
    ".eml": Format("eml", "message/rfc822", misc.read_eml, "email (stdlib)"),
    ".png": Format("png", "image/png", ocr.read_image, "Pillow + pytesseract (tesseract-ocr)"),
    ".jpg": Format("jpg", "image/jpeg", ocr.read_image, "Pillow + pytesseract (tesseract-ocr)"),
    ".jpeg": Format("jpg", "image/jpeg", ocr.read_image, "Pillow + pytesseract (tesseract-ocr)"),
    ".tif": Format("tiff", "image/tiff", ocr.read_image, "Pillow + pytesseract (tesseract-ocr)"),
    ".tiff": Format("tiff", "image/tiff", ocr.read_image, "Pillow + pytesseract (tesseract-ocr)"),
}

SUFFIXES: tuple[str, ...] = tuple(_TABLE)


def supported() -> str:
    """ ".txt, .md, ..." for messages."""
    return ", ".join(SUFFIXES)


def format_for(suffix_or_name: str) -> Format:
    """ ".docx" or "report.docx" -> its Format; UnsupportedType naming what citeqa reads."""
    name = suffix_or_name.lower()
    suffix = (
        name if name.startswith(".") and name.count(".") == 1 else ("." + name.rsplit(".", 1)[1] if "." in name else "")
    )
    fmt = _TABLE.get(suffix)
    if fmt is None:
        raise UnsupportedType(f"unsupported file type {suffix or '(none)'!r}: citeqa reads {supported()}")
    return fmt


def read(data: bytes, suffix: str) -> Extracted:
    """File bytes -> Extracted. Raises UnsupportedType or BadDocument (the message says why, and the fix)."""
    return format_for(suffix).reader(data)


def doc_type(source: str) -> str | None:
    """ "report.PDF" -> "pdf"; None for a suffix citeqa does not read."""
    try:
        return format_for(source).type
    except UnsupportedType:
        return None

"""Images -> text with Debian's tesseract (through pytesseract). PNG, JPEG, TIFF (every frame a page)."""

from __future__ import annotations

import io
import shutil
from typing import Any

from index.errors import BadDocument
from index.formats.base import Extracted, Part, Section, assemble, require_text

INSTALL_HINT = "install tesseract for OCR: apt-get install tesseract-ocr"
OCR_DPI = 300


def available() -> bool:
    return shutil.which("tesseract") is not None


def image_text(image: Any) -> str:
    """A PIL image -> its text (English). The caller checks `available()` first."""
    import pytesseract

    gray = image.convert("L")
    try:
        return str(pytesseract.image_to_string(gray, lang="eng", config="--psm 3"))
    except pytesseract.TesseractError as exc:
        raise BadDocument(f"OCR failed: {str(exc).strip()[:200]}") from exc


def read_image(data: bytes) -> Extracted:
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        raise BadDocument(f"could not read the image: {exc}") from exc
    if not available():
        raise BadDocument(f"an image is read by OCR, and tesseract is not installed: {INSTALL_HINT}")
    frames = [f.copy() for f in ImageSequence.Iterator(image)]
    sections = [Section("page", i, f"p. {i}", image_text(f), ocr=True) for i, f in enumerate(frames, start=1)]
    text, parts = assemble(sections)
    require_text(text, "image (OCR found no text in it)")
    if len(frames) == 1:  # one picture: cited as "image", not as a page of something
        parts = (Part("page", 1, "image", 0, len(text), ocr=True),)
    return Extracted(text, None, {}, parts)

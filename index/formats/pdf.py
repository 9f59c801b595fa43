"""PDF -> text with page boundaries (pypdf), OCR for pages without a text layer (pypdfium2 renders, tesseract reads).

Each page's lines are rejoined into paragraphs: a line that fills the page width or ends mid-sentence continues on
the next ("the agree-\\nment was signed" -> "the agreement was signed"); running headers/footers repeated on most
pages and bare page numbers are dropped. Pages are separated by a blank line and carried as Parts ("p. 3").
"""

from __future__ import annotations

import io
import re
from collections import Counter

from index.errors import BadDocument
from index.formats import ocr
from index.formats.base import Extracted, Section, assemble

_PAGE_NUMBER = re.compile(r"^(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$|^[-–]\s*\d{1,4}\s*[-–]$", re.IGNORECASE)
_MIN_TEXT = 20  # fewer visible characters than this on a page with an image: a scanned page


def _norm(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.split()).lower())


def _running_lines(pages: list[list[str]]) -> set[str]:
    """Header/footer lines (digits ignored) found at the top or bottom of most pages (of both, in a 2-page file)."""
    if len(pages) < 2:
        return set()
    counts: Counter[str] = Counter()
    for lines in pages:
        edge = [ln for ln in lines if ln.strip()]
        counts.update({_norm(ln) for ln in edge[:2] + edge[-2:]})
    return {k for k, n in counts.items() if n >= max(2, 0.6 * len(pages))}


def paragraphs(lines: list[str]) -> str:
    """Hard-wrapped lines -> paragraphs, one per line, a blank line between them."""
    lines = [" ".join(ln.split()) for ln in lines]
    full = sorted(len(ln) for ln in lines if ln)
    width = (full[int(0.9 * (len(full) - 1))] if len(full) >= 10 else full[-1]) if full else 0
    out: list[str] = []
    cur, last, gap = "", "", False
    for line in lines:
        if not line:
            gap = bool(cur)
            continue
        if not cur:
            cur = last = line
            continue
        ended = re.search(r"[.!?:;][\"”’)\]]*$", last)
        wide = (width >= 40 and len(last) >= 0.75 * width) or (not ended and len(last) >= 0.6 * width)
        lower = line[:1].islower()
        if gap and not (lower and not ended):
            out.append(cur)  # a blank line ends the paragraph, unless the sentence plainly goes on
            cur = line
        elif re.search(r"[^\W\d_]-$", last) and lower:
            cur = cur[:-1] + line  # "agree-" + "ment"
        elif lower or wide or gap:
            cur = f"{cur} {line}"  # a wrap: the line filled the width, or the sentence goes on in lower case
        else:
            out.append(cur)  # a short line: the end of a paragraph, a heading, a list item
            cur = line
        last, gap = line, False
    if cur:
        out.append(cur)
    return "\n\n".join(out)


def _page_text(page: object) -> str:
    """The page's text; layout mode first, for its blank lines between paragraphs, unless the page has columns
    (text side by side), which the plain mode reads one column after the other."""
    try:
        laid = page.extract_text(extraction_mode="layout") or ""  # type: ignore[attr-defined]
    except Exception:  # layout mode fails on some fonts; the plain mode still reads them
        laid = ""
    lines = [ln for ln in laid.split("\n") if ln.strip()]
    columns = sum(bool(re.search(r"\S {4,}\S", ln.strip())) for ln in lines)
    if lines and columns <= 0.2 * len(lines):
        return laid
    return page.extract_text() or ""  # type: ignore[attr-defined]


def _has_image(page: object) -> bool:
    try:
        return bool(page.images)  # type: ignore[attr-defined]
    except Exception:  # pypdf raises on exotic image filters; a page we can't inspect is treated as an image page
        return True


def _ocr_pages(data: bytes, indices: list[int]) -> dict[int, str]:
    """{page index: its text read by tesseract from a 300 dpi rendering}."""
    if not indices:
        return {}
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        return {i: ocr.image_text(pdf[i].render(scale=ocr.OCR_DPI / 72).to_pil()) for i in indices}
    except pdfium.PdfiumError as exc:
        raise BadDocument(f"could not render a scanned PDF page for OCR: {exc}") from exc
    finally:
        pdf.close()


def read_pdf(data: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except DependencyError as exc:
                raise BadDocument(f"the PDF is encrypted and needs the `cryptography` package: {exc}") from exc
            if not opened:
                raise BadDocument("the PDF is password-protected: save a copy without the password and add that")
        raw = [_page_text(page) for page in reader.pages]
        # Only a page with (almost) no text layer is looked at for images: a scanned page.
        images = [len("".join(t.split())) < 200 and _has_image(page) for t, page in zip(raw, reader.pages, strict=True)]
        info: dict[str, object] = dict(reader.metadata or {})
    except BadDocument:
        raise
    except FileNotDecryptedError as exc:
        raise BadDocument("the PDF is password-protected: save a copy without the password and add that") from exc
    except Exception as exc:  # pypdf raises assorted errors on damaged files
        raise BadDocument(f"could not read PDF: {exc}") from exc
    pages = [t.replace("\r\n", "\n").replace("\r", "\n").split("\n") for t in raw]
    running = _running_lines(pages)
    texts = [
        paragraphs([ln for ln in lines if _norm(ln) not in running and not _PAGE_NUMBER.match(ln.strip())])
        for lines in pages
    ]
    scanned = [i for i, t in enumerate(texts) if len("".join(t.split())) < _MIN_TEXT and images[i]]
    warnings = [f"page {i + 1} is a scanned image: {ocr.INSTALL_HINT}" for i in scanned] if not ocr.available() else []
    read = _ocr_pages(data, scanned) if not warnings else {}
    sections = [
        Section("page", i + 1, f"p. {i + 1}", paragraphs(read[i].split("\n")) if i in read else t, i in read)
        for i, t in enumerate(texts)
        if i in read or i not in scanned
    ]
    text, parts = assemble(sections)
    if not text.strip():
        if warnings:
            raise BadDocument(f"the PDF has only scanned pages and tesseract is not installed: {ocr.INSTALL_HINT}")
        raise BadDocument("the PDF has no text")
    meta = {}
    for key, name in (("/Author", "author"), ("/Title", "title")):
        value = info.get(key)
        if isinstance(value, str) and value.strip():
            meta[name] = value.strip()
    title = meta.pop("title", None)
    if title and (re.search(r"\.(docx?|pdf|txt|odt)$", title, re.I) or title.lower() in ("untitled", "title")):
        title = None
    return Extracted(text, title, meta, parts, tuple(warnings))

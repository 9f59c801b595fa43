"""Bytes of a .txt/.md/.html/.pdf file -> the document text that every offset indexes."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

from index.errors import BadDocument, UnsupportedType

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")

# Tags whose start or end is a line break in the extracted text; everything else is inline.
_BLOCK = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption", "figure",
    "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
    "pre", "section", "table", "td", "th", "title", "tr", "ul",
}
_SKIP = {"script", "style", "noscript", "template", "svg", "head"}


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self.h1: list[str] = []
        self._skip = 0
        self._in_title = False
        self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in _SKIP:
            self._skip += 1
        if tag == "h1":
            self._in_h1 = True
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _SKIP and self._skip:
            self._skip -= 1
        if tag == "h1":
            self._in_h1 = False
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
            return
        if self._skip:
            return
        if self._in_h1:
            self.h1.append(data)
        self.parts.append(data)


def _tidy(text: str) -> str:
    """Collapse runs of spaces inside lines and of blank lines; the result is the verbatim document text."""
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.split("\n")]
    out = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", out).strip()


def html_to_text(raw: str) -> tuple[str, str | None]:
    """(text, title or None) of an HTML page: visible text, one block per line."""
    parser = _TextCollector()
    try:
        parser.feed(raw)
        parser.close()
    except Exception as exc:  # html.parser is lenient; anything it still rejects is a broken file
        raise BadDocument(f"could not parse HTML: {exc}") from exc
    title = " ".join("".join(parser.title).split()) or " ".join("".join(parser.h1).split()) or None
    return _tidy("".join(parser.parts)), title


def pdf_to_text(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):  # an owner-only password (empty user password) opens
            raise BadDocument("the PDF is password-protected: save a copy without the password and add that")
        pages = [page.extract_text() or "" for page in reader.pages]
    except BadDocument:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise BadDocument(f"could not read PDF: {exc}") from exc
    except Exception as exc:  # pypdf raises assorted errors on damaged files
        raise BadDocument(f"could not read PDF: {exc}") from exc
    return _tidy("\n\n".join(pages))


def decode_text(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadDocument(f"the file is not UTF-8 text (byte {exc.start} is invalid)") from exc
    if "\x00" in text:
        raise BadDocument("the file looks binary (it contains NUL bytes), not text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def extract(data: bytes, suffix: str) -> tuple[str, str | None]:
    """(text, title found in the file or None). Raises UnsupportedType or BadDocument."""
    suffix = suffix.lower()
    if suffix not in SUFFIXES:
        raise UnsupportedType(f"unsupported file type {suffix or '(none)'!r}: citeqa reads {', '.join(SUFFIXES)}")
    if suffix == ".pdf":
        text, title = pdf_to_text(data), None
    elif suffix in (".html", ".htm"):
        text, title = html_to_text(decode_text(data))
    else:
        text = decode_text(data)
        match = re.search(r"^#{1,3}\s+(.+?)\s*#*\s*$", text, flags=re.M) if suffix != ".txt" else None
        title = match.group(1) if match else None
    if not text.strip():
        raise BadDocument("the document has no text")
    return text, title

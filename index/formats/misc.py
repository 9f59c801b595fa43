"""RTF (striprtf), EPUB (ebooklib, chapters read as HTML), e-mail .eml (stdlib email: subject -> title,
sender and date -> metadata, the plain body or else the HTML body)."""

from __future__ import annotations

import io
import tempfile
from email import policy
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path

from index.errors import BadDocument
from index.formats.base import Extracted, Section, assemble, require_text, tidy
from index.formats.html import html_to_text
from index.formats.text import decode_text


def read_rtf(data: bytes) -> Extracted:
    from striprtf.striprtf import rtf_to_text

    raw = data.decode("latin-1")  # RTF is 7-bit; \'xx escapes carry the other characters
    if not raw.lstrip().startswith("{\\rtf"):
        raise BadDocument("not an RTF file (it does not start with {\\rtf)")
    try:
        text = str(rtf_to_text(raw, errors="ignore"))  # type: ignore[no-untyped-call]
    except Exception as exc:  # striprtf raises plain errors on malformed groups
        raise BadDocument(f"could not read RTF: {exc}") from exc
    return Extracted(require_text(tidy(text)))


def read_epub(data: bytes) -> Extracted:
    import ebooklib
    from ebooklib import epub

    with tempfile.TemporaryDirectory() as tmp:  # ebooklib wants a path
        path = Path(tmp) / "book.epub"
        path.write_bytes(data)
        try:
            book = epub.read_epub(str(path), options={"ignore_ncx": True})
        except Exception as exc:  # ebooklib raises assorted errors on broken books
            raise BadDocument(f"could not read EPUB: {exc}") from exc
    sections = []
    order = [book.get_item_with_id(idref) for idref, _ in book.spine]
    docs = [i for i in order if i is not None and i.get_type() == ebooklib.ITEM_DOCUMENT]
    for number, item in enumerate(docs, start=1):
        text, heading = html_to_text(decode_text(item.get_content()), drop_chrome=False)
        sections.append(Section("section", number, heading or f"chapter {number}", text))
    text, parts = assemble(sections)
    meta: dict[str, str] = {}
    titles = book.get_metadata("DC", "title")
    creators = book.get_metadata("DC", "creator")
    dates = book.get_metadata("DC", "date")
    if creators:
        meta["author"] = str(creators[0][0])
    if dates:
        meta["date"] = str(dates[0][0])[:10]
    return Extracted(require_text(text, "book"), str(titles[0][0]) if titles else None, meta, parts)


def read_eml(data: bytes) -> Extracted:
    try:
        message = BytesParser(policy=policy.default).parse(io.BytesIO(data))
    except Exception as exc:  # the parser is lenient; this is a truly broken file
        raise BadDocument(f"could not read the e-mail: {exc}") from exc
    meta: dict[str, str] = {}
    for header, name in (("From", "author"), ("To", "to")):
        if message.get(header):
            meta[name] = " ".join(str(message[header]).split())
    if message.get("Date"):
        try:
            meta["date"] = parsedate_to_datetime(str(message["Date"])).date().isoformat()
        except (TypeError, ValueError):
            meta["date"] = str(message["Date"])
    body = message.get_body(preferencelist=("plain", "html"))
    text = ""
    if body is not None:
        try:
            content = body.get_content()
        except (LookupError, UnicodeError):
            payload = body.get_payload(decode=True)
            content = decode_text(payload if isinstance(payload, bytes) else b"")
        text = html_to_text(content)[0] if body.get_content_type() == "text/html" else tidy(content)
    subject = " ".join(str(message.get("Subject", "")).split()) or None
    return Extracted(require_text(text, "e-mail"), subject, meta)

"""Plain text and CSV: bytes in any common encoding -> text.

UTF-8 (with or without BOM), UTF-16/32 with a BOM, then whatever charset-normalizer finds (cp1252, Latin-1,
Shift-JIS, ...). Only bytes that decode to nothing sensible (binary) are refused.
"""

from __future__ import annotations

import codecs
import csv
import io

from index.errors import BadDocument
from index.formats.base import Extracted, require_text, table_lines, tidy

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


# cp1252 bytes that other Latin code pages read as letters: "crème" is not "crčme". A cp1252 reading with none of
# these rare signs (³ ¹ œ Ÿ ... which Polish or Czech text decoded as cp1252 is full of) is taken over the guess.
_LATIN_GUESSES = ("cp1250", "cp1252", "cp1257", "latin_1", "iso8859", "mac_", "cp850", "cp437")
_RARE_IN_CP1252 = set("³¹²¼½¾ŸŒœŠšŽžˆ‰‹›¦¨¯´¸¤ºª¬µ")


def _western(data: bytes) -> str | None:
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    return None if any(ch in _RARE_IN_CP1252 for ch in text) else text


def _looks_binary(text: str) -> bool:
    control = sum(1 for ch in text[:20000] if ord(ch) < 32 and ch not in "\n\r\t\f\v")
    return "\x00" in text or control > max(2, len(text[:20000]) // 100)


def decode_text(data: bytes) -> str:
    """Bytes -> str with \\n line ends. Raises BadDocument for binary data."""
    text: str | None = None
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as exc:
                raise BadDocument(f"the file starts with a {codec} byte-order mark but is not {codec} text") from exc
            break
    if text is None:
        if b"\x00" in data[:8192]:
            raise BadDocument("the file looks binary (it contains NUL bytes), not text")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            from charset_normalizer import from_bytes

            best = from_bytes(data).best()
            if best is None:
                raise BadDocument("the file is not text in any encoding citeqa recognises (it looks binary)") from None
            text = str(best)
            # Few non-ASCII bytes is Western text with accents; CJK, Cyrillic or Greek text is mostly high bytes.
            sparse = sum(b >= 0x80 for b in data) < 0.15 * len(data)
            if best.encoding != "cp1252" and (best.encoding.startswith(_LATIN_GUESSES) or sparse):
                text = _western(data) or text
    if _looks_binary(text):
        raise BadDocument("the file looks binary (control characters), not text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_txt(data: bytes) -> Extracted:
    return Extracted(require_text(decode_text(data)))


def read_csv(data: bytes) -> Extracted:
    """A CSV/TSV table: one line per row, each cell with its column header ("Region: North; Sales: 7,421")."""
    raw = decode_text(data)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(raw[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(csv.reader(io.StringIO(raw), dialect))
    except csv.Error as exc:
        raise BadDocument(f"could not read CSV: {exc}") from exc
    return Extracted(require_text(tidy("\n".join(table_lines(rows))), "table"))

"""Office files: .docx (python-docx), .pptx (python-pptx), .xlsx (openpyxl), .odt (odfpy).

Word/ODT: paragraphs and tables in body order, a table as one line per row with its headers. Slides: one Part per
slide ("slide 2"), shapes read top to bottom, then the speaker notes. Spreadsheets: one Part per sheet
("sheet Sales"), one line per row with its headers ("Region: North; Sales: 7,421").
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

from index.errors import BadDocument
from index.formats.base import Extracted, Section, assemble, cell_text, require_text, table_lines, tidy


def _open(kind: str, load: Callable[[io.BytesIO], Any], data: bytes) -> Any:
    try:
        return load(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise BadDocument(f"could not read the {kind} file (damaged, or another format): {exc}") from exc
    except Exception as exc:  # the office libraries raise their own assorted errors on broken files
        raise BadDocument(f"could not read the {kind} file: {exc}") from exc


def _core_meta(props: Any) -> tuple[str | None, dict[str, str]]:
    meta: dict[str, str] = {}
    if getattr(props, "author", None):
        meta["author"] = str(props.author).strip()
    when = getattr(props, "created", None)
    if when is not None:
        meta["date"] = when.date().isoformat()
    title = (getattr(props, "title", None) or "").strip() or None
    return title, meta


def read_docx(data: bytes) -> Extracted:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = _open("Word", docx.Document, data)
    lines: list[str] = []
    first_heading = None
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            text = block.text.strip()
            style = (block.style.name if block.style is not None else "") or ""
            if text and first_heading is None and (style.startswith("Heading") or style == "Title"):
                first_heading = text
            lines.append(text)
        elif isinstance(block, Table):
            rows = [[" ".join(c.text.split()) for c in row.cells] for row in block.rows]
            lines.extend(["", *table_lines(_dedupe_merged(rows)), ""])
    title, meta = _core_meta(document.core_properties)
    text = require_text(tidy("\n".join(lines)))
    return Extracted(text, title or first_heading, meta)


def _dedupe_merged(rows: list[list[str]]) -> list[list[str]]:
    """python-docx repeats a merged cell's text in every grid cell it spans; keep it once per row."""
    out = []
    for row in rows:
        out.append([c if i == 0 or c != row[i - 1] else "" for i, c in enumerate(row)])
    return out


def _shape_lines(shape: Any) -> list[str]:
    lines: list[str] = []
    if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        lines.extend(p_text for p in shape.text_frame.paragraphs if (p_text := "".join(r.text for r in p.runs).strip()))
    if getattr(shape, "has_table", False) and shape.has_table:
        rows = [[" ".join(c.text.split()) for c in row.cells] for row in shape.table.rows]
        lines.extend(table_lines(rows))
    for child in getattr(shape, "shapes", ()):  # groups
        lines.extend(_shape_lines(child))
    return lines


def read_pptx(data: bytes) -> Extracted:
    from pptx import Presentation

    deck = _open("PowerPoint", Presentation, data)
    sections = []
    first_title = None
    for number, slide in enumerate(deck.slides, start=1):
        shapes = sorted(slide.shapes, key=lambda s: ((s.top or 0), (s.left or 0)))
        lines: list[str] = []
        for shape in shapes:
            lines.extend(_shape_lines(shape))
        if first_title is None and slide.shapes.title is not None and slide.shapes.title.has_text_frame:
            first_title = slide.shapes.title.text_frame.text.strip() or None
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame.text.strip() if slide.notes_slide.notes_text_frame else ""
            if notes:
                lines += ["", notes]
        sections.append(Section("slide", number, f"slide {number}", "\n".join(lines)))
    text, parts = assemble(sections)
    title, meta = _core_meta(deck.core_properties)
    return Extracted(require_text(text, "presentation"), title or first_title, meta, parts)


def _xlsx_cell(cell: Any) -> str:
    value = cell.value
    fmt = str(getattr(cell, "number_format", "") or "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "%" in fmt:
            return f"{value * 100:.{fmt.split('.')[1].count('0') if '.' in fmt else 0}f}%"
        if "#,##0" in fmt:
            decimals = fmt.split(".")[1].count("0") if "." in fmt.split(";")[0] else 0
            return f"{value:,.{decimals}f}"
    return cell_text(value)


def read_xlsx(data: bytes) -> Extracted:
    import openpyxl

    book = _open("Excel", lambda fh: openpyxl.load_workbook(fh, read_only=True, data_only=True), data)
    sections = []
    try:
        for number, sheet in enumerate(book.worksheets, start=1):
            rows = [[_xlsx_cell(c) for c in row] for row in sheet.iter_rows()]
            sections.append(Section("sheet", number, f"sheet {sheet.title}", "\n".join(table_lines(rows))))
        title, meta = _core_meta(book.properties)
    finally:
        book.close()
    text, parts = assemble(sections)
    return Extracted(require_text(text, "spreadsheet"), title, meta, parts)


def read_odt(data: bytes) -> Extracted:
    from odf import teletype
    from odf.namespaces import TABLENS, TEXTNS
    from odf.opendocument import load

    document = _open("OpenDocument", load, data)
    lines: list[str] = []
    first_heading = None

    def walk(node: Any) -> None:
        nonlocal first_heading
        for child in node.childNodes:
            qname = getattr(child, "qname", None)
            if qname == (TEXTNS, "h") or qname == (TEXTNS, "p"):
                text = teletype.extractText(child).strip()
                if qname == (TEXTNS, "h") and text and first_heading is None:
                    first_heading = text
                lines.append(text)
            elif qname == (TABLENS, "table"):
                rows = []
                for row in child.getElementsByType(_odf_row()):
                    rows.append(
                        [
                            " ".join(teletype.extractText(c).split())
                            for c in row.childNodes
                            if getattr(c, "qname", None) == (TABLENS, "table-cell")
                        ]
                    )
                lines.extend(["", *table_lines(rows), ""])
            elif qname is not None:
                walk(child)

    walk(document.text)
    meta: dict[str, str] = {}
    title = None
    for node in document.meta.childNodes:
        name = getattr(node, "qname", (None, None))[1]
        value = teletype.extractText(node).strip()
        if name == "title" and value:
            title = value
        elif name in ("initial-creator", "creator") and value:
            meta.setdefault("author", value)
        elif name == "creation-date" and value:
            meta["date"] = value[:10]
    return Extracted(require_text(tidy("\n".join(lines))), title or first_heading, meta)


def _odf_row() -> Any:
    from odf.table import TableRow

    return TableRow

"""Build corpus/riverbend-water-report.pdf from riverbend-water-report.txt: a plain multi-page PDF (Helvetica,
text wrapped at 90 characters, 46 lines a page), written by hand with the standard library only.

    python3 tests/gold2/make_pdf.py        # rewrites the PDF; the test suite checks it is up to date
"""

from __future__ import annotations

import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "riverbend-water-report.txt"
TARGET = HERE / "corpus" / "riverbend-water-report.pdf"
LINES_PER_PAGE = 46


def _lines(text: str) -> list[str]:
    out: list[str] = []
    for para in text.split("\n\n"):
        out.extend(textwrap.wrap(" ".join(para.split()), 90) or [""])
        out.append("")
    return out


def _escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def build(text: str) -> bytes:
    lines = _lines(text)
    pages = [lines[i : i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)]
    objs: list[bytes] = []
    n_pages = len(pages)
    # 1 catalog, 2 pages, 3 font, then per page: page object, content stream
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n_pages))
    objs.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objs.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    for i, page in enumerate(pages):
        ops = ["BT", "/F1 10 Tf", "14 TL", "56 760 Td"]
        for ln in page:
            ops.append(f"({_escape(ln)}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("cp1252")
        objs.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {5 + 2 * i} 0 R >>".encode()
        )
        objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


if __name__ == "__main__":
    TARGET.write_bytes(build(SOURCE.read_text(encoding="utf-8")))
    print(f"wrote {TARGET}")

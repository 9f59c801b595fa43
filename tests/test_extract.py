"""Reading files: verbatim text for .txt/.md, real parsers for HTML and PDF, clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.documents import make_document, read_corpus
from index.errors import BadDocument, CorpusNotFound, UnsupportedType


def tiny_pdf(lines: list[str]) -> bytes:
    """A minimal one-page PDF with Helvetica text, built by hand with a correct xref table."""
    stream = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({ln}) Tj T*" for ln in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_txt_is_kept_verbatim() -> None:
    raw = "Title line\n\nFirst paragraph, wrapped\nacross two lines.\n"
    doc = make_document(raw.encode(), "notes.txt")
    assert doc.text == raw
    assert doc.doc_id == "notes"
    assert doc.title == "Title line"


def test_markdown_title_from_first_heading() -> None:
    doc = make_document(b"Intro text.\n\n# The Real Title\n\nBody text here.", "My File.md")
    assert doc.title == "The Real Title"
    assert doc.doc_id == "my-file"


def test_html_text_without_scripts_styles_or_tags() -> None:
    html = (
        "<html><head><title>Page Title</title><style>p{color:red}</style></head><body>"
        "<nav>Home</nav><h1>Heading</h1><p>First <b>bold</b> paragraph.</p>"
        "<script>alert('x')</script><p>Second&nbsp;paragraph &amp; more.</p></body></html>"
    )
    doc = make_document(html.encode(), "page.html")
    assert doc.title == "Page Title"
    assert "First bold paragraph." in doc.text
    assert "Second paragraph & more." in doc.text
    assert "alert" not in doc.text and "color:red" not in doc.text and "<" not in doc.text
    assert doc.text.index("Heading") < doc.text.index("First bold")


def test_pdf_text_is_extracted() -> None:
    doc = make_document(tiny_pdf(["Guatemala signed the agreement in 2019.", "It was suspended in 2021."]), "memo.pdf")
    assert "Guatemala signed the agreement in 2019." in doc.text
    assert "suspended in 2021" in doc.text


@pytest.mark.parametrize(
    ("data", "name", "error", "words"),
    [
        (b"%PDF-1.4\nthis is not really a pdf", "broken.pdf", BadDocument, "PDF"),
        (bytes(range(1, 32)) * 40, "binary.txt", BadDocument, "binary"),
        (b"text with a \x00 nul", "nul.txt", BadDocument, "binary"),
        (b"   \n\n  ", "empty.txt", BadDocument, "no text"),
        (b"PK\x03\x04", "report.docx", BadDocument, "Word"),
        (b"MZ\x90\x00", "setup.exe", UnsupportedType, ".docx"),  # the message names what citeqa reads
    ],
)
def test_bad_files_raise_clear_errors(data: bytes, name: str, error: type[Exception], words: str) -> None:
    with pytest.raises(error) as info:
        make_document(data, name)
    assert words in str(info.value)


def test_corpus_picks_up_dropped_files_and_skips_unreadable(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Alpha document text.")
    (tmp_path / "b.md").write_text("# Beta\n\nBeta body.")
    (tmp_path / "c.html").write_text("<p>Gamma page.</p>")
    (tmp_path / "d.pdf").write_bytes(tiny_pdf(["Delta pdf text."]))
    (tmp_path / "e.txt").write_bytes(b"\x01\x02\x03\x04\x05\x06 bad" * 10)
    (tmp_path / "notes.docx").write_bytes(b"not a zip")
    (tmp_path / "metadata.json").write_text('{"a.txt": {"title": "Alpha Title", "date": "2024-01-02"}, "_about": "x"}')
    docs, warnings = read_corpus(tmp_path)
    assert [d.doc_id for d in docs] == ["a", "b", "c", "d"]
    assert docs[0].title == "Alpha Title" and docs[0].metadata == {"date": "2024-01-02"}
    assert docs[1].title == "Beta"
    assert len(warnings) == 2 and "e.txt" in warnings[0] and "binary" in warnings[0]
    assert "notes.docx" in warnings[1] and "Word" in warnings[1]


def test_missing_corpus_folder(tmp_path: Path) -> None:
    with pytest.raises(CorpusNotFound, match="corpus folder not found"):
        read_corpus(tmp_path / "nope")

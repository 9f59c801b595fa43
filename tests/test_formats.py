"""Every format reads into clean text with exact parts (pages, slides, sheets); encodings; nothing skipped silently.
Fast: no model. Files are written here by the writer libraries (tests/format_files.py)."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest

from index.documents import make_document, scan_corpus
from index.errors import BadDocument, UnsupportedType
from index.formats import Part, read
from index.formats import ocr as ocr_mod
from index.formats.pdf import paragraphs
from qa.locate import where
from tests import format_files as ff

NEEDS_TESSERACT = pytest.mark.skipif(
    shutil.which("tesseract") is None and os.environ.get("CI") != "true",
    reason="tesseract is not installed (apt-get install tesseract-ocr); CI installs it",
)


def part_text(text: str, part: Part) -> str:
    return text[part.start : part.end]


def assert_parts_tile(text: str, parts: tuple[Part, ...]) -> None:
    """In order, non-overlapping, inside the text, each starting and ending on visible text."""
    prev = 0
    for p in parts:
        assert prev <= p.start < p.end <= len(text)
        assert text[p.start : p.end] == text[p.start : p.end].strip()
        prev = p.end


def test_docx_paragraphs_table_rows_title_author() -> None:
    doc = make_document(ff.docx_file(), "harvest.docx")
    assert doc.title == "Coffee cooperative harvest report" and doc.metadata["author"] == "Lucía Ramírez"
    assert "shipped 3,200 sacks of washed arabica to Hamburg in March" in doc.text
    assert "Region: Huehuetenango; Sacks: 3,200." in doc.text.split("\n")
    assert doc.type == "docx"


def test_pptx_slide_parts_carry_each_slide() -> None:
    doc = make_document(ff.pptx_file(), "deck.pptx")
    assert [p.label for p in doc.parts] == ["slide 1", "slide 2", "slide 3"]
    assert_parts_tile(doc.text, doc.parts)
    second = part_text(doc.text, doc.parts[1])
    assert second.startswith("Warehouse plans") and "Escuintla opens in September 2026" in second
    start = doc.text.index("Escuintla")
    assert where(doc.parts, start, start + 9) == {"page": 2, "page_end": 2, "location": "slide 2", "ocr": False}


def test_xlsx_sheet_parts_one_row_per_line_with_headers() -> None:
    doc = make_document(ff.xlsx_file(), "sales.xlsx")
    assert [p.label for p in doc.parts] == ["sheet Notes", "sheet Sales"]
    sales = part_text(doc.text, doc.parts[1]).split("\n")
    assert sales == [
        "Region: North; Quarter: Q3; Sales: 7,421.",
        "Region: South; Quarter: Q3; Sales: 5,210.",
        "Region: East; Quarter: Q3; Sales: 6,034.",
    ]
    at = doc.text.index("7,421")
    assert where(doc.parts, at, at + 5)["location"] == "sheet Sales"


def test_csv_rows_with_headers() -> None:
    got = read(ff.csv_file(), ".csv")
    assert got.text.split("\n") == [
        "Port: Puerto Quetzal; Vessel calls: 1310; Main cargo: containers.",
        "Port: Santo Tomás de Castilla; Vessel calls: 980; Main cargo: bananas.",
    ]
    semicolons = read("Año;Lluvia (mm)\n2023;1.210\n".encode("cp1252"), ".csv")
    assert semicolons.text == "Año: 2023; Lluvia (mm): 1.210."


def test_odt_rtf_epub() -> None:
    odt = make_document(ff.odt_file(), "minutes.odt")
    assert odt.title == "Water committee minutes" and "approved a new pipeline to the upper villages" in odt.text
    rtf = make_document(ff.rtf_file(), "visit.rtf")
    assert "The café owners in Quetzaltenango said tourism fell by a third" in rtf.text and "\\" not in rtf.text
    epub = make_document(ff.epub_file(), "markets.epub")
    assert epub.title == "A short history of the highland markets" and epub.metadata["author"] == "Marta Chávez"
    assert [p.label for p in epub.parts] == ["Origins", "Trade"]
    assert "backstrap looms" in part_text(epub.text, epub.parts[1])


def test_eml_subject_sender_date_as_metadata() -> None:
    doc = make_document(ff.eml_file(), "border.eml")
    assert doc.title == "Shipment delayed at the border"
    assert (
        doc.metadata["author"] == "Diego Morales <diego.morales@example.org>" and doc.metadata["date"] == "2025-03-04"
    )
    assert "held at the El Carmen crossing until customs inspects the seals on Thursday." in doc.text
    assert "Subject:" not in doc.text


def test_web_page_chrome_is_not_indexed() -> None:
    doc = make_document(ff.web_page(), "drip.html")
    assert doc.title == "Tomato growers switch to drip irrigation"
    assert (
        "Farmers in the Salamá valley cut their water use by forty percent after replacing furrow irrigation with drip lines"
    ) in doc.text  # a source line break inside <p> is a space, as a browser shows it
    for chrome in (
        "cookies",
        "Accept all",
        "Manage preferences",
        "About us",
        "Share on Facebook",
        "Tweet",
        "Copyright",
        "Home",
    ):
        assert chrome not in doc.text


def test_markdown_is_the_text_a_reader_sees() -> None:
    doc = make_document(ff.markdown_file(), "seeds.md")
    assert doc.title == "Seed bank inventory"
    assert "The seed bank in Chimaltenango holds 7421 samples of native maize, see the catalogue." in doc.text
    assert "rsync -a samples/ backup/" in doc.text and "Crop: Beans; Samples: 1,980." in doc.text
    for markup in ("**", "#", "](", "http", "```", "shields", "build", "|", "author:"):
        assert markup not in doc.text


def test_pdf_pages_paragraphs_and_no_running_headers() -> None:
    pages = [
        [
            "The review covers the western highlands and the coastal plain, where most of the new investment went in "
            "the last two years. Road building dominated the spending across every department.",
            "A second paragraph explains the method: interviews with mayors, budget documents and site visits.",
        ],
        [
            "The irrigation programme in Zacapa doubled melon exports between 2021 and 2024, while the programme in "
            "Jutiapa stalled for lack of engineers."
        ],
        ["The last page lists recommendations for the next budget cycle."],
    ]
    doc = make_document(ff.pdf_file(pages), "review.pdf")
    assert [p.label for p in doc.parts] == ["p. 1", "p. 2", "p. 3"]
    assert_parts_tile(doc.text, doc.parts)
    assert part_text(doc.text, doc.parts[0]).split("\n\n") == pages[0]  # wrapped lines rejoined, paragraphs kept
    assert part_text(doc.text, doc.parts[1]) == pages[1][0]
    assert "Regional development review" not in doc.text and "Page 2 of 3" not in doc.text
    at = doc.text.index("Zacapa")
    assert where(doc.parts, at, at + 6)["location"] == "p. 2"
    span = where(doc.parts, doc.text.index("dominated"), doc.text.index("Zacapa"))
    assert span == {"page": 1, "page_end": 2, "location": "pp. 1–2", "ocr": False}


def test_pdf_hard_wraps_and_hyphens_do_not_split_words() -> None:
    lines = [
        "The ministry signed the agree-",
        "ment with the port authority in",
        "May 2024.",
        "",
        "Budget",
        "Funding comes from the develop-",
        "ment bank.",
    ]
    assert paragraphs(lines) == (
        "The ministry signed the agreement with the port authority in May 2024.\n\nBudget\n\nFunding comes from the development bank."
    )


def test_encrypted_pdfs() -> None:
    from pypdf import PdfReader, PdfWriter

    plain = ff.pdf_file([["The customs office moved to Tecún Umán in 2023."]])

    def encrypted(user: str) -> bytes:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(plain)))
        writer.encrypt(user_password=user, owner_password="owner-secret", algorithm="AES-256")
        buf = io.BytesIO()
        writer.write(buf)
        return buf.getvalue()

    with pytest.raises(BadDocument, match="password-protected"):
        make_document(encrypted("s3cret"), "locked.pdf")
    opened = make_document(encrypted(""), "aes.pdf")  # AES without a user password: read (needs cryptography)
    assert "customs office moved to Tecún Umán in 2023" in opened.text


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        ("Café crème, naïve résumé — “quotes” from a Windows editor.", "cp1252"),
        ("Grüße aus Köln: die Straße ist gesperrt.", "latin-1"),
        ("Informe: el café de Cobán subió un 12 % — “récord”.", "utf-16"),
        ("Informe: el café de Cobán subió un 12 % — “récord”.", "utf-16-be"),
        ("Informe: el café de Cobán.", "utf-8-sig"),
        ("Привет, это тест кодировки Windows.", "cp1251"),
    ],
)
def test_text_encodings_are_detected(raw: str, encoding: str) -> None:
    data = raw.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    assert make_document(data, "note.txt").text == raw


def test_binary_is_refused() -> None:
    with pytest.raises(BadDocument, match="binary"):
        make_document(bytes(range(1, 32)) * 50, "blob.txt")
    with pytest.raises(BadDocument, match="binary"):
        make_document(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image-renamed.txt")


@NEEDS_TESSERACT
def test_image_and_scanned_pdf_are_read_by_ocr() -> None:
    image = make_document(
        ff.text_image(["Invoice 4471 from Ferreteria El Progreso", "Total due: 12,500 quetzales by 30 April"]),
        "invoice.png",
    )
    assert "Ferreteria El Progreso" in image.text and "12,500 quetzales" in image.text
    assert image.parts and all(p.ocr for p in image.parts)
    photo = make_document(
        ff.text_image(["Receipt from the Cobán market", "Paid 85 quetzales for cardamom"], "JPEG"), "receipt.jpg"
    )
    assert "85 quetzales for cardamom" in photo.text and photo.parts[0].ocr
    scan = make_document(
        ff.scanned_pdf(["The harbour board approved dredging", "of the north basin to fourteen metres."]), "scan.pdf"
    )
    assert "dredging of the north basin" in scan.text  # one paragraph, not two
    assert scan.parts == (Part("page", 1, "p. 1", 0, len(scan.text), True),)


def test_without_tesseract_scans_are_reported_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr_mod, "available", lambda: False)
    with pytest.raises(BadDocument, match="apt-get install tesseract-ocr"):
        make_document(ff.scanned_pdf(["Scanned minutes"]), "scan.pdf")
    with pytest.raises(BadDocument, match="apt-get install tesseract-ocr"):
        make_document(ff.text_image(["A photo of a page"]), "photo.jpg")


def test_mixed_folder_every_file_is_indexed_or_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "harvest.docx": ff.docx_file(),
        "deck.pptx": ff.pptx_file(),
        "sales.xlsx": ff.xlsx_file(),
        "ports.csv": ff.csv_file(),
        "minutes.odt": ff.odt_file(),
        "visit.rtf": ff.rtf_file(),
        "markets.epub": ff.epub_file(),
        "border.eml": ff.eml_file(),
        "drip.html": ff.web_page(),
        "seeds.md": ff.markdown_file(),
        "notes.txt": "Notas de campo: café".encode("cp1252"),
        "review.pdf": ff.pdf_file([["One page of text about roads."]]),
        "diagram.svg": b"<svg/>",
        "archive.zip": ff.zip_bomb_free_binary(),
        "broken.docx": b"PK\x03\x04 broken",
        "empty.md": b"  \n",
        "scan.pdf": ff.scanned_pdf(["Scanned page"]),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    monkeypatch.setattr(ocr_mod, "available", lambda: False)  # the same answer with or without tesseract
    docs, skipped, _ = scan_corpus(tmp_path)
    indexed = {d.source for d in docs}
    reasons = {s.source: s.reason for s in skipped}
    assert indexed | set(reasons) == set(files) and not indexed & set(reasons)
    assert set(reasons) == {"diagram.svg", "archive.zip", "broken.docx", "empty.md", "scan.pdf"}
    assert ".docx" in reasons["diagram.svg"] and "unsupported file type '.svg'" in reasons["diagram.svg"]
    assert "Word" in reasons["broken.docx"] and "no text" in reasons["empty.md"]
    assert "apt-get install tesseract-ocr" in reasons["scan.pdf"]


def test_unsupported_type_names_what_is_read() -> None:
    with pytest.raises(UnsupportedType) as info:
        read(b"x", ".key")
    for suffix in (".pdf", ".docx", ".pptx", ".xlsx", ".csv", ".odt", ".rtf", ".epub", ".eml", ".png", ".jpg", ".tiff"):
        assert suffix in str(info.value)


MIXED_TEXT = "The annual report of the port authority covers container traffic and the dredging works."
MIXED_SCAN = ["Annex: the customs office in Puerto Barrios", "reopened on 3 February after the repairs."]


@NEEDS_TESSERACT
def test_pdf_with_a_scanned_page_marks_only_that_page_ocr() -> None:
    doc = make_document(ff.mixed_pdf(MIXED_TEXT, MIXED_SCAN), "report.pdf")
    assert [(p.label, p.ocr) for p in doc.parts] == [("p. 1", False), ("p. 2", True)]
    assert part_text(doc.text, doc.parts[0]) == MIXED_TEXT
    assert "customs office in Puerto Barrios reopened on 3 February" in part_text(doc.text, doc.parts[1])


def test_pdf_scanned_page_without_tesseract_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr_mod, "available", lambda: False)
    (tmp_path / "report.pdf").write_bytes(ff.mixed_pdf(MIXED_TEXT, MIXED_SCAN))
    docs, skipped, notes = scan_corpus(tmp_path)
    assert [d.text for d in docs] == [MIXED_TEXT] and not skipped
    assert notes == ["report.pdf: page 2 is a scanned image: install tesseract for OCR: apt-get install tesseract-ocr"]


@NEEDS_TESSERACT
def test_multi_page_tiff_cites_its_pages() -> None:
    from PIL import Image

    pages = [
        Image.open(io.BytesIO(ff.text_image([line])))
        for line in ("Fax cover sheet for the mayor", "Budget approved in May")
    ]
    buf = io.BytesIO()
    pages[0].save(buf, format="TIFF", save_all=True, append_images=pages[1:])
    doc = make_document(buf.getvalue(), "fax.tiff")
    assert [(p.label, p.ocr) for p in doc.parts] == [("p. 1", True), ("p. 2", True)]
    assert "Budget approved in May" in part_text(doc.text, doc.parts[1])
    at = doc.text.index("Budget")
    assert where(doc.parts, at, at + 6) == {"page": 2, "page_end": 2, "location": "p. 2", "ocr": True}


def test_two_column_pdf_reads_one_column_after_the_other() -> None:
    from fpdf import FPDF

    left = "Coffee prices paid to farmers in the western highlands rose this year after the frost in Brazil. " * 3
    right = "The port of Puerto Quetzal bought two container cranes in Rotterdam for the new terminal. " * 3
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    with pdf.text_columns(ncols=2, gutter=10) as cols:
        cols.write(left)
        cols.new_column()
        cols.write(right)
    doc = make_document(bytes(pdf.output()), "columns.pdf")
    assert " ".join(doc.text.split()) == f"{left.strip()} {right.strip()}"  # not interleaved line by line

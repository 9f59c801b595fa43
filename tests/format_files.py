"""Real files of every format citeqa reads, written here with the writer libraries (never downloaded).

Each builder returns the file's bytes; the text is written for these tests, in the style of an analyst's folder.
"""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)


def docx_file() -> bytes:
    import docx

    d = docx.Document()
    d.core_properties.title = "Coffee cooperative harvest report"
    d.core_properties.author = "Lucía Ramírez"
    d.add_heading("Coffee cooperative harvest report", level=1)
    d.add_paragraph(
        "The cooperative in Huehuetenango shipped 3,200 sacks of washed arabica to Hamburg in March, "
        "after the rains delayed the picking by two weeks."
    )
    d.add_paragraph("Members voted to spend the premium on a new drying patio.")
    table = d.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate([("Region", "Sacks"), ("Huehuetenango", "3,200"), ("Antigua", "1,150")]):
        table.cell(r, 0).text, table.cell(r, 1).text = a, b
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def pptx_file() -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    slides = [
        ("Logistics review", "Quarterly update for the board of directors."),
        (
            "Warehouse plans",
            "The new cold-storage warehouse in Escuintla opens in September 2026 with room for 400 pallets.",
        ),
        ("Budget", "Freight costs rose by eleven percent because diesel prices climbed."),
    ]
    for title, body in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[5])
        slide.shapes.title.text = title
        box = slide.shapes.add_textbox(Inches(1), Inches(2), Inches(8), Inches(2))
        box.text_frame.text = body
    buf = io.BytesIO()
    deck.save(buf)
    return buf.getvalue()


def xlsx_file() -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "Notes"
    notes.append(["Prepared by the regional sales office for the annual review."])
    sales = book.create_sheet("Sales")
    sales.append(["Region", "Quarter", "Sales"])
    for region, q, value in [("North", "Q3", 7421), ("South", "Q3", 5210), ("East", "Q3", 6034)]:
        sales.append([region, q, value])
        sales.cell(sales.max_row, 3).number_format = "#,##0"
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def csv_file() -> bytes:
    return (
        "Port,Vessel calls,Main cargo\nPuerto Quetzal,1310,containers\nSanto Tomás de Castilla,980,bananas\n"
    ).encode()


def odt_file() -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    doc = OpenDocumentText()
    doc.text.addElement(H(outlinelevel=1, text="Water committee minutes"))
    doc.text.addElement(P(text="The water committee of San Marcos approved a new pipeline to the upper villages."))
    doc.text.addElement(P(text="Work on the pipeline starts after the dry season, in November."))
    buf = io.BytesIO()
    doc.write(buf)
    return buf.getvalue()


def rtf_file() -> bytes:
    return (
        r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Times New Roman;}}"
        r"\f0\fs24 Field visit notes\par "
        r"The caf\'e9 owners in Quetzaltenango said tourism fell by a third during the road closures.\par "
        r"They asked the municipality for a temporary bus service.\par }"
    ).encode("ascii")


def epub_file() -> bytes:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("citeqa-test-book")
    book.set_title("A short history of the highland markets")
    book.set_language("en")
    book.add_author("Marta Chávez")
    ch1 = epub.EpubHtml(title="Origins", file_name="ch1.xhtml", lang="en")
    ch1.content = "<h1>Origins</h1><p>The Sunday market in Chichicastenango grew around the church steps.</p>"
    ch2 = epub.EpubHtml(title="Trade", file_name="ch2.xhtml", lang="en")
    ch2.content = (
        "<h1>Trade</h1><p>Weavers from Nahualá brought huipiles woven on backstrap looms to sell every Thursday.</p>"
    )
    for ch in (ch1, ch2):
        book.add_item(ch)
    book.toc = [ch1, ch2]
    book.spine = [ch1, ch2]
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    buf = io.BytesIO()
    epub.write_epub(buf, book)
    return buf.getvalue()


def eml_file() -> bytes:
    msg = EmailMessage()
    msg["Subject"] = "Shipment delayed at the border"
    msg["From"] = "Diego Morales <diego.morales@example.org>"
    msg["To"] = "logistics@example.org"
    msg["Date"] = "Tue, 04 Mar 2025 09:15:00 -0600"
    msg.set_content(
        "Hello team,\n\nThe fertilizer shipment is held at the El Carmen crossing until customs inspects the seals on Thursday.\n\nDiego\n"
    )
    return bytes(msg)


def web_page() -> bytes:
    return b"""<!doctype html><html><head><title>Tomato growers switch to drip irrigation</title></head><body>
<header class="site-header"><a href="/">Home</a> <a href="/news">News</a> <a href="/about">About us</a></header>
<nav aria-label="Main menu"><ul><li><a href="/">Home</a></li><li><a href="/agri">Agriculture</a></li></ul></nav>
<div id="cookie-banner" class="cookie-consent">
  <p>This website uses cookies to personalise advertising and to measure how many visitors read each page.</p>
  <button>Accept all</button><button>Manage preferences</button>
</div>
<main><article>
<h1>Tomato growers switch to drip irrigation</h1>
<p>Farmers in the Salam\xc3\xa1 valley cut their water use by forty percent after replacing furrow irrigation with
drip lines, according to the regional agriculture office.</p>
<p>The switch cost about 9,000 quetzales per hectare, and most growers repaid it within two harvests.</p>
<div class="share-buttons"><a href="#">Share on Facebook</a> <a href="#">Tweet</a></div>
</article></main>
<footer class="site-footer"><p>Copyright 2025 Valley News. All rights reserved.</p><p>Contact: newsroom</p></footer>
</body></html>"""


def markdown_file() -> bytes:
    return b"""---
author: field team
---
# Seed bank inventory

[![build](https://img.shields.io/badge/build-passing-green.svg)](https://ci.example.org)

The seed bank in **Chimaltenango** holds **7421** samples of native maize, see [the catalogue](https://example.org/cat).

```bash
rsync -a samples/ backup/
```

| Crop | Samples |
|------|---------|
| Beans | 1,980 |
"""


def pdf_file(pages: list[list[str]]) -> bytes:
    """A text PDF, one list of paragraphs per page, wrapped by fpdf2 at the page width."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_font("Helvetica", size=11)
    for number, paragraphs in enumerate(pages, start=1):
        pdf.add_page()
        pdf.set_xy(15, 10)
        pdf.cell(0, 8, "Regional development review", new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(25)
        for para in paragraphs:
            pdf.multi_cell(0, 6, para, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
        pdf.set_xy(15, 280)
        pdf.cell(0, 8, f"Page {number} of {len(pages)}")
    return bytes(pdf.output())


def text_image(lines: list[str], fmt: str = "PNG") -> bytes:
    """A picture of typed text, as a scanner would produce it (black on white, 300 dpi-sized)."""
    from PIL import Image, ImageDraw, ImageFont

    font = None
    for path in FONT_CANDIDATES:
        try:
            font = ImageFont.truetype(path, 44)
            break
        except OSError:
            continue
    image = Image.new("RGB", (2200, 200 + 90 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((100, 100 + 90 * i), line, fill="black", font=font or ImageFont.load_default(size=44))
    buf = io.BytesIO()
    image.save(buf, format=fmt, dpi=(300, 300))
    return buf.getvalue()


def scanned_pdf(lines: list[str]) -> bytes:
    """A PDF whose only page is an image of text (no text layer)."""
    from PIL import Image

    image = Image.open(io.BytesIO(text_image(lines)))
    buf = io.BytesIO()
    image.save(buf, format="PDF", resolution=200.0)
    return buf.getvalue()


def zip_bomb_free_binary() -> bytes:
    """Bytes that are not a document: a zip of random-looking data named as a text file."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("x.bin", bytes(range(256)) * 8)
    return buf.getvalue()


def mixed_pdf(text_page: str, scanned_lines: list[str]) -> bytes:
    """Page 1 has a text layer; page 2 is only a picture of text (a scanned sheet bound into a report)."""
    from fpdf import FPDF
    from PIL import Image

    pdf = FPDF(format="A4")
    pdf.set_font("Helvetica", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 6, text_page)
    pdf.add_page()
    pdf.image(Image.open(io.BytesIO(text_image(scanned_lines))), x=10, y=10, w=190)
    return bytes(pdf.output())

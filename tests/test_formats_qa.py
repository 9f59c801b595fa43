"""Each format, indexed with the real model in one small mixed corpus, answers a question whose answer is in it:
the citation's text is the document's text at its offsets, PDFs and slides cite the right page, scanned pages are
read by OCR and say so, and a web page's cookie banner is not something citeqa answers from."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest

from index.embed import Embedder
from qa.engine import Engine, Settings
from tests import format_files as ff

pytestmark = pytest.mark.slow

HAS_OCR = shutil.which("tesseract") is not None or os.environ.get("CI") == "true"

PDF_PAGES = [
    [
        "The regional development review covers the western highlands and the coastal plain, where most of the new "
        "investment went in the last two years.",
        "Road building took the largest share of the spending.",
    ],
    [
        "The irrigation programme in Zacapa doubled melon exports between 2021 and 2024, while the programme in "
        "Jutiapa stalled for lack of engineers."
    ],
    ["The review recommends that the next budget cycle start with maintenance of existing roads."],
]


def files() -> dict[str, bytes]:
    out = {
        "harvest.docx": ff.docx_file(),
        "logistics.pptx": ff.pptx_file(),
        "sales.xlsx": ff.xlsx_file(),
        "ports.csv": ff.csv_file(),
        "minutes.odt": ff.odt_file(),
        "visit.rtf": ff.rtf_file(),
        "markets.epub": ff.epub_file(),
        "border.eml": ff.eml_file(),
        "drip.html": ff.web_page(),
        "seeds.md": ff.markdown_file(),
        "review.pdf": ff.pdf_file(PDF_PAGES),
        "roaster.txt": (
            "The café in Cobán roasts beans from Alta Verapaz farms every Monday — “small batches” only.\n"
        ).encode("cp1252"),
        "clinic.txt": "The health clinic in Nebaj treated 2,340 patients for dengue during the rainy season.\n".encode(
            "utf-16"
        ),
    }
    if HAS_OCR:
        out["invoice.png"] = ff.text_image(
            ["Invoice 4471 from Ferreteria El Progreso", "Total due on this invoice: 12,500 quetzales by 30 April."]
        )
        out["harbour-scan.pdf"] = ff.scanned_pdf(
            ["The harbour board approved dredging of the north basin", "to a depth of fourteen metres next year."]
        )
    return out


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Engine:
    root = tmp_path_factory.mktemp("formats")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, data in files().items():
        (corpus / name).write_bytes(data)
    return Engine.open(Settings(corpus=corpus, index=root / ".citeqa"), build_if_missing=True, embedder=real_embedder)


def ask(engine: Engine, question: str) -> dict[str, Any]:
    body = engine.ask(question).to_dict()
    for item in [body["answer"], *body["passages"]] if body["answer"] else body["passages"]:
        assert engine.document(item["doc_id"]).text[item["start"] : item["end"]] == item["text"]
    return body


CASES = [
    ("harvest", "How many sacks of arabica did the Huehuetenango cooperative ship to Hamburg?", "3,200 sacks", None),
    ("logistics", "When does the new cold-storage warehouse in Escuintla open?", "September 2026", "slide 2"),
    ("sales", "What were the Q3 sales of the North region?", "Sales: 7,421", "sheet Sales"),
    ("ports", "How many vessel calls did Puerto Quetzal have?", "1310", None),
    ("minutes", "What did the water committee of San Marcos approve?", "new pipeline", None),
    ("visit", "How much did tourism fall in Quetzaltenango during the road closures?", "by a third", None),
    ("markets", "Where were the weavers who sell huipiles woven on backstrap looms from?", "Nahualá", "Trade"),
    ("border", "Where is the fertilizer shipment held?", "El Carmen crossing", None),
    ("drip", "How much did drip irrigation cut water use in the Salamá valley?", "forty percent", None),
    ("seeds", "How many samples of native maize does the Chimaltenango seed bank hold?", "holds 7421 samples", None),
    (
        "review",
        "What happened to melon exports under the Zacapa irrigation programme?",
        "doubled melon exports",
        "p. 2",
    ),
    ("roaster", "Where do the beans roasted by the café in Cobán come from?", "Alta Verapaz", None),
    ("clinic", "How many dengue patients did the Nebaj clinic treat?", "2,340 patients", None),
]


@pytest.mark.parametrize(("doc_id", "question", "phrase", "location"), CASES, ids=[c[0] for c in CASES])
def test_each_format_answers_with_a_located_citation(
    engine: Engine, doc_id: str, question: str, phrase: str, location: str | None
) -> None:
    body = ask(engine, question)
    a = body["answer"]
    assert a is not None, body["passages"][:2]
    assert a["doc_id"] == doc_id and phrase in a["text"]
    assert a["location"] == location and a["ocr"] is False
    if location and location.startswith(("p. ", "slide ")):
        assert a["page"] == a["page_end"] == int(location.split()[-1])


def test_metadata_and_clean_text(engine: Engine) -> None:
    assert engine.document("border").metadata["date"] == "2025-03-04"
    assert engine.document("border").title == "Shipment delayed at the border"
    assert "**" not in engine.document("seeds").text and "cookies" not in engine.document("drip").text
    assert engine.document("roaster").text.startswith("The café in Cobán roasts beans")


def test_web_page_chrome_is_not_answered(engine: Engine) -> None:
    body = ask(engine, "What does the website use cookies for?")
    assert body["answer"] is None, body["answer"]
    assert all("cookie" not in p["text"].lower() for p in body["passages"])


@pytest.mark.skipif(not HAS_OCR, reason="tesseract is not installed (apt-get install tesseract-ocr); CI installs it")
def test_scanned_pdf_and_image_answer_through_ocr(engine: Engine) -> None:
    body = ask(engine, "How deep will the harbour board dredge the north basin?")
    a = body["answer"]
    assert a is not None and a["doc_id"] == "harbour-scan" and "fourteen metres" in a["text"]
    assert (a["ocr"], a["page"], a["location"]) == (True, 1, "p. 1")
    body = ask(engine, "What is the total due on invoice 4471 from Ferreteria El Progreso?")
    a = body["answer"]
    assert a is not None and a["doc_id"] == "invoice" and "12,500 quetzales" in a["text"] and a["ocr"] is True


def test_every_file_indexed(engine: Engine) -> None:
    assert {d["source"] for d in engine.list_documents()} == set(files())
    assert engine.skipped() == []


def test_cli_prints_the_page(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import _print_answer

    _print_answer(engine.ask("What happened to melon exports under the Zacapa irrigation programme?").to_dict())
    out = capsys.readouterr().out
    assert "(review, p. 2, characters" in out

"""The page against the JSON contract's newer fields, before every server part exists: the API is answered by
Playwright route interception (the page's own files are served as they are, under the CSP), so this proves what
the page does with `span`, `confidence_label`, `spelling`, `ocr`, `page`/`location`, a document's `pages` and
`paragraphs`, `type`, paged lists with `total` and `skipped`, and `/v1/documents/{id}/file#page=N` opened in
Chromium's PDF viewer at the cited page. Writes test-output/page-pdf-source.png and page-pdf-viewer.png.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests import browser_kit
from tests.browser_kit import (
    CSP,
    OUTPUT,
    ROOT,
    check_clean,
    open_page,
    pdf_bytes,
    pdf_viewer_page,
    squash,
    strict_context,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]
chromium, browser = browser_kit.chromium, browser_kit.browser  # shared fixtures

DOC_ID = "quarry-report"
TITLE = "Harlow Quarry Restoration Report"
# three pages; paragraphs separated by blank lines, lines hard-wrapped inside them (soft breaks)
PAGES = [
    "Harlow Quarry Restoration Report\n\nThe restoration of the former Harlow limestone quarry began in spring\n"
    "after the county council approved the final landscape plan.",
    "Water and Wildlife\n\nThe flooded lower basin now holds a lake of about 14 hectares, fed by\nspring water from "
    "the old workings. The restored lake reached a depth of 23 metres\nin its deepest part by the second winter.\n\n"
    "Sand martins nest in the exposed face of the upper terrace.",
    "Visitor Access\n\nA footpath of 3.5 kilometres now circles the lake and joins the village\ngreen.",
]
TEXT = "\n\n".join(PAGES)


def _offsets() -> tuple[list[dict[str, Any]], list[list[int]]]:
    pages, paragraphs, at = [], [], 0
    for number, page in enumerate(PAGES, 1):
        pages.append(
            {"number": number, "label": f"p. {number}", "start": at, "end": at + len(page), "ocr": number == 3}
        )
        inner = 0
        for para in page.split("\n\n"):
            inner = page.index(para, inner)
            paragraphs.append([at + inner, at + inner + len(para)])
            inner += len(para)
        at += len(page) + 2
    return pages, paragraphs


PAGE_LIST, PARAGRAPHS = _offsets()
SENTENCE = "The restored lake reached a depth of 23 metres\nin its deepest part by the second winter."
PHRASE = "23 metres"
S_START = TEXT.index(SENTENCE)
P_START = TEXT.index(PHRASE)
PASSAGE2 = PAGES[0] + "\n\n" + PAGES[1]  # pp. 1–2, the answer on p. 2
PASSAGE3 = PAGES[2]


def _summary(doc_id: str, title: str, **extra: Any) -> dict[str, Any]:
    return {
        "doc_id": doc_id,
        "title": title,
        "source": f"{doc_id}.pdf",
        "metadata": {"date": "2026-03-02"},
        "characters": len(TEXT),
        "chunks": 3,
        "origin": "upload",
        "status": "indexed",
        **extra,
    }


LISTING = [
    _summary(DOC_ID, TITLE, type="pdf", pages=3),
    _summary("site-memo", "Site memo", type="docx", pages=None),
    _summary("survey-2025", "Bird survey 2025", type="xlsx", pages=None),
]
SKIPPED = [{"source": "budget.xyz", "reason": "unsupported file type .xyz (supported: .txt, .md, .pdf, .docx)"}]


def _passage(rank: int, text: str, page: int, page_end: int, highlight: bool, ocr: bool) -> dict[str, Any]:
    start = TEXT.index(text)
    return {
        "rank": rank,
        "text": text,
        "score": 0.9 - rank / 10,
        "doc_id": DOC_ID,
        "title": TITLE,
        "start": start,
        "end": start + len(text),
        "scores": {"dense": 0.5},
        "date": "2026-03-02",
        "highlight": {"start": S_START, "end": S_START + len(SENTENCE)} if highlight else None,
        "page": page,
        "page_end": page_end,
        "location": f"p. {page}" if page == page_end else f"pp. {page}–{page_end}",
        "ocr": ocr,
    }


ANSWER = {
    "question": "How deep is the restored lake?",
    "answer": {
        "text": SENTENCE,
        "doc_id": DOC_ID,
        "title": TITLE,
        "start": S_START,
        "end": S_START + len(SENTENCE),
        "score": 0.8,
        "span": {"text": PHRASE, "start": P_START, "end": P_START + len(PHRASE)},
        "page": 2,
        "page_end": 2,
        "location": "p. 2",
        "ocr": False,
    },
    "answered": True,
    "confidence": 0.82,
    "confidence_label": "likely",
    "threshold": 0.5,
    "spelling": {
        "searched_for": "how deep is the restored lake",
        "corrections": [{"word": "restord", "suggestion": "restored"}],
    },
    "passages": [_passage(1, PASSAGE2, 1, 2, True, False), _passage(2, PASSAGE3, 3, 3, False, True)],
    "context": {"used": False, "query": "How deep is the restored lake?", "previous": None, "carried": []},
    "timings_ms": {"total": 12.0},
}


class _Static(http.server.SimpleHTTPRequestHandler):
    """The page's own files: / is index.html, /static/* the folder (what api/app.py serves)."""

    def translate_path(self, path: str) -> str:
        path = urlparse(path).path
        name = "index.html" if path == "/" else path.removeprefix("/static/")
        return str(ROOT / "api" / "static" / name)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site(chromium: Any) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Static)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _json(route: Any, body: Any, status: int = 200) -> None:
    route.fulfill(status=status, content_type="application/json", body=json.dumps(body))


def _fake_api(
    context: Any, base: str, asked: list[dict[str, Any]], listed: list[dict[str, list[str]]], pdf: bytes
) -> None:
    def documents(route: Any) -> None:
        query = parse_qs(urlparse(route.request.url).query)
        listed.append(query)
        offset = int(query.get("offset", ["0"])[0])
        docs = LISTING[:2] if offset == 0 else LISTING[offset:]
        _json(
            route,
            {
                "count": len(docs),
                "total": len(LISTING),
                "offset": offset,
                "limit": 50,
                "documents": docs,
                "skipped": SKIPPED,
            },
        )

    def document(route: Any) -> None:
        if route.request.url.split("#")[0].endswith("/file"):
            # with the page's security headers too: Chromium's viewer still opens it at the page
            route.fulfill(
                status=200,
                content_type="application/pdf",
                body=pdf,
                headers={
                    "content-security-policy": CSP,
                    "x-frame-options": "DENY",
                    "x-content-type-options": "nosniff",
                },
            )
            return
        _json(
            route,
            {**_summary(DOC_ID, TITLE), "type": "pdf", "text": TEXT, "pages": PAGE_LIST, "paragraphs": PARAGRAPHS},
        )

    def ask(route: Any) -> None:
        asked.append(json.loads(route.request.post_data or "{}"))
        _json(route, ANSWER)

    context.route(f"{base}/v1/documents?*", documents)
    context.route(f"{base}/v1/documents/{DOC_ID}**", document)
    context.route(f"{base}/v1/ask", ask)
    context.route(f"{base}/v1/examples", lambda route: _json(route, {"examples": []}))


def test_new_answer_fields_pages_and_pdf_citation(browser, site) -> None:  # type: ignore[no-untyped-def]
    pdf = pdf_bytes(PAGES, TITLE)
    asked: list[dict[str, Any]] = []
    listed: list[dict[str, list[str]]] = []
    context = strict_context(browser, site, viewport={"width": 1280, "height": 800})
    _fake_api(context, site, asked, listed, pdf)
    pg, errors = open_page(context, site)
    pg.wait_for_selector("#doc-list .doc-button")

    # the list: type, pages, date, status; skipped files with their reason; the next page on demand
    row = pg.locator(".doc-item", has_text=TITLE)
    assert "PDF · 3 pages · 2026-03-02 · indexed" in row.inner_text()
    assert "skipped: unsupported file type .xyz" in pg.locator(".doc-item.skipped").inner_text()
    assert "3 documents in the corpus (2 shown)" in pg.inner_text("#doc-count")
    assert pg.locator("#examples-title").is_hidden()  # no examples from the server: none shown, none invented
    pg.click("#more-docs")
    pg.wait_for_selector(".doc-item:has-text('Bird survey 2025')")
    assert listed[-1]["offset"] == ["2"] and pg.locator("#more-docs").is_hidden()

    # a filter: the next question searches only the checked document
    row.locator(".doc-pick").check()
    assert TITLE in pg.inner_text("#filter-note")
    pg.fill("#question", "How deep is the restord lake?")
    pg.press("#question", "Enter")
    pg.wait_for_selector("#turn-1 .cards")
    assert asked[-1]["doc_ids"] == [DOC_ID]
    turn = pg.locator("#turn-1")

    # the answer phrase inside its sentence, confidence in words, what was searched, page locations, OCR marks
    assert turn.locator(".answer-text mark.span").inner_text() == PHRASE
    assert pg.evaluate("getComputedStyle(document.querySelector('.answer-text mark.span')).fontWeight") == "700"
    assert squash(turn.locator(".answer-text").inner_text()).startswith(squash(SENTENCE))
    assert turn.locator(".confidence").inner_text() == "This answer is likely right (confidence 0.82)"
    assert turn.locator(".spelling-note").inner_text() == "Searched for: how deep is the restored lake"
    assert "p. 2" in turn.locator(".answer-label").inner_text()
    cards = turn.locator(".card")
    assert "pp. 1–2" in cards.nth(0).locator(".card-meta").inner_text()
    # a passage over pp. 1–2 holding the answer opens the PDF where the answer is; another passage at its own page
    assert cards.nth(0).locator(".pdf-link").get_attribute("href") == f"/v1/documents/{DOC_ID}/file#page=2"
    assert cards.nth(1).locator(".pdf-link").get_attribute("href") == f"/v1/documents/{DOC_ID}/file#page=3"
    assert cards.nth(0).locator("mark.span").inner_text() == PHRASE
    assert cards.nth(0).locator(".ocr-badge").count() == 0 and cards.nth(1).locator(".ocr-badge").count() == 1
    assert turn.locator(".pdf-link").first.get_attribute("href") == f"/v1/documents/{DOC_ID}/file#page=2"

    # the source view: server paragraphs as blocks (no ragged lines), page markers, the phrase marked strongest
    turn.locator(".answer-text button.cite").first.click()
    pg.wait_for_selector("#source-text mark.span")
    view = pg.locator("#source-text")
    assert view.locator("p.block").count() == len(PARAGRAPHS)
    assert [m.get_attribute("data-label") for m in view.locator(".page-marker").all()] == ["p. 1", "p. 2", "p. 3 · OCR"]
    assert squash(view.inner_text()) == squash(TEXT)  # markers add no text; every character is there once
    assert squash("".join(view.locator("mark.answer").all_text_contents())) == squash(SENTENCE)
    assert view.locator("mark.span").inner_text() == PHRASE
    assert squash(" ".join(view.locator("span.ocr").all_inner_texts())) == squash(PAGES[2])
    assert "p. 2" in pg.inner_text("#source-meta")
    block = view.locator("p.block", has_text="flooded lower basin")
    assert pg.evaluate("(el) => getComputedStyle(el).whiteSpace", block.element_handle()) == "normal"
    OUTPUT.mkdir(exist_ok=True)
    pg.screenshot(path=str(OUTPUT / "page-pdf-source.png"))

    # "Open the PDF at p. 2": the original file in Chromium's viewer, at the cited page
    with pg.expect_popup() as popup:
        pg.locator("#source-actions .pdf-link").click()
    tab = popup.value
    assert tab.url.endswith(f"/v1/documents/{DOC_ID}/file#page=2")
    assert pdf_viewer_page(tab) == 2
    tab.screenshot(path=str(OUTPUT / "page-pdf-viewer.png"))
    check_clean(pg, errors)
    context.close()

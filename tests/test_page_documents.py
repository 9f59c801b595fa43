"""Managing documents from the page, end to end (issue 11 item 6): headless Chromium against a real `qa serve` with
the real model, under the page's CSP. Drag-and-drop of several files with the key asked for once, a line per file
(indexed, 415 naming the supported types, 409 duplicate), the list, a question restricted to chosen documents,
a PDF written in the test and cited, a delete with its confirmation, and the PDF opened at the cited page.
Writes test-output/page-documents.png and, where the server gives pages, page-pdf-real.png.
"""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from tests import browser_kit
from tests.browser_kit import API_KEY, OUTPUT, drop_files, enter_key, get_json, pdf_bytes, pdf_viewer_page
from tests.browser_kit import ask as _ask

pytestmark = [pytest.mark.slow, pytest.mark.browser]
chromium, server, browser, page = (
    browser_kit.chromium,
    browser_kit.server,
    browser_kit.browser,
    browser_kit.page,
)  # shared fixtures

LAKE_PAGES = [
    "Harlow Quarry Restoration Report\n\nThe restoration of the former Harlow limestone quarry began in the spring of "
    "2024, after the county council approved the final landscape plan drawn up with the parish.",
    "Water and Wildlife\n\nThe flooded lower basin now holds a lake of about 14 hectares, fed by spring water from the "
    "old workings. The restored lake reached a depth of 23 metres in its deepest part by the second winter. Sand "
    "martins nest in the exposed face of the upper terrace.",
    "Visitor Access\n\nA footpath of 3.5 kilometres circles the lake and joins the village green at the old weighbridge.",
]
NOTES = """# Harlow green field notes

The village green at Harlow is mown twice a month from April to September by the parish volunteers.

The restored lake beside the green is not yet open for swimming; the parish expects a decision on bathing in 2027.
"""
QUESTION = "What depth did the restored lake reach by the second winter?"


def _doc_ids(server: str) -> dict[str, str]:  # source file name -> doc_id
    body = get_json(f"{server}/v1/documents?offset=0&limit=500")
    docs = body["documents"] if isinstance(body, dict) else body
    return {os.path.basename(d.get("source") or ""): d["doc_id"] for d in docs}


def test_drop_upload_filter_delete_and_pdf_page(page, server) -> None:  # type: ignore[no-untyped-def]
    page.evaluate("sessionStorage.clear()")
    drop_files(page, "#drop-zone", [("harlow-green.md", "text/markdown", NOTES.encode())])
    page.click("#key-dialog button[value=cancel]")  # no key: nothing is sent, the line says why
    page.wait_for_selector(".upload-line.failed")
    assert "needs the API key" in page.locator(".upload-line").inner_text()
    pdf = pdf_bytes(LAKE_PAGES, "Harlow Quarry Restoration Report")
    notes = NOTES.encode()
    drop_files(
        page,
        "#drop-zone",
        [
            ("harlow-quarry.pdf", "application/pdf", pdf),
            ("harlow-green.md", "text/markdown", notes),
            ("budget.xyz", "application/octet-stream", b"1,2,3\n"),
            ("harlow-green-copy.md", "text/markdown", notes),
        ],
    )
    enter_key(page, API_KEY)  # asked once for the whole drop
    lines = page.locator(".upload-line")
    expect(page.locator(".upload-line.done, .upload-line.failed")).to_have_count(4, timeout=180_000)
    assert lines.count() == 4
    assert page.locator("#key-dialog[open]").count() == 0
    assert "indexed as" in lines.nth(0).inner_text() and "indexed as" in lines.nth(1).inner_text()
    assert lines.nth(0).locator("progress").get_attribute("value") == "100"
    unsupported = lines.nth(2).inner_text()
    assert "failed" in unsupported and ".pdf" in unsupported and ".txt" in unsupported  # 415 names what is read
    assert "already in the corpus" in lines.nth(3).inner_text()  # 409: the same text again
    assert page.evaluate("sessionStorage.length") == 1  # the key, for this tab only

    ids = _doc_ids(server)
    pdf_id, notes_id = ids["harlow-quarry.pdf"], ids["harlow-green.md"]
    for doc_id in (pdf_id, notes_id):
        page.wait_for_selector(f".doc-item[data-doc-id='{doc_id}']")
        assert "indexed" in page.locator(f".doc-item[data-doc-id='{doc_id}'] .doc-meta").inner_text()

    # restricted to the notes, the question is answered (or not) from the notes alone
    with page.expect_request("**/v1/ask") as request:
        page.locator(f".doc-item[data-doc-id='{notes_id}'] .doc-pick").check()
        turn = _ask(page, QUESTION, 1)
    assert request.value.post_data_json["doc_ids"] == [notes_id]
    titles = set(turn.locator(".card-title").all_text_contents())
    assert titles == {page.locator(f".doc-item[data-doc-id='{notes_id}'] .doc-title").inner_text()}
    page.click("#clear-filter")
    assert page.locator("#filter-note").is_hidden()

    # over every document: the PDF answers
    turn = _ask(page, QUESTION, 2)
    assert "23 metres" in turn.locator(".answer-text").inner_text()
    result = page.evaluate(
        """async (q) => (await (await fetch('/v1/ask', {method: 'POST', headers: {'Content-Type': 'application/json'},
             body: JSON.stringify({question: q, top_k: 5})})).json())""",
        QUESTION,
    )
    assert result["answer"]["doc_id"] == pdf_id

    # delete the notes: a confirmation first, then it is gone from the page and the server
    item = page.locator(f".doc-item[data-doc-id='{notes_id}']")
    item.locator(".doc-delete").click()
    item.locator(".confirm button", has_text="Cancel").click()
    assert item.locator(".confirm").count() == 0 and notes_id in _doc_ids(server).values()
    item.locator(".doc-delete").click()
    item.locator(".confirm-delete").click()
    page.wait_for_selector(f".doc-item[data-doc-id='{notes_id}']", state="detached")
    assert "Deleted" in page.inner_text("#doc-status")
    assert notes_id not in _doc_ids(server).values()
    assert page.locator(f".doc-item[data-doc-id='{pdf_id}']").count() == 1
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "page-documents.png"))

    # the PDF citation opened at its page (needs the server's `page` fields and /file route, issue 11 item 2)
    if result["answer"].get("page") is None:
        reason = "the server gives no `page` for PDF answers yet (issue 11 item 2)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    assert result["answer"]["page"] == 2
    link = turn.locator(".pdf-link").first
    assert link.get_attribute("href") == f"/v1/documents/{pdf_id}/file#page=2"
    with page.expect_popup() as popup:
        link.click()
    assert pdf_viewer_page(popup.value) == 2
    popup.value.screenshot(path=str(OUTPUT / "page-pdf-real.png"))

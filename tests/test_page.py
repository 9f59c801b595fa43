"""The chat page end to end: headless Debian Chromium against a real `qa serve` subprocess on 127.0.0.1, over a
temporary copy of the default corpus, under the page's Content-Security-Policy (see tests/browser_kit.py).

Screenshots of the conversation go to test-output/ in the repository root (git-ignored): page-conversation.png
(laptop width) and page-phone.png (390 px wide).
"""

from __future__ import annotations

import pytest

from tests import browser_kit
from tests.browser_kit import API_KEY, OUTPUT, check_clean, drop_files, enter_key, get_json, open_page, strict_context
from tests.browser_kit import ask as _ask
from tests.browser_kit import squash as _squash

pytestmark = [pytest.mark.slow, pytest.mark.browser]
chromium, server, browser, page = (
    browser_kit.chromium,
    browser_kit.server,
    browser_kit.browser,
    browser_kit.page,
)  # shared fixtures

XSS_DOC = """Zebra marmalade protocol

The zebra marmalade protocol is a test document for the chat page. Its text carries markup that must stay inert:
<script>window.__xss=1</script> and <img src=x onerror="window.__xss=2"> are shown as characters, never run.
The zebra marmalade protocol was drafted by the quality team in 2026 to check that uploads are rendered as text.
"""


def test_empty_page_lists_documents_and_examples(page, server) -> None:  # type: ignore[no-untyped-def]
    docs = get_json(f"{server}/v1/documents")
    docs = docs["documents"] if isinstance(docs, dict) else docs
    titles = page.locator("#doc-list .doc-title").all_text_contents()
    assert sorted(titles) == sorted(d["title"] for d in docs)
    assert page.locator("#doc-list").get_by_text("2025-04-22").count() == 1  # the one document with a date
    # example questions come from the server, each made from a heading of its own document, never hard-coded
    page.wait_for_selector("#examples .example")
    examples = get_json(f"{server}/v1/examples")["examples"]
    assert page.locator("#examples .example").all_text_contents() == [e["question"] for e in examples]
    assert len(examples) >= 3
    for e in examples:
        assert e["heading"] in e["question"]
        assert e["heading"] in _squash(get_json(f"{server}/v1/documents/{e['doc_id']}")["text"])
    assert page.get_by_label("Your question").is_visible()
    # Shift+Enter is a new line, not a send
    page.fill("#question", "first line")
    page.press("#question", "Shift+Enter")
    assert page.input_value("#question") == "first line\n"
    assert page.locator("#conversation .turn").count() == 0
    # an example question asks itself
    page.locator("#examples .example").first.click()
    page.wait_for_selector("#turn-1 .cards")
    assert page.locator("#intro").is_hidden()


def test_answer_citation_source_view_and_follow_up(page, server) -> None:  # type: ignore[no-untyped-def]
    turn = _ask(page, "What is the Safe Third Country Agreement?", 1)
    answer = turn.locator(".answer-text")
    assert "Safe Third Country" in answer.inner_text()
    cites = answer.locator("button.cite")
    assert cites.count() >= 1
    assert turn.locator(".card").count() == 5
    assert turn.locator(".card mark.answer").count() >= 1  # the answer sentence highlighted in its card

    # one click on the citation: the source document, passage and answer sentence marked by their offsets
    rank = int(cites.first.get_attribute("data-rank"))
    cites.first.click()
    page.wait_for_selector("#source-text mark.answer")
    result = page.evaluate(
        """async () => (await (await fetch('/v1/ask', {method: 'POST', headers: {'Content-Type': 'application/json'},
             body: JSON.stringify({question: 'What is the Safe Third Country Agreement?', top_k: 5})})).json())"""
    )
    passage = next(p for p in result["passages"] if p["rank"] == rank)
    doc = get_json(f"{server}/v1/documents/{passage['doc_id']}")
    assert page.locator("#source-title").inner_text() == doc["title"]
    marked = "".join(page.locator("#source-text mark").all_text_contents())
    assert _squash(marked) == _squash(doc["text"][passage["start"] : passage["end"]])
    answer_mark = "".join(page.locator("#source-text mark.answer").all_text_contents())
    assert _squash(answer_mark) == _squash(result["answer"]["text"])
    # the whole document is there, as text, and the passage is scrolled into the visible part of the view
    assert _squash(page.locator("#source-text").inner_text()) == _squash(doc["text"])
    box = page.locator("#source-text").bounding_box()
    first = page.locator("#source-text mark").first.bounding_box()
    assert box["y"] <= first["y"] < box["y"] + box["height"]
    assert page.evaluate("document.querySelector('#source-text').scrollTop") > 0  # the passage is far down

    # the follow-up finds the 2021 suspension, and the page says which context it used
    turn2 = _ask(page, "When was it suspended?", 2)
    assert "What is the Safe Third Country Agreement?" in turn2.locator(".context-note").inner_text()
    assert "suspended in 2021" in _squash(turn2.locator(".answer-text").inner_text())
    assert turn2.locator(".card.cited", has_text="suspended in 2021").count() >= 1
    turn2.locator(".answer-text button.cite").first.click()
    page.locator(
        "#source-text mark.answer", has_text="2021"
    ).first.wait_for()  # (no wait_for_function: CSP forbids eval)
    assert "suspended in 2021" in _squash("".join(page.locator("#source-text mark.answer").all_text_contents()))

    OUTPUT.mkdir(exist_ok=True)
    turn2.evaluate("node => node.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(OUTPUT / "page-conversation.png"))


def test_abstention_and_errors_are_shown_in_place(page) -> None:  # type: ignore[no-untyped-def]
    turn = _ask(page, "Who won the 2022 FIFA World Cup final?", 1)
    assert turn.locator(".no-answer").inner_text() == "The documents don't answer this question."
    assert turn.locator(".answer-text").count() == 0
    assert turn.locator(".card").count() >= 1  # the closest passages are still offered
    # a question over the server's limit (the text box itself stops at 2000 characters): the reason, in place
    page.evaluate("document.getElementById('question').value = 'why '.repeat(600)")
    page.press("#question", "Enter")
    error = page.locator("#turn-2 .error")
    error.wait_for()
    assert "2000" in error.inner_text()
    assert page.locator("#ask").is_enabled()


def test_phone_width_opens_source_as_a_sheet(browser, server) -> None:  # type: ignore[no-untyped-def]
    context = strict_context(browser, server, viewport={"width": 390, "height": 844})
    pg, errors = open_page(context, server)
    pg.wait_for_selector("#doc-list .doc-button", state="attached")
    assert pg.locator("#panel").is_hidden()  # the documents panel is a sheet on phones
    turn = _ask(pg, "By how much did Guatemala agree to increase deportation flights?", 1)
    assert "40%" in turn.locator(".answer-text").inner_text()
    width = pg.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at 390 px ({width} px wide)"
    OUTPUT.mkdir(exist_ok=True)
    pg.screenshot(path=str(OUTPUT / "page-phone.png"))
    turn.locator(".answer-text button.cite").first.click()
    pg.wait_for_selector("#source-text mark.answer")
    assert pg.locator("#panel").is_visible()
    pg.keyboard.press("Escape")
    assert pg.locator("#panel").is_hidden()
    # the documents sheet (list, filter boxes, delete buttons, drop zone) fits the width too
    pg.click("#show-docs")
    assert pg.locator("#library").is_visible() and pg.locator("#drop-zone").count() == 1
    box = pg.locator(".doc-item").first.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert pg.evaluate("document.querySelector('#library').scrollWidth") <= 390
    pg.screenshot(path=str(OUTPUT / "page-phone-documents.png"))
    check_clean(pg, errors)
    context.close()


def test_uploaded_markup_is_shown_as_text_and_never_runs(page) -> None:  # type: ignore[no-untyped-def]
    page.evaluate("sessionStorage.clear()")
    payload = ("zebra-marmalade.txt", "text/plain", XSS_DOC.encode("utf-8"))
    drop_files(page, "#drop-zone", [payload])  # the page asks for the key; a wrong one is refused on the file's line
    enter_key(page, "not-the-key")
    line = page.locator(".upload-line", has_text="zebra-marmalade.txt")
    page.wait_for_selector(".upload-line.failed")
    assert "API key was not accepted" in line.inner_text()
    assert page.evaluate("sessionStorage.length") == 0  # the wrong key is forgotten

    drop_files(page, "#drop-zone", [payload])
    enter_key(page, API_KEY, by_enter=True)
    page.wait_for_selector("#source-title:has-text('Zebra marmalade')", timeout=120_000)  # opens once indexed
    assert "indexed as" in page.locator(".upload-line", has_text="zebra-marmalade.txt").inner_text()
    assert page.locator("#doc-list .doc-title", has_text="Zebra marmalade").count() == 1
    shown = page.locator("#source-text").inner_text()
    assert "<script>window.__xss=1</script>" in shown
    assert '<img src=x onerror="window.__xss=2">' in shown
    assert page.locator("#source-text script, #source-text img").count() == 0

    # the same text in an answer card is inert too
    turn = _ask(page, "What is the zebra marmalade protocol?", 1)
    assert turn.locator(".card", has_text="<script>window.__xss=1</script>").count() >= 1
    assert page.locator("#conversation script, #conversation img").count() == 0
    page.wait_for_timeout(300)  # give an injected handler (if any) the chance to run
    assert page.evaluate("typeof window.__xss") == "undefined"

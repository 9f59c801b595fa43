"""The chat page and the API docs page work under their Content-Security-Policy, offline: headless Chromium
against a real uvicorn (in a thread, the fake embedder) on 127.0.0.1, with every request that leaves 127.0.0.1
blocked. Any CSP violation (a `securitypolicyviolation` event or console report) fails the test.
Without /usr/bin/chromium these tests skip, except under CI=true, where they fail."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.config import ApiConfig
from tests.browser_kit import ARGS, CHROMIUM
from tests.test_slow_clients import serving

pytestmark = [pytest.mark.slow, pytest.mark.browser]

WATCH = """document.addEventListener("securitypolicyviolation",
  (e) => console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI));"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.is_file():
        reason = f"{CHROMIUM} is missing: install Debian's chromium for the browser tests"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with serving(tmp_path_factory.mktemp("csp"), ApiConfig(api_key="csp-key")) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def browse(site: str) -> Iterator[tuple[object, list[str], list[str]]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        outside: list[str] = []
        context.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(site) or route.request.url.startswith("data:")
                else (outside.append(route.request.url) or route.abort())  # type: ignore[func-returns-value]
            ),
        )
        context.add_init_script(WATCH)
        page = context.new_page()
        page.set_default_timeout(30_000)
        problems: list[str] = []
        page.on(
            "console",
            lambda m: (
                problems.append(m.text) if "Content Security Policy" in m.text or "CSP violation" in m.text else None
            ),
        )
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        try:
            yield page, problems, outside
        finally:
            browser.close()


def test_the_chat_page_answers_under_its_csp(browse, site: str) -> None:  # type: ignore[no-untyped-def]
    page, problems, outside = browse
    response = page.goto(f"{site}/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector("#doc-list .doc-button")
    page.fill("#question", "Which volcano erupts ash plumes?")
    page.press("#question", "Enter")
    page.wait_for_selector("#turn-1 .cards")
    assert "Fuego" in page.locator("#turn-1").inner_text()
    page.locator("#doc-list .doc-button").first.click()
    page.wait_for_selector("#source-text:not(:empty)")
    assert problems == [] and outside == []


def test_the_api_docs_render_offline_under_their_csp(browse, site: str) -> None:  # type: ignore[no-untyped-def]
    page, problems, outside = browse
    response = page.goto(f"{site}/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(".opblock-summary-path")
    paths = {t.strip() for t in page.locator(".opblock-summary-path").all_inner_texts()}
    assert {"/v1/ask", "/v1/documents", "/v1/documents/{doc_id}", "/health"} <= {p.replace("\u200b", "") for p in paths}
    page.locator(".opblock-summary-path").first.click()
    page.wait_for_selector(".opblock-body")
    assert problems == [] and outside == []


def test_page_files_have_no_inline_script_or_style() -> None:
    static = Path(__file__).resolve().parent.parent / "api" / "static" / "index.html"
    html = static.read_text(encoding="utf-8")
    assert "<style" not in html and " style=" not in html and "<script>" not in html

"""HTML and Markdown -> the text a reader sees.

Web pages: the main content only. Navigation, headers, footers, cookie banners, share buttons, forms and
sidebars are dropped by tag (nav, header, footer, aside, form, button, dialog) and by their class/id/role
("cookie-banner", "consent", "share", "breadcrumb", ...); when the page marks its content (<main>, <article>,
role=main) only that is read. Tables become one line per row with their headers. Markdown is rendered with
markdown-it-py and read the same way, so `**`, `#`, link targets, badges and code fences never reach the text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from index.errors import BadDocument
from index.formats.base import Extracted, require_text, table_lines, tidy
from index.formats.text import decode_text

_BLOCK = {
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "dd",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "title",
    "ul",
    "tr",
    "td",
    "th",
    "caption",
    "summary",
    "details",
}
_SKIP = {"script", "style", "noscript", "template", "svg", "head", "iframe", "object", "canvas", "select", "textarea"}
_CHROME_TAGS = {"nav", "header", "footer", "aside", "form", "button", "dialog", "menu"}
_CHROME_ATTR = re.compile(
    r"(?:^|[\s_-])(?:cookies?|consent|gdpr|cmp|share|sharing|social|newsletter|breadcrumbs?|"
    r"nav|navbar|navigation|menu|skip|related|recommended|comments?|advert|ads|promo|popup|modal|"
    r"site-footer|site-header|masthead)(?:$|[\s_-])",
    re.IGNORECASE,
)
_CHROME_ROLES = {"navigation", "banner", "contentinfo", "complementary", "dialog", "alertdialog", "search", "menu"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}


def _is_chrome(tag: str, attrs: dict[str, str], by_class: bool) -> bool:
    if tag in _CHROME_TAGS:
        return True
    if attrs.get("role", "").lower() in _CHROME_ROLES or attrs.get("aria-hidden") == "true" or "hidden" in attrs:
        return True
    names = f"{attrs.get('id', '')} {attrs.get('class', '')} {attrs.get('aria-label', '')}"
    return by_class and bool(_CHROME_ATTR.search(names))


def _is_main(tag: str, attrs: dict[str, str]) -> bool:
    return tag in ("main", "article") or attrs.get("role", "").lower() == "main"


class _Collector(HTMLParser):
    """Visible text, one block per line; text inside chrome goes to nowhere, text inside <main> also to `main`."""

    def __init__(self, drop_chrome: bool, by_class: bool = True) -> None:
        super().__init__(convert_charrefs=True)
        self.drop_chrome = drop_chrome
        self.by_class = by_class
        self.all: list[str] = []
        self.main: list[str] = []
        self.title: list[str] = []
        self.headings: list[tuple[int, str]] = []
        self._stack: list[tuple[str, bool, bool]] = []  # (tag, chrome/skip, main)
        self._hidden = 0
        self._in_main = 0
        self._in_title = False
        self._heading: tuple[int, list[str]] | None = None
        self._tables: list[list[list[str]]] = []  # rows of the open tables
        self._cell: list[str] | None = None

    def _emit(self, s: str) -> None:
        if self._hidden:
            return
        if self._cell is not None and s != "\n":
            self._cell.append(s)
            return
        if self._cell is not None:
            self._cell.append(" ")
            return
        self.all.append(s)
        if self._in_main:
            self.main.append(s)

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: (v or "") for k, v in attrs_list}
        if tag == "title" and not self._in_main:
            self._in_title = True
        if tag in _VOID:
            if tag in ("br", "hr"):
                self._emit("\n")
            return
        hide = tag in _SKIP or (self.drop_chrome and _is_chrome(tag, attrs, self.by_class) and not _is_main(tag, attrs))
        main = _is_main(tag, attrs) and not self._hidden
        self._stack.append((tag, hide, main))
        self._hidden += hide
        self._in_main += main
        if self._hidden:
            return
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._heading = (int(tag[1]), [])
        if tag == "table":
            self._tables.append([])
        elif tag == "tr" and self._tables:
            self._tables[-1].append([])
        elif tag in ("td", "th") and self._tables:
            if not self._tables[-1]:
                self._tables[-1].append([])
            self._cell = []
        elif tag in _BLOCK:
            self._emit("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in _VOID:
            return
        # Close up to the matching open tag (browsers forgive missing end tags; so do we).
        if not any(t == tag for t, _, _ in self._stack):
            return
        while self._stack:
            t, hide, main = self._stack.pop()
            visible = not self._hidden
            if visible:
                self._close(t)
            self._hidden -= hide
            self._in_main -= main
            if t == tag:
                break

    def _close(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._tables:
            self._tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table" and self._tables:
            rows = self._tables.pop()
            self._emit("\n")
            for line in table_lines(rows):
                self._emit(line + "\n")
        elif tag in _BLOCK:
            self._emit("\n")
        if self._heading and tag == f"h{self._heading[0]}":
            text = " ".join("".join(self._heading[1]).split())
            if text:
                self.headings.append((self._heading[0], text))
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
            return
        if self._hidden:
            return
        if not any(t in ("pre", "textarea") for t, _, _ in self._stack):
            data = re.sub(r"\s+", " ", data)  # as a browser shows it: source line breaks are spaces
        if self._heading is not None:
            self._heading[1].append(data)
        self._emit(data)


def _collect(raw: str, drop_chrome: bool, by_class: bool = True) -> _Collector:
    parser = _Collector(drop_chrome, by_class)
    try:
        parser.feed(raw)
        parser.close()
    except Exception as exc:  # html.parser is lenient; anything it still rejects is a broken file
        raise BadDocument(f"could not parse HTML: {exc}") from exc
    return parser


def _title(p: _Collector) -> str | None:
    title = " ".join("".join(p.title).split())
    if title:
        return title
    return _first_heading(p)


def _first_heading(p: _Collector) -> str | None:
    return next((t for level, t in p.headings if level == 1), None) or next((t for _, t in p.headings), None)


def html_to_text(raw: str, drop_chrome: bool = True) -> tuple[str, str | None]:
    """(text, title or None): the page's main content, one block per line."""
    p = _collect(raw, drop_chrome)
    text = _main_text(p)
    if drop_chrome:
        # A class rule that caught a wrapper of the whole page ("page has-nav") would leave almost nothing:
        # then only the chrome tags and roles are dropped.
        by_tag = _main_text(_collect(raw, True, by_class=False))
        if len(text) < 0.2 * len(by_tag):
            text = by_tag
    return text, _title(p)


def _main_text(p: _Collector) -> str:
    """The <main>/<article> text when the page marks a substantial one, else all visible text."""
    main = tidy("".join(p.main))
    everything = tidy("".join(p.all))
    return main if len(main) >= 200 or (main and len(main) >= 0.3 * len(everything)) else everything


def read_html(data: bytes) -> Extracted:
    text, title = html_to_text(decode_text(data))
    return Extracted(require_text(text), title)


def markdown_to_text(source: str) -> tuple[str, str | None]:
    """Markdown -> (rendered text, first heading). "**7421** units, see [the report](http://x)" -> "7421 units,
    see the report"."""
    from markdown_it import MarkdownIt

    front = re.match(r"\A---\n.*?\n---\n", source, flags=re.S)  # YAML front matter is not text a reader sees
    if front:
        source = source[front.end() :]
    html = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough").render(source)
    p = _collect(html, drop_chrome=False)
    return tidy("".join(p.all)), _first_heading(p)


def read_markdown(data: bytes) -> Extracted:
    text, title = markdown_to_text(decode_text(data))
    return Extracted(require_text(text), title)

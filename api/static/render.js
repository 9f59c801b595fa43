// Text with highlights, cut at character offsets. Safety rule: document text only ever reaches the page through
// text nodes (append(string), textContent); nothing here assigns innerHTML or a style attribute (the page runs
// under a Content-Security-Policy without 'unsafe-inline').

export const $ = (id) => document.getElementById(id);

// el("p", {class: "x"}, "text", child) -> element; strings become text nodes.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

export const squash = (text) => text.replace(/\s+/g, " ");

// Highlight classes, weakest first: the phrase that answers beats its sentence, which beats the passage.
const RANK = { passage: 1, answer: 2, span: 3 };
const CLASSES = { passage: "passage", answer: "answer", span: "answer span" };

// The highlight ranges of a citation, in document offsets: [{start, end, kind}].
export function citeRanges(cite, span) {
  const ranges = [];
  if (cite) ranges.push({ start: cite.start, end: cite.end, kind: "passage" });
  if (cite && cite.highlight) ranges.push({ start: cite.highlight.start, end: cite.highlight.end, kind: "answer" });
  if (span && typeof span.start === "number") ranges.push({ start: span.start, end: span.end, kind: "span" });
  return ranges;
}

// Segments of text[0:len] (document offsets base..base+len) cut at every boundary: [{from, to, kind, ocr}].
function segments(text, base, ranges, ocr, extra) {
  const points = new Set([0, text.length]);
  for (const p of extra) if (p > 0 && p < text.length) points.add(p);
  for (const r of [...ranges, ...ocr]) {
    for (const p of [r.start - base, r.end - base]) if (p > 0 && p < text.length) points.add(p);
  }
  const sorted = [...points].sort((a, b) => a - b);
  const out = [];
  for (let i = 0; i + 1 < sorted.length; i++) {
    const from = sorted[i], to = sorted[i + 1];
    const inside = (r) => r.start - base <= from && to <= r.end - base;
    const kind = ranges.filter(inside).map((r) => r.kind).sort((a, b) => RANK[b] - RANK[a])[0] || null;
    out.push({ from, to, kind, ocr: ocr.some(inside) });
  }
  return out;
}

function piece(text, kind, ocr) {
  if (kind) return el("mark", { class: CLASSES[kind] + (ocr ? " ocr" : "") }, text);
  if (ocr) return el("span", { class: "ocr", title: "Read by OCR from a scanned page" }, text);
  return text;
}

// Append `text` (document offsets from `base`) to `parent` with its ranges marked, whitespace squashed: for the
// answer quote and the cards. Returns the <mark> elements.
export function appendMarked(parent, text, base, ranges) {
  const marks = [];
  for (const s of segments(text, base, ranges, [], [])) {
    const node = piece(squash(text.slice(s.from, s.to)), s.kind, false);
    parent.append(node);
    if (s.kind) marks.push(node);
  }
  return marks;
}

// The page's start offsets and labels: doc.pages = [{number, label, start, end, ocr}] (GET /v1/documents/{id}).
function pageList(doc) {
  return (Array.isArray(doc.pages) ? doc.pages : []).filter((p) => p && typeof p.start === "number");
}

// Paragraph starts from doc.paragraphs ([[start, end], ...] or [{start, end}, ...]) when the server gives them.
function paragraphStarts(doc) {
  if (!Array.isArray(doc.paragraphs) || !doc.paragraphs.length) return null;
  const starts = doc.paragraphs.map((p) => (Array.isArray(p) ? p[0] : p && p.start)).filter((n) => typeof n === "number");
  return starts.length ? new Set([0, ...starts]) : null;
}

// The whole document into `container`: one block per server paragraph (their line breaks are soft: CSS
// white-space: normal), or one pre-wrapped block; page markers at page starts; OCR pages' text marked.
// Every character of doc.text is in the view once, so offsets and the text a reader copies stay exact.
export function renderDocument(container, doc, ranges) {
  const text = doc.text || "";
  const pages = pageList(doc);
  const starts = paragraphStarts(doc);
  const ocr = pages.filter((p) => p.ocr).map((p) => ({ start: p.start, end: p.end }));
  const pageAt = new Map(pages.map((p) => [p.start, p]));
  container.classList.toggle("paragraphs", Boolean(starts));
  container.classList.toggle("pre", !starts);
  const blocks = [];
  let block = null;
  let last = ""; // the text just before the current segment, in this block
  const marks = [];
  for (const s of segments(text, 0, ranges, ocr, [...(starts || []), ...pageAt.keys()])) {
    if (!block || (starts && starts.has(s.from))) {
      block = el(starts ? "p" : "div", { class: "block" });
      blocks.push(block);
      last = "";
    }
    const page = pageAt.get(s.from);
    if (page) {
      const label = page.label || `p. ${page.number}`;
      block.append(el("span", {
        class: `page-marker${!last || last.endsWith("\n") ? " at-start" : ""}${page.ocr ? " ocr-page" : ""}`,
        "data-label": page.ocr ? `${label} · OCR` : label, "data-page": page.number, role: "separator",
        "aria-label": `${label}${page.ocr ? ", text read by OCR" : ""}`,
      }));
    }
    last = text.slice(s.from, s.to);
    const node = piece(last, s.kind, s.ocr);
    block.append(node);
    if (s.kind) marks.push(node);
  }
  container.replaceChildren(...blocks);
  return marks;
}
